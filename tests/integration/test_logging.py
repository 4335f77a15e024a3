"""The services' JSON log lines (docs/configuration.md, ARCADE_LOG_LEVEL and
ARCADE_LOG_FILE): the level applies to pools and daemons alike, and every line is
valid UTF-8 JSON whatever a client sends."""

import json
import os
import re
import urllib.parse

from arcadetest import (API, HOME, ArcadeTestCase, admin_headers, arcade, get, post,
                        raw_request, unique_sku, wait_until, RUN_ID)

WAIT = 15.0


def log_path(service):
    return os.path.join(HOME, "log", "%s.log" % service)


def log_size(service):
    try:
        return os.path.getsize(log_path(service))
    except OSError:
        return 0


def log_since(service, offset):
    with open(log_path(service), "rb") as f:
        f.seek(offset)
        return f.read()


def restart_consumer(level):
    """Restarts search's event consumer with ARCADE_LOG_LEVEL=level (None: unset)."""
    saved = os.environ.get("ARCADE_LOG_LEVEL")
    try:
        if level is None:
            os.environ.pop("ARCADE_LOG_LEVEL", None)
        else:
            os.environ["ARCADE_LOG_LEVEL"] = level
        arcade("svc", "restart", "search-consume", timeout=60)
    finally:
        if saved is None:
            os.environ.pop("ARCADE_LOG_LEVEL", None)
        else:
            os.environ["ARCADE_LOG_LEVEL"] = saved


def create_searchable(word):
    body = {"sku": unique_sku("LG"), "name": "Log level %s" % word, "price": 100,
            "currency": "EUR"}
    r = post(API + "/products", body, headers=admin_headers())
    if r.status != 201:
        raise AssertionError("create %r: %r" % (body, r))
    return r.json["id"]


def searchable(pid, word):
    r = get(API + "/search?" + urllib.parse.urlencode({"q": word}))
    return r.status == 200 and pid in [it["id"] for it in r.json["items"]]


class LogLevelTests(ArcadeTestCase):

    def test_debug_lines_follow_the_level(self):
        self.addCleanup(restart_consumer, None)
        debug_re = r'"level":"debug".*"msg":"search: product %d version'

        restart_consumer("debug")
        start = log_size("search")
        word = "lvd%sx1k" % RUN_ID
        pid = create_searchable(word)
        wait_until(lambda: re.search((debug_re % pid).encode(), log_since("search", start)),
                   timeout=WAIT, message="the consumer's debug line for product %d" % pid)

        restart_consumer("info")
        start = log_size("search")
        word = "lvi%sx2k" % RUN_ID
        pid = create_searchable(word)
        wait_until(lambda: searchable(pid, word), timeout=WAIT, message="product in search")
        lines = log_since("search", start)
        self.assertNotIn(b'"level":"debug"', lines, "no debug line at level info")


class LogLineTests(ArcadeTestCase):

    def assertLinesValid(self, data):
        for raw in data.splitlines():
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("log line is not UTF-8: %r" % raw[:300])
            json.loads(text)

    def test_invalid_utf8_in_the_path_is_escaped(self):
        start = log_size("catalog")
        marker = "u8%s" % RUN_ID
        r = raw_request(b"GET /api/v1/products/" + marker.encode() + b"\xff\xfe%C3 HTTP/1.1\r\n"
                        b"Host: x\r\nConnection: close\r\n\r\n")
        self.assertIsNotNone(r.status, "answered")

        def logged():
            return marker.encode() in log_since("catalog", start)
        wait_until(logged, timeout=5, message="the request line")
        data = log_since("catalog", start)
        self.assertLinesValid(data)
        line = [ln for ln in data.splitlines() if marker.encode() in ln][0]
        path = json.loads(line)["path"]
        self.assertEqual(path, "/api/v1/products/%s%%FF%%FE%%C3" % marker)
