"""Proxy selection from the environment or an explicit mapping (pure functions, no sockets)."""

from __future__ import annotations

import pytest

from kms_mrk.errors._base import ConfigurationError
from kms_mrk.transport._urllib3 import ProxySettings, mask_url


def test_environment_variables() -> None:
    settings = ProxySettings.from_environ(
        {"HTTP_PROXY": "http://p1:3128", "HTTPS_PROXY": "p2:8080", "NO_PROXY": "a.com,b.com"}
    )
    assert settings == ProxySettings("http://p1:3128", "http://p2:8080", ("a.com", "b.com"))


def test_lower_case_wins() -> None:
    settings = ProxySettings.from_environ(
        {
            "http_proxy": "http://lower",
            "HTTP_PROXY": "http://upper",
            "https_proxy": "http://lower-s",
            "HTTPS_PROXY": "http://upper-s",
            "no_proxy": "x",
            "NO_PROXY": "y",
        }
    )
    assert settings == ProxySettings("http://lower", "http://lower-s", ("x",))


def test_http_proxy_is_ignored_in_cgi() -> None:
    settings = ProxySettings.from_environ(
        {"HTTP_PROXY": "http://attacker", "REQUEST_METHOD": "GET", "HTTPS_PROXY": "http://ok"}
    )
    assert settings.http is None
    assert settings.https == "http://ok"


def test_empty_values_mean_unset() -> None:
    assert ProxySettings.from_environ({"HTTPS_PROXY": "  ", "NO_PROXY": ""}) == ProxySettings(
        None, None, ()
    )


def test_proxy_url_forms() -> None:
    settings = ProxySettings.from_mapping({"http": "//p:1", "https": "https://p:2"})
    assert settings.http == "http://p:1"
    assert settings.https == "https://p:2"


def test_mapping_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigurationError, match="unknown keys"):
        ProxySettings.from_mapping({"all": "http://p"})


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypass"),
    [
        ("*", "kms.us-east-1.amazonaws.com", 443, True),
        ("amazonaws.com", "kms.us-east-1.amazonaws.com", 443, True),
        (".amazonaws.com", "kms.us-east-1.amazonaws.com", 443, True),
        ("*.amazonaws.com", "kms.us-east-1.amazonaws.com", 443, True),
        ("amazonaws.com", "amazonaws.com", 443, True),
        ("amazonaws.com", "notamazonaws.com", 443, False),
        ("AMAZONAWS.COM", "kms.us-east-1.amazonaws.com", 443, True),
        ("kms.us-east-1.amazonaws.com:443", "kms.us-east-1.amazonaws.com", 443, True),
        ("kms.us-east-1.amazonaws.com:8443", "kms.us-east-1.amazonaws.com", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("10.0.0.0/8", "example.com", 443, False),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.1", "127.0.0.10", 8080, False),
        ("::1", "::1", 80, True),
        ("[::1]:80", "[::1]", 80, True),
        ("[::1]:81", "[::1]", 80, False),
        ("fd00::/8", "fd12::1", 443, True),
        ("", "example.com", 443, False),
        ("a.com, b.com", "x.b.com", 443, True),
    ],
)
def test_no_proxy_matching(no_proxy: str, host: str, port: int, bypass: bool) -> None:
    settings = ProxySettings.from_mapping({"https": "http://proxy:3128", "no_proxy": no_proxy})
    expected = None if bypass else "http://proxy:3128"
    assert settings.proxy_for("https", host, port) == expected


def test_scheme_selects_the_proxy() -> None:
    settings = ProxySettings.from_mapping({"https": "http://s:1"})
    assert settings.proxy_for("https", "h", 443) == "http://s:1"
    assert settings.proxy_for("http", "h", 80) is None


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://user:pass@proxy:3128", "http://***:***@proxy:3128"),
        ("http://token@proxy:3128/x", "http://***@proxy:3128/x"),
        ("http://proxy:3128", "http://proxy:3128"),
        ("proxy:3128", "proxy:3128"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
