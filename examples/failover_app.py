"""A small application module: fail a multi-Region key over to another Region.

``fail_over(clients, key_id, target_region, is_healthy=...)`` promotes the replica of a
multi-Region key in ``target_region`` when the Region of the current primary is unhealthy:

1. DescribeKey in the target Region says where the primary is;
2. nothing to do if the target already holds the primary, or if the primary's Region is
   healthy (``is_healthy`` is the application's own health check: load balancer, canary...);
3. otherwise UpdatePrimaryRegion, sent to the primary's Region (KMS takes the call there);
4. DescribeKey in the target Region again, until the key reports itself the primary and
   ``Enabled`` (it is ``Updating`` for a while), sleeping through ``sleep`` between reads.

A read timeout or reset connection on UpdatePrimaryRegion is ambiguous (the change may have
been applied) and the client does not resend it by itself; step 4 settles what happened.

Run it to see a failover against the embedded local KMS::

    python examples/failover_app.py

``examples/test_failover_app.py`` tests this module with stubs (``kms_mock``) and with the
local KMS (``kms_local``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from kms_mrk import (
    ConnectionClosedError,
    KeyMetadata,
    KeyState,
    KMSClient,
    MultiRegionKeyType,
    ReadTimeoutError,
)

__all__ = ["FailoverError", "FailoverResult", "fail_over"]


@dataclass(frozen=True)
class FailoverResult:
    """What ``fail_over`` did: ``"promoted"``, ``"primary-healthy"`` or ``"already-primary"``."""

    action: str
    key_arn: str
    primary_region: str
    previous_primary_region: str


class FailoverError(Exception):
    """The key cannot be failed over (not multi-Region, no replica there, never settled)."""


def _metadata(client: KMSClient, key_id: str) -> KeyMetadata:
    metadata = client.describe_key(key_id=key_id).key_metadata
    if metadata is None:
        raise FailoverError(f"DescribeKey returned no metadata for {key_id}")
    return metadata


def _primary_region(metadata: KeyMetadata) -> str:
    config = metadata.multi_region_configuration
    if not metadata.multi_region or config is None or config.primary_key is None:
        raise FailoverError(f"{metadata.arn or metadata.key_id} is not a multi-Region key")
    region = config.primary_key.region
    if region is None:
        raise FailoverError(f"{metadata.arn or metadata.key_id}: the primary's Region is unknown")
    return region


def fail_over(
    clients: Callable[[str], KMSClient],
    key_id: str,
    target_region: str,
    *,
    is_healthy: Callable[[str], bool],
    sleep: Callable[[float], object] = time.sleep,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 120.0,
) -> FailoverResult:
    """Make ``target_region`` hold the primary of ``key_id`` if the primary's Region is down.

    ``clients(region)`` returns the application's client for a Region.
    """
    target = clients(target_region)
    before = _metadata(target, key_id)
    arn = before.arn or before.key_id
    primary_region = _primary_region(before)
    if primary_region == target_region:
        return FailoverResult("already-primary", arn, target_region, primary_region)
    if is_healthy(primary_region):
        return FailoverResult("primary-healthy", arn, primary_region, primary_region)

    config = before.multi_region_configuration
    primary_key = config.primary_key if config is not None else None
    primary_arn = (primary_key.arn if primary_key is not None else None) or before.key_id
    # A timeout here is ambiguous: the verification below tells whether it was applied.
    with contextlib.suppress(ReadTimeoutError, ConnectionClosedError):
        clients(primary_region).update_primary_region(
            key_id=primary_arn, primary_region=target_region
        )

    waited = 0.0
    while True:
        after = _metadata(target, key_id)
        after_config = after.multi_region_configuration
        is_primary = (
            after_config is not None
            and after_config.multi_region_key_type == MultiRegionKeyType.PRIMARY
        )
        if is_primary and after.key_state == KeyState.ENABLED:
            return FailoverResult("promoted", after.arn or arn, target_region, primary_region)
        if not is_primary and after.key_state != KeyState.UPDATING:
            raise FailoverError(
                f"{arn}: UpdatePrimaryRegion to {target_region} did not take effect "
                f"(the primary is still in {_primary_region(after)})"
            )
        if waited >= timeout_seconds:
            raise FailoverError(
                f"{arn}: still {after.key_state} in {target_region} after {waited:g} s"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def main() -> None:
    """Fail a key over from us-east-1 to us-west-2 in the embedded local KMS."""
    from kms_mrk import Credentials
    from kms_mrk.local import LocalKMS, ManualClock

    clock = ManualClock()
    kms = LocalKMS(clock=clock, updating_seconds=5)
    credentials = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    east = KMSClient("us-east-1", credentials=credentials, transport=kms)
    clients = {"us-east-1": east, "us-west-2": east.for_region("us-west-2")}

    key = east.create_key(multi_region=True, description="orders").key_metadata
    assert key is not None
    east.replicate_key(key_id=key.key_id, replica_region="us-west-2")
    print(f"created {key.key_id}: primary in us-east-1, replica in us-west-2")

    result = fail_over(
        clients.__getitem__,
        key.key_id,
        "us-west-2",
        is_healthy=lambda region: region != "us-east-1",  # pretend us-east-1 is down
        sleep=clock.advance,  # the local KMS's time moves while we wait
    )
    print(
        f"{result.action}: the primary moved from {result.previous_primary_region} "
        f"to {result.primary_region}"
    )
    kms.close()


if __name__ == "__main__":
    main()
