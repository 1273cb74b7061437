"""LocalKMS: the embedded KMS, a Transport that answers KMS requests in process.

One request, end to end (``send``)::

    X-Amz-Target -> operation             UnknownOperationException / UnsupportedOperationException
    Authorization -> access key, Region   SigV4 scope; IncompleteSignatureException when the
                                          header is malformed; verified when verify_signatures
    access key -> principal -> account    ``principals`` (default: the account root)
    fault rules                            injected errors and latency
    body -> typed request                  SerializationException / ValidationException
    validate                               ValidationException, in KMS's wording
    handler (state lock held)              typed response or a modeled KMS exception
    persist (mutating requests)            before answering, without the state lock; a failed
                                          write undoes the change (KMSInternalException)
    typed response -> body                 DescribeKey writes its body itself (cached)

:meth:`LocalKMS.handle` enters the same path with a typed request (no wire). Unexpected
errors become ``KMSInternalException`` with a generic message and are logged with their
traceback under the ``kms_mrk.local`` logger; plaintext and key material are never logged.

One lock guards the state. Handlers are short (dictionary lookups and one cryptographic
operation); RSA key generation runs without the lock once the handler has checked the request
(see :class:`~kms_mrk.local._handlers.Prepare`), and the state file is written after the lock
is released.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import logging
import os
import random
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kms_mrk.commands import OPERATIONS
from kms_mrk.errors import (
    ConfigurationError,
    ConnectError,
    IncompleteSignatureException,
    KMSInternalException,
    SerializationException,
    ServiceException,
    UnknownOperationException,
    UnsupportedOperationException,
    error_class_for_code,
)
from kms_mrk.errors._base import ResponseParseError
from kms_mrk.local._clock import ManualClock, system_clock
from kms_mrk.local._crypto import require_cryptography
from kms_mrk.local._faults import FaultInjector, default_status
from kms_mrk.local._handlers import HANDLERS, Ctx, Handler, Prepare, Settings, key_metadata
from kms_mrk.local._persist import StateFile
from kms_mrk.local._policy import account_of_principal, root_principal
from kms_mrk.local._state import StateFileError, Store
from kms_mrk.local._validate import raise_for, required_missing, validation_error
from kms_mrk.protocol.awsjson11 import CONTENT_TYPE, decode_body, encode_body, encode_error
from kms_mrk.transport._types import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from typing_extensions import Self

    from kms_mrk.schema import Shape
    from kms_mrk.transport._in_memory import InMemoryAsyncView

__all__ = ["REALISTIC_CREATING_SECONDS", "REALISTIC_UPDATING_SECONDS", "LocalKMS"]

_log = logging.getLogger("kms_mrk.local")

#: Delays of ``LocalKMS.realistic()`` (and ``kms-mrk serve``), close to what KMS shows.
REALISTIC_CREATING_SECONDS: Final = 3.0
REALISTIC_UPDATING_SECONDS: Final = 5.0

_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_REGION: Final = re.compile(r"(?:[a-z]+-){2,3}[0-9]+")
_TARGET_PREFIX: Final = "TrentService."
_INTERNAL_MESSAGE: Final = (
    "An internal error occurred in the kms-mrk local KMS; its log has the details."
)
_SCOPE_CACHE_SIZE: Final = 256
_SIGNATURE: Final = re.compile(r"[0-9a-f]{64}")
_MALFORMED_AUTHORIZATION: Final = (
    "The Authorization header is not a valid AWS Signature Version 4 header; expected "
    "'AWS4-HMAC-SHA256 Credential=<access key id>/<YYYYMMDD>/<region>/kms/aws4_request, "
    "SignedHeaders=<header names>, Signature=<64 lower-case hex digits>'"
)
_MAX_PREPARE: Final = 4


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(
            f"LocalKMS: {name} must be a number of seconds >= 0, got {value!r}"
        )
    return float(value)


class LocalKMS:
    """An in-process KMS with multi-Region keys; a Transport for ``KMSClient``.

    Keyword arguments:

    ``account_id``
        the account of callers not listed in ``principals`` (12 digits).
    ``default_region``
        the Region of unsigned requests (signed requests carry theirs in the SigV4 scope).
    ``clock``
        a callable returning epoch seconds; pass a :class:`ManualClock` to move time by hand.
    ``replica_creating_seconds``, ``updating_seconds``
        how long a new replica stays ``Creating`` and keys stay ``Updating`` after
        UpdatePrimaryRegion (0 by default; see :meth:`realistic`).
    ``state_file``
        persist the state there (atomic writes; loaded at start when it exists).
    ``faults``
        a :class:`FaultInjector` (settable later through :attr:`faults`).
    ``verify_signatures``, ``access_keys``
        check SigV4 signatures against ``access_keys`` (access key id -> secret key).
    ``principals``
        access key id -> principal ARN (``arn:aws:iam::<account>:user/<name>``...); the
        principal's account is the caller's account. Others act as the account root.
    ``seed``
        make key ids, symmetric and HMAC key material, ECC keys and nonces reproducible
        (tests only: a seeded local KMS is not secure; RSA keys stay random). Not with
        ``state_file``: a restart would replay the ids, material and nonces.
    """

    def __init__(
        self,
        *,
        account_id: str = "111122223333",
        default_region: str = "us-east-1",
        clock: Callable[[], float] | None = None,
        replica_creating_seconds: float = 0.0,
        updating_seconds: float = 0.0,
        state_file: str | os.PathLike[str] | None = None,
        faults: FaultInjector | None = None,
        verify_signatures: bool = False,
        access_keys: Mapping[str, str] | None = None,
        principals: Mapping[str, str] | None = None,
        seed: int | None = None,
    ) -> None:
        require_cryptography()
        if not isinstance(account_id, str) or not _ACCOUNT.fullmatch(account_id):
            raise ConfigurationError(f"LocalKMS: account_id must be 12 digits, got {account_id!r}")
        if not isinstance(default_region, str) or not _REGION.fullmatch(default_region):
            raise ConfigurationError(
                f"LocalKMS: default_region must be a Region name such as us-east-1, "
                f"got {default_region!r}"
            )
        if clock is not None and not callable(clock):
            raise ConfigurationError("LocalKMS: clock must be a callable returning epoch seconds")
        if faults is not None and not isinstance(faults, FaultInjector):
            raise ConfigurationError("LocalKMS: faults must be a FaultInjector")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigurationError(f"LocalKMS: seed must be an integer, got {seed!r}")
        if seed is not None and state_file is not None:
            raise ConfigurationError(
                "LocalKMS: seed cannot be combined with state_file: after a restart the seed "
                "would replay the same key ids, key material and nonces over the saved keys"
            )
        self._access_keys = _string_map("access_keys", access_keys)
        if verify_signatures and not self._access_keys:
            raise ConfigurationError(
                "LocalKMS: verify_signatures=True needs access_keys (access key id -> secret)"
            )
        self._principals = _string_map("principals", principals)
        for akid, principal in self._principals.items():
            if account_of_principal(principal) is None:
                raise ConfigurationError(
                    f"LocalKMS: principals[{akid!r}] must be an IAM or STS ARN such as "
                    f"arn:aws:iam::111122223333:user/alice, got {principal!r}"
                )
        self._account_id = account_id
        self._default_region = default_region
        self._clock: Callable[[], float] = clock or system_clock
        self._verify = bool(verify_signatures)
        self._faults = faults
        if seed is None:
            random_bytes: Callable[[int], bytes] = os.urandom
        else:
            random_bytes = random.Random(seed).randbytes
        self._settings = Settings(
            creating_seconds=_number("replica_creating_seconds", replica_creating_seconds),
            updating_seconds=_number("updating_seconds", updating_seconds),
            random_bytes=random_bytes,
        )
        self._lock = threading.Lock()
        self._store = Store()
        self._closed = False
        self._root = root_principal(account_id)
        self._scopes: dict[str, tuple[str, str]] = {}
        self._partitions: dict[str, str] = {}
        self._accounts: dict[str, str] = {}  # principal ARN -> account (principals are fixed)
        prefix = os.urandom(10).hex()
        self._rid_prefix = f"{prefix[:8]}-{prefix[8:12]}-{prefix[12:16]}-{prefix[16:20]}-"
        self._rid_counter = itertools.count(1)
        self._state_file: StateFile | None = None
        if state_file is not None:
            file = StateFile(state_file)
            file.acquire()
            try:
                loaded = file.load()
            except BaseException:
                file.release()
                raise
            if loaded is not None:
                self._store = loaded
                _log.info("loaded the local KMS state from %s", file.path)
            file.durable = self._store.dump()
            self._state_file = file

    @classmethod
    def realistic(cls, **options: Any) -> Self:
        """A LocalKMS with the delays of real KMS (a few seconds in Creating and Updating)."""
        options.setdefault("replica_creating_seconds", REALISTIC_CREATING_SECONDS)
        options.setdefault("updating_seconds", REALISTIC_UPDATING_SECONDS)
        return cls(**options)

    def __repr__(self) -> str:
        return (
            f"LocalKMS(account_id={self._account_id!r}, default_region={self._default_region!r}, "
            f"state_file={str(self.state_file) if self.state_file else None!r})"
        )

    # ------------------------------------------------------------------ properties

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def default_region(self) -> str:
        return self._default_region

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def state_file(self) -> Path | None:
        return None if self._state_file is None else self._state_file.path

    @property
    def faults(self) -> FaultInjector | None:
        """The fault injector in use; assign another (or None) at any time."""
        return self._faults

    @faults.setter
    def faults(self, value: FaultInjector | None) -> None:
        if value is not None and not isinstance(value, FaultInjector):
            raise ConfigurationError("LocalKMS.faults must be a FaultInjector or None")
        self._faults = value

    @property
    def replica_creating_seconds(self) -> float:
        return self._settings.creating_seconds

    @property
    def updating_seconds(self) -> float:
        return self._settings.updating_seconds

    def advance(self, seconds: float) -> float:
        """Move the :class:`ManualClock` forward; returns the new time."""
        if not isinstance(self._clock, ManualClock):
            raise TypeError(
                "LocalKMS.advance() needs the built-in ManualClock: "
                "create it with LocalKMS(clock=ManualClock())"
            )
        return self._clock.advance(seconds)

    # ------------------------------------------------------------------ Transport

    def send(self, request: HttpRequest) -> HttpResponse:
        """Answer one AWS JSON 1.1 KMS request, as the service would."""
        if self._closed:
            raise ConnectError("local-kms", "this LocalKMS has been closed")
        request_id = f"{self._rid_prefix}{next(self._rid_counter):012x}"
        operation = "-"
        try:
            headers = request.headers
            target = (
                headers.get("X-Amz-Target")
                or headers.get("x-amz-target")
                or request.header("x-amz-target")
                or ""
            )
            if request.method != "POST" or not target.startswith(_TARGET_PREFIX):
                raise UnknownOperationException(
                    "The local KMS answers POST requests with X-Amz-Target: "
                    "TrentService.<Operation>"
                )
            operation = target[len(_TARGET_PREFIX) :]
            account, region, principal = self._identity(request)
            handler = self._handler(operation)
            faults = self._faults
            if faults is not None:
                faults.apply(operation)
            decoded = self._decode(handler, request.body)
            secure = request.url.startswith("https:")
            answer = self._execute(handler, decoded, account, region, principal, secure, wire=True)
            body = answer if isinstance(answer, bytes) else encode_body(answer.__schema__, answer)
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug("%s %s %s -> 200", request_id, region, operation)
            return HttpResponse(
                200, {"content-type": CONTENT_TYPE, "x-amzn-requestid": request_id}, body
            )
        except ServiceException as exc:
            return self._error(exc, request_id, operation)
        except Exception:
            _log.exception("%s %s failed with an internal error", request_id, operation)
            return self._error(KMSInternalException(_INTERNAL_MESSAGE), request_id, operation)

    def close(self) -> None:
        """Write any pending state and release the state file. Idempotent.

        Raises :class:`~kms_mrk.local._state.StateFileError` (a ``ConfigurationError``)
        naming the file when the last changes cannot be written; the file is released anyway.
        """
        if self._closed:
            return
        self._closed = True
        file = self._state_file
        if file is not None:
            try:
                file.flush(self._store.version, self._snapshot_data, self._roll_back)
            finally:
                file.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ typed entry

    def handle(
        self, operation: str, region: str, request: Shape, principal: str | None = None
    ) -> Shape:
        """Run ``operation`` on a typed request in ``region``, as ``principal``.

        Returns the typed response or raises the modeled KMS exception, exactly as the
        wire path would answer. ``principal`` defaults to the account root. Responses may be
        shared between calls (DescribeKey answers are cached until the key changes): treat
        them as read-only.
        """
        if self._closed:
            raise ConnectError("local-kms", "this LocalKMS has been closed")
        handler = self._handler(operation)
        if not isinstance(request, handler.request_type):
            raise TypeError(
                f"{operation} takes a {handler.request_type.__name__} (or its Command), "
                f"got {type(request).__name__}"
            )
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ValueError(f"region must be a Region name such as us-east-1, got {region!r}")
        who = principal or self._root
        account = account_of_principal(who)
        if account is None:
            raise ValueError(f"principal must be an IAM or STS ARN, got {who!r}")
        faults = self._faults
        if faults is not None:
            faults.apply(operation)
        response: Shape = self._execute(handler, request, account, region, who)
        return response

    # ------------------------------------------------------------------ inspection

    def snapshot(self) -> dict[str, Any]:
        """The keys and aliases of every account and Region, without key material."""
        out: dict[str, Any] = {}
        with self._lock:
            now = self._clock()
            self._store.tick(now)
            for account, regions in self._store.accounts.items():
                for region, state in regions.items():
                    keys = []
                    for key in state.keys.values():
                        meta = key_metadata(key, now)
                        config = meta.multi_region_configuration
                        keys.append(
                            {
                                "key_id": key.key_id,
                                "arn": key.arn,
                                "key_state": str(meta.key_state),
                                "enabled": meta.enabled,
                                "key_spec": key.shared.spec,
                                "key_usage": key.shared.usage,
                                "description": key.description,
                                "multi_region": key.shared.multi_region,
                                "multi_region_key_type": (
                                    None if config is None else str(config.multi_region_key_type)
                                ),
                                "primary_region": (
                                    key.shared.primary_region if key.shared.multi_region else None
                                ),
                                "deletion_date": key.deletion_date,
                                "tags": dict(key.tags),
                            }
                        )
                    out.setdefault(account, {})[region] = {
                        "keys": keys,
                        "aliases": {a.name: a.target for a in state.aliases.values()},
                    }
        return {"now": now, "accounts": out}

    # ------------------------------------------------------------------ internals

    def _handler(self, operation: str) -> Handler:
        handler = HANDLERS.get(operation)
        if handler is None:
            if operation in OPERATIONS:
                raise UnsupportedOperationException(
                    f"{operation} is not implemented by the kms-mrk local KMS"
                )
            raise UnknownOperationException(f"Unknown operation {operation}")
        return handler

    def _identity(self, request: HttpRequest) -> tuple[str, str, str]:
        """(account, Region, principal) of a request, checking its signature if asked to."""
        headers = request.headers
        header = (
            headers.get("Authorization")
            or headers.get("authorization")
            or request.header("authorization")
        )
        if self._verify:
            akid, region = self._verified(request)
        elif header and not header.isspace():
            akid, region = self._scope(header)
        else:
            akid, region = "", self._default_region
        principal = self._principals.get(akid) or self._root
        account = self._accounts.get(principal)
        if account is None:
            account = self._accounts[principal] = (
                account_of_principal(principal) or self._account_id
            )
        return account, region, principal

    def _scope(self, header: str) -> tuple[str, str]:
        """(access key id, Region) of a SigV4 Authorization header, without verifying it.

        A header that is present but not a well-formed SigV4 header is refused, as AWS
        refuses it (never routed to the default Region). Results are cached by the header up
        to its ``Signature=`` part: every header that hits the cache differs from one that
        parsed completely only in a signature that is itself well formed.
        """
        at = header.rfind("Signature=")
        prefix = header[:at] if at >= 0 and _SIGNATURE.fullmatch(header, at + 10) else None
        if prefix is not None:
            hit = self._scopes.get(prefix)
            if hit is not None:
                return hit
        from kms_mrk.auth._sigv4 import parse_authorization

        parsed = parse_authorization(header)
        if parsed is None:
            raise IncompleteSignatureException(_MALFORMED_AUTHORIZATION)
        _check_region(parsed.region)
        hit = (parsed.access_key_id, parsed.region)
        if prefix is not None:
            if len(self._scopes) >= _SCOPE_CACHE_SIZE:
                self._scopes.clear()
            self._scopes[prefix] = hit
        return hit

    def _verified(self, request: HttpRequest) -> tuple[str, str]:
        from kms_mrk.auth._sigv4 import SignatureVerificationError, verify

        try:
            auth = verify(
                request,
                self._access_keys.get,
                now=_dt.datetime.now(_dt.timezone.utc),
                service="kms",
            )
        except SignatureVerificationError as exc:
            raise error_class_for_code(exc.code)(exc.message) from None
        _check_region(auth.region)
        return auth.access_key_id, auth.region

    def _decode(self, handler: Handler, body: bytes) -> Shape:
        schema = handler.request_type.__schema__
        try:
            decoded: Shape = decode_body(schema, body)
        except ResponseParseError as exc:
            try:
                data = json.loads(body) if body.strip() else {}
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise SerializationException("The request body is not valid JSON") from None
            if not isinstance(data, dict):
                raise SerializationException("The request body must be a JSON object") from None
            missing = required_missing(schema, data)
            if missing:
                raise validation_error(missing) from None
            raise SerializationException(f"Cannot read the request body: {exc.reason}") from None
        return decoded

    def _execute(
        self,
        handler: Handler,
        request: Shape,
        account: str,
        region: str,
        principal: str,
        secure: bool = True,
        *,
        wire: bool = False,
    ) -> Any:
        """Run ``handler``: its typed response, or with ``wire`` the body when it writes one."""
        raise_for(handler.request_type.__schema__, request)
        function: Callable[[Ctx, Any], Any] = (
            handler.wire if wire and handler.wire is not None else handler.function
        )
        partition = self._partitions.get(region)
        if partition is None:
            from kms_mrk.arn import partition_for_region

            partition = self._partitions[region] = partition_for_region(region)
        prepared: dict[str, Any] = {}
        for _attempt in range(_MAX_PREPARE):
            with self._lock:
                now = self._clock()
                store = self._store
                store.tick(now)
                ctx = Ctx(
                    store=store,
                    settings=self._settings,
                    now=now,
                    account=account,
                    region=region,
                    partition=partition,
                    principal=principal,
                    operation=handler.name,
                    prepared=prepared,
                    secure=secure,
                )
                try:
                    response = function(ctx, request)
                except Prepare as needed:
                    pending = needed
                else:
                    version = store.version
                    break
            # Every check passed: make the costly thing without the lock, then run again.
            prepared[pending.name] = pending.make()
        else:  # pragma: no cover - a handler asking for more than it should
            raise RuntimeError(f"{handler.name} kept asking for costly steps")
        if handler.mutating and self._state_file is not None:
            try:
                self._state_file.flush(version, self._snapshot_data, self._roll_back)
            except StateFileError as exc:
                raise KMSInternalException(_capitalized(str(exc)) + ".") from None
        return response

    def _snapshot_data(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            return self._store.version, self._store.dump()

    def _roll_back(self, durable: dict[str, Any]) -> int:
        """Put the state back to ``durable`` (the last snapshot written); its new version."""
        with self._lock:
            restored = Store.load(durable, source="the last state written")
            restored.version = self._store.version + 1
            self._store = restored
            return restored.version

    def _error(self, exc: ServiceException, request_id: str, operation: str) -> HttpResponse:
        status = exc.http_status or default_status(exc.code)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s -> %s %s", request_id, operation, status, exc.code)
        return HttpResponse(
            status,
            {"content-type": CONTENT_TYPE, "x-amzn-requestid": request_id},
            encode_error(exc.code, exc.message),
        )

    # ------------------------------------------------------------------ async view

    def as_async(self) -> InMemoryAsyncView:
        """This local KMS as an ``AsyncTransport``: ``AsyncKMSClient(transport=kms.as_async())``.

        It answers in memory on the event loop (no thread); ``AsyncKMSClient(transport=kms)``
        calls this for you.
        """
        from kms_mrk.transport._in_memory import InMemoryAsyncView

        return InMemoryAsyncView(self)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _check_region(region: str) -> None:
    if not _REGION.fullmatch(region):
        from kms_mrk.errors import InvalidSignatureException

        raise InvalidSignatureException("Credential should be scoped to a valid region.")


def _string_map(name: str, value: Mapping[str, str] | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"LocalKMS: {name} must be a mapping of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or not isinstance(item, str) or not item:
            raise ConfigurationError(f"LocalKMS: {name} must map non-empty strings to strings")
        out[key] = item
    return out
