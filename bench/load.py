"""Load and soak: the demo shop under waitress (``pserve``), driven by
concurrent clients on loopback, each checking its own cart.

    .venv/bin/python -m bench.load --clients 32 --duration 60

Starts a SecantusDB server in memory (or uses ``MONGODB_URI``) and ``pserve``
on free ports, runs the clients, stops both, and prints one JSON object:
requests done, errors, lost writes (a cart that differs from what its
client put in it: must be 0), latency percentiles, and the server's RSS
before and after."""
import argparse
import http.client
import http.cookies
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

from .servers import Demo, Secantus
from .stores import rss_kb

ITEMS = ("teapot", "mug", "kettle", "tea-tin", "strainer", "cosy")
CART_LINE = re.compile(r'<tr data-item="([^"]+)">\s*<td class="quantity">(\d+)×')


def cart_on(page):
    """The cart a shop page shows: {item: quantity}."""
    return {item: int(quantity) for item, quantity in CART_LINE.findall(page)}


class Client:
    """One visitor: its own connection and cookies, and the cart it expects."""

    def __init__(self, host, port, number, rng):
        self.connection = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies = {}
        self.cart = {}
        self.name = f"shopper{number}"
        self.rng = rng
        self.latencies = []
        self.errors = 0
        self.lost_writes = 0

    def request(self, method, path, fields=None):
        body, headers = None, {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if fields is not None:
            fields = dict(fields, csrf_token=self.cookies.get("csrf_token", ""))
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        self.latencies.append(time.perf_counter() - started)
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        if response.status not in (200, 303):
            self.errors += 1
        return response.status, text

    def _keep_cookies(self, headers):
        for header in headers:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def check_cart(self):
        status, page = self.request("GET", "/")
        if status == 200:
            found = cart_on(page)
            if found != self.cart:
                self.lost_writes += 1
                self.cart = found  # count each loss once

    def step(self):
        roll = self.rng.random()
        if not self.cookies.get("csrf_token"):
            self.check_cart()
        elif roll < 0.40:
            self.check_cart()
        elif roll < 0.75:
            item = self.rng.choice(ITEMS)
            if self.request("POST", "/cart/add", {"item": item})[0] == 303:
                self.cart[item] = self.cart.get(item, 0) + 1
            self.check_cart()
        elif roll < 0.85 and self.cart:
            item = self.rng.choice(sorted(self.cart))
            if self.request("POST", "/cart/remove", {"item": item})[0] == 303:
                self.cart[item] -= 1
                if not self.cart[item]:
                    del self.cart[item]
            self.check_cart()
        elif roll < 0.92:
            self.request("POST", "/sign-in", {"name": self.name})
            self.check_cart()
        elif roll < 0.97:
            if self.request("POST", "/sign-out", {})[0] == 303:
                self.cart = {}
            self.check_cart()
        else:
            self.request("GET", "/session")


def drive(host, port, clients, duration, seed):
    stop = time.monotonic() + duration
    shoppers = [Client(host, port, n, random.Random(seed + n)) for n in range(clients)]
    failures = []

    def run(shopper):
        try:
            while time.monotonic() < stop:
                shopper.step()
        except Exception as error:  # a client that breaks is an error, not a crash
            failures.append(repr(error))
            shopper.errors += 1

    threads = [threading.Thread(target=run, args=(s,)) for s in shoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return shoppers, failures


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def run(clients, duration, seed=1):
    """Run the load; the figures as a dict."""
    server = None
    url = os.environ.get("MONGODB_URI")
    if not url:
        server = Secantus()
        url = server.uri
    url = url.rstrip("/") + f"/load_{os.getpid()}"
    with tempfile.TemporaryDirectory() as directory:
        demo = Demo(directory, mongodb_url=url, threads=8)
        host, port = urllib.parse.urlsplit(demo.url).netloc.split(":")
        try:
            drive(host, int(port), min(clients, 4), 2.0, seed + 1000)  # warm-up
            rss_before = rss_kb(demo.process.pid)
            shoppers, failures = drive(host, int(port), clients, duration, seed)
            rss_after = rss_kb(demo.process.pid)
        finally:
            demo.stop()
            if server is not None:
                server.stop()
    latencies = sorted(t for s in shoppers for t in s.latencies)
    return {
        "clients": clients,
        "duration_s": duration,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / duration, 1),
        "errors": sum(s.errors for s in shoppers),
        "lost_writes": sum(s.lost_writes for s in shoppers),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 1),
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        },
        "server_rss_kb": {"before": rss_before, "after": rss_after},
        "client_failures": failures[:5],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = run(args.clients, args.duration, args.seed)
    print(json.dumps(figures, indent=2))
    return 0 if figures["lost_writes"] == 0 and figures["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
