"""`crs submit --name value ...` as the body of POST /jobs."""

from __future__ import annotations

import pytest

from client.fields import FieldSyntaxError, parse_fields


def test_parse_fields_reads_numbers_booleans_and_text() -> None:
    tokens = ["--architecture", "resnet", "--depth", "56", "--learning-rate=0.1"]
    tokens += ["--weight-decay", "1e-4", "--seed", "-1", "--no-augment", "--init-from", "null"]
    assert parse_fields(tokens) == {
        "architecture": "resnet",
        "depth": 56,
        "learning_rate": 0.1,
        "weight_decay": 1e-4,
        "seed": -1,
        "augment": False,
        "init_from": None,
    }


def test_parse_fields_takes_a_bare_flag_as_true_and_json_lists() -> None:
    tokens = ["--augment", "--webhook-events", '["status", "epoch"]', "--shortcut", "B"]
    assert parse_fields(tokens) == {
        "augment": True,
        "webhook_events": ["status", "epoch"],
        "shortcut": "B",
    }


def test_parse_fields_keeps_unparsable_values_as_text() -> None:
    assert parse_fields(["--depth", "fifty", "--seed", "007"]) == {"depth": "fifty", "seed": "007"}


@pytest.mark.parametrize("tokens", [["resnet"], ["--"], ["--=3"], ["-d", "3"]])
def test_parse_fields_refuses_tokens_that_are_not_fields(tokens: list[str]) -> None:
    with pytest.raises(FieldSyntaxError):
        parse_fields(tokens)
