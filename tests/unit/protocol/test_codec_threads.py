"""Codecs compiled on first use from many threads at once: no thread sees a half-built one.

Every round starts cold (the caches of a private set of schemas, built from the vendored KMS
model with ``codegen.model.build_schemas``, are emptied), then threads released together by a
barrier serialize, parse and ask about sensitivity. A tiny switch interval makes the
interpreter change threads every few bytecodes, inside the compile steps.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from codegen.model import build_schemas
from codegen.vendor import SERVICE_FILE
from kms_mrk.protocol import awsjson11
from kms_mrk.schema import Member, Schema, StrEnum
from kms_mrk.transport import HttpResponse

THREADS = 8
ROUNDS = 60

DESCRIBE_KEY_BODY = json.dumps(
    {
        "KeyMetadata": {
            "KeyId": "k",
            "Arn": "arn",
            "Enabled": True,
            "KeyState": "Enabled",
            "CreationDate": 1700000000,
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegionConfiguration": {
                "MultiRegionKeyType": "PRIMARY",
                "PrimaryKey": {"Arn": "a", "Region": "us-east-1"},
                "ReplicaKeys": [{"Arn": "b", "Region": "eu-west-1"}],
            },
        }
    }
).encode()


@pytest.fixture(scope="module")
def schemas() -> dict[str, Schema]:
    return build_schemas(json.loads(SERVICE_FILE.read_text(encoding="utf-8"))["shapes"])


@pytest.fixture
def fast_switching() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _cold_rounds(
    schemas: dict[str, Schema], jobs: list[Callable[[], Any]], rounds: int = ROUNDS
) -> list[list[Any]]:
    """Run every job in its own thread, all released together, ``rounds`` times from cold."""
    results: list[list[Any]] = []
    for _ in range(rounds):
        for schema in schemas.values():
            schema.cache.clear()
        barrier = threading.Barrier(len(jobs))
        out: list[Any] = [None] * len(jobs)
        threads = [
            threading.Thread(target=_run, args=(barrier, jobs[i], out, i)) for i in range(len(jobs))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.append(out)
    return results


def _run(barrier: threading.Barrier, job: Callable[[], Any], out: list[Any], i: int) -> None:
    barrier.wait()
    try:
        out[i] = job()
    except Exception as exc:  # kept as the result: the test compares results
        out[i] = exc


@pytest.mark.usefixtures("fast_switching")
def test_first_use_from_many_threads_gives_complete_encoders_and_decoders(
    schemas: dict[str, Schema],
) -> None:
    request_schema = schemas["CreateKeyRequest"]
    tag = schemas["Tag"].py_type
    request_cls = request_schema.py_type
    assert tag is not None and request_cls is not None
    command = request_cls(
        description="d",
        tags=[tag(tag_key="a", tag_value="b"), tag(tag_key="c", tag_value="d")],
        multi_region=True,
        key_usage="ENCRYPT_DECRYPT",
    )
    response_schema = schemas["DescribeKeyResponse"]
    response = HttpResponse(200, {}, DESCRIBE_KEY_BODY)
    expected_body = awsjson11.encode_body(request_schema, command)
    expected_value = awsjson11.deserialize_response(response_schema, response).to_dict()

    def encode() -> bytes:
        return awsjson11.encode_body(request_schema, command)

    def decode() -> Any:
        return awsjson11.deserialize_response(response_schema, response).to_dict()

    jobs: list[Callable[[], Any]] = [encode, decode] * (THREADS // 2)
    wrong = []
    for round_results in _cold_rounds(schemas, jobs):
        for job, result in zip(jobs, round_results, strict=True):
            expected = expected_body if job is encode else expected_value
            if result != expected:
                wrong.append((job.__name__, result))
    assert wrong == [], f"{len(wrong)} wrong results, first: {wrong[0]}"


def _deeply_sensitive() -> tuple[dict[str, Schema], Schema]:
    """A structure whose only sensitive member sits four levels down, after many others."""
    text = Schema("Text", "string")
    secret = Schema("Secret", "string", sensitive=True)
    leaf = Schema("Leaf", "structure")
    leaf.set_members(
        [Member(f"M{i}", f"m{i}", text) for i in range(200)] + [Member("S", "s", secret)]
    )
    inner = Schema("Inner", "list", member=leaf)
    middle = Schema("Middle", "structure")
    middle.set_members(
        [Member(f"N{i}", f"n{i}", text) for i in range(200)] + [Member("Items", "items", inner)]
    )
    root = Schema("Root", "structure")
    root.set_members(
        [Member(f"R{i}", f"r{i}", text) for i in range(200)] + [Member("Middle", "middle", middle)]
    )
    every = {s.name: s for s in (text, secret, leaf, inner, middle, root)}
    return every, root


@pytest.mark.usefixtures("fast_switching")
def test_sensitivity_is_never_read_half_computed() -> None:
    every, root = _deeply_sensitive()
    middle = every["Middle"]
    jobs: list[Callable[[], Any]] = [
        lambda: awsjson11.has_sensitive_members(root),
        lambda: awsjson11.has_sensitive_members(middle),
    ] * (THREADS // 2)
    answers = [a for round_results in _cold_rounds(every, jobs, 150) for a in round_results]
    assert answers.count(True) == len(answers), [a for a in answers if a is not True][:3]


def test_sensitivity_of_recursive_shapes_terminates_and_is_correct() -> None:
    node = Schema("Node", "structure")
    children = Schema("Children", "list", member=node)
    secret = Schema("Secret", "blob", sensitive=True)
    node.set_members([Member("Children", "children", children)])
    assert awsjson11.has_sensitive_members(node) is False
    holder = Schema("Holder", "structure")
    holder.set_members([Member("Tree", "tree", node), Member("Key", "key", secret)])
    assert awsjson11.has_sensitive_members(holder) is True


class _Gate:
    """An enum-like type whose value map is read while its structure's decoder is compiled.

    The first read (the compiling thread) signals ``entered`` and waits for ``release``,
    holding the compilation half done.
    """

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.reads = 0

    @property
    def _value2member_map_(self) -> dict[str, Any]:
        self.reads += 1
        if self.reads == 1:
            self.entered.set()
            assert self.release.wait(10), "the test never released the compiling thread"
        return {}


def test_a_decoder_is_not_visible_while_it_is_being_compiled() -> None:
    gate = _Gate()
    text = Schema("Text", "string")
    gated = Schema("Gated", "string", enum_type=StrEnum)
    gated.enum_type = gate  # type: ignore[assignment]
    shape = Schema("Shape", "structure")
    shape.set_members(
        [
            Member("First", "first", text),
            Member("Gated", "gated", gated),
            Member("Last", "last", text, required=True),
        ]
    )
    body = b'{"First": "a", "Gated": "g", "Last": "z"}'
    results: dict[str, Any] = {}

    def parse(name: str) -> None:
        try:
            results[name] = awsjson11.decode_body(shape, body)
        except Exception as exc:
            results[name] = exc

    compiling = threading.Thread(target=parse, args=("compiling",))
    compiling.start()
    assert gate.entered.wait(10)
    # The compiling thread is now stopped inside the compilation of Shape's decoder. A second
    # thread must not pick up the unfinished decoder: it waits for the compilation instead.
    waiting = threading.Thread(target=parse, args=("waiting",))
    waiting.start()
    waiting.join(0.2)
    gate.release.set()
    compiling.join()
    waiting.join()
    expected = {"first": "a", "gated": "g", "last": "z"}
    assert results == {"compiling": expected, "waiting": expected}


class _NoLock:
    def __enter__(self) -> None:
        raise AssertionError("the compile lock was taken on the per-call path")

    def __exit__(self, *exc: object) -> None:
        return None


def test_compiled_codecs_are_used_without_taking_the_lock(
    schemas: dict[str, Schema], monkeypatch: pytest.MonkeyPatch
) -> None:
    for schema in schemas.values():
        schema.cache.clear()
    request_schema = schemas["DescribeKeyRequest"]
    request_cls = request_schema.py_type
    assert request_cls is not None
    command = request_cls(key_id="k", grant_tokens=["t"])
    response_schema = schemas["DescribeKeyResponse"]
    response = HttpResponse(200, {}, DESCRIBE_KEY_BODY)
    error_schema = schemas["NotFoundException"]
    first = (
        awsjson11.encode_body(request_schema, command),
        awsjson11.deserialize_response(response_schema, response),
        awsjson11._struct_kwargs_decoder(error_schema)({"message": "m"}),
    )
    monkeypatch.setattr(awsjson11, "_COMPILE_LOCK", _NoLock())
    again = (
        awsjson11.encode_body(request_schema, command),
        awsjson11.deserialize_response(response_schema, response),
        awsjson11._struct_kwargs_decoder(error_schema)({"message": "m"}),
    )
    assert again == first
    create_key = schemas["CreateKeyRequest"]
    assert create_key.py_type is not None
    with pytest.raises(AssertionError, match="compile lock"):
        awsjson11.encode_body(create_key, create_key.py_type())
