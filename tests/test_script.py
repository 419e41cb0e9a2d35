"""The ``mongosession`` console script: in-process through ``main()``, and
as the real installed command in a subprocess."""
import datetime
import io
import json
import os
import subprocess
import sys
import time

import pytest

from pyramid_mongosession.keys import hashed_id_text
from pyramid_mongosession.scripts.mongosession import ProgressBar, main

from . import ROOT
from .support import add_sessions

COMMAND = os.path.join(os.path.dirname(sys.executable), "mongosession")


def write_ini(path, url, collection, **extra):
    settings = {
        "use": "call:tests.script_app:main",
        "mongosession.url": url,
        "mongosession.database": collection.database.name,
        "mongosession.collection": collection.name,
        "mongosession.secret": "script secret",
        "mongosession.server_selection_timeout": "0.5",
        **extra,
    }
    path.write_text("[app:main]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
    return str(path)


@pytest.fixture
def ini(tmp_path, mongodb_uri, collection):
    return write_ini(tmp_path / "app.ini", mongodb_uri, collection)


def mongosession(*args):
    """``main()`` as the console script calls it: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["mongosession", *args], out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_stats(ini, collection):
    add_sessions(collection, expired=2, live=3, principal="alice")

    status, out, err = mongosession(ini, "stats", "--json")

    assert status == 0 and err == ""
    figures = json.loads(out)
    assert figures["collection"] == collection.full_name
    assert (figures["live"], figures["expired"], figures["with_principal"]) == (3, 2, 5)
    assert figures["total_bytes"] > 0


def test_stats_as_text(ini, collection):
    add_sessions(collection, live=1200)

    status, out, _ = mongosession(ini, "stats")

    assert status == 0
    assert "live:           1,200\n" in out
    assert "expired:        0\n" in out


def test_reap_shows_progress_and_deletes_only_expired_sessions(ini, collection):
    add_sessions(collection, expired=250, live=7)

    status, out, err = mongosession(ini, "reap", "--batch-size", "100")

    assert status == 0
    assert out == f"deleted 250 expired sessions from {collection.full_name}\n"
    assert err.splitlines() == [
        "[############..................] 100/250",
        "[########################......] 200/250",
        "[##############################] 250/250",
    ]
    assert collection.count_documents({}) == 7


def test_reap_with_nothing_to_do(ini, collection):
    status, out, err = mongosession(ini, "reap")

    assert (status, err) == (0, "")
    assert out.startswith("deleted 0 expired sessions")


def test_ctrl_c_during_reap_says_how_many_were_deleted(ini, collection, monkeypatch):
    add_sessions(collection, expired=250)
    draw = ProgressBar.update

    def interrupted_after_the_first_batch(bar, done):
        draw(bar, done)
        raise KeyboardInterrupt

    monkeypatch.setattr(ProgressBar, "update", interrupted_after_the_first_batch)

    status, out, err = mongosession(ini, "reap", "--batch-size", "100")

    assert status == 130
    assert out == "interrupted after deleting 100 expired sessions\n"
    assert err.splitlines()[-1] == "mongosession: interrupted"
    assert collection.count_documents({}) == 150


def test_progress_bar_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    bar = ProgressBar(100, terminal)
    bar.update(10)
    bar.update(20)  # within 0.1 s of the last drawing: skipped
    time.sleep(0.11)
    bar.update(50)
    bar.update(100)  # the end is always drawn
    bar.finish()

    drawn = terminal.getvalue()
    assert drawn.count("\r") == 3 and drawn.endswith("100/100\n")
    assert "20/100" not in drawn


@pytest.mark.parametrize("batch_size", ["0", "-1", "ten"])
def test_a_bad_batch_size_is_a_usage_error(ini, batch_size, capsys):
    with pytest.raises(SystemExit) as exit:
        mongosession(ini, "reap", "--batch-size", batch_size)
    assert exit.value.code == 2
    assert "--batch-size: must be a whole number above 0" in capsys.readouterr().err


def test_revoke_and_sessions(ini, collection):
    alices = [hashed_id_text(_id) for _id in add_sessions(collection, live=2, principal="alice")]
    add_sessions(collection, live=1, principal="bob")

    status, out, _ = mongosession(ini, "sessions", "alice")
    assert status == 0
    assert out.splitlines()[0] == "2 live sessions of 'alice'"
    assert f"hashed_id={alices[0]}  created=" in out and "own_timeout=-" in out

    status, out, _ = mongosession(ini, "sessions", "alice", "--json")
    assert [row["hashed_id"] for row in json.loads(out)] == alices

    assert mongosession(ini, "revoke", "alice")[:2] == (0, "revoked 2 sessions of 'alice'\n")
    assert [d["principal"] for d in collection.find()] == ["bob"]


def test_sessions_show_the_recorded_device_and_revoke_only_ends_one(ini, collection):
    phone, laptop = add_sessions(collection, live=2, principal="alice")
    collection.update_one({"_id": phone}, {"$set": {"device": {
        "user_agent": "Mozilla/5.0 (iPhone)", "address": "192.0.2.9"}}})

    status, out, _ = mongosession(ini, "sessions", "alice")

    assert status == 0
    phone_line, laptop_line = out.splitlines()[1:]
    assert phone_line.endswith('user_agent="Mozilla/5.0 (iPhone)"  client_address=192.0.2.9')
    assert laptop_line.endswith("user_agent=-  client_address=-")
    rows = json.loads(mongosession(ini, "sessions", "alice", "--json")[1])
    assert rows[0]["user_agent"] == "Mozilla/5.0 (iPhone)" and rows[1]["client_address"] is None

    status, out, _ = mongosession(ini, "revoke", "alice", "--only", hashed_id_text(phone))

    assert (status, out) == (0, f"revoked session {hashed_id_text(phone)} of 'alice'\n")
    assert [d["_id"] for d in collection.find()] == [laptop]
    assert mongosession(ini, "revoke", "alice")[1] == "revoked 1 session of 'alice'\n"


def test_sessions_show_a_stored_control_character_escaped(ini, collection):
    (written_by_hand,) = add_sessions(collection, live=1, principal="alice")
    collection.update_one({"_id": written_by_hand},
                          {"$set": {"device": {"user_agent": "\x1b[2Jgone"}}})

    out = mongosession(ini, "sessions", "alice")[1]

    assert "\x1b" not in out
    assert 'user_agent="\\u001b[2Jgone"' in out


def test_revoke_only_an_id_that_is_not_the_principals_is_status_1(ini, collection):
    (bobs,) = add_sessions(collection, live=1, principal="bob")

    status, out, err = mongosession(ini, "revoke", "alice", "--only", hashed_id_text(bobs))

    assert (status, out) == (1, "")
    assert err == f"mongosession: 'alice' has no session {hashed_id_text(bobs)}\n"
    assert collection.count_documents({}) == 1


def test_revoke_only_a_malformed_id_is_a_usage_error(ini, capsys):
    with pytest.raises(SystemExit) as exit:
        mongosession(ini, "revoke", "alice", "--only", "abc")
    assert exit.value.code == 2
    assert "--only: must be a hashed id as the sessions command lists it" in capsys.readouterr().err


def test_trailing_key_value_arguments_are_variables_of_the_ini_file(
    tmp_path, mongodb_uri, collection
):
    add_sessions(collection, live=3)
    ini = write_ini(tmp_path / "vars.ini", mongodb_uri, collection,
                    **{"mongosession.collection": "%(sessions)s"})

    status, out, err = mongosession(ini, "stats", "--json", f"sessions={collection.name}")

    assert (status, err) == (0, "")
    assert json.loads(out)["live"] == 3
    status, out, _ = mongosession(ini, "sessions", "alice", f"sessions={collection.name}")
    assert out == "0 live sessions of 'alice'\n"
    # After a command's options too, and after an option's value.
    status, out, _ = mongosession(ini, "sessions", "alice", "--json", f"sessions={collection.name}")
    assert (status, out) == (0, "[]\n")
    status, out, err = mongosession(ini, "revoke", "alice", "--only", "ab" * 32,
                                    f"sessions={collection.name}")
    assert (status, err) == (1, f"mongosession: 'alice' has no session {'ab' * 32}\n")
    assert collection.count_documents({}) == 3


def test_an_unknown_option_is_still_a_usage_error(ini, capsys):
    with pytest.raises(SystemExit) as exit:
        mongosession(ini, "stats", "--jsn", "a=b")
    assert exit.value.code == 2
    assert "unrecognized arguments: --jsn" in capsys.readouterr().err


def test_a_variable_without_an_equals_sign_is_a_usage_error(ini, capsys):
    with pytest.raises(SystemExit) as exit:
        mongosession(ini, "stats", "sessions")
    assert exit.value.code == 2
    assert "Variable assignment 'sessions' invalid" in capsys.readouterr().err


def test_version(capsys):
    from pyramid_mongosession import __version__

    with pytest.raises(SystemExit) as exit:
        mongosession("--version")
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"mongosession (pyramid_mongosession) {__version__}\n"


def test_ensure_indexes_lists_them(ini, collection):
    collection.drop_indexes()

    status, out, _ = mongosession(ini, "ensure-indexes")

    assert status == 0
    assert f"{collection.full_name} expires_1: expires 1, expireAfterSeconds=0\n" in out
    assert f"{collection.full_name} principal_1: principal 1, sparse\n" in out


def test_ensure_indexes_that_cannot_create_them_is_status_1(
    tmp_path, mongodb_uri, collection, fail_command
):
    """With ``reaper = tween`` both indexes only make operations faster, so
    start-up only logs a refusal; the command, asked for them, fails."""
    ini = write_ini(tmp_path / "tween.ini", mongodb_uri, collection,
                    **{"mongosession.reaper": "tween"})
    fail_command(["createIndexes"], times=10, errorCode=13, errorMessage="not authorized")

    status, out, err = mongosession(ini, "ensure-indexes")

    assert status == 1
    assert err == (f"mongosession: {collection.full_name} has no index on principal, expires: "
                   "the server refused to create them (run with -v to see why)\n")


def test_a_missing_ini_file_is_one_line_and_status_1(tmp_path):
    status, out, err = mongosession(str(tmp_path / "missing.ini"), "stats")

    assert status == 1 and out == ""
    assert err.startswith(f"mongosession: cannot load {tmp_path / 'missing.ini'}: ")
    assert len(err.splitlines()) == 1


def test_a_bad_setting_is_one_line_and_status_1(tmp_path, mongodb_uri, collection):
    bad = {"mongosession.timeout": "abc"}
    ini = write_ini(tmp_path / "bad.ini", mongodb_uri, collection, **bad)

    status, _, err = mongosession(ini, "stats")

    assert status == 1
    assert err == (
        f"mongosession: cannot load {ini}: mongosession.timeout must be a whole "
        "number of seconds or \"none\", not 'abc'\n"
    )


def test_an_application_without_mongo_sessions_is_one_line_and_status_1(tmp_path):
    ini = tmp_path / "plain.ini"
    ini.write_text("[app:main]\nuse = call:tests.script_app:without_mongo_sessions\n")

    status, _, err = mongosession(str(ini), "stats")

    assert (status, err) == (
        1,
        "mongosession: the application's session factory is not a "
        "MongoSessionFactory: None\n",
    )


def test_an_application_that_cannot_be_imported_is_one_line_and_status_1(tmp_path):
    ini = tmp_path / "typo.ini"
    ini.write_text("[app:main]\nuse = call:no_such_package.app:main\n")

    status, _, err = mongosession(str(ini), "stats")

    assert (status, err) == (
        1,
        f"mongosession: cannot load {ini}: ModuleNotFoundError: "
        "No module named 'no_such_package'\n",
    )


def test_verbose_also_shows_the_traceback(tmp_path):
    ini = tmp_path / "typo.ini"
    ini.write_text("[app:main]\nuse = call:no_such_package.app:main\n")

    status, _, err = mongosession(str(ini), "-v", "stats")

    assert status == 1
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("ModuleNotFoundError: No module named 'no_such_package'\n")


def test_an_ini_file_without_the_app_section_is_one_line_and_status_1(tmp_path):
    ini = tmp_path / "empty.ini"
    ini.write_text("[server:main]\nuse = egg:waitress#main\n")

    status, _, err = mongosession(str(ini), "stats")

    assert status == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"mongosession: cannot load {ini}: ")


def run_command(*args):
    # Pyramid 2.0 (the floor) warns on import beside setuptools 81.
    environment = dict(os.environ, PYTHONPATH=ROOT,
                       PYTHONWARNINGS="ignore:pkg_resources is deprecated:UserWarning")
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, env=environment, timeout=60
    )


def test_the_installed_command_runs(ini, collection):
    add_sessions(collection, live=4)

    done = run_command(ini, "stats", "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["live"] == 4


@pytest.mark.parametrize("command", ["", "ensure-indexes", "reap", "stats", "revoke", "sessions"])
def test_the_installed_command_has_help_for_each_command(command):
    done = run_command(*(["x.ini", command] if command else []), "--help")

    assert done.returncode == 0
    assert done.stdout.startswith("usage: mongosession")


def test_the_installed_command_fails_in_one_line_when_the_database_is_down(
    tmp_path, private_server, collection
):
    ini = write_ini(tmp_path / "down.ini", private_server.uri, collection)
    private_server.stop()

    started = time.monotonic()
    done = run_command(ini, "stats")

    assert done.returncode == 1
    assert done.stderr.startswith("mongosession: cannot count the sessions: ")
    assert len(done.stderr.splitlines()) == 1
    # What the server said and how long it waited, not pymongo's topology dump.
    assert done.stderr.endswith("s)\n") and "(no server answered within " in done.stderr
    assert "Topology" not in done.stderr and "configured timeouts" not in done.stderr
    assert len(done.stderr) < 200
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("command", ["revoke", "sessions"])
def test_an_empty_principal_is_a_usage_error(ini, collection, command, capsys):
    add_sessions(collection, live=1, principal="alice")

    with pytest.raises(SystemExit) as exit:
        mongosession(ini, command, "")

    assert exit.value.code == 2
    assert "PRINCIPAL: must not be empty" in capsys.readouterr().err
    assert collection.count_documents({}) == 1


def test_sessions_leaves_out_documents_the_store_never_wrote(ini, collection):
    """Written by hand or by another program: not sessions the store would
    load, so not listed, and never a traceback."""
    (alices,) = add_sessions(collection, live=1, principal="alice")
    now = datetime.datetime.now(datetime.timezone.utc)
    collection.insert_many([
        {"_id": b"r" * 32, "principal": "alice", "created": now, "renewed": "x",
         "timeout": "long", "expires": now + datetime.timedelta(hours=1)},
        {"_id": b"c" * 32, "principal": "alice", "expires": now + datetime.timedelta(hours=1)},
    ])

    status, out, err = mongosession(ini, "sessions", "alice")

    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "1 live sessions of 'alice'"
    assert f"hashed_id={hashed_id_text(alices)}" in out
