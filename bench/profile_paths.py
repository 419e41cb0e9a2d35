"""Where pyramid_mongosession's client CPU goes on the read or write path:

    .venv/bin/python -m bench.profile_paths [read|write] [requests]

First the CPU per request of the view through the package, beside the
untouched view (Pyramid and this harness alone) and the same commands sent
with bare pymongo (the floor no store on pymongo goes under); what is left
is the package's own work.  Then cProfile's top entries by own CPU time,
and the package's own functions."""
import cProfile
import datetime
import pstats
import sys
import time

from pyramid_mongosession.keys import hash_id

from .app import User, make_app
from .backends import BACKENDS
from .stores import MongoServer, cpu_seconds


def cpu_ms_per_call(call, count):
    start = time.process_time()
    for number in range(count):
        call(number)
    return 1000 * (time.process_time() - start) / count


def bare_pymongo(server, view):
    """The view's commands sent with pymongo alone: a ``find_one`` by
    ``_id``, and for a write an ``update_one`` of one field as well."""
    client = server.client("floor")
    sessions = client.floor.sessions
    now = datetime.datetime.now(datetime.timezone.utc)
    ids = [hash_id(f"session{number}") for number in range(50)]
    sessions.insert_many([{"_id": _id, "data": {"counter": 0}, "created": now,
                           "expires": now + datetime.timedelta(hours=1)} for _id in ids])

    def read(number):
        sessions.find_one({"_id": ids[number % len(ids)]})

    def write(number):
        read(number)
        sessions.update_one({"_id": ids[number % len(ids)]},
                            {"$set": {"data.counter": number}})

    return read if view == "read" else write


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    view = argv[0] if argv else "read"
    requests = int(argv[1]) if len(argv) > 1 else 2000
    server = MongoServer()
    try:
        wsgi = make_app(BACKENDS["pyramid_mongosession"][0], server)
        users = [User(wsgi) for _ in range(50)]
        for user in users:
            user.get("/write")

        def through_package(number):
            users[number % len(users)].get(f"/{view}")

        def untouched(number):
            users[number % len(users)].get("/untouched")

        floor = bare_pymongo(server, view)
        for call in (through_package, untouched, floor):
            cpu_ms_per_call(call, requests // 5)  # warm-up
        server_cpu = cpu_seconds(server.pid)
        figures = {
            f"{view} through pyramid_mongosession": cpu_ms_per_call(through_package, requests),
        }
        server_cpu = 1000 * (cpu_seconds(server.pid) - server_cpu) / requests
        figures.update({
            "untouched view (Pyramid, this harness)": cpu_ms_per_call(untouched, requests),
            f"{view}'s commands with bare pymongo": cpu_ms_per_call(floor, requests),
        })
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for number in range(requests):
            through_package(number)
        profile.disable()
    finally:
        server.stop()
    print(f"client CPU per request, {requests} requests:")
    for name, milliseconds in figures.items():
        print(f"  {name:42} {milliseconds:.3f} ms")
    through, pyramid, pymongo_alone = figures.values()
    own = through - pyramid - pymongo_alone
    print(f"  {'the package own work (what is left)':42} {own:.3f} ms")
    print(f"database server CPU per {view} through the package: {server_cpu:.3f} ms")
    print()
    stats = pstats.Stats(profile).sort_stats("tottime")
    stats.print_stats(14)
    print("-- pyramid_mongosession's own functions --")
    stats.sort_stats("cumtime").print_stats("pyramid_mongosession/", 16)


if __name__ == "__main__":
    main()
