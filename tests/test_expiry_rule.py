"""The expiry policy on its own, without a database: when a session ends
if renewed now, when a renewal is due, and when a stored one is over."""
import datetime

import pytest

from pyramid_mongosession.expiry import ExpiryRule, renewal_interval

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def test_renewed_now_a_session_ends_a_timeout_later_capped_by_the_absolute_timeout():
    assert ExpiryRule(600).ends_if_renewed(at(100), T0, None) == at(700)
    assert ExpiryRule(600, 650).ends_if_renewed(at(100), T0, None) == at(650)
    assert ExpiryRule(600).ends_if_renewed(at(100), T0, 60) == at(160)  # its own timeout
    assert ExpiryRule(None).ends_if_renewed(at(100), T0, None) is None


@pytest.mark.parametrize("now, renewed", [(59, None), (60, at(660)), (500, at(1100))])
def test_a_renewal_is_due_once_it_gains_a_tenth_of_the_timeout(now, renewed):
    assert ExpiryRule(600).renewal(at(now), T0, None, at(600)) == renewed


def test_reissue_time_sets_the_renewal_interval():
    assert ExpiryRule(600, reissue_time=0).renewal(at(1), T0, None, at(600)) == at(601)
    assert ExpiryRule(600, reissue_time=30).renewal(at(29), T0, None, at(600)) is None


def test_no_renewal_moves_the_end_past_the_absolute_timeout():
    assert ExpiryRule(600, 650, reissue_time=0).renewal(at(300), T0, None, at(650)) is None


def stored(expires, renewed=None, timeout=None, created=T0):
    document = {"created": created, "expires": expires}
    if renewed is not None:
        document["renewed"] = renewed
    if timeout is not None:
        document["timeout"] = timeout
    return document


@pytest.mark.parametrize("rule, document, now, over", [
    (ExpiryRule(600), stored(at(600), at(0)), at(599), False),
    (ExpiryRule(600), stored(at(600), at(0)), at(600), True),
    # A lowered timeout ends a session idle longer than it.
    (ExpiryRule(60), stored(at(600), at(0)), at(61), True),
    # An absolute timeout set later ends an old session.
    (ExpiryRule(600, 100), stored(at(600), at(0)), at(101), True),
    # Without renewed: at most one timeout from now, never sooner than stored.
    (ExpiryRule(60), stored(at(6000)), at(10), False),
    (ExpiryRule(None), stored(at(600)), at(700), True),
    # Without expires: over only when sessions expire.
    (ExpiryRule(600), {"created": T0}, at(0), True),
    (ExpiryRule(None), {"created": T0}, at(0), False),
    # Malformed fields: a bad expires is left for the decoder to refuse, a
    # bad created or renewed leaves expires alone to decide, a bad own
    # timeout counts as none.
    (ExpiryRule(600), {"created": T0, "expires": 5}, at(10**6), False),
    (ExpiryRule(60), stored(at(600), created="yesterday"), at(599), False),
    (ExpiryRule(60), stored(at(600), created="yesterday"), at(600), True),
    (ExpiryRule(60), stored(at(600), renewed="soon"), at(599), False),
    (ExpiryRule(600), stored(at(6000), at(0), timeout=True), at(601), True),
])
def test_a_stored_session_is_over_by_the_rule_in_force(rule, document, now, over):
    assert rule.has_expired(document, now) is over


@pytest.mark.parametrize("timeout, interval", [(1200, 120), (600, 60), (95, 9)])
def test_renewal_interval_defaults_to_a_tenth_of_the_timeout(timeout, interval):
    assert renewal_interval(timeout, None) == interval


@pytest.mark.parametrize("reissue_time, interval", [(0, 0), (30, 30), (45, 45)])
def test_renewal_interval_is_reissue_time_when_set(reissue_time, interval):
    assert renewal_interval(1200, reissue_time) == interval


def test_renewal_interval_follows_a_sessions_own_shorter_timeout():
    # The store's timeout is a day; this session's own is ten minutes.
    assert renewal_interval(600, None) == 60
    assert renewal_interval(600, 900) == 60
    assert renewal_interval(600, 30) == 30


def test_the_known_renewal_of_a_session_of_an_earlier_version():
    rule = ExpiryRule(600)
    assert rule.known_renewal(T0, at(900), at(200), None) == at(200)  # stored
    assert rule.known_renewal(T0, at(900), None, None) == at(300)  # expires less the timeout
    assert rule.known_renewal(T0, at(900), None, 60) == at(840)  # its own timeout
    assert ExpiryRule(None).known_renewal(T0, at(900), None, None) is None
    # An expires the absolute timeout set says nothing of the last renewal.
    assert ExpiryRule(600, 100).known_renewal(T0, at(100), None, None) is None
    assert ExpiryRule(600, 1000).known_renewal(T0, at(900), None, None) == at(300)
