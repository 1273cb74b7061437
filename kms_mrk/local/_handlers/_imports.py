"""Imported key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

A key created with ``Origin=EXTERNAL`` has no key material and is ``PendingImport`` until
material is imported. GetParametersForImport hands out an RSA wrapping key (RSA_2048/3072/4096)
and an import token valid for 24 hours on the clock; ImportKeyMaterial takes the material
wrapped with that key (RSAES_OAEP_SHA_1/256, or RSA_AES_KEY_WRAP_SHA_1/256 for material
longer than OAEP can carry) together with the token of the same response, and sets whether
and when (``ExpirationModel``, ``ValidTo``) the material expires. When it expires, or after
DeleteImportedKeyMaterial, the key is ``PendingImport`` again until the same material is
imported again; different material is ``IncorrectKeyMaterialException``.

Import state is per Region: each key of an ``EXTERNAL`` multi-Region key starts without
material and needs the same material imported into it (the material, once imported
anywhere, is shared; its key material id is derived from it). See
https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html.

Not modeled: importing new key material into a key that has some (``ImportType``
``NEW_KEY_MATERIAL``, on-demand rotation of imported keys), and the SM2 wrapping key spec
(China Regions).
"""

from __future__ import annotations

import datetime as _dt
from typing import Final

from kms_mrk.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import _crypto
from kms_mrk.local._handlers._common import as_datetime, text_of, unsupported
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._state import DAY, EXTERNAL, ImportParameters, KeyRecord
from kms_mrk.models._op_delete_imported_key_material import (
    DeleteImportedKeyMaterialCommand,
    DeleteImportedKeyMaterialRequest,
    DeleteImportedKeyMaterialResponse,
)
from kms_mrk.models._op_get_parameters_for_import import (
    GetParametersForImportCommand,
    GetParametersForImportRequest,
    GetParametersForImportResponse,
)
from kms_mrk.models._op_import_key_material import (
    ImportKeyMaterialCommand,
    ImportKeyMaterialRequest,
    ImportKeyMaterialResponse,
)

#: how long an import token and its wrapping key stay usable
TOKEN_LIFETIME: Final = DAY
#: the latest ValidTo ImportKeyMaterial accepts, from the request time
MAX_VALID_FOR: Final = 365 * DAY
_TOKEN_PREFIX: Final = b"kms-mrk import token\x01"
EXPIRES: Final = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE: Final = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def _external(key: KeyRecord, operation: str) -> None:
    if key.shared.origin != EXTERNAL:
        raise UnsupportedOperationException(
            f"{key.arn} origin is {key.shared.origin} which is not valid for {operation}."
        )


@handler(GetParametersForImportCommand, mutating=True)
def get_parameters_for_import(
    ctx: Ctx, request: GetParametersForImportRequest
) -> GetParametersForImportResponse:
    """`GetParametersForImport
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html>`__;
    each call replaces the key's earlier parameters (only the latest token is accepted)."""
    key = ctx.use(request.key_id, alias=False)
    _external(key, "GetParametersForImport")
    algorithm = str(request.wrapping_algorithm)
    if algorithm not in _crypto.WRAPPING_ALGORITHMS:
        raise unsupported(f"WrappingAlgorithm {algorithm}")
    spec = str(request.wrapping_key_spec)
    if spec not in _crypto.WRAPPING_KEY_SIZES:
        raise unsupported(f"WrappingKeySpec {spec} outside the China Regions")
    private_der = ctx.costly(f"wrapping key {spec}", lambda: _crypto.new_wrapping_key(spec))
    token = _TOKEN_PREFIX + ctx.settings.random_bytes(32)
    expires = ctx.now + TOKEN_LIFETIME
    key.import_parameters = ImportParameters(
        token=token, private_der=private_der, algorithm=algorithm, spec=spec, expires=expires
    )
    ctx.store.changed()
    return GetParametersForImportResponse(
        key_id=key.arn,
        import_token=token,
        public_key=_crypto.wrapping_public_key(private_der),
        parameters_valid_to=as_datetime(expires),
    )


def _expiry(ctx: Ctx, request: ImportKeyMaterialRequest) -> tuple[str, float | None]:
    model = text_of(request.expiration_model) or EXPIRES
    valid_to = request.valid_to
    if model == DOES_NOT_EXPIRE:
        if valid_to is not None:
            raise ValidationException(
                "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
            )
        return model, None
    if valid_to is None:
        raise ValidationException(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES (the default)."
        )
    when = valid_to.replace(tzinfo=valid_to.tzinfo or _dt.timezone.utc).timestamp()
    if when <= ctx.now:
        raise ValidationException("ValidTo must be in the future.")
    if when > ctx.now + MAX_VALID_FOR:
        raise ValidationException("ValidTo must be at most 365 days after the request.")
    return model, when


@handler(ImportKeyMaterialCommand, mutating=True)
def import_key_material(ctx: Ctx, request: ImportKeyMaterialRequest) -> ImportKeyMaterialResponse:
    """`ImportKeyMaterial
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html>`__"""
    key = ctx.use(request.key_id, alias=False)
    _external(key, "ImportKeyMaterial")
    shared = key.shared
    has_material = shared.material.kind != _crypto.NO_MATERIAL
    if text_of(request.import_type) == "NEW_KEY_MATERIAL" and has_material:
        raise unsupported("Importing new key material into a key that has key material")
    params = key.import_parameters
    if params is None or params.token != request.import_token:
        raise InvalidImportTokenException(
            f"The import token is not one GetParametersForImport issued for {key.arn}, or "
            "not its latest one."
        )
    if ctx.now >= params.expires:
        raise ExpiredImportTokenException(
            f"The import token for {key.arn} expired; call GetParametersForImport again."
        )
    model, valid_to = _expiry(ctx, request)
    try:
        raw = _crypto.unwrap_key_material(
            params.private_der, params.algorithm, request.encrypted_key_material
        )
    except _crypto.CryptoError:
        raise InvalidCiphertextException(
            "The key material could not be unwrapped with the wrapping key and algorithm of "
            "the import token."
        ) from None
    try:
        material = _crypto.imported_material(shared.spec, raw)
    except _crypto.CryptoError as exc:
        raise IncorrectKeyMaterialException(f"The key material is not valid: {exc}.") from None
    if has_material and material.material_id != shared.material.material_id:
        raise IncorrectKeyMaterialException(
            f"The key material is not the key material of {key.arn}: a key (and every key of "
            "a multi-Region key) takes only the material first imported into it."
        )
    if request.key_material_id is not None and request.key_material_id != material.material_id:
        raise IncorrectKeyMaterialException(
            f"The key material does not have the key material id {request.key_material_id}."
        )
    if not has_material:
        shared.material = material
        shared.materials[material.material_id] = material
        shared.config_cache = None
    key.imported = True
    key.imported_at = ctx.now
    key.valid_to = valid_to
    key.expiration_model = model
    if valid_to is not None:
        ctx.store.schedule(valid_to)
    ctx.store.changed()
    return ImportKeyMaterialResponse(key_id=key.arn, key_material_id=material.material_id)


@handler(DeleteImportedKeyMaterialCommand, mutating=True)
def delete_imported_key_material(
    ctx: Ctx, request: DeleteImportedKeyMaterialRequest
) -> DeleteImportedKeyMaterialResponse:
    """`DeleteImportedKeyMaterial
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html>`__:
    this Region's key goes to PendingImport; the other keys of a multi-Region key keep theirs."""
    key = ctx.use(request.key_id, alias=False)
    _external(key, "DeleteImportedKeyMaterial")
    current = key.shared.material.material_id or None
    if request.key_material_id is not None and request.key_material_id != current:
        raise NotFoundException(
            f"{key.arn} has no key material with the id {request.key_material_id}."
        )
    key.imported = False
    key.imported_at = None
    key.valid_to = None
    key.expiration_model = None
    ctx.store.changed()
    return DeleteImportedKeyMaterialResponse(key_id=key.arn, key_material_id=current)
