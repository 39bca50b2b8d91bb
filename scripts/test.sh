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
# Tools whose dependencies clash with ours live in venvs of their own, outside the checkout so
# that every clone of this machine shares them (DOCKYARD_TOOLS, default ~/.cache/dockyard/tools),
# each reinstalled when its requirement line changes: checkov (policy checks of rendered
# Kubernetes YAML) and Apache Airflow with its Docker and Kubernetes providers (the generated
# DAGs run on it).
tools=${DOCKYARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/dockyard/tools}
tool_venv() {
  local name=$1; shift
  local dir=$tools/$name want="$*"
  if [[ ! -x $dir/bin/python || "$(cat "$dir/.requirements" 2>/dev/null)" != "$want" ]]; then
    echo "[test] installing $name into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$tools"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip >/dev/null
    "$dir/bin/pip" install -q "$@"
    printf '%s' "$want" > "$dir/.requirements"
  fi
}
tool_venv checkov "checkov>=3.2"
tool_venv airflow "apache-airflow>=3.0,<4" "apache-airflow-providers-docker>=4" "apache-airflow-providers-cncf-kubernetes>=10"
export DOCKYARD_CHECKOV=$tools/checkov/bin/checkov
export DOCKYARD_AIRFLOW_PYTHON=$tools/airflow/bin/python
# The suite builds a few hundred images' worth of layers. So that runs on a long-lived machine
# do not add up until its disk fills: nameless images dockyard made go (it removes what its own
# rebuilds replace; this catches what a killed run left), and BuildKit's cache is kept under
# 20 GB, least recently used first. The run needs about 10 GB free; less fails now, not midway.
"$DOCKYARD_DOCKER" image prune -f --filter label=dev.dockyard.project >/dev/null
"$DOCKYARD_DOCKER" image prune -f --filter label=dev.dockyard.recipe >/dev/null
"$DOCKYARD_DOCKER" builder prune -f --keep-storage 20gb >/dev/null
root_dir=$("$DOCKYARD_DOCKER" info --format '{{.DockerRootDir}}')
for dir in "$root_dir" "${TMPDIR:-/tmp}"; do
  free_gb=$(( $(df --output=avail -k "$dir" | tail -n1) / 1024 / 1024 ))
  if (( free_gb < 10 )); then
    echo "[test] error: only ${free_gb} GB free in $dir; the tests need about 10 GB" >&2
    echo "[test] hint: docker system df shows what holds it; docker builder prune frees the build cache" >&2
    exit 1
  fi
done
.venv/bin/ruff check src tests bench
.venv/bin/mypy
# The slowest tests are named in every run: where a 30-minute CI budget goes.
exec .venv/bin/pytest -q --durations=25 "$@"
