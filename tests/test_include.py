"""Activation: includeme, session_factory_from_settings, the client (§1, §2)."""
import re

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISessionFactory
from pyramid.session import SignedCookieSessionFactory

import pyramid_mongosession
from pyramid_mongosession import MongoSessionFactory, session_factory_from_settings

from .support import SECRET, app_with_include, include_settings


def registered_factory(app):
    return app.app.registry.queryUtility(ISessionFactory)


def test_include_registers_a_factory_from_the_settings(collection):
    app = app_with_include(collection, {"mongosession.timeout": "60",
                                        "mongosession.cookie_name": "sid"})
    factory = registered_factory(app)
    assert isinstance(factory, MongoSessionFactory)
    assert factory.options.timeout == 60
    assert factory.store.collection.full_name == collection.full_name
    app.get("/set/a/1")
    assert app.cookies["sid"]
    assert collection.find_one()["data"] == {"a": "1"}


def test_settings_added_after_the_include_still_count(collection):
    config = Configurator(settings={
        "mongosession.secret": SECRET,
        "mongosession.client_callable": "tests.support.client_from_settings",
        "test.client": collection.database.client,
    })
    config.include("pyramid_mongosession")
    config.registry.settings["mongosession.collection"] = collection.name
    config.registry.settings["mongosession.database"] = collection.database.name
    config.commit()
    factory = config.registry.queryUtility(ISessionFactory)
    assert factory.store.collection.full_name == collection.full_name


@pytest.mark.parametrize("before_include", [True, False])
def test_the_applications_own_session_factory_wins(collection, before_include):
    own = SignedCookieSessionFactory("own secret")
    config = Configurator(settings={"mongosession.secret": SECRET,
                                    "mongosession.url": "mongodb://127.0.0.1:9/"})
    if before_include:
        config.set_session_factory(own)
    config.include("pyramid_mongosession")
    if not before_include:
        config.set_session_factory(own)
    config.add_route("set", "/set")
    config.add_view(lambda r: r.session.update(a=1) or "ok", route_name="set", renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())  # no index attempt on port 9
    assert config.registry.queryUtility(ISessionFactory) is own
    assert app.get("/set").json == "ok"


def test_bad_setting_fails_at_commit_naming_it(collection):
    config = Configurator(settings={"mongosession.secret": SECRET,
                                    "mongosession.timeout": "abc"})
    config.include("pyramid_mongosession")
    with pytest.raises(ConfigurationError) as error:
        config.commit()
    assert 'mongosession.timeout must be a whole number of seconds or "none", not \'abc\'' in (
        str(error.value)
    )


def test_missing_secret_fails_at_commit():
    config = Configurator(settings={})
    config.include("pyramid_mongosession")
    with pytest.raises(ConfigurationError, match="mongosession.secret is required"):
        config.commit()


def test_factory_rejects_connection_settings(collection):
    with pytest.raises(ConfigurationError, match="url is a connection setting"):
        MongoSessionFactory(collection, secret=SECRET, url="mongodb://x/")


def test_factory_rejects_bad_options_naming_them(collection):
    with pytest.raises(ConfigurationError, match="^timeout must be a whole number"):
        MongoSessionFactory(collection, secret=SECRET, timeout="soon")
    with pytest.raises(ConfigurationError, match="unknown setting timout"):
        MongoSessionFactory(collection, secret=SECRET, timout=5)


def test_factory_from_settings_builds_a_lazy_client_with_safe_defaults():
    factory = session_factory_from_settings({
        "mongosession.secret": SECRET,
        "mongosession.url": "mongodb://127.0.0.1:9/appdb?appname=shop",
    })
    collection = factory.store.collection
    client = collection.database.client
    try:
        assert collection.full_name == "appdb.sessions"
        assert client.options.server_selection_timeout == 3
        assert client.codec_options.tz_aware
        driver = client.options.pool_options.metadata["driver"]
        assert driver["name"].endswith("pyramid_mongosession")
        assert driver["version"].endswith(pyramid_mongosession.__version__)
    finally:
        client.close()


def test_client_from_settings_passes_extra_options_on_and_lets_them_win():
    from pymongo import monitoring

    from pyramid_mongosession import client_from_settings

    class Listener(monitoring.CommandListener):
        def started(self, event): ...
        def succeeded(self, event): ...
        def failed(self, event): ...

    listener = Listener()
    settings = {
        "mongosession.secret": SECRET,
        "mongosession.url": "mongodb://127.0.0.1:9/appdb",
        "mongosession.client_callable": "tests.support.client_from_settings",
    }
    client = client_from_settings(
        settings, event_listeners=[listener], serverSelectionTimeoutMS=250)
    try:
        assert client.options.server_selection_timeout == 0.25
        assert listener in client.options.event_listeners
        assert client.codec_options.tz_aware  # the package's own options stay
    finally:
        client.close()


def test_factory_from_settings_defaults_and_overrides():
    default = session_factory_from_settings({"mongosession.secret": SECRET})
    explicit = session_factory_from_settings({
        "mongosession.secret": SECRET,
        "mongosession.url": "mongodb://127.0.0.1:9/urldb?serverSelectionTimeoutMS=1500",
        "mongosession.database": "chosen",
        "mongosession.collection": "web_sessions",
        "mongosession.username": "app",
        "mongosession.password": "pw",
    })
    try:
        assert default.store.collection.full_name == "pyramid.sessions"
        explicit_client = explicit.store.collection.database.client
        assert explicit.store.collection.full_name == "chosen.web_sessions"
        assert explicit_client.options.server_selection_timeout == 1.5
        assert explicit_client.options.pool_options._credentials.username == "app"
    finally:
        default.store.collection.database.client.close()
        explicit.store.collection.database.client.close()


def test_client_callable_shares_the_applications_client(collection):
    factory = session_factory_from_settings({
        "mongosession.secret": SECRET,
        "mongosession.client_callable": "tests.support.client_from_settings",
        "test.client": collection.database.client,
    })
    assert factory.store.collection.database.client is collection.database.client


def test_exception_views_answer_a_failed_write(collection, fail_command):
    app = app_with_include(collection)
    app.get("/set/a/1")
    fail_command(["update"], errorCode=1)
    response = app.get("/set/a/2", status=503)
    assert response.json == "session storage unavailable"
    assert "Set-Cookie" not in response.headers
    assert collection.find_one()["data"] == {"a": "1"}
    assert app.get("/get/a").json == "1"


def test_without_an_exception_view_a_failed_write_is_raised(collection, fail_command):
    from pyramid_mongosession import SessionStoreError

    config = Configurator(settings=include_settings(collection))
    config.include("pyramid_mongosession")
    config.add_route("set", "/set")
    config.add_view(lambda r: r.session.update(a=1) or "ok", route_name="set", renderer="json")
    app = webtest.TestApp(config.make_wsgi_app())
    fail_command(["insert"], errorCode=1)
    with pytest.raises(SessionStoreError):
        app.get("/set")
    assert collection.count_documents({}) == 0


@pytest.mark.parametrize("include", [True, False])
def test_cookie_on_exception_writes_the_session_of_a_failed_view(collection, include):
    from .support import app_with_factory

    app = app_with_include(collection) if include else app_with_factory(collection)
    response = app.get("/fail", status=500)
    assert "session=" in response.headers["Set-Cookie"]
    assert collection.find_one()["data"] == {"before_failure": "written"}


@pytest.mark.parametrize("include", [True, False])
def test_cookie_on_exception_false_writes_nothing_for_a_failed_view(collection, include):
    from .support import app_with_factory

    if include:
        app = app_with_include(collection, {"mongosession.cookie_on_exception": "false"})
    else:
        app = app_with_factory(collection, cookie_on_exception=False)
    response = app.get("/fail", status=500)
    assert "Set-Cookie" not in response.headers
    assert collection.count_documents({}) == 0


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"mongosession.url": "mongodb://bob:hunter2@localhost:notaport/"},
         "mongosession.url is not a usable MongoDB URL"),
        # A password that should have been escaped: the mask must not stop in it.
        ({"mongosession.url": "mongodb://bob:hun/ter2@localhost/"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://bob:hun@ter2@localhost/"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://bob:hun#ter2@localhost:notaport/"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://bob:hun?ter2@localhost:notaport/"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://localhost:notaport/?tlsCertificateKeyFilePassword=hunter2"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongdb://bob:hunter2@localhost/"},
         "mongosession.url must be a mongodb:// or mongodb+srv:// URL"),
        ({"mongosession.url": "mongodb://bob:hunter2@localhost/?tls=ture"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://bob:hunter2@localhost/?readPreference=secundary"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.url": "mongodb://bob:hunter2@localhost/?serverSelectionTimeoutMS=-1"},
         "mongosession.url is not a usable MongoDB URL"),
        ({"mongosession.database": "my db"}, "mongosession.database is not a valid database name"),
        ({"mongosession.collection": "a$b"},
         "mongosession.collection is not a valid collection name"),
    ],
)
def test_unusable_connection_settings_are_configuration_errors(settings, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)) as error:
        session_factory_from_settings(dict(settings, **{"mongosession.secret": SECRET}))
    assert "hunter2" not in str(error.value) and "ter2" not in str(error.value)


@pytest.mark.parametrize(
    "settings",
    [
        # an old secret left empty: "none"
        {"mongosession.secret": "live-signing-secret-long-enough-to-sign-cookies none"},
        {"mongosession.secret": SECRET, "mongosession.username": "bob",
         "mongosession.password": ""},
    ],
)
def test_a_bad_secret_or_password_is_refused_without_showing_it(settings):
    with pytest.raises(ConfigurationError) as error:
        session_factory_from_settings(settings)
    assert "live-signing-secret" not in str(error.value)
    assert "mongosession." in str(error.value)


def test_factory_from_options_shares_the_parsed_options(collection):
    factory = MongoSessionFactory(collection, secret=SECRET, timeout=60)
    again = MongoSessionFactory.from_options(collection, factory.options)
    assert again.options is factory.options


@pytest.mark.parametrize("given", ["database", "client", None], ids=["database", "client", "none"])
def test_a_factory_handed_something_else_than_a_collection_says_so(collection, given):
    handed = {"database": collection.database, "client": collection.database.client}.get(given)

    expected = "^the sessions collection must be a pymongo Collection, not "
    with pytest.raises(TypeError, match=expected):
        MongoSessionFactory(handed, secret=SECRET)


@pytest.mark.parametrize(
    "returns, why",
    [("database", "must return a pymongo MongoClient, not Database"),
     ("none", "must return a pymongo MongoClient, not NoneType"),
     ("takes_nothing", "must take the settings")],
)
def test_a_client_callable_that_gives_no_client_stops_start_up(collection, returns, why):
    def database(settings):
        return collection.database

    def none(settings):
        return None

    def takes_nothing():
        return collection.database.client

    callables = {"database": database, "none": none, "takes_nothing": takes_nothing}
    settings = {"mongosession.secret": SECRET,
                "mongosession.client_callable": callables[returns]}

    with pytest.raises(ConfigurationError, match=f"^mongosession.client_callable {why}"):
        session_factory_from_settings(settings)


def test_a_url_option_pymongo_does_not_know_is_warned_about_not_refused(caplog):
    """Connection strings shared with other drivers carry their options
    (Node's useNewUrlParser, say): pymongo ignores them, and so does the
    store, saying so."""
    url = "mongodb://localhost/?useNewUrlParser=true&useUnifiedTopology=true&w=majority"
    with caplog.at_level("WARNING", "pyramid_mongosession"):
        session_factory_from_settings({"mongosession.secret": SECRET, "mongosession.url": url})

    assert "mongosession.url: pymongo ignores the option usenewurlparser" in caplog.text
    assert "usenewurlparser" in caplog.text and "useunifiedtopology" in caplog.text


def test_an_unknown_url_option_is_warned_about_once_per_start_up(mongodb_uri, collection, caplog):
    """The store's client and the start-up client read the same URL."""
    settings = include_settings(collection, {})
    del settings["mongosession.client_callable"]
    settings["mongosession.url"] = mongodb_uri + "?useNewUrlParser=true"
    config = Configurator(settings=settings)
    with caplog.at_level("WARNING", "pyramid_mongosession"):
        config.include("pyramid_mongosession")
        config.make_wsgi_app()

    assert caplog.text.count("pymongo ignores the option usenewurlparser") == 1
