"""Importing kms_mrk.transport (and creating a transport) must not import urllib3/requests/ssl."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    import kms_mrk.transport as t
    assert {"HttpRequest", "HttpResponse", "Transport", "Urllib3Transport",
            "RequestsTransport"} <= set(t.__all__)
    heavy = ("urllib3", "requests", "ssl", "http.client")
    print("after import:", [m for m in heavy if m in sys.modules])
    transport = t.Urllib3Transport()
    print("after construction:", [m for m in heavy if m in sys.modules])
    t.RequestsTransport
    print("after attribute:", [m for m in heavy if m in sys.modules])
    """
)


def test_import_and_construction_stay_light() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == [
        "after import: []",
        "after construction: []",
        "after attribute: []",
    ]


def test_unknown_attribute() -> None:
    import kms_mrk.transport

    try:
        kms_mrk.transport.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
    assert "Urllib3Transport" in dir(kms_mrk.transport)
