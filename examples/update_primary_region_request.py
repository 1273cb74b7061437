"""Build an UpdatePrimaryRegionCommand and print the request it serializes to.

Uses the key and Region of the KMS API reference's UpdatePrimaryRegion example. Nothing is
sent: this shows what goes on the wire (AWS JSON 1.1), before signing.

    python examples/update_primary_region_request.py
"""

from __future__ import annotations

import json

from kms_mrk import UpdatePrimaryRegionCommand
from kms_mrk.protocol import awsjson11

KEY_ARN = "arn:aws:kms:us-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"


def build() -> UpdatePrimaryRegionCommand:
    # Keyword construction. The same command from wire names:
    # UpdatePrimaryRegionCommand.from_dict({"KeyId": ..., "PrimaryRegion": ...})
    return UpdatePrimaryRegionCommand(key_id=KEY_ARN, primary_region="eu-central-1")


def main() -> None:
    command = build()
    # The request goes to the Region that holds the current primary (us-west-1).
    request = awsjson11.serialize_request(
        "TrentService",
        command.operation_name,
        command.__schema__,
        command,
        "https://kms.us-west-1.amazonaws.com",
    )
    print(f"{request.method} {request.url}")
    for name, value in request.headers.items():
        print(f"{name}: {value}")
    print()
    print(json.dumps(json.loads(request.body), indent=2))


if __name__ == "__main__":
    main()
