"""Multi-Region keys: ReplicateKey, UpdatePrimaryRegion."""

from __future__ import annotations

from kms_mrk.errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local._handlers._common import (
    checked_tags,
    new_policy,
    not_primary,
    region_param,
    warn_unevaluated,
)
from kms_mrk.local._handlers._context import Ctx, KeyFacts
from kms_mrk.local._handlers._metadata import key_metadata
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._state import CREATING, UPDATING, KeyRecord
from kms_mrk.models._op_replicate_key import (
    ReplicateKeyCommand,
    ReplicateKeyRequest,
    ReplicateKeyResponse,
)
from kms_mrk.models._op_update_primary_region import (
    UpdatePrimaryRegionCommand,
    UpdatePrimaryRegionRequest,
    UpdatePrimaryRegionResponse,
)
from kms_mrk.models._shared import Tag

# --------------------------------------------------------------------------- multi-Region keys


def _same_partition(region: str, partition: str) -> None:
    """ValidationException unless ``region`` is in ``partition`` (related keys never leave it)."""
    from kms_mrk.arn import partition_for_region

    if partition_for_region(region) != partition:
        raise ValidationException(
            f"Region {region} is not in partition {partition}; multi-Region keys are "
            "replicated within one partition."
        )


def _busy(ctx: Ctx, key: KeyRecord) -> None:
    """KMSInvalidStateException while ``key`` is Updating, before any other check.

    During an UpdatePrimaryRegion both keys are Updating and DescribeKey shows both as
    replicas; a second ReplicateKey or UpdatePrimaryRegion on either of them is refused as the
    key-state table says (``KMSInvalidStateException: <ARN> is updating.``), the retryable
    "busy" answer, and not with the UnsupportedOperationException a replica gets for good.
    """
    if key.key_state(ctx.now) == UPDATING:
        ctx.check_state(key)


@handler(ReplicateKeyCommand, mutating=True)
def replicate_key(ctx: Ctx, request: ReplicateKeyRequest) -> ReplicateKeyResponse:
    key = ctx.resolve(request.key_id, alias=False)
    ctx.conditions["kms:replicaregion"] = request.replica_region
    ctx.authorize(key)
    shared = key.shared
    _busy(ctx, key)
    if not shared.multi_region or key.region != shared.primary_region:
        raise not_primary(key)
    ctx.check_state(key)
    target = region_param(request.replica_region, "replicaRegion")
    if target == key.region:
        raise ValidationException(
            f"The replica Region must differ from the primary key's Region ({key.region})."
        )
    _same_partition(target, shared.partition)
    if target in shared.members:
        raise AlreadyExistsException(
            f"Multi-Region key {shared.key_id} already has a replica in {target}."
        )
    replica_arn = ctx.key_arn(shared.key_id, target)
    tags = checked_tags({}, request.tags or [])
    facts = KeyFacts(shared.spec, shared.usage, True, "REPLICA")
    policy, compiled = new_policy(
        ctx, request.policy, replica_arn, facts, bypass=request.bypass_policy_lockout_safety_check
    )
    replica = KeyRecord(
        shared=shared,
        region=target,
        created=ctx.now,
        description=request.description or "",
        policy=policy,
        seq=ctx.store.next_seq(),
        creating_until=ctx.now + ctx.settings.creating_seconds,
    )
    warn_unevaluated(compiled, replica_arn)
    replica.set_policy(policy, compiled)
    replica.tags = tags
    ctx.store.add_key(replica)
    ctx.store.changed()
    return ReplicateKeyResponse(
        replica_key_metadata=key_metadata(replica, ctx.now, state=CREATING),
        replica_policy=policy,
        replica_tags=[Tag(tag_key=k, tag_value=v) for k, v in tags.items()] or None,
    )


@handler(UpdatePrimaryRegionCommand, mutating=True)
def update_primary_region(
    ctx: Ctx, request: UpdatePrimaryRegionRequest
) -> UpdatePrimaryRegionResponse:
    key = ctx.resolve(request.key_id, alias=False)
    ctx.conditions["kms:primaryregion"] = request.primary_region
    ctx.authorize(key)
    shared = key.shared
    if not shared.multi_region:
        raise UnsupportedOperationException(f"{key.arn} is not a multi-region key.")
    _busy(ctx, key)
    if key.region != shared.primary_region:
        raise not_primary(key)
    target_region = region_param(request.primary_region, "primaryRegion")
    if target_region == key.region:
        raise ValidationException(f"{key.arn} is already the primary key in {target_region}.")
    _same_partition(target_region, shared.partition)
    target = shared.members.get(target_region)
    if target is None:
        raise NotFoundException(f"Key '{ctx.key_arn(shared.key_id, target_region)}' does not exist")
    ctx.authorize(target)
    ctx.check_state(key)
    ctx.check_state(target)
    shared.primary_region = target_region
    until = ctx.now + ctx.settings.updating_seconds
    key.updating_until = until
    target.updating_until = until
    ctx.store.changed()
    return UpdatePrimaryRegionResponse()
