"""The package under real servers: gunicorn --preload with forked workers,
waitress with 8 threads, pserve with ``pyramid.includes`` in the ini, and a
``pyramid.paster.bootstrap`` script."""
import contextlib
import http.client
import http.cookies
import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from webtest.http import StopableWSGIServer

from pyramid_mongosession import get_session_store
from pyramid_mongosession.keys import hashed_id_text

from . import ROOT, server_app
from .servers import terminate
from .support import url_of, wait_for

BIN = os.path.dirname(sys.executable)
FORK_WARNING = "MongoClient opened before fork"
USERS = 8


def get(port, path, cookies):
    """GET ``path`` with ``cookies`` (a dict, updated from Set-Cookie) on a
    connection of its own (``Connection: close``); the JSON body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Connection": "close"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                cookies[name] = morsel.value
        return json.loads(body)
    finally:
        connection.close()


def concurrently(work, count=USERS):
    """``work(0) ... work(count - 1)`` in threads released together."""
    start = threading.Barrier(count)

    def run(number):
        start.wait(timeout=30)
        return work(number)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def launch(tmp_path):
    """Start a server command on a free port; ``(process, port, output)``
    once ``pattern`` (its group 1: the port) shows in its log.  Whatever is
    still running at the end gets SIGTERM, then SIGKILL, by its pid."""
    started = []

    def launch_(command, pattern, **environment):
        log_path = tmp_path / f"server_{len(started)}.log"
        env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **environment)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        started.append(process)

        def output():
            return log_path.read_text(errors="replace")

        with contextlib.suppress(AssertionError):  # the log tells why, below
            wait_for(lambda: re.search(pattern, output()) or process.poll() is not None, 30)
        found = re.search(pattern, output())
        assert found and process.poll() is None, f"{command} did not start:\n{output()}"
        return process, int(found.group(1)), output

    yield launch_
    for process in started:
        terminate(process, 30)


def stop(process):
    assert terminate(process, 30), f"{process.args[0]} did not stop on SIGTERM"


# -- gunicorn --preload, two forked sync workers -------------------------------


def start_gunicorn(launch, mongodb_uri, collection, client_from, ping=False):
    process, port, output = launch(
        [os.path.join(BIN, "gunicorn"), "--preload", "-w", "2", "-k", "sync",
         "-b", "127.0.0.1:0", "--graceful-timeout", "10", "--no-control-socket",
         "tests.server_app:make_app()"],
        r"Listening at: http://127\.0\.0\.1:(\d+)",
        PYTHONWARNINGS="always",
        SERVER_APP_URL=url_of(mongodb_uri, collection),
        SERVER_APP_COLLECTION=collection.name,
        SERVER_APP_CLIENT=client_from,
        SERVER_APP_PING="1" if ping else "0",
    )
    wait_for(lambda: len(booted_workers(output())) == 2, 30, "two workers did not boot")
    return process, port, output


def booted_workers(output):
    return {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", output)}


def count_up(port, requests):
    """Each user, with a cookie jar of its own, GETs /count ``requests``
    times; every user's responses."""

    def user(number):
        cookies = {}
        return [get(port, "/count", cookies) for _ in range(requests)]

    return concurrently(user)


def assert_counted_exactly_by_two_workers(responses, workers, client_from, collection, log):
    """What ``count_up(port, 15)`` must show of a pre-forking server with
    two ``workers`` that loaded the app before the fork, with its log."""
    assert [[r["count"] for r in user] for user in responses] == [list(range(1, 16))] * USERS
    served_by = {r["pid"] for user in responses for r in user}
    assert served_by == workers and len(served_by) == 2
    assert {r["application_client"] for user in responses for r in user} == {
        client_from == "application"
    }
    assert sorted(document["data"]["count"] for document in collection.find()) == [15] * USERS
    assert FORK_WARNING not in log
    # made in the master by a client of its own, or in the workers after the fork
    assert collection.index_information()["expires_1"]["expireAfterSeconds"] == 0
    assert "Traceback" not in log


@pytest.mark.parametrize("client_from", ["package", "application"])
def test_gunicorn_preload_with_two_workers_counts_exactly_and_opens_no_client_before_the_fork(
    launch, mongodb_uri, collection, client_from
):
    process, port, output = start_gunicorn(launch, mongodb_uri, collection, client_from)

    responses = count_up(port, 15)
    stop(process)

    assert_counted_exactly_by_two_workers(
        responses, booted_workers(output()), client_from, collection, output()
    )


def test_gunicorn_shows_the_fork_warning_when_the_master_opens_the_client(
    launch, mongodb_uri, collection
):
    """The check above can fail: a client pinged in the preloading master
    and used in the workers is reported in the log."""
    process, port, output = start_gunicorn(
        launch, mongodb_uri, collection, "application", ping=True
    )

    responses = count_up(port, 5)
    stop(process)

    served_by = {r["pid"] for user in responses for r in user}
    assert output().count(FORK_WARNING) == len(served_by) >= 1


# -- waitress, 8 threads, in this process --------------------------------------


@pytest.fixture
def waitress_port(mongodb_uri, collection):
    app = server_app.app_from_settings(
        {"mongosession.url": url_of(mongodb_uri, collection),
         "mongosession.collection": collection.name}
    )
    server = StopableWSGIServer.create(app, host="127.0.0.1", port=0, threads=8)
    yield server.effective_port
    server.shutdown(debug=True)  # debug: leaves the waitress logger's level alone
    server.runner.join(10)
    get_session_store(app.registry).collection.database.client.close()
    assert not server.runner.is_alive()


def test_waitress_with_eight_threads_keeps_each_of_eight_users_counting_to_25(
    waitress_port, collection
):
    responses = count_up(waitress_port, 25)

    assert [[r["count"] for r in user] for user in responses] == [list(range(1, 26))] * USERS
    assert sorted(document["data"]["count"] for document in collection.find()) == [25] * USERS


def test_waitress_with_eight_threads_on_one_session_keeps_all_200_keys(
    waitress_port, collection
):
    cookies = {}
    get(waitress_port, "/count", cookies)

    def thread(number):
        for n in range(25):
            get(waitress_port, f"/set/t{number}k{n}/{n}", dict(cookies))

    concurrently(thread)

    expected = {f"t{number}k{n}": n for number in range(USERS) for n in range(25)}
    [document] = collection.find()
    assert {k: v for k, v in document["data"].items() if k != "count"} == expected
    assert len(get(waitress_port, "/whoami", dict(cookies))["keys"]) == 200 + 1


# -- pserve and bootstrap with an ini file -------------------------------------


def write_ini(tmp_path, mongodb_uri, collection):
    """Settings only: the app factory has no include of its own."""
    ini = tmp_path / "app.ini"
    ini.write_text(
        "[app:main]\n"
        "use = call:tests.server_app:main\n"
        "pyramid.includes = pyramid_mongosession\n"
        f"mongosession.url = {url_of(mongodb_uri, collection)}\n"
        f"mongosession.collection = {collection.name}\n"
        f"mongosession.secret = {server_app.SECRET}\n"
        "\n[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:0\n"
        # pserve logs "Serving on" at INFO
        "\n[loggers]\nkeys = root\n[handlers]\nkeys = console\n[formatters]\nkeys = plain\n"
        "[logger_root]\nlevel = INFO\nhandlers = console\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = plain\n"
        "[formatter_plain]\nformat = %(levelname)s %(message)s\n"
    )
    return str(ini)


def start_pserve(launch, ini):
    process, port, _ = launch(
        [os.path.join(BIN, "pserve"), ini], r"Serving on http://127\.0\.0\.1:(\d+)"
    )
    return process, port


def test_pserve_with_pyramid_includes_in_the_ini_keeps_the_session_across_requests(
    launch, tmp_path, mongodb_uri, collection
):
    process, port = start_pserve(launch, write_ini(tmp_path, mongodb_uri, collection))
    cookies = {}

    get(port, "/set/answer/42", cookies)
    seen = [get(port, "/get/answer", cookies)["value"] for _ in range(3)]
    stranger = get(port, "/get/answer", {})["value"]
    stop(process)

    assert list(cookies) == ["session"]
    assert seen == [42, 42, 42] and stranger is None
    assert [document["data"] for document in collection.find()] == [{"answer": 42}]


BOOTSTRAP_SCRIPT = """\
import dataclasses, json, sys
from pyramid.paster import bootstrap
from pyramid_mongosession import get_session_store

with bootstrap(sys.argv[1]) as env:
    store = get_session_store(env["registry"])
    listed = [info.hashed_id for info in store.sessions_of("alice")]
    before = dataclasses.asdict(store.stats())
    revoked = store.revoke("alice")
    after = dataclasses.asdict(store.stats())
    left = len(store.sessions_of("alice"))
print(json.dumps(dict(listed=listed, before=before, revoked=revoked, after=after, left=left)))
"""


def test_a_bootstrap_script_lists_revokes_and_counts_the_sessions_users_signed_in_with(
    launch, tmp_path, mongodb_uri, collection
):
    ini = write_ini(tmp_path, mongodb_uri, collection)
    process, port = start_pserve(launch, ini)
    browsers = [{} for _ in range(4)]
    for browser, principal in zip(browsers, ["alice", "alice", "alice", "bob"], strict=True):
        get(port, "/sign_in/" + principal, browser)
    alices = sorted(
        hashed_id_text(document["_id"]) for document in collection.find({"principal": "alice"})
    )
    script = tmp_path / "revoke_alice.py"
    script.write_text(BOOTSTRAP_SCRIPT)

    done = subprocess.run(
        [sys.executable, str(script), ini], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT), timeout=60,
    )

    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert len(alices) == 3 and sorted(printed.pop("listed")) == alices
    assert printed == {
        "before": {"live": 4, "expired": 0, "with_principal": 4,
                   "total_bytes": printed["before"]["total_bytes"]},
        "revoked": 3,
        "after": {"live": 1, "expired": 0, "with_principal": 1,
                  "total_bytes": printed["after"]["total_bytes"]},
        "left": 0,
    }
    assert 0 < printed["after"]["total_bytes"] < printed["before"]["total_bytes"]
    assert [document["principal"] for document in collection.find()] == ["bob"]
    assert [get(port, "/whoami", browser)["principal"] for browser in browsers] == [
        None, None, None, "bob"
    ]
    stop(process)
