"""Importing kms_mrk.transport (and creating a transport) must not import urllib3/requests/ssl."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.unit.transport._transport_servers import TlsFiles

SCRIPT = textwrap.dedent(
    """
    import sys
    import kms_mrk.transport as t
    assert {"HttpRequest", "HttpResponse", "Transport", "Urllib3Transport",
            "RequestsTransport"} <= set(t.__all__)
    heavy = ("urllib3", "requests", "ssl", "http.client")
    print("after import:", [m for m in heavy if m in sys.modules])
    transport = t.Urllib3Transport()
    print("after construction:", [m for m in heavy if m in sys.modules])
    t.RequestsTransport
    print("after attribute:", [m for m in heavy if m in sys.modules])
    """
)


def test_import_and_construction_stay_light() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == [
        "after import: []",
        "after construction: []",
        "after attribute: []",
    ]


def test_unknown_attribute() -> None:
    import kms_mrk.transport

    try:
        kms_mrk.transport.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
    assert "Urllib3Transport" in dir(kms_mrk.transport)


SEND_SCRIPT = textwrap.dedent(
    """
    import socket, sys, threading
    from kms_mrk.transport import HttpRequest, Urllib3Transport

    cert = sys.argv[1] if len(sys.argv) > 1 else None
    server = socket.create_server(("127.0.0.1", 0))
    def answer():
        conn, _ = server.accept()
        if cert:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, sys.argv[2])
            conn = context.wrap_socket(conn, server_side=True)
        with conn:
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}")
    heavy = ("urllib3", "ssl", "http.client", "email", "importlib.metadata", "encodings.idna")
    before = [m for m in heavy if m in sys.modules]
    threading.Thread(target=answer, daemon=True).start()
    scheme, host = ("https", "localhost") if cert else ("http", "127.0.0.1")
    url = "%s://%s:%d/" % (scheme, host, server.getsockname()[1])
    transport = Urllib3Transport(
        connect_timeout=5, read_timeout=5, proxies={}, verify=cert or True
    )
    response = transport.send(HttpRequest("POST", url, {"X-Amz-Target": "T.Op"}, b"{}"))
    assert response.status == 200 and response.body == b"{}", response
    print(before, [m for m in heavy if m in sys.modules])
    """
)


def test_a_plain_http_exchange_imports_neither_urllib3_nor_ssl() -> None:
    # Direct routes are pooled by kms_mrk.transport._pool: a short process that talks plain
    # HTTP (a local KMS, a test) pays for none of these.
    result = subprocess.run(
        [sys.executable, "-c", SEND_SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == ["[] []"]


def test_an_https_exchange_imports_ssl_but_not_urllib3(tls_files: TlsFiles) -> None:
    # The server thread of the script imports ssl itself, so "ssl" is expected; what the
    # transport must not pull in is urllib3 with http.client, email and importlib.metadata,
    # nor the idna codec for an ASCII host name.
    result = subprocess.run(
        [sys.executable, "-c", SEND_SCRIPT, str(tls_files.cert), str(tls_files.key)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == ["[] ['ssl']"]
