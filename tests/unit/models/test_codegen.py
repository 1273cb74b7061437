"""The generator's own failure modes: missing summaries, an older botocore, recorded hashes."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import codegen.__main__ as codegen_main
import codegen.generate as codegen_generate
from codegen.generate import Model, check_descriptions, generate, load_model
from codegen.model import CodegenError, load_json
from codegen.vendor import (
    MODEL_DIR,
    PAGINATORS_FILE,
    SERVICE_FILE,
    SOURCE_FILE,
    update_model,
    version_key,
)

botocore = pytest.importorskip("botocore")


def _model_with(extra_operation: str | None = None, extra_error: str | None = None) -> Model:
    service: dict[str, Any] = copy.deepcopy(load_json(SERVICE_FILE))
    if extra_operation:
        service["operations"][extra_operation] = {
            "name": extra_operation,
            "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "DescribeKeyRequest"},
            "output": {"shape": "DescribeKeyResponse"},
        }
    if extra_error:
        service["shapes"][extra_error] = {
            "type": "structure",
            "members": {"message": {"shape": "ErrorMessageType"}},
            "exception": True,
        }
    digest = hashlib.sha256(SERVICE_FILE.read_bytes()).hexdigest()
    return Model(service, load_json(PAGINATORS_FILE), digest)


def test_an_operation_or_error_without_a_summary_is_a_clear_error(tmp_path: Path) -> None:
    model = _model_with("FrobKey", "FrobnicationException")
    with pytest.raises(CodegenError) as info:
        generate(tmp_path, model)
    text = str(info.value)
    assert "codegen/descriptions.py" in text
    assert "OPERATIONS: FrobKey" in text
    assert "ERRORS: FrobnicationException" in text
    assert not any(tmp_path.iterdir())


def test_the_vendored_model_has_every_summary() -> None:
    check_descriptions(load_model())


def test_python_m_codegen_reports_missing_summaries_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(codegen_generate, "load_model", lambda: _model_with("FrobKey"))
    assert codegen_main.main(["--check", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m codegen: error: codegen/descriptions.py")
    assert "FrobKey" in err
    assert "Traceback" not in err


def _vendored_copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL_DIR, target)
    return target


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_update_model_refuses_an_older_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = _vendored_copy(tmp_path)
    before = _snapshot(model_dir)
    recorded = json.loads(SOURCE_FILE.read_text())["botocore_version"]
    monkeypatch.setattr(botocore, "__version__", "1.43.11")
    with pytest.raises(CodegenError) as info:
        update_model(model_dir=model_dir)
    text = str(info.value)
    assert "1.43.11" in text and recorded in text
    assert "--force" in text
    assert _snapshot(model_dir) == before


def test_update_model_with_force_warns_and_vendors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = _vendored_copy(tmp_path)
    monkeypatch.setattr(botocore, "__version__", "1.43.11")
    warnings: list[str] = []
    source = update_model(force=True, model_dir=model_dir, warn=warnings.append)
    assert len(warnings) == 1 and "older" in warnings[0] and "1.43.11" in warnings[0]
    assert source["botocore_version"] == "1.43.11"
    recorded = json.loads((model_dir / "SOURCE.json").read_text())
    assert recorded["botocore_version"] == "1.43.11"


def test_update_model_from_the_same_or_a_newer_botocore_does_not_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = _vendored_copy(tmp_path)
    warnings: list[str] = []
    recorded = json.loads(SOURCE_FILE.read_text())["botocore_version"]
    same = botocore.__version__ == recorded
    if version_key(botocore.__version__) < version_key(recorded):
        # An installed botocore older than the vendored model's (allowed at run time: the
        # client uses its own model) is refused, as test_update_model_refuses_* checks.
        monkeypatch.setattr(botocore, "__version__", recorded)
        same = False
    update_model(model_dir=model_dir, warn=warnings.append)
    if same:  # refreshing from the recorded botocore reproduces our copy byte for byte
        assert _snapshot(model_dir) == _snapshot(MODEL_DIR)
    monkeypatch.setattr(botocore, "__version__", "1.99.0")
    update_model(model_dir=model_dir, warn=warnings.append)
    assert warnings == []


def test_python_m_codegen_refuses_force_without_update_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        codegen_main.main(["--force"])
    assert info.value.code == 2
    assert "--force only applies to --update-model" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("older", "newer"),
    [("1.43.11", "1.44.8"), ("1.44.8", "1.44.10"), ("1.9.0", "1.10.0"), ("1.44", "1.44.1")],
)
def test_version_order(older: str, newer: str) -> None:
    assert version_key(older) < version_key(newer)
