"""kms_mrk/_service.py: the facts about KMS every layer needs, generated from one place."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codegen.facts import NON_IDEMPOTENT_OPERATIONS as FACTS
from kms_mrk import _service as service

MODEL = Path(__file__).resolve().parents[3] / "codegen" / "model" / "kms-2014-11-01.service.json"


@pytest.fixture(scope="module")
def model() -> dict[str, object]:
    data: dict[str, object] = json.loads(MODEL.read_text(encoding="utf-8"))
    return data


def test_names_and_protocol_come_from_the_model_metadata(model: dict[str, object]) -> None:
    meta = model["metadata"]
    assert isinstance(meta, dict)
    assert service.TARGET_PREFIX == meta["targetPrefix"] == "TrentService"
    assert service.ENDPOINT_PREFIX == meta["endpointPrefix"] == "kms"
    assert service.SIGNING_NAME == meta.get("signingName", meta["endpointPrefix"]) == "kms"
    assert meta["serviceId"] == service.SERVICE_ID
    assert service.API_VERSION == meta["apiVersion"] == "2014-11-01"
    assert service.PROTOCOL == "json"
    assert service.CONTENT_TYPE == "application/x-amz-json-1.1"


def test_the_facts_agree_with_botocore() -> None:
    import botocore
    import botocore.session

    kms = botocore.session.get_session().get_service_model("kms")
    assert kms.signing_name == service.SIGNING_NAME
    assert kms.endpoint_prefix == service.ENDPOINT_PREFIX
    assert kms.metadata["targetPrefix"] == service.TARGET_PREFIX
    # An older botocore (allowed: the client carries its own model) lacks the newest
    # operations; every operation it has is one of ours.
    assert set(kms.operation_names) <= service.OPERATIONS
    if tuple(int(part) for part in botocore.__version__.split(".")[:2]) >= (1, 44):
        assert set(kms.operation_names) == service.OPERATIONS


def test_operations_and_the_non_idempotent_ones(model: dict[str, object]) -> None:
    operations = model["operations"]
    assert isinstance(operations, dict)
    assert frozenset(operations) == service.OPERATIONS
    assert frozenset(FACTS) == service.NON_IDEMPOTENT_OPERATIONS
    assert service.NON_IDEMPOTENT_OPERATIONS <= service.OPERATIONS
    assert all(reason.strip() for reason in FACTS.values())
    # reads are safe to resend
    assert not {"DescribeKey", "Encrypt", "Decrypt", "ListKeys"} & service.NON_IDEMPOTENT_OPERATIONS


def test_region_pattern_is_the_models_and_strict() -> None:
    assert service.REGION_PATTERN == r"^([a-z]+-){2,3}\d+$"
    for good in ("us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1"):
        assert service.REGION_RE.fullmatch(good)
    for bad in ("US-EAST-1", "us-east-1\n", "useast1", "us-east-\u0661", "a-b-c-d-e-1", ""):
        assert not service.REGION_RE.fullmatch(bad), bad


@given(st.text(max_size=40))
def test_region_re_is_the_ascii_reading_of_the_model_pattern(text: str) -> None:
    expected = re.fullmatch(r"(?:[a-z]+-){2,3}[0-9]+", text) is not None
    assert (service.REGION_RE.fullmatch(text) is not None) is expected


ASCII_REGION = r"(?:[a-z]+-){2,3}[0-9]+"  # REGION_RE's reading, for fullmatch (tested above)


# Hand copies elsewhere, until each imports kms_mrk._service (listed for the integrator):
# they must at least agree with the generated facts.
def test_layers_take_the_facts_from_the_generated_module() -> None:
    from kms_mrk import _config, _pipeline, arn, retries
    from kms_mrk.failover import _regions
    from kms_mrk.local import _kms
    from kms_mrk.protocol import _service as service_side
    from kms_mrk.protocol import awsjson11

    assert _pipeline.TARGET_PREFIX is service.TARGET_PREFIX
    assert f"{service.TARGET_PREFIX}." == service_side.TARGET_PREFIX
    assert service_side.SERVICE is service.SIGNING_NAME
    assert awsjson11.CONTENT_TYPE is service.CONTENT_TYPE
    assert retries.NON_IDEMPOTENT_OPERATIONS is service.NON_IDEMPOTENT_OPERATIONS
    for copy in (arn._REGION, _regions._PATTERN, _kms._REGION, service_side._REGION):
        assert copy is service.REGION_RE
    assert arn._MAX_REGION == _regions._MAX_LENGTH == service.REGION_MAX_LENGTH
    assert service.SERVICE_ID.lower() == _config._SERVICE_KEY


def test_no_hand_copies_in_the_source() -> None:
    """The facts are written once, in the generated module; no other source spells them."""
    package = Path(service.__file__).parent
    copies = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "_service.py" and path.parent == package:
            continue
        if path.parent.name == "models":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('"TrentService', "{2,3}[0-9]+", "{2,3}\\d+", '"application/x-amz-json-1.1"'):
            if needle in text:
                copies.append(f"{path.relative_to(package)}: {needle}")
    assert copies == []
