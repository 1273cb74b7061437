"""A cold start imports only what the first call uses (issue #11).

Each test runs a fresh interpreter: ``from kms_mrk import KMSClient, DescribeKeyCommand``, a
client with credentials from the environment, one DescribeKey answered by a transport of the
script's own (no I/O), and checks which modules were imported at each stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Modules the DescribeKey path used to import and no longer needs.
LAZY = (
    "logging",
    "difflib",
    "random",
    "urllib.parse",
    "ipaddress",
    "base64",
    "kms_mrk.errors._problem",  # ValidationProblem: needed once a command is invalid
    "kms_mrk.auth._sigv4_verify",  # the server side of SigV4
)

PRELUDE = textwrap.dedent(
    """
    import sys

    LAZY = sys.argv[1].split(",")
    loaded = lambda: [m for m in LAZY if m in sys.modules]

    from kms_mrk import DescribeKeyCommand, KMSClient
    from kms_mrk.transport import HttpResponse

    BODY = (
        b'{"KeyMetadata": {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", '
        b'"Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", '
        b'"KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT", "CreationDate": 1700000000.5, '
        b'"MultiRegion": true, "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY", '
        b'"PrimaryKey": {"Arn": "arn:aws:kms:us-east-1:111122223333:key/mrk-1", '
        b'"Region": "us-east-1"}, "ReplicaKeys": []}}}'
    )

    class Canned:
        def __init__(self, *statuses):
            self.statuses = list(statuses)
            self.requests = []

        def send(self, request):
            self.requests.append(request)
            status = self.statuses.pop(0) if self.statuses else 200
            if status != 200:
                body = b'{"__type": "KMSInternalException", "message": "try again"}'
                return HttpResponse(status, {"x-amzn-RequestId": "req-err"}, body)
            return HttpResponse(200, {"x-amzn-RequestId": "req-1"}, BODY)

        def close(self):
            pass
    """
)


def _run(tmp_path: Path, script: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO_"))}
    env.update(
        HOME=str(tmp_path),
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), ",".join(LAZY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_first_describe_key_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    lines = _run(
        tmp_path,
        """
        print("import:", loaded())
        client = KMSClient(region="us-east-1", transport=Canned())
        print("client:", loaded())
        response = client.send(DescribeKeyCommand(key_id="alias/payments"))
        print("call:", loaded())
        print("Region pattern compiled:", "REGION_RE" in vars(sys.modules["kms_mrk._service"]))
        meta = response.key_metadata
        print(meta.key_state, meta.multi_region_configuration.primary_key.region)
        print(response.metadata.request_id)
        transport = Canned()
        local = KMSClient(
            region="eu-west-1", endpoint_url="http://127.0.0.1:4566", transport=transport
        )
        local.describe_key(key_id="alias/payments")
        print("endpoint URL:", loaded())
        (request,) = transport.requests
        scope = request.header("authorization").split(",")[0].split("/")
        print(request.url, scope[0], scope[2:])
        """,
    )
    assert lines == [
        "import: []",
        "client: []",
        "call: []",
        "Region pattern compiled: False",
        "Enabled us-east-1",
        "req-1",
        "endpoint URL: []",
        "http://127.0.0.1:4566/ AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE "
        "['eu-west-1', 'kms', 'aws4_request']",
    ]


def test_a_retry_imports_random_for_its_jitter(tmp_path: Path) -> None:
    """The jitter source comes when a retry first waits (the check above can fail)."""
    lines = _run(
        tmp_path,
        """
        slept = []
        client = KMSClient(region="us-east-1", transport=Canned(500), sleep=slept.append)
        client.describe_key(key_id="alias/payments")
        print("random" in sys.modules, len(slept), 0 <= slept[0] <= 20)
        """,
    )
    assert lines == ["True 1 True"]


def test_logging_configured_after_the_client_still_gets_the_records(tmp_path: Path) -> None:
    """``logging`` imported late: the ``kms_mrk`` logger then behaves as it always did."""
    lines = _run(
        tmp_path,
        """
        client = KMSClient(region="us-east-1", transport=Canned())
        client.describe_key(key_id="alias/payments")
        print("logging" in sys.modules)
        import logging

        records = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record)

        logger = logging.getLogger("kms_mrk")
        logger.addHandler(Keep())
        logger.setLevel(logging.DEBUG)
        client.describe_key(key_id="alias/payments")
        (record,) = records
        print(record.name, record.levelname, record.module, record.getMessage().split(" ")[:4])
        logger.setLevel(logging.INFO)
        client.describe_key(key_id="alias/payments")
        print(len(records))
        """,
    )
    assert lines == [
        "False",
        "kms_mrk DEBUG _pipeline ['DescribeKey', 'us-east-1', '->', 'HTTP']",
        "1",
    ]
