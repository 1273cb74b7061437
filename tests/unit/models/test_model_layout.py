"""Where the generated models live: an operation loads the modules it needs and no others,
and every model keeps being reachable from the modules that used to hold it."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import pytest

import kms_mrk
from kms_mrk import schema
from kms_mrk.models import _enums, _shared


def _models_loaded_by(code: str) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("kms_mrk.models"))))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_describe_key_loads_its_own_structures_and_enums_only() -> None:
    loaded = _models_loaded_by(
        """
        from kms_mrk import DescribeKeyCommand, DescribeKeyResponse
        DescribeKeyResponse.from_dict({"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled"}})
        """
    )
    assert loaded == [
        "kms_mrk.models",
        "kms_mrk.models._enums_key_metadata",
        "kms_mrk.models._op_describe_key",
        "kms_mrk.models._scalars",
        "kms_mrk.models._shared",
        "kms_mrk.models._shared_key_metadata",
    ]


def test_list_grants_does_not_load_key_metadata() -> None:
    loaded = _models_loaded_by("from kms_mrk import ListGrantsCommand")
    assert "kms_mrk.models._shared_key_metadata" not in loaded
    assert "kms_mrk.models._shared_grant_list_entry" in loaded


@pytest.mark.parametrize("name", _shared.__all__)
def test_shared_structures_are_still_importable_from_shared(name: str) -> None:
    value = getattr(_shared, name)
    assert value is getattr(kms_mrk, name)
    assert issubclass(value, schema.Shape)
    assert value.__schema__.py_type is value
    assert name in dir(_shared)


@pytest.mark.parametrize("name", _enums.__all__)
def test_every_enum_is_still_importable_from_enums(name: str) -> None:
    value = getattr(_enums, name)
    assert value is getattr(kms_mrk, name)
    assert issubclass(value, schema.StrEnum)
    member = next(iter(value))
    assert pickle.loads(pickle.dumps(member)) is member
    assert name in dir(_enums)


def test_unknown_names_are_attribute_errors() -> None:
    for module in (_shared, _enums):
        with pytest.raises(AttributeError, match="NoSuchShape"):
            module.NoSuchShape  # noqa: B018
    with pytest.raises(ImportError):
        exec("from kms_mrk.models._shared import NoSuchShape")


def test_a_structure_from_a_split_module_pickles_and_compares() -> None:
    from kms_mrk.models._enums import KeyState
    from kms_mrk.models._shared import KeyMetadata

    meta = KeyMetadata(key_id="k", key_state=KeyState.ENABLED, encryption_algorithms=["X"])
    again = pickle.loads(pickle.dumps(meta))
    assert again == meta
    assert again.key_state is KeyState.ENABLED
