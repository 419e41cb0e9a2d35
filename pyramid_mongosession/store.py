"""One collection of session documents: a session's find, insert, update,
delete and move (the documents themselves are :mod:`.documents`'), and the
operations across sessions, handed to an :class:`.operations.AcrossSessions`
it holds.  The side that speaks pymongo, with :mod:`.errors` and
:mod:`.indexes`."""
import datetime
import logging
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from bson.codec_options import CodecOptions
from bson.errors import BSONError
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.read_preferences import Primary, make_read_preference, read_pref_mode_from_name

from .documents import Documents, StoredSession, bson_encoded, check_size
from .errors import MAX_DOCUMENT_BYTES, SessionStoreError, SessionTooLargeError, call_mongodb
from .expiry import ExpiryRule, utc_now
from .indexes import Indexes
from .keys import escape_key, hash_id, hashed_id_text, is_session_id
from .operations import AcrossSessions, SessionInfo, SessionStats, check_principal

log = logging.getLogger(__name__)

__all__ = [
    "SessionStore",
    "StoredSession",
    "SessionStoreError",
    "SessionTooLargeError",
]

#: ``principal=UNCHANGED`` in :meth:`SessionStore.update`: leave it as it is.
UNCHANGED: Any = object()


def _checked_id(session_id: Any) -> str:
    if not isinstance(session_id, str):
        raise TypeError(
            "session_id must be a str, such as request.session.id, not "
            f"{type(session_id).__name__}"
        )
    return session_id


def check_collection(collection: Any) -> None:
    """Raise ``TypeError`` for what is surely no pymongo collection: a
    database or a client handed in by mistake fails later, obscurely.  A
    proxy of a collection is taken at its word."""
    if collection is None or isinstance(collection, (Database, MongoClient)):
        raise TypeError(
            "the sessions collection must be a pymongo Collection, not "
            f"{type(collection).__name__}"
        )


class PendingMove:
    """A session moving to a new id (``regenerate_id``) in a running
    request: its document is still under ``old_id``."""

    def __init__(self, old_id: str):
        self.old_id = old_id


class SessionStore:
    """The sessions of one collection, as the session factory stores them:
    the factory's ``store``, and what
    :func:`~pyramid_mongosession.get_session_store` returns.

    Applications use it for the operations across sessions: ``revoke``,
    ``revoke_one``, ``sessions_of``, ``reap``, ``count_expired``, ``stats``
    and ``ensure_indexes``.  They read from the primary, and each MongoDB
    call is bounded by ``mongosession.operation_timeout``; a failing one
    raises :class:`SessionStoreError`.
    """

    def __init__(
        self,
        collection: Any,
        codec: Any,
        *,
        expiry: Optional[ExpiryRule] = None,
        ttl_index: bool = True,
        ensure_indexes_later: bool = False,
        read_preference: str = "primary",
        clock: Callable[[], datetime.datetime] = utc_now,
        time_limit: Optional[float] = None,
        max_size: int = MAX_DOCUMENT_BYTES,
        max_sessions_per_principal: Optional[int] = None,
    ):
        """What the session factory hands its store.

        Parameters:

        ``collection``
          A ``pymongo.collection.Collection``.  Required.

        ``codec``
          How values are encoded (see ``pyramid_mongosession.serializers``).
          Required.

        ``expiry``
          The ``ExpiryRule`` that says when stored sessions end.
          Default: ``ExpiryRule()`` (a 1200 s idle timeout).

        ``ttl_index``
          ``ensure_indexes()`` also ensures the TTL index on ``expires``.
          Default: ``True``.

        ``ensure_indexes_later``
          Ensure the indexes in the background after the first successful
          command, unless ``ensure_indexes_at_startup()`` did.
          Default: ``False``.

        ``read_preference``
          The read preference mode of a request's read of its session,
          whatever the collection's: a request must read what the previous
          one wrote.  Everything else reads from the primary.
          Default: ``"primary"``.

        ``clock``
          Returns the current time, aware UTC; what ``reap``, ``stats`` and
          ``sessions_of`` take as now.  Default: the system clock.

        ``time_limit``
          Seconds each MongoDB call may take, server selection included
          (``pymongo.timeout``), or ``None`` for the client's own limits.
          Default: ``None``.

        ``max_size``
          The largest session document it writes, in BSON bytes; a write
          that would make one larger raises ``SessionTooLargeError`` and
          changes nothing.  Default: MongoDB's 16 MB.

        ``max_sessions_per_principal``
          How many live sessions one principal keeps when a session is
          signed in (see ``limit_sessions_of()``), or ``None`` for no limit.
          Default: ``None``.
        """
        self.collection = collection.with_options(
            codec_options=CodecOptions(tz_aware=True, tzinfo=datetime.timezone.utc),
            read_preference=Primary(),
        )
        self._session_reads = self.collection.with_options(
            read_preference=make_read_preference(
                read_pref_mode_from_name(read_preference), None
            )
        )
        self.codec = codec
        self._documents = Documents(codec)
        self.clock = clock
        #: When stored sessions end: the timeouts in force now.
        self.expiry = expiry or ExpiryRule()
        self.time_limit = time_limit
        self.max_size = max_size
        self.max_sessions_per_principal = max_sessions_per_principal
        self.indexes = Indexes(
            self.collection, ttl=ttl_index, pending=ensure_indexes_later, time_limit=time_limit
        )
        self._moves: "weakref.WeakValueDictionary[str, PendingMove]" = (
            weakref.WeakValueDictionary()
        )
        self._across = AcrossSessions(self.collection, self.expiry, self._call, clock)

    # -- one session ---------------------------------------------------------

    def load(self, session_id: str, now: datetime.datetime) -> Optional[StoredSession]:
        """The live session stored under ``session_id``, or ``None``.

        Found by ``_id`` alone, the cheapest lookup a server has, and checked
        for expiry here: a document the TTL monitor has not removed yet is
        never used."""
        try:
            document = self._call(
                self._session_reads.find_one,
                {"_id": hash_id(session_id)},
                action="load the session",
            )
        except BSONError as error:
            log.warning("session document cannot be decoded, starting afresh: %s", error)
            return None
        if document is None:
            return None
        try:
            stored = self._documents.undecoded(document)
        except ValueError as error:
            self._undecodable(error)
            return None
        if stored.expires is not None:
            stored.ends = self.expiry.ends(
                stored.created, stored.expires, stored.renewed, stored.timeout, now
            )
            if stored.ends <= now:
                return None
        elif self.expiry.sessions_expire:
            return None
        try:  # only a live session's: an expired one's data is never read
            stored.data = self.codec.decode_data(stored.data)
        except Exception as error:  # whatever a serializer's loads() raises
            self._undecodable(error)
            return None
        return stored

    def _undecodable(self, error: Exception) -> None:
        log.warning(
            "session data cannot be decoded with the %r serializer, starting afresh: %r",
            self.codec.name,
            error,
        )

    def hashed_id(self, session_id: str) -> str:
        """What the store keeps of ``session_id``, in hex, as
        :meth:`sessions_of` and the ``mongosession`` command show it: e.g.
        ``store.hashed_id(request.session.id)`` tells which of a user's
        sessions is the current one.

        Parameters:

        ``session_id``
          A session id, such as ``request.session.id``.  Required.
        """
        return hashed_id_text(hash_id(_checked_id(session_id)))

    def document(self, session_id: str) -> Optional[Mapping[str, Any]]:
        """The stored document of ``session_id`` as it is, keys escaped, or
        ``None``: for showing or debugging, not for the session's data.

        Parameters:

        ``session_id``
          A session id, such as ``request.session.id``.  Required.
        """
        found: Optional[Mapping[str, Any]] = self._call(
            self.collection.find_one,
            {"_id": hash_id(_checked_id(session_id))},
            action="read the session",
        )
        return found

    def insert(self, session_id: str, stored: StoredSession) -> None:
        """Store a new session under ``session_id``, checked against
        ``max_size`` first."""
        document = self._documents.document(session_id, stored)
        # Encoded once: sized here, and sent as it is.
        encoded = RawBSONDocument(bson_encoded(document))
        check_size(len(encoded.raw), self.max_size)
        self._call(
            self.collection.insert_one, encoded, action="save the session", size_of=document
        )

    def check_size(self, stored: StoredSession) -> None:
        """Raise :class:`SessionTooLargeError` if ``stored`` would make a
        document larger than ``max_size``: before an update that adds or
        changes values, which the server cannot check for us."""
        check_size(self._documents.size(stored), self.max_size)

    def update(
        self,
        key: bytes,
        changed: Mapping[str, Any],
        removed: Iterable[str],
        expires: Optional[datetime.datetime] = None,
        timeout: Optional[int] = None,
        principal: Optional[str] = UNCHANGED,
        renewed: Optional[datetime.datetime] = None,
        device: Optional[Mapping[str, str]] = UNCHANGED,
    ) -> bool:
        """Write only the given fields of the session stored under ``key``
        (its ``_id``: ``StoredSession.key``); ``False`` if it is gone."""
        fields = self._documents.fields(changed, prefix="data.")
        unset = {"data." + escape_key(key): "" for key in removed} if removed else {}
        if expires is not None:
            fields["expires"] = expires
        if renewed is not None:
            fields["renewed"] = renewed
        if timeout is not None:
            fields["timeout"] = timeout
        if principal is None:
            unset["principal"] = ""
        elif principal is not UNCHANGED:
            fields["principal"] = principal
        if device is None:
            unset["device"] = ""
        elif device is not UNCHANGED:
            fields["device"] = device
        update: Dict[str, Any] = {}
        if fields:
            update["$set"] = fields
        if unset:
            update["$unset"] = unset
        result = self._call(
            self.collection.update_one,
            {"_id": key},
            update,
            action="save the session",
            size_of=update,
        )
        return bool(result.matched_count)

    def delete(self, key: bytes) -> bool:
        """Delete the session stored under ``key`` (its ``_id``); whether
        there was one."""
        result = self._call(
            self.collection.delete_one, {"_id": key}, action="delete the session"
        )
        return bool(result.deleted_count)

    def _call(self, method: Any, *args: Any, action: str, size_of: Any = None) -> Any:
        """``call_mongodb`` with the store's time limit; then the retry of
        pending indexes."""
        result = call_mongodb(
            method, *args, action=action, size_of=size_of, time_limit=self.time_limit
        )
        if self.indexes.pending:
            self.indexes.after_success()
        return result

    def start_move(self, old_id: str, new_id: str) -> PendingMove:
        """Note that the session stored under ``old_id`` is moving to
        ``new_id``, so that ``revoke(..., except_id=new_id)`` in the same
        request keeps it.  The note lasts while the returned object is kept."""
        move = self._moves[new_id] = PendingMove(old_id)
        return move

    # -- across sessions -----------------------------------------------------

    def revoke(self, principal: str, except_id: Optional[str] = None) -> int:
        """Delete every session of ``principal``; the number deleted.

        Parameters:

        ``principal``
          A non-empty ``str``; anything else raises ``ValueError`` (``None``
          would match every anonymous session).

        ``except_id``
          The id of a session to keep, e.g. ``request.session.id`` to sign
          out everywhere else; it is kept even right after its
          ``regenerate_id()``.  Anything but a session id raises
          ``ValueError`` and deletes nothing: a hashed id, as
          :meth:`sessions_of` lists it, would keep nothing.
          Default: ``None``.
        """
        if except_id is not None and not is_session_id(except_id):
            raise ValueError(
                "except_id must be a session id, such as request.session.id "
                "(43 URL-safe characters); hashed ids, as sessions_of() and "
                "hashed_id() give them, are for revoke_one()"
            )
        keep = []
        if except_id is not None:
            keep.append(except_id)
            move = self._moves.get(except_id)
            if move is not None:
                keep.append(move.old_id)
        return self._across.revoke(principal, keep)

    def revoke_one(self, principal: str, hashed_id: str) -> bool:
        """Delete the one session of ``principal`` that :meth:`sessions_of`
        lists as ``hashed_id`` ("sign out this device"); whether it did.

        It deletes only a session of ``principal``: for the id of another
        principal's session it returns ``False``, as for a session that
        has ended, so ids a user sends can neither end nor reveal anyone
        else's sessions.

        Parameters:

        ``principal``
          A non-empty ``str``; anything else raises ``ValueError``.
          Required.

        ``hashed_id``
          A session's ``hashed_id``, as :meth:`sessions_of` lists it: 64
          hex digits, in either case; anything else raises ``ValueError``.
          Required.
        """
        return self._across.revoke_one(principal, hashed_id)

    def limit_sessions_of(self, principal: str) -> int:
        """Revoke the live sessions of ``principal`` beyond
        ``max_sessions_per_principal``, the least recently active first (by
        their last renewal, then their creation); the number revoked.  The
        write-back calls it when a request sets a session's principal, which
        renews that session.  Without a limit it does nothing.

        The copies that two requests moving one session at once insert (a
        sign-in sent twice) count as one session: the request that loses
        deletes its copy.

        Parameters:

        ``principal``
          A non-empty ``str``; anything else raises ``ValueError``.
          Required.
        """
        check_principal(principal)
        if self.max_sessions_per_principal is None:
            return 0
        return self._across.keep_most_recent(principal, self.max_sessions_per_principal)

    def sessions_of(
        self, principal: str, now: Optional[datetime.datetime] = None
    ) -> List[SessionInfo]:
        """The live sessions of ``principal``, oldest first.  A document
        whose times the store never writes (by hand, or by another
        program) is left out, as a request would not load it either.

        Parameters:

        ``principal``
          A non-empty ``str``.

        ``now``
          What counts as now, an aware datetime.  Default: the store's clock.
        """
        return self._across.sessions_of(principal, now)

    def reap(
        self,
        now: Optional[datetime.datetime] = None,
        batch_size: int = 1000,
        progress: Optional[Callable[[int], None]] = None,
    ) -> int:
        """Delete expired documents a batch at a time, so that no single
        command runs long; the number deleted.

        Parameters:

        ``now``
          Documents whose ``expires`` is not after it are deleted, and,
          when sessions expire, those without ``expires``.
          Default: the store's clock.

        ``batch_size``
          Documents found and deleted per command, at least 1.
          Default: ``1000``.

        ``progress``
          Called with the running total after each batch.  Default: ``None``.
        """
        return self._across.reap(now, batch_size, progress)

    def count_expired(self, now: Optional[datetime.datetime] = None) -> int:
        """How many documents :meth:`reap` would delete now.

        Parameters:

        ``now``
          What counts as now, an aware datetime.  Default: the store's
          clock.
        """
        return self._across.count_expired(now)

    def stats(self, now: Optional[datetime.datetime] = None) -> SessionStats:
        """Counts and total size of the stored sessions, in one pass over
        the collection (``$bsonSize``: MongoDB 4.4 or later).

        Parameters:

        ``now``
          What counts as now for telling live sessions from expired ones,
          an aware datetime.  Default: the store's clock.
        """
        return self._across.stats(now)

    # -- indexes -------------------------------------------------------------

    def ensure_indexes(self) -> None:
        """Make sure the indexes exist: ``principal`` (sparse), and on
        ``expires`` the TTL index with ``reaper = ttl``, a plain index
        otherwise.  Idempotent; the package runs it at start-up."""
        self.indexes.ensure()

    def ensure_indexes_at_startup(self, collection: Any = None) -> None:
        """:meth:`ensure_indexes`, but a database that cannot be reached only
        logs a warning, and the indexes are ensured later.  ``collection``:
        the same collection through a client used only for this."""
        self.indexes.ensure_at_startup(collection)
