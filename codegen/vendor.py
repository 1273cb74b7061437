"""Refresh the vendored KMS model from the installed botocore (documentation stripped).

``SOURCE.json`` records where the copy came from, with three hashes per file:

- ``shipped_sha256``: the file as the botocore distribution ships it, byte for byte
  (``service-2.json.gz`` is gzip-compressed; ``paginators-1.json`` is not);
- ``decompressed_sha256``: its JSON text after decompression (the same as ``shipped_sha256``
  when botocore ships the file uncompressed);
- ``vendored_sha256``: our copy in ``codegen/model/``, documentation removed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from codegen.model import CodegenError

MODEL_DIR = Path(__file__).resolve().parent / "model"
SERVICE_FILE = MODEL_DIR / "kms-2014-11-01.service.json"
PAGINATORS_FILE = MODEL_DIR / "kms-2014-11-01.paginators.json"
SOURCE_FILE = MODEL_DIR / "SOURCE.json"
BOTOCORE_DATA = "botocore/data/kms/2014-11-01"

HASHES_NOTE = (
    "shipped_sha256: the file as botocore ships it, byte for byte (gzip-compressed when "
    "shipped_path ends in .gz); decompressed_sha256: its JSON text after decompression; "
    "vendored_sha256: the copy in codegen/model/, documentation strings removed."
)

_DROP = {"documentation", "documentationUrl"}


def strip_docs(node: Any) -> Any:
    """Return ``node`` without documentation strings, keeping key order."""
    if isinstance(node, Mapping):
        return {k: strip_docs(v) for k, v in node.items() if k not in _DROP}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def read_shipped(path: Path) -> tuple[str, bytes, bytes]:
    """The file botocore ships for ``path`` (plain or ``.gz``): (name, shipped bytes, JSON)."""
    if path.exists():
        raw = path.read_bytes()
        return path.name, raw, raw
    gz = path.with_name(path.name + ".gz")
    shipped = gz.read_bytes()
    return gz.name, shipped, gzip.decompress(shipped)


def version_key(version: str) -> tuple[int, ...]:
    """``"1.44.8"`` -> ``(1, 44, 8)``; non-numeric parts (``rc1``) count as 0."""
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def update_model(
    *,
    force: bool = False,
    model_dir: Path = MODEL_DIR,
    warn: Callable[[str], None] = _warn,
) -> dict[str, Any]:
    """Copy service-2 and paginators-1 for kms 2014-11-01 from the installed botocore.

    Refuses (:class:`CodegenError`) when the installed botocore is older than the one the
    vendored model came from, unless ``force`` is given; then it warns and goes on.
    """
    import botocore

    installed = str(botocore.__version__)
    data_dir = Path(botocore.__file__).resolve().parent / "data" / "kms" / "2014-11-01"
    service_name, service_shipped, service_raw = read_shipped(data_dir / "service-2.json")
    pager_name, pager_shipped, pager_raw = read_shipped(data_dir / "paginators-1.json")
    service = strip_docs(json.loads(service_raw))
    paginators = strip_docs(json.loads(pager_raw))
    operations = len(service["operations"])

    source_file = model_dir / SOURCE_FILE.name
    if source_file.exists():
        previous = json.loads(source_file.read_text(encoding="utf-8"))
        vendored = str(previous.get("botocore_version", "0"))
        if version_key(installed) < version_key(vendored):
            problem = (
                f"the installed botocore {installed} ({operations} KMS operations) is older "
                f"than botocore {vendored}, which the vendored model came from "
                f"({previous.get('operations', '?')} operations)"
            )
            if not force:
                raise CodegenError(
                    f"{problem}; nothing was changed. Install a newer botocore, or pass "
                    "--force to vendor the older model anyway."
                )
            warn(f"{problem}; vendoring it anyway (--force)")

    model_dir.mkdir(parents=True, exist_ok=True)
    service_text = json.dumps(service, indent=1, ensure_ascii=False) + "\n"
    paginators_text = json.dumps(paginators, indent=1) + "\n"
    (model_dir / SERVICE_FILE.name).write_text(service_text, encoding="utf-8")
    (model_dir / PAGINATORS_FILE.name).write_text(paginators_text, encoding="utf-8")
    source = {
        "botocore_version": installed,
        "service": _record(service_name, service_shipped, service_raw, service_text),
        "paginators": _record(pager_name, pager_shipped, pager_raw, paginators_text),
        "operations": operations,
        "hashes": HASHES_NOTE,
        "note": "Documentation strings removed; everything else is as botocore ships it.",
    }
    source_file.write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    return source


def _record(shipped_name: str, shipped: bytes, raw: bytes, vendored_text: str) -> dict[str, str]:
    return {
        "shipped_path": f"{BOTOCORE_DATA}/{shipped_name}",
        "shipped_sha256": hashlib.sha256(shipped).hexdigest(),
        "decompressed_sha256": hashlib.sha256(raw).hexdigest(),
        "vendored_sha256": hashlib.sha256(vendored_text.encode("utf-8")).hexdigest(),
    }
