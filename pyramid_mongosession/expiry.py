"""When a stored session is over, in each form the store needs it: a check
of a loaded document, query filters, and an aggregation expression.

A session is over when its ``expires`` has passed.  A document without one
is over too when the store's sessions expire (a ``timeout`` or an
``absolute_timeout`` is set), e.g. one written before a timeout was
configured; otherwise it lives until it is deleted."""
import datetime
from typing import Any, Dict, List, Mapping


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class ExpiryRule:
    def __init__(self, sessions_expire: bool):
        self.sessions_expire = sessions_expire

    def has_expired(self, document: Mapping[str, Any], now: datetime.datetime) -> bool:
        expires = document.get("expires")
        if expires is None:
            return self.sessions_expire
        return isinstance(expires, datetime.datetime) and expires <= now

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
