"""Key policies: the default policy, validation, and Allow/Deny evaluation for a principal.

What is evaluated: ``Effect``, ``Principal``/``NotPrincipal`` (``"*"``, ``{"AWS": ...}`` with
account ids, account root ARNs, user and role ARNs; an assumed-role session matches its role),
``Action``/``NotAction`` with ``*`` and ``?`` wildcards (case-insensitive, as IAM compares
action names), and ``Resource``/``NotResource`` against the key ARN. An explicit Deny wins over
any Allow; without an Allow the request is denied.

What is not: IAM policies (there are none: an account principal such as
``arn:aws:iam::111122223333:root`` in a key policy is taken to admit every principal of that
account, as if their IAM policies allowed everything), grants, and ``Condition`` blocks (a
statement with a Condition is skipped, neither allowing nor denying).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any, Final

from kms_mrk.errors import AccessDeniedException, MalformedPolicyDocumentException

__all__ = [
    "CompiledPolicy",
    "access_denied",
    "account_of_principal",
    "compile_policy",
    "default_policy",
    "root_principal",
]

_log = logging.getLogger("kms_mrk.local")

MAX_POLICY_CHARS: Final = 32768
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

    __slots__ = ("accounts", "anyone", "arns")

    def __init__(self, value: Any, what: str) -> None:
        self.anyone = False
        self.accounts: set[str] = set()
        self.arns: set[str] = set()
        if value == "*":
            self.anyone = True
            return
        if not isinstance(value, dict) or not value:
            raise _malformed(f'{what} must be "*" or an object such as {{"AWS": "<ARN>"}}')
        for kind, entries in value.items():
            names = _strings(entries, f"{what}.{kind}")
            if kind != "AWS":
                continue  # services and federated principals never call the local KMS
            for name in names:
                if name == "*":
                    self.anyone = True
                elif _ACCOUNT.fullmatch(name):
                    self.accounts.add(name)
                elif name.startswith("arn:") and ":iam::" in name and name.endswith(":root"):
                    account = name.split(":")[4]
                    if not _ACCOUNT.fullmatch(account):
                        raise _malformed(f"{what} has an invalid principal: {name}")
                    self.accounts.add(account)
                elif name.startswith("arn:") and account_of_principal(name) is not None:
                    self.arns.add(name)
                else:
                    raise _malformed(
                        "Policy contains a statement with one or more invalid principals."
                    )

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


class _Statement:
    __slots__ = (
        "actions",
        "allow",
        "conditional",
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
                raise _malformed(f"{where}.Action has an invalid action: {action}")
        self.actions = [_glob(a, ignore_case=True) for a in actions]
        if ("Resource" in raw) == ("NotResource" in raw):
            raise _malformed(f"{where} needs exactly one of Resource and NotResource")
        self.not_resource = "NotResource" in raw
        resources = _strings(
            raw["NotResource" if self.not_resource else "Resource"], f"{where}.Resource"
        )
        self.resources = [_glob(r, ignore_case=False) for r in resources]
        condition = raw.get("Condition")
        if condition is not None and not isinstance(condition, dict):
            raise _malformed(f"{where}.Condition must be an object")
        self.conditional = bool(condition)
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
    """A validated key policy, ready to evaluate; decisions are cached per request shape."""

    __slots__ = ("_cache", "statements")

    def __init__(self, statements: Iterable[_Statement]) -> None:
        self.statements = tuple(statements)
        self._cache: dict[tuple[str, str, str], str] = {}

    def decide(self, principal: str, action: str, resource: str) -> str:
        """``"allow"``, ``"deny"`` (explicit) or ``"none"`` (no statement allows)."""
        key = (principal, action, resource)
        decision = self._cache.get(key)
        if decision is None:
            decision = "none"
            for statement in self.statements:
                if statement.conditional or not statement.applies(principal, action, resource):
                    continue
                if not statement.allow:
                    decision = "deny"
                    break
                decision = "allow"
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[key] = decision
        return decision


def compile_policy(text: str) -> CompiledPolicy:
    """Parse and validate a key policy; MalformedPolicyDocumentException if it is not one."""
    if len(text) > MAX_POLICY_CHARS:
        raise _malformed(
            f"The key policy is {len(text)} characters; the limit is {MAX_POLICY_CHARS}"
        )
    try:
        document = json.loads(text)
    except ValueError:
        raise _malformed("The key policy is not valid JSON") from None
    if not isinstance(document, dict):
        raise _malformed("The key policy must be a JSON object")
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise _malformed(f"The policy Version {version!r} is not supported")
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not statements:
        raise _malformed("The key policy needs a Statement (an object or a non-empty list)")
    compiled = CompiledPolicy(_Statement(s, i) for i, s in enumerate(statements))
    if any(s.conditional for s in compiled.statements):
        _log.debug("key policy has Condition blocks; those statements are not evaluated")
    return compiled


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
