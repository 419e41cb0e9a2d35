"""The operations across sessions: revoke a principal's sessions, list
them, reap expired ones in batches, count.  None runs in a request unless
the application calls it; all read from the primary."""
import dataclasses
import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .devices import device_fields
from .documents import stored_times
from .expiry import ExpiryRule
from .keys import hash_id, hashed_id_text, stored_id_from_text


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """One session of a principal, as :meth:`SessionStore.sessions_of`
    lists it: never the session id, only its hash (in hex)."""

    #: The SHA-256 digest of the session id in hex, as the store keeps it;
    #: what :meth:`SessionStore.revoke_one` takes.
    hashed_id: str
    #: When the session was created (aware UTC).
    created: datetime.datetime
    #: When it ends unless renewed (aware UTC), or ``None`` when no timeout
    #: applies.
    expires: Optional[datetime.datetime]
    #: The last renewal, when it can be told (not when the absolute
    #: timeout set ``expires``).
    renewed: Optional[datetime.datetime]
    #: The session's own timeout (``adjust_timeout``), if any.
    timeout: Optional[int]
    #: The ``User-Agent`` of the request that signed it in, when
    #: ``mongosession.record_user_agent`` was on (cut, made printable).
    user_agent: Optional[str] = None
    #: The address of the client that signed it in, when
    #: ``mongosession.record_client_address`` was on.
    client_address: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class SessionStats:
    """What :meth:`SessionStore.stats` counts."""

    #: Sessions whose stored ``expires`` has not passed (the counts go by
    #: ``expires`` alone, as an index serves them: a session that lowered
    #: timeouts have ended counts here until its ``expires`` passes).
    live: int
    #: Expired by their ``expires``, not yet removed by the TTL monitor or
    #: a reaper.
    expired: int
    #: Sessions with a principal.
    with_principal: int
    #: BSON size of all the session documents.
    total_bytes: int


def check_principal(principal: Any) -> str:
    if not isinstance(principal, str) or not principal:
        raise ValueError(f"principal must be a non-empty str, not {principal!r}")
    return principal


class AcrossSessions:
    """The operations of :class:`~pyramid_mongosession.SessionStore` on
    many sessions at once; the store documents them.

    Parameters:

    ``collection``
      The sessions collection, read from the primary.

    ``expiry``
      The store's :class:`~pyramid_mongosession.expiry.ExpiryRule`.

    ``call``
      Runs one pymongo call the way the store does (its errors, its time
      limit): ``call(method, *args, action=...)``.

    ``clock``
      Returns the current time, aware UTC.
    """

    def __init__(
        self,
        collection: Any,
        expiry: ExpiryRule,
        call: Callable[..., Any],
        clock: Callable[[], datetime.datetime],
    ):
        self.collection = collection
        self.expiry = expiry
        self._call = call
        self.clock = clock

    def _now(self, now: Optional[datetime.datetime]) -> datetime.datetime:
        """``now`` as an operation takes it: an aware datetime; ``None``
        for the clock's."""
        if now is None:
            return self.clock()
        if not isinstance(now, datetime.datetime) or now.utcoffset() is None:
            raise ValueError(
                "now must be an aware datetime, such as "
                f"datetime.now(timezone.utc), not {now!r}"
            )
        return now

    def revoke(self, principal: str, keep: Sequence[str] = ()) -> int:
        """Delete the sessions of ``principal`` but those of ids ``keep``."""
        query: Dict[str, Any] = {"principal": check_principal(principal)}
        if keep:
            query["_id"] = {"$nin": [hash_id(session_id) for session_id in keep]}
        result = self._call(
            self.collection.delete_many, query, action=f"revoke the sessions of {principal!r}"
        )
        return int(result.deleted_count)

    def revoke_one(self, principal: str, hashed_id: str) -> bool:
        """Delete the session of ``principal`` that ``sessions_of`` lists
        as ``hashed_id``; ``False`` when no session of ``principal`` has it."""
        stored_id = stored_id_from_text(hashed_id)
        result = self._call(
            self.collection.delete_one,
            {"_id": stored_id, "principal": check_principal(principal)},
            action=f"revoke a session of {principal!r}",
        )
        return bool(result.deleted_count)

    def keep_most_recent(self, principal: str, keep: int) -> int:
        """Delete the live sessions of ``principal`` but the ``keep`` most
        recently active; the number deleted.  Activity is the last renewal
        as :meth:`sessions_of` tells it, else the creation.  Every request
        that runs it on the same documents keeps the same sessions.

        A document and the one it was moved from (``regenerate_id``) are
        one session: while a move runs, the new copy is stored before the
        old document is deleted, and two requests moving one session at
        once (a sign-in sent twice) each store a copy, the loser deleting
        its own.  Counted twice, a session in a move pushes out another,
        or itself."""
        now = self.clock()
        query = {
            "principal": check_principal(principal),
            "expires": self.expiry.live_expires(now),
        }
        fields = {"moved_from": 1, "created": 1, "expires": 1, "renewed": 1, "timeout": 1}

        def find() -> List[Mapping[str, Any]]:
            return list(self.collection.find(query, fields))

        action = f"limit the sessions of {principal!r}"
        live = [
            document
            for document in self._call(find, action=action)
            if not self.expiry.has_expired(document, now)
        ]
        live.sort(key=self._activity, reverse=True)
        session_of = _one_per_session(live)
        kept: Set[str] = set()
        beyond = []
        for document in live:
            session = session_of[hashed_id_text(document["_id"])]
            if session in kept or len(kept) < keep:
                kept.add(session)
            else:
                beyond.append(document["_id"])
        if not beyond:
            return 0
        result = self._call(
            self.collection.delete_many, {"_id": {"$in": beyond}, "principal": principal},
            action=action,
        )
        return int(result.deleted_count)

    def _activity(self, document: Mapping[str, Any]) -> Tuple[Any, ...]:
        """How :meth:`keep_most_recent` ranks a document, most recent last:
        its last renewal as far as it can be told, else its creation; then
        its creation; then its ``_id``."""
        times = stored_times(document)
        if times is None:  # not as the store writes it: below every other
            return _LONG_AGO, _LONG_AGO, hashed_id_text(document["_id"])
        created, expires, renewed, timeout = times
        renewed = self.expiry.known_renewal(created, expires, renewed, timeout)
        return renewed or created, created, hashed_id_text(document["_id"])

    def sessions_of(
        self, principal: str, now: Optional[datetime.datetime] = None
    ) -> List[SessionInfo]:
        """The live sessions of ``principal``, oldest first."""
        now = self._now(now)
        query = {
            "principal": check_principal(principal),
            "expires": self.expiry.live_expires(now),
        }
        fields = {"created": 1, "expires": 1, "timeout": 1, "renewed": 1, "device": 1}

        def find() -> List[Mapping[str, Any]]:
            return list(self.collection.find(query, fields).sort("created", 1))

        found = self._call(find, action=f"list the sessions of {principal!r}")
        # Those the timeouts in force now have ended, whatever their expires,
        # and those whose fields the store never writes, are no sessions.
        return [
            self._info(document)
            for document in found
            if stored_times(document) is not None and not self.expiry.has_expired(document, now)
        ]

    def _info(self, document: Mapping[str, Any]) -> SessionInfo:
        created, expires = document["created"], document.get("expires")
        timeout = document.get("timeout")
        renewed = self.expiry.known_renewal(created, expires, document.get("renewed"), timeout)
        device = device_fields(document.get("device")) or {}
        return SessionInfo(
            hashed_id_text(document["_id"]), created, expires, renewed, timeout,
            user_agent=device.get("user_agent"), client_address=device.get("address"),
        )

    def reap(
        self,
        now: Optional[datetime.datetime] = None,
        batch_size: int = 1000,
        progress: Optional[Callable[[int], None]] = None,
    ) -> int:
        """Delete expired documents a batch at a time; the number deleted."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number above 0, not {batch_size!r}")
        deleted = 0
        for expired in self.expiry.expired_filters(self._now(now)):
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
            for expired in self.expiry.expired_filters(self._now(now))
        )

    def stats(self, now: Optional[datetime.datetime] = None) -> SessionStats:
        """Counts and total size of the stored sessions, in one pass over
        the collection (``$bsonSize``: MongoDB 4.4 or later)."""
        expired = self.expiry.expired_expression(self._now(now))
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


_LONG_AGO = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def _one_per_session(documents: Sequence[Mapping[str, Any]]) -> Dict[str, str]:
    """For each document, by its ``_id`` in text, the ``_id`` that stands
    for its session: linked by ``moved_from``, a document and the one it
    was moved from are one session, copies moved from one ``_id`` too."""
    parent: Dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for document in documents:
        moved_from = document.get("moved_from")
        if isinstance(moved_from, bytes):
            parent[root(hashed_id_text(document["_id"]))] = root(hashed_id_text(moved_from))
    return {
        hashed_id_text(document["_id"]): root(hashed_id_text(document["_id"]))
        for document in documents
    }
