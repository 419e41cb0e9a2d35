"""Where pyramid_mongosession's client CPU goes on the read or write path:

    .venv/bin/python -m bench.profile_paths [read|write] [requests]

First the client CPU per request through the package beside the same
Pyramid app whose views send the same commands with bare pymongo (no
signed cookie, no session object): the difference is the package's own
work.  pyramid_session_redis runs the same view too, for the floor that
bare pymongo sets against it.  The three take turns in short blocks, so
a change in the machine's speed falls on all of them.  Then the function
calls of one request of each (a count that does not vary between runs),
the database server's CPU per request, and cProfile's top entries by own
CPU time and the package's own functions."""
import contextlib
import cProfile
import pstats
import statistics
import sys
import time

import pymongo
from pyramid.config import Configurator

from pyramid_mongosession import get_session_store
from pyramid_mongosession.factory import registered_factory
from pyramid_mongosession.keys import hash_id

from .app import VIEWS, User, make_app
from .backends import BACKENDS
from .stores import MongoServer, RedisServer, cpu_seconds, on_first_cpu, start_server
from .turns import take_turns

BLOCK = 200  # requests per turn


def bare_app(package_app, users):
    """The same app (its routes, in its order), its views sending the
    package's commands with pymongo itself, for the same stored sessions:
    the id comes from a table, not a signature.  The same commands: each
    carries the package's time limit (``mongosession.operation_timeout``),
    as pymongo sends it."""
    store = get_session_store(package_app.registry)
    sessions = store.collection
    verify = registered_factory(package_app.registry).cookie.verify
    stored_id = {user.cookie: hash_id(verify(user.cookie.encode())[0]) for user in users}

    def time_limited():
        if store.time_limit is None:
            return contextlib.nullcontext()
        return pymongo.timeout(store.time_limit)

    def read(request):
        with time_limited():
            document = sessions.find_one({"_id": stored_id[request.cookies["session"]]})
        return document["data"].get("counter", 0)

    def write(request):
        _id = stored_id[request.cookies["session"]]
        with time_limited():
            counter = sessions.find_one({"_id": _id})["data"].get("counter", 0) + 1
        with time_limited():
            sessions.update_one({"_id": _id}, {"$set": {"data.counter": counter}})
        return counter

    def not_measured(request):
        raise NotImplementedError(request.path)

    # The package's app's routes, in its order: a request is matched the same way.
    bare_views = {"read": read, "write": write}
    config = Configurator(settings={})
    for name in VIEWS:
        config.add_route(name, f"/{name}")
        config.add_view(bare_views.get(name, not_measured), route_name=name, renderer="json")
    return config.make_wsgi_app()


def calls_per_request(user, path):
    """Python and C function calls in one request of ``user``'s, traced:
    a figure that does not vary from run to run, unlike CPU time."""
    counts = {"call": 0, "c_call": 0}

    def count(frame, event, arg):
        if event in counts:
            counts[event] += 1

    sys.setprofile(count)
    try:
        user.get(path)
    finally:
        sys.setprofile(None)
    return counts["call"], counts["c_call"]


def cpu_ms_per_request(users, path, count):
    start = time.process_time()
    for number in range(count):
        users[number % len(users)].get(path)
    return 1000 * (time.process_time() - start) / count


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    view = argv[0] if argv else "read"
    requests = int(argv[1]) if len(argv) > 1 else 3000
    path = f"/{view}"
    with on_first_cpu():
        servers = []
        try:
            servers.append(start_server(MongoServer))
            servers.append(start_server(RedisServer))
            mongo, redis = servers
            package = make_app(BACKENDS["pyramid_mongosession"][0], mongo)
            users = [User(package) for _ in range(50)]
            by_redis_app = make_app(BACKENDS["pyramid_session_redis"][0], redis)
            redis_users = [User(by_redis_app) for _ in users]
            for user in users + redis_users:
                user.get("/write")
            bare_wsgi = bare_app(package, users)
            bare_users = [User(bare_wsgi) for _ in users]
            for bare_user, user in zip(bare_users, users, strict=True):
                bare_user.cookie = user.cookie
            for who in (users, bare_users, redis_users):
                cpu_ms_per_request(who, path, BLOCK)  # warm-up
            server_ms = []

            def through_package(who):
                server_cpu = cpu_seconds(mongo.pid)
                cpu_ms = cpu_ms_per_request(who, path, BLOCK)
                server_ms.append(1000 * (cpu_seconds(mongo.pid) - server_cpu) / BLOCK)
                return cpu_ms

            through, bare, by_redis = take_turns(
                [users, bare_users, redis_users], max(1, requests // BLOCK),
                lambda who: (through_package(who) if who is users
                             else cpu_ms_per_request(who, path, BLOCK)),
            )
            calls = {name: calls_per_request(who[0], path)
                     for name, who in (("package", users), ("bare", bare_users))}
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            cpu_ms_per_request(users, path, requests)
            profile.disable()
        finally:
            for server in servers:
                server.stop()
    own = [a - b for a, b in zip(through, bare, strict=True)]
    print(f"client CPU per {view}, median of {len(through)} turns of {BLOCK} requests:")
    print(f"  through pyramid_mongosession        {statistics.median(through):.3f} ms")
    print(f"  same commands, bare pymongo views   {statistics.median(bare):.3f} ms")
    print(f"  the package's own work              {statistics.median(own):.3f} ms "
          f"(turns: {min(own):.3f} to {max(own):.3f})")
    by_turn = [mine / theirs for mine, theirs in zip(through, bare, strict=True)]
    print(f"  through the package, times bare, by turn: {statistics.median(by_turn):.3f} "
          f"({min(by_turn):.3f} to {max(by_turn):.3f})")
    print(f"  pyramid_session_redis               {statistics.median(by_redis):.3f} ms")
    (python, c), (bare_python, bare_c) = calls["package"], calls["bare"]
    print(f"  function calls in one request: {python} Python, {c} C through the package; "
          f"{bare_python} Python, {bare_c} C bare ({python - bare_python:+d}, {c - bare_c:+d})")
    for name, figures in (("pyramid_mongosession", through), ("bare pymongo views", bare)):
        ratios = [mine / theirs for mine, theirs in zip(figures, by_redis, strict=True)]
        print(f"  {name}, times redis's, by turn: {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f} to {max(ratios):.3f})")
    print(f"database server CPU per {view}: {statistics.median(server_ms):.3f} ms")
    print()
    stats = pstats.Stats(profile).sort_stats("tottime")
    stats.print_stats(14)
    print("-- pyramid_mongosession's own functions --")
    stats.sort_stats("cumtime").print_stats("pyramid_mongosession/", 16)


if __name__ == "__main__":
    main()
