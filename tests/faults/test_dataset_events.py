"""An uploaded data set's events on the owner's stream (issue 19), with real processes: the API
and a worker of the `datasets` queue on PostgreSQL and Redis. A reader of GET /events/stream sees
each upload go from `processing` to `ready`, or to `failed` naming the archive member at fault,
live (published by the dataset worker after its commit); a reader that comes back with a
Last-Event-ID gets the stored ones after it, once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.dataset_files import image_folder_files, write_archive
from testkit.processes import Processes
from tests.faults.conftest import Service
from tests.faults.test_datasets_hosts import _start_dataset_worker
from tests.faults.test_events import reader
from tests.sse_reader import Message

pytestmark = pytest.mark.slow

CLASSES = ["amber", "cobalt", "jade"]
BROKEN = "train/jade/002.png"


def _ends(ids: set[str]) -> Callable[[Message], bool]:
    """A cut that stops the reader once every data set of `ids` (filled in later, by the
    caller) reached ready or failed."""
    ended: set[str] = set()

    def cut(message: Message) -> bool:
        data = message.data
        if message.event == "dataset" and data["data"]["status"] in ("ready", "failed"):
            ended.add(data["dataset_id"])
        return bool(ids) and ids <= ended

    return cut


def test_owner_stream_follows_uploads_to_ready_and_failed(
    service: Service, processes: Processes, workdir: Path
) -> None:
    service.api()
    _start_dataset_worker(
        processes, {**service.env, "DATASET_CACHE_DIR": str(workdir / "processor")}
    )
    good_files = image_folder_files(CLASSES, per_class=20)
    bad_files = {**good_files, BROKEN: b"\x89PNG\r\n\x1a\n cut short"}
    good = write_archive(workdir / "good.zip", good_files)
    bad = write_archive(workdir / "bad.zip", bad_files)
    ids: set[str] = set()
    stream = reader(service, "/events/stream", cut=_ends(ids))
    with service.client(timeout=60) as http:
        uploaded = {}
        for name, archive in (("good", good), ("bad", bad)):
            answer = http.post("/datasets", params={"name": name}, content=archive.read_bytes())
            assert answer.status_code == 202, answer.text
            uploaded[name] = answer.json()["id"]
    ids |= set(uploaded.values())
    stream.finish(120)
    events = [m for m in stream.stored() if m.event == "dataset"]
    by_set = {
        name: [m.data for m in events if m.data["dataset_id"] == dataset_id]
        for name, dataset_id in uploaded.items()
    }
    for name, found in by_set.items():
        assert found[0]["data"]["status"] == "processing", (name, found)
        assert found[0]["data"]["progress"] == 0.0 and found[0]["data"]["name"] == name
        assert {e["job_id"] for e in found} == {None}
        assert all(e["data"]["status"] == "processing" for e in found[:-1])
    with service.client() as http:
        shown = http.get(f"/datasets/{uploaded['good']}").json()
    ready = by_set["good"][-1]["data"]
    assert ready["status"] == "ready" and ready["fingerprint"] == shown["fingerprint"]
    assert (ready["classes"], ready["train_images"]) == (3, shown["train_images"])
    failed = by_set["bad"][-1]["data"]
    assert failed["status"] == "failed" and failed["error"]["where"] == BROKEN
    assert BROKEN in failed["error"]["message"]
    # Back with the first event's id: the stored events after it, in order, once.
    first = events[0].id
    assert first is not None
    again = reader(service, "/events/stream", last_event_id=first, cut=_ends(ids))
    again.finish(60)
    assert [m.id for m in again.stored()] == [m.id for m in events[1:]]
