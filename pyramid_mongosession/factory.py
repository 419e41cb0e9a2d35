"""The ISessionFactory: cookie -> verified session id -> session object, and
the Set-Cookie that goes back."""
import datetime
from typing import Any, Callable, Mapping, Optional, Sequence, TypedDict, Union, Unpack

from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import ISessionFactory
from zope.interface import implementer

from .cookie import SessionCookie
from .devices import DeviceRecorder
from .expiry import ExpiryRule, StoredTime, utc_now
from .serializers import codec_for
from .session import MongoSession
from .settings import CONNECTION_OPTIONS, Options, build_options
from .store import SessionStore, check_collection
from .writeback import WriteBack


class FactoryOptions(TypedDict, total=False):
    """The keyword options of :class:`MongoSessionFactory`: the
    ``mongosession.*`` settings of the same names, already typed."""

    timeout: Optional[int]
    absolute_timeout: Optional[int]
    reissue_time: Optional[int]
    cookie_name: str
    cookie_max_age: Optional[int]
    cookie_path: str
    cookie_domain: Optional[str]
    cookie_secure: bool
    cookie_httponly: bool
    cookie_samesite: str
    cookie_on_exception: bool
    reaper: str
    reap_interval: int
    #: ``"bson"``, ``"json"``, or an object with ``dumps`` and ``loads``.
    serializer: Any
    read_preference: str
    operation_timeout: Optional[float]
    max_size: int
    max_sessions_per_principal: Optional[int]
    import_from: Optional[Callable[[Any], Optional[Mapping[str, Any]]]]
    record_user_agent: bool
    record_client_address: bool


@implementer(ISessionFactory)
class MongoSessionFactory:
    """A Pyramid session factory storing sessions in a MongoDB collection.

    Parameters:

    ``collection``
      The :class:`pymongo.collection.Collection` holding the sessions.
      Required.

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
        secret: Union[str, Sequence[str]],
        clock: Optional[Callable[[], datetime.datetime]] = None,
        **options: Unpack[FactoryOptions],
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
        """The factory for options already parsed, e.g. by
        :func:`~pyramid_mongosession.settings.options_from_settings`.

        Parameters:

        ``collection``
          The :class:`pymongo.collection.Collection` holding the sessions.
          Required.

        ``options``
          The :class:`~pyramid_mongosession.settings.Options`.  Required.

        ``clock``
          A callable returning the current time as an aware UTC
          ``datetime``; for tests.  Default: the system clock.
        """
        factory = cls.__new__(cls)
        factory._setup(collection, options, clock)
        return factory

    def _setup(
        self,
        collection: Any,
        options: Options,
        clock: Optional[Callable[[], datetime.datetime]],
    ) -> None:
        check_collection(collection)
        self.options = options
        #: The time as sessions store it; handed to the store and each session.
        self.now = StoredTime(clock or utc_now)
        self.store = SessionStore(
            collection,
            codec_for(options.serializer),
            expiry=ExpiryRule(options.timeout, options.absolute_timeout, options.reissue_time),
            ttl_index=options.reaper == "ttl",
            ensure_indexes_later=True,
            read_preference=options.read_preference,
            clock=self.now,
            time_limit=_time_limit(collection, options.operation_timeout),
            max_size=options.max_size,
            max_sessions_per_principal=options.max_sessions_per_principal,
        )
        self.cookie = SessionCookie(
            options.secret,
            options.cookie_name,
            max_age=options.cookie_max_age,
            path=options.cookie_path,
            domain=options.cookie_domain,
            secure=options.cookie_secure,
            httponly=options.cookie_httponly,
            samesite=options.cookie_samesite,
        )
        self._write_back = WriteBack(self.store, self.cookie)
        recorder = DeviceRecorder(options.record_user_agent, options.record_client_address)
        self._record_device = recorder if recorder else None

    def __call__(self, request: Any) -> MongoSession:
        session_id, resign = self.cookie.read(request)
        return MongoSession(
            request,
            session_id,
            resign=resign,
            store=self.store,
            write_back=self._write_back,
            clock=self.now,
            cookie_on_exception=self.options.cookie_on_exception,
            importer=self.options.import_from,
            record_device=self._record_device,
        )

def _time_limit(collection: Any, operation_timeout: Optional[float]) -> Optional[float]:
    # A client with a timeoutMS of its own (from the URL, say) keeps it.
    if collection.database.client.options.timeout is not None:
        return None
    return operation_timeout


def registered_factory(registry: Any) -> Optional[MongoSessionFactory]:
    """The application's session factory, if it is a MongoSessionFactory."""
    factory = registry.queryUtility(ISessionFactory)
    return factory if isinstance(factory, MongoSessionFactory) else None

