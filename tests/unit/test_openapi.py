"""The OpenAPI document is valid and describes exactly the routes app.py declares."""
import pytest
from openapi_spec_validator import validate

import app


@pytest.fixture(scope="module")
def doc():
    return app._openapi()


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_declared_route_is_documented_and_every_documented_route_exists(doc):
    declared = {(path, method.lower()) for path, methods in app.app.routes.items()
                for method in methods if method not in ("HEAD", "OPTIONS")}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert declared == documented


def test_an_undocumented_route_cannot_be_published():
    from chalicelib.openapi import document
    routes = dict(app.app.routes, **{"/secret": {"GET": object()}})
    with pytest.raises(KeyError, match="/secret"):
        document(routes, app.OPERATIONS, "t", "1")


def test_the_models_are_the_code_s_own(doc):
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorBody"]["required"]) == {"error", "details", "code"}
    assert schemas["JobView"]["properties"]["status"]["$ref"].endswith("/JobStatus")
    assert set(schemas["JobStatus"]["enum"]) == {"pending", "processing", "completed", "failed",
                                                 "cancelled"}
    submit = doc["paths"]["/generate-media"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/GenerateBody")
    assert "202" in submit["responses"] and "Idempotent-Replayed" in \
        submit["responses"]["202"]["headers"]
    assert {p["name"] for p in doc["paths"]["/jobs"]["get"]["parameters"]} == \
        {"userId", "status", "modelId", "since", "limit", "cursor"}
