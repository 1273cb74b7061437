"""Credentials, credential providers and the SigV4 signer."""

from ._credentials import (
    BotocoreCredentialsProvider,
    Credentials,
    CredentialsProvider,
    RefreshableCredentialsProvider,
    StaticCredentialsProvider,
)
from ._sigv4 import (
    SignatureVerificationError,
    SigV4Authorization,
    SigV4Signer,
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
