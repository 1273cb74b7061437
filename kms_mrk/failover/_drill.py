"""drill(): rehearse a failover on one key and prove the Regions still interoperate.

Steps, each reported with its outcome and duration:

1. ``preflight``   read the key everywhere and run the checks (refusal: PreflightError)
2. ``promote``     move the primary to ``to_region`` and wait for both Regions to confirm
3. ``cross_region_<a>_to_<b>``  protect data in one Region, check it in the other, both ways:
                   Encrypt/Decrypt for encryption keys, Sign/Verify for signing keys,
                   GenerateMac/VerifyMac for HMAC keys
4. ``fail_back``   move the primary back to where it was, and wait
5. ``verify``      read the key everywhere: the original primary again, all Regions agreeing

If a cross-Region step fails the drill still fails back (a drill must not leave the key
moved). If the promotion itself times out, the drill stops there: the key may still be
``Updating`` and its state is reported. The test data is a fixed string; no plaintext from
KMS is ever printed or logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import attrs

from kms_mrk.errors import KmsMrkError
from kms_mrk.failover._preflight import PreflightError, run_preflight
from kms_mrk.failover._promote import PromotionReport, Timing, check_timeout, promote_with
from kms_mrk.failover._view import KeyView, read_view
from kms_mrk.waiters import WaiterConfig, WaiterTimeoutError

if TYPE_CHECKING:
    import random

    from kms_mrk import KMSClient
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._view import RegionalKey

__all__ = ["DrillReport", "DrillStep", "drill"]

_DRILL_DATA: Final = b"kms-mrk failover drill: the same key material answers in every Region"
_CONTEXT: Final = {"kms-mrk": "drill"}


@attrs.frozen(slots=True, kw_only=True)
class DrillStep:
    """One step of a drill: ``ok``, what happened (``detail``) and how long it took."""

    name: str
    ok: bool
    detail: str
    elapsed: float = 0.0
    request_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "elapsed_seconds": round(self.elapsed, 3),
            "request_ids": list(self.request_ids),
        }


@attrs.frozen(slots=True, kw_only=True)
class DrillReport:
    """The steps of a drill; ``ok`` when every step passed. ``timed_out`` marks a drill that
    stopped because a wait timed out (the key may still be changing)."""

    key_id: str
    home_region: str | None
    to_region: str
    steps: tuple[DrillStep, ...]
    elapsed: float
    timed_out: bool = False
    final: KeyView | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "home_region": self.home_region,
            "to_region": self.to_region,
            "ok": self.ok,
            "timed_out": self.timed_out,
            "elapsed_seconds": round(self.elapsed, 3),
            "steps": [s.to_dict() for s in self.steps],
            "final": self.final.to_dict() if self.final is not None else None,
        }


class _Drill:
    def __init__(self, caller: Caller, timing: Timing) -> None:
        self.caller = caller
        self.timing = timing
        self.steps: list[DrillStep] = []

    def step(
        self, name: str, ok: bool, detail: str, started: float, ids: tuple[str, ...] = ()
    ) -> bool:
        self.steps.append(
            DrillStep(
                name=name,
                ok=ok,
                detail=detail,
                elapsed=self.timing.clock() - started,
                request_ids=tuple(i for i in ids if i),
            )
        )
        return ok

    def promote(self, name: str, arn: str, region: str) -> tuple[bool, bool]:
        """(ok, timed_out) after moving the primary to ``region``."""
        started = self.timing.clock()
        try:
            report: PromotionReport = promote_with(self.caller, arn, region, self.timing)
        except WaiterTimeoutError as error:
            self.step(name, False, str(error), started)
            return False, True
        except KmsMrkError as error:
            self.step(name, False, str(error), started)
            return False, False
        saw = "; saw Updating" if any("Updating" in s for s in report.states) else ""
        polls = "poll" if report.polls == 1 else "polls"
        text = (
            f"primary moved {report.from_region} -> {region} in {report.elapsed:.1f}s, "
            f"confirmed from both Regions ({report.polls} {polls}{saw})"
        )
        if report.status == "already_primary":
            text = f"the primary was already in {region}"
        self.step(name, True, text, started, (report.request_id or "",))
        return True, False

    def cross_region(self, arn: str, source: RegionalKey, a: str, b: str) -> bool:
        from kms_mrk.arn import arn_in_region

        started = self.timing.clock()
        name = f"cross_region_{a}_to_{b}"
        in_a, in_b = arn_in_region(arn, a), arn_in_region(arn, b)
        usage = source.key_usage
        try:
            if usage == "ENCRYPT_DECRYPT":
                ok, detail, ids = self._encrypt_decrypt(source, in_a, in_b, a, b)
            elif usage == "SIGN_VERIFY":
                ok, detail, ids = self._sign_verify(in_a, in_b, a, b)
            elif usage == "GENERATE_VERIFY_MAC":
                ok, detail, ids = self._mac(in_a, in_b, a, b)
            else:
                return self.step(
                    name, True, f"skipped: no cross-Region check for key usage {usage}", started
                )
        except KmsMrkError as error:
            return self.step(name, False, f"{type(error).__name__}: {error}", started)
        return self.step(name, ok, detail, started, ids)

    def _encrypt_decrypt(
        self, source: RegionalKey, in_a: str, in_b: str, a: str, b: str
    ) -> tuple[bool, str, tuple[str, ...]]:
        from kms_mrk import DecryptCommand, EncryptCommand

        symmetric = source.key_spec in (None, "SYMMETRIC_DEFAULT")
        algorithm = None if symmetric else "RSAES_OAEP_SHA_256"
        context = _CONTEXT if symmetric else None
        sealed = self.caller.send(
            a,
            EncryptCommand(
                key_id=in_a,
                plaintext=_DRILL_DATA,
                encryption_context=context,
                encryption_algorithm=algorithm,
            ),
        )
        opened = self.caller.send(
            b,
            DecryptCommand(
                key_id=in_b,
                ciphertext_blob=sealed.ciphertext_blob,
                encryption_context=context,
                encryption_algorithm=algorithm,
            ),
        )
        ok = opened.plaintext == _DRILL_DATA
        size = len(sealed.ciphertext_blob or b"")
        detail = f"encrypted in {a} ({size}-byte ciphertext), decrypted in {b}: " + (
            "the data matches" if ok else "the data DOES NOT match"
        )
        return ok, detail, _ids(sealed, opened)

    def _sign_verify(
        self, in_a: str, in_b: str, a: str, b: str
    ) -> tuple[bool, str, tuple[str, ...]]:
        from kms_mrk import DescribeKeyCommand, SignCommand, VerifyCommand

        described = self.caller.send(a, DescribeKeyCommand(key_id=in_a)).key_metadata
        algorithms = (described.signing_algorithms if described else None) or []
        if not algorithms:
            return False, f"{a} lists no signing algorithm", ()
        algorithm = str(algorithms[0])
        signed = self.caller.send(
            a,
            SignCommand(
                key_id=in_a, message=_DRILL_DATA, message_type="RAW", signing_algorithm=algorithm
            ),
        )
        checked = self.caller.send(
            b,
            VerifyCommand(
                key_id=in_b,
                message=_DRILL_DATA,
                message_type="RAW",
                signature=signed.signature or b"",
                signing_algorithm=algorithm,
            ),
        )
        ok = bool(checked.signature_valid)
        detail = f"signed in {a} ({algorithm}), verified in {b}: " + (
            "the signature is valid" if ok else "the signature is NOT valid"
        )
        return ok, detail, _ids(signed, checked)

    def _mac(self, in_a: str, in_b: str, a: str, b: str) -> tuple[bool, str, tuple[str, ...]]:
        from kms_mrk import DescribeKeyCommand, GenerateMacCommand, VerifyMacCommand

        described = self.caller.send(a, DescribeKeyCommand(key_id=in_a)).key_metadata
        algorithms = (described.mac_algorithms if described else None) or []
        if not algorithms:
            return False, f"{a} lists no MAC algorithm", ()
        algorithm = str(algorithms[0])
        made = self.caller.send(
            a, GenerateMacCommand(key_id=in_a, message=_DRILL_DATA, mac_algorithm=algorithm)
        )
        checked = self.caller.send(
            b,
            VerifyMacCommand(
                key_id=in_b, message=_DRILL_DATA, mac=made.mac or b"", mac_algorithm=algorithm
            ),
        )
        ok = bool(checked.mac_valid)
        detail = f"MAC made in {a} ({algorithm}), verified in {b}: " + (
            "valid" if ok else "NOT valid"
        )
        return ok, detail, _ids(made, checked)


def _ids(*responses: Any) -> tuple[str, ...]:
    return tuple(r.metadata.request_id or "" for r in responses)


def drill(
    client: KMSClient,
    key: str,
    to_region: str,
    *,
    timeout: float = 300.0,
    config: WaiterConfig | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_poll: Callable[[KeyView], None] | None = None,
    on_step: Callable[[DrillStep], None] | None = None,
) -> DrillReport:
    """Promote ``key`` to ``to_region``, check both Regions work with it, then fail back.

    Raises :class:`PreflightError` before changing anything when the checks fail (a key
    whose primary is already in ``to_region`` fails ``already_primary``: nothing to drill).
    Otherwise returns a :class:`DrillReport`; a step that fails makes ``ok`` false and the
    drill fails back whenever the key was moved. ``timeout`` applies to each wait.
    """
    from kms_mrk.failover._calls import Caller
    from kms_mrk.failover._preflight import PreflightCheck
    from kms_mrk.failover._regions import check_region
    from kms_mrk.failover._view import identify

    check_region(to_region, "to_region")
    identify(key)  # a malformed key raises before any I/O
    timing = Timing(
        wait=True,
        timeout=check_timeout(timeout),
        config=config,
        sleep=sleep,
        clock=clock,
        rng=rng,
        on_poll=on_poll,
    )
    caller = Caller(client, sleep=sleep, rng=rng)
    run = _Drill(caller, timing)
    if on_step is not None:
        run.steps = _Notifying(on_step)
    started = clock()
    check = run_preflight(caller, key, to_region)
    if check.already_primary:
        extra = PreflightCheck(
            "already_primary",
            f"the primary is already in {to_region}; drill towards another Region",
        )
        check = attrs.evolve(check, failures=(extra,), already_primary=False)
    if check.failures or check.view is None:
        raise PreflightError(check)
    view = check.view
    home = view.primary_region
    arn = view.arn
    source = view.primary
    if home is None or arn is None or source is None:  # evaluate() refuses such a view
        raise KmsMrkError(f"cannot drill {key}: its primary Region or ARN is unknown")
    run.step(
        "preflight",
        True,
        f"{view.key_id}: primary {home}, replicas {', '.join(view.replica_regions)}; all checks "
        "passed",
        started,
    )
    ok, timed_out = run.promote("promote", arn, to_region)
    if ok:
        run.cross_region(arn, source, to_region, home)
        run.cross_region(arn, source, home, to_region)
        back_ok, timed_out = run.promote("fail_back", arn_in(arn, to_region), home)
        if back_ok:
            verify_started = clock()
            final = read_view(caller, arn)
            good = final.primary_region == home and final.agree and not final.updating
            run.step(
                "verify",
                good,
                f"primary back in {home}, all Regions agree"
                if good
                else f"unexpected final state: {final.summary()}",
                verify_started,
            )
            return _report(view, to_region, run, clock() - started, timed_out, final)
    final_view: KeyView | None = None
    try:
        final_view = read_view(caller, arn)
    except KmsMrkError:
        final_view = None
    return _report(view, to_region, run, clock() - started, timed_out, final_view)


def arn_in(arn: str, region: str) -> str:
    from kms_mrk.arn import arn_in_region

    return arn_in_region(arn, region)


def _report(
    view: KeyView,
    to_region: str,
    run: _Drill,
    elapsed: float,
    timed_out: bool,
    final: KeyView | None,
) -> DrillReport:
    return DrillReport(
        key_id=view.key_id,
        home_region=view.primary_region,
        to_region=to_region,
        steps=tuple(run.steps),
        elapsed=elapsed,
        timed_out=timed_out,
        final=final,
    )


class _Notifying(list[DrillStep]):
    """A list of steps that tells ``notify`` of each step appended (live progress)."""

    def __init__(self, notify: Callable[[DrillStep], None]) -> None:
        super().__init__()
        self._notify = notify

    def append(self, step: DrillStep) -> None:
        super().append(step)
        self._notify(step)
