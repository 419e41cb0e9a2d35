"""Session stores side by side, in one run on one machine:

    .venv/bin/python -m bench.compare

For each store: requests per second, client CPU per request, the database
server's CPU per request, round trips to the store per request by command,
and bytes sent to it, for six views; keys that survive concurrent writes to
one session; and, for pyramid_mongosession, reads with 100 and with 100,000
stored sessions, and the serving process's memory after 100 and after
10,000 sessions.  Writes bench/results/<date>.json, bench/results/latest.md
and bench/results/benchmark.png.

Results are outputs: git ignores bench/results/ but for the reference run
(reference.md and reference.json) that docs/performance.rst cites, and
whose chart docs/benchmark.png is.  A new reference replaces those three
(copy its chart to docs/) and that page's figures together."""
import argparse
import datetime
import functools
import os
import platform
import statistics
import threading
import time

from .app import User, make_app
from .backends import BACKENDS, TURN_ORDER
from .servers import ROOT, fill_sessions
from .stores import MongoServer, cpu_seconds, on_first_cpu, rss_kb, start_server
from .turns import take_turns

SCENARIOS = {  # name: (paths per iteration, needs a user with a session, large session)
    "untouched": (["/untouched"], True, False),
    "read": (["/read"], True, False),
    "write": (["/write"], True, False),
    "flash + pop": (["/flash", "/pop"], True, False),
    "large session, one key": (["/large"], True, True),
    "new visitor's first write": (["/write"], False, False),
}


def drive(wsgi, users, paths, requests, fresh_users):
    """``requests`` requests round-robin over ``users``; how many were made."""
    done = 0
    while done < requests:
        for user in users:
            if fresh_users:
                user = User(wsgi)
            for path in paths:
                user.get(path)
                done += 1
            if done >= requests:
                break
    return done


def measure(apps, server, users, paths, requests, fresh_users):
    """Time ``requests`` requests on the app without command monitoring,
    then count round trips and bytes on the one with it; the figures."""
    timed, counted = apps
    for user in users:
        user.wsgi = timed
    store_cpu = cpu_seconds(server.pid) if server else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    done = drive(timed, users, paths, requests, fresh_users)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures = {"requests_per_s": done / wall, "client_cpu_ms": 1000 * cpu / done,
               "store_cpu_ms": 0.0, "round_trips": {}, "bytes_sent": 0.0}
    if server:
        figures["store_cpu_ms"] = 1000 * (cpu_seconds(server.pid) - store_cpu) / done
        for user in users:
            user.wsgi = counted
        counted_requests = max(len(paths), requests // 4)
        server.reset_counts()
        done = drive(counted, users, paths, counted_requests, fresh_users)
        counts, sent = server.counts()
        figures["round_trips"] = {name: calls / done for name, calls in sorted(counts.items())}
        figures["bytes_sent"] = sent / done
    return figures


def median_of(runs):
    keys = ("requests_per_s", "client_cpu_ms", "store_cpu_ms", "bytes_sent")
    result = {key: statistics.median(run[key] for run in runs) for key in keys}
    names = {name for run in runs for name in run["round_trips"]}
    result["round_trips"] = {
        name: statistics.median(run["round_trips"].get(name, 0) for run in runs)
        for name in sorted(names)
    }
    result["round_trips_total"] = sum(result["round_trips"].values())
    # Each turn's own figures, for ratios between stores measured side by side.
    result["turns"] = [
        {key: run[key] for key in ("requests_per_s", "client_cpu_ms")} for run in runs
    ]
    return result


def concurrency(wsgi, threads=8, each=25):
    """One session; ``threads`` threads each set ``each`` keys of their own,
    all sending and keeping one browser's cookie.  Keys that survive."""
    browser = User(wsgi)
    browser.get("/write")
    lock = threading.Lock()

    def work(number):
        for key in range(each):
            user = User(wsgi)
            with lock:
                user.cookie = browser.cookie
            user.get(f"/set_key?key=t{number}k{key}")
            with lock:
                if user.cookie:
                    browser.cookie = user.cookie

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(1 for key in browser.get("/dump") if key.startswith("t"))


class Contender:
    """One store, set up for the run: its own fresh server, the app twice
    (timed, counted), and its users, each with a stored session."""

    def __init__(self, name, users_count, retry_writes, apart):
        self.name = name
        configure, server_class = BACKENDS[name]
        self.server = start_server(server_class, retry_writes, apart)
        try:
            self._set_up(configure, users_count)
        except BaseException:
            self.stop()
            raise

    def _set_up(self, configure, users_count):
        self.apps = two_apps(configure, self.server)
        self.users = [User(self.apps[0]) for _ in range(users_count)]
        for user in self.users:
            user.get("/write")
        self.large_users = self.users[: max(1, users_count // 10)]
        try:
            for user in self.large_users:
                user.get("/seed_large")
        except ValueError:  # a cookie cannot hold 20 KB
            self.large_users = []

    def measure(self, scenario, requests):
        paths, with_session, large = SCENARIOS[scenario]
        who = self.large_users if large else self.users
        return measure(self.apps, self.server, who, paths, requests, not with_session)

    def can_run(self, scenario):
        return bool(self.large_users) or not SCENARIOS[scenario][2]

    def stop(self):
        if self.server:
            self.server.stop()


def run_backends(names, users_count, requests, repetitions, retry_writes=False,
                 apart=True):
    """Every scenario on every store.  The stores take turns (see
    :func:`.turns.take_turns`), one repetition each, in ``TURN_ORDER``."""
    contenders = []
    try:
        for name in sorted(names, key=TURN_ORDER.index):
            contenders.append(Contender(name, users_count, retry_writes, apart))
        results = {name: {} for name in names}
        for scenario in SCENARIOS:
            running = [c for c in contenders if c.can_run(scenario)]
            for contender in contenders:
                results[contender.name][scenario] = None
            for contender in running:  # warm-up
                contender.measure(scenario, max(10, requests // 5))
            runs = take_turns(running, repetitions, functools.partial(
                Contender.measure, scenario=scenario, requests=requests))
            for contender, its_runs in zip(running, runs, strict=True):
                results[contender.name][scenario] = median_of(its_runs)
        for contender in contenders:
            figures = results[contender.name]
            if contender.name == "pyramid_mongosession" and contender.large_users:
                figures["large session, one key"]["whole_document_bytes"] = (
                    _document_size(contender.server)
                )
            figures["concurrency_keys_kept"] = concurrency(contender.apps[0])
        return results
    finally:
        for contender in contenders:
            contender.stop()


def _document_size(server):
    """BSON size of a stored 50-key session: what a whole rewrite sends."""
    import bson

    client = server.client("mongosession")
    document = client.mongosession.sessions.find_one({"data.key0": {"$exists": True}})
    client.close()
    return len(bson.encode(document))


def two_apps(configure, server):
    """The same app twice on one server: without and with command counting."""
    if server is None or not hasattr(server, "counting"):
        app = make_app(configure, server)
        return app, app
    timed = make_app(configure, server)
    server.counting = True
    counted = make_app(configure, server)
    server.counting = False
    return timed, counted


def scale_and_memory(requests, repetitions, stored, memory_sessions, retry_writes=False,
                     apart=True):
    """pyramid_mongosession only: read speed with 100 stored sessions and with
    ``stored`` more, and the serving process's memory as it serves more
    distinct sessions.  The two read speeds come from two servers measured
    in turns, so that a change in the machine's speed during the run falls
    on both alike."""
    configure, _ = BACKENDS["pyramid_mongosession"]
    servers = []
    try:
        for _ in range(2):
            servers.append(start_server(MongoServer, retry_writes, apart))
        few_server, many_server = servers
        sides = []
        for server in (few_server, many_server):
            apps = two_apps(configure, server)
            users = [User(apps[0]) for _ in range(100)]
            for user in users:
                user.get("/write")
            sides.append((apps, server, users))
        client = many_server.client("mongosession")
        fill_sessions(client.mongosession.sessions, stored)
        client.close()
        for apps, server, users in sides:  # warm-up
            measure(apps, server, users, ["/read"], max(10, requests // 5), False)
        rates = take_turns(
            sides, repetitions,
            lambda side: measure(*side, ["/read"], requests, False)["requests_per_s"],
        )
        wsgi = sides[0][0][0]
        for _ in range(100):
            User(wsgi).get("/write")
        rss_100 = rss_kb()
        for _ in range(memory_sessions):
            User(wsgi).get("/write")
        rss_many = rss_kb()
    finally:
        for server in servers:
            server.stop()
    return {
        "read_per_s_100_sessions": statistics.median(rates[0]),
        f"read_per_s_{stored}_sessions": statistics.median(rates[1]),
        "rss_kb_after_100_sessions": rss_100,
        f"rss_kb_after_{memory_sessions}_more_sessions": rss_many,
    }, [{"few": few, "many": many} for few, many in zip(*rates, strict=True)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300, help="per repetition")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--memory-sessions", type=int, default=10_000)
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS))
    parser.add_argument("--retry-writes", action="store_true",
                        help="retryable writes on, as pymongo's default (see MongoServer)")
    parser.add_argument("--share-cpus", action="store_true",
                        help="leave this process and the database servers on any CPU "
                             "(by default: this one on the first, the servers on the others)")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results"))
    # Into the ignored results folder: docs/benchmark.png is the reference run's.
    parser.add_argument("--chart", default=os.path.join(ROOT, "bench", "results", "benchmark.png"))
    args = parser.parse_args(argv)
    if args.repetitions % 2 == 0:
        # With an even count, a median is the mean of the middle two, and a
        # ratio of rates would no longer be the inverse of the ratio of times.
        parser.error("--repetitions must be odd")
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.platform()}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": vars(args),
    }
    apart = not args.share_cpus
    with on_first_cpu(apart):
        results["backends"] = run_backends(
            args.backends, args.users, args.requests, args.repetitions, args.retry_writes,
            apart,
        )
        if "pyramid_mongosession" in args.backends and args.stored:
            results["scale"], results["scale_turns"] = scale_and_memory(
                args.requests, args.repetitions, args.stored, args.memory_sessions,
                args.retry_writes, apart,
            )
    from .report import write_reports

    write_reports(results, args.output, args.chart)
    return results


if __name__ == "__main__":
    main()
