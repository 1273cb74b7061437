"""Parsing, dispatch and error handling of ``kms-mrk``; the commands live in ``_commands``,
the types they share with this module in ``_types`` and the clients in ``_session``.

Common options are accepted before or after the command name (``kms-mrk --local status K``
and ``kms-mrk status K --local`` mean the same). Every error ends as one line on standard
error (a traceback too with ``--debug``) and a documented exit status; with
``--output json`` standard output still gets exactly one JSON document, describing the error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import IO, Any, NoReturn

from kms_mrk.cli import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_PREFLIGHT,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from kms_mrk.cli._output import Progress, document, dumps, one_line
from kms_mrk.cli._session import Session
from kms_mrk.cli._types import DEMO_REFUSES, PROG, Outcome, Runtime, UsageError

__all__ = ["Outcome", "Runtime", "Session", "UsageError", "build_parser", "run_cli"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so main() controls the output."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, with the closest choice suggested ("stauts" -> "status").
        choices = action.choices
        if choices is not None and value not in choices:
            from kms_mrk.cli._suggest import suggest

            names = [str(choice) for choice in choices]
            message = f"invalid choice: {value!r} (choose from {', '.join(names)})"
            close = suggest(str(value), names)
            if close is not None:
                message += f"; did you mean {close!r}?"
            raise argparse.ArgumentError(action, message)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _region_type(value: str) -> str:
    """A Region name as KMS accepts it in ARNs and in UpdatePrimaryRegion's PrimaryRegion.

    The rule is the toolkit's (:func:`kms_mrk.failover.region_problem`), so the command
    line and the library accept the same names; a name whose words no known Region has
    (``eu-centrl-1``) is refused with the closest known Region as a suggestion.
    """
    from kms_mrk.failover import region_problem

    problem = region_problem(value)
    if problem is not None:
        from kms_mrk.cli._suggest import suggest

        close = suggest(value.lower(), _known_regions()) if value else None
        hint = f"; did you mean {close}?" if close else ""
        raise argparse.ArgumentTypeError(f"{value!r} is not a Region name: {problem}{hint}")
    from kms_mrk.cli._suggest import region_suggestion

    close = region_suggestion(value)
    if close is not None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a known Region; did you mean {close}?")
    return value


def _known_regions() -> frozenset[str]:
    from kms_mrk.cli._suggest import known_regions

    return known_regions()


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} must be a number > 0")
    return number


def _concurrency(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError(f"{value!r} must be from 1 to 64")
    return number


def _common(*, client: bool = True) -> _Parser:
    """The common options; ``client=False`` leaves out those that choose a KMS (for
    ``demo``, which always runs on its own embedded local KMS)."""
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    s = argparse.SUPPRESS
    if client:
        group.add_argument(
            "--region",
            type=_region_type,
            default=s,
            help="Region of the client (else AWS_REGION...)",
        )
        group.add_argument("--profile", default=s, help="named profile of the shared AWS config")
        group.add_argument("--endpoint-url", default=s, help="send every request to this URL")
        group.add_argument(
            "--local",
            action="store_true",
            default=s,
            help="use the embedded local KMS instead of AWS (in memory unless --state)",
        )
        group.add_argument(
            "--state",
            metavar="FILE",
            default=s,
            help="with --local: keep the local KMS state in FILE",
        )
    group.add_argument(
        "--output", choices=("table", "json"), default=s, help="table (default) or json"
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=s, help="no progress or notes on stderr"
    )
    group.add_argument(
        "--debug", action="store_true", default=s, help="log every call; tracebacks on errors"
    )
    return common


_DEFAULTS: dict[str, Any] = {
    "region": None,
    "profile": None,
    "endpoint_url": None,
    "local": False,
    "state": None,
    "output": "table",
    "quiet": False,
    "debug": False,
}

_EPILOG = """exit status: 0 success, 1 error, 2 usage error, 3 preflight refused,
4 partial failure, 5 timeout, 130 interrupted.
The full guide is installed with the command: `kms-mrk docs` (every command, option, exit
status and JSON document) and `kms-mrk docs failover` (the operator's guide)."""


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog=PROG,
        description="Fail over AWS KMS multi-Region keys between Regions, safely.",
        parents=[common],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    import kms_mrk

    parser.add_argument("--version", action="version", version=f"%(prog)s {kms_mrk.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    status = commands.add_parser(
        "status", parents=[common], help="show a multi-Region key in each of its Regions"
    )
    status.add_argument("key", metavar="KEY", help="key id, key ARN, alias name or alias ARN")

    failover = commands.add_parser(
        "failover", parents=[common], help="move one key's primary to another Region"
    )
    failover.add_argument("key", metavar="KEY", help="key id, key ARN, alias name or alias ARN")
    failover.add_argument(
        "--to", required=True, type=_region_type, metavar="REGION", help="the new primary Region"
    )
    failover.add_argument(
        "--no-wait", action="store_true", help="return once KMS accepted the change"
    )
    failover.add_argument(
        "--timeout", type=_positive_float, default=300.0, metavar="S", help="wait at most S (300)"
    )
    failover.add_argument(
        "--dry-run", action="store_true", help="run the checks only; change nothing"
    )

    plan = commands.add_parser(
        "plan", parents=[common], help="list what failover-all would do, and why (read-only)"
    )
    _fleet_arguments(plan)

    fleet = commands.add_parser(
        "failover-all",
        parents=[common],
        help="move the primary of every matching key from one Region to another",
    )
    _fleet_arguments(fleet, required=False)
    fleet.add_argument(
        "--plan",
        dest="plan_file",
        metavar="FILE",
        help="carry out this reviewed plan (`kms-mrk plan --output json > FILE`)",
    )
    fleet.add_argument("--journal", metavar="FILE", help="record every step in FILE (JSON lines)")
    fleet.add_argument(
        "--resume", action="store_true", help="continue the run recorded in --journal"
    )
    fleet.add_argument(
        "--timeout",
        type=_positive_float,
        default=300.0,
        metavar="S",
        help="wait at most S per key (300)",
    )
    fleet.add_argument(
        "--no-wait", action="store_true", help="do not wait for each key's change to finish"
    )

    drill = commands.add_parser(
        "drill", parents=[common], help="promote, test both Regions, fail back: a rehearsal"
    )
    drill.add_argument("key", metavar="KEY", help="key id, key ARN, alias name or alias ARN")
    drill.add_argument(
        "--to", required=True, type=_region_type, metavar="REGION", help="the Region to rehearse"
    )
    drill.add_argument(
        "--timeout", type=_positive_float, default=300.0, metavar="S", help="each wait (300)"
    )

    serve = commands.add_parser(
        "serve", help="serve the embedded local KMS over HTTP (for boto3, the AWS CLI...)"
    )
    from kms_mrk.local import add_serve_arguments

    add_serve_arguments(serve)

    demo = commands.add_parser(
        "demo",
        parents=[_common(client=False)],
        help="watch a key fail over and back on the local KMS",
    )
    demo.add_argument("--fast", action="store_true", help="no real delays (model time only)")

    docs = commands.add_parser(
        "docs", help="print the guide installed with kms-mrk (Markdown) and where it is"
    )
    from kms_mrk.cli._docs import TOPICS

    docs.add_argument(
        "topic",
        nargs="?",
        default="cli",
        choices=TOPICS,
        metavar="TOPIC",
        help=f"{' or '.join(TOPICS)} (default cli)",
    )
    return parser


def _fleet_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--from",
        dest="from_region",
        required=required,
        type=_region_type,
        metavar="REGION",
        help="the Region that holds the primaries now",
    )
    parser.add_argument(
        "--to",
        dest="to_region",
        required=required,
        type=_region_type,
        metavar="REGION",
        help="the Region to move them to",
    )
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="K=V",
        help="only keys with this tag (repeatable: all must match)",
    )
    parser.add_argument(
        "--alias-prefix",
        action="append",
        default=[],
        metavar="P",
        help="only keys with an alias starting with P (repeatable: any may match)",
    )
    parser.add_argument(
        "--key-id",
        action="append",
        default=[],
        metavar="ID",
        help="only these keys (key id or ARN; repeatable)",
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=4,
        metavar="N",
        help="keys worked on at once (4)",
    )
    parser.add_argument(
        "--rate",
        type=_positive_float,
        default=10.0,
        metavar="R",
        help="at most R KMS calls per second, planning included (10)",
    )


# --------------------------------------------------------------------------- running


def _exit_code_for(error: BaseException) -> int:
    from kms_mrk.arn import InvalidKeyIdentifierError
    from kms_mrk.errors import ConfigurationError, ParamValidationError
    from kms_mrk.failover import JournalError, PreflightError
    from kms_mrk.waiters import WaiterTimeoutError

    if isinstance(error, (UsageError, InvalidKeyIdentifierError, ParamValidationError)):
        return EXIT_USAGE
    if isinstance(error, ConfigurationError):
        return EXIT_USAGE
    if isinstance(error, JournalError) and error.reason in (
        "exists",
        "missing",
        "mismatch",
        "in_use",
        "not_journal",
        "corrupt",
    ):
        return EXIT_USAGE
    if isinstance(error, PreflightError):
        return EXIT_PREFLIGHT
    if isinstance(error, WaiterTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _error_body(error: BaseException) -> dict[str, Any]:
    from kms_mrk.failover import PreflightError
    from kms_mrk.waiters import WaiterTimeoutError

    text = str(error) or ("interrupted" if isinstance(error, KeyboardInterrupt) else "")
    body: dict[str, Any] = {"type": type(error).__name__, "message": one_line(text)}
    code = getattr(error, "code", None)
    if isinstance(code, str):
        body["code"] = code
    request_id = getattr(error, "request_id", None)
    if isinstance(request_id, str):
        body["request_id"] = request_id
    if isinstance(error, PreflightError):
        body["checks"] = [c.to_dict() for c in error.checks]
        body["key"] = error.view.to_dict() if error.view is not None else None
    if isinstance(error, WaiterTimeoutError):
        state = error.last_state
        to_dict = getattr(state, "to_dict", None)
        body["last_state"] = to_dict() if callable(to_dict) else error.last_state_text
        body["timeout_seconds"] = error.timeout
        body["elapsed_seconds"] = round(error.elapsed, 3)
        body["sent"] = error.sent
        body["request_id"] = error.request_id
    return body


def _hint(error: BaseException, session: Session | None = None) -> str:
    from kms_mrk.errors import NoCredentialsError, NoRegionError, TransportError

    if isinstance(error, NoRegionError):
        return " (pass --region, set AWS_REGION, or use --local)"
    if isinstance(error, NoCredentialsError):
        return " (configure AWS credentials, pass --profile, or use --local)"
    unreachable = isinstance(error, TransportError) or "region_unreachable" in str(error)
    if unreachable and session is not None and session.endpoint_url:
        # A leftover AWS_ENDPOINT_URL_KMS otherwise looks like an AWS outage.
        return f" (endpoint {session.endpoint_url} from {session.endpoint_source or 'settings'})"
    return ""


def run_cli(argv: list[str] | None = None, runtime: Runtime | None = None) -> int:
    """Parse ``argv``, run the command, print the result; return the exit status."""
    rt = runtime if runtime is not None else Runtime()
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except UsageError as error:
        if _command_in(arguments) == "demo" and "unrecognized arguments" in str(error):
            error = UsageError(f"{error}; {DEMO_REFUSES}")
        rt.stderr.write(f"{PROG}: error: {one_line(str(error))}\n")
        if _wants_json(arguments):
            body = {"error": _error_body(error)}
            rt.stdout.write(dumps(document(_command_in(arguments), EXIT_USAGE, **body)) + "\n")
        return EXIT_USAGE
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    if args.command == "serve":
        from kms_mrk.local import run_serve

        return run_serve(args)
    if args.command == "docs":
        from kms_mrk.cli._docs import print_docs

        return print_docs(args.topic, rt.stdout, rt.stderr)
    for name, value in _DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    if args.debug:
        _enable_debug_logging(rt.stderr)
    return _run_command(args, rt)


COMMANDS = ("status", "failover", "plan", "failover-all", "drill", "serve", "demo", "docs")


def _wants_json(arguments: list[str]) -> bool:
    """Whether ``--output json`` is in ``arguments`` (read before parsing, so that even a
    bad command line gets its JSON document)."""
    wanted = None
    for index, argument in enumerate(arguments):
        if argument == "--":
            break
        name, equals, value = argument.partition("=")
        if len(name) < 3 or not "--output".startswith(name):  # argparse takes "--out" too
            continue
        if equals:
            wanted = value
        elif index + 1 < len(arguments):
            wanted = arguments[index + 1]
    return wanted == "json"


def _command_in(arguments: list[str]) -> str | None:
    """The command named in ``arguments``, if any (for the JSON document of a usage error)."""
    return next((a for a in arguments if a in COMMANDS), None)


def _enable_debug_logging(stream: IO[str]) -> None:
    """Log the ``kms_mrk`` loggers to ``stream`` (once: a later call moves the handler)."""
    logger = logging.getLogger("kms_mrk")
    for old in [h for h in logger.handlers if getattr(h, "_kms_mrk_cli", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler._kms_mrk_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _run_command(args: argparse.Namespace, rt: Runtime) -> int:
    from kms_mrk.cli import _commands

    handler: Callable[[argparse.Namespace, Session, Runtime, Progress], Outcome] = {
        "status": _commands.status,
        "failover": _commands.failover,
        "plan": _commands.plan,
        "failover-all": _commands.failover_all,
        "drill": _commands.drill,
        "demo": _commands.demo,
    }[args.command]
    session = Session(args, rt)
    progress = Progress(rt.stderr, enabled=rt.is_tty() and not args.quiet)
    try:
        outcome = handler(args, session, rt, progress)
    except BrokenPipeError:
        raise  # the reader went away (`kms-mrk demo | head`): nothing left to tell it
    except (Exception, KeyboardInterrupt) as error:
        progress.done()
        code = _exit_code_for(error)
        if args.debug:
            import traceback

            traceback.print_exception(type(error), error, error.__traceback__, file=rt.stderr)
        message = "interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
        if code == EXIT_ERROR and not _is_ours(error):
            message = f"unexpected {type(error).__name__}: {message} (rerun with --debug)"
        interrupted = isinstance(error, KeyboardInterrupt)
        note = _commands.interrupted_note(args, session) if interrupted else ""
        hint = _hint(error, session)
        rt.stderr.write(f"{PROG} {args.command}: error: {one_line(message)}{hint}{note}\n")
        if args.output == "json":
            rt.stdout.write(dumps(document(args.command, code, error=_error_body(error))) + "\n")
        return code
    finally:
        session.close()
    progress.done()
    if args.output == "json":
        rt.stdout.write(dumps(document(args.command, outcome.exit_code, **outcome.body)) + "\n")
    elif outcome.text:
        rt.stdout.write(outcome.text.rstrip("\n") + "\n")
    rt.stdout.flush()
    return outcome.exit_code


def _is_ours(error: BaseException) -> bool:
    """Errors with a message meant for users (ours, the local KMS's, the OS's)."""
    from kms_mrk.errors import KmsMrkError

    if isinstance(error, (KmsMrkError, UsageError, OSError, KeyboardInterrupt)):
        return True
    return type(error).__module__.startswith("kms_mrk.")
