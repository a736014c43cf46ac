"""Property tests (hypothesis) for the two ways input reaches the store: enqueue (texts, kinds, reply
targets, schedules) and account limits. Every generated input is either accepted and stored as given, or
refused with the validation error type (``ValidationError`` / ``LimitError``) and the store unchanged;
no other exception, ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from xbot_pipeline.posting.config import LIMIT_RANGES, LimitError, Limits, parse_limit_overrides
from xbot_pipeline.posting.enqueue import ValidationError, enqueue
from xbot_pipeline.store.accounts import ensure_account, get_account, update_limits
from xbot_pipeline_tests.cli.hostile import store_digest

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

plain = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=280
).filter(str.strip)
texts = st.one_of(
    plain,
    st.text(max_size=400),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.sampled_from(["a." * 2500, "\ufeffhi", "hi\ufffe", " \t ", "", "x" * 281, "ok text"]),
)
times = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),  # naive: read as UTC
    st.timedeltas(min_value=timedelta(days=-6), max_value=timedelta(days=365)),  # inside the window
    st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=400)),  # near the window
)
reply_targets = st.one_of(st.none(), st.text(max_size=25), st.integers(-5, 10**25).map(str))


good_post = st.tuples(st.just("single"), plain.map(lambda t: [t]), st.none(), st.none())
any_post = st.tuples(
    st.sampled_from(["single", "thread", "reply", "bogus"]), st.lists(texts, max_size=4), reply_targets, times
)


@FAST
@given(post=st.one_of(good_post, any_post))
def test_enqueue_stores_or_refuses_with_validation_error(store, post):
    kind, parts, reply_to, when = post
    ensure_account(store, "main", publisher="api")
    if isinstance(when, timedelta):
        when = store.clock.now() + when
    before = store_digest(store)
    try:
        row = enqueue(store, "main", kind, parts, reply_to=reply_to, scheduled_at=when)
    except ValidationError:
        assert store_digest(store) == before
        return
    event("accepted")  # hypothesis statistics: how often a case gets through
    assert row["status"] == "queued" and row["kind"] == kind
    assert row["scheduled_at"].tzinfo is not None


limit_values = st.one_of(
    st.integers(0, 1000).map(str),
    st.floats(0, 604_800).map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=30),
    st.sampled_from(["inf", "-inf", "nan", "1e30", "", "  7 ", "1_000", "0x10", "3.0"]),
)
good_pair = st.sampled_from(sorted(LIMIT_RANGES)).flatmap(
    lambda k: st.tuples(st.just(k), st.integers(*LIMIT_RANGES[k]).map(str))
)
limit_names = st.one_of(
    st.sampled_from(sorted(LIMIT_RANGES)), st.sampled_from(sorted(LIMIT_RANGES)), st.text(max_size=15)
)


@FAST
@given(
    pairs=st.one_of(
        st.lists(good_pair, min_size=1, max_size=3),
        st.lists(st.tuples(limit_names, limit_values), min_size=1, max_size=3),
    ),
    sep=st.sampled_from("==:"),
)
def test_account_limits_store_or_refuse_with_limit_error(store, pairs, sep):
    ensure_account(store, "main", publisher="api")
    before = store_digest(store)
    try:
        changes = parse_limit_overrides([f"{name}{sep}{value}" for name, value in pairs])
    except LimitError:
        assert store_digest(store) == before
        return
    event("accepted")  # hypothesis statistics: how often a case gets through
    update_limits(store, "main", changes)
    row = get_account(store, "main")
    assert row is not None and row["limits"] == changes
    limits = Limits().merged(row["limits"])  # what a posting pass reads back: never raises
    for key, value in changes.items():
        low, high = LIMIT_RANGES[key]
        assert low <= getattr(limits, key) == value <= high
