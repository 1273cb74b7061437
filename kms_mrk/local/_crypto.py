"""Real cryptography for the local KMS, with the ``cryptography`` package loaded on first use.

Key material per key spec:

* ``SYMMETRIC_DEFAULT``: 32 random bytes, used with AES-256-GCM;
* ``HMAC_224/256/384/512``: 28/32/48/64 random bytes, used with HMAC-SHA-2;
* ``RSA_2048/3072/4096`` and ``ECC_NIST_P256/P384/P521``, ``ECC_SECG_P256K1``: a private key
  kept as PKCS#8 DER.

Symmetric ciphertext blob (format version 2, our own; real KMS's format is private)::

    0x02 | 0x4c ('L') | n | key id (n ASCII bytes) | key material id (32) | nonce (12)
         | AES-GCM ciphertext | tag (16)

The key material id names the material that made the blob, so that a blob made before a
rotation decrypts with the material it was made with. Version 1 blobs (without a material id,
written before rotation existed) still decrypt, with whichever of the key's materials opens
them.

The additional authenticated data is the header (everything before the nonce) followed by the
encryption context in a canonical form (sorted keys, compact JSON, UTF-8), so that changing
the key id, the context or any byte of the blob makes decryption fail. The blob names the key
id and not the Region: related multi-Region keys share the id and the material, so a blob
decrypts in any Region that holds one of them, as with real KMS.

Newer key types (see :mod:`kms_mrk.local._pq`): ``ECC_NIST_EDWARDS25519`` keys are PKCS#8
Ed25519 keys (pure Ed25519 for ``ED25519_SHA_512``, Ed25519ph for ``ED25519_PH_SHA_512``);
``ML_DSA_44/65/87`` keys are PKCS#8 ML-DSA keys (``ML_DSA_SHAKE_256``: pure ML-DSA with an empty
context on the message, or on an external mu); ``ML_KEM_512/768/1024`` keys are PKCS#8 seeds.
ECDH (DeriveSharedSecret) returns the raw shared secret, the x-coordinate of the shared point.

Key material made by automatic rotation is derived from the material it replaces and the
rotation date (HMAC-SHA-256), so that a rotation the clock makes is the same if it is made
again after a restart; on-demand rotation and new keys use fresh random material.

Imported key material arrives wrapped with a wrapping key from GetParametersForImport:
RSAES-OAEP (SHA-1 or SHA-256) of the material itself, or RSA_AES_KEY_WRAP: RSAES-OAEP of a
fresh 256-bit AES key followed by the material wrapped with that key by AES key wrap with
padding (RFC 5649).

RSA encryption is RSAES-OAEP with SHA-1 or SHA-256 (MGF1 with the same hash); its ciphertext
is the bare OAEP output. Signatures: RSASSA-PSS (salt length = digest length) and
RSASSA-PKCS1-v1_5 with SHA-256/384/512, and ECDSA (DER-encoded) with the hash the spec allows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from kms_mrk.local import _pq

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "CryptoError",
    "Material",
    "decapsulate",
    "decrypt_symmetric",
    "derive_shared_secret",
    "encapsulate",
    "encrypt_symmetric",
    "generate_data_key_pair",
    "key_id_of_blob",
    "mac",
    "new_material",
    "rsa_decrypt",
    "rsa_encrypt",
    "rsa_max_plaintext",
    "sign",
    "sign_message",
    "verify",
    "verify_message",
]

#: the kind of the placeholder material of a key waiting for imported material
NO_MATERIAL: Final = "none"
BLOB_VERSION: Final = 0x02
BLOB_VERSION_1: Final = 0x01
MATERIAL_ID_SIZE: Final = 32
BLOB_MARKER: Final = 0x4C
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16

HMAC_SIZES: Final[dict[str, int]] = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
HMAC_HASHES: Final[dict[str, str]] = {
    "HMAC_SHA_224": "sha224",
    "HMAC_SHA_256": "sha256",
    "HMAC_SHA_384": "sha384",
    "HMAC_SHA_512": "sha512",
}
RSA_SIZES: Final[dict[str, int]] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
ECC_CURVES: Final[dict[str, str]] = {
    "ECC_NIST_P256": "SECP256R1",
    "ECC_NIST_P384": "SECP384R1",
    "ECC_NIST_P521": "SECP521R1",
    "ECC_SECG_P256K1": "SECP256K1",
}
# signing algorithm -> (hash name, digest size)
SIGNING_HASHES: Final[dict[str, tuple[str, int]]] = {
    "RSASSA_PSS_SHA_256": ("SHA256", 32),
    "RSASSA_PSS_SHA_384": ("SHA384", 48),
    "RSASSA_PSS_SHA_512": ("SHA512", 64),
    "RSASSA_PKCS1_V1_5_SHA_256": ("SHA256", 32),
    "RSASSA_PKCS1_V1_5_SHA_384": ("SHA384", 48),
    "RSASSA_PKCS1_V1_5_SHA_512": ("SHA512", 64),
    "ECDSA_SHA_256": ("SHA256", 32),
    "ECDSA_SHA_384": ("SHA384", 48),
    "ECDSA_SHA_512": ("SHA512", 64),
}
ED25519: Final = "ECC_NIST_EDWARDS25519"
#: ML-DSA key spec -> the ``cryptography`` private key class name
MLDSA_CLASSES: Final[dict[str, str]] = {
    "ML_DSA_44": "MLDSA44PrivateKey",
    "ML_DSA_65": "MLDSA65PrivateKey",
    "ML_DSA_87": "MLDSA87PrivateKey",
}
MLKEM_SPECS: Final = _pq.MLKEM_SPECS
#: signing algorithms of the newer key types: algorithm -> DIGEST length (None: no DIGEST)
NEW_SIGNING: Final[dict[str, int | None]] = {
    "ED25519_SHA_512": None,
    "ED25519_PH_SHA_512": 64,
    "ML_DSA_SHAKE_256": None,
}
MU_SIZE: Final = 64
OAEP_HASH_SIZES: Final[dict[str, int]] = {"RSAES_OAEP_SHA_1": 20, "RSAES_OAEP_SHA_256": 32}


class CryptoError(Exception):
    """Decryption or parsing failed: the caller answers InvalidCiphertextException."""


_AVAILABLE = False


def require_cryptography() -> None:
    """ConfigurationError unless the ``cryptography`` package is installed.

    Called when a LocalKMS is made, so that a missing package is reported at start and not
    as an internal error on the first Encrypt. It looks the package up without importing it.
    """
    global _AVAILABLE
    if _AVAILABLE:
        return
    import importlib.util

    try:
        found = importlib.util.find_spec("cryptography") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        from kms_mrk.errors import ConfigurationError

        raise ConfigurationError(
            "the kms-mrk local KMS needs the cryptography package, which is not installed: "
            "pip install 'kms-mrk[local]'"
        )
    _AVAILABLE = True


def _crypto() -> Any:
    """The ``cryptography`` modules, imported on first use (they take tens of milliseconds)."""
    global _MODULES
    if _MODULES is None:
        from types import SimpleNamespace

        from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import (
            ec,
            ed25519,
            mldsa,
            padding,
            rsa,
            utils,
        )
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _MODULES = SimpleNamespace(
            InvalidSignature=InvalidSignature,
            InvalidTag=InvalidTag,
            UnsupportedAlgorithm=UnsupportedAlgorithm,
            hashes=hashes,
            serialization=serialization,
            ec=ec,
            ed25519=ed25519,
            mldsa=mldsa,
            padding=padding,
            rsa=rsa,
            utils=utils,
            AESGCM=AESGCM,
        )
    return _MODULES


_MODULES: Any = None


class Material:
    """The key material of one key (shared by related multi-Region keys).

    ``secret`` is the raw key for symmetric and HMAC keys and the PKCS#8 DER private key for
    RSA and ECC keys (and for Ed25519, ML-DSA and ML-KEM keys; ``kind`` is "ed25519",
    "mldsa" or "mlkem"). It never appears in a repr. Parsed key objects are cached.
    """

    __slots__ = ("_aead", "_private", "_public_der", "kind", "material_id", "secret")

    def __init__(self, kind: str, secret: bytes, material_id: str) -> None:
        self.kind = kind  # "symmetric", "hmac", "rsa" or "ecc"
        self.secret = secret
        self.material_id = material_id
        self._aead: Any = None
        self._private: Any = None
        self._public_der: bytes | None = None

    def __repr__(self) -> str:
        return f"Material(kind={self.kind!r}, material_id={self.material_id!r}, secret=***)"

    def aead(self) -> Any:
        if self._aead is None:
            self._aead = _crypto().AESGCM(self.secret)
        return self._aead

    def private_key(self) -> Any:
        if self._private is None:
            self._private = _crypto().serialization.load_der_private_key(self.secret, None)
        return self._private

    def public_key_der(self) -> bytes:
        """The public key as DER-encoded X.509 SubjectPublicKeyInfo."""
        if self._public_der is None and self.kind == "mlkem":
            self._public_der = _pq.mlkem_public_der(self.secret)
        if self._public_der is None:
            c = _crypto()
            self._public_der = (
                self.private_key()
                .public_key()
                .public_bytes(
                    c.serialization.Encoding.DER,
                    c.serialization.PublicFormat.SubjectPublicKeyInfo,
                )
            )
        return self._public_der


def _private_der(key: RSAPrivateKey | EllipticCurvePrivateKey | Any) -> bytes:
    c = _crypto()
    der: bytes = key.private_bytes(
        c.serialization.Encoding.DER,
        c.serialization.PrivateFormat.PKCS8,
        c.serialization.NoEncryption(),
    )
    return der


def generate_private_key(spec: str, random_bytes: Callable[[int], bytes] | None = None) -> bytes:
    """A new RSA or ECC private key for ``spec``, as PKCS#8 DER.

    ECC keys are derived from ``random_bytes`` when given (seeded, deterministic runs); RSA
    keys always come from the operating system's generator.
    """
    c = _crypto()
    if spec in RSA_SIZES:
        return _private_der(c.rsa.generate_private_key(65537, RSA_SIZES[spec]))
    curve = getattr(c.ec, ECC_CURVES[spec])()
    if random_bytes is None:
        return _private_der(c.ec.generate_private_key(curve))
    # A scalar in [1, 2**(bits-1)]: always below the group order of these curves.
    bits = {"SECP256R1": 256, "SECP384R1": 384, "SECP521R1": 521, "SECP256K1": 256}[
        ECC_CURVES[spec]
    ]
    scalar = int.from_bytes(random_bytes((bits + 7) // 8), "big") % (1 << (bits - 1)) + 1
    return _private_der(c.ec.derive_private_key(scalar, curve))


def new_material(spec: str, random_bytes: Callable[[int], bytes]) -> Material:
    """Fresh key material for a key of ``spec`` (a KeySpec value)."""
    material_id = random_bytes(32).hex()
    if spec == "SYMMETRIC_DEFAULT":
        return Material("symmetric", random_bytes(32), material_id)
    if spec in HMAC_SIZES:
        return Material("hmac", random_bytes(HMAC_SIZES[spec]), material_id)
    if spec in RSA_SIZES:
        return Material("rsa", generate_private_key(spec), material_id)
    if spec in ECC_CURVES:
        return Material("ecc", generate_private_key(spec, random_bytes), material_id)
    c = _crypto()
    if spec == ED25519:
        key = c.ed25519.Ed25519PrivateKey.from_private_bytes(random_bytes(32))
        return Material("ed25519", _private_der(key), material_id)
    if spec in MLDSA_CLASSES:
        key = getattr(c.mldsa, MLDSA_CLASSES[spec]).from_seed_bytes(random_bytes(32))
        return Material("mldsa", _private_der(key), material_id)
    if spec in MLKEM_SPECS:
        seed = random_bytes(_pq.MLKEM_SEED_SIZE)
        return Material("mlkem", _pq.mlkem_private_der(spec, seed), material_id)
    raise ValueError(f"no key material for key spec {spec!r}")


# ------------------------------------------------------------------------------ symmetric


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """The encryption context in the canonical form bound into ciphertexts."""
    if not context:
        return b""
    return json.dumps(
        dict(sorted(context.items())), separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _header(key_id: str, material_id: str) -> bytes:
    raw = key_id.encode("ascii")
    return bytes((BLOB_VERSION, BLOB_MARKER, len(raw))) + raw + bytes.fromhex(material_id)


def _header_end(blob: bytes) -> int:
    """Where the nonce of a (checked) blob starts."""
    end = 3 + blob[2]
    return end + MATERIAL_ID_SIZE if blob[0] == BLOB_VERSION else end


def encrypt_symmetric(
    material: Material,
    key_id: str,
    plaintext: bytes,
    context: Mapping[str, str] | None,
    nonce: bytes,
) -> bytes:
    """Encrypt with AES-256-GCM into a ciphertext blob naming ``key_id`` and the material."""
    header = _header(key_id, material.material_id)
    sealed: bytes = material.aead().encrypt(nonce, plaintext, header + canonical_context(context))
    return header + nonce + sealed


def key_id_of_blob(blob: bytes) -> str:
    """The key id a symmetric ciphertext blob names; CryptoError if it is not one of ours."""
    if len(blob) < 3 or blob[0] not in (BLOB_VERSION, BLOB_VERSION_1) or blob[1] != BLOB_MARKER:
        raise CryptoError("not a local KMS ciphertext blob")
    end = 3 + blob[2]
    if len(blob) < _header_end(blob) + NONCE_SIZE + TAG_SIZE:
        raise CryptoError("ciphertext blob is truncated")
    try:
        return blob[3:end].decode("ascii")
    except UnicodeDecodeError:
        raise CryptoError("ciphertext blob has a malformed key id") from None


def material_id_of_blob(blob: bytes) -> str | None:
    """The key material id a checked blob names (None for a version 1 blob)."""
    if blob[0] != BLOB_VERSION:
        return None
    start = 3 + blob[2]
    return blob[start : start + MATERIAL_ID_SIZE].hex()


def decrypt_symmetric(material: Material, blob: bytes, context: Mapping[str, str] | None) -> bytes:
    """Decrypt a blob made by :func:`encrypt_symmetric`; CryptoError on any mismatch."""
    end = _header_end(blob)
    header, nonce, sealed = blob[:end], blob[end : end + NONCE_SIZE], blob[end + NONCE_SIZE :]
    try:
        plaintext: bytes = material.aead().decrypt(
            nonce, sealed, header + canonical_context(context)
        )
    except _crypto().InvalidTag:
        raise CryptoError("authentication failed") from None
    return plaintext


# ------------------------------------------------------------------------------ rotation


def rotated_material(material: Material, when: float) -> Material:
    """The material automatic rotation at ``when`` puts in place of ``material``."""
    stamp = repr(float(when)).encode("ascii")
    secret = hmac.new(material.secret, b"kms-mrk automatic rotation " + stamp, "sha256").digest()
    material_id = hmac.new(secret, b"kms-mrk key material id", "sha256").hexdigest()
    return Material(material.kind, secret, material_id)


# ------------------------------------------------------------------------------ import

#: wrapping key spec -> RSA modulus bits
WRAPPING_KEY_SIZES: Final[dict[str, int]] = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
WRAPPING_ALGORITHMS: Final = (
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
)


def new_wrapping_key(spec: str) -> bytes:
    """A fresh RSA wrapping key for GetParametersForImport, as PKCS#8 DER."""
    return _private_der(_crypto().rsa.generate_private_key(65537, WRAPPING_KEY_SIZES[spec]))


def wrapping_public_key(private_der: bytes) -> bytes:
    """The public half of a wrapping key, as DER SubjectPublicKeyInfo."""
    return Material("rsa", private_der, "").public_key_der()


def unwrap_key_material(private_der: bytes, algorithm: str, wrapped: bytes) -> bytes:
    """The key material in ``wrapped``; CryptoError when it does not unwrap."""
    c = _crypto()
    private = Material("rsa", private_der, "").private_key()
    sha = c.hashes.SHA1() if algorithm.endswith("SHA_1") else c.hashes.SHA256()
    oaep = c.padding.OAEP(mgf=c.padding.MGF1(algorithm=sha), algorithm=sha, label=None)
    try:
        if algorithm.startswith("RSAES_OAEP"):
            out: bytes = private.decrypt(wrapped, oaep)
            return out
        size = private.key_size // 8
        if len(wrapped) <= size:
            raise CryptoError("the wrapped key material is too short")
        from cryptography.hazmat.primitives.keywrap import (
            InvalidUnwrap,
            aes_key_unwrap_with_padding,
        )

        aes_key = private.decrypt(wrapped[:size], oaep)
        try:
            material: bytes = aes_key_unwrap_with_padding(aes_key, wrapped[size:])
        except InvalidUnwrap:
            raise CryptoError("AES key unwrap failed") from None
        return material
    except ValueError:
        raise CryptoError("RSA decryption failed") from None


def imported_material(spec: str, raw: bytes) -> Material:
    """Key material for a key of ``spec`` from imported bytes; CryptoError if unusable.

    Symmetric keys take 32 bytes, HMAC keys as many bytes as the HMAC spec's key size range
    allows, RSA and ECC keys a PKCS#8 DER private key of that spec. The key material id is
    derived from the material (HMAC-SHA-256), so the same material imported in two Regions
    has the same id.
    """
    if spec == "SYMMETRIC_DEFAULT":
        if len(raw) != 32:
            raise CryptoError("symmetric key material is 256 bits (32 bytes)")
        kind = "symmetric"
    elif spec in HMAC_SIZES:
        if not HMAC_SIZES[spec] <= len(raw) <= 64:
            raise CryptoError(
                f"{spec} key material is {HMAC_SIZES[spec]} to 64 bytes, not {len(raw)}"
            )
        kind = "hmac"
    elif spec in RSA_SIZES or spec in ECC_CURVES:
        c = _crypto()
        try:
            private = c.serialization.load_der_private_key(raw, None)
        except (ValueError, TypeError):
            raise CryptoError("the key material is not a PKCS#8 DER private key") from None
        if spec in RSA_SIZES:
            ok = isinstance(private, c.rsa.RSAPrivateKey) and private.key_size == RSA_SIZES[spec]
        else:
            curve = getattr(c.ec, ECC_CURVES[spec])
            ok = isinstance(private, c.ec.EllipticCurvePrivateKey) and isinstance(
                private.curve, curve
            )
        if not ok:
            raise CryptoError(f"the key material is not a {spec} private key")
        kind = "rsa" if spec in RSA_SIZES else "ecc"
    else:
        raise CryptoError(f"key material of key spec {spec} cannot be imported")
    material_id = hmac.new(raw, b"kms-mrk key material id", "sha256").hexdigest()
    return Material(kind, raw, material_id)


# ------------------------------------------------------------------------------ RSA


def rsa_max_plaintext(spec: str, algorithm: str) -> int:
    """The largest plaintext RSAES-OAEP can take with this key size and hash."""
    return RSA_SIZES[spec] // 8 - 2 * OAEP_HASH_SIZES[algorithm] - 2


def _oaep(algorithm: str) -> Any:
    c = _crypto()
    algo = c.hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else c.hashes.SHA256()
    return c.padding.OAEP(mgf=c.padding.MGF1(algorithm=algo), algorithm=algo, label=None)


def rsa_encrypt(material: Material, algorithm: str, plaintext: bytes) -> bytes:
    out: bytes = material.private_key().public_key().encrypt(plaintext, _oaep(algorithm))
    return out


def rsa_decrypt(material: Material, algorithm: str, ciphertext: bytes) -> bytes:
    try:
        out: bytes = material.private_key().decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise CryptoError("RSA decryption failed") from None
    return out


# ------------------------------------------------------------------------------ signatures


def _sig_params(algorithm: str, digest: bool) -> tuple[Any, Any]:
    """(padding or None, hash algorithm object) for ``algorithm``."""
    c = _crypto()
    hash_name, _size = SIGNING_HASHES[algorithm]
    algo = getattr(c.hashes, hash_name)()
    chosen = c.utils.Prehashed(algo) if digest else algo
    if algorithm.startswith("RSASSA_PSS"):
        pad = c.padding.PSS(mgf=c.padding.MGF1(algo), salt_length=algo.digest_size)
        return pad, chosen
    if algorithm.startswith("RSASSA_PKCS1"):
        return c.padding.PKCS1v15(), chosen
    return None, chosen


def digest_size(algorithm: str) -> int:
    return SIGNING_HASHES[algorithm][1]


def sign(material: Material, algorithm: str, message: bytes, *, digest: bool) -> bytes:
    """Sign ``message`` (or the digest ``message`` when ``digest``)."""
    pad, algo = _sig_params(algorithm, digest)
    key = material.private_key()
    if pad is None:
        out: bytes = key.sign(message, _crypto().ec.ECDSA(algo))
    else:
        out = key.sign(message, pad, algo)
    return out


def verify(
    material: Material, algorithm: str, message: bytes, signature: bytes, *, digest: bool
) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` with this key."""
    c = _crypto()
    pad, algo = _sig_params(algorithm, digest)
    public = material.private_key().public_key()
    try:
        if pad is None:
            public.verify(signature, message, c.ec.ECDSA(algo))
        else:
            public.verify(signature, message, pad, algo)
    except (c.InvalidSignature, ValueError):
        return False
    return True


def _new_sign(material: Material, algorithm: str, message: bytes, message_type: str) -> bytes:
    key = material.private_key()
    if algorithm == "ML_DSA_SHAKE_256":
        out: bytes = key.sign_mu(message) if message_type == "EXTERNAL_MU" else key.sign(message)
        return out
    if algorithm == "ED25519_PH_SHA_512":
        digest = message if message_type == "DIGEST" else hashlib.sha512(message).digest()
        return _pq.ed25519ph_sign(key.private_bytes_raw(), digest)
    return bytes(key.sign(message))


def _new_verify(
    material: Material, algorithm: str, message: bytes, signature: bytes, message_type: str
) -> bool:
    c = _crypto()
    public = material.private_key().public_key()
    if algorithm == "ED25519_PH_SHA_512":
        digest = message if message_type == "DIGEST" else hashlib.sha512(message).digest()
        return _pq.ed25519ph_verify(public.public_bytes_raw(), digest, signature)
    try:
        if message_type == "EXTERNAL_MU":
            public.verify_mu(signature, message)
        else:
            public.verify(signature, message)
    except (c.InvalidSignature, ValueError):
        return False
    return True


def sign_message(material: Material, algorithm: str, message: bytes, message_type: str) -> bytes:
    """Sign ``message`` whose MessageType is ``message_type`` (RAW, DIGEST or EXTERNAL_MU).

    The caller has checked that the algorithm fits the key and the message type and length fit
    the algorithm.
    """
    if algorithm in NEW_SIGNING:
        return _new_sign(material, algorithm, message, message_type)
    return sign(material, algorithm, message, digest=message_type == "DIGEST")


def verify_message(
    material: Material, algorithm: str, message: bytes, signature: bytes, message_type: str
) -> bool:
    """Whether ``signature`` is valid for ``message`` (see :func:`sign_message`)."""
    if algorithm in NEW_SIGNING:
        return _new_verify(material, algorithm, message, signature, message_type)
    return verify(material, algorithm, message, signature, digest=message_type == "DIGEST")


# ------------------------------------------------------------------------------ key agreement


def derive_shared_secret(material: Material, peer_public_der: bytes) -> bytes:
    """The raw ECDH shared secret of this ECC key and a peer's DER SubjectPublicKeyInfo.

    ValueError (with a message safe to show) when the peer key is not a public key on this
    key's curve.
    """
    c = _crypto()
    try:
        peer = c.serialization.load_der_public_key(peer_public_der)
    except (ValueError, TypeError, c.UnsupportedAlgorithm):
        raise ValueError("PublicKey is not a DER-encoded SubjectPublicKeyInfo") from None
    private = material.private_key()
    if not isinstance(peer, c.ec.EllipticCurvePublicKey):
        raise ValueError("PublicKey is not an elliptic curve public key")
    if peer.curve.name != private.curve.name:
        raise ValueError(
            f"PublicKey is on curve {peer.curve.name}, not on the KMS key's curve "
            f"{private.curve.name}"
        )
    try:
        secret: bytes = private.exchange(c.ec.ECDH(), peer)
    except ValueError:
        raise ValueError("PublicKey is not a valid point for ECDH") from None
    return secret


def encapsulate(material: Material) -> tuple[bytes, bytes]:
    """ML-KEM: (shared secret, ciphertext) for this key."""
    return _pq.mlkem_encapsulate(material.secret)


def decapsulate(material: Material, ciphertext: bytes) -> bytes:
    """ML-KEM: the shared secret in ``ciphertext``; CryptoError if it has the wrong size."""
    try:
        return _pq.mlkem_decapsulate(material.secret, ciphertext)
    except ValueError:
        raise CryptoError("ciphertext has the wrong size for this key") from None


# ------------------------------------------------------------------------------ HMAC


def mac(material: Material, algorithm: str, message: bytes) -> bytes:
    return hmac.new(material.secret, message, getattr(hashlib, HMAC_HASHES[algorithm])).digest()


# ------------------------------------------------------------------------------ data key pairs


def generate_data_key_pair(spec: str) -> tuple[bytes, bytes]:
    """A new key pair for a DataKeyPairSpec: (PKCS#8 DER private key, DER public key)."""
    private_der = generate_private_key(spec)
    material = Material("pair", private_der, "")
    return private_der, material.public_key_der()
