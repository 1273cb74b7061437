"""Ed25519 and ML-DSA signing keys, ML-KEM keys and SM2 in the local KMS, in process: signatures
and public keys checked with cryptography, KeyMetadata and GetPublicKey fields, multi-Region
replicas sharing the private key, and the DescribeKey body for these keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem

from kms_mrk import KMSClient
from kms_mrk.errors import (
    InvalidKeyUsageException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.local._handlers import key_metadata, key_metadata_json
from kms_mrk.local._pq import ed25519ph_verify
from kms_mrk.models import DescribeKeyResponse
from kms_mrk.protocol.awsjson11 import encode_body
from tests.local._calls import CREDENTIALS, TestClient

MLDSA = {
    "ML_DSA_44": mldsa.MLDSA44PublicKey,
    "ML_DSA_65": mldsa.MLDSA65PublicKey,
    "ML_DSA_87": mldsa.MLDSA87PublicKey,
}


def _public(client: TestClient, key_id: str) -> tuple[Any, Any]:
    answer = client.call("GetPublicKey", KeyId=key_id)
    return answer, serialization.load_der_public_key(answer.public_key)


def test_ed25519_raw_and_prehashed_signatures(east: TestClient) -> None:
    meta = east.call(
        "CreateKey", KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY"
    ).key_metadata
    assert meta.signing_algorithms == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    answer, public = _public(east, meta.key_id)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert answer.key_spec == "ECC_NIST_EDWARDS25519"
    assert answer.signing_algorithms == ["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    assert answer.key_agreement_algorithms is None and answer.encapsulation_algorithms is None

    raw = east.call(
        "Sign", KeyId=meta.key_id, Message=b"pay 10", SigningAlgorithm="ED25519_SHA_512"
    )
    public.verify(raw.signature, b"pay 10")
    digest = hashlib.sha512(b"pay 10").digest()
    ph = east.call(
        "Sign",
        KeyId=meta.key_id,
        Message=digest,
        MessageType="DIGEST",
        SigningAlgorithm="ED25519_PH_SHA_512",
    )
    assert ed25519ph_verify(public.public_bytes_raw(), digest, ph.signature)
    assert east.call(
        "Verify",
        KeyId=meta.key_id,
        Message=digest,
        MessageType="DIGEST",
        Signature=ph.signature,
        SigningAlgorithm="ED25519_PH_SHA_512",
    ).signature_valid
    with pytest.raises(KMSInvalidSignatureException):
        east.call(
            "Verify",
            KeyId=meta.key_id,
            Message=b"pay 99",
            Signature=raw.signature,
            SigningAlgorithm="ED25519_SHA_512",
        )
    with pytest.raises(ValidationException, match="MessageType DIGEST is not valid"):
        east.call(
            "Sign",
            KeyId=meta.key_id,
            Message=digest,
            MessageType="DIGEST",
            SigningAlgorithm="ED25519_SHA_512",
        )
    with pytest.raises(ValidationException, match="Digest is invalid length"):
        east.call(
            "Sign",
            KeyId=meta.key_id,
            Message=digest[:32],
            MessageType="DIGEST",
            SigningAlgorithm="ED25519_PH_SHA_512",
        )
    with pytest.raises(InvalidKeyUsageException, match="incompatible with key spec"):
        east.call("Sign", KeyId=meta.key_id, Message=b"x", SigningAlgorithm="ECDSA_SHA_256")


@pytest.mark.parametrize("spec", sorted(MLDSA))
def test_mldsa_raw_and_external_mu(east: TestClient, spec: str) -> None:
    meta = east.call("CreateKey", KeySpec=spec, KeyUsage="SIGN_VERIFY").key_metadata
    assert meta.signing_algorithms == ["ML_DSA_SHAKE_256"]
    answer, public = _public(east, meta.key_id)
    assert isinstance(public, MLDSA[spec])
    assert answer.signing_algorithms == ["ML_DSA_SHAKE_256"]
    signed = east.call(
        "Sign", KeyId=meta.key_id, Message=b"release 1.2", SigningAlgorithm="ML_DSA_SHAKE_256"
    )
    public.verify(signed.signature, b"release 1.2")
    hasher = mldsa.MLDSAMuHasher(public)
    hasher.update(b"release 1.2")
    mu = hasher.finalize()
    by_mu = east.call(
        "Sign",
        KeyId=meta.key_id,
        Message=mu,
        MessageType="EXTERNAL_MU",
        SigningAlgorithm="ML_DSA_SHAKE_256",
    )
    public.verify(by_mu.signature, b"release 1.2")
    assert east.call(
        "Verify",
        KeyId=meta.key_id,
        Message=mu,
        MessageType="EXTERNAL_MU",
        Signature=signed.signature,
        SigningAlgorithm="ML_DSA_SHAKE_256",
    ).signature_valid
    with pytest.raises(ValidationException, match="MessageType DIGEST is not valid"):
        east.call(
            "Sign",
            KeyId=meta.key_id,
            Message=bytes(64),
            MessageType="DIGEST",
            SigningAlgorithm="ML_DSA_SHAKE_256",
        )
    with pytest.raises(ValidationException, match="64 bytes long"):
        east.call(
            "Sign",
            KeyId=meta.key_id,
            Message=bytes(32),
            MessageType="EXTERNAL_MU",
            SigningAlgorithm="ML_DSA_SHAKE_256",
        )


def test_external_mu_is_refused_for_older_algorithms(east: TestClient) -> None:
    key_id = east.call(
        "CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    with pytest.raises(ValidationException, match="MessageType EXTERNAL_MU is not valid"):
        east.call(
            "Sign",
            KeyId=key_id,
            Message=bytes(64),
            MessageType="EXTERNAL_MU",
            SigningAlgorithm="ECDSA_SHA_256",
        )


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("ML_KEM_768", mlkem.MLKEM768PublicKey), ("ML_KEM_1024", mlkem.MLKEM1024PublicKey)],
)
def test_mlkem_key_metadata_and_public_key(east: TestClient, spec: str, cls: type) -> None:
    meta = east.call("CreateKey", KeySpec=spec, KeyUsage="ENCAPSULATE_DECAPSULATE").key_metadata
    assert meta.key_usage == "ENCAPSULATE_DECAPSULATE"
    assert meta.encapsulation_algorithms == ["ML_KEM"]
    assert meta.signing_algorithms is None and meta.encryption_algorithms is None
    answer, public = _public(east, meta.key_id)
    assert isinstance(public, cls)
    assert answer.encapsulation_algorithms == ["ML_KEM"]
    with pytest.raises(Exception, match="not compatible with KeySpec"):
        east.call("CreateKey", KeySpec=spec, KeyUsage="KEY_AGREEMENT")


def test_sm2_is_refused_everywhere_with_the_reason(east: TestClient) -> None:
    with pytest.raises(UnsupportedOperationException, match="only in the China Regions"):
        east.call("CreateKey", KeySpec="SM2", KeyUsage="SIGN_VERIFY")
    china = east.for_region("cn-north-1")
    with pytest.raises(UnsupportedOperationException, match="no SM2 implementation"):
        china.call("CreateKey", KeySpec="SM2", KeyUsage="SIGN_VERIFY")


@pytest.mark.parametrize(
    ("spec", "usage"),
    [
        ("ML_DSA_65", "SIGN_VERIFY"),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
        ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ],
)
def test_replicas_share_the_private_key(
    east: TestClient, west: TestClient, clock: ManualClock, spec: str, usage: str
) -> None:
    key_id = east.call(
        "CreateKey", KeySpec=spec, KeyUsage=usage, MultiRegion=True
    ).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(3)
    assert (
        west.call("GetPublicKey", KeyId=key_id).public_key
        == east.call("GetPublicKey", KeyId=key_id).public_key
    )
    if usage == "SIGN_VERIFY":
        algorithm = "ML_DSA_SHAKE_256" if spec.startswith("ML_DSA") else "ED25519_SHA_512"
        signature = west.call(
            "Sign", KeyId=key_id, Message=b"m", SigningAlgorithm=algorithm
        ).signature
        assert east.call(
            "Verify", KeyId=key_id, Message=b"m", Signature=signature, SigningAlgorithm=algorithm
        ).signature_valid
    if usage == "ENCAPSULATE_DECAPSULATE":
        made = east.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
        got = west.call(
            "Decapsulate",
            KeyId=key_id,
            SharedSecretCiphertextBlob=made.shared_secret_ciphertext_blob,
            EncapsulationAlgorithm="ML_KEM",
        )
        assert got.shared_secret == made.shared_secret


def test_describe_key_body_matches_the_codec_for_the_new_specs(kms: LocalKMS) -> None:
    client = TestClient(kms, "us-east-1")
    for spec, usage in [
        ("ML_DSA_44", "SIGN_VERIFY"),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
        ("ML_KEM_1024", "ENCAPSULATE_DECAPSULATE"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ]:
        client.call("CreateKey", KeySpec=spec, KeyUsage=usage, MultiRegion=spec == "ML_DSA_44")
    now = kms.clock()
    state = kms._store.region(kms.account_id, "us-east-1")
    for key in state.keys.values():
        typed = encode_body(
            DescribeKeyResponse.__schema__,
            DescribeKeyResponse(key_metadata=key_metadata(key, now)),
        )
        assert typed == ('{"KeyMetadata":' + key_metadata_json(key, now) + "}").encode()


def test_kms_mrk_client_signs_with_ml_dsa(kms: LocalKMS) -> None:
    client = KMSClient(region="us-east-1", credentials=CREDENTIALS, transport=kms)
    key_id = client.create_key(key_spec="ML_DSA_87", key_usage="SIGN_VERIFY").key_metadata.key_id
    public = serialization.load_der_public_key(client.get_public_key(key_id=key_id).public_key)
    signature = client.sign(
        key_id=key_id, message=b"hello", signing_algorithm="ML_DSA_SHAKE_256"
    ).signature
    assert isinstance(public, mldsa.MLDSA87PublicKey)
    public.verify(signature, b"hello")


def test_ml_kem_512_without_its_package_says_what_to_install(
    east: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms_mrk.local import _pq

    monkeypatch.setattr(_pq, "mlkem512_available", lambda: False)
    with pytest.raises(UnsupportedOperationException, match=r"kyber-py.*kms-mrk\[local\]"):
        east.call("CreateKey", KeySpec="ML_KEM_512", KeyUsage="ENCAPSULATE_DECAPSULATE")
    assert east.call("ListKeys").keys == []
