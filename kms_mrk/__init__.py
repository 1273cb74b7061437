"""kms-mrk: a typed, fast AWS KMS client built around multi-Region keys.

Every command, model, enum and exception is importable from here, as the JavaScript SDK
exports them from its package root::

    from kms_mrk import KMSClient, UpdatePrimaryRegionCommand, NotFoundException

Names are loaded on first use (PEP 562), so ``import kms_mrk`` stays cheap and an
application pays only for the operations it calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kms_mrk._exports import GENERATED_EXPORTS
from kms_mrk._version import __version__ as __version__

if TYPE_CHECKING:
    from kms_mrk._async_client import AsyncKMSClient as AsyncKMSClient
    from kms_mrk._client import KMSClient as KMSClient
    from kms_mrk.arn import InvalidKeyIdentifierError as InvalidKeyIdentifierError
    from kms_mrk.auth import Credentials as Credentials
    from kms_mrk.errors import *  # noqa: F403
    from kms_mrk.failover import DrillReport as DrillReport
    from kms_mrk.failover import DrillStep as DrillStep
    from kms_mrk.failover import Journal as Journal
    from kms_mrk.failover import JournalError as JournalError
    from kms_mrk.failover import KeyFilter as KeyFilter
    from kms_mrk.failover import KeyOutcome as KeyOutcome
    from kms_mrk.failover import KeyView as KeyView
    from kms_mrk.failover import Plan as Plan
    from kms_mrk.failover import PlanItem as PlanItem
    from kms_mrk.failover import PreflightCheck as PreflightCheck
    from kms_mrk.failover import PreflightError as PreflightError
    from kms_mrk.failover import PreflightResult as PreflightResult
    from kms_mrk.failover import PromotionReport as PromotionReport
    from kms_mrk.failover import RateLimiter as RateLimiter
    from kms_mrk.failover import RegionalKey as RegionalKey
    from kms_mrk.failover import RunSummary as RunSummary
    from kms_mrk.failover import describe_in_region as describe_in_region
    from kms_mrk.failover import describe_view as describe_view
    from kms_mrk.failover import drill as drill
    from kms_mrk.failover import preflight as preflight
    from kms_mrk.failover import promote as promote
    from kms_mrk.failover import wait_for_pending_deletion as wait_for_pending_deletion
    from kms_mrk.failover import wait_for_primary_region as wait_for_primary_region
    from kms_mrk.failover import wait_for_replica_created as wait_for_replica_created
    from kms_mrk.interceptors import HeadersInterceptor as HeadersInterceptor
    from kms_mrk.interceptors import Interceptor as Interceptor
    from kms_mrk.interceptors import InterceptorContext as InterceptorContext
    from kms_mrk.models import *  # noqa: F403
    from kms_mrk.paginators import PaginationError as PaginationError
    from kms_mrk.paginators import Paginator as Paginator
    from kms_mrk.retries import RetryConfig as RetryConfig
    from kms_mrk.schema import Command as Command
    from kms_mrk.schema import PaginatorInfo as PaginatorInfo
    from kms_mrk.schema import Response as Response
    from kms_mrk.schema import Shape as Shape
    from kms_mrk.schema import StrEnum as StrEnum
    from kms_mrk.transport import HttpRequest as HttpRequest
    from kms_mrk.transport import HttpResponse as HttpResponse
    from kms_mrk.transport import Transport as Transport
    from kms_mrk.waiters import WaiterConfig as WaiterConfig
    from kms_mrk.waiters import WaiterTimeoutError as WaiterTimeoutError
    from kms_mrk.waiters import WaitResult as WaitResult

_HAND_WRITTEN: dict[str, str] = {
    # the client
    "KMSClient": "kms_mrk._client",
    "AsyncKMSClient": "kms_mrk._async_client",
    "Credentials": "kms_mrk.auth",
    "RetryConfig": "kms_mrk.retries",
    "Interceptor": "kms_mrk.interceptors",
    "InterceptorContext": "kms_mrk.interceptors",
    "HeadersInterceptor": "kms_mrk.interceptors",
    "Paginator": "kms_mrk.paginators",
    "PaginationError": "kms_mrk.paginators",
    "InvalidKeyIdentifierError": "kms_mrk.arn",
    # failover toolkit and waiters (plan() and run() stay in kms_mrk.failover: too generic here)
    "promote": "kms_mrk.failover",
    "drill": "kms_mrk.failover",
    "preflight": "kms_mrk.failover",
    "describe_view": "kms_mrk.failover",
    "describe_in_region": "kms_mrk.failover",
    "KeyView": "kms_mrk.failover",
    "RegionalKey": "kms_mrk.failover",
    "PreflightError": "kms_mrk.failover",
    "PreflightCheck": "kms_mrk.failover",
    "PreflightResult": "kms_mrk.failover",
    "PromotionReport": "kms_mrk.failover",
    "KeyFilter": "kms_mrk.failover",
    "Plan": "kms_mrk.failover",
    "PlanItem": "kms_mrk.failover",
    "RunSummary": "kms_mrk.failover",
    "KeyOutcome": "kms_mrk.failover",
    "DrillReport": "kms_mrk.failover",
    "DrillStep": "kms_mrk.failover",
    "Journal": "kms_mrk.failover",
    "JournalError": "kms_mrk.failover",
    "RateLimiter": "kms_mrk.failover",
    "WaiterTimeoutError": "kms_mrk.waiters",
    "WaiterConfig": "kms_mrk.waiters",
    "WaitResult": "kms_mrk.waiters",
    "wait_for_primary_region": "kms_mrk.failover",
    "wait_for_replica_created": "kms_mrk.failover",
    "wait_for_pending_deletion": "kms_mrk.failover",
    # errors
    "KmsMrkError": "kms_mrk.errors",
    "ServiceException": "kms_mrk.errors",
    "KMSServiceException": "kms_mrk.errors",
    "ParamValidationError": "kms_mrk.errors",
    "ValidationProblem": "kms_mrk.errors",
    "ConfigurationError": "kms_mrk.errors",
    "ClosedError": "kms_mrk.errors",
    "NoRegionError": "kms_mrk.errors",
    "CredentialsError": "kms_mrk.errors",
    "NoCredentialsError": "kms_mrk.errors",
    "TransportError": "kms_mrk.errors",
    "ConnectError": "kms_mrk.errors",
    "ConnectTimeoutError": "kms_mrk.errors",
    "CallTimeoutError": "kms_mrk.errors",
    "ReadTimeoutError": "kms_mrk.errors",
    "ConnectionClosedError": "kms_mrk.errors",
    "ResponseParseError": "kms_mrk.errors",
    "ResponseMetadata": "kms_mrk.errors",
    "AccessDeniedException": "kms_mrk.errors",
    "ThrottlingException": "kms_mrk.errors",
    "ValidationException": "kms_mrk.errors",
    "SerializationException": "kms_mrk.errors",
    "UnknownOperationException": "kms_mrk.errors",
    "UnrecognizedClientException": "kms_mrk.errors",
    "InvalidClientTokenId": "kms_mrk.errors",
    "InvalidSignatureException": "kms_mrk.errors",
    "IncompleteSignatureException": "kms_mrk.errors",
    "MissingAuthenticationTokenException": "kms_mrk.errors",
    "ExpiredTokenException": "kms_mrk.errors",
    "RequestExpired": "kms_mrk.errors",
    "InternalFailure": "kms_mrk.errors",
    "ServiceUnavailableException": "kms_mrk.errors",
    # schema bases
    "Command": "kms_mrk.schema",
    "PaginatorInfo": "kms_mrk.schema",
    "Response": "kms_mrk.schema",
    "Shape": "kms_mrk.schema",
    "StrEnum": "kms_mrk.schema",
    # transport
    "HttpRequest": "kms_mrk.transport",
    "HttpResponse": "kms_mrk.transport",
    "Transport": "kms_mrk.transport",
}

_LAZY: dict[str, str] = {**GENERATED_EXPORTS, **_HAND_WRITTEN}

__all__ = sorted([*_LAZY, "__version__"])


_SUBMODULES = frozenset(
    {
        "arn",
        "auth",
        "cli",
        "commands",
        "endpoints",
        "errors",
        "failover",
        "interceptors",
        "local",
        "models",
        "paginators",
        "protocol",
        "retries",
        "schema",
        "testing",
        "transport",
        "waiters",
    }
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f"kms_mrk.{name}")
        raise AttributeError(f"module 'kms_mrk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
