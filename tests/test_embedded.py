"""The demo's embedded database: a server of its own, data kept on disk."""
import pymongo
import pytest
from pyramid_mongosession_demo.database import DemoDatabase
from pyramid_mongosession_demo.embedded import EmbeddedServer

# Starts an embedded database of its own.
pytestmark = pytest.mark.database


def test_embedded_server_keeps_its_data_across_a_restart(tmp_path):
    server = EmbeddedServer(str(tmp_path))
    try:
        client = pymongo.MongoClient(server.start(), serverSelectionTimeoutMS=5000)
        client.demo.sessions.insert_one({"_id": "kept"})
        client.close()
        server.stop()

        client = pymongo.MongoClient(server.start(), serverSelectionTimeoutMS=5000)
        assert client.demo.sessions.find_one() == {"_id": "kept"}
        client.close()
    finally:
        server.stop()
    assert server.process is None
    assert (tmp_path / "secantus.log").exists()


def test_a_data_directory_in_use_gives_a_clear_error(tmp_path):
    running = EmbeddedServer(str(tmp_path))
    running.start()
    try:
        with pytest.raises(
            RuntimeError,
            match=r"did not start \(is another demo using .*secantus\?\); see .*secantus.log",
        ):
            EmbeddedServer(str(tmp_path)).start(timeout=20)
    finally:
        running.stop()


def test_a_real_url_is_used_as_it_is(mongodb_uri):
    database = DemoDatabase.from_settings(
        {"mongosession.url": mongodb_uri, "mongosession.secret": "s"}
    )

    assert database.server is None
    assert database.url == mongodb_uri
    assert database.client.admin.command("ping")["ok"] == 1
