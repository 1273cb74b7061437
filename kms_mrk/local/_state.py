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

All methods expect the caller to hold the LocalKMS lock.
"""

from __future__ import annotations

import base64
import datetime as _dt
import heapq
import math
from collections.abc import Iterator
from typing import Any, Final

from kms_mrk.errors import ConfigurationError
from kms_mrk.local._crypto import Material
from kms_mrk.local._keystores import CONNECTED, CustomKeyStore
from kms_mrk.local._policy import CompiledPolicy, compile_policy

__all__ = ["STATE_FORMAT", "Alias", "KeyRecord", "RegionState", "Shared", "StateFileError", "Store"]

STATE_FORMAT: Final = "kms-mrk-local-state"
STATE_VERSION: Final = 1
DAY: Final = 86400.0

ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
PENDING_DELETION: Final = "PendingDeletion"
PENDING_REPLICA_DELETION: Final = "PendingReplicaDeletion"
CREATING: Final = "Creating"
UPDATING: Final = "Updating"
UNAVAILABLE: Final = "Unavailable"


class StateFileError(ConfigurationError):
    """A state file could not be used: the message names the file and what is wrong."""


class Shared:
    """What related multi-Region keys share (or a single-Region key's own copy of it)."""

    __slots__ = (
        "account",
        "config_cache",
        "custom_key_store_id",
        "custom_store",
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
        "xks_key_id",
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
        #: the custom key store holding the key (Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE)
        self.custom_key_store_id: str | None = None
        #: that store (linked when the key is made or loaded; not written to the state file)
        self.custom_store: CustomKeyStore | None = None
        #: the external key's id in the external key manager (Origin EXTERNAL_KEY_STORE)
        self.xks_key_id: str | None = None

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
        custom = self.shared.custom_store
        if (
            custom is not None
            and self.state in (ENABLED, DISABLED)
            and custom.connection_state(now) != CONNECTED
        ):
            return UNAVAILABLE  # the key's custom key store is not connected
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
    """The keys, aliases and custom key stores of one account in one Region."""

    __slots__ = ("aliases", "custom_key_stores", "keys")

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.aliases: dict[str, Alias] = {}
        #: custom key stores by id, in creation order
        self.custom_key_stores: dict[str, CustomKeyStore] = {}


class Store:
    """Every account's keys, with the deletion timeline."""

    __slots__ = ("accounts", "next_event", "seq", "version")

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, RegionState]] = {}
        self.seq = 0
        self.version = 0
        self.next_event = math.inf

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

        The persistence layer writes what was touched, so a handler that changes a key it did
        not get through ``Ctx.resolve`` or :meth:`add_key` (a change made on the clock, say)
        calls this. A no-op until the SQLite store tracks it.
        """

    def touch_region(self, account: str, region: str) -> None:
        """Note that Region-level data of ``account`` in ``region`` other than keys changed
        (aliases, custom key stores). A no-op until the SQLite store tracks it."""

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
                primary.state = PENDING_DELETION
                primary.deletion_date = when + (primary.pending_window_days or 30) * DAY
                heapq.heappush(due, (primary.deletion_date, primary.seq, primary))
        self.next_event = due[0][0] if due else math.inf

    def _purge(self, key: KeyRecord) -> None:
        state = self.region(key.shared.account, key.region)
        state.keys.pop(key.key_id, None)
        for name in [n for n, a in state.aliases.items() if a.target == key.key_id]:
            del state.aliases[name]
        key.shared.members.pop(key.region, None)
        self.changed()

    # ------------------------------------------------------------------ persistence

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-ready data, key material included (base64)."""
        shared_ids: dict[int, int] = {}
        shared_out: list[dict[str, Any]] = []
        keys_out: list[dict[str, Any]] = []
        aliases_out: list[dict[str, Any]] = []
        stores_out: list[dict[str, Any]] = []
        for account, regions in self.accounts.items():
            for region, state in regions.items():
                for custom in state.custom_key_stores.values():
                    stores_out.append({"account": account, "region": region, **custom.dump()})
                for key in state.keys.values():
                    shared = key.shared
                    index = shared_ids.get(id(shared))
                    if index is None:
                        index = shared_ids[id(shared)] = len(shared_out)
                        shared_out.append(_dump_shared(shared))
                    keys_out.append(_dump_key(key, index))
                for alias in state.aliases.values():
                    aliases_out.append(
                        {
                            "account": account,
                            "region": region,
                            "name": alias.name,
                            "arn": alias.arn,
                            "target": alias.target,
                            "created": alias.created,
                            "updated": alias.updated,
                            "seq": alias.seq,
                        }
                    )
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "seq": self.seq,
            "shared": shared_out,
            "keys": keys_out,
            "aliases": aliases_out,
            "custom_key_stores": stores_out,
        }

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
                key = _load_key(raw, shared_list[raw["shared"]])
                store.add_key(key)
                if key.state == PENDING_DELETION and key.deletion_date is not None:
                    store.schedule(key.deletion_date)
            for raw in data["aliases"]:
                alias = Alias(
                    name=raw["name"],
                    arn=raw["arn"],
                    target=raw["target"],
                    created=float(raw["created"]),
                    seq=int(raw["seq"]),
                )
                alias.updated = float(raw["updated"])
                store.region(raw["account"], raw["region"]).aliases[alias.name] = alias
            for raw in data.get("custom_key_stores", ()):
                custom = CustomKeyStore.load(raw)
                place = store.region(str(raw["account"]), str(raw["region"]))
                place.custom_key_stores[custom.store_id] = custom
            for key in store.all_keys():
                wanted = key.shared.custom_key_store_id
                if wanted is not None and key.shared.custom_store is None:
                    place = store.region(key.shared.account, key.region)
                    key.shared.custom_store = place.custom_key_stores[wanted]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise StateFileError(
                f"{source} is damaged or from another program ({type(exc).__name__}: {exc})"
            ) from None
        return store


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
        "custom_key_store_id": shared.custom_key_store_id,
        "xks_key_id": shared.xks_key_id,
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
    shared.custom_key_store_id = raw.get("custom_key_store_id")
    shared.xks_key_id = raw.get("xks_key_id")
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
