"""Test support for the failover tests: a counting transport and a fleet of keys.

Every test talks to an in-process LocalKMS on a ManualClock. Waits inject ``sleep`` =
``clock.advance``, so time passes only in the model: tests run instantly and still go
through ``Creating`` and ``Updating``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from kms_mrk import Credentials, KMSClient
from kms_mrk.errors import ConnectError
from kms_mrk.local import LocalKMS, ManualClock
from kms_mrk.transport import HttpRequest, HttpResponse

CREDENTIALS = Credentials("AKIDLOCAL", "local-secret")
SOURCE = "us-east-1"
TARGET = "eu-west-1"
THIRD = "ap-southeast-2"


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it on the way."""


def _region_of(request: HttpRequest) -> str:
    auth = request.header("authorization") or ""
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in auth else ""
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 else ""


class CountingTransport:
    """Forwards to a LocalKMS and counts the requests that reached it.

    ``updates`` lists the KeyId of every UpdatePrimaryRegion that KMS accepted.
    ``crash_after_updates=N`` raises :class:`Crash` right after the Nth accepted
    UpdatePrimaryRegion (KMS has done it; the caller never hears back).
    ``unreachable`` Regions fail with ConnectError before reaching KMS.
    ``lose_update_response`` drops the response of accepted UpdatePrimaryRegion calls with a
    connection error (the request took effect; the caller cannot know).
    """

    def __init__(self, kms: LocalKMS) -> None:
        self.kms = kms
        self.updates: list[str] = []
        self.operations: list[str] = []
        self.crash_after_updates: int | None = None
        self.unreachable: set[str] = set()
        self.lose_update_response = False
        self.hook: Callable[[str, HttpRequest], None] | None = None
        self._lock = threading.Lock()

    def send(self, request: HttpRequest) -> HttpResponse:
        operation = (request.header("x-amz-target") or "").rsplit(".", 1)[-1]
        region = _region_of(request)
        if region in self.unreachable:
            raise ConnectError(f"kms.{region}.amazonaws.com", "connection refused")
        if self.hook is not None:
            self.hook(operation, request)
        response = self.kms.send(request)
        with self._lock:
            self.operations.append(operation)
            if operation != "UpdatePrimaryRegion" or response.status != 200:
                return response
            self.updates.append(json.loads(request.body)["KeyId"])
            count = len(self.updates)
        if self.crash_after_updates is not None and count >= self.crash_after_updates:
            raise Crash(f"crashed after UpdatePrimaryRegion number {count}")
        if self.lose_update_response:
            from kms_mrk.errors import ConnectionClosedError

            raise ConnectionClosedError(f"kms.{region}.amazonaws.com", "connection reset")
        return response

    def update_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for key in self.updates:
            key_id = key.rsplit("/", 1)[-1]
            counts[key_id] = counts.get(key_id, 0) + 1
        return counts

    def close(self) -> None:
        pass


def pauser(clock: ManualClock) -> Callable[[float], None]:
    """A ``sleep`` for KMSClient that advances ``clock`` instead of waiting."""

    def pause(seconds: float) -> None:
        clock.advance(seconds)

    return pause


def make_client(transport: object, clock: ManualClock, region: str = SOURCE) -> KMSClient:
    return KMSClient(
        region,
        credentials=CREDENTIALS,
        transport=transport,  # type: ignore[arg-type]
        sleep=pauser(clock),
    )


def make_key(
    client: KMSClient,
    clock: ManualClock,
    *,
    replicas: tuple[str, ...] = (TARGET, THIRD),
    tags: dict[str, str] | None = None,
    alias: str | None = None,
    settle: bool = True,
    key_spec: str | None = None,
    key_usage: str | None = None,
) -> str:
    """Create a multi-Region key in the client's Region with replicas; return its key id."""
    from kms_mrk import Tag

    created = client.create_key(
        multi_region=True,
        tags=[Tag(tag_key=k, tag_value=v) for k, v in (tags or {}).items()] or None,
        key_spec=key_spec,
        key_usage=key_usage,
    )
    assert created.key_metadata is not None
    key_id = created.key_metadata.key_id
    for region in replicas:
        client.replicate_key(key_id=key_id, replica_region=region)
    if alias is not None:
        client.create_alias(alias_name=alias, target_key_id=key_id)
    if settle:
        clock.advance(60)
    return key_id


def make_fleet(client: KMSClient, clock: ManualClock, count: int) -> list[str]:
    keys = [make_key(client, clock, replicas=(TARGET,), settle=False) for _ in range(count)]
    clock.advance(60)
    return keys


MRK = "mrk-" + "a" * 32
ACCOUNT = "111122223333"


def mrk_arn(region: str, key_id: str = MRK) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def mrk_metadata(region: str, primary: str = SOURCE, replicas: tuple[str, ...] = (TARGET,)) -> dict:
    """DescribeKey's KeyMetadata for :data:`MRK` as KMS answers it in ``region``."""
    return {
        "KeyId": MRK,
        "Arn": mrk_arn(region),
        "KeyState": "Enabled",
        "MultiRegion": True,
        "MultiRegionConfiguration": {
            "MultiRegionKeyType": "PRIMARY" if region == primary else "REPLICA",
            "PrimaryKey": {"Arn": mrk_arn(primary), "Region": primary},
            "ReplicaKeys": [{"Arn": mrk_arn(r), "Region": r} for r in replicas],
        },
    }


class ScriptedKMS:
    """A transport whose answers a test writes: ``answer(operation, region, body)`` returns
    the JSON response body (a dict, or raw bytes) or a whole HttpResponse.

    ``calls`` lists (operation, region) of every request, so a test can assert that
    nothing was sent.
    """

    def __init__(self, answer: Callable[[str, str, dict], object]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        operation = (request.header("x-amz-target") or "").rsplit(".", 1)[-1]
        region = _region_of(request)
        self.calls.append((operation, region))
        answer = self.answer(operation, region, json.loads(request.body or b"{}"))
        if isinstance(answer, HttpResponse):
            return answer
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1"}
        return HttpResponse(200, headers, body)

    def close(self) -> None:
        pass
