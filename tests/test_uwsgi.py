"""The package under uWSGI in preforking mode with two workers.  Mostly
without ``lazy-apps``: the master loads the application, then forks, the
case the deployment docs warn about, as ``test_servers.py`` does for
gunicorn --preload.  Then with ``lazy-apps``, and behind uWSGI's own HTTP
router (``--http``).

uWSGI forks in C, so CPython's at-fork hooks run in the workers only with
``--py-call-uwsgi-fork-hooks``; without it pymongo never notices the fork
and never warns "MongoClient opened before fork" (a client the master
opened is used as it is, and a worker may hang on the GIL that one of the
client's threads held at the fork).  So each test runs both ways, and two
checks look for a client the master opened: pymongo's warning, which only
the hooks let through, and the master's threads, which a client left open
keeps running (the last test shows both do see one).

uWSGI is compiled by ``pip install uwsgi``, from the 'testing' extra;
without its executable next to this Python the tests skip (fail with
``MONGOSESSION_REQUIRE_EXTRAS``)."""
import os
import re
import socket

import pytest

from .support import url_of, wait_for
from .test_servers import (  # noqa: F401
    BIN,
    FORK_WARNING,
    USERS,
    assert_counted_exactly_by_two_workers,
    count_up,
    launch,
    stop,
)

UWSGI = os.path.join(BIN, "uwsgi")

#: uWSGI's own way to load the application: ``application`` from this code.
LOAD_APP = "import tests.server_app; application = tests.server_app.make_app()"

FORK_HOOKS = pytest.mark.parametrize("fork_hooks", [False, True], ids=["plain", "fork-hooks"])


@pytest.fixture(autouse=True, scope="module")
def need_uwsgi():
    if not os.access(UWSGI, os.X_OK):
        message = f"needs uwsgi ({UWSGI}), from the 'testing' extra: pip install -e '.[testing]'"
        if os.environ.get("MONGOSESSION_REQUIRE_EXTRAS"):
            pytest.fail(message)
        pytest.skip(message)


def free_port():
    """A port nothing listens on now (uWSGI's HTTP socket takes no port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_uwsgi(
    launcher, mongodb_uri, collection, client_from, fork_hooks, ping=False, lazy_apps=False,
    router=False,
):
    """A master that forks 2 workers; ``(process, port, output)`` once both
    are spawned (``launcher``: the ``launch`` fixture).  By default the
    master loads the app before the fork, and the workers speak plain HTTP
    (``http-socket``).  ``lazy_apps``: each worker loads the app after the
    fork instead.  ``router``: uWSGI's own HTTP router (``--http``), a
    process of its own in front of the workers.  SIGTERM stops it
    (``die-on-term``), a worker that hangs included (killed after 5 s)."""
    port = free_port()
    listen = ["--http", f"127.0.0.1:{port}"] if router else ["--http-socket", f"127.0.0.1:{port}"]
    bound = r"uWSGI http bound on 127\.0\.0\.1:(\d+)" if router else (
        r"bound to TCP address 127\.0\.0\.1:(\d+)"
    )
    process, port, output = launcher(
        [UWSGI, "--strict", "--master", "--processes", "2", *listen,
         "--need-app", "--die-on-term", "--worker-reload-mercy", "5",
         *(["--py-call-uwsgi-fork-hooks"] if fork_hooks else []),
         *(["--lazy-apps"] if lazy_apps else []),
         "--eval", LOAD_APP],
        bound + r"(?s:.*)WSGI app 0 \(mountpoint=''\) ready",
        PYTHONWARNINGS="always",
        SERVER_APP_URL=url_of(mongodb_uri, collection),
        SERVER_APP_COLLECTION=collection.name,
        SERVER_APP_CLIENT=client_from,
        SERVER_APP_PING="1" if ping else "0",
    )
    wait_for(lambda: len(spawned_workers(output())) == 2, 30, "two workers were not spawned")
    assert "*** Operational MODE: preforking ***" in output()
    assert f"spawned uWSGI master process (pid: {process.pid})" in output()
    if lazy_apps:
        wait_for(lambda: app_loaded_by(output()) == spawned_workers(output()), 30,
                 "the workers did not load the app")
    else:
        # The risky mode: the master itself loaded the app, then forked.
        assert app_loaded_by(output()) == {process.pid}, output()
    return process, port, output


def app_loaded_by(output):
    """The pids of the processes that loaded the application."""
    return {int(pid) for pid in re.findall(r"WSGI app 0 .* pid: (\d+) \(default app\)", output)}


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def spawned_workers(output):
    return {int(pid) for pid in re.findall(r"spawned uWSGI worker \d+ \(pid: (\d+)", output)}


@FORK_HOOKS
@pytest.mark.parametrize("client_from", ["package", "application"])
def test_uwsgi_master_loading_the_app_with_two_workers_counts_exactly_and_opens_no_client_before_the_fork(  # noqa: E501
    launch, mongodb_uri, collection, client_from, fork_hooks  # noqa: F811
):
    process, port, output = start_uwsgi(launch, mongodb_uri, collection, client_from, fork_hooks)

    responses = count_up(port, 15)
    threads_in_the_master = threads_of(process.pid)
    stop(process)

    # The package's start-up client was closed and its threads had ended
    # before the fork: without the hooks, a thread copied into the workers
    # holds up their exit (pymongo joins it) or hangs them.
    assert "threads after loading the app: 1\n" in output()
    assert threads_in_the_master == 1

    assert_counted_exactly_by_two_workers(
        responses, spawned_workers(output()), client_from, collection, output()
    )
    assert "goodbye to uWSGI" in output()


def test_uwsgi_with_fork_hooks_shows_the_fork_warning_when_the_master_opens_the_client(
    launch, mongodb_uri, collection  # noqa: F811
):
    """The checks above can fail: a client pinged in the master keeps its
    threads running there, and, used in the workers, is reported in the
    log.  (Without the hooks it is not reported, and a worker may hang.)"""
    process, port, output = start_uwsgi(
        launch, mongodb_uri, collection, "application", fork_hooks=True, ping=True
    )

    responses = count_up(port, 5)
    threads_in_the_master = threads_of(process.pid)
    stop(process)

    assert threads_in_the_master > 1
    served_by = {r["pid"] for user in responses for r in user}
    assert output().count(FORK_WARNING) == len(served_by) >= 1


@pytest.mark.parametrize("client_from", ["package", "application"])
def test_uwsgi_lazy_apps_workers_load_the_app_and_may_use_the_database_at_start_up(
    launch, mongodb_uri, collection, client_from  # noqa: F811
):
    """``lazy-apps``, the other setting deployment.rst recommends: each
    worker loads the application after the fork, so even an application
    that pings the database at start-up opens its client in the worker
    that uses it."""
    process, port, output = start_uwsgi(
        launch, mongodb_uri, collection, client_from, fork_hooks=True, ping=True, lazy_apps=True
    )

    responses = count_up(port, 15)
    threads_in_the_master = threads_of(process.pid)
    stop(process)

    assert [[r["count"] for r in user] for user in responses] == [list(range(1, 16))] * USERS
    served_by = {r["pid"] for user in responses for r in user}
    assert served_by == spawned_workers(output()) == app_loaded_by(output())
    assert len(served_by) == 2
    assert threads_in_the_master == 1  # nothing of pymongo's ever ran there
    assert sorted(document["data"]["count"] for document in collection.find()) == [15] * USERS
    assert FORK_WARNING not in output()
    assert "Traceback" not in output()


@FORK_HOOKS
def test_uwsgi_http_router_in_front_of_the_workers_keeps_each_users_session(
    launch, mongodb_uri, collection, fork_hooks  # noqa: F811
):
    """``--http``: uWSGI's router process receives the requests and passes
    them to the workers over the uwsgi protocol; the cookies go through it
    both ways."""
    process, port, output = start_uwsgi(
        launch, mongodb_uri, collection, "package", fork_hooks, router=True
    )

    responses = count_up(port, 15)
    stop(process)

    assert re.search(r"spawned uWSGI http 1 \(pid: \d+\)", output()), output()
    assert [[r["count"] for r in user] for user in responses] == [list(range(1, 16))] * USERS
    served_by = {r["pid"] for user in responses for r in user}
    assert served_by == spawned_workers(output()) and len(served_by) == 2
    assert sorted(document["data"]["count"] for document in collection.find()) == [15] * USERS
    assert FORK_WARNING not in output()
    assert "Traceback" not in output()
