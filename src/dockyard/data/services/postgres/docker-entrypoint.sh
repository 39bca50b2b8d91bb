#!/usr/bin/env bash
# The official postgres image's entrypoint contract, re-implemented for Debian's package:
# on first start, initdb into $PGDATA with POSTGRES_USER / POSTGRES_PASSWORD(_FILE), create
# POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh against a server that only
# listens on its socket, then exec the real server on every interface.
set -Eeuo pipefail

# VAR or VAR_FILE (Docker/Compose secrets), never both.
file_env() {
	local var="$1" def="${2:-}" file_var="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		echo >&2 "error: both $var and $file_var are set (but are exclusive)"
		exit 1
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(< "${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then DATABASE_ALREADY_EXISTS=true; fi
}

init_database_dir() {
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		echo >&2 "error: database is uninitialized and superuser password is not specified."
		echo >&2 "       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or"
		echo >&2 "       POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one."
		exit 1
	fi
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words on purpose
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		--auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
		$POSTGRES_INITDB_ARGS
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"
}

process_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) echo "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
			*.sql) echo "running $f"; psql_run -f "$f" ;;
			*.sql.gz) echo "running $f"; gunzip -c "$f" | psql_run ;;
			*) if [ -e "$f" ]; then echo "ignoring $f"; fi ;;
		esac
	done
}

psql_run() {
	PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
		--no-psqlrc --dbname "${POSTGRES_DB_FOR_INIT:-postgres}" "$@"
}

init_once() {
	init_database_dir
	# A temporary server on the socket only: clients that wait on the TCP port (pg_isready -h
	# 127.0.0.1, Compose healthchecks) see the database only once it is fully initialised.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
	if [ "$POSTGRES_DB" != postgres ]; then
		psql_run --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
	POSTGRES_DB_FOR_INIT="$POSTGRES_DB" process_init_files
	pg_ctl -D "$PGDATA" -m fast -w stop
	echo "PostgreSQL init process complete; ready for start up."
}

main() {
	if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
	if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
		# Root only prepares the folders, then runs this script again as postgres.
		mkdir -p "$PGDATA" /var/run/postgresql
		chown -R postgres:postgres "$PGDATA" /var/run/postgresql
		chmod 700 "$PGDATA"
		exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
	fi
	if [ "$1" = postgres ]; then
		setup_env
		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then init_once; fi
		unset POSTGRES_PASSWORD
		set -- "$@" -c listen_addresses='*'
	fi
	exec "$@"
}

main "$@"
