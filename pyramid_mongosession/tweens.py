"""Tweens: the session write-back inside the tween chain, and the reaper."""
import logging
import threading
import time
from typing import Any, Callable

from .errors import SessionStoreError
from .factory import registered_factory
from .session import TWEEN_WRITES_BACK, MongoSession

log = logging.getLogger(__name__)


def write_back_tween_factory(handler: Callable[[Any], Any], registry: Any) -> Any:
    """Write the session before the response leaves the tween chain, so that
    a :class:`SessionStoreError` reaches the application's exception views
    instead of surfacing after a success response was made."""
    if registered_factory(registry) is None:
        return handler

    def write_back_tween(request: Any) -> Any:
        attributes = request.__dict__
        outer = attributes.get(TWEEN_WRITES_BACK, False)
        attributes[TWEEN_WRITES_BACK] = True
        try:
            response = handler(request)
        except BaseException:
            session = attributes.get("session")
            if isinstance(session, MongoSession):
                # Something above may still answer it (pyramid_debugtoolbar's
                # error page): then a response callback writes back.
                session._write_back_at_response()
            raise
        finally:
            attributes[TWEEN_WRITES_BACK] = outer
        session = attributes.get("session")
        if isinstance(session, MongoSession):
            try:
                session._write_back(request, response)
            except SessionStoreError:
                return request.invoke_exception_view(reraise=True)
        return response

    return write_back_tween


class Reaper:
    """Deletes expired sessions at most once per ``interval`` seconds, in a
    background thread so no request waits for it."""

    def __init__(self, store: Any, interval: float):
        self.store = store
        self.interval = interval
        self._lock = threading.Lock()
        self._last_start = float("-inf")
        self._running = False

    def maybe_start(self) -> None:
        """Start a reap if one is due and none is running."""
        with self._lock:
            if self._running or time.monotonic() - self._last_start < self.interval:
                return
            self._last_start = time.monotonic()
            self._running = True
        threading.Thread(target=self.reap, name="mongosession-reaper", daemon=True).start()

    def reap(self) -> None:
        try:
            deleted = self.store.reap()
        except Exception:
            log.exception("reaping expired sessions failed")
        else:
            log.debug("reaped %d expired sessions", deleted)
        finally:
            with self._lock:
                self._running = False


def reaper_tween_factory(handler: Callable[[Any], Any], registry: Any) -> Any:
    """With ``mongosession.reaper = tween``, start a reap when one is due."""
    factory = registered_factory(registry)
    if factory is None or factory.options.reaper != "tween":
        return handler
    reaper = Reaper(factory.store, factory.options.reap_interval)
    registry.mongosession_reaper = reaper

    def reaper_tween(request: Any) -> Any:
        reaper.maybe_start()
        return handler(request)

    return reaper_tween
