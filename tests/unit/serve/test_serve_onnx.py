"""ONNX models (made with skl2onnx) through onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.anyio


async def test_onnx_single_tensor_input(make_app, client_for, model_dir, numeric_data, need):
    ort = need("onnxruntime")
    need("skl2onnx")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = numeric_data
    X32 = X.astype(np.float32)
    onx = to_onnx(LogisticRegression().fit(X32, y), X32[:1], target_opset=17)
    path = model_dir / "logreg.onnx"
    path.write_bytes(onx.SerializeToString())

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    labels, probas = session.run(None, {session.get_inputs()[0].name: X32[:15]})
    client = client_for(make_app(path))
    response = await client.post("/predict?proba=true", json={"inputs": X[:15].tolist()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == labels.tolist()
    # ZipMap output: one {class: p} per row, turned into rows of probabilities.
    np.testing.assert_allclose(body["probabilities"], [[p[0], p[1]] for p in probas], rtol=1e-6)

    info = (await client.get("/info")).json()["model"]
    assert info["kind"] == "onnx"
    assert [f["name"] for f in info["features"]] == [f"f{i}" for i in range(6)]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["Row"]
    assert schema["minItems"] == schema["maxItems"] == 6

    response = await client.post("/predict", json={"inputs": [[1.0] * 5]})
    assert response.status_code == 422


async def test_onnx_one_input_per_column_with_strings(
    make_app, client_for, model_dir, frame_data, need
):
    ort = need("onnxruntime")
    need("skl2onnx")
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    frame, _ = frame_data
    target = frame["income"] / 1000 + (frame["city"] == "paris") * 5
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(), ["city"])]
                ),
            ),
            ("tree", DecisionTreeRegressor(max_depth=4, random_state=0)),
        ]
    ).fit(frame[["age", "city"]], target)
    onx = to_onnx(
        pipe,
        initial_types=[("age", FloatTensorType([None, 1])), ("city", StringTensorType([None, 1]))],
        target_opset=17,
    )
    path = model_dir / "pipeline.onnx"
    path.write_bytes(onx.SerializeToString())

    sample = frame.iloc[:12]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(
        None,
        {
            "age": sample[["age"]].to_numpy(np.float32),
            "city": sample[["city"]].to_numpy(object),
        },
    )
    client = client_for(make_app(path))
    response = await client.post(
        "/predict", json={"instances": sample[["age", "city"]].to_dict("records")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected.reshape(-1).tolist()
    instance = (await client.get("/openapi.json")).json()["components"]["schemas"]["Instance"]
    assert instance["properties"] == {"age": {"type": "number"}, "city": {"type": "string"}}
