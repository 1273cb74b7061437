"""boto3 over HTTP against the local KMS: DeriveSharedSecret, Encapsulate/Decapsulate, Ed25519
and ML-DSA signatures, and custom key stores, with results checked by cryptography."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem

from kms_mrk.local import LocalKMSServer, ManualClock, serve
from kms_mrk.local._pq import ed25519ph_verify


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[LocalKMSServer]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        with serve(port=0, clock=clock, replica_creating_seconds=2) as running:
            yield running


@pytest.fixture(scope="module")
def kms_in(server: LocalKMSServer) -> Callable[[str], Any]:
    session = boto3.session.Session(
        aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret"
    )

    def client(region: str) -> Any:
        return session.client(
            "kms",
            region_name=region,
            endpoint_url=server.url,
            config=Config(retries={"mode": "standard", "max_attempts": 1}),
        )

    return client


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


def test_ecdh_over_http(kms_in: Callable[[str], Any]) -> None:
    kms = kms_in("us-east-1")
    key_id = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"][
        "KeyId"
    ]
    answer = kms.get_public_key(KeyId=key_id)
    assert answer["KeyAgreementAlgorithms"] == ["ECDH"]
    ours = serialization.load_der_public_key(answer["PublicKey"])
    assert isinstance(ours, ec.EllipticCurvePublicKey)
    peer = ec.generate_private_key(ec.SECP384R1())
    peer_der = peer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    derived = kms.derive_shared_secret(
        KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der
    )
    assert derived["SharedSecret"] == peer.exchange(ec.ECDH(), ours)
    assert derived["KeyOrigin"] == "AWS_KMS"
    wrong = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ClientError) as info:
        kms.derive_shared_secret(
            KeyId=key_id,
            KeyAgreementAlgorithm="ECDH",
            PublicKey=wrong.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
    assert _code(info) == "ValidationException"


@pytest.mark.skipif(
    "Encapsulate" not in botocore.session.get_session().get_service_model("kms").operation_names,
    reason="the installed botocore predates Encapsulate/Decapsulate (added in 1.44)",
)
def test_ml_kem_over_http(kms_in: Callable[[str], Any]) -> None:
    kms = kms_in("us-east-1")
    key_id = kms.create_key(KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")[
        "KeyMetadata"
    ]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["EncapsulationAlgorithms"] == ["ML_KEM"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public, mlkem.MLKEM768PublicKey)
    secret, ciphertext = public.encapsulate()
    got = kms.decapsulate(
        KeyId=key_id, SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM"
    )
    assert got["SharedSecret"] == secret
    made = kms.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    assert (
        kms.decapsulate(
            KeyId=key_id,
            SharedSecretCiphertextBlob=made["SharedSecretCiphertextBlob"],
            EncapsulationAlgorithm="ML_KEM",
        )["SharedSecret"]
        == made["SharedSecret"]
    )
    with pytest.raises(ClientError) as info:
        kms.decapsulate(
            KeyId=key_id, SharedSecretCiphertextBlob=b"short", EncapsulationAlgorithm="ML_KEM"
        )
    assert _code(info) == "InvalidCiphertextException"


def test_signatures_over_http(kms_in: Callable[[str], Any]) -> None:
    kms = kms_in("us-east-1")
    ed = kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert ed["SigningAlgorithms"] == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    ed_public = serialization.load_der_public_key(
        kms.get_public_key(KeyId=ed["KeyId"])["PublicKey"]
    )
    assert isinstance(ed_public, ed25519.Ed25519PublicKey)
    raw = kms.sign(KeyId=ed["KeyId"], Message=b"doc", SigningAlgorithm="ED25519_SHA_512")
    ed_public.verify(raw["Signature"], b"doc")
    digest = hashlib.sha512(b"doc").digest()
    ph = kms.sign(
        KeyId=ed["KeyId"],
        Message=digest,
        MessageType="DIGEST",
        SigningAlgorithm="ED25519_PH_SHA_512",
    )
    assert ed25519ph_verify(ed_public.public_bytes_raw(), digest, ph["Signature"])

    ml = kms.create_key(KeySpec="ML_DSA_65", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    ml_public = serialization.load_der_public_key(
        kms.get_public_key(KeyId=ml["KeyId"])["PublicKey"]
    )
    assert isinstance(ml_public, mldsa.MLDSA65PublicKey)
    hasher = mldsa.MLDSAMuHasher(ml_public)
    hasher.update(b"doc")
    signed = kms.sign(
        KeyId=ml["KeyId"],
        Message=hasher.finalize(),
        MessageType="EXTERNAL_MU",
        SigningAlgorithm="ML_DSA_SHAKE_256",
    )
    ml_public.verify(signed["Signature"], b"doc")


def test_custom_key_store_over_http(kms_in: Callable[[str], Any], clock: ManualClock) -> None:
    kms = kms_in("eu-central-1")
    store_id = kms.create_custom_key_store(
        CustomKeyStoreName="xks-http",
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint="https://xks.example.com",
        XksProxyUriPath="/kms/xks/v1",
        XksProxyAuthenticationCredential={
            "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
            "RawSecretAccessKey": "y" * 43,
        },
        XksProxyConnectivity="PUBLIC_ENDPOINT",
    )["CustomKeyStoreId"]
    with pytest.raises(ClientError) as info:
        kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="k")
    assert _code(info) == "CustomKeyStoreInvalidStateException"
    kms.connect_custom_key_store(CustomKeyStoreId=store_id)
    listed = kms.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]
    assert listed["ConnectionState"] == "CONNECTING"
    clock.advance(2)
    listed = kms.describe_custom_key_stores(CustomKeyStoreName="xks-http")["CustomKeyStores"][0]
    assert listed["ConnectionState"] == "CONNECTED"
    assert listed["XksProxyConfiguration"]["UriEndpoint"] == "https://xks.example.com"
    assert "RawSecretAccessKey" not in str(listed)
    meta = kms.create_key(Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="k")[
        "KeyMetadata"
    ]
    assert meta["XksKeyConfiguration"] == {"Id": "k"}
    assert meta["CustomKeyStoreId"] == store_id
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described["Origin"] == "EXTERNAL_KEY_STORE" and described["KeyState"] == "Enabled"
    kms.disconnect_custom_key_store(CustomKeyStoreId=store_id)
    clock.advance(2)
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "Unavailable"
    with pytest.raises(ClientError) as info:
        kms.delete_custom_key_store(CustomKeyStoreId=store_id)
    assert _code(info) == "CustomKeyStoreHasCMKsException"
    paginator = kms.get_paginator("describe_custom_key_stores")
    ids = [s["CustomKeyStoreId"] for page in paginator.paginate() for s in page["CustomKeyStores"]]
    assert ids == [store_id]
