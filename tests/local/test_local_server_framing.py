"""Property tests of the server's request framing: chunked bodies and line reading.

The reader runs over a fake socket that hands out the bytes in the pieces hypothesis picks,
so every split of the input is tried, and the bytes the reader holds are counted.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms_mrk.local._server import _BadRequest, _Gone, _read_chunked, _Reader

LIMIT = 4096


class FakeSocket:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)

    def settimeout(self, value: float | None) -> None:
        assert value is None or value > 0

    def recv(self, size: int) -> bytes:
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        assert len(piece) <= size
        return piece


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def reader_for(data: bytes, cuts: list[int]) -> _Reader:
    return _Reader(FakeSocket(split(data, cuts)), 60.0, lambda: 0.0)  # type: ignore[arg-type]


def chunked(body: bytes, sizes: list[int], upper: bool) -> bytes:
    out = bytearray()
    rest = body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[: max(1, size)], rest[max(1, size) :]
        digits = f"{len(piece):x}"
        out += (digits.upper() if upper else digits).encode() + b"\r\n" + piece + b"\r\n"
    if rest:
        out += f"{len(rest):x}\r\n".encode() + rest + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=LIMIT),
    sizes=st.lists(st.integers(1, 700), max_size=12),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    upper=st.booleans(),
)
def test_any_chunking_of_a_body_within_the_limit_reads_back(
    body: bytes, sizes: list[int], cuts: list[int], upper: bool
) -> None:
    encoded = chunked(body, sizes, upper)
    reader = reader_for(encoded + b"NEXT", cuts)
    assert _read_chunked(reader, LIMIT) == body
    assert reader.read(4) == b"NEXT"  # nothing of the next request was swallowed
    assert reader.peak <= len(encoded) + 4


@settings(max_examples=300, deadline=None)
@given(
    size_line=st.binary(max_size=40),
    cuts=st.lists(st.integers(0, 100), max_size=5),
    tail=st.binary(max_size=64),
)
def test_any_size_line_is_read_or_refused_with_a_status(
    size_line: bytes, cuts: list[int], tail: bytes
) -> None:
    reader = reader_for(size_line + tail, cuts)
    try:
        _read_chunked(reader, LIMIT)
    except _BadRequest as bad:
        assert bad.status in (400, 413)
    except _Gone:
        pass  # the input ended: the client went away
    assert reader.peak <= len(size_line) + len(tail)


@pytest.mark.parametrize("size", [LIMIT + 1, 0xFFFFFFFF])
def test_a_declared_chunk_over_the_limit_is_refused_before_its_bytes_are_read(size: int) -> None:
    reader = reader_for(f"{size:x}\r\n".encode() + b"x" * 10, [])
    with pytest.raises(_BadRequest) as raised:
        _read_chunked(reader, LIMIT)
    assert raised.value.status == 413
    assert reader.peak < 64


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"")), max_size=8),
    cuts=st.lists(st.integers(0, 500), max_size=10),
)
def test_readline_returns_each_line_whatever_the_pieces(
    lines: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(line + b"\r\n" for line in lines)
    reader = reader_for(data, cuts)
    assert [reader.readline(64, 400, "a line") for _ in lines] == [x + b"\r\n" for x in lines]


@given(line=st.binary(min_size=65, max_size=300).map(lambda b: b.replace(b"\n", b"x")))
def test_readline_refuses_a_line_over_its_limit(line: bytes) -> None:
    reader = reader_for(line + b"\r\n", [])
    with pytest.raises(_BadRequest) as raised:
        reader.readline(64, 431, "A header line")
    assert raised.value.status == 431
