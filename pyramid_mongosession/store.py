"""One collection of session documents: a session's find/insert/update/
delete, with the operations across sessions from :mod:`.operations`."""
import dataclasses
import datetime
import logging
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import bson
from bson.codec_options import CodecOptions
from bson.errors import BSONError, InvalidDocument
from pymongo.read_preferences import Primary, make_read_preference, read_pref_mode_from_name

from .errors import MAX_DOCUMENT_BYTES, SessionStoreError, SessionTooLargeError, call_mongodb
from .expiry import ExpiryRule, utc_now
from .indexes import Indexes
from .keys import escape_key, hash_id, hashed_id_text, unescape_key
from .operations import AcrossSessions

log = logging.getLogger(__name__)

__all__ = [
    "SessionStore",
    "SessionStoreError",
    "SessionTooLargeError",
]

#: ``principal=UNCHANGED`` in :meth:`SessionStore.update`: leave it as it is.
UNCHANGED: Any = object()


@dataclasses.dataclass
class StoredSession:
    data: Dict[str, Any]
    created: datetime.datetime
    expires: Optional[datetime.datetime]
    timeout: Optional[int]
    principal: Optional[str] = None
    #: The last renewal; ``None`` in documents of earlier versions.
    renewed: Optional[datetime.datetime] = None


class SessionStore(AcrossSessions):
    """Reads and writes session documents in one collection.

    Parameters:

    ``collection``
      A :class:`pymongo.collection.Collection`.

    ``codec``
      How values are encoded (see :mod:`pyramid_mongosession.serializers`).

    ``expiry``
      The :class:`~pyramid_mongosession.expiry.ExpiryRule` that says when
      stored sessions end.  Default: ``ExpiryRule()`` (a 1200 s idle
      timeout).

    ``ttl_index``
      :meth:`ensure_indexes` also ensures the TTL index on ``expires``.
      Default: ``True``.

    ``ensure_indexes_later``
      Ensure the indexes in the background after the first successful
      command, unless :meth:`ensure_indexes_at_startup` did.
      Default: ``False``.

    ``read_preference``
      The read preference mode of a request's read of its session, whatever
      the collection's: a request must read what the previous one wrote.
      Everything else reads from the primary.  Default: ``"primary"``.

    ``clock``
      Returns the current time, aware UTC; what ``reap``, ``stats`` and
      ``sessions_of`` take as now.  Default: the system clock.

    ``time_limit``
      Seconds each MongoDB call may take, server selection included
      (``pymongo.timeout``), or ``None`` for the client's own limits.
      Default: ``None``.

    ``max_size``
      The largest session document it writes, in BSON bytes; a write that
      would make one larger raises :class:`SessionTooLargeError` and
      changes nothing.  Default: MongoDB's 16 MB.
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
    ):
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
        self.clock = clock
        #: When stored sessions end: the timeouts in force now.
        self.expiry = expiry or ExpiryRule()
        self.time_limit = time_limit
        self.max_size = max_size
        self.indexes = Indexes(
            self.collection, ttl=ttl_index, pending=ensure_indexes_later, time_limit=time_limit
        )
        self._init_moves()

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
        if document is None or self.expiry.has_expired(document, now):
            return None
        try:
            return self._decode(document)
        except Exception as error:  # whatever a serializer's loads() raises
            log.warning(
                "session data cannot be decoded with the %r serializer, "
                "starting afresh: %r",
                self.codec.name,
                error,
            )
            return None

    def _decode(self, document: Mapping[str, Any]) -> StoredSession:
        created, expires = document["created"], document.get("expires")
        timeout, principal = document.get("timeout"), document.get("principal")
        renewed = document.get("renewed")
        if not isinstance(created, datetime.datetime) or not all(
            isinstance(value, (datetime.datetime, type(None))) for value in (expires, renewed)
        ):
            raise ValueError("created, expires or renewed is not a date")
        if not isinstance(timeout, (int, type(None))) or isinstance(timeout, bool):
            raise ValueError("timeout is not a whole number")
        if not isinstance(principal, (str, type(None))):
            raise ValueError("principal is not a string")
        decode = self.codec.decode
        data = {
            unescape_key(field): decode(value)
            for field, value in document["data"].items()
        }
        return StoredSession(data, created, expires, timeout, principal, renewed)

    def hashed_id(self, session_id: str) -> str:
        """What the store keeps of ``session_id``, as ``sessions_of`` and
        the ``mongosession`` command show it (hex)."""
        return hashed_id_text(hash_id(session_id))

    def document(self, session_id: str) -> Optional[Mapping[str, Any]]:
        """The stored document of ``session_id`` as it is, keys escaped, or
        ``None``: for showing or debugging, not for the session's data."""
        found: Optional[Mapping[str, Any]] = self._call(
            self.collection.find_one, {"_id": hash_id(session_id)}, action="read the session"
        )
        return found

    def insert(self, session_id: str, stored: StoredSession) -> None:
        document = self._document(session_id, stored)
        self._check_size(document)
        self._call(
            self.collection.insert_one, document, action="save the session", size_of=document
        )

    def check_size(self, session_id: str, stored: StoredSession) -> None:
        """Raise :class:`SessionTooLargeError` if ``stored`` would make a
        document larger than ``max_size``: before an update that adds or
        changes values, which the server cannot check for us."""
        self._check_size(self._document(session_id, stored))

    def _document(self, session_id: str, stored: StoredSession) -> Dict[str, Any]:
        document: Dict[str, Any] = {
            "_id": hash_id(session_id),
            "data": self._encode_fields(stored.data, prefix=""),
            "created": stored.created,
        }
        for field in ("expires", "timeout", "principal", "renewed"):
            if getattr(stored, field) is not None:
                document[field] = getattr(stored, field)
        return document

    def _check_size(self, document: Mapping[str, Any]) -> None:
        try:
            size = len(bson.encode(document))
        except InvalidDocument as error:
            raise TypeError(f"a session value cannot be stored: {error}") from error
        if size > self.max_size:
            raise SessionTooLargeError(
                f"the session is too large to store: it would be {size:,} bytes, "
                f"and at most {self.max_size:,} are allowed (mongosession.max_size)"
            )

    def update(
        self,
        session_id: str,
        changed: Mapping[str, Any],
        removed: Iterable[str],
        expires: Optional[datetime.datetime] = None,
        timeout: Optional[int] = None,
        principal: Optional[str] = UNCHANGED,
        renewed: Optional[datetime.datetime] = None,
    ) -> bool:
        """Write only the given fields; ``False`` if the session is gone."""
        fields = self._encode_fields(changed, prefix="data.")
        unset = {"data." + escape_key(key): "" for key in removed}
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
        update: Dict[str, Any] = {}
        if fields:
            update["$set"] = fields
        if unset:
            update["$unset"] = unset
        result = self._call(
            self.collection.update_one,
            {"_id": hash_id(session_id)},
            update,
            action="save the session",
            size_of=update,
        )
        return bool(result.matched_count)

    def delete(self, session_id: str) -> bool:
        result = self._call(
            self.collection.delete_one, {"_id": hash_id(session_id)}, action="delete the session"
        )
        return bool(result.deleted_count)

    def _encode_fields(self, values: Mapping[str, Any], prefix: str) -> Dict[str, Any]:
        encode = self.codec.encode
        return {prefix + escape_key(key): encode(value) for key, value in values.items()}

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        result = call_mongodb(method, *args, time_limit=self.time_limit, **kwargs)
        self.indexes.after_success()
        return result

    # -- indexes -------------------------------------------------------------

    def ensure_indexes(self) -> None:
        """Make sure the indexes exist: ``principal`` (sparse) and, unless
        the reaper is not ``ttl``, the TTL index on ``expires``."""
        self.indexes.ensure()

    def ensure_indexes_at_startup(self, collection: Any = None) -> None:
        """:meth:`ensure_indexes`, but a database that cannot be reached only
        logs a warning, and the indexes are ensured later.  ``collection``:
        the same collection through a client used only for this."""
        self.indexes.ensure_at_startup(collection)
