"""A KMSClient whose HTTP is mocked with the ``responses`` library.

For code bases that already mock HTTP with ``responses``: send through
``RequestsTransport`` and register answers for the KMS endpoint. The client's real
serializer, signer and parser still run. (kms_mrk.testing offers stubs that also check
requests and responses against the model; see docs/testing.md.)

Needs ``responses`` and ``requests``, which the dev extra installs:

    pip install -e '.[dev]'        # or: pip install responses requests
    python examples/responses_mock.py
"""

from __future__ import annotations

import json

try:
    import responses
except ImportError:  # pragma: no cover - depends on the environment
    raise SystemExit(
        "examples/responses_mock.py needs the 'responses' and 'requests' packages: "
        "pip install -e '.[dev]' (or pip install responses requests)"
    ) from None

from kms_mrk import Credentials, KMSClient, NotFoundException
from kms_mrk.transport import RequestsTransport

ENDPOINT = "https://kms.us-east-1.amazonaws.com/"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"


def answer(request: object) -> tuple[int, dict[str, str], str]:
    target = request.headers["X-Amz-Target"]  # type: ignore[attr-defined]
    body = json.loads(request.body)  # type: ignore[attr-defined]
    headers = {"x-amzn-RequestId": "req-1", "Content-Type": "application/x-amz-json-1.1"}
    if target == "TrentService.DescribeKey" and body["KeyId"] == "alias/payments":
        metadata = {"KeyId": KEY_ARN.rsplit("/", 1)[1], "Arn": KEY_ARN, "KeyState": "Enabled"}
        return 200, headers, json.dumps({"KeyMetadata": metadata})
    error = {"__type": "NotFoundException", "message": f"Alias {body['KeyId']} is not found."}
    return 400, headers, json.dumps(error)


def main() -> None:
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=answer)
        client = KMSClient(
            "us-east-1",
            credentials=Credentials("AKIDEXAMPLE", "not-a-real-secret"),
            transport=RequestsTransport(),
        )
        metadata = client.describe_key(key_id="alias/payments").key_metadata
        assert metadata is not None
        print(f"alias/payments -> {metadata.arn} ({metadata.key_state})")
        try:
            client.describe_key(key_id="alias/missing")
        except NotFoundException as error:
            print(f"alias/missing -> {error.code}: {error.message}")
        signed = mock.calls[0].request.headers["Authorization"]
        print(f"requests were signed: {signed.split(',')[0]}")


if __name__ == "__main__":
    main()
