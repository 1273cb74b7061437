"""Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
RotateKeyOnDemand, ListKeyRotations.

Rotation replaces a symmetric key's current key material and keeps every older one, so
ciphertexts made before decrypt (they name the material that made them). Automatic rotation
happens on the clock (:meth:`Store.tick`) every ``RotationPeriodInDays`` (90 to 2560, default
365) from when it was enabled or last happened; on-demand rotation happens at once, at most
25 times per key, and leaves the automatic schedule alone. A multi-Region key is rotated on
its primary and the new material is every replica's at once (they share it); the rotation
operations that change something are refused on a replica with UnsupportedOperationException.
See https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html.
"""

from __future__ import annotations

from typing import Final

from kms_mrk.errors import LimitExceededException, UnsupportedOperationException
from kms_mrk.local import _crypto
from kms_mrk.local._handlers._common import as_datetime, not_primary, page_limit, page_of
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import SYMMETRIC
from kms_mrk.local._state import EXTERNAL, KeyRecord
from kms_mrk.models._enums import (
    ExpirationModelType,
    ImportState,
    KeyMaterialState,
    RotationType,
)
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
from kms_mrk.models._op_list_key_rotations import (
    ListKeyRotationsCommand,
    ListKeyRotationsRequest,
    ListKeyRotationsResponse,
    RotationsListEntry,
)
from kms_mrk.models._op_rotate_key_on_demand import (
    RotateKeyOnDemandCommand,
    RotateKeyOnDemandRequest,
    RotateKeyOnDemandResponse,
)

#: the on-demand rotation resource quota (not adjustable)
MAX_ON_DEMAND_ROTATIONS: Final = 25
DEFAULT_PERIOD_DAYS: Final = 365


def _rotation_key(ctx: Ctx, key_id: str) -> KeyRecord:
    key = ctx.use(key_id, alias=False)
    shared = key.shared
    if shared.spec != SYMMETRIC:
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {shared.spec} which is not valid for {ctx.operation}."
        )
    return key


def _primary_only(key: KeyRecord) -> None:
    shared = key.shared
    if shared.multi_region and key.region != shared.primary_region:
        raise not_primary(key)


def _not_for_imported(key: KeyRecord, what: str) -> None:
    # imported material, and keys in custom key stores (AWS_CLOUDHSM, EXTERNAL_KEY_STORE)
    origin = key.shared.origin
    if origin != "AWS_KMS":
        raise UnsupportedOperationException(
            f"{key.arn} origin is {origin} which is not valid for {what}."
        )


@handler(EnableKeyRotationCommand, mutating=True)
def enable_key_rotation(ctx: Ctx, request: EnableKeyRotationRequest) -> EnableKeyRotationResponse:
    """`EnableKeyRotation
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html>`__;
    enabling it again changes the period, counted from the same start."""
    key = _rotation_key(ctx, request.key_id)
    _primary_only(key)
    _not_for_imported(key, "EnableKeyRotation")
    shared = key.shared
    if not shared.rotation_enabled or shared.rotation_started is None:
        shared.rotation_started = ctx.now
    shared.rotation_enabled = True
    shared.rotation_period_days = request.rotation_period_in_days or DEFAULT_PERIOD_DAYS
    next_rotation = shared.next_rotation
    assert next_rotation is not None
    ctx.store.schedule(next_rotation)
    ctx.store.changed()
    return EnableKeyRotationResponse()


@handler(DisableKeyRotationCommand, mutating=True)
def disable_key_rotation(
    ctx: Ctx, request: DisableKeyRotationRequest
) -> DisableKeyRotationResponse:
    """`DisableKeyRotation
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKeyRotation.html>`__"""
    key = _rotation_key(ctx, request.key_id)
    _primary_only(key)
    _not_for_imported(key, "DisableKeyRotation")
    shared = key.shared
    shared.rotation_enabled = False
    shared.rotation_period_days = None
    shared.rotation_started = None
    ctx.store.changed()
    return DisableKeyRotationResponse()


@handler(GetKeyRotationStatusCommand)
def get_key_rotation_status(
    ctx: Ctx, request: GetKeyRotationStatusRequest
) -> GetKeyRotationStatusResponse:
    """`GetKeyRotationStatus
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html>`__;
    on-demand rotations complete at once here, so ``OnDemandRotationStartDate`` (set while
    one is in progress) never appears."""
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    next_rotation = shared.next_rotation
    if next_rotation is None:
        return GetKeyRotationStatusResponse(key_rotation_enabled=False, key_id=key.arn)
    return GetKeyRotationStatusResponse(
        key_rotation_enabled=True,
        key_id=key.arn,
        rotation_period_in_days=shared.rotation_period_days or DEFAULT_PERIOD_DAYS,
        next_rotation_date=as_datetime(next_rotation),
    )


@handler(RotateKeyOnDemandCommand, mutating=True)
def rotate_key_on_demand(ctx: Ctx, request: RotateKeyOnDemandRequest) -> RotateKeyOnDemandResponse:
    """`RotateKeyOnDemand
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html>`__"""
    key = _rotation_key(ctx, request.key_id)
    _primary_only(key)
    _not_for_imported(key, "RotateKeyOnDemand (importing new key material is not modeled)")
    shared = key.shared
    if shared.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS:
        raise LimitExceededException(
            f"{key.arn} has been rotated on demand {shared.on_demand_rotations} times, the "
            f"most a KMS key can be ({MAX_ON_DEMAND_ROTATIONS})."
        )
    material = _crypto.new_material(SYMMETRIC, ctx.settings.random_bytes)
    shared.rotate(material, ctx.now, "ON_DEMAND")
    shared.on_demand_rotations += 1
    for member in shared.members.values():
        ctx.store.touch(member)
    ctx.store.changed()
    return RotateKeyOnDemandResponse(key_id=key.arn)


@handler(ListKeyRotationsCommand)
def list_key_rotations(ctx: Ctx, request: ListKeyRotationsRequest) -> ListKeyRotationsResponse:
    """`ListKeyRotations
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html>`__:
    the completed rotations, oldest first (with ``IncludeKeyMaterial=ALL_KEY_MATERIAL`` the
    initial key material first)."""
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    current = shared.material.material_id
    entries: list[RotationsListEntry] = []
    imported = shared.origin == EXTERNAL
    if str(request.include_key_material or "ROTATIONS_ONLY") == "ALL_KEY_MATERIAL":
        first = next(iter(shared.materials), None)
        if first is not None:
            entries.append(_entry(key, first, None, None, current, imported))
    for rotation in shared.rotations:
        entries.append(
            _entry(key, rotation.material_id, rotation.date, rotation.kind, current, imported)
        )
    page, marker = page_of(
        entries,
        list(range(len(entries))),
        page_limit(request.limit, 100, 1000),
        request.marker,
    )
    return ListKeyRotationsResponse(
        rotations=page, next_marker=marker, truncated=marker is not None
    )


def _entry(
    key: KeyRecord,
    material_id: str,
    date: float | None,
    kind: str | None,
    current: str,
    imported: bool,
) -> RotationsListEntry:
    present = imported and key.imported
    return RotationsListEntry(
        key_id=key.arn,
        key_material_id=material_id,
        rotation_date=None if date is None else as_datetime(date),
        rotation_type=None if kind is None else RotationType(kind),
        key_material_state=(
            KeyMaterialState.CURRENT if material_id == current else KeyMaterialState.NON_CURRENT
        ),
        import_state=(
            None
            if not imported
            else ImportState.IMPORTED
            if present
            else ImportState.PENDING_IMPORT
        ),
        expiration_model=(
            ExpirationModelType(key.expiration_model)
            if imported and key.expiration_model is not None
            else None
        ),
        valid_to=as_datetime(key.valid_to) if present and key.valid_to is not None else None,
    )
