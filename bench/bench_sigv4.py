"""Time our SigV4 signer against botocore's SigV4Auth on a DescribeKey request.

Run: ``python bench/bench_sigv4.py [--iterations N] [--runs R]``. Prints the process CPU time
per signature (median of R runs of N signatures each) for both signers and their ratio. Each
botocore iteration includes building the ``AWSRequest`` it needs, as a client would; ours
starts from the ``HttpRequest`` the pipeline already has. Both sign the same request with the
same fixed time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kms_mrk.auth import Credentials, SigV4Signer
from kms_mrk.transport._types import HttpRequest

URL = "https://kms.us-east-1.amazonaws.com/"
BODY = b'{"KeyId": "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"}'
HEADERS = {
    "X-Amz-Target": "TrentService.DescribeKey",
    "Content-Type": "application/x-amz-json-1.1",
    "User-Agent": "kms-mrk/0.1 Python/3.11",
    "Content-Length": str(len(BODY)),
}
WHEN = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN" * 8


def per_call(fn: Callable[[], object], iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        fn()
    return (time.process_time() - start) / iterations


def ours(fixed_clock: bool = True) -> Callable[[], object]:
    signer = SigV4Signer("kms", clock=(lambda: WHEN) if fixed_clock else None)
    credentials = Credentials(AKID, SECRET, TOKEN)
    request = HttpRequest("POST", URL, dict(HEADERS), BODY)

    def sign() -> object:
        return signer.sign(request, credentials, "us-east-1")

    return sign


def botocores() -> Callable[[], object]:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    botocore.auth.get_current_datetime = lambda *a, **k: WHEN.replace(tzinfo=None)
    auth = botocore.auth.SigV4Auth(BotoCredentials(AKID, SECRET, TOKEN), "kms", "us-east-1")

    def sign() -> object:
        request = AWSRequest(method="POST", url=URL, headers=dict(HEADERS), data=BODY)
        auth.add_auth(request)
        return request

    return sign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    a, live, b = ours(), ours(fixed_clock=False), botocores()
    a_sig = a().headers["Authorization"]  # type: ignore[attr-defined]
    b_sig = b().headers["Authorization"]  # type: ignore[attr-defined]
    if a_sig != b_sig:
        raise SystemExit(f"signatures differ:\n  ours     {a_sig}\n  botocore {b_sig}")
    signers = {
        "kms_mrk SigV4Signer.sign (fixed clock) ": a,
        "kms_mrk SigV4Signer.sign (system clock)": live,
        "botocore SigV4Auth.add_auth (fixed)    ": b,
    }
    for fn in signers.values():  # warm up caches and the interpreter
        per_call(fn, 1000)
    runs: dict[str, list[float]] = {name: [] for name in signers}
    for _ in range(args.runs):  # interleave so all see the same machine load
        for name, fn in signers.items():
            runs[name].append(per_call(fn, args.iterations))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(f"python {sys.version.split()[0]}, {args.runs} runs x {args.iterations} signatures")
    for name, value in medians.items():
        print(f"{name}: {value * 1e6:8.2f} us CPU per signature (median)")
    o, bo = medians[next(iter(signers))], medians[list(signers)[-1]]
    print(f"ratio botocore / ours (fixed clock)    : {bo / o:8.2f}x")


if __name__ == "__main__":
    main()
