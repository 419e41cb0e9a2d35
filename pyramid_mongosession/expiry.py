"""When a stored session is over, in each form the store needs it: a check
of a loaded document, query filters, and an aggregation expression.

A session is over when its ``expires`` has passed, and also when the
timeouts in force now say so, whatever they were when it was stored: its
last renewal (``renewed``) plus its idle timeout, or its creation plus the
absolute timeout.  A document without ``expires`` is over too when the
store's sessions expire (a ``timeout`` or an ``absolute_timeout`` is set),
e.g. one written before a timeout was configured; otherwise it lives until
it is deleted.

The queries (reaping, counting) go by ``expires`` alone, so that an index
serves them: a session a lowered timeout ended is over at its next load,
and removed once its stored ``expires`` passes."""
import datetime
from typing import Any, Dict, List, Mapping, Optional


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _seconds(seconds: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


class ExpiryRule:
    """Parameters: ``timeout`` and ``absolute_timeout``, in seconds or
    ``None``, as configured now."""

    def __init__(self, timeout: Optional[int], absolute_timeout: Optional[int]):
        self.timeout = timeout
        self.absolute_timeout = absolute_timeout
        self.sessions_expire = timeout is not None or absolute_timeout is not None

    def ends(
        self,
        created: datetime.datetime,
        expires: datetime.datetime,
        renewed: Optional[datetime.datetime],
        own_timeout: Optional[int],
        now: datetime.datetime,
    ) -> datetime.datetime:
        """When a stored session ends under the timeouts in force now.
        Without ``renewed`` (a document of an earlier version) its last use
        is unknown: it gets at most one idle timeout from ``now``."""
        ends = [expires]
        timeout = own_timeout or self.timeout
        if timeout is not None:
            if renewed is None:
                renewed = min(expires - _seconds(timeout), now)
            ends.append(renewed + _seconds(timeout))
        if self.absolute_timeout is not None:
            ends.append(created + _seconds(self.absolute_timeout))
        return min(ends)

    def has_expired(self, document: Mapping[str, Any], now: datetime.datetime) -> bool:
        """Whether a stored document is over; a document whose fields are
        not what the store writes is left for the decoder to refuse."""
        expires = document.get("expires")
        if expires is None:
            return self.sessions_expire
        if not isinstance(expires, datetime.datetime):
            return False
        created, renewed = document.get("created"), document.get("renewed")
        own_timeout = document.get("timeout")
        if not isinstance(created, datetime.datetime) or not isinstance(
            renewed, (datetime.datetime, type(None))
        ):
            return expires <= now
        if not isinstance(own_timeout, int) or isinstance(own_timeout, bool):
            own_timeout = None
        return self.ends(created, expires, renewed, own_timeout, now) <= now

    def expired_filters(self, now: datetime.datetime) -> List[Dict[str, Any]]:
        """Filters that together select the expired documents, each one
        served by an index on ``expires`` (an ``$or`` is not, on every
        server)."""
        passed: List[Dict[str, Any]] = [{"expires": {"$lte": now}}]
        if not self.sessions_expire:
            return passed
        return passed + [{"expires": None}]  # None: missing or null

    def live_expires(self, now: datetime.datetime) -> Dict[str, Any]:
        """The condition on ``expires`` of a live session."""
        return {"$gt": now} if self.sessions_expire else {"$not": {"$lte": now}}

    def expired_expression(self, now: datetime.datetime) -> Dict[str, Any]:
        """``expired_filters`` as one aggregation expression."""
        passed = {
            "$and": [{"$eq": [{"$type": "$expires"}, "date"]}, {"$lte": ["$expires", now]}]
        }
        if not self.sessions_expire:
            return passed
        return {"$or": [passed, {"$in": [{"$type": "$expires"}, ["missing", "null"]]}]}
