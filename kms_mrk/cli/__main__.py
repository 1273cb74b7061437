"""``python -m kms_mrk.cli``: the ``kms-mrk`` command."""

from __future__ import annotations

import sys

from kms_mrk.cli import main

if __name__ == "__main__":
    sys.exit(main())
