"""The local KMS's state: accounts, Regions, keys, multi-Region key groups and aliases.

Model:

* ``Store.accounts[account][region]`` is a :class:`RegionState` holding that Region's keys
  (by key id, in creation order) and aliases (by alias name).
* Every key is a :class:`KeyRecord` (what is per Region: state, description, policy, tags,
  creation date) pointing at a :class:`Shared` (what related multi-Region keys share: key id,
  key spec, key usage, origin, key material, rotation settings, and for a multi-Region key the
  primary Region and the member keys by Region). A single-Region key has a Shared of its own.
* Grants belong to one key in one Region (:attr:`KeyRecord.grants`); a replica does not
  inherit the grants of its primary.
* Key material has versions: :attr:`Shared.materials` holds every material the key ever had
  (by key material id), :attr:`Shared.material` the current one, and :attr:`Shared.rotations`
  the rotations that made the others. Imported key material is per Region: each key of an
  ``EXTERNAL`` multi-Region key has its own import state (:attr:`KeyRecord.imported`,
  ``valid_to``), while the material itself, which must be the same everywhere, is shared.
* Timed states are derived, not stored: a replica is ``Creating`` while ``now <
  creating_until`` and a key is ``Updating`` while ``now < updating_until``; the stored
  ``state`` is the state it has outside those windows; a key whose origin is ``EXTERNAL`` is
  ``PendingImport`` while it has no (unexpired) imported material. Deletions, automatic
  rotations and the expiry of imported material are events on the clock: :meth:`Store.tick`
  deletes every key whose deletion date has passed, in date order, starts the waiting period
  of a primary key in ``PendingReplicaDeletion`` when its last replica goes, rotates keys
  whose rotation date has come and drops imported material whose ``ValidTo`` has passed.

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

from kms_mrk.arn import key_arn
from kms_mrk.errors import ConfigurationError
from kms_mrk.local import _crypto
from kms_mrk.local._crypto import Material
from kms_mrk.local._keystores import CONNECTED, CustomKeyStore
from kms_mrk.local._policy import CompiledPolicy, compile_policy

__all__ = [
    "STATE_FORMAT",
    "Alias",
    "Changes",
    "Grant",
    "ImportParameters",
    "KeyRecord",
    "RegionState",
    "Rotation",
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
UNAVAILABLE: Final = "Unavailable"
PENDING_IMPORT: Final = "PendingImport"
EXTERNAL: Final = "EXTERNAL"


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
        "materials",
        "members",
        "multi_region",
        "on_demand_rotations",
        "origin",
        "partition",
        "primary_region",
        "rotation_enabled",
        "rotation_period_days",
        "rotation_started",
        "rotations",
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
        #: when the current automatic-rotation period began (enabling, or the last rotation)
        self.rotation_started: float | None = None
        #: the custom key store holding the key (Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE)
        self.custom_key_store_id: str | None = None
        #: that store (linked when the key is made or loaded; not written to the state file)
        self.custom_store: CustomKeyStore | None = None
        #: the external key's id in the external key manager (Origin EXTERNAL_KEY_STORE)
        self.xks_key_id: str | None = None
        #: every key material of the key by key material id, the current one included
        self.materials: dict[str, Material] = {}
        if material.material_id:
            self.materials[material.material_id] = material
        #: completed rotations, oldest first
        self.rotations: list[Rotation] = []
        self.on_demand_rotations = 0

    def __repr__(self) -> str:
        return f"Shared(key_id={self.key_id!r}, regions={sorted(self.members)!r})"

    @property
    def next_rotation(self) -> float | None:
        """When automatic rotation next happens (None when it is off)."""
        if not self.rotation_enabled or self.rotation_started is None:
            return None
        return self.rotation_started + (self.rotation_period_days or 365) * DAY

    def catch_up(self, now: float) -> bool:
        """Rotate once, at ``now``, if automatic rotation fell due while the key could not
        rotate (disabled or pending deletion); whether it did."""
        due = self.next_rotation
        if due is None or due > now:
            return False
        self.rotate(_crypto.rotated_material(self.material, now), now, "AUTOMATIC")
        self.rotation_started = now
        return True

    def rotate(self, material: Material, when: float, kind: str) -> None:
        """Make ``material`` current; the older materials stay for decryption."""
        self.materials[material.material_id] = material
        self.material = material
        self.rotations.append(Rotation(material.material_id, when, kind))
        self.config_cache = None


class Rotation:
    """One completed rotation: the key material it made current, when, and how."""

    __slots__ = ("date", "kind", "material_id")

    def __init__(self, material_id: str, date: float, kind: str) -> None:
        self.material_id = material_id
        self.date = date
        self.kind = kind  # "AUTOMATIC" or "ON_DEMAND"


class Grant:
    """A grant on one key in one Region."""

    __slots__ = ("created", "equals", "grant_id", "grantee", "issuing_account", "name",
                 "operations", "retiring", "seq", "subset")  # fmt: skip

    def __init__(
        self,
        *,
        grant_id: str,
        grantee: str,
        operations: tuple[str, ...],
        created: float,
        issuing_account: str,
        seq: int,
        name: str | None = None,
        retiring: str | None = None,
        subset: dict[str, str] | None = None,
        equals: dict[str, str] | None = None,
    ) -> None:
        self.grant_id = grant_id
        self.grantee = grantee
        self.operations = operations
        self.created = created
        self.issuing_account = issuing_account
        self.seq = seq
        self.name = name
        self.retiring = retiring
        #: Constraints.EncryptionContextSubset / EncryptionContextEquals
        self.subset = subset
        self.equals = equals

    def __repr__(self) -> str:
        return f"Grant(grant_id={self.grant_id!r}, grantee={self.grantee!r})"

    def same_terms(self, other: Grant) -> bool:
        """Whether ``other`` grants exactly what this grant does (CreateGrant idempotency)."""
        return (
            self.name == other.name
            and self.grantee == other.grantee
            and self.retiring == other.retiring
            and sorted(self.operations) == sorted(other.operations)
            and self.subset == other.subset
            and self.equals == other.equals
        )


class ImportParameters:
    """What GetParametersForImport handed out: the wrapping key and its import token."""

    __slots__ = ("algorithm", "expires", "private_der", "spec", "token")

    def __init__(
        self, *, token: bytes, private_der: bytes, algorithm: str, spec: str, expires: float
    ) -> None:
        self.token = token
        self.private_der = private_der  # secret: never in a repr
        self.algorithm = algorithm
        self.spec = spec
        self.expires = expires

    def __repr__(self) -> str:
        return f"ImportParameters(algorithm={self.algorithm!r}, spec={self.spec!r})"


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
        "expiration_model",
        "grants",
        "import_parameters",
        "imported",
        "imported_at",
        "last_used",
        "pending_window_days",
        "policy",
        "region",
        "seq",
        "shared",
        "state",
        "tags",
        "updating_until",
        "valid_to",
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
        self.arn = key_arn(region, shared.account, shared.key_id, shared.partition)
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
        #: grants by grant id, in creation order
        self.grants: dict[str, Grant] = {}
        #: the last successful cryptographic operation: (operation, time, event id)
        self.last_used: tuple[str, float, str] | None = None
        #: imported key material (origin EXTERNAL): present here, since when, until when
        self.imported = False
        self.imported_at: float | None = None
        self.valid_to: float | None = None
        self.expiration_model: str | None = None
        self.import_parameters: ImportParameters | None = None
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
        state = self.state
        custom = self.shared.custom_store
        if (
            custom is not None
            and state in (ENABLED, DISABLED)
            and custom.connection_state(now) != CONNECTED
        ):
            return UNAVAILABLE  # the key's custom key store is not connected
        if (
            self.shared.origin == EXTERNAL
            and not self.has_material(now)
            and state not in (PENDING_DELETION, PENDING_REPLICA_DELETION)
        ):
            return PENDING_IMPORT
        return state

    def has_material(self, now: float) -> bool:
        """Whether the key can use its key material at ``now`` (imported and unexpired)."""
        if self.shared.origin != EXTERNAL:
            return True
        return self.imported and (self.valid_to is None or now < self.valid_to)

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
    """The keys, aliases and custom key stores of one account in one Region, and other
    Region-level data."""

    __slots__ = ("aliases", "custom_key_stores", "extras", "keys")

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.aliases: dict[str, Alias] = {}
        #: custom key stores by id, in creation order (saved by :func:`_dump_region`)
        self.custom_key_stores: dict[str, CustomKeyStore] = {}
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
        """Carry out every clock event due at or before ``now``: deletions (in date order),
        automatic rotations and the expiry of imported key material."""
        if now < self.next_event:
            return
        following = self._rotate_and_expire(now)
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
        self.next_event = min(due[0][0] if due else math.inf, following)

    def _rotate_and_expire(self, now: float) -> float:
        """Rotate every key whose automatic rotation is due (once per period that passed) and
        drop imported material whose ``ValidTo`` passed; the date of the next such event.

        Keys whose primary is not Enabled are skipped (and not scheduled): EnableKey
        catches up on them (:meth:`Shared.catch_up`). Automatically rotated material is
        derived from the material it replaces and the
        rotation date, so a rotation redone after a restart (if the state written before the
        restart predates it) makes the same material.
        """
        following = math.inf
        seen: set[int] = set()
        for key in list(self.all_keys()):
            shared = key.shared
            if id(shared) not in seen:
                seen.add(id(shared))
                when = shared.next_rotation
                primary = shared.members.get(shared.primary_region)
                if primary is None or primary.state != ENABLED:
                    # KMS does not rotate a disabled key or one pending deletion; EnableKey
                    # rotates it at once if a rotation fell due meanwhile.
                    when = None
                while when is not None and when <= now:
                    shared.rotate(
                        _crypto.rotated_material(shared.material, when), when, "AUTOMATIC"
                    )
                    shared.rotation_started = when
                    self.changed()
                    for member in shared.members.values():
                        self.touch(member)
                    when = shared.next_rotation
                if when is not None:
                    following = min(following, when)
            if key.imported and key.valid_to is not None:
                if key.valid_to <= now:
                    key.imported = False
                    key.imported_at = None
                    self.changed()
                    self.touch(key)
                else:
                    following = min(following, key.valid_to)
        return following

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
                rotation = key.shared.next_rotation
                if rotation is not None:
                    store.schedule(rotation)
                if key.imported and key.valid_to is not None:
                    store.schedule(key.valid_to)
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
            for key in store.all_keys():
                wanted = key.shared.custom_key_store_id
                if wanted is not None and key.shared.custom_store is None:
                    place = store.region(key.shared.account, key.region)
                    key.shared.custom_store = place.custom_key_stores[wanted]
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise StateFileError(
                f"{source} is damaged or from another program ({type(exc).__name__}: {exc})"
            ) from None
        return store


def _dump_material(material: Material) -> dict[str, Any]:
    return {
        "kind": material.kind,
        "id": material.material_id,
        "secret": base64.b64encode(material.secret).decode("ascii"),
    }


def _load_material(raw: dict[str, Any]) -> Material:
    return Material(raw["kind"], base64.b64decode(raw["secret"], validate=True), raw["id"])


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
    out: dict[str, Any] = {}
    if state.extras:
        out["extras"] = state.extras
    if state.custom_key_stores:
        out["custom_key_stores"] = [custom.dump() for custom in state.custom_key_stores.values()]
    return out


def _load_region(raw: dict[str, Any], state: RegionState) -> None:
    extras = raw.get("extras", {})
    if not isinstance(extras, dict):
        raise TypeError("a Region's extras must be an object")
    state.extras = extras
    stores = raw.get("custom_key_stores", [])
    if not isinstance(stores, list):
        raise TypeError("a Region's custom_key_stores must be a list")
    for item in stores:
        custom = CustomKeyStore.load(item)
        state.custom_key_stores[custom.store_id] = custom


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
        "custom_key_store_id": shared.custom_key_store_id,
        "xks_key_id": shared.xks_key_id,
        "rotation": {
            "enabled": shared.rotation_enabled,
            "period_days": shared.rotation_period_days,
            "started": shared.rotation_started,
            "on_demand": shared.on_demand_rotations,
            "done": [[r.material_id, r.date, r.kind] for r in shared.rotations],
        },
        # Older key materials (the current one is "material").
        "materials": [
            _dump_material(m) for m in shared.materials.values() if m is not shared.material
        ],
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
        material=_load_material(material),
        multi_region=bool(raw["multi_region"]),
        primary_region=raw["primary_region"],
    )
    shared.custom_key_store_id = raw.get("custom_key_store_id")
    shared.xks_key_id = raw.get("xks_key_id")
    rotation = raw["rotation"]
    shared.rotation_enabled = bool(rotation["enabled"])
    shared.rotation_period_days = rotation["period_days"]
    shared.rotation_started = rotation["started"]
    shared.on_demand_rotations = int(rotation.get("on_demand", 0))
    shared.rotations = [
        Rotation(str(mid), float(date), str(kind)) for mid, date, kind in rotation.get("done", [])
    ]
    older = [_load_material(m) for m in raw.get("materials", [])]
    shared.materials = {m.material_id: m for m in older}
    if shared.material.material_id:
        shared.materials[shared.material.material_id] = shared.material
    return shared


def _dump_grant(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.grant_id,
        "name": grant.name,
        "grantee": grant.grantee,
        "retiring": grant.retiring,
        "operations": list(grant.operations),
        "created": grant.created,
        "issuing_account": grant.issuing_account,
        "seq": grant.seq,
        "subset": grant.subset,
        "equals": grant.equals,
    }


def _load_grant(raw: dict[str, Any]) -> Grant:
    def context(value: Any) -> dict[str, str] | None:
        return None if value is None else {str(k): str(v) for k, v in value.items()}

    return Grant(
        grant_id=str(raw["id"]),
        name=raw["name"],
        grantee=str(raw["grantee"]),
        retiring=raw["retiring"],
        operations=tuple(str(op) for op in raw["operations"]),
        created=float(raw["created"]),
        issuing_account=str(raw["issuing_account"]),
        seq=int(raw["seq"]),
        subset=context(raw["subset"]),
        equals=context(raw["equals"]),
    )


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
        "grants": [_dump_grant(g) for g in key.grants.values()],
        "last_used": None if key.last_used is None else list(key.last_used),
        "import": {
            "imported": key.imported,
            "imported_at": key.imported_at,
            "valid_to": key.valid_to,
            "expiration_model": key.expiration_model,
            "parameters": (
                None
                if (params := key.import_parameters) is None
                else {
                    "token": base64.b64encode(params.token).decode("ascii"),
                    "private": base64.b64encode(params.private_der).decode("ascii"),
                    "algorithm": params.algorithm,
                    "spec": params.spec,
                    "expires": params.expires,
                }
            ),
        },
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
    grants = [_load_grant(g) for g in raw.get("grants", [])]
    key.grants = {g.grant_id: g for g in grants}
    used = raw.get("last_used")
    if used is not None:
        key.last_used = (str(used[0]), float(used[1]), str(used[2]))
    imported = raw.get("import")
    if imported is not None:
        key.imported = bool(imported["imported"])
        key.imported_at = imported["imported_at"]
        key.valid_to = imported["valid_to"]
        key.expiration_model = imported["expiration_model"]
        params = imported["parameters"]
        if params is not None:
            key.import_parameters = ImportParameters(
                token=base64.b64decode(params["token"], validate=True),
                private_der=base64.b64decode(params["private"], validate=True),
                algorithm=str(params["algorithm"]),
                spec=str(params["spec"]),
                expires=float(params["expires"]),
            )
    return key
