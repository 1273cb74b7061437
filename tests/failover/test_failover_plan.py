"""plan(): every multi-Region key of the source Region, the action for each, the skip reasons."""

from __future__ import annotations

import json

import pytest

from kms_mrk import KMSClient
from kms_mrk.errors import ConfigurationError
from kms_mrk.failover import KeyFilter, Plan, PlanItem, plan
from kms_mrk.local import ManualClock
from tests.failover._support import SOURCE, TARGET, THIRD, CountingTransport, make_key


def _by_key(result: Plan) -> dict[str, PlanItem]:
    return {item.key_id: item for item in result.items}


def test_plan_gives_the_reason_for_every_skip(
    client: KMSClient, clock: ManualClock, transport: CountingTransport
) -> None:
    ready = make_key(client, clock)
    no_replica = make_key(client, clock, replicas=(THIRD,))
    disabled = make_key(client, clock)
    client.disable_key(key_id=disabled)
    deleting = make_key(client, clock, replicas=())
    client.schedule_key_deletion(key_id=deleting, pending_window_in_days=7)
    target_disabled = make_key(client, clock)
    client.for_region(TARGET).disable_key(key_id=target_disabled)
    moved = make_key(client, clock)
    client.update_primary_region(key_id=moved, primary_region=TARGET)
    clock.advance(60)
    updating = make_key(client, clock)
    client.update_primary_region(key_id=updating, primary_region=THIRD)
    creating = make_key(client, clock, replicas=(TARGET,), settle=False)
    single = client.create_key()
    assert single.key_metadata is not None

    transport.operations.clear()
    result = plan(client, SOURCE, TARGET)

    items = _by_key(result)
    assert items[ready].action == "promote"
    assert items[ready].reason is None
    expected = {
        no_replica: "no_replica_in_target",
        disabled: "disabled",
        deleting: "pending_deletion",
        target_disabled: "target_not_enabled",
        creating: "target_not_enabled",
        moved: "already_in_target",
        updating: "updating",
    }
    for key_id, reason in expected.items():
        assert (items[key_id].action, items[key_id].reason) == ("skip", reason), key_id
        assert items[key_id].detail
    assert single.key_metadata.key_id not in items
    assert result.single_region_keys == 1
    assert result.counts()["promote"] == 1
    assert result.counts()["skip"] == len(expected)
    # A plan only reads.
    assert set(transport.operations) == {"ListKeys", "ListAliases", "DescribeKey"}


def test_filter_by_tags_aliases_and_key_ids(client: KMSClient, clock: ManualClock) -> None:
    pay = make_key(client, clock, tags={"team": "payments", "tier": "1"}, alias="alias/pay-core")
    pay2 = make_key(client, clock, tags={"team": "payments", "tier": "2"}, alias="alias/pay-edge")
    ops = make_key(client, clock, tags={"team": "ops"}, alias="alias/ops-main")

    by_tag = _by_key(plan(client, SOURCE, TARGET, KeyFilter(tags={"team": "payments"})))
    assert [k for k, i in by_tag.items() if i.action == "promote"] == [pay, pay2]
    assert by_tag[ops].reason == "not_matched"
    assert "team=payments" in (by_tag[ops].detail or "")

    by_two_tags = _by_key(plan(client, SOURCE, TARGET, KeyFilter(tags=["team=payments", "tier=2"])))
    assert [k for k, i in by_two_tags.items() if i.action == "promote"] == [pay2]

    by_alias = _by_key(plan(client, SOURCE, TARGET, KeyFilter(alias_prefixes=["pay-"])))
    assert [k for k, i in by_alias.items() if i.action == "promote"] == [pay, pay2]
    assert by_alias[pay].aliases == ("alias/pay-core",)

    by_id = _by_key(plan(client, SOURCE, TARGET, KeyFilter(key_ids=[ops])))
    assert [k for k, i in by_id.items() if i.action == "promote"] == [ops]


def test_filter_rejects_bad_input() -> None:
    with pytest.raises(ConfigurationError, match="KEY=VALUE"):
        KeyFilter(tags=["team"])
    with pytest.raises(ValueError, match="key id"):
        KeyFilter(key_ids=["alias/x"])


def test_plan_rejects_same_regions_before_any_call(
    client: KMSClient, transport: CountingTransport
) -> None:
    with pytest.raises(ConfigurationError, match="must differ"):
        plan(client, SOURCE, SOURCE)
    with pytest.raises(ConfigurationError, match="concurrency"):
        plan(client, SOURCE, TARGET, concurrency=0)
    assert transport.operations == []


def test_plan_round_trips_through_json(client: KMSClient, clock: ManualClock) -> None:
    make_key(client, clock, alias="alias/a")
    make_key(client, clock, replicas=(THIRD,))
    original = plan(client, SOURCE, TARGET, KeyFilter(tags={"x": "y"}, alias_prefixes=["a"]))
    document = json.loads(json.dumps(original.to_dict()))
    assert document["schema_version"] == 1
    again = Plan.from_dict(document)
    assert again == original
    # The whole `kms-mrk plan --output json` document is accepted too.
    assert Plan.from_dict({"schema_version": 1, "plan": document}) == original


def test_plan_from_dict_names_what_is_wrong() -> None:
    with pytest.raises(ConfigurationError, match="schema_version"):
        Plan.from_dict({"schema_version": 99})
    with pytest.raises(ConfigurationError, match="action"):
        Plan.from_dict(
            {
                "schema_version": 1,
                "from_region": SOURCE,
                "to_region": TARGET,
                "items": [{"key_id": "mrk-" + "a" * 32, "action": "delete"}],
            }
        )


def test_plan_with_threads_keeps_listing_order(client: KMSClient, clock: ManualClock) -> None:
    keys = [make_key(client, clock, replicas=(TARGET,), settle=False) for _ in range(12)]
    clock.advance(60)
    sequential = plan(client, SOURCE, TARGET, concurrency=1)
    threaded = plan(client, SOURCE, TARGET, concurrency=6)
    assert [i.key_id for i in threaded.items] == [i.key_id for i in sequential.items] == keys
    assert threaded.items == sequential.items


# --------------------------------------------------------------------------- review of issue 5

KEY = "mrk-" + "a" * 32


def _document(**changes: object) -> dict[str, object]:
    item = {
        "key_id": KEY,
        "arn": f"arn:aws:kms:{SOURCE}:111122223333:key/{KEY}",
        "action": "promote",
        "reason": None,
        "detail": None,
        "key_state": "Enabled",
        "primary_region": SOURCE,
        "replica_regions": [TARGET],
        "aliases": ["alias/a"],
    }
    document: dict[str, object] = {
        "schema_version": 1,
        "from_region": SOURCE,
        "to_region": TARGET,
        "created_at": "2024-05-01T10:00:00Z",
        "filter": {"tags": {}, "alias_prefixes": [], "key_ids": []},
        "single_region_keys": 0,
        "items": [item],
    }
    for path, value in changes.items():
        target: dict[str, object] = document
        *parents, last = path.split("__")
        for parent in parents:
            child = target[parent]
            target = child[0] if isinstance(child, list) else child  # type: ignore[assignment]
        target[last] = value
    return document


def test_a_well_formed_document_is_accepted() -> None:
    read = Plan.from_dict(_document())
    assert [i.key_id for i in read.to_promote] == [KEY]
    assert Plan.from_dict(read.to_dict()) == read


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"items": [1]}, r"plan items\[0\] must be a JSON object; got a number \(1\)"),
        ({"items": "x"}, "plan items must be an array"),
        ({"items__replica_regions": 5}, r"plan items\[0\].replica_regions must be an array"),
        ({"items__replica_regions": ["nowhere"]}, r"plan items\[0\].replica_regions\[0\]="),
        ({"items__aliases": "abc"}, r"plan items\[0\].aliases must be an array of strings"),
        ({"items__primary_region": "US-EAST-1"}, r"plan items\[0\].primary_region="),
        ({"items__detail": 3}, r"plan items\[0\].detail must be a string or null"),
        ({"items__key_id": "alias/x"}, r"plan items\[0\].key_id 'alias/x' is not a key id"),
        ({"items__arn": "arn:aws:kms:us-east-1:1:key/x"}, r"plan items\[0\].arn: "),
        (
            {"items__arn": f"arn:aws:kms:{TARGET}:111122223333:key/{KEY}"},
            "not in the plan's from_region",
        ),
        ({"items__action": "skip"}, r"plan items\[0\].reason must be one of"),
        ({"items__reason": "disabled"}, r"plan items\[0\].reason must be null"),
        ({"filter": "x"}, "plan filter must be a JSON object"),
        ({"filter__tags": {"a": 1}}, "plan filter.tags must be an object of strings"),
        ({"filter__key_ids": ["alias/x"]}, "plan filter: "),
        ({"single_region_keys": "x"}, "plan single_region_keys must be a whole number"),
        ({"single_region_keys": -1}, "plan single_region_keys must be a whole number"),
        ({"created_at": 5}, "plan created_at must be a string"),
        ({"to_region": "nowhere"}, "plan to_region='nowhere' is not a valid Region name"),
        ({"from_region": 5}, "plan from_region=5 is not a valid Region name"),
        ({"to_region": SOURCE}, "must differ"),
        ({"schema_version": True}, "schema_version"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_every_field_of_a_plan_document_is_checked(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Plan.from_dict(_document(**changes))


def test_a_key_listed_twice_is_refused() -> None:
    document = _document()
    items = document["items"]
    assert isinstance(items, list)
    document["items"] = [items[0], dict(items[0])]
    with pytest.raises(ConfigurationError, match=r"items\[1\].key_id .* listed twice"):
        Plan.from_dict(document)


def test_a_plan_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a JSON object"):
        Plan.from_dict([1])  # type: ignore[arg-type]


def test_one_tag_may_be_given_as_a_string() -> None:
    assert KeyFilter(tags="team=payments").tags == {"team": "payments"}
    assert KeyFilter(tags=["a=b", "c=d"]).tags == {"a": "b", "c": "d"}
    with pytest.raises(ConfigurationError, match="tag filter 'team' must look like KEY=VALUE"):
        KeyFilter(tags="team")
    with pytest.raises(ConfigurationError, match="tags must be a mapping"):
        KeyFilter(tags=5)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="key_ids must be a string or a list"):
        KeyFilter(key_ids=5)  # type: ignore[arg-type]
