"""Benchmark: the kms-mrk local KMS against moto's server, side by side in one run.

Measures, on loopback:

1. DescribeKey requests per second on one keep-alive HTTP/1.1 connection;
2. the same with 8 concurrent client connections (8 client processes, so the client's own
   Python work does not share one GIL);
3. in process, the CPU time of the local KMS's own share of a DescribeKey call (decode the
   request, dispatch, encode the reply) through ``LocalKMS.send``, for a key seen before
   (the usual case: its answer is cached until the key changes) and for the first look at
   each of many keys; both for single-Region keys and for multi-Region primary keys with two
   replicas (whose answer lists every related key). Requests are signed per key, so their
   Authorization headers differ from call to call, as a real client's do.
4. persisted CreateKey: the wall time of one CreateKey through a LocalKMS with a state
   database (``--state kms.db``: committed and fsync'ed before the answer) holding 100,
   1,000, 10,000 and 100,000 keys, beside the floor of one fsync'ed SQLite commit of one row
   in the same directory. Each database is made by building the keys in memory and migrating
   them from a JSON state file, the path an upgrade from an older kms-mrk takes (timed too).

The HTTP server runs with a state database, so the DescribeKey figures show that reads never
touch the disk.

The HTTP client is the same for both servers and kept out of the way: the SigV4-signed
request is serialized to bytes once, and each call writes those bytes and reads the response
(status line, headers, Content-Length or chunked body) from a buffered socket. The moto server
is ``python -m moto.server``; when this interpreter cannot run it (moto needs flask), the
first ``python3`` on PATH that can is used, and the table says which.

Run: ``.venv/bin/python bench/bench_local_kms.py [--seconds 3] [--clients 8]
[--sizes 100,1000,10000,100000] [--creates 200]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kms_mrk.auth import Credentials, SigV4Signer  # noqa: E402
from kms_mrk.protocol import awsjson11  # noqa: E402

REGION = "us-east-1"
CREDENTIALS = Credentials("AKIDBENCH", "bench-secret")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raw_request(port: int, operation: str, body: dict[str, Any]) -> bytes:
    """A signed KMS request as the bytes an HTTP/1.1 client sends."""
    request = awsjson11.serialize_request(
        "TrentService", operation, None, None, f"http://127.0.0.1:{port}"
    ).replace(body=json.dumps(body).encode())
    signed = SigV4Signer().sign(request, CREDENTIALS, REGION)
    lines = ["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in signed.headers.items()]
    lines += [f"Content-Length: {len(signed.body)}", "Connection: keep-alive", "", ""]
    return "\r\n".join(lines).encode("latin-1") + signed.body


class RawClient:
    """Writes pre-built requests and reads responses on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=65536)

    def call(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = -1
        chunked = close = False
        while True:
            line = self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lname == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = bytearray()
            while True:
                size = int(self.reader.readline().split(b";")[0], 16)
                if size == 0:
                    self.reader.readline()
                    break
                body += self.reader.read(size)
                self.reader.readline()
            data = bytes(body)
        elif length >= 0:
            data = self.reader.read(length)
        else:
            data = self.reader.read()
            close = True
        if close:
            self.sock.close()
            self._connect()
        return status, data


def create_key(port: int) -> str:
    client = RawClient(port)
    status, body = client.call(raw_request(port, "CreateKey", {"MultiRegion": True}))
    if status != 200:
        raise RuntimeError(f"CreateKey on port {port} answered {status}: {body[:200]!r}")
    key_id: str = json.loads(body)["KeyMetadata"]["KeyId"]
    return key_id


def rps_one_connection(port: int, key_id: str, seconds: float) -> float:
    client = RawClient(port)
    raw = raw_request(port, "DescribeKey", {"KeyId": key_id})
    status, body = client.call(raw)
    if status != 200:
        raise RuntimeError(f"DescribeKey answered {status}: {body[:200]!r}")
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            client.call(raw)
        count += 50
        if time.perf_counter() >= deadline:
            break
    return count / (time.perf_counter() - start)


def _worker(port: int, key_id: str, seconds: float, start_at: float, out: Any) -> None:
    client = RawClient(port)
    raw = raw_request(port, "DescribeKey", {"KeyId": key_id})
    client.call(raw)
    while time.time() < start_at:
        time.sleep(0.001)
    count = 0
    deadline = start_at + seconds
    while time.time() < deadline:
        client.call(raw)
        count += 1
    out.put(count)


def rps_concurrent(port: int, key_id: str, seconds: float, clients: int) -> float:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 1.5
    workers = [
        context.Process(target=_worker, args=(port, key_id, seconds, start_at, out))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    total: int = sum(out.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join(30)
    return total / seconds


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def moto_python() -> str | None:
    """An interpreter that can run ``python -m moto.server`` (moto and flask installed)."""
    probe = "import moto.server"
    candidates = [sys.executable]
    for name in ("python3", "python"):
        found = shutil.which(
            name,
            path=os.pathsep.join(
                p
                for p in os.environ.get("PATH", "").split(os.pathsep)
                if not p.startswith(str(Path(sys.executable).parent))
            ),
        )
        if found:
            candidates.append(found)
    for candidate in candidates:
        result = subprocess.run(
            [candidate, "-c", probe], capture_output=True, timeout=60, check=False
        )
        if result.returncode == 0:
            return candidate
    return None


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(REPO)
    )
    wait_for_port(port, process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def in_process_cpu(calls: int = 20000, keys: int = 2000) -> dict[str, tuple[float, float]]:
    """Per kind of key: (us per repeated DescribeKey, us per first DescribeKey of a key)."""
    from kms_mrk.local import LocalKMS
    from kms_mrk.models import CreateKeyRequest, DescribeKeyRequest, ReplicateKeyRequest

    kms = LocalKMS()
    signer = SigV4Signer()

    def signed(key_id: str) -> Any:
        request = awsjson11.serialize_request(
            "TrentService",
            "DescribeKey",
            DescribeKeyRequest.__schema__,
            DescribeKeyRequest(key_id=key_id),
            "https://kms.us-east-1.amazonaws.com",
        )
        return signer.sign(request, CREDENTIALS, REGION)

    def new_key(multi_region: bool) -> str:
        created: Any = kms.handle("CreateKey", REGION, CreateKeyRequest(multi_region=multi_region))
        key_id: str = created.key_metadata.key_id
        if multi_region:
            for replica_region in ("eu-west-1", "ap-south-1"):
                kms.handle(
                    "ReplicateKey",
                    REGION,
                    ReplicateKeyRequest(key_id=key_id, replica_region=replica_region),
                )
        return key_id

    results: dict[str, tuple[float, float]] = {}
    for name, multi_region in (("single-Region", False), ("multi-Region, 2 replicas", True)):
        requests = [signed(new_key(multi_region)) for _ in range(50)]
        for item in requests * 20:  # warm up: every answer cached
            kms.send(item)
        best_repeat = float("inf")
        for _ in range(5):
            start = time.process_time()
            for index in range(calls):
                kms.send(requests[index % 50])
            best_repeat = min(best_repeat, (time.process_time() - start) / calls * 1e6)
        firsts = []
        for _ in range(5):  # five passes, each over keys never described before: the median
            fresh = [signed(new_key(multi_region)) for _ in range(keys // 5)]
            start = time.process_time()
            for item in fresh:
                kms.send(item)
            firsts.append((time.process_time() - start) / len(fresh) * 1e6)
        results[name] = (best_repeat, sorted(firsts)[len(firsts) // 2])
    return results


def persisted_create_key(
    sizes: list[int], creates: int, directory: Path
) -> tuple[tuple[float, float, float], list[tuple[int, float, float, float, float, float]]]:
    """The floor's (median, mean, p90) ms, and per size (keys, migration s, open s, median,
    mean, p90 ms).

    The sizes (and the floor) are timed in interleaved rounds, one call each per round, so
    that the disk's moods (fsync times here vary tenfold from minute to minute, with other
    work on the machine) fall on every size alike.
    """
    from kms_mrk.local import LocalKMS
    from kms_mrk.models import CreateKeyRequest

    logging.getLogger("kms_mrk.local").setLevel(logging.ERROR)  # the migration's notice
    floor_db = sqlite3.connect(str(directory / "floor.db"), isolation_level=None)
    floor_db.execute("PRAGMA journal_mode=WAL")
    floor_db.execute("PRAGMA synchronous=FULL")
    floor_db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")

    servers: list[tuple[int, float, float, LocalKMS]] = []
    for size in sizes:
        memory = LocalKMS()
        for _ in range(size):
            memory.handle("CreateKey", REGION, CreateKeyRequest(description="bench"))
        legacy = directory / f"keys-{size}.json"
        legacy.write_text(json.dumps(memory._store.dump()))
        memory.close()
        del memory
        start = time.perf_counter()
        LocalKMS(state_file=legacy).close()  # migrates to keys-N.db
        migration = time.perf_counter() - start
        legacy.with_name(legacy.name + ".bak").unlink()
        start = time.perf_counter()
        kms = LocalKMS(state_file=directory / f"keys-{size}.db")
        opening = time.perf_counter() - start
        servers.append((size, migration, opening, kms))

    floor_times: list[float] = []
    times: list[list[float]] = [[] for _ in servers]
    for number in range(creates):
        start = time.perf_counter()
        floor_db.execute("BEGIN IMMEDIATE")
        floor_db.execute("INSERT INTO t VALUES (?, ?)", (number, "x" * 1000))
        floor_db.execute("COMMIT")
        floor_times.append(time.perf_counter() - start)
        for index, (_size, _migration, _opening, kms) in enumerate(servers):
            start = time.perf_counter()
            kms.handle("CreateKey", REGION, CreateKeyRequest(description="bench"))
            times[index].append(time.perf_counter() - start)
    floor_db.close()

    def summary(values: list[float]) -> tuple[float, float, float]:
        ordered = sorted(values)
        return (
            statistics.median(ordered) * 1e3,
            statistics.fmean(ordered) * 1e3,
            ordered[int(len(ordered) * 0.9)] * 1e3,
        )

    rows = []
    for (size, migration, opening, kms), values in zip(servers, times, strict=True):
        kms.close()
        rows.append((size, migration, opening, *summary(values)))
    return summary(floor_times), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--skip-moto", action="store_true", help="measure the local KMS only")
    parser.add_argument(
        "--sizes", default="100,1000,10000,100000", help="key counts for persisted CreateKey"
    )
    parser.add_argument("--creates", type=int, default=200, help="CreateKey calls per size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]

    scratch = Path(tempfile.mkdtemp(prefix="kms-mrk-bench-"))
    results: dict[str, dict[str, float]] = {}
    local_port = free_port()
    local = start(
        [sys.executable, "-m", "kms_mrk.local", "serve", "--port", str(local_port),
         "--log-level", "WARNING", "--state", str(scratch / "served.db")],
        local_port,
    )  # fmt: skip
    try:
        key = create_key(local_port)
        results["kms-mrk local"] = {
            "one": rps_one_connection(local_port, key, args.seconds),
            "many": rps_concurrent(local_port, key, args.seconds, args.clients),
        }
    finally:
        stop(local)

    moto_with = None
    if not args.skip_moto:
        moto_with = moto_python()
        if moto_with is None:
            print("moto server cannot run here (needs moto and flask); skipping it")
        else:
            moto_port = free_port()
            moto = start([moto_with, "-m", "moto.server", "-p", str(moto_port)], moto_port)
            try:
                key = create_key(moto_port)
                results["moto server"] = {
                    "one": rps_one_connection(moto_port, key, args.seconds),
                    "many": rps_concurrent(moto_port, key, args.seconds, args.clients),
                }
            finally:
                stop(moto)

    cpu = in_process_cpu()
    try:
        floor, persisted = persisted_create_key(sizes, args.creates, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"DescribeKey over HTTP on 127.0.0.1, {args.seconds:g} s per run, {os.cpu_count()} CPUs")
    if moto_with is not None:
        print(f"moto server run with {moto_with}")
    print(f"{'server':<16}{'1 connection rps':>18}{f'{args.clients} clients rps':>18}")
    for name, row in results.items():
        print(f"{name:<16}{row['one']:>18,.0f}{row['many']:>18,.0f}")
    if "moto server" in results:
        local_row, moto_row = results["kms-mrk local"], results["moto server"]
        print(
            f"{'ratio':<16}{local_row['one'] / moto_row['one']:>17.1f}x"
            f"{local_row['many'] / moto_row['many']:>17.1f}x   (target >= 10x)"
        )
    print()
    print("In process, CPU per DescribeKey through LocalKMS.send (decode, dispatch, encode):")
    for name, (repeat_us, first_us) in cpu.items():
        print(
            f"  {name + ':':<27} repeated key {repeat_us:6.1f} us    "
            f"first look at a key {first_us:6.1f} us"
        )
    print()
    floor_median, floor_mean, floor_p90 = floor
    print(
        f"Persisted CreateKey (state database, synchronous=FULL), {args.creates} calls per "
        "size, sizes interleaved"
    )
    print(
        f"{'keys':>9}{'migration s':>13}{'open s':>8}{'median ms':>11}{'mean ms':>9}{'p90 ms':>8}"
    )
    print(
        f"{'floor':>9}{'':>13}{'':>8}{floor_median:>11.2f}{floor_mean:>9.2f}{floor_p90:>8.2f}"
        "   (one fsync'ed SQLite commit of one row)"
    )
    for size, migration, opening, median, mean, p90 in persisted:
        print(f"{size:>9,}{migration:>13.2f}{opening:>8.2f}{median:>11.2f}{mean:>9.2f}{p90:>8.2f}")
    if len(persisted) > 1:
        first, last = persisted[0], persisted[-1]
        print(
            f"at {last[0]:,} keys / at {first[0]:,} keys: median {last[3] / first[3]:.2f}x, "
            f"mean {last[4] / first[4]:.2f}x (goal <= 2x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
