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
from kms_mrk.failover._regions import check_region

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


def _is_list_like(value: object) -> bool:
    """A list, tuple, set... (an iterable that is neither text, bytes nor a mapping)."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


def _tags(value: Mapping[str, str] | Iterable[str] | str | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        pairs = dict(value)
    elif not isinstance(value, str) and not _is_list_like(value):
        raise ConfigurationError(
            "tags must be a mapping {KEY: VALUE}, a 'KEY=VALUE' string or a list of them; "
            f"got {type(value).__name__}"
        )
    else:
        pairs = {}
        for item in [value] if isinstance(value, str) else value:
            if not isinstance(item, str):
                raise ConfigurationError(f"tag filter {item!r} must be a 'KEY=VALUE' string")
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


def _items(field: str, value: object) -> list[object]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or not _is_list_like(value):
        raise ConfigurationError(
            f"{field} must be a string or a list of strings; got {type(value).__name__}"
        )
    return list(value)


def _alias_prefixes(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = _items("alias_prefixes", value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"alias prefixes must be non-empty strings; got {item!r}")
        out.append(item if item.startswith("alias/") else f"alias/{item}")
    return tuple(out)


def _key_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    out = set()
    for item in _items("key_ids", value):
        if not isinstance(item, str):
            raise ConfigurationError(f"key_ids must hold key ids or key ARNs; got {item!r}")
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

    ``tags``: every tag must be on the key with that value (``{"team": "payments"}``,
    ``["team=payments"]``, or ``"team=payments"`` for one tag). ``alias_prefixes``: some
    alias of the key (in the source Region) starts with one of them (``alias/`` is added
    when missing). ``key_ids``: the key is one of them (key ids or key ARNs).
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
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "plan item", from_region: str | None = None
    ) -> PlanItem:
        """Read an item of :meth:`Plan.to_dict`; ConfigurationError names a wrong field.

        ``where`` prefixes field names in messages (``plan items[3]``). With
        ``from_region``, the item's ARN must be in that Region.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where} must be a JSON object; got {_kind(data)}")
        action = data.get("action")
        if action not in ("promote", "skip"):
            raise ConfigurationError(f"{where}.action must be 'promote' or 'skip'; got {action!r}")
        key_id = data.get("key_id")
        if not isinstance(key_id, str):
            raise ConfigurationError(f"{where}.key_id must be a key id; got {_kind(key_id)}")
        if not _is_key_id(key_id):
            raise ConfigurationError(
                f"{where}.key_id {key_id!r} is not a key id (mrk-... or a UUID)"
            )
        arn = _optional_str(data, "arn", where)
        if arn is not None:
            try:
                ident = parse_key_identifier(arn)
            except InvalidKeyIdentifierError as error:
                raise ConfigurationError(f"{where}.arn: {error}") from None
            if ident.kind != "key_arn" or ident.key_id != key_id:
                raise ConfigurationError(f"{where}.arn {arn!r} is not the ARN of key {key_id}")
            if from_region is not None and ident.region != from_region:
                raise ConfigurationError(
                    f"{where}.arn {arn!r} is not in the plan's from_region {from_region}"
                )
        reason = _optional_str(data, "reason", where)
        if action == "skip" and reason not in SKIP_REASONS:
            raise ConfigurationError(
                f"{where}.reason must be one of {', '.join(SKIP_REASONS)} for a skipped key; "
                f"got {reason!r}"
            )
        if action == "promote" and reason is not None:
            raise ConfigurationError(f"{where}.reason must be null for a key to promote")
        primary = _optional_str(data, "primary_region", where)
        if primary is not None:
            check_region(primary, f"{where}.primary_region")
        replicas = _str_list(data, "replica_regions", where)
        for index, region in enumerate(replicas):
            check_region(region, f"{where}.replica_regions[{index}]")
        return cls(
            key_id=key_id,
            arn=arn,
            action=action,
            reason=reason,
            detail=_optional_str(data, "detail", where),
            key_state=_optional_str(data, "key_state", where),
            primary_region=primary,
            replica_regions=tuple(replicas),
            aliases=tuple(_str_list(data, "aliases", where)),
        )


def _kind(value: object) -> str:
    """The JSON name of ``value``'s type, for messages."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return f"{name} ({value!r})" if kind in (str, bool) else name
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    return type(value).__name__


def _is_key_id(value: str) -> bool:
    try:
        return parse_key_identifier(value).kind == "key_id"
    except InvalidKeyIdentifierError:
        return False


def _optional_str(data: Mapping[str, Any], field: str, where: str) -> str | None:
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{where}.{field} must be a string or null; got {_kind(value)}")
    return value


def _str_list(data: Mapping[str, Any], field: str, where: str) -> list[str]:
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{where}.{field} must be an array of strings; got {_kind(value)}")
    return value


def _filter_from_dict(value: object) -> KeyFilter:
    if value is None:
        return KeyFilter()
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"plan filter must be a JSON object; got {_kind(value)}")
    tags = value.get("tags")
    if tags is not None and (
        not isinstance(tags, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
    ):
        raise ConfigurationError(
            f"plan filter.tags must be an object of strings {{KEY: VALUE}}; got {_kind(tags)}"
        )
    try:
        return KeyFilter(
            tags=tags or {},
            alias_prefixes=_str_list(value, "alias_prefixes", "plan filter"),
            key_ids=_str_list(value, "key_ids", "plan filter"),
        )
    except (ConfigurationError, InvalidKeyIdentifierError) as error:
        raise ConfigurationError(f"plan filter: {error}") from None


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
        """Read a plan written by :meth:`to_dict` (or the whole ``kms-mrk plan`` document).

        Every field is checked (types, Region names, key ids, skip reasons, no key listed
        twice); a problem raises :class:`~kms_mrk.errors.ConfigurationError` naming the
        field, such as ``plan items[3].replica_regions``.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"a plan must be a JSON object; got {_kind(data)}")
        if "plan" in data and isinstance(data["plan"], Mapping):
            data = data["plan"]
        version = data.get("schema_version")
        if version != PLAN_SCHEMA_VERSION or isinstance(version, bool):
            raise ConfigurationError(
                f"plan schema_version must be {PLAN_SCHEMA_VERSION}; got {version!r}"
            )
        from_region = check_region(data.get("from_region"), "plan from_region")
        to_region = check_region(data.get("to_region"), "plan to_region")
        if from_region == to_region:
            raise ConfigurationError(
                f"plan from_region and to_region must differ; both are {from_region}"
            )
        items = data.get("items")
        if not isinstance(items, list):
            raise ConfigurationError(f"plan items must be an array; got {_kind(items)}")
        parsed: list[PlanItem] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(items):
            item = PlanItem.from_dict(raw, where=f"plan items[{index}]", from_region=from_region)
            if item.key_id in seen:
                raise ConfigurationError(
                    f"plan items[{index}].key_id {item.key_id} is listed twice (also at "
                    f"items[{seen[item.key_id]}])"
                )
            seen[item.key_id] = index
            parsed.append(item)
        created = data.get("created_at")
        if created is not None and not isinstance(created, str):
            raise ConfigurationError(f"plan created_at must be a string; got {_kind(created)}")
        single = data.get("single_region_keys", 0)
        if isinstance(single, bool) or not isinstance(single, int) or single < 0:
            raise ConfigurationError(
                f"plan single_region_keys must be a whole number >= 0; got {_kind(single)}"
            )
        return cls(
            from_region=from_region,
            to_region=to_region,
            items=tuple(parsed),
            key_filter=_filter_from_dict(data.get("filter")),
            created_at=created or "",
            single_region_keys=single,
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

    def listing_problem(self, key_id: str, arn: str | None) -> str | None:
        """What is wrong with a ListKeys entry (a reply we cannot act on), or None."""
        from kms_mrk.failover._view import identify

        try:
            if identify(key_id).kind != "key_id":
                return f"KeyId {key_id[:100]!r} is not a key id"
            if arn is None:
                return None
            ident = identify(arn)
        except InvalidKeyIdentifierError as error:
            return f"malformed entry: {error}"
        if ident.kind != "key_arn" or ident.key_id != key_id or ident.region != self.from_region:
            return f"KeyArn {arn[:200]!r} is not the ARN of {key_id} in {self.from_region}"
        return None

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
        listed = self.listing_problem(key_id, arn)
        if listed is not None:
            return skip("read_failed", f"ListKeys in {self.from_region}: {listed}")
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
        target_name = arn_for(source.arn, self.to_region) if source.arn else key_id
        target = read_regional(self.caller, self.to_region, target_name)
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


def check_regions(from_region: object, to_region: object) -> None:
    """Validate the two Regions before any I/O."""
    check_region(from_region, "from_region")
    check_region(to_region, "to_region")
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
    check_regions(from_region, to_region)
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
    stopping = threading.Event()  # set on Ctrl-C or a failure: read no further key

    def work() -> None:
        while not stopping.is_set():
            with lock:
                index = next(position, None)
            if index is None:
                return
            key_id, arn = candidates[index]
            items[index] = planner.item(key_id, arn)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kms-mrk-plan") as pool:
        futures = [pool.submit(work) for _ in range(min(workers, len(candidates)))]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stopping.set()  # the pool's exit then waits only for the keys being read
            raise
