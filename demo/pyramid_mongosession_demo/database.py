"""The demo's MongoDB client, shared with the session store.

``mongosession.url = embedded`` (a marker of this demo, not of
pyramid_mongosession) starts an embedded SecantusDB server; any other URL is
used as it is."""
from typing import Any, Mapping, MutableMapping

from pyramid_mongosession import client_from_settings

from .commands import CommandRecorder
from .embedded import EmbeddedServer

EMBEDDED = "embedded"


class DemoDatabase:
    """A ``MongoClient`` that records commands, and the embedded server
    behind it when there is one."""

    def __init__(self, settings: Mapping[str, Any], server: Any = None):
        self.url = settings["mongosession.url"]
        self.server = server
        self.recorder = CommandRecorder()
        # Made as the package makes its own (timeouts, credentials), with
        # the recorder listening.
        self.client: Any = client_from_settings(settings, event_listeners=[self.recorder])

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "DemoDatabase":
        url = settings.get("mongosession.url", EMBEDDED).strip()
        server = None
        if url == EMBEDDED:
            server = EmbeddedServer(settings["demo.data_dir"])
            url = server.start()
            server.stop_at_exit()
        settings = {**settings, "mongosession.url": url}
        return cls(settings, server)


def shared_client(settings: MutableMapping[str, Any]) -> Any:
    """The ``mongosession.client_callable`` of the demo: the session store
    uses the demo's own client."""
    return settings["demo.database"].client
