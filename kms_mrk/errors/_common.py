"""Errors every AWS JSON service may answer, though the KMS model does not list them.

They are subclasses of :class:`KMSServiceException` so that ``except AccessDeniedException``
reads as naturally as the modeled errors do. ``ThrottlingException`` is what KMS answers when
a request-rate quota is exceeded. Three of them are ``retryable`` (a later attempt may
succeed): ``ThrottlingException``, ``InternalFailure`` and ``ServiceUnavailableException``.
"""

from __future__ import annotations

from typing import ClassVar

from kms_mrk.errors._base import Fault, KMSServiceException

__all__ = [
    "COMMON_ERRORS",
    "AccessDeniedException",
    "ExpiredTokenException",
    "IncompleteSignatureException",
    "InternalFailure",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "RequestExpired",
    "SerializationException",
    "ServiceUnavailableException",
    "ThrottlingException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationException",
]


class AccessDeniedException(KMSServiceException):
    """The caller is not allowed to perform the action (IAM or key policy)."""

    code: ClassVar[str] = "AccessDeniedException"  # type: ignore[misc]


class ThrottlingException(KMSServiceException):
    """A request-rate quota was exceeded; retryable, with the longer throttling backoff."""

    code: ClassVar[str] = "ThrottlingException"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


class ValidationException(KMSServiceException):
    """The service rejected the input: a member is missing or malformed."""

    code: ClassVar[str] = "ValidationException"  # type: ignore[misc]


class SerializationException(KMSServiceException):
    """The service could not read the request body."""

    code: ClassVar[str] = "SerializationException"  # type: ignore[misc]


class UnknownOperationException(KMSServiceException):
    """The service does not know the operation named in ``X-Amz-Target``."""

    code: ClassVar[str] = "UnknownOperationException"  # type: ignore[misc]


class UnrecognizedClientException(KMSServiceException):
    """The access key id is not known to the service."""

    code: ClassVar[str] = "UnrecognizedClientException"  # type: ignore[misc]


class InvalidClientTokenId(KMSServiceException):
    """The access key id or session token is not valid."""

    code: ClassVar[str] = "InvalidClientTokenId"  # type: ignore[misc]


class InvalidSignatureException(KMSServiceException):
    """The request signature does not match (wrong secret key, clock skew, altered request)."""

    code: ClassVar[str] = "InvalidSignatureException"  # type: ignore[misc]


class IncompleteSignatureException(KMSServiceException):
    """The Authorization header is malformed or incomplete."""

    code: ClassVar[str] = "IncompleteSignatureException"  # type: ignore[misc]


class MissingAuthenticationTokenException(KMSServiceException):
    """The request was not signed."""

    code: ClassVar[str] = "MissingAuthenticationTokenException"  # type: ignore[misc]


class ExpiredTokenException(KMSServiceException):
    """The session token has expired."""

    code: ClassVar[str] = "ExpiredTokenException"  # type: ignore[misc]


class RequestExpired(KMSServiceException):
    """The request's timestamp is too far from the service's clock."""

    code: ClassVar[str] = "RequestExpired"  # type: ignore[misc]


class InternalFailure(KMSServiceException):
    """The service failed internally; retryable."""

    code: ClassVar[str] = "InternalFailure"  # type: ignore[misc]
    fault: ClassVar[Fault] = "server"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


class ServiceUnavailableException(KMSServiceException):
    """The service is temporarily unavailable; retryable."""

    code: ClassVar[str] = "ServiceUnavailableException"  # type: ignore[misc]
    fault: ClassVar[Fault] = "server"  # type: ignore[misc]
    retryable: ClassVar[bool] = True  # type: ignore[misc]


COMMON_ERRORS: dict[str, type[KMSServiceException]] = {
    cls.code: cls
    for cls in (
        AccessDeniedException,
        ThrottlingException,
        ValidationException,
        SerializationException,
        UnknownOperationException,
        UnrecognizedClientException,
        InvalidClientTokenId,
        InvalidSignatureException,
        IncompleteSignatureException,
        MissingAuthenticationTokenException,
        ExpiredTokenException,
        RequestExpired,
        InternalFailure,
        ServiceUnavailableException,
    )
}
COMMON_ERRORS["ServiceUnavailable"] = ServiceUnavailableException
