"""Lists written for people, held to their sources (issue 16): a job field, a setting, a status,
an event type or a warning code added in one place only fails here.

The sources: the request model the API serves (built from the spec's declaration in
core/spec.py), core/settings.py's Settings, and core/vocabulary.py.
"""

from __future__ import annotations

import re
from typing import Any

from api.schemas import examples
from api.schemas.request import JobRequest
from api.schemas.views import JobSpec, JobView
from core.settings import Settings
from core.spec import DATASET_NAMES
from core.vocabulary import EventType, JobStatus, WarningCode
from testkit.processes import REPO

README = (REPO / "README.md").read_text()


def _section(title: str) -> str:
    """The README's text from the heading `## title` to the next `## `."""
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def _defaults(**required: Any) -> dict[str, Any]:
    resolved: dict[str, Any] = JobRequest.model_validate(required).resolve()
    return resolved


def test_explicit_request_example_gives_every_spec_field_at_its_default() -> None:
    value = examples.REQUESTS["explicit"]["value"]
    # The uploaded data set's facts are the service's to write (issue 19), never a request's.
    assert set(value) == set(JobSpec.model_fields) - DATASET_NAMES
    required = {name: value[name] for name in ("architecture", "depth", "epochs")}
    assert value == _defaults(**required)


def test_job_examples_show_every_spec_field_and_validate() -> None:
    assert set(examples.SPEC) == set(JobSpec.model_fields) - DATASET_NAMES
    required = {name: examples.SPEC[name] for name in ("architecture", "depth", "epochs")}
    assert _defaults(**required) == examples.SPEC
    shown = JobView.model_validate(examples.RUNNING_JOB).spec.model_dump()
    assert {name: shown.pop(name) for name in DATASET_NAMES} == dict.fromkeys(DATASET_NAMES)
    assert shown == examples.SPEC


def test_readme_field_list_names_every_request_field_and_no_other() -> None:
    text = _section("The API in short")
    listed = text[text.index("The fields of `POST /jobs`") : text.index("`Idempotency-Key`")]
    # Backticked words in the list are field names or their choices; the choices set aside,
    # the rest must be exactly the request model's fields.
    named = set(re.findall(r"`([A-Za-z_]+)`", listed)) - _choices()
    assert named == set(JobRequest.model_fields)


def _choices() -> set[str]:
    found: set[str] = set()
    for field in JobRequest.model_json_schema()["properties"].values():
        for option in [field, *field.get("anyOf", [])]:
            found |= {str(value) for value in option.get("enum", [])}
    return found


def test_readme_settings_table_has_every_setting_and_no_other() -> None:
    table = _section("Configuration")
    variables = set()
    for row in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|", table, flags=re.MULTILINE):
        variables |= set(re.findall(r"`([A-Z_]+)`", row))
    assert variables == {name.upper() for name in Settings.model_fields}


def test_readme_events_section_names_every_status_event_type_and_warning() -> None:
    text = _section("Live events and webhooks")
    paragraph = text[: text.index("| request |")]
    for word in [*JobStatus, *EventType, *WarningCode]:
        assert re.search(rf"\b{word.value}\b", paragraph), word.value
