"""SDK conventions: amz-sdk-* headers, the app id in the User-Agent, FIPS pseudo-Regions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kms_mrk import DescribeKeyCommand, KMSClient
from kms_mrk.errors import ConfigurationError
from tests.unit.client._scripted import CREDS, Scripted, err, ok


def make(transport: Any, region: str = "us-east-1", **kwargs: Any) -> KMSClient:
    kwargs.setdefault("environ", {})
    return KMSClient(
        region, credentials=CREDS, transport=transport, sleep=lambda _s: None, **kwargs
    )


def test_attempt_headers_count_attempts_and_are_not_signed() -> None:
    transport = Scripted(err("ThrottlingException"), ok())
    make(transport, retry=4).send(DescribeKeyCommand(key_id="k"))
    first, second = transport.requests
    assert first.headers["amz-sdk-request"] == "attempt=1; max=4"
    assert second.headers["amz-sdk-request"] == "attempt=2; max=4"
    assert first.headers["amz-sdk-invocation-id"] == second.headers["amz-sdk-invocation-id"]
    signed = first.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert "amz-sdk" not in signed  # added after signing by botocore; proxies may see them


def test_the_max_shown_is_the_per_call_limit() -> None:
    transport = Scripted(ok())
    make(transport).send(DescribeKeyCommand(key_id="k"), max_attempts=1)
    assert transport.requests[0].headers["amz-sdk-request"] == "attempt=1; max=1"


def user_agent(client: KMSClient, transport: Scripted) -> str:
    client.send(DescribeKeyCommand(key_id="k"))
    return transport.requests[-1].headers["User-Agent"]


def test_app_id_from_the_argument_goes_before_the_extra() -> None:
    transport = Scripted(ok())
    client = make(transport, sdk_ua_app_id="billing-svc", user_agent_extra="extra/1")
    ua = user_agent(client, transport)
    assert ua.endswith(" app/billing-svc extra/1")
    assert transport.requests[-1].headers["X-Amz-User-Agent"] == ua


def test_app_id_from_the_environment_and_from_the_profile(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nsdk_ua_app_id = from-file\n[profile other]\nregion = x\n")
    transport = Scripted(ok())
    env = {"AWS_CONFIG_FILE": str(config)}
    ua = user_agent(make(transport, environ=env), transport)
    assert " app/from-file" in ua
    ua = user_agent(make(transport, environ={**env, "AWS_SDK_UA_APP_ID": "from-env"}), transport)
    assert " app/from-env" in ua and "from-file" not in ua
    ua = user_agent(make(transport, environ=env, sdk_ua_app_id="from-arg"), transport)
    assert " app/from-arg" in ua
    ua = user_agent(make(transport, environ={**env, "AWS_PROFILE": "other"}), transport)
    assert " app/" not in ua


def test_app_id_characters_a_user_agent_cannot_carry_become_dashes() -> None:
    transport = Scripted(ok())
    assert (
        " app/my-app-v2 " in user_agent(make(transport, sdk_ua_app_id="my app/v2"), transport) + " "
    )


@pytest.mark.parametrize("bad", ["", "   ", "x" * 51, 12])
def test_bad_app_ids_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="sdk_ua_app_id"):
        make(Scripted(ok()), sdk_ua_app_id=bad)
    if isinstance(bad, str) and bad.strip():
        with pytest.raises(ConfigurationError, match="AWS_SDK_UA_APP_ID"):
            make(Scripted(ok()), environ={"AWS_SDK_UA_APP_ID": bad})


# -- FIPS pseudo-Regions, compared with botocore ------------------------------------------


def botocore_view(region: str) -> tuple[str, str]:
    import boto3

    logging.getLogger("botocore.client").setLevel(logging.ERROR)  # its pseudo-Region warning
    client = boto3.client(
        "kms",
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    return client.meta.endpoint_url, client.meta.region_name


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1-fips",
        "fips-us-east-1",
        "fips-us-gov-west-1",
        "us-gov-west-1-fips",
        "ca-central-1-fips",
    ],
)
def test_fips_pseudo_regions_resolve_and_sign_like_botocore(region: str) -> None:
    endpoint, signing_region = botocore_view(region)
    transport = Scripted(ok())
    client = make(transport, region)
    assert client.endpoint == endpoint
    assert client.region == signing_region
    client.send(DescribeKeyCommand(key_id="k"))
    request = transport.requests[0]
    assert request.url.rstrip("/") == endpoint.rstrip("/")
    assert f"/{signing_region}/kms/aws4_request" in request.headers["Authorization"]


def test_for_region_accepts_a_pseudo_region_and_keeps_it_apart() -> None:
    transport = Scripted(ok())
    client = make(transport, "us-east-1")
    fips = client.for_region("us-east-1-fips")
    assert fips.region == "us-east-1"
    assert "fips" in fips.endpoint and "fips" not in client.endpoint
    assert fips._pipeline is not client._pipeline


def test_a_plain_region_is_left_alone() -> None:
    from kms_mrk.endpoints import normalize_fips_region

    assert normalize_fips_region("us-east-1") == ("us-east-1", False)
    assert normalize_fips_region("fips-us-east-1") == ("us-east-1", True)
    assert normalize_fips_region("fips") == ("fips", False)  # nothing left: not a pseudo-Region
