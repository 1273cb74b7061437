"""The KMS key-state table as data: which operation is refused in which key state, and how.

The rows follow the "Key states of AWS KMS keys" table of the KMS Developer Guide: an
operation on an existing key succeeds, or fails with a fixed exception class and a message
built from the key ARN (``<key ARN> is disabled.``, ``<key ARN> is pending deletion.``...).
Operations with the same column pattern share a row (a *family*); :data:`OPERATION_FAMILY`
maps every operation the local KMS implements to its family.

Choices where the guide leaves room (recorded in docs/local-kms.md):

* a key pending deletion refuses cryptographic operations with ``KMSInvalidStateException``
  (the guide allows ``DisabledException`` or ``KMSInvalidStateException``; real KMS answers
  the latter today);
* ``PendingReplicaDeletion`` refuses what ``PendingDeletion`` refuses, with the message
  ``<key ARN> is pending replica deletion.``, and allows CancelKeyDeletion;
* a replica in ``Creating`` can be managed (described, tagged, aliased, its policy and
  description changed) but not used, enabled, disabled or scheduled for deletion;
* keys in ``Updating`` keep working for cryptography (as the UpdatePrimaryRegion
  documentation says) but refuse enabling, disabling, deletion and replication.

* grant operations: CreateGrant is refused on a key pending deletion (like the other
  management operations); ListGrants, RetireGrant and RevokeGrant work in every state, so
  that access can always be withdrawn;
* RotateKeyOnDemand is refused where EnableKeyRotation is, and on a key without its imported
  material (``PendingImport``) with ``is pending import.``; ListKeyRotations works in every
  state;
* GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial work on an enabled,
  disabled or ``PendingImport`` key and during ``Updating``, and are refused on a key pending
  deletion and on a replica still ``Creating``;
* GetKeyLastUsage works in every state.

``PendingImport`` is reached by keys whose origin is ``EXTERNAL`` while they have no
unexpired imported material. ``Unavailable`` is the state of a key whose custom key store is
not connected (see ``KeyRecord.key_state``).
"""

from __future__ import annotations

from typing import Final

from kms_mrk.errors import (
    DisabledException,
    KMSInvalidStateException,
    KMSServiceException,
    UnsupportedOperationException,
)

__all__ = [
    "ALL_STATES",
    "KEY_STATE_TABLE",
    "OPERATION_FAMILY",
    "Refusal",
    "check_key_state",
    "refusal_for",
]

ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
PENDING_DELETION: Final = "PendingDeletion"
PENDING_REPLICA_DELETION: Final = "PendingReplicaDeletion"
PENDING_IMPORT: Final = "PendingImport"
UNAVAILABLE: Final = "Unavailable"
CREATING: Final = "Creating"
UPDATING: Final = "Updating"

ALL_STATES: Final[tuple[str, ...]] = (
    ENABLED,
    DISABLED,
    PENDING_DELETION,
    PENDING_REPLICA_DELETION,
    PENDING_IMPORT,
    UNAVAILABLE,
    CREATING,
    UPDATING,
)


class Refusal:
    """How an operation is refused: the exception class and a message template."""

    __slots__ = ("error", "template")

    def __init__(self, error: type[KMSServiceException], template: str) -> None:
        self.error = error
        self.template = template

    def exception(self, arn: str) -> KMSServiceException:
        return self.error(self.template.format(arn=arn))

    def __repr__(self) -> str:
        return f"Refusal({self.error.__name__}, {self.template!r})"


# The guide's footnotes, one object each.
IS_DISABLED: Final = Refusal(DisabledException, "{arn} is disabled.")
IS_PENDING_DELETION: Final = Refusal(KMSInvalidStateException, "{arn} is pending deletion.")
NOT_PENDING_DELETION: Final = Refusal(KMSInvalidStateException, "{arn} is not pending deletion.")
IS_PENDING_IMPORT: Final = Refusal(KMSInvalidStateException, "{arn} is pending import.")
IS_UNAVAILABLE: Final = Refusal(KMSInvalidStateException, "{arn} is unavailable.")
IS_CREATING: Final = Refusal(KMSInvalidStateException, "{arn} is creating.")
IS_UPDATING: Final = Refusal(KMSInvalidStateException, "{arn} is updating.")
IS_PENDING_REPLICA_DELETION: Final = Refusal(
    KMSInvalidStateException, "{arn} is pending replica deletion."
)
ORIGIN_EXTERNAL: Final = Refusal(
    UnsupportedOperationException, "{arn} origin is EXTERNAL which is not valid for this operation."
)

Row = dict[str, "Refusal | None"]


def _row(
    *,
    disabled: Refusal | None,
    pending_deletion: Refusal | None,
    pending_replica_deletion: Refusal | None,
    pending_import: Refusal | None,
    unavailable: Refusal | None,
    creating: Refusal | None,
    updating: Refusal | None,
    enabled: Refusal | None = None,
) -> Row:
    return {
        ENABLED: enabled,
        DISABLED: disabled,
        PENDING_DELETION: pending_deletion,
        PENDING_REPLICA_DELETION: pending_replica_deletion,
        PENDING_IMPORT: pending_import,
        UNAVAILABLE: unavailable,
        CREATING: creating,
        UPDATING: updating,
    }


#: family -> key state -> None (allowed) or the Refusal.
KEY_STATE_TABLE: Final[dict[str, Row]] = {
    # Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, Sign, Verify, GetPublicKey, *Mac.
    "cryptographic": _row(
        disabled=IS_DISABLED,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=IS_PENDING_IMPORT,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=None,
    ),
    # DescribeKey, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, ListResourceTags, ListAliases.
    "read_or_policy": _row(
        disabled=None,
        pending_deletion=None,
        pending_replica_deletion=None,
        pending_import=None,
        unavailable=None,
        creating=None,
        updating=None,
    ),
    # EnableKey, DisableKey.
    "enable_disable": _row(
        disabled=None,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=IS_PENDING_IMPORT,
        unavailable=None,  # succeeds; the state changes once the key is available again
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
    "schedule_deletion": _row(
        disabled=None,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=None,
        unavailable=None,
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
    "cancel_deletion": _row(
        enabled=NOT_PENDING_DELETION,
        disabled=NOT_PENDING_DELETION,
        pending_deletion=None,
        pending_replica_deletion=None,
        pending_import=NOT_PENDING_DELETION,
        unavailable=NOT_PENDING_DELETION,
        creating=NOT_PENDING_DELETION,
        updating=NOT_PENDING_DELETION,
    ),
    # CreateAlias, UpdateAlias (the target), TagResource, UntagResource, UpdateKeyDescription.
    "manage": _row(
        disabled=None,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=None,
        unavailable=None,
        creating=None,
        updating=None,
    ),
    # EnableKeyRotation, DisableKeyRotation.
    "rotation_change": _row(
        disabled=IS_DISABLED,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=ORIGIN_EXTERNAL,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
    "rotation_status": _row(
        disabled=None,
        pending_deletion=None,
        pending_replica_deletion=None,
        pending_import=ORIGIN_EXTERNAL,
        unavailable=IS_UNAVAILABLE,
        creating=None,
        updating=None,
    ),
    # RotateKeyOnDemand.
    "rotate_on_demand": _row(
        disabled=IS_DISABLED,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=IS_PENDING_IMPORT,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
    # GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.
    "import": _row(
        disabled=None,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=None,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=None,
    ),
    # ReplicateKey (the primary key).
    "replicate": _row(
        disabled=None,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=None,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
    # UpdatePrimaryRegion (both the primary and the replica that becomes primary).
    "update_primary_region": _row(
        disabled=IS_DISABLED,
        pending_deletion=IS_PENDING_DELETION,
        pending_replica_deletion=IS_PENDING_REPLICA_DELETION,
        pending_import=IS_PENDING_IMPORT,
        unavailable=IS_UNAVAILABLE,
        creating=IS_CREATING,
        updating=IS_UPDATING,
    ),
}

#: operation -> family (a row of :data:`KEY_STATE_TABLE`).
OPERATION_FAMILY: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "Encrypt",
            "Decrypt",
            "ReEncrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "Sign",
            "Verify",
            "GetPublicKey",
            "GenerateMac",
            "VerifyMac",
            "DeriveSharedSecret",
            "Encapsulate",
            "Decapsulate",
        ),
        "cryptographic",
    ),
    **dict.fromkeys(
        (
            "DescribeKey",
            "GetKeyPolicy",
            "PutKeyPolicy",
            "ListKeyPolicies",
            "ListResourceTags",
            "ListAliases",
            "DeleteAlias",
            "ListGrants",
            "RetireGrant",
            "RevokeGrant",
            "ListKeyRotations",
            "GetKeyLastUsage",
        ),
        "read_or_policy",
    ),
    "EnableKey": "enable_disable",
    "DisableKey": "enable_disable",
    "ScheduleKeyDeletion": "schedule_deletion",
    "CancelKeyDeletion": "cancel_deletion",
    **dict.fromkeys(
        (
            "CreateAlias",
            "UpdateAlias",
            "TagResource",
            "UntagResource",
            "UpdateKeyDescription",
            "CreateGrant",
        ),
        "manage",
    ),
    "EnableKeyRotation": "rotation_change",
    "DisableKeyRotation": "rotation_change",
    "GetKeyRotationStatus": "rotation_status",
    "RotateKeyOnDemand": "rotate_on_demand",
    **dict.fromkeys(
        ("GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"), "import"
    ),
    "ReplicateKey": "replicate",
    "UpdatePrimaryRegion": "update_primary_region",
}


def refusal_for(operation: str, state: str) -> Refusal | None:
    """The refusal for ``operation`` on a key in ``state``; None when it is allowed."""
    return KEY_STATE_TABLE[OPERATION_FAMILY[operation]].get(state)


def check_key_state(operation: str, state: str, arn: str) -> None:
    """Raise the table's exception if ``operation`` is refused on a key in ``state``."""
    refusal = KEY_STATE_TABLE[OPERATION_FAMILY[operation]].get(state)
    if refusal is not None:
        raise refusal.exception(arn)
