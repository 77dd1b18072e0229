"""One vocabulary (issue 16): the API's schema shows core/vocabulary's words as enums, and every
failure, warning and event the service writes is one of them, so a word added in one place only
fails here."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from core.store.events import EVENT_TYPES
from core.vocabulary import ErrorCode, EventType, FailureCode, JobStatus, WarningCode
from testkit.processes import REPO
from tests.api.conftest import Api, client_for, make_settings, succeed_job

# Where the service writes a failure code or a warning code, whichever module holds it.
FAILURE_SITES = (
    re.compile(r'\bFailure\(\s*"(\w+)"'),
    re.compile(r'\berror_code\s*=\s*"(\w+)"'),
    re.compile(r'"error_code":\s*"(\w+)"'),
)
WARNING_SITES = (
    re.compile(r'record_warning\([^)]*?\bcode\s*=\s*"(\w+)"', re.S),
    # The watchdog's findings, stored by the worker as warning events (issue 22).
    re.compile(r'\bTrainingWarning\(\s*"(\w+)"'),
)


def _values(enum: type[Enum]) -> list[str]:
    return [member.value for member in enum]


def _sources() -> str:
    files = [*(REPO / "core").rglob("*.py"), *(REPO / "worker").rglob("*.py")]
    return "\n".join(path.read_text() for path in files if "migrations" not in path.parts)


def test_openapi_shows_statuses_event_types_and_codes_as_enums(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    with client_for(settings) as client:
        components = client.get("/openapi.json").json()["components"]["schemas"]
    for enum in (JobStatus, EventType, ErrorCode, FailureCode):
        assert components[enum.__name__]["enum"] == _values(enum), enum.__name__
    refs = {
        ("JobView", "status"): "JobStatus",
        ("EventView", "type"): "EventType",
        ("ErrorBody", "code"): "ErrorCode",
        ("JobError", "code"): "FailureCode",
    }
    for (model, field), enum_name in refs.items():
        assert components[model]["properties"][field]["$ref"].endswith(f"/{enum_name}")


def test_every_failure_code_written_is_in_the_vocabulary() -> None:
    written = {code for site in FAILURE_SITES for code in site.findall(_sources())}
    assert written, "no failure code found: the patterns no longer match the sources"
    assert written <= set(_values(FailureCode)), written - set(_values(FailureCode))
    # And no code is listed that nothing writes (`failed` is the view's own fallback).
    assert set(_values(FailureCode)) - {"failed"} <= written


def test_every_warning_code_written_is_in_the_vocabulary() -> None:
    written = {code for site in WARNING_SITES for code in site.findall(_sources())}
    assert written == set(_values(WarningCode))


def test_store_accepts_exactly_the_vocabulary_event_types() -> None:
    assert tuple(_values(EventType)) == EVENT_TYPES
    assert [status for status in JobStatus if status.terminal] == [
        JobStatus.succeeded,
        JobStatus.failed,
        JobStatus.cancelled,
        JobStatus.stopped,
    ]


def test_class_names_are_the_data_sets_meta_names() -> None:
    from core.class_names import CLASS_NAMES
    from testkit.cifar_files import CIFAR10_CLASSES, CIFAR100_CLASSES

    assert {"cifar10": tuple(CIFAR10_CLASSES), "cifar100": tuple(CIFAR100_CLASSES)} == CLASS_NAMES
    assert CLASS_NAMES["cifar100"][:3] == ("apple", "aquarium_fish", "baby")


def test_cifar100_job_results_carry_cifar100_class_names(api: Api) -> None:
    from core.class_names import CLASS_NAMES

    job_id = api.new_job(dataset="cifar100", epochs=2)
    succeed_job(api.database_url, job_id)  # results stored without names, as before issue 16
    results = api.get(f"/jobs/{job_id}").json()["results"]
    assert results["classes"] == list(CLASS_NAMES["cifar100"])
