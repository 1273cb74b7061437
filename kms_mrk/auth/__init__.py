"""Credentials, credential providers and the SigV4 signer."""

from typing import TYPE_CHECKING, Any

from ._credentials import (
    BotocoreCredentialsProvider,
    Credentials,
    CredentialsProvider,
    RefreshableCredentialsProvider,
    StaticCredentialsProvider,
)
from ._sigv4 import SigV4Signer

if TYPE_CHECKING:
    from ._sigv4_verify import (
        SignatureVerificationError,
        SigV4Authorization,
        VerificationFailure,
        parse_authorization,
        region_from_authorization,
        verify,
    )

__all__ = [
    "BotocoreCredentialsProvider",
    "Credentials",
    "CredentialsProvider",
    "RefreshableCredentialsProvider",
    "SigV4Authorization",
    "SigV4Signer",
    "SignatureVerificationError",
    "StaticCredentialsProvider",
    "VerificationFailure",
    "parse_authorization",
    "region_from_authorization",
    "verify",
]


def __getattr__(name: str) -> Any:
    # The server side of SigV4 (the local KMS and the testing toolkit) loads on first use.
    if name in __all__:
        from . import _sigv4_verify

        return getattr(_sigv4_verify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
