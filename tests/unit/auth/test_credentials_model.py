"""Credentials, StaticCredentialsProvider and RefreshableCredentialsProvider."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kms_mrk.auth import (
    Credentials,
    CredentialsProvider,
    RefreshableCredentialsProvider,
    StaticCredentialsProvider,
)
from kms_mrk.errors._base import ConfigurationError, CredentialsError, KmsMrkError

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


# --- Credentials --------------------------------------------------------------------------


@given(
    access_key=st.from_regex(r"[A-Z0-9]{16,24}", fullmatch=True),
    secret=st.text(min_size=6).filter(str.strip),
    token=st.none() | st.text(min_size=6).filter(lambda t: "\r" not in t and "\n" not in t),
)
def test_repr_and_str_never_show_secret_or_token(
    access_key: str, secret: str, token: str | None
) -> None:
    baseline = repr(Credentials(access_key, "S", "T" if token else None, T0))
    assume(secret not in baseline)
    assume(token is None or token not in baseline)
    credentials = Credentials(access_key, secret, token, T0)
    for text in (repr(credentials), str(credentials), f"{credentials}", f"{[credentials]}"):
        assert secret not in text
        if token:
            assert token not in text
        assert access_key in text
        assert "***" in text


def test_repr_shape() -> None:
    credentials = Credentials("AKIDEXAMPLE", "topsecret", "tok", T0)
    assert repr(credentials) == (
        "Credentials(access_key_id='AKIDEXAMPLE', secret_access_key=***, session_token=***, "
        "expiration=datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.timezone.utc))"
    )
    assert "session_token=None" in repr(Credentials("AKIDEXAMPLE", "topsecret"))


SK = "Sekr1tValue"
OK: dict[str, object] = {"access_key_id": "AKID", "secret_access_key": SK}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({**OK, "access_key_id": ""}, "access_key_id"),
        ({**OK, "access_key_id": None}, "access_key_id"),
        ({**OK, "access_key_id": "AK ID"}, "access_key_id"),
        ({**OK, "access_key_id": "AK/ID"}, "access_key_id"),
        ({**OK, "secret_access_key": ""}, "secret_access_key"),
        ({**OK, "secret_access_key": SK.encode()}, "secret_access_key"),
        ({**OK, "session_token": 5}, "session_token"),
        ({**OK, "session_token": "a\r\nb"}, "session_token"),
        ({**OK, "expiration": datetime(2030, 1, 1)}, "expiration"),
        ({**OK, "expiration": "2030-01-01"}, "expiration"),
    ],
)
def test_bad_fields_raise_a_clear_configuration_error(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, KmsMrkError)
    assert f"Credentials.{field}" in str(info.value)
    assert SK not in str(info.value)
    assert "a\r\nb" not in str(info.value)


def test_empty_session_token_means_none() -> None:
    assert Credentials("AKID", "secret", "").session_token is None


def test_credentials_are_frozen_and_comparable() -> None:
    credentials = Credentials("AKID", "secret", "token")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        credentials.secret_access_key = "other"  # type: ignore[misc]
    assert credentials == Credentials("AKID", "secret", "token")
    assert hash(credentials) == hash(Credentials("AKID", "secret", "token"))
    assert credentials != Credentials("AKID", "secret")


# --- StaticCredentialsProvider ------------------------------------------------------------


def test_static_provider() -> None:
    credentials = Credentials("AKID", "Sekr1tValue", "T0ken")
    provider = StaticCredentialsProvider(credentials)
    assert isinstance(provider, CredentialsProvider)
    assert provider.get_credentials() is credentials
    assert "Sekr1tValue" not in repr(provider)
    assert "T0ken" not in repr(provider)
    with pytest.raises(ConfigurationError, match="Credentials instance"):
        StaticCredentialsProvider(("AKID", "secret"))  # type: ignore[arg-type]


# --- RefreshableCredentialsProvider -------------------------------------------------------


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Fetcher:
    """Hands out numbered credentials that expire ``lifetime`` after the clock's now."""

    def __init__(self, clock: Clock, lifetime: timedelta | None = timedelta(hours=1)) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail_with: Exception | None = None
        self.lock = threading.Lock()
        self.entered = threading.Event()
        self.gate: threading.Event | None = None  # when set, fetching waits for it

    def __call__(self) -> Credentials:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=10)
        with self.lock:
            self.calls += 1
            number = self.calls
        if self.fail_with is not None:
            raise self.fail_with
        expiration = None if self.lifetime is None else self.clock() + self.lifetime
        return Credentials(f"AKID{number}", f"secret{number}", f"token{number}", expiration)


def make(
    lifetime: timedelta | None = timedelta(hours=1),
) -> tuple[RefreshableCredentialsProvider, Fetcher, Clock]:
    clock = Clock()
    fetch = Fetcher(clock, lifetime)
    return RefreshableCredentialsProvider(fetch, clock=clock), fetch, clock


def test_fetches_lazily_then_reuses() -> None:
    provider, fetch, clock = make()
    assert isinstance(provider, CredentialsProvider)
    assert fetch.calls == 0
    first = provider.get_credentials()
    assert (first.access_key_id, fetch.calls) == ("AKID1", 1)
    clock.advance(minutes=54, seconds=59)  # 5 min 1 s left: outside the refresh window
    assert provider.get_credentials() is first
    assert fetch.calls == 1


def test_refreshes_when_less_than_refresh_before_remains() -> None:
    provider, fetch, clock = make()
    first = provider.get_credentials()
    clock.advance(minutes=55, seconds=1)  # 4 min 59 s left
    second = provider.get_credentials()
    assert second is not first
    assert (second.access_key_id, fetch.calls) == ("AKID2", 2)
    assert first.expiration is not None
    assert clock() < first.expiration  # refreshed before expiry


def test_refresh_before_is_configurable() -> None:
    clock = Clock()
    fetch = Fetcher(clock)
    provider = RefreshableCredentialsProvider(
        fetch, refresh_before=timedelta(minutes=20), clock=clock
    )
    provider.get_credentials()
    clock.advance(minutes=39)  # 21 min left
    provider.get_credentials()
    assert fetch.calls == 1
    clock.advance(minutes=2)  # 19 min left
    assert provider.get_credentials().access_key_id == "AKID2"


def test_credentials_without_expiration_are_never_refreshed() -> None:
    provider, fetch, clock = make(lifetime=None)
    first = provider.get_credentials()
    clock.advance(days=3650)
    assert provider.get_credentials() is first
    assert fetch.calls == 1


def test_soft_window_failure_keeps_current_credentials(caplog: pytest.LogCaptureFixture) -> None:
    provider, fetch, clock = make()
    first = provider.get_credentials()
    clock.advance(minutes=56)  # 4 min left: first half of the 5 min window
    fetch.fail_with = OSError("metadata endpoint down")
    with caplog.at_level(logging.WARNING, logger="kms_mrk.auth"):
        assert provider.get_credentials() is first
    assert "metadata endpoint down" in caplog.text
    assert "secret1" not in caplog.text
    fetch.fail_with = None
    assert provider.get_credentials().access_key_id == "AKID3"


def test_hard_window_failure_raises_chained_credentials_error() -> None:
    provider, fetch, clock = make()
    provider.get_credentials()
    clock.advance(minutes=58)  # 2 min left: last half of the window
    fetch.fail_with = OSError("metadata endpoint down")
    with pytest.raises(CredentialsError, match="metadata endpoint down") as info:
        provider.get_credentials()
    assert isinstance(info.value.__cause__, OSError)


def test_first_fetch_failure_raises() -> None:
    provider, fetch, _ = make()
    fetch.fail_with = RuntimeError("boom")
    with pytest.raises(CredentialsError, match="boom"):
        provider.get_credentials()
    fetch.fail_with = CredentialsError("already ours")
    with pytest.raises(CredentialsError, match=r"^already ours$"):
        provider.get_credentials()


def test_expired_credentials_force_a_refresh() -> None:
    provider, _fetch, clock = make()
    provider.get_credentials()
    clock.advance(hours=2)
    assert provider.get_credentials().access_key_id == "AKID2"


def test_fetch_returning_expired_credentials_is_an_error() -> None:
    provider, _, _ = make(lifetime=timedelta(seconds=-1))
    with pytest.raises(CredentialsError, match="already expired"):
        provider.get_credentials()


def test_fetch_returning_something_else_is_an_error() -> None:
    provider = RefreshableCredentialsProvider(lambda: ("AKID", "secret"))  # type: ignore[arg-type,return-value]
    with pytest.raises(CredentialsError, match="tuple"):
        provider.get_credentials()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fetch": None},
        {"refresh_before": 5},
        {"refresh_before": timedelta(seconds=-1)},
        {"clock": 1},
    ],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"fetch": lambda: None, **kwargs}
    fetch = arguments.pop("fetch")
    with pytest.raises(ConfigurationError):
        RefreshableCredentialsProvider(fetch, **arguments)  # type: ignore[arg-type]


def test_repr_has_no_secrets() -> None:
    provider, _, _ = make()
    provider.get_credentials()
    assert "secret1" not in repr(provider)
    assert "token1" not in repr(provider)
    assert "Fetcher" in repr(provider)


@pytest.mark.parametrize("minutes_left", [None, 2, -1], ids=["first", "hard-window", "expired"])
def test_many_threads_one_refresh(minutes_left: int | None) -> None:
    provider, fetch, clock = make()
    if minutes_left is not None:
        provider.get_credentials()
        clock.advance(minutes=60 - minutes_left)
    calls_before = fetch.calls
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(provider.get_credentials())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert len(results) == threads_count
    assert fetch.calls == calls_before + 1
    assert len({id(c) for c in results}) == 1


def test_soft_window_threads_do_not_wait_for_the_refresher() -> None:
    provider, fetch, clock = make()
    first = provider.get_credentials()
    clock.advance(minutes=56)  # soft window
    fetch.entered.clear()
    release = fetch.gate = threading.Event()
    refresher = threading.Thread(target=provider.get_credentials)
    refresher.start()
    assert fetch.entered.wait(timeout=10)
    # While the refresh is in flight, other callers get the still-valid credentials at once.
    assert provider.get_credentials() is first
    release.set()
    refresher.join(timeout=10)
    assert provider.get_credentials().access_key_id == "AKID2"
