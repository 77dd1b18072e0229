"""The smaller findings of issue 17 (item 10): control characters in free text, nosniff on every
response, a per-owner cap on open event streams. (Booleans in predict arrays:
test_predict_json_bounds.py.)"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator

import pytest

from api.errors import ApiError
from api.streaming.stream_slots import StreamSlots
from tests.api.conftest import Api

QUICK = {"architecture": "resnet", "depth": 20, "epochs": 2}
CONTROLS = ["\u202e", "\x00", "\x1b[31m", "\x85", "\x7f", "\u2066", "a\nb"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("control", CONTROLS)
def test_sweep_name_with_control_characters_is_a_422(api: Api, control: str) -> None:
    body = {"base": QUICK, "seeds": 2, "name": f"my{control}sweep"}
    answer = api.post("/sweeps", json=body)
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["error"]["fields"]
    assert field["field"] == "name" and "control characters" in field["reason"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_plain_names_pass(api: Api) -> None:
    body = {"base": QUICK, "seeds": 2, "name": "Résumé: ResNet-20, 2 seeds 🚀 (ﺎﻠﻋﺮﺒﻳﺓ)"}
    assert api.post("/sweeps", json=body).status_code == 201


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_webhook_url_with_control_characters_is_a_422(api: Api) -> None:
    answer = api.post_job(webhook_url="https://hooks.example.com/\u202eexe.hook")
    assert answer.status_code == 422
    [field] = answer.json()["error"]["fields"]
    assert field["field"] == "webhook_url" and "control characters" in field["reason"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_response_carries_nosniff(api: Api) -> None:
    job = api.new_job()
    answers = [
        api.client.get("/healthz"),
        api.client.get("/jobs"),  # 401
        api.get(f"/jobs/{uuid.uuid4()}"),  # 404
        api.get(f"/jobs/{job}"),
        api.post("/jobs", content=b"{" * 70_000),  # 413 from the body limit
        api.post("/jobs", json={"depth": 7}),  # 422
        api.client.get("/"),  # the dashboard
        api.client.get("/openapi.json"),
    ]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.request.url


def test_stream_slots_cap_each_owner_and_come_back() -> None:
    slots = StreamSlots(per_owner=2)
    alice, bob = uuid.uuid4(), uuid.uuid4()

    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    async def drain(stream: AsyncIterator[bytes]) -> None:
        async for _ in stream:
            pass

    def hold(owner: uuid.UUID) -> AsyncIterator[bytes]:
        return asyncio.run(slots.hold(owner, body()))

    first, second = hold(alice), hold(alice)
    hold(bob)  # another owner's count
    with pytest.raises(ApiError) as caught:
        hold(alice)
    assert caught.value.status == 429 and "Retry-After" in (caught.value.headers or {})
    asyncio.run(drain(first))  # ended: its slot comes back
    assert slots.open(alice) == 1
    del second  # never started (the client left before the headers): back when collected
    gc.collect()
    assert slots.open(alice) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_streams_past_the_cap_are_429(api: Api) -> None:
    job = api.new_job()
    api.client.app.state.stream_slots = StreamSlots(per_owner=0)  # type: ignore[attr-defined]
    for path in ("/events/stream", f"/jobs/{job}/events/stream"):
        answer = api.get(path)
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "too_many_requests"
        assert answer.headers["Retry-After"] == "5"
