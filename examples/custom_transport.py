"""A KMSClient with a transport of your own.

A transport is any object with ``send(HttpRequest) -> HttpResponse`` and ``close()``. This
one records every exchange (operation, status, request id, time) and hands the request to
the next transport: here the embedded local KMS, so the script runs anywhere.

    python examples/custom_transport.py
"""

from __future__ import annotations

import time

from kms_mrk import Credentials, KMSClient
from kms_mrk.local import LocalKMS
from kms_mrk.transport import HttpRequest, HttpResponse, Transport


class RecordingTransport:
    """Wraps another transport and keeps a line per exchange."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.log: list[str] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.inner.send(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        operation = (request.header("X-Amz-Target") or "").rsplit(".", 1)[-1]
        request_id = response.header("x-amzn-RequestId") or "-"
        self.log.append(
            f"{operation:<20} HTTP {response.status}  {elapsed_ms:6.2f} ms  {request_id}"
        )
        return response

    def close(self) -> None:
        self.inner.close()


def main() -> None:
    transport = RecordingTransport(LocalKMS())
    with KMSClient(
        "us-east-1",
        credentials=Credentials("AKIDLOCAL", "local-secret"),
        transport=transport,
    ) as client:
        key = client.create_key(description="custom transport demo", multi_region=True)
        assert key.key_metadata is not None
        key_id = key.key_metadata.key_id
        client.replicate_key(key_id=key_id, replica_region="eu-west-1")
        ciphertext = client.encrypt(key_id=key_id, plaintext=b"hello").ciphertext_blob
        assert ciphertext is not None
        plain = client.for_region("eu-west-1").decrypt(ciphertext_blob=ciphertext).plaintext
        assert plain == b"hello"
    print("exchanges seen by the custom transport:")
    for line in transport.log:
        print("  " + line)


if __name__ == "__main__":
    main()
