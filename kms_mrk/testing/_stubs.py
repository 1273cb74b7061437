"""Stubs: which requests they match, and how they answer.

A :class:`Stub` is made by ``KmsMock.on(...)``. Its answers are *behaviours*: a persistent one
(``resolves``, ``rejects``, ``calls_fake``, ``times_out``...) used for every call, and a queue
of one-shot ones (the ``*_once`` variants) consumed in order first. Every response and error
is checked against the model when the stub is defined, not when it is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kms_mrk.errors._base import (
    ConnectError,
    ConnectionClosedError,
    ReadTimeoutError,
    ServiceException,
    TransportError,
)
from kms_mrk.schema import Command, Response
from kms_mrk.testing._diff import matches, mismatches
from kms_mrk.testing._errors import InvalidStubError
from kms_mrk.testing._shapes import (
    ErrorAnswer,
    coerce_response,
    display,
    error_answer,
    is_transport_error,
    leaf_count,
)

if TYPE_CHECKING:
    import threading
    from types import FrameType

    from typing_extensions import Self

    from kms_mrk.testing._mock import RecordedCall
    from kms_mrk.testing._transport import WireRequest

__all__ = ["AnyCommandStub", "Behaviour", "CommandT", "Stub"]

CommandT = TypeVar("CommandT", bound="Command[Any]")

#: A fake: ``(typed command, Region) -> response`` (or raise a service/transport error).
Fake = Callable[[Any, str], "Response | Mapping[str, Any] | None"]
Predicate = Callable[[Any], bool]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _origin() -> str | None:
    """``file:line`` of the test code that called into the toolkit."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        frame = frame.f_back
    if frame is None:
        return None
    filename = frame.f_code.co_filename
    with contextlib.suppress(ValueError):  # another drive on Windows
        filename = os.path.relpath(filename)
    return f"{filename}:{frame.f_lineno}"


class Behaviour:
    """One way of answering: run it on a request to get the output or the error answer."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description

    def run(self, wire: WireRequest) -> Response | ErrorAnswer:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.description


class _Resolve(Behaviour):
    __slots__ = ("output",)

    def __init__(self, output: Response) -> None:
        super().__init__(f"resolves({type(output).__name__})")
        self.output = output

    def run(self, wire: WireRequest) -> Response:
        return self.output


class _Reject(Behaviour):
    __slots__ = ("answer",)

    def __init__(self, answer: ErrorAnswer) -> None:
        super().__init__(f"rejects({answer.code}, HTTP {answer.status})")
        self.answer = answer

    def run(self, wire: WireRequest) -> ErrorAnswer:
        return self.answer


class _Fail(Behaviour):
    __slots__ = ("error",)

    def __init__(self, description: str, error: Callable[[str], TransportError]) -> None:
        super().__init__(description)
        self.error = error

    def run(self, wire: WireRequest) -> Response:
        from urllib.parse import urlsplit

        raise self.error(urlsplit(wire.request.url).hostname or "kms")


class _Fake(Behaviour):
    __slots__ = ("allow_unknown_enums", "allow_unmodeled", "fake", "name")

    def __init__(self, fake: Fake, allow_unmodeled: bool, allow_unknown_enums: bool) -> None:
        self.name = getattr(fake, "__name__", type(fake).__name__)
        super().__init__(f"calls_fake({self.name})")
        self.fake = fake
        self.allow_unmodeled = allow_unmodeled
        self.allow_unknown_enums = allow_unknown_enums

    def run(self, wire: WireRequest) -> Response | ErrorAnswer:
        what = f"the fake {self.name} for {wire.operation}"
        try:
            value = self.fake(wire.input, wire.region)
        except ServiceException as exc:
            return error_answer(
                wire.command_type, exc, what=what, allow_unmodeled=self.allow_unmodeled
            )
        return coerce_response(
            wire.command_type, value, what=what, allow_unknown_enums=self.allow_unknown_enums
        )


def _transport_failure(error: type[TransportError] | TransportError) -> _Fail:
    if isinstance(error, TransportError):
        instance = error
        return _Fail(f"raises({type(error).__name__})", lambda host: instance)
    cls = error
    return _Fail(f"raises({cls.__name__})", lambda host: cls(host, "injected by kms_mrk.testing"))


class Stub(Generic[CommandT]):
    """Answers the requests that match it. Made by :meth:`KmsMock.on`; methods chain.

    ``resolves``/``rejects``/``calls_fake``/``times_out``/``resets_connection``/
    ``fails_to_connect`` set the persistent behaviour (the last one set wins); their
    ``*_once`` variants queue one-shot behaviours used first, in order.
    """

    def __init__(
        self,
        *,
        command_type: type[CommandT],
        expected: dict[str, Any] | None,
        strict: bool,
        region: str | None,
        where: Predicate | None,
        seq: int,
        lock: threading.RLock,
    ) -> None:
        self.command_type = command_type
        self.expected = expected
        self.strict = strict
        self.region = region
        self.where = where
        self.seq = seq
        self.origin = _origin()
        self._lock = lock
        self._once: deque[Behaviour] = deque()
        self._default: Behaviour | None = None
        self._calls: list[RecordedCall[CommandT]] = []
        self.specificity = (
            (leaf_count(expected) if expected else 0)
            + (1 if strict else 0)
            + (1 if region is not None else 0)
            + (1 if where is not None else 0)
        )

    # -- matching --------------------------------------------------------------------------
    def _same_criteria(
        self,
        command_type: type[Command[Any]],
        expected: dict[str, Any] | None,
        strict: bool,
        region: str | None,
        where: Predicate | None,
    ) -> bool:
        return (
            self.command_type is command_type
            and self.strict == strict
            and self.region == region
            and self.where is where
            and _same(self.expected, expected)
        )

    def _input_mismatches(self, actual: dict[str, Any]) -> int:
        """How many members the request gets wrong for this stub (0: the input matches)."""
        if self.expected is None:
            return 0 if not self.strict else len(actual)
        return mismatches(self.expected, actual, partial=not self.strict)

    def _matches_input(self, actual: dict[str, Any]) -> bool:
        if self.expected is None:
            return not self.strict or not actual
        return matches(self.expected, actual, partial=not self.strict)

    def _has_behaviour(self) -> bool:
        return bool(self._once) or self._default is not None

    def _take(self) -> Behaviour | None:
        """The behaviour for the next call (caller holds the mock's lock)."""
        if self._once:
            return self._once.popleft()
        return self._default

    # -- behaviours ------------------------------------------------------------------------
    def resolves(
        self,
        response: Response | Mapping[str, Any] | None = None,
        *,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer with ``response``: the typed output, a dict of its members, or empty.

        Enum members must hold values of the model unless ``allow_unknown_enums`` (to test
        how the code copes with a value KMS may add later).
        """
        output = self._response(response, "resolves", allow_unknown_enums)
        return self._set(_Resolve(output), once=False)

    def resolves_once(
        self,
        response: Response | Mapping[str, Any] | None = None,
        *,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer the next matching call with ``response`` (see :meth:`resolves`)."""
        output = self._response(response, "resolves_once", allow_unknown_enums)
        return self._set(_Resolve(output), once=True)

    def rejects(
        self,
        error: type[Exception] | Exception | str,
        message: str | None = None,
        *,
        status: int | None = None,
        allow_unmodeled: bool = False,
    ) -> Self:
        """Answer with an error response: a modeled exception class or instance, or a code.

        ``status`` overrides the HTTP status (400 for client faults, 500 for server faults by
        default; 429 for throttling if you like). A transport error class or instance makes the
        transport raise it instead. Modeled errors the operation's model does not list are
        refused unless ``allow_unmodeled``.
        """
        return self._set(self._error(error, message, status, allow_unmodeled, "rejects"), False)

    def rejects_once(
        self,
        error: type[Exception] | Exception | str,
        message: str | None = None,
        *,
        status: int | None = None,
        allow_unmodeled: bool = False,
    ) -> Self:
        """Answer the next matching call with an error (see :meth:`rejects`)."""
        behaviour = self._error(error, message, status, allow_unmodeled, "rejects_once")
        return self._set(behaviour, once=True)

    def calls_fake(
        self,
        fake: Callable[[CommandT, str], Response | Mapping[str, Any] | None],
        *,
        allow_unmodeled: bool = False,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer with ``fake(command, region)``: its return value (checked) or its exception.

        A modeled exception it raises is answered as an error response and a transport error
        is raised by the transport; anything else (an ``assert``, a bug, an invalid response)
        reaches the code under test and is also kept in ``KmsMock.stub_errors``.
        """
        behaviour = self._fake(fake, allow_unmodeled, allow_unknown_enums, "calls_fake")
        return self._set(behaviour, once=False)

    def calls_fake_once(
        self,
        fake: Callable[[CommandT, str], Response | Mapping[str, Any] | None],
        *,
        allow_unmodeled: bool = False,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer the next matching call with ``fake(command, region)``."""
        behaviour = self._fake(fake, allow_unmodeled, allow_unknown_enums, "calls_fake_once")
        return self._set(behaviour, once=True)

    def times_out(self) -> Self:
        """Make the transport raise ReadTimeoutError (the request may have been processed)."""
        return self._set(_transport_failure(ReadTimeoutError), once=False)

    def times_out_once(self) -> Self:
        """Time out on the next matching call only."""
        return self._set(_transport_failure(ReadTimeoutError), once=True)

    def resets_connection(self) -> Self:
        """Make the transport raise ConnectionClosedError (reset after the request was sent)."""
        return self._set(_transport_failure(ConnectionClosedError), once=False)

    def resets_connection_once(self) -> Self:
        """Reset the connection on the next matching call only."""
        return self._set(_transport_failure(ConnectionClosedError), once=True)

    def fails_to_connect(self) -> Self:
        """Make the transport raise ConnectError (the request never left: always retryable)."""
        return self._set(_transport_failure(ConnectError), once=False)

    def fails_to_connect_once(self) -> Self:
        """Fail to connect on the next matching call only."""
        return self._set(_transport_failure(ConnectError), once=True)

    # -- introspection ---------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall[CommandT]]:
        """The calls this stub answered, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def call_count(self) -> int:
        """How many calls this stub answered."""
        return len(self._calls)

    @property
    def pending_once(self) -> int:
        """How many one-shot behaviours are still queued."""
        return len(self._once)

    @property
    def behaviours(self) -> tuple[Behaviour, ...]:
        """The queued one-shot behaviours, then the persistent one (if any)."""
        with self._lock:
            rest = () if self._default is None else (self._default,)
            return (*self._once, *rest)

    def describe(self) -> str:
        """The stub as it was written, with where it was defined."""
        text = repr(self)
        return f"{text} (defined at {self.origin})" if self.origin else text

    def __repr__(self) -> str:
        parts = [self.command_type.__name__]
        if self.expected is not None:
            shown = display(self.command_type.__schema__, self.expected)
            parts.append(json.dumps(shown, ensure_ascii=False, default=repr))
        if self.strict:
            parts.append("strict=True")
        if self.region is not None:
            parts.append(f"region={self.region!r}")
        if self.where is not None:
            parts.append(f"where={getattr(self.where, '__name__', 'rule')}")
        return f"on({', '.join(parts)})"

    # -- internals -------------------------------------------------------------------------
    def _set(self, behaviour: Behaviour, once: bool) -> Self:
        with self._lock:
            if once:
                self._once.append(behaviour)
            else:
                self._default = behaviour
        return self

    def _what(self, method: str) -> str:
        return f"{self!r}.{method}(...)"

    def _response(self, response: Any, method: str, allow_unknown_enums: bool) -> Response:
        return coerce_response(
            self.command_type,
            response,
            what=self._what(method),
            allow_unknown_enums=allow_unknown_enums,
        )

    def _error(
        self, error: Any, message: str | None, status: int | None, allow: bool, method: str
    ) -> Behaviour:
        if is_transport_error(error):
            if message is not None or status is not None:
                raise InvalidStubError(
                    f"{self._what(method)}: a transport error has no message or status; "
                    f"build the instance yourself, e.g. ReadTimeoutError(host, detail)"
                )
            return _transport_failure(error)
        answer = error_answer(
            self.command_type,
            error,
            message,
            status=status,
            what=self._what(method),
            allow_unmodeled=allow,
        )
        return _Reject(answer)

    def _fake(self, fake: Any, allow: bool, allow_unknown_enums: bool, method: str) -> Behaviour:
        if not callable(fake):
            raise InvalidStubError(
                f"{self._what(method)}: expected a function (command, region) -> response; "
                f"got {type(fake).__name__}"
            )
        return _Fake(fake, allow, allow_unknown_enums)

    def _record(self, call: RecordedCall[CommandT]) -> None:
        self._calls.append(call)


class _ResolveAny(Behaviour):
    """``resolves`` of :meth:`KmsMock.on_any_command`: checked against each request's output."""

    __slots__ = ("allow_unknown_enums", "value")

    def __init__(self, value: Mapping[str, Any], allow_unknown_enums: bool) -> None:
        super().__init__(f"resolves({dict(value)!r})")
        self.value = value
        self.allow_unknown_enums = allow_unknown_enums

    def run(self, wire: WireRequest) -> Response:
        return coerce_response(
            wire.command_type,
            self.value,
            what=f"on_any_command().resolves(...) answering {wire.operation}",
            allow_unknown_enums=self.allow_unknown_enums,
        )


class _RejectAny(Behaviour):
    """``rejects`` of :meth:`KmsMock.on_any_command`: the same error for every operation."""

    __slots__ = ("allow_unmodeled", "error", "message", "status")

    def __init__(
        self, error: object, message: str | None, status: int | None, allow_unmodeled: bool
    ) -> None:
        from kms_mrk.commands import DescribeKeyCommand

        # Checked once now (a misspelt code fails at once), then per operation when used.
        answer = error_answer(
            DescribeKeyCommand,
            error,
            message,
            status=status,
            what="on_any_command().rejects(...)",
            allow_unmodeled=True,
        )
        super().__init__(f"rejects({answer.code}, HTTP {answer.status})")
        self.error = error
        self.message = message
        self.status = status
        self.allow_unmodeled = allow_unmodeled

    def run(self, wire: WireRequest) -> ErrorAnswer:
        return error_answer(
            wire.command_type,
            self.error,
            self.message,
            status=self.status,
            what=f"on_any_command().rejects(...) answering {wire.operation}",
            allow_unmodeled=self.allow_unmodeled,
        )


class AnyCommandStub(Stub[Any]):
    """The stub of :meth:`KmsMock.on_any_command`: answers any request no other stub answers.

    Its behaviours are those of :class:`Stub`. A response given to :meth:`resolves` is a dict
    checked against the output of each operation it answers (``{}`` suits every operation);
    an error given to :meth:`rejects` may be any KMS error (``allow_unmodeled`` defaults to
    True here, since one error answers operations whose models list different errors).
    """

    def __init__(self, *, seq: int, lock: threading.RLock) -> None:
        super().__init__(
            command_type=Command,
            expected=None,
            strict=False,
            region=None,
            where=None,
            seq=seq,
            lock=lock,
        )

    def __repr__(self) -> str:
        return "on_any_command()"

    def resolves(
        self,
        response: Response | Mapping[str, Any] | None = None,
        *,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer every request it gets with ``response`` (a dict of output members)."""
        return self._set(self._any_response(response, "resolves", allow_unknown_enums), False)

    def resolves_once(
        self,
        response: Response | Mapping[str, Any] | None = None,
        *,
        allow_unknown_enums: bool = False,
    ) -> Self:
        """Answer the next request it gets with ``response``."""
        behaviour = self._any_response(response, "resolves_once", allow_unknown_enums)
        return self._set(behaviour, True)

    def rejects(
        self,
        error: type[Exception] | Exception | str,
        message: str | None = None,
        *,
        status: int | None = None,
        allow_unmodeled: bool = True,
    ) -> Self:
        """Answer every request it gets with this error (see :meth:`Stub.rejects`)."""
        return self._set(self._any_error(error, message, status, allow_unmodeled), False)

    def rejects_once(
        self,
        error: type[Exception] | Exception | str,
        message: str | None = None,
        *,
        status: int | None = None,
        allow_unmodeled: bool = True,
    ) -> Self:
        """Answer the next request it gets with this error."""
        return self._set(self._any_error(error, message, status, allow_unmodeled), True)

    def _any_response(
        self, response: Response | Mapping[str, Any] | None, method: str, allow: bool
    ) -> Behaviour:
        if response is None:
            response = {}
        if not isinstance(response, Mapping):
            raise InvalidStubError(
                f"on_any_command().{method}(...): give a dict of output members (it answers "
                f"every operation, so one operation's typed output does not fit); got "
                f"{type(response).__name__}"
            )
        return _ResolveAny(response, allow)

    def _any_error(
        self, error: object, message: str | None, status: int | None, allow: bool
    ) -> Behaviour:
        if is_transport_error(error):
            return self._error(error, message, status, allow, "rejects")
        return _RejectAny(error, message, status, allow)


def _same(left: Any, right: Any) -> bool:
    """Equality that tells ``ANY`` apart from the values it compares equal to."""
    from unittest.mock import ANY

    if left is ANY or right is ANY:
        return left is right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return False
        return all(_same(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and bool(left == right)
