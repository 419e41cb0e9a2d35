"""The ISession: lazy load, dict semantics, dirty keys, flash, CSRF, and
the request's Outcome, which the write-back turns into at most one write."""
import datetime
import functools
import logging
import secrets
from typing import (
    Any,
    Callable,
    Concatenate,
    Dict,
    ItemsView,
    Iterator,
    KeysView,
    List,
    Optional,
    ParamSpec,
    TypeVar,
)

from pyramid.interfaces import ISession
from zope.interface import implementer

from .attempt import CommitWatch, will_be_retried
from .changes import MISSING, KeyChanges
from .coercion import LONGEST_TIMEOUT
from .documents import StoredSession
from .expiry import ExpiryRule, Lifetime
from .writeback import Outcome, WriteBack

log = logging.getLogger(__name__)

#: An attribute of the request (in its ``__dict__``, not the environ, which
#: copies of the request and mounted apps share), true while the write-back
#: tween's handler runs: ``request.session`` loaded then is written back by
#: the tween, and needs no response callback.
TWEEN_WRITES_BACK = "_mongosession_tween_writes_back"


def new_session_id() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


_P = ParamSpec("_P")
_R = TypeVar("_R")
_Method = Callable[Concatenate["MongoSession", _P], _R]


def _session_method(changes: bool) -> Callable[[_Method[_P, _R]], _Method[_P, _R]]:
    """A method that loads the session before it runs; one that ``changes``
    it is refused once the session was written for this response."""

    def decorate(method: _Method[_P, _R]) -> _Method[_P, _R]:
        @functools.wraps(method)
        def wrapper(self: "MongoSession", /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            if changes and self._written:
                raise RuntimeError(
                    "the session was already saved for this response; change it "
                    "in the view, not in a response callback or subscriber"
                )
            if not self._loaded:
                self._load()
            request = self._request
            if request is not None and request.environ.get("tm.active"):
                # Used in the view's transaction, though maybe loaded before it.
                if self._commit is None:
                    self._commit = CommitWatch()
                self._commit.watch(request)
            return method(self, *args, **kwargs)

        return wrapper

    return decorate


_loaded = _session_method(changes=False)
_changing = _session_method(changes=True)


@implementer(ISession)
class MongoSession:
    """``request.session``: a :class:`pyramid.interfaces.ISession` stored
    in MongoDB, made by :class:`~pyramid_mongosession.MongoSessionFactory`
    for each request that uses it; applications do not make one.

    It is a dict of ``str`` keys, with ``created``, ``new``, flash messages
    and the CSRF token of ``ISession``, and, beyond it, ``id``,
    ``regenerate_id()``, ``adjust_timeout()`` and ``principal``.  Nothing is
    read until the session is first used, and nothing is written until the
    response: then at most one write of the keys that changed.

    A key or value that cannot be stored raises ``TypeError`` or
    ``ValueError`` at assignment, naming the key.  Changing the session
    after it was written for the response (in a response callback) raises
    ``RuntimeError``.
    """

    def __init__(
        self,
        request: Any,
        cookie_id: Optional[str],
        *,
        resign: bool,
        store: Any,
        write_back: WriteBack,
        clock: Callable[[], datetime.datetime],
        cookie_on_exception: bool,
        importer: Optional[Callable[[Any], Any]] = None,
        record_device: Optional[Callable[[Any], Optional[Dict[str, str]]]] = None,
    ):
        """What the factory hands each session.

        Parameters:

        ``request``
          The request it belongs to.  Required.

        ``cookie_id``
          The id the request's cookie carries, verified, or ``None``.
          Required.

        ``resign``
          Whether the cookie was signed with an older secret.  Required.

        ``store``, ``write_back``, ``clock``
          The ``SessionStore``, the ``WriteBack`` that stores what a request
          did, and the clock (aware UTC, to the millisecond).  Required.

        ``cookie_on_exception``
          Whether to write back for a response an exception view made.
          Required.

        ``importer``
          Called with the request when it carries no cookie of this
          package, for the data of a session of another store to take in
          (see ``pyramid_mongosession.importers``), or ``None``.
          Default: ``None``.

        ``record_device``
          Called with the request that signs a session in, for what to
          record of its device (a ``DeviceRecorder``), or ``None``.
          Default: ``None``.
        """
        self._request = request
        self._store = store
        self._writer = write_back
        self._now = clock
        self._cookie_on_exception = cookie_on_exception
        self._importer = importer
        self._record_device = record_device
        self._forget_old: Optional[Callable[[Any], None]] = None
        self._rule: ExpiryRule = store.expiry
        self._cookie_id = cookie_id
        self._resign = resign
        self._invalidated = False
        self._loaded = False
        self._written = False
        self._called_back = False
        self._move: Any = None
        self._commit: Optional[CommitWatch] = None

    # -- loading ---------------------------------------------------------------

    def _load(self) -> None:
        now = self._now()
        stored = None
        if self._cookie_id is not None:
            stored = self._store.load(self._cookie_id, now)
        if stored is None:
            self._start_new(now)
            if self._cookie_id is None and self._importer is not None:
                self._take_in(self._importer(self._request))
        else:
            self._start_stored(stored, now)
        self._loaded = True
        attributes = self._request.__dict__
        if not attributes.get(TWEEN_WRITES_BACK) or attributes.get("session") is not self:
            self._write_back_at_response()

    def _write_back_at_response(self) -> None:
        """Have a response callback write back, unless one will already."""
        if self._loaded and not self._written and not self._called_back:
            self._called_back = True
            self._request.add_response_callback(self._write_back)

    def _start_new(self, now: datetime.datetime) -> None:
        self._id: Optional[str] = None
        self._stored_id: Optional[str] = None
        self._stored_key: Optional[bytes] = None
        self._data: Dict[str, Any] = {}
        self._principal: Optional[str] = None
        self._device: Optional[Dict[str, str]] = None
        self._life = Lifetime.starting(self._rule, now)
        self._keys = KeyChanges(self._store.codec)
        self._principal_changed = False

    def _start_stored(self, stored: StoredSession, now: datetime.datetime) -> None:
        self._id = self._stored_id = self._cookie_id
        self._stored_key = stored.key
        self._data = stored.data
        self._principal = stored.principal
        self._device = stored.device
        self._life = Lifetime.of_stored(self._rule, stored, now)
        self._keys = KeyChanges(self._store.codec)
        self._principal_changed = False

    def _take_in(self, imported: Any) -> None:
        """Start with the data of another store's session, to be inserted."""
        if not imported:
            return
        data = dict(imported)
        try:
            for key, value in data.items():
                self._keys.check(key, value)
        except (TypeError, ValueError) as error:
            # Left where it is, for a fixed importer or serializer to take.
            log.warning("not importing a session of the old store: %s", error)
            return
        self._data = data
        for key in data:
            self._keys.change(key)
        self._forget_old = getattr(self._importer, "forget", None)

    # -- the write-back -----------------------------------------------------------

    def _write_back(self, request: Any, response: Any) -> None:
        """Store what this request did, once, from the tween or a response
        callback; only for the attempt whose response is sent."""
        if self._written or not self._loaded:
            return
        self._written = True
        self._move = None
        self._request = None
        if self._commit is not None and self._commit.failed:
            # Only a transaction that committed leaves anything behind.
            return
        if request.exception is not None and (
            not self._cookie_on_exception or will_be_retried(request)
        ):
            # Nor does an attempt whose response is not sent.
            return
        self._keys.settle(self._data)
        if self._stored_id is not None and not self._touched():
            return
        self._writer.write(self._outcome(request), response)

    def _touched(self) -> bool:
        """Whether a stored session has anything to write or re-sign."""
        return bool(
            self._keys.changed
            or self._keys.removed
            or self._life.renewed
            or self._principal_changed
            or self._resign
            or self._id != self._stored_id
        )

    def _device_of(self, request: Any, inserts: bool) -> Optional[Dict[str, str]]:
        """The device a session records: only a signed-in one, read from
        the request that signs it in or stores it anew (a session moved at
        sign-in records the device signing in, not the device of whoever
        planted the old id).  Without recording, a new document has none."""
        if self._record_device is None:
            return None if inserts else self._device
        if inserts or self._principal_changed:
            return None if self._principal is None else self._record_device(request)
        return self._device

    def _outcome(self, request: Any) -> Outcome:
        changed = self._keys.changed
        life = self._life
        inserts = self._stored_id is None or self._id != self._stored_id
        return Outcome(
            session_id=self._current_id(),
            stored_id=self._stored_id,
            stored_key=self._stored_key,
            cookie_id=self._cookie_id,
            stored=StoredSession(
                self._data,
                life.created,
                life.expires,
                life.own_timeout,
                self._principal,
                life.last_renewal,
                self._device_of(request, inserts),
                moved_from=self._stored_key if inserts else None,
            ),
            changed={key: self._data[key] for key in changed},
            removed=self._keys.removed,
            renewed=life.renewed,
            timeout_changed=life.timeout_changed,
            principal_changed=self._principal_changed,
            device_changed=(
                self._record_device is not None and self._principal_changed and not inserts
            ),
            invalidated=self._invalidated,
            resign=self._resign,
            forget_old=self._forget_old,
        )

    # -- the dict interface --------------------------------------------------------

    @_loaded
    def __getitem__(self, key: str) -> Any:
        return self._keys.hand_out(key, self._data[key])

    @_loaded
    def get(self, key: str, default: Any = None) -> Any:
        if key in self._data:
            return self._keys.hand_out(key, self._data[key])
        return default

    @_loaded
    def __contains__(self, key: object) -> bool:
        return key in self._data

    @_loaded
    def __len__(self) -> int:
        return len(self._data)

    @_loaded
    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    @_loaded
    def keys(self) -> KeysView[str]:
        return self._data.keys()

    @_loaded
    def items(self) -> ItemsView[str, Any]:
        for key, value in self._data.items():
            self._keys.hand_out(key, value)
        return self._data.items()

    @_loaded
    def values(self) -> List[Any]:
        return [value for _key, value in self.items()]

    @_changing
    def __setitem__(self, key: str, value: Any) -> None:
        self._keys.check(key, value)
        self._data[key] = value
        self._keys.change(key)

    @_changing
    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._keys.remove(key)

    @_changing
    def pop(self, key: str, default: Any = MISSING) -> Any:
        if key in self._data:
            self._keys.remove(key)
            return self._data.pop(key)
        if default is MISSING:
            raise KeyError(key)
        return default

    @_changing
    def popitem(self) -> "tuple[str, Any]":
        key, value = self._data.popitem()
        self._keys.remove(key)
        return key, value

    @_changing
    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self._data:
            self[key] = default
        return self[key]

    @_changing
    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    @_changing
    def clear(self) -> None:
        for key in list(self._data):
            del self[key]

    def __repr__(self) -> str:
        state = repr(self._data) if self._loaded else "not loaded"
        return f"<{type(self).__name__} {state}>"

    # -- ISession ---------------------------------------------------------------

    @property
    @_loaded
    def created(self) -> int:
        """When the session was created, in seconds since the epoch."""
        return int(self._life.created.timestamp())

    @property
    @_loaded
    def new(self) -> bool:
        """Whether the session is not stored yet: a new visitor's, or one
        that started afresh in this request."""
        return self._stored_id is None

    @_changing
    def changed(self) -> None:
        """Mark every value handed out in this request as changed (all of
        them if none was); rarely needed, as in-place changes are noticed."""
        self._keys.change_handed_out(self._data)

    @_changing
    def invalidate(self) -> None:
        """Delete the stored session now, not at the response, and go on
        with an empty new one.  The response deletes the cookie, unless data
        is stored after the call: that is a new session, with a new id."""
        if self._stored_key is not None:
            self._store.delete(self._stored_key)
        self._invalidated = True
        self._start_new(self._now())

    @_changing
    def flash(self, msg: Any, queue: str = "", allow_duplicate: bool = True) -> None:
        """Add a flash message to a queue, kept under the key
        ``'_f_' + queue``.

        Parameters:

        ``msg``
          The message; any value the session can store.  Required.

        ``queue``
          The name of the queue.  Default: ``''``.

        ``allow_duplicate``
          Whether to add a message the queue already holds.
          Default: ``True``.
        """
        key = "_f_" + queue
        self._keys.check(key, [msg])
        storage = self._data.setdefault(key, [])
        if allow_duplicate or msg not in storage:
            storage.append(msg)
            # Marked changed here: no fingerprints of the queue to compare.
            self._keys.change(key)

    def pop_flash(self, queue: str = "") -> Any:
        """Remove and return the messages of a queue, a list (empty when
        there are none).

        Parameters:

        ``queue``
          The name of the queue.  Default: ``''``.
        """
        return self.pop("_f_" + queue, [])

    def peek_flash(self, queue: str = "") -> Any:
        """Return the messages of a queue, a list, leaving them there.

        Parameters:

        ``queue``
          The name of the queue.  Default: ``''``.
        """
        return self.get("_f_" + queue, [])

    def new_csrf_token(self) -> str:
        """Make a new CSRF token, store it under the key ``'_csrft_'`` and
        return it."""
        token = secrets.token_hex(20)
        self["_csrft_"] = token
        return token

    def get_csrf_token(self) -> str:
        """The session's CSRF token; a new one if it has none."""
        token = self.get("_csrft_")
        if token is None:
            return self.new_csrf_token()
        return str(token)

    # -- beyond ISession -----------------------------------------------------------

    @property
    @_loaded
    def id(self) -> str:
        """This session's id: 256 random bits from :mod:`secrets`, URL-safe,
        what the cookie carries, signed.  The database stores only its
        hash."""
        return self._current_id()

    def _current_id(self) -> str:
        if self._id is None:
            self._id = new_session_id()
        return self._id

    @_changing
    def regenerate_id(self) -> None:
        """Keep the data, and the principal, under a new id; the old
        document is deleted when the response is made.  Call it at sign-in,
        against session fixation."""
        self._id = new_session_id()
        self._life.restart(self._now())
        if self._stored_id is not None:
            self._move = self._store.start_move(self._stored_id, self._id)

    @_changing
    def adjust_timeout(self, seconds: int) -> None:
        """Give this session its own idle timeout, stored with it ("remember
        me"); its cookie then lasts as long, renewed with the session.

        Parameters:

        ``seconds``
          The timeout, a whole number of seconds from 1 to 1,000 years;
          anything else raises ``ValueError``.  Required.
        """
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not 1 <= seconds <= LONGEST_TIMEOUT
        ):
            raise ValueError(
                f"timeout must be a whole number of seconds from 1 to {LONGEST_TIMEOUT:,} "
                f"(1,000 years), not {seconds!r}"
            )
        self._life.change_timeout(seconds, self._now())

    @property
    @_loaded
    def principal(self) -> Optional[str]:
        """The user this session belongs to, a non-empty ``str``, or
        ``None``.  Stored in its own indexed field, not in the data, so that
        the store can list and ``revoke`` the sessions of a user ("sign out
        everywhere").  Set it at sign-in, after ``regenerate_id()``;
        ``invalidate()`` forgets it.  Anything else raises ``ValueError``."""
        return self._principal

    @principal.setter
    @_changing
    def principal(self, principal: Optional[str]) -> None:
        if principal is not None and (not isinstance(principal, str) or not principal):
            raise ValueError(f"principal must be a non-empty str or None, not {principal!r}")
        if principal != self._principal:
            self._principal = principal
            self._principal_changed = True
            if principal is not None and self._store.max_sessions_per_principal is not None:
                # A sign-in is activity: the limit keeps the most recent.
                self._life.renew(self._now())
