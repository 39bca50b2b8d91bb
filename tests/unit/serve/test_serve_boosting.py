"""XGBoost and LightGBM, native boosters and scikit-learn wrappers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def boost_frame(numeric_data):
    X, y = numeric_data
    return pd.DataFrame(X, columns=[f"feat_{i}" for i in range(X.shape[1])]), y


async def test_xgboost_native_json_and_ubj(make_app, client_for, model_dir, boost_frame, need):
    xgb = need("xgboost")
    frame, y = boost_frame
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(frame, label=y),
        num_boost_round=10,
    )
    expected = booster.predict(xgb.DMatrix(frame.iloc[:20])).tolist()
    for suffix in ("json", "ubj"):
        path = model_dir / f"booster.{suffix}"
        booster.save_model(path)
        client = client_for(make_app(path))
        response = await client.post(
            "/predict", json={"instances": frame.iloc[:20].to_dict("records")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == expected
        info = (await client.get("/info")).json()["model"]
        assert info["kind"] == "xgboost"
        assert [f["name"] for f in info["features"]] == list(frame.columns)
        assert all(f["nullable"] for f in info["features"])  # XGBoost handles missing values

    # null is a missing value for XGBoost, as NaN would be.
    row = frame.iloc[0].to_dict() | {"feat_3": None}
    response = await client.post("/predict", json={"instances": [row]})
    with_nan = frame.iloc[:1].copy()
    with_nan["feat_3"] = np.nan
    assert response.json()["predictions"] == booster.predict(xgb.DMatrix(with_nan)).tolist()


async def test_xgboost_sklearn_wrapper(make_app, client_for, model_dir, boost_frame, need):
    xgb = need("xgboost")
    import joblib

    frame, y = boost_frame
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(frame, y)
    path = model_dir / "xgb_sklearn.joblib"
    joblib.dump(model, path)
    client = client_for(make_app(path))
    sample = frame.iloc[:20]
    response = await client.post(
        "/predict?proba=true", json={"instances": sample.to_dict("records")}
    )
    body = response.json()
    assert body["predictions"] == model.predict(sample).tolist()
    assert body["probabilities"] == model.predict_proba(sample).tolist()
    info = (await client.get("/info")).json()["model"]
    assert info["kind"] == "xgboost-sklearn"
    assert [f["name"] for f in info["features"]] == list(frame.columns)


async def test_lightgbm_native(make_app, client_for, model_dir, boost_frame, need):
    lgb = need("lightgbm")
    frame, y = boost_frame
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1},
        lgb.Dataset(frame, label=y),
        num_boost_round=10,
    )
    path = model_dir / "lgb.txt"
    booster.save_model(path)
    client = client_for(make_app(path))
    sample = frame.iloc[:20]
    response = await client.post("/predict", json={"inputs": sample.values.tolist()})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == booster.predict(sample.values).tolist()
    info = (await client.get("/info")).json()["model"]
    assert info["kind"] == "lightgbm"
    assert info["task"] == "classification"
    assert [f["name"] for f in info["features"]] == list(frame.columns)


async def test_lightgbm_sklearn_wrapper(make_app, client_for, model_dir, boost_frame, need):
    lgb = need("lightgbm")
    import joblib

    frame, y = boost_frame
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1, n_jobs=1).fit(frame, y)
    path = model_dir / "lgb_sklearn.pkl"
    joblib.dump(model, path)
    client = client_for(make_app(path))
    sample = frame.iloc[:20]
    response = await client.post(
        "/predict?proba=true", json={"instances": sample.to_dict("records")}
    )
    body = response.json()
    assert body["predictions"] == model.predict(sample).tolist()
    assert body["probabilities"] == model.predict_proba(sample).tolist()
    info = (await client.get("/info")).json()["model"]
    assert info["kind"] == "lightgbm-sklearn"
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["Instance"]
    assert list(schema["properties"]) == list(frame.columns)

    response = await client.post("/predict", json={"instances": [{"feat_0": 1.0}]})
    assert response.status_code == 422
    assert {"row": 0, "field": "feat_1", "message": "missing feature"} in response.json()["details"]
