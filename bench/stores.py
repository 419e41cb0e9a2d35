"""The session stores the benchmark compares, each on a database server of
its own, freshly started: SecantusDB (the MongoDB-wire server the tests
use) or Debian's redis-server, on free ports, stopped by their own pid."""
import contextlib
import os
import re
import socket
import subprocess
import tempfile
import time

import pymongo
from pymongo import monitoring

from .servers import Secantus, stop

SECRET = "benchmark secret, long enough to sign cookies"


_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _pin(pid, cpus):
    """Every thread of process ``pid`` on ``cpus``."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(thread), cpus)
        except ProcessLookupError:  # a thread that has ended since
            pass


@contextlib.contextmanager
def on_first_cpu(apart=True):
    """While the block runs, this process (every thread of it) on the first
    CPU, the database servers :func:`start_server` starts on the others, so
    that neither takes the other's time slices and caches; then back on the
    CPUs it had.  Nothing on one CPU, or unless ``apart``."""
    if not apart or len(_CPUS) < 2:
        yield
        return
    before = os.sched_getaffinity(0)
    _pin(os.getpid(), _CPUS[:1])
    try:
        yield
    finally:
        _pin(os.getpid(), before)


def start_server(server_class, retry_writes=False, apart=True):
    """A fresh server of ``server_class`` (``None``: none), on the CPUs other
    than the first when ``apart`` (see :func:`on_first_cpu`); stopped again
    if that fails."""
    if server_class is None:
        return None
    server = (MongoServer(retry_writes=retry_writes) if server_class is MongoServer
              else server_class())
    if apart and len(_CPUS) >= 2:
        try:
            _pin(server.pid, _CPUS[1:])
        except BaseException:
            server.stop()
            raise
    return server


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_kb(pid="self"):
    """Resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class MongoTraffic(monitoring.CommandListener):
    """Commands and bytes sent, per command name, for the clients it watches."""

    def __init__(self):
        self.counts = {}
        self.bytes = 0

    def reset(self):
        self.counts, self.bytes = {}, 0

    def started(self, event):
        if event.command_name in ("hello", "ismaster", "endSessions", "ping"):
            return
        self.counts[event.command_name] = self.counts.get(event.command_name, 0) + 1
        import bson

        self.bytes += len(bson.encode(event.command))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class MongoServer:
    """A fresh SecantusDB server, with a client whose commands are counted.

    Its clients make no retryable writes unless ``retry_writes``: SecantusDB
    keeps a record of every retryable write for 30 minutes and scans them
    all on each write, so its writes slow down as they pile up (mongod keeps
    one record per session).  Off, every store gets the same flat cost."""

    def __init__(self, retry_writes=False):
        self.retry_writes = retry_writes
        self.server = Secantus()
        self.traffic = MongoTraffic()
        self.counting = False
        self.url = self.server.uri
        self.pid = self.server.pid

    def client(self, database="bench"):
        """A client whose commands are counted when ``self.counting``: the
        timing runs use one without a listener, whose events cost CPU."""
        listeners = [self.traffic] if self.counting else []
        return pymongo.MongoClient(
            f"{self.url}{database}", tz_aware=True, event_listeners=listeners,
            retryWrites=self.retry_writes,
        )

    def reset_counts(self):
        self.traffic.reset()

    def counts(self):
        return dict(self.traffic.counts), self.traffic.bytes

    def stop(self):
        self.server.stop()


class RedisServer:
    """A fresh redis-server (Debian's package) on a free port."""

    _READY = re.compile(rb"Ready to accept connections")

    def __init__(self):
        self.directory = tempfile.TemporaryDirectory()
        self.port = _free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.directory.name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        output = b""
        while not self._READY.search(output):
            line = self.process.stdout.readline()
            if not line and (self.process.poll() is not None or time.monotonic() > deadline):
                raise RuntimeError(f"redis-server did not start: {output.decode()}")
            output += line
        self.pid = self.process.pid
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        self._admin = redis.Redis(port=self.port)
        self._overhead = ({}, 0)
        self.reset_counts()
        self._overhead = self.counts()  # what measuring itself costs

    def _snapshot(self):
        stats = self._admin.info("commandstats")
        counts = {name[len("cmdstat_"):]: value["calls"] for name, value in stats.items()}
        return counts, self._admin.info("stats")["total_net_input_bytes"]

    def reset_counts(self):
        self._base = self._snapshot()

    def counts(self):
        counts, sent = self._snapshot()
        base_counts, base_sent = self._base
        extra_counts, extra_sent = self._overhead
        delta = {
            name: calls - base_counts.get(name, 0) - extra_counts.get(name, 0)
            for name, calls in counts.items()
        }
        return {k: v for k, v in delta.items() if v > 0}, sent - base_sent - extra_sent

    def stop(self):
        try:
            stop(self.process, 10)
        finally:
            self.directory.cleanup()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
