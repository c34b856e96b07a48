"""The home screen through the recommendations handler: the carousels that have something to
show, in the bandit's order, each recorded with its kind, position, propensity and features;
the prior's order without a state and the state's order with one; the impressions and clicks
of its carousels logged once and folded by the refresh; access, validation and the listener
with nothing. The batch version is tests/lambdas/logic/chart_world.py's with a listener's
lists and similar lists added."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.handlers import bandit_refresh, events, recommendations
from lambdas.logic import bandit, home
from lambdas.logic.bandit_state import refresh
from lambdas.logic.metrics import FALLBACKS
from lambdas.logic.services import services
from lambdas.routes import BANDIT_REFRESH
from local import schedules
from tests.lambdas.api.home_world import home_world
from tests.lambdas.api.loaded import Loaded, call
from tests.lambdas.events import FakeContext

KNOWN = "u-home"  # a batch list, onboarded (Jazz, Rock), plays s001 before the tests
LIMIT = 5
EVERY_KIND = set(home.KINDS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    with home_world(tmp_path_factory.mktemp("home"), "h1", KNOWN) as found:
        yield found


@pytest.fixture
def no_state(stack: Loaded) -> Iterator[None]:
    """No bandit state before and after the test."""
    table = services().store.tables["experiments"]
    table.delete_item(Key={"pk": "bandit#home", "sk": "state"})
    yield
    table.delete_item(Key={"pk": "bandit#home", "sk": "state"})


def home_of(user: str, query: str = f"limit={LIMIT}", **kwargs: Any) -> dict[str, Any]:
    status, answer = call(recommendations, "GET", f"/v1/users/{user}/home", query=query, **kwargs)
    assert status == 200, answer
    return answer


def test_every_carousel_with_its_id_position_propensity_and_record(no_state):
    answer = home_of(KNOWN)
    assert set(answer) >= {"user_id", "carousels", "policy", "warnings", "recommendation_id",
                           "variant", "model_version"}  # fmt: skip
    assert (answer["user_id"], answer["warnings"]) == (KNOWN, [])
    assert answer["policy"] == {"name": "softmax", "version": "prior"}
    shown = answer["carousels"]
    assert {c["kind"] for c in shown} == EVERY_KIND
    assert [c["position"] for c in shown] == list(range(len(EVERY_KIND)))
    assert len({c["recommendation_id"] for c in shown}) == len(shown)
    by_kind = {c["kind"]: c for c in shown}
    for kind in ("for_you", "because_you_played", "region_chart", "artists_for_you"):
        assert len(by_kind[kind]["items"]) == LIMIT, kind  # filled to the limit
    assert by_kind["because_you_played"]["title"] == "Because you played Song 1"
    assert by_kind["because_you_played"]["seed"] == "s001"
    assert by_kind["region_chart"]["title"] == "Popular in xx-b"  # the profile's region
    assert by_kind["genre_station"]["seed"] in ("Jazz", "Rock")
    assert {i["genre"] for i in by_kind["genre_station"]["items"]} == {
        by_kind["genre_station"]["seed"]}  # fmt: skip
    assert [i["id"] for i in by_kind["fans_also_like"]["items"]] == ["a005", "a006", "a007"]
    assert shown[-1]["propensity"] == 1.0  # the last one left
    store = services().store
    for carousel in shown:
        assert 0 < carousel["propensity"] <= 1
        issued = store.issued(carousel["recommendation_id"])
        assert issued is not None
        assert (issued["user_id"], issued["experiment"], issued["variant"]) == (
            KNOWN, "home", "softmax")  # fmt: skip
        assert issued["items"] == [i["id"] for i in carousel["items"]]
        decision = issued["decision"]
        assert (decision["kind"], int(decision["position"])) == (
            carousel["kind"],
            carousel["position"],
        )
        assert float(decision["propensity"]) == pytest.approx(carousel["propensity"], abs=1e-6)
        assert decision["policy_version"] == "prior"
        features = {k: float(v) for k, v in decision["features"].items()}
        assert features[f"{carousel['kind']}:bias"] == 1.0
        assert features[f"{carousel['kind']}:has_list"] == 1.0
        assert all(name.startswith(carousel["kind"] + ":") for name in features)
        assert decision["slate"] == [c["kind"] for c in shown]
        assert issued["expires_at"] > time.time() + 6 * 86400


def test_the_propensities_are_the_policys_exact_ones(no_state):
    """Each position's recorded propensity is the softmax's probability of that carousel among
    those not placed above, recomputed from what was recorded (context, candidates, slate)."""
    answer = home_of(KNOWN)
    issued = services().store.issued(answer["carousels"][0]["recommendation_id"])
    assert issued is not None
    decision = issued["decision"]
    context = {k: float(v) for k, v in decision["context"].items()}
    remaining = list(decision["candidates"])
    for carousel in answer["carousels"]:
        vectors = [bandit.encode(home.FEATURES, {f"{k}:{n}": v for n, v in context.items()})
                   for k in remaining]  # fmt: skip
        top = bandit.top_probabilities(home.prior(), vectors, home.POLICY)
        at = remaining.index(carousel["kind"])
        assert carousel["propensity"] == pytest.approx(top[at], abs=1e-6)
        remaining.pop(at)


def firsts(user: str, n: int) -> Counter[str]:
    return Counter(home_of(user, "limit=2")["carousels"][0]["kind"] for _ in range(n))


def test_the_prior_is_the_hand_made_order_and_a_state_reorders(no_state):
    """Without a state the first carousel is ``for_you`` about 9 times in 10; with a state that
    has seen ``fans_also_like`` clicked far more often, that one comes first."""
    prior_firsts = firsts(KNOWN, 30)
    assert prior_firsts.most_common(1)[0] == ("for_you", pytest.approx(27, abs=6))
    stats = bandit.empty(home.FEATURES)
    context = home.Context(has_list=True, onboarded=True, plays=1, days_since_signup=0.0)
    observations = []
    for kind in home.KINDS:
        rate = 0.6 if kind == "fans_also_like" else 0.05
        x = home.vector(kind, context)
        observations += [bandit.Obs(x, 1.0 if i < rate * 200 else 0.0) for i in range(200)]
    stats = bandit.update(stats, observations)
    state = {"stats": bandit.dumps(stats), "watermark": int(time.time() // 60)}
    assert services().store.put_bandit_state("home", state, 7, None)
    answer = home_of(KNOWN)
    assert answer["policy"] == {"name": "softmax", "version": "7"}
    decision = services().store.issued(answer["carousels"][0]["recommendation_id"])["decision"]
    assert decision["policy_version"] == "7"
    learnt = firsts(KNOWN, 30)
    assert learnt.most_common(1)[0] == ("fans_also_like", pytest.approx(27, abs=6))


def emitted(out: str) -> Counter[tuple[str, str]]:
    """The EMF metrics in a handler's output: (metric, service dimension) -> summed value."""
    found: Counter[tuple[str, str]] = Counter()
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for spec in blob["_aws"]["CloudWatchMetrics"]:
                for metric in spec["Metrics"]:
                    values = blob[metric["Name"]]
                    total = sum(values) if isinstance(values, list) else values
                    found[(metric["Name"], blob["service"])] += total
    return found


def test_every_home_screen_is_counted_for_the_fallback_rate(no_state, capsys):
    """The console and the alarm read FALLBACKS["home"]: its metrics, under its dimension."""
    fallback, (screens,), dims = FALLBACKS["home"]
    service = dict(dims)["service"]
    capsys.readouterr()
    home_of(KNOWN)
    home_of("nobody")
    metrics = emitted(capsys.readouterr().out)
    assert metrics[(screens, service)] == 2
    assert metrics[(fallback, service)] == 0


def test_an_unreadable_state_serves_the_prior_and_says_so(no_state, capsys, caplog):
    fallback, (screens,), dims = FALLBACKS["home"]
    service = dict(dims)["service"]
    state = {"stats": b"not a bandit state", "watermark": 0}
    assert services().store.put_bandit_state("home", state, 3, None)
    capsys.readouterr()
    answer = home_of(KNOWN)
    assert answer["policy"]["version"] == "prior"
    assert {c["kind"] for c in answer["carousels"]} == EVERY_KIND
    metrics = emitted(capsys.readouterr().out)
    assert (metrics[(fallback, service)], metrics[(screens, service)]) == (1, 1)
    assert "home bandit state unusable" in caplog.text


def test_a_listener_with_nothing_gets_the_charts(no_state):
    answer = home_of("nobody", "limit=4&carousels=5")
    kinds = [c["kind"] for c in answer["carousels"]]
    assert sorted(kinds) == ["artists_for_you", "region_chart"]
    chart = next(c for c in answer["carousels"] if c["kind"] == "region_chart")
    assert chart["title"] == "Popular everywhere"  # no region: the global chart
    assert len(chart["items"]) == 4
    assert answer["warnings"] == [
        {"field": "carousels", "message": "carousels: 2 of the 5 asked for have something to show"}
    ]
    regional = home_of("nobody", "limit=4&region=xx-a")
    chart = next(c for c in regional["carousels"] if c["kind"] == "region_chart")
    assert [i["chart"] for i in chart["items"]] == ["xx-a#*"] * 4


def test_carousels_caps_what_is_shown(no_state):
    answer = home_of(KNOWN, "limit=3&carousels=2")
    assert [c["position"] for c in answer["carousels"]] == [0, 1]
    assert answer["warnings"] == []
    issued = services().store.issued(answer["carousels"][0]["recommendation_id"])
    assert len(issued["decision"]["candidates"]) == len(EVERY_KIND)  # ranked among all six


def test_another_listeners_home_is_forbidden(stack):
    status, error = call(recommendations, "GET", f"/v1/users/{KNOWN}/home", listener="someone")
    assert (status, error["code"], error["field"]) == (403, "forbidden", "userId")


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=51", "limit"), ("limit=x", "limit"),
     ("carousels=0", "carousels"), ("carousels=7", "carousels"), ("region=zz-zz", "region")],
)  # fmt: skip
def test_invalid_queries_are_400s_naming_the_field(stack, query, field):
    status, error = call(recommendations, "GET", f"/v1/users/{KNOWN}/home", query=query)
    assert (status, error["code"], error["field"]) == (400, "invalid_request", field), error
    assert field in error["message"]


def test_impressions_and_clicks_are_logged_once_and_folded_by_the_refresh(no_state):
    answer = home_of(KNOWN)
    by_kind = {c["kind"]: c for c in answer["carousels"]}
    seen = [{"event_id": f"imp-{c['kind']}", "user_id": KNOWN, "type": "impression",
             "recommendation_id": c["recommendation_id"]} for c in answer["carousels"]]  # fmt: skip
    fans = by_kind["fans_also_like"]
    click = {
        "event_id": "click-1",
        "user_id": KNOWN,
        "type": "click",
        "recommendation_id": fans["recommendation_id"],
        "artist_id": fans["items"][0]["id"],
    }
    again = {**click, "event_id": "click-2"}  # the same item clicked again: counted once
    status, ack = call(events, "POST", "/v1/events", {"events": [*seen, click, again]})
    assert (status, ack["counted"]) == (200, len(seen) + 1), ack
    status, ack = call(events, "POST", "/v1/events", {"events": [click]})  # a retry
    assert (status, ack["stored"], ack["counted"]) == (200, 0, 0)
    svc = services()
    now = time.time()
    logged = svc.store.bandit_log("home", int(now // 60))
    if len(logged) < len(seen) + 1:  # the minute turned between the post and now
        logged += svc.store.bandit_log("home", int(now // 60) - 1)
    assert Counter(e["type"] for e in logged) == {"impression": len(seen), "click": 1}
    [clicked] = [e for e in logged if e["type"] == "click"]
    assert clicked["kind"] == "fans_also_like"
    assert float(clicked["features"]["fans_also_like:bias"]) == 1.0
    done = refresh(svc, home.SPEC, now=now + 180)
    assert (done.written, done.version, done.impressions, done.clicks) == (
        True, 1, len(seen), 1)  # fmt: skip
    state = svc.store.bandit_state("home", cached=False)
    assert state is not None
    stats = bandit.loads(bytes(state["stats"]))
    assert (stats.n, stats.rewards) == (len(seen), 1.0)
    assert refresh(svc, home.SPEC, now=now + 180).written is False  # nothing new has ended
    assert home_of(KNOWN)["policy"]["version"] == "1"


def test_the_refresh_handler_runs_and_says_what_it_did(no_state, capsys):
    done = bandit_refresh.lambda_handler({"source": "aws.events"}, FakeContext())
    assert set(done) == {"home", "onboarding"}  # every bandit
    for what in done.values():
        assert (what["written"], what["version"]) == (True, 1)  # the first run: an hour back
        assert set(what) == {"written", "version", "minutes", "impressions", "clicks", "note"}
    out = capsys.readouterr().out
    assert "BanditImpressions" in out
    assert '"onboarding"' in out  # each bandit's metrics under its own dimension


def test_the_local_schedule_runs_the_refresh(no_state):
    assert schedules.period_s("rate(1 minute)") == 60
    assert schedules.period_s("rate(2 hours)") == 7200
    with pytest.raises(ValueError, match="rate"):
        schedules.period_s("cron(0 * * * ? *)")
    schedules.invoke(BANDIT_REFRESH)
    assert services().store.bandit_state("home", cached=False) is not None
    assert services().store.bandit_state("onboarding", cached=False) is not None
