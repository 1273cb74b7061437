"""Small helpers shared by the handler modules (errors, tags, policies, paging)."""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as _dt
import logging
import re
from collections.abc import Sequence
from typing import Final, TypeVar

from kms_mrk.errors import (
    DryRunOperationException,
    InvalidGrantTokenException,
    InvalidKeyUsageException,
    InvalidMarkerException,
    MalformedPolicyDocumentException,
    TagException,
    UnsupportedOperationException,
)
from kms_mrk.local._handlers._context import Ctx, KeyFacts
from kms_mrk.local._handlers._specs import ENCRYPT_DECRYPT, SYMMETRIC
from kms_mrk.local._policy import CompiledPolicy, compile_policy, default_policy
from kms_mrk.local._state import KeyRecord
from kms_mrk.local._validate import validation_error
from kms_mrk.models._scalars import S_RegionType
from kms_mrk.models._shared import Tag

_T = TypeVar("_T")

INCORRECT_KEY: Final = (
    "The key ID in the request does not identify a CMK that can perform this operation."
)
DRY_RUN: Final = "The request would have succeeded, but the DryRun option is set."
MAX_TAGS: Final = 50

#: the model's RegionType pattern (ASCII digits only)
_REGION: Final = re.compile(S_RegionType.pattern or "", re.ASCII)
UTC: Final = _dt.timezone.utc
_log = logging.getLogger("kms_mrk.local")


def as_datetime(seconds: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(seconds, UTC)


def text_of(value: str | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- helpers


def invalid_usage(key: KeyRecord, operation: str) -> InvalidKeyUsageException:
    return InvalidKeyUsageException(
        f"{key.arn} key usage is {key.shared.usage} which is not valid for {operation}."
    )


def incompatible_algorithm(algorithm: str, spec: str) -> InvalidKeyUsageException:
    return InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {spec}.")


def require_symmetric(key: KeyRecord, operation: str) -> None:
    if key.shared.usage != ENCRYPT_DECRYPT:
        raise invalid_usage(key, operation)
    if key.shared.spec != SYMMETRIC:
        raise InvalidKeyUsageException(
            f"{key.arn} key spec is {key.shared.spec} which is not valid for {operation}."
        )


def unsupported(what: str) -> UnsupportedOperationException:
    return UnsupportedOperationException(f"{what} is not implemented by the kms-mrk local KMS")


def region_param(value: str, member: str) -> str:
    if not _REGION.fullmatch(value) or len(value) > (S_RegionType.max or 32):
        raise validation_error(
            [
                f"Value '{value}' at '{member}' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$"
            ]
        )
    return value


def checked_tags(existing: dict[str, str], tags: Sequence[Tag]) -> dict[str, str]:
    """The tag set after adding ``tags``; TagException as KMS words it."""
    seen: set[str] = set()
    for tag in tags:
        if tag.tag_key.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved")
        if tag.tag_key in seen:
            raise TagException("Duplicate tag keys")
        seen.add(tag.tag_key)
    merged = dict(existing)
    for tag in tags:
        merged[tag.tag_key] = tag.tag_value
    if len(merged) > MAX_TAGS:
        raise TagException("Too many tags")
    return merged


def new_policy(
    ctx: Ctx, text: str | None, arn: str, facts: KeyFacts, *, bypass: bool | None
) -> tuple[str, CompiledPolicy]:
    """A validated policy for a key with ``arn`` (the default one when ``text`` is None)."""
    if text is None:
        text = default_policy(ctx.account, ctx.partition)
        return text, compile_policy(text)
    compiled = compile_policy(text)
    ctx.subject = facts
    allowed = compiled.decide(ctx.principal, "kms:PutKeyPolicy", arn, ctx.condition)
    if not bypass and allowed != "allow":
        raise MalformedPolicyDocumentException(
            "The new key policy will not allow you to update the key policy in the future."
        )
    return text, compiled


def warn_unevaluated(compiled: CompiledPolicy, arn: str) -> None:
    """Log, when a policy is stored, the conditions the local KMS cannot evaluate in it."""
    if compiled.unsupported:
        _log.warning(
            "the key policy of %s has conditions the local KMS cannot evaluate (%s): a Deny "
            "statement with them always applies and an Allow statement with them never does",
            arn,
            ", ".join(dict.fromkeys(compiled.unsupported)),
        )


def check_dry_run(flag: bool | None) -> None:
    if flag:
        raise DryRunOperationException(DRY_RUN)


def _encode_marker(position: int) -> str:
    return base64.urlsafe_b64encode(f"kms-mrk:{position}".encode()).decode("ascii")


def _decode_marker(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "kms-mrk":
            raise ValueError(marker)
        return int(number)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidMarkerException("Invalid marker") from None


def page_of(
    items: list[_T], positions: list[int], limit: int, marker: str | None
) -> tuple[list[_T], str | None]:
    """One page of ``items`` (sorted by ``positions``) and the marker of the next page."""
    start = 0 if marker is None else bisect.bisect_left(positions, _decode_marker(marker))
    end = start + limit
    next_marker = _encode_marker(positions[end]) if end < len(items) else None
    return items[start:end], next_marker


def page_limit(value: int | None, default: int, maximum: int) -> int:
    return default if value is None else min(value, maximum)


def not_primary(key: KeyRecord) -> UnsupportedOperationException:
    return UnsupportedOperationException(f"{key.arn} is not a multi-region primary key.")


# --------------------------------------------------------------------------- grant tokens

# A grant token: base64 of 0x01, then protobuf-like fields: 0x0a 0x40 <grant id, 64 hex
# digits>, 0x12 <n> <key ARN, n bytes>, 0x1a 0x20 <32 random bytes>. Like KMS's tokens it
# starts "AQpA" and names the grant; unlike them it is not signed (nothing here is secret).
_TOKEN_HEAD: Final = b"\x01\x0a\x40"
_GRANT_ID: Final = re.compile(r"[0-9a-f]{64}")


def grant_token(grant_id: str, key_arn: str, nonce: bytes) -> str:
    """A new token for grant ``grant_id`` of key ``key_arn``."""
    arn = key_arn.encode("ascii")
    raw = _TOKEN_HEAD + grant_id.encode("ascii") + b"\x12" + bytes((len(arn),)) + arn
    return base64.b64encode(raw + b"\x1a\x20" + nonce[:32].ljust(32, b"\0")).decode("ascii")


def parse_grant_token(token: str) -> tuple[str, str]:
    """(grant id, key ARN) of a token; InvalidGrantTokenException if it is not one."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        if not raw.startswith(_TOKEN_HEAD) or raw[67:68] != b"\x12":
            raise ValueError(token)
        grant_id = raw[3:67].decode("ascii")
        end = 69 + raw[68]
        key_arn = raw[69:end].decode("ascii")
        if raw[end : end + 2] != b"\x1a\x20" or len(raw) != end + 34:
            raise ValueError(token)
    except (ValueError, UnicodeError, IndexError, binascii.Error):
        raise InvalidGrantTokenException("The grant token is not valid.") from None
    if not _GRANT_ID.fullmatch(grant_id) or not key_arn.startswith("arn:"):
        raise InvalidGrantTokenException("The grant token is not valid.")
    return grant_id, key_arn


def check_grant_tokens(tokens: Sequence[str] | None) -> None:
    """InvalidGrantTokenException unless every token is well formed.

    Grants take effect at once in the local KMS (there is no eventual consistency to bridge),
    so a valid token adds nothing to what the grant itself allows.
    """
    for token in tokens or ():
        parse_grant_token(token)


def is_grant_id(text: str) -> bool:
    return _GRANT_ID.fullmatch(text) is not None
