"""The HTTP/1.1 server itself: framing, keep-alive, bad requests, shutdown, concurrency."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from io import BufferedReader
from pathlib import Path
from typing import Any

import pytest

from kms_mrk.errors import ConfigurationError
from kms_mrk.local import LocalKMS, LocalKMSServer, serve
from kms_mrk.models import ListKeysRequest

TARGET = "X-Amz-Target: TrentService.{op}\r\n"


@pytest.fixture
def server() -> Iterator[LocalKMSServer]:
    with serve(port=0) as running:
        yield running


def connect(server: LocalKMSServer) -> tuple[socket.socket, BufferedReader]:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    return sock, sock.makefile("rb")


def request(op: str, body: bytes = b"{}", *, version: str = "HTTP/1.1", extra: str = "") -> bytes:
    head = (
        f"POST / {version}\r\nHost: localhost\r\n{TARGET.format(op=op)}"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def read_response(reader: BufferedReader) -> tuple[int, dict[str, str], bytes]:
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def test_keep_alive_and_pipelining(server: LocalKMSServer) -> None:
    sock, reader = connect(server)
    sock.sendall(request("CreateKey") + request("ListKeys"))
    first = read_response(reader)
    second = read_response(reader)
    assert (first[0], second[0]) == (200, 200)
    assert first[1]["connection"] == "keep-alive"
    assert first[1]["content-type"] == "application/x-amz-json-1.1"
    assert first[1]["x-amzn-requestid"] != second[1]["x-amzn-requestid"]
    key_id = json.loads(first[2])["KeyMetadata"]["KeyId"]
    assert [k["KeyId"] for k in json.loads(second[2])["Keys"]] == [key_id]
    sock.sendall(request("ListKeys"))
    assert read_response(reader)[0] == 200
    sock.close()


def test_connection_close_and_http_1_0(server: LocalKMSServer) -> None:
    for raw in (
        request("ListKeys", extra="Connection: close\r\n"),
        request("ListKeys", version="HTTP/1.0"),
    ):
        sock, reader = connect(server)
        sock.sendall(raw)
        status, headers, _ = read_response(reader)
        assert (status, headers["connection"]) == (200, "close")
        assert reader.read() == b""
        sock.close()


def test_chunked_bodies_and_expect_continue(server: LocalKMSServer) -> None:
    sock, reader = connect(server)
    body = json.dumps({"Description": "chunked"}).encode()
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.CreateKey\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{5:x}\r\n".encode()
        + body[:5]
        + b"\r\n"
        + f"{len(body) - 5:x}\r\n".encode()
        + body[5:]
        + b"\r\n0\r\n\r\n"
    )
    status, _, payload = read_response(reader)
    assert (status, json.loads(payload)["KeyMetadata"]["Description"]) == (200, "chunked")
    sock.sendall(request("ListKeys", b"")[:-2] + b"Expect: 100-continue\r\n\r\n")
    assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert reader.readline() == b"\r\n"
    assert read_response(reader)[0] == 200
    sock.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\n" + b"X-A: b\r\n" * 300 + b"\r\n", 431),
    ],
)
def test_malformed_http_gets_a_json_error_and_a_close(
    server: LocalKMSServer, raw: bytes, status: int
) -> None:
    sock, reader = connect(server)
    sock.sendall(raw)
    got, headers, body = read_response(reader)
    assert got == status
    assert headers["connection"] == "close"
    assert json.loads(body)["__type"] == "SerializationException"
    sock.close()


def test_concurrent_clients(server: LocalKMSServer) -> None:
    sock, reader = connect(server)
    sock.sendall(request("CreateKey"))
    key_id = json.loads(read_response(reader)[2])["KeyMetadata"]["KeyId"]
    sock.close()
    failures: list[Any] = []

    def work() -> None:
        conn, rd = connect(server)
        body = json.dumps({"KeyId": key_id}).encode()
        for _ in range(50):
            conn.sendall(request("DescribeKey", body))
            status, _, payload = read_response(rd)
            if status != 200 or json.loads(payload)["KeyMetadata"]["KeyId"] != key_id:
                failures.append((status, payload))
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []


def test_shutdown_closes_idle_connections_and_is_idempotent() -> None:
    running = serve(port=0).start()
    sock, reader = connect(running)
    sock.sendall(request("ListKeys"))
    assert read_response(reader)[0] == 200
    running.shutdown()
    assert reader.read() == b""
    running.shutdown()
    with pytest.raises(OSError):
        socket.create_connection((running.host, running.port), timeout=2).close()
    sock.close()


def test_server_owns_only_the_local_kms_it_made() -> None:
    mine = LocalKMS()
    with serve(port=0, kms=mine) as running:
        assert running.kms is mine
        assert running.url == f"http://127.0.0.1:{running.port}"
    assert mine.handle("ListKeys", "us-east-1", ListKeysRequest()) is not None  # still open
    with pytest.raises(ConfigurationError, match="not both"):
        serve(port=0, kms=mine, seed=1)


def test_port_in_use_is_a_clear_error(server: LocalKMSServer) -> None:
    with pytest.raises(
        ConfigurationError, match=re.escape(f"cannot listen on 127.0.0.1:{server.port}")
    ):
        serve(port=server.port)


def test_interrupted_serve_forever_still_shuts_down_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C inside serve_forever, then shutdown() from the same thread, closes everything."""
    import selectors

    class Interrupted(selectors.DefaultSelector):
        def select(self, timeout: float | None = None) -> Any:
            raise KeyboardInterrupt

    monkeypatch.setattr(selectors, "DefaultSelector", Interrupted)
    running = serve(port=0, state_file=tmp_path / "kms.json")
    with pytest.raises(KeyboardInterrupt):
        running.serve_forever()
    running.shutdown()
    with pytest.raises(OSError):
        socket.create_connection((running.host, running.port), timeout=2).close()
    LocalKMS(state_file=tmp_path / "kms.json").close()  # the state file was released


def test_local_kms_is_a_transport() -> None:
    from kms_mrk.transport import Transport

    assert isinstance(LocalKMS(), Transport)


@pytest.mark.parametrize(("length", "status"), [("99999999", 413), ("nope", 400), ("-1", 400)])
def test_a_body_refused_by_its_length_gets_no_100_continue(
    server: LocalKMSServer, length: str, status: int
) -> None:
    """The client must not be invited to send a body the server refuses anyway."""
    sock, reader = connect(server)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\n"
        + f"Content-Length: {length}\r\n".encode()
        + b"Expect: 100-continue\r\n\r\n"
    )
    got, headers, body = read_response(reader)
    assert got == status
    assert json.loads(body)["__type"] == "SerializationException"
    assert headers["connection"] == "close"
    sock.close()


def test_100_continue_comes_before_an_acceptable_body(server: LocalKMSServer) -> None:
    sock, reader = connect(server)
    body = b'{"Description": "after continue"}'
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.CreateKey\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Expect: 100-continue\r\n\r\n"
    )
    assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert reader.readline() == b"\r\n"
    sock.sendall(body)
    status, _, payload = read_response(reader)
    assert (status, json.loads(payload)["KeyMetadata"]["Description"]) == (200, "after continue")
    sock.close()
