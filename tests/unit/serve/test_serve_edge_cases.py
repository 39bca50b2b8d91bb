"""Issue 8, item 10: the smaller defects, each reproduced in-process.

CSV infinities were a 500 with a traceback, a model raising ``SystemExit`` killed the
worker, ``HEAD`` on GET routes was a 405, and a tiny bz2 file drove the host-side model scan
to gigabytes of memory.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dockyard_serve.inspect_model import DecompressionBomb, model_requirements

pytestmark = pytest.mark.anyio

HEADER = "f0,f1,f2,f3,f4,f5\n"
EXITING = """
import sys


class Exiting:
    batched = True

    def predict(self, x: list[float]) -> list[float]:
        if x[0] < 0:
            raise SystemExit(3)  # what a careless `sys.exit()` in model code does
        return x
"""


@pytest.mark.parametrize(
    "line",
    ["-inf,inf,0,0,0,0", "1e999,0,0,0,0,0", "-inf,0,0,0,0,0", "nan,0,0,0,0,0"],
)
async def test_csv_infinities_are_422_naming_the_field(make_app, client_for, rf_path, line):
    client = client_for(make_app(rf_path))
    response = await client.post(
        "/predict", content=HEADER + line + "\n", headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0] == {
        "row": 0,
        "field": "f0",
        "message": "expected a finite number",
    }


async def test_system_exit_in_the_model_is_a_500_for_that_request_only(
    make_app, client_for, predictor_module
):
    module = predictor_module("exiting_predictor", EXITING)
    client = client_for(make_app(predictor=f"{module}:Exiting"))
    for _ in range(8):  # more than the six that used to stop a server
        bad = await client.post("/predict", json={"inputs": [[-1.0]]})
        assert bad.status_code == 500
        assert bad.json() == {"error": "prediction failed"}
    good = await client.post("/predict", json={"inputs": [[2.0]]})
    assert good.status_code == 200
    assert good.json() == {"predictions": [2.0]}


def test_system_exit_does_not_stop_a_real_server(tmp_path, predictor_module):
    """Six such requests used to stop the server (each killed a worker)."""
    import httpx
    from test_serve_process import Server

    predictor_module("exiting_process", EXITING)
    server = Server({"DOCKYARD_PREDICTOR": "exiting_process:Exiting"}, tmp_path)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(8):
                bad = client.post("/predict", json={"inputs": [[-1.0]]})
                assert bad.status_code == 500
            assert client.post("/predict", json={"inputs": [[2.0]]}).json() == {
                "predictions": [2.0]
            }
        assert server.proc.poll() is None
    finally:
        assert server.stop() == 0


async def test_head_is_answered_on_get_routes(make_app, client_for, rf_path):
    client = client_for(make_app(rf_path))
    for path in ("/health", "/ready", "/openapi.json", "/docs", "/info", "/metrics"):
        response = await client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
        assert int(response.headers["content-length"]) > 0
    wrong = await client.put("/health")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD"
    assert (await client.head("/predict")).status_code == 405


def test_bz2_bomb_is_refused_within_a_second():
    """1.5 KB of bz2 that expands to 2 GiB of zeros, named like a joblib model."""
    bomb = Path(__file__).with_name("data") / "bz2_bomb.joblib"
    assert bomb.stat().st_size < 2048
    started = time.process_time()  # CPU time: a busy machine must not fail the test
    with pytest.raises(DecompressionBomb, match="decompression bomb"):
        model_requirements(bomb)
    assert time.process_time() - started < 1.0
