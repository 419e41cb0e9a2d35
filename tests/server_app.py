"""A Pyramid application with pyramid_mongosession for real servers
(gunicorn, waitress, pserve) in ``test_servers.py``.

``make_app()`` is for ``gunicorn "tests.server_app:make_app()"`` and takes its
settings from environment variables; ``main`` is a paste app factory that
does not include the package (``pyramid.includes`` in the ini does)."""
import os
import threading

import pymongo
from pyramid.config import Configurator

from pyramid_mongosession import get_session_store

SECRET = "server test secret that is long enough to sign cookies"

#: The application's own client, when ``mongosession.client_callable`` is
#: ``tests.server_app.application_client``: one per process.
APPLICATION_CLIENT = None


def application_client(settings):
    """A ``mongosession.client_callable``: the application's one client."""
    global APPLICATION_CLIENT
    if APPLICATION_CLIENT is None:
        APPLICATION_CLIENT = pymongo.MongoClient(
            settings["app.mongodb_url"], connect=False, tz_aware=True
        )
    return APPLICATION_CLIENT


def count(request):
    request.session["count"] = request.session.get("count", 0) + 1
    store_client = get_session_store(request.registry).collection.database.client
    return {
        "count": request.session["count"],
        "pid": os.getpid(),
        "application_client": store_client is APPLICATION_CLIENT,
    }


def set_value(request):
    request.session[request.matchdict["key"]] = int(request.matchdict["value"])
    return {"pid": os.getpid()}


def get_value(request):
    return {"value": request.session.get(request.matchdict["key"])}


def sign_in(request):
    request.session.principal = request.matchdict["principal"]
    return {"principal": request.session.principal}


def whoami(request):
    return {"principal": request.session.principal, "keys": sorted(request.session)}


def add_views(config):
    for name, pattern, view in [
        ("count", "/count", count),
        ("set", "/set/{key}/{value}", set_value),
        ("get", "/get/{key}", get_value),
        ("sign_in", "/sign_in/{principal}", sign_in),
        ("whoami", "/whoami", whoami),
    ]:
        config.add_route(name, pattern)
        config.add_view(view, route_name=name, renderer="json")


def app_from_settings(settings):
    """The application through ``config.include("pyramid_mongosession")``."""
    config = Configurator(settings=dict({"mongosession.secret": SECRET}, **settings))
    config.include("pyramid_mongosession")
    add_views(config)
    return config.make_wsgi_app()


def make_app():
    """For gunicorn.  ``SERVER_APP_URL``: the database's URL;
    ``SERVER_APP_COLLECTION``: the collection; ``SERVER_APP_CLIENT``:
    ``package`` (``mongosession.url``) or ``application``
    (``mongosession.client_callable``); ``SERVER_APP_PING=1``: ping the
    database at start-up, in the master when preloaded."""
    url = os.environ["SERVER_APP_URL"]
    settings = {"mongosession.collection": os.environ["SERVER_APP_COLLECTION"]}
    if os.environ["SERVER_APP_CLIENT"] == "application":
        settings["mongosession.client_callable"] = "tests.server_app.application_client"
        settings["app.mongodb_url"] = url
    else:
        settings["mongosession.url"] = url
    app = app_from_settings(settings)
    if os.environ.get("SERVER_APP_PING") == "1":
        get_session_store(app.registry).collection.database.client.admin.command("ping")
    # What a pre-forking server copies into its workers when it forks next.
    print(f"threads after loading the app: {threading.active_count()}", flush=True)
    return app


def main(global_config, **settings):
    """A paste app factory with no include of its own."""
    config = Configurator(settings=settings)
    add_views(config)
    return config.make_wsgi_app()
