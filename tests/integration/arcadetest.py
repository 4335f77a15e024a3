"""Shared helpers for Arcade's end-to-end tests (Python 3 standard library only).

The tests talk to a running fleet, the one described by $ARCADE_HOME/fleet.env
(KEY=VALUE lines written by `arcade up`). ARCADE_HOME defaults to <repo>/.arcade,
so that `python3 -m unittest -v test_products` in tests/integration/ runs one
module by hand against a developer's fleet. Under ctest, the fixture `fleet.up`
starts a throwaway fleet and sets ARCADE_HOME, ARCADE_REPO and ARCADE_BUILD_DIR.

Nothing is skipped: an unreachable fleet is a failure with a clear message.
The fleet persists across test modules and holds demo data (products 1..10000),
so every resource a test creates has a unique sku/slug (RUN_ID + counter).
"""

import concurrent.futures
import datetime
import http.client
import itertools
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import unittest
import urllib.parse
import uuid

# --- Where things are ----------------------------------------------------------

REPO = os.path.abspath(
    os.environ.get("ARCADE_REPO")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HOME = os.path.abspath(os.environ.get("ARCADE_HOME") or os.path.join(REPO, ".arcade"))
FLEET_ENV = os.path.join(HOME, "fleet.env")

API = "/api/v1"
HEALTH = "/health/catalog"
HTTP_TIMEOUT = 10.0  # seconds, every HTTP call

# Contract constants (docs/catalog-api.md).
PRODUCT_FIELDS = frozenset({"id", "sku", "name", "description", "price", "currency",
                            "category", "stock", "active", "created_at", "updated_at"})
CATEGORY_REF_FIELDS = frozenset({"id", "slug", "name"})
SORTS = ("name", "-name", "price", "-price", "created", "-created")
MAX_PRICE = 999_999_999_999
MAX_ON_HAND = 1_000_000_000
BODY_MAX = 64 * 1024

# RFC 3339 UTC with milliseconds, as the contract fixes it: 2026-11-23T21:18:36.123Z
TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{3})Z$")
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
ETAG_RE = re.compile(r'^"[\x21\x23-\x7e\x80-\xff]*"$')  # strong entity-tag, RFC 9110 8.8.3

RUN_ID = uuid.uuid4().hex[:10]
_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _next():
    with _counter_lock:
        return next(_counter)


def unique_sku(prefix="T"):
    """A sku nobody else has: RUN_ID is random per process."""
    return "%s-%s-%05d" % (prefix, RUN_ID, _next())


def unique_slug(prefix="t"):
    return "%s-%s-%d" % (prefix, RUN_ID, _next())


# --- fleet.env -------------------------------------------------------------------

class FleetUnavailable(AssertionError):
    pass


_env_cache = None
_env_lock = threading.Lock()


def _parse_env_file(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export "):].lstrip()
            key, sep, value = line.partition("=")
            if not sep:
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def fleet_env(reload=False):
    """KEY=VALUE pairs of $ARCADE_HOME/fleet.env (re-read with reload=True, e.g.
    after `arcade svc start apache` added ARCADE_APACHE_PORT)."""
    global _env_cache
    with _env_lock:
        if _env_cache is None or reload:
            if not os.path.isfile(FLEET_ENV):
                raise FleetUnavailable(
                    "no fleet: %s does not exist. Start one with `ARCADE_HOME=%s %s/arcade up` "
                    "or point ARCADE_HOME at a running fleet." % (FLEET_ENV, HOME, REPO))
            _env_cache = _parse_env_file(FLEET_ENV)
        return dict(_env_cache)


def env_value(key, reload=False):
    env = fleet_env(reload)
    if key not in env or env[key] == "":
        raise FleetUnavailable("%s has no %s (keys: %s)" % (FLEET_ENV, key, ", ".join(sorted(env))))
    return env[key]


def base_url(reload=False):
    """The public web server of the fleet. fleet.env wins over the process
    environment (ctest exports ARCADE_HTTP_PORT=auto)."""
    env = fleet_env(reload)
    if env.get("ARCADE_BASE_URL"):
        return env["ARCADE_BASE_URL"].rstrip("/")
    port = env.get("ARCADE_HTTP_PORT", "")
    if not port.isdigit():
        raise FleetUnavailable("%s has neither ARCADE_BASE_URL nor a numeric ARCADE_HTTP_PORT"
                               % FLEET_ENV)
    return "http://127.0.0.1:%s" % port


def apache_url(reload=True):
    return "http://127.0.0.1:%s" % env_value("ARCADE_APACHE_PORT", reload)


def admin_key():
    return env_value("ARCADE_ADMIN_KEY")


def admin_headers(extra=None):
    h = {"Authorization": "Bearer " + admin_key()}
    if extra:
        h.update(extra)
    return h


# --- HTTP ------------------------------------------------------------------------

_MISSING = object()


class Response:
    """status, headers (case-insensitive), body (bytes), json (parsed or None).
    Unpacks as (status, headers, json-or-raw-bytes)."""

    def __init__(self, status, reason, headers, body, method="", url=""):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.method = method
        self.url = url
        self.json = None
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                self.json_error = e

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_all(self, name):
        return self.headers.get_all(name) or []

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    @property
    def data(self):
        return self.json if self.json is not None else self.body

    def __iter__(self):
        return iter((self.status, self.headers, self.data))

    def __repr__(self):
        body = self.body[:600]
        more = "…(%d bytes)" % len(self.body) if len(self.body) > 600 else ""
        return "<%s %s -> %s %s %r%s>" % (self.method, self.url[:200], self.status,
                                           self.content_type, body, more)


def _split(base):
    u = urllib.parse.urlsplit(base)
    host = u.hostname or "127.0.0.1"
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, host, port, u.path.rstrip("/")


def request(method, path, body=None, headers=None, json_body=_MISSING,
            content_type=_MISSING, base=None, timeout=HTTP_TIMEOUT, source=None):
    """One HTTP request on a fresh connection.

    path: "/api/v1/products/1?x=y" (sent as is; http.client refuses control bytes —
    use raw_request for those). source: the local address to connect from (e.g.
    other_address(); the service sees it as REMOTE_ADDR). json_body: serialised as UTF-8 (not ASCII-escaped)
    with Content-Type application/json unless content_type says otherwise
    (content_type=None sends no Content-Type). body: raw bytes or str.
    """
    headers = dict(headers or {})
    if json_body is not _MISSING:
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        if content_type is _MISSING:
            content_type = "application/json"
    if isinstance(body, str):
        body = body.encode("utf-8")
    if content_type is not _MISSING and content_type is not None:
        headers["Content-Type"] = content_type
    scheme, host, port, prefix = _split(base or base_url())
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    extra = {"source_address": (source, 0)} if source else {}
    conn = conn_cls(host, port, timeout=timeout, **extra)
    url = prefix + path
    try:
        try:
            conn.request(method, url, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (413) and close before reading the whole
            # body: read what it said.
            pass
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.headers, data, method, url)
    finally:
        conn.close()


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, json_body=_MISSING, **kw):
    return request("POST", path, json_body=json_body, **kw)


def patch(path, json_body=_MISSING, **kw):
    return request("PATCH", path, json_body=json_body, **kw)


def put(path, json_body=_MISSING, **kw):
    return request("PUT", path, json_body=json_body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status  # None: the server closed without an answer
        self.headers = headers
        self.body = body

    def __repr__(self):
        return "<raw %s %r>" % (self.status, self.body[:300])


def raw_request(data, base=None, timeout=HTTP_TIMEOUT, shutdown_write=False):
    """Sends bytes as they are on a fresh TCP connection and parses the answer.
    For requests http.client refuses to send (control bytes, bad Content-Length)."""
    _, host, port, _ = _split(base or base_url())
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
            if shutdown_write:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(sock, method="GET")
        try:
            resp.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return RawResponse(None, None, b"")
        try:
            body = resp.read()
        except (http.client.IncompleteRead, ConnectionResetError) as e:
            body = getattr(e, "partial", b"")
        return RawResponse(resp.status, resp.headers, body)
    finally:
        sock.close()


# --- Concurrency and waiting --------------------------------------------------------

def parallel(fn, args, workers=16):
    """Runs fn(arg) for every arg on a thread pool; returns results in order.
    An exception is returned in place of its result (callers assert on it)."""
    def wrap(a):
        try:
            return fn(a)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            return e
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(wrap, args))


def wait_until(pred, timeout=15.0, interval=0.1, message="condition"):
    """Polls pred() until it returns a truthy value (returned) or timeout seconds
    pass (AssertionError naming message and the last value or exception)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = pred()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - kept for the message
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s; last: %r"
                                 % (timeout, message, last))
        time.sleep(interval)


# --- The control script ---------------------------------------------------------------

def arcade(*args, check=True, timeout=300, input=None):
    """Runs $ARCADE_REPO/arcade with the fleet's ARCADE_HOME; asserts exit code 0
    unless check=False. Returns the CompletedProcess. input: text for its standard
    input (default: none, /dev/null)."""
    script = os.path.join(REPO, "arcade")
    if not os.access(script, os.X_OK):
        raise AssertionError("%s is missing or not executable" % script)
    env = os.environ.copy()
    env["ARCADE_HOME"] = HOME
    env.setdefault("ARCADE_REPO", REPO)
    try:
        stdin = {"stdin": subprocess.DEVNULL} if input is None else {"input": input}
        cp = subprocess.run([script, *args], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=timeout, **stdin)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("`arcade %s` did not finish within %ss\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), timeout, e.stdout, e.stderr)) from None
    if check and cp.returncode != 0:
        raise AssertionError("`arcade %s` exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), cp.returncode, cp.stdout[-4000:],
                                cp.stderr[-4000:]))
    return cp


# --- Parsing helpers -----------------------------------------------------------------

def parse_time(s):
    m = TIME_RE.match(s) if isinstance(s, str) else None
    if not m:
        raise ValueError("not an RFC 3339 UTC time with milliseconds and Z: %r" % (s,))
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = m.group(7)
    us = int(round(float(frac) * 1e6)) if frac else 0
    return datetime.datetime(y, mo, d, h, mi, sec, min(us, 999999), tzinfo=datetime.timezone.utc)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_traceparent(value):
    m = TRACEPARENT_RE.match(value or "")
    if not m:
        return None
    trace_id, span_id, flags = m.groups()
    if trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id, flags


def new_traceparent(flags="01"):
    return "00-%s-%s-%s" % (uuid.uuid4().hex, os.urandom(8).hex(), flags)


def parse_allow(value):
    return {m.strip().upper() for m in (value or "").split(",") if m.strip()}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def product_path(pid):
    return "%s/products/%s" % (API, pid)


def category_path(slug):
    return "%s/categories/%s" % (API, slug)


def resolve_location(location, base=None):
    """Location may be absolute or a path; returns the path to request."""
    u = urllib.parse.urlsplit(location)
    _, _, _, prefix = _split(base or base_url())
    path = u.path
    if prefix and path.startswith(prefix):
        path = path[len(prefix):]
    return path + ("?" + u.query if u.query else "")


# --- Creating test data --------------------------------------------------------------

def create_category(slug=None, name=None, parent=None, base=None):
    slug = slug or unique_slug()
    body = {"slug": slug, "name": name or ("Test category " + slug), "parent": parent}
    r = post(API + "/categories", body, headers=admin_headers(), base=base)
    if r.status != 201 or not isinstance(r.json, dict):
        raise AssertionError("creating category %r failed: %r" % (body, r))
    return r.json


def product_body(**fields):
    body = {"sku": unique_sku(), "name": "Test product %s-%d" % (RUN_ID, _next()),
            "price": 1000, "currency": "EUR"}
    body.update(fields)
    return body


def create_product_response(base=None, **fields):
    body = product_body(**fields)
    r = post(API + "/products", body, headers=admin_headers(), base=base)
    if r.status != 201 or not isinstance(r.json, dict):
        raise AssertionError("creating product %r failed: %r" % (body, r))
    return r


def create_product(base=None, **fields):
    """POSTs a product (unique sku; overrides in fields); returns the product."""
    return create_product_response(base=base, **fields).json


# --- RabbitMQ: AMQP 0-9-1 over a raw socket (the frames these tests need are few) ------

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_END = 1, 2, 3, 0xCE
CONNECTION = 10
START, START_OK, TUNE, CLOSE = 10, 11, 30, 50
CHANNEL, QUEUE, BASIC = 20, 50, 60


def amqp_port():
    return int(env_value("ARCADE_AMQP_PORT", reload=True))


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_frame(sock):
    """(type, channel, payload) of the next frame; checks the frame-end octet."""
    ftype, channel, size = struct.unpack("!BHI", read_exactly(sock, 7))
    payload = read_exactly(sock, size)
    end = read_exactly(sock, 1)[0]
    if end != FRAME_END:
        raise AssertionError("frame end 0x%02x, not 0xCE" % end)
    return ftype, channel, payload


def method_of(payload):
    return struct.unpack("!HH", payload[:4])


def shortstr(b):
    return struct.pack("!B", len(b)) + b


def longstr(b):
    return struct.pack("!I", len(b)) + b


def open_amqp(port, timeout=5):
    """A connection that has sent the protocol header and read Connection.Start."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(PROTOCOL_HEADER)
    return s, read_frame(s)


class Amqp:
    """A minimal AMQP 0-9-1 client: one connection, channel 1, no confirms."""

    def __init__(self):
        env = fleet_env(reload=True)
        self.sock, (ftype, _, payload) = open_amqp(amqp_port())
        assert ftype == FRAME_METHOD and method_of(payload) == (CONNECTION, START)
        user, password = env["ARCADE_AMQP_USER"], env["ARCADE_AMQP_PASSWORD"]
        self.method(0, CONNECTION, 11, struct.pack("!I", 0) + shortstr(b"PLAIN")
                    + longstr(b"\0" + user.encode() + b"\0" + password.encode())
                    + shortstr(b"en_US"))
        ftype, _, payload = read_frame(self.sock)
        assert method_of(payload) == (CONNECTION, TUNE), payload
        channel_max, frame_max, _ = struct.unpack("!HIH", payload[4:12])
        self.method(0, CONNECTION, 31, struct.pack("!HIH", channel_max, frame_max, 0))
        self.call(0, CONNECTION, 40, shortstr(b"/") + shortstr(b"") + b"\0", (CONNECTION, 41))
        self.call(1, CHANNEL, 10, shortstr(b""), (CHANNEL, 11))

    def method(self, channel, cls, meth, args):
        payload = struct.pack("!HH", cls, meth) + args
        self.frame(FRAME_METHOD, channel, payload)

    def frame(self, ftype, channel, payload):
        self.sock.sendall(struct.pack("!BHI", ftype, channel, len(payload)) + payload
                          + bytes([FRAME_END]))

    def call(self, channel, cls, meth, args, reply):
        self.method(channel, cls, meth, args)
        while True:
            ftype, _, payload = read_frame(self.sock)
            if ftype != FRAME_METHOD:
                continue
            if method_of(payload) == reply:
                return payload[4:]
            raise AssertionError("AMQP: expected %r, got %r %r" % (reply, method_of(payload),
                                                                   payload[4:80]))

    def declare(self, queue, passive=False):
        """Messages ready in queue (declared plain and durable unless passive)."""
        bits = 1 if passive else 2
        ok = self.call(1, QUEUE, 10, struct.pack("!H", 0) + shortstr(queue.encode())
                       + bytes([bits]) + struct.pack("!I", 0), (QUEUE, 11))
        n = ok[0]
        return struct.unpack("!I", ok[1 + n:5 + n])[0]

    def purge(self, queue):
        """Drops every message ready in queue."""
        self.call(1, QUEUE, 30, struct.pack("!H", 0) + shortstr(queue.encode()) + b"\0",
                  (QUEUE, 31))

    def delete(self, queue):
        self.call(1, QUEUE, 40, struct.pack("!H", 0) + shortstr(queue.encode()) + b"\0",
                  (QUEUE, 41))

    def publish(self, queue, body, message_id, type_):
        """To queue through the default exchange, persistent, with id and type."""
        self.method(1, BASIC, 40, struct.pack("!H", 0) + shortstr(b"") + shortstr(queue.encode())
                    + b"\0")
        flags = (1 << 12) | (1 << 7) | (1 << 5)  # delivery-mode, message-id, type
        props = bytes([2]) + shortstr(message_id.encode()) + shortstr(type_.encode())
        self.frame(FRAME_HEADER, 1, struct.pack("!HHQH", BASIC, 0, len(body), flags) + props)
        self.frame(FRAME_BODY, 1, body)

    def close(self):
        try:
            self.call(0, CONNECTION, 50, struct.pack("!H", 200) + shortstr(b"bye")
                      + struct.pack("!HH", 0, 0), (CONNECTION, 51))
        finally:
            self.sock.close()

    def publish_to(self, exchange, routing_key, body, message_id, type_):
        self.method(1, BASIC, 40, struct.pack("!H", 0) + shortstr(exchange.encode())
                    + shortstr(routing_key.encode()) + b"\0")
        flags = (1 << 12) | (1 << 7) | (1 << 5)  # delivery-mode, message-id, type
        props = bytes([2]) + shortstr(message_id.encode()) + shortstr(type_.encode())
        self.frame(FRAME_HEADER, 1, struct.pack("!HHQH", BASIC, 0, len(body), flags) + props)
        self.frame(FRAME_BODY, 1, body)

    def bind(self, queue, exchange, key):
        self.call(1, QUEUE, 20, struct.pack("!H", 0) + shortstr(queue.encode())
                  + shortstr(exchange.encode()) + shortstr(key.encode()) + b"\0"
                  + struct.pack("!I", 0), (QUEUE, 21))

    def get(self, queue):
        """One message's body from queue (acknowledged on delivery), or None."""
        self.method(1, BASIC, 70, struct.pack("!H", 0) + shortstr(queue.encode()) + b"\1")
        while True:
            ftype, _, payload = read_frame(self.sock)
            if ftype != 1:
                continue
            meth = struct.unpack("!HH", payload[:4])
            if meth == (BASIC, 72):
                return None
            if meth == (BASIC, 71):
                break
            raise AssertionError("AMQP: basic.get answered %r" % (meth,))
        ftype, _, payload = read_frame(self.sock)
        assert ftype == FRAME_HEADER, ftype
        size = struct.unpack("!Q", payload[4:12])[0]
        body = b""
        while len(body) < size:
            ftype, _, payload = read_frame(self.sock)
            assert ftype == FRAME_BODY, ftype
            body += payload
        return body



# --- Test case base ---------------------------------------------------------------------

_fleet_checked = None
_fleet_check_lock = threading.Lock()


def check_fleet():
    """Fails (never skips) with a clear message when the fleet cannot be reached."""
    global _fleet_checked
    with _fleet_check_lock:
        if _fleet_checked:
            return
        url = base_url()
        try:
            r = get(HEALTH)
        except OSError as e:
            raise FleetUnavailable("the fleet at %s (ARCADE_HOME=%s) is unreachable: %s"
                                   % (url, HOME, e)) from None
        if r.status not in (200, 503):
            raise FleetUnavailable("the fleet at %s answered %r to GET %s" % (url, r, HEALTH))
        _fleet_checked = True


class ArcadeTestCase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        check_fleet()

    # -- generic assertions --

    def assertStatus(self, r, status, msg=None):
        expected = status if isinstance(status, (tuple, list, set, frozenset)) else (status,)
        if r.status not in expected:
            self.fail("%sexpected status %s, got %r" % (msg + ": " if msg else "", status, r))

    def assertJsonResponse(self, r):
        ctype = r.content_type.split(";")[0].strip().lower()
        self.assertEqual(ctype, "application/json", "Content-Type of %r" % (r,))
        self.assertIsNone(r.json_error, "body of %r is not JSON" % (r,))

    def assertError(self, r, status, code, field=None, fields=None, msg=None):
        """Exact error shape: {"error":{"code","message"[,"fields"]}} as application/json;
        "fields" always for validation_failed, possibly for invalid_parameter (query
        parameters), never otherwise. field/fields: names that must be in "fields"."""
        self.assertStatus(r, status, msg)
        self.assertJsonResponse(r)
        body = r.json
        self.assertIsInstance(body, dict, r)
        self.assertEqual(set(body), {"error"}, "top-level keys of %r" % (r,))
        err = body["error"]
        self.assertIsInstance(err, dict, r)
        self.assertEqual(err.get("code"), code, "error code of %r" % (r,))
        self.assertIsInstance(err.get("message"), str, r)
        self.assertTrue(err["message"].strip(), "empty error message in %r" % (r,))
        if code == "validation_failed" or (code == "invalid_parameter" and "fields" in err) \
                or field or fields:
            self.assertEqual(set(err), {"code", "message", "fields"}, "error keys of %r" % (r,))
            self.assertIsInstance(err["fields"], dict, r)
            self.assertTrue(err["fields"], "validation_failed with no fields: %r" % (r,))
            for k, v in err["fields"].items():
                self.assertIsInstance(v, str, "fields[%r] of %r" % (k, r))
                self.assertTrue(v.strip(), "empty message for field %r in %r" % (k, r))
            for f in ([field] if field else []) + list(fields or []):
                self.assertIn(f, err["fields"], "field %r not named in %r" % (f, r))
        else:
            self.assertEqual(set(err), {"code", "message"}, "error keys of %r" % (r,))
        return err

    def assertTime(self, value, what="time"):
        try:
            return parse_time(value)
        except ValueError as e:
            self.fail("%s: %s" % (what, e))

    def assertProduct(self, p, expect=None):
        """Full shape and types of a product; expect: field values that must match
        (category given as a slug or None)."""
        self.assertIsInstance(p, dict)
        self.assertEqual(set(p), PRODUCT_FIELDS, "product keys of %r" % (p,))
        self.assertTrue(is_int(p["id"]) and p["id"] > 0, "id %r" % (p["id"],))
        self.assertIsInstance(p["sku"], str)
        self.assertRegex(p["sku"], r"^[A-Za-z0-9._-]{1,64}$")
        self.assertIsInstance(p["name"], str)
        self.assertTrue(1 <= len(p["name"]) <= 200, "name length %d" % len(p["name"]))
        self.assertIsInstance(p["description"], str)
        self.assertLessEqual(len(p["description"]), 5000)
        self.assertTrue(is_int(p["price"]), "price must be an integer, got %r" % (p["price"],))
        self.assertTrue(0 <= p["price"] <= MAX_PRICE, p["price"])
        self.assertIsInstance(p["currency"], str)
        self.assertRegex(p["currency"], r"^[A-Z]{3}$")
        if p["category"] is not None:
            c = p["category"]
            self.assertIsInstance(c, dict, "category must be an object or null: %r" % (c,))
            self.assertEqual(set(c), CATEGORY_REF_FIELDS, "category keys of %r" % (c,))
            self.assertTrue(is_int(c["id"]) and c["id"] > 0, c)
            self.assertIsInstance(c["slug"], str)
            self.assertIsInstance(c["name"], str)
        self.assertTrue(is_int(p["stock"]) and p["stock"] >= 0, "stock %r" % (p["stock"],))
        self.assertIsInstance(p["active"], bool)
        if "active" not in (expect or {}):
            self.assertIs(p["active"], True, "active of %r" % (p,))
        created = self.assertTime(p["created_at"], "created_at")
        updated = self.assertTime(p["updated_at"], "updated_at")
        self.assertLessEqual(created, updated, "created_at after updated_at in %r" % (p,))
        for k, v in (expect or {}).items():
            if k == "category":
                got = p["category"]["slug"] if p["category"] else None
                self.assertEqual(got, v, "category of %r" % (p,))
            elif k == "on_hand":
                self.assertEqual(p["stock"], v, "stock of %r" % (p,))
            else:
                self.assertEqual(p[k], v, "%s of %r" % (k, p))

    def assertTraceparent(self, r):
        tp = r.header("traceparent")
        self.assertIsNotNone(tp, "no traceparent in %r" % (r,))
        parsed = parse_traceparent(tp)
        self.assertIsNotNone(parsed, "invalid traceparent %r in %r" % (tp, r))
        return parsed

    def assertEtag(self, r):
        etag = r.header("ETag")
        self.assertIsNotNone(etag, "no ETag in %r" % (r,))
        self.assertRegex(etag, ETAG_RE, "ETag must be a strong, quoted entity-tag")
        return etag


# --- Users, sessions and addresses (docs/users-api.md) ---------------------------------

USERS = API + "/users"
SESSIONS = API + "/sessions"
ME = USERS + "/me"
ADDRESSES = ME + "/addresses"
USERS_HEALTH = "/health/users"
INTERNAL_SESSION = "/internal/v1/sessions/current"

USER_FIELDS = frozenset({"id", "email", "name", "role", "created_at"})
SESSION_FIELDS = frozenset({"token", "expires_at", "user"})
ADDRESS_FIELDS = frozenset({"id", "name", "line1", "line2", "city", "postal_code", "country",
                            "phone", "created_at"})
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 256 bits, base64url, no padding

# The tokens the tests receive and the passwords of unique_password() (grepped for
# in the logs; a wrong password derived from one contains it).
SECRETS = set()
_secrets_lock = threading.Lock()


def remember_secret(s):
    if s:
        with _secrets_lock:
            SECRETS.add(s)
    return s


def unique_email(prefix="u"):
    """A fresh, lower-case email nobody has registered."""
    return "%s-%s-%d@example.com" % (prefix, RUN_ID, _next())


def unique_password():
    """A password that passes every rule (length, not a common one)."""
    return remember_secret("Pw-%s-%d-%s" % (RUN_ID, _next(), uuid.uuid4().hex[:8]))


def bearer(token):
    return {"Authorization": "Bearer " + token}


def internal_url(reload=False):
    """The users service's internal listener (loopback): ARCADE_INTERNAL_PORT of
    fleet.env (or ARCADE_USERS_URL)."""
    env = fleet_env(reload)
    port = env.get("ARCADE_INTERNAL_PORT", "")
    if port.isdigit():
        return "http://127.0.0.1:%s" % port
    if env.get("ARCADE_USERS_URL"):
        return env["ARCADE_USERS_URL"].rstrip("/")
    raise FleetUnavailable("%s has neither ARCADE_INTERNAL_PORT nor ARCADE_USERS_URL" % FLEET_ENV)


def register_response(email=None, password=None, name=None, **extra):
    body = {"email": unique_email() if email is None else email,
            "password": unique_password() if password is None else password,
            "name": "Test user %s-%d" % (RUN_ID, _next()) if name is None else name}
    body.update(extra)
    return post(USERS, body), body


def register(email=None, password=None, name=None):
    """Creates a customer; returns (user, password)."""
    r, body = register_response(email, password, name)
    if r.status != 201 or not isinstance(r.json, dict):
        raise AssertionError("registering %r failed: %r" % (body["email"], r))
    return r.json, body["password"]


# Refused logins (401 or 429) this process has seen: they count against this
# host's address (docs/users-api.md, "Throttling").
REFUSED_LOGINS = [0]


def other_address():
    """A random loopback address other than 127.0.0.1 (all of 127.0.0.0/8 is
    the loopback interface, and the web server listens on 127.0.0.1): requests
    sent from it (request(..., source=)) count against limits of their own."""
    import random
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                             random.randint(1, 254))


def login_response(email, password, source=None):
    r = post(SESSIONS, {"email": email, "password": password}, source=source)
    if r.status in (401, 429) and source is None:
        with _secrets_lock:
            REFUSED_LOGINS[0] += 1
    if isinstance(r.json, dict) and isinstance(r.json.get("token"), str):
        remember_secret(r.json["token"])
    return r


def login(email, password):
    """A new session; returns its token."""
    r = login_response(email, password)
    if r.status != 201 or not isinstance(r.json, dict) or "token" not in r.json:
        raise AssertionError("logging in as %r failed: %r" % (email, r))
    return r.json["token"]


class Account:
    """A registered user with a session: user (dict), email, password, token."""

    def __init__(self, user, password, token):
        self.user = user
        self.id = user["id"]
        self.email = user["email"]
        self.password = password
        self.token = token

    @property
    def headers(self):
        return bearer(self.token)

    def __repr__(self):
        return "<account %d %s %s>" % (self.id, self.email, self.user.get("role"))


def new_customer(name=None):
    user, password = register(name=name)
    return Account(user, password, login(user["email"], password))


def new_admin():
    """An admin made by `arcade admin create <email> --password-stdin`, logged in."""
    email, password = unique_email("admin"), unique_password()
    arcade("admin", "create", email, "--password-stdin", input=password + "\n", timeout=60)
    r = login_response(email, password)
    if r.status != 201 or not isinstance(r.json, dict) or \
            (r.json.get("user") or {}).get("role") != "admin":
        raise AssertionError("logging in as the admin made by `arcade admin create` failed: %r"
                             % (r,))
    return Account(r.json["user"], password, r.json["token"])


def address_body(**fields):
    body = {"name": "Ada Lovelace", "line1": "12 Test Street", "line2": "Flat %d" % _next(),
            "city": "Berlin", "postal_code": "10115", "country": "DE", "phone": "+49 30 123456"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _MISSING}


def log_files():
    """The services' logs: $ARCADE_HOME/log/*.log."""
    d = os.path.join(HOME, "log")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))


def secrets_in_logs(secrets):
    """[(file, secret)] for every secret (str) found in a log file."""
    found = []
    needles = [(s, s.encode("utf-8")) for s in secrets if s]
    for path in log_files():
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for s, b in needles:
            if b in data:
                found.append((path, s))
    return found


OMIT = _MISSING  # address_body(line2=OMIT) leaves the member out


class UsersTestCase(ArcadeTestCase):
    """Assertions for the users service's answers."""

    def assertUser(self, u, expect=None):
        self.assertIsInstance(u, dict, u)
        self.assertEqual(set(u), USER_FIELDS, "user keys of %r" % (u,))
        self.assertTrue(is_int(u["id"]) and u["id"] > 0, "id %r" % (u["id"],))
        self.assertIsInstance(u["email"], str)
        self.assertEqual(u["email"], u["email"].strip().lower(), "email is normalised")
        self.assertIsInstance(u["name"], str)
        self.assertTrue(1 <= len(u["name"]) <= 100, "name length of %r" % (u,))
        self.assertIn(u["role"], ("customer", "admin"))
        self.assertTime(u["created_at"], "created_at")
        for k, v in (expect or {}).items():
            self.assertEqual(u[k], v, "%s of %r" % (k, u))

    def assertSession(self, r, user=None):
        """201 {token, expires_at, user}; returns the token."""
        self.assertStatus(r, 201)
        self.assertJsonResponse(r)
        s = r.json
        self.assertIsInstance(s, dict, r)
        self.assertEqual(set(s), SESSION_FIELDS, "session keys of %r" % (r,))
        self.assertIsInstance(s["token"], str)
        self.assertRegex(s["token"], TOKEN_RE, "token: 43 characters of base64url")
        remember_secret(s["token"])
        exp = self.assertTime(s["expires_at"], "expires_at")
        ahead = (exp - utcnow()).total_seconds()
        ttl = session_ttl()
        self.assertTrue(ttl - 120 <= ahead <= ttl + 5,
                        "expires_at %s is not about %d s (ARCADE_SESSION_TTL) ahead (%.0f s)"
                        % (s["expires_at"], ttl, ahead))
        self.assertUser(s["user"])
        if user is not None:
            self.assertEqual(s["user"], user, "the session's user")
        return s["token"]

    def assertUnauthorized(self, r, msg=None):
        """401 unauthorized with WWW-Authenticate: Bearer realm="arcade"."""
        self.assertError(r, 401, "unauthorized", msg=msg)
        www = r.header("WWW-Authenticate") or ""
        self.assertTrue(www.startswith('Bearer realm="arcade"'),
                        "%sWWW-Authenticate %r in %r" % (msg + ": " if msg else "", www, r))

    def assertInvalidCredentials(self, r, msg=None):
        self.assertError(r, 401, "invalid_credentials", msg=msg)
        self.assertEqual(r.json["error"]["message"], "email or password is wrong")
        www = r.header("WWW-Authenticate") or ""
        self.assertTrue(www.startswith('Bearer realm="arcade"'),
                        "%severy 401 carries WWW-Authenticate: Bearer realm=\"arcade\"; got %r "
                        "in %r" % (msg + ": " if msg else "", www, r))

    def assertForbidden(self, r, msg=None):
        self.assertError(r, 403, "forbidden", msg=msg)

    def assertAddress(self, a, expect=None):
        self.assertIsInstance(a, dict, a)
        self.assertEqual(set(a), ADDRESS_FIELDS, "address keys of %r" % (a,))
        self.assertTrue(is_int(a["id"]) and a["id"] > 0, "id %r" % (a["id"],))
        for k in ADDRESS_FIELDS - {"id", "created_at"}:
            self.assertIsInstance(a[k], str, "%s of %r" % (k, a))
        self.assertRegex(a["country"], r"^[A-Z]{2}$")
        self.assertTime(a["created_at"], "created_at")
        for k, v in (expect or {}).items():
            self.assertEqual(a[k], v, "%s of %r" % (k, a))

    def assertRetryAfter(self, r, upper=None):
        """429 too_many_requests with Retry-After: integer seconds >= 1; returns it."""
        self.assertError(r, 429, "too_many_requests")
        ra = r.header("Retry-After")
        self.assertIsNotNone(ra, "no Retry-After in %r" % (r,))
        self.assertRegex(ra.strip(), r"^[0-9]+$", "Retry-After must be integer seconds")
        secs = int(ra.strip())
        self.assertGreaterEqual(secs, 1, "Retry-After %r" % ra)
        if upper is not None:
            self.assertLessEqual(secs, upper, "Retry-After %r (ARCADE_LOGIN_LOCK_SECONDS)" % ra)
        return secs


def login_lock_seconds():
    """ARCADE_LOGIN_LOCK_SECONDS of the fleet (fleet.env, else this process's
    environment, else the default 300)."""
    v = fleet_env().get("ARCADE_LOGIN_LOCK_SECONDS") or os.environ.get("ARCADE_LOGIN_LOCK_SECONDS")
    return int(v) if v and v.isdigit() else 300


def users_limit(name, default):
    """A users service limit (ARCADE_LOGIN_RATE, …) of the fleet: fleet.env,
    else this process's environment (the ctest fleet's), else the default."""
    v = fleet_env().get(name) or os.environ.get(name)
    return int(v) if v and v.isdigit() else default


def users_db(sql):
    """Runs sql in the users schema as the service's own user (the mariadb
    client, over the fleet's socket); returns the rows as lists of strings."""
    return service_db("users", sql)


def service_db(service, sql):
    """Runs sql in arcade_<service> as the service's own user; rows as lists of strings."""
    env = fleet_env()
    cp = subprocess.run(["mariadb", "--no-defaults", "--socket=" + env["ARCADE_DB_SOCKET"],
                         "-u", "arcade_" + service, "--batch", "--skip-column-names",
                         "arcade_" + service, "-e", sql],
                        env=dict(os.environ, MYSQL_PWD=env.get(
                            "ARCADE_DB_PASSWORD_" + service.upper(), "")),
                        capture_output=True, text=True, timeout=30)
    if cp.returncode != 0:
        raise AssertionError("mariadb: %s" % cp.stderr.strip())
    return [line.split("\t") for line in cp.stdout.splitlines()]


def session_ttl():
    """ARCADE_SESSION_TTL of the fleet (fleet.env, else this process's environment,
    else the default 86400)."""
    v = fleet_env().get("ARCADE_SESSION_TTL") or os.environ.get("ARCADE_SESSION_TTL")
    return int(v) if v and v.isdigit() else 86400


# --- Payments and the gateway emulator (issue 10, docs/payments-api.md) ----------------

PAYMENTS = API + "/payments"
GATEWAY_WEBHOOK = API + "/webhooks/gateway"
PAYMENTS_HEALTH = "/health/payments"
PAYMENT_FIELDS = frozenset({"id", "order_id", "status", "amount", "currency", "failure_code",
                            "next_action", "gateway_reference", "created_at", "updated_at"})
REFUND_FIELDS = frozenset({"id", "payment_id", "amount", "status", "created_at"})
PAYMENT_STATUSES = frozenset({"processing", "requires_action", "succeeded", "failed",
                              "canceled", "refunded", "partially_refunded"})


def gateway_url():
    return env_value("ARCADE_GATEWAY_URL", reload=True).rstrip("/")


def gateway_secret_key():
    return env_value("ARCADE_GATEWAY_SECRET_KEY")


def webhook_secret():
    return env_value("ARCADE_GATEWAY_WEBHOOK_SECRET")


def gateway(method, path, form=None, key=_MISSING, idem=None, timeout=HTTP_TIMEOUT):
    """One request to the emulator in Stripe's protocol: form-encoded body,
    Authorization: Bearer <the fleet's secret key> (key=None sends none)."""
    headers = {}
    k = gateway_secret_key() if key is _MISSING else key
    if k is not None:
        headers["Authorization"] = "Bearer " + k
    if idem:
        headers["Idempotency-Key"] = idem
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return request(method, path, body=body, headers=headers, base=gateway_url(), timeout=timeout)


def _ledger_list(path, params):
    """Every object of a Stripe list endpoint (limit=100 pages, starting_after)."""
    out, after = [], None
    while True:
        q = dict(params, limit=100)
        if after:
            q["starting_after"] = after
        r = gateway("GET", path + "?" + urllib.parse.urlencode(q))
        if r.status != 200 or not isinstance(r.json, dict) or r.json.get("object") != "list":
            raise AssertionError("GET %s on the emulator: %r" % (path, r))
        out += r.json["data"]
        if not r.json.get("has_more") or not r.json["data"]:
            return out
        after = r.json["data"][-1]["id"]


def ledger_charges(payment_intent=None):
    """The emulator's charges (all, or one payment intent's), read as from Stripe."""
    return _ledger_list("/v1/charges", {"payment_intent": payment_intent} if payment_intent
                        else {})


def ledger_charges_of_order(order_id):
    """The charges whose payment intent carries metadata[order_id] = order_id."""
    return [c for c in ledger_charges()
            if str((c.get("metadata") or {}).get("order_id")) == str(order_id)]


def ledger_refunds(payment_intent):
    return _ledger_list("/v1/refunds", {"payment_intent": payment_intent})


def emulator_faults(body):
    """POST /_emulator/faults (JSON); DELETE with body None."""
    if body is None:
        r = request("DELETE", "/_emulator/faults", base=gateway_url())
    else:
        r = request("POST", "/_emulator/faults", json_body=body, base=gateway_url())
    if r.status not in (200, 204):
        raise AssertionError("emulator faults %r: %r" % (body, r))
    return r


def emulator_authenticate(pi_id, outcome):
    """The customer completes (outcome "complete") or fails ("fail") 3-D Secure."""
    r = request("POST", "/_emulator/authenticate/%s/%s" % (pi_id, outcome), body=b"",
                base=gateway_url())
    if r.status not in (200, 204, 302, 303):
        raise AssertionError("3-D Secure %s of %s: %r" % (outcome, pi_id, r))
    return r


def stripe_signature(body, secret=None, t=None):
    """Stripe-Signature for raw body bytes: t=<unix>,v1=<HMAC-SHA256(secret, "t.body")>."""
    import hashlib
    import hmac
    t = int(time.time()) if t is None else int(t)
    secret = webhook_secret() if secret is None else secret
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def gateway_event(type_, obj, event_id=None):
    return {"id": event_id or "evt_test_%s" % uuid.uuid4().hex, "object": "event",
            "type": type_, "created": int(time.time()), "data": {"object": obj},
            "livemode": False, "api_version": "2024-06-20"}


def post_webhook(event, signature=_MISSING, raw=None):
    """POSTs an event (dict, or raw bytes) to the payments' webhook endpoint, signed
    with the fleet's webhook secret unless signature says otherwise (None: no header)."""
    body = raw if raw is not None else json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    sig = stripe_signature(body) if signature is _MISSING else signature
    if sig is not None:
        headers["Stripe-Signature"] = sig
    return request("POST", GATEWAY_WEBHOOK, body=body, headers=headers)


def awaiting_payment_order(who, price=1234, quantity=1, on_hand=10, timeout=30):
    """A fresh product and an order of it by who, once it is awaiting_payment:
    (order, product)."""
    p = create_product(price=price, on_hand=on_hand)
    body = {"shipping_address": {"name": "Ada Lovelace", "line1": "12 Test Street",
                                 "line2": "", "city": "Berlin", "postal_code": "10115",
                                 "country": "DE", "phone": "+49 30 123456"},
            "items": [{"product_id": p["id"], "quantity": quantity}]}
    r = post(API + "/orders", body, headers=dict(who.headers,
                                                 **{"Idempotency-Key": uuid.uuid4().hex}))
    if r.status != 201:
        raise AssertionError("checkout failed: %r" % (r,))
    oid = r.json["id"]
    out = {}

    def ready():
        o = get("%s/orders/%d" % (API, oid), headers=who.headers).json
        out["o"] = o
        return o["status"] != "pending"
    wait_until(ready, timeout=timeout, interval=0.05, message="order %d to settle" % oid)
    if out["o"]["status"] != "awaiting_payment":
        raise AssertionError("order %d is %s, not awaiting_payment" % (oid, out["o"]["status"]))
    return out["o"], p


def pay(who, order_id, payment_method="pm_card_visa", idem=_MISSING, body=None,
        timeout=30):
    """POST /payments as who (an Account or None); a fresh Idempotency-Key unless idem
    is given (None: no header)."""
    h = dict(who.headers) if who is not None else {}
    k = uuid.uuid4().hex if idem is _MISSING else idem
    if k is not None:
        h["Idempotency-Key"] = k
    return post(PAYMENTS, body if body is not None else
                {"order_id": order_id, "payment_method": payment_method},
                headers=h, timeout=timeout)
