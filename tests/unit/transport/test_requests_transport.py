"""RequestsTransport: mocked with ``responses`` and against loopback servers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable

import pytest
import requests
import responses

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport import HttpRequest, RequestsTransport, Transport
from tests.unit.transport._transport_servers import (
    ProxyServer,
    RawServer,
    RecordingServer,
    Reply,
    TlsFiles,
    read_request,
)

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]
KMS_URL = "https://kms.us-east-1.amazonaws.com/"


def describe_key(url: str = KMS_URL) -> HttpRequest:
    return HttpRequest(
        "POST",
        url,
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.DescribeKey",
        },
        b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}',
    )


def test_is_a_transport() -> None:
    assert isinstance(RequestsTransport(), Transport)


def test_responses_mock_answers_a_kms_post() -> None:
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            KMS_URL,
            json={"KeyMetadata": {"KeyId": "mrk-1234abcd12ab34cd56ef1234567890ab"}},
            headers={"x-amzn-RequestId": "req-42"},
            status=200,
        )
        response = RequestsTransport().send(describe_key())
        sent = mock.calls[0].request

    assert response.status == 200
    assert response.headers["x-amzn-requestid"] == "req-42"
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body)["KeyMetadata"]["KeyId"].startswith("mrk-")
    assert sent.headers["X-Amz-Target"] == "TrentService.DescribeKey"
    assert sent.body == b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}'


def test_responses_error_status_is_a_response() -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, KMS_URL, json={"__type": "NotFoundException"}, status=400)
        assert RequestsTransport().send(describe_key()).status == 400


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (requests.exceptions.ConnectTimeout("t"), ConnectTimeoutError),
        (requests.exceptions.ReadTimeout("t"), ReadTimeoutError),
        (requests.exceptions.ConnectionError("down"), ConnectError),
        (requests.exceptions.SSLError("certificate verify failed"), ConnectError),
        (requests.exceptions.ProxyError("no proxy"), ConnectError),
        (requests.exceptions.ChunkedEncodingError("cut"), ConnectionClosedError),
    ],
)
def test_responses_raised_errors_are_mapped(
    raised: Exception, expected: type[TransportError]
) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, KMS_URL, body=raised)
        with pytest.raises(TransportError) as info:
            RequestsTransport().send(describe_key())
    assert type(info.value) is expected
    assert info.value.host == "kms.us-east-1.amazonaws.com"


def test_tls_error_detail_says_tls() -> None:
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST, KMS_URL, body=requests.exceptions.SSLError("certificate verify failed")
        )
        with pytest.raises(ConnectError, match="TLS certificate verification failed"):
            RequestsTransport().send(describe_key())


def test_loopback_round_trip_and_keep_alive(http_server: RecordingServer) -> None:
    http_server.replies.append(Reply(headers=[("X-Amzn-RequestId", "r1")], body=b"{}"))
    with RequestsTransport() as transport:
        first = transport.send(describe_key(http_server.url()))
        for _ in range(4):
            transport.send(describe_key(http_server.url()))
    assert first.status == 200
    assert first.headers["x-amzn-requestid"] == "r1"
    assert http_server.requests[0].headers["X-Amz-Target"] == "TrentService.DescribeKey"
    assert http_server.connections == 1


def test_redirects_are_not_followed(http_server: RecordingServer) -> None:
    http_server.replies.append(Reply(status=302, headers=[("Location", "/b")], body=b""))
    with RequestsTransport() as transport:
        assert transport.send(describe_key(http_server.url())).status == 302
    assert len(http_server.requests) == 1


def test_loopback_refused(refused_port: int) -> None:
    with pytest.raises(ConnectError) as info:
        RequestsTransport().send(describe_key(f"http://127.0.0.1:{refused_port}/"))
    assert info.value.host == f"127.0.0.1:{refused_port}"
    assert "connection refused" in str(info.value)


def test_loopback_read_timeout(raw_server: StartRaw) -> None:
    hang = threading.Event()

    def silent(conn: socket.socket) -> None:
        read_request(conn)
        hang.wait(10)

    server = raw_server(silent)
    try:
        with pytest.raises(ReadTimeoutError):
            RequestsTransport(read_timeout=0.2).send(describe_key(server.url()))
    finally:
        hang.set()


def test_loopback_close_mid_response(raw_server: StartRaw) -> None:
    def half(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc")
        conn.close()

    server = raw_server(half)
    with pytest.raises(ConnectionClosedError):
        RequestsTransport().send(describe_key(server.url()))


def test_loopback_tls(https_server: RecordingServer, tls_files: TlsFiles) -> None:
    url = https_server.url(scheme="https")
    with pytest.raises(ConnectError, match="TLS certificate verification failed"):
        RequestsTransport().send(describe_key(url))
    assert RequestsTransport(verify=str(tls_files.cert)).send(describe_key(url)).status == 200


def test_proxy_from_environment_and_explicit_none(
    monkeypatch: pytest.MonkeyPatch, proxy_server: ProxyServer, http_server: RecordingServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_server.url)
    via_env = RequestsTransport().send(describe_key(http_server.url()))
    assert via_env.headers.get("x-proxy") == "yes"
    direct = RequestsTransport(proxies={}).send(describe_key(http_server.url()))
    assert "x-proxy" not in direct.headers
    assert len(http_server.requests) == 1


class CountingSession(requests.Session):
    closes = 0

    def close(self) -> None:
        self.closes += 1
        super().close()


def test_own_session_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "Session", CountingSession)
    transport = RequestsTransport()
    transport.close()
    transport.close()
    assert isinstance(transport._session, CountingSession)
    assert transport._session.closes == 1


def test_given_session_is_not_closed(http_server: RecordingServer) -> None:
    session = CountingSession()
    transport = RequestsTransport(session)
    transport.send(describe_key(http_server.url()))
    transport.close()
    assert session.closes == 0
    with pytest.raises(RuntimeError, match="closed"):
        transport.send(describe_key(http_server.url()))
    session.close()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match=r"session must be a requests\.Session"):
        RequestsTransport(object())
    with pytest.raises(ConfigurationError, match="read_timeout"):
        RequestsTransport(read_timeout=0)
    with pytest.raises(ConfigurationError, match="CA bundle does not exist"):
        RequestsTransport(verify="/nope.pem")


def test_repr_masks_proxy_credentials() -> None:
    text = repr(RequestsTransport(proxies={"https": "http://u:hunter2@proxy:1"}))
    assert "hunter2" not in text
    assert "***" in text
