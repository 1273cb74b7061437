"""The clients of one ``kms-mrk`` invocation, and what must be closed after it.

Every client made for AWS (or an ``--endpoint-url``) gets the command's
:class:`~kms_mrk.cli._types.TimeBounds`: connect and read timeouts, a total bound per
attempt (the request's ``timeout``, set by an interceptor) and a capped number of attempts
with short pauses, so that one KMS call ends within ``TimeBounds.per_call`` seconds.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kms_mrk.cli._types import (
    LOCAL_CREDENTIALS,
    LOCAL_DEFAULT_REGION,
    Runtime,
    TimeBounds,
    UsageError,
)
from kms_mrk.interceptors import Interceptor

if TYPE_CHECKING:
    from kms_mrk import HttpRequest, KMSClient
    from kms_mrk.interceptors import InterceptorContext

__all__ = ["Session"]


class Session:
    """The client of one command invocation, and what must be closed after it."""

    def __init__(self, args: argparse.Namespace, runtime: Runtime) -> None:
        self.args = args
        self.runtime = runtime
        self._local: Any = None
        self._clients: list[KMSClient] = []
        #: Where the endpoint of the last client came from (for connection error messages).
        self.endpoint_source: str | None = None
        self.endpoint_url: str | None = None
        #: failover-all: the plan's size and the outcomes seen so far, by status.
        self.fleet_progress: tuple[int, dict[str, int]] | None = None

    def _sleep(self, seconds: float) -> None:
        self.runtime.sleep(seconds)

    def client(self, region: str | None = None) -> KMSClient:
        from kms_mrk import Credentials, KMSClient

        args = self.args
        if args.state and not args.local:
            raise UsageError("--state FILE needs --local")
        wanted = region or args.region
        transport = self.runtime.transport
        if transport is None and args.local:
            from kms_mrk.local import LocalKMS

            if self._local is None:
                self._local = LocalKMS(state_file=args.state)
            transport = self._local
        if transport is not None:
            if args.endpoint_url:
                raise UsageError("--endpoint-url cannot be used with --local")
            client = KMSClient(
                wanted or _env_region(self.runtime.environ) or LOCAL_DEFAULT_REGION,
                credentials=Credentials(*LOCAL_CREDENTIALS),
                transport=transport,
                sleep=self._sleep,
                environ=self.runtime.environ,
            )
        else:
            client = self._bounded_client(wanted)
            config = client.config
            self.endpoint_url = config.endpoint_url
            source = config.endpoint_source
            if source == "endpoint_url argument":
                source = "--endpoint-url"
            self.endpoint_source = source
        self._clients.append(client)
        return client

    def _bounded_client(self, region: str | None) -> KMSClient:
        from kms_mrk import KMSClient, RetryConfig

        args = self.args
        bounds = self.runtime.time_bounds
        options: dict[str, Any] = {
            "profile": args.profile,
            "endpoint_url": args.endpoint_url,
            "connect_timeout": bounds.connect,
            "read_timeout": bounds.read,
            "sleep": self._sleep,
            "environ": self.runtime.environ,
        }
        probe = KMSClient(region, **options)  # the environment's retry settings
        resolved = probe.config
        probe.close()
        retry = RetryConfig(
            mode=resolved.retry_mode,
            max_attempts=min(resolved.max_attempts, bounds.max_attempts),
            max_backoff=bounds.max_backoff,
        )
        return KMSClient(region, retry=retry, interceptors=[_AttemptBound(bounds)], **options)

    def close(self) -> None:
        """Close every client made, then the local KMS (which saves its state file)."""
        clients, self._clients = self._clients, []
        try:
            for client in clients:
                client.close()
        finally:
            if self._local is not None:
                local, self._local = self._local, None
                local.close()


def _env_region(environ: Mapping[str, str] | None) -> str | None:
    import os

    source = os.environ if environ is None else environ
    return source.get("AWS_REGION") or source.get("AWS_DEFAULT_REGION") or None


class _AttemptBound(Interceptor):
    """Bounds every attempt of a call as a whole (connect, send, wait, read), through the
    request's ``timeout`` that transports honour."""

    def __init__(self, bounds: TimeBounds) -> None:
        self.limit = bounds.attempt

    def modify_request(self, context: InterceptorContext, request: HttpRequest) -> HttpRequest:
        current = request.timeout
        if current is not None and current <= self.limit:
            return request
        return request.replace(timeout=self.limit)
