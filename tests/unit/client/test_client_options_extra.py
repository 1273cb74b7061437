"""``total_timeout=`` reaches the default transport of both clients and is checked early;
``client.exceptions`` is the library's error module (boto3's spelling)."""

from __future__ import annotations

import pytest

from kms_mrk import AsyncKMSClient, Credentials, KMSClient
from kms_mrk.errors import ConfigurationError

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


@pytest.mark.parametrize("client_type", [KMSClient, AsyncKMSClient])
def test_total_timeout_goes_to_the_default_transport(client_type: type) -> None:
    client = client_type("us-east-1", credentials=CREDS, total_timeout=7.5, environ={})
    assert client._family.transport_options["total_timeout"] == 7.5


@pytest.mark.parametrize("client_type", [KMSClient, AsyncKMSClient])
def test_without_it_the_transport_keeps_its_own_default(client_type: type) -> None:
    client = client_type("us-east-1", credentials=CREDS, environ={})
    assert "total_timeout" not in client._family.transport_options


@pytest.mark.parametrize("client_type", [KMSClient, AsyncKMSClient])
@pytest.mark.parametrize("bad", [0, -1, "5", True])
def test_a_bad_total_timeout_is_refused_before_any_io(client_type: type, bad: object) -> None:
    with pytest.raises(ConfigurationError, match="total_timeout"):
        client_type("us-east-1", credentials=CREDS, total_timeout=bad, environ={})


def test_the_sync_transport_gets_it() -> None:
    client = KMSClient("us-east-1", credentials=CREDS, total_timeout=7.5, environ={})
    transport = client._family.transport()
    try:
        assert transport._total_timeout == 7.5
    finally:
        client.close()


@pytest.mark.parametrize("client_type", [KMSClient, AsyncKMSClient])
def test_client_exceptions_are_the_library_classes(client_type: type) -> None:
    import kms_mrk
    from kms_mrk import errors

    client = client_type("us-east-1", credentials=CREDS, environ={})
    assert client.exceptions is errors
    assert client.exceptions.NotFoundException is kms_mrk.NotFoundException
    assert client.for_region("eu-west-1").exceptions.DisabledException is errors.DisabledException
