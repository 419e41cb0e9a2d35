"""A small Pyramid application that exercises the session, for WebTest."""
import datetime
import os
import time

import webtest
from pyramid.config import Configurator
from pyramid.view import view_config

from pyramid_mongosession import MongoSessionFactory, SessionStoreError

SECRET = "test secret that is long enough to sign cookies"


class Clock:
    """A clock the tests move by hand; starts at the real time."""

    def __init__(self):
        self.now = datetime.datetime.now(datetime.timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


def client_from_settings(settings):
    """A ``mongosession.client_callable`` handing over the tests' client."""
    return settings["test.client"]


@view_config(route_name="untouched", renderer="json")
def untouched(request):
    return "untouched"


@view_config(route_name="get", renderer="json")
def get(request):
    return request.session.get(request.matchdict["key"])


@view_config(route_name="set", renderer="json")
def set_(request):
    request.session[request.matchdict["key"]] = request.matchdict["value"]
    return "ok"


@view_config(route_name="set_json", renderer="json", request_method="POST")
def set_json(request):
    for key, value in request.json_body.items():
        request.session[key] = value
    return "ok"


@view_config(route_name="append", renderer="json")
def append(request):
    request.session[request.matchdict["key"]].append(request.matchdict["value"])
    return request.session[request.matchdict["key"]]


@view_config(route_name="delete", renderer="json")
def delete(request):
    del request.session[request.matchdict["key"]]
    return "ok"


@view_config(route_name="dump", renderer="json")
def dump(request):
    return dict(request.session.items())


@view_config(route_name="invalidate", renderer="json")
def invalidate(request):
    request.session.invalidate()
    for key, value in request.params.items():
        request.session[key] = value
    return "ok"


@view_config(route_name="regenerate", renderer="json")
def regenerate(request):
    request.session.regenerate_id()
    return "ok"


@view_config(route_name="adjust", renderer="json")
def adjust(request):
    request.session.adjust_timeout(int(request.matchdict["seconds"]))
    return "ok"


@view_config(route_name="flash", renderer="json")
def flash(request):
    request.session.flash(request.matchdict["message"])
    return "ok"


@view_config(route_name="pop_flash", renderer="json")
def pop_flash(request):
    return request.session.pop_flash()


@view_config(route_name="csrf", renderer="json")
def csrf(request):
    return request.session.get_csrf_token()


@view_config(route_name="protected", renderer="json", require_csrf=True)
def protected(request):
    return "accepted"


@view_config(route_name="fail", renderer="json")
def fail(request):
    request.session["before_failure"] = "written"
    raise ValueError("the view failed")


@view_config(context=ValueError, renderer="json")
def value_error_view(exc, request):
    request.response.status = 500
    return "failed"


@view_config(context=SessionStoreError, renderer="json")
def store_unavailable_view(exc, request):
    request.response.status = 503
    return "session storage unavailable"


ROUTES = {
    "untouched": "/untouched",
    "get": "/get/{key}",
    "set": "/set/{key}/{value}",
    "set_json": "/set_json",
    "append": "/append/{key}/{value}",
    "delete": "/delete/{key}",
    "dump": "/dump",
    "invalidate": "/invalidate",
    "regenerate": "/regenerate",
    "adjust": "/adjust/{seconds}",
    "flash": "/flash/{message}",
    "pop_flash": "/pop_flash",
    "csrf": "/csrf",
    "protected": "/protected",
    "fail": "/fail",
}


def configure_views(config):
    for name, pattern in ROUTES.items():
        config.add_route(name, pattern)
    config.scan("tests.support")


def app_running(collection, view, **options):
    """An app whose only view, at ``/``, is ``view(request)``; ``view``'s
    return value is returned as JSON."""
    factory = MongoSessionFactory(collection, secret=SECRET, **options)
    config = Configurator(session_factory=factory)
    config.add_route("view", "/")
    config.add_view(lambda request: view(request), route_name="view", renderer="json")
    return webtest.TestApp(config.make_wsgi_app())


def app_with_factory(collection, **options):
    """The test app on ``MongoSessionFactory(collection, ...)`` directly
    (no include: the write-back runs in a response callback)."""
    options.setdefault("secret", SECRET)
    factory = MongoSessionFactory(collection, **options)
    config = Configurator(session_factory=factory)
    configure_views(config)
    return webtest.TestApp(config.make_wsgi_app())


def url_of(mongodb_uri, collection, options=""):
    """``mongodb_uri`` with ``collection``'s database as its path."""
    return f"{mongodb_uri.rstrip('/')}/{collection.database.name}?{options}"


def app_on_url(url, collection=None, **settings):
    """The test app through include, on a client the package makes from
    ``url`` (not the tests' client)."""
    full = {"mongosession.url": url, "mongosession.secret": SECRET}
    if collection is not None:
        full["mongosession.collection"] = collection.name
    full.update(settings)
    config = Configurator(settings=full)
    config.include("pyramid_mongosession")
    configure_views(config)
    return webtest.TestApp(config.make_wsgi_app())


def include_settings(collection, settings=None):
    """Settings for ``config.include('pyramid_mongosession')`` on the
    tests' client and ``collection``."""
    full = {
        "mongosession.secret": SECRET,
        "mongosession.client_callable": "tests.support.client_from_settings",
        "mongosession.database": collection.database.name,
        "mongosession.collection": collection.name,
        "test.client": collection.database.client,
    }
    full.update(settings or {})
    return full


def app_with_include(collection, settings=None):
    """The test app through ``config.include('pyramid_mongosession')``."""
    config = Configurator(settings=include_settings(collection, settings))
    config.include("pyramid_mongosession")
    configure_views(config)
    return webtest.TestApp(config.make_wsgi_app())


def session_cookie_headers(response):
    """The Set-Cookie headers of ``response`` for the session cookie."""
    return [h for h in response.headers.getall("Set-Cookie") if h.startswith("session=")]


def wait_for(condition, seconds=10.0, message="condition not met in time", every=0.05):
    """Poll ``condition`` until it holds; fail with ``message`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(every)


def add_sessions(collection, expired=0, live=0, principal=None):
    """Session documents written straight into ``collection``: ``expired``
    of them an hour past their expiry, then ``live`` ones with an hour to
    go, created a second apart in that order.  Returns their ids as stored
    (32 random bytes, as a hashed session id)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    documents = [
        {"_id": os.urandom(32), "data": {},
         "created": now - 2 * hour + datetime.timedelta(seconds=number),
         "expires": now - hour if number < expired else now + hour,
         **({"principal": principal} if principal else {})}
        for number in range(expired + live)
    ]
    if documents:
        collection.insert_many(documents)
    return [document["_id"] for document in documents]
