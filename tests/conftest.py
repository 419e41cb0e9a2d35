import itertools
import os
import threading

import pymongo
import pytest
from pymongo import monitoring

from .servers import WireServer

# Commands the package issues; the driver's own (hello, endSessions, ...) and
# the tests' set-up are left out of the counts.
SESSION_COMMANDS = frozenset(
    ("find", "aggregate", "insert", "update", "delete", "createIndexes", "listIndexes",
     "collMod")
)


INDEX_COMMANDS = frozenset(("createIndexes", "listIndexes", "collMod"))

SERVER_FIXTURES = frozenset(("mongodb_uri", "private_server"))


def pytest_collection_modifyitems(items):
    """Mark the tests that need a database server, so that ``-m "not
    database"`` runs the fast tier: the pure parts, in seconds."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.database)


class CommandLog(monitoring.CommandListener):
    """Every command sent to the test database, as pymongo reports it."""

    def __init__(self):
        self.database = None
        self.events = []
        self._lock = threading.Lock()

    def started(self, event):
        if event.database_name == self.database and event.command_name in SESSION_COMMANDS:
            with self._lock:
                self.events.append(event)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def clear(self):
        with self._lock:
            self.events = []

    @property
    def names(self):
        """The session's own commands (index upkeep left out)."""
        return [e.command_name for e in self.events if e.command_name not in INDEX_COMMANDS]

    @property
    def index_names(self):
        return [e.command_name for e in self.events if e.command_name in INDEX_COMMANDS]

    def documents(self, name):
        return [event.command for event in self.events if event.command_name == name]


@pytest.fixture(scope="session")
def mongodb_uri():
    """``MONGODB_URI`` when set; else a SecantusDB server this run starts."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    server = WireServer().start()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def command_log():
    return CommandLog()


@pytest.fixture(scope="session")
def client(mongodb_uri, command_log):
    client = pymongo.MongoClient(
        mongodb_uri, tz_aware=True, event_listeners=[command_log],
        serverSelectionTimeoutMS=5000,
    )
    yield client
    client.close()


_numbers = itertools.count()


@pytest.fixture
def collection(client, command_log):
    """A fresh collection for one test; the command log watches its database."""
    database = client[f"mongosession_test_{os.getpid()}"]
    collection = database[f"sessions_{next(_numbers)}"]
    command_log.database = database.name
    command_log.clear()
    yield collection
    collection.drop()


@pytest.fixture
def commands(command_log):
    command_log.clear()
    return command_log


@pytest.fixture
def fail_command(client):
    """Arm MongoDB's ``failCommand`` fail point; disarmed after the test."""
    armed = []

    def arm(names, times=1, **data):
        client.admin.command(
            "configureFailPoint", "failCommand",
            mode={"times": times}, data=dict(data, failCommands=list(names)),
        )
        armed.append(names)

    yield arm
    if armed:
        client.admin.command("configureFailPoint", "failCommand", mode="off")


@pytest.fixture
def private_server():
    """A server of this test's own, to stop and restart."""
    server = WireServer().start()
    yield server
    server.stop()
