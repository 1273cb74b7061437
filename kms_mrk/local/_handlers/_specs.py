"""Key specs, key usages and the algorithms each key spec allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kms_mrk.models._enums import (
    DataKeyPairSpec,
    EncryptionAlgorithmSpec,
    KeySpec,
    KeyState,
    KeyUsageType,
    MacAlgorithmSpec,
    SigningAlgorithmSpec,
)

# --------------------------------------------------------------------------- key specs

SYMMETRIC: Final = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT: Final = "ENCRYPT_DECRYPT"
SIGN_VERIFY: Final = "SIGN_VERIFY"
GENERATE_VERIFY_MAC: Final = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT: Final = "KEY_AGREEMENT"
ENCAPSULATE_DECAPSULATE: Final = "ENCAPSULATE_DECAPSULATE"

_RSA_SIGNING: Final = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
_RSA_ENCRYPTION: Final = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")

#: key spec -> key usages it may have (the first is the default where one exists).
KEY_USAGES: Final[dict[str, tuple[str, ...]]] = {
    SYMMETRIC: (ENCRYPT_DECRYPT,),
    "RSA_2048": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_3072": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_4096": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "ECC_NIST_P256": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P384": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P521": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_SECG_P256K1": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_EDWARDS25519": (SIGN_VERIFY,),
    "ML_DSA_44": (SIGN_VERIFY,),
    "ML_DSA_65": (SIGN_VERIFY,),
    "ML_DSA_87": (SIGN_VERIFY,),
    "ML_KEM_512": (ENCAPSULATE_DECAPSULATE,),
    "ML_KEM_768": (ENCAPSULATE_DECAPSULATE,),
    "ML_KEM_1024": (ENCAPSULATE_DECAPSULATE,),
    "HMAC_224": (GENERATE_VERIFY_MAC,),
    "HMAC_256": (GENERATE_VERIFY_MAC,),
    "HMAC_384": (GENERATE_VERIFY_MAC,),
    "HMAC_512": (GENERATE_VERIFY_MAC,),
}
SIGNING_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "RSA_2048": _RSA_SIGNING,
    "RSA_3072": _RSA_SIGNING,
    "RSA_4096": _RSA_SIGNING,
    "ECC_NIST_P256": ("ECDSA_SHA_256",),
    "ECC_NIST_P384": ("ECDSA_SHA_384",),
    "ECC_NIST_P521": ("ECDSA_SHA_512",),
    "ECC_SECG_P256K1": ("ECDSA_SHA_256",),
    "ECC_NIST_EDWARDS25519": ("ED25519_SHA_512", "ED25519_PH_SHA_512"),
    "ML_DSA_44": ("ML_DSA_SHAKE_256",),
    "ML_DSA_65": ("ML_DSA_SHAKE_256",),
    "ML_DSA_87": ("ML_DSA_SHAKE_256",),
}
#: key specs of key-agreement keys (ECDH)
KEY_AGREEMENT_SPECS: Final = frozenset(
    ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1")
)
#: the Regions where SM2 keys exist (KMS offers them only in the China Regions)
SM2_REGIONS: Final = frozenset(("cn-north-1", "cn-northwest-1"))
ENCRYPTION_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    SYMMETRIC: (SYMMETRIC,),
    "RSA_2048": _RSA_ENCRYPTION,
    "RSA_3072": _RSA_ENCRYPTION,
    "RSA_4096": _RSA_ENCRYPTION,
}
MAC_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "HMAC_224": ("HMAC_SHA_224",),
    "HMAC_256": ("HMAC_SHA_256",),
    "HMAC_384": ("HMAC_SHA_384",),
    "HMAC_512": ("HMAC_SHA_512",),
}
DATA_KEY_PAIR_SPECS: Final = frozenset(
    ("RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
     "ECC_SECG_P256K1")
)  # fmt: skip


def _enum_lookup(enum: Any) -> Callable[[str], Any]:
    table = enum._value2member_map_
    return lambda value: table.get(value, value)


enum_key_state = _enum_lookup(KeyState)
enum_key_spec = _enum_lookup(KeySpec)
enum_key_usage = _enum_lookup(KeyUsageType)
enum_encryption = _enum_lookup(EncryptionAlgorithmSpec)
enum_signing = _enum_lookup(SigningAlgorithmSpec)
enum_mac = _enum_lookup(MacAlgorithmSpec)
enum_pair_spec = _enum_lookup(DataKeyPairSpec)
