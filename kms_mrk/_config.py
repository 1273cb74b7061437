"""Client configuration: arguments, then environment variables, then the shared config file.

``resolve_config()`` applies the precedence the AWS SDKs share (see docs/configuration.md) and
returns a frozen :class:`ClientConfig`. It runs once per client, so it is written to be cheap:

* nothing is imported at module level beyond attrs and our errors;
* the shared config file is read only when a setting is not already decided by an argument or
  an environment variable, and then once per call (``configparser`` is imported only then);
* every value is checked before it is used, and an error names the setting, where it came from
  and the rule it breaks. Values read from the file are never echoed unless they are the setting
  being reported, so a credential stored in the same file cannot leak into a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from kms_mrk._service import SERVICE_ID
from kms_mrk.errors._base import ConfigurationError, NoRegionError

__all__ = ["ClientConfig", "RetryMode", "profile_app_id", "resolve_config"]

RetryMode = Literal["standard", "adaptive"]

_DEFAULT_MAX_ATTEMPTS: Final = 3
_DEFAULT_CONFIG_FILE: Final = "~/.aws/config"
# the service's key in [services ...] sections and env var names
_SERVICE_KEY: Final = SERVICE_ID.lower()
_RETRY_MODES: Final[Mapping[str, RetryMode]] = {
    "standard": "standard",
    "adaptive": "adaptive",
    "legacy": "standard",  # botocore's old mode; kms-mrk implements standard and adaptive only
}


@attrs.frozen(kw_only=True, slots=True)
class ClientConfig:
    """Resolved settings for one client. Holds no credentials.

    ``sdk_ua_app_id`` is the application id from the argument or ``AWS_SDK_UA_APP_ID``; when
    neither gives one, the profile's ``sdk_ua_app_id`` is read on the client's first call.
    ``endpoint_url`` is None when the endpoint rule set picks the URL from ``region`` and the
    FIPS / dual-stack flags; otherwise ``endpoint_source`` says which setting gave it
    (``"AWS_ENDPOINT_URL_KMS"``, ``"endpoint_url argument"``, ...).
    """

    region: str
    profile: str = "default"
    endpoint_url: str | None = None
    endpoint_source: str | None = None
    use_fips_endpoint: bool = False
    use_dualstack_endpoint: bool = False
    max_attempts: int = _DEFAULT_MAX_ATTEMPTS
    retry_mode: RetryMode = "standard"
    ca_bundle: str | None = None
    sdk_ua_app_id: str | None = None

    def endpoint(self) -> str:
        """The URL requests go to: ``endpoint_url``, or the rule set's URL for the Region."""
        if self.endpoint_url is not None:
            return self.endpoint_url
        from kms_mrk.endpoints import resolve_endpoint

        return resolve_endpoint(
            self.region,
            use_fips=self.use_fips_endpoint,
            use_dualstack=self.use_dualstack_endpoint,
        )


def resolve_config(
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    use_fips_endpoint: bool | None = None,
    use_dualstack_endpoint: bool | None = None,
    max_attempts: int | None = None,
    retry_mode: str | None = None,
    ca_bundle: str | None = None,
    sdk_ua_app_id: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve the client settings; arguments win over the environment, which wins over the file.

    ``environ`` replaces ``os.environ`` (tests pass a dict). Raises
    :class:`~kms_mrk.errors.NoRegionError` when no Region is found and
    :class:`~kms_mrk.errors.ConfigurationError` for any malformed value or config file.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    # Arguments are checked first: a bad argument fails before any file is read.
    if region is not None:
        region = _check_region(region, _Source("region"))
    if endpoint_url is not None:
        endpoint_url = _check_url(endpoint_url, _Source("endpoint_url"))
    for name, flag in (
        ("use_fips_endpoint", use_fips_endpoint),
        ("use_dualstack_endpoint", use_dualstack_endpoint),
    ):
        if flag is not None and not isinstance(flag, bool):
            raise ConfigurationError(f"{name}={flag!r} is not valid: it must be True or False")
    if max_attempts is not None:
        if not isinstance(max_attempts, int):  # from an argument only an int will do
            raise ConfigurationError(
                f"max_attempts={max_attempts!r} is not valid: use an integer of 1 or more"
            )
        max_attempts = _check_max_attempts(max_attempts, _Source("max_attempts"))
    mode = None if retry_mode is None else _check_retry_mode(retry_mode, _Source("retry_mode"))
    if ca_bundle is not None:
        ca_bundle = _check_ca_bundle(ca_bundle, _Source("ca_bundle"), env)
    if sdk_ua_app_id is not None:
        sdk_ua_app_id = _check_app_id(sdk_ua_app_id, _Source("sdk_ua_app_id"))

    if profile is not None:
        if not isinstance(profile, str) or not profile.strip():
            raise ConfigurationError(f"profile={profile!r} is not valid: it must be a name")
        profile_name = profile.strip()
    else:
        profile_name = _env(env, "AWS_PROFILE") or _env(env, "AWS_DEFAULT_PROFILE") or "default"
    shared = _SharedConfig(env, profile_name)

    # Region
    if region is None:
        for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            value = _env(env, var)
            if value is not None:
                region = _check_region(value, _Source(var))
                break
        else:
            value = shared.get("region")
            if value is None:
                raise NoRegionError(_no_region_message(shared))
            region = _check_region(value, shared.source("region"))

    # Endpoint URL
    endpoint_source: str | None = None
    if endpoint_url is not None:
        endpoint_source = "endpoint_url argument"
    elif not _ignore_configured_endpoints(env, shared):
        endpoint_url, endpoint_source = _configured_endpoint(env, shared)

    # FIPS and dual-stack
    fips = _resolve_bool(
        use_fips_endpoint, env, shared, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"
    )
    dualstack = _resolve_bool(
        use_dualstack_endpoint, env, shared, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"
    )

    # Retries
    if max_attempts is None:
        value, label = _env_then_profile(env, shared, "AWS_MAX_ATTEMPTS", "max_attempts")
        max_attempts = _DEFAULT_MAX_ATTEMPTS if value is None else _check_max_attempts(value, label)
    if mode is None:
        value, label = _env_then_profile(env, shared, "AWS_RETRY_MODE", "retry_mode")
        mode = "standard" if value is None else _check_retry_mode(value, label)

    # CA bundle
    if ca_bundle is None:
        value, label = _env_then_profile(env, shared, "AWS_CA_BUNDLE", "ca_bundle")
        ca_bundle = None if value is None else _check_ca_bundle(value, label, env)

    # Application id for the User-Agent: the profile's value is read on the first call
    # (profile_app_id), so that creating a client never reads the file for it.
    if sdk_ua_app_id is None:
        value = _env(env, "AWS_SDK_UA_APP_ID")
        if value is not None:
            sdk_ua_app_id = _check_app_id(value, _Source("AWS_SDK_UA_APP_ID"))

    return ClientConfig(
        region=region,
        profile=profile_name,
        endpoint_url=endpoint_url,
        endpoint_source=endpoint_source,
        use_fips_endpoint=fips,
        use_dualstack_endpoint=dualstack,
        max_attempts=max_attempts,
        retry_mode=mode,
        ca_bundle=ca_bundle,
        sdk_ua_app_id=sdk_ua_app_id,
    )


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def profile_app_id(profile: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The ``sdk_ua_app_id`` of ``profile`` in the shared config file, checked, or None."""
    shared = _SharedConfig(os.environ if environ is None else environ, profile)
    value = shared.get("sdk_ua_app_id")
    return None if value is None else _check_app_id(value, shared.source("sdk_ua_app_id"))


def _env(env: Mapping[str, str], name: str) -> str | None:
    """An environment variable's value, stripped; empty counts as unset."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _env_then_profile(
    env: Mapping[str, str], shared: _SharedConfig, var: str, key: str
) -> tuple[str | None, _Source]:
    value = _env(env, var)
    if value is not None:
        return value, _Source(var)
    return shared.get(key), shared.source(key)


def _resolve_bool(
    argument: bool | None, env: Mapping[str, str], shared: _SharedConfig, var: str, key: str
) -> bool:
    if argument is not None:
        return argument
    value, label = _env_then_profile(env, shared, var, key)
    return False if value is None else _parse_bool(value, label)


def _ignore_configured_endpoints(env: Mapping[str, str], shared: _SharedConfig) -> bool:
    var = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    value = _env(env, var)
    if value is not None:
        return _parse_bool(value, _Source(var))
    key = "ignore_configured_endpoint_urls"
    value = shared.get(key)
    return False if value is None else _parse_bool(value, shared.source(key))


def _configured_endpoint(
    env: Mapping[str, str], shared: _SharedConfig
) -> tuple[str | None, str | None]:
    """The endpoint URL from the environment or the profile, with its source."""
    for var in (f"AWS_ENDPOINT_URL_{_SERVICE_KEY.upper()}", "AWS_ENDPOINT_URL"):
        value = _env(env, var)
        if value is not None:
            return _check_url(value, _Source(var)), var
    found = shared.service_setting(_SERVICE_KEY, "endpoint_url")
    if found is not None:
        value, source = found
        return _check_url(value, source), str(source)
    value = shared.get("endpoint_url")
    if value is not None:
        source = shared.source("endpoint_url")
        return _check_url(value, source), str(source)
    return None, None


class _Source:
    """Where a value came from: an argument or variable name, or a key and its file location.

    A plain class rather than a NamedTuple: building a NamedTuple class at import costs more
    than everything else in this module except ClientConfig.
    """

    __slots__ = ("name", "where")

    def __init__(self, name: str, where: str = "") -> None:
        self.name = name
        self.where = where

    def describe(self, value: object) -> str:
        return f"{self.name}={value!r}{self.where}"

    def __str__(self) -> str:
        return f"{self.name}{self.where}"


class _SharedConfig:
    """The shared config file, read on first use, and the selected profile in it."""

    def __init__(self, env: Mapping[str, str], profile: str) -> None:
        self.profile = profile
        raw = _env(env, "AWS_CONFIG_FILE") or _DEFAULT_CONFIG_FILE
        self.path = _expand_path(raw, env)
        self.exists = False
        self.has_profile = False
        self._sections: dict[str, dict[str, Any]] | None = None
        self._profiles: dict[str, dict[str, Any]] = {}
        self._services: dict[str, dict[str, Any]] = {}

    def source(self, key: str) -> _Source:
        return _Source(key, f" in profile {self.profile!r} of {self.path}")

    def _load(self) -> None:
        self._sections = _read_config_file(self.path)
        self.exists = self._sections is not None
        for name, values in (self._sections or {}).items():
            kind, section_name = _section_kind(name)
            if kind == "profile":
                self._profiles[section_name] = values
            elif kind == "services":
                self._services[section_name] = values
        self.has_profile = self.profile in self._profiles

    def get(self, key: str) -> str | None:
        """A plain setting of the selected profile, stripped; None when absent or empty."""
        if self._sections is None:
            self._load()
        value = self._profiles.get(self.profile, {}).get(key)
        if value is None:
            return None
        if value.startswith("\n"):
            raise ConfigurationError(
                f"{self.source(key)} is an indented block; expected a single value"
            )
        return value.strip() or None

    def service_setting(self, service: str, key: str) -> tuple[str, _Source] | None:
        """``key`` from the ``service`` block of the ``[services NAME]`` section the profile
        points to, with a label; None when the profile names no services section."""
        section_name = self.get("services")
        if section_name is None:
            return None
        section = self._services.get(section_name)
        if section is None:
            raise ConfigurationError(
                f"{self.source('services').describe(section_name)} names a section "
                f"[services {section_name}] that is not in the file"
            )
        block = section.get(service)
        if block is None:
            return None
        source = _Source(f"{service}.{key}", f" in [services {section_name}] of {self.path}")
        nested = _parse_nested(block, source)
        value = nested.get(key)
        return None if not value else (value, source)


def _section_kind(name: str) -> tuple[str | None, str]:
    """Classify a section header like botocore: ``default``, ``profile X``, ``services X``."""
    if name == "default":
        return "profile", "default"
    for prefix in ("profile", "services"):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if not rest[:1].isspace():
                return None, name
            if '"' in rest or "'" in rest:
                import shlex

                try:
                    parts = shlex.split(rest)
                except ValueError:
                    return None, name
            else:
                parts = rest.split()
            return (prefix, parts[0]) if len(parts) == 1 else (None, name)
    return None, name


def _read_config_file(path: str) -> dict[str, dict[str, Any]] | None:
    """Parse the INI file at ``path``; None when there is no such file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"The AWS config file {path} could not be read: it is not UTF-8 text"
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"The AWS config file {path} could not be read: {exc.strerror or exc}"
        ) from None

    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise ConfigurationError(
            f"The AWS config file {path} is malformed: {_describe_parse_error(exc)}"
        ) from None
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def _describe_parse_error(exc: Exception) -> str:
    """Say what is wrong and where, without quoting the line (it could hold a secret)."""
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section] header"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: section [{exc.section}] appears twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: setting {exc.option!r} appears twice in [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _line in exc.errors)
        return f"line {lines} is not a 'name = value' setting"
    return type(exc).__name__


def _parse_nested(block: str, source: _Source) -> dict[str, str]:
    """Parse an indented ``name = value`` block (the botocore sub-section format)."""
    parsed: dict[str, str] = {}
    for line in block.splitlines():
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ConfigurationError(
                f"The {source.name.partition('.')[0]} block{source.where} has a line that is "
                "not 'name = value'"
            )
        parsed[name.strip().lower()] = value.strip()
    return parsed


def _expand_path(path: str, env: Mapping[str, str]) -> str:
    """Expand ``$VAR``/``${VAR}`` and a leading ``~`` using ``env`` (like botocore)."""
    if "$" in path:
        import re

        path = re.sub(
            r"\$(\w+|\{[^}]*\})",
            lambda m: env.get(m.group(1).strip("{}"), m.group(0)),
            path,
        )
    if path.startswith("~") and (len(path) == 1 or path[1] in "/\\"):
        home = env.get("HOME") or env.get("USERPROFILE")
        path = home + path[1:] if home else os.path.expanduser(path)
    return path


def _no_region_message(shared: _SharedConfig) -> str:
    if not shared.exists:
        where = f"{shared.path} does not exist"
    elif not shared.has_profile:
        where = f"{shared.path} has no profile {shared.profile!r}"
    else:
        where = f"profile {shared.profile!r} in {shared.path} has no region"
    return (
        "No AWS Region was found. Pass region=..., set AWS_REGION or AWS_DEFAULT_REGION, or add "
        f"'region = ...' to profile {shared.profile!r} in the config file ({where})."
    )


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _check_region(value: object, source: _Source) -> str:
    from kms_mrk.endpoints import region_problem

    problem = region_problem(value)
    if problem is None and isinstance(value, str):
        return value
    raise ConfigurationError(f"{source.describe(value)} is not a valid Region name: {problem}")


def _parse_bool(value: str, source: _Source) -> bool:
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ConfigurationError(f"{source.describe(value)} is not valid: use true or false")


def _check_max_attempts(value: object, source: _Source) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 1:
        raise ConfigurationError(
            f"{source.describe(value)} is not valid: use an integer of 1 or more"
        )
    return number


_APP_ID_MAX: Final = 50


def _check_app_id(value: object, source: _Source) -> str:
    """An application id for ``app/<id>`` in the User-Agent (as botocore: at most 50 characters).

    Characters a User-Agent token cannot carry are replaced by ``-``, as botocore does.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{source.describe(value)} is not valid: use a non-empty name")
    text = value.strip()
    if len(text) > _APP_ID_MAX:
        raise ConfigurationError(
            f"{source} is not valid: an application id has at most {_APP_ID_MAX} characters "
            f"(got {len(text)})"
        )
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in _UA_SAFE) else "-" for ch in text)


_UA_SAFE: Final = frozenset("!#$%&'*+-.^_`|~")


def _check_retry_mode(value: object, source: _Source) -> RetryMode:
    mode = _RETRY_MODES.get(value.strip().lower()) if isinstance(value, str) else None
    if mode is None:
        raise ConfigurationError(
            f"{source.describe(value)} is not valid: use 'standard', 'adaptive' or 'legacy' "
            "(the same as 'standard')"
        )
    return mode


def _check_ca_bundle(value: object, source: _Source, env: Mapping[str, str]) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{source.describe(value)} is not valid: use the path of a PEM file"
        )
    path = _expand_path(value.strip(), env)
    if not os.path.exists(path):
        raise ConfigurationError(f"{source.describe(value)} is not valid: the file does not exist")
    return path


def _check_url(value: object, source: _Source) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{source.describe(value)} is not a valid URL: it must be a string"
        )
    url = value.strip()
    from kms_mrk._url import split_url

    shown = _mask_userinfo(url)
    problem: str | None = None
    try:
        parts = split_url(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        problem = str(exc)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "the scheme must be http or https (for example https://kms.example.com)"
        elif not parts.hostname:
            problem = "it has no host"
        elif "@" in parts.netloc:
            problem = "it must not contain a user name or password"
        elif any(ch.isspace() for ch in url):
            problem = "it contains whitespace"
        elif parts.query or parts.fragment:
            problem = "it must not have a query string or fragment"
    if problem is not None:
        raise ConfigurationError(f"{source.describe(shown)} is not a valid URL: {problem}")
    return url


def _mask_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if not sep or "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{tail}"
