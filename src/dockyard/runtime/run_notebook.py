"""Execute a notebook headless inside a dockyard image and write the executed copy.

Usage: python run_notebook.py NOTEBOOK OUTPUT [TIMEOUT_S]
Exit 0 on success; exit 1 naming the failing cell (1-based, counting code cells) on error.
"""

import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def _code_cell_number(nb, cell_index):
    return sum(1 for c in nb.cells[: cell_index + 1] if c.cell_type == "code")


def main(argv):
    source, output = argv[1], argv[2]
    timeout = int(argv[3]) if len(argv) > 3 else 600
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": "."}})
    started = time.monotonic()
    failed = None
    try:
        client.execute()
    except CellExecutionError as exc:
        failed = exc
    nbformat.write(nb, output)
    if failed is None:
        print(f"executed {len(nb.cells)} cells in {time.monotonic() - started:.1f}s -> {output}")
        return 0
    index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
        o.get("output_type") == "error" for o in c.get("outputs", []))), None)
    where = f"cell {_code_cell_number(nb, index)}" if index is not None else "a cell"
    ename = getattr(failed, "ename", "Error")
    evalue = getattr(failed, "evalue", "")
    print(f"DOCKYARD_CELL_ERROR: {where} raised {ename}: {evalue}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
