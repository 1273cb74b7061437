"""Benchmark: failover-all of 1,000 multi-Region keys against the in-process local KMS.

Zero delays (no ``Creating``, no ``Updating``), no rate cap, so what is measured is the cost
of the work itself. For each run the benchmark separates three layers of time:

- ``kms``: inside ``LocalKMS.send``, the far side of the transport (the "service");
- ``sdk``: inside ``client.send`` minus ``kms``: validation, serialization, SigV4, parsing,
  retries (timed with an interceptor from ``before_serialization`` to the end of the call);
- ``toolkit``: everything else, i.e. the failover toolkit's own work: planning logic,
  preflight checks, the journal (``fsync`` included), waiting logic, thread pool.

Each layer's share is measured as CPU time (``time.thread_time`` around each call, summed
over threads; the process CPU time for the total), so threads waiting for the GIL do not
inflate it. The issue's bar is toolkit CPU < sdk + kms CPU (the cost of the API calls it
makes). "Client CPU" is the process CPU minus the local KMS's share. At concurrency 1 the
wall time outside ``client.send`` is shown too: it adds the journal's ``fsync`` waits, which
cost wall time but almost no CPU.

Runs: ``plan`` (ListKeys, ListAliases, 2 x DescribeKey per key), then ``run`` at concurrency
1 and 8, with a journal synced as in production (``start``, every ``intent`` and ``end``
are on disk before the run goes on) and, at concurrency 1, without a journal, so the
journal's cost shows. Each run moves 1,000 fresh keys us-east-1 -> eu-west-1. The machine
may be shared: each configuration is run ``--repeat`` times (3) and the run with the median
toolkit CPU is shown.
In-process the GIL serialises the Python work, so concurrency cannot speed up a CPU-bound
run; against AWS each call waits ~10-50 ms on the network and concurrency is what makes
the fleet fast (the rate cap is then the limit).

Run: ``.venv/bin/python bench/bench_failover.py [--keys 1000] [--repeat 3] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kms_mrk import Credentials, Interceptor, KMSClient  # noqa: E402
from kms_mrk.failover import plan, run  # noqa: E402
from kms_mrk.local import LocalKMS  # noqa: E402
from kms_mrk.transport import HttpRequest, HttpResponse  # noqa: E402

SOURCE = "us-east-1"
TARGET = "eu-west-1"


class Timer(Interceptor):
    """Adds up the CPU and wall time each call spends inside client.send (thread-safe)."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def before_serialization(self, context: Any) -> None:
        context.attributes["bench"] = (time.thread_time(), time.perf_counter())

    def _stop(self, context: Any) -> None:
        cpu, wall = context.attributes["bench"]
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        with self._lock:
            self.cpu += cpu
            self.wall += wall
            self.calls += 1

    def after_deserialization(self, context: Any, output: Any) -> None:
        self._stop(context)

    def on_error(self, context: Any, error: Exception) -> None:
        self._stop(context)

    def reset(self) -> None:
        self.cpu = self.wall = 0.0
        self.calls = 0


class TimedKMS:
    """A transport that times the local KMS's own share of each call (CPU and wall)."""

    def __init__(self, kms: LocalKMS) -> None:
        self.kms = kms
        self.cpu = self.wall = 0.0
        self._lock = threading.Lock()

    def send(self, request: HttpRequest) -> HttpResponse:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return self.kms.send(request)
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            with self._lock:
                self.cpu += cpu
                self.wall += wall

    def close(self) -> None:
        self.kms.close()

    def reset(self) -> None:
        self.cpu = self.wall = 0.0


def fleet(keys: int) -> tuple[KMSClient, TimedKMS, Timer]:
    kms = LocalKMS(seed=1)
    timed = TimedKMS(kms)
    timer = Timer()
    client = KMSClient(
        SOURCE,
        credentials=Credentials("AKIDBENCH", "bench-secret"),
        transport=timed,
        interceptors=[timer],
    )
    for _ in range(keys):
        created = client.create_key(multi_region=True)
        assert created.key_metadata is not None
        client.replicate_key(key_id=created.key_metadata.key_id, replica_region=TARGET)
    return client, timed, timer


def measure(label: str, keys: int, work: Any, timed: TimedKMS, timer: Timer) -> dict[str, Any]:
    timed.reset()
    timer.reset()
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    per_key = 1e6 / keys  # microseconds per key
    return {
        "run": label,
        "keys": keys,
        "seconds": round(wall, 3),
        "keys_per_second": round(keys / wall, 1),
        "api_calls": timer.calls,
        "cpu_us_per_key": {
            "total": round(cpu * per_key),
            "kms": round(timed.cpu * per_key),
            "sdk": round((timer.cpu - timed.cpu) * per_key),
            "toolkit": round((cpu - timer.cpu) * per_key),
        },
        "client_cpu_us_per_key": round((cpu - timed.cpu) * per_key),
        "wall_us_per_key": {
            "total": round(wall * per_key),
            "api": round(timer.wall * per_key),
            "toolkit": round((wall - timer.wall) * per_key),
        },
        "toolkit_below_api_cost": (cpu - timer.cpu) < timer.cpu,
        "result": result,
    }


def bench(keys: int, repeat: int = 1) -> list[dict[str, Any]]:
    """Every configuration ``repeat`` times; the row with the median toolkit CPU of each."""
    runs = [_bench_once(keys) for _ in range(repeat)]
    rows = []
    for same in zip(*runs, strict=True):
        ranked = sorted(same, key=lambda row: row["cpu_us_per_key"]["toolkit"])
        rows.append(ranked[len(ranked) // 2])
    return rows


def _bench_once(keys: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for concurrency, journal in ((1, False), (1, True), (8, True)):
            client, timed, timer = fleet(keys)
            plans: list[Any] = []

            def make_plan(client: KMSClient = client, plans: list[Any] = plans) -> dict[str, Any]:
                plans.append(plan(client, SOURCE, TARGET))
                return dict(plans[0].counts())

            if concurrency == 1 and not journal:
                rows.append(measure("plan (c=4)", keys, make_plan, timed, timer))
            else:
                make_plan()
            path = Path(folder) / f"journal-{concurrency}-{journal}.jsonl" if journal else None

            def execute(
                client: KMSClient = client,
                concurrency: int = concurrency,
                path: Any = path,
                plans: list[Any] = plans,
            ) -> dict[str, Any]:
                summary = run(client, plans[0], concurrency=concurrency, rate=None, journal=path)
                assert summary.ok, summary.counts()
                assert summary.counts()["promoted"] == keys
                return {"counts": summary.counts(), "stats": summary.stats}

            label = f"run c={concurrency}" + (" journal" if journal else " no journal")
            rows.append(measure(label, keys, execute, timed, timer))
            timed.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each configuration")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = bench(args.keys, max(1, args.repeat))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"failover-all of {args.keys} multi-Region keys, in-process local KMS, zero delays "
        f"(median of {max(1, args.repeat)} runs by toolkit CPU)"
    )
    print(
        f"python {sys.version.split()[0]}; CPU microseconds per key: kms = inside LocalKMS.send, "
        "sdk = rest of client.send,\ntoolkit = everything else; client CPU = all but kms; "
        "toolkit wall = wall time outside client.send (c=1 only)\n"
    )
    print(
        f"{'run':<20}{'keys/s':>8}{'calls/key':>10}{'kms':>6}{'sdk':>6}{'toolkit':>9}"
        f"{'client CPU':>12}{'toolkit wall':>14}  toolkit < API cost"
    )
    for row in rows:
        cpu, wall = row["cpu_us_per_key"], row["wall_us_per_key"]
        toolkit_wall = f"{wall['toolkit']}" if row["run"].startswith("run c=1") else "-"
        print(
            f"{row['run']:<20}{row['keys_per_second']:>8}{row['api_calls'] / row['keys']:>10.1f}"
            f"{cpu['kms']:>6}{cpu['sdk']:>6}{cpu['toolkit']:>9}"
            f"{row['client_cpu_us_per_key']:>12}{toolkit_wall:>14}  "
            f"{'yes' if row['toolkit_below_api_cost'] else 'NO'}"
        )


if __name__ == "__main__":
    main()
