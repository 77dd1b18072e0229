"""The OpenAPI document behind /docs: every endpoint documented with examples, keys declared,
and the deployment's own request bounds shown."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import client_for, make_settings


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
    assert len(operations) == 7
    for path, method, operation in operations:
        assert operation["summary"] and operation["description"], (path, method)
        if path.startswith("/jobs"):
            assert operation["security"] == [{"bearer": []}]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][success].get("content", {})
        documented = any("example" in c or "examples" in c for c in content.values())
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        model = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        is_file = "application/octet-stream" in content
        assert documented or model.get("examples") or is_file, (path, method)
    body = schema["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == {"paper", "explicit", "frozen_base"}
    fields = schema["components"]["schemas"]["JobRequest"]["properties"]
    assert (fields["depth"]["maximum"], fields["epochs"]["maximum"]) == (110, 200)
    assert fields["batch_size"]["maximum"] == 512
    assert fields["learning_rate"]["default"] == 0.1
