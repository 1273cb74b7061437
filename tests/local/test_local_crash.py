"""SIGKILL the HTTP server in the middle of a CreateKey load: nothing acknowledged is lost."""

from __future__ import annotations

import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from kms_mrk.local._persist import read_database
from tests.local._server_process import (
    Connection,
    all_key_ids,
    kill_server,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _load(url: str, acknowledged: set[str], lock: threading.Lock, stop: threading.Event) -> None:
    connection = Connection(url, timeout=5)
    try:
        while not stop.is_set():
            status, body = connection.call("CreateKey", {"Description": "crash test"})
            if status != 200:
                raise AssertionError(f"CreateKey answered {status}: {body}")
            with lock:
                acknowledged.add(body["KeyMetadata"]["KeyId"])
    except (OSError, ValueError, http_errors()):
        return  # the server died under us: this request was not acknowledged
    finally:
        connection.close()


def http_errors() -> type[Exception]:
    import http.client

    return http.client.HTTPException


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_acknowledged_key(tmp_path: Path) -> None:
    state = tmp_path / "kms.db"
    acknowledged: set[str] = set()
    lock = threading.Lock()
    for round_number in range(3):
        process, url = start_server("--state", str(state))
        stop = threading.Event()
        before = len(acknowledged)
        workers = [
            threading.Thread(target=_load, args=(url, acknowledged, lock, stop)) for _ in range(3)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 30  # generous: a loaded machine fsyncs slowly
        while len(acknowledged) < before + 60 and time.monotonic() < deadline:
            time.sleep(0.005)
        kill_server(process)  # SIGKILL mid-load: requests are in flight
        stop.set()
        for worker in workers:
            worker.join(10)
        assert len(acknowledged) > before, f"round {round_number} acknowledged nothing"
        # Whatever moment the kill hit, the database is whole and holds every acknowledged key.
        saved = {key.key_id for key in read_database(state).all_keys()}
        assert acknowledged <= saved, f"lost {len(acknowledged - saved)} acknowledged keys"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600

    process, url = start_server("--state", str(state))
    try:
        found = all_key_ids(url)
    finally:
        status, err = stop_server(process)
    assert acknowledged <= found, f"lost {len(acknowledged - found)} acknowledged keys"
    assert status == 0, err
    # A clean stop checkpoints the WAL and removes the lock file: only the database is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms.db"]
