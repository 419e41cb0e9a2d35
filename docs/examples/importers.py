"""Importers for ``mongosession.import_from`` from pyramid_session_redis
and pyramid_beaker: give each what the old session factory was given."""
import pickle

import redis
from beaker.session import Session
from webob.cookies import SignedSerializer


class _Text:
    """The session id, signed as text (pyramid_session_redis's way)."""

    @staticmethod
    def dumps(text):
        return text.encode()

    @staticmethod
    def loads(raw):
        return raw.decode()


class RedisSessions:
    """The sessions of pyramid_session_redis (its default serializer)."""

    def __init__(self, secret, redis_url, cookie_name="session"):
        self.signer = SignedSerializer(
            secret, "pyramid_session_redis.", "sha512", serializer=_Text()
        )
        self.redis = redis.Redis.from_url(redis_url)
        self.cookie_name = cookie_name

    def __call__(self, request):
        cookie = request.cookies.get(self.cookie_name)
        if not cookie:
            return None
        try:
            session_id = self.signer.loads(cookie.encode())
        except ValueError:  # forged, or this package's own cookie
            return None
        stored = self.redis.get(session_id)  # None once redis expired it
        return pickle.loads(stored)["m"] if stored else None

    def forget(self, response):
        response.delete_cookie(self.cookie_name)


BEAKERS_OWN = ("_accessed_time", "_creation_time")


class BeakerSessions:
    """The sessions of pyramid_beaker; ``options`` as its factory took
    them (``type``, ``url``, ``key``, ``secret``, ``timeout``, ...)."""

    def __init__(self, **options):
        self.options = options
        self.cookie_name = options.get("key", "beaker.session.id")

    def __call__(self, request):
        old = Session({"cookie": request.headers.get("Cookie", "")}, **self.options)
        if old.is_new:  # no cookie, a forged one, or timed out
            return None
        return {key: value for key, value in old.items() if key not in BEAKERS_OWN}

    def forget(self, response):
        response.delete_cookie(self.cookie_name)
