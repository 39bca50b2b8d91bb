"""dockyard's model server: a trained model behind a small, fast REST API.

This package runs *inside* the serving image. It is copied there as a plain directory
(``/opt/dockyard/runtime/dockyard_serve``) and started with ``python -m dockyard_serve``;
it imports nothing from ``dockyard`` and is configured only by environment variables
(see :mod:`dockyard_serve.config`).

Modules:

- ``config``: settings from ``DOCKYARD_*`` variables, CPU budget.
- ``inspect_model``: model kind sniffing and ``model_requirements`` (safe on the host side:
  it never unpickles anything).
- ``models``: one adapter per model kind (scikit-learn, XGBoost, LightGBM, ONNX, predictor
  class), all exposing the same small ``Model`` interface.
- ``schema``: feature schema and per-row validation; ``inputs``: request bodies to rows.
- ``batching``: adaptive micro-batching onto a single predict thread.
- ``metrics``: Prometheus metrics shared by all worker processes.
- ``app``: the ASGI application; ``openapi``: the OpenAPI document and /docs page.
- ``protocol``: uvicorn's HTTP protocol with header/body deadlines, a header size cap and
  lingering close.
- ``server``: worker processes, the listening socket and graceful shutdown.
"""

from __future__ import annotations

__version__ = "0.1.0"
