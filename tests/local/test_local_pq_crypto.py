"""Unit tests of the newer key types' crypto (kms_mrk.local._pq and _crypto), each result
checked against an independent implementation (cryptography, kyber-py, RFC 8032's vector)."""

from __future__ import annotations

import hashlib
import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.local import _crypto, _pq


def _rng(seed: int):  # type: ignore[no-untyped-def]
    r = random.Random(seed)
    return lambda n: bytes(r.getrandbits(8) for _ in range(n))


def _spki(public) -> bytes:  # type: ignore[no-untyped-def]
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# ----------------------------------------------------------------------------- DER


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("ML_KEM_768", mlkem.MLKEM768PrivateKey), ("ML_KEM_1024", mlkem.MLKEM1024PrivateKey)],
)
def test_mlkem_private_and_public_der_match_cryptography(spec: str, cls: type) -> None:
    seed = bytes(range(64))
    der = _pq.mlkem_private_der(spec, seed)
    reference = cls.from_seed_bytes(seed)  # type: ignore[attr-defined]
    assert der == reference.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert _pq.mlkem_public_der(der) == _spki(reference.public_key())
    assert _pq.mlkem_spec_of(der) == (spec, seed)


def test_mlkem_spec_of_refuses_other_keys() -> None:
    with pytest.raises(ValueError, match="seed form"):
        _pq.mlkem_spec_of(b"\x30\x03\x02\x01\x00" + bytes(64))
    with pytest.raises(ValueError, match="64 bytes"):
        _pq.mlkem_private_der("ML_KEM_768", bytes(10))


# ----------------------------------------------------------------------------- ML-KEM


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("ML_KEM_768", mlkem.MLKEM768PublicKey), ("ML_KEM_1024", mlkem.MLKEM1024PublicKey)],
)
def test_mlkem_decapsulates_what_cryptography_encapsulates(spec: str, cls: type) -> None:
    material = _crypto.new_material(spec, _rng(1))
    assert material.kind == "mlkem"
    public = serialization.load_der_public_key(material.public_key_der())
    assert isinstance(public, cls)
    secret, ciphertext = public.encapsulate()  # type: ignore[attr-defined]
    assert _crypto.decapsulate(material, ciphertext) == secret
    ours, our_ct = _crypto.encapsulate(material)
    assert len(our_ct) == _pq.MLKEM_SPECS[spec][2]
    assert _crypto.decapsulate(material, our_ct) == ours
    with pytest.raises(_crypto.CryptoError, match="wrong size"):
        _crypto.decapsulate(material, ciphertext[:-1])


def test_mlkem_512_with_kyber_py() -> None:
    kyber = pytest.importorskip("kyber_py.ml_kem")
    material = _crypto.new_material("ML_KEM_512", _rng(2))
    der = material.public_key_der()
    oid = bytes.fromhex("0609608648016503040401")  # 2.16.840.1.101.3.4.4.1
    assert oid in der[:20]
    ek = der[-800:]
    secret, ciphertext = kyber.ML_KEM_512.encaps(ek)
    assert _crypto.decapsulate(material, ciphertext) == secret
    ours, our_ct = _crypto.encapsulate(material)
    assert len(our_ct) == 768 and _crypto.decapsulate(material, our_ct) == ours


@pytest.mark.parametrize("spec", ["ML_KEM_768", "ML_KEM_1024"])
def test_kyber_py_and_cryptography_derive_the_same_key(spec: str) -> None:
    kyber = pytest.importorskip("kyber_py.ml_kem")
    seed = bytes(range(64, 128))
    ek, _dk = getattr(kyber, spec).key_derive(seed)
    assert _pq.mlkem_public_raw(_pq.mlkem_private_der(spec, seed)) == ek


# ----------------------------------------------------------------------------- Ed25519


def test_ed25519ph_matches_rfc8032_vector() -> None:
    # RFC 8032 section 7.3, "TEST abc"
    secret = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
    expected = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    )
    digest = hashlib.sha512(b"abc").digest()
    assert _pq.ed25519ph_sign(secret, digest) == expected
    public = ed25519.Ed25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
    assert _pq.ed25519ph_verify(public, digest, expected)
    assert not _pq.ed25519ph_verify(public, hashlib.sha512(b"abd").digest(), expected)
    assert not _pq.ed25519ph_verify(public, digest, expected[:-1] + b"\x07")


@settings(max_examples=15, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), message=st.binary(max_size=200))
def test_pure_ed25519_arithmetic_matches_cryptography(secret: bytes, message: bytes) -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
    signature = _pq.eddsa_sign(secret, message)
    assert signature == key.sign(message)
    assert _pq.eddsa_verify(key.public_key().public_bytes_raw(), message, signature)


def test_ed25519_keys_sign_both_ways_and_verify_with_cryptography() -> None:
    material = _crypto.new_material("ECC_NIST_EDWARDS25519", _rng(3))
    public = serialization.load_der_public_key(material.public_key_der())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    raw = _crypto.sign_message(material, "ED25519_SHA_512", b"message", "RAW")
    public.verify(raw, b"message")
    assert _crypto.verify_message(material, "ED25519_SHA_512", b"message", raw, "RAW")
    assert not _crypto.verify_message(material, "ED25519_SHA_512", b"massage", raw, "RAW")
    digest = hashlib.sha512(b"message").digest()
    ph = _crypto.sign_message(material, "ED25519_PH_SHA_512", digest, "DIGEST")
    assert _pq.ed25519ph_verify(public.public_bytes_raw(), digest, ph)
    # RAW with the pre-hashed algorithm hashes the message first: the same signature
    assert _crypto.sign_message(material, "ED25519_PH_SHA_512", b"message", "RAW") == ph
    assert _crypto.verify_message(material, "ED25519_PH_SHA_512", digest, ph, "DIGEST")


# ----------------------------------------------------------------------------- ML-DSA


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("ML_DSA_44", mldsa.MLDSA44PublicKey),
        ("ML_DSA_65", mldsa.MLDSA65PublicKey),
        ("ML_DSA_87", mldsa.MLDSA87PublicKey),
    ],
)
def test_mldsa_signatures_verify_with_cryptography(spec: str, cls: type) -> None:
    material = _crypto.new_material(spec, _rng(4))
    public = serialization.load_der_public_key(material.public_key_der())
    assert isinstance(public, cls)
    signature = _crypto.sign_message(material, "ML_DSA_SHAKE_256", b"hello", "RAW")
    public.verify(signature, b"hello")  # type: ignore[attr-defined]
    mu_hasher = mldsa.MLDSAMuHasher(public)  # type: ignore[call-arg]
    mu_hasher.update(b"hello")
    mu = mu_hasher.finalize()
    assert len(mu) == 64
    by_mu = _crypto.sign_message(material, "ML_DSA_SHAKE_256", mu, "EXTERNAL_MU")
    public.verify(by_mu, b"hello")  # type: ignore[attr-defined]
    assert _crypto.verify_message(material, "ML_DSA_SHAKE_256", mu, signature, "EXTERNAL_MU")
    assert not _crypto.verify_message(material, "ML_DSA_SHAKE_256", b"hellO", signature, "RAW")


# ----------------------------------------------------------------------------- ECDH


@pytest.mark.parametrize(
    ("spec", "curve"),
    [
        ("ECC_NIST_P256", ec.SECP256R1()),
        ("ECC_NIST_P384", ec.SECP384R1()),
        ("ECC_NIST_P521", ec.SECP521R1()),
        ("ECC_SECG_P256K1", ec.SECP256K1()),
    ],
)
def test_ecdh_matches_the_peer_side(spec: str, curve: ec.EllipticCurve) -> None:
    material = _crypto.new_material(spec, _rng(5))
    peer = ec.generate_private_key(curve)
    secret = _crypto.derive_shared_secret(material, _spki(peer.public_key()))
    ours = serialization.load_der_public_key(material.public_key_der())
    assert isinstance(ours, ec.EllipticCurvePublicKey)
    assert secret == peer.exchange(ec.ECDH(), ours)


def test_ecdh_refuses_other_curves_and_garbage() -> None:
    material = _crypto.new_material("ECC_NIST_P256", _rng(6))
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="secp384r1"):
        _crypto.derive_shared_secret(material, _spki(other))
    with pytest.raises(ValueError, match="SubjectPublicKeyInfo"):
        _crypto.derive_shared_secret(material, b"\x30\x00")
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ValueError, match="elliptic curve"):
        _crypto.derive_shared_secret(material, _spki(ed))


def test_material_repr_hides_the_secret() -> None:
    material = _crypto.new_material("ML_KEM_768", _rng(7))
    assert material.secret.hex() not in repr(material)
    assert "***" in repr(material)
