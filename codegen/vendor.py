"""Refresh the vendored KMS model from the installed botocore (documentation stripped)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parent / "model"
SERVICE_FILE = MODEL_DIR / "kms-2014-11-01.service.json"
PAGINATORS_FILE = MODEL_DIR / "kms-2014-11-01.paginators.json"
SOURCE_FILE = MODEL_DIR / "SOURCE.json"

_DROP = {"documentation", "documentationUrl"}


def strip_docs(node: Any) -> Any:
    """Return ``node`` without documentation strings, keeping key order."""
    if isinstance(node, Mapping):
        return {k: strip_docs(v) for k, v in node.items() if k not in _DROP}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def _read_maybe_gz(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    gz = path.with_name(path.name + ".gz")
    return gzip.decompress(gz.read_bytes())


def update_model() -> dict[str, Any]:
    """Copy service-2 and paginators-1 for kms 2014-11-01 from the installed botocore."""
    import botocore

    data_dir = Path(botocore.__file__).resolve().parent / "data" / "kms" / "2014-11-01"
    service_raw = _read_maybe_gz(data_dir / "service-2.json")
    paginators_raw = _read_maybe_gz(data_dir / "paginators-1.json")
    service = strip_docs(json.loads(service_raw))
    paginators = strip_docs(json.loads(paginators_raw))
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    service_text = json.dumps(service, indent=1, ensure_ascii=False) + "\n"
    paginators_text = json.dumps(paginators, indent=1) + "\n"
    SERVICE_FILE.write_text(service_text, encoding="utf-8")
    PAGINATORS_FILE.write_text(paginators_text, encoding="utf-8")
    source = {
        "botocore_version": botocore.__version__,
        "service": {
            "path": "botocore/data/kms/2014-11-01/service-2.json",
            "sha256": hashlib.sha256(service_raw).hexdigest(),
            "vendored_sha256": hashlib.sha256(service_text.encode("utf-8")).hexdigest(),
        },
        "paginators": {
            "path": "botocore/data/kms/2014-11-01/paginators-1.json",
            "sha256": hashlib.sha256(paginators_raw).hexdigest(),
            "vendored_sha256": hashlib.sha256(paginators_text.encode("utf-8")).hexdigest(),
        },
        "operations": len(service["operations"]),
        "note": "Documentation strings removed; everything else is as botocore ships it.",
    }
    SOURCE_FILE.write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    return source
