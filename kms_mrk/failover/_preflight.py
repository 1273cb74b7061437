"""Preflight: every reason not to send UpdatePrimaryRegion, found before sending it.

KMS refuses UpdatePrimaryRegion one reason at a time; the preflight reads the key in the
primary's Region and the target Region and names every failed check at once, so a refused
promotion says everything that must be fixed. Check names are stable (scripts match them):

=============================  ==========================================================
``key_not_found``              the key does not exist where it was looked up
``not_multi_region``           a single-Region key has no other Region to move to
``no_replica_in_target``       the target Region holds no replica of the key
``source_not_enabled``         the primary is not ``Enabled`` (disabled, pending deletion...)
``target_not_enabled``         the replica in the target is not ``Enabled`` (or ``Creating``)
``updating``                   a change of primary is still in progress (``Updating``)
``regions_disagree``           the Regions name different primaries or replicas
``region_unreachable:<r>``     Region ``r`` could not be reached
``access_denied:<r>``          the caller may not read the key in Region ``r``
``read_failed:<r>``            reading the key in Region ``r`` failed otherwise
=============================  ==========================================================

Only the primary's and the target's Regions are required; a failure to read another
replica's Region is reported in the view but does not block the promotion.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from kms_mrk.errors import KmsMrkError

if TYPE_CHECKING:
    from kms_mrk import KMSClient
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._view import KeyView, RegionalKey

__all__ = [
    "PreflightCheck",
    "PreflightError",
    "PreflightResult",
    "evaluate",
    "preflight",
    "run_preflight",
]


@attrs.frozen(slots=True)
class PreflightCheck:
    """A failed check: its stable ``name`` and what was found, in words."""

    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name} ({self.detail})"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "detail": self.detail}


@attrs.frozen(slots=True, kw_only=True)
class PreflightResult:
    """The outcome of the checks for moving ``key_id``'s primary to ``to_region``.

    ``already_primary`` means there is nothing to do (the primary is there already);
    ``failures`` lists every failed check. ``view`` is what was read (None when even the
    first read failed).
    """

    key: str
    to_region: str
    view: KeyView | None
    failures: tuple[PreflightCheck, ...] = ()
    already_primary: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.failures)

    @property
    def from_region(self) -> str | None:
        return self.view.primary_region if self.view is not None else None

    def raise_for_failures(self) -> None:
        """Raise :class:`PreflightError` if any check failed."""
        if self.failures:
            raise PreflightError(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "to_region": self.to_region,
            "from_region": self.from_region,
            "ok": self.ok,
            "already_primary": self.already_primary,
            "failed_checks": [c.to_dict() for c in self.failures],
        }


class PreflightError(KmsMrkError):
    """A promotion was refused before anything was sent; every failed check is listed.

    ``checks`` holds the failed :class:`PreflightCheck` objects, ``names`` their names,
    ``view`` the key as read (or None) and ``result`` the whole :class:`PreflightResult`.
    """

    def __init__(self, result: PreflightResult) -> None:
        self.result = result
        self.checks = result.failures
        self.names = result.names
        self.view = result.view
        self.key = result.key
        self.to_region = result.to_region
        count = len(self.checks)
        noun = "check" if count == 1 else "checks"
        listed = "; ".join(str(c) for c in self.checks)
        super().__init__(
            f"Preflight refused moving the primary of {_short(result.key)} to "
            f"{result.to_region}: {count} {noun} failed: {listed}"
        )


def _short(key: str) -> str:
    return key.rsplit("/", 1)[-1] if key.startswith("arn:") else key


def _read_failure(key: RegionalKey) -> PreflightCheck:
    if key.error == "unreachable":
        name = f"region_unreachable:{key.region}"
    elif key.error == "access_denied":
        name = f"access_denied:{key.region}"
    else:
        name = f"read_failed:{key.region}"
    return PreflightCheck(name, key.error_message or str(key.error))


def first_read_failure(
    key: str, region: str, error: KmsMrkError, to_region: str
) -> PreflightResult:
    """The result when the very first read of ``key`` (in ``region``) failed."""
    from kms_mrk.failover._view import RegionalKey

    regional = RegionalKey.from_error(region, error)
    if regional.error == "not_found":
        check = PreflightCheck("key_not_found", f"{_short(key)} was not found in {region}")
    else:
        check = _read_failure(regional)
    return PreflightResult(key=key, to_region=to_region, view=None, failures=(check,))


def evaluate(view: KeyView, to_region: str, key: str | None = None) -> PreflightResult:
    """Run every check on an already-read view (no I/O)."""
    name = key or view.arn or view.key_id
    if not view.multi_region:
        return PreflightResult(
            key=name,
            to_region=to_region,
            view=view,
            failures=(
                PreflightCheck(
                    "not_multi_region",
                    f"{view.key_id} is a single-Region key; only multi-Region keys (mrk-...) "
                    "have a primary to move",
                ),
            ),
        )
    if not any(r.ok for r in view.regions):
        if all(r.error == "not_found" for r in view.regions):
            where = ", ".join(r.region for r in view.regions)
            check = PreflightCheck("key_not_found", f"{view.key_id} was not found in {where}")
            return PreflightResult(key=name, to_region=to_region, view=view, failures=(check,))
        return PreflightResult(
            key=name,
            to_region=to_region,
            view=view,
            failures=tuple(_read_failure(r) for r in view.regions if r.error != "not_found"),
        )
    failures: list[PreflightCheck] = []
    source_region = view.primary_region
    source = view.region(source_region)
    target = view.region(to_region)
    already = source_region == to_region
    for regional in (source, target):
        if regional is not None and not regional.ok and regional.error != "not_found":
            failures.append(_read_failure(regional))
    if source_region is None:
        failures.append(PreflightCheck("regions_disagree", "no Region named the primary"))
    elif source is not None and source.error == "not_found":
        failures.append(_read_failure(source))
    if not already and (
        to_region not in view.members or (target is not None and target.error == "not_found")
    ):
        held = ", ".join(view.members) or "none"
        failures.append(
            PreflightCheck(
                "no_replica_in_target",
                f"the key has no replica in {to_region} (its Regions: {held}); create one "
                "with ReplicateKey first",
            )
        )
    updating = [r.region for r in (source, target) if r is not None and r.updating]
    if not already and (updating or view.updating):
        where = ", ".join(updating or [r.region for r in view.regions if r.updating])
        failures.append(
            PreflightCheck(
                "updating",
                f"a change of primary is in progress ({where} Updating); wait for it to finish",
            )
        )
    if not already:
        if source is not None and source.ok and source.key_state not in ("Enabled", "Updating"):
            failures.append(
                PreflightCheck(
                    "source_not_enabled",
                    f"the primary in {source.region} is {source.key_state}",
                )
            )
        if target is not None and target.ok and target.key_state not in ("Enabled", "Updating"):
            failures.append(
                PreflightCheck(
                    "target_not_enabled",
                    f"the replica in {target.region} is {target.key_state}",
                )
            )
    disagreements = [p for p in view.problems if p.startswith("the Regions")]
    if disagreements and not view.updating:
        failures.append(PreflightCheck("regions_disagree", "; ".join(disagreements)))
    return PreflightResult(
        key=name,
        to_region=to_region,
        view=view,
        failures=tuple(failures),
        already_primary=already and not failures,
    )


def run_preflight(
    caller: Caller, key: str, to_region: str, regions: Sequence[str] | None = None
) -> PreflightResult:
    """Read ``key`` (every Region, or ``regions``) and run the checks."""
    from kms_mrk.failover._steps import run_sync

    return run_sync(run_preflight_steps(caller, key, to_region, regions), caller.sleep)


def run_preflight_steps(
    caller: Caller, key: str, to_region: str, regions: Sequence[str] | None = None
) -> Generator[Any, Any, PreflightResult]:
    """:func:`run_preflight` as a flow (see :mod:`kms_mrk.failover._steps`)."""
    from kms_mrk.failover._view import identify, read_view_steps

    ident = identify(key)
    home = ident.region or caller.default_region
    try:
        view = yield from read_view_steps(caller, key, regions)
    except KmsMrkError as error:
        if isinstance(error, ValueError):
            raise  # bad input, not a failed read
        return first_read_failure(key, home, error, to_region)
    if regions is not None and view.multi_region and view.primary_region not in regions:
        # The primary moved somewhere we did not look: read it too, so the checks see it.
        view = yield from read_view_steps(caller, key, [*regions, view.primary_region or to_region])
    return evaluate(view, to_region, key)


def preflight(client: KMSClient, key: str, to_region: str) -> PreflightResult:
    """Run the checks for moving ``key``'s primary to ``to_region``; nothing is changed.

    Returns the :class:`PreflightResult` (call :meth:`~PreflightResult.raise_for_failures`
    to turn failures into a :class:`PreflightError`).
    """
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._regions import check_region
    from kms_mrk.failover._view import identify

    check_region(to_region, "to_region")
    identify(key)  # a malformed key raises InvalidKeyIdentifierError before any I/O
    return run_preflight(Caller(client), key, to_region)
