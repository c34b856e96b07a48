"""Every DynamoDB key of the service, spelled out: the loader writes them, the API reads them, and
items written by one version of the code must be found by the next."""

from __future__ import annotations

import pytest

from lambdas.store import keys


@pytest.mark.parametrize(
    ("family", "record", "key"),
    [
        ("personal", {"user_id": 42, "item_id": "no"}, "42"),
        ("artists", {"user_id": "u7"}, "u7"),
        ("similar-items", {"item_id": 9, "user_id": "no"}, "9"),
        ("similar-artists", {"artist_id": "a3", "item_id": "no"}, "a3"),
        ("regional", {"region": "us-tx", "genre": "Jazz"}, "us-tx#Jazz"),
        ("regional", {"region": "*", "genre": None}, "*#*"),
        ("regional", {"region": "us-ca"}, "us-ca#*"),
        ("catalog", {"kind": "item", "id": "s1"}, "item#s1"),
        ("catalog", {"kind": "station", "id": 5}, "station#5"),
    ],
)
def test_record_key_per_family(family, record, key):
    assert keys.record_key(family, record) == key


def test_an_unknown_family_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown family 'charts'$"):
        keys.record_key("charts", {"user_id": "u1"})


def test_chart_key_names_every_genre_with_a_star():
    assert keys.chart_key("us-tx", "Rock") == "us-tx#Rock"
    assert keys.chart_key("us-tx", None) == "us-tx#*"
    assert keys.chart_key("us-tx", "") == "us-tx#*"
    assert keys.NATIONAL == "*"
    assert keys.ALL_GENRES == "*"


def test_list_items_and_load_markers():
    assert keys.list_pk("personal", "v3", "u1") == "personal#v3#u1"
    assert keys.ACTIVE == {"pk": "active", "sk": "batch"}
    assert keys.load_marker("v3", "personal/part-0.jsonl.gz") == {
        "pk": "load#v3",
        "sk": "personal/part-0.jsonl.gz",
    }
    assert keys.load_marker_pk("v3") == "load#v3"


def test_state_keys_of_profiles_and_availability():
    assert keys.profile("u1") == {"pk": "user#u1", "sk": "profile"}
    assert keys.availability("s9") == {"pk": "availability", "sk": "item#s9"}


def test_event_keys_sort_by_time_as_text():
    assert keys.user_events_pk("u1") == "user#u1"
    assert keys.event_sk(1_700_000_000_123, "e1") == "1700000000123#e1"
    assert keys.event_sk(42, "e2") == "0000000000042#e2"  # 13 digits: text order is time order
    assert keys.event_sk(999, "e") < keys.event_sk(1000, "e")
    assert keys.event_marker("u1", "e1") == {"pk": "event#u1|e1", "sk": "event"}
    # ids may contain "#" but never "|": two listeners' markers cannot meet
    assert keys.event_marker("a#b", "c") != keys.event_marker("a", "b#c")
    assert keys.issued("r1") == {"pk": "rec#r1", "sk": "issued"}
    assert keys.counted("r1", "click", None) == {"pk": "counted#r1|click|*", "sk": "counted"}
    assert keys.counted("r1", "click", "s1") == {"pk": "counted#r1|click|s1", "sk": "counted"}


def test_experiment_counters():
    assert keys.counter("onboarding", "model", 3, "clicks") == {
        "pk": "onboarding#model#3",
        "sk": "clicks",
    }
    assert keys.COUNTER_SHARDS == 8
