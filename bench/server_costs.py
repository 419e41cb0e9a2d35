"""Two costs of the test server (SecantusDB) behind choices the package and
the benchmark make, in its own CPU per command:

    .venv/bin/python -m bench.server_costs

1. A session's ``find`` by ``_id`` alone against ``_id`` plus
   ``expires > now``, on a collection with the package's indexes, in turns.
2. ``update_one`` with retryable writes off and on, by blocks of 2,000, on
   fresh servers: with them on, each write scans every record kept."""
import datetime
import statistics

from pyramid_mongosession.indexes import Indexes

from .servers import fill_sessions
from .stores import MongoServer, cpu_seconds, on_first_cpu, start_server
from .turns import take_turns

TURNS = 10
PER_TURN = 300


def server_ms(server, call, count):
    start = cpu_seconds(server.pid)
    for number in range(count):
        call(number)
    return 1000 * (cpu_seconds(server.pid) - start) / count


def sessions_collection(client, count):
    sessions = client.costs.sessions
    Indexes(sessions).ensure()
    return sessions, fill_sessions(sessions, count)


def find_shapes():
    server = start_server(MongoServer)
    try:
        client = server.client("costs")
        sessions, ids = sessions_collection(client, 100)
        now = datetime.datetime.now(datetime.timezone.utc)
        shapes = {
            "find {_id}": lambda n: sessions.find_one({"_id": ids[n % 100]}),
            "find {_id, expires > now}": lambda n: sessions.find_one(
                {"_id": ids[n % 100], "expires": {"$gt": now}}
            ),
        }
        for call in shapes.values():
            server_ms(server, call, PER_TURN)  # warm-up
        figures = dict(zip(shapes, take_turns(
            list(shapes.values()), TURNS, lambda call: server_ms(server, call, PER_TURN)
        ), strict=True))
        client.close()
    finally:
        server.stop()
    print(f"server CPU per find, median of {TURNS} turns of {PER_TURN}:")
    for name, values in figures.items():
        print(f"  {name:28} {statistics.median(values):.3f} ms "
              f"({min(values):.3f} to {max(values):.3f})")


def retryable_writes(blocks=7, block=2000):
    print(f"server CPU per update_one, blocks of {block} on a fresh server:")
    for retry_writes in (False, True):
        server = start_server(MongoServer, retry_writes)
        try:
            client = server.client("costs")
            sessions, ids = sessions_collection(client, 100)

            def update(number, sessions=sessions, ids=ids):
                sessions.update_one({"_id": ids[number % 100]},
                                    {"$set": {"data.counter": number}})

            figures = [server_ms(server, update, block) for _ in range(blocks)]
            client.close()
        finally:
            server.stop()
        label = "retryable writes " + ("on " if retry_writes else "off")
        print(f"  {label}  " + "  ".join(f"{ms:.2f}" for ms in figures) + "  ms")


def main():
    with on_first_cpu():
        find_shapes()
        retryable_writes()


if __name__ == "__main__":
    main()
