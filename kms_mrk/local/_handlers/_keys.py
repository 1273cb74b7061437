"""Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/Disable, deletion, description."""

from __future__ import annotations

import math
from typing import Any

from kms_mrk.errors import ValidationException
from kms_mrk.local import _crypto
from kms_mrk.local._handlers._agreement import check_new_key_spec
from kms_mrk.local._handlers._common import (
    as_datetime,
    checked_tags,
    new_policy,
    page_limit,
    page_of,
    text_of,
    unsupported,
    warn_unevaluated,
)
from kms_mrk.local._handlers._context import Ctx, KeyFacts
from kms_mrk.local._handlers._keystores import attach_to_store, store_for_new_key
from kms_mrk.local._handlers._metadata import key_metadata, key_metadata_json
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import ENCRYPT_DECRYPT, KEY_USAGES, SYMMETRIC
from kms_mrk.local._state import (
    DAY,
    DISABLED,
    ENABLED,
    EXTERNAL,
    PENDING_DELETION,
    PENDING_REPLICA_DELETION,
    KeyRecord,
    Shared,
)
from kms_mrk.local._validate import validation_error
from kms_mrk.models._enums import KeyState
from kms_mrk.models._op_cancel_key_deletion import (
    CancelKeyDeletionCommand,
    CancelKeyDeletionRequest,
    CancelKeyDeletionResponse,
)
from kms_mrk.models._op_create_key import CreateKeyCommand, CreateKeyRequest, CreateKeyResponse
from kms_mrk.models._op_describe_key import (
    DescribeKeyCommand,
    DescribeKeyRequest,
    DescribeKeyResponse,
)
from kms_mrk.models._op_disable_key import DisableKeyCommand, DisableKeyRequest, DisableKeyResponse
from kms_mrk.models._op_enable_key import EnableKeyCommand, EnableKeyRequest, EnableKeyResponse
from kms_mrk.models._op_list_keys import (
    KeyListEntry,
    ListKeysCommand,
    ListKeysRequest,
    ListKeysResponse,
)
from kms_mrk.models._op_schedule_key_deletion import (
    ScheduleKeyDeletionCommand,
    ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse,
)
from kms_mrk.models._op_update_key_description import (
    UpdateKeyDescriptionCommand,
    UpdateKeyDescriptionRequest,
    UpdateKeyDescriptionResponse,
)
from kms_mrk.protocol.awsjson11 import encode_body

# --------------------------------------------------------------------------- key management


@handler(CreateKeyCommand, mutating=True)
def create_key(ctx: Ctx, request: CreateKeyRequest) -> CreateKeyResponse:
    spec_given = text_of(request.key_spec)
    legacy = text_of(request.customer_master_key_spec)
    if spec_given is not None and legacy is not None and spec_given != legacy:
        raise ValidationException(
            "You cannot specify both KeySpec and CustomerMasterKeySpec with different values; "
            "CustomerMasterKeySpec is deprecated, use KeySpec."
        )
    spec = spec_given or legacy or SYMMETRIC
    check_new_key_spec(ctx, spec)
    if spec not in KEY_USAGES:
        raise unsupported(f"KeySpec {spec}")
    usage = text_of(request.key_usage)
    if usage is None:
        if spec != SYMMETRIC:
            raise ValidationException(
                "You must specify a KeyUsage value for all KMS keys except for symmetric "
                "encryption keys."
            )
        usage = ENCRYPT_DECRYPT
    if usage not in KEY_USAGES[spec]:
        raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
    origin = text_of(request.origin) or "AWS_KMS"
    custom = store_for_new_key(ctx, request, origin, spec, usage)
    if origin not in ("AWS_KMS", EXTERNAL, "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"):
        raise unsupported(f"Origin {origin}")
    tags = checked_tags({}, request.tags or [])
    multi_region = bool(request.multi_region)
    key_id = ctx.new_key_id(multi_region)
    arn = ctx.key_arn(key_id)
    facts = KeyFacts(spec, usage, multi_region, "PRIMARY" if multi_region else None, origin)
    policy, compiled = new_policy(
        ctx, request.policy, arn, facts, bypass=request.bypass_policy_lockout_safety_check
    )
    random_bytes = ctx.settings.random_bytes
    if origin == EXTERNAL:  # PendingImport until ImportKeyMaterial
        material = _crypto.Material(_crypto.NO_MATERIAL, b"", "")
    elif spec in _crypto.RSA_SIZES:  # seconds for RSA_4096: only once the request is accepted
        material = ctx.costly(f"material {spec}", lambda: _crypto.new_material(spec, random_bytes))
    else:
        material = _crypto.new_material(spec, random_bytes)
    warn_unevaluated(compiled, arn)
    shared = Shared(
        key_id=key_id,
        account=ctx.account,
        partition=ctx.partition,
        spec=spec,
        usage=usage,
        material=material,
        multi_region=multi_region,
        primary_region=ctx.region,
        origin=origin,
    )
    attach_to_store(shared, custom, request.xks_key_id, origin)
    key = KeyRecord(
        shared=shared,
        region=ctx.region,
        created=ctx.now,
        description=request.description or "",
        policy=policy,
        seq=ctx.store.next_seq(),
    )
    key.set_policy(policy, compiled)
    key.tags = tags
    ctx.store.add_key(key)
    ctx.store.changed()
    return CreateKeyResponse(key_metadata=key_metadata(key, ctx.now))


def _fingerprint(key: KeyRecord) -> tuple[Any, ...]:
    """Everything KeyMetadata depends on besides the time and what never changes."""
    shared = key.shared
    return (
        key.state,
        key.description,
        key.deletion_date,
        key.pending_window_days,
        key.creating_until,
        key.updating_until,
        shared.primary_region,
        tuple(shared.members),
        shared.material.material_id,
        key.imported,
        key.valid_to,
    )


def _valid_until(key: KeyRecord, now: float) -> float:
    """Until when a DescribeKey answer stays true if nothing changes: the next timed boundary
    (end of Creating or Updating); deletions remove the key, so they need no boundary."""
    until = math.inf
    if key.shared.custom_store is not None:
        return now  # the key's state follows its custom key store: never cached
    if key.creating_until > now:
        until = key.creating_until
    if now < key.updating_until < until:
        until = key.updating_until
    if key.valid_to is not None and now < key.valid_to < until:
        until = key.valid_to
    rotation = key.shared.next_rotation
    if rotation is not None and now < rotation < until:
        until = rotation
    return until


def describe_key_body(ctx: Ctx, request: DescribeKeyRequest) -> bytes:
    """The body :func:`describe_key` answers with, kept per key until the key changes."""
    key = ctx.use(request.key_id)
    fingerprint = _fingerprint(key)
    cached = key.body_cache
    if cached is not None and ctx.now < cached[1] and cached[0] == fingerprint:
        return cached[2]
    if key.shared.origin == "AWS_KMS":
        text = '{"KeyMetadata":' + key_metadata_json(key, ctx.now) + "}"
        body = text.encode("ascii")
    else:
        response = DescribeKeyResponse(key_metadata=key_metadata(key, ctx.now))
        body = encode_body(DescribeKeyResponse.__schema__, response)
    key.body_cache = (fingerprint, _valid_until(key, ctx.now), body)
    return body


@handler(DescribeKeyCommand, wire=describe_key_body)
def describe_key(ctx: Ctx, request: DescribeKeyRequest) -> DescribeKeyResponse:
    key = ctx.use(request.key_id)
    fingerprint = _fingerprint(key)
    cached = key.cache
    if cached is not None and ctx.now < cached[1] and cached[0] == fingerprint:
        response: DescribeKeyResponse = cached[2]
        return response
    response = DescribeKeyResponse(key_metadata=key_metadata(key, ctx.now))
    key.cache = (fingerprint, _valid_until(key, ctx.now), response)
    return response


@handler(ListKeysCommand)
def list_keys(ctx: Ctx, request: ListKeysRequest) -> ListKeysResponse:
    state = ctx.store.peek(ctx.account, ctx.region)
    keys = [] if state is None else list(state.keys.values())
    page, marker = page_of(
        keys, [k.seq for k in keys], page_limit(request.limit, 100, 1000), request.marker
    )
    return ListKeysResponse(
        keys=[KeyListEntry(key_id=k.key_id, key_arn=k.arn) for k in page],
        next_marker=marker,
        truncated=marker is not None,
    )


@handler(EnableKeyCommand, mutating=True)
def enable_key(ctx: Ctx, request: EnableKeyRequest) -> EnableKeyResponse:
    key = ctx.use(request.key_id, alias=False)
    if key.state != ENABLED:
        key.state = ENABLED
        shared = key.shared
        if key.region == shared.primary_region:
            shared.catch_up(ctx.now)
            following = shared.next_rotation
            if following is not None:
                ctx.store.schedule(following)
        ctx.store.changed()
    return EnableKeyResponse()


@handler(DisableKeyCommand, mutating=True)
def disable_key(ctx: Ctx, request: DisableKeyRequest) -> DisableKeyResponse:
    key = ctx.use(request.key_id, alias=False)
    if key.state != DISABLED:
        key.state = DISABLED
        ctx.store.changed()
    return DisableKeyResponse()


@handler(ScheduleKeyDeletionCommand, mutating=True)
def schedule_key_deletion(
    ctx: Ctx, request: ScheduleKeyDeletionRequest
) -> ScheduleKeyDeletionResponse:
    key = ctx.use(request.key_id, alias=False)
    days = 30 if request.pending_window_in_days is None else request.pending_window_in_days
    if not 7 <= days <= 30:
        bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
        raise validation_error(
            [
                f"Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: "
                f"Member must have value {bound}"
            ]
        )
    shared = key.shared
    key.pending_window_days = days
    ctx.store.changed()
    if shared.multi_region and key.region == shared.primary_region and len(shared.members) > 1:
        # The waiting period starts when the last replica is deleted.
        key.state = PENDING_REPLICA_DELETION
        key.deletion_date = None
        return ScheduleKeyDeletionResponse(
            key_id=key.arn,
            key_state=KeyState.PENDING_REPLICA_DELETION,
            pending_window_in_days=days,
        )
    key.state = PENDING_DELETION
    key.deletion_date = ctx.now + days * DAY
    ctx.store.schedule(key.deletion_date)
    return ScheduleKeyDeletionResponse(
        key_id=key.arn,
        deletion_date=as_datetime(key.deletion_date),
        key_state=KeyState.PENDING_DELETION,
        pending_window_in_days=days,
    )


@handler(CancelKeyDeletionCommand, mutating=True)
def cancel_key_deletion(ctx: Ctx, request: CancelKeyDeletionRequest) -> CancelKeyDeletionResponse:
    key = ctx.use(request.key_id, alias=False)
    key.state = DISABLED
    key.deletion_date = None
    key.pending_window_days = None
    ctx.store.changed()
    return CancelKeyDeletionResponse(key_id=key.arn)


@handler(UpdateKeyDescriptionCommand, mutating=True)
def update_key_description(
    ctx: Ctx, request: UpdateKeyDescriptionRequest
) -> UpdateKeyDescriptionResponse:
    key = ctx.use(request.key_id, alias=False)
    key.description = request.description
    ctx.store.changed()
    return UpdateKeyDescriptionResponse()
