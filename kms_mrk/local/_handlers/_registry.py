"""The table of operations the local KMS serves, filled by the ``@handler`` decorator.

A handler module decorates each handler with the command class of its operation::

    @handler(CreateKeyCommand, mutating=True)
    def create_key(ctx: Ctx, request: CreateKeyRequest) -> CreateKeyResponse: ...

The operation name and request type come from the generated command class, so the table
cannot drift from the model. Registering one operation twice is a programming error. The
grant tokens of requests that carry them (``GrantTokens``) are checked here, before the
handler runs, so every such operation refuses a malformed token the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from kms_mrk.local._handlers._context import Ctx
    from kms_mrk.schema import Response, Shape

__all__ = ["HANDLERS", "Handler", "handler"]

_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R")


class Handler:
    """An operation the local KMS implements."""

    __slots__ = ("function", "mutating", "name", "request_type", "wire")

    def __init__(
        self,
        name: str,
        request_type: type[Shape],
        function: Callable[[Ctx, Any], Response],
        *,
        mutating: bool = False,
        wire: Callable[[Ctx, Any], bytes] | None = None,
    ) -> None:
        self.name = name
        self.request_type = request_type
        self.function = function
        #: changes the state (the LocalKMS persists it before answering)
        self.mutating = mutating
        #: writes the response body itself (what ``function`` answers, as AWS JSON 1.1)
        self.wire = wire


#: operation name -> handler, filled as the topic modules are imported
HANDLERS: Final[dict[str, Handler]] = {}


def handler(
    command: Any,
    *,
    mutating: bool = False,
    wire: Callable[[Ctx, Any], bytes] | None = None,
) -> Callable[[_F], _F]:
    """Register the decorated function as the handler of ``command``'s operation.

    ``command`` is a generated ``<Op>Command`` class (its ``operation_name`` and
    ``input_type`` name the operation and its request shape).
    """
    name: str = command.operation_name
    request_type: type[Shape] = command.input_type

    def register(function: _F) -> _F:
        if name in HANDLERS:
            raise RuntimeError(f"two handlers for {name}")
        run: Callable[[Ctx, Any], Any] = function
        body = wire
        if hasattr(request_type, "grant_tokens"):
            run = _checking_tokens(function)
            body = None if wire is None else _checking_tokens(wire)
        HANDLERS[name] = Handler(name, request_type, run, mutating=mutating, wire=body)
        return function

    return register


def _checking_tokens(function: Callable[[Ctx, Any], _R]) -> Callable[[Ctx, Any], _R]:
    """``function``, after checking the request's grant tokens (InvalidGrantTokenException)."""
    from kms_mrk.local._handlers._common import check_grant_tokens

    def run(ctx: Ctx, request: Any) -> _R:
        tokens = request.grant_tokens
        if tokens:
            check_grant_tokens(tokens)
        return function(ctx, request)

    run.__name__ = function.__name__
    run.__doc__ = function.__doc__
    return run
