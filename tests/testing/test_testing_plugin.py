"""The pytest plugin: fixtures, their isolation, markers and the opt-in strict teardown.

Each test runs a small pytest session with ``pytester``. ``pytest_plugins`` is declared here,
in the test module, because pytest refuses it in a conftest.py below the root directory.

In-process pytester runs drop the modules first imported during a run; the fixture below loads
everything the inner sessions use beforehand, so that classes keep one identity across runs.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="module")
def _load_modules_once() -> None:
    import kms_mrk
    import kms_mrk.testing as toolkit

    for name in toolkit.__all__:
        getattr(toolkit, name)
    for name in ("DescribeKeyCommand", "ListKeysCommand", "KMSClient"):
        getattr(kms_mrk, name)
    with toolkit.KmsLocal() as local:
        local.client("eu-west-1").create_key()
        local.client().list_keys()
    mock = toolkit.KmsMock()
    mock.on(kms_mrk.DescribeKeyCommand).rejects("ThrottlingException")
    with pytest.raises(kms_mrk.ThrottlingException):
        mock.client.describe_key(key_id="k")


HEADER = """
import pytest
from kms_mrk import DescribeKeyCommand, KMSClient, ListKeysCommand
from kms_mrk.testing import KmsLocal, KmsMock, UnmatchedRequestError
"""


def run(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=HEADER + body)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_fixtures_leave_no_state_between_tests(pytester: pytest.Pytester) -> None:
    body = """
def test_first(kms_mock, kms_local):
    kms_mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "k"}})
    kms_mock.client.describe_key(key_id="k")
    kms_local.client().create_key()
    kms_local.client("eu-west-1").create_key()
    kms_local.advance(100)

def test_second(kms_mock, kms_local):
    assert kms_mock.stubs == ()
    assert kms_mock.calls() == []
    with pytest.raises(UnmatchedRequestError):
        kms_mock.client.describe_key(key_id="k")
    assert kms_local.client().list_keys().keys == []
    assert kms_local.client("eu-west-1").list_keys().keys == []
    assert kms_local.clock.now() == 1704067200.0

def test_third_sees_fresh_objects_too(kms_mock, kms_local):
    test_second(kms_mock, kms_local)
"""
    run(pytester, body).assert_outcomes(passed=3)


def test_fixture_values_are_the_documented_types(pytester: pytest.Pytester) -> None:
    body = """
def test_types(kms_mock, kms_local):
    assert isinstance(kms_mock, KmsMock)
    assert isinstance(kms_local, KmsLocal)
    assert kms_local.kms.replica_creating_seconds == 0
    assert kms_local.kms.updating_seconds == 0
"""
    run(pytester, body).assert_outcomes(passed=1)


def test_teardown_checks_nothing_by_default(pytester: pytest.Pytester) -> None:
    body = """
def test_unused_stub_and_swallowed_error(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()
    try:
        kms_mock.client.describe_key(key_id="k")
    except AssertionError:
        pass
"""
    run(pytester, body).assert_outcomes(passed=1)


def test_strict_mode_verifies_the_mock_after_a_passing_test(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.kms_mock(strict=True)
def test_unused_stub(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()

@pytest.mark.kms_mock(strict=True)
def test_swallowed_unmatched_call(kms_mock):
    try:
        kms_mock.client.describe_key(key_id="k")
    except Exception:
        pass

@pytest.mark.kms_mock(strict=True)
def test_all_used(kms_mock):
    kms_mock.on(ListKeysCommand).resolves_once()
    kms_mock.client.list_keys()

@pytest.mark.kms_mock(strict=True)
def test_that_fails_by_itself(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()
    assert 1 == 2

@pytest.mark.kms_mock(strict=True)
def test_that_is_skipped(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()
    pytest.skip("not today")
"""
    result = run(pytester, body)
    result.assert_outcomes(passed=3, failed=1, errors=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unused_stub*",
            "*1 stub(s) were never used*",
            "*on(ListKeysCommand)*",
            "*ERROR at teardown of test_swallowed_unmatched_call*",
            "*1 request(s) matched no stub*",
        ]
    )
    assert "teardown of test_that_fails_by_itself" not in result.stdout.str()
    assert "teardown of test_that_is_skipped" not in result.stdout.str()


def test_strict_mode_may_be_the_default_for_a_project(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nkms_mock_strict = true\n")
    body = """
def test_strict_by_ini(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()

@pytest.mark.kms_mock(strict=False)
def test_opted_out(kms_mock):
    kms_mock.on(ListKeysCommand).resolves()
"""
    result = run(pytester, body)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_strict_by_ini*"])


def test_marker_options_configure_the_fixtures(pytester: pytest.Pytester) -> None:
    body = """
ORIGINAL_INIT = KMSClient.__init__  # read when the module is collected, before any fixture

@pytest.mark.kms_mock(region="eu-west-1", retry=1)
def test_mock_options(kms_mock):
    assert kms_mock.client.region == "eu-west-1"
    kms_mock.on(DescribeKeyCommand).rejects("ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        kms_mock.client.describe_key(key_id="k")
    assert kms_mock.call_count() == 1

@pytest.mark.kms_mock(patch_clients=True)
def test_patched_clients(kms_mock, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    kms_mock.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "k"}})
    assert KMSClient().describe_key(key_id="k").key_metadata.key_id == "k"
    assert kms_mock.calls()[0].region == "ap-northeast-1"

def test_clients_are_unpatched_afterwards():
    from kms_mrk._overrides import current_override

    assert KMSClient.__init__ is ORIGINAL_INIT
    assert current_override() is None
    kms = KmsMock()
    kms.on(DescribeKeyCommand).resolves({"KeyMetadata": {"KeyId": "k"}})
    with kms.patch_clients():
        assert KMSClient.__init__ is ORIGINAL_INIT  # a context variable, no patched class
        assert current_override() is not None
    assert current_override() is None

@pytest.mark.kms_local(updating_seconds=5, replica_creating_seconds=2, region="eu-west-1")
def test_local_options(kms_local):
    assert kms_local.kms.updating_seconds == 5
    assert kms_local.kms.replica_creating_seconds == 2
    assert kms_local.client().region == "eu-west-1"
"""
    run(pytester, body).assert_outcomes(passed=4)


def test_positional_marker_arguments_are_refused(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.kms_mock(True)
def test_positional(kms_mock):
    pass
"""
    result = run(pytester, body)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*kms_mock takes keyword arguments only*"])


def test_markers_are_registered_for_strict_marker_runs(pytester: pytest.Pytester) -> None:
    body = """
@pytest.mark.kms_mock(strict=False)
@pytest.mark.kms_local(seed=1)
def test_marked(kms_mock, kms_local):
    pass
"""
    run(pytester, body, "--strict-markers").assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "--markers")
    result.stdout.fnmatch_lines(["*kms_mock(strict=False*", "*kms_local(**options)*"])


def test_the_plugin_module_imports_nothing_of_the_toolkit_up_front() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kms_mrk.testing._pytest_plugin\n"
        "print('kms_mrk.testing._mock' in sys.modules, 'kms_mrk.local' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "False"]
