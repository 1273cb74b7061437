"""resolve_config: every source, its precedence and every error message.

Every test passes ``environ`` and points AWS_CONFIG_FILE (or HOME) into tmp_path, so the real
~/.aws of the machine running the tests is never read.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from kms_mrk import _config
from kms_mrk._config import ClientConfig, resolve_config
from kms_mrk.errors._base import ConfigurationError, NoRegionError

Env = dict[str, str]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in [n for n in __import__("os").environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "aws-config"


@pytest.fixture
def env(config_path: Path) -> Env:
    """A base environment whose config file is (not yet) in tmp_path."""
    return {"AWS_CONFIG_FILE": str(config_path)}


@pytest.fixture
def write(config_path: Path) -> Callable[[str], Path]:
    def write_config(text: str) -> Path:
        config_path.write_text(textwrap.dedent(text), encoding="utf-8")
        return config_path

    return write_config


# --------------------------------------------------------------------------------------------
# Defaults and the result type
# --------------------------------------------------------------------------------------------


def test_defaults(env: Env) -> None:
    config = resolve_config(region="us-east-1", environ=env)
    assert config == ClientConfig(
        region="us-east-1",
        profile="default",
        endpoint_url=None,
        endpoint_source=None,
        use_fips_endpoint=False,
        use_dualstack_endpoint=False,
        max_attempts=3,
        retry_mode="standard",
        ca_bundle=None,
    )


def test_config_is_frozen(env: Env) -> None:
    config = resolve_config(region="us-east-1", environ=env)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.region = "eu-west-1"  # type: ignore[misc]


def test_endpoint_method(env: Env) -> None:
    assert (
        resolve_config(region="eu-west-1", use_fips_endpoint=True, environ=env).endpoint()
        == "https://kms-fips.eu-west-1.amazonaws.com"
    )
    custom = resolve_config(region="eu-west-1", endpoint_url="http://localhost:4566", environ=env)
    assert custom.endpoint() == "http://localhost:4566"


def test_no_secrets_in_repr(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        [default]
        region = us-west-2
        aws_access_key_id = AKIDEXAMPLE
        aws_secret_access_key = wJalrXUtnFEMI/K7MDENG
        aws_session_token = TOKENTOKEN
        """
    )
    text = repr(resolve_config(environ=env))
    assert "us-west-2" in text
    for secret in ("AKIDEXAMPLE", "wJalrXUtnFEMI", "TOKENTOKEN"):
        assert secret not in text


def test_uses_os_environ_by_default(monkeypatch: pytest.MonkeyPatch, config_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_path))
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    config = resolve_config()
    assert (config.region, config.max_attempts) == ("ap-south-1", 7)


# --------------------------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "variables", "expected"),
    [
        (None, {}, "default"),
        (None, {"AWS_DEFAULT_PROFILE": "b"}, "b"),
        (None, {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}, "a"),
        (None, {"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "b"}, "b"),
        ("c", {"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}, "c"),
        (" c ", {}, "c"),
    ],
)
def test_profile_precedence(env: Env, argument: str | None, variables: Env, expected: str) -> None:
    config = resolve_config(region="us-east-1", profile=argument, environ={**env, **variables})
    assert config.profile == expected


@pytest.mark.parametrize("bad", ["", "   ", 5])
def test_bad_profile_argument(env: Env, bad: object) -> None:
    with pytest.raises(ConfigurationError, match=r"profile=.* is not valid"):
        resolve_config(region="us-east-1", profile=bad, environ=env)  # type: ignore[arg-type]


def test_profile_sections(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        [default]
        region = eu-west-1

        [profile dev]
        region = eu-west-2

        [profile "with space"]
        region = eu-west-3

        [dev]
        region = not-a-profile-section
        """
    )
    assert resolve_config(environ=env).region == "eu-west-1"
    assert resolve_config(profile="dev", environ=env).region == "eu-west-2"
    assert resolve_config(profile="with space", environ=env).region == "eu-west-3"


def test_profile_default_section_spelled_as_profile(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        [profile default]
        region = sa-east-1
        """
    )
    assert resolve_config(environ=env).region == "sa-east-1"


# --------------------------------------------------------------------------------------------
# Region
# --------------------------------------------------------------------------------------------


def test_region_precedence(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        [default]
        region = ca-central-1
        """
    )
    both = {**env, "AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "eu-south-1"}
    assert resolve_config(region="af-south-1", environ=both).region == "af-south-1"
    assert resolve_config(environ=both).region == "eu-north-1"
    assert resolve_config(environ={**env, "AWS_DEFAULT_REGION": "eu-south-1"}).region == (
        "eu-south-1"
    )
    assert resolve_config(environ={**env, "AWS_REGION": " "}).region == "ca-central-1"
    assert resolve_config(environ=env).region == "ca-central-1"


def test_region_is_stripped(env: Env) -> None:
    assert resolve_config(environ={**env, "AWS_REGION": " us-east-2\n"}).region == "us-east-2"


def test_no_region_when_the_file_is_missing(env: Env, config_path: Path) -> None:
    with pytest.raises(NoRegionError) as info:
        resolve_config(environ=env)
    message = str(info.value)
    for part in ("region=", "AWS_REGION", "AWS_DEFAULT_REGION", "'region = ...'", "'default'"):
        assert part in message
    assert f"{config_path} does not exist" in message
    assert isinstance(info.value, ConfigurationError)


def test_no_region_when_the_profile_is_missing(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write("[default]\nregion = us-east-1\n")
    with pytest.raises(NoRegionError) as info:
        resolve_config(profile="prod", environ=env)
    assert f"{config_path} has no profile 'prod'" in str(info.value)


def test_no_region_when_the_profile_has_none(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write("[profile prod]\noutput = json\n")
    with pytest.raises(NoRegionError) as info:
        resolve_config(profile="prod", environ=env)
    assert f"profile 'prod' in {config_path} has no region" in str(info.value)


def test_no_region_names_the_default_config_path(tmp_path: Path) -> None:
    with pytest.raises(NoRegionError) as info:
        resolve_config(environ={"HOME": str(tmp_path)})
    assert str(tmp_path / ".aws" / "config") in str(info.value)


@pytest.mark.parametrize(
    ("source", "expected_prefix"),
    [
        ("argument", "region='us east 1' is not a valid Region name: "),
        ("AWS_REGION", "AWS_REGION='us east 1' is not a valid Region name: "),
        ("AWS_DEFAULT_REGION", "AWS_DEFAULT_REGION='us east 1' is not a valid Region name: "),
        ("file", "region='us east 1' in profile 'default' of {path} is not a valid Region name: "),
    ],
)
def test_malformed_region_names_its_source(
    env: Env, write: Callable[[str], Path], source: str, expected_prefix: str
) -> None:
    path = write("[default]\nregion = us east 1\n")
    kwargs: dict[str, str] = {}
    environ = dict(env)
    if source == "argument":
        kwargs["region"] = "us east 1"
    elif source != "file":
        environ[source] = "us east 1"
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=environ, **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(expected_prefix.format(path=path))
    assert "letters, digits and hyphens" in str(info.value)


def test_region_argument_must_be_a_string(env: Env) -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        resolve_config(region=1, environ=env)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Endpoint URL
# --------------------------------------------------------------------------------------------

IGNORE_IN_PROFILE = "[default]\n    ignore_configured_endpoint_urls = true"
ENDPOINT_FILE = """
    [default]
    region = us-east-1
    endpoint_url = https://profile.example.com
    services = local

    [services local]
    kms =
      endpoint_url = http://services.example.com:4566
    s3 =
      endpoint_url = http://s3.example.com
"""


def test_endpoint_precedence(env: Env, write: Callable[[str], Path], config_path: Path) -> None:
    write(ENDPOINT_FILE)
    variables = {
        **env,
        "AWS_ENDPOINT_URL_KMS": "http://kms-env.example.com",
        "AWS_ENDPOINT_URL": "http://global-env.example.com",
    }
    config = resolve_config(endpoint_url="http://arg.example.com", environ=variables)
    assert (config.endpoint_url, config.endpoint_source) == (
        "http://arg.example.com",
        "endpoint_url argument",
    )
    config = resolve_config(environ=variables)
    assert (config.endpoint_url, config.endpoint_source) == (
        "http://kms-env.example.com",
        "AWS_ENDPOINT_URL_KMS",
    )
    del variables["AWS_ENDPOINT_URL_KMS"]
    config = resolve_config(environ=variables)
    assert (config.endpoint_url, config.endpoint_source) == (
        "http://global-env.example.com",
        "AWS_ENDPOINT_URL",
    )
    config = resolve_config(environ=env)
    assert (config.endpoint_url, config.endpoint_source) == (
        "http://services.example.com:4566",
        f"kms.endpoint_url in [services local] of {config_path}",
    )
    write(ENDPOINT_FILE.replace("services = local", ""))
    config = resolve_config(environ=env)
    assert (config.endpoint_url, config.endpoint_source) == (
        "https://profile.example.com",
        f"endpoint_url in profile 'default' of {config_path}",
    )


def test_no_endpoint_means_rule_set(env: Env) -> None:
    config = resolve_config(region="us-east-1", environ=env)
    assert (config.endpoint_url, config.endpoint_source) == (None, None)


def test_services_section_without_kms_falls_through(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        [default]
        region = us-east-1
        services = other
        endpoint_url = https://profile.example.com

        [services other]
        s3 =
          endpoint_url = http://s3.example.com
        """
    )
    assert resolve_config(environ=env).endpoint_url == "https://profile.example.com"


@pytest.mark.parametrize(
    "setting",
    [
        {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
        {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"},
        "profile",
    ],
)
def test_ignore_configured_endpoint_urls(
    env: Env, write: Callable[[str], Path], setting: Env | str
) -> None:
    text = ENDPOINT_FILE
    if setting == "profile":
        text = text.replace("[default]", IGNORE_IN_PROFILE)
        variables = dict(env)
    else:
        assert isinstance(setting, dict)
        variables = {**env, **setting}
    write(text)
    variables["AWS_ENDPOINT_URL_KMS"] = "http://kms-env.example.com"
    variables["AWS_ENDPOINT_URL"] = "http://global-env.example.com"
    config = resolve_config(environ=variables)
    assert (config.endpoint_url, config.endpoint_source) == (None, None)
    # An explicit argument is never ignored.
    config = resolve_config(endpoint_url="http://arg.example.com", environ=variables)
    assert config.endpoint_url == "http://arg.example.com"


def test_ignore_variable_false_beats_profile_true(env: Env, write: Callable[[str], Path]) -> None:
    write(ENDPOINT_FILE.replace("[default]", IGNORE_IN_PROFILE))
    variables = {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"}
    assert resolve_config(environ=variables).endpoint_url == "http://services.example.com:4566"


def test_ignore_variable_must_be_boolean(env: Env) -> None:
    variables = {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "yes"}
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ=variables)
    assert str(info.value) == (
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='yes' is not valid: use true or false"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("foo", "the scheme must be http or https"),
        ("ftp://kms.example.com", "the scheme must be http or https"),
        ("https://", "it has no host"),
        ("https://:443/", "it has no host"),
        ("https://kms.example.com:99999", "Port out of range"),
        ("https://kms.example.com:abc", "Port could not be cast"),
        ("https://kms.example.com/?a=b", "query string or fragment"),
        ("https://kms.example.com/#frag", "query string or fragment"),
        ("https://kms example.com", "whitespace"),
        ("https://user:hunter2@kms.example.com", "user name or password"),
    ],
)
def test_malformed_endpoint_urls(env: Env, url: str, problem: str) -> None:
    variables = {**env, "AWS_ENDPOINT_URL_KMS": url}
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ=variables)
    message = str(info.value)
    assert message.startswith("AWS_ENDPOINT_URL_KMS=")
    assert " is not a valid URL: " in message
    assert problem in message
    assert "hunter2" not in message


def test_malformed_endpoint_url_message_format(env: Env) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ={**env, "AWS_ENDPOINT_URL_KMS": "foo"})
    assert str(info.value) == (
        "AWS_ENDPOINT_URL_KMS='foo' is not a valid URL: the scheme must be http or https "
        "(for example https://kms.example.com)"
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("argument", "endpoint_url='nope' is not a valid URL"),
        ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL='nope' is not a valid URL"),
        ("services", "kms.endpoint_url='nope' in [services local] of {path} is not a valid URL"),
        ("profile", "endpoint_url='nope' in profile 'default' of {path} is not a valid URL"),
    ],
)
def test_malformed_endpoint_url_names_its_source(
    env: Env, write: Callable[[str], Path], where: str, expected: str
) -> None:
    text = "[default]\nregion = us-east-1\n"
    kwargs: dict[str, str] = {}
    variables = dict(env)
    if where == "argument":
        kwargs["endpoint_url"] = "nope"
    elif where == "AWS_ENDPOINT_URL":
        variables[where] = "nope"
    elif where == "services":
        text += "services = local\n[services local]\nkms =\n  endpoint_url = nope\n"
    else:
        text += "endpoint_url = nope\n"
    path = write(text)
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=variables, **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(expected.format(path=path))


def test_valid_endpoint_urls(env: Env) -> None:
    for url in ("http://localhost:4566", "https://kms.example.com/prefix/", "http://[::1]:8080"):
        config = resolve_config(region="us-east-1", endpoint_url=url, environ=env)
        assert config.endpoint_url == url


def test_missing_services_section(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write("[default]\nregion = us-east-1\nservices = nowhere\n")
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    assert str(info.value) == (
        f"services='nowhere' in profile 'default' of {config_path} names a section "
        "[services nowhere] that is not in the file"
    )


def test_malformed_services_block(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write(
        "[default]\nregion = us-east-1\nservices = s\n"
        "[services s]\nkms =\n  endpoint_url http://x\n"
    )
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    assert str(info.value) == (
        f"The kms block in [services s] of {config_path} has a line that is not 'name = value'"
    )


def test_endpoint_url_with_fips_keeps_the_url(env: Env) -> None:
    config = resolve_config(
        region="us-east-1",
        endpoint_url="http://localhost:4566",
        use_fips_endpoint=True,
        environ=env,
    )
    assert config.endpoint() == "http://localhost:4566"
    assert config.use_fips_endpoint is True


# --------------------------------------------------------------------------------------------
# FIPS and dual-stack
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT"),
        ("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT"),
    ],
)
def test_boolean_precedence(
    env: Env, write: Callable[[str], Path], field: str, variable: str
) -> None:
    write(f"[default]\nregion = us-east-1\n{field} = True\n")
    assert getattr(resolve_config(environ=env), field) is True
    assert getattr(resolve_config(environ={**env, variable: "FALSE"}), field) is False
    assert getattr(resolve_config(environ={**env, variable: "true"}), field) is True
    off = resolve_config(environ={**env, variable: "true"}, **{field: False})  # type: ignore[arg-type]
    assert getattr(off, field) is False
    write("[default]\nregion = us-east-1\n")
    assert getattr(resolve_config(environ=env), field) is False


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT"),
        ("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT"),
    ],
)
def test_boolean_errors(
    env: Env, write: Callable[[str], Path], config_path: Path, field: str, variable: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ={**env, variable: "1"})
    assert str(info.value) == f"{variable}='1' is not valid: use true or false"

    write(f"[default]\nregion = us-east-1\n{field} = on\n")
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    assert str(info.value) == (
        f"{field}='on' in profile 'default' of {config_path} is not valid: use true or false"
    )

    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ=env, **{field: "true"})  # type: ignore[arg-type]
    assert str(info.value) == f"{field}='true' is not valid: it must be True or False"


# --------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------


def test_max_attempts_precedence(env: Env, write: Callable[[str], Path]) -> None:
    write("[default]\nregion = us-east-1\nmax_attempts = 4\n")
    assert resolve_config(environ=env).max_attempts == 4
    assert resolve_config(environ={**env, "AWS_MAX_ATTEMPTS": "6"}).max_attempts == 6
    assert (
        resolve_config(max_attempts=1, environ={**env, "AWS_MAX_ATTEMPTS": "6"}).max_attempts == 1
    )


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "2.5", "1e3", "٣"])
def test_max_attempts_errors(env: Env, bad: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ={**env, "AWS_MAX_ATTEMPTS": bad})
    assert str(info.value) == f"AWS_MAX_ATTEMPTS={bad!r} is not valid: use an integer of 1 or more"


@pytest.mark.parametrize("bad", [0, -3, True, "3", 2.0])
def test_max_attempts_argument_errors(env: Env, bad: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", max_attempts=bad, environ=env)  # type: ignore[arg-type]
    assert str(info.value) == f"max_attempts={bad!r} is not valid: use an integer of 1 or more"


def test_max_attempts_from_file_error(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write("[default]\nregion = us-east-1\nmax_attempts = 0\n")
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    assert str(info.value) == (
        f"max_attempts='0' in profile 'default' of {config_path} is not valid: "
        "use an integer of 1 or more"
    )


def test_retry_mode_precedence(env: Env, write: Callable[[str], Path]) -> None:
    write("[default]\nregion = us-east-1\nretry_mode = adaptive\n")
    assert resolve_config(environ=env).retry_mode == "adaptive"
    assert resolve_config(environ={**env, "AWS_RETRY_MODE": "standard"}).retry_mode == "standard"
    variables = {**env, "AWS_RETRY_MODE": "standard"}
    assert resolve_config(retry_mode="adaptive", environ=variables).retry_mode == "adaptive"
    write("[default]\nregion = us-east-1\n")
    assert resolve_config(environ=env).retry_mode == "standard"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("legacy", "standard"), ("Standard", "standard"), ("ADAPTIVE", "adaptive")],
)
def test_retry_mode_values(env: Env, given: str, expected: str) -> None:
    assert resolve_config(region="us-east-1", retry_mode=given, environ=env).retry_mode == expected


def test_retry_mode_errors(env: Env) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ={**env, "AWS_RETRY_MODE": "fast"})
    assert str(info.value) == (
        "AWS_RETRY_MODE='fast' is not valid: use 'standard', 'adaptive' or 'legacy' "
        "(the same as 'standard')"
    )
    with pytest.raises(ConfigurationError, match="retry_mode=3 is not valid"):
        resolve_config(region="us-east-1", retry_mode=3, environ=env)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# CA bundle
# --------------------------------------------------------------------------------------------


def test_ca_bundle_precedence(env: Env, write: Callable[[str], Path], tmp_path: Path) -> None:
    bundles = {name: tmp_path / f"{name}.pem" for name in ("arg", "env", "file")}
    for path in bundles.values():
        path.write_text("-----BEGIN CERTIFICATE-----\n")
    write(f"[default]\nregion = us-east-1\nca_bundle = {bundles['file']}\n")
    variables = {**env, "AWS_CA_BUNDLE": str(bundles["env"])}
    assert resolve_config(environ=env).ca_bundle == str(bundles["file"])
    assert resolve_config(environ=variables).ca_bundle == str(bundles["env"])
    assert resolve_config(ca_bundle=str(bundles["arg"]), environ=variables).ca_bundle == str(
        bundles["arg"]
    )


def test_ca_bundle_home_is_expanded(env: Env, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    variables = {**env, "HOME": str(tmp_path), "AWS_CA_BUNDLE": "~/ca.pem"}
    config = resolve_config(region="us-east-1", environ=variables)
    assert config.ca_bundle == str(tmp_path / "ca.pem")


def test_ca_bundle_must_exist(env: Env) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(region="us-east-1", environ={**env, "AWS_CA_BUNDLE": "/no/such/ca.pem"})
    assert (
        str(info.value) == "AWS_CA_BUNDLE='/no/such/ca.pem' is not valid: the file does not exist"
    )
    with pytest.raises(ConfigurationError, match="ca_bundle='' is not valid"):
        resolve_config(region="us-east-1", ca_bundle="", environ=env)


# --------------------------------------------------------------------------------------------
# The config file
# --------------------------------------------------------------------------------------------


def test_default_config_file_location(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = me-south-1\n")
    assert resolve_config(environ={"HOME": str(tmp_path)}).region == "me-south-1"


def test_config_file_variable_expansion(tmp_path: Path) -> None:
    (tmp_path / "cfg").write_text("[default]\nregion = il-central-1\n")
    variables = {"BASE": str(tmp_path), "AWS_CONFIG_FILE": "$BASE/cfg"}
    assert resolve_config(environ=variables).region == "il-central-1"
    variables = {"BASE": str(tmp_path), "AWS_CONFIG_FILE": "${BASE}/cfg"}
    assert resolve_config(environ=variables).region == "il-central-1"


def test_values_are_stripped_and_comments_ignored(env: Env, write: Callable[[str], Path]) -> None:
    write(
        """
        # a comment
        ; another
        [default]
        region   =   eu-west-1
        max_attempts: 2
        """
    )
    config = resolve_config(environ=env)
    assert (config.region, config.max_attempts) == ("eu-west-1", 2)


def test_default_section_values_apply_to_every_profile(
    env: Env, write: Callable[[str], Path]
) -> None:
    # configparser's [DEFAULT] section, which botocore inherits.
    write("[DEFAULT]\nregion = eu-west-1\n[profile dev]\noutput = json\n")
    assert resolve_config(profile="dev", environ=env).region == "eu-west-1"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "aws_secret_access_key = wJalrSECRET\n[default]\n",
            "line 1 comes before any [section] header",
        ),
        ("[default]\nregion = us-east-1\n[default]\n", "line 3: section [default] appears twice"),
        (
            "[default]\nregion = a\nregion = b\n",
            "line 3: setting 'region' appears twice in [default]",
        ),
        ("[default]\nwJalrSECRET\n", "line 2 is not a 'name = value' setting"),
    ],
)
def test_malformed_files(
    env: Env, write: Callable[[str], Path], config_path: Path, text: str, problem: str
) -> None:
    write(text)
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    message = str(info.value)
    assert message == f"The AWS config file {config_path} is malformed: {problem}"
    assert "SECRET" not in message


def test_file_that_is_not_utf8(env: Env, config_path: Path) -> None:
    config_path.write_bytes(b"[default]\nregion = \xff\xfe\n")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text") as info:
        resolve_config(environ=env)
    assert str(config_path) in str(info.value)


def test_config_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ={"AWS_CONFIG_FILE": str(tmp_path)})
    assert str(info.value).startswith(f"The AWS config file {tmp_path} could not be read")


def test_indented_block_for_a_plain_setting(
    env: Env, write: Callable[[str], Path], config_path: Path
) -> None:
    write("[default]\nregion =\n  us-east-1\n")
    with pytest.raises(ConfigurationError) as info:
        resolve_config(environ=env)
    assert str(info.value) == (
        f"region in profile 'default' of {config_path} is an indented block; "
        "expected a single value"
    )


# --------------------------------------------------------------------------------------------
# When the file is read
# --------------------------------------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = _config._read_config_file

    def counting(path: str) -> object:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(_config, "_read_config_file", counting)
    return seen


def test_file_not_read_when_everything_is_given(
    env: Env, write: Callable[[str], Path], reads: list[str]
) -> None:
    write("[default]\nregion = eu-west-1\n")
    config = resolve_config(
        region="us-east-1",
        endpoint_url="http://localhost:4566",
        use_fips_endpoint=False,
        use_dualstack_endpoint=False,
        max_attempts=2,
        retry_mode="standard",
        environ={**env, "AWS_CA_BUNDLE": str(_config.__file__)},
    )
    assert config.region == "us-east-1"
    assert reads == []


def test_file_not_read_when_the_environment_decides(env: Env, reads: list[str]) -> None:
    variables = {
        **env,
        "AWS_REGION": "us-east-1",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        "AWS_USE_FIPS_ENDPOINT": "false",
        "AWS_USE_DUALSTACK_ENDPOINT": "false",
        "AWS_MAX_ATTEMPTS": "3",
        "AWS_RETRY_MODE": "adaptive",
        "AWS_CA_BUNDLE": str(_config.__file__),
    }
    assert resolve_config(environ=variables).retry_mode == "adaptive"
    assert reads == []


def test_file_read_once_per_call(
    env: Env, write: Callable[[str], Path], reads: list[str], config_path: Path
) -> None:
    write(
        """
        [default]
        region = eu-west-1
        use_fips_endpoint = true
        max_attempts = 9
        retry_mode = adaptive
        """
    )
    config = resolve_config(environ=env)
    assert (config.region, config.use_fips_endpoint, config.max_attempts) == ("eu-west-1", True, 9)
    assert reads == [str(config_path)]
    resolve_config(environ=env)
    assert len(reads) == 2  # each call reads the file afresh


def test_bad_argument_fails_before_the_file_is_read(
    env: Env, write: Callable[[str], Path], reads: list[str]
) -> None:
    write("[default]\nregion = eu-west-1\n")
    with pytest.raises(ConfigurationError):
        resolve_config(max_attempts=0, environ=env)
    assert reads == []
