"""How each session store is configured on a Pyramid app: the same options
where they overlap (20 minute timeout, the cookie named ``session``)."""
from pyramid.session import SignedCookieSessionFactory

from .stores import SECRET, MongoServer, RedisServer


def mongosession(config, server):
    client = server.client("mongosession")
    config.registry.settings.update({
        "mongosession.secret": SECRET,
        "mongosession.client_callable": "bench.backends.the_client",
        "bench.client": client,
    })
    config.include("pyramid_mongosession")
    return client


def the_client(settings):
    return settings["bench.client"]


def cookie(config, server):
    config.set_session_factory(SignedCookieSessionFactory(SECRET, timeout=1200))


def beaker(config, server):
    from pyramid_beaker import BeakerSessionFactoryConfig

    client = server.client("beaker")
    config.set_session_factory(BeakerSessionFactoryConfig(
        type="ext:mongodb", url=client, key="session", secret=SECRET, timeout=1200,
        validate_key=SECRET,
    ))
    return client


def redis(config, server):
    from pyramid_session_redis import RedisSessionFactory

    config.set_session_factory(RedisSessionFactory(
        secret=SECRET, timeout=1200, redis_url=server.url,
    ))


# name: (configure, the server it needs or None)
BACKENDS = {
    "pyramid_mongosession": (mongosession, MongoServer),
    "SignedCookieSessionFactory": (cookie, None),
    "pyramid_beaker (ext:mongodb)": (beaker, MongoServer),
    "pyramid_session_redis": (redis, RedisServer),
}

# The order of a turn (every other turn reversed): pyramid_mongosession
# between the two stores its closest targets compare it with, so that each
# pair is measured back to back.
TURN_ORDER = [
    "pyramid_beaker (ext:mongodb)",
    "pyramid_mongosession",
    "pyramid_session_redis",
    "SignedCookieSessionFactory",
]
