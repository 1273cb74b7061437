"""Real cryptography on the local KMS: symmetric, RSA, ECC, HMAC, data keys, cross-Region."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from kms_mrk.errors import (
    DisabledException,
    DryRunOperationException,
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client

HASHES = {"SHA_256": hashes.SHA256(), "SHA_384": hashes.SHA384(), "SHA_512": hashes.SHA512()}


@pytest.fixture(scope="module")
def shared_kms() -> Iterator[LocalKMS]:
    local = LocalKMS(clock=ManualClock(), seed=11)
    yield local
    local.close()


@pytest.fixture(scope="module")
def keys(shared_kms: LocalKMS) -> dict[str, str]:
    """One key per spec and usage, made once (RSA_4096 takes a second to generate)."""
    client = make_client(shared_kms)
    specs = {
        "RSA_2048/E": ("RSA_2048", "ENCRYPT_DECRYPT"),
        "RSA_3072/E": ("RSA_3072", "ENCRYPT_DECRYPT"),
        "RSA_4096/E": ("RSA_4096", "ENCRYPT_DECRYPT"),
        "RSA_2048/S": ("RSA_2048", "SIGN_VERIFY"),
        "ECC_NIST_P256/S": ("ECC_NIST_P256", "SIGN_VERIFY"),
        "ECC_NIST_P384/S": ("ECC_NIST_P384", "SIGN_VERIFY"),
        "ECC_NIST_P521/S": ("ECC_NIST_P521", "SIGN_VERIFY"),
        "ECC_SECG_P256K1/S": ("ECC_SECG_P256K1", "SIGN_VERIFY"),
        "HMAC_224": ("HMAC_224", "GENERATE_VERIFY_MAC"),
        "HMAC_256": ("HMAC_256", "GENERATE_VERIFY_MAC"),
        "HMAC_384": ("HMAC_384", "GENERATE_VERIFY_MAC"),
        "HMAC_512": ("HMAC_512", "GENERATE_VERIFY_MAC"),
    }
    out = {
        name: client.call("CreateKey", KeySpec=spec, KeyUsage=usage).key_metadata.key_id
        for name, (spec, usage) in specs.items()
    }
    out["SYMMETRIC"] = client.call("CreateKey").key_metadata.key_id
    return out


@pytest.fixture
def client(shared_kms: LocalKMS) -> TestClient:
    return make_client(shared_kms)


# --------------------------------------------------------------------------- symmetric


def test_ciphertext_decrypts_in_every_region_with_a_related_key_and_nowhere_else(
    east: TestClient, west: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey", MultiRegion=True).key_metadata.key_id
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    clock.advance(2)
    context = {"purpose": "test", "tenant": "t1"}
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"payload", EncryptionContext=context)
    assert blob.encryption_algorithm == "SYMMETRIC_DEFAULT"
    decrypted = west.call("Decrypt", CiphertextBlob=blob.ciphertext_blob, EncryptionContext=context)
    assert decrypted.plaintext == b"payload"
    assert decrypted.key_id == f"arn:aws:kms:eu-west-1:111122223333:key/{key_id}"
    assert (
        decrypted.key_material_id
        == west.call("DescribeKey", KeyId=key_id).key_metadata.current_key_material_id
    )
    back = west.call("Encrypt", KeyId=key_id, Plaintext=b"reply").ciphertext_blob
    assert east.call("Decrypt", CiphertextBlob=back, KeyId=key_id).plaintext == b"reply"
    nowhere = east.for_region("ap-south-1")
    with pytest.raises(InvalidCiphertextException):
        nowhere.call("Decrypt", CiphertextBlob=blob.ciphertext_blob, EncryptionContext=context)
    single = east.call("CreateKey").key_metadata.key_id
    single_blob = east.call("Encrypt", KeyId=single, Plaintext=b"x").ciphertext_blob
    with pytest.raises(InvalidCiphertextException):
        west.call("Decrypt", CiphertextBlob=single_blob)


def test_encryption_context_is_bound_and_tampering_is_detected(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    blob = east.call(
        "Encrypt", KeyId=key_id, Plaintext=b"p", EncryptionContext={"a": "1"}
    ).ciphertext_blob
    for context in (None, {"a": "2"}, {"a": "1", "b": "2"}):
        with pytest.raises(InvalidCiphertextException) as info:
            east.call(
                "Decrypt",
                CiphertextBlob=blob,
                **({"EncryptionContext": context} if context else {}),
            )
        assert info.value.message is None
    for index in (0, 5, len(blob) // 2, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises((InvalidCiphertextException, IncorrectKeyException)):
            east.call("Decrypt", CiphertextBlob=bytes(tampered), EncryptionContext={"a": "1"})
    with pytest.raises(InvalidCiphertextException):
        east.call("Decrypt", CiphertextBlob=b"not a ciphertext at all")


def test_decrypt_with_the_wrong_key_id_is_incorrect_key(east: TestClient) -> None:
    one = east.call("CreateKey").key_metadata.key_id
    two = east.call("CreateKey").key_metadata.key_id
    blob = east.call("Encrypt", KeyId=one, Plaintext=b"p").ciphertext_blob
    with pytest.raises(IncorrectKeyException) as info:
        east.call("Decrypt", CiphertextBlob=blob, KeyId=two)
    assert info.value.message == (
        "The key ID in the request does not identify a CMK that can perform this operation."
    )


def test_disabled_key_refuses_decrypt(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"p").ciphertext_blob
    east.call("DisableKey", KeyId=key_id)
    with pytest.raises(DisabledException, match=re.escape("is disabled.")):
        east.call("Decrypt", CiphertextBlob=blob)


def test_re_encrypt_between_keys(client: TestClient, keys: dict[str, str]) -> None:
    target = client.call("CreateKey").key_metadata
    blob = client.call(
        "Encrypt", KeyId=keys["SYMMETRIC"], Plaintext=b"move me", EncryptionContext={"x": "1"}
    ).ciphertext_blob
    moved = client.call(
        "ReEncrypt",
        CiphertextBlob=blob,
        SourceEncryptionContext={"x": "1"},
        DestinationKeyId=target.key_id,
        DestinationEncryptionContext={"y": "2"},
    )
    assert moved.source_key_id.endswith(keys["SYMMETRIC"])
    assert moved.key_id == target.arn
    assert (moved.source_encryption_algorithm, moved.destination_encryption_algorithm) == (
        "SYMMETRIC_DEFAULT",
        "SYMMETRIC_DEFAULT",
    )
    out = client.call("Decrypt", CiphertextBlob=moved.ciphertext_blob, EncryptionContext={"y": "2"})
    assert (out.plaintext, out.key_id) == (b"move me", target.arn)
    with pytest.raises(IncorrectKeyException):
        client.call(
            "ReEncrypt",
            CiphertextBlob=blob,
            SourceKeyId=target.key_id,
            DestinationKeyId=target.key_id,
            SourceEncryptionContext={"x": "1"},
        )
    rsa = client.call(
        "ReEncrypt",
        CiphertextBlob=blob,
        SourceEncryptionContext={"x": "1"},
        DestinationKeyId=keys["RSA_2048/E"],
        DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    back = client.call(
        "Decrypt",
        CiphertextBlob=rsa.ciphertext_blob,
        KeyId=keys["RSA_2048/E"],
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert back.plaintext == b"move me"


def test_data_keys(client: TestClient, keys: dict[str, str]) -> None:
    key_id = keys["SYMMETRIC"]
    generated = client.call(
        "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", EncryptionContext={"c": "1"}
    )
    assert len(generated.plaintext) == 32
    assert (
        client.call(
            "Decrypt", CiphertextBlob=generated.ciphertext_blob, EncryptionContext={"c": "1"}
        ).plaintext
        == generated.plaintext
    )
    assert len(client.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_128").plaintext) == 16
    assert len(client.call("GenerateDataKey", KeyId=key_id, NumberOfBytes=7).plaintext) == 7
    for members in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        with pytest.raises(
            ValidationException,
            match=re.escape("Please specify either number of bytes or key spec."),
        ):
            client.call("GenerateDataKey", KeyId=key_id, **members)
    without = client.call("GenerateDataKeyWithoutPlaintext", KeyId=key_id, KeySpec="AES_256")
    assert len(client.call("Decrypt", CiphertextBlob=without.ciphertext_blob).plaintext) == 32
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("key usage is SIGN_VERIFY which is not valid for GenerateDataKey."),
    ):
        client.call("GenerateDataKey", KeyId=keys["ECC_NIST_P256/S"], KeySpec="AES_256")
    with pytest.raises(InvalidKeyUsageException):
        client.call("GenerateDataKey", KeyId=keys["RSA_2048/E"], KeySpec="AES_256")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_data_key_pairs(client: TestClient, keys: dict[str, str], spec: str) -> None:
    pair = client.call(
        "GenerateDataKeyPair",
        KeyId=keys["SYMMETRIC"],
        KeyPairSpec=spec,
        EncryptionContext={"p": "q"},
    )
    private = serialization.load_der_private_key(pair.private_key_plaintext, None)
    public = serialization.load_der_public_key(pair.public_key)
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]
    assert pair.key_pair_spec == spec
    unwrapped = client.call(
        "Decrypt", CiphertextBlob=pair.private_key_ciphertext_blob, EncryptionContext={"p": "q"}
    )
    assert unwrapped.plaintext == pair.private_key_plaintext
    without = client.call(
        "GenerateDataKeyPairWithoutPlaintext", KeyId=keys["SYMMETRIC"], KeyPairSpec=spec
    )
    assert serialization.load_der_public_key(without.public_key)
    assert without.to_dict().get("PrivateKeyPlaintext") is None


def test_dry_run(client: TestClient, keys: dict[str, str]) -> None:
    message = "The request would have succeeded, but the DryRun option is set."
    with pytest.raises(DryRunOperationException, match=message):
        client.call("Encrypt", KeyId=keys["SYMMETRIC"], Plaintext=b"x", DryRun=True)
    with pytest.raises(DryRunOperationException):
        client.call(
            "GenerateDataKeyPair", KeyId=keys["SYMMETRIC"], KeyPairSpec="ECC_NIST_P256", DryRun=True
        )
    with pytest.raises(DryRunOperationException):
        client.call(
            "Sign",
            KeyId=keys["ECC_NIST_P256/S"],
            Message=b"m",
            SigningAlgorithm="ECDSA_SHA_256",
            DryRun=True,
        )


def test_generate_random(client: TestClient, vectors: Path) -> None:
    assert len(client.call("GenerateRandom", NumberOfBytes=1024).plaintext) == 1024
    recorded = json.loads(
        (vectors / "localstack-kms-snapshots" / "test_kms.snapshot.json").read_text()
    )
    prefix = (
        "tests/aws/services/kms/test_kms.py::TestKMS::test_generate_random_invalid_number_of_bytes"
    )
    for suffix, members in (
        ("[None]", {}),
        ("[0]", {"NumberOfBytes": 0}),
        ("[1025]", {"NumberOfBytes": 1025}),
    ):
        expected = recorded[prefix + suffix]["recorded-content"]["generate-random-exc"]["Error"]
        with pytest.raises(ValidationException) as info:
            client.call("GenerateRandom", **members)
        assert info.value.message == expected["Message"]


# --------------------------------------------------------------------------- RSA encryption


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encryption_limits_match_real_kms(
    client: TestClient, keys: dict[str, str], vectors: Path, spec: str, algorithm: str
) -> None:
    recorded = json.loads(
        (vectors / "localstack-kms-snapshots" / "test_kms.snapshot.json").read_text()
    )
    name = (
        "tests/aws/services/kms/test_kms.py::TestKMS::"
        f"test_encrypt_validate_plaintext_size_per_key_type[{spec}-{algorithm}]"
    )
    expected = recorded[name]["recorded-content"]["generate-random-exc"]["Error"]["Message"]
    limit = int(expected.rsplit("larger than ", 1)[1].split()[0])
    key_id = keys[f"{spec}/E"]
    blob = client.call(
        "Encrypt", KeyId=key_id, Plaintext=b"a" * limit, EncryptionAlgorithm=algorithm
    ).ciphertext_blob
    plain = client.call(
        "Decrypt", CiphertextBlob=blob, KeyId=key_id, EncryptionAlgorithm=algorithm
    ).plaintext
    assert plain == b"a" * limit
    with pytest.raises(ValidationException) as info:
        client.call(
            "Encrypt", KeyId=key_id, Plaintext=b"a" * (limit + 1), EncryptionAlgorithm=algorithm
        )
    assert info.value.message == expected


def test_rsa_encryption_errors(client: TestClient, keys: dict[str, str]) -> None:
    key_id = keys["RSA_2048/E"]
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."),
    ):
        client.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    blob = client.call(
        "Encrypt", KeyId=key_id, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1"
    ).ciphertext_blob
    with pytest.raises(InvalidCiphertextException):
        client.call(
            "Decrypt", CiphertextBlob=blob, KeyId=key_id, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
        )
    with pytest.raises(InvalidCiphertextException):
        client.call("Decrypt", CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("key usage is SIGN_VERIFY which is not valid for Encrypt."),
    ):
        client.call("Encrypt", KeyId=keys["RSA_2048/S"], Plaintext=b"x")


# --------------------------------------------------------------------------- signatures

SIGNING_CASES = [
    ("RSA_2048/S", algorithm)
    for algorithm in (
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    )
] + [
    ("ECC_NIST_P256/S", "ECDSA_SHA_256"),
    ("ECC_NIST_P384/S", "ECDSA_SHA_384"),
    ("ECC_NIST_P521/S", "ECDSA_SHA_512"),
    ("ECC_SECG_P256K1/S", "ECDSA_SHA_256"),
]


def _verify_locally(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    """Check a signature with the public key alone, as a relying party would."""
    public: Any = serialization.load_der_public_key(public_der)
    hash_algorithm = HASHES[algorithm[-7:]]
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(hash_algorithm))
    elif algorithm.startswith("RSASSA_PSS"):
        pss = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
        public.verify(signature, message, pss, hash_algorithm)
    else:
        public.verify(signature, message, padding.PKCS1v15(), hash_algorithm)


@pytest.mark.parametrize(("name", "algorithm"), SIGNING_CASES)
def test_sign_and_verify(
    client: TestClient, keys: dict[str, str], name: str, algorithm: str
) -> None:
    key_id = keys[name]
    message = b"sign me"
    signed = client.call("Sign", KeyId=key_id, Message=message, SigningAlgorithm=algorithm)
    assert signed.signing_algorithm == algorithm
    assert signed.key_id.endswith(key_id)
    public = client.call("GetPublicKey", KeyId=key_id)
    assert public.key_usage == "SIGN_VERIFY"
    assert algorithm in public.signing_algorithms
    _verify_locally(public.public_key, algorithm, message, signed.signature)
    verified = client.call(
        "Verify",
        KeyId=key_id,
        Message=message,
        Signature=signed.signature,
        SigningAlgorithm=algorithm,
    )
    assert verified.signature_valid is True
    with pytest.raises(KMSInvalidSignatureException):
        client.call(
            "Verify",
            KeyId=key_id,
            Message=b"other",
            Signature=signed.signature,
            SigningAlgorithm=algorithm,
        )
    digest = hashlib.new(algorithm[-7:].replace("_", "").lower(), message).digest()
    by_digest = client.call(
        "Sign", KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm
    )
    _verify_locally(public.public_key, algorithm, message, by_digest.signature)
    assert client.call(
        "Verify",
        KeyId=key_id,
        Message=message,
        Signature=by_digest.signature,
        SigningAlgorithm=algorithm,
    ).signature_valid
    with pytest.raises(
        ValidationException, match=re.escape(f"Digest is invalid length for algorithm {algorithm}.")
    ):
        client.call(
            "Sign",
            KeyId=key_id,
            Message=digest[:-1],
            MessageType="DIGEST",
            SigningAlgorithm=algorithm,
        )


def test_signing_errors(client: TestClient, keys: dict[str, str]) -> None:
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."),
    ):
        client.call(
            "Sign", KeyId=keys["ECC_NIST_P256/S"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384"
        )
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("key usage is GENERATE_VERIFY_MAC which is not valid for Sign."),
    ):
        client.call("Sign", KeyId=keys["HMAC_256"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("key usage is ENCRYPT_DECRYPT which is not valid for Verify."),
    ):
        client.call(
            "Verify",
            KeyId=keys["SYMMETRIC"],
            Message=b"m",
            Signature=b"s",
            SigningAlgorithm="ECDSA_SHA_256",
        )
    with pytest.raises(KMSInvalidSignatureException):
        client.call(
            "Verify",
            KeyId=keys["ECC_NIST_P256/S"],
            Message=b"m",
            Signature=b"garbage",
            SigningAlgorithm="ECDSA_SHA_256",
        )
    from kms_mrk.errors import UnsupportedOperationException

    with pytest.raises(UnsupportedOperationException):
        client.call("GetPublicKey", KeyId=keys["SYMMETRIC"])


def test_get_public_key_of_an_encryption_key(client: TestClient, keys: dict[str, str]) -> None:
    public = client.call("GetPublicKey", KeyId=keys["RSA_3072/E"])
    assert public.encryption_algorithms == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert public.signing_algorithms is None
    loaded: Any = serialization.load_der_public_key(public.public_key)
    assert loaded.key_size == 3072
    ciphertext = loaded.encrypt(
        b"offline",
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    plain = client.call(
        "Decrypt",
        CiphertextBlob=ciphertext,
        KeyId=keys["RSA_3072/E"],
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert plain.plaintext == b"offline"


# --------------------------------------------------------------------------- HMAC


@pytest.mark.parametrize("size", ["224", "256", "384", "512"])
def test_mac(client: TestClient, keys: dict[str, str], size: str) -> None:
    key_id = keys[f"HMAC_{size}"]
    algorithm = f"HMAC_SHA_{size}"
    mac = client.call("GenerateMac", KeyId=key_id, Message=b"data", MacAlgorithm=algorithm)
    assert len(mac.mac) == int(size) // 8
    assert (mac.mac_algorithm, mac.key_id.endswith(key_id)) == (algorithm, True)
    assert client.call(
        "VerifyMac", KeyId=key_id, Message=b"data", Mac=mac.mac, MacAlgorithm=algorithm
    ).mac_valid
    with pytest.raises(KMSInvalidMacException):
        client.call("VerifyMac", KeyId=key_id, Message=b"datA", Mac=mac.mac, MacAlgorithm=algorithm)
    other = "HMAC_SHA_256" if size != "256" else "HMAC_SHA_512"
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape(f"Algorithm {other} is incompatible with key spec HMAC_{size}."),
    ):
        client.call("GenerateMac", KeyId=key_id, Message=b"data", MacAlgorithm=other)
    with pytest.raises(
        InvalidKeyUsageException,
        match=re.escape("key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."),
    ):
        client.call("GenerateMac", KeyId=keys["SYMMETRIC"], Message=b"data", MacAlgorithm=algorithm)


def test_plaintext_is_never_quoted_in_errors(client: TestClient, keys: dict[str, str]) -> None:
    with pytest.raises(ValidationException) as info:
        client.call("Encrypt", KeyId=keys["SYMMETRIC"], Plaintext=b"s3cr3t" * 700)
    assert info.value.message == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096"
    )


def test_seeded_local_kms_is_reproducible() -> None:
    def run() -> tuple[str, bytes]:
        client = make_client(LocalKMS(clock=ManualClock(), seed=3))
        key_id = client.call("CreateKey").key_metadata.key_id
        return key_id, client.call("Encrypt", KeyId=key_id, Plaintext=b"same").ciphertext_blob

    assert run() == run()


# --------------------------------------------------------------------------- costly key generation


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every RSA or ECC private key the local KMS generates."""
    from kms_mrk.local import _crypto

    calls: list[str] = []
    original = _crypto.generate_private_key

    def recording(spec: str, random_bytes: Any = None) -> bytes:
        calls.append(spec)
        return original(spec, random_bytes)

    monkeypatch.setattr(_crypto, "generate_private_key", recording)
    return calls


def test_refused_requests_generate_no_key_pair(generated: list[str]) -> None:
    """Lookup, policy, key state and arguments are checked before any RSA key is generated."""
    from kms_mrk.errors import (
        AccessDeniedException,
        MalformedPolicyDocumentException,
        NotFoundException,
        TagException,
    )

    client = make_client(LocalKMS(clock=ManualClock()))
    missing = "0b7d2a43-6a0c-4b1e-9d0e-3f0f9f2e8c11"
    with pytest.raises(NotFoundException):
        client.call("GenerateDataKeyPair", KeyId=missing, KeyPairSpec="RSA_4096")
    locked = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": ["kms:PutKeyPolicy", "kms:DisableKey"],
                    "Resource": "*",
                }
            ]
        }
    )
    denied = client.call("CreateKey", Policy=locked).key_metadata.key_id
    with pytest.raises(AccessDeniedException):
        client.call("GenerateDataKeyPairWithoutPlaintext", KeyId=denied, KeyPairSpec="RSA_4096")
    disabled = client.call("CreateKey").key_metadata.key_id
    client.call("DisableKey", KeyId=disabled)
    with pytest.raises(DisabledException):
        client.call("GenerateDataKeyPair", KeyId=disabled, KeyPairSpec="RSA_4096")
    with pytest.raises(MalformedPolicyDocumentException):
        client.call("CreateKey", KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY", Policy="{nope")
    with pytest.raises(TagException):
        client.call(
            "CreateKey",
            KeySpec="RSA_4096",
            KeyUsage="SIGN_VERIFY",
            Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}],
        )
    assert generated == []


def test_accepted_requests_generate_one_key_pair_each(generated: list[str]) -> None:
    client = make_client(LocalKMS(clock=ManualClock()))
    symmetric = client.call("CreateKey").key_metadata.key_id
    pair = client.call("GenerateDataKeyPair", KeyId=symmetric, KeyPairSpec="RSA_2048")
    public = serialization.load_der_public_key(pair.public_key)
    assert public.key_size == 2048  # type: ignore[union-attr]
    signing = client.call("CreateKey", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY").key_metadata
    assert signing.key_spec == "RSA_2048"
    assert generated == ["RSA_2048", "RSA_2048"]
