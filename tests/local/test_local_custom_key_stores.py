"""Custom key stores in the local KMS, in process: CloudHSM and external key stores through
their connection states on the manual clock, keys in them, and the errors of each state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kms_mrk import KMSClient
from kms_mrk.errors import (
    CloudHsmClusterInUseException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    IncorrectTrustAnchorException,
    KMSInvalidStateException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
    XksKeyAlreadyInUseException,
    XksProxyUriInUseException,
    XksProxyVpcEndpointServiceInUseException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import CREDENTIALS, TestClient, make_client

ANCHOR = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
CREDENTIAL = {
    "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
    "RawSecretAccessKey": "x" * 43,
}


def _cloudhsm(client: TestClient, name: str = "hsm", cluster: str = "cluster-abcdefghijk") -> str:
    store_id: str = client.call(
        "CreateCustomKeyStore",
        CustomKeyStoreName=name,
        CloudHsmClusterId=cluster,
        TrustAnchorCertificate=ANCHOR,
        KeyStorePassword="kmsuser-pass",
    ).custom_key_store_id
    return store_id


def _xks(
    client: TestClient,
    name: str = "xks",
    endpoint: str = "https://xks.example.com",
    **extra: Any,
) -> str:
    members = {
        "CustomKeyStoreName": name,
        "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
        "XksProxyUriEndpoint": endpoint,
        "XksProxyUriPath": "/kms/xks/v1",
        "XksProxyAuthenticationCredential": CREDENTIAL,
        "XksProxyConnectivity": "PUBLIC_ENDPOINT",
        **extra,
    }
    store_id: str = client.call("CreateCustomKeyStore", **members).custom_key_store_id
    return store_id


def _describe(client: TestClient, store_id: str) -> Any:
    return client.call("DescribeCustomKeyStores", CustomKeyStoreId=store_id).custom_key_stores[0]


def test_cloudhsm_store_lifecycle_with_a_key(east: TestClient, clock: ManualClock) -> None:
    store_id = _cloudhsm(east)
    assert store_id.startswith("cks-") and len(store_id) == 21
    entry = _describe(east, store_id)
    assert entry.connection_state == "DISCONNECTED"
    assert entry.custom_key_store_type == "AWS_CLOUDHSM"
    assert entry.cloud_hsm_cluster_id == "cluster-abcdefghijk"
    assert entry.trust_anchor_certificate == ANCHOR
    assert entry.connection_error_code is None and entry.xks_proxy_configuration is None

    with pytest.raises(CustomKeyStoreInvalidStateException, match="must be CONNECTED"):
        east.call("CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    assert _describe(east, store_id).connection_state == "CONNECTING"
    clock.advance(2)
    assert _describe(east, store_id).connection_state == "CONNECTED"

    meta = east.call(
        "CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id, Description="in hsm"
    ).key_metadata
    assert meta.origin == "AWS_CLOUDHSM"
    assert meta.custom_key_store_id == store_id
    assert meta.cloud_hsm_cluster_id == "cluster-abcdefghijk"
    assert meta.key_state == "Enabled"
    blob = east.call("Encrypt", KeyId=meta.key_id, Plaintext=b"secret").ciphertext_blob
    assert east.call("Decrypt", CiphertextBlob=blob).plaintext == b"secret"

    east.call("DisconnectCustomKeyStore", CustomKeyStoreId=store_id)
    assert _describe(east, store_id).connection_state == "DISCONNECTING"
    assert east.call("DescribeKey", KeyId=meta.key_id).key_metadata.key_state == "Unavailable"
    clock.advance(2)
    assert _describe(east, store_id).connection_state == "DISCONNECTED"
    described = east.call("DescribeKey", KeyId=meta.key_id).key_metadata
    assert described.key_state == "Unavailable" and not described.enabled
    with pytest.raises(KMSInvalidStateException, match="is unavailable"):
        east.call("Decrypt", CiphertextBlob=blob)
    with pytest.raises(CustomKeyStoreHasCMKsException, match="still holds 1 KMS key"):
        east.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)

    east.call("ScheduleKeyDeletion", KeyId=meta.key_id, PendingWindowInDays=7)
    with pytest.raises(CustomKeyStoreHasCMKsException):
        east.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(7 * 86400 + 1)
    east.call("ListKeys")  # the deletion is carried out on the clock
    east.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
    with pytest.raises(CustomKeyStoreNotFoundException):
        east.call("DescribeCustomKeyStores", CustomKeyStoreId=store_id)


def test_key_comes_back_when_the_store_reconnects(east: TestClient, clock: ManualClock) -> None:
    store_id = _cloudhsm(east)
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    key_id = east.call(
        "CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id
    ).key_metadata.key_id
    east.call("DisconnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Unavailable"
    clock.advance(2)
    assert east.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Enabled"


def test_create_key_in_custom_store_errors(east: TestClient, clock: ManualClock) -> None:
    store_id = _cloudhsm(east)
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    with pytest.raises(UnsupportedOperationException, match="Multi-Region keys"):
        east.call("CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id, MultiRegion=True)
    with pytest.raises(UnsupportedOperationException, match="symmetric encryption keys"):
        east.call(
            "CreateKey",
            Origin="AWS_CLOUDHSM",
            CustomKeyStoreId=store_id,
            KeySpec="HMAC_256",
            KeyUsage="GENERATE_VERIFY_MAC",
        )
    with pytest.raises(ValidationException, match="requires Origin AWS_CLOUDHSM"):
        east.call("CreateKey", CustomKeyStoreId=store_id)
    with pytest.raises(ValidationException, match="requires a CustomKeyStoreId"):
        east.call("CreateKey", Origin="AWS_CLOUDHSM")
    with pytest.raises(ValidationException, match="requires an XksKeyId"):
        east.call("CreateKey", Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id)
    with pytest.raises(ValidationException, match="does not match custom key store"):
        east.call(
            "CreateKey", Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="k1"
        )
    with pytest.raises(CustomKeyStoreNotFoundException):
        east.call("CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-00000000000000000")
    west = east.for_region("eu-west-1")
    with pytest.raises(CustomKeyStoreNotFoundException):  # stores belong to one Region
        west.call("CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)
    assert east.call("ListKeys").keys == []


def test_create_store_validation_and_uniqueness(east: TestClient) -> None:
    with pytest.raises(ValidationException, match="KeyStorePassword must be specified"):
        east.call(
            "CreateCustomKeyStore",
            CustomKeyStoreName="a",
            CloudHsmClusterId="cluster-abcdefghijk",
            TrustAnchorCertificate=ANCHOR,
        )
    with pytest.raises(ValidationException, match="XksProxyUriPath cannot be used"):
        east.call(
            "CreateCustomKeyStore",
            CustomKeyStoreName="a",
            CloudHsmClusterId="cluster-abcdefghijk",
            TrustAnchorCertificate=ANCHOR,
            KeyStorePassword="kmsuser-pass",
            XksProxyUriPath="/kms/xks/v1",
        )
    with pytest.raises(IncorrectTrustAnchorException):
        east.call(
            "CreateCustomKeyStore",
            CustomKeyStoreName="a",
            CloudHsmClusterId="cluster-abcdefghijk",
            TrustAnchorCertificate="not a certificate",
            KeyStorePassword="kmsuser-pass",
        )
    _cloudhsm(east, "first")
    with pytest.raises(CustomKeyStoreNameInUseException):
        _cloudhsm(east, "first", cluster="cluster-bbbbbbbbbbb")
    with pytest.raises(CloudHsmClusterInUseException):
        _cloudhsm(east, "second")
    with pytest.raises(ValidationException, match="XksProxyAuthenticationCredential must be"):
        east.call(
            "CreateCustomKeyStore",
            CustomKeyStoreName="x",
            CustomKeyStoreType="EXTERNAL_KEY_STORE",
            XksProxyUriEndpoint="https://xks.example.com",
            XksProxyUriPath="/kms/xks/v1",
            XksProxyConnectivity="PUBLIC_ENDPOINT",
        )
    with pytest.raises(ValidationException, match="required when XksProxyConnectivity"):
        _xks(east, "vpc", XksProxyConnectivity="VPC_ENDPOINT_SERVICE")
    with pytest.raises(ValidationException, match="valid only when XksProxyConnectivity"):
        _xks(east, "pub", XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0a")
    _xks(east, "xks-1")
    with pytest.raises(XksProxyUriInUseException):
        _xks(east, "xks-2")
    _xks(
        east,
        "vpc-1",
        endpoint="https://private.example.com",
        XksProxyConnectivity="VPC_ENDPOINT_SERVICE",
        XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123abcd",
    )
    with pytest.raises(XksProxyVpcEndpointServiceInUseException):
        _xks(
            east,
            "vpc-2",
            endpoint="https://other.example.com",
            XksProxyConnectivity="VPC_ENDPOINT_SERVICE",
            XksProxyVpcEndpointServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123abcd",
        )


def test_store_limit(east: TestClient) -> None:
    for n in range(10):
        _xks(east, f"s{n}", endpoint=f"https://xks{n}.example.com")
    with pytest.raises(LimitExceededException):
        _xks(east, "s10", endpoint="https://xks10.example.com")


def test_external_key_store_keys_and_failed_connection(
    east: TestClient, clock: ManualClock
) -> None:
    store_id = _xks(east)
    entry = _describe(east, store_id)
    proxy = entry.xks_proxy_configuration
    assert entry.custom_key_store_type == "EXTERNAL_KEY_STORE"
    assert proxy.connectivity == "PUBLIC_ENDPOINT"
    assert proxy.access_key_id == CREDENTIAL["AccessKeyId"]
    assert proxy.uri_endpoint == "https://xks.example.com" and proxy.uri_path == "/kms/xks/v1"
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    meta = east.call(
        "CreateKey", Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="ext-1"
    ).key_metadata
    assert meta.origin == "EXTERNAL_KEY_STORE"
    assert meta.xks_key_configuration.id == "ext-1"
    assert meta.cloud_hsm_cluster_id is None
    with pytest.raises(XksKeyAlreadyInUseException):
        east.call(
            "CreateKey", Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="ext-1"
        )

    unreachable = _xks(east, "gone", endpoint="https://proxy.example.invalid")
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=unreachable)
    assert _describe(east, unreachable).connection_state == "CONNECTING"
    clock.advance(2)
    failed = _describe(east, unreachable)
    assert failed.connection_state == "FAILED"
    assert failed.connection_error_code == "XKS_PROXY_NOT_REACHABLE"
    with pytest.raises(CustomKeyStoreInvalidStateException, match="Disconnect it first"):
        east.call("ConnectCustomKeyStore", CustomKeyStoreId=unreachable)
    with pytest.raises(CustomKeyStoreInvalidStateException, match="before deleting"):
        east.call("DeleteCustomKeyStore", CustomKeyStoreId=unreachable)
    east.call("DisconnectCustomKeyStore", CustomKeyStoreId=unreachable)
    clock.advance(2)
    assert _describe(east, unreachable).connection_error_code is None
    with pytest.raises(CustomKeyStoreInvalidStateException, match="cannot be disconnected"):
        east.call("DisconnectCustomKeyStore", CustomKeyStoreId=unreachable)
    east.call(
        "UpdateCustomKeyStore",
        CustomKeyStoreId=unreachable,
        XksProxyUriEndpoint="https://proxy2.example.com",
    )
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=unreachable)
    clock.advance(2)
    assert _describe(east, unreachable).connection_state == "CONNECTED"


def test_update_rules_per_state(east: TestClient, clock: ManualClock) -> None:
    hsm = _cloudhsm(east)
    xks = _xks(east)
    for store_id in (hsm, xks):
        east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    with pytest.raises(CustomKeyStoreInvalidStateException, match="disconnect it"):
        east.call("UpdateCustomKeyStore", CustomKeyStoreId=hsm, NewCustomKeyStoreName="renamed")
    east.call(
        "UpdateCustomKeyStore",
        CustomKeyStoreId=xks,
        NewCustomKeyStoreName="xks-renamed",
        XksProxyUriPath="/prefix/kms/xks/v2",
        XksProxyAuthenticationCredential={**CREDENTIAL, "AccessKeyId": "ZYXWVUTSRQPONMLKJIHG"},
    )
    entry = _describe(east, xks)
    assert entry.custom_key_store_name == "xks-renamed"
    assert entry.xks_proxy_configuration.uri_path == "/prefix/kms/xks/v2"
    assert entry.xks_proxy_configuration.access_key_id == "ZYXWVUTSRQPONMLKJIHG"
    with pytest.raises(CustomKeyStoreInvalidStateException):
        east.call(
            "UpdateCustomKeyStore",
            CustomKeyStoreId=xks,
            XksProxyUriEndpoint="https://elsewhere.example.com",
        )
    with pytest.raises(CustomKeyStoreNameInUseException):
        east.call("UpdateCustomKeyStore", CustomKeyStoreId=xks, NewCustomKeyStoreName="hsm")
    assert _describe(east, xks).custom_key_store_name == "xks-renamed"  # nothing changed
    with pytest.raises(ValidationException, match="cannot be used with an external key store"):
        east.call("UpdateCustomKeyStore", CustomKeyStoreId=xks, KeyStorePassword="another-pw")
    east.call("DisconnectCustomKeyStore", CustomKeyStoreId=hsm)
    clock.advance(2)
    east.call(
        "UpdateCustomKeyStore",
        CustomKeyStoreId=hsm,
        NewCustomKeyStoreName="hsm-2",
        KeyStorePassword="new-password",
    )
    assert _describe(east, hsm).custom_key_store_name == "hsm-2"


def test_describe_pagination_and_lookup(east: TestClient) -> None:
    ids = [_xks(east, f"s{n}", endpoint=f"https://xks{n}.example.com") for n in range(5)]
    seen: list[str] = []
    marker = None
    pages = 0
    while True:
        members: dict[str, Any] = {"Limit": 2}
        if marker:
            members["Marker"] = marker
        page = east.call("DescribeCustomKeyStores", **members)
        seen += [s.custom_key_store_id for s in page.custom_key_stores]
        pages += 1
        if not page.truncated:
            assert page.next_marker is None
            break
        marker = page.next_marker
    assert seen == ids and pages == 3
    by_name = east.call("DescribeCustomKeyStores", CustomKeyStoreName="s3").custom_key_stores
    assert [s.custom_key_store_id for s in by_name] == [ids[3]]
    with pytest.raises(CustomKeyStoreNotFoundException):
        east.call("DescribeCustomKeyStores", CustomKeyStoreName="nope")
    with pytest.raises(ValidationException, match="not both"):
        east.call("DescribeCustomKeyStores", CustomKeyStoreId=ids[0], CustomKeyStoreName="s0")
    other = east.for_region("eu-west-1")
    assert other.call("DescribeCustomKeyStores").custom_key_stores == []


def test_stores_and_their_keys_survive_a_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    path = tmp_path / "state.db"
    with LocalKMS(clock=clock, state_file=path) as kms:
        client = make_client(kms)
        store_id = _cloudhsm(client)
        client.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
        key_id = client.call(
            "CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id
        ).key_metadata.key_id
        blob = client.call("Encrypt", KeyId=key_id, Plaintext=b"p").ciphertext_blob
    with LocalKMS(clock=clock, state_file=path) as kms:
        client = make_client(kms)
        assert _describe(client, store_id).connection_state == "CONNECTED"
        assert client.call("Decrypt", CiphertextBlob=blob).plaintext == b"p"
        client.call("DisconnectCustomKeyStore", CustomKeyStoreId=store_id)
        assert client.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Unavailable"
    with LocalKMS(clock=clock, state_file=path) as kms:
        client = make_client(kms)
        assert client.call("DescribeKey", KeyId=key_id).key_metadata.key_state == "Unavailable"
        assert b"kmsuser-pass" in path.read_bytes()  # kept in the state database only ...
        assert "kmsuser-pass" not in repr(
            kms._store.region(kms.account_id, "us-east-1").custom_key_stores[store_id]
        )


def test_kms_mrk_client_custom_key_stores(kms: LocalKMS, clock: ManualClock) -> None:
    client = KMSClient(region="us-east-1", credentials=CREDENTIALS, transport=kms)
    store_id = client.create_custom_key_store(
        custom_key_store_name="app-hsm",
        cloud_hsm_cluster_id="cluster-abcdefghijk",
        trust_anchor_certificate=ANCHOR,
        key_store_password="kmsuser-pass",
    ).custom_key_store_id
    client.connect_custom_key_store(custom_key_store_id=store_id)
    clock.advance(2)
    stores = client.describe_custom_key_stores(custom_key_store_id=store_id).custom_key_stores
    assert stores is not None and stores[0].connection_state == "CONNECTED"
    client.disconnect_custom_key_store(custom_key_store_id=store_id)
    clock.advance(2)
    client.delete_custom_key_store(custom_key_store_id=store_id)
    assert client.describe_custom_key_stores().custom_key_stores == []


def test_an_armed_failure_through_local_kms(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    from kms_mrk.errors import ConfigurationError

    store_id = _cloudhsm(east)
    with pytest.raises(ConfigurationError, match="XKS_PROXY_TIMED_OUT"):
        kms.fail_next_connection(store_id, "XKS_PROXY_TIMED_OUT")
    with pytest.raises(ConfigurationError, match="no custom key store"):
        kms.fail_next_connection(store_id, "USER_LOCKED_OUT", region="eu-west-1")
    kms.fail_next_connection(store_id, "USER_LOCKED_OUT")
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    entry = _describe(east, store_id)
    assert (entry.connection_state, entry.connection_error_code) == ("FAILED", "USER_LOCKED_OUT")
    with pytest.raises(CustomKeyStoreInvalidStateException):
        east.call("CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id)


def test_endpoints_of_vpc_endpoint_service_stores_are_their_own(east: TestClient) -> None:
    from kms_mrk.errors import XksProxyUriEndpointInUseException

    vpc = {
        "XksProxyConnectivity": "VPC_ENDPOINT_SERVICE",
        "XksProxyVpcEndpointServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123abcd",
    }
    _xks(east, "vpc-1", endpoint="https://private.example.com", **vpc)
    with pytest.raises(XksProxyUriEndpointInUseException):
        _xks(
            east,
            "public-same-host",
            endpoint="https://private.example.com",
            XksProxyUriPath="/other/kms/xks/v1",
        )
    # two public endpoint stores may share a host with different paths
    _xks(east, "pub-1", endpoint="https://shared.example.com")
    _xks(east, "pub-2", endpoint="https://shared.example.com", XksProxyUriPath="/b/kms/xks/v1")


def test_keys_in_custom_key_stores_do_not_rotate(east: TestClient, clock: ManualClock) -> None:
    store_id = _cloudhsm(east)
    east.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
    clock.advance(2)
    key_id = east.call(
        "CreateKey", Origin="AWS_CLOUDHSM", CustomKeyStoreId=store_id
    ).key_metadata.key_id
    with pytest.raises(UnsupportedOperationException, match="origin is AWS_CLOUDHSM"):
        east.call("EnableKeyRotation", KeyId=key_id)
    with pytest.raises(UnsupportedOperationException, match="origin is AWS_CLOUDHSM"):
        east.call("RotateKeyOnDemand", KeyId=key_id)


class StoresThroughTheApi(RuleBasedStateMachine):
    """Stores and their keys through the operations, against a model of states on the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.kms = LocalKMS(clock=self.clock, replica_creating_seconds=3)
        self.client = make_client(self.kms)
        # store id -> [state, deadline, key ids]
        self.model: dict[str, list[Any]] = {}
        self.count = 0

    def teardown(self) -> None:
        self.kms.close()

    def _state(self, store_id: str) -> str:
        state, until, _keys = self.model[store_id]
        if state == "CONNECTING" and self.clock() >= until:
            return "CONNECTED"
        if state == "DISCONNECTING" and self.clock() >= until:
            return "DISCONNECTED"
        return str(state)

    @rule()
    def create_store(self) -> None:
        self.count += 1
        if len(self.model) >= 10:
            with pytest.raises(LimitExceededException):
                _xks(self.client, f"s{self.count}", endpoint=f"https://x{self.count}.example.com")
            return
        store_id = _xks(
            self.client, f"s{self.count}", endpoint=f"https://x{self.count}.example.com"
        )
        self.model[store_id] = ["DISCONNECTED", 0.0, []]

    @rule(seconds=st.sampled_from([0.0, 1.0, 3.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        if not self.model:
            return
        store_id = data.draw(st.sampled_from(sorted(self.model)))
        state = self._state(store_id)
        if state == "DISCONNECTING":
            with pytest.raises(CustomKeyStoreInvalidStateException):
                self.client.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
            return
        self.client.call("ConnectCustomKeyStore", CustomKeyStoreId=store_id)
        if state == "DISCONNECTED":
            self.model[store_id][:2] = ["CONNECTING", self.clock() + 3]

    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        if not self.model:
            return
        store_id = data.draw(st.sampled_from(sorted(self.model)))
        if self._state(store_id) in ("DISCONNECTING", "DISCONNECTED"):
            with pytest.raises(CustomKeyStoreInvalidStateException):
                self.client.call("DisconnectCustomKeyStore", CustomKeyStoreId=store_id)
            return
        self.client.call("DisconnectCustomKeyStore", CustomKeyStoreId=store_id)
        self.model[store_id][:2] = ["DISCONNECTING", self.clock() + 3]

    @rule(data=st.data())
    def create_key(self, data: st.DataObject) -> None:
        if not self.model:
            return
        store_id = data.draw(st.sampled_from(sorted(self.model)))
        self.count += 1
        members = {
            "Origin": "EXTERNAL_KEY_STORE",
            "CustomKeyStoreId": store_id,
            "XksKeyId": f"k{self.count}",
        }
        if self._state(store_id) != "CONNECTED":
            with pytest.raises(CustomKeyStoreInvalidStateException):
                self.client.call("CreateKey", **members)
            return
        key_id = self.client.call("CreateKey", **members).key_metadata.key_id
        self.model[store_id][2].append(key_id)

    @rule(data=st.data())
    def delete_store(self, data: st.DataObject) -> None:
        if not self.model:
            return
        store_id = data.draw(st.sampled_from(sorted(self.model)))
        if self.model[store_id][2]:
            with pytest.raises(CustomKeyStoreHasCMKsException):
                self.client.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
        elif self._state(store_id) != "DISCONNECTED":
            with pytest.raises(CustomKeyStoreInvalidStateException):
                self.client.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
        else:
            self.client.call("DeleteCustomKeyStore", CustomKeyStoreId=store_id)
            del self.model[store_id]

    @invariant()
    def states_agree(self) -> None:
        listed = self.client.call("DescribeCustomKeyStores").custom_key_stores
        assert {s.custom_key_store_id: s.connection_state for s in listed} == {
            store_id: self._state(store_id) for store_id in self.model
        }
        for store_id, (_state, _until, keys) in self.model.items():
            expected = "Enabled" if self._state(store_id) == "CONNECTED" else "Unavailable"
            for key_id in keys:
                meta = self.client.call("DescribeKey", KeyId=key_id).key_metadata
                assert meta.key_state == expected


TestStoresThroughTheApi = StoresThroughTheApi.TestCase
TestStoresThroughTheApi.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
