"""Facts about KMS that its model does not state, given to the generator by hand.

The model says what each operation takes and answers, not whether a second copy of a request
that may already have reached KMS is harmless. botocore's KMS model carries no idempotency
trait (no ``idempotencyToken`` member either), so the list is ours, with the reason for each
entry; docs/retries.md explains how the retry strategies use it. ``python -m codegen`` checks
that every name is an operation of the vendored model and writes the list, with the facts the
model does state, to ``kms_mrk/_service.py``.
"""

from __future__ import annotations

# Operations that must not be sent a second time when the first request may have reached KMS
# (a read timeout, a connection closed after sending).
NON_IDEMPOTENT_OPERATIONS: dict[str, str] = {
    # a resend repeats the effect
    "CreateKey": "a second key is created",
    "CreateGrant": "a second grant is created",
    "RotateKeyOnDemand": "the key is rotated again (and the on-demand rotation quota spent)",
    "ImportKeyMaterial": "the material is imported again (a new material id for re-imports)",
    # a resend is refused because the first request changed the state it checks
    "CreateAlias": "AlreadyExistsException once the first one took effect",
    "CreateCustomKeyStore": "CustomKeyStoreNameInUseException",
    "ReplicateKey": "AlreadyExistsException: the replica exists",
    "UpdatePrimaryRegion": "refused while the keys are Updating, or the primary moved",
    "ScheduleKeyDeletion": "KMSInvalidStateException: already PendingDeletion",
    "CancelKeyDeletion": "KMSInvalidStateException: no longer PendingDeletion",
    "DeleteAlias": "NotFoundException: already deleted",
    "DeleteCustomKeyStore": "NotFoundException: already deleted",
    "DeleteImportedKeyMaterial": "KMSInvalidStateException: already PendingImport",
    "RetireGrant": "NotFoundException: already retired",
    "RevokeGrant": "NotFoundException: already revoked",
    "ConnectCustomKeyStore": "CustomKeyStoreInvalidStateException: already connecting",
    "DisconnectCustomKeyStore": "CustomKeyStoreInvalidStateException: already disconnected",
}
