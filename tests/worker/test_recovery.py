"""Super fetch: a worker restarted under a dead worker's node name takes back its running jobs,
and never a live worker's. Real databases and real lock files; the other workers are real
processes (`python -c`) that take the node's lock and exit, or hold it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from core.settings import Settings
from core.store.db import session_scope
from core.store.reaping import abandon_job
from core.store.tables import JobStatus
from testkit.builders import Sent, claim, job_row, new_job
from worker import recovery

NODE = "w1@testhost"

# Another worker process: takes the node's lock, prints its id, then exits or holds on.
OTHER_WORKER = """
import json, sys, time
from core.settings import Settings
from worker import recovery
settings = Settings(_env_file=None, worker_state_dir=sys.argv[1])
me, locked = recovery.take_node(settings, sys.argv[2])
print(json.dumps({"id": str(me), "locked": locked}), flush=True)
if sys.argv[3] == "hold":
    time.sleep(600)
"""


@pytest.fixture
def state(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings.model_copy(update={"worker_state_dir": tmp_path_factory.mktemp("state")})


def _other_worker(settings: Settings, node: str = NODE) -> dict[str, object]:
    """A worker process that took the node's lock and has exited (died) since."""
    out = subprocess.run(
        [sys.executable, "-c", OTHER_WORKER, str(settings.worker_state_dir), node, "exit"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


@pytest.fixture
def live_worker(state: Settings) -> Iterator[dict[str, object]]:
    """A worker process named NODE that is alive and holds the node's lock."""
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER_WORKER, str(state.worker_state_dir), NODE, "hold"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield dict(json.loads(process.stdout.readline()))
    finally:
        process.kill()
        process.wait()


def test_restarted_worker_takes_back_dead_predecessors_jobs_at_once(state: Settings) -> None:
    dead = _other_worker(state)
    assert dead["locked"]
    mine = new_job(state.database_url)
    claim(state.database_url, mine, worker=str(dead["id"]))
    # Not this worker's: another node name, and the same name on another machine (home).
    elsewhere = new_job(state.database_url)
    claim(state.database_url, elsewhere, worker="w2@testhost/pid7/0123456789ab.0123456789ab")
    other_home = new_job(state.database_url)
    claim(state.database_url, other_home, worker=f"{NODE}/pid7/0123456789ab.0123456789ab")

    me, locked = recovery.take_node(state, NODE)
    assert locked and str(me) != dead["id"]
    sent = Sent()
    assert recovery.take_back(state, me, sent) == [mine]
    assert sent.ids == [mine]
    job = job_row(state.database_url, mine)
    # As a lease timeout would leave it, minutes earlier: queued, the attempt counted.
    assert (job.status, job.lease_id, job.worker, job.attempts) == (JobStatus.queued, None, None, 1)
    for untouched in (elsewhere, other_home):
        assert job_row(state.database_url, untouched).status == JobStatus.running


def test_worker_takes_nothing_while_a_live_worker_has_its_name(
    state: Settings, live_worker: dict[str, object]
) -> None:
    assert live_worker["locked"]
    held = new_job(state.database_url)
    lease = claim(state.database_url, held, worker=str(live_worker["id"])).lease_id
    me, locked = recovery.take_node(state, NODE)
    assert not locked
    # Its own claims carry a home of their own, so no later worker takes them by name either.
    assert not me.earlier_self(str(live_worker["id"]))
    assert (
        str(me).split("/")[-1].split(".")[0] != str(live_worker["id"]).split("/")[-1].split(".")[0]
    )
    job = job_row(state.database_url, held)
    assert (job.status, job.lease_id) == (JobStatus.running, lease)


def test_take_back_leaves_job_taken_meanwhile_under_another_lease(state: Settings) -> None:
    dead = _other_worker(state)
    job_id = new_job(state.database_url)
    claim(state.database_url, job_id, worker=str(dead["id"]))
    me, locked = recovery.take_node(state, NODE)
    assert locked
    # The dead worker's lease ran out and another worker claimed the job: its lease is not ours.
    with session_scope(state.database_url) as session:
        abandon_job(
            session=session,
            job_id=job_id,
            lease_id=job_row(state.database_url, job_id).lease_id,
            max_attempts=9,
            reason="test",
        )
    other = claim(state.database_url, job_id, worker="w2@otherhost/pid1/aaaaaaaaaaaa.bbbbbbbbbbbb")
    sent = Sent()
    assert recovery.take_back(state, me, sent) == []
    job = job_row(state.database_url, job_id)
    assert (job.status, job.lease_id) == (JobStatus.running, other.lease_id)
    assert sent.ids == []


def test_worker_id_recognises_only_its_own_earlier_processes() -> None:
    me = recovery.WorkerId("w1@h", 200, "0123456789ab", "cccccccccccc")
    assert me.earlier_self("w1@h/pid100/0123456789ab.dddddddddddd")
    assert me.earlier_self("w1@h/pid200/0123456789ab.dddddddddddd")  # a pid used again
    assert not me.earlier_self(str(me))
    assert not me.earlier_self("w1@h/pid100/ffffffffffff.dddddddddddd")  # another home
    assert not me.earlier_self("w1@hx/pid100/0123456789ab.dddddddddddd")  # another node
    assert not me.earlier_self("w1@h/pid100")  # claims made before worker ids


def test_lock_file_keeps_its_home_from_one_worker_to_the_next(state: Settings) -> None:
    first, second = _other_worker(state), _other_worker(state)
    home = [str(who["id"]).rsplit("/", 1)[1].split(".")[0] for who in (first, second)]
    assert home[0] == home[1] and first["id"] != second["id"]
