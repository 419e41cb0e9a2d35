"""Principals and the operations across sessions (contract §8): revoke,
sessions_of, reap in batches, stats, indexes, and the store in the registry."""
import datetime

import bson
import pymongo
import pytest
from pymongo import monitoring
from pyramid.config import Configurator
from pyramid.session import SignedCookieSessionFactory
from pyramid.threadlocal import get_current_registry

from pyramid_mongosession import (
    MongoSessionFactory,
    SessionInfo,
    SessionStats,
    SessionStore,
    SessionStoreError,
    SessionTooLargeError,
    get_session_store,
)
from pyramid_mongosession.expiry import ExpiryRule
from pyramid_mongosession.keys import hash_id
from pyramid_mongosession.serializers import BSONCodec

from .support import (
    SECRET,
    Clock,
    add_sessions,
    app_on_url,
    app_running,
    app_with_include,
    url_of,
)


def app_doing(collection, steps, **options):
    """An app whose view runs ``steps[request.params['step']](session)``."""

    def view(request):
        return steps[request.params["step"]](request.session)

    return app_running(collection, view, **options)


def sign_in(name):
    def step(session):
        session.regenerate_id()
        session.principal = name
        return session.id

    return step


def store_of(app):
    return get_session_store(app.app.registry)


def test_principal_is_stored_in_its_own_field(collection, commands):
    steps = {"sign_in": sign_in("alice"), "read": lambda s: s.principal}
    app = app_doing(collection, steps)
    app.get("/", {"step": "sign_in"})

    assert commands.names == ["insert"]
    assert collection.find_one()["principal"] == "alice"
    assert collection.find_one()["data"] == {}
    assert app.get("/", {"step": "read"}).json == "alice"


def test_changing_the_principal_is_one_field_level_update(collection, commands):
    def rename(session):
        session.principal = "bob"

    def same_again(session):
        session.principal = "bob"

    app = app_doing(collection, {"sign_in": sign_in("alice"), "rename": rename,
                                 "same": same_again})
    app.get("/", {"step": "sign_in"})
    commands.clear()

    app.get("/", {"step": "rename"})
    assert commands.documents("update")[0]["updates"][0]["u"] == {"$set": {"principal": "bob"}}

    commands.clear()
    app.get("/", {"step": "same"})
    assert commands.names == ["find"]


def test_principal_none_removes_the_field(collection, commands):
    def forget(session):
        session.principal = None

    app = app_doing(collection, {"sign_in": sign_in("alice"), "forget": forget,
                                 "keep": lambda s: s.update(a=1)})
    app.get("/", {"step": "sign_in"})
    app.get("/", {"step": "keep"})
    commands.clear()

    app.get("/", {"step": "forget"})

    assert commands.documents("update")[0]["updates"][0]["u"] == {"$unset": {"principal": ""}}
    assert "principal" not in collection.find_one()


@pytest.mark.parametrize("principal", ["", 42, b"alice", ["alice"]])
def test_a_principal_that_is_not_a_non_empty_str_is_refused(collection, principal):
    def assign(session):
        with pytest.raises(ValueError, match="principal must be a non-empty str or None"):
            session.principal = principal
        return "refused"

    assert app_doing(collection, {"assign": assign}).get("/", {"step": "assign"}).json == "refused"
    assert collection.count_documents({}) == 0


def test_invalidate_forgets_the_principal_and_regenerate_keeps_it(collection):
    def invalidate(session):
        session.invalidate()
        session["after"] = 1
        return session.principal

    def regenerate(session):
        session.regenerate_id()
        return session.principal

    app = app_doing(collection, {"sign_in": sign_in("alice"), "regenerate": regenerate,
                                 "invalidate": invalidate})
    app.get("/", {"step": "sign_in"})

    assert app.get("/", {"step": "regenerate"}).json == "alice"
    assert collection.find_one()["principal"] == "alice"
    assert app.get("/", {"step": "invalidate"}).json is None
    assert "principal" not in collection.find_one()


def signed_in_devices(collection, name, count):
    """``count`` apps (browsers) signed in as ``name``, and their session ids."""
    apps, ids = [], []
    for _ in range(count):
        app = app_doing(collection, {"sign_in": sign_in(name), "who": lambda s: s.principal})
        ids.append(app.get("/", {"step": "sign_in"}).json)
        apps.append(app)
    return apps, ids


def test_revoke_deletes_every_session_of_the_principal(collection):
    alices, _ = signed_in_devices(collection, "alice", 2)
    (bob,), _ = signed_in_devices(collection, "bob", 1)

    assert store_of(bob).revoke("alice") == 2

    assert [d["principal"] for d in collection.find()] == ["bob"]
    assert [device.get("/", {"step": "who"}).json for device in alices] == [None, None]
    assert bob.get("/", {"step": "who"}).json == "bob"


def test_revoke_can_keep_the_current_session(collection):
    apps, ids = signed_in_devices(collection, "alice", 3)

    assert store_of(apps[0]).revoke("alice", except_id=ids[0]) == 2

    assert [d["_id"] for d in collection.find()] == [hash_id(ids[0])]


@pytest.mark.parametrize(
    "what",
    ["the hashed id", b"bytes", 42, "", "kept-session", "é" * 43],
)
def test_revoke_refuses_an_except_id_that_is_not_a_session_id_and_deletes_nothing(
    collection, what
):
    """``store.hashed_id(...)`` names a session in ``sessions_of``: an easy
    slip here, and as ``except_id`` it would keep nothing."""
    apps, ids = signed_in_devices(collection, "alice", 2)
    store = store_of(apps[0])
    except_id = store.hashed_id(ids[0]) if what == "the hashed id" else what

    with pytest.raises(ValueError, match="^except_id must be a session id"):
        store.revoke("alice", except_id=except_id)

    assert collection.count_documents({"principal": "alice"}) == 2


def test_a_session_revoked_while_its_request_runs_stays_revoked(collection):
    elsewhere = SessionStore(collection, BSONCodec())  # say, an admin's process

    def revoked_meanwhile(session):
        session["a"] = 2  # loaded and changed; the write comes after the revoke
        assert elsewhere.revoke("alice") == 1
        return "done"

    app = app_doing(collection, {"sign_in": sign_in("alice"), "revoked": revoked_meanwhile,
                                 "whoami": lambda session: session.principal})
    app.get("/", {"step": "sign_in"})

    response = app.get("/", {"step": "revoked"})

    assert collection.count_documents({}) == 0
    # The write stored nothing, so the cookie is left alone (contract §5);
    # it names a session that stays gone.
    assert "Set-Cookie" not in response.headers
    assert app.get("/", {"step": "whoami"}).json is None


def test_sessions_of_lists_live_sessions_without_their_ids(collection):
    clock = Clock()
    app = app_doing(collection, {"sign_in": sign_in("alice"),
                                 "remember": lambda s: s.adjust_timeout(86400)},
                    clock=clock)
    ids = [app.get("/", {"step": "sign_in"}).json]
    app.get("/", {"step": "remember"})
    other, more_ids = signed_in_devices(collection, "alice", 1)
    ids += more_ids
    signed_in_devices(collection, "bob", 1)
    collection.insert_one({"_id": "expired", "principal": "alice", "data": {},
                           "created": clock.now - datetime.timedelta(hours=2),
                           "expires": clock.now - datetime.timedelta(hours=1)})

    sessions = store_of(app).sessions_of("alice")

    assert [s.hashed_id for s in sessions] == [hash_id(i).hex() for i in ids]
    assert all(isinstance(s, SessionInfo) for s in sessions)
    remembered, plain = sessions
    assert remembered.timeout == 86400 and plain.timeout is None
    assert remembered.renewed == remembered.expires - datetime.timedelta(seconds=86400)
    assert plain.renewed == plain.expires - datetime.timedelta(seconds=1200)
    assert not any(i in repr(sessions) for i in ids)


def test_sessions_of_tells_the_renewal_even_when_the_absolute_timeout_set_expires(collection):
    clock = Clock()
    app = app_doing(collection, {"sign_in": sign_in("alice"), "get": lambda s: s.get("a")},
                    clock=clock, timeout=600, reissue_time=0, absolute_timeout=900)
    app.get("/", {"step": "sign_in"})
    clock.advance(500)
    app.get("/", {"step": "get"})  # renewal capped at created + 900

    (session,) = store_of(app).sessions_of("alice", now=clock.now)

    assert session.expires == session.created + datetime.timedelta(seconds=900)
    assert session.renewed == session.created + datetime.timedelta(seconds=500)  # stored


def test_reap_deletes_expired_sessions_in_bounded_batches(collection, commands):
    add_sessions(collection, expired=25)
    live = add_sessions(collection, live=5)
    store = app_with_include(collection, {"mongosession.reaper": "off"})
    store = store_of(store)
    done = []
    commands.clear()

    assert store.reap(batch_size=10, progress=done.append) == 25

    assert done == [10, 20, 25]
    # Past their expiry, in batches; then those without one (none here).
    assert commands.names == ["find", "delete"] * 3 + ["find"]
    assert all(find["limit"] == 10 for find in commands.documents("find"))
    for delete in commands.documents("delete"):
        (statement,) = delete["deletes"]
        assert "$lte" in str(statement["q"])  # a session renewed meanwhile is kept
        assert len(statement["q"]["_id"]["$in"]) <= 10
    assert sorted(d["_id"] for d in collection.find()) == sorted(live)


def test_reap_with_nothing_expired_is_a_find_per_filter(collection, commands):
    add_sessions(collection, live=3)
    store = store_of(app_with_include(collection, {"mongosession.reaper": "off"}))
    commands.clear()

    assert store.reap() == 0
    # Each filter served by the expires index: an $or is not, on every server.
    assert commands.names == ["find", "find"]


def test_stats_counts_live_expired_principals_and_bytes(collection):
    add_sessions(collection, expired=4, live=2)
    add_sessions(collection, live=1, principal="p")
    store = store_of(app_with_include(collection))

    stats = store.stats()

    assert stats == SessionStats(
        live=3,
        expired=4,
        with_principal=1,
        total_bytes=sum(len(bson.encode(d)) for d in collection.find()),
    )


def test_stats_of_an_empty_collection(collection):
    assert store_of(app_with_include(collection)).stats() == SessionStats(0, 0, 0, 0)


def test_sessions_without_a_timeout_count_as_live(collection):
    app = app_doing(collection, {"sign_in": sign_in("alice")}, timeout=None)
    app.get("/", {"step": "sign_in"})
    store = store_of(app)

    assert "expires" not in collection.find_one()
    assert store.stats().live == 1
    assert len(store.sessions_of("alice")) == 1
    assert store.sessions_of("alice")[0].renewed is None


def indexes(collection):
    return {name: (spec["key"], spec.get("sparse"), spec.get("expireAfterSeconds"))
            for name, spec in collection.index_information().items() if name != "_id_"}


@pytest.mark.parametrize("reaper", ["ttl", "tween", "off"])
def test_the_principal_index_is_ensured_at_startup(mongodb_uri, collection, reaper):
    app_on_url(url_of(mongodb_uri, collection), collection, **{"mongosession.reaper": reaper})

    found = indexes(collection)
    assert found["principal_1"] == ([("principal", 1)], True, None)
    assert found["expires_1"] == ([("expires", 1)], None, 0 if reaper == "ttl" else None)


def test_ensure_indexes_is_idempotent(collection, commands):
    store = store_of(app_with_include(collection))
    store.ensure_indexes()
    commands.clear()

    store.ensure_indexes()

    assert commands.index_names == ["listIndexes"]


def test_operations_report_database_errors(collection, fail_command):
    store = store_of(app_with_include(collection))
    fail_command(["delete", "find", "aggregate"], times=3, errorCode=1)

    with pytest.raises(SessionStoreError, match="^cannot revoke the sessions of 'alice': "):
        store.revoke("alice")
    with pytest.raises(SessionStoreError, match="^cannot list the sessions of 'alice': "):
        store.sessions_of("alice")
    with pytest.raises(SessionStoreError, match="^cannot count the sessions: "):
        store.stats()


def test_the_store_is_reachable_from_the_registry_and_the_factory(collection):
    factory = MongoSessionFactory(collection, secret=SECRET)
    config = Configurator(session_factory=factory)

    assert get_session_store(config.make_wsgi_app().registry) is factory.store


def test_no_store_when_the_session_factory_is_another(collection):
    config = Configurator(session_factory=SignedCookieSessionFactory(SECRET))

    with pytest.raises(LookupError, match="not a MongoSessionFactory"):
        get_session_store(config.make_wsgi_app().registry)


def test_a_stored_principal_that_is_not_a_str_gives_a_fresh_session(collection, caplog):
    steps = {"sign_in": sign_in("alice"), "who": lambda s: [s.principal, s.new]}
    app = app_doing(collection, steps)
    app.get("/", {"step": "sign_in"})
    collection.update_one({}, {"$set": {"principal": 42}})

    assert app.get("/", {"step": "who"}).json == [None, True]
    assert "principal is not a string" in caplog.text


def test_sign_in_that_signs_out_everywhere_else_keeps_this_session(collection):
    """regenerate_id() then revoke(except_id=session.id), in one request."""
    def sign_in_here_only(session):
        session["cart"] = ["mug"]
        session.regenerate_id()
        session.principal = "alice"
        store = get_session_store(get_current_registry())  # this application's
        return store.revoke("alice", except_id=session.id)

    elsewhere, _ = signed_in_devices(collection, "alice", 2)
    app = app_doing(collection, {"sign_in": sign_in("alice"), "again": sign_in_here_only,
                                 "who": lambda s: s.principal, "cart": lambda s: s.get("cart")})
    app.get("/", {"step": "sign_in"})  # this session is alice's already

    assert app.get("/", {"step": "again"}).json == 2
    assert app.get("/", {"step": "who"}).json == "alice"
    assert app.get("/", {"step": "cart"}).json == ["mug"]
    assert [device.get("/", {"step": "who"}).json for device in elsewhere] == [None, None]
    assert collection.count_documents({}) == 1


@pytest.mark.parametrize("principal", [None, "", 42])
def test_operations_refuse_a_principal_that_is_not_a_non_empty_str(collection, principal):
    app_doing(collection, {"set": lambda s: s.update(a=1)}).get("/", {"step": "set"})
    store = SessionStore(collection, BSONCodec())

    with pytest.raises(ValueError, match="principal must be a non-empty str"):
        store.revoke(principal)
    with pytest.raises(ValueError, match="principal must be a non-empty str"):
        store.sessions_of(principal)
    assert collection.count_documents({}) == 1


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
def test_reap_refuses_a_batch_size_below_one(collection, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number above 0"):
        SessionStore(collection, BSONCodec()).reap(batch_size=batch_size)


@pytest.mark.parametrize("timeouts, over", [
    ({"timeout": 600}, True),
    ({"timeout": None, "absolute_timeout": 3600}, True),
    ({"timeout": None}, False),
])
def test_a_document_without_expires_is_over_everywhere_or_nowhere(collection, timeouts, over):
    """Loading, listing, counting and reaping agree on it, e.g. for a session
    written before a timeout was configured."""
    now = datetime.datetime.now(datetime.timezone.utc)
    collection.insert_one({"_id": hash_id("old"), "data": {"a": 1}, "created": now,
                           "principal": "alice"})
    store = SessionStore(collection, BSONCodec(), expiry=ExpiryRule(**timeouts))

    assert (store.load("old", now) is None) is over
    assert len(store.sessions_of("alice")) == (0 if over else 1)
    assert store.count_expired() == int(over)
    assert store.stats().expired == int(over)
    assert store.reap() == int(over)
    assert collection.count_documents({}) == int(not over)


class AfterFind(monitoring.CommandListener):
    """Another request at work between the reaper's find and its delete:
    ``action(ids)`` runs as each find's reply arrives, before the store
    goes on."""

    def __init__(self, action):
        self.action = action
        #: What the store sent.
        self.names = []

    def started(self, event):
        if event.command_name in ("find", "delete"):
            self.names.append(event.command_name)

    def succeeded(self, event):
        if event.command_name == "find":
            self.action([document["_id"] for document in event.reply["cursor"]["firstBatch"]])

    def failed(self, event):
        pass


@pytest.fixture
def store_with(mongodb_uri, collection):
    """A store on ``collection`` through a client that also tells ``listener``."""
    clients = []

    def store_with(listener):
        client = pymongo.MongoClient(
            mongodb_uri, tz_aware=True, event_listeners=[listener]
        )
        clients.append(client)
        return SessionStore(client[collection.database.name][collection.name], BSONCodec())

    yield store_with
    for client in clients:
        client.close()


def test_reap_keeps_a_session_renewed_between_its_find_and_its_delete(collection, store_with):
    expired = add_sessions(collection, expired=3)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    renewals = []

    def renew_one(ids):
        if ids and not renewals:
            renewed = collection.update_one({"_id": expired[1]}, {"$set": {"expires": later}})
            renewals.append(renewed)

    store = store_with(AfterFind(renew_one))

    assert store.reap(batch_size=3) == 2
    assert [d["_id"] for d in collection.find()] == [expired[1]]


def test_reap_stops_when_a_batch_deletes_nothing(collection, store_with):
    add_sessions(collection, expired=2)
    rounds = []

    def another_reaper_was_first(ids):
        # It deletes what this reaper found, and more sessions expire; for
        # five rounds, so that a reaper that does not stop still ends.
        if ids and len(rounds) < 5:
            rounds.append(collection.delete_many({"_id": {"$in": ids}}))
            add_sessions(collection, expired=2)

    watch = AfterFind(another_reaper_was_first)
    store = store_with(watch)

    assert store.reap(batch_size=2) == 0
    assert watch.names == ["find", "delete", "find"]  # the second: the other filter


def test_no_index_privilege_is_a_warning_when_the_reaper_is_not_ttl(
    mongodb_uri, collection, fail_command, caplog
):
    fail_command(["createIndexes"], errorCode=13)

    app = app_on_url(url_of(mongodb_uri, collection), collection,
                     **{"mongosession.reaper": "tween"})

    assert "cannot create the principal index of" in caplog.text
    assert "revoke and sessions_of will scan the collection" in caplog.text
    assert app.get("/set/a/1").status_int == 200
    assert store_of(app).revoke("nobody") == 0


def test_the_store_shows_a_sessions_document_and_hashed_id_as_sessions_of_lists_it(collection):
    app = app_doing(collection, {"sign_in": sign_in("alice")})
    session_id = app.get("/", {"step": "sign_in"}).json
    store = store_of(app)

    (listed,) = store.sessions_of("alice")

    assert store.hashed_id(session_id) == listed.hashed_id
    assert store.document(session_id)["principal"] == "alice"
    assert session_id not in repr(store.document(session_id))
    assert store.document("not a session id") is None


@pytest.mark.parametrize(
    "now",
    [datetime.datetime(2020, 1, 1), datetime.date(2020, 1, 1), "2020-01-01"],
    ids=["naive", "date", "text"],
)
@pytest.mark.parametrize("operation", ["sessions_of", "reap", "count_expired", "stats"])
def test_operations_refuse_a_now_that_is_not_an_aware_datetime(collection, operation, now):
    """A naive one would be taken for UTC by some and fail in others."""
    add_sessions(collection, live=1, expired=1, principal="alice")
    store = SessionStore(collection, BSONCodec())
    call = getattr(store, operation)
    args = ("alice",) if operation == "sessions_of" else ()

    with pytest.raises(ValueError, match="^now must be an aware datetime"):
        call(*args, now=now)

    assert collection.count_documents({}) == 2


def test_limit_sessions_of_refuses_a_principal_even_without_a_limit(collection):
    with pytest.raises(ValueError, match="^principal must be a non-empty str"):
        SessionStore(collection, BSONCodec()).limit_sessions_of(None)


@pytest.mark.parametrize("operation", ["hashed_id", "document"])
def test_an_operation_on_one_session_refuses_an_id_that_is_not_text(collection, operation):
    with pytest.raises(TypeError, match="^session_id must be a str"):
        getattr(SessionStore(collection, BSONCodec()), operation)(None)


def test_an_operation_too_large_to_send_is_not_called_a_session_too_large(collection):
    store = SessionStore(collection, BSONCodec())

    with pytest.raises(SessionStoreError) as error:
        store.revoke("x" * (17 * 1024 * 1024))

    assert not isinstance(error.value, SessionTooLargeError)
    assert str(error.value).startswith("cannot revoke the sessions of 'xxx")
