"""AWS JSON 1.1, the wire protocol of KMS: schema-driven, no I/O.

Requests are ``POST /`` with ``X-Amz-Target: <prefix>.<Operation>`` and a JSON body: blobs are
base64, timestamps epoch seconds (unless a member says otherwise), unset members omitted,
and NaN/Infinity written as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

Encoders and decoders are compiled once per schema into small closures (cached on the
schema), so the per-call cost is a walk over the members actually present. Compiling takes a
lock and publishes the closures only once they are complete; a call that finds them compiled
takes no lock. Decoders check
every type they read (a 2xx body that is empty, ``{}`` or ``null`` is an output with no members
set, as in the JS SDK); a response that breaks the protocol raises
:class:`~kms_mrk.errors.ResponseParseError` naming the member path, never a bare
``KeyError``/``ValueError``/``JSONDecodeError``.

The same codec serves the server side (the embedded local KMS decodes requests and encodes
responses with it).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kms_mrk._service as _facts
from kms_mrk.errors._base import ResponseParseError, ServiceException
from kms_mrk.schema import (
    BLOB,
    BOOLEAN,
    DOCUMENT,
    FLOAT_TYPES,
    INTEGER_TYPES,
    LIST,
    MAP,
    STRING,
    STRUCTURED_TYPES,
    TIMESTAMP,
    UNION,
    Member,
    Schema,
    Shape,
)
from kms_mrk.transport._types import HttpRequest, HttpResponse

__all__ = [
    "CONTENT_TYPE",
    "ParsedError",
    "decode_body",
    "deserialize_error",
    "deserialize_response",
    "encode_body",
    "error_code_from",
    "request_id_from",
    "serialize_request",
]

CONTENT_TYPE = _facts.CONTENT_TYPE
_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_json_decode = json.JSONDecoder().decode


class _Bad(Exception):
    """Internal: a decoding problem; ``path`` is built while the error unwinds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []

    def where(self) -> str:
        out = ""
        for part in reversed(self.path):
            out = f"{out}{part}" if part.startswith("[") else (f"{out}.{part}" if out else part)
        return out


def _jtype(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# --------------------------------------------------------------------------------------
# timestamps


def _to_datetime(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    return _dt.datetime.fromtimestamp(value, _UTC)


def _epoch_seconds(value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    moment = _to_datetime(value)
    delta = moment - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return (seconds * 10**6 + delta.microseconds) / 10**6
    return seconds


def _iso8601(value: Any) -> str:
    moment = _to_datetime(value).astimezone(_UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace("000Z", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _httpdate(value: Any) -> str:
    from email.utils import format_datetime

    return format_datetime(_to_datetime(value).astimezone(_UTC), usegmt=True)


_TS_WRITERS: dict[str, Callable[[Any], Any]] = {
    "unixtimestamp": _epoch_seconds,
    "iso8601": _iso8601,
    "rfc822": _httpdate,
}


def _parse_timestamp(value: Any) -> _dt.datetime:
    if isinstance(value, bool):
        raise _Bad("expected a timestamp, got boolean")
    if isinstance(value, (int, float)):
        try:
            return _dt.datetime.fromtimestamp(value, _UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _out_of_range(value) from exc
    if isinstance(value, str):
        return _parse_timestamp_text(value)
    raise _Bad(f"expected a timestamp, got {_jtype(value)}")


def _out_of_range(value: Any) -> _Bad:
    shown = repr(value[:40]) if isinstance(value, str) else repr(value)
    return _Bad(f"timestamp {shown} is out of range")


# Strict forms first: epoch seconds, ISO 8601 (4-digit year, any fraction length, Z or a
# numeric offset) and RFC 822 / IMF-fixdate with a 4-digit year. The standard library is
# only asked about other forms; it would read year 0001 as 2001 (the two-digit-year rule of
# email.utils) and, before Python 3.11, reject "Z" and fractions that are not 3 or 6 digits.
# Compiled on first use (KMS sends epoch numbers; text is for other servers and tests).
_EPOCH_TEXT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_ISO_TEXT = (
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {
    "gmt": 0,
    "ut": 0,
    "utc": 0,
    "z": 0,
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
}
_RFC822_TEXT = (
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun),?\s*)?(\d{1,2})[ -]"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[ -](\d{4})\s+"
    r"(\d{2}):(\d{2})(?::(\d{2}))?(?:\s*(?:([+-])(\d{2})(\d{2})|([a-z]{1,3})))?"
)
_text_forms: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None = None


def _forms() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The epoch, ISO 8601 and RFC 822 patterns (a race compiles them twice, harmlessly)."""
    global _text_forms
    if _text_forms is None:
        _text_forms = (
            re.compile(_EPOCH_TEXT),
            re.compile(_ISO_TEXT),
            re.compile(_RFC822_TEXT, re.IGNORECASE),
        )
    return _text_forms


def _parse_timestamp_text(value: str) -> _dt.datetime:
    text = value.strip()
    try:
        if _forms()[0].fullmatch(text):
            return _dt.datetime.fromtimestamp(float(text), _UTC)
        moment = _strict_iso(text) or _strict_rfc822(text) or _stdlib_timestamp(text)
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_UTC)
            return moment.astimezone(_UTC)
    except (OverflowError, OSError) as exc:
        raise _out_of_range(value) from exc
    except ValueError as exc:
        raise _Bad(f"{value[:40]!r} is not a valid timestamp ({exc})") from exc
    raise _Bad(f"{value[:40]!r} is not a timestamp")


def _offset(sign: str | None, hours: str | None, minutes: str | None) -> _dt.tzinfo:
    if not sign:
        return _UTC
    delta = _dt.timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return _dt.timezone(-delta if sign == "-" else delta)


def _strict_iso(text: str) -> _dt.datetime | None:
    match = _forms()[1].fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, oh, om = match.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    return _dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        micro,
        tzinfo=_offset(sign, oh, om),
    )


def _strict_rfc822(text: str) -> _dt.datetime | None:
    match = _forms()[2].fullmatch(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, oh, om, zone = match.groups()
    if zone is not None:
        hours = _ZONES.get(zone.lower())
        if hours is None:
            raise ValueError(f"unknown time zone {zone!r}")
        tz: _dt.tzinfo = _dt.timezone(_dt.timedelta(hours=hours)) if hours else _UTC
    else:
        tz = _offset(sign, oh, om)
    return _dt.datetime(
        int(year),
        _MONTHS[month.lower()],
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        tzinfo=tz,
    )


def _stdlib_timestamp(text: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# --------------------------------------------------------------------------------------
# encoders: Python values -> JSON-ready values


def _encode_blob(value: Any) -> str:
    from base64 import b64encode  # imported by the first blob: many calls carry none

    if isinstance(value, str):
        value = value.encode("utf-8")
    return b64encode(value).decode("ascii")


def _encode_float(value: Any) -> Any:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value


# Compiled encoders and decoders live in ``schema.cache``. Reading the cache takes no lock; a
# miss compiles under _COMPILE_LOCK. Closures being built are kept in a _Pending map (a
# recursive shape finds its own unfinished closure there) and are published to the schemas'
# caches only when the outermost build is complete, so no thread ever sees a closure whose
# member list is still being filled.
_COMPILE_LOCK = threading.Lock()
_MISSING: Any = object()


class _Pending:
    """Closures compiled under the lock, not yet visible to other threads."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], tuple[Schema, Any]] = {}

    def get(self, schema: Schema, key: str) -> Any:
        found = schema.cache.get(key, _MISSING)
        if found is _MISSING:
            entry = self.entries.get((id(schema), key))
            if entry is not None:
                found = entry[1]
        return found

    def put(self, schema: Schema, key: str, value: Any) -> None:
        self.entries[(id(schema), key)] = (schema, value)

    def publish(self) -> None:
        for (_id, key), (schema, value) in self.entries.items():
            schema.cache[key] = value


def _encoder(schema: Schema, ts_format: str | None = None) -> Callable[[Any], Any] | None:
    """Return the encoder for ``schema`` (``None`` means the value is written as it is)."""
    key = f"enc:{ts_format}" if ts_format else "enc"
    enc: Callable[[Any], Any] | None = schema.cache.get(key, _MISSING)
    if enc is _MISSING:
        with _COMPILE_LOCK:
            pending = _Pending()
            enc = _build_encoder(schema, ts_format, pending)
            pending.publish()
    return enc


def _build_encoder(
    schema: Schema, ts_format: str | None, pending: _Pending
) -> Callable[[Any], Any] | None:
    key = f"enc:{ts_format}" if ts_format else "enc"
    found: Callable[[Any], Any] | None = pending.get(schema, key)
    if found is not _MISSING:
        return found
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        fields: list[tuple[str, str, Callable[[Any], Any] | None]] = []

        def encode_struct(value: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for py_name, wire, fn in fields:
                item = getattr(value, py_name)
                if item is not None:
                    out[wire] = item if fn is None else fn(item)
            return out

        pending.put(schema, key, encode_struct)  # before members: recursive shapes
        fields.extend((m.py_name, m.name, _member_encoder(m, pending)) for m in schema.members)
        return encode_struct
    result: Callable[[Any], Any] | None
    if kind == LIST:
        assert schema.member is not None
        item_enc = _build_encoder(schema.member, None, pending)
        if item_enc is None:
            result = list
        else:
            fn = item_enc

            def encode_list(value: Any) -> list[Any]:
                return [None if v is None else fn(v) for v in value]

            result = encode_list
    elif kind == MAP:
        assert schema.value is not None
        value_enc = _build_encoder(schema.value, None, pending)
        if value_enc is None:
            result = dict
        else:
            vfn = value_enc

            def encode_map(value: Any) -> dict[str, Any]:
                return {k: None if v is None else vfn(v) for k, v in value.items()}

            result = encode_map
    elif kind == BLOB:
        result = _encode_blob
    elif kind in FLOAT_TYPES:
        result = _encode_float
    elif kind == TIMESTAMP:
        fmt = (ts_format or schema.timestamp_format or "unixtimestamp").lower()
        result = _TS_WRITERS.get(fmt, _epoch_seconds)
    else:  # strings, enums, integers, booleans, documents
        result = None
    pending.put(schema, key, result)
    return result


def _member_encoder(member: Member, pending: _Pending) -> Callable[[Any], Any] | None:
    if member.timestamp_format and member.target.type == TIMESTAMP:
        return _build_encoder(member.target, member.timestamp_format, pending)
    return _build_encoder(member.target, None, pending)


def encode_body(schema: Schema | None, value: Shape | None) -> bytes:
    """Serialize a structure as its JSON body; ``{}`` for no input."""
    if schema is None or value is None:
        return b"{}"
    enc = _encoder(schema)
    assert enc is not None
    return _ENCODER.encode(enc(value)).encode("utf-8")


def serialize_request(
    target_prefix: str,
    operation: str,
    schema: Schema | None,
    value: Shape | None,
    endpoint_url: str,
    *,
    host_prefix: str | None = None,
) -> HttpRequest:
    """Build the unsigned request for ``operation`` against ``endpoint_url``."""
    body = encode_body(schema, value)
    url = endpoint_url if endpoint_url.endswith("/") else endpoint_url + "/"
    if host_prefix:
        url = _apply_host_prefix(url, host_prefix, schema, value)
    headers = {
        "X-Amz-Target": f"{target_prefix}.{operation}",
        "Content-Type": CONTENT_TYPE,
    }
    return HttpRequest("POST", url, headers, body)


def _apply_host_prefix(url: str, prefix: str, schema: Schema | None, value: Shape | None) -> str:
    if schema is not None and value is not None:
        for m in schema.members:
            label = "{" + m.name + "}"
            if label in prefix:
                prefix = prefix.replace(label, str(getattr(value, m.py_name) or ""))
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{prefix}{rest}"


# --------------------------------------------------------------------------------------
# decoders: parsed JSON -> Python values, type-checked


def _decode_string(value: Any) -> Any:
    if type(value) is str:
        return value
    raise _Bad(f"expected a string, got {_jtype(value)}")


def _decode_bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    raise _Bad(f"expected a boolean, got {_jtype(value)}")


def _decode_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise _Bad(f"expected an integer, got {_jtype(value)}")


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _decode_float(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if kind is str and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    raise _Bad(f"expected a number, got {_jtype(value)}")


def _decode_blob(value: Any) -> bytes:
    if type(value) is not str:
        raise _Bad(f"expected a base64 string, got {_jtype(value)}")
    from base64 import b64decode

    try:
        return b64decode(value, validate=True)
    except ValueError as exc:  # binascii.Error included
        raise _Bad("is not valid base64") from exc


def _decode_document(value: Any) -> Any:
    return value


def _decoder(schema: Schema) -> Callable[[Any], Any]:
    dec: Callable[[Any], Any] | None = schema.cache.get("dec")
    if dec is None:
        with _COMPILE_LOCK:
            pending = _Pending()
            dec = _build_decoder(schema, pending)
            pending.publish()
    return dec


def _build_decoder(schema: Schema, pending: _Pending) -> Callable[[Any], Any]:
    dec: Callable[[Any], Any] = pending.get(schema, "dec")
    if dec is not _MISSING:
        return dec
    kind = schema.type
    if kind in STRUCTURED_TYPES:
        # wire name -> (python name, how to read it). Strings, enums and booleans, most
        # members of KMS responses, are checked inline instead of through a call.
        fields: dict[str, tuple[str, int, Any]] = {}
        required = tuple((m.name, m.py_name) for m in schema.members if m.required)
        cls = schema.py_type
        name = schema.name

        def decode_kwargs(value: Any) -> dict[str, Any]:
            if type(value) is not dict:
                raise _Bad(f"expected an object, got {_jtype(value)}")
            kwargs: dict[str, Any] = {}
            for wire, item in value.items():
                field = fields.get(wire)
                if field is None or item is None:
                    continue
                py_name, how, fn = field
                if how == _READ_STR:
                    if type(item) is not str:
                        raise _bad_at(wire, f"expected a string, got {_jtype(item)}")
                    kwargs[py_name] = item
                elif how == _READ_ENUM:
                    if type(item) is not str:
                        raise _bad_at(wire, f"expected a string, got {_jtype(item)}")
                    kwargs[py_name] = fn.get(item, item)
                elif how == _READ_BOOL:
                    if type(item) is not bool:
                        raise _bad_at(wire, f"expected a boolean, got {_jtype(item)}")
                    kwargs[py_name] = item
                else:
                    try:
                        kwargs[py_name] = fn(item)
                    except _Bad as bad:
                        bad.path.append(wire)
                        raise
            for wire, py_name in required:
                if py_name not in kwargs:
                    raise _bad_at(wire, f"required member of {name} is missing")
            return kwargs

        if cls is None:
            decode = decode_kwargs
        else:
            factory = cls

            def decode_struct(value: Any) -> Any:
                return factory(**decode_kwargs(value))

            decode = decode_struct
        pending.put(schema, "dec_kwargs", decode_kwargs)
        pending.put(schema, "dec", decode)  # before members: recursive shapes
        for m in schema.members:
            fields[m.name] = _member_reader(m, pending)
        return decode
    if kind == LIST:
        assert schema.member is not None
        item_dec = _build_decoder(schema.member, pending)
        sparse = schema.sparse

        def decode_list(value: Any) -> list[Any]:
            if type(value) is not list:
                raise _Bad(f"expected an array, got {_jtype(value)}")
            out: list[Any] = []
            for i, item in enumerate(value):
                if item is None:
                    if sparse:
                        out.append(None)
                    continue
                try:
                    out.append(item_dec(item))
                except _Bad as bad:
                    bad.path.append(f"[{i}]")
                    raise
            return out

        dec = decode_list
    elif kind == MAP:
        assert schema.value is not None
        value_dec = _build_decoder(schema.value, pending)
        sparse_map = schema.sparse

        def decode_map(value: Any) -> dict[str, Any]:
            if type(value) is not dict:
                raise _Bad(f"expected an object, got {_jtype(value)}")
            out: dict[str, Any] = {}
            for k, item in value.items():
                if item is None:
                    if sparse_map:
                        out[k] = None
                    continue
                try:
                    out[k] = value_dec(item)
                except _Bad as bad:
                    bad.path.append(f"[{k!r}]")
                    raise
            return out

        dec = decode_map
    elif kind == STRING:
        if schema.enum_type is not None:
            lookup = schema.enum_type._value2member_map_

            def decode_enum(value: Any) -> Any:
                if type(value) is str:
                    return lookup.get(value, value)
                raise _Bad(f"expected a string, got {_jtype(value)}")

            dec = decode_enum
        else:
            dec = _decode_string
    elif kind == BOOLEAN:
        dec = _decode_bool
    elif kind in INTEGER_TYPES:
        dec = _decode_int
    elif kind in FLOAT_TYPES:
        dec = _decode_float
    elif kind == BLOB:
        dec = _decode_blob
    elif kind == TIMESTAMP:
        dec = _parse_timestamp
    elif kind == DOCUMENT:
        dec = _decode_document
    else:
        raise TypeError(f"unsupported shape type {kind!r} in {schema.name}")
    pending.put(schema, "dec", dec)
    return dec


_READ_STR, _READ_ENUM, _READ_BOOL, _READ_CALL = 0, 1, 2, 3


def _bad_at(wire: str, reason: str) -> _Bad:
    bad = _Bad(reason)
    bad.path.append(wire)
    return bad


def _member_reader(member: Member, pending: _Pending) -> tuple[str, int, Any]:
    target = member.target
    if target.type == STRING:
        if target.enum_type is not None:
            return (member.py_name, _READ_ENUM, target.enum_type._value2member_map_)
        return (member.py_name, _READ_STR, None)
    if target.type == BOOLEAN:
        return (member.py_name, _READ_BOOL, None)
    return (member.py_name, _READ_CALL, _member_decoder(member, pending))


def _member_decoder(member: Member, pending: _Pending) -> Callable[[Any], Any]:
    if member.target.type == UNION:
        inner = _build_decoder(member.target, pending)

        def decode_union(value: Any) -> Any:
            if type(value) is dict and "__type" in value:
                value = {k: v for k, v in value.items() if k != "__type"}
            return inner(value)

        return decode_union
    return _build_decoder(member.target, pending)


def _loads(body: bytes) -> Any:
    try:
        return _json_decode(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _Bad(f"the body is not valid JSON ({type(exc).__name__})") from exc


def decode_body(schema: Schema | None, body: bytes) -> Any:
    """Parse a JSON body into ``schema``'s Python type (server side and tests).

    Raises :class:`ResponseParseError` (with no HTTP details) when the body is malformed.
    """
    try:
        return _decode_body(schema, body)
    except _Bad as bad:
        raise ResponseParseError(_reason(bad), body=body) from None


def _decode_body(schema: Schema | None, body: bytes) -> Any:
    if schema is None:
        if body.strip():
            _loads(body)
        return None
    data = _loads(body) if body.strip() else {}
    if data is None:
        # A top-level JSON ``null`` is an output with no members set (moto answers the
        # operations without output that way). The JS SDK's schema-based deserializer does the
        # same for every operation; botocore returns None for it (or fails on its own
        # metadata). Required members are still checked below, as for ``{}``.
        data = {}
    if type(data) is not dict:
        raise _Bad(f"expected a JSON object at the top level, got {_jtype(data)}")
    return _decoder(schema)(data)


def _reason(bad: _Bad) -> str:
    where = bad.where()
    return f"{where}: {bad.reason}" if where else bad.reason


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """The request id of a response (lower-cased header names), with the usual fallbacks."""
    return (
        headers.get("x-amzn-requestid")
        or headers.get("x-amz-request-id")
        or headers.get("x-amz-requestid")
        or headers.get("x-amzn-request-id")
    )


def has_sensitive_members(schema: Schema) -> bool:
    """Whether any member reachable from ``schema`` is sensitive (cached).

    Only the final answer is stored: the walk keeps its own set of visited schemas, so another
    thread never reads a half-computed value.
    """
    cached: bool | None = schema.cache.get("sensitive_any")
    if cached is None:
        cached = schema.cache["sensitive_any"] = _reaches_sensitive(schema, set())
    return cached


def _reaches_sensitive(schema: Schema, seen: set[int]) -> bool:
    if id(schema) in seen:
        return False
    seen.add(id(schema))
    if schema.sensitive:
        return True
    for m in schema.members:
        if m.sensitive or _reaches_sensitive(m.target, seen):
            return True
    return any(
        child is not None and _reaches_sensitive(child, seen)
        for child in (schema.member, schema.key, schema.value)
    )


def deserialize_response(
    schema: Schema | None, response: HttpResponse, *, operation: str | None = None
) -> Any:
    """Parse a 2xx response into ``schema``'s Python type.

    When the output may carry sensitive members (plaintext, private keys) the error message
    never quotes the body.
    """
    try:
        return _decode_body(schema, response.body)
    except _Bad as bad:
        withhold = schema is not None and has_sensitive_members(schema)
        raise ResponseParseError(
            _reason(bad),
            http_status=response.status,
            request_id=request_id_from(response.headers),
            body=response.body,
            operation=operation,
            withhold_body=withhold,
        ) from None


# --------------------------------------------------------------------------------------
# errors


def _clean_code(code: str) -> str:
    code = code.split(":", 1)[0]
    return code.rsplit("#", 1)[-1].strip()


def error_code_from(headers: Mapping[str, str], data: Any) -> str | None:
    """The error code: ``X-Amzn-Errortype``, else the body's ``code``, else ``__type``.

    A source that is empty once cleaned (``""``, ``":"``, ``"ns#"``) is skipped.
    """
    raw = headers.get("x-amzn-errortype")
    if raw:
        code = _clean_code(raw)
        if code:
            return code
    if isinstance(data, dict):
        for key in ("code", "__type"):
            candidate = data.get(key)
            if isinstance(candidate, str) and candidate:
                code = _clean_code(candidate)
                if code:
                    return code
    return None


class ParsedError:
    """What an error response says, before it becomes an exception."""

    __slots__ = ("code", "data", "message", "request_id")

    def __init__(self, code: str, message: str | None, request_id: str | None, data: Any) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.data = data


def _error_message(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("message", "Message", "errorMessage"):
            value = data.get(key)
            if isinstance(value, str):
                return value
    return None


def deserialize_error(
    response: HttpResponse,
    registry: Mapping[str, type[ServiceException]],
    default: type[ServiceException],
    *,
    operation: str | None = None,
) -> ServiceException:
    """Turn an error response into its modeled exception (or ``default`` for unknown codes).

    Raises :class:`ResponseParseError` when no error code can be found or the body is not
    JSON and no code is given in the headers (an HTML page from a proxy, a bare 5xx).
    """
    headers = response.headers
    request_id = request_id_from(headers)
    body = response.body
    data: Any = None
    body_problem: str | None = None
    if body.strip():
        try:
            data = _loads(body)
        except _Bad as bad:
            body_problem = bad.reason
    code = error_code_from(headers, data)
    if code is None:
        if body_problem is not None:
            reason = f"error response: {body_problem}"
        elif not body.strip():
            reason = "error response with an empty body and no error code"
        else:
            reason = "error response carries no error code (no X-Amzn-Errortype, code or __type)"
        raise ResponseParseError(
            reason,
            http_status=response.status,
            request_id=request_id,
            body=body,
            operation=operation,
        )
    cls = registry.get(code, default)
    message = _error_message(data)
    members: dict[str, Any] = {}
    schema: Schema | None = getattr(cls, "__schema__", None)
    if schema is not None and isinstance(data, dict):
        decode_kwargs = _struct_kwargs_decoder(schema)
        trimmed = {k: v for k, v in data.items() if k not in ("message", "Message", "__type")}
        try:
            decoded = decode_kwargs(trimmed)
        except _Bad as bad:
            raise ResponseParseError(
                f"{code} error: {_reason(bad)}",
                http_status=response.status,
                request_id=request_id,
                body=body,
                operation=operation,
            ) from None
        allowed = {attr for _wire, attr in cls._members}
        members = {k: v for k, v in decoded.items() if k in allowed}
    from kms_mrk.errors._base import ResponseMetadata

    return cls(
        message,
        code=code,
        http_status=response.status,
        request_id=request_id,
        headers=headers,
        metadata=ResponseMetadata(request_id=request_id, http_status=response.status),
        **members,
    )


def _struct_kwargs_decoder(schema: Schema) -> Callable[[Any], dict[str, Any]]:
    fn: Callable[[Any], dict[str, Any]] | None = schema.cache.get("dec_kwargs")
    if fn is None:
        with _COMPILE_LOCK:
            pending = _Pending()
            _build_decoder(schema, pending)
            pending.publish()
        fn = schema.cache["dec_kwargs"]
    return fn


def encode_error(code: str, message: str | None, **members: Any) -> bytes:
    """Serialize an error body as AWS JSON services send it (server side)."""
    payload: dict[str, Any] = {"__type": code}
    if message is not None:
        payload["message"] = message
    payload.update(members)
    return _ENCODER.encode(payload).encode("utf-8")
