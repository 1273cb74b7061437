"""A minimal signed client for the local KMS tests.

It speaks the interface of ``kms_mrk.KMSClient`` that the tests use (``send(command)`` returning
the typed response or raising the modeled exception, and ``for_region``), built from the real
serializer, SigV4 signer and parser, so every test exercises the wire protocol end to end.

It deliberately differs from ``KMSClient`` in two ways the server tests need: no client-side
validation (so invalid input reaches the local KMS and its ValidationException answers can be
checked) and no retries (so injected faults surface on the first attempt). Tests that want
the real client use ``KMSClient(region=..., credentials=..., transport=kms)``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from kms_mrk.auth import Credentials, SigV4Signer
from kms_mrk.errors import ERRORS_BY_CODE, KMSServiceException
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Command, Response
from kms_mrk.transport import Transport

OutputT = TypeVar("OutputT", bound=Response)

CREDENTIALS = Credentials("AKIDLOCAL", "local-secret")


class TestClient:
    """``send(command)`` through a transport, signed for ``region``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, transport: Transport, region: str, credentials: Credentials = CREDENTIALS
    ) -> None:
        self.transport = transport
        self.region = region
        self.credentials = credentials
        self._signer = SigV4Signer("kms")

    def for_region(self, region: str) -> TestClient:
        return TestClient(self.transport, region, self.credentials)

    def send(self, command: Command[OutputT]) -> OutputT:
        request = awsjson11.serialize_request(
            "TrentService",
            command.operation_name,
            command.input_type.__schema__,
            command,
            f"https://kms.{self.region}.amazonaws.com",
        )
        signed = self._signer.sign(request, self.credentials, self.region)
        response = self.transport.send(signed)
        if response.status >= 300:
            raise awsjson11.deserialize_error(
                response, ERRORS_BY_CODE, KMSServiceException, operation=command.operation_name
            )
        result: OutputT = awsjson11.deserialize_response(
            command.output_type.__schema__, response, operation=command.operation_name
        )
        return result

    def call(self, operation: str, **members: Any) -> Any:
        """Send ``operation`` built from wire-named members (``KeyId=...``), unchecked."""
        import kms_mrk.commands as commands
        from kms_mrk.schema import shape_from_dict

        cls = getattr(commands, commands.OPERATIONS[operation])
        # Not cls.from_dict: it checks types and constraints as send() does, and these tests
        # send invalid input on purpose, to see the local KMS refuse it.
        return self.send(shape_from_dict(cls, members))


def raw_call(
    transport: Transport,
    operation: str,
    body: bytes | dict[str, Any],
    *,
    region: str = "us-east-1",
    target: str | None = None,
    sign: bool = True,
    credentials: Credentials = CREDENTIALS,
) -> tuple[int, dict[str, Any]]:
    """Send a hand-made body (dict or raw bytes); return (status, parsed JSON body)."""
    import json

    from kms_mrk.transport import HttpRequest

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = HttpRequest(
        "POST",
        f"https://kms.{region}.amazonaws.com/",
        {
            "X-Amz-Target": target or f"TrentService.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
        },
        data,
    )
    if sign:
        request = SigV4Signer("kms").sign(request, credentials, region)
    response = transport.send(request)
    parsed: dict[str, Any] = json.loads(response.body)
    return response.status, parsed


def make_client(
    transport: Transport, region: str = "us-east-1", credentials: Credentials = CREDENTIALS
) -> TestClient:
    """The client the tests drive the local KMS with (see the module docstring)."""
    return TestClient(transport, region, credentials)
