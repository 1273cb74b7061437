"""One multi-Region key seen from each of its Regions: :class:`KeyView` and :class:`RegionalKey`.

A multi-Region key is several KMS keys, one per Region, that share a key id and key
material. Each Region answers DescribeKey with its own key state and its own idea of which
Region holds the primary; after UpdatePrimaryRegion the Regions pass through ``Updating``
and, for a moment, may not agree. A view reads every Region concerned and says whether they
agree, so that nothing is concluded from one Region alone.

Reading never raises for a Region that fails: the failure is recorded in that Region's
:class:`RegionalKey` (``error``: ``not_found``, ``unreachable``, ``access_denied``,
``throttled``, ``unavailable``, or the KMS error code) and listed among the view's
``problems``. Only the first read of a key named by alias or in a single Region raises,
because without it nothing is known about the key.

Answers are checked before they are believed: a DescribeKey response without
``KeyMetadata``, with an ``Arn`` that is not the ARN of the key asked for in the Region
asked, or a multi-Region key whose Regions are not Region names, is a
:class:`MalformedResponseError` (a :class:`~kms_mrk.errors.ResponseParseError`: the
service's fault, never the caller's), recorded as the error ``bad_response``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from kms_mrk.arn import KeyIdentifier, arn_in_region, parse_key_identifier
from kms_mrk.errors import (
    AccessDeniedException,
    KmsMrkError,
    NotFoundException,
    ResponseParseError,
    ServiceException,
    TransportError,
)
from kms_mrk.failover._steps import Flow, run_sync
from kms_mrk.retries import is_throttling_error, is_transient_error

if TYPE_CHECKING:
    from kms_mrk import KeyMetadata, KMSClient
    from kms_mrk.failover._calls import Caller

__all__ = [
    "KeyView",
    "MalformedResponseError",
    "RegionalKey",
    "arn_for",
    "describe_in_region",
    "describe_view",
    "identify",
]


@functools.lru_cache(maxsize=8192)
def identify(key: str) -> KeyIdentifier:
    """:func:`kms_mrk.arn.parse_key_identifier`, remembered (a fleet parses each key often)."""
    return parse_key_identifier(key)


@functools.lru_cache(maxsize=8192)
def arn_for(arn: str, region: str) -> str:
    """:func:`kms_mrk.arn.arn_in_region`, remembered."""
    return arn_in_region(arn, region)


class MalformedResponseError(ResponseParseError):
    """KMS answered with a well-formed document that lacks what it always holds.

    For example a DescribeKey response without ``KeyMetadata``, or whose ``Arn`` is not the
    key ARN asked for. ``region`` is where the answer came from and ``reason`` what is wrong.
    """

    def __init__(
        self,
        reason: str,
        *,
        operation: str,
        region: str,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(
            reason, http_status=http_status, request_id=request_id, operation=operation
        )
        self.region = region
        details = [f"HTTP {http_status}" if http_status is not None else None]
        details.append(f"request id {request_id}" if request_id else "no request id")
        shown = ", ".join(d for d in details if d)
        self.args = (f"Unexpected {operation} response in {region}: {reason} ({shown})",)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@attrs.frozen(slots=True, kw_only=True)
class RegionalKey:
    """A multi-Region key as one Region reports it (DescribeKey there).

    ``role`` is ``PRIMARY`` or ``REPLICA`` and ``primary_region`` the Region this Region
    names as the primary. When the read failed, ``error`` says why (``not_found``,
    ``unreachable``, ``access_denied``, ``throttled``, ``unavailable`` or the KMS error code),
    ``error_message`` gives the detail and ``exception`` the exception itself.
    """

    region: str
    arn: str | None = None
    key_state: str | None = None
    role: str | None = None
    primary_region: str | None = None
    replica_regions: tuple[str, ...] = ()
    multi_region: bool | None = None
    key_usage: str | None = None
    key_spec: str | None = None
    request_id: str | None = None
    error: str | None = None
    error_message: str | None = None
    exception: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the Region answered DescribeKey."""
        return self.error is None

    @property
    def updating(self) -> bool:
        return self.key_state == "Updating"

    @property
    def members(self) -> tuple[str, ...]:
        """Every Region of the key as this Region reports it, the primary first."""
        if self.primary_region is None:
            return ()
        return (self.primary_region, *self.replica_regions)

    def summary(self, expected_primary: str | None = None) -> str:
        """One line: ``eu-west-1 PRIMARY Enabled`` or ``eu-west-1 unreachable``.

        The primary this Region names is added when it is neither this Region nor
        ``expected_primary``.
        """
        if self.error is not None:
            return f"{self.region} {self.error}"
        parts = [self.region, self.role or "SINGLE-REGION", self.key_state or "?"]
        if self.primary_region not in (None, self.region, expected_primary):
            parts.append(f"(primary {self.primary_region})")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``regions[]`` item of the CLI's JSON documents)."""
        return {
            "region": self.region,
            "arn": self.arn,
            "role": self.role,
            "key_state": self.key_state,
            "primary_region": self.primary_region,
            "replica_regions": list(self.replica_regions),
            "request_id": self.request_id,
            "error": self.error,
            "error_message": self.error_message,
        }

    @classmethod
    def from_metadata(
        cls, region: str, metadata: KeyMetadata, request_id: str | None = None
    ) -> RegionalKey:
        """Build from DescribeKey's ``KeyMetadata``, as answered in ``region``."""
        mrc = metadata.multi_region_configuration
        role = primary = None
        replicas: tuple[str, ...] = ()
        if mrc is not None:
            role = _text(mrc.multi_region_key_type)
            primary = mrc.primary_key.region if mrc.primary_key is not None else None
            replicas = tuple(sorted(r.region for r in mrc.replica_keys or () if r.region))
        return cls(
            region=region,
            arn=metadata.arn,
            key_state=_text(metadata.key_state),
            role=role,
            primary_region=primary,
            replica_regions=replicas,
            multi_region=metadata.multi_region,
            key_usage=_text(metadata.key_usage),
            key_spec=_text(metadata.key_spec or metadata.customer_master_key_spec),
            request_id=request_id,
        )

    @classmethod
    def from_error(cls, region: str, error: KmsMrkError, arn: str | None = None) -> RegionalKey:
        """Record a failed read of the key in ``region``."""
        return cls(
            region=region,
            arn=arn,
            error=error_kind(error),
            error_message=str(error),
            request_id=getattr(error, "request_id", None),
            exception=error,
        )


def error_kind(error: BaseException) -> str:
    """A short name for why a read failed (``RegionalKey.error``)."""
    if isinstance(error, ResponseParseError) and not is_transient_error(error):
        return "bad_response"
    if isinstance(error, NotFoundException):
        return "not_found"
    if isinstance(error, TransportError):
        return "unreachable"
    if isinstance(error, AccessDeniedException):
        return "access_denied"
    if is_throttling_error(error):
        return "throttled"
    if is_transient_error(error):
        return "unavailable"
    if isinstance(error, ServiceException):
        return error.code
    return type(error).__name__


@attrs.frozen(slots=True, kw_only=True)
class KeyView:
    """A multi-Region key across the Regions read: who is primary, and do they agree.

    ``primary_region`` is the Region most Regions name as primary; ``replica_regions`` the
    others they list. ``regions`` holds what each Region read reported, the primary's first.
    ``problems`` lists every disagreement or failed read, in words; :attr:`agree` is true
    when there is none.
    """

    key_id: str
    arn: str | None
    multi_region: bool
    primary_region: str | None
    replica_regions: tuple[str, ...]
    regions: tuple[RegionalKey, ...]
    problems: tuple[str, ...] = ()

    @property
    def agree(self) -> bool:
        """Whether every Region read answered and all tell the same story."""
        return not self.problems

    @property
    def updating(self) -> bool:
        """Whether any Region reports the key ``Updating``."""
        return any(r.updating for r in self.regions)

    @property
    def primary(self) -> RegionalKey | None:
        """The primary Region's report, if it was read."""
        return self.region(self.primary_region) if self.primary_region else None

    @property
    def members(self) -> tuple[str, ...]:
        """Every Region that holds the key, the primary first."""
        head = (self.primary_region,) if self.primary_region else ()
        return (*head, *self.replica_regions)

    def region(self, name: str | None) -> RegionalKey | None:
        """The report of Region ``name``, or None when it was not read."""
        return next((r for r in self.regions if r.region == name), None)

    def summary(self) -> str:
        """One line: the primary and each Region's role and state."""
        head = f"primary {self.primary_region or '?'}"
        return f"{head}: " + "; ".join(r.summary(self.primary_region) for r in self.regions)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``key`` object of ``kms-mrk status --output json``)."""
        return {
            "key_id": self.key_id,
            "arn": self.arn,
            "multi_region": self.multi_region,
            "primary_region": self.primary_region,
            "replica_regions": list(self.replica_regions),
            "agree": self.agree,
            "updating": self.updating,
            "problems": list(self.problems),
            "regions": [r.to_dict() for r in self.regions],
        }


# --------------------------------------------------------------------------- reading


def read_regional(caller: Caller, region: str, key: str) -> RegionalKey:
    """DescribeKey ``key`` in ``region``; a failure is recorded, not raised."""
    return run_sync(read_regional_steps(caller, region, key), caller.sleep)


def read_regional_steps(caller: Caller, region: str, key: str) -> Flow[RegionalKey]:
    """:func:`read_regional` as a flow (see :mod:`kms_mrk.failover._steps`)."""
    from kms_mrk import DescribeKeyCommand

    try:
        response = yield from caller.send_steps(region, DescribeKeyCommand(key_id=key))
    except KmsMrkError as error:
        if isinstance(error, ValueError):
            raise  # bad input (ParamValidationError, ConfigurationError): the caller's bug
        return RegionalKey.from_error(region, error, arn=key if key.startswith("arn:") else None)
    meta = response.metadata
    metadata = response.key_metadata
    if metadata is None:
        problem: str | None = "it has no KeyMetadata"
    else:
        problem = _metadata_problem(region, key, metadata)
        if problem is None:
            return RegionalKey.from_metadata(region, metadata, meta.request_id)
    malformed = MalformedResponseError(
        problem or "it has no KeyMetadata",
        operation="DescribeKey",
        region=region,
        request_id=meta.request_id,
        http_status=meta.http_status,
    )
    return RegionalKey.from_error(region, malformed, arn=key if key.startswith("arn:") else None)


def _metadata_problem(region: str, asked: str, metadata: KeyMetadata) -> str | None:
    """What makes DescribeKey's ``metadata`` (read in ``region``) unbelievable, or None."""
    from kms_mrk.arn import InvalidKeyIdentifierError
    from kms_mrk.failover._regions import region_problem

    arn = metadata.arn
    if not arn:
        return "KeyMetadata has no Arn"
    if not arn.startswith("arn:"):
        return f"KeyMetadata.Arn {arn[:100]!r} is not an ARN"
    try:
        parsed = identify(arn)
    except InvalidKeyIdentifierError as error:
        return f"KeyMetadata.Arn {arn!r} is not a key ARN: {error.rule}"
    if parsed.kind != "key_arn":
        return f"KeyMetadata.Arn {arn!r} is not a key ARN"
    if parsed.region != region:
        return f"KeyMetadata.Arn names Region {parsed.region}, but the key was read in {region}"
    try:
        wanted = identify(asked).key_id
    except InvalidKeyIdentifierError:
        wanted = None
    if wanted is not None and parsed.key_id != wanted:
        return f"KeyMetadata.Arn names key {parsed.key_id}, not {wanted} as asked"
    if metadata.key_id is not None and metadata.key_id != parsed.key_id:
        return f"KeyMetadata.KeyId {metadata.key_id} does not match its Arn"
    if not metadata.multi_region:
        return None
    mrc = metadata.multi_region_configuration
    if mrc is None or mrc.primary_key is None or not mrc.primary_key.region:
        return "a multi-Region key's KeyMetadata names no primary Region"
    if _text(mrc.multi_region_key_type) not in ("PRIMARY", "REPLICA"):
        return f"MultiRegionKeyType is {_text(mrc.multi_region_key_type)!r}, not PRIMARY or REPLICA"
    named: list[tuple[str, str | None]] = [("PrimaryKey.Region", mrc.primary_key.region)]
    named += [("ReplicaKeys[].Region", r.region) for r in mrc.replica_keys or ()]
    for field, value in named:
        problem = region_problem(value)
        if problem is not None:
            return f"MultiRegionConfiguration.{field} {value!r} is not a Region: {problem}"
    return None


def read_view(caller: Caller, key: str, regions: Sequence[str] | None = None) -> KeyView:
    """Read ``key`` in ``regions`` (default: every Region of the key); see :func:`describe_view`."""
    return run_sync(read_view_steps(caller, key, regions), caller.sleep)


def read_view_steps(
    caller: Caller, key: str, regions: Sequence[str] | None = None
) -> Flow[KeyView]:
    """:func:`read_view` as a flow (see :mod:`kms_mrk.failover._steps`)."""
    ident = identify(key)
    home = ident.region or caller.default_region
    reads: dict[str, RegionalKey] = {}
    if regions is None or ident.is_alias or not ident.is_multi_region:
        first = yield from read_regional_steps(caller, home, key)
        if not first.ok:
            raise first.exception or KmsMrkError(f"{home}: {first.error}: {first.error_message}")
        reads[home] = first
        arn = first.arn
        key_id = ident.key_id or (arn.rsplit("/", 1)[-1] if arn else key)
        if not first.multi_region or first.primary_region is None:
            return _assemble(key_id, arn, False, reads)
        wanted = list(first.members) if regions is None else list(regions)
    else:
        arn = str(ident.arn) if ident.arn is not None else None
        key_id = ident.key_id or key
        wanted = list(regions)
    for region in _unique(wanted):
        if region in reads:
            continue
        name = arn_for(arn, region) if arn is not None else key_id
        reads[region] = yield from read_regional_steps(caller, region, name)
    if arn is None:
        arn = next((r.arn for r in reads.values() if r.arn), None)
    return _assemble(key_id, arn, True, reads)


def read_around(caller: Caller, key: str, region: str, known: Iterable[str] = ()) -> KeyView:
    """Read ``key`` in ``region``, in ``known`` and in every Region any answer lists; see
    :func:`read_around_steps`."""
    return run_sync(read_around_steps(caller, key, region, known), caller.sleep)


def read_around_steps(
    caller: Caller, key: str, region: str, known: Iterable[str] = ()
) -> Flow[KeyView]:
    """Read ``key`` in ``region``, in ``known`` and in every Region any answer lists (a flow).

    ``key`` is a multi-Region key id or key ARN, so that it can be named in any Region.
    Unlike :func:`read_view`, no read raises: a failure in ``region`` is recorded like any
    other, and the Regions learned from earlier reads (``known``) are read anyway. Reading
    goes on until every Region named by an answer has been read once.
    """
    ident = identify(key)
    arn = str(ident.arn) if ident.arn is not None else None
    key_id = ident.key_id or key
    queue = _unique([region, *known])
    reads: dict[str, RegionalKey] = {}
    position = 0
    while position < len(queue):
        where = queue[position]
        position += 1
        read = yield from read_regional_steps(
            caller, where, arn_for(arn, where) if arn is not None else key_id
        )
        reads[where] = read
        queue.extend(m for m in read.members if m not in queue)
    if arn is None:
        arn = next((r.arn for r in reads.values() if r.arn), None)
    return _assemble(key_id, arn, True, reads)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _assemble(key_id: str, arn: str | None, multi: bool, reads: dict[str, RegionalKey]) -> KeyView:
    answered = [r for r in reads.values() if r.ok]
    problems: list[str] = [
        f"{r.region}: {r.error} ({r.error_message})"
        if r.error_message
        else f"{r.region}: {r.error}"
        for r in reads.values()
        if not r.ok
    ]
    if not multi:
        only = answered[0] if answered else None
        return KeyView(
            key_id=key_id,
            arn=arn,
            multi_region=False,
            primary_region=only.region if only else None,
            replica_regions=(),
            regions=tuple(reads.values()),
            problems=tuple(problems),
        )
    named: dict[str, int] = {}
    for r in answered:
        if r.primary_region:
            named[r.primary_region] = named.get(r.primary_region, 0) + 1
    primary = max(named, key=named.__getitem__) if named else None  # first of the most named
    if len(named) > 1:
        says = ", ".join(f"{r.region} says {r.primary_region}" for r in answered)
        problems.append(f"the Regions name different primaries: {says}")
    member_sets = {frozenset(r.members) for r in answered if r.members}
    if len(member_sets) > 1:
        problems.append("the Regions list different replicas")
    replicas: set[str] = set()
    for r in answered:
        replicas.update(r.members)
    if primary is not None:
        replicas.discard(primary)
        holder = reads.get(primary)
        if holder is not None and holder.ok and holder.role != "PRIMARY":
            problems.append(
                f"{primary} is named primary but reports itself {holder.role} "
                f"({holder.key_state}): a change of primary is in progress"
            )
    for r in answered:
        if r.region != primary and r.role == "PRIMARY":
            problems.append(f"{r.region} reports itself PRIMARY but the primary is {primary}")
    ordered = sorted(reads.values(), key=lambda r: (r.region != primary, r.region))
    return KeyView(
        key_id=key_id,
        arn=arn_for(arn, primary) if arn is not None and primary is not None else arn,
        multi_region=True,
        primary_region=primary,
        replica_regions=tuple(sorted(replicas)),
        regions=tuple(ordered),
        problems=tuple(problems),
    )


def describe_in_region(client: KMSClient, key: str) -> RegionalKey:
    """DescribeKey ``key`` in the client's Region, as a :class:`RegionalKey`.

    Never raises for a failed read (see the ``error`` field); raises
    :class:`~kms_mrk.arn.InvalidKeyIdentifierError` for a malformed ``key``.
    """
    from kms_mrk.failover._calls import Caller

    identify(key)
    return read_regional(Caller(client, throttle_retries=0), client.region, key)


def describe_view(client: KMSClient, key: str, *, regions: Sequence[str] | None = None) -> KeyView:
    """Read a multi-Region key in each of its Regions (or only in ``regions``).

    ``key`` is a key id, key ARN, alias name or alias ARN. Without ``regions`` the key is
    read first in the ARN's Region (or the client's), which tells every Region it lives in,
    then in each of those. With ``regions`` (and a multi-Region key id or ARN) only those
    Regions are read. Raises the first read's error (NotFoundException...) when the key
    cannot be found at all; later failures are recorded in the view.
    """
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._regions import check_region

    identify(key)
    if regions is not None:
        if isinstance(regions, str):
            regions = [regions]
        for index, region in enumerate(regions):
            check_region(region, f"regions[{index}]")
    return read_view(Caller(client, throttle_retries=0), key, regions)
