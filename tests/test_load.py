"""A few seconds of bench/load.py: concurrent shoppers on the demo under
waitress lose no write and get no error."""
import pytest

from bench import load

pytestmark = pytest.mark.load


def test_a_short_load_run_loses_no_write(mongodb_uri, monkeypatch):
    monkeypatch.setenv("MONGODB_URI", mongodb_uri)

    figures = load.run(clients=4, duration=3.0)

    assert figures["requests"] > 50
    assert (figures["errors"], figures["lost_writes"]) == (0, 0), figures
    assert figures["client_failures"] == []


def test_the_cart_check_notices_a_lost_write():
    shopper = load.Client("127.0.0.1", 1, 0, rng=None)
    shopper.cart = {"mug": 2}
    shopper.request = lambda method, path, fields=None: (
        200, '<tr data-item="mug">\n<td class="quantity">1×</td>'
    )

    shopper.check_cart()

    assert shopper.lost_writes == 1
