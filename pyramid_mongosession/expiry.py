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
import functools
from typing import Any, Callable, Dict, List, Mapping, Optional

#: The system clock, aware UTC.
utc_now: Callable[[], datetime.datetime] = functools.partial(
    datetime.datetime.now, datetime.timezone.utc
)


class StoredTime:
    """A clock that tells the time as MongoDB stores it: to the millisecond.

    Parameters: ``clock``, a callable returning an aware UTC ``datetime``.
    Default: the system clock."""

    def __init__(self, clock: Callable[[], datetime.datetime] = utc_now):
        self._clock = clock

    def __call__(self) -> datetime.datetime:
        now = self._clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _seconds(seconds: Optional[int]) -> Optional[datetime.timedelta]:
    return None if seconds is None else datetime.timedelta(seconds=seconds)


def renewal_interval(timeout: Optional[int], reissue_time: Optional[int]) -> int:
    """Seconds between two renewals of a session with the idle ``timeout``:
    ``reissue_time`` if it is shorter, else a tenth of the timeout."""
    if timeout is None:
        return 0
    if reissue_time is not None and reissue_time < timeout:
        return reissue_time
    return timeout // 10


class ExpiryRule:
    """When sessions end, and when a renewal is due.

    Parameters:

    ``timeout``
      The idle timeout in seconds, or ``None``.  Default: ``1200``.

    ``absolute_timeout``
      Seconds from creation, or ``None``.  Default: ``None``.

    ``reissue_time``
      Seconds between renewals, or ``None`` for a tenth of the timeout.
      Default: ``None``.

    A rule is fixed once made (it works its intervals out then): other
    timeouts are another rule.
    """

    def __init__(
        self,
        timeout: Optional[int] = 1200,
        absolute_timeout: Optional[int] = None,
        reissue_time: Optional[int] = None,
    ):
        self.timeout = timeout
        self.absolute_timeout = absolute_timeout
        self.reissue_time = reissue_time
        self.sessions_expire = timeout is not None or absolute_timeout is not None
        # Worked out once: every request asks.
        self._timeout = _seconds(timeout)
        self._absolute_timeout = _seconds(absolute_timeout)
        self._interval = renewal_interval(timeout, reissue_time)

    def ends_if_renewed(
        self, now: datetime.datetime, created: datetime.datetime, own_timeout: Optional[int]
    ) -> Optional[datetime.datetime]:
        """When a session ends if it is renewed ``now``; ``None``: never."""
        timeout = _seconds(own_timeout) if own_timeout else self._timeout
        ends = None if timeout is None else now + timeout
        if self._absolute_timeout is not None:
            at_the_latest = created + self._absolute_timeout
            if ends is None or at_the_latest < ends:
                return at_the_latest
        return ends

    def renewal(
        self,
        now: datetime.datetime,
        created: datetime.datetime,
        own_timeout: Optional[int],
        expires: Optional[datetime.datetime],
    ) -> Optional[datetime.datetime]:
        """The new ``expires`` if renewing ``now`` is due (it moves the end
        forward by at least the renewal interval), else ``None``."""
        renewed = self.ends_if_renewed(now, created, own_timeout)
        if renewed is None or expires is None:
            return renewed
        gain = (renewed - expires).total_seconds()
        interval = (
            renewal_interval(own_timeout, self.reissue_time) if own_timeout else self._interval
        )
        return renewed if gain > 0 and gain >= interval else None

    def ends(
        self,
        created: datetime.datetime,
        expires: datetime.datetime,
        renewed: Optional[datetime.datetime],
        own_timeout: Optional[int],
        now: datetime.datetime,
    ) -> datetime.datetime:
        """When a stored session ends under the timeouts in force now."""
        ends = expires
        timeout = _seconds(own_timeout) if own_timeout else self._timeout
        if timeout is not None:
            if renewed is None:
                renewed = self.last_renewal(expires, own_timeout, now)
            ends = min(ends, renewed + timeout)
        if self._absolute_timeout is not None:
            ends = min(ends, created + self._absolute_timeout)
        return ends

    def last_renewal(
        self, expires: datetime.datetime, own_timeout: Optional[int], now: datetime.datetime
    ) -> datetime.datetime:
        """The last renewal of a document of an earlier version, which
        stores none: unknown, it is taken as ``expires`` less the timeout,
        at most ``now``, so the session gets at most one timeout from now."""
        timeout = own_timeout or self.timeout
        return min(expires - datetime.timedelta(seconds=timeout or 0), now)

    def known_renewal(
        self,
        created: datetime.datetime,
        expires: Optional[datetime.datetime],
        renewed: Optional[datetime.datetime],
        own_timeout: Optional[int],
    ) -> Optional[datetime.datetime]:
        """A stored session's last renewal as far as it can be told: a
        document of an earlier version stores none, and it is worked back
        from ``expires``, unless the absolute timeout set that."""
        timeout = own_timeout or self.timeout
        if renewed is not None or expires is None or timeout is None:
            return renewed
        if self._absolute_timeout is not None and expires == created + self._absolute_timeout:
            return None
        return expires - datetime.timedelta(seconds=timeout)

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


class Lifetime:
    """One session's time: created, its own idle timeout, when it ends and
    when it was last renewed; and whether this request renewed it or
    changed its timeout (what the write-back then stores).

    Parameters: the ``rule`` in force, and the stored ``created``,
    ``expires``, ``renewed`` and ``own_timeout``.  Build it with
    :meth:`starting` or :meth:`of_stored`."""

    def __init__(
        self,
        rule: ExpiryRule,
        created: datetime.datetime,
        expires: Optional[datetime.datetime],
        renewed_at: Optional[datetime.datetime],
        own_timeout: Optional[int] = None,
    ):
        self.rule = rule
        self.created = created
        self.expires = expires
        self.renewed_at = renewed_at
        self.own_timeout = own_timeout
        #: Renewed in this request: ``expires`` and the renewal are stored.
        self.renewed = False
        self.timeout_changed = False

    @classmethod
    def starting(cls, rule: ExpiryRule, now: datetime.datetime) -> "Lifetime":
        """A new session's, created ``now``."""
        return cls(rule, now, rule.ends_if_renewed(now, now, None), now)

    @classmethod
    def of_stored(cls, rule: ExpiryRule, stored: Any, now: datetime.datetime) -> "Lifetime":
        """A stored session's (a ``StoredSession`` as ``SessionStore.load``
        gives it), loaded ``now``: ended when the timeouts in force now say
        (``stored.ends``), though it was stored under others, and renewed if
        that is due."""
        created, expires, renewed_at = stored.created, stored.expires, stored.renewed
        own_timeout = stored.timeout
        life = cls(rule, created, expires, renewed_at, own_timeout)
        if expires is not None:
            life.expires = stored.ends
            if renewed_at is None and life.timeout is not None:
                # A document of an earlier version: its last renewal is
                # stored, and its expires brought in if the rule ends it sooner.
                life.renewed_at = rule.last_renewal(expires, own_timeout, now)
                life.renewed = life.expires < expires
        renewal = rule.renewal(now, created, own_timeout, life.expires)
        if renewal is not None:
            life.expires, life.renewed_at, life.renewed = renewal, now, True
        return life

    @property
    def timeout(self) -> Optional[int]:
        """The idle timeout: the session's own, else the rule's."""
        return self.own_timeout or self.rule.timeout

    @property
    def last_renewal(self) -> Optional[datetime.datetime]:
        """The renewal to store.  Without an idle timeout a session is not
        renewed, and only one this request made is stored: a sign-in under
        the limit per principal, which ranks sessions by it."""
        return self.renewed_at if self.timeout is not None or self.renewed else None

    def restart(self, now: datetime.datetime) -> None:
        """Renewed ``now`` by a new id: the session moves, stored whole."""
        self.renewed_at = now
        self.expires = self.rule.ends_if_renewed(now, self.created, self.own_timeout)

    def renew(self, now: datetime.datetime) -> None:
        """Renewed ``now``, whether or not renewal was due."""
        self.restart(now)
        self.renewed = True

    def change_timeout(self, seconds: int, now: datetime.datetime) -> None:
        """Give the session its own idle timeout, counted from ``now``."""
        self.own_timeout = seconds
        self.timeout_changed = True
        self.renew(now)
