"""One handler per KMS operation: typed request in, typed response out.

Handlers run with the LocalKMS lock held and get a :class:`Ctx` naming the caller (account,
Region, principal) and the request time. Every check (key lookup, key policy, key state,
key usage, arguments) happens before the first change to the state, so a refused request
changes nothing. Expensive key generation (RSA keys for CreateKey, data key pairs) is asked
for with :meth:`Ctx.costly` once every check has passed: the first time it raises
:class:`Prepare`, the LocalKMS releases the lock, generates the key and runs the handler
again (checking everything again) with the result at hand. A refused request never pays for
a key it does not get, and the lock is never held while a key is generated.

DescribeKey has a second, wire-level handler that writes the response body directly from
cached JSON fragments (the per-spec parts, the multi-Region configuration of a related-key
group), because pollers call it far more than anything else; the tests check that its bytes
are those the AWS JSON codec writes for :func:`key_metadata`.

Key identifiers are resolved as KMS resolves them: key id, key ARN, alias name or alias ARN
where the operation's API reference allows aliases (cryptographic operations, DescribeKey,
GetPublicKey), key id or key ARN elsewhere. A key ARN of another Region is refused with
``NotFoundException: Invalid arn <region>`` (as real KMS answers), one of another partition
with ``NotFoundException: Invalid arn <partition>``; a malformed key id with
``NotFoundException: Invalid keyId '<id>'``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as _dt
import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from kms_mrk.errors import (
    AlreadyExistsException,
    DryRunOperationException,
    IncorrectKeyException,
    InvalidAliasNameException,
    InvalidArnException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    InvalidMarkerException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    MalformedPolicyDocumentException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_mrk.local import _crypto
from kms_mrk.local._keystates import check_key_state
from kms_mrk.local._policy import (
    CompiledPolicy,
    access_denied,
    compile_policy,
    default_policy,
    principal_arn,
)
from kms_mrk.local._state import (
    CREATING,
    DAY,
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    PENDING_REPLICA_DELETION,
    UPDATING,
    Alias,
    KeyRecord,
    RegionState,
    Shared,
    Store,
)
from kms_mrk.local._validate import validation_error
from kms_mrk.models._enums import (
    DataKeyPairSpec,
    EncryptionAlgorithmSpec,
    KeyAgreementAlgorithmSpec,
    KeyManagerType,
    KeySpec,
    KeyState,
    KeyUsageType,
    MacAlgorithmSpec,
    MultiRegionKeyType,
    OriginType,
    SigningAlgorithmSpec,
)
from kms_mrk.models._op_cancel_key_deletion import (
    CancelKeyDeletionRequest,
    CancelKeyDeletionResponse,
)
from kms_mrk.models._op_create_alias import CreateAliasRequest, CreateAliasResponse
from kms_mrk.models._op_create_key import CreateKeyRequest, CreateKeyResponse
from kms_mrk.models._op_decrypt import DecryptRequest, DecryptResponse
from kms_mrk.models._op_delete_alias import DeleteAliasRequest, DeleteAliasResponse
from kms_mrk.models._op_describe_key import DescribeKeyRequest, DescribeKeyResponse
from kms_mrk.models._op_disable_key import DisableKeyRequest, DisableKeyResponse
from kms_mrk.models._op_disable_key_rotation import (
    DisableKeyRotationRequest,
    DisableKeyRotationResponse,
)
from kms_mrk.models._op_enable_key import EnableKeyRequest, EnableKeyResponse
from kms_mrk.models._op_enable_key_rotation import (
    EnableKeyRotationRequest,
    EnableKeyRotationResponse,
)
from kms_mrk.models._op_encrypt import EncryptRequest, EncryptResponse
from kms_mrk.models._op_generate_data_key import GenerateDataKeyRequest, GenerateDataKeyResponse
from kms_mrk.models._op_generate_data_key_pair import (
    GenerateDataKeyPairRequest,
    GenerateDataKeyPairResponse,
)
from kms_mrk.models._op_generate_data_key_pair_without_plaintext import (
    GenerateDataKeyPairWithoutPlaintextRequest,
    GenerateDataKeyPairWithoutPlaintextResponse,
)
from kms_mrk.models._op_generate_data_key_without_plaintext import (
    GenerateDataKeyWithoutPlaintextRequest,
    GenerateDataKeyWithoutPlaintextResponse,
)
from kms_mrk.models._op_generate_mac import GenerateMacRequest, GenerateMacResponse
from kms_mrk.models._op_generate_random import GenerateRandomRequest, GenerateRandomResponse
from kms_mrk.models._op_get_key_policy import GetKeyPolicyRequest, GetKeyPolicyResponse
from kms_mrk.models._op_get_key_rotation_status import (
    GetKeyRotationStatusRequest,
    GetKeyRotationStatusResponse,
)
from kms_mrk.models._op_get_public_key import GetPublicKeyRequest, GetPublicKeyResponse
from kms_mrk.models._op_list_aliases import AliasListEntry, ListAliasesRequest, ListAliasesResponse
from kms_mrk.models._op_list_key_policies import ListKeyPoliciesRequest, ListKeyPoliciesResponse
from kms_mrk.models._op_list_keys import KeyListEntry, ListKeysRequest, ListKeysResponse
from kms_mrk.models._op_list_resource_tags import (
    ListResourceTagsRequest,
    ListResourceTagsResponse,
)
from kms_mrk.models._op_put_key_policy import PutKeyPolicyRequest, PutKeyPolicyResponse
from kms_mrk.models._op_re_encrypt import ReEncryptRequest, ReEncryptResponse
from kms_mrk.models._op_replicate_key import ReplicateKeyRequest, ReplicateKeyResponse
from kms_mrk.models._op_schedule_key_deletion import (
    ScheduleKeyDeletionRequest,
    ScheduleKeyDeletionResponse,
)
from kms_mrk.models._op_sign import SignRequest, SignResponse
from kms_mrk.models._op_tag_resource import TagResourceRequest, TagResourceResponse
from kms_mrk.models._op_untag_resource import UntagResourceRequest, UntagResourceResponse
from kms_mrk.models._op_update_alias import UpdateAliasRequest, UpdateAliasResponse
from kms_mrk.models._op_update_key_description import (
    UpdateKeyDescriptionRequest,
    UpdateKeyDescriptionResponse,
)
from kms_mrk.models._op_update_primary_region import (
    UpdatePrimaryRegionRequest,
    UpdatePrimaryRegionResponse,
)
from kms_mrk.models._op_verify import VerifyRequest, VerifyResponse
from kms_mrk.models._op_verify_mac import VerifyMacRequest, VerifyMacResponse
from kms_mrk.models._shared import KeyMetadata, MultiRegionConfiguration, MultiRegionKey, Tag

if TYPE_CHECKING:
    from kms_mrk.schema import Response, Shape

__all__ = [
    "HANDLERS",
    "Ctx",
    "Handler",
    "KeyFacts",
    "Prepare",
    "Settings",
    "key_metadata",
    "key_metadata_json",
]

_log = logging.getLogger("kms_mrk.local")

# --------------------------------------------------------------------------- key specs

SYMMETRIC: Final = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT: Final = "ENCRYPT_DECRYPT"
SIGN_VERIFY: Final = "SIGN_VERIFY"
GENERATE_VERIFY_MAC: Final = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT: Final = "KEY_AGREEMENT"

_RSA_SIGNING: Final = (
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
)
_RSA_ENCRYPTION: Final = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")

#: key spec -> key usages it may have (the first is the default where one exists).
KEY_USAGES: Final[dict[str, tuple[str, ...]]] = {
    SYMMETRIC: (ENCRYPT_DECRYPT,),
    "RSA_2048": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_3072": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "RSA_4096": (ENCRYPT_DECRYPT, SIGN_VERIFY),
    "ECC_NIST_P256": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P384": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P521": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_SECG_P256K1": (SIGN_VERIFY,),
    "HMAC_224": (GENERATE_VERIFY_MAC,),
    "HMAC_256": (GENERATE_VERIFY_MAC,),
    "HMAC_384": (GENERATE_VERIFY_MAC,),
    "HMAC_512": (GENERATE_VERIFY_MAC,),
}
SIGNING_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "RSA_2048": _RSA_SIGNING,
    "RSA_3072": _RSA_SIGNING,
    "RSA_4096": _RSA_SIGNING,
    "ECC_NIST_P256": ("ECDSA_SHA_256",),
    "ECC_NIST_P384": ("ECDSA_SHA_384",),
    "ECC_NIST_P521": ("ECDSA_SHA_512",),
    "ECC_SECG_P256K1": ("ECDSA_SHA_256",),
}
ENCRYPTION_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    SYMMETRIC: (SYMMETRIC,),
    "RSA_2048": _RSA_ENCRYPTION,
    "RSA_3072": _RSA_ENCRYPTION,
    "RSA_4096": _RSA_ENCRYPTION,
}
MAC_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "HMAC_224": ("HMAC_SHA_224",),
    "HMAC_256": ("HMAC_SHA_256",),
    "HMAC_384": ("HMAC_SHA_384",),
    "HMAC_512": ("HMAC_SHA_512",),
}
DATA_KEY_PAIR_SPECS: Final = frozenset(
    ("RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
     "ECC_SECG_P256K1")
)  # fmt: skip


def _enum_lookup(enum: Any) -> Callable[[str], Any]:
    table = enum._value2member_map_
    return lambda value: table.get(value, value)


_KEY_STATE = _enum_lookup(KeyState)
_KEY_SPEC = _enum_lookup(KeySpec)
_KEY_USAGE = _enum_lookup(KeyUsageType)
_ENC_ALG = _enum_lookup(EncryptionAlgorithmSpec)
_SIG_ALG = _enum_lookup(SigningAlgorithmSpec)
_MAC_ALG = _enum_lookup(MacAlgorithmSpec)
_PAIR_SPEC = _enum_lookup(DataKeyPairSpec)

_KEY_ID: Final = re.compile(
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
)
_REGION: Final = re.compile(r"(?:[a-z]+-){2,3}[0-9]+")
_ALIAS_PATTERN: Final = re.compile(r"[a-zA-Z0-9:/_-]+")
_UTC: Final = _dt.timezone.utc

_T = TypeVar("_T")

INCORRECT_KEY: Final = (
    "The key ID in the request does not identify a CMK that can perform this operation."
)
DRY_RUN: Final = "The request would have succeeded, but the DryRun option is set."
_MAX_TAGS: Final = 50


class Settings:
    """The configuration handlers read (set by LocalKMS)."""

    __slots__ = ("creating_seconds", "random_bytes", "updating_seconds")

    def __init__(
        self,
        *,
        creating_seconds: float,
        updating_seconds: float,
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.creating_seconds = creating_seconds
        self.updating_seconds = updating_seconds
        self.random_bytes = random_bytes


class KeyFacts:
    """What policy conditions may ask about a key (also for a key not made yet)."""

    __slots__ = ("key_type", "multi_region", "spec", "usage")

    def __init__(self, spec: str, usage: str, multi_region: bool, key_type: str | None) -> None:
        self.spec = spec
        self.usage = usage
        self.multi_region = multi_region
        self.key_type = key_type

    @classmethod
    def of(cls, key: KeyRecord, now: float) -> KeyFacts:
        shared = key.shared
        key_type = None
        if shared.multi_region:
            key_type = "PRIMARY" if key.is_primary(now) else "REPLICA"
        return cls(shared.spec, shared.usage, shared.multi_region, key_type)


class Ctx:
    """One request as handlers see it: who calls, where, when, and the state."""

    __slots__ = ("account", "conditions", "now", "operation", "partition", "prepared",
                 "principal", "region", "secure", "settings", "store", "subject")  # fmt: skip

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        now: float,
        account: str,
        region: str,
        partition: str,
        principal: str,
        operation: str,
        prepared: dict[str, Any] | None = None,
        secure: bool = True,
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self.account = account
        self.region = region
        self.partition = partition
        self.principal = principal
        self.operation = operation
        #: results of costly steps made outside the lock (see :meth:`costly`)
        self.prepared: dict[str, Any] = {} if prepared is None else prepared
        #: whether the request came over TLS (aws:SecureTransport); in process counts as TLS
        self.secure = secure
        #: request-specific condition keys (kms:PrimaryRegion...), lower case
        self.conditions: dict[str, str] = {}
        #: the key (or the facts of a key being made) whose policy is being evaluated
        self.subject: KeyRecord | KeyFacts | None = None

    # ------------------------------------------------------------------ names

    def key_arn(self, key_id: str, region: str | None = None) -> str:
        return f"arn:{self.partition}:kms:{region or self.region}:{self.account}:key/{key_id}"

    def alias_arn(self, name: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:{name}"

    def here(self) -> RegionState:
        return self.store.region(self.account, self.region)

    # ------------------------------------------------------------------ keys

    def resolve(self, ident: str, *, alias: bool) -> KeyRecord:
        """The key ``ident`` names in the caller's account and Region, or NotFoundException."""
        if ident.startswith("arn:"):
            parts = ident.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or "/" not in parts[5]:
                raise InvalidArnException(f"Invalid arn {ident}")
            arn_partition, arn_region, arn_account = parts[1], parts[3], parts[4]
            resource_type, _, resource_id = parts[5].partition("/")
            if resource_type not in ("key", "alias") or not resource_id:
                raise InvalidArnException(f"Invalid arn {ident}")
            if arn_region != self.region:
                raise NotFoundException(f"Invalid arn {arn_region}")
            if arn_partition != self.partition:
                raise NotFoundException(f"Invalid arn {arn_partition}")
            if arn_account != self.account:
                raise NotFoundException(f"Key '{ident}' does not exist")
            if resource_type == "alias":
                if not alias:
                    raise NotFoundException(f"Invalid keyId '{ident}'")
                return self._by_alias("alias/" + resource_id)
            return self._by_id(resource_id)
        if ident.startswith("alias/"):
            if not alias:
                raise NotFoundException(f"Invalid keyId '{ident}'")
            return self._by_alias(ident)
        return self._by_id(ident)

    def _by_id(self, key_id: str) -> KeyRecord:
        if not _KEY_ID.fullmatch(key_id):
            raise NotFoundException(f"Invalid keyId '{key_id}'")
        state = self.store.peek(self.account, self.region)
        key = None if state is None else state.keys.get(key_id)
        if key is None:
            raise NotFoundException(f"Key '{self.key_arn(key_id)}' does not exist")
        return key

    def _by_alias(self, name: str) -> KeyRecord:
        state = self.store.peek(self.account, self.region)
        entry = None if state is None else state.aliases.get(name)
        key = None if entry is None or state is None else state.keys.get(entry.target)
        if key is None:
            raise NotFoundException(f"Alias {self.alias_arn(name)} is not found.")
        return key

    def authorize(self, key: KeyRecord, action: str | None = None) -> None:
        """AccessDeniedException unless the key policy allows the action to the caller."""
        wanted = action or "kms:" + self.operation
        self.subject = key
        decision = key.compiled_policy().decide(self.principal, wanted, key.arn, self.condition)
        if decision != "allow":
            raise access_denied(self.principal, wanted, key.arn, decision)

    def condition(self, name: str) -> str | None:
        """The value of condition key ``name`` (lower case) in this request, if it has one."""
        if name.startswith("aws:"):
            if name == "aws:principalarn":
                return principal_arn(self.principal)
            if name == "aws:principalaccount":
                return self.account
            if name == "aws:requestedregion":
                return self.region
            if name == "aws:securetransport":
                return "true" if self.secure else "false"
            return None
        if name == "kms:calleraccount":
            return self.account
        subject = self.subject
        if subject is not None:
            facts = subject if isinstance(subject, KeyFacts) else KeyFacts.of(subject, self.now)
            if name == "kms:keyspec":
                return facts.spec
            if name == "kms:keyusage":
                return facts.usage
            if name == "kms:keyorigin":
                return "AWS_KMS"
            if name == "kms:multiregion":
                return "true" if facts.multi_region else "false"
            if name == "kms:multiregionkeytype":
                return facts.key_type
        return self.conditions.get(name)

    def check_state(self, key: KeyRecord, operation: str | None = None) -> str:
        """Raise the key-state table's error for this operation; return the key state."""
        state = key.key_state(self.now)
        check_key_state(operation or self.operation, state, key.arn)
        return state

    def use(
        self, ident: str, *, alias: bool = True, action: str | None = None, op: str | None = None
    ) -> KeyRecord:
        """Resolve, authorize and state-check a key for this operation."""
        key = self.resolve(ident, alias=alias)
        self.authorize(key, action)
        self.check_state(key, op)
        return key

    def new_key_id(self, multi_region: bool) -> str:
        """A key id no key of the caller's account has, in any Region."""
        for _attempt in range(100):
            raw = self.settings.random_bytes(16)
            if multi_region:
                key_id = "mrk-" + raw.hex()
            else:
                value = bytearray(raw)
                value[6] = (value[6] & 0x0F) | 0x40
                value[8] = (value[8] & 0x3F) | 0x80
                h = value.hex()
                key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if not self.store.key_id_taken(self.account, key_id):
                return key_id
        raise RuntimeError("the random source keeps repeating key ids")  # pragma: no cover

    def nonce(self) -> bytes:
        return self.settings.random_bytes(_crypto.NONCE_SIZE)

    def costly(self, name: str, make: Callable[[], _T]) -> _T:
        """The result of ``make()``, made outside the lock: call once every check passed.

        The first time, raises :class:`Prepare`; the LocalKMS calls ``make`` without the lock
        and runs the handler again with the result here.
        """
        if name in self.prepared:
            made: _T = self.prepared[name]
            return made
        raise Prepare(name, make)


class Prepare(Exception):
    """Raised by a handler that needs ``make()`` run outside the lock before it goes on."""

    def __init__(self, name: str, make: Callable[[], Any]) -> None:
        super().__init__(name)
        self.name = name
        self.make = make


def _when(seconds: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(seconds, _UTC)


def _enum_or_text(value: str | None) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- metadata


def _group_keys(shared: Shared) -> tuple[MultiRegionKey, list[MultiRegionKey], str]:
    """The primary and replica entries of a multi-Region key group, and their JSON.

    Made once per shape of the group (primary Region and member Regions) and shared by every
    member's metadata until the group changes.
    """
    shape = (shared.primary_region, tuple(shared.members))
    cached = shared.config_cache
    if cached is not None and cached[0] == shape:
        return cached[1], cached[2], cached[3]
    primary_region = shared.primary_region
    primary = shared.members.get(primary_region)
    primary_arn = (
        primary.arn
        if primary is not None
        else f"arn:{shared.partition}:kms:{primary_region}:{shared.account}:key/{shared.key_id}"
    )
    replicas = [
        MultiRegionKey(arn=member.arn, region=region)
        for region, member in shared.members.items()
        if region != primary_region
    ]
    # What the AWS JSON codec writes for these members (ARNs and Regions need no escaping).
    text = (
        f'"PrimaryKey":{{"Arn":"{primary_arn}","Region":"{primary_region}"}},"ReplicaKeys":['
        + ",".join(f'{{"Arn":"{r.arn}","Region":"{r.region}"}}' for r in replicas)
        + "]}"
    )
    entry = (shape, MultiRegionKey(arn=primary_arn, region=primary_region), replicas, text)
    shared.config_cache = entry
    return entry[1], entry[2], entry[3]


def key_metadata(key: KeyRecord, now: float, *, state: str | None = None) -> KeyMetadata:
    """The KeyMetadata DescribeKey returns for ``key`` at ``now``."""
    shared = key.shared
    spec = shared.spec
    usage = shared.usage
    current = state or key.key_state(now)
    mrc = None
    if shared.multi_region:
        primary_key, replica_keys, _text = _group_keys(shared)
        mrc = MultiRegionConfiguration(
            multi_region_key_type=(
                MultiRegionKeyType.PRIMARY if key.is_primary(now) else MultiRegionKeyType.REPLICA
            ),
            primary_key=primary_key,
            replica_keys=list(replica_keys),
        )
    encryption = ENCRYPTION_ALGORITHMS.get(spec) if usage == ENCRYPT_DECRYPT else None
    signing = SIGNING_ALGORITHMS.get(spec) if usage == SIGN_VERIFY else None
    macs = MAC_ALGORITHMS.get(spec) if usage == GENERATE_VERIFY_MAC else None
    return KeyMetadata(
        aws_account_id=shared.account,
        key_id=shared.key_id,
        arn=key.arn,
        creation_date=key.created_at(),
        enabled=current in (ENABLED, UPDATING),
        description=key.description,
        key_usage=_KEY_USAGE(usage),
        key_state=_KEY_STATE(current),
        deletion_date=(
            _when(key.deletion_date)
            if current == PENDING_DELETION and key.deletion_date is not None
            else None
        ),
        origin=OriginType.AWS_KMS,
        key_manager=KeyManagerType.CUSTOMER,
        customer_master_key_spec=_KEY_SPEC(spec),
        key_spec=_KEY_SPEC(spec),
        encryption_algorithms=None if encryption is None else [_ENC_ALG(a) for a in encryption],
        signing_algorithms=None if signing is None else [_SIG_ALG(a) for a in signing],
        key_agreement_algorithms=(
            [KeyAgreementAlgorithmSpec.ECDH] if usage == KEY_AGREEMENT else None
        ),
        mac_algorithms=None if macs is None else [_MAC_ALG(a) for a in macs],
        multi_region=shared.multi_region,
        multi_region_configuration=mrc,
        pending_deletion_window_in_days=(
            key.pending_window_days if current == PENDING_REPLICA_DELETION else None
        ),
        current_key_material_id=(
            shared.material.material_id if spec == SYMMETRIC and current != CREATING else None
        ),
    )


# The JSON of KeyMetadata, written from fragments. Member order and number formats are the AWS
# JSON codec's (tests compare the bytes with ``encode_body`` of :func:`key_metadata`).

_UTC_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
#: (spec, usage, multi-Region) -> (the "KeyUsage" member, the members from "Origin" to
#: "MultiRegion", the "MacAlgorithms" member)
_SPEC_JSON: dict[tuple[str, str, bool], tuple[str, str, str]] = {}


def _json_time(seconds: float) -> str:
    """A timestamp as the codec writes it: epoch seconds of the (microsecond) datetime."""
    delta = _dt.datetime.fromtimestamp(seconds, _UTC) - _UTC_EPOCH
    whole = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return repr((whole * 10**6 + delta.microseconds) / 10**6)
    return str(whole)


def _json_list(values: Sequence[str] | None) -> str | None:
    return None if values is None else "[" + ",".join(f'"{v}"' for v in values) + "]"


def _spec_json(spec: str, usage: str, multi_region: bool) -> tuple[str, str, str]:
    cached = _SPEC_JSON.get((spec, usage, multi_region))
    if cached is not None:
        return cached
    encryption = _json_list(ENCRYPTION_ALGORITHMS.get(spec) if usage == ENCRYPT_DECRYPT else None)
    signing = _json_list(SIGNING_ALGORITHMS.get(spec) if usage == SIGN_VERIFY else None)
    agreement = '["ECDH"]' if usage == KEY_AGREEMENT else None
    macs = _json_list(MAC_ALGORITHMS.get(spec) if usage == GENERATE_VERIFY_MAC else None)
    middle = f',"Origin":"AWS_KMS","KeyManager":"CUSTOMER","CustomerMasterKeySpec":"{spec}"'
    middle += f',"KeySpec":"{spec}"'
    for name, value in (
        ("EncryptionAlgorithms", encryption),
        ("SigningAlgorithms", signing),
        ("KeyAgreementAlgorithms", agreement),
    ):
        if value is not None:
            middle += f',"{name}":{value}'
    middle += ',"MultiRegion":' + ("true" if multi_region else "false")
    entry = (
        f',"KeyUsage":"{usage}"',
        middle,
        "" if macs is None else f',"MacAlgorithms":{macs}',
    )
    _SPEC_JSON[(spec, usage, multi_region)] = entry
    return entry


def key_metadata_json(key: KeyRecord, now: float) -> str:
    """The JSON object :func:`key_metadata` encodes to, written directly."""
    shared = key.shared
    current = key.key_state(now)
    usage_json, middle, macs = _spec_json(shared.spec, shared.usage, shared.multi_region)
    parts = [
        f'{{"AWSAccountId":"{shared.account}","KeyId":"{shared.key_id}","Arn":"{key.arn}"',
        f',"CreationDate":{_json_time(key.created)},"Enabled":',
        "true" if current in (ENABLED, UPDATING) else "false",
        ',"Description":',
        json.dumps(key.description),
        usage_json,
        f',"KeyState":"{current}"',
    ]
    if current == PENDING_DELETION and key.deletion_date is not None:
        parts.append(f',"DeletionDate":{_json_time(key.deletion_date)}')
    parts.append(middle)
    if shared.multi_region:
        kind = "PRIMARY" if key.is_primary(now) else "REPLICA"
        parts.append(f',"MultiRegionConfiguration":{{"MultiRegionKeyType":"{kind}",')
        parts.append(_group_keys(shared)[2])
    if current == PENDING_REPLICA_DELETION and key.pending_window_days is not None:
        parts.append(f',"PendingDeletionWindowInDays":{key.pending_window_days}')
    parts.append(macs)
    if shared.spec == SYMMETRIC and current != CREATING:
        parts.append(f',"CurrentKeyMaterialId":"{shared.material.material_id}"')
    parts.append("}")
    return "".join(parts)


# --------------------------------------------------------------------------- helpers


def _invalid_usage(key: KeyRecord, operation: str) -> InvalidKeyUsageException:
    return InvalidKeyUsageException(
        f"{key.arn} key usage is {key.shared.usage} which is not valid for {operation}."
    )


def _incompatible(algorithm: str, spec: str) -> InvalidKeyUsageException:
    return InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {spec}.")


def _require_symmetric(key: KeyRecord, operation: str) -> None:
    if key.shared.usage != ENCRYPT_DECRYPT:
        raise _invalid_usage(key, operation)
    if key.shared.spec != SYMMETRIC:
        raise InvalidKeyUsageException(
            f"{key.arn} key spec is {key.shared.spec} which is not valid for {operation}."
        )


def _unsupported(what: str) -> UnsupportedOperationException:
    return UnsupportedOperationException(f"{what} is not implemented by the kms-mrk local KMS")


def _region_param(value: str, member: str) -> str:
    if len(value) > 32 or not _REGION.fullmatch(value):
        raise validation_error(
            [
                f"Value '{value}' at '{member}' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$"
            ]
        )
    return value


def _check_tags(existing: dict[str, str], tags: Sequence[Tag]) -> dict[str, str]:
    """The tag set after adding ``tags``; TagException as KMS words it."""
    seen: set[str] = set()
    for tag in tags:
        if tag.tag_key.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved")
        if tag.tag_key in seen:
            raise TagException("Duplicate tag keys")
        seen.add(tag.tag_key)
    merged = dict(existing)
    for tag in tags:
        merged[tag.tag_key] = tag.tag_value
    if len(merged) > _MAX_TAGS:
        raise TagException("Too many tags")
    return merged


def _new_policy(
    ctx: Ctx, text: str | None, arn: str, facts: KeyFacts, *, bypass: bool | None
) -> tuple[str, CompiledPolicy]:
    """A validated policy for a key with ``arn`` (the default one when ``text`` is None)."""
    if text is None:
        text = default_policy(ctx.account, ctx.partition)
        return text, compile_policy(text)
    compiled = compile_policy(text)
    ctx.subject = facts
    allowed = compiled.decide(ctx.principal, "kms:PutKeyPolicy", arn, ctx.condition)
    if not bypass and allowed != "allow":
        raise MalformedPolicyDocumentException(
            "The new key policy will not allow you to update the key policy in the future."
        )
    return text, compiled


def _warn_unevaluated(compiled: CompiledPolicy, arn: str) -> None:
    """Log, when a policy is stored, the conditions the local KMS cannot evaluate in it."""
    if compiled.unsupported:
        _log.warning(
            "the key policy of %s has conditions the local KMS cannot evaluate (%s): a Deny "
            "statement with them always applies and an Allow statement with them never does",
            arn,
            ", ".join(dict.fromkeys(compiled.unsupported)),
        )


def _dry_run(flag: bool | None) -> None:
    if flag:
        raise DryRunOperationException(DRY_RUN)


def _encode_marker(position: int) -> str:
    return base64.urlsafe_b64encode(f"kms-mrk:{position}".encode()).decode("ascii")


def _decode_marker(marker: str) -> int:
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "kms-mrk":
            raise ValueError(marker)
        return int(number)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidMarkerException("Invalid marker") from None


def _page(
    items: list[_T], positions: list[int], limit: int, marker: str | None
) -> tuple[list[_T], str | None]:
    """One page of ``items`` (sorted by ``positions``) and the marker of the next page."""
    start = 0 if marker is None else bisect.bisect_left(positions, _decode_marker(marker))
    end = start + limit
    next_marker = _encode_marker(positions[end]) if end < len(items) else None
    return items[start:end], next_marker


def _limit(value: int | None, default: int, maximum: int) -> int:
    return default if value is None else min(value, maximum)


# --------------------------------------------------------------------------- key management


def create_key(ctx: Ctx, request: CreateKeyRequest) -> CreateKeyResponse:
    spec_given = _enum_or_text(request.key_spec)
    legacy = _enum_or_text(request.customer_master_key_spec)
    if spec_given is not None and legacy is not None and spec_given != legacy:
        raise ValidationException(
            "You cannot specify both KeySpec and CustomerMasterKeySpec with different values; "
            "CustomerMasterKeySpec is deprecated, use KeySpec."
        )
    spec = spec_given or legacy or SYMMETRIC
    if spec not in KEY_USAGES:
        raise _unsupported(f"KeySpec {spec}")
    usage = _enum_or_text(request.key_usage)
    if usage is None:
        if spec != SYMMETRIC:
            raise ValidationException(
                "You must specify a KeyUsage value for all KMS keys except for symmetric "
                "encryption keys."
            )
        usage = ENCRYPT_DECRYPT
    if usage not in KEY_USAGES[spec]:
        raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
    origin = _enum_or_text(request.origin) or "AWS_KMS"
    if origin != "AWS_KMS":
        raise _unsupported(f"Origin {origin} (imported key material and custom key stores)")
    if request.custom_key_store_id is not None or request.xks_key_id is not None:
        raise _unsupported("CustomKeyStoreId (custom key stores)")
    tags = _check_tags({}, request.tags or [])
    multi_region = bool(request.multi_region)
    key_id = ctx.new_key_id(multi_region)
    arn = ctx.key_arn(key_id)
    facts = KeyFacts(spec, usage, multi_region, "PRIMARY" if multi_region else None)
    policy, compiled = _new_policy(
        ctx, request.policy, arn, facts, bypass=request.bypass_policy_lockout_safety_check
    )
    random_bytes = ctx.settings.random_bytes
    if spec in _crypto.RSA_SIZES:  # seconds for RSA_4096: only once the request is accepted
        material = ctx.costly(f"material {spec}", lambda: _crypto.new_material(spec, random_bytes))
    else:
        material = _crypto.new_material(spec, random_bytes)
    _warn_unevaluated(compiled, arn)
    shared = Shared(
        key_id=key_id,
        account=ctx.account,
        partition=ctx.partition,
        spec=spec,
        usage=usage,
        material=material,
        multi_region=multi_region,
        primary_region=ctx.region,
    )
    key = KeyRecord(
        shared=shared,
        region=ctx.region,
        created=ctx.now,
        description=request.description or "",
        policy=policy,
        seq=ctx.store.next_seq(),
    )
    key.set_policy(policy, compiled)
    key.tags = tags
    ctx.store.add_key(key)
    ctx.store.changed()
    return CreateKeyResponse(key_metadata=key_metadata(key, ctx.now))


def _fingerprint(key: KeyRecord) -> tuple[Any, ...]:
    """Everything KeyMetadata depends on besides the time and what never changes."""
    shared = key.shared
    return (
        key.state,
        key.description,
        key.deletion_date,
        key.pending_window_days,
        key.creating_until,
        key.updating_until,
        shared.primary_region,
        tuple(shared.members),
    )


def _valid_until(key: KeyRecord, now: float) -> float:
    """Until when a DescribeKey answer stays true if nothing changes: the next timed boundary
    (end of Creating or Updating); deletions remove the key, so they need no boundary."""
    until = math.inf
    if key.creating_until > now:
        until = key.creating_until
    if now < key.updating_until < until:
        until = key.updating_until
    return until


def describe_key(ctx: Ctx, request: DescribeKeyRequest) -> DescribeKeyResponse:
    key = ctx.use(request.key_id)
    fingerprint = _fingerprint(key)
    cached = key.cache
    if cached is not None and ctx.now < cached[1] and cached[0] == fingerprint:
        response: DescribeKeyResponse = cached[2]
        return response
    response = DescribeKeyResponse(key_metadata=key_metadata(key, ctx.now))
    key.cache = (fingerprint, _valid_until(key, ctx.now), response)
    return response


def describe_key_body(ctx: Ctx, request: DescribeKeyRequest) -> bytes:
    """The body :func:`describe_key` answers with, kept per key until the key changes."""
    key = ctx.use(request.key_id)
    fingerprint = _fingerprint(key)
    cached = key.body_cache
    if cached is not None and ctx.now < cached[1] and cached[0] == fingerprint:
        return cached[2]
    text = '{"KeyMetadata":' + key_metadata_json(key, ctx.now) + "}"
    body = text.encode("ascii")
    key.body_cache = (fingerprint, _valid_until(key, ctx.now), body)
    return body


def list_keys(ctx: Ctx, request: ListKeysRequest) -> ListKeysResponse:
    state = ctx.store.peek(ctx.account, ctx.region)
    keys = [] if state is None else list(state.keys.values())
    page, marker = _page(
        keys, [k.seq for k in keys], _limit(request.limit, 100, 1000), request.marker
    )
    return ListKeysResponse(
        keys=[KeyListEntry(key_id=k.key_id, key_arn=k.arn) for k in page],
        next_marker=marker,
        truncated=marker is not None,
    )


def enable_key(ctx: Ctx, request: EnableKeyRequest) -> EnableKeyResponse:
    key = ctx.use(request.key_id, alias=False)
    if key.state != ENABLED:
        key.state = ENABLED
        ctx.store.changed()
    return EnableKeyResponse()


def disable_key(ctx: Ctx, request: DisableKeyRequest) -> DisableKeyResponse:
    key = ctx.use(request.key_id, alias=False)
    if key.state != DISABLED:
        key.state = DISABLED
        ctx.store.changed()
    return DisableKeyResponse()


def schedule_key_deletion(
    ctx: Ctx, request: ScheduleKeyDeletionRequest
) -> ScheduleKeyDeletionResponse:
    key = ctx.use(request.key_id, alias=False)
    days = 30 if request.pending_window_in_days is None else request.pending_window_in_days
    if not 7 <= days <= 30:
        bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
        raise validation_error(
            [
                f"Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: "
                f"Member must have value {bound}"
            ]
        )
    shared = key.shared
    key.pending_window_days = days
    ctx.store.changed()
    if shared.multi_region and key.region == shared.primary_region and len(shared.members) > 1:
        # The waiting period starts when the last replica is deleted.
        key.state = PENDING_REPLICA_DELETION
        key.deletion_date = None
        return ScheduleKeyDeletionResponse(
            key_id=key.arn,
            key_state=KeyState.PENDING_REPLICA_DELETION,
            pending_window_in_days=days,
        )
    key.state = PENDING_DELETION
    key.deletion_date = ctx.now + days * DAY
    ctx.store.schedule(key.deletion_date)
    return ScheduleKeyDeletionResponse(
        key_id=key.arn,
        deletion_date=_when(key.deletion_date),
        key_state=KeyState.PENDING_DELETION,
        pending_window_in_days=days,
    )


def cancel_key_deletion(ctx: Ctx, request: CancelKeyDeletionRequest) -> CancelKeyDeletionResponse:
    key = ctx.use(request.key_id, alias=False)
    key.state = DISABLED
    key.deletion_date = None
    key.pending_window_days = None
    ctx.store.changed()
    return CancelKeyDeletionResponse(key_id=key.arn)


def update_key_description(
    ctx: Ctx, request: UpdateKeyDescriptionRequest
) -> UpdateKeyDescriptionResponse:
    key = ctx.use(request.key_id, alias=False)
    key.description = request.description
    ctx.store.changed()
    return UpdateKeyDescriptionResponse()


# --------------------------------------------------------------------------- multi-Region keys


def _same_partition(region: str, partition: str) -> None:
    """ValidationException unless ``region`` is in ``partition`` (related keys never leave it)."""
    from kms_mrk.arn import partition_for_region

    if partition_for_region(region) != partition:
        raise ValidationException(
            f"Region {region} is not in partition {partition}; multi-Region keys are "
            "replicated within one partition."
        )


def _not_primary(key: KeyRecord) -> UnsupportedOperationException:
    return UnsupportedOperationException(f"{key.arn} is not a multi-region primary key.")


def replicate_key(ctx: Ctx, request: ReplicateKeyRequest) -> ReplicateKeyResponse:
    key = ctx.resolve(request.key_id, alias=False)
    ctx.conditions["kms:replicaregion"] = request.replica_region
    ctx.authorize(key)
    shared = key.shared
    if not shared.multi_region or key.region != shared.primary_region:
        raise _not_primary(key)
    ctx.check_state(key)
    target = _region_param(request.replica_region, "replicaRegion")
    if target == key.region:
        raise ValidationException(
            f"The replica Region must differ from the primary key's Region ({key.region})."
        )
    _same_partition(target, shared.partition)
    if target in shared.members:
        raise AlreadyExistsException(
            f"Multi-Region key {shared.key_id} already has a replica in {target}."
        )
    replica_arn = ctx.key_arn(shared.key_id, target)
    tags = _check_tags({}, request.tags or [])
    facts = KeyFacts(shared.spec, shared.usage, True, "REPLICA")
    policy, compiled = _new_policy(
        ctx, request.policy, replica_arn, facts, bypass=request.bypass_policy_lockout_safety_check
    )
    replica = KeyRecord(
        shared=shared,
        region=target,
        created=ctx.now,
        description=request.description or "",
        policy=policy,
        seq=ctx.store.next_seq(),
        creating_until=ctx.now + ctx.settings.creating_seconds,
    )
    _warn_unevaluated(compiled, replica_arn)
    replica.set_policy(policy, compiled)
    replica.tags = tags
    ctx.store.add_key(replica)
    ctx.store.changed()
    return ReplicateKeyResponse(
        replica_key_metadata=key_metadata(replica, ctx.now, state=CREATING),
        replica_policy=policy,
        replica_tags=[Tag(tag_key=k, tag_value=v) for k, v in tags.items()] or None,
    )


def update_primary_region(
    ctx: Ctx, request: UpdatePrimaryRegionRequest
) -> UpdatePrimaryRegionResponse:
    key = ctx.resolve(request.key_id, alias=False)
    ctx.conditions["kms:primaryregion"] = request.primary_region
    ctx.authorize(key)
    shared = key.shared
    if not shared.multi_region:
        raise UnsupportedOperationException(f"{key.arn} is not a multi-region key.")
    if key.region != shared.primary_region:
        raise _not_primary(key)
    target_region = _region_param(request.primary_region, "primaryRegion")
    if target_region == key.region:
        raise ValidationException(f"{key.arn} is already the primary key in {target_region}.")
    _same_partition(target_region, shared.partition)
    target = shared.members.get(target_region)
    if target is None:
        raise NotFoundException(f"Key '{ctx.key_arn(shared.key_id, target_region)}' does not exist")
    ctx.authorize(target)
    ctx.check_state(key)
    ctx.check_state(target)
    shared.primary_region = target_region
    until = ctx.now + ctx.settings.updating_seconds
    key.updating_until = until
    target.updating_until = until
    ctx.store.changed()
    return UpdatePrimaryRegionResponse()


# --------------------------------------------------------------------------- cryptography


def _encrypt_with(
    ctx: Ctx,
    key: KeyRecord,
    plaintext: bytes,
    context: dict[str, str] | None,
    algorithm: str,
    operation: str,
) -> bytes:
    shared = key.shared
    if shared.usage != ENCRYPT_DECRYPT:
        raise _invalid_usage(key, operation)
    if algorithm not in ENCRYPTION_ALGORITHMS.get(shared.spec, ()):
        raise _incompatible(algorithm, shared.spec)
    if shared.spec == SYMMETRIC:
        return _crypto.encrypt_symmetric(
            shared.material, shared.key_id, plaintext, context, ctx.nonce()
        )
    if context:
        raise ValidationException("EncryptionContext is not supported with asymmetric KMS keys.")
    limit = _crypto.rsa_max_plaintext(shared.spec, algorithm)
    if len(plaintext) > limit:
        raise ValidationException(
            f"Algorithm {algorithm} and key spec {shared.spec} cannot encrypt data larger "
            f"than {limit} bytes."
        )
    return _crypto.rsa_encrypt(shared.material, algorithm, plaintext)


def _decrypt_with(
    ctx: Ctx,
    blob: bytes | None,
    key_id: str | None,
    context: dict[str, str] | None,
    algorithm: str,
    action: str,
    member: str,
    dry_run: bool | None,
) -> tuple[KeyRecord, bytes]:
    """Find the key for ``blob``, check it, and decrypt: (key, plaintext)."""
    if blob is None:
        raise validation_error(
            [f"Value null at '{member}' failed to satisfy constraint: Member must not be null"]
        )
    given = ctx.resolve(key_id, alias=True) if key_id is not None else None
    if algorithm == SYMMETRIC:
        try:
            blob_key_id = _crypto.key_id_of_blob(blob)
        except _crypto.CryptoError:
            raise InvalidCiphertextException() from None
        if given is not None:
            if given.key_id != blob_key_id:
                raise IncorrectKeyException(INCORRECT_KEY)
            key = given
        else:
            state = ctx.store.peek(ctx.account, ctx.region)
            found = None if state is None else state.keys.get(blob_key_id)
            if found is None:
                raise InvalidCiphertextException()
            key = found
        ctx.authorize(key, action)
        ctx.check_state(key)
        if key.shared.spec != SYMMETRIC:
            raise IncorrectKeyException(INCORRECT_KEY)
        _dry_run(dry_run)
        try:
            return key, _crypto.decrypt_symmetric(key.shared.material, blob, context)
        except _crypto.CryptoError:
            raise InvalidCiphertextException() from None
    if given is None:
        raise InvalidCiphertextException()
    key = given
    ctx.authorize(key, action)
    ctx.check_state(key)
    if key.shared.usage != ENCRYPT_DECRYPT:
        raise IncorrectKeyException(INCORRECT_KEY)
    if algorithm not in ENCRYPTION_ALGORITHMS.get(key.shared.spec, ()):
        raise _incompatible(algorithm, key.shared.spec)
    _dry_run(dry_run)
    try:
        return key, _crypto.rsa_decrypt(key.shared.material, algorithm, blob)
    except _crypto.CryptoError:
        raise InvalidCiphertextException() from None


def _material_id(key: KeyRecord) -> str | None:
    return key.shared.material.material_id if key.shared.spec == SYMMETRIC else None


def encrypt(ctx: Ctx, request: EncryptRequest) -> EncryptResponse:
    key = ctx.use(request.key_id)
    algorithm = _enum_or_text(request.encryption_algorithm) or SYMMETRIC
    blob = _encrypt_with(
        ctx, key, request.plaintext, request.encryption_context, algorithm, "Encrypt"
    )
    _dry_run(request.dry_run)
    return EncryptResponse(
        ciphertext_blob=blob, key_id=key.arn, encryption_algorithm=_ENC_ALG(algorithm)
    )


def decrypt(ctx: Ctx, request: DecryptRequest) -> DecryptResponse:
    if request.recipient is not None:
        raise _unsupported("Decrypt with a Recipient (Nitro Enclaves)")
    algorithm = _enum_or_text(request.encryption_algorithm) or SYMMETRIC
    key, plaintext = _decrypt_with(
        ctx,
        request.ciphertext_blob,
        request.key_id,
        request.encryption_context,
        algorithm,
        "kms:Decrypt",
        "ciphertextBlob",
        request.dry_run,
    )
    return DecryptResponse(
        key_id=key.arn,
        plaintext=plaintext,
        encryption_algorithm=_ENC_ALG(algorithm),
        key_material_id=_material_id(key),
    )


def re_encrypt(ctx: Ctx, request: ReEncryptRequest) -> ReEncryptResponse:
    source_algorithm = _enum_or_text(request.source_encryption_algorithm) or SYMMETRIC
    destination_algorithm = _enum_or_text(request.destination_encryption_algorithm) or SYMMETRIC
    source, plaintext = _decrypt_with(
        ctx,
        request.ciphertext_blob,
        request.source_key_id,
        request.source_encryption_context,
        source_algorithm,
        "kms:ReEncryptFrom",
        "ciphertextBlob",
        None,
    )
    destination = ctx.use(request.destination_key_id, action="kms:ReEncryptTo")
    blob = _encrypt_with(
        ctx,
        destination,
        plaintext,
        request.destination_encryption_context,
        destination_algorithm,
        "ReEncrypt",
    )
    _dry_run(request.dry_run)
    return ReEncryptResponse(
        ciphertext_blob=blob,
        source_key_id=source.arn,
        key_id=destination.arn,
        source_encryption_algorithm=_ENC_ALG(source_algorithm),
        destination_encryption_algorithm=_ENC_ALG(destination_algorithm),
        source_key_material_id=_material_id(source),
        destination_key_material_id=_material_id(destination),
    )


def _data_key_size(number_of_bytes: int | None, key_spec: str | None) -> int:
    if (number_of_bytes is None) == (key_spec is None):
        raise ValidationException("Please specify either number of bytes or key spec.")
    if number_of_bytes is not None:
        return number_of_bytes
    return 16 if key_spec == "AES_128" else 32


def generate_data_key(ctx: Ctx, request: GenerateDataKeyRequest) -> GenerateDataKeyResponse:
    if request.recipient is not None:
        raise _unsupported("GenerateDataKey with a Recipient (Nitro Enclaves)")
    key = ctx.use(request.key_id)
    _require_symmetric(key, "GenerateDataKey")
    size = _data_key_size(request.number_of_bytes, _enum_or_text(request.key_spec))
    _dry_run(request.dry_run)
    plaintext = ctx.settings.random_bytes(size)
    blob = _crypto.encrypt_symmetric(
        key.shared.material, key.key_id, plaintext, request.encryption_context, ctx.nonce()
    )
    return GenerateDataKeyResponse(
        ciphertext_blob=blob,
        plaintext=plaintext,
        key_id=key.arn,
        key_material_id=_material_id(key),
    )


def generate_data_key_without_plaintext(
    ctx: Ctx, request: GenerateDataKeyWithoutPlaintextRequest
) -> GenerateDataKeyWithoutPlaintextResponse:
    key = ctx.use(request.key_id)
    _require_symmetric(key, "GenerateDataKeyWithoutPlaintext")
    size = _data_key_size(request.number_of_bytes, _enum_or_text(request.key_spec))
    _dry_run(request.dry_run)
    blob = _crypto.encrypt_symmetric(
        key.shared.material,
        key.key_id,
        ctx.settings.random_bytes(size),
        request.encryption_context,
        ctx.nonce(),
    )
    return GenerateDataKeyWithoutPlaintextResponse(
        ciphertext_blob=blob, key_id=key.arn, key_material_id=_material_id(key)
    )


def _key_pair(
    ctx: Ctx,
    request: GenerateDataKeyPairRequest | GenerateDataKeyPairWithoutPlaintextRequest,
    operation: str,
) -> tuple[KeyRecord, bytes, bytes, bytes, str]:
    key = ctx.use(request.key_id)
    _require_symmetric(key, operation)
    spec = str(request.key_pair_spec)
    if spec not in DATA_KEY_PAIR_SPECS:
        raise _unsupported(f"KeyPairSpec {spec}")
    _dry_run(request.dry_run)
    private_der, public_der = ctx.costly(
        f"key pair {spec}", lambda: _crypto.generate_data_key_pair(spec)
    )
    blob = _crypto.encrypt_symmetric(
        key.shared.material, key.key_id, private_der, request.encryption_context, ctx.nonce()
    )
    return key, blob, private_der, public_der, spec


def generate_data_key_pair(
    ctx: Ctx, request: GenerateDataKeyPairRequest
) -> GenerateDataKeyPairResponse:
    if request.recipient is not None:
        raise _unsupported("GenerateDataKeyPair with a Recipient (Nitro Enclaves)")
    key, blob, private_der, public_der, spec = _key_pair(ctx, request, "GenerateDataKeyPair")
    return GenerateDataKeyPairResponse(
        private_key_ciphertext_blob=blob,
        private_key_plaintext=private_der,
        public_key=public_der,
        key_id=key.arn,
        key_pair_spec=_PAIR_SPEC(spec),
        key_material_id=_material_id(key),
    )


def generate_data_key_pair_without_plaintext(
    ctx: Ctx, request: GenerateDataKeyPairWithoutPlaintextRequest
) -> GenerateDataKeyPairWithoutPlaintextResponse:
    key, blob, _private, public_der, spec = _key_pair(
        ctx, request, "GenerateDataKeyPairWithoutPlaintext"
    )
    return GenerateDataKeyPairWithoutPlaintextResponse(
        private_key_ciphertext_blob=blob,
        public_key=public_der,
        key_id=key.arn,
        key_pair_spec=_PAIR_SPEC(spec),
        key_material_id=_material_id(key),
    )


def generate_random(ctx: Ctx, request: GenerateRandomRequest) -> GenerateRandomResponse:
    if request.custom_key_store_id is not None:
        raise _unsupported("GenerateRandom in a custom key store")
    if request.recipient is not None:
        raise _unsupported("GenerateRandom with a Recipient (Nitro Enclaves)")
    if request.number_of_bytes is None:
        raise ValidationException("NumberOfBytes is required.")
    return GenerateRandomResponse(plaintext=ctx.settings.random_bytes(request.number_of_bytes))


def _signing_key(
    ctx: Ctx, request: SignRequest | VerifyRequest, operation: str
) -> tuple[KeyRecord, str, bool]:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.usage != SIGN_VERIFY:
        raise _invalid_usage(key, operation)
    algorithm = str(request.signing_algorithm)
    if algorithm not in SIGNING_ALGORITHMS.get(shared.spec, ()):
        raise _incompatible(algorithm, shared.spec)
    message_type = _enum_or_text(request.message_type) or "RAW"
    if message_type not in ("RAW", "DIGEST"):
        raise ValidationException(
            f"MessageType {message_type} is not valid with key spec {shared.spec}."
        )
    digest = message_type == "DIGEST"
    if digest and len(request.message) != _crypto.digest_size(algorithm):
        raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
    _dry_run(request.dry_run)
    return key, algorithm, digest


def sign(ctx: Ctx, request: SignRequest) -> SignResponse:
    key, algorithm, digest = _signing_key(ctx, request, "Sign")
    signature = _crypto.sign(key.shared.material, algorithm, request.message, digest=digest)
    return SignResponse(key_id=key.arn, signature=signature, signing_algorithm=_SIG_ALG(algorithm))


def verify(ctx: Ctx, request: VerifyRequest) -> VerifyResponse:
    key, algorithm, digest = _signing_key(ctx, request, "Verify")
    if not _crypto.verify(
        key.shared.material, algorithm, request.message, request.signature, digest=digest
    ):
        raise KMSInvalidSignatureException()
    return VerifyResponse(
        key_id=key.arn, signature_valid=True, signing_algorithm=_SIG_ALG(algorithm)
    )


def get_public_key(ctx: Ctx, request: GetPublicKeyRequest) -> GetPublicKeyResponse:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.material.kind not in ("rsa", "ecc"):
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {shared.spec} which is not valid for GetPublicKey."
        )
    usage = shared.usage
    encryption = ENCRYPTION_ALGORITHMS.get(shared.spec) if usage == ENCRYPT_DECRYPT else None
    signing = SIGNING_ALGORITHMS.get(shared.spec) if usage == SIGN_VERIFY else None
    return GetPublicKeyResponse(
        key_id=key.arn,
        public_key=shared.material.public_key_der(),
        customer_master_key_spec=_KEY_SPEC(shared.spec),
        key_spec=_KEY_SPEC(shared.spec),
        key_usage=_KEY_USAGE(usage),
        encryption_algorithms=None if encryption is None else [_ENC_ALG(a) for a in encryption],
        signing_algorithms=None if signing is None else [_SIG_ALG(a) for a in signing],
        key_agreement_algorithms=(
            [KeyAgreementAlgorithmSpec.ECDH] if usage == KEY_AGREEMENT else None
        ),
    )


def _mac_key(
    ctx: Ctx, request: GenerateMacRequest | VerifyMacRequest, operation: str
) -> tuple[KeyRecord, str]:
    key = ctx.use(request.key_id)
    shared = key.shared
    if shared.usage != GENERATE_VERIFY_MAC:
        raise _invalid_usage(key, operation)
    algorithm = str(request.mac_algorithm)
    if algorithm not in MAC_ALGORITHMS.get(shared.spec, ()):
        raise _incompatible(algorithm, shared.spec)
    _dry_run(request.dry_run)
    return key, algorithm


def generate_mac(ctx: Ctx, request: GenerateMacRequest) -> GenerateMacResponse:
    key, algorithm = _mac_key(ctx, request, "GenerateMac")
    return GenerateMacResponse(
        mac=_crypto.mac(key.shared.material, algorithm, request.message),
        mac_algorithm=_MAC_ALG(algorithm),
        key_id=key.arn,
    )


def verify_mac(ctx: Ctx, request: VerifyMacRequest) -> VerifyMacResponse:
    import hmac

    key, algorithm = _mac_key(ctx, request, "VerifyMac")
    expected = _crypto.mac(key.shared.material, algorithm, request.message)
    if not hmac.compare_digest(expected, request.mac):
        raise KMSInvalidMacException()
    return VerifyMacResponse(key_id=key.arn, mac_valid=True, mac_algorithm=_MAC_ALG(algorithm))


# --------------------------------------------------------------------------- aliases


def _alias_name(name: str, *, creating: bool) -> str:
    if not name.startswith("alias/"):
        raise ValidationException(
            'Alias must start with the prefix "alias/". Please see '
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
        )
    if not _ALIAS_PATTERN.fullmatch(name):
        raise validation_error(
            [
                f"Value '{name}' at 'aliasName' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            ]
        )
    if creating and name.startswith("alias/aws/"):
        raise InvalidAliasNameException(
            f"Alias {name} cannot begin with alias/aws/: that prefix is reserved for AWS "
            "managed keys."
        )
    if name == "alias/":
        raise InvalidAliasNameException("An alias name needs characters after alias/.")
    return name


def _kind(key: KeyRecord) -> str:
    return {"symmetric": "symmetric", "hmac": "hmac"}.get(key.shared.material.kind, "asymmetric")


def create_alias(ctx: Ctx, request: CreateAliasRequest) -> CreateAliasResponse:
    name = _alias_name(request.alias_name, creating=True)
    here = ctx.here()
    if name in here.aliases:
        raise AlreadyExistsException(f"An alias with the name {ctx.alias_arn(name)} already exists")
    key = ctx.use(request.target_key_id, alias=False)
    here.aliases[name] = Alias(
        name=name,
        arn=ctx.alias_arn(name),
        target=key.key_id,
        created=ctx.now,
        seq=ctx.store.next_seq(),
    )
    ctx.store.changed()
    return CreateAliasResponse()


def update_alias(ctx: Ctx, request: UpdateAliasRequest) -> UpdateAliasResponse:
    name = _alias_name(request.alias_name, creating=False)
    here = ctx.here()
    entry = here.aliases.get(name)
    if entry is None:
        raise NotFoundException(f"Alias {ctx.alias_arn(name)} is not found.")
    key = ctx.use(request.target_key_id, alias=False)
    current = here.keys.get(entry.target)
    if current is not None:
        ctx.authorize(current)
        if _kind(current) != _kind(key) or current.shared.usage != key.shared.usage:
            raise ValidationException(
                f"{key.arn} cannot replace the alias target {current.arn}: the current and new "
                "keys must be of the same type (symmetric, asymmetric or HMAC) and key usage."
            )
    entry.target = key.key_id
    entry.updated = ctx.now
    ctx.store.changed()
    return UpdateAliasResponse()


def delete_alias(ctx: Ctx, request: DeleteAliasRequest) -> DeleteAliasResponse:
    name = _alias_name(request.alias_name, creating=False)
    here = ctx.here()
    entry = here.aliases.get(name)
    if entry is None:
        raise NotFoundException(f"Alias {ctx.alias_arn(name)} is not found.")
    target = here.keys.get(entry.target)
    if target is not None:
        ctx.authorize(target)
    del here.aliases[name]
    ctx.store.changed()
    return DeleteAliasResponse()


def list_aliases(ctx: Ctx, request: ListAliasesRequest) -> ListAliasesResponse:
    state = ctx.store.peek(ctx.account, ctx.region)
    aliases = [] if state is None else sorted(state.aliases.values(), key=lambda a: a.seq)
    if request.key_id is not None:
        key = ctx.resolve(request.key_id, alias=False)
        aliases = [a for a in aliases if a.target == key.key_id]
    page, marker = _page(
        aliases, [a.seq for a in aliases], _limit(request.limit, 50, 100), request.marker
    )
    return ListAliasesResponse(
        aliases=[
            AliasListEntry(
                alias_name=a.name,
                alias_arn=a.arn,
                target_key_id=a.target,
                creation_date=_when(a.created),
                last_updated_date=_when(a.updated),
            )
            for a in page
        ],
        next_marker=marker,
        truncated=marker is not None,
    )


# --------------------------------------------------------------------------- tags


def tag_resource(ctx: Ctx, request: TagResourceRequest) -> TagResourceResponse:
    key = ctx.use(request.key_id, alias=False)
    key.tags = _check_tags(key.tags, request.tags)
    ctx.store.changed()
    return TagResourceResponse()


def untag_resource(ctx: Ctx, request: UntagResourceRequest) -> UntagResourceResponse:
    key = ctx.use(request.key_id, alias=False)
    for name in request.tag_keys:
        key.tags.pop(name, None)
    ctx.store.changed()
    return UntagResourceResponse()


def list_resource_tags(ctx: Ctx, request: ListResourceTagsRequest) -> ListResourceTagsResponse:
    key = ctx.use(request.key_id, alias=False)
    tags = [Tag(tag_key=k, tag_value=v) for k, v in key.tags.items()]
    page, marker = _page(
        tags, list(range(len(tags))), _limit(request.limit, 50, 50), request.marker
    )
    return ListResourceTagsResponse(tags=page, next_marker=marker, truncated=marker is not None)


# --------------------------------------------------------------------------- key policies


def _policy_name(name: str | None) -> str:
    if name is not None and name != "default":
        raise NotFoundException(f"No such policy: {name} (a KMS key has one policy, 'default')")
    return "default"


def get_key_policy(ctx: Ctx, request: GetKeyPolicyRequest) -> GetKeyPolicyResponse:
    key = ctx.use(request.key_id, alias=False)
    return GetKeyPolicyResponse(policy=key.policy, policy_name=_policy_name(request.policy_name))


def put_key_policy(ctx: Ctx, request: PutKeyPolicyRequest) -> PutKeyPolicyResponse:
    key = ctx.use(request.key_id, alias=False)
    _policy_name(request.policy_name)
    policy, compiled = _new_policy(
        ctx,
        request.policy,
        key.arn,
        KeyFacts.of(key, ctx.now),
        bypass=request.bypass_policy_lockout_safety_check,
    )
    _warn_unevaluated(compiled, key.arn)
    key.set_policy(policy, compiled)
    ctx.store.changed()
    return PutKeyPolicyResponse()


def list_key_policies(ctx: Ctx, request: ListKeyPoliciesRequest) -> ListKeyPoliciesResponse:
    ctx.use(request.key_id, alias=False)
    return ListKeyPoliciesResponse(policy_names=["default"], truncated=False)


# --------------------------------------------------------------------------- rotation


def _rotation_key(ctx: Ctx, key_id: str) -> KeyRecord:
    key = ctx.use(key_id, alias=False)
    shared = key.shared
    if shared.spec != SYMMETRIC:
        raise UnsupportedOperationException(
            f"{key.arn} key spec is {shared.spec} which is not valid for {ctx.operation}."
        )
    return key


def enable_key_rotation(ctx: Ctx, request: EnableKeyRotationRequest) -> EnableKeyRotationResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if shared.multi_region and key.region != shared.primary_region:
        raise _not_primary(key)
    shared.rotation_enabled = True
    shared.rotation_period_days = request.rotation_period_in_days or 365
    shared.rotation_started = ctx.now
    ctx.store.changed()
    return EnableKeyRotationResponse()


def disable_key_rotation(
    ctx: Ctx, request: DisableKeyRotationRequest
) -> DisableKeyRotationResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if shared.multi_region and key.region != shared.primary_region:
        raise _not_primary(key)
    shared.rotation_enabled = False
    shared.rotation_period_days = None
    shared.rotation_started = None
    ctx.store.changed()
    return DisableKeyRotationResponse()


def get_key_rotation_status(
    ctx: Ctx, request: GetKeyRotationStatusRequest
) -> GetKeyRotationStatusResponse:
    key = _rotation_key(ctx, request.key_id)
    shared = key.shared
    if not shared.rotation_enabled:
        return GetKeyRotationStatusResponse(key_rotation_enabled=False, key_id=key.arn)
    period = shared.rotation_period_days or 365
    started = shared.rotation_started if shared.rotation_started is not None else key.created
    return GetKeyRotationStatusResponse(
        key_rotation_enabled=True,
        key_id=key.arn,
        rotation_period_in_days=period,
        next_rotation_date=_when(started + period * DAY),
    )


# --------------------------------------------------------------------------- registry


class Handler:
    """An operation the local KMS implements."""

    __slots__ = ("function", "mutating", "name", "request_type", "wire")

    def __init__(
        self,
        name: str,
        request_type: type[Shape],
        function: Callable[[Ctx, Any], Response],
        *,
        mutating: bool = False,
        wire: Callable[[Ctx, Any], bytes] | None = None,
    ) -> None:
        self.name = name
        self.request_type = request_type
        self.function = function
        self.mutating = mutating
        #: writes the response body itself (what ``function`` answers, as AWS JSON 1.1)
        self.wire = wire


def _h(
    name: str,
    request_type: type[Shape],
    function: Callable[[Ctx, Any], Response],
    *,
    mutating: bool = False,
    wire: Callable[[Ctx, Any], bytes] | None = None,
) -> tuple[str, Handler]:
    return name, Handler(name, request_type, function, mutating=mutating, wire=wire)


HANDLERS: Final[dict[str, Handler]] = dict(
    (
        _h("CreateKey", CreateKeyRequest, create_key, mutating=True),
        _h("DescribeKey", DescribeKeyRequest, describe_key, wire=describe_key_body),
        _h("ListKeys", ListKeysRequest, list_keys),
        _h("EnableKey", EnableKeyRequest, enable_key, mutating=True),
        _h("DisableKey", DisableKeyRequest, disable_key, mutating=True),
        _h("ScheduleKeyDeletion", ScheduleKeyDeletionRequest, schedule_key_deletion, mutating=True),
        _h("CancelKeyDeletion", CancelKeyDeletionRequest, cancel_key_deletion, mutating=True),
        _h(
            "UpdateKeyDescription",
            UpdateKeyDescriptionRequest,
            update_key_description,
            mutating=True,
        ),
        _h("ReplicateKey", ReplicateKeyRequest, replicate_key, mutating=True),
        _h("UpdatePrimaryRegion", UpdatePrimaryRegionRequest, update_primary_region, mutating=True),
        _h("Encrypt", EncryptRequest, encrypt),
        _h("Decrypt", DecryptRequest, decrypt),
        _h("ReEncrypt", ReEncryptRequest, re_encrypt),
        _h("GenerateDataKey", GenerateDataKeyRequest, generate_data_key),
        _h(
            "GenerateDataKeyWithoutPlaintext",
            GenerateDataKeyWithoutPlaintextRequest,
            generate_data_key_without_plaintext,
        ),
        _h(
            "GenerateDataKeyPair",
            GenerateDataKeyPairRequest,
            generate_data_key_pair,
        ),
        _h(
            "GenerateDataKeyPairWithoutPlaintext",
            GenerateDataKeyPairWithoutPlaintextRequest,
            generate_data_key_pair_without_plaintext,
        ),
        _h("GenerateRandom", GenerateRandomRequest, generate_random),
        _h("Sign", SignRequest, sign),
        _h("Verify", VerifyRequest, verify),
        _h("GetPublicKey", GetPublicKeyRequest, get_public_key),
        _h("GenerateMac", GenerateMacRequest, generate_mac),
        _h("VerifyMac", VerifyMacRequest, verify_mac),
        _h("CreateAlias", CreateAliasRequest, create_alias, mutating=True),
        _h("UpdateAlias", UpdateAliasRequest, update_alias, mutating=True),
        _h("DeleteAlias", DeleteAliasRequest, delete_alias, mutating=True),
        _h("ListAliases", ListAliasesRequest, list_aliases),
        _h("TagResource", TagResourceRequest, tag_resource, mutating=True),
        _h("UntagResource", UntagResourceRequest, untag_resource, mutating=True),
        _h("ListResourceTags", ListResourceTagsRequest, list_resource_tags),
        _h("GetKeyPolicy", GetKeyPolicyRequest, get_key_policy),
        _h("PutKeyPolicy", PutKeyPolicyRequest, put_key_policy, mutating=True),
        _h("ListKeyPolicies", ListKeyPoliciesRequest, list_key_policies),
        _h("EnableKeyRotation", EnableKeyRotationRequest, enable_key_rotation, mutating=True),
        _h("DisableKeyRotation", DisableKeyRotationRequest, disable_key_rotation, mutating=True),
        _h("GetKeyRotationStatus", GetKeyRotationStatusRequest, get_key_rotation_status),
    )
)
