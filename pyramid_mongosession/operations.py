"""The operations across sessions: revoke a principal's sessions, list
them, reap expired ones in batches, count.  None runs in a request unless
the application calls it; all read from the primary."""
import dataclasses
import datetime
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional

from .expiry import ExpiryRule
from .keys import hash_id, hashed_id_text


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """One session of a principal, as :meth:`AcrossSessions.sessions_of`
    lists it: never the session id, only its hash (in hex)."""

    hashed_id: str
    created: datetime.datetime
    expires: Optional[datetime.datetime]
    #: The last renewal, when it can be told (not when the absolute
    #: timeout set ``expires``).
    renewed: Optional[datetime.datetime]
    #: The session's own timeout (``adjust_timeout``), if any.
    timeout: Optional[int]


@dataclasses.dataclass(frozen=True)
class SessionStats:
    """What :meth:`AcrossSessions.stats` counts."""

    live: int
    #: Expired, not yet removed by the TTL monitor or a reaper.
    expired: int
    #: Sessions with a principal.
    with_principal: int
    #: BSON size of all the session documents.
    total_bytes: int


class PendingMove:
    """A session moving to a new id (``regenerate_id``) in a running
    request: its document is still under ``old_id``."""

    def __init__(self, old_id: str):
        self.old_id = old_id


def _check_principal(principal: Any) -> str:
    if not isinstance(principal, str) or not principal:
        raise ValueError(f"principal must be a non-empty str, not {principal!r}")
    return principal


class AcrossSessions:
    """The part of :class:`~pyramid_mongosession.SessionStore` that works on
    many sessions at once."""

    collection: Any
    clock: Callable[[], datetime.datetime]
    _call: Callable[..., Any]
    expiry: ExpiryRule

    def _init_moves(self) -> None:
        self._moves: "weakref.WeakValueDictionary[str, PendingMove]" = (
            weakref.WeakValueDictionary()
        )

    def start_move(self, old_id: str, new_id: str) -> PendingMove:
        """Note that the session stored under ``old_id`` is moving to
        ``new_id``, so that ``revoke(..., except_id=new_id)`` in the same
        request keeps it.  The note lasts while the returned object is kept."""
        move = self._moves[new_id] = PendingMove(old_id)
        return move

    def revoke(self, principal: str, except_id: Optional[str] = None) -> int:
        """Delete every session of ``principal``; the number deleted.

        Parameters:

        ``principal``
          A non-empty ``str``; anything else raises ``ValueError`` (``None``
          would match every anonymous session).

        ``except_id``
          The id of a session to keep, e.g. ``request.session.id`` to sign
          out everywhere else; it is kept even right after its
          ``regenerate_id()``.  Default: ``None``.
        """
        query: Dict[str, Any] = {"principal": _check_principal(principal)}
        if except_id is not None:
            kept = [except_id]
            move = self._moves.get(except_id)
            if move is not None:
                kept.append(move.old_id)
            query["_id"] = {"$nin": [hash_id(session_id) for session_id in kept]}
        result = self._call(
            self.collection.delete_many, query, action=f"revoke the sessions of {principal!r}"
        )
        return int(result.deleted_count)

    def sessions_of(
        self, principal: str, now: Optional[datetime.datetime] = None
    ) -> List[SessionInfo]:
        """The live sessions of ``principal``, oldest first.

        Parameters:

        ``principal``
          A non-empty ``str``.

        ``now``
          What counts as now, an aware datetime.  Default: the store's clock.
        """
        now = now or self.clock()
        query = {
            "principal": _check_principal(principal),
            "expires": self.expiry.live_expires(now),
        }
        fields = {"created": 1, "expires": 1, "timeout": 1, "renewed": 1}

        def find() -> List[Mapping[str, Any]]:
            return list(self.collection.find(query, fields).sort("created", 1))

        found = self._call(find, action=f"list the sessions of {principal!r}")
        # Those the timeouts in force now have ended, whatever their expires.
        return [
            self._info(document)
            for document in found
            if not self.expiry.has_expired(document, now)
        ]

    def _info(self, document: Mapping[str, Any]) -> SessionInfo:
        created, expires = document["created"], document.get("expires")
        renewed = document.get("renewed")
        timeout = document.get("timeout") or self.expiry.timeout
        if renewed is None and expires is not None and timeout is not None:
            # Written by an earlier version: worked back from expires.
            renewed = expires - datetime.timedelta(seconds=timeout)
            absolute_timeout = self.expiry.absolute_timeout
            if absolute_timeout is not None and expires == created + datetime.timedelta(
                seconds=absolute_timeout
            ):
                renewed = None
        return SessionInfo(
            hashed_id_text(document["_id"]), created, expires, renewed, document.get("timeout")
        )

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
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number above 0, not {batch_size!r}")
        deleted = 0
        for expired in self.expiry.expired_filters(now or self.clock()):
            deleted = self._reap_batches(expired, batch_size, deleted, progress)
        return deleted

    def _reap_batches(
        self,
        expired: Mapping[str, Any],
        batch_size: int,
        deleted: int,
        progress: Optional[Callable[[int], None]],
    ) -> int:
        while True:
            ids = self._call(self._expired_ids, expired, batch_size, action="find expired sessions")
            if not ids:
                return deleted
            # Re-checked: a session renewed since the find is kept.
            query = dict(expired, _id={"$in": ids})
            result = self._call(
                self.collection.delete_many, query, action="delete expired sessions"
            )
            deleted += int(result.deleted_count)
            if progress is not None:
                progress(deleted)
            if len(ids) < batch_size or not result.deleted_count:
                return deleted

    def _expired_ids(self, expired: Mapping[str, Any], batch_size: int) -> List[Any]:
        cursor = self.collection.find(expired, {"_id": 1}, limit=batch_size)
        return [document["_id"] for document in cursor]

    def count_expired(self, now: Optional[datetime.datetime] = None) -> int:
        """How many documents :meth:`reap` would delete now."""
        return sum(
            int(self._call(
                self.collection.count_documents, expired, action="count expired sessions"
            ))
            for expired in self.expiry.expired_filters(now or self.clock())
        )

    def stats(self, now: Optional[datetime.datetime] = None) -> SessionStats:
        """Counts and total size of the stored sessions, in one pass over
        the collection (``$bsonSize``: MongoDB 4.4 or later)."""
        expired = self.expiry.expired_expression(now or self.clock())
        has_principal = {"$eq": [{"$type": "$principal"}, "string"]}
        pipeline = [
            {
                "$group": {
                    "_id": None,
                    "total": {"$sum": 1},
                    "expired": {"$sum": {"$cond": [expired, 1, 0]}},
                    "with_principal": {"$sum": {"$cond": [has_principal, 1, 0]}},
                    "bytes": {"$sum": {"$bsonSize": "$$ROOT"}},
                }
            }
        ]

        def aggregate() -> List[Mapping[str, Any]]:
            return list(self.collection.aggregate(pipeline))

        found = self._call(aggregate, action="count the sessions")
        if not found:
            return SessionStats(live=0, expired=0, with_principal=0, total_bytes=0)
        totals = found[0]
        return SessionStats(
            live=totals["total"] - totals["expired"],
            expired=totals["expired"],
            with_principal=totals["with_principal"],
            total_bytes=totals["bytes"],
        )
