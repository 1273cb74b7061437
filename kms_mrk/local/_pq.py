"""Key types newer than RSA and ECDSA for the local KMS: ML-KEM, ML-DSA helpers and Ed25519ph.

* **ML-KEM** (FIPS 203; KMS key specs ``ML_KEM_512/768/1024``). The private key is kept as the
  PKCS#8 "seed" form of RFC 9935 (the 64-byte ``d || z`` seed under the parameter set's OID),
  written here by hand so that all three parameter sets share one format; the public key is the
  SubjectPublicKeyInfo KMS returns. ML-KEM-768 and ML-KEM-1024 run on ``cryptography``;
  ML-KEM-512, which ``cryptography`` does not offer, runs on the pure-Python ``kyber-py``
  package (a FIPS 203 implementation of every parameter set, installed with the ``local``
  extra). Both derive keys from the same seed, so a key's public key does not depend on which
  library serves it.
* **Ed25519ph** (RFC 8032 section 5.1, KMS signing algorithm ``ED25519_PH_SHA_512`` with
  ``MessageType=DIGEST``): ``cryptography`` signs pure Ed25519 only, so the pre-hashed variant
  is computed here with the curve arithmetic of RFC 8032's reference code (the tests check
  the arithmetic against ``cryptography``'s pure Ed25519 and against RFC 8032's test vector).
  It is not constant-time: the local KMS holds test keys, never production secrets.

Nothing here imports ``kms_mrk.local._crypto``; that module dispatches to this one.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from typing import Any, Final

__all__ = [
    "MLKEM_SPECS",
    "ed25519ph_sign",
    "ed25519ph_verify",
    "mlkem512_available",
    "mlkem_decapsulate",
    "mlkem_encapsulate",
    "mlkem_private_der",
    "mlkem_public_der",
    "mlkem_spec_of",
]

# --------------------------------------------------------------------------- DER


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _der_len(len(body)) + body


def _oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray((40 * parts[0] + parts[1],))
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body.extend(reversed(chunk))
    return _tlv(0x06, bytes(body))


def spki(oid: str, public_raw: bytes) -> bytes:
    """A SubjectPublicKeyInfo with an absent-parameters algorithm identifier."""
    return _tlv(0x30, _tlv(0x30, _oid(oid)) + _tlv(0x03, b"\x00" + public_raw))


def _pkcs8_seed(oid: str, seed: bytes) -> bytes:
    """A PKCS#8 OneAsymmetricKey holding only the seed (``[0] IMPLICIT OCTET STRING``)."""
    return _tlv(0x30, b"\x02\x01\x00" + _tlv(0x30, _oid(oid)) + _tlv(0x04, _tlv(0x80, seed)))


# --------------------------------------------------------------------------- ML-KEM

#: key spec -> (OID, encapsulation key size, ciphertext size)
MLKEM_SPECS: Final[dict[str, tuple[str, int, int]]] = {
    "ML_KEM_512": ("2.16.840.1.101.3.4.4.1", 800, 768),
    "ML_KEM_768": ("2.16.840.1.101.3.4.4.2", 1184, 1088),
    "ML_KEM_1024": ("2.16.840.1.101.3.4.4.3", 1568, 1568),
}
MLKEM_SEED_SIZE: Final = 64
_PREFIXES: Final[dict[bytes, str]] = {
    _pkcs8_seed(oid, bytes(MLKEM_SEED_SIZE))[:-MLKEM_SEED_SIZE]: spec
    for spec, (oid, _ek, _ct) in MLKEM_SPECS.items()
}


def mlkem512_available() -> bool:
    """Whether the package that serves ML-KEM-512 (``kyber-py``) is installed."""
    try:
        return importlib.util.find_spec("kyber_py") is not None
    except (ImportError, ValueError):  # pragma: no cover - broken installs
        return False


def mlkem_private_der(spec: str, seed: bytes) -> bytes:
    """The stored form of an ML-KEM private key made from a 64-byte seed."""
    if len(seed) != MLKEM_SEED_SIZE:
        raise ValueError("an ML-KEM seed is 64 bytes")
    return _pkcs8_seed(MLKEM_SPECS[spec][0], seed)


def mlkem_spec_of(private_der: bytes) -> tuple[str, bytes]:
    """(key spec, seed) of a key made by :func:`mlkem_private_der`; ValueError otherwise."""
    spec = _PREFIXES.get(private_der[:-MLKEM_SEED_SIZE])
    if spec is None or len(private_der) <= MLKEM_SEED_SIZE:
        raise ValueError("not an ML-KEM private key in seed form")
    return spec, private_der[-MLKEM_SEED_SIZE:]


def _kyber(spec: str) -> Any:
    # Imported by name: kyber-py ships no type information.
    module = importlib.import_module("kyber_py.ml_kem")
    return getattr(module, spec)


def _cryptography_key(spec: str, seed: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric import mlkem

    cls = mlkem.MLKEM768PrivateKey if spec == "ML_KEM_768" else mlkem.MLKEM1024PrivateKey
    return cls.from_seed_bytes(seed)


def mlkem_public_raw(private_der: bytes) -> bytes:
    """The encapsulation key (FIPS 203 byte encoding)."""
    spec, seed = mlkem_spec_of(private_der)
    if spec == "ML_KEM_512":
        ek, _dk = _kyber(spec).key_derive(seed)
        return bytes(ek)
    raw: bytes = _cryptography_key(spec, seed).public_key().public_bytes_raw()
    return raw


def mlkem_public_der(private_der: bytes) -> bytes:
    """The public key as DER SubjectPublicKeyInfo."""
    spec, _seed = mlkem_spec_of(private_der)
    return spki(MLKEM_SPECS[spec][0], mlkem_public_raw(private_der))


def mlkem_encapsulate(private_der: bytes) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) for the key's public key."""
    spec, seed = mlkem_spec_of(private_der)
    if spec == "ML_KEM_512":
        kem = _kyber(spec)
        ek, _dk = kem.key_derive(seed)
        shared, ciphertext = kem.encaps(ek)
        return bytes(shared), bytes(ciphertext)
    secret, ct = _cryptography_key(spec, seed).public_key().encapsulate()
    return bytes(secret), bytes(ct)


def mlkem_decapsulate(private_der: bytes, ciphertext: bytes) -> bytes:
    """The shared secret in ``ciphertext``; ValueError if it is not the parameter set's size.

    A ciphertext of the right size always yields a secret (FIPS 203's implicit rejection):
    a tampered one gives a secret unrelated to the encapsulated one.
    """
    spec, seed = mlkem_spec_of(private_der)
    if len(ciphertext) != MLKEM_SPECS[spec][2]:
        raise ValueError(f"an {spec} ciphertext is {MLKEM_SPECS[spec][2]} bytes")
    if spec == "ML_KEM_512":
        kem = _kyber(spec)
        _ek, dk = kem.key_derive(seed)
        return bytes(kem.decaps(dk, ciphertext))
    return bytes(_cryptography_key(spec, seed).decapsulate(ciphertext))


# --------------------------------------------------------------------------- Ed25519(ph)

_P: Final = 2**255 - 19
_Q: Final = 2**252 + 27742317777372353535851937790883648493
_D: Final = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1: Final = pow(2, (_P - 1) // 4, _P)
#: dom2(phflag=1, context="") of RFC 8032 section 5.1
_DOM2_PH: Final = b"SigEd25519 no Ed25519 collisions\x01\x00"

_Point = tuple[int, int, int, int]  # extended homogeneous coordinates (X, Y, Z, T)


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _equal(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY: Final = 4 * pow(5, _P - 2, _P) % _P
_GX: Final = _recover_x(_GY, 0) or 0
_G: Final[_Point] = (_GX, _GY, 1, _GX * _GY % _P)


def _compress(point: _Point) -> bytes:
    zinv = pow(point[2], _P - 2, _P)
    x, y = point[0] * zinv % _P, point[1] * zinv % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decompress(raw: bytes) -> _Point | None:
    if len(raw) != 32:
        return None
    y = int.from_bytes(raw, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _sha512_int(data: bytes) -> int:
    return int.from_bytes(hashlib.sha512(data).digest(), "little")


def _expand(private_raw: bytes) -> tuple[int, bytes]:
    h = hashlib.sha512(private_raw).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def eddsa_sign(private_raw: bytes, message: bytes, dom: bytes = b"") -> bytes:
    """An RFC 8032 Ed25519 signature; ``dom`` is the dom2 prefix (empty for pure Ed25519)."""
    if len(private_raw) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes")
    a, prefix = _expand(private_raw)
    public = _compress(_mul(a, _G))
    r = _sha512_int(dom + prefix + message) % _Q
    big_r = _compress(_mul(r, _G))
    k = _sha512_int(dom + big_r + public + message) % _Q
    s = (r + k * a) % _Q
    return big_r + s.to_bytes(32, "little")


def eddsa_verify(public_raw: bytes, message: bytes, signature: bytes, dom: bytes = b"") -> bool:
    """Whether ``signature`` is an RFC 8032 signature of ``message`` under ``public_raw``."""
    if len(signature) != 64:
        return False
    point_a = _decompress(public_raw)
    point_r = _decompress(signature[:32])
    if point_a is None or point_r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _Q:
        return False
    k = _sha512_int(dom + signature[:32] + public_raw + message) % _Q
    return _equal(_mul(s, _G), _add(point_r, _mul(k, point_a)))


def ed25519ph_sign(private_raw: bytes, digest: bytes) -> bytes:
    """Ed25519ph of a message whose SHA-512 digest is ``digest`` (empty context)."""
    if len(digest) != 64:
        raise ValueError("Ed25519ph signs a 64-byte SHA-512 digest")
    return eddsa_sign(private_raw, digest, _DOM2_PH)


def ed25519ph_verify(public_raw: bytes, digest: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is an Ed25519ph signature of the message digest ``digest``."""
    return len(digest) == 64 and eddsa_verify(public_raw, digest, signature, _DOM2_PH)
