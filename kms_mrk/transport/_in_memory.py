"""The async view of an in-memory transport (the local KMS, the testing toolkit's mocks).

Such transports answer from memory and never wait on I/O, so their async form calls the sync
``send`` directly on the event loop, with no thread: ``transport.as_async()`` returns an
:class:`InMemoryAsyncView` of them that ``AsyncKMSClient`` accepts.
"""

from __future__ import annotations

from kms_mrk.transport._types import HttpRequest, HttpResponse, Transport

__all__ = ["InMemoryAsyncView"]


class InMemoryAsyncView:
    """An :class:`~kms_mrk.transport.AsyncTransport` over a sync transport that never blocks.

    ``aclose()`` does nothing: the view does not own the transport it shows.
    """

    __slots__ = ("transport",)

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def send(self, request: HttpRequest) -> HttpResponse:
        """Answer ``request`` with the wrapped transport's ``send``."""
        return self.transport.send(request)

    async def aclose(self) -> None:
        """Nothing to release (the wrapped transport is closed by its owner)."""

    def __repr__(self) -> str:
        return f"InMemoryAsyncView({self.transport!r})"
