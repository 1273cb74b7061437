"""``python -m codegen``: regenerate kms_mrk's GENERATED modules from the vendored model.

Options:
  --update-model   refresh codegen/model/ from the installed botocore first (refused when that
                   botocore is older than the vendored model's, unless --force is given)
  --force          with --update-model: vendor an older botocore's model anyway, with a warning
  --check          write nothing; exit 1 and list the files that differ from a regeneration
  --out DIR        write the tree under DIR instead of the repository root
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen.generate import generate
from codegen.model import CodegenError
from codegen.vendor import update_model

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.splitlines()[0])
    parser.add_argument("--update-model", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if args.force and not args.update_model:
        parser.error("--force only applies to --update-model")
    try:
        if args.update_model:
            source = update_model(force=args.force)
            print(
                f"vendored KMS model from botocore {source['botocore_version']}: "
                f"{source['operations']} operations"
            )
        files = generate(args.out)
    except CodegenError as exc:
        print(f"python -m codegen: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        for path in stale:
            print(f"out of date: {path.relative_to(args.out)}")
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    print(f"wrote {len(files)} generated files under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
