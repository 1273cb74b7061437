"""KeyMetadata as DescribeKey, CreateKey and ReplicateKey return it, typed or as JSON."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Final

from kms_mrk.arn import key_arn
from kms_mrk.local._handlers._common import UTC, as_datetime
from kms_mrk.local._handlers._specs import (
    ENCAPSULATE_DECAPSULATE,
    ENCRYPT_DECRYPT,
    ENCRYPTION_ALGORITHMS,
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    MAC_ALGORITHMS,
    SIGN_VERIFY,
    SIGNING_ALGORITHMS,
    SYMMETRIC,
    enum_encryption,
    enum_key_spec,
    enum_key_state,
    enum_key_usage,
    enum_mac,
    enum_signing,
)
from kms_mrk.local._state import (
    CREATING,
    ENABLED,
    EXTERNAL,
    PENDING_DELETION,
    PENDING_IMPORT,
    PENDING_REPLICA_DELETION,
    UPDATING,
    KeyRecord,
    Shared,
)
from kms_mrk.models._enums import (
    EncapsulationAlgorithmSpec,
    ExpirationModelType,
    KeyAgreementAlgorithmSpec,
    KeyManagerType,
    MultiRegionKeyType,
    OriginType,
)
from kms_mrk.models._shared import (
    KeyMetadata,
    MultiRegionConfiguration,
    MultiRegionKey,
    XksKeyConfigurationType,
)

# --------------------------------------------------------------------------- metadata


def _group_keys(shared: Shared) -> tuple[MultiRegionKey, list[MultiRegionKey], str]:
    """The primary and replica entries of a multi-Region key group, and their JSON.

    Made once per shape of the group (primary Region and member Regions) and shared by every
    member's metadata until the group changes.
    """
    shape = (shared.primary_region, tuple(shared.members))
    cached = shared.config_cache
    if cached is not None and cached[0] == shape:
        return cached[1], cached[2], cached[3]
    primary_region = shared.primary_region
    primary = shared.members.get(primary_region)
    primary_arn = (
        primary.arn
        if primary is not None
        else key_arn(primary_region, shared.account, shared.key_id, shared.partition)
    )
    replicas = [
        MultiRegionKey(arn=member.arn, region=region)
        for region, member in shared.members.items()
        if region != primary_region
    ]
    # What the AWS JSON codec writes for these members (ARNs and Regions need no escaping).
    text = (
        f'"PrimaryKey":{{"Arn":"{primary_arn}","Region":"{primary_region}"}},"ReplicaKeys":['
        + ",".join(f'{{"Arn":"{r.arn}","Region":"{r.region}"}}' for r in replicas)
        + "]}"
    )
    entry = (shape, MultiRegionKey(arn=primary_arn, region=primary_region), replicas, text)
    shared.config_cache = entry
    return entry[1], entry[2], entry[3]


def key_metadata(key: KeyRecord, now: float, *, state: str | None = None) -> KeyMetadata:
    """The KeyMetadata DescribeKey returns for ``key`` at ``now``."""
    shared = key.shared
    spec = shared.spec
    usage = shared.usage
    current = state or key.key_state(now)
    mrc = None
    if shared.multi_region:
        primary_key, replica_keys, _text = _group_keys(shared)
        mrc = MultiRegionConfiguration(
            multi_region_key_type=(
                MultiRegionKeyType.PRIMARY if key.is_primary(now) else MultiRegionKeyType.REPLICA
            ),
            primary_key=primary_key,
            replica_keys=list(replica_keys),
        )
    encryption = ENCRYPTION_ALGORITHMS.get(spec) if usage == ENCRYPT_DECRYPT else None
    signing = SIGNING_ALGORITHMS.get(spec) if usage == SIGN_VERIFY else None
    macs = MAC_ALGORITHMS.get(spec) if usage == GENERATE_VERIFY_MAC else None
    return KeyMetadata(
        aws_account_id=shared.account,
        key_id=shared.key_id,
        arn=key.arn,
        creation_date=key.created_at(),
        enabled=current in (ENABLED, UPDATING),
        description=key.description,
        key_usage=enum_key_usage(usage),
        key_state=enum_key_state(current),
        deletion_date=(
            as_datetime(key.deletion_date)
            if current == PENDING_DELETION and key.deletion_date is not None
            else None
        ),
        origin=OriginType(shared.origin),
        custom_key_store_id=shared.custom_key_store_id,
        cloud_hsm_cluster_id=_cluster_id(shared),
        key_manager=KeyManagerType.CUSTOMER,
        customer_master_key_spec=enum_key_spec(spec),
        key_spec=enum_key_spec(spec),
        encryption_algorithms=None
        if encryption is None
        else [enum_encryption(a) for a in encryption],
        signing_algorithms=None if signing is None else [enum_signing(a) for a in signing],
        key_agreement_algorithms=(
            [KeyAgreementAlgorithmSpec.ECDH] if usage == KEY_AGREEMENT else None
        ),
        encapsulation_algorithms=(
            [EncapsulationAlgorithmSpec.ML_KEM] if usage == ENCAPSULATE_DECAPSULATE else None
        ),
        mac_algorithms=None if macs is None else [enum_mac(a) for a in macs],
        multi_region=shared.multi_region,
        multi_region_configuration=mrc,
        pending_deletion_window_in_days=(
            key.pending_window_days if current == PENDING_REPLICA_DELETION else None
        ),
        xks_key_configuration=(
            None if shared.xks_key_id is None else XksKeyConfigurationType(id=shared.xks_key_id)
        ),
        current_key_material_id=_current_material(key, current, now),
        valid_to=(
            as_datetime(key.valid_to)
            if key.imported and key.valid_to is not None and current != PENDING_IMPORT
            else None
        ),
        expiration_model=(
            ExpirationModelType(key.expiration_model)
            if key.expiration_model is not None and shared.origin == EXTERNAL
            else None
        ),
    )


def _cluster_id(shared: Shared) -> str | None:
    """The CloudHSM cluster of the key's custom key store (AWS_CLOUDHSM keys only)."""
    custom = shared.custom_store
    return None if custom is None else custom.cluster_id


# The JSON of KeyMetadata, written from fragments. Member order and number formats are the AWS
# JSON codec's (tests compare the bytes with ``encode_body`` of :func:`key_metadata`).

_UTC_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=UTC)
#: (spec, usage, multi-Region, origin) -> (the "KeyUsage" member, the members from "Origin" to
#: "MultiRegion", the "MacAlgorithms" member)
_SPEC_JSON: dict[tuple[str, str, bool, str], tuple[str, str, str]] = {}


def _json_time(seconds: float) -> str:
    """A timestamp as the codec writes it: epoch seconds of the (microsecond) datetime."""
    delta = _dt.datetime.fromtimestamp(seconds, UTC) - _UTC_EPOCH
    whole = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return repr((whole * 10**6 + delta.microseconds) / 10**6)
    return str(whole)


def _json_list(values: Sequence[str] | None) -> str | None:
    return None if values is None else "[" + ",".join(f'"{v}"' for v in values) + "]"


def _current_material(key: KeyRecord, state: str, now: float) -> str | None:
    """CurrentKeyMaterialId: symmetric keys once created, and once their material is here."""
    shared = key.shared
    if shared.spec != SYMMETRIC or state == CREATING or not key.has_material(now):
        return None
    return shared.material.material_id or None


def _spec_json(
    spec: str, usage: str, multi_region: bool, origin: str = "AWS_KMS"
) -> tuple[str, str, str]:
    cached = _SPEC_JSON.get((spec, usage, multi_region, origin))
    if cached is not None:
        return cached
    encryption = _json_list(ENCRYPTION_ALGORITHMS.get(spec) if usage == ENCRYPT_DECRYPT else None)
    signing = _json_list(SIGNING_ALGORITHMS.get(spec) if usage == SIGN_VERIFY else None)
    agreement = '["ECDH"]' if usage == KEY_AGREEMENT else None
    encapsulation = '["ML_KEM"]' if usage == ENCAPSULATE_DECAPSULATE else None
    macs = _json_list(MAC_ALGORITHMS.get(spec) if usage == GENERATE_VERIFY_MAC else None)
    middle = f',"Origin":"{origin}","KeyManager":"CUSTOMER","CustomerMasterKeySpec":"{spec}"'
    middle += f',"KeySpec":"{spec}"'
    for name, value in (
        ("EncryptionAlgorithms", encryption),
        ("SigningAlgorithms", signing),
        ("KeyAgreementAlgorithms", agreement),
        ("EncapsulationAlgorithms", encapsulation),
    ):
        if value is not None:
            middle += f',"{name}":{value}'
    middle += ',"MultiRegion":' + ("true" if multi_region else "false")
    entry = (
        f',"KeyUsage":"{usage}"',
        middle,
        "" if macs is None else f',"MacAlgorithms":{macs}',
    )
    _SPEC_JSON[(spec, usage, multi_region, origin)] = entry
    return entry


def key_metadata_json(key: KeyRecord, now: float) -> str:
    """The JSON object :func:`key_metadata` encodes to, written directly.

    Only for keys whose origin is ``AWS_KMS`` (the fragments have no ``ValidTo`` or
    ``ExpirationModel``); callers encode :func:`key_metadata` for the others.
    """
    shared = key.shared
    current = key.key_state(now)
    usage_json, middle, macs = _spec_json(shared.spec, shared.usage, shared.multi_region)
    parts = [
        f'{{"AWSAccountId":"{shared.account}","KeyId":"{shared.key_id}","Arn":"{key.arn}"',
        f',"CreationDate":{_json_time(key.created)},"Enabled":',
        "true" if current in (ENABLED, UPDATING) else "false",
        ',"Description":',
        json.dumps(key.description),
        usage_json,
        f',"KeyState":"{current}"',
    ]
    if current == PENDING_DELETION and key.deletion_date is not None:
        parts.append(f',"DeletionDate":{_json_time(key.deletion_date)}')
    parts.append(middle)
    if shared.multi_region:
        kind = "PRIMARY" if key.is_primary(now) else "REPLICA"
        parts.append(f',"MultiRegionConfiguration":{{"MultiRegionKeyType":"{kind}",')
        parts.append(_group_keys(shared)[2])
    if current == PENDING_REPLICA_DELETION and key.pending_window_days is not None:
        parts.append(f',"PendingDeletionWindowInDays":{key.pending_window_days}')
    parts.append(macs)
    material_id = _current_material(key, current, now)
    if material_id is not None:
        parts.append(f',"CurrentKeyMaterialId":"{material_id}"')
    parts.append("}")
    return "".join(parts)
