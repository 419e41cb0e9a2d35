"""Expiry, renewal and reaping: contract §6."""
import datetime
import logging
import time

import pytest

from pyramid_mongosession import get_session_store

from .support import (
    Clock,
    add_sessions,
    app_on_url,
    app_with_factory,
    app_with_include,
    url_of,
    wait_for,
)


def test_session_ends_after_the_idle_timeout(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=600, clock=clock)
    app.get("/set/a/1")
    clock.advance(599)
    assert app.get("/get/a").json == "1"
    clock.advance(601)
    assert app.get("/get/a").json is None


def test_an_expired_document_not_yet_removed_is_never_used_nor_revived(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=600, clock=clock)
    app.get("/set/a/1")
    expired = collection.find_one()
    clock.advance(601)

    assert app.get("/get/a").json is None
    app.get("/set/b/2")

    assert collection.find_one({"_id": expired["_id"]}) == expired
    (fresh,) = collection.find({"_id": {"$ne": expired["_id"]}})
    assert fresh["data"] == {"b": "2"}


@pytest.mark.parametrize("timeouts", [{"timeout": 600}, {"timeout": None,
                                                        "absolute_timeout": 3600}])
def test_a_document_without_expires_is_expired_when_a_timeout_applies(collection, timeouts):
    app = app_with_factory(collection, **timeouts)
    app.get("/set/a/1")
    collection.update_one({}, {"$unset": {"expires": ""}})  # e.g. written with timeout none
    document = collection.find_one()

    assert app.get("/get/a").json is None
    assert collection.find_one({"_id": document["_id"]}) == document


def test_an_expired_document_is_dropped_before_its_data_is_decoded(collection, caplog):
    clock = Clock()
    app = app_with_factory(collection, timeout=600, clock=clock, serializer="json")
    app.get("/set/a/1")
    collection.update_one({}, {"$set": {"data.a": "{not json"}})
    clock.advance(601)

    with caplog.at_level(logging.WARNING, logger="pyramid_mongosession"):
        assert app.get("/get/a").json is None
    assert "cannot be decoded" not in caplog.text


def test_renewal_is_lazy_and_moves_only_expires_and_renewed(collection, commands):
    clock = Clock()
    app = app_with_factory(collection, timeout=1000, clock=clock)  # renews after 100 s
    app.get("/set/a/1")
    first_expires = collection.find_one()["expires"]
    clock.advance(99)
    commands.clear()
    app.get("/get/a")
    assert commands.names == ["find"]
    clock.advance(2)
    commands.clear()
    response = app.get("/get/a")
    assert commands.names == ["find", "update"]
    (update,) = commands.documents("update")
    assert sorted(update["updates"][0]["u"]["$set"]) == ["expires", "renewed"]
    assert collection.find_one()["expires"] - first_expires == datetime.timedelta(seconds=101)
    assert "Set-Cookie" not in response.headers  # browser-session cookie: nothing to renew


def test_renewal_keeps_an_active_session_alive_past_the_timeout(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=100, reissue_time=10, clock=clock)
    app.get("/set/a/1")
    for _ in range(5):
        clock.advance(60)
        assert app.get("/get/a").json == "1"


def test_reissue_time_zero_renews_on_every_access(collection, commands):
    clock = Clock()
    app = app_with_factory(collection, timeout=100, reissue_time=0, clock=clock)
    app.get("/set/a/1")
    clock.advance(1)
    commands.clear()
    app.get("/get/a")
    assert commands.names == ["find", "update"]


def test_renewal_reissues_a_persistent_cookie(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=100, cookie_max_age=100, clock=clock)
    app.get("/set/a/1")
    clock.advance(50)
    response = app.get("/get/a")
    assert "Max-Age=100" in response.headers["Set-Cookie"]


def test_timeout_none_means_sessions_never_expire(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=None, clock=clock)
    app.get("/set/a/1")
    assert "expires" not in collection.find_one()
    clock.advance(10 * 365 * 86400)
    assert app.get("/get/a").json == "1"


def test_the_longest_timeouts_the_settings_take_store_a_session(collection):
    """1,000 years each."""
    longest = "31557600000"
    app = app_with_include(collection, {
        "mongosession.timeout": longest, "mongosession.absolute_timeout": longest,
        "mongosession.reissue_time": "31557599999", "mongosession.cookie_max_age": longest,
    })

    app.get("/set/a/1")
    app.get("/adjust/31557600000")

    assert app.get("/get/a").json == "1"
    assert collection.find_one()["expires"].year >= 3025


def test_own_timeout_applies_even_without_a_global_one(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=None, clock=clock)
    app.get("/set/a/1")
    app.get("/adjust/60")
    clock.advance(61)
    assert app.get("/get/a").json is None


def test_absolute_timeout_ends_an_active_session(collection):
    clock = Clock()
    app = app_with_factory(
        collection, timeout=100, reissue_time=0, absolute_timeout=250, clock=clock
    )
    app.get("/set/a/1")
    for _ in range(4):
        clock.advance(60)
        assert app.get("/get/a").json == "1"
    document = collection.find_one()
    assert document["expires"] - document["created"] == datetime.timedelta(seconds=250)
    clock.advance(11)
    assert app.get("/get/a").json is None


def test_absolute_timeout_alone(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=None, absolute_timeout=30, clock=clock)
    app.get("/set/a/1")
    clock.advance(29)
    assert app.get("/get/a").json == "1"
    clock.advance(2)
    assert app.get("/get/a").json is None


def ttl_indexes(collection):
    return {
        name: spec.get("expireAfterSeconds")
        for name, spec in collection.index_information().items()
        if spec["key"] == [("expires", 1)]
    }


def own_client_app(mongodb_uri, collection):
    """The app on a client the package makes itself from the URL."""
    return app_on_url(url_of(mongodb_uri, collection), collection)


def test_ttl_index_is_ensured_when_the_configuration_is_committed(mongodb_uri, collection):
    own_client_app(mongodb_uri, collection)
    assert ttl_indexes(collection) == {"expires_1": 0}
    own_client_app(mongodb_uri, collection)  # a second start: nothing to change
    assert ttl_indexes(collection) == {"expires_1": 0}


def test_a_handed_in_client_is_not_used_before_the_first_request(collection, commands):
    """A pre-forking server forks after the configuration is committed: the
    application's client must not have been opened by then."""
    app = app_with_include(collection)
    assert commands.events == []
    assert ttl_indexes(collection) == {}

    app.get("/set/a/1")  # the worker's first command; the indexes follow it
    wait_for(lambda: ttl_indexes(collection) == {"expires_1": 0},
             message="the TTL index was not ensured after the first command")
    wait_for(lambda: "createIndexes" in commands.index_names)
    commands.clear()
    app = app_with_include(collection)  # a second start: nothing to change
    app.get("/set/b/2")
    wait_for(lambda: commands.index_names == ["listIndexes"],
             message=f"a second start did not check the indexes once: {commands.index_names}")


def test_ttl_index_with_other_options_is_fixed(mongodb_uri, collection, caplog):
    collection.create_index("expires", expireAfterSeconds=3600)
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        own_client_app(mongodb_uri, collection)
    assert ttl_indexes(collection) == {"expires_1": 0}
    assert "expireAfterSeconds=3600; changing it to 0" in caplog.text


def test_ttl_index_that_cannot_be_fixed_is_reported_clearly(
    mongodb_uri, collection, fail_command
):
    collection.create_index("expires", expireAfterSeconds=3600)
    fail_command(["collMod"], errorCode=13)
    with pytest.raises(Exception) as error:
        own_client_app(mongodb_uri, collection)
    message = str(error.value)
    assert "index 'expires_1' on " in message
    assert "is not a TTL index with expireAfterSeconds=0" in message
    assert "drop it and restart" in message
    assert ttl_indexes(collection) == {"expires_1": 3600}


@pytest.mark.parametrize(
    "options, why",
    [
        ({"partialFilterExpression": {"principal": {"$exists": True}}},
         "partialFilterExpression"),  # the TTL monitor would skip anonymous sessions
        ({"unique": True}, "unique"),  # two sessions expiring in one millisecond collide
    ],
    ids=["partial", "unique"],
)
def test_an_expires_index_the_store_cannot_use_stops_start_up(
    mongodb_uri, collection, options, why
):
    collection.create_index("expires", expireAfterSeconds=0, **options)
    before = collection.index_information()["expires_1"]

    with pytest.raises(Exception) as error:
        own_client_app(mongodb_uri, collection)

    message = str(error.value)
    assert f"index 'expires_1' on {collection.full_name}.expires has {why}" in message
    assert "drop it and restart" in message
    assert collection.index_information()["expires_1"] == before


def test_a_partial_expires_index_is_left_to_a_reaper_that_does_not_need_ttl(
    mongodb_uri, collection
):
    collection.create_index("expires", partialFilterExpression={"principal": {"$exists": True}})

    app_on_url(url_of(mongodb_uri, collection), collection, **{"mongosession.reaper": "tween"})

    assert "partialFilterExpression" in collection.index_information()["expires_1"]


def test_plain_index_on_expires_is_fixed_or_reported(mongodb_uri, collection):
    collection.create_index("expires", name="by_expiry")
    try:
        own_client_app(mongodb_uri, collection)
    except Exception as error:  # a server that cannot turn it into a TTL index
        assert "index 'by_expiry'" in str(error) and "drop it and restart" in str(error)
    else:
        assert ttl_indexes(collection) == {"by_expiry": 0}


@pytest.mark.parametrize("reaper", ["off", "tween"])
def test_reaper_off_and_tween_create_a_plain_expires_index(mongodb_uri, collection, reaper):
    app_on_url(url_of(mongodb_uri, collection), collection, **{"mongosession.reaper": reaper})
    assert ttl_indexes(collection) == {"expires_1": None}


def test_app_starts_when_the_database_is_down_and_ensures_the_index_later(
    private_server, caplog
):
    uri = private_server.uri
    private_server.stop()
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        app = app_on_url(uri + "late", **{"mongosession.server_selection_timeout": "0.3"})
    assert "cannot reach MongoDB to ensure the indexes of" in caplog.text
    store = get_session_store(app.app.registry)
    store.indexes.retry_seconds = 0
    private_server.start()
    app.get("/set/a/1")
    collection = store.collection
    wait_for(lambda: ttl_indexes(collection) == {"expires_1": 0})
    collection.database.client.close()


def test_index_retry_that_fails_again_stays_pending(private_server, caplog):
    import pymongo

    from pyramid_mongosession.serializers import BSONCodec
    from pyramid_mongosession.store import SessionStore

    client = pymongo.MongoClient(private_server.uri, serverSelectionTimeoutMS=300)
    store = SessionStore(client.db.sessions, BSONCodec())
    private_server.stop()
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        store.ensure_indexes_at_startup()
        store.indexes.retry()  # the background retry, database still down
    assert "cannot ensure the indexes yet" in caplog.text
    assert store.indexes.pending
    client.close()


def test_an_index_the_server_refuses_is_not_retried(collection, fail_command, caplog):
    from pyramid_mongosession.serializers import BSONCodec
    from pyramid_mongosession.store import SessionStore

    store = SessionStore(collection, BSONCodec(), ensure_indexes_later=True)
    store.indexes.retry_seconds = 0
    fail_command(["createIndexes"], times=2, errorCode=13)
    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        store.count_expired()  # a successful command starts the background retry
        wait_for(lambda: "cannot ensure the indexes, and will not retry" in caplog.text)
        store.count_expired()  # and no other
        time.sleep(0.2)
    assert caplog.text.count("cannot ensure the indexes") == 1


def reaps(commands):
    """How many reaps ran: each starts with a find of expired ids."""
    return sum("$lte" in str(find["filter"]) for find in commands.documents("find"))


def test_reaper_tween_deletes_expired_sessions_once_per_interval(collection, commands):
    app = app_with_include(collection, {"mongosession.reaper": "tween"})
    add_sessions(collection, expired=5)
    commands.clear()
    app.get("/set/a/1")
    reaper = app.app.registry.mongosession_reaper
    wait_for(lambda: collection.count_documents({}) == 1)
    add_sessions(collection, expired=1)
    app.get("/untouched")
    app.get("/get/a")
    time.sleep(0.2)
    assert commands.names.count("delete") == 1
    assert collection.count_documents({}) == 2
    assert reaper.interval == 60


def test_reaper_tween_runs_again_after_the_interval(collection, commands):
    app = app_with_include(collection, {"mongosession.reaper": "tween",
                                        "mongosession.reap_interval": "1"})
    app.get("/untouched")
    wait_for(lambda: reaps(commands) == 1)
    add_sessions(collection, expired=2)
    time.sleep(1.1)
    app.get("/untouched")
    wait_for(lambda: collection.count_documents({}) == 0)


def test_reaper_errors_are_logged_not_raised(collection, fail_command, caplog):
    app = app_with_include(collection, {"mongosession.reaper": "tween"})
    fail_command(["find"], errorCode=1)
    with caplog.at_level(logging.ERROR, "pyramid_mongosession"):
        assert app.get("/untouched").json == "untouched"
        wait_for(lambda: "reaping expired sessions failed" in caplog.text)


@pytest.mark.parametrize("reaper", ["ttl", "off"])
def test_other_reapers_add_no_reaper_tween(collection, reaper):
    app = app_with_include(collection, {"mongosession.reaper": reaper})
    assert not hasattr(app.app.registry, "mongosession_reaper")


def test_session_with_a_shorter_own_timeout_is_renewed_in_time(collection):
    clock = Clock()
    app = app_with_factory(collection, timeout=86400, clock=clock)
    app.get("/set/a/1")
    app.get("/adjust/600")
    for _ in range(4):
        clock.advance(300)
        assert app.get("/get/a").json == "1"


def test_own_timeout_without_a_global_one_is_not_renewed_on_every_read(collection, commands):
    clock = Clock()
    app = app_with_factory(collection, timeout=None, clock=clock)
    app.get("/set/a/1")
    app.get("/adjust/600")
    clock.advance(10)
    commands.clear()
    app.get("/get/a")
    assert commands.names == ["find"]


def test_ttl_index_is_ensured_without_include_after_the_first_write(collection):
    app = app_with_factory(collection)
    app.get("/set/a/1")
    wait_for(lambda: "expires_1" in collection.index_information(), message="no TTL index")
    assert collection.index_information()["expires_1"]["expireAfterSeconds"] == 0


def test_an_index_build_that_runs_out_of_time_does_not_stop_start_up(
    mongodb_uri, collection, fail_command, caplog
):
    fail_command(["createIndexes"], times=2, errorCode=50)  # MaxTimeMSExpired

    with caplog.at_level(logging.WARNING, "pyramid_mongosession"):
        app = own_client_app(mongodb_uri, collection)

    assert "will try again later" in caplog.text
    assert app.get("/set/a/1").status_int == 200
