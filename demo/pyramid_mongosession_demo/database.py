"""The demo's MongoDB client, shared with the session store.

``mongosession.url = embedded`` (a marker of this demo, not of
pyramid_mongosession) starts an embedded SecantusDB server; any other URL is
used as it is."""
from typing import Any, Mapping, MutableMapping

import pymongo

from pyramid_mongosession.settings import options_from_settings

from .commands import CommandRecorder
from .embedded import EmbeddedServer

EMBEDDED = "embedded"


class DemoDatabase:
    """A ``MongoClient`` that records commands, and the embedded server
    behind it when there is one."""

    def __init__(self, url: str, server_selection_timeout: float, server: Any = None):
        self.url = url
        self.server = server
        self.recorder = CommandRecorder()
        self.client: Any = pymongo.MongoClient(
            url,
            connect=False,
            tz_aware=True,
            serverSelectionTimeoutMS=int(server_selection_timeout * 1000),
            event_listeners=[self.recorder],
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "DemoDatabase":
        url = settings.get("mongosession.url", EMBEDDED).strip()
        server = None
        if url == EMBEDDED:
            server = EmbeddedServer(settings["demo.data_dir"])
            url = server.start()
            server.stop_at_exit()
        # The package's own parsing, so a bad value gets its error message.
        options = options_from_settings({**settings, "mongosession.url": url})
        return cls(url, options.server_selection_timeout, server)


def shared_client(settings: MutableMapping[str, Any]) -> Any:
    """The ``mongosession.client_callable`` of the demo: the session store
    uses the demo's own client."""
    return settings["demo.database"].client
