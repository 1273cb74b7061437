"""KmsMock: stubs in the style of aws-sdk-client-mock, on top of :class:`MockTransport`.

Choosing the stub for a request: among the stubs for the request's command whose input, Region
and rule match and that still have a behaviour, the most specific answers (the one that
constrains the most input members, plus one each for ``strict``, ``region`` and ``where``);
among equally specific stubs, the one defined last. So a catch-all ``on(DescribeKeyCommand)``
and a specific ``on(DescribeKeyCommand, {"KeyId": "k1"})`` work in either order, and a test can
override a fixture's stub by defining the same one again. Calling ``on`` with the criteria of
an existing stub returns that stub, so behaviours can be added to it in several places.

The history records every request the transport received: each attempt of a call is one
:class:`RecordedCall`, numbered by ``attempt``. Clients made by the mock (``client``,
``client_for``, ``new_client`` and clients built while :meth:`KmsMock.patch_clients` is active)
report the attempt exactly, through an interceptor; for other clients it is inferred (a request
identical to the previous one from the same thread, which failed, is its next attempt).

Clients outlive tests when applications cache them (a module global, ``functools.lru_cache``).
So a client made under :meth:`KmsMock.patch_clients` is not bound to its mock: it talks to the
mock whose ``patch_clients()`` is active now (the innermost), else to the mock that made it
while that mock is open, else it raises :class:`KmsMockError` saying where it was made. A
closed mock's transport refuses every request the same way, so no answer meant for one test
ever reaches another.

Exceptions raised by test code running inside the transport (a fake, a ``where=`` rule) reach
the code under test, which may swallow them; they are also kept in :attr:`KmsMock.stub_errors`
and reported by :meth:`KmsMock.verify` (strict fixtures) and
:meth:`KmsMock.assert_no_stub_errors`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, cast, overload

import attrs

from kms_mrk._overrides import innermost
from kms_mrk.errors._base import ServiceException, TransportError
from kms_mrk.interceptors import Interceptor
from kms_mrk.schema import Command, Response, Shape
from kms_mrk.testing._common import TEST_CREDENTIALS, TEST_REGION, isolated_environ
from kms_mrk.testing._diff import input_diff, matches, mismatches, similarity
from kms_mrk.testing._errors import InvalidStubError, KmsMockError, UnmatchedRequestError
from kms_mrk.testing._shapes import (
    ErrorAnswer,
    canon_input,
    canon_shape,
    command_type_for,
    display,
    pretty,
)
from kms_mrk.testing._stubs import AnyCommandStub, Behaviour, CommandT, Stub, _origin
from kms_mrk.testing._transport import MockTransport, WireRequest, describe_request
from kms_mrk.transport._in_memory import InMemoryAsyncView

if TYPE_CHECKING:
    from types import FrameType, TracebackType

    from kms_mrk import AsyncKMSClient, KMSClient
    from kms_mrk._overrides import ClientArgs
    from kms_mrk.auth import Credentials
    from kms_mrk.interceptors import InterceptorContext
    from kms_mrk.retries import RetryConfig, RetryStrategy
    from kms_mrk.transport._types import HttpRequest, HttpResponse

__all__ = ["KmsMock", "RecordedCall", "RejectedRequest"]

_MAX_CLOSEST = 3


class _MockOverride:
    """The client override of :meth:`KmsMock.patch_clients` (see :mod:`kms_mrk._overrides`)."""

    __slots__ = ("mock",)

    def __init__(self, mock: KmsMock) -> None:
        self.mock = mock

    def __repr__(self) -> str:
        return f"patch_clients({self.mock!r})"

    def apply(self, args: ClientArgs) -> None:
        mock = self.mock
        environ = isolated_environ(args.environ)
        named = "AWS_REGION" in environ or "AWS_DEFAULT_REGION" in environ
        if args.region is None and not named:
            args.region = mock.region
        route = _ClientRoute(mock, _code_origin(), is_async=args.is_async)
        args.transport = route.as_async() if args.is_async else route
        if args.credentials is None:
            args.credentials = mock.credentials
        if args.sleep is None:
            args.sleep = route.sleep
        args.environ = environ
        args.interceptors = (*args.interceptors, route.tracker)


def _code_origin() -> str | None:
    """``file:line`` of the code outside kms_mrk that is making a client."""
    import os
    import sys

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(package + os.sep):
            filename = frame.f_code.co_filename
            with contextlib.suppress(ValueError):  # another drive on Windows
                filename = os.path.relpath(filename)
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


@attrs.frozen(slots=True, kw_only=True, repr=False)
class RecordedCall(Generic[CommandT]):
    """One request the mock received (one attempt of a call) and how it was answered.

    ``input`` is the typed command decoded from the wire; ``output`` the typed response sent
    (``None`` on error); ``error`` the service exception answered, the transport error raised
    or the :class:`UnmatchedRequestError`; ``stub`` the stub that answered (``None`` when none
    did). ``request`` is the signed HTTP request as the client sent it.
    """

    operation: str
    command_type: type[CommandT]
    input: CommandT
    region: str
    attempt: int
    output: Response | None = None
    error: BaseException | None = None
    stub: Stub[CommandT] | None = attrs.field(default=None, repr=False)
    request_id: str = attrs.field(repr=False)
    request: HttpRequest = attrs.field(repr=False, eq=False)

    def __repr__(self) -> str:
        outcome = f"output={self.output!r}" if self.error is None else f"error={self.error!r}"
        return (
            f"RecordedCall({self.operation} in {self.region}, attempt {self.attempt}, "
            f"input={self.input!r}, {outcome})"
        )

    @property
    def ok(self) -> bool:
        """Whether the call was answered with a response (not an error)."""
        return self.error is None

    @property
    def http_status(self) -> int | None:
        """The HTTP status answered; ``None`` when the transport failed or nothing matched."""
        if self.output is not None:
            return 200
        status = getattr(self.error, "http_status", None)
        return status if isinstance(status, int) else None


@attrs.frozen(slots=True)
class RejectedRequest:
    """A request answered with an error before any stub saw it (malformed, badly signed)."""

    request: HttpRequest = attrs.field(repr=False)
    code: str
    message: str | None
    status: int


class _AttemptTracker(Interceptor):
    """Tells the mock which attempt of its call the next request is (per thread)."""

    def __init__(self, local: threading.local) -> None:
        self._local = local

    def before_send(self, context: InterceptorContext, request: HttpRequest) -> None:
        self._local.attempt = context.attempt


class _Transport(MockTransport):
    """The mock's transport: answers through the mock's stubs."""

    def __init__(
        self, mock: KmsMock, credentials: Credentials | None, service_validation: bool
    ) -> None:
        super().__init__(credentials=credentials, service_validation=service_validation)
        self._mock = mock

    def __repr__(self) -> str:
        return f"MockTransport(for {self._mock!r})"

    def _respond(self, wire: WireRequest, request_id: str) -> Response | ErrorAnswer:
        return self._mock._respond(wire, request_id)

    def _malformed(self, request: HttpRequest, answer: ErrorAnswer) -> None:
        self._mock._malformed(request, answer)

    def _closed_error(self, request: HttpRequest) -> KmsMockError:
        return KmsMockError(
            f"{self._mock._label} is closed (its test is over), but a client it made sent it "
            f"{describe_request(request)}. The client outlived its test's mock: clients from "
            f"mock.client, client_for() and new_client() belong to that mock. Make the client "
            f"inside the test, or let code that builds its own clients get them through "
            f"patch_clients() (the kms_mock fixture's patch_clients=True)."
        )


class _ClientRoute:
    """The transport, retry sleep and attempt tracker of a client made under patch_clients().

    Each request goes to the mock patching clients now (the innermost), else to the mock that
    made the client while it is open; with neither, the client is stale and its request fails.
    """

    def __init__(self, maker: KmsMock, origin: str | None, *, is_async: bool = False) -> None:
        self._maker = maker
        self._origin = origin
        self.client_name = "n AsyncKMSClient" if is_async else " KMSClient"
        self.tracker = _RoutedTracker(self)

    def __repr__(self) -> str:
        return f"MockTransport(patched client made by {self._maker!r})"

    def target(self) -> KmsMock | None:
        current = innermost()
        if isinstance(current, _MockOverride):
            return current.mock
        return None if self._maker._closed else self._maker

    def as_async(self) -> InMemoryAsyncView:
        """The route for an ``AsyncKMSClient`` (the mocks answer from memory: no thread)."""
        return InMemoryAsyncView(self)

    def send(self, request: HttpRequest) -> HttpResponse:
        mock = self.target()
        if mock is None:
            raise KmsMockError(self._stale_message(request))
        return mock.transport.send(request)

    def close(self) -> None:
        """Nothing to release: the mocks own their transports."""

    def sleep(self, seconds: float) -> None:
        mock = self.target()
        if mock is not None:
            mock._sleep(seconds)

    def _stale_message(self, request: HttpRequest) -> str:
        where = f" at {self._origin}" if self._origin else ""
        return (
            f"A{self.client_name} made{where} under patch_clients() of {self._maker._label} sent "
            f"{describe_request(request)}, but that mock is closed and no mock is patching "
            f"clients now. The client outlived its test's mock, typically because the "
            f"application caches its client (a module global, functools.lru_cache). Create "
            f"clients inside the test, clear the cache between tests (e.g. "
            f"get_client.cache_clear() in a fixture), or use patch_clients in every test that "
            f"reaches the cached client: a patched client always talks to the mock that is "
            f"patching clients now."
        )


class _RoutedTracker(Interceptor):
    """Tells the mock a routed client's request goes to which attempt it is."""

    def __init__(self, route: _ClientRoute) -> None:
        self._route = route

    def before_send(self, context: InterceptorContext, request: HttpRequest) -> None:
        mock = self._route.target()
        if mock is not None:
            mock._local.attempt = context.attempt


@attrs.frozen(slots=True)
class _StubError:
    """An exception test code raised inside the transport, and the stub it belongs to."""

    error: BaseException
    stub: Stub[Any] | None
    call: RecordedCall[Any]


class KmsMock:
    """Stub KMS answers for clients of any Region; every call runs the real client pipeline.

    ::

        mock = KmsMock()
        mock.on(DescribeKeyCommand, {"KeyId": "alias/app"}).resolves({"KeyMetadata": {...}})
        app = MyApp(kms=mock.client)          # or mock.client_for("eu-west-1")

    ``region`` is the Region of :attr:`client`. ``retry`` configures the clients the mock
    makes (as ``KMSClient(retry=...)``); their ``sleep`` only records the delay
    (:attr:`slept`), so retry tests take no time. ``credentials`` are what those clients sign
    with; with ``verify_signatures`` (the default) requests signed with them must carry a valid
    SigV4 signature. ``service_validation`` (the default) checks requests, and the inputs
    given to :meth:`on`, as KMS does: enum members and the model's patterns included. Turn it
    off to test code that sends enum values newer than the model.
    """

    def __init__(
        self,
        region: str = TEST_REGION,
        *,
        retry: str | int | RetryConfig | RetryStrategy | None = None,
        credentials: Credentials = TEST_CREDENTIALS,
        verify_signatures: bool = True,
        service_validation: bool = True,
    ) -> None:
        from kms_mrk.endpoints import validate_region

        self.region = validate_region(region)
        self.credentials = credentials
        self.service_validation = bool(service_validation)
        origin = _origin()
        self._label = f"the KmsMock made at {origin}" if origin else "a KmsMock"
        self._closed = False
        self._stub_errors: list[_StubError] = []
        self._retry = retry
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._stubs: list[Stub[Any]] = []
        self._history: list[RecordedCall[Any]] = []
        self._unmatched: list[UnmatchedRequestError] = []
        self._rejected: list[RejectedRequest] = []
        self._slept: list[float] = []
        self._clients: dict[str, KMSClient] = {}
        self._local = threading.local()
        self._last: dict[int, tuple[str, str, bytes, int, bool]] = {}
        self._tracker = _AttemptTracker(self._local)
        self.transport: MockTransport = _Transport(
            self, credentials if verify_signatures else None, self.service_validation
        )

    def __repr__(self) -> str:
        return f"KmsMock(region={self.region!r}, stubs={len(self._stubs)})"

    # -- clients ---------------------------------------------------------------------------
    @property
    def client(self) -> KMSClient:
        """A client for :attr:`region` wired to this mock (made once)."""
        return self.client_for(self.region)

    def client_for(self, region: str) -> KMSClient:
        """A client for ``region`` wired to this mock (one per Region, sharing retries' sleep)."""
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                if self._clients:
                    first = next(iter(self._clients.values()))
                    client = first.for_region(region)
                else:
                    client = self.new_client(region)
                self._clients[region] = client
            return client

    def new_client(self, region: str | None = None, **options: Any) -> KMSClient:
        """A new client wired to this mock; ``options`` are ``KMSClient`` keyword arguments.

        Useful to try other retry settings or interceptors than :attr:`client` has.
        """
        from kms_mrk import KMSClient

        options.setdefault("credentials", self.credentials)
        options.setdefault("retry", self._retry)
        options.setdefault("sleep", self._sleep)
        options.setdefault("environ", isolated_environ())
        options["interceptors"] = (*options.get("interceptors", ()), self._tracker)
        return KMSClient(region or self.region, transport=self.transport, **options)

    @contextlib.contextmanager
    def patch_clients(self) -> Iterator[KmsMock]:
        """Wire every ``KMSClient`` and ``AsyncKMSClient`` created inside the block to this mock.

        For code that builds its own clients (``KMSClient(region)``), as aws-sdk-client-mock's
        ``mockClient(KMSClient)`` does. A client made with an explicit ``transport`` keeps it.
        Clients get the mock's credentials unless given some, and the Region of the mock when
        neither the code nor ``AWS_REGION`` names one; an ``AsyncKMSClient`` gets the async view
        of the mock's transport.

        No class is patched: the block sets a context variable that the clients read when
        they are created (:mod:`kms_mrk._overrides`), so it holds for this test or task and
        the asyncio tasks it creates, not for a concurrent test or task; blocks nest (the
        innermost wins) and end cleanly on error. A plain ``threading.Thread`` started inside
        does not see it (run the thread's code in ``contextvars.copy_context()``, or make the
        client before starting the thread: a client made inside keeps its wiring anywhere).

        A client made here may outlive the block (an application's cached client): each of
        its calls goes to the mock patching clients at that moment in the calling context
        (the innermost), else to this mock while it is open; with neither, its calls raise
        :class:`KmsMockError`. Clients made before the block (at import time, say) are not
        affected: they were wired when they were made.
        """
        from kms_mrk._overrides import use_override

        with use_override(_MockOverride(self)):
            yield self

    def close(self) -> None:
        """Close the mock: from now on its transport refuses every request.

        History, stubs and assertions stay usable. A client that still calls the mock (one
        kept past the test, or an application's cached client) gets a :class:`KmsMockError`
        saying it outlived the mock: an ``AssertionError``, which ``except KmsMrkError`` in
        the code under test does not catch. The clients are not closed themselves, so that
        this is the error they raise (they hold nothing to release).
        """
        with self._lock:
            self._closed = True
            self._clients = {}
        self.transport.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> KmsMock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- stubbing --------------------------------------------------------------------------
    def on(
        self,
        command: type[CommandT] | CommandT,
        input: Mapping[str, Any] | Shape | Callable[[CommandT], bool] | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
        where: Callable[[CommandT], bool] | None = None,
    ) -> Stub[CommandT]:
        """The stub for ``command`` requests matching ``input``; chain a behaviour to it.

        ``command`` is a command class (or a command instance, standing for both class and
        input). ``input`` is a dict of members (wire or Python names, nested dicts for
        structures), a command instance, or a predicate ``f(command) -> bool``; ``None``
        matches every input. Matching is partial unless ``strict``: only the members given
        must be equal. ``region`` limits the stub to requests signed for that Region;
        ``where`` adds a predicate on the typed command.
        """
        command_type = cast("type[CommandT]", command_type_for(command, what="on()"))
        if isinstance(command, Command):
            if input is not None:
                raise InvalidStubError(
                    "on(): give the input once, as a command instance or as the second argument"
                )
            input = command
        if input is not None and callable(input) and not isinstance(input, (Command, Mapping)):
            if where is not None:
                raise InvalidStubError("on(): give one predicate, as input or as where=")
            where, input = input, None
        if where is not None and not callable(where):
            raise InvalidStubError(f"on(): where must be a function; got {type(where).__name__}")
        if region is not None:
            from kms_mrk.endpoints import region_problem

            problem = region_problem(region)
            if problem is not None:
                raise InvalidStubError(f"on(): region {region!r} is not a Region name: {problem}")
        what = f"on({command_type.__name__}, ...)"
        expected = (
            None
            if input is None
            else canon_input(command_type, input, what=what, service_rules=self.service_validation)
        )
        if expected == {} and not strict:
            expected = None  # an empty partial input matches everything, as no input does
        with self._lock:
            for existing in self._stubs:
                if existing._same_criteria(command_type, expected, strict, region, where):
                    return cast("Stub[CommandT]", existing)
            stub: Stub[CommandT] = Stub(
                command_type=command_type,
                expected=expected,
                strict=bool(strict),
                region=region,
                where=where,
                seq=next(self._seq),
                lock=self._lock,
            )
            self._stubs.append(stub)
            return stub

    def on_any_command(self) -> Stub[Any]:
        """The stub answering every request that no other stub answers (any command).

        Like aws-sdk-client-mock's ``onAnyCommand()``: ``mock.on_any_command().resolves({})``
        answers everything with an empty response, ``.rejects("AccessDeniedException")``
        refuses everything; a stub made with :meth:`on` still answers the requests it matches.
        Calling it again returns the same stub.
        """
        with self._lock:
            for existing in self._stubs:
                if isinstance(existing, AnyCommandStub):
                    return existing
            stub = AnyCommandStub(seq=next(self._seq), lock=self._lock)
            self._stubs.append(stub)
            return stub

    @property
    def stubs(self) -> tuple[Stub[Any], ...]:
        """Every stub, in the order they were defined."""
        with self._lock:
            return tuple(self._stubs)

    def reset(self) -> None:
        """Forget every stub and the whole history."""
        with self._lock:
            self._stubs.clear()
            self._clear_history()

    def reset_history(self) -> None:
        """Forget the calls made so far (stubs keep their behaviours)."""
        with self._lock:
            self._clear_history()
            for stub in self._stubs:
                stub._calls.clear()

    def _clear_history(self) -> None:
        self._history.clear()
        self._stub_errors.clear()
        self._unmatched.clear()
        self._rejected.clear()
        self._slept.clear()
        self._last.clear()

    # -- history ---------------------------------------------------------------------------
    @overload
    def calls(
        self,
        command: None = None,
        input: None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> list[RecordedCall[Any]]: ...

    @overload
    def calls(
        self,
        command: type[CommandT],
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> list[RecordedCall[CommandT]]: ...

    def calls(
        self,
        command: type[Command[Any]] | None = None,
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> list[RecordedCall[Any]]:
        """The requests received (every attempt), oldest first.

        Filtered by command class, by ``input`` (matched as :meth:`on` matches: partial
        unless ``strict``; wire or Python names) and by Region, like aws-sdk-client-mock's
        ``commandCalls(Command, input)``.
        """
        return self._filter_calls(command, input, strict, region)

    def _filter_calls(
        self,
        command: type[Command[Any]] | None,
        input: Mapping[str, Any] | Shape | None,
        strict: bool,
        region: str | None,
    ) -> list[RecordedCall[Any]]:
        command_type = None if command is None else command_type_for(command, what="calls()")
        expected: dict[str, Any] | None = None
        if input is not None:
            if command_type is None:
                raise InvalidStubError(
                    "calls(): an input filter needs the command class, e.g. "
                    "calls(DescribeKeyCommand, {'KeyId': 'k'})"
                )
            expected = canon_input(
                command_type,
                input,
                what=f"calls({command_type.__name__}, ...)",
                service_rules=self.service_validation,
            )
        with self._lock:
            found = [
                call
                for call in self._history
                if (command_type is None or call.command_type is command_type)
                and (region is None or call.region == region)
            ]
        if expected is None:
            return found
        return [
            call for call in found if matches(expected, canon_shape(call.input), partial=not strict)
        ]

    def call_count(
        self,
        command: type[Command[Any]] | None = None,
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> int:
        """How many requests were received (every attempt counts), filtered like calls()."""
        return len(self._filter_calls(command, input, strict, region))

    @overload
    def last_call(self, command: None = None) -> RecordedCall[Any]: ...

    @overload
    def last_call(self, command: type[CommandT]) -> RecordedCall[CommandT]: ...

    def last_call(self, command: type[Command[Any]] | None = None) -> RecordedCall[Any]:
        """The most recent request (of ``command``); fails the test if there was none."""
        found = self.calls(command)
        if not found:
            what = "any command" if command is None else command.__name__
            raise KmsMockError(f"No call of {what} was received")
        return found[-1]

    @property
    def slept(self) -> list[float]:
        """The delays the mock's clients slept between retries, in seconds."""
        with self._lock:
            return list(self._slept)

    @property
    def unmatched(self) -> list[UnmatchedRequestError]:
        """The errors raised for requests no stub answered (even if the code caught them)."""
        with self._lock:
            return list(self._unmatched)

    @property
    def rejected_requests(self) -> list[RejectedRequest]:
        """Requests answered with an error before reaching a stub (malformed, bad signature)."""
        with self._lock:
            return list(self._rejected)

    @property
    def stub_errors(self) -> list[BaseException]:
        """Exceptions test code raised inside the transport, even if the code under test
        caught them: a fake's ``assert`` or bug, a fake's invalid response
        (:class:`InvalidStubError`), a ``where=`` rule that raised. Modeled service errors
        and transport errors a fake raises on purpose are answers, not stub errors.
        """
        with self._lock:
            return [record.error for record in self._stub_errors]

    # -- assertions ------------------------------------------------------------------------
    def assert_called_with(
        self,
        command: type[CommandT],
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> RecordedCall[CommandT]:
        """Fail unless some request of ``command`` matched ``input`` (partial unless strict).

        Returns the most recent matching call. The failure shows a diff against the closest.
        """
        found = self._matching_calls("assert_called_with", command, input, strict, region)
        command_type, expected, calls, hits = found
        if hits:
            return hits[-1]
        raise KmsMockError(
            self._not_called_message(
                "assert_called_with", command_type, expected, calls, strict, region
            )
        )

    def assert_called_once_with(
        self,
        command: type[CommandT],
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> RecordedCall[CommandT]:
        """Fail unless exactly one request of ``command`` was received, and it matched."""
        command_type, expected, calls, hits = self._matching_calls(
            "assert_called_once_with", command, input, strict, region
        )
        if len(calls) != 1:
            where = f" in {region}" if region else ""
            raise KmsMockError(
                f"Expected exactly one {command_type.operation_name} request{where}; received "
                f"{len(calls)}" + _attempts_note(calls)
            )
        if hits:
            return hits[0]
        raise KmsMockError(
            self._not_called_message(
                "assert_called_once_with", command_type, expected, calls, strict, region
            )
        )

    def assert_called_times(
        self,
        command: type[Command[Any]],
        times: int,
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> list[RecordedCall[Any]]:
        """Fail unless exactly ``times`` requests of ``command`` (matching ``input``) came.

        Counts as :meth:`call_count` does: every attempt is a request. Returns those calls.
        The failure lists the requests received and, when the input filter excluded some, a
        diff against the closest.
        """
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise InvalidStubError(
                f"assert_called_times(): times must be an integer >= 0; got {times!r}"
            )
        command_type, expected, calls, hits = self._matching_calls(
            "assert_called_times", command, input, strict, region
        )
        if len(hits) == times:
            return hits
        where = f" in {region}" if region else ""
        matching = "" if expected is None else " matching the input"
        lines = [
            f"Expected {times} {command_type.operation_name} request(s){where}{matching}; "
            f"received {len(hits)}" + _attempts_note(hits) + (":" if hits else ".")
        ]
        lines.extend(f"  - {_summary(c)}" for c in hits[:10])
        if expected is not None and len(calls) > len(hits):
            lines.append("")
            lines.append(
                self._not_called_message(
                    "assert_called_times",
                    command_type,
                    expected,
                    [c for c in calls if c not in hits],
                    strict,
                    region,
                )
            )
        raise KmsMockError("\n".join(lines))

    def assert_nth_called_with(
        self,
        n: int,
        command: type[CommandT],
        input: Mapping[str, Any] | Shape | None = None,
        *,
        strict: bool = False,
        region: str | None = None,
    ) -> RecordedCall[CommandT]:
        """Fail unless the ``n``-th request (1-based, of any command) was ``command`` with an
        input matching ``input`` (partial unless ``strict``) and, if given, in ``region``.

        Like aws-sdk-client-mock's ``toHaveReceivedNthCommandWith``. Every attempt is a
        request, so a retried call takes several places. Returns that call; the failure shows
        the requests received and a diff of the input.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidStubError(
                f"assert_nth_called_with(): n counts from 1 (the first request); got {n!r}"
            )
        command_type = command_type_for(command, what="assert_nth_called_with()")
        expected = (
            None
            if input is None
            else canon_input(
                command_type,
                input,
                what=f"assert_nth_called_with({n}, {command_type.__name__}, ...)",
                service_rules=self.service_validation,
            )
        )
        history = self.calls()
        head = f"assert_nth_called_with: request #{n}"
        if len(history) < n:
            listed = "".join(f"\n  {i}. {_summary(c)}" for i, c in enumerate(history, 1))
            raise KmsMockError(
                f"{head} was expected to be {command_type.operation_name}, but only "
                f"{len(history)} request(s) were received" + (":" + listed if listed else ".")
            )
        call = history[n - 1]
        problems: list[str] = []
        if call.command_type is not command_type:
            problems.append(f"{head} was {_summary(call)}, not {command_type.operation_name}.")
        if region is not None and call.region != region:
            problems.append(f"{head} went to {call.region}, not {region}.")
        if not problems and expected is not None:
            actual = canon_shape(call.input)
            if not matches(expected, actual, partial=not strict):
                diff = input_diff(
                    command_type.__schema__,
                    expected,
                    actual,
                    partial=not strict,
                    labels=("expected (assert_nth_called_with)", f"actual (request #{n})"),
                )
                mode = "strict" if strict else "partial"
                problems.append(
                    f"{head} ({_summary(call)}) has another input ({mode}):\n{_indent(diff)}"
                )
        if problems:
            start = max(0, n - 3)
            nearby = "".join(
                f"\n  {'>' if i == n else ' '} {i}. {_summary(c)}"
                for i, c in enumerate(history[start : n + 2], start + 1)
            )
            raise KmsMockError("\n".join(problems) + f"\nRequests around #{n}:{nearby}")
        return cast("RecordedCall[CommandT]", call)

    def assert_not_called(self, command: type[Command[Any]] | None = None) -> None:
        """Fail if any request (of ``command``) was received."""
        calls = self.calls(command)
        if calls:
            what = "no request" if command is None else f"no {command.operation_name} request"
            listed = "\n".join(f"  - {_summary(c)}" for c in calls[:10])
            raise KmsMockError(f"Expected {what}; received {len(calls)}:\n{listed}")

    def assert_all_stubs_used(self) -> None:
        """Fail if a stub never answered a call, listing those stubs."""
        unused = [s for s in self.stubs if not s._calls]
        if unused:
            listed = "\n".join(f"  - {s.describe()}" for s in unused)
            raise KmsMockError(f"{len(unused)} stub(s) were never used:\n{listed}")

    def assert_no_pending_once(self) -> None:
        """Fail if a stub still has one-shot behaviours (``*_once``) queued."""
        pending = [s for s in self.stubs if s.pending_once]
        if pending:
            listed = "\n".join(
                f"  - {s.describe()}: {s.pending_once} left: "
                + ", ".join(repr(b) for b in s.behaviours[: s.pending_once])
                for s in pending
            )
            raise KmsMockError(f"One-shot behaviours were never used:\n{listed}")

    def assert_no_unmatched_calls(self) -> None:
        """Fail if a request found no stub, even when the code under test caught the error."""
        unmatched = self.unmatched
        if unmatched:
            listed = "\n\n".join(str(e) for e in unmatched[:3])
            more = f"\n\n(and {len(unmatched) - 3} more)" if len(unmatched) > 3 else ""
            raise KmsMockError(f"{len(unmatched)} request(s) matched no stub:\n\n{listed}{more}")

    def assert_no_stub_errors(self) -> None:
        """Fail if a fake or a rule raised inside the transport, even when the code caught it.

        The error raised is chained to the first such exception, so its traceback shows.
        """
        with self._lock:
            records = list(self._stub_errors)
        if records:
            raise KmsMockError(_stub_errors_message(records)) from records[0].error

    def verify(self) -> None:
        """Every check at once: no error raised by a fake or rule, no unmatched or malformed
        request, every stub used, no one-shot behaviour left. What
        ``@pytest.mark.kms_mock(strict=True)`` runs at teardown.
        """
        problems: list[str] = []
        for check in (
            self.assert_no_stub_errors,
            self.assert_no_unmatched_calls,
            self.assert_all_stubs_used,
            self.assert_no_pending_once,
        ):
            try:
                check()
            except KmsMockError as exc:
                problems.append(str(exc))
        rejected = self.rejected_requests
        if rejected:
            listed = "\n".join(f"  - {r.code} (HTTP {r.status}): {r.message}" for r in rejected)
            problems.append(f"{len(rejected)} malformed request(s) were rejected:\n{listed}")
        if problems:
            raise KmsMockError("KmsMock verification failed:\n\n" + "\n\n".join(problems))

    # -- the transport side ----------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        with self._lock:
            self._slept.append(seconds)

    def _malformed(self, request: HttpRequest, answer: ErrorAnswer) -> None:
        with self._lock:
            self._rejected.append(
                RejectedRequest(request, answer.code, answer.message, answer.status)
            )

    def _attempt(self, wire: WireRequest) -> int:
        tracked: int | None = self._local.__dict__.pop("attempt", None)
        if tracked is not None:
            return tracked
        last = self._last.get(threading.get_ident())
        body = wire.request.body
        if last is not None and last[:3] == (wire.operation, wire.region, body) and last[4]:
            return last[3] + 1
        return 1

    def _respond(self, wire: WireRequest, request_id: str) -> Response | ErrorAnswer:
        actual = canon_shape(wire.input)
        attempt = self._attempt(wire)
        with self._lock:
            stub, behaviour, unmatched = self._select(wire, actual, attempt)
        record = functools.partial(
            RecordedCall,
            operation=wire.operation,
            command_type=wire.command_type,
            input=wire.input,
            region=wire.region,
            attempt=attempt,
            stub=stub,
            request_id=request_id,
            request=wire.request,
        )
        if isinstance(unmatched, UnmatchedRequestError):
            self._finish(wire, record(error=unmatched), None)
            with self._lock:
                self._unmatched.append(unmatched)
            raise unmatched
        if unmatched is not None:  # a where= rule raised: ``stub`` is the rule's stub
            call = record(error=unmatched, stub=None)
            self._finish(wire, call, None)
            with self._lock:
                self._stub_errors.append(_StubError(unmatched, stub, call))
            raise unmatched
        assert behaviour is not None
        try:
            outcome = behaviour.run(wire)
        except BaseException as exc:
            call = record(error=exc)
            self._finish(wire, call, stub)
            if isinstance(exc, Exception) and not isinstance(
                exc, (ServiceException, TransportError)
            ):
                with self._lock:
                    self._stub_errors.append(_StubError(exc, stub, call))
            raise
        if isinstance(outcome, ErrorAnswer):
            self._finish(wire, record(error=outcome.exception(request_id)), stub)
        else:
            self._finish(wire, record(output=outcome), stub)
        return outcome

    def _finish(self, wire: WireRequest, call: RecordedCall[Any], stub: Stub[Any] | None) -> None:
        failed = call.error is not None
        with self._lock:
            self._history.append(call)
            if stub is not None:
                stub._record(call)
            self._last[threading.get_ident()] = (
                wire.operation,
                wire.region,
                wire.request.body,
                call.attempt,
                failed,
            )

    def _select(
        self, wire: WireRequest, actual: dict[str, Any], attempt: int
    ) -> tuple[Stub[Any] | None, Behaviour | None, KmsMockError | None]:
        """The stub and behaviour answering; else the error to raise (no stub answers, or a
        rule raised, in which case the stub returned is the rule's)."""
        candidates = [s for s in self._stubs if s.command_type is wire.command_type]
        matching: list[Stub[Any]] = []
        rule_failed: set[int] = set()
        for stub in candidates:
            if stub.region is not None and stub.region != wire.region:
                continue
            if not stub._matches_input(actual):
                continue
            if stub.where is not None:
                try:
                    ruled = stub.where(wire.input)
                except Exception as exc:
                    return stub, None, _rule_error(stub, wire, attempt, exc)
                if not ruled:
                    rule_failed.add(stub.seq)
                    continue
            matching.append(stub)
        usable = [s for s in matching if s._has_behaviour()]
        if usable:
            chosen = max(usable, key=lambda s: (s.specificity, s.seq))
            return chosen, chosen._take(), None
        fallback = next((s for s in self._stubs if isinstance(s, AnyCommandStub)), None)
        if fallback is not None and fallback._has_behaviour():
            return fallback, fallback._take(), None
        message = self._unmatched_message(wire, actual, attempt, candidates, matching, rule_failed)
        return (
            None,
            None,
            UnmatchedRequestError(
                message, operation=wire.operation, region=wire.region, input=wire.input
            ),
        )

    # -- messages --------------------------------------------------------------------------
    def _unmatched_message(
        self,
        wire: WireRequest,
        actual: dict[str, Any],
        attempt: int,
        candidates: list[Stub[Any]],
        matching: list[Stub[Any]],
        rule_failed: set[int],
    ) -> str:
        schema = wire.command_type.__schema__
        name = wire.command_type.__name__
        lines = [
            f"No stub answers this {wire.operation} request in {wire.region} (attempt {attempt}).",
            "",
            "Request input (wire names):",
            _indent(pretty(display(schema, actual))),
        ]
        if matching:
            lines.append("")
            for stub in matching:
                lines.append(
                    f"{stub.describe()} matches, but has no behaviour left: its "
                    f"{stub.call_count} one-shot answer(s) are used up. Add a persistent one "
                    f"(.resolves(...), .rejects(...)) or another *_once."
                )
            return "\n".join(lines)
        if not candidates:
            others = sorted(
                {s.command_type.__name__ for s in self._stubs if not isinstance(s, AnyCommandStub)}
            )
            lines.append("")
            if others:
                lines.append(f"There is no stub for {name}; stubs exist for {', '.join(others)}.")
            else:
                lines.append("No stub is defined.")
            lines.append(f"Add one: mock.on({name}, {{...}}).resolves({{...}})")
            return "\n".join(lines)
        ranked = sorted(
            candidates,
            key=lambda s: (
                _distance(s, wire, actual, rule_failed),
                -similarity(schema, s.expected or {}, actual, partial=not s.strict),
                -s.seq,
            ),
        )
        for index, stub in enumerate(ranked[:_MAX_CLOSEST]):
            lines.append("")
            lines.append(("Closest stub: " if index == 0 else "Next closest: ") + stub.describe())
            if stub.region is not None and stub.region != wire.region:
                lines.append(
                    f"  It answers requests in {stub.region} only; this one went to {wire.region}."
                )
            if stub.seq in rule_failed:
                lines.append("  Its input matches, but its rule (where=...) returned False.")
            if stub._input_mismatches(actual):
                mode = (
                    "strict"
                    if stub.strict
                    else "partial: members the stub does not name are ignored"
                )
                lines.append(f"  Input differs ({mode}):")
                expected = stub.expected if stub.expected is not None else {}
                lines.append(
                    _indent(input_diff(schema, expected, actual, partial=not stub.strict), 4)
                )
        if len(ranked) > _MAX_CLOSEST:
            lines.append("")
            lines.append(f"({len(ranked) - _MAX_CLOSEST} more {name} stub(s); see mock.stubs)")
        return "\n".join(lines)

    def _matching_calls(
        self,
        method: str,
        command: type[Command[Any]],
        input: Mapping[str, Any] | Shape | None,
        strict: bool,
        region: str | None,
    ) -> tuple[
        type[Command[Any]], dict[str, Any] | None, list[RecordedCall[Any]], list[RecordedCall[Any]]
    ]:
        command_type = command_type_for(command, what=f"{method}()")
        expected = (
            None
            if input is None
            else canon_input(
                command_type,
                input,
                what=f"{method}({command_type.__name__}, ...)",
                service_rules=self.service_validation,
            )
        )
        calls = self.calls(command_type, region=region)
        if expected is None:
            hits = list(calls)
        else:
            hits = [c for c in calls if matches(expected, canon_shape(c.input), partial=not strict)]
        return command_type, expected, calls, hits

    def _not_called_message(
        self,
        method: str,
        command_type: type[Command[Any]],
        expected: dict[str, Any] | None,
        calls: list[RecordedCall[Any]],
        strict: bool,
        region: str | None,
    ) -> str:
        schema = command_type.__schema__
        where = f" in {region}" if region else ""
        shown = "(any input)" if expected is None else pretty(display(schema, expected))
        lines = [
            f"{method}: no {command_type.operation_name} request{where} matched"
            f" ({'strict' if strict else 'partial'}):",
            _indent(shown),
        ]
        if not calls:
            others = sorted({c.operation for c in self.calls()})
            lines.append(
                f"No {command_type.operation_name} request{where} was received"
                + (f" (received: {', '.join(others)})." if others else " (no request at all).")
            )
            return "\n".join(lines)
        assert expected is not None

        def distance(call: RecordedCall[Any]) -> tuple[int, float]:
            actual = canon_shape(call.input)
            return (
                mismatches(expected, actual, partial=not strict),
                -similarity(schema, expected, actual, partial=not strict),
            )

        closest = min(reversed(calls), key=distance)
        lines.append(
            f"{len(calls)} {command_type.operation_name} request(s) received; the closest "
            f"(attempt {closest.attempt} in {closest.region}):"
        )
        diff = input_diff(
            schema,
            expected,
            canon_shape(closest.input),
            partial=not strict,
            labels=(f"expected ({method})", "actual (closest request)"),
        )
        lines.append(_indent(diff))
        return "\n".join(lines)

    # -- async clients ---------------------------------------------------------------------
    def async_client(self, region: str | None = None, **options: Any) -> AsyncKMSClient:
        """A new ``AsyncKMSClient`` wired to this mock (the same stubs, history and sleeps)."""
        from kms_mrk import AsyncKMSClient

        options.setdefault("credentials", self.credentials)
        options.setdefault("retry", self._retry)
        options.setdefault("sleep", self._sleep)
        options.setdefault("environ", isolated_environ())
        options["interceptors"] = (*options.get("interceptors", ()), self._tracker)
        return AsyncKMSClient(region or self.region, transport=self.transport, **options)


def _rule_error(stub: Stub[Any], wire: WireRequest, attempt: int, exc: Exception) -> KmsMockError:
    error = KmsMockError(
        f"The rule (where=...) of {stub.describe()} raised {type(exc).__name__}: {exc}\n"
        f"while matching a {wire.operation} request in {wire.region} (attempt {attempt}). "
        f"A rule must return True or False for every request of its command; check for "
        f"members that are not set (None) first."
    )
    error.__cause__ = exc
    return error


def _stub_errors_message(records: list[_StubError]) -> str:
    lines = [f"{len(records)} error(s) were raised by stub code (fakes, rules):"]
    for record in records[:5]:
        call = record.call
        owner = record.stub.describe() if record.stub is not None else "no stub"
        lines.append(
            f"  - {owner}, answering {call.operation} in {call.region} (attempt {call.attempt}):"
        )
        lines.append(_indent(f"{type(record.error).__name__}: {record.error}", 6))
    if len(records) > 5:
        lines.append(f"  (and {len(records) - 5} more; see mock.stub_errors)")
    return "\n".join(lines)


def _distance(
    stub: Stub[Any], wire: WireRequest, actual: dict[str, Any], rule_failed: set[int]
) -> int:
    distance = stub._input_mismatches(actual)
    if stub.region is not None and stub.region != wire.region:
        distance += 1
    if stub.seq in rule_failed:
        distance += 1
    return distance


def _indent(text: str, width: int = 2) -> str:
    pad = " " * width
    return "\n".join(pad + line for line in text.splitlines())


def _summary(call: RecordedCall[Any]) -> str:
    outcome = type(call.output).__name__ if call.output is not None else type(call.error).__name__
    return f"{call.operation} in {call.region} (attempt {call.attempt}) -> {outcome}"


def _attempts_note(calls: list[RecordedCall[Any]]) -> str:
    retried = [c for c in calls if c.attempt > 1]
    if retried:
        return f" ({len(retried)} of them retries: every attempt is a request)"
    return ""
