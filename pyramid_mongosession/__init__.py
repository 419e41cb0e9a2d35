"""Server-side Pyramid sessions stored in MongoDB.

``config.include("pyramid_mongosession")`` reads the ``mongosession.*``
settings and registers a :class:`MongoSessionFactory`.
"""
import sys
from typing import Any, Callable, Mapping, Optional

from pyramid.config import PHASE1_CONFIG, Configurator
from pyramid.interfaces import ISessionFactory
from pyramid.registry import Registry
from pyramid.tweens import EXCVIEW, INGRESS

from .connection import (
    build_client,
    client_from_url,
    collection_from_client,
    short_lived_client,
)
from .errors import SessionStoreError, SessionTooLargeError, SessionValueError
from .factory import MongoSessionFactory, registered_factory
from .operations import SessionInfo, SessionStats
from .session import MongoSession
from .settings import options_from_settings
from .store import SessionStore

__version__ = "0.1.0"

__all__ = [
    "MongoSession",
    "MongoSessionFactory",
    "SessionInfo",
    "SessionStats",
    "SessionStore",
    "SessionStoreError",
    "SessionTooLargeError",
    "SessionValueError",
    "client_from_settings",
    "get_session_store",
    "includeme",
    "session_factory_from_settings",
]


def session_factory_from_settings(
    settings: Mapping[str, Any], resolve: Optional[Callable[[str], Any]] = None
) -> MongoSessionFactory:
    """Build the session factory from ``mongosession.*`` settings, the way
    ``includeme`` does: a ``MongoClient`` (created with ``connect=False``, so
    no I/O happens here) or the one ``client_callable`` returns.

    Parameters:

    ``settings``
      A Pyramid settings dict.  Required.

    ``resolve``
      Resolves dotted names (``serializer``, ``client_callable``).
      Default: :class:`pyramid.path.DottedNameResolver`.
    """
    options = (
        options_from_settings(settings, resolve)
        if resolve
        else options_from_settings(settings)
    )
    collection = collection_from_client(build_client(options, settings), options)
    return MongoSessionFactory.from_options(collection, options)


def client_from_settings(settings: Mapping[str, Any], **client_options: Any) -> Any:
    """A ``MongoClient`` made from the ``mongosession.*`` settings the way
    the package makes its own (``connect=False``, ``tz_aware=True``, the
    server selection timeout and credentials), for an application that
    shares one client with the store through ``client_callable``.

    Parameters:

    ``settings``
      A Pyramid settings dict with the ``mongosession.*`` settings.
      Required.

    ``**client_options``
      Passed on to ``pymongo.MongoClient``, where they win over the
      package's own, e.g. ``event_listeners``.  Default: none.
    """
    return client_from_url(options_from_settings(settings), **client_options)


def includeme(config: Configurator) -> None:
    """Register the session factory from the ``mongosession.*`` settings,
    ensure the indexes when the configuration is committed, and add the
    write-back and reaper tweens.  Use it as
    ``config.include("pyramid_mongosession")`` or in
    ``pyramid.includes``.  A session factory the application sets itself
    with ``config.set_session_factory`` wins.

    Parameters:

    ``config``
      The application's :class:`pyramid.config.Configurator`.  Required.
    """
    # Around pyramid_tm's tween, whichever is included first: the session is
    # written after the transaction commits.  Inside the debug toolbar's, so
    # the toolbar sees what the write-back raises.
    config.add_tween(
        "pyramid_mongosession.tweens.write_back_tween_factory",
        over=[EXCVIEW, "pyramid_tm.tm_tween_factory"],
        under=[INGRESS, "pyramid_debugtoolbar.toolbar_tween_factory"],
    )
    config.add_tween("pyramid_mongosession.tweens.reaper_tween_factory", under=INGRESS)
    settings = config.get_settings()

    def register_factory() -> None:
        factory = session_factory_from_settings(settings, config.maybe_dotted)
        config.set_session_factory(factory)
        config.action(
            ("pyramid_mongosession", "indexes"),
            lambda: _ensure_indexes(config.registry, factory, settings),
            order=1,
        )

    config.action(
        ("pyramid_mongosession", "session factory"), register_factory, order=PHASE1_CONFIG
    )


def get_session_store(registry: Registry) -> SessionStore:
    """The :class:`SessionStore` of the application's session factory
    (``request.registry`` or ``config.registry``), for ``revoke``,
    ``sessions_of``, ``reap`` and ``stats``.

    Raises :class:`LookupError` when the application's session factory is
    not a :class:`MongoSessionFactory`.

    Parameters:

    ``registry``
      The application's :class:`pyramid.registry.Registry`.  Required.
    """
    factory = registered_factory(registry)
    if factory is None:
        raise LookupError(
            "the application's session factory is not a MongoSessionFactory: "
            f"{registry.queryUtility(ISessionFactory)!r}"
        )
    return factory.store


def _ensure_indexes(
    registry: Registry, factory: MongoSessionFactory, settings: Mapping[str, Any]
) -> None:
    # The application's own set_session_factory() may have won; then the
    # indexes are not ours to make.
    if registry.queryUtility(ISessionFactory) is not factory:
        return
    options = factory.options
    if options.client_callable is not None:
        # A pre-forking server (gunicorn --preload) forks after this: the
        # application's client stays unopened, and the store ensures the
        # indexes after its first command in the worker.
        return
    # Through a client of its own, gone before uWSGI forks without hooks.
    with short_lived_client(options, outlive_no_thread="uwsgi" in sys.modules) as client:
        factory.store.ensure_indexes_at_startup(collection_from_client(client, options))
