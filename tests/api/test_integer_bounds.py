"""Every integer the API takes is bounded where it is declared (issue 17, item 6): 2^63 and
10^40 in any integer query parameter or body field, in a cursor or in Last-Event-ID on either
stream, are a 422 naming the field, never a 500. The integer inputs are read from /openapi.json,
so a new one is covered without editing this file (a new JSON body needs a base body below)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api, client_for, make_settings, new_key

HUGE = [2**63, 10**40]
# A valid body of each route that takes JSON; the field under test replaces its value.
BASE_BODIES: dict[str, dict[str, Any]] = {
    "/jobs": {"architecture": "resnet", "depth": 20, "epochs": 2},
    "/jobs/estimate": {"architecture": "resnet", "depth": 20, "epochs": 2},
    "/sweeps": {"base": {"architecture": "resnet", "depth": 20, "epochs": 2}, "seeds": 2},
}


def _is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("anyOf", [])
    )


def integer_inputs(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer parameter and top-level body field."""
    components = spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                if _is_integer(parameter["schema"]):
                    yield method, path, parameter["in"], parameter["name"]
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            for name, field in schema.get("properties", {}).items():
                if _is_integer(field):
                    yield method, path, "body", name


@pytest.fixture(scope="module")
def module_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from core.store.migrate import upgrade

    tmp = tmp_path_factory.mktemp("integers")
    url = f"sqlite:///{tmp / 'service.db'}"
    upgrade(url)
    with client_for(make_settings(url, tmp)) as client:
        yield Api(client, url, new_key(url))


def _cases() -> list[tuple[str, str, str, str, int]]:
    from api.app import create_app
    from core.settings import Settings

    settings = Settings(_env_file=None, database_url="sqlite://", broker_url="memory://")  # type: ignore[call-arg]
    spec = create_app(settings).openapi()
    return [(*where, value) for where in integer_inputs(spec) for value in HUGE]


CASES = _cases()


def test_the_walk_finds_the_integer_inputs() -> None:
    names = {(path, name) for _, path, _, name, _ in CASES}
    assert ("/jobs/{job_id}/events", "after") in names
    assert ("/sweeps", "max_parallel") in names
    assert ("/jobs", "batch_size") in names


@pytest.mark.parametrize(("method", "path", "where", "name", "value"), CASES)
def test_huge_integer_is_a_422_naming_the_field(
    module_api: Api, method: str, path: str, where: str, name: str, value: int
) -> None:
    url = path.replace("{job_id}", str(uuid.uuid4()))
    kwargs: dict[str, Any] = {}
    if where == "query":
        kwargs["params"] = {name: str(value)}
    if where == "body":
        assert path in BASE_BODIES, f"add a valid body of {method.upper()} {path} to BASE_BODIES"
        kwargs["json"] = {**BASE_BODIES[path], name: value}
    elif method == "post" and path in BASE_BODIES:
        kwargs["json"] = BASE_BODIES[path]
    client: TestClient = module_api.client
    answer = client.request(method.upper(), url, headers=module_api.headers, **kwargs)
    assert answer.status_code == 422, (method, path, name, answer.status_code, answer.text[:300])
    fields = [f["field"] for f in answer.json()["error"]["fields"]]
    assert any(name == f or f.endswith(f".{name}") for f in fields), fields


@pytest.mark.parametrize("value", [str(v) for v in HUGE] + ["9" * 40])
def test_huge_cursor_is_a_422(module_api: Api, value: str) -> None:
    job_id = module_api.new_job()
    answer = module_api.get(f"/jobs/{job_id}/events", params={"cursor": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["fields"][0]["field"] == "cursor"


@pytest.mark.parametrize("value", [str(v) for v in HUGE])
@pytest.mark.parametrize("stream", ["job", "all"])
def test_huge_last_event_id_is_a_422_on_both_streams(
    module_api: Api, value: str, stream: str
) -> None:
    job_id = module_api.new_job()
    path = f"/jobs/{job_id}/events/stream" if stream == "job" else "/events/stream"
    answer = module_api.get(path, headers={"Last-Event-ID": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["fields"][0]["field"] == "Last-Event-ID"
