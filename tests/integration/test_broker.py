"""The fleet's private RabbitMQ node (docs/fleet.md, "The broker").

It speaks AMQP 0-9-1 on ARCADE_AMQP_PORT, on 127.0.0.1 only (and so do its Erlang
distribution port and its epmd); it knows the application user of fleet.env and no
guest; `arcade svc stop|start rabbitmq` stops and starts it, and the catalog does not
depend on it (yet). Raw sockets only: the frames this needs are a few bytes.
"""

import fcntl
import os
import socket
import struct
import unittest
import urllib.parse

from arcadetest import (CLOSE, CONNECTION, FRAME_END, FRAME_METHOD, HEALTH, START, START_OK, TUNE,
                        ArcadeTestCase, amqp_port, arcade, env_value, fleet_env, get, longstr,
                        method_of, open_amqp, read_frame, shortstr, wait_until)

def login(user, password, port=None):
    """'tune' when the broker accepts PLAIN user/password (it goes on with
    Connection.Tune), 'refused' when it closes the connection or sends
    Connection.Close."""
    s, (ftype, _, payload) = open_amqp(port or amqp_port())
    try:
        if ftype != FRAME_METHOD or method_of(payload) != (CONNECTION, START):
            raise AssertionError("no Connection.Start: %r %r" % (ftype, payload[:16]))
        args = (struct.pack("!HH", CONNECTION, START_OK) + struct.pack("!I", 0)  # no properties
                + shortstr(b"PLAIN") + longstr(b"\0" + user.encode() + b"\0" + password.encode())
                + shortstr(b"en_US"))
        s.sendall(struct.pack("!BHI", FRAME_METHOD, 0, len(args)) + args + bytes([FRAME_END]))
        try:
            ftype, _, payload = read_frame(s)
        except (ConnectionError, OSError):
            return "refused"
        if ftype == FRAME_METHOD and method_of(payload) == (CONNECTION, TUNE):
            return "tune"
        if ftype == FRAME_METHOD and method_of(payload) == (CONNECTION, CLOSE):
            return "refused"
        raise AssertionError("unexpected frame %r %r" % (ftype, payload[:16]))
    finally:
        s.close()


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def listeners(port):
    """Local addresses (hex, as in /proc/net/tcp[6]) listening on port."""
    found = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    addr, hexport = fields[1].split(":")
                    if fields[3] == "0A" and int(hexport, 16) == port:
                        found.append(addr)
        except OSError:
            continue
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


def machine_ipv4_addresses():
    """Every IPv4 address of the machine's interfaces but loopback's."""
    out = []
    for _, name in socket.if_nameindex():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            r = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
        except OSError:
            continue
        finally:
            s.close()
        addr = socket.inet_ntoa(r[20:24])
        if not addr.startswith("127."):
            out.append(addr)
    return out


class BrokerTest(ArcadeTestCase):

    def test_connection_start(self):
        s, (ftype, channel, payload) = open_amqp(amqp_port())
        s.close()
        self.assertEqual(ftype, FRAME_METHOD, "frame type")
        self.assertEqual(channel, 0, "channel")
        self.assertEqual(method_of(payload), (CONNECTION, START), "Connection.Start")
        self.assertEqual(payload[4:6], b"\x00\x09", "version 0-9")

    def test_loopback_only(self):
        env = fleet_env(reload=True)
        ports = {k: int(env[k]) for k in ("ARCADE_AMQP_PORT", "ARCADE_AMQP_DIST_PORT",
                                           "ARCADE_EPMD_PORT")}
        for key, port in ports.items():
            found = listeners(port)
            self.assertTrue(found, "nothing listens on %s %d" % (key, port))
            self.assertEqual(set(found) - LOOPBACK, set(),
                             "%s %d listens beyond loopback: %r" % (key, port, found))
        for addr in machine_ipv4_addresses():
            for key, port in ports.items():
                self.assertFalse(port_open(port, addr), "%s answers on %s:%d" % (key, addr, port))

    def test_users(self):
        env = fleet_env(reload=True)
        user, password = env["ARCADE_AMQP_USER"], env["ARCADE_AMQP_PASSWORD"]
        self.assertEqual(login(user, password), "tune", "the application user logs in")
        self.assertEqual(login(user, password + "x"), "refused", "a wrong password")
        self.assertEqual(login("guest", "guest"), "refused", "guest is gone")

    def test_url_in_pools(self):
        env = fleet_env(reload=True)
        url = env["ARCADE_AMQP_URL"]
        u = urllib.parse.urlsplit(url)
        self.assertEqual((u.scheme, u.hostname, u.port), ("amqp", "127.0.0.1", amqp_port()))
        self.assertEqual((u.username, u.password), (env["ARCADE_AMQP_USER"],
                                                    env["ARCADE_AMQP_PASSWORD"]))
        self.assertEqual(urllib.parse.unquote(u.path[1:]), "/", "the default vhost")
        run = os.path.dirname(env["ARCADE_DB_SOCKET"])
        with open(os.path.join(run, "catalog.pid"), encoding="ascii") as f:
            pid = int(f.read().strip())
        with open("/proc/%d/environ" % pid, "rb") as f:
            environ = f.read().split(b"\0")
        self.assertIn(b"ARCADE_AMQP_URL=" + url.encode(), environ, "the catalog pool's environment")

    def test_stop_start(self):
        port = amqp_port()
        epmd = int(env_value("ARCADE_EPMD_PORT"))
        arcade("svc", "stop", "rabbitmq", timeout=120)
        self.addCleanup(lambda: arcade("svc", "start", "rabbitmq", check=False, timeout=120))
        self.assertFalse(port_open(port), "the AMQP port is closed")
        self.assertFalse(port_open(epmd), "epmd is stopped too")
        r = get(HEALTH)
        self.assertEqual(r.status, 200, "the catalog does not need the broker: %r" % (r,))
        st = arcade("status", check=False)
        self.assertRegex(st.stdout, r"(?m)^rabbitmq\s+stopped")
        arcade("svc", "start", "rabbitmq", timeout=120)
        s, (ftype, _, payload) = open_amqp(port)
        s.close()
        self.assertEqual((ftype, method_of(payload)), (FRAME_METHOD, (CONNECTION, START)))
        wait_until(lambda: get(HEALTH).status == 200, message="catalog healthy")
        st = arcade("status", check=False)
        self.assertRegex(st.stdout, r"(?m)^rabbitmq\s+running\s+\d+\s+127\.0\.0\.1:%d .*ok" % port)


if __name__ == "__main__":
    unittest.main()
