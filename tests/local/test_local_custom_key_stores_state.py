"""The custom key store connection state machine (kms_mrk.local._keystores), on a fake clock."""

from __future__ import annotations

import math

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kms_mrk.local._keystores import (
    CLOUDHSM,
    CONNECTED,
    CONNECTING,
    CONNECTION_ERROR_CODES,
    DISCONNECTED,
    DISCONNECTING,
    EXTERNAL,
    FAILED,
    CustomKeyStore,
    KeyStoreStateError,
    check_operation,
    new_store_id,
)


def _store(kind: str = CLOUDHSM) -> CustomKeyStore:
    store = CustomKeyStore(store_id="cks-0123456789abcdef0", name="s", store_type=kind, created=0)
    store.password = "kmsuser-secret"
    return store


def test_connect_walks_connecting_then_connected_on_the_clock() -> None:
    store = _store()
    store.connect(100.0, 60.0)
    assert store.connection_state(100.0) == CONNECTING
    assert store.connection_state(159.9) == CONNECTING
    assert store.connection_state(160.0) == CONNECTED
    assert store.connection_error(160.0) is None
    store.connect(170.0, 60.0)  # already connected: nothing changes
    assert store.connection_state(170.0) == CONNECTED
    store.disconnect(200.0, 5.0)
    assert store.connection_state(204.0) == DISCONNECTING
    assert store.connection_state(205.0) == DISCONNECTED


def test_zero_delay_connects_at_once() -> None:
    store = _store()
    store.connect(1.0, 0.0)
    assert store.state == CONNECTED


def test_armed_failure_shows_its_code_until_disconnected() -> None:
    store = _store()
    store.fail_next_connection("INSUFFICIENT_CLOUDHSM_HSMS")
    store.connect(0.0, 10.0)
    assert store.connection_state(5.0) == CONNECTING
    assert store.connection_error(5.0) is None
    assert store.connection_state(10.0) == FAILED
    assert store.connection_error(10.0) == "INSUFFICIENT_CLOUDHSM_HSMS"
    with pytest.raises(KeyStoreStateError, match="Disconnect it first"):
        store.connect(11.0, 10.0)
    store.disconnect(12.0, 0.0)
    assert store.connection_state(12.0) == DISCONNECTED
    store.connect(13.0, 0.0)  # the failure was for one attempt only
    assert store.connection_state(13.0) == CONNECTED


def test_failure_codes_are_checked_per_store_type() -> None:
    with pytest.raises(ValueError, match="XKS_PROXY_TIMED_OUT"):
        _store(CLOUDHSM).fail_next_connection("XKS_PROXY_TIMED_OUT")
    with pytest.raises(ValueError, match="CLUSTER_NOT_FOUND"):
        _store(EXTERNAL).fail_next_connection("CLUSTER_NOT_FOUND")


def test_unreachable_xks_proxy_fails_with_not_reachable() -> None:
    store = _store(EXTERNAL)
    store.connectivity = "PUBLIC_ENDPOINT"
    store.uri_endpoint = "https://proxy.example.invalid"
    store.connect(0.0, 0.0)
    assert store.connection_state(0.0) == FAILED
    assert store.connection_error(0.0) == "XKS_PROXY_NOT_REACHABLE"


def test_operation_table() -> None:
    check_operation("ConnectCustomKeyStore", DISCONNECTED, "cks-1")
    for state in (DISCONNECTING, FAILED):
        with pytest.raises(KeyStoreStateError):
            check_operation("ConnectCustomKeyStore", state, "cks-1")
    for state in (DISCONNECTING, DISCONNECTED):
        with pytest.raises(KeyStoreStateError, match="cannot be disconnected"):
            check_operation("DisconnectCustomKeyStore", state, "cks-1")
    for state in (CONNECTED, CONNECTING, FAILED, DISCONNECTING):
        with pytest.raises(KeyStoreStateError, match="before deleting"):
            check_operation("DeleteCustomKeyStore", state, "cks-1")
        with pytest.raises(KeyStoreStateError):
            check_operation("UpdateCustomKeyStore", state, "cks-1", fields=["name"])
        with pytest.raises(KeyStoreStateError):
            check_operation("UpdateCustomKeyStore", state, "cks-1", fields=["xks:uri_endpoint"])
        check_operation("UpdateCustomKeyStore", state, "cks-1", fields=["xks:name", "xks:uri_path"])
    check_operation("DeleteCustomKeyStore", DISCONNECTED, "cks-1")


def test_dump_load_round_trip_and_repr_hides_secrets() -> None:
    store = _store(EXTERNAL)
    store.proxy_secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
    store.fail_next_connection("XKS_PROXY_TIMED_OUT")
    store.connect(3.0, 7.0)
    copy = CustomKeyStore.load(store.dump())
    assert copy.dump() == store.dump()
    assert copy.connection_state(10.0) == FAILED
    assert "s3cr3t" not in repr(store) and "kmsuser-secret" not in repr(_store())
    with pytest.raises(ValueError, match="unknown connection state"):
        CustomKeyStore.load({**store.dump(), "state": "ASLEEP"})


def test_new_store_id_looks_like_kms_and_avoids_taken_ids() -> None:
    values = iter([bytes(9), bytes(9), bytes([1] * 9)])
    taken = {"cks-" + "0" * 17}
    store_id = new_store_id(lambda n: next(values), taken)
    assert store_id.startswith("cks-") and len(store_id) == 21 and store_id not in taken


class StoreMachine(RuleBasedStateMachine):
    """Against a simple model: the state after every step, at every time."""

    def __init__(self) -> None:
        super().__init__()
        self.store = _store()
        self.now = 0.0
        # model: (state, until, outcome)
        self.model: tuple[str, float, str | None] = (DISCONNECTED, math.inf, None)
        self.armed: str | None = None

    def expected(self) -> str:
        state, until, outcome = self.model
        if state == CONNECTING and self.now >= until:
            return FAILED if outcome else CONNECTED
        if state == DISCONNECTING and self.now >= until:
            return DISCONNECTED
        return state

    @rule(seconds=st.floats(0, 50))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @rule(code=st.sampled_from(sorted(CONNECTION_ERROR_CODES[CLOUDHSM])))
    def arm(self, code: str) -> None:
        self.store.fail_next_connection(code)
        self.armed = code

    @rule(delay=st.floats(0, 30))
    def connect(self, delay: float) -> None:
        current = self.expected()
        if current in (DISCONNECTING, FAILED):
            with pytest.raises(KeyStoreStateError):
                self.store.connect(self.now, delay)
            return
        self.store.connect(self.now, delay)
        if current == DISCONNECTED:
            self.model = (CONNECTING, self.now + delay, self.armed)
            self.armed = None
        elif current == CONNECTED:
            self.model = (CONNECTED, math.inf, None)

    @rule(delay=st.floats(0, 30))
    def disconnect(self, delay: float) -> None:
        current = self.expected()
        if current in (DISCONNECTING, DISCONNECTED):
            with pytest.raises(KeyStoreStateError):
                self.store.disconnect(self.now, delay)
            return
        self.store.disconnect(self.now, delay)
        self.model = (DISCONNECTING, self.now + delay, None)

    @invariant()
    def agrees(self) -> None:
        assert self.store.connection_state(self.now) == self.expected()
        failed = self.expected() == FAILED
        assert (self.store.connection_error(self.now) is not None) == failed
        assert CustomKeyStore.load(self.store.dump()).connection_state(self.now) == self.expected()


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
