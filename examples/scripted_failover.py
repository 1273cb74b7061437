"""A scripted Region failover: one key, then a whole Region's keys, with a journal.

Runs with no arguments against the embedded local KMS, which it fills with a few
multi-Region keys first (short real delays: replicas are ``Creating`` for 0.2 s, keys
``Updating`` for 0.5 s after UpdatePrimaryRegion). To run the same script against AWS,
replace ``local_client()`` with ``KMSClient("us-east-1")`` and drop ``seed_keys()``: the
rest is what an incident script looks like.

    python examples/scripted_failover.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from kms_mrk import (
    Credentials,
    KMSClient,
    WaiterConfig,
    WaiterTimeoutError,
    wait_for_replica_created,
)
from kms_mrk.failover import (
    Journal,
    KeyFilter,
    PreflightError,
    describe_view,
    plan,
    promote,
    run,
)
from kms_mrk.local import LocalKMS

SOURCE = "us-east-1"
TARGET = "eu-west-1"
# Poll often: the local KMS finishes a change in half a second. Against AWS the defaults
# (1 s, growing to 10 s, 5 minute timeout) suit better.
QUICK = WaiterConfig(min_delay=0.1, max_delay=0.25, timeout=30)


def local_client(kms: LocalKMS) -> KMSClient:
    return KMSClient(SOURCE, credentials=Credentials("AKIDLOCAL", "local-secret"), transport=kms)


def seed_keys(client: KMSClient) -> list[str]:
    """Five payment keys (one without a replica in the target) and one other key."""
    from kms_mrk import Tag

    keys = []
    for index in range(6):
        team = "payments" if index < 5 else "search"
        created = client.create_key(multi_region=True, tags=[Tag(tag_key="team", tag_value=team)])
        assert created.key_metadata is not None
        key_id = created.key_metadata.key_id
        if index != 3:
            client.replicate_key(key_id=key_id, replica_region=TARGET)
        keys.append(key_id)
    # A new replica is Creating for a while; wait until each one is usable.
    for key_id in keys:
        if key_id != keys[3]:
            wait_for_replica_created(client, key_id, TARGET, config=QUICK)
    client.create_alias(alias_name="alias/payments-ledger", target_key_id=keys[0])
    return keys


def main() -> int:
    kms = LocalKMS(replica_creating_seconds=0.2, updating_seconds=0.5)
    try:
        client = local_client(kms)
        seed_keys(client)
        print(f"Seeded the local KMS with six multi-Region keys in {SOURCE}.")
        return failover(client)
    finally:
        kms.close()


def failover(client: KMSClient) -> int:
    # 1. One key, by alias: checks first, then UpdatePrimaryRegion, then wait for both
    #    Regions to confirm. Refusals name every failed check.
    try:
        report = promote(client, "alias/payments-ledger", TARGET, config=QUICK)
    except PreflightError as refused:
        print(f"refused: {', '.join(refused.names)}")
        return 3
    except WaiterTimeoutError as late:
        sent = f"sent (request id {late.request_id})" if late.sent else "not sent by this call"
        print(f"{sent}, but not confirmed in time; last state: {late.last_state_text}")
        return 5
    polls = "poll" if report.polls == 1 else "polls"
    print(
        f"\n1. {report.key_id}: {report.status}, {report.from_region} -> {report.to_region} "
        f"in {report.elapsed:.2f}s ({report.polls} {polls})"
    )
    for state in report.states:
        print(f"     seen: {state}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "failover.jsonl"
        # 2. Open the journal first: a wrong path, a journal of another run or one that
        #    another run holds is refused before the fleet is read. Then plan (read-only),
        #    review, and run with the journal.
        with Journal.open(path, from_region=SOURCE, to_region=TARGET, start=False) as journal:
            fleet = plan(client, SOURCE, TARGET, KeyFilter(tags={"team": "payments"}))
            print(f"\n2. Plan {SOURCE} -> {TARGET}: {fleet.counts()}")
            for item in fleet.items:
                why = f"  ({item.reason}: {item.detail})" if item.reason else ""
                print(f"     {item.key_id}  {item.action}{why}")
            summary = run(client, fleet, concurrency=4, rate=20.0, journal=journal, config=QUICK)
        print(f"\n3. Run: {summary.counts()} in {summary.elapsed:.2f}s")
        print(f"     API calls: {summary.stats['calls_by_operation']}")
        print(f"     journal: {len(path.read_text().splitlines())} records")
        # Run it again with the same journal: nothing is sent twice.
        again = run(client, fleet, journal=path, resume=True, config=QUICK)
        print(f"     rerun with resume: {again.counts()}")

    # 4. Check the result the way an operator would.
    moved = [o.key_id for o in summary.promoted]
    if moved:
        view = describe_view(client, moved[0])
        print(f"\n4. {view.key_id}: {view.summary()}")
    return 0 if summary.ok else 4


if __name__ == "__main__":
    sys.exit(main())
