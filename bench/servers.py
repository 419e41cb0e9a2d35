"""What the benchmark starts and fills for itself, apart from the tests:
SecantusDB and the demo under pserve, each on a free port and stopped by
its own pid, and stored sessions to measure with."""
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time

import pymongo

#: The repository.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PSERVE = os.path.join(os.path.dirname(sys.executable), "pserve")


def stop(process, timeout=10.0):
    """SIGTERM, then SIGKILL if it is still there after ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _started(command, ready, timeout=60.0, cwd=None):
    """``command`` with its output in a file, once a line matches ``ready``;
    the process and that match."""
    with tempfile.TemporaryFile() as log:  # removed when closed; the process keeps its copy
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        deadline = time.monotonic() + timeout
        while True:
            log.seek(0)
            output = log.read().decode(errors="replace")
            found = re.search(ready, output)
            if found:
                return process, found
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise RuntimeError(f"{command[0]} did not start: {output[-2000:]}")
            time.sleep(0.05)


class Secantus:
    """A SecantusDB server in memory (the tests' stand-in for mongod)."""

    def __init__(self):
        self.process, found = _started(
            [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", "0",
             "--storage-path", ":memory:", "--log-level", "INFO"],
            r"listening on [\d.]+:(\d+)",
        )
        self.pid = self.process.pid
        self.uri = f"mongodb://127.0.0.1:{found.group(1)}/"
        client = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=30000)
        try:
            client.admin.command("ping")
        finally:
            client.close()

    def stop(self):
        stop(self.process)


class Demo:
    """``pserve development.ini`` with the demo's sessions in
    ``mongodb_url`` and ``threads`` waitress threads, in ``directory``."""

    def __init__(self, directory, mongodb_url, threads):
        ini = os.path.join(directory, "development.ini")
        with open(os.path.join(ROOT, "development.ini"), encoding="utf-8") as template:
            text = template.read()
        for old, new in [("listen = localhost:6543", f"listen = 127.0.0.1:0\nthreads = {threads}"),
                         ("mongosession.url = embedded", f"mongosession.url = {mongodb_url}")]:
            if old not in text:
                raise RuntimeError(f"development.ini has no {old!r} line to replace")
            text = text.replace(old, new)
        with open(ini, "w", encoding="utf-8") as written:
            written.write(text)
        self.process, found = _started([PSERVE, ini], r"Serving on (http://[\d.]+:\d+)",
                                       cwd=directory)
        self.url = found.group(1) + "/"

    def stop(self):
        stop(self.process, 30.0)


def fill_sessions(collection, count):
    """``count`` live session documents, as the store writes them; their ids."""
    now = datetime.datetime.now(datetime.timezone.utc)
    documents = [
        {"_id": os.urandom(32), "data": {}, "created": now, "renewed": now,
         "expires": now + datetime.timedelta(hours=1)}
        for _ in range(count)
    ]
    if documents:
        collection.insert_many(documents)
    return [document["_id"] for document in documents]
