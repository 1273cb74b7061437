"""kms_mrk._url.split_url gives exactly what urllib.parse.urlsplit gives, for every URL."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms_mrk._url import split_url
from kms_mrk.auth._sigv4 import canonical_uri

FIELDS = ("scheme", "netloc", "path", "query", "fragment", "hostname")


def _port(parts: object) -> object:
    try:
        return parts.port  # type: ignore[attr-defined]
    except ValueError as exc:
        return ("ValueError", str(exc))


def _same_as_urlsplit(url: str) -> None:
    try:
        theirs = urlsplit(url)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            split_url(url)
        return
    ours = split_url(url)
    assert [getattr(ours, f) for f in FIELDS] == [getattr(theirs, f) for f in FIELDS], url
    assert _port(ours) == _port(theirs), url


PLAIN = [
    "https://kms.us-east-1.amazonaws.com",
    "https://kms.us-east-1.amazonaws.com/",
    "https://kms-fips.us-gov-west-1.amazonaws.com/",
    "http://127.0.0.1:4566",
    "http://localhost:9/",
    "http://Host.Example:0080/a/b",
    "https://h:65535/x/../y/./z",
]
ODD = [
    "http://h:65536/",
    "http://h:99999",
    "http://h:",
    "http://h:x/",
    "HTTPS://KMS.example.com/",
    "https://user:pw@kms.example.com/",
    "http://[::1]:8080/",
    "http://[::1/",
    "https://kms.example.com/?a=b#frag",
    "https://kms.example.com/a%20b",
    "https://kms.example.com/ü",
    " https://kms.example.com/",
    "https://kms.exa\tmple.com/",
    "https://kms.example.com\n",
    "ftp://kms.example.com/",
    "kms.example.com",
    "",
]


@pytest.mark.parametrize("url", PLAIN + ODD)
def test_known_urls(url: str) -> None:
    _same_as_urlsplit(url)


def test_plain_urls_spare_urllib_parse() -> None:
    for url in PLAIN:
        assert type(split_url(url)).__name__ == "_Plain"
    for url in ODD:
        if url != "http://[::1/":  # urlsplit refuses it
            assert type(split_url(url)).__name__ == "SplitResult", url


_host = st.from_regex(r"[A-Za-z0-9.-]{1,20}", fullmatch=True)
_port_text = st.one_of(st.just(""), st.integers(0, 70000).map(lambda p: f":{p}"))
_path = st.one_of(st.just(""), st.from_regex(r"/[A-Za-z0-9._~/%?#@:\[\] -]{0,20}", fullmatch=True))


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "ftp"]),
    host=_host,
    port=_port_text,
    path=_path,
)
def test_generated_urls(scheme: str, host: str, port: str, path: str) -> None:
    _same_as_urlsplit(f"{scheme}://{host}{port}{path}")


@given(st.text(max_size=40))
def test_any_text(url: str) -> None:
    _same_as_urlsplit(url)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_canonical_uri_encodes_as_quote(path: str) -> None:
    assert canonical_uri("/" + path, normalize=False) == quote("/" + path, safe="/~")
