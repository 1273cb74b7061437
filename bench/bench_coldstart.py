"""Cold start: a whole short process, kms-mrk against boto3, paired, in one run.

    python bench/bench_coldstart.py [--runs 21] [--json out.json]

Each sample is a fresh interpreter that does what a Lambda function's cold start or a short
CLI run does: start, import the SDK, create a KMS client, make one DescribeKey call against a
loopback stub (a separate process, so its CPU is not counted), exit. Credentials, Region and
endpoint come from the environment (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``AWS_ENDPOINT_URL_KMS``), HOME points at an empty folder so no shared
config is read, and bytecode caches are written first (as an installed package has them).

Measured per process with ``os.wait4`` (user + system CPU, peak RSS), kms-mrk and boto3 run
back to back in alternating order; the ratios are taken per pair and the median reported,
so a slow moment of a shared machine lands on both contenders of a pair. Also reported: a
bare interpreter (the floor every Python process pays) and the realistic import
``from kms_mrk import KMSClient, DescribeKeyCommand`` over that floor.

The whole measurement runs twice: against a plain-HTTP stub (a local KMS, a test) and
against an HTTPS stub whose self-signed certificate both SDKs trust through
``AWS_CA_BUNDLE`` (as a Lambda function's call to KMS is HTTPS; the bundle holds one
certificate instead of certifi's ~140, which spares both SDKs the same few milliseconds).

Targets (issue #11): cold start <= 0.4x boto3's CPU and <= 0.6x its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_client import precompile, start_server

PY = sys.executable

SCRIPTS = {
    "bare": "pass",
    "kms-mrk": (
        "from kms_mrk import KMSClient\nKMSClient().describe_key(key_id='alias/payments')\n"
    ),
    "boto3": ("import boto3\nboto3.client('kms').describe_key(KeyId='alias/payments')\n"),
    "kms-mrk import": "from kms_mrk import KMSClient, DescribeKeyCommand\n",
}


def _env(port: int, home: str, ca_bundle: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(
        HOME=home,
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_KMS=f"{'https' if ca_bundle else 'http'}://127.0.0.1:{port}",
        AWS_CONFIG_FILE=os.path.join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    return env


# The peak RSS is read from the process's own VmHWM at exit: rusage's ru_maxrss would also
# count the pages of the forking parent from before exec.
_REPORT_PEAK = (
    "\nwith open('/proc/self/status') as _f:\n    print(_f.read().split('VmHWM:')[1].split()[0])\n"
)


def run_once(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of one fresh interpreter running ``code``."""
    proc = subprocess.Popen([PY, "-c", code + _REPORT_PEAK], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark process failed ({proc.returncode}): {code!r}")
    return usage.ru_utime + usage.ru_stime, int(out.split()[-1]) / 1024


def _tls_files(folder: str) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key (the test suite's helper)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.unit.transport._transport_servers import make_self_signed

    cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
    make_self_signed(["localhost"], ["127.0.0.1"], cert, key)
    return str(cert), str(key)


def measure_pairs(runs: int, env: dict[str, str]) -> dict[str, object]:
    """``runs`` rounds of every script (kms-mrk and boto3 in alternating order)."""
    for name in SCRIPTS:  # warm the page cache and bytecode caches
        run_once(SCRIPTS[name], env)
    cpu: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    rss: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    cpu_ratio: list[float] = []
    rss_ratio: list[float] = []
    for i in range(runs):
        order = ["kms-mrk", "boto3"] if i % 2 == 0 else ["boto3", "kms-mrk"]
        got = {}
        for name in [*order, "bare", "kms-mrk import"]:
            got[name] = run_once(SCRIPTS[name], env)
            cpu[name].append(got[name][0])
            rss[name].append(got[name][1])
        cpu_ratio.append(got["kms-mrk"][0] / got["boto3"][0])
        rss_ratio.append(got["kms-mrk"][1] / got["boto3"][1])
    med = {name: statistics.median(values) for name, values in cpu.items()}
    peak = {name: statistics.median(values) for name, values in rss.items()}
    return {
        "runs": runs,
        "cpu_ms": {name: round(value * 1000, 1) for name, value in med.items()},
        "peak_rss_mib": {name: round(value, 1) for name, value in peak.items()},
        "cpu_ratio_vs_boto3": round(statistics.median(cpu_ratio), 3),
        "peak_rss_ratio_vs_boto3": round(statistics.median(rss_ratio), 3),
        "import_over_bare_ms": round((med["kms-mrk import"] - med["bare"]) * 1000, 1),
        "cold_start_over_bare_ms": {
            "kms-mrk": round((med["kms-mrk"] - med["bare"]) * 1000, 1),
            "boto3": round((med["boto3"] - med["bare"]) * 1000, 1),
        },
    }


def measure(runs: int) -> dict[str, dict[str, object]]:
    precompile()
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as home:
        tls = _tls_files(home)
        for scheme, server_tls in (("http", None), ("https", tls)):
            server, port = start_server(server_tls)
            try:
                env = _env(port, home, ca_bundle=tls[0] if server_tls else None)
                results[scheme] = measure_pairs(runs, env)
            finally:
                server.kill()
                server.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = measure(args.runs)
    for scheme, result in results.items():
        cpu, rss = result["cpu_ms"], result["peak_rss_mib"]
        assert isinstance(cpu, dict) and isinstance(rss, dict)
        print(f"cold start over {scheme}, median of {args.runs} paired runs (CPU / peak RSS):")
        for name in SCRIPTS:
            print(f"  {name:<15} {cpu[name]:7.1f} ms  {rss[name]:6.1f} MiB")
        print(f"  kms-mrk / boto3 CPU   {result['cpu_ratio_vs_boto3']:.3f}x  (target <= 0.4x)")
        print(f"  kms-mrk / boto3 RSS   {result['peak_rss_ratio_vs_boto3']:.3f}x  (target <= 0.6x)")
        print(f"  realistic import over a bare start: {result['import_over_bare_ms']} ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
