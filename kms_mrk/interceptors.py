"""Interceptors: named hooks into every call, run in the order they were given.

A call runs the hooks in this order (``before_send`` and ``after_receive`` once per attempt)::

    before_serialization(context)                 the command, before validation
    modify_request(context, request) -> request   once, before the retry loop; signed after
    before_send(context, request)                 each attempt, signed request in hand
    after_receive(context, response)              each attempt, raw response
    after_deserialization(context, output)        the typed output, on success
    on_error(context, error)                      the exception about to be raised

Subclass :class:`Interceptor` and override what you need; custom headers are set this way
(:class:`HeadersInterceptor`). The client's own User-Agent and ``amz-sdk-*`` headers are set
by the call flow before the ``modify_request`` hooks run (one copy of the request instead of
one per hook); :class:`UserAgentInterceptor` stays for code that builds its own chain. An exception
raised by a hook ends the call with that exception (``on_error`` still runs).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kms_mrk._version import __version__
from kms_mrk.errors._base import ConfigurationError

if TYPE_CHECKING:
    from kms_mrk.schema import Command, Response
    from kms_mrk.transport import HttpRequest, HttpResponse

__all__ = [
    "HeadersInterceptor",
    "Interceptor",
    "InterceptorContext",
    "UserAgentInterceptor",
    "user_agent",
]


class InterceptorContext:
    """What one call is doing; hooks may stash their own data in :attr:`attributes`."""

    __slots__ = ("attempt", "attributes", "command", "operation_name", "region")

    def __init__(self, command: Command[Any], region: str) -> None:
        self.command = command
        self.operation_name: str = command.operation_name
        self.region = region
        self.attempt = 0
        self.attributes: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"InterceptorContext(operation={self.operation_name!r}, region={self.region!r}, "
            f"attempt={self.attempt})"
        )


class Interceptor:
    """Base class with every hook as a no-op."""

    def before_serialization(self, context: InterceptorContext) -> None:
        """Called first, with the command as given."""

    def modify_request(self, context: InterceptorContext, request: HttpRequest) -> HttpRequest:
        """Return the request to sign and send (default: unchanged)."""
        return request

    def before_send(self, context: InterceptorContext, request: HttpRequest) -> None:
        """Called before each attempt, with the signed request."""

    def after_receive(self, context: InterceptorContext, response: HttpResponse) -> None:
        """Called after each attempt that got an HTTP response."""

    def after_deserialization(self, context: InterceptorContext, output: Response) -> None:
        """Called with the typed output of a successful call."""

    def on_error(self, context: InterceptorContext, error: Exception) -> None:
        """Called with the exception that is about to end the call."""


def user_agent(extra: str | None = None, *, app_id: str | None = None) -> str:
    """The User-Agent kms-mrk sends.

    ``kms-mrk/<version> python/<x.y.z> os/<os>[ app/<app_id>][ extra]``; ``app_id`` is the
    application id (``sdk_ua_app_id``/``AWS_SDK_UA_APP_ID``), placed as botocore places it.
    """
    text = (
        f"kms-mrk/{__version__} python/{platform.python_version()} os/{platform.system().lower()}"
    )
    if app_id:
        text = f"{text} app/{app_id}"
    return f"{text} {extra}" if extra else text


class UserAgentInterceptor(Interceptor):
    """Sets ``User-Agent`` (and ``x-amz-user-agent``) on every request."""

    def __init__(self, extra: str | None = None, *, app_id: str | None = None) -> None:
        self.value = user_agent(extra, app_id=app_id)

    def modify_request(self, context: InterceptorContext, request: HttpRequest) -> HttpRequest:
        headers = dict(request.headers)
        headers["User-Agent"] = self.value
        headers["X-Amz-User-Agent"] = self.value
        return request.replace(headers=headers)


class HeadersInterceptor(Interceptor):
    """Adds fixed headers to every request (they are signed like the others)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigurationError(
                    f"header {name!r}: names and values must be strings; got {value!r}"
                )
            if not name or any(c in name for c in " :\r\n") or "\n" in value or "\r" in value:
                raise ConfigurationError(
                    f"header {name!r}: a name has no spaces or colons, a value no newlines"
                )
        self.headers = dict(headers)

    def modify_request(self, context: InterceptorContext, request: HttpRequest) -> HttpRequest:
        headers = dict(request.headers)
        headers.update(self.headers)
        return request.replace(headers=headers)
