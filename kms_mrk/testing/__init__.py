"""Testing toolkit for applications that use kms-mrk: stubs, a mocked transport, local KMS.

::

    from kms_mrk import DescribeKeyCommand, NotFoundException
    from kms_mrk.testing import KmsMock

    mock = KmsMock()
    mock.on(DescribeKeyCommand, {"KeyId": "alias/app"}).resolves({"KeyMetadata": {...}})
    mock.on(DescribeKeyCommand, {"KeyId": "alias/gone"}).rejects(NotFoundException, "gone")
    app = MyApp(kms=mock.client)

Every call still runs the client's validation, serializer, signer, retries and parser: the
mock sits where the network would be. With pytest, the ``kms_mock`` and ``kms_local`` fixtures
are available in every test (see docs/testing.md).

Names load on first use, so the pytest plugin (which lives in this package and is imported by
every pytest run) costs nothing until a fixture is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kms_mrk.testing._common import TEST_CREDENTIALS as TEST_CREDENTIALS
    from kms_mrk.testing._common import TEST_REGION as TEST_REGION
    from kms_mrk.testing._errors import InvalidStubError as InvalidStubError
    from kms_mrk.testing._errors import KmsMockError as KmsMockError
    from kms_mrk.testing._errors import UnmatchedRequestError as UnmatchedRequestError
    from kms_mrk.testing._local import KmsLocal as KmsLocal
    from kms_mrk.testing._mock import KmsMock as KmsMock
    from kms_mrk.testing._mock import RecordedCall as RecordedCall
    from kms_mrk.testing._mock import RejectedRequest as RejectedRequest
    from kms_mrk.testing._moto import MotoTransport as MotoTransport
    from kms_mrk.testing._moto import moto_active as moto_active
    from kms_mrk.testing._moto import moto_client as moto_client
    from kms_mrk.testing._stubs import Stub as Stub
    from kms_mrk.testing._transport import MockTransport as MockTransport
    from kms_mrk.testing._transport import service_error as service_error
    from kms_mrk.testing._transport import service_response as service_response

_LAZY: dict[str, str] = {
    "TEST_CREDENTIALS": "kms_mrk.testing._common",
    "TEST_REGION": "kms_mrk.testing._common",
    "InvalidStubError": "kms_mrk.testing._errors",
    "KmsLocal": "kms_mrk.testing._local",
    "KmsMock": "kms_mrk.testing._mock",
    "KmsMockError": "kms_mrk.testing._errors",
    "MockTransport": "kms_mrk.testing._transport",
    "MotoTransport": "kms_mrk.testing._moto",
    "moto_active": "kms_mrk.testing._moto",
    "moto_client": "kms_mrk.testing._moto",
    "RecordedCall": "kms_mrk.testing._mock",
    "RejectedRequest": "kms_mrk.testing._mock",
    "Stub": "kms_mrk.testing._stubs",
    "UnmatchedRequestError": "kms_mrk.testing._errors",
    "service_error": "kms_mrk.testing._transport",
    "service_response": "kms_mrk.testing._transport",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kms_mrk.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
