"""Key policies: the default policy, validation, and Allow/Deny evaluation for a principal.

What is evaluated: ``Effect``, ``Principal``/``NotPrincipal`` (``"*"``, ``{"AWS": ...}`` with
account ids, account root ARNs, user and role ARNs; an assumed-role session matches its role),
``Action``/``NotAction`` with ``*`` and ``?`` wildcards (case-insensitive, as IAM compares
action names), ``Resource``/``NotResource`` against the key ARN, and ``Condition`` blocks on
the condition keys in :data:`CONDITION_KEYS` with the operators ``StringEquals``,
``StringNotEquals``, ``StringEqualsIgnoreCase``, ``StringNotEqualsIgnoreCase``,
``StringLike``, ``StringNotLike``, ``Bool`` (each also as ``...IfExists``) and ``Null``, with
IAM's rules: operators and keys AND together, the values of one key OR together (NOR for the
negated operators), and a key the request does not have fails a positive operator but
satisfies a negated one. An explicit Deny wins over any Allow; without an Allow the request
is denied.

A condition the local KMS cannot evaluate (another condition key or operator, a set
operator such as ``ForAnyValue:``, a policy variable) fails closed: a Deny statement with one
applies as if the condition held, an Allow statement with one never applies, unless a part it
can evaluate already fails. :attr:`CompiledPolicy.unsupported` lists such conditions, and the
handlers log a warning when a policy with them is stored.

Principals are checked as KMS checks them when a policy is stored: a principal type other
than ``AWS``, ``Service``, ``Federated`` and ``CanonicalUser`` (``{"aws": ...}`` in lower case
included) and an ARN with a wildcard (``user/*``) are refused with KMS's
``MalformedPolicyDocumentException`` ("Policy contains a statement with one or more invalid
principals."). Principals KMS accepts but the local authorizer cannot match to a caller
(service and federated principals, canonical users, IAM unique ids such as ``AROA...``) are
listed in :attr:`CompiledPolicy.unmatched` and logged once per policy text as a warning
(logger ``kms_mrk.local``): statements naming only them never apply to a local caller.

The policy text is decoded with :func:`kms_mrk._json.loads_bounded`: nesting deeper than
:data:`MAX_POLICY_DEPTH` is a ``MalformedPolicyDocumentException``, never a RecursionError.

What is not evaluated: IAM policies (there are none: an account principal such as
``arn:aws:iam::111122223333:root`` in a key policy is taken to admit every principal of that
account, as if their IAM policies allowed everything) and grants.

Compiled policies are shared by every key with the same policy text, and so are their
decisions: a policy whose statements all name ``"Resource": "*"`` decides per (principal,
action), whatever the key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from kms_mrk._json import JsonLimitError, loads_bounded
from kms_mrk.errors import AccessDeniedException, MalformedPolicyDocumentException
from kms_mrk.protocol._service_validate import echo

__all__ = [
    "CONDITION_KEYS",
    "CompiledPolicy",
    "Lookup",
    "access_denied",
    "account_of_principal",
    "compile_policy",
    "default_policy",
    "principal_arn",
    "root_principal",
]

MAX_POLICY_CHARS: Final = 32768
#: How deeply a key policy may nest arrays and objects (a real one nests 5 levels).
MAX_POLICY_DEPTH: Final = 32
INVALID_PRINCIPALS: Final = "Policy contains a statement with one or more invalid principals."
_log = logging.getLogger("kms_mrk.local")
#: Principal types KMS accepts in a key policy (case-sensitive, as IAM compares them).
_PRINCIPAL_TYPES: Final = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
#: IAM unique ids (users, roles, groups...): valid in a policy, but not matched locally.
_UNIQUE_ID = re.compile(r"A(?:IDA|ROA|IPA|NPA|NVA|GPA|SIA|KIA)[A-Z0-9]{12,}")

#: The condition keys the local KMS evaluates (lower case: IAM compares key names that way).
#: A request that has no value for one (kms:PrimaryRegion outside UpdatePrimaryRegion) lacks
#: the key, as on AWS.
CONDITION_KEYS: Final = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:requestedregion",
        "aws:securetransport",
        "kms:calleraccount",
        "kms:keyorigin",
        "kms:keyspec",
        "kms:keyusage",
        "kms:multiregion",
        "kms:multiregionkeytype",
        "kms:primaryregion",
        "kms:replicaregion",
    }
)

#: condition key (lower case) -> its value in this request, or None when the request lacks it
Lookup = Callable[[str], "str | None"]
_VERSIONS: Final = frozenset({"2012-10-17", "2008-10-17"})
_ACCOUNT = re.compile(r"[0-9]{12}")
_ASSUMED_ROLE = re.compile(r"arn:([^:]+):sts::([0-9]{12}):assumed-role/([^/]+)/.+")


def root_principal(account_id: str, partition: str = "aws") -> str:
    """The ARN of an account's root principal."""
    return f"arn:{partition}:iam::{account_id}:root"


def account_of_principal(principal: str) -> str | None:
    """The account id in an IAM or STS principal ARN, or None."""
    parts = principal.split(":", 5)
    if (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] in ("iam", "sts")
        and _ACCOUNT.fullmatch(parts[4])
    ):
        return parts[4]
    return None


def principal_arn(principal: str) -> str:
    """The ``aws:PrincipalArn`` of a caller: an assumed-role session counts as its role."""
    assumed = _ASSUMED_ROLE.fullmatch(principal)
    if assumed is None:
        return principal
    partition, account, role = assumed.groups()
    return f"arn:{partition}:iam::{account}:role/{role}"


def default_policy(account_id: str, partition: str = "aws") -> str:
    """The default key policy, laid out as KMS returns it from GetKeyPolicy."""
    return (
        "{\n"
        '  "Version" : "2012-10-17",\n'
        '  "Id" : "key-default-1",\n'
        '  "Statement" : [ {\n'
        '    "Sid" : "Enable IAM User Permissions",\n'
        '    "Effect" : "Allow",\n'
        '    "Principal" : {\n'
        f'      "AWS" : "{root_principal(account_id, partition)}"\n'
        "    },\n"
        '    "Action" : "kms:*",\n'
        '    "Resource" : "*"\n'
        "  } ]\n"
        "}"
    )


def _malformed(message: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(message)


def _glob(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def _strings(value: Any, what: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise _malformed(f"{what} must be a non-empty string or a list of non-empty strings")
    return items


class _Principals:
    """Matches caller principals: everyone, whole accounts, or exact ARNs."""

    __slots__ = ("accounts", "anyone", "arns", "unmatched")

    def __init__(self, value: Any, what: str) -> None:
        self.anyone = False
        self.accounts: set[str] = set()
        self.arns: set[str] = set()
        #: principals KMS accepts that no local caller can be (logged as a warning)
        self.unmatched: list[str] = []
        if value == "*":
            self.anyone = True
            return
        if not isinstance(value, dict) or not value:
            raise _malformed(INVALID_PRINCIPALS)
        for kind, entries in value.items():
            if kind not in _PRINCIPAL_TYPES:
                raise _malformed(INVALID_PRINCIPALS)
            names = _strings(entries, f"{what}.{kind}")
            if kind != "AWS":
                # services, federated users and canonical users never call the local KMS
                self.unmatched.extend(f"{kind}: {echo(name, 64)}" for name in names)
                continue
            for name in names:
                self._add(name)

    def _add(self, name: str) -> None:
        if name == "*":
            self.anyone = True
        elif "*" in name or "?" in name:
            raise _malformed(INVALID_PRINCIPALS)  # IAM allows no wildcard inside an ARN
        elif _ACCOUNT.fullmatch(name):
            self.accounts.add(name)
        elif name.startswith("arn:") and ":iam::" in name and name.endswith(":root"):
            account = name.split(":")[4]
            if not _ACCOUNT.fullmatch(account):
                raise _malformed(INVALID_PRINCIPALS)
            self.accounts.add(account)
        elif name.startswith("arn:") and account_of_principal(name) is not None:
            self.arns.add(name)
        elif _UNIQUE_ID.fullmatch(name):
            self.unmatched.append(f"AWS: {name} (an IAM unique id)")
        else:
            raise _malformed(INVALID_PRINCIPALS)

    def match(self, principal: str) -> bool:
        if self.anyone or principal in self.arns:
            return True
        account = account_of_principal(principal)
        if account is not None and account in self.accounts:
            return True
        assumed = _ASSUMED_ROLE.fullmatch(principal)
        if assumed is not None:
            partition, acct, role = assumed.groups()
            return f"arn:{partition}:iam::{acct}:role/{role}" in self.arns
        return False


# --------------------------------------------------------------------------- conditions

_STRING_OPERATORS: Final[dict[str, tuple[str, bool]]] = {
    # operator -> (how values compare, negated)
    "stringequals": ("equals", False),
    "stringnotequals": ("equals", True),
    "stringequalsignorecase": ("ignorecase", False),
    "stringnotequalsignorecase": ("ignorecase", True),
    "stringlike": ("like", False),
    "stringnotlike": ("like", True),
    "bool": ("bool", False),
}


class _Test:
    """One condition key under one operator that the local KMS evaluates."""

    __slots__ = ("if_exists", "key", "kind", "negated", "patterns", "values")

    def __init__(
        self, kind: str, key: str, values: list[str], *, negated: bool, if_exists: bool
    ) -> None:
        self.kind = kind
        self.key = key
        self.negated = negated
        self.if_exists = if_exists
        self.values = [v.lower() for v in values] if kind in ("ignorecase", "bool") else values
        self.patterns = [_glob(v, ignore_case=False) for v in values] if kind == "like" else []

    def evaluate(self, lookup: Lookup | None) -> bool:
        value = None if lookup is None else lookup(self.key)
        if self.kind == "null":  # values: "true" (the key is absent) or "false"
            return any((value is None) == (v == "true") for v in self.values)
        if value is None:
            return self.if_exists or self.negated
        if self.kind == "like":
            matched = any(p.fullmatch(value) for p in self.patterns)
        elif self.kind == "equals":
            matched = value in self.values
        else:
            matched = value.lower() in self.values
        return matched != self.negated


class _Condition:
    """A statement's Condition block: its tests, and what it holds that cannot be evaluated."""

    __slots__ = ("tests", "unsupported")

    def __init__(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            raise _malformed(f"{where}.Condition must be an object")
        self.tests: list[_Test] = []
        self.unsupported: list[str] = []
        for operator, block in raw.items():
            if not isinstance(operator, str) or not isinstance(block, dict) or not block:
                raise _malformed(
                    f"{where}.Condition.{echo(operator, 64)} must map condition keys to values"
                )
            for key, raw_values in block.items():
                at = f"{where}.Condition.{echo(operator, 64)}.{echo(key, 64)}"
                values = _condition_values(raw_values, at)
                test = _test(operator, key, values, at)
                if test is None:
                    self.unsupported.append(f"{operator} {key}")
                else:
                    self.tests.append(test)

    def holds(self, lookup: Lookup | None) -> bool | None:
        """True, False, or None when it depends on what cannot be evaluated."""
        for test in self.tests:
            if not test.evaluate(lookup):
                return False
        return None if self.unsupported else True


def _condition_values(raw: Any, where: str) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _malformed(f"{where} needs at least one value")
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise _malformed(f"{where} values must be strings, numbers or booleans")
    return out


def _test(operator: str, key: str, values: list[str], where: str) -> _Test | None:
    """The test for ``operator`` on ``key``; None when the local KMS cannot evaluate it."""
    name = operator.lower()
    lowered_key = key.lower()
    if name == "null":
        if any(v.lower() not in ("true", "false") for v in values):
            raise _malformed(f'{where}: Null takes "true" or "false"')
        if lowered_key not in CONDITION_KEYS:
            return None
        lowered = [v.lower() for v in values]
        return _Test("null", lowered_key, lowered, negated=False, if_exists=False)
    if_exists = name.endswith("ifexists")
    if if_exists:
        name = name[: -len("ifexists")]
    known = _STRING_OPERATORS.get(name)
    if known is None or lowered_key not in CONDITION_KEYS or any("${" in v for v in values):
        return None
    kind, negated = known
    return _Test(kind, lowered_key, values, negated=negated, if_exists=if_exists)


class _Statement:
    __slots__ = (
        "actions",
        "allow",
        "any_resource",
        "condition",
        "not_action",
        "not_principal",
        "not_resource",
        "principals",
        "resources",
    )

    def __init__(self, raw: Any, index: int) -> None:
        where = f"Statement[{index}]"
        if not isinstance(raw, dict):
            raise _malformed(f"{where} must be an object")
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise _malformed(f'{where}.Effect must be "Allow" or "Deny"')
        self.allow = effect == "Allow"
        if ("Principal" in raw) == ("NotPrincipal" in raw):
            raise _malformed(f"{where} needs exactly one of Principal and NotPrincipal")
        self.not_principal = "NotPrincipal" in raw
        self.principals = _Principals(
            raw["NotPrincipal" if self.not_principal else "Principal"], f"{where}.Principal"
        )
        if ("Action" in raw) == ("NotAction" in raw):
            raise _malformed(f"{where} needs exactly one of Action and NotAction")
        self.not_action = "NotAction" in raw
        actions = _strings(raw["NotAction" if self.not_action else "Action"], f"{where}.Action")
        for action in actions:
            if action != "*" and ":" not in action:
                raise _malformed(f"{where}.Action has an invalid action: {echo(action, 64)}")
        self.actions = [_glob(a, ignore_case=True) for a in actions]
        if ("Resource" in raw) == ("NotResource" in raw):
            raise _malformed(f"{where} needs exactly one of Resource and NotResource")
        self.not_resource = "NotResource" in raw
        resources = _strings(
            raw["NotResource" if self.not_resource else "Resource"], f"{where}.Resource"
        )
        self.resources = [_glob(r, ignore_case=False) for r in resources]
        self.any_resource = not self.not_resource and "*" in resources
        raw_condition = raw.get("Condition")
        condition = None if raw_condition is None else _Condition(raw_condition, where)
        self.condition = (
            condition if condition and (condition.tests or condition.unsupported) else None
        )
        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            raise _malformed(f"{where}.Sid must be a string")

    def applies(self, principal: str, action: str, resource: str) -> bool:
        if self.principals.match(principal) == self.not_principal:
            return False
        if any(p.fullmatch(action) for p in self.actions) == self.not_action:
            return False
        return any(p.fullmatch(resource) for p in self.resources) != self.not_resource


class CompiledPolicy:
    """A validated key policy, ready to evaluate; shared by keys with the same policy text.

    Which statements match a (principal, action, resource) is cached; conditions are
    evaluated on each request, and only for statements that match it.
    """

    __slots__ = ("_cache", "_resource_free", "statements", "unmatched", "unsupported")

    def __init__(self, statements: Iterable[_Statement]) -> None:
        self.statements = tuple(statements)
        #: "<operator> <condition key>" of every condition the local KMS cannot evaluate
        self.unsupported: tuple[str, ...] = tuple(
            item
            for s in self.statements
            if s.condition is not None
            for item in s.condition.unsupported
        )
        #: principals the policy names that no local caller can be (see the module docstring)
        self.unmatched: tuple[str, ...] = tuple(
            dict.fromkeys(item for s in self.statements for item in s.principals.unmatched)
        )
        self._resource_free = all(s.any_resource for s in self.statements)
        self._cache: dict[tuple[str, str, str], tuple[str, tuple[_Statement, ...]]] = {}

    def decide(
        self, principal: str, action: str, resource: str, lookup: Lookup | None = None
    ) -> str:
        """``"allow"``, ``"deny"`` (explicit) or ``"none"`` (no statement allows).

        ``lookup`` gives the request's condition-key values (None: the request has none).
        """
        key = (principal, action, "*" if self._resource_free else resource)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._match(principal, action, resource)
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[key] = hit
        decision, conditional = hit
        if decision == "deny" or not conditional:
            return decision
        for statement in conditional:
            assert statement.condition is not None
            holds = statement.condition.holds(lookup)
            if statement.allow:
                if holds:
                    decision = "allow"
            elif holds is not False:  # a Deny it cannot evaluate applies: fail closed
                return "deny"
        return decision

    def _match(
        self, principal: str, action: str, resource: str
    ) -> tuple[str, tuple[_Statement, ...]]:
        """The decision of the unconditional statements, and the conditional ones that match."""
        decision = "none"
        conditional: list[_Statement] = []
        for statement in self.statements:
            if not statement.applies(principal, action, resource):
                continue
            if statement.condition is not None:
                conditional.append(statement)
            elif not statement.allow:
                return "deny", ()
            else:
                decision = "allow"
        return decision, tuple(conditional)


_COMPILED: dict[str, CompiledPolicy] = {}
_COMPILED_MAX: Final = 512


def compile_policy(text: str) -> CompiledPolicy:
    """Parse and validate a key policy; MalformedPolicyDocumentException if it is not one."""
    compiled = _COMPILED.get(text)
    if compiled is None:
        compiled = _compile(text)
        if compiled.unmatched:
            _log.warning(
                "a key policy names principals the local KMS cannot match to a caller (%s): "
                "KMS accepts them, but locally the statements naming them apply to nobody",
                ", ".join(compiled.unmatched),
            )
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[text] = compiled
    return compiled


def _compile(text: str) -> CompiledPolicy:
    if len(text) > MAX_POLICY_CHARS:
        raise _malformed(
            f"The key policy is {len(text)} characters; the limit is {MAX_POLICY_CHARS}"
        )
    try:
        document = loads_bounded(text, what="The key policy", max_depth=MAX_POLICY_DEPTH)
    except JsonLimitError as exc:
        raise _malformed(echo(str(exc), 256)) from None
    if not isinstance(document, dict):
        raise _malformed("The key policy must be a JSON object")
    version = document.get("Version")
    if version is not None and (not isinstance(version, str) or version not in _VERSIONS):
        raise _malformed(f"The policy Version '{echo(version, 64)}' is not supported")
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not statements:
        raise _malformed("The key policy needs a Statement (an object or a non-empty list)")
    return CompiledPolicy(_Statement(s, i) for i, s in enumerate(statements))


def access_denied(
    principal: str, action: str, resource: str, decision: str
) -> AccessDeniedException:
    """The AccessDeniedException real KMS answers, in its message form."""
    reason = (
        "with an explicit deny in a resource-based policy"
        if decision == "deny"
        else f"because no resource-based policy allows the {action} action"
    )
    return AccessDeniedException(
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} {reason}"
    )
