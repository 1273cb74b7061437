"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant belongs to one key in one Region (a replica does not inherit its primary's grants)
and lets its grantee principal call its operations on that key, checked by the same
authorizer as the key policy (:meth:`Ctx.authorize`): an explicit Deny in the key policy
still wins. Grants take effect at once and revoking or retiring one takes effect at once
(KMS is eventually consistent here; the local KMS is not, so grant tokens are checked for
their form and never needed). See
https://docs.aws.amazon.com/kms/latest/developerguide/grants.html and the API reference pages
linked from each handler.

Choices where the documentation leaves room (recorded in docs/local-kms.md): grant ids are 64
lowercase hex digits and tokens start ``AQpA`` as KMS's do; a malformed grant id is
``InvalidGrantIdException`` and an unknown one ``NotFoundException``; a grant may only name
operations the key supports (``ValidationException`` otherwise) and encryption-context
constraints only on symmetric encryption keys; a grant that allows CreateGrant lets its
grantee create any grant (KMS limits such grants to the parent's operations and constraints).
"""

from __future__ import annotations

import re
from typing import Final

from kms_mrk.errors import (
    AccessDeniedException,
    InvalidGrantIdException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from kms_mrk.local._handlers._common import (
    as_datetime,
    check_dry_run,
    grant_token,
    is_grant_id,
    page_limit,
    page_of,
    parse_grant_token,
    unsupported,
)
from kms_mrk.local._handlers._context import Ctx, grantee_matches
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._handlers._specs import (
    ENCRYPT_DECRYPT,
    GENERATE_VERIFY_MAC,
    KEY_AGREEMENT,
    SIGN_VERIFY,
    SYMMETRIC,
)
from kms_mrk.local._policy import root_principal
from kms_mrk.local._state import Grant, KeyRecord
from kms_mrk.local._validate import validation_error
from kms_mrk.models._enums import GrantOperation
from kms_mrk.models._op_create_grant import (
    CreateGrantCommand,
    CreateGrantRequest,
    CreateGrantResponse,
)
from kms_mrk.models._op_list_grants import ListGrantsCommand, ListGrantsRequest
from kms_mrk.models._op_list_retirable_grants import (
    ListRetirableGrantsCommand,
    ListRetirableGrantsRequest,
)
from kms_mrk.models._op_retire_grant import (
    RetireGrantCommand,
    RetireGrantRequest,
    RetireGrantResponse,
)
from kms_mrk.models._op_revoke_grant import (
    RevokeGrantCommand,
    RevokeGrantRequest,
    RevokeGrantResponse,
)
from kms_mrk.models._shared import GrantConstraints, GrantListEntry, ListGrantsResponse

#: the "Grants per KMS key" resource quota
MAX_GRANTS_PER_KEY: Final = 50_000

_COMMON: Final = ("CreateGrant", "RetireGrant", "DescribeKey")
_SYMMETRIC_OPERATIONS: Final = (
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
)  # fmt: skip
_PRINCIPAL: Final = re.compile(
    r"arn:aws(?:-[a-z]+)*:(?:iam|sts)::[0-9]{12}:(?:root|[\w+=,.@/-]+)|[0-9]{12}"
)


def _operations_for(key: KeyRecord) -> tuple[str, ...]:
    """The grant operations a grant on ``key`` may name (those the key supports)."""
    spec, usage = key.shared.spec, key.shared.usage
    if usage == ENCRYPT_DECRYPT:
        if spec == SYMMETRIC:
            return _COMMON + _SYMMETRIC_OPERATIONS
        return (*_COMMON, "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
    if usage == SIGN_VERIFY:
        return (*_COMMON, "Sign", "Verify", "GetPublicKey")
    if usage == GENERATE_VERIFY_MAC:
        return (*_COMMON, "GenerateMac", "VerifyMac")
    if usage == KEY_AGREEMENT:
        return (*_COMMON, "DeriveSharedSecret", "GetPublicKey")
    return (*_COMMON, "Encapsulate", "Decapsulate", "GetPublicKey")


def _principal(value: str | None, member: str, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise validation_error(
                [f"Value null at '{member}' failed to satisfy constraint: Member must not be null"]
            )
        return None
    if not _PRINCIPAL.fullmatch(value):
        raise ValidationException(
            f"{member[0].upper()}{member[1:]} must be the ARN of an AWS principal (account "
            "root, IAM user or role, assumed-role session, federated user) or an account id."
        )
    return value


def _grant_id(value: str) -> str:
    if not is_grant_id(value):
        raise InvalidGrantIdException(
            f"Invalid grant ID {value[:64]!r}: a grant ID is 64 hex digits."
        )
    return value


def _entry(key: KeyRecord, grant: Grant) -> GrantListEntry:
    constraints = None
    if grant.subset is not None or grant.equals is not None:
        constraints = GrantConstraints(
            encryption_context_subset=grant.subset, encryption_context_equals=grant.equals
        )
    return GrantListEntry(
        key_id=key.arn,
        grant_id=grant.grant_id,
        name=grant.name,
        creation_date=as_datetime(grant.created),
        grantee_principal=grant.grantee,
        retiring_principal=grant.retiring,
        issuing_account=grant.issuing_account,
        operations=[GrantOperation(op) for op in grant.operations],
        constraints=constraints,
    )


@handler(CreateGrantCommand, mutating=True)
def create_grant(ctx: Ctx, request: CreateGrantRequest) -> CreateGrantResponse:
    """`CreateGrant <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>`__"""
    key = ctx.use(request.key_id, alias=False)
    if request.grantee_service_principal is not None or request.retiring_service_principal:
        raise unsupported("Service principals in grants")
    grantee = _principal(request.grantee_principal, "granteePrincipal", required=True)
    assert grantee is not None
    retiring = _principal(request.retiring_principal, "retiringPrincipal", required=False)
    operations = tuple(dict.fromkeys(str(op) for op in request.operations))
    if not operations:
        raise ValidationException("A grant must allow at least one operation.")
    allowed = _operations_for(key)
    refused = [op for op in operations if op not in allowed]
    if refused:
        raise ValidationException(
            f"{key.arn} (key spec {key.shared.spec}, key usage {key.shared.usage}) does not "
            f"support the grant operations {', '.join(refused)}."
        )
    subset = equals = None
    constraints = request.constraints
    if constraints is not None:
        if constraints.source_arn is not None:
            raise unsupported("The SourceArn grant constraint")
        subset = (
            None
            if constraints.encryption_context_subset is None
            else dict(constraints.encryption_context_subset)
        )
        equals = (
            None
            if constraints.encryption_context_equals is None
            else dict(constraints.encryption_context_equals)
        )
        if (subset is not None or equals is not None) and key.shared.spec != SYMMETRIC:
            raise ValidationException(
                "Encryption context grant constraints are valid only for symmetric encryption "
                f"KMS keys; {key.arn} has key spec {key.shared.spec}."
            )
    grant = Grant(
        grant_id="",
        grantee=grantee,
        operations=operations,
        created=ctx.now,
        issuing_account=root_principal(ctx.account, ctx.partition),
        seq=0,
        name=request.name,
        retiring=retiring,
        subset=subset,
        equals=equals,
    )
    existing = None
    if request.name is not None:
        existing = next((g for g in key.grants.values() if g.same_terms(grant)), None)
    if existing is None and len(key.grants) >= MAX_GRANTS_PER_KEY:
        raise LimitExceededException(
            f"{key.arn} has {len(key.grants)} grants, the most a KMS key can have."
        )
    check_dry_run(request.dry_run)
    if existing is not None:  # the same Name and terms: the same grant, a new token
        grant = existing
    else:
        grant.grant_id = ctx.settings.random_bytes(32).hex()
        grant.seq = ctx.store.next_seq()
        key.grants[grant.grant_id] = grant
        ctx.store.changed()
    token = grant_token(grant.grant_id, key.arn, ctx.settings.random_bytes(32))
    return CreateGrantResponse(grant_token=token, grant_id=grant.grant_id)


@handler(ListGrantsCommand)
def list_grants(ctx: Ctx, request: ListGrantsRequest) -> ListGrantsResponse:
    """`ListGrants <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html>`__"""
    key = ctx.use(request.key_id, alias=False)
    grants = list(key.grants.values())
    if request.grant_id is not None:
        wanted = _grant_id(request.grant_id)
        grants = [g for g in grants if g.grant_id == wanted]
    if request.grantee_principal is not None:
        grants = [g for g in grants if g.grantee == request.grantee_principal]
    if request.grantee_service_principal is not None:
        grants = []  # the local KMS has no grants for service principals
    page, marker = page_of(
        grants, [g.seq for g in grants], page_limit(request.limit, 50, 100), request.marker
    )
    return ListGrantsResponse(
        grants=[_entry(key, g) for g in page], next_marker=marker, truncated=marker is not None
    )


@handler(ListRetirableGrantsCommand)
def list_retirable_grants(ctx: Ctx, request: ListRetirableGrantsRequest) -> ListGrantsResponse:
    """`ListRetirableGrants
    <https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html>`__:
    the grants of the caller's account and Region that name this retiring principal."""
    if request.retiring_service_principal is not None:
        raise unsupported("Service principals in grants")
    retiring = _principal(request.retiring_principal, "retiringPrincipal", required=True)
    state = ctx.store.peek(ctx.account, ctx.region)
    found = [
        (key, grant)
        for key in ([] if state is None else state.keys.values())
        for grant in key.grants.values()
        if grant.retiring == retiring
    ]
    found.sort(key=lambda pair: pair[1].seq)
    page, marker = page_of(
        found, [g.seq for _k, g in found], page_limit(request.limit, 50, 100), request.marker
    )
    return ListGrantsResponse(
        grants=[_entry(k, g) for k, g in page], next_marker=marker, truncated=marker is not None
    )


def _find(ctx: Ctx, key: KeyRecord, grant_id: str) -> Grant:
    grant = key.grants.get(grant_id)
    if grant is None:
        raise NotFoundException(f"Grant ID {grant_id} not found for {key.arn}.")
    return grant


@handler(RetireGrantCommand, mutating=True)
def retire_grant(ctx: Ctx, request: RetireGrantRequest) -> RetireGrantResponse:
    """`RetireGrant <https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html>`__

    Allowed to the grant's retiring principal, to its grantee when the grant includes
    RetireGrant, and to the account that owns the key; key policies play no part.
    """
    if request.grant_token is not None:
        grant_id, key_arn = parse_grant_token(request.grant_token)
        if request.grant_id is not None and _grant_id(request.grant_id) != grant_id:
            raise InvalidGrantIdException("The grant ID does not match the grant token.")
        key = ctx.resolve(key_arn, alias=False)
        if request.key_id is not None and ctx.resolve(request.key_id, alias=False) is not key:
            raise ValidationException("The KeyId does not match the grant token.")
    elif request.key_id is not None and request.grant_id is not None:
        key = ctx.resolve(request.key_id, alias=False)
        grant_id = _grant_id(request.grant_id)
    else:
        raise ValidationException(
            "RetireGrant needs a GrantToken, or a KeyId together with a GrantId."
        )
    grant = _find(ctx, key, grant_id)
    principal = ctx.principal
    allowed = (
        (grant.retiring is not None and grantee_matches(grant.retiring, principal))
        or ("RetireGrant" in grant.operations and grantee_matches(grant.grantee, principal))
        or principal == root_principal(key.shared.account, key.shared.partition)
    )
    if not allowed:
        raise AccessDeniedException(
            f"User: {principal} is not authorized to perform: kms:RetireGrant on resource: "
            f"{key.arn} because it is neither the grant's retiring principal, nor its grantee "
            "with the RetireGrant operation, nor the key's account"
        )
    ctx.check_state(key)
    check_dry_run(request.dry_run)
    del key.grants[grant.grant_id]
    ctx.store.changed()
    return RetireGrantResponse()


@handler(RevokeGrantCommand, mutating=True)
def revoke_grant(ctx: Ctx, request: RevokeGrantRequest) -> RevokeGrantResponse:
    """`RevokeGrant <https://docs.aws.amazon.com/kms/latest/APIReference/API_RevokeGrant.html>`__"""
    key = ctx.use(request.key_id, alias=False)
    grant = _find(ctx, key, _grant_id(request.grant_id))
    check_dry_run(request.dry_run)
    del key.grants[grant.grant_id]
    ctx.store.changed()
    return RevokeGrantResponse()
