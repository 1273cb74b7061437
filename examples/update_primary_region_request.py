"""Build an UpdatePrimaryRegionCommand and print the request a KMSClient sends for it.

Uses the key and Region of the KMS API reference's UpdatePrimaryRegion example. Nothing
leaves the process: the client is given a transport that records the request and answers
as KMS would (HTTP 200, empty JSON object), so the printout is the exact wire request,
validated, serialized (AWS JSON 1.1) and signed (SigV4) by the same code path as a real call.
The credentials are dummies; the signature is shortened in the printout.

    python examples/update_primary_region_request.py
"""

from __future__ import annotations

import json

from kms_mrk import Credentials, KMSClient, UpdatePrimaryRegionCommand
from kms_mrk.transport import HttpRequest, HttpResponse

KEY_ARN = "arn:aws:kms:us-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"


class RecordingTransport:
    """Keeps every request and answers each with an empty success, as UpdatePrimaryRegion does."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "example"}
        return HttpResponse(200, headers, b"{}")

    def close(self) -> None:
        pass


def build() -> UpdatePrimaryRegionCommand:
    # Keyword construction. The same command from wire names:
    # UpdatePrimaryRegionCommand.from_dict({"KeyId": ..., "PrimaryRegion": ...})
    return UpdatePrimaryRegionCommand(key_id=KEY_ARN, primary_region="eu-central-1")


def _shown(name: str, value: str) -> str:
    if name.lower() == "authorization" and "Signature=" in value:
        head, _, signature = value.partition("Signature=")
        return f"{head}Signature={signature[:8]}..."
    return value


def main() -> None:
    transport = RecordingTransport()
    # The request goes to the Region that holds the current primary (us-west-1).
    with KMSClient(
        "us-west-1",
        credentials=Credentials("AKIDEXAMPLE", "example-secret-not-a-real-key"),
        transport=transport,
    ) as client:
        client.send(build())
    request = transport.requests[0]
    print(f"{request.method} {request.url}")
    for name, value in request.headers.items():
        print(f"{name}: {_shown(name, value)}")
    print()
    print(json.dumps(json.loads(request.body), indent=2))


if __name__ == "__main__":
    main()
