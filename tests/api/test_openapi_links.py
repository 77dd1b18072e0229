"""What generic clients and fuzzers read: a 405's `Allow` names every method of the path, and the
created job's answer links (OpenAPI links) to the operations that follow it."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.api.conftest import Api, client_for, make_settings


def _methods_in_schema(schema: dict, path: str) -> set[str]:  # type: ignore[type-arg]
    return {method.upper() for method in schema["paths"][path]}


def test_405_allow_lists_every_method_of_the_path(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    job = f"/jobs/{uuid.uuid4()}"
    cases = [
        ("DELETE", "/healthz", "/healthz"),
        ("PUT", "/jobs", "/jobs"),
        ("PATCH", "/jobs", "/jobs"),
        ("PUT", job, "/jobs/{job_id}"),
        ("GET", f"{job}/cancel", "/jobs/{job_id}/cancel"),
    ]
    for method, path, template in cases:
        response = api.client.request(method, path, headers=api.headers)
        assert response.status_code == 405, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"
        allowed = {part.strip() for part in response.headers["Allow"].split(",")}
        assert allowed == _methods_in_schema(schema, template), (method, path, allowed)
    # GET and POST /jobs are two routes: both named.
    assert {"GET", "POST"} <= _methods_in_schema(schema, "/jobs")


def test_openapi_created_job_links_to_read_metrics_weights_and_cancel(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    with client_for(settings) as client:
        schema = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]: (method, path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    responses = schema["paths"]["/jobs"]["post"]["responses"]
    for status in ("201", "200"):
        links = responses[status]["links"]
        targets = {name: operations[link["operationId"]] for name, link in links.items()}
        assert targets == {
            "read": ("get", "/jobs/{job_id}"),
            "metrics": ("get", "/jobs/{job_id}/metrics"),
            "weights": ("get", "/jobs/{job_id}/weights"),
            "cancel": ("post", "/jobs/{job_id}/cancel"),
        }
        for link in links.values():
            assert link["parameters"] == {"job_id": "$response.body#/id"}
            assert link["description"]
    # The link's source exists: the created job's body has an `id`.
    ref = responses["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "id" in schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
