#!/usr/bin/env bash
# The README's second command, and what CI runs: set up (idempotent), lint, type-check, test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh --test-tools
export DOCKYARD_DOCKER=${DOCKYARD_DOCKER:-/usr/bin/docker}
# The model server's tests train real models of every kind: their libraries, once.
serve_reqs=tests/unit/serve/requirements.txt
stamp=.venv/.serve-test-reqs.sha256
if [[ -f $serve_reqs ]] && ! sha256sum --status -c "$stamp" 2>/dev/null; then
  echo "[test] installing the model server's test requirements" >&2
  .venv/bin/pip install -q -r "$serve_reqs"
  sha256sum "$serve_reqs" > "$stamp"
fi
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/pytest -q "$@"
