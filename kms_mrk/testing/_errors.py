"""The errors the testing toolkit raises.

They derive from :class:`AssertionError`, not from :class:`~kms_mrk.errors.KmsMrkError`: a test
that went wrong must not be caught by application code written as ``except KmsMrkError``, and
the client's retry logic never retries an ``AssertionError`` (it is neither a service nor a
transport error), so an unmatched call fails the test on its first attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kms_mrk.schema import Command

__all__ = ["InvalidStubError", "KmsMockError", "UnmatchedRequestError"]


class KmsMockError(AssertionError):
    """Root of the testing toolkit's errors: something in the test does not hold."""


class InvalidStubError(KmsMockError):
    """A stub asks for something the real service could not do.

    Raised where the stub is defined (a response whose members or types do not fit the
    operation's output, an unknown error code, an error the operation cannot answer) or, for
    ``calls_fake``, when the fake returns such a response.
    """


class UnmatchedRequestError(KmsMockError):
    """A request reached the mock and no stub answers it.

    The message shows the request's input (wire names, sensitive members redacted) and a diff
    against the closest stubs. ``operation``, ``region`` and ``input`` (the typed command) say
    what was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        region: str,
        input: Command[Any],
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.region = region
        self.input = input
