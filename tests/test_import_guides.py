"""The migration guide's importers (docs/examples/importers.py), from a
real pyramid_session_redis on a redis-server and a real pyramid_beaker."""
import importlib.util
import os
import shutil
import socket
import subprocess
import time

import pytest
from pyramid_beaker import BeakerSessionFactoryConfig

from .test_import import application, moved, new_app

HERE = os.path.dirname(os.path.abspath(__file__))
GUIDE = os.path.join(HERE, os.pardir, "docs", "examples", "importers.py")
OLD_SECRET = "the secret the old sessions were signed with"


def _guide():
    spec = importlib.util.spec_from_file_location("importers_guide", GUIDE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


guide = _guide()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        message = "the pyramid_session_redis guide needs redis-server"
        if os.environ.get("MONGOSESSION_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_a_pyramid_session_redis_visitor_keeps_the_cart(collection, commands, redis_url):
    from pyramid_session_redis import RedisSessionFactory

    old = application(RedisSessionFactory(secret=OLD_SECRET, timeout=1200, redis_url=redis_url))
    old.get("/add/teapot")
    old_token = old.get("/token").json
    browser = moved(old, new_app(collection, guide.RedisSessions(OLD_SECRET, redis_url)))
    commands.clear()

    assert browser.get("/cart").json == {"teapot": 1}
    assert browser.get("/token").json == old_token
    assert commands.names == ["insert", "find"]


def test_a_forged_redis_cookie_imports_nothing(collection, redis_url):
    browser = new_app(collection, guide.RedisSessions(OLD_SECRET, redis_url))
    browser.set_cookie("session", "forged")

    assert browser.get("/cart").json == {}
    assert collection.count_documents({}) == 0


def beaker_options(tmp_path, **more):
    options = dict(type="file", data_dir=str(tmp_path), key="shop", secret=OLD_SECRET,
                   timeout=1200)
    return {**options, **more}


def test_a_pyramid_beaker_visitor_keeps_the_cart_and_loses_the_old_cookie(
    collection, commands, tmp_path
):
    old = application(BeakerSessionFactoryConfig(**beaker_options(tmp_path)))
    old.get("/add/teapot")
    old_token = old.get("/token").json
    browser = moved(old, new_app(collection, guide.BeakerSessions(**beaker_options(tmp_path))))
    commands.clear()

    response = browser.get("/cart")

    assert response.json == {"teapot": 1}
    assert "shop" not in browser.cookies
    assert browser.get("/token").json == old_token
    assert commands.names == ["insert", "find"]


def test_a_timed_out_beaker_session_imports_nothing(collection, tmp_path):
    old = application(BeakerSessionFactoryConfig(**beaker_options(tmp_path, timeout=1)))
    old.get("/add/teapot")
    time.sleep(1.2)
    importer = guide.BeakerSessions(**beaker_options(tmp_path, timeout=1))
    browser = moved(old, new_app(collection, importer))

    assert browser.get("/cart").json == {}
    assert collection.count_documents({}) == 0
