"""Pagination cursors: anything a client can send is a page position or a 422 naming `cursor`."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.errors import ApiError
from api.pagination import decode_cursor, encode_cursor
from tests.api.conftest import Api


def _b64(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


JOB = "0b6f2a4e-8f4a-4c1e-9a53-5d0c3c8f1e2a"
FORGED = [
    _b64(f"0001-01-01T00:00:00+23:59|{JOB}"),  # year 1 with an offset: year 0 in UTC
    _b64(f"0001-01-01T00:00:00+00:00|{JOB}"),
    _b64(f"9999-12-31T23:59:59-23:59|{JOB}"),  # past year 9999 in UTC
    _b64(f"2026-01-01T00:00:00+00:00|{JOB}|{JOB}"),
    _b64(f"2026-01-01T00:00:00+00:00|{{{JOB}}}"),  # a UUID form the encoder never writes
    _b64(f"2026-01-01T00:00:00+00:00|urn:uuid:{JOB}"),
    _b64("2026-01-01T00:00:00+00:00|" + "0" * 32),
    _b64(f"2026-01-01|{JOB}"),  # a date, not a timestamp
    _b64(f"[1, 2]|{JOB}"),
    _b64(f"1767225600|{JOB}"),
    _b64(f"2026-01-01T00:00:00+00:00\n|{JOB}"),
    _b64(b"\xff\xfe\x00"),
    _b64(""),
    "====",
    "a",
    "é",
    "AAAA\x00",
    _b64("x" * 150),
]


@pytest.mark.parametrize("cursor", FORGED)
def test_cursor_forged_is_422_naming_cursor(cursor: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_cursor(cursor)
    assert raised.value.status == 422
    assert [(f.field, f.location) for f in raised.value.body.error.fields] == [("cursor", "query")]


def test_cursor_round_trips() -> None:
    at, job_id = datetime(2026, 11, 23, 18, 44, 40, 123456, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(at, job_id)) == (at, job_id)


# Cursors shaped like real ones: any time in datetime's range, any offset, odd suffixes.
OFFSETS = st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
SHAPED = st.builds(
    lambda at, job_id, suffix: _b64(f"{at.isoformat()}|{job_id}{suffix}"),
    st.datetimes(timezones=OFFSETS),
    st.uuids(),
    st.sampled_from(["", "|", " ", "x", "\n"]),
)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=150).map(_b64), SHAPED))
def test_cursor_fuzzed_is_a_position_or_422(cursor: str) -> None:
    try:
        created_at, job_id = decode_cursor(cursor)
    except ApiError as error:
        assert error.status == 422
        assert error.body.error.fields[0].field == "cursor"
        return
    # A position: an aware UTC time the database can store, and the cursor the encoder writes.
    assert created_at.tzinfo is not None and created_at.utcoffset() is not None
    assert (
        datetime(1999, 1, 1, tzinfo=UTC)
        < created_at.astimezone(UTC)
        < datetime(9999, 1, 1, tzinfo=UTC)
    )
    assert isinstance(job_id, uuid.UUID)
    assert encode_cursor(created_at, job_id) == cursor


def test_list_forged_cursor_over_http_is_422_not_500(api: Api) -> None:
    api.new_job()
    for cursor in FORGED:
        response = api.get("/jobs", params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        field = response.json()["error"]["fields"][0]
        assert (field["field"], field["in"]) == ("cursor", "query")
