"""moto interop: clients made while ``moto.mock_aws()`` is active reach moto's in-process KMS.

moto patches botocore: every botocore client gets a ``before-send`` handler (moto's
``BotocoreStubber``) that, while a mock is active, hands the prepared request to moto's
backends instead of the network. kms-mrk does not send through botocore, so
:class:`MotoTransport` calls that same handler with our signed request: moto sees exactly
what boto3 would have sent (the same wire protocol, signed by our SigV4 signer) and keeps
one state for both, so keys created with boto3 are read with kms-mrk and the other way
round.

moto is never a dependency and never imported here: :func:`moto_active` only looks at
``sys.modules`` (moto is loaded by whoever started the mock), so the check costs a dict
lookup when moto is not in use. ``KMSClient`` and ``AsyncKMSClient`` made without a transport
ask :func:`kms_mrk._overrides.current_override`, which (with no testing override set and moto
imported) asks :func:`active_override` here: inside ``mock_aws()`` they get a
:class:`MotoTransport` (the async client its :meth:`~MotoTransport.as_async` view, which calls
moto's in-memory backend directly on the event loop), with no action from the user. The pytest
fixture ``kms_moto`` and :func:`moto_client` make clients explicitly.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kms_mrk._service import CONTENT_TYPE
from kms_mrk.errors import ConnectError
from kms_mrk.transport import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kms_mrk import KMSClient
    from kms_mrk._overrides import ClientArgs
    from kms_mrk.transport._in_memory import InMemoryAsyncView

__all__ = ["MotoTransport", "active_override", "active_transport", "moto_active", "moto_client"]


def _stubber() -> Any:
    """moto's BotocoreStubber, if moto's core has been imported (never imports it)."""
    models = sys.modules.get("moto.core.models")
    return getattr(models, "botocore_stubber", None) if models is not None else None


def moto_active() -> bool:
    """Whether a ``moto.mock_aws()`` mock is active in this process (without importing moto)."""
    if "moto" not in sys.modules:
        return False
    stubber = _stubber()
    return bool(getattr(stubber, "enabled", False))


class MotoTransport:
    """A transport that answers from moto's in-process backends (``moto.mock_aws()``).

    Each request goes to moto's ``BotocoreStubber.process_request``, the path every boto3
    call takes under ``mock_aws``. A request sent while no mock is active, or one moto does
    not handle, fails with :class:`~kms_mrk.errors.ConnectError` saying so: nothing ever
    reaches the network through this transport. An operation moto does not implement
    (it raises ``NotImplementedError``) is answered as KMS answers an operation it cannot
    do, with ``UnsupportedOperationException`` naming moto.
    """

    def send(self, request: HttpRequest) -> HttpResponse:
        from urllib.parse import urlsplit

        host = urlsplit(request.url).netloc or request.url
        stubber = _stubber()
        if stubber is None or not getattr(stubber, "enabled", False):
            raise ConnectError(host, "moto's mock_aws() is not active (MotoTransport)")
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.compat import HTTPHeaders

        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name] = value
        prepared = AWSPreparedRequest(
            method=request.method,
            url=request.url,
            headers=headers,
            body=request.body,
            stream_output=False,
        )
        try:
            answer = stubber.process_request(prepared)
        except NotImplementedError as error:
            # moto lacks this operation (UpdatePrimaryRegion, for one): answer as KMS answers
            # an operation it cannot do here, naming moto, instead of a raw exception.
            return _unsupported(request, str(error))
        if answer is None:
            raise ConnectError(host, "moto does not mock this endpoint (MotoTransport)")
        status, answer_headers, body = answer
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        return HttpResponse(
            int(status), {str(k).lower(): str(v) for k, v in dict(answer_headers).items()}, data
        )

    def close(self) -> None:
        """Nothing to release: moto's state belongs to the mock."""

    def as_async(self) -> InMemoryAsyncView:
        """This transport for ``AsyncKMSClient``: moto answers from memory, so the view calls
        :meth:`send` on the event loop, with no thread."""
        from kms_mrk.transport._in_memory import InMemoryAsyncView

        return InMemoryAsyncView(self)

    def __repr__(self) -> str:
        return "MotoTransport()"


def _unsupported(request: HttpRequest, reason: str) -> HttpResponse:
    import json

    target = request.header("x-amz-target") or ""
    operation = target.rsplit(".", 1)[-1] or "this operation"
    body = {
        "__type": "UnsupportedOperationException",
        "message": f"moto does not implement {operation} ({reason})",
    }
    return HttpResponse(400, {"content-type": CONTENT_TYPE}, json.dumps(body).encode())


def active_transport() -> MotoTransport | None:
    """A :class:`MotoTransport` while ``moto.mock_aws()`` is active, else None.

    Clients made without a transport get one through :func:`active_override`, so code
    under ``@mock_aws`` reaches moto instead of the network.
    """
    return MotoTransport() if moto_active() else None


class _MotoOverride:
    """Wires a client made inside ``mock_aws()`` to moto; everything else stays the code's
    (credentials come from the environment moto sets, the Region from the code or the
    environment)."""

    __slots__ = ()

    def apply(self, args: ClientArgs) -> None:
        transport = MotoTransport()
        args.transport = transport.as_async() if args.is_async else transport


_OVERRIDE = _MotoOverride()


def active_override() -> _MotoOverride | None:
    """The client override while ``moto.mock_aws()`` is active, else None (cheap)."""
    return _OVERRIDE if moto_active() else None


def moto_client(region: str | None = None, **options: Any) -> KMSClient:
    """A ``KMSClient`` on moto's in-process KMS (inside ``moto.mock_aws()``), credentials
    from the environment moto sets; ``options`` go to ``KMSClient``."""
    from kms_mrk import KMSClient

    if not moto_active():
        raise ConnectError("moto", "moto_client() needs an active moto.mock_aws()")
    return KMSClient(region, transport=MotoTransport(), **options)
