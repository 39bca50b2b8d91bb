#!/usr/bin/env bash
# The README's second command, and what CI runs: set up (idempotent), lint, type-check, test.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh --test-tools
export DOCKYARD_DOCKER=${DOCKYARD_DOCKER:-/usr/bin/docker}
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/pytest -q "$@"
