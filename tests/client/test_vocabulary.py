"""The client keeps copies of the service's words (it imports nothing of the service, and its CLI
offers `--status` choices without a server); here they are held equal to core/vocabulary.py."""

from __future__ import annotations

from client.api_types import EVENT_TYPES, STATUSES, TERMINAL
from client.cli import build_parser
from core.vocabulary import PROGRESS_EVENT, EventType, JobStatus


def test_client_statuses_equal_the_vocabulary() -> None:
    assert tuple(status.value for status in JobStatus) == STATUSES
    assert tuple(status.value for status in JobStatus if status.terminal) == TERMINAL


def test_client_event_types_equal_the_vocabulary_and_the_stream_event() -> None:
    assert (*(event.value for event in EventType), PROGRESS_EVENT) == EVENT_TYPES


def test_cli_status_choices_are_the_statuses() -> None:
    listing = build_parser()._subparsers._group_actions[0].choices["list"]  # type: ignore[union-attr]
    status = next(action for action in listing._actions if action.dest == "status")
    assert tuple(status.choices) == STATUSES  # type: ignore[arg-type]
