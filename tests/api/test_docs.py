"""The OpenAPI document behind /docs: every endpoint documented with examples, keys declared,
and the deployment's own request bounds shown."""

from __future__ import annotations

from pathlib import Path

from api.openapi import PUBLIC_PATHS
from tests.api.conftest import client_for, make_settings

# Every operation of the API: a new endpoint must be added here, and documented as below.
OPERATIONS = {
    ("POST", "/jobs"),
    ("GET", "/jobs"),
    ("POST", "/jobs/estimate"),
    ("GET", "/jobs/{job_id}"),
    ("DELETE", "/jobs/{job_id}"),
    ("GET", "/jobs/{job_id}/metrics"),
    ("GET", "/jobs/{job_id}/weights"),
    ("GET", "/jobs/{job_id}/report"),
    ("POST", "/jobs/{job_id}/predict"),
    ("POST", "/jobs/{job_id}/cancel"),
    ("POST", "/jobs/{job_id}/rerun"),
    ("GET", "/jobs/{job_id}/events"),
    ("GET", "/jobs/{job_id}/events/stream"),
    ("GET", "/jobs/{job_id}/webhook-deliveries"),
    ("GET", "/events/stream"),
    ("POST", "/sweeps"),
    ("GET", "/sweeps"),
    ("GET", "/sweeps/presets"),
    ("GET", "/sweeps/{sweep_id}"),
    ("POST", "/sweeps/{sweep_id}/cancel"),
    ("POST", "/sweeps/{sweep_id}/retry"),
    ("GET", "/sweeps/{sweep_id}/report"),
    ("GET", "/sweeps/{sweep_id}/figure"),
    ("GET", "/healthz"),
    ("POST", "/datasets"),
    ("GET", "/datasets"),
    ("GET", "/datasets/{dataset_id}"),
    ("DELETE", "/datasets/{dataset_id}"),
}


def test_docs_show_examples_security_and_configured_bounds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"  # the document needs no database
    settings = make_settings(url, tmp_path, max_depth=110, max_epochs=200, max_batch_size=512)
    with client_for(settings) as client:
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert {(method.upper(), path) for path, method, _ in operations} == OPERATIONS
    for path, method, operation in operations:
        assert operation["summary"] and operation["description"], (path, method)
        if path not in PUBLIC_PATHS:
            assert operation["security"] == [{"bearer": []}]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][success].get("content", {})
        documented = any("example" in c or "examples" in c for c in content.values())
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        model = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        is_file = any(t == "application/octet-stream" or t.startswith("image/") for t in content)
        assert documented or model.get("examples") or is_file, (path, method)
    body = schema["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == {"paper", "explicit", "frozen_base"}
    fields = schema["components"]["schemas"]["JobRequest"]["properties"]
    assert (fields["depth"]["maximum"], fields["epochs"]["maximum"]) == (110, 200)
    assert fields["batch_size"]["maximum"] == 512
    assert fields["learning_rate"]["default"] == 0.1
