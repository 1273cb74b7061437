"""The request context handlers get: caller, Region, time, state, settings.

:meth:`Ctx.authorize` is the one authorizer: the key policy first (an explicit Deny there
wins), then the key's grants (:func:`grant_allows`), which can allow what the policy does
not. Grant constraints are checked against :attr:`Ctx.encryption_context`, which the
cryptographic handlers set before they authorize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from kms_mrk import arn as _arn
from kms_mrk.errors import InvalidArnException, NotFoundException
from kms_mrk.local import _crypto
from kms_mrk.local._keystates import check_key_state
from kms_mrk.local._policy import access_denied, account_of_principal, principal_arn
from kms_mrk.local._state import Grant, KeyRecord, RegionState, Store

_T = TypeVar("_T")


def _is_key_id(text: str) -> bool:
    """Whether ``text`` is a key id as KMS issues them (the rules of kms_mrk.arn)."""
    try:
        return _arn.parse_key_identifier(text).kind == "key_id"
    except _arn.InvalidKeyIdentifierError:
        return False


#: grant operations whose requests carry an encryption context (where constraints apply)
CONTEXT_OPERATIONS: Final = frozenset(
    ("Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
     "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
     "GenerateDataKeyPairWithoutPlaintext")
)  # fmt: skip


def _context_has(context: dict[str, str], required: dict[str, str]) -> bool:
    """Whether ``context`` holds every pair of ``required`` (keys compared case-insensitively,
    values exactly, as grant constraints compare them)."""
    folded = {k.lower(): v for k, v in context.items()}
    return all(folded.get(k.lower()) == v for k, v in required.items())


def grantee_matches(grantee: str, principal: str) -> bool:
    """Whether a grant for ``grantee`` is a grant for the calling ``principal``.

    The grantee is the caller itself, the role of an assumed-role session, or the caller's
    account (an account root or account id stands for every principal of that account, as
    in key policies, since the local KMS has no IAM policies).
    """
    if grantee in (principal, principal_arn(principal)):
        return True
    account = account_of_principal(principal)
    if account is None:
        return False
    return grantee == account or (
        grantee.endswith(f"::{account}:root") and grantee.startswith("arn:")
    )


def grant_allows(
    grant: Grant, principal: str, operation: str, context: dict[str, str] | None, spec: str
) -> bool:
    """Whether ``grant`` lets ``principal`` call ``operation`` with this encryption context."""
    if operation not in grant.operations or not grantee_matches(grant.grantee, principal):
        return False
    if operation in CONTEXT_OPERATIONS and spec == "SYMMETRIC_DEFAULT":
        given = context or {}
        if grant.subset is not None and not _context_has(given, grant.subset):
            return False
        if grant.equals is not None and not (
            len(given) == len(grant.equals) and _context_has(given, grant.equals)
        ):
            return False
    return True


class Settings:
    """The configuration handlers read (set by LocalKMS)."""

    __slots__ = ("creating_seconds", "random_bytes", "updating_seconds")

    def __init__(
        self,
        *,
        creating_seconds: float,
        updating_seconds: float,
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.creating_seconds = creating_seconds
        self.updating_seconds = updating_seconds
        self.random_bytes = random_bytes


class KeyFacts:
    """What policy conditions may ask about a key (also for a key not made yet)."""

    __slots__ = ("key_type", "multi_region", "origin", "spec", "usage")

    def __init__(
        self,
        spec: str,
        usage: str,
        multi_region: bool,
        key_type: str | None,
        origin: str = "AWS_KMS",
    ) -> None:
        self.spec = spec
        self.usage = usage
        self.multi_region = multi_region
        self.key_type = key_type
        self.origin = origin

    @classmethod
    def of(cls, key: KeyRecord, now: float) -> KeyFacts:
        shared = key.shared
        key_type = None
        if shared.multi_region:
            key_type = "PRIMARY" if key.is_primary(now) else "REPLICA"
        return cls(shared.spec, shared.usage, shared.multi_region, key_type, shared.origin)


class Ctx:
    """One request as handlers see it: who calls, where, when, and the state."""

    __slots__ = ("account", "conditions", "encryption_context", "now", "operation",
                 "partition", "prepared", "principal", "region", "secure", "settings", "store",
                 "subject")  # fmt: skip

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        now: float,
        account: str,
        region: str,
        partition: str,
        principal: str,
        operation: str,
        prepared: dict[str, Any] | None = None,
        secure: bool = True,
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self.account = account
        self.region = region
        self.partition = partition
        self.principal = principal
        self.operation = operation
        #: results of costly steps made outside the lock (see :meth:`costly`)
        self.prepared: dict[str, Any] = {} if prepared is None else prepared
        #: whether the request came over TLS (aws:SecureTransport); in process counts as TLS
        self.secure = secure
        #: request-specific condition keys (kms:PrimaryRegion...), lower case
        self.conditions: dict[str, str] = {}
        #: the key (or the facts of a key being made) whose policy is being evaluated
        self.subject: KeyRecord | KeyFacts | None = None
        #: the encryption context of the request, for grant constraints (set by handlers)
        self.encryption_context: dict[str, str] | None = None

    # ------------------------------------------------------------------ names

    def key_arn(self, key_id: str, region: str | None = None) -> str:
        """The ARN of key ``key_id`` (a well-formed id) of the caller's account."""
        return _arn.key_arn(region or self.region, self.account, key_id, self.partition)

    def alias_arn(self, name: str) -> str:
        # Not kms_mrk.arn.alias_arn: this names aliases in error messages too, including names
        # the model's pattern allows (':') but that function's stricter check refuses.
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:{name}"

    def here(self) -> RegionState:
        return self.store.region(self.account, self.region)

    # ------------------------------------------------------------------ keys

    def resolve(self, ident: str, *, alias: bool) -> KeyRecord:
        """The key ``ident`` names in the caller's account and Region, or NotFoundException."""
        if ident.startswith("arn:"):
            parts = ident.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or "/" not in parts[5]:
                raise InvalidArnException(f"Invalid arn {ident}")
            arn_partition, arn_region, arn_account = parts[1], parts[3], parts[4]
            resource_type, _, resource_id = parts[5].partition("/")
            if resource_type not in ("key", "alias") or not resource_id:
                raise InvalidArnException(f"Invalid arn {ident}")
            if arn_region != self.region:
                raise NotFoundException(f"Invalid arn {arn_region}")
            if arn_partition != self.partition:
                raise NotFoundException(f"Invalid arn {arn_partition}")
            if arn_account != self.account:
                raise NotFoundException(f"Key '{ident}' does not exist")
            if resource_type == "alias":
                if not alias:
                    raise NotFoundException(f"Invalid keyId '{ident}'")
                return self._by_alias("alias/" + resource_id)
            return self._by_id(resource_id)
        if ident.startswith("alias/"):
            if not alias:
                raise NotFoundException(f"Invalid keyId '{ident}'")
            return self._by_alias(ident)
        return self._by_id(ident)

    def _by_id(self, key_id: str) -> KeyRecord:
        state = self.store.peek(self.account, self.region)
        key = None if state is None else state.keys.get(key_id)
        if key is not None:  # stored keys have well-formed ids
            return key
        if not _is_key_id(key_id):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        raise NotFoundException(f"Key '{self.key_arn(key_id)}' does not exist")

    def _by_alias(self, name: str) -> KeyRecord:
        state = self.store.peek(self.account, self.region)
        entry = None if state is None else state.aliases.get(name)
        key = None if entry is None or state is None else state.keys.get(entry.target)
        if key is None:
            raise NotFoundException(f"Alias {self.alias_arn(name)} is not found.")
        return key

    def authorize(self, key: KeyRecord, action: str | None = None) -> None:
        """AccessDeniedException unless the key policy or a grant allows the action.

        An explicit Deny in the key policy wins over grants; otherwise a grant of the key (in
        this Region) for the caller that includes the operation, and whose constraints the
        request's encryption context meets, allows it.
        """
        wanted = action or "kms:" + self.operation
        self.subject = key
        decision = key.compiled_policy().decide(self.principal, wanted, key.arn, self.condition)
        if decision == "allow":
            return
        if decision == "none" and key.grants:
            operation = wanted[4:]
            spec = key.shared.spec
            for grant in key.grants.values():
                if grant_allows(grant, self.principal, operation, self.encryption_context, spec):
                    return
        raise access_denied(self.principal, wanted, key.arn, decision)

    def condition(self, name: str) -> str | None:
        """The value of condition key ``name`` (lower case) in this request, if it has one."""
        if name.startswith("aws:"):
            if name == "aws:principalarn":
                return principal_arn(self.principal)
            if name == "aws:principalaccount":
                return self.account
            if name == "aws:requestedregion":
                return self.region
            if name == "aws:securetransport":
                return "true" if self.secure else "false"
            return None
        if name == "kms:calleraccount":
            return self.account
        subject = self.subject
        if subject is not None:
            facts = subject if isinstance(subject, KeyFacts) else KeyFacts.of(subject, self.now)
            if name == "kms:keyspec":
                return facts.spec
            if name == "kms:keyusage":
                return facts.usage
            if name == "kms:keyorigin":
                return facts.origin
            if name == "kms:multiregion":
                return "true" if facts.multi_region else "false"
            if name == "kms:multiregionkeytype":
                return facts.key_type
        return self.conditions.get(name)

    def check_state(self, key: KeyRecord, operation: str | None = None) -> str:
        """Raise the key-state table's error for this operation; return the key state."""
        state = key.key_state(self.now)
        check_key_state(operation or self.operation, state, key.arn)
        return state

    def use(
        self, ident: str, *, alias: bool = True, action: str | None = None, op: str | None = None
    ) -> KeyRecord:
        """Resolve, authorize and state-check a key for this operation."""
        key = self.resolve(ident, alias=alias)
        self.authorize(key, action)
        self.check_state(key, op)
        return key

    def new_key_id(self, multi_region: bool) -> str:
        """A key id no key of the caller's account has, in any Region."""
        for _attempt in range(100):
            raw = self.settings.random_bytes(16)
            if multi_region:
                key_id = "mrk-" + raw.hex()
            else:
                value = bytearray(raw)
                value[6] = (value[6] & 0x0F) | 0x40
                value[8] = (value[8] & 0x3F) | 0x80
                h = value.hex()
                key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if not self.store.key_id_taken(self.account, key_id):
                return key_id
        raise RuntimeError("the random source keeps repeating key ids")  # pragma: no cover

    def used(self, key: KeyRecord, operation: str) -> None:
        """Record a successful cryptographic operation with ``key`` (GetKeyLastUsage)."""
        raw = bytearray(self.settings.random_bytes(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        key.last_used = (operation, self.now, f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        self.store.touch(key)

    def nonce(self) -> bytes:
        return self.settings.random_bytes(_crypto.NONCE_SIZE)

    def costly(self, name: str, make: Callable[[], _T]) -> _T:
        """The result of ``make()``, made outside the lock: call once every check passed.

        The first time, raises :class:`Prepare`; the LocalKMS calls ``make`` without the lock
        and runs the handler again with the result here.
        """
        if name in self.prepared:
            made: _T = self.prepared[name]
            return made
        raise Prepare(name, make)


class Prepare(Exception):
    """Raised by a handler that needs ``make()`` run outside the lock before it goes on."""

    def __init__(self, name: str, make: Callable[[], Any]) -> None:
        super().__init__(name)
        self.name = name
        self.make = make
