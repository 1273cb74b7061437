"""KMS key identifiers: key ids, key ARNs, alias names and alias ARNs; multi-Region key ids.

Pure functions, no I/O. KMS accepts a key in four forms::

    1234abcd-12ab-34cd-56ef-1234567890ab                                  key id
    mrk-1234abcd12ab34cd56ef1234567890ab                                  multi-Region key id
    arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab   key ARN
    alias/ExampleAlias                                                    alias name
    arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias                 alias ARN

The related keys of a multi-Region key (one primary, its replicas) share the ``mrk-`` key id,
the account and the partition; only the Region in their ARNs differs, which is what
:func:`arn_in_region` and :func:`same_multi_region_key` rely on.

Every malformed input raises :class:`InvalidKeyIdentifierError` (a ``ValueError``) naming
the input and the rule it breaks. Key ids are checked strictly (lowercase hexadecimal, as KMS
issues them), so that two spellings of one key never compare unequal by accident.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import attrs

from kms_mrk._service import REGION_MAX_LENGTH, REGION_RE
from kms_mrk.errors._base import KmsMrkError

__all__ = [
    "KNOWN_PARTITIONS",
    "InvalidKeyIdentifierError",
    "KeyArn",
    "KeyIdentifier",
    "KeyIdentifierKind",
    "alias_arn",
    "arn_in_region",
    "is_multi_region_key_id",
    "key_arn",
    "parse_arn",
    "parse_key_identifier",
    "partition_for_region",
    "same_multi_region_key",
]

KeyIdentifierKind = Literal["key_id", "key_arn", "alias_name", "alias_arn"]
ResourceType = Literal["key", "alias"]

# Region prefix -> partition; the most specific prefixes first.
_PARTITION_PREFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)
KNOWN_PARTITIONS: Final[frozenset[str]] = frozenset(
    {"aws", *(partition for _prefix, partition in _PARTITION_PREFIXES)}
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MRK = re.compile(r"mrk-[0-9a-f]{32}")
_HEX = frozenset("0123456789abcdefABCDEF")
_ALIAS_CHARS = re.compile(r"[A-Za-z0-9/_-]+")
_REGION = REGION_RE  # the KMS model's RegionType pattern
_ACCOUNT = re.compile(r"[0-9]{12}")
_PARTITION = re.compile(r"aws(?:-[a-z]+)*")

_ALIAS_PREFIX: Final = "alias/"
_AWS_MANAGED_PREFIX: Final = "alias/aws/"
_MAX_ALIAS_NAME: Final = 256  # "alias/" included
_MAX_REGION: Final = REGION_MAX_LENGTH
_MAX_ARN: Final = 2048
_SHOWN: Final = 100

_KEY_ID_RULE: Final = (
    "a key id is a UUID of lowercase hexadecimal digits grouped 8-4-4-4-12 (such as "
    "1234abcd-12ab-34cd-56ef-1234567890ab) or 'mrk-' followed by 32 hexadecimal digits"
)
_ARN_SHAPE: Final = "arn:<partition>:kms:<region>:<account id>:key/<key id> or ...:alias/<name>"


class InvalidKeyIdentifierError(KmsMrkError, ValueError):
    """A key id, key ARN, alias name, alias ARN or Region is malformed.

    ``value`` is the input (shortened in the message) and ``rule`` the rule it breaks.
    """

    def __init__(self, value: object, rule: str, *, what: str = "key identifier") -> None:
        self.value = value
        self.rule = rule
        super().__init__(f"Invalid {what} {_shown(value)}: {rule}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 4]}...{text[-1]}"


# --------------------------------------------------------------------------- rule checks
# Each returns None when the value is fine, else the rule it breaks.


def _key_id_problem(key_id: str) -> str | None:
    if _UUID.fullmatch(key_id) or _MRK.fullmatch(key_id):
        return None
    if key_id.startswith("mrk-"):
        digits = key_id[4:]
        rule = "a multi-Region key id is 'mrk-' followed by 32 hexadecimal digits"
        if len(digits) != 32:
            return f"{rule}; got {len(digits)} characters after 'mrk-'"
        bad = next((c for c in digits if c not in _HEX), None)
        if bad is not None:
            return f"{rule}; got the non-hexadecimal character {bad!r}"
        return f"{rule} in lowercase; got uppercase digits"
    if key_id.lower() != key_id and _UUID.fullmatch(key_id.lower()):
        return f"{_KEY_ID_RULE}; got uppercase digits"
    if not key_id:
        return "a key id must not be empty"
    return _KEY_ID_RULE


def _alias_problem(alias_name: str) -> str | None:
    """``alias_name`` includes the ``alias/`` prefix."""
    if not alias_name.startswith(_ALIAS_PREFIX):
        return "an alias name starts with 'alias/'"
    if len(alias_name) == len(_ALIAS_PREFIX):
        return "an alias name needs at least one character after 'alias/'"
    if len(alias_name) > _MAX_ALIAS_NAME:
        return (
            f"an alias name is at most {_MAX_ALIAS_NAME} characters, 'alias/' included; "
            f"got {len(alias_name)}"
        )
    if not _ALIAS_CHARS.fullmatch(alias_name):
        bad = next(c for c in alias_name if not _ALIAS_CHARS.fullmatch(c))
        return (
            f"an alias name may contain only ASCII letters, digits, '/', '_' and '-'; got {bad!r}"
        )
    return None


def _region_problem(region: str) -> str | None:
    if len(region) > _MAX_REGION or not _REGION.fullmatch(region):
        return (
            "a Region is lowercase words and a number joined by '-' (such as us-east-1 or "
            f"us-gov-west-1); got {_shown(region)}"
        )
    return None


def _partition_problem(partition: str, region: str | None) -> str | None:
    if not _PARTITION.fullmatch(partition):
        return (
            f"a partition is 'aws' or 'aws-' followed by lowercase words (such as aws-cn); "
            f"got {_shown(partition)}"
        )
    if region is not None and partition in KNOWN_PARTITIONS:
        expected = partition_for_region(region)
        if expected != partition:
            return f"Region {region} is in partition {expected!r}, not {partition!r}"
    return None


def _account_problem(account_id: str) -> str | None:
    if not _ACCOUNT.fullmatch(account_id):
        return f"an account id is 12 decimal digits; got {_shown(account_id)}"
    return None


def _resource_id_problem(resource_type: str, resource_id: str) -> str | None:
    if resource_type == "key":
        return _key_id_problem(resource_id)
    if resource_type == "alias":
        return _alias_problem(_ALIAS_PREFIX + resource_id)
    return f"the resource type is 'key' or 'alias'; got {_shown(resource_type)}"


# --------------------------------------------------------------------------- KeyArn


def _validate_arn_fields(arn: KeyArn) -> None:
    checks = (
        (
            "resource_type",
            None
            if arn.resource_type in ("key", "alias")
            else f"the resource type is 'key' or 'alias'; got {_shown(arn.resource_type)}",
        ),
        ("partition", _partition_problem(arn.partition, None)),
        ("region", _region_problem(arn.region)),
        ("account_id", _account_problem(arn.account_id)),
        ("resource_id", _resource_id_problem(arn.resource_type, arn.resource_id)),
        ("partition", _partition_problem(arn.partition, arn.region)),
    )
    for field, problem in checks:
        if problem is not None:
            raise InvalidKeyIdentifierError(getattr(arn, field), problem, what=f"KeyArn.{field}")


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidKeyIdentifierError(
            value, f"must be a string; got {type(value).__name__}", what=what
        )
    return value


def _reject_whitespace(text: str, what: str) -> None:
    if text != text.strip():
        raise InvalidKeyIdentifierError(
            text, "remove the leading or trailing whitespace", what=what
        )


@attrs.frozen(slots=True, kw_only=True)
class KeyArn:
    """The ARN of a KMS key or alias; ``str()`` gives the ARN back.

    ``resource_id`` is the key id for a key and the alias name without ``alias/`` for an
    alias (``arn:aws:kms:us-east-1:111122223333:alias/app`` has resource id ``app``).
    Every field is validated when the object is built.
    """

    partition: str
    region: str
    account_id: str
    resource_type: ResourceType
    resource_id: str

    def __attrs_post_init__(self) -> None:
        for name in ("partition", "region", "account_id", "resource_type", "resource_id"):
            _require_str(getattr(self, name), f"KeyArn.{name}")
        _validate_arn_fields(self)

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:kms:{self.region}:{self.account_id}:"
            f"{self.resource_type}/{self.resource_id}"
        )

    @property
    def key_id(self) -> str | None:
        """The key id for a key ARN; None for an alias ARN."""
        return self.resource_id if self.resource_type == "key" else None

    @property
    def alias_name(self) -> str | None:
        """``alias/<name>`` for an alias ARN; None for a key ARN."""
        return _ALIAS_PREFIX + self.resource_id if self.resource_type == "alias" else None

    @property
    def is_multi_region(self) -> bool:
        """Whether this is the ARN of a multi-Region key (its id starts with ``mrk-``)."""
        return self.resource_type == "key" and self.resource_id.startswith("mrk-")

    @property
    def is_aws_managed(self) -> bool:
        """Whether this is an alias in the ``alias/aws/`` namespace reserved for AWS."""
        return self.resource_type == "alias" and self.resource_id.startswith("aws/")

    def in_region(self, region: str) -> KeyArn:
        """The ARN of the same multi-Region key in ``region`` (see :func:`arn_in_region`)."""
        return _mrk_in_region(self, region, self)


def parse_arn(value: str) -> KeyArn:
    """Parse a KMS key ARN or alias ARN; raise :class:`InvalidKeyIdentifierError` if malformed."""
    what = "KMS ARN"
    text = _require_str(value, what)
    _reject_whitespace(text, what)
    if len(text) > _MAX_ARN:
        raise InvalidKeyIdentifierError(
            text, f"an ARN is at most {_MAX_ARN} characters; got {len(text)}", what=what
        )
    parts = text.split(":", 5)
    if parts[0] != "arn":
        raise InvalidKeyIdentifierError(
            text, f"an ARN starts with 'arn:' ({_ARN_SHAPE})", what=what
        )
    if len(parts) != 6:
        raise InvalidKeyIdentifierError(
            text,
            f"an ARN has six parts separated by ':' ({_ARN_SHAPE}); got {len(parts)}",
            what=what,
        )
    _arn, partition, service, region, account_id, resource = parts
    if service != "kms":
        raise InvalidKeyIdentifierError(
            text, f"the service of a KMS ARN is 'kms'; got {_shown(service)}", what=what
        )
    resource_type, slash, resource_id = resource.partition("/")
    if not slash or resource_type not in ("key", "alias"):
        raise InvalidKeyIdentifierError(
            text,
            "the resource of a KMS ARN is 'key/<key id>' or 'alias/<alias name>'; "
            f"got {_shown(resource)}",
            what=what,
        )
    try:
        return KeyArn(
            partition=partition,
            region=region,
            account_id=account_id,
            resource_type="key" if resource_type == "key" else "alias",
            resource_id=resource_id,
        )
    except InvalidKeyIdentifierError as error:
        raise InvalidKeyIdentifierError(text, error.rule, what=what) from None


# --------------------------------------------------------------------------- KeyIdentifier


@attrs.frozen(slots=True, kw_only=True)
class KeyIdentifier:
    """A parsed key identifier: which of the four forms it is, and its parts.

    Build it with :func:`parse_key_identifier`; ``str()`` gives the identifier back.
    ``alias_name`` keeps the ``alias/`` prefix, as KMS's ``AliasName`` does.
    """

    kind: KeyIdentifierKind
    key_id: str | None = None
    alias_name: str | None = None
    arn: KeyArn | None = None

    def __attrs_post_init__(self) -> None:
        expected = {
            "key_id": (True, False, False),
            "key_arn": (True, False, True),
            "alias_name": (False, True, False),
            "alias_arn": (False, True, True),
        }.get(self.kind)
        present = (self.key_id is not None, self.alias_name is not None, self.arn is not None)
        if expected is None or present != expected:
            raise InvalidKeyIdentifierError(
                self.kind,
                "use parse_key_identifier(); the parts given do not match this kind",
                what="KeyIdentifier kind",
            )

    def __str__(self) -> str:
        if self.arn is not None:
            return str(self.arn)
        return self.key_id if self.key_id is not None else str(self.alias_name)

    @property
    def is_alias(self) -> bool:
        """Whether this names an alias (which KMS resolves to a key in the caller's Region)."""
        return self.alias_name is not None

    @property
    def is_arn(self) -> bool:
        """Whether this is an ARN (and so names the Region and account)."""
        return self.arn is not None

    @property
    def is_multi_region(self) -> bool:
        """Whether this names a multi-Region key by its ``mrk-`` id."""
        return self.key_id is not None and self.key_id.startswith("mrk-")

    @property
    def is_aws_managed(self) -> bool:
        """Whether this is an alias in the ``alias/aws/`` namespace reserved for AWS."""
        return self.alias_name is not None and self.alias_name.startswith(_AWS_MANAGED_PREFIX)

    @property
    def region(self) -> str | None:
        """The Region of an ARN; None for a bare key id or alias name."""
        return self.arn.region if self.arn is not None else None

    @property
    def account_id(self) -> str | None:
        """The account of an ARN; None for a bare key id or alias name."""
        return self.arn.account_id if self.arn is not None else None


def parse_key_identifier(value: str) -> KeyIdentifier:
    """Parse any of the four forms KMS accepts for a key.

    Raises :class:`InvalidKeyIdentifierError` naming the input and the broken rule.
    """
    text = _require_str(value, "key identifier")
    _reject_whitespace(text, "key identifier")
    if text.startswith("arn:"):
        arn = parse_arn(text)
        if arn.resource_type == "key":
            return KeyIdentifier(kind="key_arn", key_id=arn.resource_id, arn=arn)
        return KeyIdentifier(kind="alias_arn", alias_name=arn.alias_name, arn=arn)
    if text.startswith(_ALIAS_PREFIX):
        problem = _alias_problem(text)
        if problem is not None:
            raise InvalidKeyIdentifierError(text, problem, what="alias name")
        return KeyIdentifier(kind="alias_name", alias_name=text)
    if text[:6].lower() == _ALIAS_PREFIX or text[:4].lower() == "arn:":
        prefix = "alias/" if text[:6].lower() == _ALIAS_PREFIX else "arn:"
        raise InvalidKeyIdentifierError(
            text, f"the {prefix!r} prefix is lowercase; got {text[: len(prefix)]!r}"
        )
    problem = _key_id_problem(text)
    if problem is not None:
        if problem == _KEY_ID_RULE:
            problem += (
                "; an alias name starts with 'alias/' and an ARN with 'arn:' (a key can be "
                "named by key id, key ARN, alias name or alias ARN)"
            )
        raise InvalidKeyIdentifierError(text, problem, what="key id")
    return KeyIdentifier(kind="key_id", key_id=text)


def _as_identifier(value: str | KeyArn | KeyIdentifier) -> KeyIdentifier:
    if isinstance(value, KeyIdentifier):
        return value
    if isinstance(value, KeyArn):
        if value.resource_type == "key":
            return KeyIdentifier(kind="key_arn", key_id=value.resource_id, arn=value)
        return KeyIdentifier(kind="alias_arn", alias_name=value.alias_name, arn=value)
    return parse_key_identifier(value)


# --------------------------------------------------------------------------- multi-Region keys


def is_multi_region_key_id(value: object) -> bool:
    """Whether ``value`` is a multi-Region key id (``mrk-`` + 32 hex digits) or its key ARN.

    Accepts a string, a :class:`KeyArn` or a :class:`KeyIdentifier` and never raises:
    anything else, malformed input included, gives False.
    """
    if isinstance(value, (KeyArn, KeyIdentifier)):
        return value.is_multi_region
    if not isinstance(value, str):
        return False
    if _MRK.fullmatch(value):
        return True
    if value.startswith("arn:"):
        try:
            return parse_arn(value).is_multi_region
        except InvalidKeyIdentifierError:
            return False
    return False


def _mrk_in_region(arn: KeyArn, region: str, shown: object) -> KeyArn:
    if arn.resource_type != "key":
        raise InvalidKeyIdentifierError(
            shown,
            "an alias is not replicated with a multi-Region key; resolve it to the key's ARN "
            "(DescribeKey) first",
            what="multi-Region key ARN",
        )
    if not arn.is_multi_region:
        raise InvalidKeyIdentifierError(
            shown,
            f"key {arn.resource_id} is a single-Region key (a multi-Region key id starts "
            "with 'mrk-'); it has no copy in another Region",
            what="multi-Region key ARN",
        )
    target = _require_str(region, "Region")
    problem = _region_problem(target)
    if problem is not None:
        raise InvalidKeyIdentifierError(target, problem, what="Region")
    target_partition = partition_for_region(target)
    if arn.partition in KNOWN_PARTITIONS and target_partition != arn.partition:
        raise InvalidKeyIdentifierError(
            target,
            f"multi-Region keys stay in their partition; {target} is in {target_partition!r}, "
            f"the key in {arn.partition!r}",
            what="Region",
        )
    return attrs.evolve(arn, region=target)


def arn_in_region(arn: str | KeyArn, region: str) -> str:
    """The ARN of the same multi-Region key in ``region``.

    Raises :class:`InvalidKeyIdentifierError` for an alias, a single-Region key, a malformed
    Region or a Region of another partition.
    """
    parsed = arn if isinstance(arn, KeyArn) else parse_arn(arn)
    return str(_mrk_in_region(parsed, region, arn))


def same_multi_region_key(a: str | KeyArn | KeyIdentifier, b: str | KeyArn | KeyIdentifier) -> bool:
    """Whether ``a`` and ``b`` name related multi-Region keys (the same key in any Regions).

    Both must be multi-Region key ids or ARNs with the same ``mrk-`` id; when both are ARNs
    the partition and account must match too, while the Regions may differ. A single-Region
    key gives False. Aliases cannot be compared without asking KMS and raise
    :class:`InvalidKeyIdentifierError`, as does malformed input.
    """
    left, right = _as_identifier(a), _as_identifier(b)
    for ident, original in ((left, a), (right, b)):
        if ident.is_alias:
            raise InvalidKeyIdentifierError(
                original if not isinstance(original, (KeyArn, KeyIdentifier)) else str(original),
                "an alias can point at any key; resolve it to the key's ARN (DescribeKey) "
                "before comparing",
            )
    if not (left.is_multi_region and right.is_multi_region) or left.key_id != right.key_id:
        return False
    if left.arn is not None and right.arn is not None:
        return (
            left.arn.partition == right.arn.partition
            and left.arn.account_id == right.arn.account_id
        )
    return True


# --------------------------------------------------------------------------- building ARNs


def partition_for_region(region: str) -> str:
    """The partition a Region belongs to, from its name (``cn-north-1`` -> ``aws-cn``).

    Regions without a known prefix are taken to be in ``aws``; the name is not validated.
    """
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def key_arn(region: str, account_id: str, key_id: str, partition: str | None = None) -> str:
    """The ARN of key ``key_id``; the partition defaults to the Region's."""
    return str(
        KeyArn(
            partition=partition if partition is not None else _partition_of(region),
            region=region,
            account_id=account_id,
            resource_type="key",
            resource_id=key_id,
        )
    )


def alias_arn(region: str, account_id: str, alias_name: str, partition: str | None = None) -> str:
    """The ARN of an alias, given with or without its ``alias/`` prefix."""
    name = _require_str(alias_name, "alias name")
    return str(
        KeyArn(
            partition=partition if partition is not None else _partition_of(region),
            region=region,
            account_id=account_id,
            resource_type="alias",
            resource_id=name.removeprefix(_ALIAS_PREFIX),
        )
    )


def _partition_of(region: object) -> str:
    return partition_for_region(_require_str(region, "Region"))
