#!/usr/bin/env bash
# The README's first command: set the machine up, then the main job on the bundled example:
# detect its environment (it forgets to declare scikit-learn), build its image, and execute its
# notebook inside the image. The executed notebook and outputs/ land in examples/churn/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/scripts/setup.sh"
export DOCKYARD_DOCKER=${DOCKYARD_DOCKER:-/usr/bin/docker}
dockyard="$here/.venv/bin/dockyard"
example="$here/examples/churn"
"$dockyard" -C "$example" inspect
"$dockyard" -C "$example" build
"$dockyard" -C "$example" run analysis.ipynb
cat "$example/outputs/summary.json"; echo
