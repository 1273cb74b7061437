"""Every exception kms-mrk raises; see :mod:`kms_mrk.errors._base` for the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kms_mrk.errors import _generated
from kms_mrk.errors._base import (
    CallTimeoutError,
    ClosedError,
    ConfigurationError,
    ConnectError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialsError,
    KmsMrkError,
    KMSServiceException,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseMetadata,
    ResponseParseError,
    ServiceException,
    TransportError,
)
from kms_mrk.errors._common import *  # noqa: F403
from kms_mrk.errors._common import COMMON_ERRORS
from kms_mrk.errors._common import __all__ as _common_all
from kms_mrk.errors._generated import *  # noqa: F403
from kms_mrk.errors._generated import MODELED_ERRORS

if TYPE_CHECKING:
    from kms_mrk.errors._problem import ValidationProblem as ValidationProblem

__all__ = [
    "ERRORS_BY_CODE",
    "CallTimeoutError",
    "ClosedError",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "CredentialsError",
    "KMSServiceException",
    "KmsMrkError",
    "NoCredentialsError",
    "NoRegionError",
    "ParamValidationError",
    "ReadTimeoutError",
    "ResponseMetadata",
    "ResponseParseError",
    "ServiceException",
    "TransportError",
    "ValidationProblem",
    "error_class_for_code",
]
__all__ += _common_all
__all__ += _generated.__all__

#: Error code -> exception class, for every code KMS is known to answer.
ERRORS_BY_CODE: dict[str, type[KMSServiceException]] = {**COMMON_ERRORS, **MODELED_ERRORS}


def error_class_for_code(code: str) -> type[KMSServiceException]:
    """The exception class for an error code; :class:`KMSServiceException` when unknown."""
    return ERRORS_BY_CODE.get(code, KMSServiceException)


def __getattr__(name: str) -> Any:
    if name == "ValidationProblem":  # not an exception; its module loads on first use
        from kms_mrk.errors._problem import ValidationProblem

        return ValidationProblem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _present_as_public() -> None:
    # Tracebacks and reprs name the public module (kms_mrk.errors.NotFoundException), not the
    # private one that defines the class; pickle finds the classes there too.
    for name in __all__:
        obj = globals().get(name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            obj.__module__ = __name__


_present_as_public()
