"""Imported key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
expiry on the clock, and multi-Region keys with Origin=EXTERNAL. The material is wrapped here
with ``cryptography`` directly (RSAES-OAEP, and RSA-OAEP + AES key wrap with padding)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kms_mrk.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import LocalKMS, ManualClock
from tests.local._calls import TestClient, make_client

DAY = 86400.0


def wrap(public_der: bytes, algorithm: str, material: bytes) -> bytes:
    """Wrap ``material`` for KMS as its import documentation describes."""
    public = serialization.load_der_public_key(public_der)
    sha = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=sha), algorithm=sha, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)  # type: ignore[union-attr]
    aes_key = os.urandom(32)
    wrapped_key = public.encrypt(aes_key, oaep)  # type: ignore[union-attr]
    return bytes(wrapped_key) + aes_key_wrap_with_padding(aes_key, material)


def when(clock: ManualClock, seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now() + seconds, dt.timezone.utc)


def import_material(
    client: TestClient,
    key_id: str,
    material: bytes,
    algorithm: str = "RSAES_OAEP_SHA_256",
    **members: Any,
) -> Any:
    params = client.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm=algorithm,
        WrappingKeySpec="RSA_2048",
    )
    members.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return client.call(
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params.import_token,
        EncryptedKeyMaterial=wrap(params.public_key, algorithm, material),
        **members,
    )


def meta(client: TestClient, key_id: str) -> Any:
    return client.call("DescribeKey", KeyId=key_id).key_metadata


@pytest.mark.parametrize(
    "algorithm",
    [
        "RSAES_OAEP_SHA_1",
        "RSAES_OAEP_SHA_256",
        "RSA_AES_KEY_WRAP_SHA_1",
        "RSA_AES_KEY_WRAP_SHA_256",
    ],
)
def test_import_symmetric_material(east: TestClient, clock: ManualClock, algorithm: str) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    pending = meta(east, key_id)
    assert (str(pending.key_state), str(pending.origin)) == ("PendingImport", "EXTERNAL")
    assert pending.enabled is False and pending.current_key_material_id is None
    with pytest.raises(KMSInvalidStateException, match="is pending import"):
        east.call("Encrypt", KeyId=key_id, Plaintext=b"x")
    params = east.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm=algorithm,
        WrappingKeySpec="RSA_2048",
    )
    assert params.key_id.endswith(key_id)
    assert params.parameters_valid_to.timestamp() == clock.now() + DAY
    public = serialization.load_der_public_key(params.public_key)
    assert public.key_size == 2048  # type: ignore[union-attr]
    material = os.urandom(32)
    imported = east.call(
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params.import_token,
        EncryptedKeyMaterial=wrap(params.public_key, algorithm, material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    done = meta(east, key_id)
    assert str(done.key_state) == "Enabled" and done.enabled
    assert str(done.expiration_model) == "KEY_MATERIAL_DOES_NOT_EXPIRE" and done.valid_to is None
    assert done.current_key_material_id == imported.key_material_id
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"secret").ciphertext_blob
    assert east.call("Decrypt", CiphertextBlob=blob).plaintext == b"secret"


def test_material_expires_on_the_clock_and_the_same_material_comes_back(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    material = os.urandom(32)
    valid_to = when(clock, DAY)
    import_material(
        east, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to
    )
    described = meta(east, key_id)
    assert described.valid_to == valid_to
    assert str(described.expiration_model) == "KEY_MATERIAL_EXPIRES"
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    kms.advance(DAY - 1)
    assert str(meta(east, key_id).key_state) == "Enabled"
    kms.advance(1)
    assert str(meta(east, key_id).key_state) == "PendingImport"
    with pytest.raises(KMSInvalidStateException, match="is pending import"):
        east.call("Decrypt", CiphertextBlob=blob)
    with pytest.raises(IncorrectKeyMaterialException):
        import_material(east, key_id, os.urandom(32))
    import_material(east, key_id, material)
    assert east.call("Decrypt", CiphertextBlob=blob).plaintext == b"x"


def test_a_disabled_key_stays_disabled_across_expiry_and_reimport(
    kms: LocalKMS, east: TestClient, clock: ManualClock
) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    material = os.urandom(32)
    import_material(east, key_id, material)
    east.call("DisableKey", KeyId=key_id)
    east.call("DeleteImportedKeyMaterial", KeyId=key_id)
    assert str(meta(east, key_id).key_state) == "PendingImport"
    import_material(east, key_id, material)
    assert str(meta(east, key_id).key_state) == "Disabled"


def test_import_token_checks(kms: LocalKMS, east: TestClient, clock: ManualClock) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    other = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    ours = east.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    theirs = east.call(
        "GetParametersForImport",
        KeyId=other,
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    wrapped = wrap(ours.public_key, "RSAES_OAEP_SHA_256", os.urandom(32))
    common = {"KeyId": key_id, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    with pytest.raises(InvalidImportTokenException):
        east.call(
            "ImportKeyMaterial",
            ImportToken=theirs.import_token,
            EncryptedKeyMaterial=wrapped,
            **common,
        )
    with pytest.raises(InvalidCiphertextException):  # wrapped for another wrapping key
        east.call(
            "ImportKeyMaterial",
            ImportToken=ours.import_token,
            EncryptedKeyMaterial=wrap(theirs.public_key, "RSAES_OAEP_SHA_256", os.urandom(32)),
            **common,
        )
    with pytest.raises(IncorrectKeyMaterialException, match="32 bytes"):
        east.call(
            "ImportKeyMaterial",
            ImportToken=ours.import_token,
            EncryptedKeyMaterial=wrap(ours.public_key, "RSAES_OAEP_SHA_256", os.urandom(16)),
            **common,
        )
    kms.advance(DAY)
    with pytest.raises(ExpiredImportTokenException):
        east.call(
            "ImportKeyMaterial",
            ImportToken=ours.import_token,
            EncryptedKeyMaterial=wrapped,
            **common,
        )


def test_expiration_arguments(east: TestClient, clock: ManualClock) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    material = os.urandom(32)
    with pytest.raises(ValidationException, match="ValidTo is required"):
        import_material(east, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES")
    with pytest.raises(ValidationException, match="ValidTo is required"):  # the default model
        import_material(east, key_id, material, ExpirationModel=None)
    with pytest.raises(ValidationException, match="omitted"):
        import_material(east, key_id, material, ValidTo=when(clock, DAY))
    with pytest.raises(ValidationException, match="future"):
        import_material(
            east, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=when(clock, -1)
        )
    with pytest.raises(ValidationException, match="365 days"):
        import_material(
            east,
            key_id,
            material,
            ExpirationModel="KEY_MATERIAL_EXPIRES",
            ValidTo=when(clock, 366 * DAY),
        )
    assert str(meta(east, key_id).key_state) == "PendingImport"


def test_import_an_ecc_signing_key_wrapped_with_aes_key_wrap(east: TestClient) -> None:
    key_id = east.call(
        "CreateKey", Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    import_material(east, key_id, der, algorithm="RSA_AES_KEY_WRAP_SHA_256")
    signature = east.call(
        "Sign", KeyId=key_id, Message=b"hello", SigningAlgorithm="ECDSA_SHA_256"
    ).signature
    private.public_key().verify(signature, b"hello", ec.ECDSA(hashes.SHA256()))
    wrong_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    other = east.call(
        "CreateKey", Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
    ).key_metadata.key_id
    with pytest.raises(IncorrectKeyMaterialException, match="ECC_NIST_P256"):
        import_material(east, other, wrong_curve, algorithm="RSA_AES_KEY_WRAP_SHA_256")


def test_import_operations_need_an_external_key(east: TestClient) -> None:
    key_id = east.call("CreateKey").key_metadata.key_id
    with pytest.raises(UnsupportedOperationException, match="origin is AWS_KMS"):
        east.call(
            "GetParametersForImport",
            KeyId=key_id,
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
            WrappingKeySpec="RSA_2048",
        )
    with pytest.raises(UnsupportedOperationException, match="origin is AWS_KMS"):
        east.call("DeleteImportedKeyMaterial", KeyId=key_id)
    external = east.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    with pytest.raises(UnsupportedOperationException, match="RSAES_PKCS1_V1_5"):
        east.call(
            "GetParametersForImport",
            KeyId=external,
            WrappingAlgorithm="RSAES_PKCS1_V1_5",
            WrappingKeySpec="RSA_2048",
        )
    with pytest.raises(UnsupportedOperationException, match="origin is EXTERNAL"):
        east.call("EnableKeyRotation", KeyId=external)


def test_multi_region_external_keys_need_the_same_material_in_each_region(
    kms: LocalKMS, east: TestClient, west: TestClient
) -> None:
    key_id = east.call("CreateKey", Origin="EXTERNAL", MultiRegion=True).key_metadata.key_id
    material = os.urandom(32)
    import_material(east, key_id, material)
    blob = east.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    east.call("ReplicateKey", KeyId=key_id, ReplicaRegion="eu-west-1")
    assert str(meta(west, key_id).key_state) == "Creating"
    kms.advance(2)
    replica = meta(west, key_id)
    assert (str(replica.key_state), str(replica.origin)) == ("PendingImport", "EXTERNAL")
    with pytest.raises(IncorrectKeyMaterialException):
        import_material(west, key_id, os.urandom(32))
    imported = import_material(west, key_id, material)
    assert imported.key_material_id == meta(east, key_id).current_key_material_id
    assert west.call("Decrypt", CiphertextBlob=blob).plaintext == b"x"
    # each Region's import is its own
    west.call("DeleteImportedKeyMaterial", KeyId=key_id)
    assert str(meta(west, key_id).key_state) == "PendingImport"
    assert str(meta(east, key_id).key_state) == "Enabled"


def test_import_state_survives_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "state.json"
    kms = LocalKMS(clock=clock, state_file=path)
    client = make_client(kms)
    key_id = client.call("CreateKey", Origin="EXTERNAL").key_metadata.key_id
    params = client.call(
        "GetParametersForImport",
        KeyId=key_id,
        WrappingAlgorithm="RSAES_OAEP_SHA_256",
        WrappingKeySpec="RSA_2048",
    )
    kms.close()
    kms = LocalKMS(clock=clock, state_file=path)
    client = make_client(kms)
    client.call(  # the token issued before the restart still works
        "ImportKeyMaterial",
        KeyId=key_id,
        ImportToken=params.import_token,
        EncryptedKeyMaterial=wrap(params.public_key, "RSAES_OAEP_SHA_256", os.urandom(32)),
        ExpirationModel="KEY_MATERIAL_EXPIRES",
        ValidTo=when(clock, 2 * DAY),
    )
    blob = client.call("Encrypt", KeyId=key_id, Plaintext=b"x").ciphertext_blob
    kms.close()
    kms = LocalKMS(clock=clock, state_file=path)
    client = make_client(kms)
    assert client.call("Decrypt", CiphertextBlob=blob).plaintext == b"x"
    clock.advance(2 * DAY)
    assert str(meta(client, key_id).key_state) == "PendingImport"
    kms.close()
