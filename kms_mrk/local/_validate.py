"""Server-side request validation in KMS's words: now part of the shared service side.

Kept so that the handlers' ``from kms_mrk.local._validate import validation_error`` keeps
working; the rules live in :mod:`kms_mrk.protocol._service_validate`.
"""

from __future__ import annotations

from kms_mrk.protocol._service_validate import (
    member_path,
    problems,
    raise_for,
    required_missing,
    validation_error,
)

__all__ = ["member_path", "problems", "raise_for", "required_missing", "validation_error"]
