"""``kms-mrk demo``: a multi-Region key fails over and back, on the embedded local KMS.

Nothing is set up and nothing leaves the process: a :class:`~kms_mrk.local.LocalKMS` with
short, real delays (a replica is ``Creating`` for 1 s, keys are ``Updating`` for 2 s after
UpdatePrimaryRegion) plays KMS, and the demo narrates each step as it happens, printing the
key's state in both Regions each time a poll sees it change, so ``Updating`` shows as it
passes. The whole run takes about six seconds. ``--fast`` runs the same story on a manual
clock that the waits advance: identical output, no real waiting (tests use it).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final

from kms_mrk.cli import EXIT_OK
from kms_mrk.cli._output import table
from kms_mrk.cli._types import LOCAL_CREDENTIALS, Outcome, Runtime

if TYPE_CHECKING:
    from kms_mrk import KMSClient
    from kms_mrk.failover import KeyView, RegionalKey

__all__ = ["run_demo"]

HOME: Final = "us-east-1"
FAILOVER: Final = "eu-west-1"
OTHER: Final = "ap-southeast-2"
CREATING_SECONDS: Final = 1.0
UPDATING_SECONDS: Final = 2.0
SAMPLE: Final = b"order #1042: 3 x espresso"
STEPS: Final = 7


class _Narrator:
    def __init__(self, stream: IO[str], enabled: bool, clock: Callable[[], float]) -> None:
        self.stream = stream
        self.enabled = enabled
        self.clock = clock
        self.started = clock()
        self.step_number = 0
        self.log: list[dict[str, Any]] = []

    def say(self, text: str = "") -> None:
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()

    def step(self, name: str, title: str) -> None:
        self.step_number += 1
        self.say("")
        self.say(f"[{self.step_number}/{STEPS}] {title}")
        self.log.append({"name": name, "title": title, "details": []})

    def detail(self, text: str) -> None:
        self.say(f"      {text}")
        self.log[-1]["details"].append(text)

    def elapsed(self) -> float:
        return self.clock() - self.started


def _state(regional: RegionalKey) -> str:
    if regional.error:
        return f"{regional.region} {regional.error}"
    if regional.key_state == "Updating":
        return f"{regional.region} Updating"
    return f"{regional.region} {regional.role or '?'} {regional.key_state or '?'}"


def _watch(narrator: _Narrator, clock: Callable[[], float]) -> Callable[[KeyView], None]:
    """An on_poll that prints what each poll of the two Regions saw."""
    started = clock()

    def on_poll(view: KeyView) -> None:
        states = [_state(r) for r in view.regions]
        line = "   ".join(s.ljust(26) for s in states).rstrip()
        if view.updating:
            line += f"   (primary -> {view.primary_region})"
        narrator.detail(f"  {clock() - started:4.1f}s  {line}")

    return on_poll


def run_demo(args: argparse.Namespace, rt: Runtime) -> Outcome:
    from kms_mrk import Credentials, KMSClient
    from kms_mrk.local import LocalKMS, ManualClock

    manual: ManualClock | None = ManualClock() if args.fast else None
    pause: Callable[[float], object] = rt.sleep
    clock: Callable[[], float] = rt.clock
    if manual is not None:
        pause = manual.advance
        clock = manual

    def sleep(seconds: float) -> None:
        pause(seconds)

    narrator = _Narrator(rt.stdout, args.output == "table" and not args.quiet, clock)
    kms = LocalKMS(
        clock=manual,
        replica_creating_seconds=CREATING_SECONDS,
        updating_seconds=UPDATING_SECONDS,
    )
    try:
        client = KMSClient(
            HOME, credentials=Credentials(*LOCAL_CREDENTIALS), transport=kms, sleep=sleep
        )
        body = _story(client, narrator, sleep, clock)
    finally:
        kms.close()
    body["fast"] = bool(args.fast)
    body["elapsed_seconds"] = round(narrator.elapsed(), 3)
    narrator.say("")
    narrator.say(
        f"Done in {narrator.elapsed():.1f}s. The primary went {HOME} -> {FAILOVER} -> {HOME},"
    )
    narrator.say("each move confirmed from both Regions, and data encrypted before the failover")
    narrator.say("was decrypted in another Region.")
    narrator.say("Next: `kms-mrk --help`, and `kms-mrk docs failover` for the real thing on AWS.")
    if args.quiet and args.output == "table":
        rt.stdout.write(f"demo ok: {HOME} -> {FAILOVER} -> {HOME} in {narrator.elapsed():.1f}s\n")
    return Outcome(exit_code=EXIT_OK, body={"demo": body}, text="")


def _story(
    client: KMSClient,
    narrator: _Narrator,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    from kms_mrk import WaiterConfig
    from kms_mrk.failover import describe_view, promote, wait_for_replica_created

    pace = WaiterConfig(min_delay=0.25, max_delay=0.5, multiplier=1.5, jitter=0.1, timeout=60)
    narrator.say("kms-mrk demo: a multi-Region KMS key fails over to another Region and back.")
    narrator.say(
        "KMS here is the embedded local KMS (in this process; no AWS account, nothing sent "
        "anywhere)."
    )

    narrator.step("create", f"Create a multi-Region key in {HOME}")
    created = client.create_key(multi_region=True, description="kms-mrk demo key")
    assert created.key_metadata is not None
    key_id = created.key_metadata.key_id
    narrator.detail(f"{key_id}: PRIMARY in {HOME}, {created.key_metadata.key_state}")

    narrator.step("replicate", f"Replicate it to {FAILOVER} and {OTHER}")
    started = clock()
    first_state: dict[str, str] = {}
    for region in (FAILOVER, OTHER):
        replica = client.replicate_key(key_id=key_id, replica_region=region)
        metadata = replica.replica_key_metadata
        first_state[region] = str(metadata.key_state) if metadata is not None else "?"
    for region in (FAILOVER, OTHER):
        result = wait_for_replica_created(
            client, key_id, region, config=pace, sleep=sleep, clock=clock
        )
        narrator.detail(f"{region.ljust(15)} {first_state[region]} -> {result.value.key_state}")
    narrator.detail(f"both replicas ready in {clock() - started:.1f}s")

    narrator.step("encrypt", f"Encrypt a record in {HOME}")
    sealed = client.encrypt(key_id=key_id, plaintext=SAMPLE)
    ciphertext = sealed.ciphertext_blob or b""
    narrator.detail(f"{len(SAMPLE)} bytes of data -> {len(ciphertext)}-byte ciphertext")

    narrator.step("failover", f"Fail over: make {FAILOVER} the primary (UpdatePrimaryRegion)")
    narrator.detail("UpdatePrimaryRegion returns at once; then both Regions are polled:")
    failover = promote(
        client,
        key_id,
        FAILOVER,
        config=pace,
        sleep=sleep,
        clock=clock,
        on_poll=_watch(narrator, clock),
    )
    narrator.detail(
        f"done in {failover.elapsed:.1f}s: {FAILOVER} is PRIMARY, {HOME} is a REPLICA "
        f"(request id {failover.request_id})"
    )

    narrator.step("decrypt", f"Decrypt the {HOME} ciphertext in {OTHER}, a replica")
    from kms_mrk.arn import arn_in_region, key_arn

    account = created.key_metadata.aws_account_id or "111122223333"
    replica_arn = arn_in_region(key_arn(HOME, account, key_id), OTHER)
    opened = client.for_region(OTHER).decrypt(ciphertext_blob=ciphertext, key_id=replica_arn)
    matches = opened.plaintext == SAMPLE
    narrator.detail(
        "the data matches the original: related multi-Region keys share key material"
        if matches
        else "the data DOES NOT match"
    )
    if not matches:
        raise RuntimeError("the demo's decrypted data did not match")

    narrator.step("failback", f"Fail back: make {HOME} the primary again")
    failback = promote(
        client,
        key_id,
        HOME,
        config=pace,
        sleep=sleep,
        clock=clock,
        on_poll=_watch(narrator, clock),
    )
    narrator.detail(f"done in {failback.elapsed:.1f}s (request id {failback.request_id})")

    narrator.step("status", "Final state, read in every Region (kms-mrk status)")
    final = describe_view(client, key_id)
    rows = [(r.region, r.role, r.key_state, r.primary_region) for r in final.regions]
    for line in table(("REGION", "ROLE", "STATE", "PRIMARY"), rows).splitlines():
        narrator.detail(line)
    narrator.detail("all Regions agree" if final.agree else "; ".join(final.problems))
    return {
        "key_id": key_id,
        "home_region": HOME,
        "replica_regions": [FAILOVER, OTHER],
        "steps": narrator.log,
        "failover": failover.to_dict(),
        "failback": failback.to_dict(),
        "decrypted_in": OTHER,
        "data_matches": matches,
        "final": final.to_dict(),
    }
