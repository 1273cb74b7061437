"""Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies."""

from __future__ import annotations

from kms_mrk.errors import NotFoundException
from kms_mrk.local._handlers._common import new_policy, warn_unevaluated
from kms_mrk.local._handlers._context import Ctx, KeyFacts
from kms_mrk.local._handlers._registry import handler
from kms_mrk.models._op_get_key_policy import (
    GetKeyPolicyCommand,
    GetKeyPolicyRequest,
    GetKeyPolicyResponse,
)
from kms_mrk.models._op_list_key_policies import (
    ListKeyPoliciesCommand,
    ListKeyPoliciesRequest,
    ListKeyPoliciesResponse,
)
from kms_mrk.models._op_put_key_policy import (
    PutKeyPolicyCommand,
    PutKeyPolicyRequest,
    PutKeyPolicyResponse,
)

# --------------------------------------------------------------------------- key policies


def _policy_name(name: str | None) -> str:
    if name is not None and name != "default":
        raise NotFoundException(f"No such policy: {name} (a KMS key has one policy, 'default')")
    return "default"


@handler(GetKeyPolicyCommand)
def get_key_policy(ctx: Ctx, request: GetKeyPolicyRequest) -> GetKeyPolicyResponse:
    key = ctx.use(request.key_id, alias=False)
    return GetKeyPolicyResponse(policy=key.policy, policy_name=_policy_name(request.policy_name))


@handler(PutKeyPolicyCommand, mutating=True)
def put_key_policy(ctx: Ctx, request: PutKeyPolicyRequest) -> PutKeyPolicyResponse:
    key = ctx.use(request.key_id, alias=False)
    _policy_name(request.policy_name)
    policy, compiled = new_policy(
        ctx,
        request.policy,
        key.arn,
        KeyFacts.of(key, ctx.now),
        bypass=request.bypass_policy_lockout_safety_check,
    )
    warn_unevaluated(compiled, key.arn)
    key.set_policy(policy, compiled)
    ctx.store.changed()
    return PutKeyPolicyResponse()


@handler(ListKeyPoliciesCommand)
def list_key_policies(ctx: Ctx, request: ListKeyPoliciesRequest) -> ListKeyPoliciesResponse:
    ctx.use(request.key_id, alias=False)
    return ListKeyPoliciesResponse(policy_names=["default"], truncated=False)
