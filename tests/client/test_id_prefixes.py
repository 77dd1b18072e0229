"""A unique prefix names one's own job or sweep, as git names commits (issue 18)."""

from __future__ import annotations

import pytest

from client.job_ids import AmbiguousId, unique_id

IDS = [
    "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "7c1f0000-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    "0b9f6e5e-6f0c-4c39-9b83-6a1f3e1d2c4b",
]


def test_a_unique_prefix_gives_the_whole_id_in_any_case() -> None:
    assert unique_id(IDS, "7C1E", noun="sweep") == IDS[0]
    assert unique_id(IDS, "0b9f6e5e-6f", noun="sweep") == IDS[2]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("7c1", "2 of your sweeps have ids starting with '7c1'"),
        ("ffff", "none of your sweeps has an id starting with 'ffff'"),
        ("figure", "'figure' is not a sweep id or the start of one"),
    ],
)
def test_an_ambiguous_missing_or_malformed_prefix_says_why(given: str, says: str) -> None:
    with pytest.raises(AmbiguousId, match=says):
        unique_id(IDS, given, noun="sweep")
