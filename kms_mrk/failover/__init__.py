"""The Region failover toolkit: move the primary of multi-Region keys, one or a fleet.

::

    from kms_mrk.failover import promote, plan, run, drill, describe_view

    report = promote(client, "mrk-...", "eu-west-1")       # preflight, send, wait
    fleet = plan(client, "us-east-1", "eu-west-1")          # read-only: what would move
    summary = run(client, fleet, journal="failover.jsonl")  # resumable, rate-capped

Pieces:

- :func:`describe_view` / :class:`KeyView`: a key read in each of its Regions, and whether
  they agree; :func:`describe_in_region` / :class:`RegionalKey` for one Region;
  :class:`MalformedResponseError` for an answer that cannot be believed.
- :func:`preflight` / :class:`PreflightError`: every reason not to promote, named at once.
- :func:`promote` / :class:`PromotionReport`: one key, rerunnable (a no-op when done).
- :func:`plan` / :class:`Plan` / :class:`KeyFilter`: the keys of a Region, what happens to
  each and why.
- :func:`run` / :class:`RunSummary`: carry out a plan with bounded concurrency, a rate cap,
  throttling backoff and a :class:`Journal` that makes an interrupted run resumable.
- :func:`drill` / :class:`DrillReport`: promote, prove the Regions interoperate, fail back.
- :func:`check_region` / :func:`region_problem`: the one Region rule of the toolkit, the
  waiters and the command line (checked before any I/O).
- :func:`wait_for_replica_created`, :func:`wait_for_primary_region`,
  :func:`wait_for_pending_deletion`: the multi-Region waiters (also exported from
  ``kms_mrk``), built on the generic engine :func:`kms_mrk.waiters.poll_until`.

docs/failover.md is the operator's guide.
Names load on first use, so importing this package costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kms_mrk.failover._calls import RateLimiter as RateLimiter
    from kms_mrk.failover._drill import DrillReport as DrillReport
    from kms_mrk.failover._drill import DrillStep as DrillStep
    from kms_mrk.failover._drill import drill as drill
    from kms_mrk.failover._journal import Journal as Journal
    from kms_mrk.failover._journal import JournalError as JournalError
    from kms_mrk.failover._journal import JournalState as JournalState
    from kms_mrk.failover._journal import read_journal as read_journal
    from kms_mrk.failover._plan import KeyFilter as KeyFilter
    from kms_mrk.failover._plan import Plan as Plan
    from kms_mrk.failover._plan import PlanItem as PlanItem
    from kms_mrk.failover._plan import plan as plan
    from kms_mrk.failover._preflight import PreflightCheck as PreflightCheck
    from kms_mrk.failover._preflight import PreflightError as PreflightError
    from kms_mrk.failover._preflight import PreflightResult as PreflightResult
    from kms_mrk.failover._preflight import preflight as preflight
    from kms_mrk.failover._promote import PromotionReport as PromotionReport
    from kms_mrk.failover._promote import promote as promote
    from kms_mrk.failover._regions import check_region as check_region
    from kms_mrk.failover._regions import region_problem as region_problem
    from kms_mrk.failover._run import KeyOutcome as KeyOutcome
    from kms_mrk.failover._run import RunSummary as RunSummary
    from kms_mrk.failover._run import run as run
    from kms_mrk.failover._view import KeyView as KeyView
    from kms_mrk.failover._view import MalformedResponseError as MalformedResponseError
    from kms_mrk.failover._view import RegionalKey as RegionalKey
    from kms_mrk.failover._view import describe_in_region as describe_in_region
    from kms_mrk.failover._view import describe_view as describe_view
    from kms_mrk.failover._waiters import TOLERATED_ERRORS as TOLERATED_ERRORS
    from kms_mrk.failover._waiters import is_primary_change_complete as is_primary_change_complete
    from kms_mrk.failover._waiters import wait_for_pending_deletion as wait_for_pending_deletion
    from kms_mrk.failover._waiters import wait_for_primary_region as wait_for_primary_region
    from kms_mrk.failover._waiters import wait_for_replica_created as wait_for_replica_created

_LAZY: dict[str, str] = {
    "DrillReport": "kms_mrk.failover._drill",
    "DrillStep": "kms_mrk.failover._drill",
    "Journal": "kms_mrk.failover._journal",
    "JournalError": "kms_mrk.failover._journal",
    "JournalState": "kms_mrk.failover._journal",
    "KeyFilter": "kms_mrk.failover._plan",
    "KeyOutcome": "kms_mrk.failover._run",
    "KeyView": "kms_mrk.failover._view",
    "MalformedResponseError": "kms_mrk.failover._view",
    "Plan": "kms_mrk.failover._plan",
    "PlanItem": "kms_mrk.failover._plan",
    "PreflightCheck": "kms_mrk.failover._preflight",
    "PreflightError": "kms_mrk.failover._preflight",
    "PreflightResult": "kms_mrk.failover._preflight",
    "PromotionReport": "kms_mrk.failover._promote",
    "RateLimiter": "kms_mrk.failover._calls",
    "RegionalKey": "kms_mrk.failover._view",
    "RunSummary": "kms_mrk.failover._run",
    "describe_in_region": "kms_mrk.failover._view",
    "describe_view": "kms_mrk.failover._view",
    "drill": "kms_mrk.failover._drill",
    "plan": "kms_mrk.failover._plan",
    "preflight": "kms_mrk.failover._preflight",
    "promote": "kms_mrk.failover._promote",
    "check_region": "kms_mrk.failover._regions",
    "region_problem": "kms_mrk.failover._regions",
    "read_journal": "kms_mrk.failover._journal",
    "run": "kms_mrk.failover._run",
    "TOLERATED_ERRORS": "kms_mrk.failover._waiters",
    "is_primary_change_complete": "kms_mrk.failover._waiters",
    "wait_for_pending_deletion": "kms_mrk.failover._waiters",
    "wait_for_primary_region": "kms_mrk.failover._waiters",
    "wait_for_replica_created": "kms_mrk.failover._waiters",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kms_mrk.failover' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
