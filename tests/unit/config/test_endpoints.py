"""resolve_endpoint: the KMS rule set, checked against botocore's own resolver."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.loaders
import pytest
from botocore.endpoint_provider import EndpointProvider
from botocore.exceptions import EndpointResolutionError

from kms_mrk import endpoints
from kms_mrk.endpoints import region_problem, resolve_endpoint, validate_region
from kms_mrk.errors._base import ConfigurationError

_LOADER = botocore.loaders.create_loader()
RULESET: dict[str, Any] = _LOADER.load_service_model("kms", "endpoint-rule-set-1")
PARTITIONS: dict[str, Any] = _LOADER.load_data("partitions")


def botocore_url(
    region: str,
    fips: bool = False,
    dualstack: bool = False,
    ruleset: dict[str, Any] = RULESET,
    partitions: dict[str, Any] = PARTITIONS,
) -> str:
    """What botocore resolves (or ``error: <message>``)."""
    provider = EndpointProvider(
        ruleset_data=copy.deepcopy(ruleset), partition_data=copy.deepcopy(partitions)
    )
    try:
        return str(
            provider.resolve_endpoint(Region=region, UseFIPS=fips, UseDualStack=dualstack).url
        )
    except EndpointResolutionError as exc:
        return f"error: {exc}"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    endpoints._clear_cache()
    yield
    endpoints._clear_cache()


@pytest.mark.parametrize(
    ("region", "fips", "dualstack", "url"),
    [
        ("us-east-1", False, False, "https://kms.us-east-1.amazonaws.com"),
        ("us-east-1", True, False, "https://kms-fips.us-east-1.amazonaws.com"),
        ("us-east-1", False, True, "https://kms.us-east-1.api.aws"),
        ("us-east-1", True, True, "https://kms-fips.us-east-1.api.aws"),
        ("eu-central-1", False, False, "https://kms.eu-central-1.amazonaws.com"),
        ("eu-central-1", True, False, "https://kms-fips.eu-central-1.amazonaws.com"),
        ("ap-southeast-2", False, True, "https://kms.ap-southeast-2.api.aws"),
        ("cn-north-1", False, False, "https://kms.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", False, True, "https://kms.cn-northwest-1.api.amazonwebservices.com.cn"),
        ("us-gov-west-1", False, False, "https://kms.us-gov-west-1.amazonaws.com"),
        ("us-gov-west-1", True, False, "https://kms-fips.us-gov-west-1.amazonaws.com"),
        ("us-gov-east-1", True, True, "https://kms-fips.us-gov-east-1.api.aws"),
        ("us-iso-east-1", False, False, "https://kms.us-iso-east-1.c2s.ic.gov"),
        ("us-isob-east-1", False, False, "https://kms.us-isob-east-1.sc2s.sgov.gov"),
        ("eu-isoe-west-1", False, False, "https://kms.eu-isoe-west-1.cloud.adc-e.uk"),
        ("us-isof-south-1", False, False, "https://kms.us-isof-south-1.csp.hci.ic.gov"),
        ("eusc-de-east-1", False, False, "https://kms.eusc-de-east-1.amazonaws.eu"),
        # Not a known Region: the aws partition's pattern still places it.
        ("ap-mars-9", False, False, "https://kms.ap-mars-9.amazonaws.com"),
        # Matches no pattern: botocore falls back to the first (aws) partition.
        ("local", False, False, "https://kms.local.amazonaws.com"),
    ],
)
def test_known_urls(region: str, fips: bool, dualstack: bool, url: str) -> None:
    assert resolve_endpoint(region, use_fips=fips, use_dualstack=dualstack) == url
    assert botocore_url(region, fips, dualstack) == url


def test_every_region_of_every_partition_matches_botocore() -> None:
    regions = [r for p in PARTITIONS["partitions"] for r in p["regions"]]
    assert len(regions) > 30
    assert {p["id"] for p in PARTITIONS["partitions"]} >= {
        "aws",
        "aws-cn",
        "aws-us-gov",
        "aws-iso",
        "aws-iso-b",
    }
    mismatches = []
    for region in [*regions, "us-east-1-fips", "fips-us-gov-west-1", "xx-yy-1"]:
        for fips in (False, True):
            for dualstack in (False, True):
                expected = botocore_url(region, fips, dualstack)
                got = resolve_endpoint(region, use_fips=fips, use_dualstack=dualstack)
                if got != expected:
                    mismatches.append((region, fips, dualstack, got, expected))
    assert mismatches == []


def _partitions_without(feature: str) -> dict[str, Any]:
    data = copy.deepcopy(PARTITIONS)
    for partition in data["partitions"]:
        if partition["id"] == "aws-iso":
            partition["outputs"][feature] = False
    return data


@pytest.mark.parametrize(
    ("feature", "fips", "dualstack"),
    [
        ("supportsFIPS", True, False),
        ("supportsDualStack", False, True),
        ("supportsFIPS", True, True),
        ("supportsDualStack", True, True),
    ],
)
def test_unsupported_variants_raise_like_botocore(
    feature: str, fips: bool, dualstack: bool
) -> None:
    partitions = _partitions_without(feature)
    expected = botocore_url("us-iso-east-1", fips, dualstack, partitions=partitions)
    assert expected.startswith("error: ")
    rules = endpoints._RuleSet(RULESET, partitions)
    assert rules.native
    with pytest.raises(endpoints._RuleError) as info:
        rules.resolve("us-iso-east-1", use_fips=fips, use_dualstack=dualstack)
    assert str(info.value) == expected.removeprefix("error: ")
    # Other partitions are unaffected.
    assert rules.resolve("us-east-1", use_fips=fips, use_dualstack=dualstack).startswith("https://")


def test_rule_set_errors_become_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    partitions = _partitions_without("supportsDualStack")
    monkeypatch.setattr(endpoints, "_load_botocore_data", lambda: (RULESET, partitions))
    with pytest.raises(ConfigurationError) as info:
        resolve_endpoint("us-iso-east-1", use_dualstack=True)
    message = str(info.value)
    assert "us-iso-east-1" in message
    assert "use_dualstack=True" in message
    assert "DualStack is enabled but this partition does not support DualStack" in message


def test_unknown_rule_functions_fall_back_to_botocore() -> None:
    ruleset = copy.deepcopy(RULESET)
    # Wrap the whole tree in a condition using a function the small evaluator does not know.
    ruleset["rules"] = [
        {
            "conditions": [
                {"fn": "uriEncode", "argv": ["x"], "assign": "Encoded"},
            ],
            "rules": ruleset["rules"],
            "type": "tree",
        }
    ]
    rules = endpoints._RuleSet(ruleset, PARTITIONS)
    assert not rules.native
    for region in ("us-east-1", "cn-north-1"):
        assert rules.resolve(region, use_fips=True, use_dualstack=False) == botocore_url(
            region, True, False
        )


def test_the_shipped_rule_set_is_evaluated_natively() -> None:
    ruleset, partitions = endpoints._load_botocore_data()
    assert endpoints._RuleSet(ruleset, partitions).native


@pytest.mark.parametrize(
    "region",
    [
        "us east 1",
        "",
        "-us-east-1",
        "us-east-1-",
        "123",
        "a" * 64,
        "us_east_1",
        "us-east-1/x",
        "ü-1",
        "us-east-1.evil.com",
    ],
)
def test_malformed_regions(region: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_endpoint(region)
    assert str(info.value).startswith(f"Region {region!r} is not a valid Region name: ")
    assert "letters, digits and hyphens" in str(info.value)


def test_non_string_region() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        resolve_endpoint(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="must be a string"):
        validate_region(42)


def test_validate_region_names_the_source() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_region("us east 1", source="AWS_REGION")
    assert str(info.value).startswith("AWS_REGION='us east 1' is not a valid Region name:")
    assert validate_region("us-east-1") == "us-east-1"
    assert region_problem("a" * 63) is None
    assert region_problem("us-east-1") is None


def test_flags_must_be_bools() -> None:
    with pytest.raises(ConfigurationError, match="use_fips must be a bool"):
        resolve_endpoint("us-east-1", use_fips=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="use_dualstack must be a bool"):
        resolve_endpoint("us-east-1", use_dualstack="true")  # type: ignore[arg-type]


def test_results_are_cached_once_per_key_across_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: dict[tuple[str, bool, bool], int] = {}
    real = endpoints._evaluate
    lock = threading.Lock()

    def counting(region: str, fips: bool, dualstack: bool) -> str:
        with lock:
            calls[(region, fips, dualstack)] = calls.get((region, fips, dualstack), 0) + 1
        return real(region, fips, dualstack)

    monkeypatch.setattr(endpoints, "_evaluate", counting)
    keys = [("us-east-1", False, False), ("us-east-1", True, False), ("eu-west-1", False, True)]
    work = keys * 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        urls = list(
            pool.map(lambda k: resolve_endpoint(k[0], use_fips=k[1], use_dualstack=k[2]), work)
        )
    assert calls == dict.fromkeys(keys, 1)
    assert urls[:3] == [
        "https://kms.us-east-1.amazonaws.com",
        "https://kms-fips.us-east-1.amazonaws.com",
        "https://kms.eu-west-1.api.aws",
    ]


def test_data_files_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = 0
    real = endpoints._load_botocore_data

    def counting() -> tuple[dict[str, Any], dict[str, Any]]:
        nonlocal loads
        loads += 1
        return real()

    monkeypatch.setattr(endpoints, "_load_botocore_data", counting)
    for region in ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"):
        resolve_endpoint(region)
        resolve_endpoint(region, use_fips=True)
    assert loads == 1


def test_invalid_region_is_never_cached() -> None:
    for _ in range(2):
        with pytest.raises(ConfigurationError):
            resolve_endpoint("bad region")
    assert endpoints._cache == {}
