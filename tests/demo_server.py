"""``pserve development.ini`` in a subprocess, on a free port, with its data
in a directory of the test's own; stopped by its own pid."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

from . import ROOT
from .servers import terminate

PSERVE = os.path.join(os.path.dirname(sys.executable), "pserve")

_SERVING = re.compile(r"Serving on (http://[\d.]+:\d+)")
_EMBEDDED = re.compile(r"embedded SecantusDB at mongodb://([\d.]+):(\d+)/")


class DemoServer:
    """The demo as a new user runs it; only the port differs (0: a free one)."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.ini = os.path.join(self.directory, "development.ini")
        self.log_path = os.path.join(self.directory, "pserve.log")
        with open(os.path.join(ROOT, "development.ini"), encoding="utf-8") as f:
            text = f.read()
        assert "listen = localhost:6543" in text
        text = text.replace("listen = localhost:6543", "listen = 127.0.0.1:0")
        with open(self.ini, "w", encoding="utf-8") as f:
            f.write(text)
        self.process = None
        self.url = ""
        self.database_address = None

    def start(self, timeout=60.0):
        log = open(self.log_path, "a", encoding="utf-8")
        start = log.tell()
        self.process = subprocess.Popen(
            [PSERVE, self.ini], cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            output = self.output(start)
            serving = _SERVING.search(output)
            if serving:
                self.url = serving.group(1) + "/"
                embedded = _EMBEDDED.search(output)
                if embedded:
                    self.database_address = (embedded.group(1), int(embedded.group(2)))
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pserve did not start:\n{output}")
            time.sleep(0.1)

    def output(self, start=0):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            f.seek(start)
            return f.read()

    def stop(self):
        """SIGTERM, as a service manager would; the embedded database must
        be gone when pserve is."""
        if self.process is None:
            return
        stopped = terminate(self.process, 30)
        self.process = None
        assert stopped, "pserve did not stop on SIGTERM"
        if self.database_address:
            _wait_until_closed(self.database_address)

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        _wait_until_closed(self.database_address)

    def restart(self):
        self.stop()
        return self.start()


def _wait_until_closed(address, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(address, timeout=1).close()
        except OSError:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the embedded database still listens on {address}")
        time.sleep(0.1)
