"""``pserve development.ini`` as a process: its embedded database goes with
it, even when it is killed, and keeps the sessions."""
import http.cookiejar
import urllib.parse
import urllib.request

import pytest

from .demo_server import DemoServer

# Starts an embedded database of its own.
pytestmark = pytest.mark.database


class Browser:
    """Just enough of a browser: cookies, forms, redirects."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, url):
        with self.opener.open(url, timeout=30) as response:
            return response.read().decode()

    def post(self, url, **fields):
        fields["csrf_token"] = next(c.value for c in self.cookies if c.name == "csrf_token")
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(url, data=data, timeout=30) as response:
            return response.read().decode()


def test_a_killed_pserve_takes_its_database_along_and_loses_nothing(tmp_path):
    server = DemoServer(tmp_path).start()
    browser = Browser()
    try:
        browser.get(server.url)
        assert "Added a teapot" in browser.post(server.url + "cart/add", item="teapot")

        server.kill()  # and the embedded database stops listening
        server.start()

        assert 'data-item="teapot"' in browser.get(server.url)
    finally:
        server.stop()
