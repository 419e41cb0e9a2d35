"""A SecantusDB server (a MongoDB-wire server) in a subprocess, for tests."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pymongo

_LISTENING = re.compile(rb"listening on [\d.]+:(\d+)")


def terminate(process, timeout):
    """SIGTERM to its own pid, SIGKILL after ``timeout`` seconds; whether
    SIGTERM was enough."""
    if process.poll() is not None:
        return True
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return False


class WireServer:
    """``python -m secantus`` on a free port, stopped by its own pid."""

    def __init__(self):
        self.port = 0
        self.process = None
        self._log = None

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout=30.0):
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "secantus",
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--storage-path", ":memory:",
                "--enable-test-commands",
                "--log-level", "WARNING" if self.port else "INFO",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self.port:
            self._log.seek(0)
            found = _LISTENING.search(self._log.read())
            if found:
                self.port = int(found.group(1))
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"secantus did not start: {self.output()}")
            else:
                time.sleep(0.05)
        self._wait_ready(deadline)
        return self

    def _wait_ready(self, deadline):
        while True:
            client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=500)
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"secantus is not answering: {self.output()}") from error
            finally:
                client.close()

    def output(self):
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def stop(self):
        if self.process is not None:
            terminate(self.process, 10)
        self.process = None

