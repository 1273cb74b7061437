"""Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

import re
from typing import Final

from kms_mrk.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    NotFoundException,
    ValidationException,
)
from kms_mrk.local._handlers._common import as_datetime, page_limit, page_of
from kms_mrk.local._handlers._context import Ctx
from kms_mrk.local._handlers._registry import handler
from kms_mrk.local._state import Alias, KeyRecord
from kms_mrk.local._validate import validation_error
from kms_mrk.models._op_create_alias import (
    CreateAliasCommand,
    CreateAliasRequest,
    CreateAliasResponse,
)
from kms_mrk.models._op_delete_alias import (
    DeleteAliasCommand,
    DeleteAliasRequest,
    DeleteAliasResponse,
)
from kms_mrk.models._op_list_aliases import (
    AliasListEntry,
    ListAliasesCommand,
    ListAliasesRequest,
    ListAliasesResponse,
)
from kms_mrk.models._op_update_alias import (
    UpdateAliasCommand,
    UpdateAliasRequest,
    UpdateAliasResponse,
)

_ALIAS_PATTERN: Final = re.compile(r"[a-zA-Z0-9:/_-]+")

# --------------------------------------------------------------------------- aliases


def _alias_name(name: str, *, creating: bool) -> str:
    if not name.startswith("alias/"):
        raise ValidationException(
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
    if not _ALIAS_PATTERN.fullmatch(name):
        raise validation_error(
            [
                f"Value '{name}' at 'aliasName' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            ]
        )
    if creating and name.startswith("alias/aws/"):
        raise InvalidAliasNameException(
            f"Alias {name} cannot begin with alias/aws/: that prefix is reserved for AWS "
            "managed keys."
        )
    if name == "alias/":
        raise InvalidAliasNameException("An alias name needs characters after alias/.")
    return name


def _kind(key: KeyRecord) -> str:
    return {"symmetric": "symmetric", "hmac": "hmac"}.get(key.shared.material.kind, "asymmetric")


@handler(CreateAliasCommand, mutating=True)
def create_alias(ctx: Ctx, request: CreateAliasRequest) -> CreateAliasResponse:
    name = _alias_name(request.alias_name, creating=True)
    here = ctx.here()
    if name in here.aliases:
        raise AlreadyExistsException(f"An alias with the name {ctx.alias_arn(name)} already exists")
    key = ctx.use(request.target_key_id, alias=False)
    here.aliases[name] = Alias(
        name=name,
        arn=ctx.alias_arn(name),
        target=key.key_id,
        created=ctx.now,
        seq=ctx.store.next_seq(),
    )
    ctx.store.changed()
    return CreateAliasResponse()


@handler(UpdateAliasCommand, mutating=True)
def update_alias(ctx: Ctx, request: UpdateAliasRequest) -> UpdateAliasResponse:
    name = _alias_name(request.alias_name, creating=False)
    here = ctx.here()
    entry = here.aliases.get(name)
    if entry is None:
        raise NotFoundException(f"Alias {ctx.alias_arn(name)} is not found.")
    key = ctx.use(request.target_key_id, alias=False)
    current = here.keys.get(entry.target)
    if current is not None:
        ctx.authorize(current)
        if _kind(current) != _kind(key) or current.shared.usage != key.shared.usage:
            raise ValidationException(
                f"{key.arn} cannot replace the alias target {current.arn}: the current and new "
                "keys must be of the same type (symmetric, asymmetric or HMAC) and key usage."
            )
    entry.target = key.key_id
    entry.updated = ctx.now
    ctx.store.changed()
    return UpdateAliasResponse()


@handler(DeleteAliasCommand, mutating=True)
def delete_alias(ctx: Ctx, request: DeleteAliasRequest) -> DeleteAliasResponse:
    name = _alias_name(request.alias_name, creating=False)
    here = ctx.here()
    entry = here.aliases.get(name)
    if entry is None:
        raise NotFoundException(f"Alias {ctx.alias_arn(name)} is not found.")
    target = here.keys.get(entry.target)
    if target is not None:
        ctx.authorize(target)
    del here.aliases[name]
    ctx.store.changed()
    return DeleteAliasResponse()


@handler(ListAliasesCommand)
def list_aliases(ctx: Ctx, request: ListAliasesRequest) -> ListAliasesResponse:
    state = ctx.store.peek(ctx.account, ctx.region)
    aliases = [] if state is None else sorted(state.aliases.values(), key=lambda a: a.seq)
    if request.key_id is not None:
        key = ctx.resolve(request.key_id, alias=False)
        aliases = [a for a in aliases if a.target == key.key_id]
    page, marker = page_of(
        aliases, [a.seq for a in aliases], page_limit(request.limit, 50, 100), request.marker
    )
    return ListAliasesResponse(
        aliases=[
            AliasListEntry(
                alias_name=a.name,
                alias_arn=a.arn,
                target_key_id=a.target,
                creation_date=as_datetime(a.created),
                last_updated_date=as_datetime(a.updated),
            )
            for a in page
        ],
        next_marker=marker,
        truncated=marker is not None,
    )
