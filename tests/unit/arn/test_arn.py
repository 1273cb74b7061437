"""KMS ARNs and key identifiers: table tests, vectors and round-trip properties."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kms_mrk.arn import (
    InvalidKeyIdentifierError,
    KeyArn,
    KeyIdentifier,
    alias_arn,
    arn_in_region,
    is_multi_region_key_id,
    key_arn,
    parse_arn,
    parse_key_identifier,
    partition_for_region,
    same_multi_region_key,
)
from kms_mrk.errors._base import KmsMrkError

UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"
ACCOUNT = "111122223333"
MRK_EAST = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{MRK}"
MRK_WEST = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{MRK}"


# ----------------------------------------------------------------------------- valid forms


@pytest.mark.parametrize(
    ("text", "kind", "key_id", "alias_name", "region", "multi_region", "aws_managed"),
    [
        (UUID, "key_id", UUID, None, None, False, False),
        (MRK, "key_id", MRK, None, None, True, False),
        (
            f"arn:aws:kms:us-east-2:{ACCOUNT}:key/{UUID}",
            "key_arn",
            UUID,
            None,
            "us-east-2",
            False,
            False,
        ),
        (MRK_WEST, "key_arn", MRK, None, "us-west-2", True, False),
        ("alias/ExampleAlias", "alias_name", None, "alias/ExampleAlias", None, False, False),
        ("alias/app/prod_key-1", "alias_name", None, "alias/app/prod_key-1", None, False, False),
        ("alias/aws/s3", "alias_name", None, "alias/aws/s3", None, False, True),
        (
            f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/ExampleAlias",
            "alias_arn",
            None,
            "alias/ExampleAlias",
            "us-east-2",
            False,
            False,
        ),
        (
            f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/aws/ebs",
            "alias_arn",
            None,
            "alias/aws/ebs",
            "us-east-2",
            False,
            True,
        ),
        (
            f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{MRK}",
            "key_arn",
            MRK,
            None,
            "cn-north-1",
            True,
            False,
        ),
        (
            f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:key/{UUID}",
            "key_arn",
            UUID,
            None,
            "us-gov-west-1",
            False,
            False,
        ),
        (
            f"arn:aws-eusc:kms:eusc-de-east-1:{ACCOUNT}:key/{UUID}",
            "key_arn",
            UUID,
            None,
            "eusc-de-east-1",
            False,
            False,
        ),
        (
            f"arn:aws-iso-b:kms:us-isob-east-1:{ACCOUNT}:key/{UUID}",
            "key_arn",
            UUID,
            None,
            "us-isob-east-1",
            False,
            False,
        ),
        ("alias/" + "a" * 250, "alias_name", None, "alias/" + "a" * 250, None, False, False),
    ],
)
def test_parse_key_identifier(
    text: str,
    kind: str,
    key_id: str | None,
    alias_name: str | None,
    region: str | None,
    multi_region: bool,
    aws_managed: bool,
) -> None:
    ident = parse_key_identifier(text)
    assert ident.kind == kind
    assert ident.key_id == key_id
    assert ident.alias_name == alias_name
    assert ident.region == region
    assert ident.is_multi_region is multi_region
    assert ident.is_aws_managed is aws_managed
    assert ident.is_alias is (alias_name is not None)
    assert ident.is_arn is kind.endswith("_arn")
    assert ident.account_id == (ACCOUNT if ident.is_arn else None)
    assert str(ident) == text
    assert is_multi_region_key_id(text) is (multi_region and ident.key_id is not None)


def test_parse_arn_parts() -> None:
    arn = parse_arn(f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/aws/s3")
    assert arn == KeyArn(
        partition="aws",
        region="us-east-2",
        account_id=ACCOUNT,
        resource_type="alias",
        resource_id="aws/s3",
    )
    assert (arn.key_id, arn.alias_name, arn.is_aws_managed, arn.is_multi_region) == (
        None,
        "alias/aws/s3",
        True,
        False,
    )
    key = parse_arn(MRK_EAST)
    assert (key.key_id, key.alias_name, key.is_multi_region) == (MRK, None, True)
    assert key.in_region("eu-west-1") == parse_arn(MRK_EAST.replace("us-east-1", "eu-west-1"))
    assert hash(key) == hash(parse_arn(MRK_EAST))


# ----------------------------------------------------------------------------- invalid forms


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "a key id must not be empty"),
        (
            "mrk-1234abcd12ab34cd56ef12345678990ab",
            "a multi-Region key id is 'mrk-' followed by 32 hexadecimal digits; got 33",
        ),
        ("mrk-1234", "; got 4 characters after 'mrk-'"),
        ("mrk-1234abcd12ab34cd56ef1234567890ag", "non-hexadecimal character 'g'"),
        ("mrk-1234ABCD12ab34cd56ef1234567890ab", "in lowercase; got uppercase digits"),
        ("1234ABCD-12ab-34cd-56ef-1234567890ab", "got uppercase digits"),
        ("1234abcd12ab34cd56ef1234567890ab", "grouped 8-4-4-4-12"),
        ("ExampleAlias", "an alias name starts with 'alias/'"),
        ("Alias/ExampleAlias", "the 'alias/' prefix is lowercase; got 'Alias/'"),
        ("ARN:aws:kms:us-east-1:111122223333:key/x", "the 'arn:' prefix is lowercase"),
        ("alias/", "at least one character after 'alias/'"),
        ("alias/my key", "only ASCII letters, digits, '/', '_' and '-'; got ' '"),
        ("alias/clé", "got 'é'"),
        ("alias/a:b", "got ':'"),
        ("alias/" + "a" * 251, "at most 256 characters, 'alias/' included; got 257"),
        (" alias/x", "remove the leading or trailing whitespace"),
        (f"{UUID}\n", "remove the leading or trailing whitespace"),
        ("arn:aws:kms", "six parts separated by ':'"),
        (f"arn:aws:s3:us-east-1:{ACCOUNT}:key/{UUID}", "the service of a KMS ARN is 'kms'"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:keys/{UUID}", "'key/<key id>' or 'alias/<alias name>'"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:{UUID}", "'key/<key id>' or 'alias/<alias name>'"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/", "a key id must not be empty"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/alias/x", "grouped 8-4-4-4-12"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/", "at least one character after 'alias/'"),
        (f"arn:aws:kms:US-EAST-1:{ACCOUNT}:key/{UUID}", "a Region is lowercase words"),
        (f"arn:aws:kms:useast1:{ACCOUNT}:key/{UUID}", "a Region is lowercase words"),
        (f"arn:aws:kms::{ACCOUNT}:key/{UUID}", "a Region is lowercase words"),
        (f"arn:aws:kms:us-east-1:11112222333:key/{UUID}", "12 decimal digits; got '11112222333'"),
        (f"arn:aws:kms:us-east-1:11112222333a:key/{UUID}", "12 decimal digits"),
        (f"arn:aws:kms:us-east-1:١١١١٢٢٢٢٣٣٣٣:key/{UUID}", "12 decimal digits"),
        (f"arn:amazon:kms:us-east-1:{ACCOUNT}:key/{UUID}", "a partition is 'aws'"),
        (
            f"arn:aws:kms:cn-north-1:{ACCOUNT}:key/{UUID}",
            "Region cn-north-1 is in partition 'aws-cn', not 'aws'",
        ),
        (f"arn:aws-cn:kms:us-east-1:{ACCOUNT}:key/{UUID}", "is in partition 'aws', not 'aws-cn'"),
    ],
)
def test_invalid_identifiers_name_the_input_and_the_rule(text: str, rule: str) -> None:
    with pytest.raises(InvalidKeyIdentifierError) as info:
        parse_key_identifier(text)
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, KmsMrkError)
    assert rule in str(error)
    assert error.value == text
    assert repr(text)[:60] in str(error)


def test_non_strings_raise_the_library_error() -> None:
    for value in (None, 42, b"alias/x", ["alias/x"]):
        with pytest.raises(InvalidKeyIdentifierError, match="must be a string"):
            parse_key_identifier(value)  # type: ignore[arg-type]
        with pytest.raises(InvalidKeyIdentifierError, match="must be a string"):
            parse_arn(value)  # type: ignore[arg-type]
        assert not is_multi_region_key_id(value)


def test_long_input_is_shortened_in_the_message() -> None:
    text = "alias/" + "x" * 5000
    with pytest.raises(InvalidKeyIdentifierError) as info:
        parse_key_identifier(text)
    assert len(str(info.value)) < 300
    assert info.value.value == text


def test_parse_arn_rejects_bare_ids_and_aliases() -> None:
    with pytest.raises(InvalidKeyIdentifierError, match="an ARN starts with 'arn:'"):
        parse_arn(MRK)
    with pytest.raises(InvalidKeyIdentifierError, match="at most 2048 characters"):
        parse_arn("arn:" + "a" * 2048)


def test_key_arn_validates_when_built_directly() -> None:
    with pytest.raises(InvalidKeyIdentifierError, match=r"KeyArn.account_id '1'"):
        KeyArn(
            partition="aws",
            region="us-east-1",
            account_id="1",
            resource_type="key",
            resource_id=UUID,
        )
    with pytest.raises(InvalidKeyIdentifierError, match=r"KeyArn\.resource_type 'grant': the"):
        KeyArn(
            partition="aws",
            region="us-east-1",
            account_id=ACCOUNT,
            resource_type="grant",  # type: ignore[arg-type]
            resource_id=UUID,
        )
    with pytest.raises(InvalidKeyIdentifierError, match=r"KeyArn\.region None: must be a string"):
        KeyArn(
            partition="aws",
            region=None,  # type: ignore[arg-type]
            account_id=ACCOUNT,
            resource_type="key",
            resource_id=UUID,
        )


def test_key_identifier_parts_must_match_the_kind() -> None:
    with pytest.raises(InvalidKeyIdentifierError, match="use parse_key_identifier"):
        KeyIdentifier(kind="key_arn", key_id=UUID)
    with pytest.raises(InvalidKeyIdentifierError, match="use parse_key_identifier"):
        KeyIdentifier(kind="alias_name", key_id=UUID)


# ----------------------------------------------------------------------------- multi-Region


def test_is_multi_region_key_id() -> None:
    assert is_multi_region_key_id(MRK)
    assert is_multi_region_key_id(MRK_EAST)
    assert is_multi_region_key_id(parse_arn(MRK_EAST))
    assert is_multi_region_key_id(parse_key_identifier(MRK))
    assert not is_multi_region_key_id(parse_key_identifier("alias/app"))
    assert not is_multi_region_key_id(UUID)
    assert not is_multi_region_key_id(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{UUID}")
    assert not is_multi_region_key_id(f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/{MRK}")
    assert not is_multi_region_key_id("mrk-1234abcd12ab34cd56ef12345678990ab")  # 33 digits
    assert not is_multi_region_key_id(MRK.upper())
    assert not is_multi_region_key_id(MRK + "\n")
    assert not is_multi_region_key_id("arn:garbage")


def test_arn_in_region() -> None:
    assert arn_in_region(MRK_EAST, "us-west-2") == MRK_WEST
    assert arn_in_region(parse_arn(MRK_EAST), "us-east-1") == MRK_EAST
    gov = f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:key/{MRK}"
    assert arn_in_region(gov, "us-gov-east-1") == gov.replace("west", "east")


@pytest.mark.parametrize(
    ("arn", "region", "rule"),
    [
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{UUID}", "us-west-2", "is a single-Region key"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app", "us-west-2", "an alias is not replicated"),
        (MRK_EAST, "cn-north-1", "multi-Region keys stay in their partition"),
        (MRK_EAST, "us_west_2", "a Region is lowercase words"),
        (MRK_EAST, "", "a Region is lowercase words"),
        (MRK, "us-west-2", "an ARN starts with 'arn:'"),
    ],
)
def test_arn_in_region_refuses(arn: str, region: str, rule: str) -> None:
    with pytest.raises(InvalidKeyIdentifierError, match=re.escape(rule)):
        arn_in_region(arn, region)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (MRK_EAST, MRK_WEST, True),
        (MRK_EAST, MRK_EAST, True),
        (MRK_EAST, MRK, True),
        (MRK, MRK, True),
        (parse_arn(MRK_EAST), parse_key_identifier(MRK_WEST), True),
        (MRK_EAST, MRK_WEST.replace(ACCOUNT, "444455556666"), False),
        (MRK_EAST, MRK_WEST.replace("ab", "ac"), False),
        (
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{UUID}",
            f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{UUID}",
            False,
        ),
        (UUID, UUID, False),
        (MRK_EAST, f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{MRK}", False),
    ],
)
def test_same_multi_region_key(a: object, b: object, same: bool) -> None:
    assert same_multi_region_key(a, b) is same  # type: ignore[arg-type]
    assert same_multi_region_key(b, a) is same  # type: ignore[arg-type]


def test_same_multi_region_key_refuses_aliases_and_garbage() -> None:
    with pytest.raises(InvalidKeyIdentifierError, match="resolve it to the key's ARN"):
        same_multi_region_key("alias/app", MRK_EAST)
    with pytest.raises(InvalidKeyIdentifierError, match="resolve it to the key's ARN"):
        same_multi_region_key(MRK_EAST, parse_arn(f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/x"))
    with pytest.raises(InvalidKeyIdentifierError):
        same_multi_region_key(MRK_EAST, "not a key")


# ----------------------------------------------------------------------------- building


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-3", "aws"),
        ("ap-southeast-5", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eusc-de-east-1", "aws-eusc"),
        ("mars-central-1", "aws"),
    ],
)
def test_partition_for_region(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition


def test_partitions_agree_with_botocore() -> None:
    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data/partitions.json").read_text())
    checked = 0
    for entry in data["partitions"]:
        for region in entry["regions"]:
            if re.fullmatch(entry["regionRegex"], region):  # skips "aws-global" and the like
                assert partition_for_region(region) == entry["id"], region
                checked += 1
    assert checked > 30


def test_key_arn_and_alias_arn() -> None:
    assert key_arn("us-east-2", ACCOUNT, UUID) == f"arn:aws:kms:us-east-2:{ACCOUNT}:key/{UUID}"
    assert key_arn("cn-north-1", ACCOUNT, MRK) == f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{MRK}"
    assert key_arn("us-east-2", ACCOUNT, UUID, partition="aws") == key_arn(
        "us-east-2", ACCOUNT, UUID
    )
    expected = f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/app"
    assert alias_arn("us-east-2", ACCOUNT, "alias/app") == expected
    assert alias_arn("us-east-2", ACCOUNT, "app") == expected
    with pytest.raises(InvalidKeyIdentifierError, match="12 decimal digits"):
        key_arn("us-east-2", "123", UUID)
    with pytest.raises(InvalidKeyIdentifierError, match="grouped 8-4-4-4-12"):
        key_arn("us-east-2", ACCOUNT, "alias/app")
    with pytest.raises(InvalidKeyIdentifierError, match="is in partition 'aws-cn', not 'aws'"):
        key_arn("cn-north-1", ACCOUNT, UUID, partition="aws")
    with pytest.raises(InvalidKeyIdentifierError, match=r"Region None: must be a string"):
        key_arn(None, ACCOUNT, UUID)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- vectors


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_identifiers_in_the_botocore_kms_examples(vectors: Path) -> None:
    # ``vectors`` (tests/conftest.py) is ../shared/vectors beside the clone, and fails the
    # test rather than skipping it when the vectors are missing.
    path = vectors / "botocore-kms-examples" / "examples-1.json"
    found = {
        s
        for s in _strings(json.loads(path.read_text()))
        if s.startswith(("arn:aws:kms:", "alias/", "mrk-")) or re.fullmatch(r"[0-9a-f-]{36}", s)
    }
    # the examples' multi-Region CreateKey id has 33 hex digits (documented in the README)
    defective = {s for s in found if "12345678990ab" in s}
    assert len(defective) == 2
    for text in defective:
        with pytest.raises(InvalidKeyIdentifierError, match="32 hexadecimal digits; got 33"):
            parse_key_identifier(text)
    valid = found - defective
    assert len(valid) > 30
    for text in valid:
        if text == 'alias/"':  # a fragment of a policy document, not an identifier
            continue
        assert str(parse_key_identifier(text)) == text


# ----------------------------------------------------------------------------- properties

hex_digits = st.text("0123456789abcdef", min_size=1, max_size=1)


def _hex(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=n, max_size=n)


uuids = st.builds(
    lambda a, b, c, d, e: f"{a}-{b}-{c}-{d}-{e}", _hex(8), _hex(4), _hex(4), _hex(4), _hex(12)
)
mrks = _hex(32).map(lambda h: f"mrk-{h}")
key_ids = st.one_of(uuids, mrks)
words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
regions = st.one_of(
    st.sampled_from(
        [
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-gov-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "ap-southeast-5",
        ]
    ),
    st.builds(
        lambda ws, n: "-".join(ws) + f"-{n}",
        st.lists(words, min_size=2, max_size=3),
        st.integers(min_value=1, max_value=99),
    ).filter(lambda r: len(r) <= 32),
)
accounts = st.text("0123456789", min_size=12, max_size=12)
alias_names = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_-", min_size=1, max_size=250
)
key_arns = st.builds(
    lambda r, a, k: f"arn:{partition_for_region(r)}:kms:{r}:{a}:key/{k}",
    regions,
    accounts,
    key_ids,
)
mrk_arns = st.builds(
    lambda r, a, k: f"arn:{partition_for_region(r)}:kms:{r}:{a}:key/{k}", regions, accounts, mrks
)
alias_arns = st.builds(
    lambda r, a, n: f"arn:{partition_for_region(r)}:kms:{r}:{a}:alias/{n}",
    regions,
    accounts,
    alias_names,
)
identifiers = st.one_of(key_ids, key_arns, alias_arns, alias_names.map(lambda n: f"alias/{n}"))


@given(st.one_of(key_arns, alias_arns))
def test_arn_round_trip(text: str) -> None:
    arn = parse_arn(text)
    assert str(arn) == text
    assert parse_arn(str(arn)) == arn


@given(identifiers)
def test_identifier_round_trip(text: str) -> None:
    assert str(parse_key_identifier(text)) == text


@given(mrk_arns, regions)
def test_arn_in_region_round_trip(text: str, region: str) -> None:
    source = parse_arn(text)
    assume(partition_for_region(region) == source.partition)
    moved = arn_in_region(text, region)
    assert parse_arn(moved).region == region
    assert same_multi_region_key(text, moved)
    assert arn_in_region(moved, source.region) == text


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(max_size=80),
        st.text("arn:aws-kmsuoe0123456789/:abcdef", max_size=90),
        st.builds(
            lambda s, i, c: s[:i] + c + s[i + 1 :],
            identifiers,
            st.integers(min_value=0, max_value=120),
            st.characters(),
        ),
        st.builds(lambda s, i: s[:i], identifiers, st.integers(min_value=0, max_value=120)),
    )
)
def test_any_text_parses_or_raises_the_library_error(text: str) -> None:
    try:
        ident = parse_key_identifier(text)
    except InvalidKeyIdentifierError as error:
        assert error.value == text
        assert str(error).startswith("Invalid ")
    else:
        assert str(ident) == text
    is_multi_region_key_id(text)  # never raises
