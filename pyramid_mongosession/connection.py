"""The application's ``MongoClient`` and the sessions collection, from the
parsed settings."""
import contextlib
import functools
import inspect
import logging
import re
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Dict, FrozenSet, Iterator, Mapping, Set
from urllib.parse import urlsplit

import pymongo
from pymongo import uri_parser
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.driver_info import DriverInfo
from pymongo.errors import ConfigurationError as PyMongoConfigurationError
from pymongo.errors import InvalidURI, PyMongoError
from pyramid.exceptions import ConfigurationError

from .coercion import redacted_text, redacted_url

log = logging.getLogger(__name__)

# pymongo's threads notice a closed client within half a second.
_THREADS_END_WITHIN = 5.0


def build_client(options: Any, settings: Mapping[str, Any]) -> Any:
    """The application's ``MongoClient``: its own (``client_callable``) or
    :func:`client_from_url`."""
    if options.client_callable is None:
        return client_from_url(options)
    try:
        inspect.signature(options.client_callable).bind(settings)
    except TypeError as error:
        raise ConfigurationError(
            f"mongosession.client_callable must take the settings: {error}"
        ) from error
    except ValueError:  # a builtin without a signature: called as it is
        pass
    client = options.client_callable(settings)
    # What is surely no client; a proxy of one is taken at its word.
    if client is None or isinstance(client, (Database, Collection)):
        raise ConfigurationError(
            "mongosession.client_callable must return a pymongo MongoClient, "
            f"not {type(client).__name__}"
        )
    return client


@contextlib.contextmanager
def short_lived_client(options: Any, *, outlive_no_thread: bool = False) -> Iterator[Any]:
    """A client of :func:`client_from_url` for a few commands at start-up,
    closed at the end.  ``close()`` only asks pymongo's threads to stop;
    with ``outlive_no_thread``, wait until they have (about half a second),
    for a server that forks next without Python's fork hooks (uWSGI): it
    would copy them into each worker, which then waits for them at exit,
    as pymongo joins its threads, or hangs on a lock one held."""
    before = set(threading.enumerate())
    # Polled, not streamed: no round-trip-time thread, which a monitor
    # thread would start at any time, as another client's does.
    client = client_from_url(options, serverMonitoringMode="poll")
    try:
        yield client
    finally:
        client.close()
        if outlive_no_thread:
            _await_end_of_threads(before)


def _await_end_of_threads(before: Set[threading.Thread]) -> None:
    """Wait, for at most ``_THREADS_END_WITHIN`` seconds, until no monitor
    or cursor thread of pymongo's started since ``before`` runs (pymongo
    does not tell which client a thread serves; another client's
    round-trip-time thread is not waited for).  Polled, not joined: a
    thread may be listed before it runs."""
    deadline = time.monotonic() + _THREADS_END_WITHIN
    while any(
        thread.name.startswith("pymongo")
        and thread.name != "pymongo_server_rtt_thread"
        and thread not in before
        for thread in threading.enumerate()
    ):
        if time.monotonic() > deadline:
            log.warning(
                "pymongo threads of the start-up client still run after %.0f s; "
                "a fork now copies them",
                _THREADS_END_WITHIN,
            )
            return
        time.sleep(0.01)


def client_from_url(options: Any, **client_options: Any) -> Any:
    """A ``MongoClient`` for ``url``, made lazily (``connect=False``), with
    the settings' timeout and credentials; ``client_options`` (e.g.
    ``event_listeners``) are passed on and take precedence."""
    keywords: Dict[str, Any] = {
        "connect": False,
        "tz_aware": True,
        "driver": DriverInfo("pyramid_mongosession", _version()),
    }
    try:
        given = _url_option_names(options.url)
    except (PyMongoError, ValueError, TypeError, OSError) as error:  # OSError: a tlsCAFile
        raise _unusable(options.url, error) from error
    if "serverselectiontimeoutms" not in given:
        # At least 1 ms: a fraction of one must not become no wait at all.
        milliseconds = round(options.server_selection_timeout * 1000)
        keywords["serverSelectionTimeoutMS"] = max(1, milliseconds)
    if options.username is not None:
        keywords["username"] = options.username
        keywords["password"] = options.password
    keywords.update(client_options)
    try:
        return pymongo.MongoClient(options.url, **keywords)
    except (PyMongoError, ValueError, TypeError, OSError) as error:  # OSError: a tlsCAFile
        raise _unusable(options.url, error) from error


@functools.lru_cache(maxsize=8)
def _url_option_names(url: str) -> FrozenSet[str]:
    """The options of ``url`` as pymongo reads them (lower-case), a value
    it refuses raised: pymongo itself only warns, and drops the option
    (``tls=ture``: no TLS).  An option it does not know is logged, as
    pymongo ignores it (other drivers' options, in a connection string
    shared with them).  Once per URL: the store's client and the start-up
    client read the same one."""
    query = urlsplit(url).query
    given: Dict[str, Any] = {}
    for option in re.split("[&;]", query) if query else ():
        try:
            given.update(uri_parser.split_options(option, warn=False))
        except InvalidURI:
            raise
        except PyMongoConfigurationError:
            name = option.partition("=")[0].lower()
            log.warning("mongosession.url: pymongo ignores the option %s", name)
    return frozenset(given)


def _unusable(url: str, error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"mongosession.url is not a usable MongoDB URL ({redacted_text(str(error), url)}): "
        f"{redacted_url(url)!r}"
    )


def _version() -> str:
    try:
        return version("pyramid_mongosession")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def collection_from_client(client: Any, options: Any) -> Any:
    try:
        if options.database:
            database = client[options.database]
        else:
            database = client.get_default_database("pyramid")
    except PyMongoError as error:
        raise ConfigurationError(
            f"mongosession.database is not a valid database name ({error})"
        ) from error
    try:
        return database[options.collection]
    except PyMongoError as error:
        raise ConfigurationError(
            f"mongosession.collection is not a valid collection name ({error}): "
            f"{options.collection!r}"
        ) from error
