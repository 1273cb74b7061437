"""Custom key stores of the local KMS: records and their connection state machine.

Pure: no I/O, no handler code; every time is passed in (the LocalKMS's injectable clock).

A :class:`CustomKeyStore` is either an AWS CloudHSM key store or an external key store (XKS,
reached through a public endpoint or a VPC endpoint service). There is no HSM and no proxy:
keys in a custom store use local key material, and connecting only walks the states KMS
shows (see the `ConnectCustomKeyStore reference
<https://docs.aws.amazon.com/kms/latest/APIReference/API_ConnectCustomKeyStore.html>`__)::

    DISCONNECTED --connect--> CONNECTING --(connect_seconds)--> CONNECTED
                                       \\--(connect_seconds)--> FAILED (ConnectionErrorCode)
    CONNECTED / CONNECTING / FAILED --disconnect--> DISCONNECTING --(disconnect_seconds)-->
    DISCONNECTED

Like key states, the timed states are derived from the stored state and a deadline, so a
store changes state on the clock without anyone writing it. A connection attempt fails when
:meth:`CustomKeyStore.fail_next_connection` armed it (tests and the chaos tooling) or, for an
external key store reached through a public endpoint, when the proxy's host name is under the
reserved ``.invalid`` top-level domain (RFC 6761: never resolves), which ends in ``FAILED`` with
``XKS_PROXY_NOT_REACHABLE``.

Which operation is valid in which state (:func:`check_operation`) follows the API reference:
Connect is refused while ``DISCONNECTING`` or ``FAILED`` (disconnect a failed store first),
Disconnect while ``DISCONNECTING`` or ``DISCONNECTED``, Delete unless ``DISCONNECTED``, and
Update of a CloudHSM store unless ``DISCONNECTED``; an external key store may change its name,
URI path and authentication credential in any state, everything else only when
``DISCONNECTED``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

__all__ = [
    "CLOUDHSM",
    "CONNECTED",
    "CONNECTING",
    "CONNECTION_ERROR_CODES",
    "DISCONNECTED",
    "DISCONNECTING",
    "EXTERNAL",
    "FAILED",
    "MAX_STORES",
    "CustomKeyStore",
    "KeyStoreStateError",
    "arm_connection_failure",
    "check_operation",
    "new_store_id",
]

CLOUDHSM: Final = "AWS_CLOUDHSM"
EXTERNAL: Final = "EXTERNAL_KEY_STORE"
PUBLIC_ENDPOINT: Final = "PUBLIC_ENDPOINT"
VPC_ENDPOINT_SERVICE: Final = "VPC_ENDPOINT_SERVICE"

CONNECTED: Final = "CONNECTED"
CONNECTING: Final = "CONNECTING"
FAILED: Final = "FAILED"
DISCONNECTED: Final = "DISCONNECTED"
DISCONNECTING: Final = "DISCONNECTING"
STATES: Final = (CONNECTED, CONNECTING, FAILED, DISCONNECTED, DISCONNECTING)

#: ConnectionErrorCode values that apply to each store type (the model's enum, split by type)
CONNECTION_ERROR_CODES: Final[dict[str, frozenset[str]]] = {
    CLOUDHSM: frozenset(
        (
            "INVALID_CREDENTIALS",
            "CLUSTER_NOT_FOUND",
            "NETWORK_ERRORS",
            "INTERNAL_ERROR",
            "INSUFFICIENT_CLOUDHSM_HSMS",
            "USER_LOCKED_OUT",
            "USER_NOT_FOUND",
            "USER_LOGGED_IN",
            "SUBNET_NOT_FOUND",
            "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET",
        )
    ),
    EXTERNAL: frozenset(
        (
            "INVALID_CREDENTIALS",
            "NETWORK_ERRORS",
            "INTERNAL_ERROR",
            "XKS_PROXY_ACCESS_DENIED",
            "XKS_PROXY_NOT_REACHABLE",
            "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND",
            "XKS_PROXY_INVALID_RESPONSE",
            "XKS_PROXY_INVALID_CONFIGURATION",
            "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION",
            "XKS_PROXY_TIMED_OUT",
            "XKS_PROXY_INVALID_TLS_CONFIGURATION",
        )
    ),
}
#: custom key stores per account and Region (KMS's default quota)
MAX_STORES: Final = 10
#: the XKS settings that may change while the store is connected
XKS_LIVE_UPDATES: Final = frozenset(("name", "uri_path", "credential"))


class KeyStoreStateError(Exception):
    """The operation is not valid in the store's connection state (the message says why)."""


def new_store_id(random_bytes: Callable[[int], bytes], taken: Iterable[str]) -> str:
    """A ``cks-`` + 17 hex digit id that is not in ``taken``."""
    used = set(taken)
    for _attempt in range(100):
        candidate = "cks-" + random_bytes(9).hex()[:17]
        if candidate not in used:
            return candidate
    raise RuntimeError("the random source keeps repeating key store ids")  # pragma: no cover


class CustomKeyStore:
    """One custom key store of one account in one Region.

    Secrets (the CloudHSM ``kmsuser`` password, the XKS proxy secret access key) are kept for
    the state file and never shown in a repr.
    """

    __slots__ = (
        "_fail_next",
        "cluster_id",
        "connectivity",
        "created",
        "error_code",
        "name",
        "password",
        "proxy_access_key_id",
        "proxy_secret",
        "state",
        "store_id",
        "store_type",
        "trust_anchor",
        "until",
        "uri_endpoint",
        "uri_path",
        "vpc_service_name",
        "vpc_service_owner",
    )

    def __init__(self, *, store_id: str, name: str, store_type: str, created: float) -> None:
        self.store_id = store_id
        self.name = name
        self.store_type = store_type
        self.created = created
        #: the stored state; CONNECTING and DISCONNECTING end at ``until``
        self.state = DISCONNECTED
        self.until = math.inf
        #: the code the current attempt ends with (None: it succeeds)
        self.error_code: str | None = None
        self._fail_next: str | None = None
        # AWS CloudHSM
        self.cluster_id: str | None = None
        self.trust_anchor: str | None = None
        self.password: str | None = None
        # external key store
        self.connectivity: str | None = None
        self.uri_endpoint: str | None = None
        self.uri_path: str | None = None
        self.vpc_service_name: str | None = None
        self.vpc_service_owner: str | None = None
        self.proxy_access_key_id: str | None = None
        self.proxy_secret: str | None = None

    def __repr__(self) -> str:
        return (
            f"CustomKeyStore(store_id={self.store_id!r}, name={self.name!r}, "
            f"type={self.store_type!r}, state={self.state!r})"
        )

    # ------------------------------------------------------------------ state

    def connection_state(self, now: float) -> str:
        """The ConnectionState DescribeCustomKeyStores shows at ``now``."""
        if self.state == CONNECTING and now >= self.until:
            return FAILED if self.error_code is not None else CONNECTED
        if self.state == DISCONNECTING and now >= self.until:
            return DISCONNECTED
        return self.state

    def connection_error(self, now: float) -> str | None:
        """The ConnectionErrorCode shown at ``now`` (only while FAILED)."""
        return self.error_code if self.connection_state(now) == FAILED else None

    def settle(self, now: float) -> None:
        """Store the derived state (before a change, so the change starts from it)."""
        current = self.connection_state(now)
        if current != self.state:
            self.state = current
            self.until = math.inf
            if current != FAILED:
                self.error_code = None

    def fail_next_connection(self, code: str) -> None:
        """Make the next connection attempt end in FAILED with ``code``.

        ValueError unless ``code`` is a ConnectionErrorCode for this store type.
        """
        if code not in CONNECTION_ERROR_CODES[self.store_type]:
            raise ValueError(
                f"{code!r} is not a ConnectionErrorCode of a {self.store_type} custom key store"
            )
        self._fail_next = code

    def _attempt_outcome(self) -> str | None:
        code, self._fail_next = self._fail_next, None
        if code is not None:
            return code
        if (
            self.store_type == EXTERNAL
            and self.connectivity == PUBLIC_ENDPOINT
            and self.uri_endpoint is not None
            and self.uri_endpoint.lower().rstrip(".").endswith(".invalid")
        ):
            return "XKS_PROXY_NOT_REACHABLE"
        return None

    def connect(self, now: float, seconds: float) -> None:
        """ConnectCustomKeyStore: start connecting (a no-op while connecting or connected)."""
        self.settle(now)
        check_operation("ConnectCustomKeyStore", self.state, self.store_id)
        if self.state in (CONNECTING, CONNECTED):
            return
        self.state = CONNECTING
        self.until = now + seconds
        self.error_code = self._attempt_outcome()
        self.settle(now)  # a zero delay connects at once

    def disconnect(self, now: float, seconds: float) -> None:
        """DisconnectCustomKeyStore: start disconnecting."""
        self.settle(now)
        check_operation("DisconnectCustomKeyStore", self.state, self.store_id)
        self.state = DISCONNECTING
        self.until = now + seconds
        self.error_code = None
        self.settle(now)

    # ------------------------------------------------------------------ persistence

    def dump(self) -> dict[str, Any]:
        return {
            "id": self.store_id,
            "name": self.name,
            "type": self.store_type,
            "created": self.created,
            "state": self.state,
            "until": None if math.isinf(self.until) else self.until,
            "error_code": self.error_code,
            "fail_next": self._fail_next,
            "cluster_id": self.cluster_id,
            "trust_anchor": self.trust_anchor,
            "password": self.password,
            "connectivity": self.connectivity,
            "uri_endpoint": self.uri_endpoint,
            "uri_path": self.uri_path,
            "vpc_service_name": self.vpc_service_name,
            "vpc_service_owner": self.vpc_service_owner,
            "proxy_access_key_id": self.proxy_access_key_id,
            "proxy_secret": self.proxy_secret,
        }

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> CustomKeyStore:
        """Rebuild from :meth:`dump`; KeyError/TypeError/ValueError if it is not one."""
        store_type = str(raw["type"])
        if store_type not in CONNECTION_ERROR_CODES:
            raise ValueError(f"unknown custom key store type {store_type!r}")
        store = cls(
            store_id=str(raw["id"]),
            name=str(raw["name"]),
            store_type=store_type,
            created=float(raw["created"]),
        )
        state = str(raw["state"])
        if state not in STATES:
            raise ValueError(f"unknown connection state {state!r}")
        store.state = state
        store.until = math.inf if raw["until"] is None else float(raw["until"])
        store.error_code = _opt(raw, "error_code")
        store._fail_next = _opt(raw, "fail_next")
        for name in (
            "cluster_id",
            "trust_anchor",
            "password",
            "connectivity",
            "uri_endpoint",
            "uri_path",
            "vpc_service_name",
            "vpc_service_owner",
            "proxy_access_key_id",
            "proxy_secret",
        ):
            setattr(store, name, _opt(raw, name))
        return store


def _opt(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return None if value is None else str(value)


def check_operation(
    operation: str, state: str, store_id: str, *, fields: Iterable[str] = ()
) -> None:
    """KeyStoreStateError unless ``operation`` is valid for a store in ``state``.

    ``fields`` names what an UpdateCustomKeyStore changes (for external key stores, some
    settings may change while connected; pass ``"xks:"``-prefixed names for those stores).
    """
    if operation == "ConnectCustomKeyStore" and state in (DISCONNECTING, FAILED):
        hint = " Disconnect it first." if state == FAILED else ""
        raise KeyStoreStateError(
            f"Custom key store {store_id} is {state}; it cannot be connected.{hint}"
        )
    if operation == "DisconnectCustomKeyStore" and state in (DISCONNECTING, DISCONNECTED):
        raise KeyStoreStateError(
            f"Custom key store {store_id} is {state}; it cannot be disconnected."
        )
    if operation == "DeleteCustomKeyStore" and state != DISCONNECTED:
        raise KeyStoreStateError(
            f"Custom key store {store_id} is {state}; disconnect it before deleting it."
        )
    if operation == "UpdateCustomKeyStore" and state != DISCONNECTED:
        changed = list(fields)
        live = [f for f in changed if f.startswith("xks:") and f[4:] in XKS_LIVE_UPDATES]
        if len(live) != len(changed) or not changed:
            raise KeyStoreStateError(
                f"Custom key store {store_id} is {state}; disconnect it before changing these "
                "settings."
            )


def arm_connection_failure(region_state: Any, store_id: str, code: str) -> None:
    """:meth:`CustomKeyStore.fail_next_connection` for the store ``store_id`` of a Region's
    state (``RegionState`` or None); ConfigurationError when there is no such store or the
    code does not fit it."""
    from kms_mrk.errors import ConfigurationError

    stores = {} if region_state is None else region_state.custom_key_stores
    custom = stores.get(store_id)
    if custom is None:
        raise ConfigurationError(f"fail_next_connection: no custom key store {store_id!r} there")
    try:
        custom.fail_next_connection(code)
    except ValueError as exc:
        raise ConfigurationError(f"fail_next_connection: {exc}") from None
