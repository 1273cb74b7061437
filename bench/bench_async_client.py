"""Async client benchmark: AsyncKMSClient against aiobotocore, side by side, in one run.

    python bench/bench_async_client.py [--calls 640] [--rounds 9] [--concurrency 32]

aiobotocore pins botocore, so run it from a virtualenv of its own, e.g.::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e '.[dev,local,bench]'
    .venv-bench/bin/python bench/bench_async_client.py

The loopback HTTP/1.1 server of bench_client.py (a separate process, so its CPU is not
counted) answers every request with the same DescribeKey body. Measured in this process:
CPU per DescribeKey call (``time.process_time()`` / calls) with ``--concurrency`` calls in
flight, for

- kms-mrk: ``AsyncKMSClient.describe_key`` over its default transport (aiohttp): validate,
  serialize, sign, send, parse into typed objects;
- aiobotocore: ``client.describe_key`` on an aiobotocore KMS client (also over aiohttp),
  with ``max_pool_connections`` set to the concurrency.

Both run in interleaved rounds and the ratio is taken per round, then the median. Goal
(issue #9): kms-mrk at most 0.3x aiobotocore's CPU per call. When ``AsyncKMSClient`` is not
available (the async client lives on another branch), only aiobotocore is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_client import start_server

KEY_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
Call = Callable[[], Awaitable[object]]


async def kms_mrk_caller(stack: AsyncExitStack, url: str, concurrency: int) -> Call | None:
    try:
        from kms_mrk import AsyncKMSClient  # type: ignore[attr-defined]
    except ImportError:
        return None
    from kms_mrk.transport import AiohttpTransport

    transport = AiohttpTransport(max_pool_connections=concurrency)
    client = await stack.enter_async_context(
        AsyncKMSClient("us-east-1", endpoint_url=url, transport=transport)
    )
    stack.push_async_callback(transport.aclose)

    async def call() -> object:
        return await client.describe_key(key_id=KEY_ID)

    return call


async def aiobotocore_caller(stack: AsyncExitStack, url: str, concurrency: int) -> Call:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    client = await stack.enter_async_context(
        get_session().create_client(
            "kms",
            region_name="us-east-1",
            endpoint_url=url,
            config=AioConfig(max_pool_connections=concurrency, retries={"max_attempts": 1}),
        )
    )

    async def call() -> object:
        return await client.describe_key(KeyId=KEY_ID)

    return call


async def run(call: Call, calls: int, concurrency: int) -> float:
    per_worker = calls // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    start = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - start) / (per_worker * concurrency)


async def measure(url: str, calls: int, rounds: int, concurrency: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        callers: dict[str, Call] = {}
        mine = await kms_mrk_caller(stack, url, concurrency)
        if mine is not None:
            callers["kms_mrk"] = mine
        callers["aiobotocore"] = await aiobotocore_caller(stack, url, concurrency)
        for call in callers.values():  # warm up: imports, connections, caches
            await run(call, max(4 * concurrency, 128), concurrency)
        samples: dict[str, list[float]] = {name: [] for name in callers}
        for _ in range(rounds):
            for name, call in callers.items():
                samples[name].append(await run(call, calls, concurrency))
    out = {f"{name}_us": statistics.median(v) * 1e6 for name, v in samples.items()}
    if "kms_mrk" in samples:
        out["ratio_aiobotocore"] = statistics.median(
            k / a for k, a in zip(samples["kms_mrk"], samples["aiobotocore"], strict=True)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=640, help="calls per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # Static test credentials for the loopback stub; nothing here talks to AWS.
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(name, None)
    server, port = start_server()
    try:
        results = asyncio.run(
            measure(f"http://127.0.0.1:{port}", args.calls, args.rounds, args.concurrency)
        )
    finally:
        server.kill()
    c = args.concurrency
    if "kms_mrk_us" in results:
        print(f"CPU per DescribeKey, {c} concurrent: kms-mrk     {results['kms_mrk_us']:8.1f} us")
    else:
        print("kms-mrk: AsyncKMSClient is not available in this checkout; not measured")
    print(f"CPU per DescribeKey, {c} concurrent: aiobotocore {results['aiobotocore_us']:8.1f} us")
    if "ratio_aiobotocore" in results:
        print(f"kms-mrk / aiobotocore: {results['ratio_aiobotocore']:.2f}x (goal <= 0.30x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
