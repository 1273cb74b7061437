"""Asyncio transport benchmark: aiohttp against httpx and a floor, side by side, in one run.

    python bench/bench_async_transport.py [--requests 640] [--rounds 9] [--json out.json]

Chooses the default asyncio transport of ``AsyncKMSClient`` (figures in docs/performance.md).
The loopback HTTP/1.1 server of bench_client.py (a separate process, so its CPU is not
counted) answers every request with a DescribeKey-sized JSON body. Measured in this process:

- CPU per request (``time.process_time()`` / requests) at 1 and at 32 concurrent requests,
  for ``AiohttpTransport``, ``HttpxTransport`` (kms-mrk's transports, exactly as shipped: the
  same request, headers and body handling) and a floor: a minimal HTTP/1.1 client on
  ``asyncio.open_connection`` streams (prebuilt request, headers split, ``readexactly`` of
  the body) with a pool of 32 keep-alive connections. The contenders run in interleaved
  rounds (floor, aiohttp, httpx, floor, ...) and the medians are reported, with the ratios to
  the floor taken per round.
- Memory, each library in a fresh interpreter: the RSS the import adds, and for a transport
  sending 2,000 requests at 32 concurrent, the ``tracemalloc`` peak and the RSS it adds.

Also: the sync reader's linearity (``kms_mrk.transport._http11``): the time to read one 8 MiB
and one 32 MiB chunk from an in-memory socket, as a ratio (about 4 when linear, 16 when
quadratic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_client import start_server

from kms_mrk.transport import HttpRequest

PY = sys.executable
HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "TrentService.DescribeKey",
    "X-Amz-Date": "20240101T000000Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kms/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
    "User-Agent": "kms-mrk/bench",
}
REQUEST_BODY = b'{"KeyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}'

Send = Callable[[], Awaitable[object]]


class FloorClient:
    """The least an asyncio HTTP/1.1 client can do: prebuilt bytes, a pool of streams."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        self.raw = (
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}"
            f"Content-Length: {len(REQUEST_BODY)}\r\n\r\n"
        ).encode() + REQUEST_BODY

    async def send(self) -> bytes:
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(self.raw)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        self.idle.append((reader, writer))
        json.loads(body)
        return body

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def make_sender(name: str, port: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    if name == "floor":
        floor = FloorClient(port)
        return floor.send, floor.aclose
    from kms_mrk.transport import AiohttpTransport, HttpxTransport

    cls = AiohttpTransport if name == "aiohttp" else HttpxTransport
    transport = cls(max_pool_connections=32)
    request = HttpRequest("POST", f"http://127.0.0.1:{port}/", HEADERS, REQUEST_BODY)

    async def send() -> object:
        response = await transport.send(request)
        return json.loads(response.body)

    return send, transport.aclose


async def run(send: Send, requests: int, concurrency: int) -> float:
    """CPU seconds per request for ``requests`` requests, ``concurrency`` at a time."""
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await send()

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - start) / (per_worker * concurrency)


async def cpu_interleaved(port: int, requests: int, rounds: int) -> dict[str, float]:
    names = ("floor", "aiohttp", "httpx")
    senders = {name: make_sender(name, port) for name in names}
    out: dict[str, float] = {}
    try:
        for concurrency in (1, 32):
            for name in names:  # warm up: imports, TLS context, connections
                await run(senders[name][0], max(concurrency * 4, 64), concurrency)
            samples: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(rounds):
                for name in names:
                    samples[name].append(await run(senders[name][0], requests, concurrency))
            for name in names:
                out[f"{name}_c{concurrency}_us"] = statistics.median(samples[name]) * 1e6
            for name in ("aiohttp", "httpx"):
                out[f"{name}_c{concurrency}_x_floor"] = statistics.median(
                    a / f for a, f in zip(samples[name], samples["floor"], strict=True)
                )
            out[f"httpx_over_aiohttp_c{concurrency}"] = statistics.median(
                h / a for h, a in zip(samples["httpx"], samples["aiohttp"], strict=True)
            )
    finally:
        for _, close in senders.values():
            await close()
    return out


MEMORY = textwrap.dedent(
    """
    import asyncio, json, sys, tracemalloc
    sys.path[:0] = [sys.argv[3], sys.argv[4]]

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    name, port = sys.argv[1], int(sys.argv[2])
    base = rss()
    import kms_mrk.transport
    if name == "floor":
        import asyncio.streams
    else:
        __import__(name)
    after_import = rss()
    import bench_async_transport as b

    async def main():
        tracemalloc.start()
        before = rss()
        send, close = b.make_sender(name, port)
        await b.run(send, 2000, 32)
        peak = tracemalloc.get_traced_memory()[1]
        used = rss() - before
        await close()
        return peak, used

    peak, used = asyncio.run(main())
    print(json.dumps({"import_mib": (after_import - base) / 2**20,
                      "peak_mib": peak / 2**20, "rss_mib": used / 2**20}))
    """
)


def memory(port: int) -> dict[str, float]:
    bench_dir = str(Path(__file__).resolve().parent)
    root = str(Path(__file__).resolve().parent.parent)
    out: dict[str, float] = {}
    for name in ("floor", "aiohttp", "httpx"):
        runs = []
        for _ in range(3):
            done = subprocess.run(
                [PY, "-c", MEMORY, name, str(port), bench_dir, root],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
            runs.append(json.loads(done.stdout))
        for key in ("import_mib", "peak_mib", "rss_mib"):
            out[f"{name}_{key}"] = statistics.median(r[key] for r in runs)
    return out


def reader_linearity() -> dict[str, float]:
    """Seconds to read a single 8 MiB and 32 MiB chunk with the sync reader, and the ratio."""
    from kms_mrk.transport._http11 import read_response

    class Feed:
        def __init__(self, data: bytes) -> None:
            self.data, self.pos = memoryview(data), 0

        def recv(self, size: int) -> bytes:
            piece = bytes(self.data[self.pos : self.pos + min(size, 65536)])
            self.pos += len(piece)
            return piece

        def gettimeout(self) -> float:
            return 60.0

        def settimeout(self, value: object) -> None:
            pass

    def seconds(size: int) -> float:
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % size
        raw += b"x" * size + b"\r\n0\r\n\r\n"
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            read_response(Feed(raw))  # type: ignore[arg-type]
            best = min(best, time.process_time() - start)
        return best

    small, large = seconds(8 << 20), seconds(32 << 20)
    return {"chunk_8mib_s": small, "chunk_32mib_s": large, "chunk_ratio": large / small}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=640, help="requests per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    server, port = start_server()
    try:
        results = asyncio.run(cpu_interleaved(port, args.requests, args.rounds))
        if not args.no_memory:
            results.update(memory(port))
    finally:
        server.kill()
    results.update(reader_linearity())
    rows = []
    for c in (1, 32):
        for name in ("floor", "aiohttp", "httpx"):
            ratio = "" if name == "floor" else f"{results[f'{name}_c{c}_x_floor']:.2f}x floor"
            rows.append(
                (
                    f"CPU per request, {c} concurrent: {name}",
                    f"{results[f'{name}_c{c}_us']:.1f} us",
                    ratio,
                )
            )
        rows.append(
            (f"httpx / aiohttp, {c} concurrent", f"{results[f'httpx_over_aiohttp_c{c}']:.2f}x", "")
        )
    if not args.no_memory:
        for name in ("floor", "aiohttp", "httpx"):
            rows.append(
                (f"RSS added by the import: {name}", f"{results[f'{name}_import_mib']:.2f} MiB", "")
            )
            rows.append(
                (
                    f"tracemalloc peak, 2,000 requests x32: {name}",
                    f"{results[f'{name}_peak_mib']:.2f} MiB",
                    "",
                )
            )
            rows.append(
                (
                    f"RSS added, 2,000 requests x32: {name}",
                    f"{results[f'{name}_rss_mib']:.2f} MiB",
                    "",
                )
            )
    rows.append(("sync reader: one 8 MiB chunk", f"{results['chunk_8mib_s'] * 1e3:.1f} ms", ""))
    rows.append(("sync reader: one 32 MiB chunk", f"{results['chunk_32mib_s'] * 1e3:.1f} ms", ""))
    rows.append(("32 MiB / 8 MiB", f"{results['chunk_ratio']:.2f}x", "linear ~4, quadratic ~16"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>12}  {note}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
