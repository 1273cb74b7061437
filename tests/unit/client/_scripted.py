"""Scripted transports and a fake clock shared by the flow, deadline and async tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from kms_mrk import Credentials
from kms_mrk.transport import HttpRequest, HttpResponse

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
KEY = {"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled", "Enabled": True}}
WALL = 1_800_000_000.0  # the fixed wall clock the tests sign with


def ok(body: Any = KEY, request_id: str = "req-ok") -> HttpResponse:
    return HttpResponse(200, {"x-amzn-RequestId": request_id}, json.dumps(body).encode())


def err(
    code: str, status: int = 400, request_id: str = "req-err", date: float | None = None
) -> HttpResponse:
    body = json.dumps({"__type": code, "message": f"{code} happened"}).encode()
    headers = {"x-amzn-RequestId": request_id}
    if date is not None:
        headers["Date"] = formatdate(date, usegmt=True)
    return HttpResponse(status, headers, body)


Step = HttpResponse | Exception | Callable[[HttpRequest], HttpResponse]


class Scripted:
    """A sync transport answering from a script (the last step repeats)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[HttpRequest] = []

    def answer(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, HttpResponse):
            return step
        return step(request)

    def send(self, request: HttpRequest) -> HttpResponse:
        return self.answer(request)

    def close(self) -> None:
        pass


class AsyncScripted(Scripted):
    """The same script behind ``async def send`` (an AsyncTransport)."""

    async def send(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        return self.answer(request)

    async def aclose(self) -> None:
        pass


class FakeClock:
    """A monotonic clock that moves only when told (or when something sleeps on it)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
