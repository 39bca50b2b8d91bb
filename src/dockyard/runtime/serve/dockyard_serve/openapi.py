"""The OpenAPI 3.0 document, derived from the model's schema, and the /docs page.

3.0 (not 3.1) because it is what most generators, gateways and fuzzers read without flags.
Every status the server can answer is declared, so a client generated from the document
handles 413/422/503/504 as data rather than surprises.
"""

from __future__ import annotations

from typing import Any

from . import __version__
from .models.base import ModelInfo
from .schema import Feature, Schema

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def build_openapi(
    schema: Schema | None, info: ModelInfo | None, auth: bool, max_rows: int = 10_000
) -> dict[str, Any]:
    """The document; before the model is loaded, /predict accepts any JSON object."""
    title = f"dockyard model server: {info.class_name}" if info else "dockyard model server"
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": __version__, "description": _description(info)},
        "paths": _paths(auth),
        "components": {"schemas": _components(schema, max_rows)},
    }
    if auth:
        document["components"]["securitySchemes"] = {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
        }
    return document


def _description(info: ModelInfo | None) -> str:
    if info is None:
        return "The model is still loading."
    text = f"Serves a {info.kind} model ({info.class_name}, task: {info.task})."
    if info.classes is not None:
        text += f" Classes: {', '.join(map(str, info.classes[:20]))}."
    return text


def _components(schema: Schema | None, max_rows: int) -> dict[str, Any]:
    if schema is None:
        instance: dict[str, Any] = {"type": "object"}
        row: dict[str, Any] = {"type": "array", "items": {}}
    else:
        instance = _instance(schema)
        row = _row(schema)
    return {
        "Instance": instance,
        "Row": row,
        "PredictRequest": {
            "oneOf": [
                _wrapper("instances", "#/components/schemas/Instance", max_rows),
                _wrapper("inputs", "#/components/schemas/Row", max_rows),
            ]
        },
        "PredictResponse": {
            "type": "object",
            "required": ["predictions"],
            "properties": {
                "predictions": {"type": "array", "items": {}},
                "probabilities": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}},
                },
                "classes": {"type": "array", "items": {}},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "row": {"type": "integer", "nullable": True},
                            "field": {"type": "string", "nullable": True},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def _wrapper(key: str, ref: str, max_rows: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": False,
        "properties": {
            key: {"type": "array", "minItems": 1, "maxItems": max_rows, "items": {"$ref": ref}}
        },
    }


def _instance(schema: Schema) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: feature_schema(f) for f in schema.features},
        "required": [f.name for f in schema.features if f.required],
        "additionalProperties": False,
        "example": {f.name: _example(f) for f in schema.features},
    }


def _row(schema: Schema) -> dict[str, Any]:
    kinds = {f.type for f in schema.features}
    nullable = any(f.nullable for f in schema.features)
    items: dict[str, Any]
    if len(kinds) == 1:
        items = feature_schema(Feature("item", kinds.pop(), nullable=nullable))
    else:
        items = {}
    required = sum(1 for f in schema.features if f.required)
    return {
        "type": "array",
        "items": items,
        "minItems": required,
        "maxItems": len(schema.features),
        "description": "Values in this order: " + ", ".join(schema.names),
        "example": [_example(f) for f in schema.features],
    }


def feature_schema(feature: Feature) -> dict[str, Any]:
    """JSON schema of one feature value."""
    out: dict[str, Any] = {} if feature.type == "any" else {"type": feature.type}
    if feature.type == "integer":
        out["format"] = "int64"
    if feature.nullable and feature.type != "any":
        out["nullable"] = True
    if feature.enum is not None:
        out["enum"] = [*feature.enum, None] if feature.nullable else list(feature.enum)
    if feature.description:
        out["description"] = feature.description
    if not feature.required:
        out["default"] = feature.default
    return out


def _example(feature: Feature) -> Any:
    if feature.example is not None:
        return feature.example
    if not feature.required:
        return feature.default
    return {
        "number": 0.0,
        "integer": 0,
        "string": "text",
        "boolean": False,
        "array": [],
        "object": {},
    }.get(feature.type, 0)


def _paths(auth: bool) -> dict[str, Any]:
    secured: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}] if auth else []
    predict_responses = {
        "200": _json("Predictions, one per row.", "#/components/schemas/PredictResponse"),
        "400": _json("Malformed JSON or CSV, or a bad query parameter.", _ERROR_REF["$ref"]),
        "413": _json("Body or row count over the limit.", _ERROR_REF["$ref"]),
        "415": _json("Content-Type is neither JSON nor CSV.", _ERROR_REF["$ref"]),
        "422": _json(
            "Missing, extra or mistyped feature (row and field named).", _ERROR_REF["$ref"]
        ),
        "503": {
            **_json("Overloaded or still loading; retry later.", _ERROR_REF["$ref"]),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
        "504": _json("The request's deadline passed.", _ERROR_REF["$ref"]),
    }
    if auth:
        predict_responses["401"] = _json("Missing or wrong API key.", _ERROR_REF["$ref"])
    predict: dict[str, Any] = {
        "summary": "Predict",
        "operationId": "predict",
        "parameters": [
            {
                "name": "proba",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean", "default": False},
                "description": "Also return class probabilities when the model has them.",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        "responses": predict_responses,
    }
    if auth:
        predict["security"] = secured
    return {
        "/predict": {"post": predict},
        "/health": {"get": _simple("Alive", "health", {"200": _json("The process is alive.")})},
        "/ready": {
            "get": _simple(
                "Ready",
                "ready",
                {"200": _json("The model is loaded."), "503": _json("Still loading.")},
            )
        },
        "/info": {
            "get": _simple("Info", "info", {"200": _json("Model and server details.")}, secured)
        },
        "/metrics": {
            "get": _simple(
                "Metrics",
                "metrics",
                {
                    "200": {
                        "description": "Prometheus text format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                secured,
            )
        },
    }


def _simple(
    summary: str, operation: str, responses: dict[str, Any], security: list[Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "operationId": operation, "responses": responses}
    if security:
        out["security"] = security
        out["responses"]["401"] = _json("Missing or wrong API key.", _ERROR_REF["$ref"])
    return out


def _json(description: str, ref: str | None = None) -> dict[str, Any]:
    schema = {"$ref": ref} if ref else {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


DOCS_HTML = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>dockyard model server</title>
  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui"});
  </script>
</body>
</html>
"""
