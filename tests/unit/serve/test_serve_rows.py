"""Issue 8, item 8: a row cap, and large bodies parsed off the event loop.

One 10 MiB body of millions of one-value rows used to stall /health for 7.7 s (longer than
the image's 5 s HEALTHCHECK timeout), and six at once took a worker to 1 GB.
"""

from __future__ import annotations

import asyncio
import time

import pytest

pytestmark = pytest.mark.anyio

ROW = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
NAMES = [f"f{i}" for i in range(6)]


@pytest.mark.parametrize("rows", [100, 101])
async def test_rows_over_the_cap_are_413_in_every_format(make_app, client_for, rf_path, rows):
    client = client_for(make_app(rf_path, max_rows=100))
    expected = 200 if rows <= 100 else 413
    record = dict(zip(NAMES, ROW, strict=True))
    csv_body = ",".join(NAMES) + "\n" + "0.1,0.2,0.3,0.4,0.5,0.6\n" * rows
    answers = [
        await client.post("/predict", json={"inputs": [ROW] * rows}),
        await client.post("/predict", json={"instances": [record] * rows}),
        await client.post("/predict", content=csv_body, headers={"content-type": "text/csv"}),
    ]
    assert [a.status_code for a in answers] == [expected] * 3, [a.text for a in answers]
    if expected == 413:
        assert answers[0].json() == {
            "error": "more than 100 rows in one request; send them in several"
        }


async def test_brackets_inside_strings_do_not_count_as_rows(make_app, client_for, pipeline_path):
    client = client_for(make_app(pipeline_path, max_rows=3))
    odd = {"age": 30.0, "income": 1.0, "city": "[[[{{{", "plan": "basic"}
    response = await client.post("/predict", json={"instances": [odd]})
    assert response.status_code == 422  # an unknown city, not "too many rows"
    assert response.json()["details"][0]["field"] == "city"


async def test_ten_mib_of_one_value_rows_is_refused_before_parsing(make_app, client_for, rf_path):
    client = client_for(make_app(rf_path, max_body_bytes=16 * 2**20))
    body = b'{"inputs": [' + b",".join([b"[0.5]"] * 2_000_000) + b"]}"
    assert len(body) > 10 * 2**20
    started = time.process_time()
    response = await client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert time.process_time() - started < 0.5  # counted at memory speed, never parsed


async def test_health_answers_while_a_ten_mib_body_is_parsed(make_app, client_for, rf_path):
    """A body within every limit but large: parsed and validated in the parse thread while
    the event loop keeps answering /health."""
    app = make_app(rf_path, max_rows=500_000, max_body_bytes=16 * 2**20)
    client = client_for(app)
    body = b'{"inputs": [' + b",".join([b"[0.1,0.2,0.3,0.4,0.5,0.6]"] * 420_000) + b"]}"
    assert len(body) > 10 * 2**20
    done = asyncio.Event()
    gaps: list[float] = []

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            assert (await client.get("/health")).status_code == 200
            gaps.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    async def big() -> int:
        try:
            response = await client.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
            return response.status_code
        finally:
            done.set()

    started = time.perf_counter()
    status, _ = await asyncio.gather(big(), probe())
    elapsed = time.perf_counter() - started
    assert status == 200
    print(f"10 MiB request {elapsed:.2f}s, {len(gaps)} /health answers, slowest {max(gaps):.3f}s")
    assert len(gaps) >= 5
    assert max(gaps) < 1.0
