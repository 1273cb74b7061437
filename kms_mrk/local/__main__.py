"""``python -m kms_mrk.local serve [options]``: run the local KMS over HTTP."""

from __future__ import annotations

import argparse
import sys

from kms_mrk.local._cli import add_serve_arguments, run_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kms_mrk.local", description="The kms-mrk embedded local KMS."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve the local KMS over HTTP (one endpoint for every Region)"
    )
    add_serve_arguments(serve)
    args = parser.parse_args(argv)
    return run_serve(args)


if __name__ == "__main__":
    sys.exit(main())
