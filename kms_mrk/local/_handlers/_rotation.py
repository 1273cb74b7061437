"""Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus."""

from __future__ import annotations

from kms_mrk.errors import UnsupportedOperationException
from kms_mrk.local._handlers._common import as_datetime, not_primary
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import SYMMETRIC
from kms_mrk.local._state import DAY, KeyRecord
from kms_mrk.models._op_disable_key_rotation import (
    DisableKeyRotationCommand,
    DisableKeyRotationRequest,
    DisableKeyRotationResponse,
)
from kms_mrk.models._op_enable_key_rotation import (
    EnableKeyRotationCommand,
    EnableKeyRotationRequest,
    EnableKeyRotationResponse,
)
from kms_mrk.models._op_get_key_rotation_status import (
    GetKeyRotationStatusCommand,
    GetKeyRotationStatusRequest,
    GetKeyRotationStatusResponse,
)

# --------------------------------------------------------------------------- rotation


def _rotation_key(ctx: Ctx, key_id: str) -> KeyRecord:
    key = ctx.use(key_id, alias=False)
    shared = key.shared
    if shared.spec != SYMMETRIC:
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {shared.spec} which is not valid for {ctx.operation}."
        )
    return key


@handler(EnableKeyRotationCommand, mutating=True)
def enable_key_rotation(ctx: Ctx, request: EnableKeyRotationRequest) -> EnableKeyRotationResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if shared.multi_region and key.region != shared.primary_region:
        raise not_primary(key)
    shared.rotation_enabled = True
    shared.rotation_period_days = request.rotation_period_in_days or 365
    shared.rotation_started = ctx.now
    ctx.store.changed()
    return EnableKeyRotationResponse()


@handler(DisableKeyRotationCommand, mutating=True)
def disable_key_rotation(
    ctx: Ctx, request: DisableKeyRotationRequest
) -> DisableKeyRotationResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if shared.multi_region and key.region != shared.primary_region:
        raise not_primary(key)
    shared.rotation_enabled = False
    shared.rotation_period_days = None
    shared.rotation_started = None
    ctx.store.changed()
    return DisableKeyRotationResponse()


@handler(GetKeyRotationStatusCommand)
def get_key_rotation_status(
    ctx: Ctx, request: GetKeyRotationStatusRequest
) -> GetKeyRotationStatusResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if not shared.rotation_enabled:
        return GetKeyRotationStatusResponse(key_rotation_enabled=False, key_id=key.arn)
    period = shared.rotation_period_days or 365
    started = shared.rotation_started if shared.rotation_started is not None else key.created
    return GetKeyRotationStatusResponse(
        key_rotation_enabled=True,
        key_id=key.arn,
        rotation_period_in_days=period,
        next_rotation_date=as_datetime(started + period * DAY),
    )
