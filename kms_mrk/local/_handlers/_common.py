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
