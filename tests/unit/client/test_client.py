"""KMSClient: sending, configuration, for_region, metadata, retries, interceptors, logging."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import kms_mrk
from kms_mrk import (
    Credentials,
    DescribeKeyCommand,
    EncryptCommand,
    Interceptor,
    InterceptorContext,
    KMSClient,
    ListKeysCommand,
)
from kms_mrk.errors import (
    ConfigurationError,
    ConnectError,
    KMSInternalException,
    LimitExceededException,
    NoRegionError,
    NotFoundException,
    ParamValidationError,
    ReadTimeoutError,
    ThrottlingException,
)
from kms_mrk.transport import HttpRequest, HttpResponse

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
KEY = {"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled", "Enabled": True}}


def ok(body: Any = KEY, request_id: str = "req-ok") -> HttpResponse:
    return HttpResponse(200, {"x-amzn-RequestId": request_id}, json.dumps(body).encode())


def err(code: str, status: int = 400, request_id: str = "req-err") -> HttpResponse:
    body = json.dumps({"__type": code, "message": f"{code} happened"}).encode()
    return HttpResponse(status, {"x-amzn-RequestId": request_id}, body)


class Scripted:
    """A transport answering from a script: responses, exceptions or a callable."""

    def __init__(self, *steps: HttpResponse | Exception | Callable[[HttpRequest], HttpResponse]):
        self.steps = list(steps)
        self.requests: list[HttpRequest] = []
        self.closed = False
        self.lock = threading.Lock()

    def send(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.requests.append(request)
            step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, HttpResponse):
            return step(request)
        return step

    def close(self) -> None:
        self.closed = True


def client(transport: Any, **kwargs: Any) -> KMSClient:
    kwargs.setdefault("credentials", CREDS)
    kwargs.setdefault("environ", {})
    kwargs.setdefault("sleep", lambda _s: None)
    return KMSClient(kwargs.pop("region", "us-east-1"), transport=transport, **kwargs)


def test_send_returns_the_typed_response_with_metadata() -> None:
    transport = Scripted(ok())
    response = client(transport).send(DescribeKeyCommand(key_id="k"))
    assert isinstance(response, kms_mrk.DescribeKeyResponse)
    assert response.key_metadata is not None
    assert response.key_metadata.key_state is kms_mrk.KeyState.ENABLED
    assert response.metadata.request_id == "req-ok"
    assert response.metadata.http_status == 200
    assert response.metadata.attempts == 1
    assert response.metadata.total_retry_delay == 0.0
    request = transport.requests[0]
    assert request.url == "https://kms.us-east-1.amazonaws.com/"
    assert request.header("X-Amz-Target") == "TrentService.DescribeKey"
    assert request.header("Authorization", "").startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
    )
    assert "/us-east-1/kms/aws4_request" in request.header("Authorization", "")


def test_snake_case_methods_match_send() -> None:
    transport = Scripted(ok())
    c = client(transport)
    by_method = c.describe_key(key_id="k")
    by_send = c.send(DescribeKeyCommand(key_id="k"))
    assert by_method == by_send
    assert transport.requests[0].body == transport.requests[1].body
    for op in kms_mrk.commands.OPERATIONS:
        from codegen.model import snake_case

        assert callable(getattr(c, snake_case(op))), op


def test_operations_without_output_return_an_empty_response() -> None:
    transport = Scripted(HttpResponse(200, {"x-amzn-requestid": "r"}, b""))
    response = client(transport).update_primary_region(key_id="mrk-1", primary_region="eu-west-1")
    assert isinstance(response, kms_mrk.UpdatePrimaryRegionResponse)
    assert response.metadata.request_id == "r"


def test_validation_fails_before_any_io() -> None:
    transport = Scripted(ok())
    with pytest.raises(ParamValidationError) as info:
        client(transport).send(kms_mrk.GenerateRandomCommand(number_of_bytes=5000))
    assert "NumberOfBytes" in str(info.value)
    assert transport.requests == []


def test_send_refuses_things_that_are_not_commands() -> None:
    with pytest.raises(TypeError, match="DescribeKeyCommand"):
        client(Scripted(ok())).send(kms_mrk.DescribeKeyRequest(key_id="k"))  # type: ignore[arg-type]


def test_modeled_errors_raise_their_class_with_metadata() -> None:
    transport = Scripted(err("NotFoundException"))
    with pytest.raises(NotFoundException) as info:
        client(transport).describe_key(key_id="missing")
    error = info.value
    assert error.request_id == "req-err"
    assert error.http_status == 400
    assert error.metadata is not None
    assert error.metadata.attempts == 1
    assert len(transport.requests) == 1


def test_throttling_is_retried_with_injected_sleep_and_reported() -> None:
    slept: list[float] = []
    transport = Scripted(err("ThrottlingException"), err("ThrottlingException"), ok())
    response = client(transport, sleep=slept.append).describe_key(key_id="k")
    assert response.metadata.attempts == 3
    assert len(slept) == 2
    assert response.metadata.total_retry_delay == pytest.approx(sum(slept))
    assert all(0 <= s <= 20 for s in slept)


def test_retries_stop_at_max_attempts_and_the_error_carries_them() -> None:
    transport = Scripted(err("KMSInternalException", 500))
    with pytest.raises(KMSInternalException) as info:
        client(transport, retry=4).describe_key(key_id="k")
    assert len(transport.requests) == 4
    assert info.value.metadata is not None
    assert info.value.metadata.attempts == 4


def test_max_attempts_from_the_environment() -> None:
    transport = Scripted(err("ThrottlingException"))
    c = client(transport, environ={"AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "adaptive"})
    with pytest.raises(ThrottlingException):
        c.describe_key(key_id="k")
    assert len(transport.requests) == 2


@pytest.mark.parametrize(
    "code", ["NotFoundException", "LimitExceededException", "AccessDeniedException"]
)
def test_client_faults_are_never_retried(code: str) -> None:
    transport = Scripted(err(code))
    with pytest.raises(kms_mrk.KMSServiceException) as info:
        client(transport).describe_key(key_id="k")
    assert info.value.code == code
    assert len(transport.requests) == 1
    if code == "LimitExceededException":
        assert isinstance(info.value, LimitExceededException)


def test_connection_failures_are_retried_and_then_raised_with_host_and_phase() -> None:
    transport = Scripted(ConnectError("kms.us-east-1.amazonaws.com", "refused"))
    with pytest.raises(ConnectError) as info:
        client(transport).describe_key(key_id="k")
    assert len(transport.requests) == 3
    assert "kms.us-east-1.amazonaws.com" in str(info.value)
    assert "connect phase" in str(info.value)
    assert info.value.metadata is not None
    assert info.value.metadata.attempts == 3


def test_read_timeouts_are_not_resent_for_non_idempotent_operations() -> None:
    transport = Scripted(ReadTimeoutError("kms.us-east-1.amazonaws.com"))
    with pytest.raises(ReadTimeoutError):
        client(transport).create_key()
    assert len(transport.requests) == 1
    transport = Scripted(ReadTimeoutError("kms.us-east-1.amazonaws.com"), ok())
    client(transport).describe_key(key_id="k")
    assert len(transport.requests) == 2


def test_each_attempt_is_signed_afresh() -> None:
    class Stamp(Interceptor):
        def before_send(self, context: InterceptorContext, request: HttpRequest) -> None:
            assert request.header("X-Amz-Date") is not None
            stamps.append(request.header("Authorization"))

    stamps: list[str | None] = []
    transport = Scripted(err("ThrottlingException"), ok())
    client(transport, interceptors=[Stamp()]).describe_key(key_id="k")
    assert len(stamps) == 2
    assert all(s and s.startswith("AWS4-HMAC-SHA256 ") for s in stamps)


def test_for_region_shares_transport_and_credentials_but_not_the_endpoint() -> None:
    transport = Scripted(ok())
    home = client(transport)
    away = home.for_region("eu-central-1")
    assert away.region == "eu-central-1"
    away.describe_key(key_id="k")
    home.describe_key(key_id="k")
    assert transport.requests[0].url == "https://kms.eu-central-1.amazonaws.com/"
    assert "/eu-central-1/kms/" in transport.requests[0].header("Authorization", "")
    assert transport.requests[1].url == "https://kms.us-east-1.amazonaws.com/"
    assert away.config is home.config
    with pytest.raises(ConfigurationError):
        home.for_region("not a region")


def test_for_region_regions_have_their_own_retry_quota() -> None:
    failing = Scripted(err("KMSInternalException", 500))
    home = client(failing, retry=2)
    for _ in range(60):
        with pytest.raises(KMSInternalException):
            home.describe_key(key_id="k")
    calls_before = len(failing.requests)
    with pytest.raises(KMSInternalException):
        home.for_region("eu-west-1").describe_key(key_id="k")
    assert len(failing.requests) - calls_before == 2


def test_region_resolution_and_the_error_when_there_is_none() -> None:
    assert client(Scripted(ok()), region=None, environ={"AWS_REGION": "ap-south-1"}).region == (
        "ap-south-1"
    )
    with pytest.raises(NoRegionError) as info:
        KMSClient(
            credentials=CREDS,
            transport=Scripted(ok()),
            environ={"AWS_CONFIG_FILE": "/nonexistent/config"},
        )
    assert "AWS_REGION" in str(info.value)
    assert "AWS_DEFAULT_REGION" in str(info.value)


def test_endpoint_url_argument_and_environment() -> None:
    transport = Scripted(ok())
    client(transport, endpoint_url="http://127.0.0.1:4566").describe_key(key_id="k")
    assert transport.requests[0].url == "http://127.0.0.1:4566/"
    c = client(transport, environ={"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:9999"})
    assert c.endpoint == "http://127.0.0.1:9999"
    fips = client(transport, environ={"AWS_USE_FIPS_ENDPOINT": "true"})
    assert fips.endpoint == "https://kms-fips.us-east-1.amazonaws.com"


def test_credentials_are_resolved_lazily_on_the_first_call() -> None:
    calls: list[int] = []

    class Provider:
        def get_credentials(self) -> Credentials:
            calls.append(1)
            return CREDS

    c = client(Scripted(ok()), credentials=Provider())
    assert calls == []
    c.describe_key(key_id="k")
    assert calls == [1]


def test_default_credentials_come_from_botocore_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    transport = Scripted(ok())
    KMSClient("us-east-1", transport=transport, environ={}).describe_key(key_id="k")
    assert "Credential=AKIDFROMENV/" in transport.requests[0].header("Authorization", "")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"max_pool_connections": 0}, "max_pool_connections"),
        ({"retry": "sometimes"}, "sometimes"),
        ({"credentials": "AKID:SECRET"}, "credentials"),
        ({"interceptors": [object()]}, "interceptors"),
        ({"interceptors": Interceptor()}, "single Interceptor"),
        ({"transport": object()}, "transport"),
        ({"user_agent_extra": "app\r\nX-Evil: 1"}, "user_agent_extra"),
        ({"user_agent_extra": "caf\u00e9"}, "user_agent_extra"),
        ({"verify": "yes"}, "verify"),
        ({"sleep": None}, "sleep"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], fragment: str) -> None:
    kwargs.setdefault("transport", Scripted(ok()))
    with pytest.raises(ConfigurationError, match=fragment):
        KMSClient("us-east-1", environ={}, **kwargs)


def test_context_manager_closes_only_a_transport_it_created() -> None:
    given = Scripted(ok())
    with client(given) as c:
        c.describe_key(key_id="k")
    assert not given.closed
    made = KMSClient("us-east-1", credentials=CREDS, environ={})
    made.close()
    with pytest.raises(kms_mrk.ClosedError, match="closed") as info:
        made.describe_key(key_id="k")
    assert isinstance(info.value, kms_mrk.KmsMrkError)


def test_closing_a_for_region_child_leaves_the_family_working() -> None:
    transport = Scripted(ok())
    home = client(transport)
    with home.for_region("eu-west-1") as away:
        away.describe_key(key_id="k")
    home.describe_key(key_id="k")
    home.for_region("ap-south-1").describe_key(key_id="k")
    assert len(transport.requests) == 3


def test_for_region_clients_of_one_region_share_one_pipeline_and_quota() -> None:
    home = client(Scripted(ok()), retry="adaptive")
    first, second = home.for_region("eu-west-1"), home.for_region("eu-west-1")
    assert first._pipeline is second._pipeline
    assert home.for_region("us-east-1")._pipeline is home._pipeline
    assert first._pipeline.retry is not home._pipeline.retry


def test_per_request_for_region_calls_still_drain_one_quota() -> None:
    failing = Scripted(err("KMSInternalException", 500))
    home = client(failing, retry=3)
    sent_per_call = []
    for _ in range(120):
        before = len(failing.requests)
        with pytest.raises(KMSInternalException):
            home.for_region("eu-west-1").describe_key(key_id="k")
        sent_per_call.append(len(failing.requests) - before)
    assert sent_per_call[0] == 3
    assert sent_per_call[-1] == 1  # the Region's quota is spent: no more retries


def test_a_strategy_instance_serves_one_region_and_siblings_the_others() -> None:
    from kms_mrk.retries import StandardRetryStrategy

    strategy = StandardRetryStrategy(2)
    home = client(Scripted(ok()), retry=strategy)
    away = home.for_region("eu-west-1")
    assert home._pipeline.retry is strategy
    assert away._pipeline.retry is not strategy
    assert away._pipeline.retry.max_attempts == 2


def test_region_and_credentials_come_from_the_same_profile(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile a]\nregion = eu-west-1\n\n[profile b]\nregion = ap-south-1\n")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[a]\naws_access_key_id = AKIDPROFILEA\naws_secret_access_key = secret-a\n\n"
        "[b]\naws_access_key_id = AKIDPROFILEB\naws_secret_access_key = secret-b\n"
    )
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    env = {
        "AWS_PROFILE": "a",
        "AWS_DEFAULT_PROFILE": "b",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    transport = Scripted(ok())
    c = KMSClient(transport=transport)
    assert c.region == "eu-west-1"
    c.describe_key(key_id="k")
    assert "Credential=AKIDPROFILEA/" in transport.requests[0].header("Authorization", "")


class Recorder(Interceptor):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def before_serialization(self, context: InterceptorContext) -> None:
        self.log.append(f"{self.name}:before_serialization:{context.operation_name}")

    def modify_request(self, context: InterceptorContext, request: HttpRequest) -> HttpRequest:
        self.log.append(f"{self.name}:modify_request")
        return request.with_header(f"X-{self.name}", "1")

    def before_send(self, context: InterceptorContext, request: HttpRequest) -> None:
        self.log.append(f"{self.name}:before_send:{context.attempt}")

    def after_receive(self, context: InterceptorContext, response: HttpResponse) -> None:
        self.log.append(f"{self.name}:after_receive:{response.status}")

    def after_deserialization(self, context: InterceptorContext, output: Any) -> None:
        self.log.append(f"{self.name}:after_deserialization")

    def on_error(self, context: InterceptorContext, error: Exception) -> None:
        self.log.append(f"{self.name}:on_error:{type(error).__name__}")


def test_interceptors_run_in_order_at_each_hook() -> None:
    log: list[str] = []
    transport = Scripted(err("ThrottlingException"), ok())
    c = client(transport, interceptors=[Recorder("a", log), Recorder("b", log)])
    c.describe_key(key_id="k")
    assert log == [
        "a:before_serialization:DescribeKey",
        "b:before_serialization:DescribeKey",
        "a:modify_request",
        "b:modify_request",
        "a:before_send:1",
        "b:before_send:1",
        "a:after_receive:400",
        "b:after_receive:400",
        "a:before_send:2",
        "b:before_send:2",
        "a:after_receive:200",
        "b:after_receive:200",
        "a:after_deserialization",
        "b:after_deserialization",
    ]
    signed = transport.requests[-1].header("Authorization", "")
    assert "x-a;x-amz-date" in signed or "x-a;" in signed


def test_on_error_sees_the_final_error() -> None:
    log: list[str] = []
    with pytest.raises(NotFoundException):
        client(Scripted(err("NotFoundException")), interceptors=[Recorder("a", log)]).describe_key(
            key_id="k"
        )
    assert log[-1] == "a:on_error:NotFoundException"
    log.clear()
    with pytest.raises(ParamValidationError):
        client(Scripted(ok()), interceptors=[Recorder("a", log)]).describe_key(key_id="")
    assert log == ["a:before_serialization:DescribeKey", "a:on_error:ParamValidationError"]


def test_headers_interceptor_checks_its_headers() -> None:
    for bad in ({"X-A": 5}, {"X A": "v"}, {"X-A": "a\nb"}):
        with pytest.raises(ConfigurationError, match="header"):
            kms_mrk.HeadersInterceptor(bad)  # type: ignore[arg-type]


def test_user_agent_and_custom_headers_are_sent_and_signed() -> None:
    transport = Scripted(ok())
    c = client(
        transport,
        user_agent_extra="my-app/1.2",
        interceptors=[kms_mrk.HeadersInterceptor({"X-Team": "payments"})],
    )
    c.describe_key(key_id="k")
    request = transport.requests[0]
    agent = request.header("User-Agent") or ""
    assert agent.startswith(f"kms-mrk/{kms_mrk.__version__} ")
    assert agent.endswith(" my-app/1.2")
    assert request.header("X-Team") == "payments"
    assert "x-team" in (request.header("Authorization") or "")


def test_paginate_yields_typed_pages_and_items() -> None:
    pages = [
        {"Keys": [{"KeyId": "a"}, {"KeyId": "b"}], "NextMarker": "m1", "Truncated": True},
        {"Keys": [{"KeyId": "c"}], "NextMarker": "m2", "Truncated": True},
        {"Keys": [{"KeyId": "d"}], "Truncated": False},
    ]
    transport = Scripted(*(ok(p) for p in pages))
    c = client(transport)
    ids = [entry.key_id for entry in c.paginate(ListKeysCommand(limit=2)).items()]
    assert ids == ["a", "b", "c", "d"]
    markers = [json.loads(r.body).get("Marker") for r in transport.requests]
    assert markers == [None, "m1", "m2"]
    assert all(json.loads(r.body)["Limit"] == 2 for r in transport.requests)
    transport = Scripted(*(ok(p) for p in pages))
    got = list(client(transport).paginate(ListKeysCommand(), max_pages=2))
    assert [type(p).__name__ for p in got] == ["ListKeysResponse"] * 2


def test_paginate_refuses_unpaginated_commands_and_looping_markers() -> None:
    c = client(Scripted(ok({"Keys": [], "NextMarker": "same", "Truncated": True})))
    with pytest.raises(kms_mrk.PaginationError, match="not a paginated"):
        c.paginate(DescribeKeyCommand(key_id="k"))
    with pytest.raises(kms_mrk.PaginationError, match="twice"):
        list(c.paginate(ListKeysCommand()))


def test_debug_logging_has_request_ids_and_never_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secret = b"top secret plaintext"
    encrypt_reply = {"CiphertextBlob": "AAAA", "KeyId": "k"}
    transport = Scripted(err("ThrottlingException", request_id="r-1"), ok(encrypt_reply, "r-2"))
    with caplog.at_level(logging.DEBUG, logger="kms_mrk"):
        client(transport).send(EncryptCommand(key_id="k", plaintext=secret))
    lines = [r.getMessage() for r in caplog.records if r.name == "kms_mrk"]
    assert len(lines) == 2
    assert "request_id=r-1" in lines[0]
    assert "request_id=r-2" in lines[1]
    text = "\n".join(lines)
    assert "top secret" not in text
    assert "plaintext=***" in text


def test_final_failures_log_at_info_unless_the_caller_asked_for_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="kms_mrk"), pytest.raises(KMSInternalException):
        client(Scripted(err("KMSInternalException", 500, "r-9")), retry=1).describe_key(key_id="k")
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "request_id=r-9" in caplog.records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kms_mrk"), pytest.raises(NotFoundException):
        client(Scripted(err("NotFoundException", request_id="r-8"))).describe_key(key_id="k")
    assert caplog.records == []  # a missing key is an answer, not an incident
    with caplog.at_level(logging.DEBUG, logger="kms_mrk"), pytest.raises(NotFoundException):
        client(Scripted(err("NotFoundException", request_id="r-7"))).describe_key(key_id="k")
    assert any("request_id=r-7" in r.getMessage() for r in caplog.records)


def test_errors_carry_the_extended_request_id() -> None:
    response = HttpResponse(
        500,
        {"x-amzn-RequestId": "r", "x-amz-id-2": "ext-2"},
        b'{"__type": "KMSInternalException"}',
    )
    with pytest.raises(KMSInternalException) as info:
        client(Scripted(response), retry=1).describe_key(key_id="k")
    assert info.value.metadata is not None
    assert info.value.metadata.extended_request_id == "ext-2"


def test_requests_and_responses_are_read_only_and_their_repr_hides_secrets() -> None:
    captured: list[HttpRequest] = []

    def answer(request: HttpRequest) -> HttpResponse:
        captured.append(request)
        return ok({"Plaintext": "c2VjcmV0LXBsYWludGV4dA==", "KeyId": "k"})

    session = Credentials("AKIDEXAMPLE", "secret-key-value", "session-token-value")
    c = client(Scripted(answer), credentials=session)
    c.send(EncryptCommand(key_id="k", plaintext=b"secret-plaintext"))
    request = captured[0]
    text = repr(request)
    assert "session-token-value" not in text
    assert "Signature=" not in text
    assert "c2VjcmV0" not in text
    assert f"<{len(request.body)} bytes>" in text
    with pytest.raises(TypeError):
        request.headers["X-Amz-Target"] = "TrentService.Decrypt"  # type: ignore[index]
    response = ok({"Plaintext": "c2VjcmV0"})
    assert "c2VjcmV0" not in repr(response)


def test_one_client_serves_many_threads() -> None:
    def answer(request: HttpRequest) -> HttpResponse:
        key = json.loads(request.body)["KeyId"]
        return ok({"KeyMetadata": {"KeyId": key}})

    c = client(Scripted(answer))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                key = f"key-{n}-{i}"
                assert c.describe_key(key_id=key).key_metadata.key_id == key  # type: ignore[union-attr]
                assert c.for_region("eu-west-1").describe_key(key_id=key).key_metadata is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
