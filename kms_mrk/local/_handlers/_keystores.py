"""Custom key stores: Create/Describe/Update/Connect/Disconnect/DeleteCustomKeyStore, and the
checks CreateKey makes for a key in a custom key store.

The stores are records in the caller's account and Region (``RegionState.custom_key_stores``)
with the connection state machine of :mod:`kms_mrk.local._keystores`. There is no CloudHSM
cluster and no external key store proxy: what KMS would check against them (the cluster's
trust anchor, the proxy's answers) is checked for form only, and keys in a custom key store
use local key material. Connecting and disconnecting take ``replica_creating_seconds`` of the
LocalKMS (0 unless set, so a store connects at once). Custom key store operations are
authorized by IAM in KMS, not by key policies, so the local KMS lets every caller run them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kms_mrk.errors import (
    CloudHsmClusterInUseException,
    CloudHsmClusterNotRelatedException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    IncorrectTrustAnchorException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
    XksKeyAlreadyInUseException,
    XksProxyUriEndpointInUseException,
    XksProxyUriInUseException,
    XksProxyVpcEndpointServiceInUseException,
)
from kms_mrk.local import _keystores as ks
from kms_mrk.local._handlers._common import as_datetime, page_limit, page_of, text_of
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import ENCRYPT_DECRYPT, SYMMETRIC
from kms_mrk.local._state import RegionState, Shared
from kms_mrk.models._enums import ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoreType
from kms_mrk.models._op_connect_custom_key_store import (
    ConnectCustomKeyStoreCommand,
    ConnectCustomKeyStoreRequest,
    ConnectCustomKeyStoreResponse,
)
from kms_mrk.models._op_create_custom_key_store import (
    CreateCustomKeyStoreCommand,
    CreateCustomKeyStoreRequest,
    CreateCustomKeyStoreResponse,
)
from kms_mrk.models._op_create_key import CreateKeyRequest
from kms_mrk.models._op_delete_custom_key_store import (
    DeleteCustomKeyStoreCommand,
    DeleteCustomKeyStoreRequest,
    DeleteCustomKeyStoreResponse,
)
from kms_mrk.models._op_describe_custom_key_stores import (
    CustomKeyStoresListEntry,
    DescribeCustomKeyStoresCommand,
    DescribeCustomKeyStoresRequest,
    DescribeCustomKeyStoresResponse,
    XksProxyConfigurationType,
)
from kms_mrk.models._op_disconnect_custom_key_store import (
    DisconnectCustomKeyStoreCommand,
    DisconnectCustomKeyStoreRequest,
    DisconnectCustomKeyStoreResponse,
)
from kms_mrk.models._op_update_custom_key_store import (
    UpdateCustomKeyStoreCommand,
    UpdateCustomKeyStoreRequest,
    UpdateCustomKeyStoreResponse,
)

__all__ = ["attach_to_store", "store_for_new_key"]

_CLOUDHSM_FIELDS: Final = ("CloudHsmClusterId", "TrustAnchorCertificate", "KeyStorePassword")
_XKS_FIELDS: Final = (
    "XksProxyUriEndpoint",
    "XksProxyUriPath",
    "XksProxyVpcEndpointServiceName",
    "XksProxyVpcEndpointServiceOwner",
    "XksProxyAuthenticationCredential",
    "XksProxyConnectivity",
)
_PEM_BEGIN: Final = "-----BEGIN CERTIFICATE-----"
_PEM_END: Final = "-----END CERTIFICATE-----"


def _given(request: Any, wire_names: tuple[str, ...]) -> list[str]:
    """The wire names among ``wire_names`` that ``request`` sets."""
    data = request.to_dict()
    return [name for name in wire_names if data.get(name) is not None]


def _find(ctx: Ctx, store_id: str) -> ks.CustomKeyStore:
    state = ctx.store.peek(ctx.account, ctx.region)
    custom = None if state is None else state.custom_key_stores.get(store_id)
    if custom is None:
        raise CustomKeyStoreNotFoundException(f"Custom key store {store_id} does not exist.")
    return custom


def _invalid_state(exc: ks.KeyStoreStateError) -> CustomKeyStoreInvalidStateException:
    return CustomKeyStoreInvalidStateException(str(exc))


def _keys_in(state: RegionState, store_id: str) -> int:
    return sum(1 for key in state.keys.values() if key.shared.custom_key_store_id == store_id)


def _check_trust_anchor(text: str) -> None:
    body = text.strip()
    if not (body.startswith(_PEM_BEGIN) and body.endswith(_PEM_END)):
        raise IncorrectTrustAnchorException(
            "The TrustAnchorCertificate is not a PEM-encoded certificate "
            "(-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)."
        )


def _check_unique(
    state: RegionState,
    candidate: ks.CustomKeyStore,
    *,
    ignore: str | None = None,
) -> None:
    """The uniqueness rules KMS applies among the stores of one account and Region."""
    for other in state.custom_key_stores.values():
        if other.store_id == ignore:
            continue
        if other.name == candidate.name:
            raise CustomKeyStoreNameInUseException(
                f"A custom key store named {candidate.name} already exists in this account "
                "and Region."
            )
        if candidate.store_type == ks.CLOUDHSM and other.cluster_id == candidate.cluster_id:
            raise CloudHsmClusterInUseException(
                f"The CloudHSM cluster {candidate.cluster_id} is already associated with "
                f"custom key store {other.store_id}."
            )
        if candidate.store_type != ks.EXTERNAL or other.store_type != ks.EXTERNAL:
            continue
        if other.uri_endpoint == candidate.uri_endpoint:
            if other.uri_path == candidate.uri_path:
                raise XksProxyUriInUseException(
                    "The XksProxyUriEndpoint and XksProxyUriPath are already used by custom key "
                    f"store {other.store_id}."
                )
            if ks.VPC_ENDPOINT_SERVICE in (candidate.connectivity, other.connectivity):
                # a store reached through a VPC endpoint service has an endpoint of its own
                raise XksProxyUriEndpointInUseException(
                    f"The XksProxyUriEndpoint {candidate.uri_endpoint} is already used by custom "
                    f"key store {other.store_id}."
                )
        if (
            candidate.connectivity == ks.VPC_ENDPOINT_SERVICE
            and other.vpc_service_name == candidate.vpc_service_name
        ):
            raise XksProxyVpcEndpointServiceInUseException(
                f"The VPC endpoint service {candidate.vpc_service_name} is already associated "
                f"with custom key store {other.store_id}."
            )


def _check_xks_shape(custom: ks.CustomKeyStore) -> None:
    """Connectivity-dependent rules: a VPC endpoint service needs its name, a public endpoint
    takes none."""
    if custom.connectivity == ks.VPC_ENDPOINT_SERVICE:
        if custom.vpc_service_name is None:
            raise ValidationException(
                "XksProxyVpcEndpointServiceName is required when XksProxyConnectivity is "
                "VPC_ENDPOINT_SERVICE."
            )
    elif custom.vpc_service_name is not None or custom.vpc_service_owner is not None:
        raise ValidationException(
            "XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner are valid only "
            "when XksProxyConnectivity is VPC_ENDPOINT_SERVICE."
        )


# --------------------------------------------------------------------------- operations


@handler(CreateCustomKeyStoreCommand, mutating=True)
def create_custom_key_store(
    ctx: Ctx, request: CreateCustomKeyStoreRequest
) -> CreateCustomKeyStoreResponse:
    store_type = text_of(request.custom_key_store_type) or ks.CLOUDHSM
    state = ctx.here()
    custom = ks.CustomKeyStore(
        store_id="",
        name=request.custom_key_store_name,
        store_type=store_type,
        created=ctx.now,
    )
    if store_type == ks.CLOUDHSM:
        wrong = _given(request, _XKS_FIELDS)
        if wrong:
            raise ValidationException(
                f"{', '.join(wrong)} cannot be used with CustomKeyStoreType AWS_CLOUDHSM."
            )
        missing = [n for n in _CLOUDHSM_FIELDS if n not in _given(request, _CLOUDHSM_FIELDS)]
        if missing:
            raise ValidationException(
                f"{', '.join(missing)} must be specified for an AWS CloudHSM key store."
            )
        assert request.trust_anchor_certificate is not None  # checked above
        _check_trust_anchor(request.trust_anchor_certificate)
        custom.cluster_id = request.cloud_hsm_cluster_id
        custom.trust_anchor = request.trust_anchor_certificate
        custom.password = request.key_store_password
    else:
        wrong = _given(request, _CLOUDHSM_FIELDS)
        if wrong:
            raise ValidationException(
                f"{', '.join(wrong)} cannot be used with CustomKeyStoreType EXTERNAL_KEY_STORE."
            )
        required = (
            "XksProxyUriEndpoint",
            "XksProxyUriPath",
            "XksProxyAuthenticationCredential",
            "XksProxyConnectivity",
        )
        present = _given(request, required)
        missing = [n for n in required if n not in present]
        if missing:
            raise ValidationException(
                f"{', '.join(missing)} must be specified for an external key store."
            )
        credential = request.xks_proxy_authentication_credential
        assert credential is not None  # checked above
        custom.connectivity = text_of(request.xks_proxy_connectivity)
        custom.uri_endpoint = request.xks_proxy_uri_endpoint
        custom.uri_path = request.xks_proxy_uri_path
        custom.vpc_service_name = request.xks_proxy_vpc_endpoint_service_name
        custom.vpc_service_owner = request.xks_proxy_vpc_endpoint_service_owner
        custom.proxy_access_key_id = credential.access_key_id
        custom.proxy_secret = credential.raw_secret_access_key
        _check_xks_shape(custom)
    _check_unique(state, custom)
    if len(state.custom_key_stores) >= ks.MAX_STORES:
        raise LimitExceededException(
            f"This account already has {ks.MAX_STORES} custom key stores in {ctx.region}."
        )
    custom.store_id = ks.new_store_id(ctx.settings.random_bytes, state.custom_key_stores)
    state.custom_key_stores[custom.store_id] = custom
    ctx.store.touch_region(ctx.account, ctx.region)
    ctx.store.changed()
    return CreateCustomKeyStoreResponse(custom_key_store_id=custom.store_id)


def _entry(custom: ks.CustomKeyStore, now: float) -> CustomKeyStoresListEntry:
    proxy = None
    if custom.store_type == ks.EXTERNAL:
        proxy = XksProxyConfigurationType(
            connectivity=custom.connectivity,
            access_key_id=custom.proxy_access_key_id,
            uri_endpoint=custom.uri_endpoint,
            uri_path=custom.uri_path,
            vpc_endpoint_service_name=custom.vpc_service_name,
            vpc_endpoint_service_owner=custom.vpc_service_owner,
        )
    code = custom.connection_error(now)
    return CustomKeyStoresListEntry(
        custom_key_store_id=custom.store_id,
        custom_key_store_name=custom.name,
        cloud_hsm_cluster_id=custom.cluster_id,
        trust_anchor_certificate=custom.trust_anchor,
        connection_state=ConnectionStateType(custom.connection_state(now)),
        connection_error_code=None if code is None else ConnectionErrorCodeType(code),
        creation_date=as_datetime(custom.created),
        custom_key_store_type=CustomKeyStoreType(custom.store_type),
        xks_proxy_configuration=proxy,
    )


@handler(DescribeCustomKeyStoresCommand)
def describe_custom_key_stores(
    ctx: Ctx, request: DescribeCustomKeyStoresRequest
) -> DescribeCustomKeyStoresResponse:
    if request.custom_key_store_id is not None and request.custom_key_store_name is not None:
        raise ValidationException(
            "Specify either CustomKeyStoreId or CustomKeyStoreName, not both."
        )
    state = ctx.store.peek(ctx.account, ctx.region)
    stores = [] if state is None else list(state.custom_key_stores.values())
    if request.custom_key_store_id is not None:
        stores = [_find(ctx, request.custom_key_store_id)]
    elif request.custom_key_store_name is not None:
        stores = [s for s in stores if s.name == request.custom_key_store_name]
        if not stores:
            raise CustomKeyStoreNotFoundException(
                f"Custom key store with name {request.custom_key_store_name} does not exist."
            )
    positions = list(range(len(stores)))
    page, marker = page_of(stores, positions, page_limit(request.limit, 1000, 1000), request.marker)
    return DescribeCustomKeyStoresResponse(
        custom_key_stores=[_entry(s, ctx.now) for s in page],
        next_marker=marker,
        truncated=marker is not None,
    )


@handler(UpdateCustomKeyStoreCommand, mutating=True)
def update_custom_key_store(
    ctx: Ctx, request: UpdateCustomKeyStoreRequest
) -> UpdateCustomKeyStoreResponse:
    custom = _find(ctx, request.custom_key_store_id)
    custom.settle(ctx.now)
    given_hsm = _given(request, _CLOUDHSM_FIELDS[::2])  # CloudHsmClusterId, KeyStorePassword
    given_xks = _given(request, _XKS_FIELDS)
    if custom.store_type == ks.CLOUDHSM and given_xks:
        raise ValidationException(
            f"{', '.join(given_xks)} cannot be used with an AWS CloudHSM key store."
        )
    if custom.store_type == ks.EXTERNAL and given_hsm:
        raise ValidationException(
            f"{', '.join(given_hsm)} cannot be used with an external key store."
        )
    changes: dict[str, Any] = {}
    if request.new_custom_key_store_name is not None:
        changes["name"] = request.new_custom_key_store_name
    if custom.store_type == ks.CLOUDHSM:
        if request.cloud_hsm_cluster_id is not None:
            changes["cluster_id"] = request.cloud_hsm_cluster_id
        if request.key_store_password is not None:
            changes["password"] = request.key_store_password
    else:
        credential = request.xks_proxy_authentication_credential
        if credential is not None:
            changes["credential"] = (credential.access_key_id, credential.raw_secret_access_key)
        for attr, value in (
            ("uri_endpoint", request.xks_proxy_uri_endpoint),
            ("uri_path", request.xks_proxy_uri_path),
            ("vpc_service_name", request.xks_proxy_vpc_endpoint_service_name),
            ("vpc_service_owner", request.xks_proxy_vpc_endpoint_service_owner),
            ("connectivity", text_of(request.xks_proxy_connectivity)),
        ):
            if value is not None:
                changes[attr] = value
    prefix = "xks:" if custom.store_type == ks.EXTERNAL else ""
    try:
        ks.check_operation(
            "UpdateCustomKeyStore",
            custom.state,
            custom.store_id,
            fields=[prefix + name for name in changes],
        )
    except ks.KeyStoreStateError as exc:
        raise _invalid_state(exc) from None
    # KMS accepts only a cluster that shares the original's backup history. With no clusters
    # to compare, the local KMS accepts another cluster only while the store holds no keys.
    moved = "cluster_id" in changes and changes["cluster_id"] != custom.cluster_id
    if moved and _keys_in(ctx.here(), custom.store_id):
        raise CloudHsmClusterNotRelatedException(
            f"Cluster {changes['cluster_id']} is not related to the cluster of custom key "
            f"store {custom.store_id}, which holds KMS keys."
        )
    # Validate the result on a copy, then apply it: a refused update changes nothing.
    candidate = ks.CustomKeyStore.load(custom.dump())
    for name, value in changes.items():
        if name == "credential":
            candidate.proxy_access_key_id, candidate.proxy_secret = value
        else:
            setattr(candidate, name, value)
    if candidate.connectivity == ks.PUBLIC_ENDPOINT and "connectivity" in changes:
        # moving to a public endpoint drops the VPC endpoint service unless it is given again
        for name in ("vpc_service_name", "vpc_service_owner"):
            if name not in changes:
                setattr(candidate, name, None)
    if candidate.store_type == ks.EXTERNAL:
        _check_xks_shape(candidate)
    _check_unique(ctx.here(), candidate, ignore=custom.store_id)
    for name in ks.CustomKeyStore.__slots__:
        if name != "_fail_next":
            setattr(custom, name, getattr(candidate, name))
    ctx.store.touch_region(ctx.account, ctx.region)
    ctx.store.changed()
    return UpdateCustomKeyStoreResponse()


def _transition(
    ctx: Ctx, store_id: str, step: Callable[[ks.CustomKeyStore, float, float], None]
) -> None:
    custom = _find(ctx, store_id)
    try:
        step(custom, ctx.now, ctx.settings.creating_seconds)
    except ks.KeyStoreStateError as exc:
        raise _invalid_state(exc) from None
    ctx.store.touch_region(ctx.account, ctx.region)
    ctx.store.changed()


@handler(ConnectCustomKeyStoreCommand, mutating=True)
def connect_custom_key_store(
    ctx: Ctx, request: ConnectCustomKeyStoreRequest
) -> ConnectCustomKeyStoreResponse:
    _transition(ctx, request.custom_key_store_id, ks.CustomKeyStore.connect)
    return ConnectCustomKeyStoreResponse()


@handler(DisconnectCustomKeyStoreCommand, mutating=True)
def disconnect_custom_key_store(
    ctx: Ctx, request: DisconnectCustomKeyStoreRequest
) -> DisconnectCustomKeyStoreResponse:
    _transition(ctx, request.custom_key_store_id, ks.CustomKeyStore.disconnect)
    return DisconnectCustomKeyStoreResponse()


@handler(DeleteCustomKeyStoreCommand, mutating=True)
def delete_custom_key_store(
    ctx: Ctx, request: DeleteCustomKeyStoreRequest
) -> DeleteCustomKeyStoreResponse:
    custom = _find(ctx, request.custom_key_store_id)
    state = ctx.here()
    held = _keys_in(state, custom.store_id)
    if held:
        raise CustomKeyStoreHasCMKsException(
            f"Custom key store {custom.store_id} still holds {held} KMS key(s); delete them "
            "(ScheduleKeyDeletion, then wait for the deletion) first."
        )
    try:
        ks.check_operation(
            "DeleteCustomKeyStore", custom.connection_state(ctx.now), custom.store_id
        )
    except ks.KeyStoreStateError as exc:
        raise _invalid_state(exc) from None
    del state.custom_key_stores[custom.store_id]
    ctx.store.touch_region(ctx.account, ctx.region)
    ctx.store.changed()
    return DeleteCustomKeyStoreResponse()


# --------------------------------------------------------------------------- CreateKey


def store_for_new_key(
    ctx: Ctx, request: CreateKeyRequest, origin: str, spec: str, usage: str
) -> ks.CustomKeyStore | None:
    """The custom key store a new key goes to (None for other keys), after KMS's checks."""
    store_id = request.custom_key_store_id
    xks_key_id = request.xks_key_id
    if origin not in (ks.CLOUDHSM, ks.EXTERNAL):
        if store_id is not None:
            raise ValidationException(
                "CustomKeyStoreId requires Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE."
            )
        if xks_key_id is not None:
            raise ValidationException("XksKeyId requires Origin EXTERNAL_KEY_STORE.")
        return None
    if store_id is None:
        raise ValidationException(f"Origin {origin} requires a CustomKeyStoreId.")
    if origin == ks.EXTERNAL and xks_key_id is None:
        raise ValidationException("Origin EXTERNAL_KEY_STORE requires an XksKeyId.")
    if origin == ks.CLOUDHSM and xks_key_id is not None:
        raise ValidationException("XksKeyId requires Origin EXTERNAL_KEY_STORE.")
    if spec != SYMMETRIC or usage != ENCRYPT_DECRYPT:
        raise UnsupportedOperationException(
            f"KMS keys in custom key stores are symmetric encryption keys; KeySpec {spec} "
            f"with KeyUsage {usage} is not supported there."
        )
    if request.multi_region:
        raise UnsupportedOperationException(
            "Multi-Region keys are not supported in custom key stores."
        )
    custom = _find(ctx, store_id)
    if custom.store_type != origin:
        raise ValidationException(
            f"Origin {origin} does not match custom key store {store_id}, whose type is "
            f"{custom.store_type}."
        )
    current = custom.connection_state(ctx.now)
    if current != ks.CONNECTED:
        raise CustomKeyStoreInvalidStateException(
            f"Custom key store {store_id} is {current}; it must be CONNECTED to create keys."
        )
    if xks_key_id is not None:
        for key in ctx.here().keys.values():
            shared = key.shared
            if shared.custom_key_store_id == store_id and shared.xks_key_id == xks_key_id:
                raise XksKeyAlreadyInUseException(
                    f"External key {xks_key_id} is already associated with KMS key "
                    f"{key.arn} in custom key store {store_id}."
                )
    return custom


def attach_to_store(
    shared: Shared, custom: ks.CustomKeyStore | None, xks_key_id: str | None, origin: str
) -> None:
    """Record where a new key lives (its origin, custom key store and external key)."""
    shared.origin = origin
    if custom is None:
        return
    shared.custom_store = custom
    shared.custom_key_store_id = custom.store_id
    shared.xks_key_id = xks_key_id if custom.store_type == ks.EXTERNAL else None
