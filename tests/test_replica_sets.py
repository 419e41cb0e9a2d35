"""More than one machine: URL options pass through, the session is read
from the primary, writes carry the URL's write concern, every command of a
request targets one document by ``_id`` (one shard), and the client is safe
across a pre-forking server's fork."""
import json
import os
import warnings

import pymongo
import pytest
import webtest

from pyramid_mongosession import get_session_store

from .conftest import CommandLog
from .support import app_on_url, url_of


@pytest.fixture(scope="module")
def set_name(client):
    name = client.admin.command("hello").get("setName")
    if name is None:
        pytest.skip("the test server is not a replica set")
    return name


def package_client(app):
    return get_session_store(app.app.registry).collection.database.client


def test_url_options_reach_the_client_the_package_makes(mongodb_uri, collection, set_name):
    url = url_of(mongodb_uri, collection,
                   f"replicaSet={set_name}&w=majority&retryWrites=false"
                   "&readPreference=secondaryPreferred&serverSelectionTimeoutMS=2500")
    client = package_client(app_on_url(url, collection))

    assert client.options.replica_set_name == set_name
    assert client.write_concern.document == {"w": "majority"}
    assert client.options.retry_writes is False
    assert client.read_preference.mongos_mode == "secondaryPreferred"
    assert client.options.server_selection_timeout == 2.5


@pytest.fixture
def shared(mongodb_uri, collection, set_name):
    """An application's own client, from a replica-set URL that prefers
    secondaries and asks for w=majority, shared through client_callable."""
    log = CommandLog()
    log.database = collection.database.name
    url = url_of(mongodb_uri, collection,
                   f"replicaSet={set_name}&w=majority&readPreference=secondaryPreferred")
    client = pymongo.MongoClient(url, event_listeners=[log])
    yield client, log, url
    client.close()


def app_sharing(client, url, collection, **settings):
    return app_on_url(url, collection, **{
        "mongosession.client_callable": "tests.support.client_from_settings",
        "test.client": client,
        **settings,
    })


def read_modes(log):
    return [find.get("$readPreference", {"mode": "primary"})["mode"]
            for find in log.documents("find")]


def test_the_session_is_read_from_the_primary_whatever_the_url_prefers(shared, collection):
    client, log, url = shared
    app = app_sharing(client, url, collection)
    app.get("/set/a/1")
    client[collection.database.name].other.find_one()  # the application's own read
    app.get("/get/a")

    assert read_modes(log) == ["secondaryPreferred", "primary"]


def test_a_read_preference_setting_overrides_it_knowingly(shared, collection):
    client, log, url = shared
    app = app_sharing(client, url, collection,
                      **{"mongosession.read_preference": "secondaryPreferred"})
    app.get("/set/a/1")
    app.get("/get/a")

    assert read_modes(log) == ["secondaryPreferred"]


def test_operations_across_sessions_read_from_the_primary_all_the_same(shared, collection):
    client, log, url = shared
    app = app_sharing(client, url, collection,
                      **{"mongosession.read_preference": "secondaryPreferred"})
    store = get_session_store(app.app.registry)
    store.sessions_of("alice")
    store.reap()
    store.count_expired()
    store.stats()

    reads = log.documents("find") + log.documents("aggregate")
    # sessions_of: a find; reap: a find per expired filter (past expires,
    # no expires); count_expired: an aggregate per filter; stats: an aggregate
    assert len(reads) == 6
    assert {r.get("$readPreference", {"mode": "primary"})["mode"] for r in reads} == {"primary"}


def test_writes_carry_the_urls_write_concern_and_are_retryable(shared, collection):
    client, log, url = shared
    app = app_sharing(client, url, collection)
    app.get("/set/a/1")
    app.get("/set/b/2")
    app.get("/invalidate")

    writes = log.documents("insert") + log.documents("update") + log.documents("delete")
    assert [w["writeConcern"] for w in writes] == [{"w": "majority"}] * 3
    assert all("txnNumber" in w for w in writes)  # retryable writes, pymongo's default


def test_every_command_of_a_request_targets_one_document_by_id(collection, commands):
    from .support import app_with_include

    app = app_with_include(collection, {"mongosession.reissue_time": "0"})
    app.get("/set/a/1")          # insert
    app.get("/get/a")            # find, renewal update
    app.get("/set/b/2")          # find, update
    app.get("/regenerate")       # find, insert, delete
    app.get("/invalidate")       # find, delete

    filters = [f["filter"] for f in commands.documents("find")]
    filters += [u["q"] for c in commands.documents("update") for u in c["updates"]]
    filters += [d["q"] for c in commands.documents("delete") for d in c["deletes"]]
    inserted = [d["_id"] for c in commands.documents("insert") for d in c["documents"]]
    assert sorted(set(commands.names)) == ["delete", "find", "insert", "update"]
    assert all(isinstance(f["_id"], bytes) and len(f["_id"]) == 32 for f in filters)
    assert all(isinstance(i, bytes) and len(i) == 32 for i in inserted)


def test_a_forked_worker_gets_a_fresh_client(mongodb_uri, collection):
    """gunicorn --preload: the app is made, indexes ensured, then forked."""
    app = app_on_url(url_of(mongodb_uri, collection, "serverSelectionTimeoutMS=5000"), collection)
    assert "principal_1" in collection.index_information()  # ensured before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                status = webtest.TestApp(app.app).get("/set/a/1").status_int
            report = {"status": status, "warnings": [str(w.message) for w in caught]}
        except BaseException as error:
            report = {"error": repr(error)}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read())

    assert report == {"status": 200, "warnings": []}
    assert app.get("/set/b/2").status_int == 200  # and the parent too
    package_client(app).close()
