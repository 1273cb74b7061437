"""The commands of ``kms-mrk``: each returns an :class:`~kms_mrk.cli._types.Outcome`.

A command builds its result twice: a JSON body (documented in docs/cli.md) and the text of
the table output. Errors are raised and turned into exit statuses by ``_app``.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING, Any

from kms_mrk.cli import EXIT_OK, EXIT_PARTIAL, EXIT_TIMEOUT
from kms_mrk.cli._output import Progress, table
from kms_mrk.cli._types import DEMO_REFUSES, Outcome, Runtime, UsageError

if TYPE_CHECKING:
    from kms_mrk import KMSClient
    from kms_mrk.cli._session import Session
    from kms_mrk.failover import DrillStep, Journal, KeyOutcome, KeyView, Plan, RunSummary

__all__ = ["demo", "drill", "failover", "failover_all", "interrupted_note", "plan", "status"]

#: The largest ``--plan`` file read (a plan of 100,000 keys is about 40 MB).
MAX_PLAN_BYTES = 256 * 1024 * 1024


def view_table(view: KeyView, indent: str = "") -> str:
    """Region, role, state and primary of each Region read (and errors, when any)."""
    if any(r.error for r in view.regions):
        rows: list[tuple[object, ...]] = [
            (r.region, r.role, r.key_state, r.primary_region, r.error) for r in view.regions
        ]
        return table(("REGION", "ROLE", "STATE", "PRIMARY", "ERROR"), rows, indent=indent)
    rows = [(r.region, r.role, r.key_state, r.primary_region) for r in view.regions]
    return table(("REGION", "ROLE", "STATE", "PRIMARY"), rows, indent=indent)


def _view_text(view: KeyView) -> str:
    lines = [f"Key      {view.key_id}" + ("" if view.multi_region else "  (single-Region)")]
    if view.arn:
        lines.append(f"ARN      {view.arn}")
    if view.multi_region:
        lines.append(f"Primary  {view.primary_region or 'unknown'}")
    else:
        lines.append(f"Region   {view.primary_region or 'unknown'}")
    lines.append("")
    lines.append(view_table(view))
    lines.append("")
    if view.agree and not view.multi_region:
        lines.append("A single-Region key: it has no other Region, and no primary to move.")
    elif view.agree and len(view.regions) == 1:
        lines.append(f"A multi-Region key with no replicas: only {view.primary_region} holds it.")
    elif view.agree:
        lines.append(f"All {len(view.regions)} Regions agree.")
    else:
        lines.append("The Regions do not agree:")
        lines.extend(f"  - {p}" for p in view.problems)
    return "\n".join(lines)


def _poller(progress: Progress, rt: Runtime, what: str) -> Any:
    started = rt.clock()

    def on_poll(view: KeyView) -> None:
        states = ", ".join(
            f"{r.region} {r.error or (r.role or '?') + ' ' + (r.key_state or '?')}"
            for r in view.regions
        )
        progress.update(f"{what} {rt.clock() - started:5.1f}s  {states}")

    return on_poll


# --------------------------------------------------------------------------- status


def status(args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress) -> Outcome:
    from kms_mrk.failover import describe_view

    client = session.client(_region_of_key(args))
    view = describe_view(client, args.key)
    return Outcome(exit_code=EXIT_OK, body={"key": view.to_dict()}, text=_view_text(view))


def _region_of_key(args: argparse.Namespace) -> str | None:
    """Without --region, a key ARN's Region is where the key is looked up."""
    if args.region:
        return str(args.region)
    from kms_mrk.arn import parse_key_identifier

    return parse_key_identifier(args.key).region


# --------------------------------------------------------------------------- failover


def failover(
    args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress
) -> Outcome:
    from kms_mrk.failover import promote

    client = session.client(_region_of_key(args))
    report = promote(
        client,
        args.key,
        args.to,
        wait=not args.no_wait,
        timeout=args.timeout,
        dry_run=args.dry_run,
        sleep=rt.sleep,
        clock=rt.clock,
        on_poll=_poller(progress, rt, f"waiting for {args.to} to take over"),
    )
    lines = []
    short = report.key_id
    if report.status == "promoted":
        lines.append(
            f"Promoted {short}: primary {report.from_region} -> {report.to_region} in "
            f"{report.elapsed:.1f}s, confirmed from both Regions."
        )
    elif report.status == "sent":
        lines.append(
            f"Sent: {short} is moving from {report.from_region} to {report.to_region} "
            "(not waited for; check with `kms-mrk status`)."
        )
    elif report.status == "already_primary":
        lines.append(f"Nothing to do: the primary of {short} is already in {report.to_region}.")
    else:
        lines.append(
            f"Dry run: every check passed; {short} can move from {report.from_region} to "
            f"{report.to_region}. Nothing was changed."
        )
    if report.request_id:
        lines.append(f"UpdatePrimaryRegion request id: {report.request_id}")
    if report.note and report.status != "dry_run":
        lines.append(f"Note: {report.note}")
    if report.after is not None:
        lines += ["", view_table(report.after)]
    elif report.before is not None:
        label = {
            "sent": "Before the change (not waited for):",
            "dry_run": "Now:",
        }.get(report.status, "Before:")
        lines += ["", label, view_table(report.before)]
    return Outcome(exit_code=EXIT_OK, body={"result": report.to_dict()}, text="\n".join(lines))


# --------------------------------------------------------------------------- plan


def _key_filter(args: argparse.Namespace) -> Any:
    from kms_mrk.failover import KeyFilter

    return KeyFilter(tags=args.tag, alias_prefixes=args.alias_prefix, key_ids=args.key_id)


def _plan_text(the_plan: Plan) -> str:
    rows = [
        (i.key_id, i.action, i.reason, ", ".join(i.aliases), i.detail if i.reason else "")
        for i in the_plan.items
    ]
    counts = the_plan.counts()
    reasons = ", ".join(
        f"{k.split(':', 1)[1]} {v}" for k, v in sorted(counts.items()) if k.startswith("skip:")
    )
    lines = [f"Plan: move primaries from {the_plan.from_region} to {the_plan.to_region}"]
    if not the_plan.key_filter.empty:
        lines.append(f"Filter: {json.dumps(the_plan.key_filter.to_dict(), sort_keys=True)}")
    lines.append("")
    if rows:
        lines.append(table(("KEY ID", "ACTION", "REASON", "ALIASES", "DETAIL"), rows))
        lines.append("")
    summary = f"{counts['promote']} to promote, {counts['skip']} to skip"
    if reasons:
        summary += f" ({reasons})"
    if the_plan.single_region_keys:
        summary += f"; {the_plan.single_region_keys} single-Region keys ignored"
    lines.append(summary + ".")
    if counts["promote"]:
        lines.append(
            "Review it, then run it: kms-mrk failover-all --plan FILE --journal FILE "
            "(save the plan with --output json > FILE)."
        )
    return "\n".join(lines)


def plan(args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress) -> Outcome:
    from kms_mrk.failover import plan as make_plan

    key_filter = _key_filter(args)
    client = session.client(args.region or args.from_region)
    progress.update(f"reading the keys of {args.from_region}...")
    the_plan = make_plan(
        client,
        args.from_region,
        args.to_region,
        key_filter,
        concurrency=args.concurrency,
        rate=args.rate,
        sleep=rt.sleep,
        clock=rt.clock,
    )
    return Outcome(exit_code=EXIT_OK, body={"plan": the_plan.to_dict()}, text=_plan_text(the_plan))


# --------------------------------------------------------------------------- failover-all


def _load_plan(args: argparse.Namespace) -> Plan:
    from kms_mrk.arn import InvalidKeyIdentifierError
    from kms_mrk.errors import ConfigurationError
    from kms_mrk.failover import Plan

    if args.tag or args.alias_prefix or args.key_id:
        raise UsageError("--tag, --alias-prefix and --key-id make a new plan; not with --plan")
    from kms_mrk._json import JsonLimitError, loads_bounded

    try:
        with open(args.plan_file, "rb") as file:
            raw = file.read(MAX_PLAN_BYTES + 1)
    except OSError as error:
        raise UsageError(f"--plan {args.plan_file}: {error.strerror or error}") from None
    try:
        data = loads_bounded(raw, what="the file", max_depth=16, max_bytes=MAX_PLAN_BYTES)
    except JsonLimitError as error:
        raise UsageError(f"--plan {args.plan_file}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--plan {args.plan_file}: not a plan document")
    try:
        the_plan = Plan.from_dict(data)
    except (ConfigurationError, InvalidKeyIdentifierError) as error:
        raise UsageError(f"--plan {args.plan_file}: {error}") from None
    for option, given, planned in (
        ("--from", args.from_region, the_plan.from_region),
        ("--to", args.to_region, the_plan.to_region),
    ):
        if given and given != planned:
            raise UsageError(f"{option} {given} contradicts the plan's {planned}")
    return the_plan


def _summary_text(summary: RunSummary) -> str:
    counts = summary.counts()
    head = (
        f"failover-all {summary.from_region} -> {summary.to_region}: "
        f"{counts['promoted'] + counts['sent']} promoted, "
        f"{counts['already_promoted']} already there, {counts['skipped']} skipped, "
        f"{counts['failed']} failed"
    )
    if counts["not_started"]:
        head += f", {counts['not_started']} not started"
    head += f" in {summary.elapsed:.1f}s."
    lines = [head]
    attention = [o for o in summary.outcomes if o.status in ("failed", "not_started", "skipped")]
    if attention:
        lines.append("")
        lines.append(
            table(
                ("KEY ID", "STATUS", "REASON", "DETAIL"),
                [(o.key_id, o.status, o.reason, _short(o.detail)) for o in attention],
            )
        )
    if summary.journal:
        lines.append("")
        lines.append(f"Journal: {summary.journal} (run {summary.run_number})")
    if summary.failed or summary.not_started:
        hint = "Fix the causes above, then rerun"
        if summary.journal:
            hint += f" with --journal {summary.journal} --resume"
        lines.append(hint + ": promoted keys are never sent again.")
    return "\n".join(lines)


_REQUEST_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?<=request id )[^\s,;)]+"
)


def _short(text: str | None, limit: int = 100) -> str:
    """``text`` on one line, cut at a word boundary to about ``limit`` characters; request
    ids are never cut: one that falls in the part left out is added back whole."""
    if not text:
        return ""
    words = text.split()
    line = " ".join(words)
    if len(line) <= limit:
        return line
    kept: list[str] = []
    size = 0
    for word in words:
        if kept and size + 1 + len(word) > limit - 4:
            break
        kept.append(word)
        size += len(word) + (1 if size else 0)
    head = " ".join(kept)
    missing = [rid for rid in _REQUEST_ID.findall(line) if rid not in head]
    tail = f" (request id {', '.join(dict.fromkeys(missing))})" if missing else ""
    return f"{head} ...{tail}"


def failover_all(
    args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress
) -> Outcome:
    from kms_mrk.failover import Journal
    from kms_mrk.failover import plan as make_plan

    if args.resume and not args.journal:
        raise UsageError("--resume needs --journal FILE (the journal of the run to resume)")
    if not args.journal and rt.is_tty() and not args.quiet:
        rt.stderr.write(
            "kms-mrk failover-all: warning: no --journal: if this run is interrupted it cannot "
            "be resumed exactly; pass --journal FILE to record every step\n"
        )
        rt.stderr.flush()
    if args.plan_file:
        the_plan = _load_plan(args)
    else:
        if not args.from_region or not args.to_region:
            raise UsageError("give --from and --to (or --plan FILE)")
        the_plan = None
    from_region = the_plan.from_region if the_plan else args.from_region
    to_region = the_plan.to_region if the_plan else args.to_region
    if from_region == to_region:
        raise UsageError(f"--from and --to must differ; both are {from_region}")
    key_filter = None if the_plan else _key_filter(args)
    client = session.client(args.region or from_region)
    # The journal is opened (checked and locked) before the fleet is read, so that a wrong
    # path, a journal of another run or one in use is reported before any KMS call.
    journal = (
        Journal.open(
            args.journal,
            from_region=from_region,
            to_region=to_region,
            resume=args.resume,
            start=False,
        )
        if args.journal
        else None
    )
    try:
        if the_plan is None:
            progress.update(f"planning: reading the keys of {from_region}...")
            the_plan = make_plan(
                client,
                from_region,
                to_region,
                key_filter,
                concurrency=args.concurrency,
                rate=args.rate,
                sleep=rt.sleep,
                clock=rt.clock,
            )
        summary = _run_plan(args, rt, progress, client, the_plan, journal, session)
    finally:
        if journal is not None:
            journal.close()
    code = EXIT_OK if summary.ok else EXIT_PARTIAL
    return Outcome(exit_code=code, body={"summary": summary.to_dict()}, text=_summary_text(summary))


def _run_plan(
    args: argparse.Namespace,
    rt: Runtime,
    progress: Progress,
    client: KMSClient,
    the_plan: Plan,
    journal: Journal | None,
    session: Session,
) -> RunSummary:
    from kms_mrk.failover import run

    total = len(the_plan.items)
    seen: dict[str, int] = {}
    session.fleet_progress = (total, seen)  # for the note printed if Ctrl-C ends the run

    def on_outcome(outcome: KeyOutcome) -> None:
        seen[outcome.status] = seen.get(outcome.status, 0) + 1
        done = sum(seen.values())
        progress.update(
            f"[{done}/{total}] promoted {seen.get('promoted', 0) + seen.get('sent', 0)}, "
            f"failed {seen.get('failed', 0)}  (last: {outcome.key_id} {outcome.status})"
        )

    def on_interrupt(in_flight: int) -> None:
        progress.done()
        if progress.enabled:  # a person at a terminal pressed Ctrl-C: say what happens now
            keys = "key" if in_flight == 1 else "keys"
            rt.stderr.write(
                f"kms-mrk failover-all: interrupted: finishing the {in_flight} {keys} in "
                "flight, starting no more (Ctrl-C again to stop at once)\n"
            )
            rt.stderr.flush()

    return run(
        client,
        the_plan,
        concurrency=args.concurrency,
        rate=args.rate,
        journal=journal,
        wait=not args.no_wait,
        timeout=args.timeout,
        on_outcome=on_outcome,
        on_interrupt=on_interrupt,
        sleep=rt.sleep,
        clock=rt.clock,
    )


def interrupted_note(args: argparse.Namespace, session: Session | None = None) -> str:
    """What an interrupted failover-all did, and how to go on (empty for other commands)."""
    if getattr(args, "command", None) != "failover-all":
        return ""
    note = ""
    progress = session.fleet_progress if session is not None else None
    if progress is not None:
        total, seen = progress
        promoted = seen.get("promoted", 0) + seen.get("sent", 0)
        already = seen.get("already_promoted", 0)
        skipped = seen.get("skipped", 0)
        failed = seen.get("failed", 0)
        remaining = total - promoted - already - skipped - failed
        note = (
            f" after {promoted} promoted, {already} already there, {skipped} skipped, "
            f"{failed} failed, {remaining} remaining"
        )
    if getattr(args, "journal", None):
        return f"{note}; resume with --journal {args.journal} --resume"
    return f"{note}; no journal was kept: rerun failover-all (promoted keys are then already there)"


# --------------------------------------------------------------------------- drill


def drill(args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress) -> Outcome:
    from kms_mrk.failover import drill as run_drill

    client = session.client(_region_of_key(args))

    def on_step(step: DrillStep) -> None:
        progress.update(f"drill: {step.name} {'ok' if step.ok else 'FAILED'}")

    report = run_drill(
        client,
        args.key,
        args.to,
        timeout=args.timeout,
        sleep=rt.sleep,
        clock=rt.clock,
        on_poll=_poller(progress, rt, "drill: waiting"),
        on_step=on_step,
    )
    rows = [
        (index, s.name, "ok" if s.ok else "FAILED", f"{s.elapsed:.1f}s", _short(s.detail, 120))
        for index, s in enumerate(report.steps, start=1)
    ]
    verdict = "passed" if report.ok else "FAILED"
    lines = [
        f"Drill of {report.key_id}: {report.home_region} -> {report.to_region} -> "
        f"{report.home_region}: {verdict} in {report.elapsed:.1f}s",
        "",
        table(("#", "STEP", "RESULT", "TIME", "DETAIL"), rows),
    ]
    if report.final is not None:
        lines += ["", "Final state:", view_table(report.final)]
    code = EXIT_OK if report.ok else EXIT_TIMEOUT if report.timed_out else EXIT_PARTIAL
    return Outcome(exit_code=code, body={"drill": report.to_dict()}, text="\n".join(lines))


# --------------------------------------------------------------------------- demo


def demo(args: argparse.Namespace, session: Session, rt: Runtime, progress: Progress) -> Outcome:
    from kms_mrk.cli._demo import run_demo

    if args.local or args.state or args.endpoint_url or args.profile or args.region:
        raise UsageError(DEMO_REFUSES)
    return run_demo(args, rt)
