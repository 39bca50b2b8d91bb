"""scikit-learn models through the API: same answers as ``predict``, right schema."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.anyio


async def test_estimator_rows_records_and_csv_match_predict(
    make_app, client_for, rf_path, numeric_data
):
    import joblib

    X, _ = numeric_data
    model = joblib.load(rf_path)
    client = client_for(make_app(rf_path))
    expected = model.predict(X[:25]).tolist()

    rows = await client.post("/predict", json={"inputs": X[:25].tolist()})
    names = [f"f{i}" for i in range(X.shape[1])]
    records = [dict(zip(names, row, strict=False)) for row in X[:25].tolist()]
    by_name = await client.post("/predict", json={"instances": records})
    csv_body = "\n".join(",".join(repr(v) for v in row) for row in X[:25].tolist())
    as_csv = await client.post("/predict", content=csv_body, headers={"content-type": "text/csv"})

    for response in (rows, by_name, as_csv):
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": expected}


async def test_probabilities_on_request(make_app, client_for, rf_path, numeric_data):
    import joblib

    X, _ = numeric_data
    model = joblib.load(rf_path)
    client = client_for(make_app(rf_path))
    response = await client.post("/predict?proba=true", json={"inputs": X[:5].tolist()})
    body = response.json()
    assert body["predictions"] == model.predict(X[:5]).tolist()
    assert body["probabilities"] == model.predict_proba(X[:5]).tolist()
    assert body["classes"] == [0, 1]


async def test_concurrent_requests_are_batched_and_each_gets_its_rows(
    make_app, client_for, rf_path, numeric_data
):
    import joblib

    X, _ = numeric_data
    model = joblib.load(rf_path)
    app = make_app(rf_path)
    client = client_for(app)
    responses = await asyncio.gather(
        *[client.post("/predict", json={"inputs": X[i : i + 2].tolist()}) for i in range(0, 200, 2)]
    )
    got = [p for r in responses for p in r.json()["predictions"]]
    assert got == model.predict(X[:200]).tolist()
    metrics = (await client.get("/metrics")).text
    batches = float(metrics.split("dockyard_batch_size_count ")[1].split()[0])
    assert batches < 100  # fewer predict calls than requests: they were merged


async def test_pipeline_with_column_transformer_over_dataframe(
    make_app, client_for, pipeline_path, frame_data
):
    import joblib

    frame, _ = frame_data
    model = joblib.load(pipeline_path)
    client = client_for(make_app(pipeline_path))
    sample = frame.iloc[:30]
    response = await client.post(
        "/predict?proba=true", json={"instances": sample.to_dict("records")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == model.predict(sample).tolist()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(sample), rtol=1e-12)

    # Rows in feature order work too, and equal predict on the same rows.
    rows = sample[["age", "income", "city", "plan"]].values.tolist()
    response = await client.post("/predict", json={"inputs": rows})
    assert response.json()["predictions"] == model.predict(sample).tolist()


async def test_pipeline_schema_has_names_and_types(make_app, client_for, pipeline_path):
    client = client_for(make_app(pipeline_path))
    doc = (await client.get("/openapi.json")).json()
    instance = doc["components"]["schemas"]["Instance"]
    assert list(instance["properties"]) == ["age", "income", "city", "plan"]
    assert instance["properties"]["city"] == {"type": "string", "enum": ["lyon", "nantes", "paris"]}
    assert instance["properties"]["age"]["type"] == "number"
    assert instance["required"] == ["age", "income", "city", "plan"]
    assert instance["additionalProperties"] is False
    assert instance["example"]["city"] in {"lyon", "nantes", "paris"}
    features = (await client.get("/info")).json()["model"]["features"]
    assert [(f["name"], f["type"]) for f in features] == [
        ("age", "number"),
        ("income", "number"),
        ("city", "string"),
        ("plan", "string"),
    ]


async def test_pipeline_bad_inputs_name_row_and_field(
    make_app, client_for, pipeline_path, frame_data
):
    frame, _ = frame_data
    client = client_for(make_app(pipeline_path))
    good = frame.iloc[0].to_dict()

    missing = {k: v for k, v in good.items() if k != "plan"}
    extra = {**good, "colour": "red"}
    mistyped = {**good, "age": "forty"}
    response = await client.post("/predict", json={"instances": [good, missing, extra, mistyped]})
    assert response.status_code == 422
    details = response.json()["details"]
    assert {"row": 1, "field": "plan", "message": "missing feature"} in details
    assert {"row": 2, "field": "colour", "message": "unknown feature"} in details
    assert {"row": 3, "field": "age", "message": "expected number, got string"} in details


async def test_unknown_category_is_422_and_does_not_fail_other_requests(
    make_app, client_for, pipeline_path, frame_data
):
    frame, _ = frame_data
    client = client_for(make_app(pipeline_path))
    good = frame.iloc[0].to_dict()
    unseen = {**good, "city": "atlantis"}  # OneHotEncoder(handle_unknown="error") raises
    responses = await asyncio.gather(
        *[client.post("/predict", json={"instances": [good]}) for _ in range(5)],
        client.post("/predict", json={"instances": [unseen]}),
    )
    assert [r.status_code for r in responses] == [200] * 5 + [422]
    assert responses[-1].json()["details"] == [
        {
            "row": 0,
            "field": "city",
            "message": "unknown category 'atlantis'; expected one of 'lyon', 'nantes', 'paris'",
        }
    ]


async def test_model_fitted_on_dataframe_without_column_transformer(
    make_app, client_for, model_dir
):
    import joblib
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0.5, 0.1, 0.9, 0.3]})
    model = LinearRegression().fit(frame, [1.0, 2.0, 3.5, 4.0])
    path = model_dir / "linear.joblib"
    joblib.dump(model, path)
    client = client_for(make_app(path))
    response = await client.post("/predict", json={"instances": [{"x": 2.5, "y": 0.2}]})
    assert (
        response.json()["predictions"]
        == model.predict(pd.DataFrame({"x": [2.5], "y": [0.2]})).tolist()
    )
    info = (await client.get("/info")).json()
    assert info["model"]["task"] == "regression"
    assert info["versions"]["scikit-learn"]
