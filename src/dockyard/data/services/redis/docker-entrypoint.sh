#!/bin/sh
# The official redis image's entrypoint contract: `redis-server` (or bare flags) runs as the
# redis user in /data; without a config file, protected mode is off so that other containers
# on the network can connect (protect it with --requirepass, as dockyard's stacks do).
set -eu
case "${1:-}" in
	-*) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "${1:-}" = redis-server ]; then
	case "${2:-}" in
		*.conf) ;;
		*) shift; set -- redis-server --protected-mode no "$@" ;;
	esac
fi
umask 0077
exec "$@"
