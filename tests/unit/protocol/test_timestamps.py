"""Timestamps read from responses: the forms services send, strictly parsed, never a raw error."""

from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kms_mrk
from kms_mrk import Credentials, DescribeKeyCommand, KMSClient
from kms_mrk.errors import ResponseParseError
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Member, Schema
from kms_mrk.transport import HttpRequest, HttpResponse

UTC = dt.timezone.utc
_TS = Schema("T", "structure")
_TS.set_members([Member("When", "when", Schema("Stamp", "timestamp"))])


def _parse(value: Any) -> dt.datetime:
    result: dt.datetime = awsjson11.decode_body(_TS, json.dumps({"When": value}).encode())["when"]
    return result


def _describe_key_body(creation_date: Any) -> bytes:
    return json.dumps({"KeyMetadata": {"KeyId": "k", "CreationDate": creation_date}}).encode()


# -- F1: dates whose conversion to UTC leaves the datetime range ------------------------------

EXTREME_DATES = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "Mon, 01 Jan 0001 00:00:00 +0100",
    "9999-12-31T23:59:59.999999-00:01",
    "1e999",
    "-1e300",
    "NaN",
    "99999999999999999999",
]


@pytest.mark.parametrize("value", EXTREME_DATES)
def test_out_of_range_dates_are_parse_errors_naming_the_member(value: str) -> None:
    response = HttpResponse(200, {"x-amzn-requestid": "r1"}, _describe_key_body(value))
    with pytest.raises(ResponseParseError) as info:
        awsjson11.deserialize_response(
            kms_mrk.DescribeKeyResponse.__schema__, response, operation="DescribeKey"
        )
    assert "KeyMetadata.CreationDate" in str(info.value)
    assert "r1" in str(info.value)


@pytest.mark.parametrize("value", [1e300, -1e300, 10**30, float("inf"), float("nan")])
def test_out_of_range_epoch_numbers_are_parse_errors(value: float) -> None:
    body = json.dumps({"When": value}, allow_nan=True).encode()
    with pytest.raises(ResponseParseError, match=r"When: timestamp .* is out of range"):
        awsjson11.decode_body(_TS, body)


class _Answer:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = 0

    def send(self, request: HttpRequest) -> HttpResponse:
        self.sent += 1
        return HttpResponse(200, {"x-amzn-requestid": "r2"}, self.body)

    def close(self) -> None:
        pass


def test_client_send_raises_a_library_error_for_a_hostile_date() -> None:
    transport = _Answer(_describe_key_body("0001-01-01T00:00:00+05:00"))
    client = KMSClient(
        "us-east-1",
        credentials=Credentials("AKIDEXAMPLE", "not-a-real-secret"),
        transport=transport,
        environ={},
        sleep=lambda _s: None,
    )
    with (
        client,
        pytest.raises(ResponseParseError, match=r"CreationDate: timestamp .* out of range"),
    ):
        client.send(DescribeKeyCommand(key_id="k"))


# -- N2: the forms services send, parsed strictly --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-01-25T08:00:00Z", dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        ("2015-01-25T08:00:00z", dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        ("2015-01-25T08:00:00.1Z", dt.datetime(2015, 1, 25, 8, 0, 0, 100000, tzinfo=UTC)),
        ("2015-01-25T08:00:00.12Z", dt.datetime(2015, 1, 25, 8, 0, 0, 120000, tzinfo=UTC)),
        ("2015-01-25T08:00:00.1234Z", dt.datetime(2015, 1, 25, 8, 0, 0, 123400, tzinfo=UTC)),
        (
            "2015-01-25T08:00:00.123456789Z",
            dt.datetime(2015, 1, 25, 8, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2015-01-25T08:00:00+02:00", dt.datetime(2015, 1, 25, 6, tzinfo=UTC)),
        ("2015-01-25T08:00:00-0130", dt.datetime(2015, 1, 25, 9, 30, tzinfo=UTC)),
        ("2015-01-25T08:00:00", dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", dt.datetime(1, 1, 1, tzinfo=UTC)),
        ("Sun, 25 Jan 2015 08:00:00 GMT", dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        ("25 Jan 2015 08:00:00 +0200", dt.datetime(2015, 1, 25, 6, tzinfo=UTC)),
        ("Sun, 25 Jan 2015 08:00 EST", dt.datetime(2015, 1, 25, 13, tzinfo=UTC)),
        ("Mon, 01 Jan 0001 00:00:00 GMT", dt.datetime(1, 1, 1, tzinfo=UTC)),
        ("Fri, 31 Dec 0999 23:59:59 GMT", dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("1422172800", dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        ("1422172800.5", dt.datetime(2015, 1, 25, 8, 0, 0, 500000, tzinfo=UTC)),
        (1422172800, dt.datetime(2015, 1, 25, 8, tzinfo=UTC)),
        (1422172800.25, dt.datetime(2015, 1, 25, 8, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamp_forms(text: Any, expected: dt.datetime) -> None:
    parsed = _parse(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_standard_forms_do_not_depend_on_the_standard_library_parsers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.10's fromisoformat rejects "Z" and 1-, 2-, 4- or 9-digit fractions, and
    # email.utils reads year 0001 as 2001: the standard forms must not reach them.
    def refuse(text: str) -> None:
        raise AssertionError(f"standard form {text!r} reached the fallback")

    monkeypatch.setattr(awsjson11, "_stdlib_timestamp", refuse)
    for text in (
        "2015-01-25T08:00:00Z",
        "2015-01-25T08:00:00.1Z",
        "2015-01-25T08:00:00.123456789+01:00",
        "Sun, 25 Jan 2015 08:00:00 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT",
    ):
        assert _parse(text).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("yesterday", "'yesterday' is not a timestamp"),
        ("2015-02-30T00:00:00Z", "is not a valid timestamp (day is out of range for month)"),
        ("2015-01-25T25:00:00Z", "is not a valid timestamp"),
        ("2015-01-25T08:00:00+24:00", "is not a valid timestamp"),
        ("Sun, 25 Jan 2015 08:00:00 XYZ", "unknown time zone 'XYZ'"),
        ("0000-01-01T00:00:00Z", "is not a valid timestamp"),
    ],
)
def test_invalid_dates_say_why(text: str, fragment: str) -> None:
    with pytest.raises(ResponseParseError) as info:
        _parse(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("Could not parse the service response: When: ")


_MOMENTS = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(UTC)
)
_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)


@given(moment=_MOMENTS, zone=_OFFSETS, digits=st.integers(min_value=1, max_value=9))
def test_iso8601_round_trip_any_offset_and_fraction_length(
    moment: dt.datetime, zone: dt.timezone, digits: int
) -> None:
    local = moment.astimezone(zone)
    fraction = f"{local.microsecond:06d}{'987'}"[:digits]
    offset = local.strftime("%z")
    text = f"{local.year:04d}-{local:%m-%dT%H:%M:%S}.{fraction}{offset[:3]}:{offset[3:]}"
    expected = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    assert _parse(text) == expected


@given(moment=_MOMENTS.map(lambda m: m.replace(microsecond=0)))
def test_imf_fixdate_round_trip_every_year(moment: dt.datetime) -> None:
    text = format_datetime(moment, usegmt=True)
    assert _parse(text) == moment


@given(
    value=st.one_of(
        st.text(max_size=40),
        st.from_regex(
            r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2})?\Z"
        ),
        st.from_regex(
            r"\A(Mon, )?[0-9]{1,2} (Jan|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\Z"
        ),
        st.floats(),
        st.integers(),
    )
)
def test_any_timestamp_text_is_a_datetime_or_a_parse_error(value: Any) -> None:
    try:
        parsed = _parse(value)
    except ResponseParseError:
        return
    assert parsed.tzinfo is UTC
