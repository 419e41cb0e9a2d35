"""An embedded MongoDB-wire server (SecantusDB) for the demo, so that
``pserve development.ini`` works on a machine without MongoDB.

The server runs in a child process on a free port and keeps its data in a
directory, so sessions survive a restart of pserve.  It is stopped when the
demo's process exits, including on SIGTERM."""
import atexit
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

log = logging.getLogger(__name__)

_LISTENING = re.compile(rb"listening on [\d.]+:(\d+)")


class EmbeddedServer:
    """``python -m secantus`` with its data in ``data_dir``.

    Parameters:

    ``data_dir``
      Directory for the database files (``secantus/``) and the server's
      log (``secantus.log``); created if missing.
    """

    def __init__(self, data_dir: str):
        self.storage_path = os.path.join(data_dir, "secantus")
        self.log_path = os.path.join(data_dir, "secantus.log")
        self.process: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        """Start the server and return its ``mongodb://`` URL."""
        os.makedirs(self.storage_path, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            log_start = log_file.tell()
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "secantus",
                    "--host", "127.0.0.1",
                    "--port", "0",
                    "--storage-path", self.storage_path,
                    "--log-level", "INFO",
                    # Each write reaches the disk, so that a pserve killed
                    # with SIGKILL (and its server with it) loses nothing.
                    "--sync-on-commit",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Ctrl-C reaches pserve only; pserve then stops the server.
                start_new_session=True,
                preexec_fn=_stop_with_parent,
            )
        port = self._wait_for_port(log_start, time.monotonic() + timeout)
        self.url = f"mongodb://127.0.0.1:{port}/"
        log.info("embedded SecantusDB at %s, data in %s", self.url, self.storage_path)
        return self.url

    def _wait_for_port(self, log_start: int, deadline: float) -> int:
        while True:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(log_start)
                found = _LISTENING.search(log_file.read())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "the embedded database did not start (is another demo "
                    f"using {self.storage_path}?); see {self.log_path}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server, waiting for it to close its files."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_at_exit(self) -> None:
        """Stop the server when this process exits, also on SIGTERM."""
        atexit.register(self.stop)
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # The default action kills the process without running atexit hooks.
    sys.exit(128 + signum)


def _stop_with_parent() -> None:
    """In the child: ask Linux to kill it when the demo's process dies, so a
    killed pserve leaves no server holding the data directory.  SIGKILL, not
    SIGTERM: the signal can come more than once as the parent's threads die,
    and the server's SIGTERM handler does not survive being re-entered."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
