"""``urlsplit`` for the call path, without importing :mod:`urllib.parse` for plain URLs.

Every call splits its endpoint URL (the signer needs the host and path, the configuration
checks a URL it is given). :mod:`urllib.parse` and :mod:`ipaddress`, which it imports, cost
a few milliseconds of a cold start, while the URLs a client meets are almost always as
plain as ``https://kms.us-east-1.amazonaws.com`` or ``http://127.0.0.1:4566``.

:func:`split_url` answers those itself and hands every other URL to
:func:`urllib.parse.urlsplit`. The plain form is strict enough that ``urlsplit`` gives the
very same parts for it (lower-case ``http``/``https`` scheme, a host of ASCII letters,
digits, dots and hyphens, an optional port of at most 65535, a path of unreserved
characters and ``/``, no query, fragment, user info, brackets, percent signs or white
space); tests compare the two on generated URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

__all__ = ["PATH_CHARS", "split_url"]

_LETTERS_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HOST_CHARS = _LETTERS_DIGITS + ".-"
PATH_CHARS = _LETTERS_DIGITS + "._~/-"
"""The characters ``quote(path, safe="/~")`` leaves as they are."""


if TYPE_CHECKING:  # the Protocol is for type checkers; building it costs at import

    class UrlParts(Protocol):
        """The parts of a split URL (what :class:`urllib.parse.SplitResult` offers)."""

        @property
        def scheme(self) -> str: ...
        @property
        def netloc(self) -> str: ...
        @property
        def path(self) -> str: ...
        @property
        def query(self) -> str: ...
        @property
        def fragment(self) -> str: ...
        @property
        def hostname(self) -> str | None: ...
        @property
        def port(self) -> int | None: ...


class _Plain:
    __slots__ = ("fragment", "hostname", "netloc", "path", "port", "query", "scheme")

    def __init__(self, scheme: str, host: str, port: str | None, path: str) -> None:
        self.scheme = scheme
        self.netloc = host if port is None else f"{host}:{port}"
        self.path = path
        self.query = ""
        self.fragment = ""
        self.hostname: str | None = host.lower()
        self.port: int | None = None if port is None else int(port)

    def __repr__(self) -> str:
        return (
            f"SplitResult(scheme={self.scheme!r}, netloc={self.netloc!r}, path={self.path!r}, "
            "query='', fragment='')"
        )


def split_url(url: str) -> UrlParts:
    """``urllib.parse.urlsplit(url)``; reading ``.port`` raises ``ValueError`` as it does."""
    scheme, sep, rest = url.partition("://")
    if sep and (scheme == "https" or scheme == "http"):
        netloc, slash, path = rest.partition("/")
        host, colon, port = netloc.partition(":")
        # s.strip(chars) is empty exactly when every character of s is one of chars.
        if (
            host
            and not host.strip(_HOST_CHARS)
            and not (path and path.strip(PATH_CHARS))
            and (not colon or (0 < len(port) <= 5 and port.isascii() and port.isdigit()))
            and (not port or int(port) <= 65535)
        ):
            return _Plain(scheme, host, port or None, slash + path)
    from urllib.parse import urlsplit

    return urlsplit(url)
