"""Key agreement and key encapsulation: DeriveSharedSecret (ECDH), Encapsulate and Decapsulate
(ML-KEM); and the key specs CreateKey refuses before it looks further (SM2 outside the China
Regions, ML_KEM_512 without its package).

DeriveSharedSecret returns the raw ECDH shared secret, as KMS does (derive keys from it with a
KDF). A ``Recipient`` (a Nitro Enclaves attestation document) is refused: the local KMS has no
enclave to attest. See the `DeriveSharedSecret reference
<https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html>`__ and the
`Encapsulate reference
<https://docs.aws.amazon.com/kms/latest/APIReference/API_Encapsulate.html>`__.
"""

from __future__ import annotations

from kms_mrk.errors import (
    InvalidCiphertextException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import _crypto, _pq
from kms_mrk.local._handlers._common import check_dry_run, invalid_usage, text_of
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import ENCAPSULATE_DECAPSULATE, KEY_AGREEMENT, SM2_REGIONS
from kms_mrk.local._state import KeyRecord
from kms_mrk.models._enums import EncapsulationAlgorithmSpec, KeyAgreementAlgorithmSpec, OriginType
from kms_mrk.models._op_decapsulate import (
    DecapsulateCommand,
    DecapsulateRequest,
    DecapsulateResponse,
)
from kms_mrk.models._op_derive_shared_secret import (
    DeriveSharedSecretCommand,
    DeriveSharedSecretRequest,
    DeriveSharedSecretResponse,
)
from kms_mrk.models._op_encapsulate import (
    EncapsulateCommand,
    EncapsulateRequest,
    EncapsulateResponse,
)

__all__ = ["check_new_key_spec"]


def check_new_key_spec(ctx: Ctx, spec: str) -> None:
    """Refuse, before anything else, a key spec this Region or this installation cannot have."""
    if spec == "SM2":
        if ctx.region not in SM2_REGIONS:
            raise UnsupportedOperationException(
                f"KeySpec SM2 is available only in the China Regions "
                f"({', '.join(sorted(SM2_REGIONS))}), not in {ctx.region}."
            )
        raise UnsupportedOperationException(
            "KeySpec SM2 is not implemented by the kms-mrk local KMS (no SM2 implementation)"
        )
    if spec == "ML_KEM_512" and not _pq.mlkem512_available():
        raise UnsupportedOperationException(
            "KeySpec ML_KEM_512 needs the kyber-py package in the kms-mrk local KMS: "
            "pip install 'kms-mrk[local]'"
        )


@handler(DeriveSharedSecretCommand)
def derive_shared_secret(
    ctx: Ctx, request: DeriveSharedSecretRequest
) -> DeriveSharedSecretResponse:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.usage != KEY_AGREEMENT:
        raise invalid_usage(key, "DeriveSharedSecret")
    algorithm = text_of(request.key_agreement_algorithm)
    if algorithm != "ECDH":
        raise ValidationException(
            f"KeyAgreementAlgorithm {algorithm} is not valid; the only value is ECDH."
        )
    if request.recipient is not None:
        raise UnsupportedOperationException(
            "Recipient (a Nitro Enclaves attestation document) is not supported by the kms-mrk "
            "local KMS: call DeriveSharedSecret without it"
        )
    try:
        # checked before DryRun: a dry run with a bad public key fails as the real call would
        secret = _crypto.derive_shared_secret(shared.material, request.public_key)
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    check_dry_run(request.dry_run)
    ctx.used(key, "DeriveSharedSecret")
    return DeriveSharedSecretResponse(
        key_id=key.arn,
        shared_secret=secret,
        key_agreement_algorithm=KeyAgreementAlgorithmSpec.ECDH,
        key_origin=OriginType(shared.origin),
    )


def _kem_key(ctx: Ctx, key_id: str, algorithm: str | None, operation: str) -> KeyRecord:
    key = ctx.use(key_id)
    if key.shared.usage != ENCAPSULATE_DECAPSULATE:
        raise invalid_usage(key, operation)
    if algorithm != "ML_KEM":
        raise ValidationException(
            f"EncapsulationAlgorithm {algorithm} is not valid; the only value is ML_KEM."
        )
    return key


@handler(EncapsulateCommand)
def encapsulate(ctx: Ctx, request: EncapsulateRequest) -> EncapsulateResponse:
    key = _kem_key(ctx, request.key_id, text_of(request.encapsulation_algorithm), "Encapsulate")
    check_dry_run(request.dry_run)
    secret, ciphertext = _crypto.encapsulate(key.shared.material)
    ctx.used(key, "Encapsulate")
    return EncapsulateResponse(
        key_id=key.arn,
        shared_secret=secret,
        shared_secret_ciphertext_blob=ciphertext,
        encapsulation_algorithm=EncapsulationAlgorithmSpec.ML_KEM,
    )


@handler(DecapsulateCommand)
def decapsulate(ctx: Ctx, request: DecapsulateRequest) -> DecapsulateResponse:
    key = _kem_key(ctx, request.key_id, text_of(request.encapsulation_algorithm), "Decapsulate")
    check_dry_run(request.dry_run)
    try:
        secret = _crypto.decapsulate(key.shared.material, request.shared_secret_ciphertext_blob)
    except _crypto.CryptoError:
        raise InvalidCiphertextException(
            f"The ciphertext is not an {key.shared.spec} ciphertext "
            f"({_pq.MLKEM_SPECS[key.shared.spec][2]} bytes)."
        ) from None
    ctx.used(key, "Decapsulate")
    return DecapsulateResponse(
        key_id=key.arn,
        shared_secret=secret,
        encapsulation_algorithm=EncapsulationAlgorithmSpec.ML_KEM,
    )
