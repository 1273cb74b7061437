"""DeriveSharedSecret (ECDH) and Encapsulate/Decapsulate (ML-KEM) in process, each secret
checked against cryptography (or kyber-py for ML-KEM-512) working from the public key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mlkem

from kms_mrk import KMSClient
from kms_mrk.errors import (
    DisabledException,
    DryRunOperationException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS
from tests.local._calls import CREDENTIALS, TestClient

CURVES = {
    "ECC_NIST_P256": ec.SECP256R1(),
    "ECC_NIST_P384": ec.SECP384R1(),
    "ECC_NIST_P521": ec.SECP521R1(),
    "ECC_SECG_P256K1": ec.SECP256K1(),
}


def _spki(public: object) -> bytes:
    return public.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _agreement_key(client: TestClient, spec: str) -> str:
    meta = client.call("CreateKey", KeySpec=spec, KeyUsage="KEY_AGREEMENT").key_metadata
    assert meta.key_agreement_algorithms == ["ECDH"]
    key_id: str = meta.key_id
    return key_id


@pytest.mark.parametrize("spec", sorted(CURVES))
def test_ecdh_secret_matches_the_peer(east: TestClient, spec: str) -> None:
    key_id = _agreement_key(east, spec)
    answer = east.call("GetPublicKey", KeyId=key_id)
    assert answer.key_agreement_algorithms == ["ECDH"] and answer.signing_algorithms is None
    ours = serialization.load_der_public_key(answer.public_key)
    assert isinstance(ours, ec.EllipticCurvePublicKey)
    peer = ec.generate_private_key(CURVES[spec])
    derived = east.call(
        "DeriveSharedSecret",
        KeyId=key_id,
        KeyAgreementAlgorithm="ECDH",
        PublicKey=_spki(peer.public_key()),
    )
    assert derived.shared_secret == peer.exchange(ec.ECDH(), ours)
    assert derived.key_agreement_algorithm == "ECDH"
    assert derived.key_origin == "AWS_KMS"
    assert derived.key_id.endswith(key_id)


def test_ecdh_errors(east: TestClient) -> None:
    key_id = _agreement_key(east, "ECC_NIST_P256")
    other_curve = _spki(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(ValidationException, match="not on the KMS key's curve"):
        east.call(
            "DeriveSharedSecret", KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=other_curve
        )
    with pytest.raises(ValidationException, match="not an elliptic curve public key"):
        east.call(
            "DeriveSharedSecret",
            KeyId=key_id,
            KeyAgreementAlgorithm="ECDH",
            PublicKey=_spki(ed25519.Ed25519PrivateKey.generate().public_key()),
        )
    with pytest.raises(ValidationException, match="SubjectPublicKeyInfo"):
        east.call(
            "DeriveSharedSecret", KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=b"\x04abc"
        )
    good = _spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(UnsupportedOperationException, match="Recipient"):
        east.call(
            "DeriveSharedSecret",
            KeyId=key_id,
            KeyAgreementAlgorithm="ECDH",
            PublicKey=good,
            Recipient={"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": b"x"},
        )
    with pytest.raises(DryRunOperationException):
        east.call(
            "DeriveSharedSecret",
            KeyId=key_id,
            KeyAgreementAlgorithm="ECDH",
            PublicKey=good,
            DryRun=True,
        )
    signing = east.call(
        "CreateKey", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    with pytest.raises(InvalidKeyUsageException, match="key usage is SIGN_VERIFY"):
        east.call("DeriveSharedSecret", KeyId=signing, KeyAgreementAlgorithm="ECDH", PublicKey=good)
    east.call("DisableKey", KeyId=key_id)
    with pytest.raises(DisabledException):
        east.call("DeriveSharedSecret", KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=good)


def test_agreement_keys_cannot_sign(east: TestClient) -> None:
    key_id = _agreement_key(east, "ECC_NIST_P384")
    with pytest.raises(InvalidKeyUsageException):
        east.call("Sign", KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_384")


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("ML_KEM_768", mlkem.MLKEM768PublicKey), ("ML_KEM_1024", mlkem.MLKEM1024PublicKey)],
)
def test_decapsulate_what_the_public_key_encapsulates(
    east: TestClient, spec: str, cls: type
) -> None:
    key_id = east.call(
        "CreateKey", KeySpec=spec, KeyUsage="ENCAPSULATE_DECAPSULATE"
    ).key_metadata.key_id
    public = serialization.load_der_public_key(east.call("GetPublicKey", KeyId=key_id).public_key)
    assert isinstance(public, cls)
    secret, ciphertext = public.encapsulate()  # type: ignore[attr-defined]
    got = east.call(
        "Decapsulate",
        KeyId=key_id,
        SharedSecretCiphertextBlob=ciphertext,
        EncapsulationAlgorithm="ML_KEM",
    )
    assert got.shared_secret == secret and got.encapsulation_algorithm == "ML_KEM"
    made = east.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    assert len(made.shared_secret) == 32
    again = east.call(
        "Decapsulate",
        KeyId=key_id,
        SharedSecretCiphertextBlob=made.shared_secret_ciphertext_blob,
        EncapsulationAlgorithm="ML_KEM",
    )
    assert again.shared_secret == made.shared_secret
    with pytest.raises(InvalidCiphertextException, match=f"not an {spec} ciphertext"):
        east.call(
            "Decapsulate",
            KeyId=key_id,
            SharedSecretCiphertextBlob=ciphertext[:-1],
            EncapsulationAlgorithm="ML_KEM",
        )


def test_ml_kem_512_with_kyber_py(east: TestClient) -> None:
    kyber = pytest.importorskip("kyber_py.ml_kem")
    key_id = east.call(
        "CreateKey", KeySpec="ML_KEM_512", KeyUsage="ENCAPSULATE_DECAPSULATE"
    ).key_metadata.key_id
    der = east.call("GetPublicKey", KeyId=key_id).public_key
    secret, ciphertext = kyber.ML_KEM_512.encaps(der[-800:])
    got = east.call(
        "Decapsulate",
        KeyId=key_id,
        SharedSecretCiphertextBlob=ciphertext,
        EncapsulationAlgorithm="ML_KEM",
    )
    assert got.shared_secret == secret


def test_kem_usage_and_dry_run(east: TestClient) -> None:
    symmetric = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(InvalidKeyUsageException, match="not valid for Encapsulate"):
        east.call("Encapsulate", KeyId=symmetric, EncapsulationAlgorithm="ML_KEM")
    key_id = east.call(
        "CreateKey", KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE"
    ).key_metadata.key_id
    with pytest.raises(DryRunOperationException):
        east.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM", DryRun=True)
    with pytest.raises(ValidationException, match="enum value set: \\[ML_KEM\\]"):
        east.call("Encapsulate", KeyId=key_id, EncapsulationAlgorithm="ML_KEM_768")


def test_kms_mrk_client_derives_and_encapsulates(kms: LocalKMS) -> None:
    client = KMSClient(region="us-east-1", credentials=CREDENTIALS, transport=kms)
    key_id = client.create_key(
        key_spec="ECC_NIST_P521", key_usage="KEY_AGREEMENT"
    ).key_metadata.key_id
    ours = serialization.load_der_public_key(client.get_public_key(key_id=key_id).public_key)
    assert isinstance(ours, ec.EllipticCurvePublicKey)
    peer = ec.generate_private_key(ec.SECP521R1())
    answer = client.derive_shared_secret(
        key_id=key_id, key_agreement_algorithm="ECDH", public_key=_spki(peer.public_key())
    )
    assert answer.shared_secret == peer.exchange(ec.ECDH(), ours)
    kem = client.create_key(
        key_spec="ML_KEM_1024", key_usage="ENCAPSULATE_DECAPSULATE"
    ).key_metadata.key_id
    made = client.encapsulate(key_id=kem, encapsulation_algorithm="ML_KEM")
    back = client.decapsulate(
        key_id=kem,
        shared_secret_ciphertext_blob=made.shared_secret_ciphertext_blob,
        encapsulation_algorithm="ML_KEM",
    )
    assert back.shared_secret == made.shared_secret


def test_key_agreement_and_kem_count_as_key_use(east: TestClient) -> None:
    agreement = _agreement_key(east, "ECC_NIST_P256")
    peer = _spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    east.call("DeriveSharedSecret", KeyId=agreement, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    usage = east.call("GetKeyLastUsage", KeyId=agreement).key_last_usage
    assert usage.operation == "DeriveSharedSecret"
    kem = east.call(
        "CreateKey", KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE"
    ).key_metadata.key_id
    made = east.call("Encapsulate", KeyId=kem, EncapsulationAlgorithm="ML_KEM")
    assert east.call("GetKeyLastUsage", KeyId=kem).key_last_usage.operation == "Encapsulate"
    east.call(
        "Decapsulate",
        KeyId=kem,
        SharedSecretCiphertextBlob=made.shared_secret_ciphertext_blob,
        EncapsulationAlgorithm="ML_KEM",
    )
    assert east.call("GetKeyLastUsage", KeyId=kem).key_last_usage.operation == "Decapsulate"
