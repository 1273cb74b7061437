"""plan(): which multi-Region keys a Region failover would move, and why it skips the others.

A plan reads, never writes. For every multi-Region key listed in ``from_region``
(ListKeys), it reads the key there (DescribeKey) and, for keys that could move, the replica
in ``to_region``; tags (ListResourceTags) are read only when the filter asks for tags, and
aliases come from one ListAliases listing. Each key gets an action, ``promote`` or ``skip``,
and every skip a reason:

========================  ================================================================
``not_matched``           the filter (tags, alias prefixes, key ids) leaves it out
``already_in_target``     its primary is already in ``to_region`` (a rerun, or a resume)
``primary_elsewhere``     it is a replica here; its primary is in a third Region
``no_replica_in_target``  it has no replica in ``to_region``
``disabled``              the primary is ``Disabled``
``pending_deletion``      the primary is ``PendingDeletion`` or ``PendingReplicaDeletion``
``updating``              a change of primary is in progress
``not_enabled``           the primary is in another state that refuses the change
``target_not_enabled``    the replica in ``to_region`` is not ``Enabled`` (``Creating``...)
``read_failed``           the key could not be read (the detail says why)
========================  ================================================================

Single-Region keys are counted (``single_region_keys``) but not listed. A plan is data: it
converts to and from a JSON document (:meth:`Plan.to_dict`, :meth:`Plan.from_dict`), which
is how ``kms-mrk plan --output json`` hands a reviewed plan to ``kms-mrk failover-all --plan``.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from kms_mrk.arn import InvalidKeyIdentifierError, parse_key_identifier
from kms_mrk.errors import ConfigurationError, KmsMrkError

if TYPE_CHECKING:
    from kms_mrk import KMSClient
    from kms_mrk.failover._calls import Caller, RateLimiter
    from kms_mrk.failover._view import RegionalKey

__all__ = ["KeyFilter", "Plan", "PlanItem", "plan"]

PLAN_SCHEMA_VERSION: Final = 1
SKIP_REASONS: Final = (
    "not_matched",
    "already_in_target",
    "primary_elsewhere",
    "no_replica_in_target",
    "disabled",
    "pending_deletion",
    "updating",
    "not_enabled",
    "target_not_enabled",
    "read_failed",
)


def _tags(value: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        pairs = dict(value)
    else:
        pairs = {}
        for item in value:
            name, eq, tag_value = str(item).partition("=")
            if not eq or not name:
                raise ConfigurationError(f"tag filter {item!r} must look like KEY=VALUE")
            pairs[name] = tag_value
    for name, tag_value in pairs.items():
        if not isinstance(name, str) or not name or not isinstance(tag_value, str):
            raise ConfigurationError(
                f"tag filter keys must be non-empty strings and values strings; got {name!r}"
            )
    return pairs


def _alias_prefixes(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"alias prefixes must be non-empty strings; got {item!r}")
        out.append(item if item.startswith("alias/") else f"alias/{item}")
    return tuple(out)


def _key_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else list(value)
    out = set()
    for item in items:
        ident = parse_key_identifier(item)
        if ident.key_id is None:
            raise InvalidKeyIdentifierError(
                item, "the key id filter takes key ids or key ARNs, not aliases"
            )
        out.add(ident.key_id)
    return frozenset(out)


@attrs.frozen(slots=True, kw_only=True)
class KeyFilter:
    """Which keys a plan may move. Every criterion given must match (an empty one matches all).

    ``tags``: every tag must be on the key with that value (``{"team": "payments"}`` or
    ``["team=payments"]``). ``alias_prefixes``: some alias of the key (in the source Region)
    starts with one of them (``alias/`` is added when missing). ``key_ids``: the key is one
    of them (key ids or key ARNs).
    """

    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_tags)
    alias_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_alias_prefixes)
    key_ids: frozenset[str] = attrs.field(default=frozenset(), converter=_key_ids)

    @property
    def empty(self) -> bool:
        return not (self.tags or self.alias_prefixes or self.key_ids)

    def mismatch(
        self, key_id: str, aliases: Iterable[str], tags: Mapping[str, str] | None
    ) -> str | None:
        """Why the key does not match, or None when it does (``tags`` None: not read)."""
        if self.key_ids and key_id not in self.key_ids:
            return "its key id is not among the key ids asked for"
        if self.alias_prefixes and not any(
            a.startswith(p) for a in aliases for p in self.alias_prefixes
        ):
            return f"no alias starts with {' or '.join(self.alias_prefixes)}"
        if self.tags and tags is not None:
            wrong = [f"{k}={v}" for k, v in self.tags.items() if tags.get(k) != v]
            if wrong:
                return f"tags {', '.join(wrong)} not on the key"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tags": dict(self.tags),
            "alias_prefixes": list(self.alias_prefixes),
            "key_ids": sorted(self.key_ids),
        }


@attrs.frozen(slots=True, kw_only=True)
class PlanItem:
    """One key in a plan: ``action`` is ``promote`` or ``skip`` (then ``reason``, ``detail``)."""

    key_id: str
    arn: str | None
    action: str
    reason: str | None = None
    detail: str | None = None
    key_state: str | None = None
    primary_region: str | None = None
    replica_regions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "arn": self.arn,
            "action": self.action,
            "reason": self.reason,
            "detail": self.detail,
            "key_state": self.key_state,
            "primary_region": self.primary_region,
            "replica_regions": list(self.replica_regions),
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanItem:
        action = data.get("action")
        if action not in ("promote", "skip"):
            raise ConfigurationError(
                f"plan item action must be 'promote' or 'skip'; got {action!r}"
            )
        key_id = data.get("key_id")
        if not isinstance(key_id, str):
            raise ConfigurationError("plan item key_id must be a string")
        parse_key_identifier(key_id)
        arn = data.get("arn")
        if arn is not None:
            parse_key_identifier(arn)
        return cls(
            key_id=key_id,
            arn=arn,
            action=action,
            reason=data.get("reason"),
            detail=data.get("detail"),
            key_state=data.get("key_state"),
            primary_region=data.get("primary_region"),
            replica_regions=tuple(data.get("replica_regions") or ()),
            aliases=tuple(data.get("aliases") or ()),
        )


@attrs.frozen(slots=True, kw_only=True)
class Plan:
    """Every multi-Region key found in ``from_region``, with the action for each."""

    from_region: str
    to_region: str
    items: tuple[PlanItem, ...]
    key_filter: KeyFilter = attrs.field(factory=KeyFilter)
    created_at: str = ""
    single_region_keys: int = 0

    @property
    def to_promote(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.action == "promote")

    @property
    def skipped(self) -> tuple[PlanItem, ...]:
        return tuple(i for i in self.items if i.action == "skip")

    def counts(self) -> dict[str, int]:
        """``promote`` and ``skip`` totals, and the number of skips per reason."""
        out = {"promote": len(self.to_promote), "skip": len(self.skipped)}
        for item in self.skipped:
            key = f"skip:{item.reason}"
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The plan as a JSON document (``kms-mrk plan --output json``'s ``plan``)."""
        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "from_region": self.from_region,
            "to_region": self.to_region,
            "created_at": self.created_at,
            "filter": self.key_filter.to_dict(),
            "counts": self.counts(),
            "single_region_keys": self.single_region_keys,
            "items": [i.to_dict() for i in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Read a plan written by :meth:`to_dict` (or the whole ``kms-mrk plan`` document)."""
        if "plan" in data and isinstance(data["plan"], Mapping):
            data = data["plan"]
        version = data.get("schema_version")
        if version != PLAN_SCHEMA_VERSION:
            raise ConfigurationError(
                f"plan schema_version must be {PLAN_SCHEMA_VERSION}; got {version!r}"
            )
        for field in ("from_region", "to_region"):
            if not isinstance(data.get(field), str):
                raise ConfigurationError(f"plan {field} must be a Region name")
        items = data.get("items")
        if not isinstance(items, list):
            raise ConfigurationError("plan items must be a list")
        raw_filter = data.get("filter") or {}
        return cls(
            from_region=data["from_region"],
            to_region=data["to_region"],
            items=tuple(PlanItem.from_dict(i) for i in items),
            key_filter=KeyFilter(
                tags=raw_filter.get("tags") or {},
                alias_prefixes=raw_filter.get("alias_prefixes") or (),
                key_ids=raw_filter.get("key_ids") or (),
            ),
            created_at=str(data.get("created_at") or ""),
            single_region_keys=int(data.get("single_region_keys") or 0),
        )


_REASON_BY_STATE: Final = {
    "Disabled": "disabled",
    "PendingDeletion": "pending_deletion",
    "PendingReplicaDeletion": "pending_deletion",
    "Updating": "updating",
}


def _classify(key: RegionalKey, from_region: str, to_region: str) -> tuple[str, str] | None:
    """The skip reason and detail from the source Region's read, or None if it may move."""
    if not key.ok:
        return "read_failed", f"DescribeKey in {from_region}: {key.error} ({key.error_message})"
    if key.role != "PRIMARY" or key.primary_region != from_region:
        if key.primary_region == to_region:
            return "already_in_target", f"its primary is already in {to_region}"
        if key.key_state == "Updating":
            return "updating", f"a change of primary to {key.primary_region} is in progress"
        return "primary_elsewhere", f"its primary is in {key.primary_region}"
    if key.key_state in _REASON_BY_STATE:
        return _REASON_BY_STATE[key.key_state], f"the primary is {key.key_state}"
    if key.key_state != "Enabled":
        return "not_enabled", f"the primary is {key.key_state}"
    if to_region not in key.replica_regions:
        held = ", ".join(key.replica_regions) or "none"
        return "no_replica_in_target", f"no replica in {to_region} (replicas: {held})"
    return None


class _Planner:
    def __init__(
        self, caller: Caller, from_region: str, to_region: str, key_filter: KeyFilter
    ) -> None:
        self.caller = caller
        self.from_region = from_region
        self.to_region = to_region
        self.filter = key_filter
        self.aliases: dict[str, list[str]] = {}

    def list_keys(self) -> list[tuple[str, str | None]]:
        from kms_mrk import ListKeysCommand

        out: list[tuple[str, str | None]] = []
        command = ListKeysCommand(limit=1000)
        while True:
            page = self.caller.send(self.from_region, command)
            out.extend((k.key_id, k.key_arn) for k in page.keys or () if k.key_id)
            if not page.truncated or not page.next_marker:
                return out
            command = ListKeysCommand(limit=1000, marker=page.next_marker)

    def list_aliases(self) -> None:
        from kms_mrk import ListAliasesCommand

        command = ListAliasesCommand(limit=100)
        while True:
            page = self.caller.send(self.from_region, command)
            for alias in page.aliases or ():
                if alias.target_key_id and alias.alias_name:
                    self.aliases.setdefault(alias.target_key_id, []).append(alias.alias_name)
            if not page.truncated or not page.next_marker:
                return
            command = ListAliasesCommand(limit=100, marker=page.next_marker)

    def tags_of(self, arn: str) -> dict[str, str]:
        from kms_mrk import ListResourceTagsCommand

        tags: dict[str, str] = {}
        command = ListResourceTagsCommand(key_id=arn, limit=50)
        while True:
            page = self.caller.send(self.from_region, command)
            tags.update({t.tag_key: t.tag_value for t in page.tags or ()})
            if not page.truncated or not page.next_marker:
                return tags
            command = ListResourceTagsCommand(key_id=arn, limit=50, marker=page.next_marker)

    def item(self, key_id: str, arn: str | None) -> PlanItem:
        from kms_mrk.failover._view import arn_for, read_regional

        aliases = tuple(sorted(self.aliases.get(key_id, ())))
        name = arn or key_id

        def skip(reason: str, detail: str, source: RegionalKey | None = None) -> PlanItem:
            return PlanItem(
                key_id=key_id,
                arn=arn,
                action="skip",
                reason=reason,
                detail=detail,
                key_state=source.key_state if source else None,
                primary_region=source.primary_region if source else None,
                replica_regions=source.replica_regions if source else (),
                aliases=aliases,
            )

        early = self.filter.mismatch(key_id, aliases, None)
        if early is not None:
            return skip("not_matched", early)
        source = read_regional(self.caller, self.from_region, name)
        if self.filter.tags and source.ok:
            try:
                tags = self.tags_of(name)
            except KmsMrkError as error:
                if isinstance(error, ValueError):
                    raise
                return skip("read_failed", f"ListResourceTags in {self.from_region}: {error}")
            late = self.filter.mismatch(key_id, aliases, tags)
            if late is not None:
                return skip("not_matched", late, source)
        reason = _classify(source, self.from_region, self.to_region)
        if reason is not None:
            return skip(*reason, source)
        assert source.arn is not None
        target = read_regional(self.caller, self.to_region, arn_for(source.arn, self.to_region))
        if not target.ok:
            if target.error == "not_found":
                return skip("no_replica_in_target", f"no replica found in {self.to_region}", source)
            return skip(
                "read_failed",
                f"DescribeKey in {self.to_region}: {target.error} ({target.error_message})",
                source,
            )
        if target.key_state == "Updating":
            return skip("updating", f"the replica in {self.to_region} is Updating", source)
        if target.key_state != "Enabled":
            return skip(
                "target_not_enabled",
                f"the replica in {self.to_region} is {target.key_state}",
                source,
            )
        return PlanItem(
            key_id=key_id,
            arn=source.arn,
            action="promote",
            key_state=source.key_state,
            primary_region=source.primary_region,
            replica_regions=source.replica_regions,
            aliases=aliases,
        )


def plan(
    client: KMSClient,
    from_region: str,
    to_region: str,
    key_filter: KeyFilter | None = None,
    *,
    concurrency: int = 4,
    rate: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
) -> Plan:
    """Plan moving the primaries in ``from_region`` to ``to_region``; nothing is changed.

    Reads with up to ``concurrency`` threads and at most ``rate`` calls per second (None: no
    cap). See the module documentation for the skip reasons. Raises the error of ListKeys or
    ListAliases if the source Region cannot be listed; a key that cannot be read is skipped
    with reason ``read_failed``.
    """
    from kms_mrk.failover._calls import Caller

    caller = Caller(
        client,
        limiter=_limiter(rate, clock, sleep),
        sleep=sleep,
    )
    return plan_with(caller, from_region, to_region, key_filter, concurrency=concurrency, now=now)


def _limiter(
    rate: float | None, clock: Callable[[], float], sleep: Callable[[float], object]
) -> RateLimiter | None:
    from kms_mrk.failover._calls import RateLimiter

    return None if rate is None else RateLimiter(rate, clock=clock, sleep=sleep)


def check_regions(client: KMSClient, from_region: str, to_region: str) -> None:
    """Validate the two Regions before any I/O."""
    for name, region in (("from_region", from_region), ("to_region", to_region)):
        if not isinstance(region, str):
            raise ConfigurationError(f"{name} must be a Region name; got {region!r}")
        client.for_region(region)
    if from_region == to_region:
        raise ConfigurationError(f"from_region and to_region must differ; both are {from_region}")


def check_concurrency(concurrency: object) -> int:
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= 64
    ):
        raise ConfigurationError(
            f"concurrency must be an integer from 1 to 64; got {concurrency!r}"
        )
    return concurrency


def plan_with(
    caller: Caller,
    from_region: str,
    to_region: str,
    key_filter: KeyFilter | None,
    *,
    concurrency: int,
    now: Callable[[], float] = time.time,
) -> Plan:
    check_regions(caller.client, from_region, to_region)
    workers = check_concurrency(concurrency)
    chosen = key_filter if key_filter is not None else KeyFilter()
    if not isinstance(chosen, KeyFilter):
        raise ConfigurationError(f"key_filter must be a KeyFilter; got {type(chosen).__name__}")
    planner = _Planner(caller, from_region, to_region, chosen)
    created = _dt.datetime.fromtimestamp(now(), _dt.timezone.utc)
    listed = planner.list_keys()
    planner.list_aliases()
    candidates = [(k, a) for k, a in listed if k.startswith("mrk-")]
    items: list[PlanItem | None] = [None] * len(candidates)
    if workers == 1 or len(candidates) <= 1:
        for index, (key_id, arn) in enumerate(candidates):
            items[index] = planner.item(key_id, arn)
    else:
        _fan_out(planner, candidates, items, workers)
    return Plan(
        from_region=from_region,
        to_region=to_region,
        items=tuple(i for i in items if i is not None),
        key_filter=chosen,
        created_at=created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        single_region_keys=len(listed) - len(candidates),
    )


def _fan_out(
    planner: _Planner,
    candidates: list[tuple[str, str | None]],
    items: list[PlanItem | None],
    workers: int,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    position = iter(range(len(candidates)))

    def work() -> None:
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            key_id, arn = candidates[index]
            items[index] = planner.item(key_id, arn)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kms-mrk-plan") as pool:
        futures = [pool.submit(work) for _ in range(min(workers, len(candidates)))]
        for future in futures:
            future.result()
