"""Every urllib3 / socket / ssl failure maps to one kms-mrk error naming host and phase.

The loopback tests cover the failures a local server can produce; these cover the rest (DNS,
proxies, decoding) by building the exceptions urllib3 raises.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl

import pytest
from urllib3 import exceptions as u

from kms_mrk.errors._base import (
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    KmsMrkError,
    ReadTimeoutError,
    TransportError,
)
from kms_mrk.transport import _http11
from kms_mrk.transport._urllib3 import translate_urllib3_error

HOST = "kms.eu-west-1.amazonaws.com"


def translate(exc: BaseException) -> Exception:
    return translate_urllib3_error(exc, HOST, connect_timeout=3, read_timeout=7)


def _caused(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


def test_dns_failure() -> None:
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    error = translate(_caused(u.NameResolutionError(HOST, None, gai), gai))  # type: ignore[arg-type]
    assert type(error) is ConnectError
    assert error.host == HOST
    assert "DNS lookup failed" in str(error)
    assert "(connect phase)" in str(error)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (errno.ECONNREFUSED, "connection refused"),
        (errno.ENETUNREACH, "network unreachable"),
        (errno.EHOSTUNREACH, "host unreachable"),
    ],
)
def test_new_connection_errors(code: int, text: str) -> None:
    cause = OSError(code, "x")
    exc = _caused(u.NewConnectionError(None, f"Failed: {cause}"), cause)  # type: ignore[arg-type]
    error = translate(exc)
    assert type(error) is ConnectError
    assert text in str(error)
    assert error.request_sent is False


def test_connect_timeout() -> None:
    error = translate(u.ConnectTimeoutError(None, "timed out"))
    assert type(error) is ConnectTimeoutError
    assert isinstance(error, ConnectError)  # a connect timeout is a kind of connect failure
    assert error.phase == "connect"
    assert "3 s" in str(error)


def test_read_timeout() -> None:
    error = translate(u.ReadTimeoutError(None, "/", "Read timed out."))  # type: ignore[arg-type]
    assert type(error) is ReadTimeoutError
    assert error.phase == "read"
    assert error.request_sent is True
    assert "7 s" in str(error)


def test_bare_socket_timeout_is_a_read_timeout() -> None:
    assert type(translate(TimeoutError("timed out"))) is ReadTimeoutError


@pytest.mark.parametrize(
    ("inner", "text"),
    [
        (http.client.RemoteDisconnected("closed"), "without sending a response"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset by peer"),
        (BrokenPipeError(errno.EPIPE, "pipe"), "broken pipe"),
        (http.client.IncompleteRead(b"abc", 7), "3 bytes read, 7 more expected"),
        (u.IncompleteRead(5, 10), "5 bytes read, 10 more expected"),
        (http.client.BadStatusLine("x"), "invalid HTTP response"),
        (_http11.RemoteDisconnected("closed"), "without sending a response"),
        (_http11.IncompleteRead(b"abc", 7), "3 bytes read, 7 more expected"),
        (_http11.BadStatusLine("x"), "invalid HTTP response"),
    ],
)
def test_protocol_errors_are_connection_closed(inner: BaseException, text: str) -> None:
    error = translate(u.ProtocolError("Connection aborted.", inner))
    assert type(error) is ConnectionClosedError
    assert error.phase == "read"
    assert text in str(error)


def test_unwrapped_os_errors() -> None:
    assert type(translate(ConnectionRefusedError(errno.ECONNREFUSED, "r"))) is ConnectError
    assert type(translate(ConnectionResetError(errno.ECONNRESET, "r"))) is ConnectionClosedError


def test_certificate_verification_failure() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    error = translate(u.SSLError(verify))
    assert type(error) is ConnectError
    assert "TLS certificate verification failed: unable to get local issuer certificate" in str(
        error
    )


def test_hostname_mismatch_from_urllib3_matcher() -> None:
    from urllib3.util.ssl_match_hostname import CertificateError

    mismatch = CertificateError("hostname 'a' doesn't match 'b'")
    error = translate(u.SSLError(mismatch))
    assert "TLS certificate verification failed: hostname 'a' doesn't match 'b'" in str(error)


def test_certificate_error_without_details() -> None:
    error = translate(u.SSLError(ssl.SSLCertVerificationError("certificate verify failed")))
    assert "TLS certificate verification failed" in str(error)


def test_other_tls_errors() -> None:
    error = translate(u.SSLError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version")))
    assert type(error) is ConnectError
    assert "TLS handshake failed" in str(error)
    assert type(translate(u.SSLError("no detail"))) is ConnectError


def test_proxy_refused() -> None:
    cause = OSError(errno.ECONNREFUSED, "refused")
    inner = _caused(u.NewConnectionError(None, "x"), cause)  # type: ignore[arg-type]
    error = translate(u.ProxyError("Unable to connect to proxy", inner))
    assert type(error) is ConnectError
    assert "through the proxy: connection refused" in str(error)
    assert error.host == HOST


def test_proxy_timeout() -> None:
    error = translate(u.ProxyError("Unable to connect to proxy", u.ConnectTimeoutError("t")))
    assert type(error) is ConnectTimeoutError
    assert "proxy" in str(error)


def test_proxy_tunnel_refused() -> None:
    inner = OSError("Tunnel connection failed: 407 Proxy Authentication Required")
    error = translate(u.ProxyError("Unable to connect to proxy", inner))
    assert type(error) is ConnectError
    assert "407 Proxy Authentication Required" in str(error)


def test_proxy_tls_failure() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    error = translate(u.ProxyError("Unable to connect to proxy", u.SSLError(verify)))
    assert "through the proxy: TLS certificate verification failed" in str(error)


def test_max_retry_error_is_unwrapped() -> None:
    error = translate(u.MaxRetryError(None, "/", u.ConnectTimeoutError("t")))  # type: ignore[arg-type]
    assert type(error) is ConnectTimeoutError


def test_decode_error() -> None:
    error = translate(u.DecodeError("bad gzip"))
    assert type(error) is TransportError
    assert error.phase == "read"
    assert "could not be decoded" in str(error)


def test_bad_location_is_configuration() -> None:
    assert isinstance(translate(u.LocationParseError("http://[")), ConfigurationError)


def test_invalid_header_value_is_not_echoed() -> None:
    error = translate(ValueError("Invalid header value b'AWS4 Signature=SECRET\\n'"))
    assert isinstance(error, ConfigurationError)
    assert "SECRET" not in str(error)
    named = translate(ValueError("Invalid header name b'X\\n'"))
    assert "Invalid header name" in str(named)


def test_anything_else_is_still_a_transport_error() -> None:
    error = translate(u.HTTPError("odd"))
    assert type(error) is TransportError
    assert isinstance(error, KmsMrkError)
    assert HOST in str(error)
