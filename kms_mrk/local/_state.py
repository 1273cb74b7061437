"""The local KMS's state: accounts, Regions, keys, multi-Region key groups and aliases.

Model:

* ``Store.accounts[account][region]`` is a :class:`RegionState` holding that Region's keys
  (by key id, in creation order) and aliases (by alias name).
* Every key is a :class:`KeyRecord` (what is per Region: state, description, policy, tags,
  creation date) pointing at a :class:`Shared` (what related multi-Region keys share: key id,
  key spec, key usage, origin, key material, rotation settings, and for a multi-Region key the
  primary Region and the member keys by Region). A single-Region key has a Shared of its own.
* Timed states are derived, not stored: a replica is ``Creating`` while ``now <
  creating_until`` and a key is ``Updating`` while ``now < updating_until``; the stored
  ``state`` is the state it has outside those windows. Deletions are events: :meth:`Store.tick`
  deletes every key whose deletion date has passed, in date order, and starts the waiting
  period of a primary key in ``PendingReplicaDeletion`` when its last replica goes.

Persistence (``--state kms.db``, see ``_persist.py``) writes only what changed: with
:attr:`Store.tracking` on, :meth:`Store.touch` (a key and its multi-Region group) and
:meth:`Store.touch_region` (aliases, :attr:`RegionState.extras`) record changes, and
:meth:`Store.take_changes` turns them into rows made by :func:`_dump_key`,
:func:`_dump_shared` and :func:`_dump_region`. Whatever those functions produce is saved, so
new fields need no schema change; :meth:`Store.load` reads them back.

All methods expect the caller to hold the LocalKMS lock.
"""

from __future__ import annotations

import base64
import datetime as _dt
import heapq
import json
import math
from collections.abc import Iterator
from typing import Any, Final

from kms_mrk.errors import ConfigurationError
from kms_mrk.local._crypto import Material
from kms_mrk.local._policy import CompiledPolicy, compile_policy

__all__ = [
    "STATE_FORMAT",
    "Alias",
    "Changes",
    "KeyRecord",
    "RegionState",
    "Shared",
    "StateFileError",
    "Store",
]

STATE_FORMAT: Final = "kms-mrk-local-state"
STATE_VERSION: Final = 1
DAY: Final = 86400.0

ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
PENDING_DELETION: Final = "PendingDeletion"
PENDING_REPLICA_DELETION: Final = "PendingReplicaDeletion"
CREATING: Final = "Creating"
UPDATING: Final = "Updating"


class StateFileError(ConfigurationError):
    """A state file could not be used: the message names the file and what is wrong."""


class Shared:
    """What related multi-Region keys share (or a single-Region key's own copy of it)."""

    __slots__ = (
        "account",
        "config_cache",
        "key_id",
        "material",
        "members",
        "multi_region",
        "origin",
        "partition",
        "primary_region",
        "rotation_enabled",
        "rotation_period_days",
        "rotation_started",
        "spec",
        "usage",
    )

    def __init__(
        self,
        *,
        key_id: str,
        account: str,
        partition: str,
        spec: str,
        usage: str,
        material: Material,
        multi_region: bool,
        primary_region: str,
        origin: str = "AWS_KMS",
    ) -> None:
        self.key_id = key_id
        self.account = account
        self.partition = partition
        self.spec = spec
        self.usage = usage
        self.origin = origin
        self.material = material
        self.multi_region = multi_region
        self.primary_region = primary_region
        self.members: dict[str, KeyRecord] = {}
        #: the multi-Region configuration entries of the group, kept by the handlers
        self.config_cache: tuple[Any, ...] | None = None
        self.rotation_enabled = False
        self.rotation_period_days: int | None = None
        self.rotation_started: float | None = None

    def __repr__(self) -> str:
        return f"Shared(key_id={self.key_id!r}, regions={sorted(self.members)!r})"


class KeyRecord:
    """One KMS key in one Region."""

    __slots__ = (
        "_compiled",
        "_created_at",
        "arn",
        "body_cache",
        "cache",
        "created",
        "creating_until",
        "deletion_date",
        "description",
        "pending_window_days",
        "policy",
        "region",
        "seq",
        "shared",
        "state",
        "tags",
        "updating_until",
    )

    def __init__(
        self,
        *,
        shared: Shared,
        region: str,
        created: float,
        description: str,
        policy: str,
        seq: int,
        state: str = ENABLED,
        creating_until: float = 0.0,
    ) -> None:
        self.shared = shared
        self.region = region
        self.arn = f"arn:{shared.partition}:kms:{region}:{shared.account}:key/{shared.key_id}"
        self.created = created
        self._created_at: _dt.datetime | None = None
        self.description = description
        self.policy = policy
        self._compiled: CompiledPolicy | None = None
        self.seq = seq
        self.state = state
        self.deletion_date: float | None = None
        self.pending_window_days: int | None = None
        self.creating_until = creating_until
        self.updating_until = 0.0
        self.tags: dict[str, str] = {}
        #: (fingerprint, valid until, DescribeKey response) kept by the DescribeKey handler
        self.cache: tuple[Any, float, Any] | None = None
        #: (fingerprint, valid until, DescribeKey body) kept by its wire-level handler
        self.body_cache: tuple[Any, float, bytes] | None = None

    @property
    def key_id(self) -> str:
        return self.shared.key_id

    def __repr__(self) -> str:
        return f"KeyRecord(arn={self.arn!r}, state={self.state!r})"

    def created_at(self) -> _dt.datetime:
        """The creation date as an aware datetime (made once)."""
        when = self._created_at
        if when is None:
            when = self._created_at = _dt.datetime.fromtimestamp(self.created, _dt.timezone.utc)
        return when

    def key_state(self, now: float) -> str:
        """The key state at ``now``, timed windows included."""
        if now < self.creating_until:
            return CREATING
        if now < self.updating_until:
            return UPDATING
        return self.state

    def is_primary(self, now: float) -> bool:
        """Whether DescribeKey shows this key as the primary at ``now``."""
        return (
            self.shared.multi_region
            and self.region == self.shared.primary_region
            and now >= self.updating_until
        )

    def compiled_policy(self) -> CompiledPolicy:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = compile_policy(self.policy)
        return compiled

    def set_policy(self, policy: str, compiled: CompiledPolicy | None = None) -> None:
        self.policy = policy
        self._compiled = compiled


class Alias:
    """An alias: a name in one account and Region pointing at one key there."""

    __slots__ = ("arn", "created", "name", "seq", "target", "updated")

    def __init__(self, *, name: str, arn: str, target: str, created: float, seq: int) -> None:
        self.name = name
        self.arn = arn
        self.target = target
        self.created = created
        self.updated = created
        self.seq = seq


class RegionState:
    """The keys and aliases of one account in one Region, and other Region-level data."""

    __slots__ = ("aliases", "extras", "keys")

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.aliases: dict[str, Alias] = {}
        #: other Region-level data (custom key stores...), JSON-ready: saved as it is by
        #: :func:`_dump_region`; call :meth:`Store.touch_region` after changing it
        self.extras: dict[str, Any] = {}


class Changes:
    """What changed since the last :meth:`Store.take_changes`, as rows to write.

    Each list holds (primary key..., data) with data ``None`` for a row to delete; the
    database applies a batch's deletions before its insertions.
    """

    __slots__ = ("aliases", "keys", "regions", "seq", "seq_changed", "shared")

    def __init__(self, seq: int, seq_changed: bool = False) -> None:
        self.seq = seq
        #: whether the sequence counter moved (written with the batch even without rows)
        self.seq_changed = seq_changed
        #: (account, region, key id, seq, JSON of _dump_key without "shared" | None)
        self.keys: list[tuple[str, str, str, int, str | None]] = []
        #: (account, key id, JSON of _dump_shared | None)
        self.shared: list[tuple[str, str, str | None]] = []
        #: (account, region, alias name, seq, JSON of the alias | None)
        self.aliases: list[tuple[str, str, str, int, str | None]] = []
        #: (account, region, JSON of _dump_region | None)
        self.regions: list[tuple[str, str, str | None]] = []

    def __len__(self) -> int:
        rows = len(self.keys) + len(self.shared) + len(self.aliases) + len(self.regions)
        return rows + self.seq_changed


class Store:
    """Every account's keys, with the deletion timeline."""

    __slots__ = (
        "_region_rows",
        "_taken_seq",
        "_touched_groups",
        "_touched_keys",
        "_touched_regions",
        "accounts",
        "next_event",
        "seq",
        "tracking",
        "version",
    )

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, RegionState]] = {}
        self.seq = 0
        self.version = 0
        self.next_event = math.inf
        #: whether touches are recorded (a persisted store); see :meth:`take_changes`
        self.tracking = False
        self._touched_groups: dict[int, Shared] = {}
        self._touched_keys: dict[tuple[str, str, str], None] = {}
        self._touched_regions: dict[tuple[str, str], None] = {}
        #: (account, region) -> (alias name -> JSON, Region JSON) as last taken: what
        #: touch_region compares with, so only aliases that changed are written
        self._region_rows: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}
        self._taken_seq = 0

    # ------------------------------------------------------------------ access

    def region(self, account: str, region: str) -> RegionState:
        regions = self.accounts.get(account)
        if regions is None:
            regions = self.accounts[account] = {}
        state = regions.get(region)
        if state is None:
            state = regions[region] = RegionState()
        return state

    def peek(self, account: str, region: str) -> RegionState | None:
        regions = self.accounts.get(account)
        return None if regions is None else regions.get(region)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def changed(self) -> None:
        self.version += 1

    def touch(self, key: KeyRecord) -> None:
        """Note that ``key`` (or what it shares with related multi-Region keys) changed.

        The persistence layer writes what was touched: the key's row, its group's shared row
        and the rows of every related key (so a change to one member that moves another, such
        as UpdatePrimaryRegion, needs one touch). A key that is no longer in its Region has
        its row deleted. A handler that changes a key it did not get through a mutating
        request's ``Ctx.resolve`` or :meth:`add_key` (a change made on the clock, say) calls
        this. Costs nothing without a state database.
        """
        if self.tracking:
            shared = key.shared
            self._touched_groups[id(shared)] = shared
            self._touched_keys[(shared.account, key.region, shared.key_id)] = None

    def touch_region(self, account: str, region: str) -> None:
        """Note that Region-level data of ``account`` in ``region`` other than keys changed
        (aliases, :attr:`RegionState.extras` such as custom key stores). Only aliases that
        differ from those last written are written again."""
        if self.tracking:
            self._touched_regions[(account, region)] = None

    def start_tracking(self) -> None:
        """Record touches from now on; what is in memory now counts as written."""
        self.tracking = True
        self._touched_groups.clear()
        self._touched_keys.clear()
        self._touched_regions.clear()
        self._taken_seq = self.seq
        self._region_rows = {
            (account, region): _region_rows(account, region, state)
            for account, regions in self.accounts.items()
            for region, state in regions.items()
        }

    def take_changes(self) -> Changes:
        """The rows that changed since the last call (what was touched), and forget them."""
        changes = Changes(self.seq, self.seq != self._taken_seq)
        self._taken_seq = self.seq
        groups, self._touched_groups = self._touched_groups, {}
        locations, self._touched_keys = self._touched_keys, {}
        regions, self._touched_regions = self._touched_regions, {}
        gone_groups: list[Shared] = []
        for shared in groups.values():
            for region in shared.members:
                locations[(shared.account, region, shared.key_id)] = None
            if shared.members:
                changes.shared.append((shared.account, shared.key_id, _dumps(_dump_shared(shared))))
            else:
                gone_groups.append(shared)
        for shared in gone_groups:
            # A group whose last key went, unless a live group took its id in the meantime.
            if not self.key_id_taken(shared.account, shared.key_id):
                changes.shared.append((shared.account, shared.key_id, None))
        for account, region, key_id in locations:
            state = self.peek(account, region)
            key = None if state is None else state.keys.get(key_id)
            if key is None:
                changes.keys.append((account, region, key_id, 0, None))
            else:
                row = _dump_key(key, 0)
                del row["shared"]
                changes.keys.append((account, region, key_id, key.seq, _dumps(row)))
        for account, region in regions:
            state = self.peek(account, region)
            aliases, extras = ({}, None) if state is None else _region_rows(account, region, state)
            before_aliases, before_extras = self._region_rows.get((account, region), ({}, None))
            for name, text in aliases.items():
                if before_aliases.get(name) != text:
                    seq = state.aliases[name].seq if state is not None else 0
                    changes.aliases.append((account, region, name, seq, text))
            for name in before_aliases:
                if name not in aliases:
                    changes.aliases.append((account, region, name, 0, None))
            if extras != before_extras:
                changes.regions.append((account, region, extras))
            self._region_rows[(account, region)] = (aliases, extras)
        return changes

    def all_keys(self) -> Iterator[KeyRecord]:
        for regions in self.accounts.values():
            for state in regions.values():
                yield from state.keys.values()

    def key_id_taken(self, account: str, key_id: str) -> bool:
        """Whether any Region of ``account`` holds a key with this id."""
        regions = self.accounts.get(account)
        return regions is not None and any(key_id in s.keys for s in regions.values())

    def add_key(self, key: KeyRecord) -> None:
        """Add a new key; ValueError if its Region already holds a key with its id."""
        keys = self.region(key.shared.account, key.region).keys
        if key.key_id in keys:
            raise ValueError(f"{key.region} already holds a key with the id {key.key_id}")
        keys[key.key_id] = key
        key.shared.members[key.region] = key
        self.touch(key)

    # ------------------------------------------------------------------ deletion timeline

    def schedule(self, when: float) -> None:
        """Note that something is due at ``when`` (a deletion date)."""
        self.next_event = min(self.next_event, when)

    def tick(self, now: float) -> None:
        """Carry out every deletion due at or before ``now``, in date order."""
        if now < self.next_event:
            return
        due: list[tuple[float, int, KeyRecord]] = [
            (key.deletion_date, key.seq, key)
            for key in self.all_keys()
            if key.state == PENDING_DELETION and key.deletion_date is not None
        ]
        heapq.heapify(due)
        while due and due[0][0] <= now:
            when, _seq, key = heapq.heappop(due)
            self._purge(key)
            shared = key.shared
            primary = shared.members.get(shared.primary_region) if shared.multi_region else None
            if (
                primary is not None
                and primary is not key
                and primary.state == PENDING_REPLICA_DELETION
                and len(shared.members) == 1
            ):
                # The last replica is gone: the primary's waiting period starts now.
                self.touch(primary)
                primary.state = PENDING_DELETION
                primary.deletion_date = when + (primary.pending_window_days or 30) * DAY
                heapq.heappush(due, (primary.deletion_date, primary.seq, primary))
        self.next_event = due[0][0] if due else math.inf

    def _purge(self, key: KeyRecord) -> None:
        self.touch(key)
        state = self.region(key.shared.account, key.region)
        state.keys.pop(key.key_id, None)
        doomed = [n for n, a in state.aliases.items() if a.target == key.key_id]
        if doomed:
            self.touch_region(key.shared.account, key.region)
        for name in doomed:
            del state.aliases[name]
        key.shared.members.pop(key.region, None)
        self.changed()

    # ------------------------------------------------------------------ persistence

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-ready data, key material included (base64).

        Accounts and Regions come in sorted order and keys and aliases in the order they were
        made (their ``seq``), so equal states dump equally however they were built (in
        memory, or loaded from a JSON file or from the state database).
        """
        shared_ids: dict[int, int] = {}
        shared_out: list[dict[str, Any]] = []
        keys_out: list[dict[str, Any]] = []
        aliases_out: list[dict[str, Any]] = []
        regions_out: list[dict[str, Any]] = []
        for account in sorted(self.accounts):
            regions = self.accounts[account]
            for region in sorted(regions):
                state = regions[region]
                for key in state.keys.values():
                    shared = key.shared
                    index = shared_ids.get(id(shared))
                    if index is None:
                        index = shared_ids[id(shared)] = len(shared_out)
                        shared_out.append(_dump_shared(shared))
                    keys_out.append(_dump_key(key, index))
                for alias in state.aliases.values():
                    aliases_out.append(_dump_alias(account, region, alias))
                extras = _dump_region(state)
                if extras:
                    regions_out.append({"account": account, "region": region, **extras})
        out: dict[str, Any] = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "seq": self.seq,
            "shared": shared_out,
            "keys": keys_out,
            "aliases": aliases_out,
        }
        if regions_out:
            out["regions"] = regions_out
        return out

    @classmethod
    def load(cls, data: Any, source: str = "state") -> Store:
        """Rebuild a store from :meth:`dump` output; StateFileError if it is not one."""
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateFileError(f"{source} is not a kms-mrk local KMS state file")
        if data.get("version") != STATE_VERSION:
            raise StateFileError(
                f"{source} has state format version {data.get('version')!r}; "
                f"this kms-mrk reads version {STATE_VERSION}"
            )
        store = cls()
        try:
            store.seq = int(data["seq"])
            shared_list = [_load_shared(s) for s in data["shared"]]
            for raw in data["keys"]:
                index = raw["shared"]
                if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                    raise ValueError(f"a key's shared index is {index!r}")
                key = _load_key(raw, shared_list[index])
                store.add_key(key)
                if key.state == PENDING_DELETION and key.deletion_date is not None:
                    store.schedule(key.deletion_date)
            for raw in data["aliases"]:
                alias = Alias(
                    name=str(raw["name"]),
                    arn=str(raw["arn"]),
                    target=str(raw["target"]),
                    created=float(raw["created"]),
                    seq=int(raw["seq"]),
                )
                alias.updated = float(raw["updated"])
                store.region(str(raw["account"]), str(raw["region"])).aliases[alias.name] = alias
            for raw in data.get("regions", ()):
                _load_region(raw, store.region(str(raw["account"]), str(raw["region"])))
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise StateFileError(
                f"{source} is damaged or from another program ({type(exc).__name__}: {exc})"
            ) from None
        return store


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _dump_alias(account: str, region: str, alias: Alias) -> dict[str, Any]:
    return {
        "account": account,
        "region": region,
        "name": alias.name,
        "arn": alias.arn,
        "target": alias.target,
        "created": alias.created,
        "updated": alias.updated,
        "seq": alias.seq,
    }


def _dump_region(state: RegionState) -> dict[str, Any]:
    """Region-level data other than keys and aliases, JSON-ready; empty when there is none.

    Helpers that add Region-level state extend this and :func:`_load_region` (or keep their
    data in :attr:`RegionState.extras`, saved as it is).
    """
    return {"extras": state.extras} if state.extras else {}


def _load_region(raw: dict[str, Any], state: RegionState) -> None:
    extras = raw.get("extras", {})
    if not isinstance(extras, dict):
        raise TypeError("a Region's extras must be an object")
    state.extras = extras


def _region_rows(
    account: str, region: str, state: RegionState
) -> tuple[dict[str, str], str | None]:
    """(alias name -> alias JSON, Region-level JSON or None): the rows of one Region."""
    aliases = {name: _dumps(_dump_alias(account, region, a)) for name, a in state.aliases.items()}
    extras = _dump_region(state)
    return aliases, (_dumps(extras) if extras else None)


def _dump_shared(shared: Shared) -> dict[str, Any]:
    material = shared.material
    return {
        "key_id": shared.key_id,
        "account": shared.account,
        "partition": shared.partition,
        "spec": shared.spec,
        "usage": shared.usage,
        "origin": shared.origin,
        "multi_region": shared.multi_region,
        "primary_region": shared.primary_region,
        "material": {
            "kind": material.kind,
            "id": material.material_id,
            "secret": base64.b64encode(material.secret).decode("ascii"),
        },
        "rotation": {
            "enabled": shared.rotation_enabled,
            "period_days": shared.rotation_period_days,
            "started": shared.rotation_started,
        },
    }


def _load_shared(raw: dict[str, Any]) -> Shared:
    material = raw["material"]
    shared = Shared(
        key_id=raw["key_id"],
        account=raw["account"],
        partition=raw["partition"],
        spec=raw["spec"],
        usage=raw["usage"],
        origin=raw["origin"],
        material=Material(
            material["kind"], base64.b64decode(material["secret"], validate=True), material["id"]
        ),
        multi_region=bool(raw["multi_region"]),
        primary_region=raw["primary_region"],
    )
    rotation = raw["rotation"]
    shared.rotation_enabled = bool(rotation["enabled"])
    shared.rotation_period_days = rotation["period_days"]
    shared.rotation_started = rotation["started"]
    return shared


def _dump_key(key: KeyRecord, shared_index: int) -> dict[str, Any]:
    return {
        "shared": shared_index,
        "region": key.region,
        "created": key.created,
        "description": key.description,
        "policy": key.policy,
        "seq": key.seq,
        "state": key.state,
        "deletion_date": key.deletion_date,
        "pending_window_days": key.pending_window_days,
        "creating_until": key.creating_until,
        "updating_until": key.updating_until,
        "tags": [[k, v] for k, v in key.tags.items()],
    }


def _load_key(raw: dict[str, Any], shared: Shared) -> KeyRecord:
    key = KeyRecord(
        shared=shared,
        region=raw["region"],
        created=float(raw["created"]),
        description=raw["description"],
        policy=raw["policy"],
        seq=int(raw["seq"]),
        state=raw["state"],
        creating_until=float(raw["creating_until"]),
    )
    key.deletion_date = raw["deletion_date"]
    key.pending_window_days = raw["pending_window_days"]
    key.updating_until = float(raw["updating_until"])
    key.tags = {str(k): str(v) for k, v in raw["tags"]}
    return key
