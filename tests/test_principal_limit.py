"""``mongosession.max_sessions_per_principal``: when a request sets a
session's principal and that principal then has more live sessions than
the limit, the least recently active ones are revoked (a sign-in counts as
activity)."""
import datetime
import os
import threading
import time

import pytest
import webtest
from webob import Request

from pyramid_mongosession import SessionStoreError, get_session_store

from .signin_views import (
    SIGN_IN_VIEWS,
    app_with_views,
    sign_in,
    sign_in_in_place,
    sign_out,
    visit,
    whoami,
)
from .support import session_cookie_headers

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


def sign_in_submitted_twice(collection, limit, before=None, meanwhile=None):
    """A tab signs its anonymous session in twice at once (two tabs, or a
    double click), ordered so that request A moves the session first and
    wins, and B, a little newer, loses: B inserts its copy, A deletes the
    old document and runs the limit, then B finds the old document gone
    and deletes its copy.  ``before(wsgi)`` runs first; ``meanwhile(wsgi)``
    after A's limit, while B's copy is still there.  The app also serves
    ``sign_in`` at ``/elsewhere/{name}``.  Returns the app and the cookie
    the browser keeps (A's)."""
    a_viewed, b_viewed = threading.Event(), threading.Event()
    b_inserted, a_limited = threading.Event(), threading.Event()

    def sign_in_racing(request):
        if threading.current_thread().name == "A":
            sign_in(request)
            a_viewed.set()
            assert b_viewed.wait(10)
        else:
            request.session.get("visits")  # loaded before A moves it
            assert a_viewed.wait(10)
            time.sleep(0.02)  # B signs in a little later: B is the newer
            sign_in(request)
            b_viewed.set()
        return "signed in"

    wsgi = app_with_views(
        collection,
        {"mongosession.max_sessions_per_principal": limit} if limit else {},
        {
            "/sign_in/{name}": sign_in_racing,
            "/elsewhere/{name}": sign_in,
            "/visit": visit,
            "/whoami": whoami,
        },
    )
    store = get_session_store(wsgi.registry)
    real_insert, real_delete, real_limit = store.insert, store.delete, store.limit_sessions_of
    b_deletes = []

    def insert(session_id, stored):
        real_insert(session_id, stored)
        if threading.current_thread().name == "B":
            b_inserted.set()

    def delete(key):
        if threading.current_thread().name == "B":
            assert a_limited.wait(10)  # A moved first: B's move is the loser
            if meanwhile is not None and not b_deletes:
                meanwhile(wsgi)
            b_deletes.append(key)
        return real_delete(key)

    def limit(principal):
        if threading.current_thread().name == "A":
            assert b_inserted.wait(10)
        try:
            return real_limit(principal)
        finally:
            if threading.current_thread().name == "A":
                a_limited.set()

    store.insert, store.delete, store.limit_sessions_of = insert, delete, limit
    if before is not None:
        before(wsgi)
    tab = webtest.TestApp(wsgi)
    tab.get("/visit")
    cookie = tab.cookies["session"]
    responses = {}

    def submit():
        request = Request.blank("/sign_in/alice", headers={"Cookie": f"session={cookie}"})
        responses[threading.current_thread().name] = request.get_response(wsgi)

    threads = [threading.Thread(target=submit, name=name) for name in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert {name: r.status_int for name, r in responses.items()} == {"A": 200, "B": 200}
    assert session_cookie_headers(responses["B"]) == []  # the loser leaves the cookie
    (a_cookie,) = session_cookie_headers(responses["A"])  # what the browser keeps
    return wsgi, a_cookie.split(";")[0]


def whoami_with(wsgi, cookie):
    return Request.blank("/whoami", headers={"Cookie": cookie}).get_response(wsgi).json


@pytest.mark.parametrize("limit", [None, "1"], ids=["no limit (control)", "limit 1"])
def test_a_sign_in_submitted_twice_at_once_leaves_the_user_signed_in(collection, limit):
    """Without a limit the move that wins keeps its session and the other
    deletes its own copy.  With a limit, the winner's limit query must not
    count the loser's copy, which the loser is about to delete: else the
    winner's session is the one revoked, and the user is left signed in
    nowhere."""
    wsgi, kept = sign_in_submitted_twice(collection, limit)

    alices = list(collection.find({"principal": "alice"}))
    assert len(alices) == 1, "the double sign-in left no session signed in"
    assert whoami_with(wsgi, kept) == "alice"


def test_a_device_signing_in_during_a_double_sign_in_counts_it_once(collection):
    """A third device signs the same user in while the loser's copy of a
    double sign-in is still stored.  Its limit must count the two copies
    as the one session they are: counted twice, they push out the winner's
    copy (the loser's is newer), and the loser then deletes its own,
    leaving the tab signed in nowhere."""
    oldest, latest = [], []

    def sign_in_on(devices, wsgi):
        device = webtest.TestApp(wsgi)
        # Its own thread: the helper's hooks act on threads A and B only.
        signing_in = threading.Thread(target=device.get, args=("/elsewhere/alice",), name="C")
        signing_in.start()
        signing_in.join(30)
        devices.append(device)

    wsgi, kept = sign_in_submitted_twice(
        collection,
        "2",
        before=lambda wsgi: sign_in_on(oldest, wsgi),
        meanwhile=lambda wsgi: sign_in_on(latest, wsgi),
    )

    assert whoami_with(wsgi, kept) == "alice", "the tab's sign-in was undone"
    assert latest[0].get("/whoami").json == "alice"
    assert oldest[0].get("/whoami").json is None  # the least recently active
    assert collection.count_documents({"principal": "alice"}) == 2


@pytest.mark.parametrize(
    "first_sign_in", ["/in_place/alice", "/sign_in/alice"], ids=["kept its id", "moved"]
)
def test_a_device_signing_in_while_a_signed_in_session_moves_counts_it_once(
    collection, first_sign_in
):
    """A signed-in session signs in again (``regenerate_id``): its copy is
    inserted before its old document is deleted, and both carry the
    principal.  A sign-in on another device meanwhile must count the two as
    one session, whether the old document was itself moved at its sign-in
    or not: counted twice, the old one is revoked, and the mover, finding
    it gone, takes it for a revocation and deletes its copy too."""
    wsgi = app_limited_to(collection, 2)
    store = get_session_store(wsgi.registry)
    moving, least_recent, latest = browsers(wsgi, 3)
    for browser in (moving, least_recent):
        browser.get("/visit")
        browser.get(first_sign_in)
        time.sleep(0.01)  # ordered by their renewals, to the millisecond
    latest.get("/visit")
    real_delete, meanwhile = store.delete, []

    def delete(key):
        if threading.current_thread().name == "mover" and not meanwhile:
            # Its copy is stored, its old document not deleted yet.
            meanwhile.append(threading.Thread(target=latest.get, args=("/sign_in/alice",)))
            meanwhile[0].start()
            meanwhile[0].join(30)
        return real_delete(key)

    store.delete = delete
    mover = threading.Thread(target=moving.get, args=("/sign_in/alice",), name="mover")
    mover.start()
    mover.join(30)

    assert meanwhile, "the other device did not sign in during the move"
    assert [b.get("/whoami").json for b in (moving, least_recent, latest)] == [
        "alice", None, "alice"
    ]


def test_a_session_stored_without_its_last_renewal_ranks_by_the_renewal_known(collection):
    """A document of an earlier version stores no ``renewed``; its last
    renewal is worked back from ``expires``, as ``sessions_of`` shows it.
    The limit must rank it by that, not below every session that stores
    one."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    minute = datetime.timedelta(minutes=1)
    earlier_version, renewed_before = os.urandom(32), os.urandom(32)
    collection.insert_many([
        # renewed a minute ago: expires one 20-minute timeout later
        {"_id": earlier_version, "data": {}, "created": now - 10 * minute,
         "expires": now + 19 * minute, "principal": "alice"},
        {"_id": renewed_before, "data": {}, "created": now - 10 * minute,
         "renewed": now - 5 * minute, "expires": now + 15 * minute, "principal": "alice"},
    ])
    wsgi = app_limited_to(collection, 2)
    listed = {info.hashed_id: info.renewed
              for info in get_session_store(wsgi.registry).sessions_of("alice")}
    assert listed[earlier_version.hex()] > listed[renewed_before.hex()]

    webtest.TestApp(wsgi).get("/sign_in/alice")

    kept = {document["_id"] for document in collection.find({"principal": "alice"})}
    assert earlier_version in kept and renewed_before not in kept


def test_a_document_with_fields_the_store_never_writes_does_not_fail_a_sign_in(collection):
    """Ranked below every other (its ``created`` is not a date), it is the
    one revoked; the sign-in goes through."""
    now = datetime.datetime.now(datetime.timezone.utc)
    odd = os.urandom(32)
    collection.insert_one({
        "_id": odd, "data": {}, "created": "yesterday", "renewed": 5, "timeout": "long",
        "expires": now + datetime.timedelta(minutes=5), "principal": "alice",
    })
    first, second = browsers(app_limited_to(collection, 1), 2)
    first.get("/sign_in/alice")
    assert collection.find_one({"_id": odd}) is None

    second.get("/sign_in/alice")

    assert [b.get("/whoami").json for b in (first, second)] == [None, "alice"]


def test_without_an_idle_timeout_the_session_signing_in_stays(collection):
    """With an absolute timeout alone no renewal is stored, and sessions
    rank by creation: the one signing in, created first, must stay."""
    first, second = browsers(app_limited_to(
        collection, 1, timeout="none", absolute_timeout="3600"), 2)
    first.get("/visit")  # created first
    time.sleep(0.01)
    second.get("/sign_in/alice")

    first.get("/sign_in/alice")

    assert [b.get("/whoami").json for b in (first, second)] == ["alice", None]
