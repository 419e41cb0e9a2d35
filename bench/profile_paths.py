"""Profile pyramid_mongosession's read and write paths in-process:

    .venv/bin/python -m bench.profile_paths [read|write] [requests]

Prints cProfile's top entries by own CPU time, and the package's own functions."""
import cProfile
import pstats
import sys
import time

from .app import User, make_app
from .backends import BACKENDS
from .stores import MongoServer


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
        for user in users * 4:
            user.get(f"/{view}")  # warm-up
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for number in range(requests):
            users[number % len(users)].get(f"/{view}")
        profile.disable()
    finally:
        server.stop()
    stats = pstats.Stats(profile).sort_stats("tottime")
    stats.print_stats(14)
    print("-- pyramid_mongosession's own functions --")
    stats.sort_stats("cumtime").print_stats("pyramid_mongosession/", 16)


if __name__ == "__main__":
    main()
