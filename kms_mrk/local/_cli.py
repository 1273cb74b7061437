"""``serve`` on the command line: the arguments and the function that runs the server.

``kms-mrk serve`` (the CLI package) and ``python -m kms_mrk.local serve`` both call
:func:`add_serve_arguments` on their parser and :func:`run_serve` with the parsed arguments.
The server prints one line, ``kms-mrk local KMS listening on http://HOST:PORT``, to standard
output once it accepts connections (scripts may read the URL from it, which matters with
``--port 0``), then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from kms_mrk.errors import ConfigurationError

if TYPE_CHECKING:
    from kms_mrk.local._kms import LocalKMS

__all__ = ["ACCESS_KEYS_VARIABLE", "add_serve_arguments", "run_serve", "seed_tour_keys"]

_log = logging.getLogger("kms_mrk.local")

#: environment variable holding access key pairs: ID:SECRET, separated by commas or spaces
ACCESS_KEYS_VARIABLE: Final = "KMS_MRK_LOCAL_ACCESS_KEYS"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``serve`` to ``parser``."""
    from kms_mrk.local._kms import REALISTIC_CREATING_SECONDS, REALISTIC_UPDATING_SECONDS

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=4566, help="port to listen on (4566; 0 picks a free one)"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=64,
        metavar="N",
        help="connections served at once; more are answered 503 and closed (64)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep the state in the SQLite database FILE (e.g. kms.db) across restarts; every "
        "change is committed before it is answered; holds key material. A JSON state file "
        "from an older kms-mrk (kms.json) is migrated to kms.db beside it",
    )
    parser.add_argument(
        "--account-id", default="111122223333", help="account of callers (111122223333)"
    )
    parser.add_argument(
        "--default-region",
        default="us-east-1",
        help="Region of unsigned requests; signed ones use their SigV4 scope (us-east-1)",
    )
    parser.add_argument(
        "--creating-seconds",
        type=float,
        default=REALISTIC_CREATING_SECONDS,
        help=f"seconds a new replica stays Creating ({REALISTIC_CREATING_SECONDS:g})",
    )
    parser.add_argument(
        "--updating-seconds",
        type=float,
        default=REALISTIC_UPDATING_SECONDS,
        help="seconds keys stay Updating after UpdatePrimaryRegion "
        f"({REALISTIC_UPDATING_SECONDS:g})",
    )
    parser.add_argument(
        "--verify-signatures",
        action="store_true",
        help=f"check SigV4 signatures against the access key pairs (${ACCESS_KEYS_VARIABLE}, "
        "--access-keys-file, --access-key)",
    )
    parser.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="an access key pair accepted with --verify-signatures (repeatable; other users "
        f"can read the command line: prefer ${ACCESS_KEYS_VARIABLE} or --access-keys-file)",
    )
    parser.add_argument(
        "--access-keys-file",
        metavar="FILE",
        help="read access key pairs from FILE, one ID:SECRET a line ('#' starts a comment)",
    )
    parser.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="ID=ARN",
        help="act as principal ARN for requests signed with access key ID (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="RULE",
        help="inject faults, e.g. op=Encrypt,error=ThrottlingException,rate=0.3 "
        "(keys: op, error, rate, latency, status, times, message; repeatable)",
    )
    parser.add_argument("--fault-seed", type=int, help="seed for the fault rules' random draws")
    parser.add_argument(
        "--seed",
        action="store_true",
        help="create the key of the README's tour and the docs at start, unless it exists: "
        "multi-Region alias/payments in us-east-1 with replicas in eu-central-1 and eu-west-1",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the kms_mrk.local logger (INFO)",
    )


def _pairs(values: list[str], separator: str, what: str, shape: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        left, sep, right = value.partition(separator)
        if not sep or not left or not right:
            # Never echo the value: it may hold a secret key.
            raise ConfigurationError(f"{what} values must look like {shape}")
        out[left] = right
    return out


def _access_keys(args: argparse.Namespace) -> dict[str, str]:
    """Access key pairs from the environment, --access-keys-file and --access-key."""
    keys: dict[str, str] = {}
    from_environment = os.environ.get(ACCESS_KEYS_VARIABLE, "")
    keys.update(
        _pairs(
            re.split(r"[\s,]+", from_environment.strip()) if from_environment.strip() else [],
            ":",
            f"${ACCESS_KEYS_VARIABLE}",
            "ID:SECRET (pairs separated by commas or spaces)",
        )
    )
    if args.access_keys_file:
        try:
            with open(args.access_keys_file, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigurationError(
                f"--access-keys-file: cannot read {args.access_keys_file} ({reason})"
            ) from None
        for number, line in enumerate(lines, 1):
            text = line.strip()
            if text and not text.startswith("#"):
                keys.update(
                    _pairs([text], ":", f"{args.access_keys_file}, line {number}:", "ID:SECRET")
                )
    if args.access_key:
        _log.warning(
            "--access-key puts a secret key on the command line, where other users of this "
            "machine can read it; prefer $%s or --access-keys-file",
            ACCESS_KEYS_VARIABLE,
        )
        keys.update(_pairs(list(args.access_key), ":", "--access-key", "ID:SECRET"))
    return keys


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from kms_mrk.local._faults import FaultInjector, FaultRule

    access_keys = _access_keys(args)
    principals = _pairs(list(args.principal), "=", "--principal", "ID=ARN")
    try:
        rules = [FaultRule.parse(spec) for spec in args.fault]
    except ValueError as exc:
        raise ConfigurationError(f"--fault: {exc}") from None
    return {
        "account_id": args.account_id,
        "default_region": args.default_region,
        "replica_creating_seconds": args.creating_seconds,
        "updating_seconds": args.updating_seconds,
        "verify_signatures": bool(args.verify_signatures),
        "access_keys": access_keys or None,
        "principals": principals or None,
        "faults": FaultInjector(rules, seed=args.fault_seed) if rules else None,
    }


def run_serve(args: argparse.Namespace) -> int:
    """Run the HTTP server described by ``args`` until interrupted; the exit status."""
    from kms_mrk.local._server import serve

    logger = logging.getLogger("kms_mrk.local")
    logger.setLevel(getattr(logging, args.log_level))
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    try:
        server = serve(
            args.host,
            args.port,
            state_file=args.state,
            max_connections=args.max_connections,
            **_options(args),
        )
    except (ConfigurationError, OSError) as exc:
        print(f"kms-mrk serve: error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "seed", False):
        seed_tour_keys(server.kms)
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: server.shutdown())
    print(f"kms-mrk local KMS listening on {server.url}", flush=True)
    if args.state:
        _log.info("state database: %s", server.kms.state_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def seed_tour_keys(kms: LocalKMS) -> str:
    """Create the key README.md's tour and the docs use, unless it exists; return its key id.

    A multi-Region symmetric key, primary in us-east-1 with replicas in eu-central-1 and
    eu-west-1, tagged ``tier=critical`` and aliased ``alias/payments`` in those three Regions.
    The replicas are ``Enabled`` at once, whatever the server's ``--creating-seconds``.
    """
    from kms_mrk.commands import (
        CreateAliasCommand,
        CreateKeyCommand,
        DescribeKeyCommand,
        ReplicateKeyCommand,
    )
    from kms_mrk.errors import NotFoundException
    from kms_mrk.models import Tag

    primary, replicas, alias = "us-east-1", ("eu-central-1", "eu-west-1"), "alias/payments"
    try:
        found = kms.handle("DescribeKey", primary, DescribeKeyCommand(key_id=alias))
        return str(found.key_metadata.key_id)  # type: ignore[attr-defined]
    except NotFoundException:
        pass
    tags = [Tag(tag_key="tier", tag_value="critical")]  # tags are per Region: on each key
    settings = kms._settings
    creating, settings.creating_seconds = settings.creating_seconds, 0.0
    try:
        created = kms.handle(
            "CreateKey",
            primary,
            CreateKeyCommand(
                multi_region=True,
                description="kms-mrk serve --seed: the README tour's key",
                tags=tags,
            ),
        )
        key_id: str = created.key_metadata.key_id  # type: ignore[attr-defined]
        for replica in replicas:
            kms.handle(
                "ReplicateKey",
                primary,
                ReplicateKeyCommand(key_id=key_id, replica_region=replica, tags=tags),
            )
        for region in (primary, *replicas):
            kms.handle(
                "CreateAlias", region, CreateAliasCommand(alias_name=alias, target_key_id=key_id)
            )
    finally:
        settings.creating_seconds = creating
    _log.info(
        "seeded %s (%s) in %s with replicas in %s", alias, key_id, primary, ", ".join(replicas)
    )
    return key_id
