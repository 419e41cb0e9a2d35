"""Which MongoDB commands each request sent, as pymongo's command monitoring
reports them: the "your session" page shows a visitor their last requests."""
import collections
import contextlib
import contextvars
import threading
from typing import Any, Deque, Iterator, List, NamedTuple, Optional, Tuple

from bson import json_util
from pymongo import monitoring

SHOWN_COMMANDS = frozenset(("find", "insert", "update", "delete"))


class Command(NamedTuple):
    name: str
    detail: str


class Request(NamedTuple):
    label: str
    commands: List[Command]


#: A command as monitoring reported it, described only when shown.
Sent = Tuple[str, Any]


def _described(sent: List[Sent]) -> List[Command]:
    return [describe(name, command) for name, command in sent]


def describe(command_name: str, command: Any) -> Command:
    """The part of a command that shows what it does, as short JSON."""
    if command_name == "find":
        shown = _short_id(command.get("filter", {}))
    elif command_name == "insert":
        shown = _short_id(command["documents"][0])
    elif command_name == "update":
        update = command["updates"][0]
        shown = {"q": _short_id(update["q"]), "u": update["u"]}
    else:
        shown = _short_id(command["deletes"][0]["q"])
    text = json_util.dumps(
        shown, json_options=json_util.RELAXED_JSON_OPTIONS, ensure_ascii=False
    )
    return Command(command_name, text)


def _short_id(document: Any) -> Any:
    """Hashed session ids as 8 hex digits, enough to tell them apart, also
    inside operators such as ``{"$nin": [...]}``."""
    if "_id" not in document:
        return document
    return dict(document, _id=_shortened(document["_id"]))


def _shortened(value: Any) -> Any:
    if isinstance(value, dict):
        return {operator: _shortened(operand) for operator, operand in value.items()}
    if isinstance(value, list):
        return [_shortened(item) for item in value]
    return bytes(value).hex()[:8] + "…"  # a hashed session id


class CommandRecorder(monitoring.CommandListener):
    """Keeps the commands of each visitor's last few requests, in memory.

    Only commands sent while :meth:`recording` is active in the same thread
    are kept, so background work (the TTL index, a reaper) is left out."""

    def __init__(self, requests_kept: int = 6, visitors_kept: int = 1000):
        self._requests_kept = requests_kept
        self._visitors_kept = visitors_kept
        self._current: contextvars.ContextVar[Optional[List[Sent]]] = (
            contextvars.ContextVar("commands", default=None)
        )
        self._visitors: "collections.OrderedDict[str, Deque[Tuple[str, List[Sent]]]]" = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def recording(self, visitor: str, label: str) -> Iterator[None]:
        sent: List[Sent] = []
        token = self._current.set(sent)
        try:
            yield
        finally:
            self._current.reset(token)
            self._keep(visitor, (label, sent))

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out the commands the demo sends to show the stored session."""
        token = self._current.set(None)
        try:
            yield
        finally:
            self._current.reset(token)

    def current(self) -> List[Command]:
        """The commands of the request running in this thread, so far."""
        return _described(self._current.get() or [])

    def recent(self, visitor: str) -> List[Request]:
        """The visitor's last requests, newest first."""
        with self._lock:
            kept = list(reversed(self._visitors.get(visitor, ())))
        return [Request(label, _described(sent)) for label, sent in kept]

    def _keep(self, visitor: str, request: Tuple[str, List[Sent]]) -> None:
        with self._lock:
            requests = self._visitors.pop(visitor, None)
            if requests is None:
                requests = collections.deque(maxlen=self._requests_kept)
            requests.append(request)
            self._visitors[visitor] = requests
            while len(self._visitors) > self._visitors_kept:
                self._visitors.popitem(last=False)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        sent = self._current.get()
        if sent is not None and event.command_name in SHOWN_COMMANDS:
            sent.append((event.command_name, event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
