"""Many requests on one session at once, in threads, against the real
server: no key is lost, a sign-out racing a slow write wins, and
invalidate/regenerate races leave no document without a cookie."""
import threading

import webtest
from webob import Request

from .support import app_with_include, wait_for


def in_threads(count, work):
    errors = []

    def run(number):
        try:
            work(number)
        except BaseException as error:  # reported below, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def cookie_of(response):
    for header in response.headers.getall("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "session":
            value = rest.split(";")[0]
            return value or None
    return "unchanged"


def session_cookie(app):
    """A new session's cookie."""
    response = webtest.TestApp(app.app).get("/set/owner/me")
    return response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]


def get(wsgi, path, cookie):
    request = Request.blank(path)
    request.headers["Cookie"] = f"session={cookie}"
    return request.get_response(wsgi)


def test_many_threads_each_changing_its_own_keys_lose_none(collection):
    app = app_with_include(collection)
    cookie = session_cookie(app)
    wsgi = app.app

    def write_keys(thread):
        for key in range(5):
            assert get(wsgi, f"/set/t{thread}k{key}/{thread * 10 + key}", cookie).status_int == 200

    in_threads(16, write_keys)

    data = collection.find_one()["data"]
    assert {key for key in data if key != "owner"} == {
        f"t{t}k{k}" for t in range(16) for k in range(5)
    }


def test_a_sign_out_racing_a_slow_write_leaves_the_session_deleted(
    collection, fail_command, commands
):
    app = app_with_include(collection)
    cookie = session_cookie(app)
    wsgi = app.app
    fail_command(["update"], blockConnection=True, blockTimeMS=1500)
    commands.clear()
    responses = {}

    def request(path):
        responses[path] = get(wsgi, path, cookie)

    slow = threading.Thread(target=request, args=("/set/late/1",))
    slow.start()
    # Once the update is sent, the write is held in the server.
    wait_for(lambda: "update" in commands.names, message="the slow write never started",
             every=0.01)
    request("/invalidate")
    slow.join(10)

    assert collection.count_documents({}) == 0
    assert responses["/invalidate"].status_int == 200
    assert cookie_of(responses["/invalidate"]) is None  # the sign-out deletes the cookie
    # and the slow one, which stored nothing, leaves it alone (contract §5)
    assert cookie_of(responses["/set/late/1"]) == "unchanged"


def test_invalidate_and_regenerate_races_leave_no_orphan(collection):
    app = app_with_include(collection)
    cookies = [session_cookie(app) for _ in range(6)]
    wsgi = app.app
    handed_out = []
    lock = threading.Lock()

    def race(number):
        cookie = cookies[number // 4]
        path = ["/regenerate", "/invalidate?keep=1", "/regenerate", "/invalidate"][number % 4]
        response = get(wsgi, path, cookie)
        assert response.status_int == 200
        with lock:
            handed_out.append(cookie_of(response))

    in_threads(24, race)

    # Every stored session is one that some response handed out a cookie for.
    live_cookies = {c for c in set(handed_out) - {None, "unchanged"}
                    if get(wsgi, "/dump", c).json}
    assert collection.count_documents({}) == len(live_cookies)
    assert len(live_cookies) <= 2 * len(cookies)  # a moved one, and one made after invalidate
