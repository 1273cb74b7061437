"""AWS credentials and the providers that hand them to the signer.

Three providers cover the ways an SDK user holds credentials:

* :class:`StaticCredentialsProvider`: keys given in code.
* :class:`BotocoreCredentialsProvider`: botocore's default chain (environment, shared files,
  profiles, SSO, assume-role, web identity, container and instance metadata). We reuse its
  chain rather than re-implement a dozen sources and their caches, but ``botocore.session``
  costs about a quarter of a second to import (it pulls in botocore.client, docs and
  waiters), which is most of a short process's cold start. So the first source of the chain,
  the ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` environment variables, is read here
  exactly as botocore's ``EnvProvider`` reads it whenever botocore would read it first (no
  explicit profile, the default session factory, no ``AWS_CREDENTIAL_EXPIRATION``); every
  other case imports botocore on the first
  :meth:`~BotocoreCredentialsProvider.get_credentials` call and runs its chain.
* :class:`RefreshableCredentialsProvider`: a user callable fetches short-lived credentials and
  the provider refreshes them ahead of expiry, one refresher at a time.

Every provider is safe to call from many threads. Secrets never appear in a ``repr``, a log line
or an error message; the access key id may.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

import attrs

from kms_mrk.errors._base import ConfigurationError, CredentialsError, NoCredentialsError

__all__ = [
    "BotocoreCredentialsProvider",
    "Credentials",
    "CredentialsProvider",
    "RefreshableCredentialsProvider",
    "StaticCredentialsProvider",
]

_FORBIDDEN_IN_ACCESS_KEY = frozenset(" \t\r\n/,=")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _mask(value: Any) -> str:
    return "None" if value is None else "***"


def _check_access_key_id(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError("Credentials.access_key_id must be a non-empty string")
    if not _FORBIDDEN_IN_ACCESS_KEY.isdisjoint(value):
        raise ConfigurationError(
            "Credentials.access_key_id must not contain whitespace, '/', ',' or '='"
        )


def _check_secret(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError("Credentials.secret_access_key must be a non-empty string")


def _empty_to_none(value: str | None) -> str | None:
    return value if value else None


def _check_token(_inst: object, _attr: object, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigurationError("Credentials.session_token must be a string or None")
    if "\r" in value or "\n" in value:
        raise ConfigurationError("Credentials.session_token must not contain line breaks")


def _check_expiration(_inst: object, _attr: object, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, datetime):
        raise ConfigurationError("Credentials.expiration must be a datetime or None")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(
            "Credentials.expiration must be timezone-aware (for example tzinfo=timezone.utc)"
        )


@attrs.frozen(slots=True)
class Credentials:
    """An AWS access key pair, with a session token and expiry for temporary credentials.

    ``repr`` and ``str`` show the access key id but mask the secret key and the token. An empty
    ``session_token`` is treated as none (as botocore does with an empty ``AWS_SESSION_TOKEN``).
    """

    access_key_id: str = attrs.field(validator=_check_access_key_id)
    secret_access_key: str = attrs.field(validator=_check_secret, repr=_mask)
    session_token: str | None = attrs.field(
        default=None, converter=_empty_to_none, validator=_check_token, repr=_mask
    )
    expiration: datetime | None = attrs.field(default=None, validator=_check_expiration)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that returns current credentials; must be safe to call from many threads.

    Called once per request attempt, so it should return quickly when nothing needs refreshing.
    """

    def get_credentials(self) -> Credentials: ...


class StaticCredentialsProvider:
    """Always returns the same credentials."""

    __slots__ = ("_credentials",)

    def __init__(self, credentials: Credentials) -> None:
        if not isinstance(credentials, Credentials):
            raise ConfigurationError(
                "StaticCredentialsProvider: credentials must be a kms_mrk Credentials instance, "
                f"not {type(credentials).__name__}"
            )
        self._credentials = credentials

    def get_credentials(self) -> Credentials:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentialsProvider({self._credentials!r})"


def _default_session_factory() -> Any:
    """A botocore session that picks the profile as kms-mrk's configuration does.

    botocore reads ``AWS_DEFAULT_PROFILE`` before ``AWS_PROFILE``; the AWS CLI v2, the other
    SDKs and ``kms_mrk._config`` read ``AWS_PROFILE`` first. Reordering the session's
    ``profile`` variable keeps the Region and the credentials of one client coming from the
    same profile, while credentials in environment variables still win over the profile
    (as they would not if the profile were set on the session explicitly).
    """
    import botocore.session

    return botocore.session.Session(
        session_vars={"profile": (None, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"], None, None)}
    )


_MAX_UPSTREAM_MESSAGE = 300


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if len(text) > _MAX_UPSTREAM_MESSAGE:
        text = text[:_MAX_UPSTREAM_MESSAGE] + "..."
    return f"{type(exc).__name__}: {text}"


class BotocoreCredentialsProvider:
    """Credentials from botocore's default provider chain, optionally for one named profile.

    Nothing is read at construction. The first :meth:`get_credentials` builds a botocore
    session (via ``session_factory``, default ``botocore.session.Session``), selects
    ``profile`` on it when given and resolves the chain once; later calls ask the resolved
    botocore credentials for a frozen copy, which makes botocore refresh temporary credentials
    ahead of expiry (it starts 15 minutes before, and blocks every caller from 10 minutes
    before) under its own lock.

    As with boto3, an explicit ``profile`` disables the ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` environment variables; ``profile=None`` uses ``AWS_PROFILE`` or
    ``default``.

    ``session_factory`` is a no-argument callable returning a ``botocore.session.Session``
    (``botocore.session.get_session`` fits); tests use it to count resolutions.
    """

    __slots__ = ("_cached", "_lock", "_profile", "_session_factory", "_source")

    def __init__(
        self,
        profile: str | None = None,
        *,
        session_factory: Callable[[], Any] | None = None,
    ) -> None:
        if profile is not None and (not isinstance(profile, str) or not profile.strip()):
            raise ConfigurationError(
                "BotocoreCredentialsProvider: profile must be a non-empty string or None"
            )
        if session_factory is not None and not callable(session_factory):
            raise ConfigurationError(
                "BotocoreCredentialsProvider: session_factory must be callable"
            )
        self._profile = profile
        self._session_factory = session_factory or _default_session_factory
        self._lock = threading.Lock()
        self._source: Any = None
        # (botocore frozen credentials, expiry, our Credentials): avoids rebuilding per call.
        self._cached: tuple[Any, Any, Credentials] | None = None

    @property
    def profile(self) -> str | None:
        """The profile given at construction (``None``: botocore's default selection)."""
        return self._profile

    def __repr__(self) -> str:
        return f"BotocoreCredentialsProvider(profile={self._profile!r})"

    def get_credentials(self) -> Credentials:
        source = self._source
        if source is None:
            source = self._resolve()
        try:
            frozen = source.get_frozen_credentials()
        except Exception as exc:
            raise CredentialsError(
                f"Refreshing AWS credentials failed ({self._where()}): {_describe(exc)}"
            ) from exc
        expiry = getattr(source, "_expiry_time", None)
        cached = self._cached
        if cached is not None and cached[0] == frozen and cached[1] == expiry:
            return cached[2]
        credentials = self._convert(frozen, expiry)
        self._cached = (frozen, expiry, credentials)
        return credentials

    def _where(self) -> str:
        return "default profile" if self._profile is None else f"profile {self._profile!r}"

    def _resolve(self) -> Any:
        with self._lock:
            if self._source is not None:
                return self._source
            if self._profile is None and self._session_factory is _default_session_factory:
                env_source = _environment_source(os.environ)
                if env_source is not None:
                    self._source = env_source
                    return env_source
            try:
                session = self._session_factory()
                if self._profile is not None:
                    session.set_config_variable("profile", self._profile)
            except Exception as exc:
                raise CredentialsError(
                    f"Could not create the botocore session: {_describe(exc)}"
                ) from exc
            import botocore.exceptions

            try:
                source = session.get_credentials()
            except botocore.exceptions.ProfileNotFound as exc:
                profile = self._profile or _config_value(session, "profile") or "default"
                raise CredentialsError(
                    f"AWS profile {profile!r} was not found in the config file "
                    f"({_config_value(session, 'config_file')}) or the shared credentials "
                    f"file ({_config_value(session, 'credentials_file')})"
                ) from exc
            except Exception as exc:
                raise CredentialsError(
                    f"Loading AWS credentials failed ({self._where()}): {_describe(exc)}"
                ) from exc
            if source is None:
                raise NoCredentialsError(self._nothing_found(session))
            self._source = source
            return source

    def _nothing_found(self, session: Any) -> str:
        profile = self._profile or _config_value(session, "profile") or "default"
        env = (
            "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (skipped: a profile "
            "was given explicitly)"
            if self._profile is not None
            else "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
        disabled = os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
        imds = " (disabled by AWS_EC2_METADATA_DISABLED)" if disabled else ""
        return (
            "No AWS credentials found. Looked in: "
            f"{env}; profile {profile!r} in the shared credentials file "
            f"({_config_value(session, 'credentials_file')}) and the config file "
            f"({_config_value(session, 'config_file')}), including its SSO, assume-role, "
            "web identity and credential_process settings; the container credentials endpoint "
            f"(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI); EC2 instance metadata{imds}. "
            "Pass Credentials explicitly, set those environment variables, or name a profile."
        )

    @staticmethod
    def _convert(frozen: Any, expiry: Any) -> Credentials:
        expiration: datetime | None = None
        if isinstance(expiry, datetime):
            expiration = (
                expiry.replace(tzinfo=timezone.utc)
                if expiry.tzinfo is None
                else expiry.astimezone(timezone.utc)
            )
        try:
            return Credentials(
                access_key_id=frozen.access_key,
                secret_access_key=frozen.secret_key,
                session_token=frozen.token,
                expiration=expiration,
            )
        except ConfigurationError as exc:
            raise CredentialsError(f"botocore returned unusable credentials: {exc}") from exc


class _Frozen:
    """The part of botocore's ``ReadOnlyCredentials`` that :meth:`get_credentials` reads."""

    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str | None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "_Frozen(***)"


class _EnvironmentSource:
    """Static credentials read from the environment, shaped like botocore's credentials."""

    __slots__ = ("_frozen",)

    _expiry_time = None
    method = "env"

    def __init__(self, frozen: _Frozen) -> None:
        self._frozen = frozen

    def get_frozen_credentials(self) -> _Frozen:
        return self._frozen


# botocore's EnvProvider: the token comes from the first of these that is set and non-empty.
_TOKEN_VARIABLES = ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN")


def _environment_source(environ: Any) -> _EnvironmentSource | None:
    """The environment's credentials when botocore's chain would take them, without botocore.

    Mirrors ``botocore.credentials.EnvProvider``: it is the chain's first provider, it applies
    when ``AWS_ACCESS_KEY_ID`` is non-empty, and it then requires ``AWS_SECRET_ACCESS_KEY``.
    ``None`` (let botocore decide) when the access key is not set, when
    ``AWS_CREDENTIAL_EXPIRATION`` makes them refreshable (botocore re-reads them then), or when
    ``AWS_PROFILE``/``AWS_DEFAULT_PROFILE`` names a profile (botocore refuses a profile that
    does not exist before it looks at the environment's keys).
    """
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    if (
        not access_key
        or environ.get("AWS_CREDENTIAL_EXPIRATION", "")
        or "AWS_PROFILE" in environ
        or "AWS_DEFAULT_PROFILE" in environ
    ):
        return None
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not secret_key:
        raise CredentialsError(
            "Loading AWS credentials failed (default profile): PartialCredentialsError: "
            "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY"
        )
    token = None
    for name in _TOKEN_VARIABLES:
        value = environ.get(name, "")
        if value:
            token = value
            break
    return _EnvironmentSource(_Frozen(access_key, secret_key, token))


def _config_value(session: Any, name: str) -> Any:
    try:
        return session.get_config_variable(name)
    except Exception:
        return None


class RefreshableCredentialsProvider:
    """Credentials fetched by a user callable and refreshed before they expire.

    ``fetch`` returns :class:`Credentials` (normally with an ``expiration``). Refreshing starts
    once less than ``refresh_before`` remains: in the first half of that window one caller
    refreshes while the others keep using the current, still valid credentials (and a failed
    refresh is logged and retried on a later call); in the last half, or once expired, every
    caller waits for a single refresh and a failure raises :class:`CredentialsError`.
    Credentials without an expiration are never refreshed; ``refresh_before`` should stay well
    under the lifetime of what ``fetch`` returns. ``clock`` returns the current time as an
    aware datetime (injectable for tests).
    """

    __slots__ = ("_clock", "_current", "_fetch", "_hard", "_lock", "_soft")

    def __init__(
        self,
        fetch: Callable[[], Credentials],
        *,
        refresh_before: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not callable(fetch):
            raise ConfigurationError("RefreshableCredentialsProvider: fetch must be callable")
        if not isinstance(refresh_before, timedelta) or refresh_before < timedelta(0):
            raise ConfigurationError(
                "RefreshableCredentialsProvider: refresh_before must be a timedelta >= 0"
            )
        if not callable(clock):
            raise ConfigurationError("RefreshableCredentialsProvider: clock must be callable")
        self._fetch = fetch
        self._soft = refresh_before
        self._hard = refresh_before / 2
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Credentials | None = None

    def __repr__(self) -> str:
        name = getattr(self._fetch, "__qualname__", type(self._fetch).__name__)
        return f"RefreshableCredentialsProvider(fetch={name}, refresh_before={self._soft!r})"

    def _remaining(self, credentials: Credentials | None, now: datetime) -> timedelta | None:
        """Time left on ``credentials``; None means they never expire."""
        if credentials is None:
            return timedelta.min
        if credentials.expiration is None:
            return None
        return credentials.expiration - now

    def get_credentials(self) -> Credentials:
        current = self._current
        now = self._clock()
        remaining = self._remaining(current, now)
        if remaining is None or remaining >= self._soft:
            assert current is not None
            return current
        if current is not None and remaining >= self._hard:
            # Soft window: one caller refreshes; nobody waits for it.
            if not self._lock.acquire(blocking=False):
                return current
            try:
                latest = self._current
                if latest is not current and latest is not None:
                    return latest
                try:
                    return self._refresh(now)
                except CredentialsError as exc:
                    _log_soft_failure(exc, remaining)
                    return current
            finally:
                self._lock.release()
        with self._lock:
            latest = self._current
            now = self._clock()
            left = self._remaining(latest, now)
            if left is None or left >= self._hard:
                assert latest is not None
                return latest
            if latest is not current and left > timedelta(0):
                # Another caller refreshed while we waited; short-lived but valid: use it.
                assert latest is not None
                return latest
            return self._refresh(now)

    def _refresh(self, now: datetime) -> Credentials:
        """Fetch new credentials; the caller holds the lock."""
        try:
            fresh = self._fetch()
        except CredentialsError:
            raise
        except Exception as exc:
            raise CredentialsError(f"Fetching credentials failed: {_describe(exc)}") from exc
        if not isinstance(fresh, Credentials):
            raise CredentialsError(
                f"The credentials fetch callable returned {type(fresh).__name__}, "
                "not kms_mrk Credentials"
            )
        if fresh.expiration is not None and fresh.expiration <= now:
            raise CredentialsError(
                "The credentials fetch callable returned credentials that already expired "
                f"(expiration {fresh.expiration.isoformat()}, now {now.isoformat()})"
            )
        self._current = fresh
        return fresh


def _log_soft_failure(exc: CredentialsError, remaining: timedelta) -> None:
    import logging

    logging.getLogger("kms_mrk.auth").warning(
        "Refreshing credentials failed with %s left before they expire; using the current "
        "ones and trying again on a later call: %s",
        remaining,
        exc,
    )
