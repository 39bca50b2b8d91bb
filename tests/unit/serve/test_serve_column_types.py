"""Issue 8, item 12: a mistyped value is named, from the types a Pipeline's ColumnTransformer
implies — numeric where it routes a column to scalers or numeric imputers, categorical with
the encoder's categories where it routes one to an encoder.

Before: a numeric branch starting with a FunctionTransformer (``np.log1p``, then a scaler)
typed its columns "any", so ``{"monthly": "lots"}`` reached the model and came back as 422
"the model rejected the input" with neither row nor field; a pipeline inside GridSearchCV
(or CalibratedClassifierCV, TransformedTargetRegressor) had its string columns typed as
numbers, refusing valid requests.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

pytestmark = pytest.mark.anyio

GOOD = {"tenure": 12.0, "monthly": 70.5, "contract": "month"}


def churn(numeric, categorical, wrap=None):
    rng = np.random.default_rng(3)
    n = 200
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 70, n).astype(float),
            "monthly": rng.uniform(20, 120, n),
            "contract": rng.choice(["month", "year", "two-year"], n),
        }
    )
    y = (frame["tenure"] < 20).astype(int).to_numpy()
    prep = ColumnTransformer(
        [("num", numeric, ["tenure", "monthly"]), ("cat", categorical, ["contract"])]
    )
    model = Pipeline([("prep", prep), ("clf", LogisticRegression())])
    return (wrap(model) if wrap else model).fit(frame, y)


def serve(make_app, client_for, tmp_path: Path, model):
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    return client_for(make_app(path))


LOG_SCALED = make_pipeline(FunctionTransformer(np.log1p), StandardScaler())


async def test_a_mistyped_value_is_named_with_its_row(make_app, client_for, tmp_path):
    client = serve(make_app, client_for, tmp_path, churn(LOG_SCALED, OneHotEncoder()))
    response = await client.post("/predict", json={"instances": [GOOD, GOOD | {"monthly": "lots"}]})
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"row": 1, "field": "monthly", "message": "expected number, got string"}
    ]
    alone = await client.post("/predict", json={"instances": [{"monthly": "lots"}]})
    assert alone.status_code == 422
    assert {"row": 0, "field": "monthly", "message": "expected number, got string"} in (
        alone.json()["details"]
    )
    assert (await client.post("/predict", json={"instances": [GOOD]})).status_code == 200


async def test_types_and_enums_are_in_the_openapi_schema(make_app, client_for, tmp_path):
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder())
    client = serve(make_app, client_for, tmp_path, churn(LOG_SCALED, categorical))
    doc = (await client.get("/openapi.json")).json()
    properties = doc["components"]["schemas"]["Instance"]["properties"]
    assert properties["monthly"] == {"type": "number"}
    # The imputer fills missing values before the encoder: null is accepted too.
    assert properties["contract"] == {
        "type": "string",
        "nullable": True,
        "enum": ["month", "two-year", "year", None],
    }
    bad = await client.post("/predict", json={"instances": [GOOD | {"contract": "weekly"}]})
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "contract"
    assert bad.json()["details"][0]["message"].startswith("unknown category 'weekly'")


async def test_lenient_encoders_show_their_categories_without_an_enum(
    make_app, client_for, tmp_path
):
    model = churn(StandardScaler(), OneHotEncoder(handle_unknown="ignore"))
    client = serve(make_app, client_for, tmp_path, model)
    doc = (await client.get("/openapi.json")).json()
    contract = doc["components"]["schemas"]["Instance"]["properties"]["contract"]
    assert "enum" not in contract
    assert contract["description"] == (
        "known categories: month, two-year, year (others are accepted)"
    )
    unknown = await client.post("/predict", json={"instances": [GOOD | {"contract": "weekly"}]})
    assert unknown.status_code == 200


@pytest.mark.parametrize(
    "wrap",
    [
        lambda m: GridSearchCV(m, {"clf__C": [0.5, 1.0]}, cv=2),
        lambda m: CalibratedClassifierCV(m, cv=2),
    ],
    ids=["GridSearchCV", "CalibratedClassifierCV"],
)
async def test_wrapped_pipelines_are_typed_like_the_pipeline(
    make_app, client_for, tmp_path, wrap
):
    client = serve(make_app, client_for, tmp_path, churn(StandardScaler(), OneHotEncoder(), wrap))
    assert (await client.post("/predict", json={"instances": [GOOD]})).status_code == 200
    bad = await client.post("/predict", json={"instances": [GOOD | {"monthly": "lots"}]})
    assert bad.json()["details"] == [
        {"row": 0, "field": "monthly", "message": "expected number, got string"}
    ]
