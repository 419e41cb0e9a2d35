"""The ISessionFactory: cookie -> verified session id -> session object, and
the Set-Cookie that goes back."""
import datetime
import re
from typing import Any, Callable, List, Optional, Tuple

from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISessionFactory
from webob.cookies import SignedSerializer, parse_cookie
from zope.interface import implementer

from .expiry import utc_now
from .serializers import codec_for
from .session import MongoSession
from .settings import CONNECTION_OPTIONS, Options, build_options
from .store import SessionStore

SALT = "pyramid_mongosession."
# A signed cookie is ~150 characters; anything much longer is not ours.
MAX_COOKIE_LENGTH = 512
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


class _SessionIdText:
    """The ``serializer`` of webob's SignedSerializer for a bare session id."""

    @staticmethod
    def dumps(session_id: str) -> bytes:
        return session_id.encode("ascii")

    @staticmethod
    def loads(raw: bytes) -> str:
        text = raw.decode("ascii")
        if not _SESSION_ID.fullmatch(text):
            raise ValueError("not a session id")
        return text


@implementer(ISessionFactory)
class MongoSessionFactory:
    """A Pyramid session factory storing sessions in a MongoDB collection.

    Parameters:

    ``collection``
      The :class:`pymongo.collection.Collection` holding the sessions.

    ``secret``
      The secret that signs the session-id cookie, or a list of secrets: the
      first signs, all verify (for rotation).  Required.

    ``clock``
      A callable returning the current time as an aware UTC ``datetime``;
      for tests.  Default: the system clock.

    ``**options``
      Every other option of ``mongosession.*`` except the connection ones
      (``url``, ``database``, ``collection``, ``client_callable``,
      ``username``, ``password``, ``server_selection_timeout``), with the
      same defaults: ``timeout=1200``, ``reissue_time=None`` (timeout / 10),
      ``cookie_name='session'``, and so on.
    """

    def __init__(
        self,
        collection: Any,
        *,
        secret: Any,
        clock: Optional[Callable[[], datetime.datetime]] = None,
        **options: Any,
    ):
        misplaced = sorted(CONNECTION_OPTIONS & set(options))
        if misplaced:
            raise ConfigurationError(
                f"{misplaced[0]} is a connection setting; MongoSessionFactory "
                "is handed a collection and takes none"
            )
        self._setup(collection, build_options(dict(options, secret=secret)), clock)

    @classmethod
    def from_options(
        cls,
        collection: Any,
        options: Options,
        clock: Optional[Callable[[], datetime.datetime]] = None,
    ) -> "MongoSessionFactory":
        """The factory for already parsed :class:`~.settings.Options`."""
        factory = cls.__new__(cls)
        factory._setup(collection, options, clock)
        return factory

    def _setup(
        self,
        collection: Any,
        options: Options,
        clock: Optional[Callable[[], datetime.datetime]],
    ) -> None:
        self.options = options
        self._clock = clock or utc_now
        self.store = SessionStore(
            collection,
            codec_for(options.serializer),
            timeout=options.timeout,
            absolute_timeout=options.absolute_timeout,
            ttl_index=options.reaper == "ttl",
            ensure_indexes_later=True,
            read_preference=options.read_preference,
            clock=self.now,
            time_limit=_time_limit(collection, options.operation_timeout),
            max_size=options.max_size,
        )
        self._signers = [
            SignedSerializer(secret, SALT, serializer=_SessionIdText())
            for secret in options.secret
        ]

    def __call__(self, request: Any) -> MongoSession:
        # A sibling subdomain can plant a cookie of the same name beside
        # ours: the first that verifies is used, the others never acted on.
        for cookie in _cookie_values(request, self.options.cookie_name):
            session_id, resign = self._verify(cookie)
            if session_id is not None:
                return MongoSession(request, self, session_id, resign=resign)
        return MongoSession(request, self, None, resign=False)

    def now(self) -> datetime.datetime:
        """The clock's time, to the millisecond MongoDB stores."""
        now = self._clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    def _verify(self, cookie: bytes) -> Tuple[Optional[str], bool]:
        """The session id a cookie carries, and whether it should be re-signed
        with the current secret; ``(None, False)`` for any bad cookie."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH:
            return None, False
        for position, signer in enumerate(self._signers):
            try:
                return signer.loads(cookie), position > 0
            except ValueError:
                continue
        return None, False

    def set_cookie(self, response: Any, session_id: str, max_age: Optional[int]) -> None:
        value = self._signers[0].dumps(session_id).decode("ascii")
        self._cookie(response, value, max_age)

    def leave_cookie(self, response: Any) -> None:
        """Take back a Set-Cookie of the session cookie from ``response``."""
        response.unset_cookie(self.options.cookie_name, strict=False)

    def delete_cookie(self, response: Any) -> None:
        # The same attributes as when it was set: browsers ignore a deletion
        # of a Secure (__Host-, __Secure-) cookie that lacks them.
        self._cookie(response, None, 0)

    def _cookie(self, response: Any, value: Optional[str], max_age: Optional[int]) -> None:
        options = self.options
        response.set_cookie(
            options.cookie_name,
            value,
            max_age=max_age,
            path=options.cookie_path,
            domain=options.cookie_domain,
            secure=options.cookie_secure,
            httponly=options.cookie_httponly,
            samesite=options.cookie_samesite,
            overwrite=True,
        )
        _vary_on_cookie(response)


def _cookie_values(request: Any, name: str) -> List[bytes]:
    """The values of every cookie called ``name``, in the header's order.
    Parsed here because ``request.cookies`` keeps only the last of a name,
    decodes every cookie at once and fails on any that is not UTF-8, which
    must not hide ours (nor give a 500)."""
    wanted = name.encode("latin-1")
    return [
        raw for key, raw in parse_cookie(request.environ.get("HTTP_COOKIE", "")) if key == wanted
    ]


def _time_limit(collection: Any, operation_timeout: Optional[float]) -> Optional[float]:
    # A client with a timeoutMS of its own (from the URL, say) keeps it.
    if collection.database.client.options.timeout is not None:
        return None
    return operation_timeout


def registered_factory(registry: Any) -> Optional[MongoSessionFactory]:
    """The application's session factory, if it is a MongoSessionFactory."""
    factory = registry.queryUtility(ISessionFactory)
    return factory if isinstance(factory, MongoSessionFactory) else None


def _vary_on_cookie(response: Any) -> None:
    vary = tuple(response.vary or ())
    if "Cookie" not in vary:
        response.vary = vary + ("Cookie",)
