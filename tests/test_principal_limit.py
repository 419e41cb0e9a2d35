"""``mongosession.max_sessions_per_principal``: when a request sets a
session's principal and that principal then has more live sessions than
the limit, the least recently active ones are revoked (a sign-in counts as
activity)."""
import threading

import pytest
import webtest

from pyramid_mongosession import SessionStoreError, get_session_store

from .signin_views import SIGN_IN_VIEWS, app_with_views, sign_in_in_place, sign_out

VIEWS = dict(SIGN_IN_VIEWS, **{"/in_place/{name}": sign_in_in_place, "/sign_out": sign_out})


def app_limited_to(collection, limit, **more):
    settings = {} if limit is None else {"mongosession.max_sessions_per_principal": str(limit)}
    settings.update({"mongosession." + name: value for name, value in more.items()})
    return app_with_views(collection, settings, VIEWS)


def browsers(wsgi, count):
    return [webtest.TestApp(wsgi) for _ in range(count)]


def test_the_least_recently_active_sessions_beyond_the_limit_are_signed_out(collection):
    # Activity is known to the last renewal: here every request renews.
    first, second, third = browsers(app_limited_to(collection, 2, reissue_time="0"), 3)
    for browser in (first, second):
        browser.get("/visit")
        browser.get("/sign_in/alice")
    first.get("/visit")  # now the second was active longest ago

    third.get("/sign_in/alice")

    assert [b.get("/whoami").json for b in (first, second, third)] == ["alice", None, "alice"]
    assert len(get_session_store(first.app.registry).sessions_of("alice")) == 2


def test_signing_in_counts_as_activity_without_a_new_id(collection):
    first, second = browsers(app_limited_to(collection, 1), 2)
    first.get("/sign_in/alice")
    second.get("/visit")

    second.get("/in_place/alice")

    assert [b.get("/whoami").json for b in (first, second)] == [None, "alice"]


def test_the_limit_costs_one_query_in_the_request_that_signs_in_and_none_after(
    collection, commands
):
    first, second, third = browsers(app_limited_to(collection, 2), 3)
    first.get("/sign_in/alice")
    second.get("/visit")
    commands.clear()

    second.get("/sign_in/alice")  # two sessions: within the limit
    within = commands.names
    commands.clear()
    third.get("/sign_in/alice")  # three: one revoked
    beyond = commands.documents("find")[-1], commands.names
    commands.clear()
    third.get("/visit")

    assert within == ["find", "insert", "delete", "find"]
    assert beyond[1] == ["insert", "find", "delete"]
    assert beyond[0]["filter"]["principal"] == "alice"
    assert commands.names == ["find", "update"]


def test_other_principals_and_signing_out_are_left_alone(collection):
    alice, bob, carol = browsers(app_limited_to(collection, 1), 3)
    alice.get("/sign_in/alice")
    bob.get("/sign_in/bob")
    carol.get("/sign_in/alice")
    carol.get("/sign_out")

    assert [b.get("/whoami").json for b in (alice, bob, carol)] == [None, "bob", None]
    assert collection.count_documents({"principal": {"$exists": True}}) == 1


def test_without_the_setting_every_session_is_kept(collection, commands):
    signed_in = browsers(app_limited_to(collection, None), 4)
    for browser in signed_in:
        browser.get("/sign_in/alice")

    assert [b.get("/whoami").json for b in signed_in] == ["alice"] * 4
    assert "delete" not in commands.names[1:]  # none after the first sign-in's move


@pytest.mark.parametrize("round_", range(5))
def test_sign_ins_at_once_leave_exactly_the_newest(collection, commands, round_):
    limit, count = 2, 6
    signed_in = browsers(app_limited_to(collection, limit), count)
    for browser in signed_in:
        browser.get("/visit")
    commands.clear()
    start = threading.Barrier(count)

    def sign_in_now(browser):
        start.wait(timeout=30)
        browser.get("/sign_in/alice")

    threads = [threading.Thread(target=sign_in_now, args=(b,)) for b in signed_in]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    inserted = [command["documents"][0] for command in commands.documents("insert")]
    newest = sorted(inserted, key=lambda d: (d["renewed"], d["created"], d["_id"]))[-limit:]
    survivors = list(collection.find({"principal": "alice"}))
    assert sorted(d["_id"] for d in survivors) == sorted(d["_id"] for d in newest)
    assert sum(b.get("/whoami").json == "alice" for b in signed_in) == limit


def test_a_failed_limit_query_fails_the_sign_in_and_deletes_nothing(collection, fail_command):
    first, second = browsers(app_limited_to(collection, 1), 2)
    first.get("/sign_in/alice")
    fail_command(["find"], errorCode=1)  # a new visitor: the limit's find is the first

    with pytest.raises(SessionStoreError) as error:
        second.get("/in_place/alice")

    assert "cannot limit the sessions of 'alice'" in str(error.value)
    assert first.get("/whoami").json == "alice"
    second.get("/in_place/alice")  # tried again, it applies
    assert [b.get("/whoami").json for b in (first, second)] == [None, "alice"]
