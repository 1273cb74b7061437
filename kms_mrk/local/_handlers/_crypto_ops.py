"""Cryptographic operations: encryption, data keys, signing, MACs, random bytes."""

from __future__ import annotations

from kms_mrk.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import _crypto
from kms_mrk.local._handlers._common import (
    INCORRECT_KEY,
    check_dry_run,
    incompatible_algorithm,
    invalid_usage,
    require_symmetric,
    text_of,
    unsupported,
)
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import (
    DATA_KEY_PAIR_SPECS,
    ENCAPSULATE_DECAPSULATE,
    ENCRYPT_DECRYPT,
    ENCRYPTION_ALGORITHMS,
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    MAC_ALGORITHMS,
    SIGN_VERIFY,
    SIGNING_ALGORITHMS,
    SYMMETRIC,
    enum_encryption,
    enum_key_spec,
    enum_key_usage,
    enum_mac,
    enum_pair_spec,
    enum_signing,
)
from kms_mrk.local._state import KeyRecord
from kms_mrk.local._validate import validation_error
from kms_mrk.models._enums import EncapsulationAlgorithmSpec, KeyAgreementAlgorithmSpec
from kms_mrk.models._op_decrypt import DecryptCommand, DecryptRequest, DecryptResponse
from kms_mrk.models._op_encrypt import EncryptCommand, EncryptRequest, EncryptResponse
from kms_mrk.models._op_generate_data_key import (
    GenerateDataKeyCommand,
    GenerateDataKeyRequest,
    GenerateDataKeyResponse,
)
from kms_mrk.models._op_generate_data_key_pair import (
    GenerateDataKeyPairCommand,
    GenerateDataKeyPairRequest,
    GenerateDataKeyPairResponse,
)
from kms_mrk.models._op_generate_data_key_pair_without_plaintext import (
    GenerateDataKeyPairWithoutPlaintextCommand,
    GenerateDataKeyPairWithoutPlaintextRequest,
    GenerateDataKeyPairWithoutPlaintextResponse,
)
from kms_mrk.models._op_generate_data_key_without_plaintext import (
    GenerateDataKeyWithoutPlaintextCommand,
    GenerateDataKeyWithoutPlaintextRequest,
    GenerateDataKeyWithoutPlaintextResponse,
)
from kms_mrk.models._op_generate_mac import (
    GenerateMacCommand,
    GenerateMacRequest,
    GenerateMacResponse,
)
from kms_mrk.models._op_generate_random import (
    GenerateRandomCommand,
    GenerateRandomRequest,
    GenerateRandomResponse,
)
from kms_mrk.models._op_get_public_key import (
    GetPublicKeyCommand,
    GetPublicKeyRequest,
    GetPublicKeyResponse,
)
from kms_mrk.models._op_re_encrypt import ReEncryptCommand, ReEncryptRequest, ReEncryptResponse
from kms_mrk.models._op_sign import SignCommand, SignRequest, SignResponse
from kms_mrk.models._op_verify import VerifyCommand, VerifyRequest, VerifyResponse
from kms_mrk.models._op_verify_mac import VerifyMacCommand, VerifyMacRequest, VerifyMacResponse

# --------------------------------------------------------------------------- cryptography


def _encrypt_with(
    ctx: Ctx,
    key: KeyRecord,
    plaintext: bytes,
    context: dict[str, str] | None,
    algorithm: str,
    operation: str,
) -> bytes:
    shared = key.shared
    if shared.usage != ENCRYPT_DECRYPT:
        raise invalid_usage(key, operation)
    if algorithm not in ENCRYPTION_ALGORITHMS.get(shared.spec, ()):
        raise incompatible_algorithm(algorithm, shared.spec)
    if shared.spec == SYMMETRIC:
        return _crypto.encrypt_symmetric(
            shared.material, shared.key_id, plaintext, context, ctx.nonce()
        )
    if context:
        raise ValidationException("EncryptionContext is not supported with asymmetric KMS keys.")
    limit = _crypto.rsa_max_plaintext(shared.spec, algorithm)
    if len(plaintext) > limit:
        raise ValidationException(
            f"Algorithm {algorithm} and key spec {shared.spec} cannot encrypt data larger "
            f"than {limit} bytes."
        )
    return _crypto.rsa_encrypt(shared.material, algorithm, plaintext)


def _decrypt_with(
    ctx: Ctx,
    blob: bytes | None,
    key_id: str | None,
    context: dict[str, str] | None,
    algorithm: str,
    action: str,
    member: str,
    dry_run: bool | None,
) -> tuple[KeyRecord, bytes, str | None]:
    """Find the key for ``blob``, check it, and decrypt: (key, plaintext, key material id).

    ``ctx.encryption_context`` must be the request's encryption context (grant constraints).
    """
    if blob is None:
        raise validation_error(
            [f"Value null at '{member}' failed to satisfy constraint: Member must not be null"]
        )
    given = ctx.resolve(key_id, alias=True) if key_id is not None else None
    if algorithm == SYMMETRIC:
        try:
            blob_key_id = _crypto.key_id_of_blob(blob)
        except _crypto.CryptoError:
            raise InvalidCiphertextException() from None
        if given is not None:
            if given.key_id != blob_key_id:
                raise IncorrectKeyException(INCORRECT_KEY)
            key = given
        else:
            state = ctx.store.peek(ctx.account, ctx.region)
            found = None if state is None else state.keys.get(blob_key_id)
            if found is None:
                raise InvalidCiphertextException()
            key = found
        ctx.authorize(key, action)
        ctx.check_state(key)
        if key.shared.spec != SYMMETRIC:
            raise IncorrectKeyException(INCORRECT_KEY)
        check_dry_run(dry_run)
        return _decrypt_symmetric(key, blob, context)
    if given is None:
        raise InvalidCiphertextException()
    key = given
    ctx.authorize(key, action)
    ctx.check_state(key)
    if key.shared.usage != ENCRYPT_DECRYPT:
        raise IncorrectKeyException(INCORRECT_KEY)
    if algorithm not in ENCRYPTION_ALGORITHMS.get(key.shared.spec, ()):
        raise incompatible_algorithm(algorithm, key.shared.spec)
    check_dry_run(dry_run)
    try:
        return key, _crypto.rsa_decrypt(key.shared.material, algorithm, blob), None
    except _crypto.CryptoError:
        raise InvalidCiphertextException() from None


def _decrypt_symmetric(
    key: KeyRecord, blob: bytes, context: dict[str, str] | None
) -> tuple[KeyRecord, bytes, str | None]:
    """Decrypt with the key material that made ``blob`` (it names it; version 1 blobs do
    not, and are tried with each material of the key, oldest first)."""
    materials = key.shared.materials
    wanted = _crypto.material_id_of_blob(blob)
    if wanted is None:
        candidates = list(materials.values())
    else:
        found = materials.get(wanted)
        candidates = [] if found is None else [found]
    for material in candidates:
        try:
            return key, _crypto.decrypt_symmetric(material, blob, context), material.material_id
        except _crypto.CryptoError:
            continue
    raise InvalidCiphertextException()


def material_id_of(key: KeyRecord) -> str | None:
    return key.shared.material.material_id if key.shared.spec == SYMMETRIC else None


@handler(EncryptCommand)
def encrypt(ctx: Ctx, request: EncryptRequest) -> EncryptResponse:
    ctx.encryption_context = request.encryption_context
    key = ctx.use(request.key_id)
    algorithm = text_of(request.encryption_algorithm) or SYMMETRIC
    blob = _encrypt_with(
        ctx, key, request.plaintext, request.encryption_context, algorithm, "Encrypt"
    )
    check_dry_run(request.dry_run)
    ctx.used(key, "Encrypt")
    return EncryptResponse(
        ciphertext_blob=blob, key_id=key.arn, encryption_algorithm=enum_encryption(algorithm)
    )


@handler(DecryptCommand)
def decrypt(ctx: Ctx, request: DecryptRequest) -> DecryptResponse:
    if request.recipient is not None:
        raise unsupported("Decrypt with a Recipient (Nitro Enclaves)")
    algorithm = text_of(request.encryption_algorithm) or SYMMETRIC
    ctx.encryption_context = request.encryption_context
    key, plaintext, material_id = _decrypt_with(
        ctx,
        request.ciphertext_blob,
        request.key_id,
        request.encryption_context,
        algorithm,
        "kms:Decrypt",
        "ciphertextBlob",
        request.dry_run,
    )
    ctx.used(key, "Decrypt")
    return DecryptResponse(
        key_id=key.arn,
        plaintext=plaintext,
        encryption_algorithm=enum_encryption(algorithm),
        key_material_id=material_id,
    )


@handler(ReEncryptCommand)
def re_encrypt(ctx: Ctx, request: ReEncryptRequest) -> ReEncryptResponse:
    source_algorithm = text_of(request.source_encryption_algorithm) or SYMMETRIC
    destination_algorithm = text_of(request.destination_encryption_algorithm) or SYMMETRIC
    ctx.encryption_context = request.source_encryption_context
    source, plaintext, source_material = _decrypt_with(
        ctx,
        request.ciphertext_blob,
        request.source_key_id,
        request.source_encryption_context,
        source_algorithm,
        "kms:ReEncryptFrom",
        "ciphertextBlob",
        None,
    )
    ctx.encryption_context = request.destination_encryption_context
    destination = ctx.use(request.destination_key_id, action="kms:ReEncryptTo")
    blob = _encrypt_with(
        ctx,
        destination,
        plaintext,
        request.destination_encryption_context,
        destination_algorithm,
        "ReEncrypt",
    )
    check_dry_run(request.dry_run)
    ctx.used(source, "ReEncrypt")
    ctx.used(destination, "ReEncrypt")
    return ReEncryptResponse(
        ciphertext_blob=blob,
        source_key_id=source.arn,
        key_id=destination.arn,
        source_encryption_algorithm=enum_encryption(source_algorithm),
        destination_encryption_algorithm=enum_encryption(destination_algorithm),
        source_key_material_id=source_material,
        destination_key_material_id=material_id_of(destination),
    )


def _data_key_size(number_of_bytes: int | None, key_spec: str | None) -> int:
    if (number_of_bytes is None) == (key_spec is None):
        raise ValidationException("Please specify either number of bytes or key spec.")
    if number_of_bytes is not None:
        return number_of_bytes
    return 16 if key_spec == "AES_128" else 32


@handler(GenerateDataKeyCommand)
def generate_data_key(ctx: Ctx, request: GenerateDataKeyRequest) -> GenerateDataKeyResponse:
    if request.recipient is not None:
        raise unsupported("GenerateDataKey with a Recipient (Nitro Enclaves)")
    ctx.encryption_context = request.encryption_context
    key = ctx.use(request.key_id)
    require_symmetric(key, "GenerateDataKey")
    size = _data_key_size(request.number_of_bytes, text_of(request.key_spec))
    check_dry_run(request.dry_run)
    plaintext = ctx.settings.random_bytes(size)
    blob = _crypto.encrypt_symmetric(
        key.shared.material, key.key_id, plaintext, request.encryption_context, ctx.nonce()
    )
    ctx.used(key, "GenerateDataKey")
    return GenerateDataKeyResponse(
        ciphertext_blob=blob,
        plaintext=plaintext,
        key_id=key.arn,
        key_material_id=material_id_of(key),
    )


@handler(GenerateDataKeyWithoutPlaintextCommand)
def generate_data_key_without_plaintext(
    ctx: Ctx, request: GenerateDataKeyWithoutPlaintextRequest
) -> GenerateDataKeyWithoutPlaintextResponse:
    ctx.encryption_context = request.encryption_context
    key = ctx.use(request.key_id)
    require_symmetric(key, "GenerateDataKeyWithoutPlaintext")
    size = _data_key_size(request.number_of_bytes, text_of(request.key_spec))
    check_dry_run(request.dry_run)
    blob = _crypto.encrypt_symmetric(
        key.shared.material,
        key.key_id,
        ctx.settings.random_bytes(size),
        request.encryption_context,
        ctx.nonce(),
    )
    ctx.used(key, "GenerateDataKeyWithoutPlaintext")
    return GenerateDataKeyWithoutPlaintextResponse(
        ciphertext_blob=blob, key_id=key.arn, key_material_id=material_id_of(key)
    )


def _key_pair(
    ctx: Ctx,
    request: GenerateDataKeyPairRequest | GenerateDataKeyPairWithoutPlaintextRequest,
    operation: str,
) -> tuple[KeyRecord, bytes, bytes, bytes, str]:
    ctx.encryption_context = request.encryption_context
    key = ctx.use(request.key_id)
    require_symmetric(key, operation)
    spec = str(request.key_pair_spec)
    if spec not in DATA_KEY_PAIR_SPECS:
        raise unsupported(f"KeyPairSpec {spec}")
    check_dry_run(request.dry_run)
    private_der, public_der = ctx.costly(
        f"key pair {spec}", lambda: _crypto.generate_data_key_pair(spec)
    )
    blob = _crypto.encrypt_symmetric(
        key.shared.material, key.key_id, private_der, request.encryption_context, ctx.nonce()
    )
    ctx.used(key, operation)
    return key, blob, private_der, public_der, spec


@handler(GenerateDataKeyPairCommand)
def generate_data_key_pair(
    ctx: Ctx, request: GenerateDataKeyPairRequest
) -> GenerateDataKeyPairResponse:
    if request.recipient is not None:
        raise unsupported("GenerateDataKeyPair with a Recipient (Nitro Enclaves)")
    key, blob, private_der, public_der, spec = _key_pair(ctx, request, "GenerateDataKeyPair")
    return GenerateDataKeyPairResponse(
        private_key_ciphertext_blob=blob,
        private_key_plaintext=private_der,
        public_key=public_der,
        key_id=key.arn,
        key_pair_spec=enum_pair_spec(spec),
        key_material_id=material_id_of(key),
    )


@handler(GenerateDataKeyPairWithoutPlaintextCommand)
def generate_data_key_pair_without_plaintext(
    ctx: Ctx, request: GenerateDataKeyPairWithoutPlaintextRequest
) -> GenerateDataKeyPairWithoutPlaintextResponse:
    key, blob, _private, public_der, spec = _key_pair(
        ctx, request, "GenerateDataKeyPairWithoutPlaintext"
    )
    return GenerateDataKeyPairWithoutPlaintextResponse(
        private_key_ciphertext_blob=blob,
        public_key=public_der,
        key_id=key.arn,
        key_pair_spec=enum_pair_spec(spec),
        key_material_id=material_id_of(key),
    )


@handler(GenerateRandomCommand)
def generate_random(ctx: Ctx, request: GenerateRandomRequest) -> GenerateRandomResponse:
    if request.custom_key_store_id is not None:
        raise unsupported("GenerateRandom in a custom key store")
    if request.recipient is not None:
        raise unsupported("GenerateRandom with a Recipient (Nitro Enclaves)")
    if request.number_of_bytes is None:
        raise ValidationException("NumberOfBytes is required.")
    return GenerateRandomResponse(plaintext=ctx.settings.random_bytes(request.number_of_bytes))


def _message_type(algorithm: str, message_type: str, message: bytes, spec: str) -> None:
    """ValidationException unless ``message_type`` and the message length fit ``algorithm``.

    ML_DSA_SHAKE_256 takes RAW or EXTERNAL_MU (a 64-byte mu); ED25519_SHA_512 (pure Ed25519)
    takes RAW only; ED25519_PH_SHA_512 takes DIGEST (a SHA-512 digest) or RAW (hashed first);
    the older algorithms take RAW or DIGEST.
    """
    allowed: tuple[str, ...] = ("RAW", "DIGEST")
    if algorithm == "ML_DSA_SHAKE_256":
        allowed = ("RAW", "EXTERNAL_MU")
    elif algorithm == "ED25519_SHA_512":
        allowed = ("RAW",)
    if message_type not in allowed:
        raise ValidationException(
            f"MessageType {message_type} is not valid with key spec {spec} and signing "
            f"algorithm {algorithm}."
        )
    if message_type == "EXTERNAL_MU" and len(message) != _crypto.MU_SIZE:
        raise ValidationException(
            f"Message must be {_crypto.MU_SIZE} bytes long when MessageType is EXTERNAL_MU."
        )
    if message_type == "DIGEST":
        size = _crypto.NEW_SIGNING.get(algorithm) or _crypto.digest_size(algorithm)
        if len(message) != size:
            raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")


def _signing_key(
    ctx: Ctx, request: SignRequest | VerifyRequest, operation: str
) -> tuple[KeyRecord, str, str]:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.usage != SIGN_VERIFY:
        raise invalid_usage(key, operation)
    algorithm = str(request.signing_algorithm)
    if algorithm not in SIGNING_ALGORITHMS.get(shared.spec, ()):
        raise incompatible_algorithm(algorithm, shared.spec)
    message_type = text_of(request.message_type) or "RAW"
    _message_type(algorithm, message_type, request.message, shared.spec)
    check_dry_run(request.dry_run)
    return key, algorithm, message_type


@handler(SignCommand)
def sign(ctx: Ctx, request: SignRequest) -> SignResponse:
    key, algorithm, message_type = _signing_key(ctx, request, "Sign")
    signature = _crypto.sign_message(key.shared.material, algorithm, request.message, message_type)
    ctx.used(key, "Sign")
    return SignResponse(
        key_id=key.arn, signature=signature, signing_algorithm=enum_signing(algorithm)
    )


@handler(VerifyCommand)
def verify(ctx: Ctx, request: VerifyRequest) -> VerifyResponse:
    key, algorithm, message_type = _signing_key(ctx, request, "Verify")
    if not _crypto.verify_message(
        key.shared.material, algorithm, request.message, request.signature, message_type
    ):
        raise KMSInvalidSignatureException()
    ctx.used(key, "Verify")
    return VerifyResponse(
        key_id=key.arn, signature_valid=True, signing_algorithm=enum_signing(algorithm)
    )


@handler(GetPublicKeyCommand)
def get_public_key(ctx: Ctx, request: GetPublicKeyRequest) -> GetPublicKeyResponse:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.material.kind not in ("rsa", "ecc", "ed25519", "mldsa", "mlkem"):
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {shared.spec} which is not valid for GetPublicKey."
        )
    usage = shared.usage
    encryption = ENCRYPTION_ALGORITHMS.get(shared.spec) if usage == ENCRYPT_DECRYPT else None
    signing = SIGNING_ALGORITHMS.get(shared.spec) if usage == SIGN_VERIFY else None
    return GetPublicKeyResponse(
        key_id=key.arn,
        public_key=shared.material.public_key_der(),
        customer_master_key_spec=enum_key_spec(shared.spec),
        key_spec=enum_key_spec(shared.spec),
        key_usage=enum_key_usage(usage),
        encryption_algorithms=None
        if encryption is None
        else [enum_encryption(a) for a in encryption],
        signing_algorithms=None if signing is None else [enum_signing(a) for a in signing],
        key_agreement_algorithms=(
            [KeyAgreementAlgorithmSpec.ECDH] if usage == KEY_AGREEMENT else None
        ),
        encapsulation_algorithms=(
            [EncapsulationAlgorithmSpec.ML_KEM] if usage == ENCAPSULATE_DECAPSULATE else None
        ),
    )


def _mac_key(
    ctx: Ctx, request: GenerateMacRequest | VerifyMacRequest, operation: str
) -> tuple[KeyRecord, str]:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.usage != GENERATE_VERIFY_MAC:
        raise invalid_usage(key, operation)
    algorithm = str(request.mac_algorithm)
    if algorithm not in MAC_ALGORITHMS.get(shared.spec, ()):
        raise incompatible_algorithm(algorithm, shared.spec)
    check_dry_run(request.dry_run)
    return key, algorithm


@handler(GenerateMacCommand)
def generate_mac(ctx: Ctx, request: GenerateMacRequest) -> GenerateMacResponse:
    key, algorithm = _mac_key(ctx, request, "GenerateMac")
    mac = _crypto.mac(key.shared.material, algorithm, request.message)
    ctx.used(key, "GenerateMac")
    return GenerateMacResponse(
        mac=mac,
        mac_algorithm=enum_mac(algorithm),
        key_id=key.arn,
    )


@handler(VerifyMacCommand)
def verify_mac(ctx: Ctx, request: VerifyMacRequest) -> VerifyMacResponse:
    import hmac

    key, algorithm = _mac_key(ctx, request, "VerifyMac")
    expected = _crypto.mac(key.shared.material, algorithm, request.message)
    if not hmac.compare_digest(expected, request.mac):
        raise KMSInvalidMacException()
    ctx.used(key, "VerifyMac")
    return VerifyMacResponse(key_id=key.arn, mac_valid=True, mac_algorithm=enum_mac(algorithm))
