"""Client benchmark: kms-mrk against boto3 and a floor, side by side, in one run.

    python bench/bench_client.py [--calls 500] [--rounds 15] [--json out.json]

A loopback HTTP/1.1 server (a separate process, so its CPU is not counted) answers every
request with a fixed DescribeKey body. Measured in this process, per call, as process CPU
time (``time.process_time``), median of the repeats:

- floor: one keep-alive ``http.client`` connection sending a prebuilt request, then
  ``json.loads`` of the reply: the least any Python client could do;
- kms-mrk: ``KMSClient.describe_key`` (validate, serialize, sign, send on the default transport, parse);
- boto3: ``client.describe_key`` on a boto3 KMS client.

The three are measured in interleaved rounds and the ratios taken per round. Because CPU
time on a shared machine is noisy, the calls are also counted in machine instructions with
valgrind's callgrind when it is installed (deterministic for the same inputs).

Also measured, each in fresh interpreters: ``import kms_mrk`` (and the realistic
``from kms_mrk import KMSClient, DescribeKeyCommand``) over a bare interpreter start,
``import boto3``; creating a client; and the memory (RSS) a client plus 1,000 calls adds.
Import times are taken with bytecode caches written first (``compileall``), as an installed
package has them.

Targets (issue #3): CPU per call <= 0.3x boto3 and <= 2.5x the floor; client creation
<= 1 ms; ``import kms_mrk`` <= 30 ms over a bare start; a client + 1,000 calls <= 10 MiB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

BODY = json.dumps(
    {
        "KeyMetadata": {
            "AWSAccountId": "111122223333",
            "KeyId": "mrk-1234abcd12ab34cd56ef1234567890ab",
            "Arn": "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "CreationDate": 1700000000.123,
            "Enabled": True,
            "Description": "payments key",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeyState": "Enabled",
            "Origin": "AWS_KMS",
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegion": True,
            "MultiRegionConfiguration": {
                "MultiRegionKeyType": "PRIMARY",
                "PrimaryKey": {
                    "Arn": "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
                    "Region": "us-east-1",
                },
                "ReplicaKeys": [
                    {
                        "Arn": "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
                        "Region": "eu-west-1",
                    }
                ],
            },
        }
    }
).encode()

SERVER = textwrap.dedent(
    """
    import socket, sys, threading
    body = sys.stdin.buffer.read()
    tls = None
    if len(sys.argv) == 3:  # certificate and key: serve HTTPS
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[1], sys.argv[2])
    head = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/x-amz-json-1.1\\r\\n"
            b"x-amzn-RequestId: 11111111-2222-3333-4444-555555555555\\r\\n"
            b"Content-Length: " + str(len(body)).encode() + b"\\r\\n\\r\\n")
    reply = head + body
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0)); srv.listen(64)
    print(srv.getsockname()[1], flush=True)
    def serve(conn):
        buf = b""
        if tls is not None:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                return
        with conn:
            while True:
                while b"\\r\\n\\r\\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                headers, _, rest = buf.partition(b"\\r\\n\\r\\n")
                length = 0
                for line in headers.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                buf = rest[length:]
                conn.sendall(reply)
    while True:
        c, _ = srv.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """
)


def start_server(tls: tuple[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """The loopback stub in its own process; ``tls`` (certificate, key) makes it HTTPS."""
    args = [PY, "-c", SERVER, *(tls or ())]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(BODY)
    proc.stdin.close()
    port = int(proc.stdout.readline())
    return proc, port


def cpu_per_call_interleaved(
    fns: dict[str, object], calls: dict[str, int], rounds: int
) -> dict[str, float]:
    """Median process CPU per call of each function, measured in interleaved rounds.

    Interleaving (floor, kms-mrk, boto3, floor, ...) keeps a slow moment of a shared machine
    from landing on one contender only; the ratios are taken per round, then the median.
    """
    for name, fn in fns.items():
        for _ in range(min(200, calls[name])):
            fn()  # type: ignore[operator]
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.process_time()
            for _ in range(calls[name]):
                fn()  # type: ignore[operator]
            samples[name].append((time.process_time() - start) / calls[name])
    out = {f"{name}_us": statistics.median(v) * 1e6 for name, v in samples.items()}
    out["ratio_boto3"] = statistics.median(
        k / b for k, b in zip(samples["kms_mrk"], samples["boto3"], strict=True)
    )
    out["ratio_floor"] = statistics.median(
        k / f for k, f in zip(samples["kms_mrk"], samples["floor"], strict=True)
    )
    return out


INSTRUCTIONS = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[4])
    import bench_client as b
    mode, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    f = {"floor": b.floor_call, "kms_mrk": b.kms_mrk_call, "boto3": b.boto3_call}[mode](port)
    for _ in range(50):
        f()
    for _ in range(n):
        f()
    """
)


def instructions_per_call(port: int, calls: int = 200) -> dict[str, float] | None:
    """Instructions per call counted by callgrind (repeatable on a busy machine)."""
    import shutil
    import tempfile

    if shutil.which("valgrind") is None:
        return None
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("floor", "kms_mrk", "boto3"):
            totals = []
            for n in (0, calls):
                res = subprocess.run(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        f"--callgrind-out-file={tmp}/cg.{mode}.{n}",
                        PY,
                        "-c",
                        INSTRUCTIONS,
                        mode,
                        str(n),
                        str(port),
                        str(ROOT / "bench"),
                    ],
                    capture_output=True,
                    text=True,
                    env=_clean_env(),
                    check=True,
                )
                line = next(x for x in res.stderr.splitlines() if "Collected" in x)
                totals.append(int(line.split(":")[-1].strip()))
            out[f"{mode}_instructions"] = (totals[1] - totals[0]) / calls
    return out


def floor_call(port: int):  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = b'{"KeyId":"alias/payments"}'
    headers = {
        "X-Amz-Target": "TrentService.DescribeKey",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
        "X-Amz-Date": "20260101T000000Z",
    }

    def call() -> object:
        conn.request("POST", "/", body, headers)
        return json.loads(conn.getresponse().read())

    return call


def kms_mrk_call(port: int):  # type: ignore[no-untyped-def]
    from kms_mrk import Credentials, KMSClient

    client = KMSClient(
        "us-east-1",
        credentials=Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        endpoint_url=f"http://127.0.0.1:{port}",
        environ={},
    )
    return lambda: client.describe_key(key_id="alias/payments")


def boto3_call(port: int):  # type: ignore[no-untyped-def]
    import boto3

    client = boto3.client(
        "kms",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    )
    return lambda: client.describe_key(KeyId="alias/payments")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def _run_time(code: str, runs: int) -> float:
    env = _clean_env()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([PY, "-c", code], check=True, env=env, cwd=ROOT)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def precompile() -> None:
    """Write bytecode caches first, as an installed package has them.

    Without this the first measuring subprocess would also pay for compiling modules,
    which would distort import times and the instruction counts (taken as differences).
    """
    subprocess.run(
        [PY, "-m", "compileall", "-q", str(ROOT / "kms_mrk"), str(ROOT / "bench")],
        check=True,
        env=_clean_env(),
    )
    warm = "import boto3, kms_mrk.models._op_describe_key, kms_mrk._client, urllib3"
    subprocess.run([PY, "-c", warm], env=_clean_env(), check=True)


def import_times(runs: int) -> dict[str, float]:
    bare = _run_time("pass", runs)
    return {
        "bare_ms": bare * 1000,
        "import_kms_mrk_ms": (_run_time("import kms_mrk", runs) - bare) * 1000,
        "import_client_and_command_ms": (
            _run_time("from kms_mrk import KMSClient, DescribeKeyCommand", runs) - bare
        )
        * 1000,
        "import_boto3_ms": (_run_time("import boto3", runs) - bare) * 1000,
    }


CREATE = textwrap.dedent(
    """
    import time, json, sys
    kind = sys.argv[1]
    if kind == "kms_mrk":
        from kms_mrk import KMSClient, Credentials
        make = lambda: KMSClient("us-east-1", credentials=Credentials("AKID", "SECRET"),
                                 endpoint_url="http://127.0.0.1:9", environ={})
    else:
        import boto3
        session = boto3.session.Session()
        make = lambda: session.client("kms", region_name="us-east-1",
                                      endpoint_url="http://127.0.0.1:9",
                                      aws_access_key_id="AKID", aws_secret_access_key="SECRET")
    start = time.perf_counter(); make(); first = time.perf_counter() - start
    n = 20 if kind == "boto3" else 500
    start = time.perf_counter()
    for _ in range(n):
        make()
    print(json.dumps({"first": first, "each": (time.perf_counter() - start) / n}))
    """
)


def creation_times() -> dict[str, float]:
    out = {}
    for kind in ("kms_mrk", "boto3"):
        res = subprocess.run(
            [PY, "-c", CREATE, kind], check=True, capture_output=True, text=True, env=_clean_env()
        )
        data = json.loads(res.stdout)
        out[f"{kind}_first_ms"] = data["first"] * 1000
        out[f"{kind}_each_ms"] = data["each"] * 1000
    return out


MEMORY = textwrap.dedent(
    """
    import json, sys, gc
    def rss():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    kind, port = sys.argv[1], int(sys.argv[2])
    gc.collect(); start = rss()
    if kind == "kms_mrk":
        import kms_mrk, kms_mrk.models._op_describe_key, kms_mrk._client
        import kms_mrk.transport._urllib3, kms_mrk.transport._http11, urllib3
        import kms_mrk._config, kms_mrk.retries, kms_mrk.auth, kms_mrk.interceptors
    else:
        import boto3
    gc.collect(); before = rss()
    if kind == "kms_mrk":
        from kms_mrk import KMSClient, Credentials
        c = KMSClient("us-east-1", credentials=Credentials("AKID", "SECRET"),
                      endpoint_url=f"http://127.0.0.1:{port}", environ={})
        call = lambda: c.describe_key(key_id="alias/payments")
    else:
        c = boto3.client("kms", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
                         aws_access_key_id="AKID", aws_secret_access_key="SECRET")
        call = lambda: c.describe_key(KeyId="alias/payments")
    for _ in range(1000):
        call()
    gc.collect()
    end = rss()
    print(json.dumps({"added": end - before, "with_imports": end - start}))
    """
)


def memory(port: int) -> dict[str, float]:
    out = {}
    for kind in ("kms_mrk", "boto3"):
        res = subprocess.run(
            [PY, "-c", MEMORY, kind, str(port)],
            check=True,
            capture_output=True,
            text=True,
            env=_clean_env(),
        )
        data = json.loads(res.stdout)
        out[f"{kind}_added_mib"] = data["added"] / 2**20
        out[f"{kind}_with_imports_mib"] = data["with_imports"] / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-instructions", action="store_true", help="skip callgrind")
    parser.add_argument("--import-runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    precompile()
    server, port = start_server()
    try:
        results: dict[str, float] = cpu_per_call_interleaved(
            {"floor": floor_call(port), "kms_mrk": kms_mrk_call(port), "boto3": boto3_call(port)},
            {"floor": args.calls, "kms_mrk": args.calls, "boto3": max(args.calls // 3, 100)},
            args.rounds,
        )
        if not args.no_instructions:
            counted = instructions_per_call(port)
            if counted:
                results.update(counted)
        results.update(import_times(args.import_runs))
        results.update(creation_times())
        results.update(memory(port))
    finally:
        server.kill()
    ratio_boto3 = results["ratio_boto3"]
    ratio_floor = results["ratio_floor"]
    rows = [
        ("CPU per DescribeKey: floor (http.client + json)", f"{results['floor_us']:.1f} us", ""),
        ("CPU per DescribeKey: kms-mrk", f"{results['kms_mrk_us']:.1f} us", ""),
        ("CPU per DescribeKey: boto3", f"{results['boto3_us']:.1f} us", ""),
        ("kms-mrk / boto3", f"{ratio_boto3:.2f}x", "target <= 0.30x"),
        ("kms-mrk / floor", f"{ratio_floor:.2f}x", "target <= 2.5x"),
    ]
    if "kms_mrk_instructions" in results:
        ki, bi, fi = (
            results["kms_mrk_instructions"],
            results["boto3_instructions"],
            results["floor_instructions"],
        )
        rows += [
            (
                "instructions per call: floor / kms-mrk / boto3",
                f"{fi / 1e3:.0f}k / {ki / 1e3:.0f}k / {bi / 1e3:.0f}k",
                "callgrind",
            ),
            ("kms-mrk / boto3 (instructions)", f"{ki / bi:.2f}x", "target <= 0.30x"),
            ("kms-mrk / floor (instructions)", f"{ki / fi:.2f}x", "target <= 2.5x"),
        ]
    rows += [
        ("bare interpreter start", f"{results['bare_ms']:.1f} ms", ""),
        (
            "import kms_mrk (over bare start)",
            f"{results['import_kms_mrk_ms']:.1f} ms",
            "target <= 30 ms",
        ),
        (
            "from kms_mrk import KMSClient, DescribeKeyCommand",
            f"{results['import_client_and_command_ms']:.1f} ms",
            "",
        ),
        ("import boto3 (over bare start)", f"{results['import_boto3_ms']:.1f} ms", ""),
        (
            "create KMSClient (first / each after)",
            f"{results['kms_mrk_first_ms']:.2f} / {results['kms_mrk_each_ms']:.3f} ms",
            "target <= 1 ms",
        ),
        (
            "create boto3 KMS client (first / each after)",
            f"{results['boto3_first_ms']:.1f} / {results['boto3_each_ms']:.1f} ms",
            "",
        ),
        (
            "RSS added by a client + 1,000 calls: kms-mrk",
            f"{results['kms_mrk_added_mib']:.2f} MiB",
            "target <= 10 MiB",
        ),
        ("RSS added by a client + 1,000 calls: boto3", f"{results['boto3_added_mib']:.2f} MiB", ""),
        (
            "... the same counting the imports: kms-mrk",
            f"{results['kms_mrk_with_imports_mib']:.2f} MiB",
            "",
        ),
        (
            "... the same counting the imports: boto3",
            f"{results['boto3_with_imports_mib']:.2f} MiB",
            "",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>18}  note")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>18}  {note}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
