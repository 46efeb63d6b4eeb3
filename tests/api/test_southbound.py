# SPDX-License-Identifier: Apache-2.0
"""The southbound service (docs/southbound.md), driven by fake agents written
here: hello and snapshot, deltas after API writes, reconnects, liveness in
the agents API, port status, protocol violations and port statistics."""

import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import WEFTCTL, Api, Weftd, neutron_error


class FakeAgent:
    """One agent connection on weftd's unix socket."""

    def __init__(self, weftd, host, underlay_ip="192.0.2.11"):
        self.host = host
        self.underlay_ip = underlay_ip
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(weftd.sb_path)
        self.buf = b""
        self.revision = 0
        # Heartbeats go out while the test waits for messages, as a real
        # agent's would.
        self.auto_heartbeat = True
        self.last_sent = time.time()

    def send(self, msg):
        self.send_raw(json.dumps(msg).encode() + b"\n")

    def send_raw(self, data):
        self.sock.sendall(data)
        self.last_sent = time.time()

    def read(self, timeout=5.0):
        """The next message from weftd (heartbeats included); None at EOF."""
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no message from weftd within %.1f s" % timeout)
            if self.auto_heartbeat and time.time() - self.last_sent > 0.5:
                try:
                    self.send({"type": "heartbeat"})
                except OSError:
                    return None
            self.sock.settimeout(min(left, 0.25))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        if msg.get("type") in ("snapshot", "delta", "heartbeat"):
            self.revision = msg["revision"]
        return msg

    def next(self, timeout=5.0, types=("snapshot", "delta", "stats_request")):
        """The next message of 'types', skipping heartbeats."""
        deadline = time.time() + timeout
        while True:
            msg = self.read(max(0.01, deadline - time.time()))
            if msg is None or msg["type"] in types:
                return msg

    def quiet(self, seconds=0.5):
        """Asserts that nothing but heartbeats arrives for 'seconds'."""
        try:
            msg = self.next(seconds)
        except TimeoutError:
            return
        raise AssertionError("unexpected message %r" % (msg,))

    def hello(self, revision=0, gateway=False, uplink_ip=None):
        msg = {"type": "hello", "version": 1, "host": self.host,
               "underlay_ip": self.underlay_ip, "revision": revision,
               "gateway": gateway}
        if uplink_ip is not None:
            msg["uplink_ip"] = uplink_ip
        self.send(msg)
        msg = self.next()
        assert msg is not None and msg["type"] in ("snapshot", "delta"), msg
        return msg

    def closed(self, timeout=5.0):
        """True when weftd closes the connection within 'timeout'."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                if self.read(max(0.01, deadline - time.time())) is None:
                    return True
        except TimeoutError:
            pass
        return False

    def close(self):
        self.sock.close()


@pytest.fixture
def sb(tmp_path):
    d = Weftd(tmp_path, extra_args=["--agent-down-time", "2"]).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())
    assert not os.path.exists(d.sb_path), "weftd left its socket behind"


@pytest.fixture
def api(sb):
    return Api(sb.url)


def network(api, cidr="10.0.0.0/24"):
    net = api.create("network", name="n")
    sn = api.create("subnet", network_id=net["id"], ip_version=4, cidr=cidr)
    net["subnets"] = [sn["id"]]
    return net


def port(api, net, host="", **kw):
    return api.create("port", network_id=net["id"], **{"binding:host_id": host}, **kw)


def keys(objects):
    return sorted(o["key"] for o in objects)


def default_sg(api):
    """The key of the caller's default security group (ports get it)."""
    groups = api.get("/v2.0/security-groups", params={"name": "default"}).json()
    return "secgroup:" + groups["security_groups"][0]["id"]


def by_key(objects):
    return {o["key"]: o for o in objects}


def test_hello_snapshot(sb, api):
    net = network(api)
    other = network(api, "10.1.0.0/24")
    p1 = port(api, net, "h1", allowed_address_pairs=[{"ip_address": "10.9.0.0/24"}])
    p2 = port(api, net, "h2")
    port(api, net)  # unbound: never in a view
    port(api, other, "h2")  # a network h1 takes no part in

    a = FakeAgent(sb, "h1")
    snap = a.hello()
    assert snap["type"] == "snapshot"
    assert snap["revision"] > 0
    objs = by_key(snap["objects"])
    # h2 has no agent: its port is sent, its host object is not.
    assert sorted(objs) == sorted(["network:" + net["id"], "subnet:" + net["subnets"][0],
                                   "port:" + p1["id"], "port:" + p2["id"], "host:h1",
                                   default_sg(api)])
    assert objs["host:h1"] == {"key": "host:h1", "kind": "host", "name": "h1",
                               "underlay_ip": "192.0.2.11"}
    n = objs["network:" + net["id"]]
    assert n == {"key": "network:" + net["id"], "kind": "network", "id": net["id"],
                 "vni": net["provider:segmentation_id"], "mtu": net["mtu"]}
    p = objs["port:" + p1["id"]]
    assert p == {
        "key": "port:" + p1["id"], "kind": "port", "id": p1["id"],
        "network_id": net["id"], "vni": net["provider:segmentation_id"],
        "mac": p1["mac_address"], "ips": [p1["fixed_ips"][0]["ip_address"]],
        "host": "h1", "admin_state_up": True, "port_security": True,
        "allowed_address_pairs": [{"ip_address": "10.9.0.0/24",
                                   "mac_address": p1["mac_address"]}],
        "tap": "tap" + p1["id"][:11], "security_groups": p1["security_groups"],
    }
    assert objs["port:" + p2["id"]]["host"] == "h2"

    # h2 registers: its host object appears in h1's view.
    b = FakeAgent(sb, "h2", "192.0.2.12")
    snap_b = b.hello()
    assert "host:h1" in by_key(snap_b["objects"]) and "host:h2" in by_key(snap_b["objects"])
    # Both networks and their subnets, the three bound ports, both hosts,
    # the default security group.
    assert len(snap_b["objects"]) == 10
    d = a.next()
    assert d["type"] == "delta"
    assert d["delete"] == []
    assert d["upsert"] == [{"key": "host:h2", "kind": "host", "name": "h2",
                            "underlay_ip": "192.0.2.12"}]
    a.close()
    b.close()


def test_deltas_follow_api_writes(sb, api):
    a = FakeAgent(sb, "h1")
    assert a.hello()["objects"] == []
    net = network(api)
    a.quiet(0.3)  # a network without ports here is not h1's business

    p = port(api, net, "h1")
    d = a.next()
    assert d["type"] == "delta" and d["delete"] == []
    sg = default_sg(api)
    assert keys(d["upsert"]) == sorted(["network:" + net["id"], "subnet:" + net["subnets"][0],
                                        "port:" + p["id"], "host:h1", sg])
    rev = d["revision"]

    # q joins the default group: its members change too.
    q = port(api, net, "elsewhere")
    d = a.next()
    assert keys(d["upsert"]) == sorted(["port:" + q["id"], sg]) and d["revision"] > rev

    r = api.put("/v2.0/ports/" + q["id"], {"port": {"admin_state_up": False}})
    assert r.status_code == 200, r.text
    d = a.next()
    assert keys(d["upsert"]) == ["port:" + q["id"]]
    assert d["upsert"][0]["admin_state_up"] is False

    # A change that does not alter the view sends nothing.
    r = api.put("/v2.0/ports/" + q["id"], {"port": {"name": "renamed"}})
    assert r.status_code == 200, r.text
    a.quiet(0.3)

    assert api.delete("/v2.0/ports/" + q["id"]).status_code == 204
    d = a.next()
    assert keys(d["upsert"]) == [sg] and d["delete"] == ["port:" + q["id"]]

    assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
    d = a.next()
    assert d["upsert"] == []
    assert sorted(d["delete"]) == sorted(["network:" + net["id"], "subnet:" + net["subnets"][0],
                                          "port:" + p["id"], "host:h1", sg])

    # Heartbeats carry the revision the agent's view is exact at.
    hb = a.next(4, types=("heartbeat",))
    assert hb["revision"] >= d["revision"]
    a.close()


def test_reconnect_gets_delta(sb, api):
    net = network(api)
    p = port(api, net, "h1")
    a = FakeAgent(sb, "h1")
    snap = a.hello()
    rev = snap["revision"]
    a.close()
    q = port(api, net, "h1")

    b = FakeAgent(sb, "h1")
    d = b.hello(revision=rev)
    assert d["type"] == "delta", d
    assert keys(d["upsert"]) == sorted(["port:" + q["id"], default_sg(api)])
    assert d["delete"] == []
    b.close()

    # Nothing changed: an empty delta still answers the hello.
    c = FakeAgent(sb, "h1")
    d = c.hello(revision=d["revision"])
    assert d["type"] == "delta" and d["upsert"] == [] and d["delete"] == []
    c.close()

    # An unknown revision gets a snapshot.
    e = FakeAgent(sb, "h1")
    s = e.hello(revision=12345)
    assert s["type"] == "snapshot"
    assert "port:" + p["id"] in by_key(s["objects"])
    e.close()


def agent_of(api, host):
    r = api.get("/v2.0/agents", params={"host": host})
    assert r.status_code == 200, r.text
    (agent,) = r.json()["agents"]
    return agent


def wait_for(predicate, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_agent_registration_and_alive(sb, api):
    a = FakeAgent(sb, "h1")
    a.hello(gateway=True, uplink_ip="203.0.113.2")
    ag = agent_of(api, "h1")
    assert ag["alive"] is True
    assert ag["agent_type"] == "weft agent" and ag["binary"] == "weft-agent"
    assert ag["topic"] == "weft" and ag["admin_state_up"] is True
    assert ag["configurations"] == {"underlay_ip": "192.0.2.11", "gateway": True,
                                    "uplink_ip": "203.0.113.2", "gateway_slot": 0}
    for k in ("id", "heartbeat_timestamp", "started_at", "created_at", "revision_number"):
        assert ag[k], k
    assert [x["host"] for x in api.get("/v2.0/agents", params={"alive": "true"}).json()["agents"]] == ["h1"]

    # Heartbeats keep it alive past the down time (2 s here).
    for _ in range(6):
        a.send({"type": "heartbeat"})
        time.sleep(0.5)
    assert agent_of(api, "h1")["alive"] is True

    # Silence: dead after the down time, and weftd closes the connection.
    a.auto_heartbeat = False
    assert wait_for(lambda: agent_of(api, "h1")["alive"] is False, 5)
    assert a.closed(5)

    # The same host reconnecting keeps its id; a disconnect is dead at once.
    b = FakeAgent(sb, "h1", "192.0.2.99")
    b.hello()
    again = agent_of(api, "h1")
    assert again["id"] == ag["id"] and again["alive"] is True
    assert again["configurations"] == {"underlay_ip": "192.0.2.99", "gateway": False}
    assert again["revision_number"] > ag["revision_number"]
    b.close()
    assert wait_for(lambda: agent_of(api, "h1")["alive"] is False, 2)


def test_port_status(sb, api):
    net = network(api)
    p = port(api, net, "h1")
    q = port(api, net, "h2")
    assert p["status"] == "DOWN"
    a = FakeAgent(sb, "h1")
    a.hello()
    a.send({"type": "port_status", "port_id": p["id"], "status": "ACTIVE"})
    assert wait_for(lambda: api.get("/v2.0/ports/" + p["id"]).json()["port"]["status"] == "ACTIVE")
    got = api.get("/v2.0/ports/" + p["id"]).json()["port"]
    assert got["revision_number"] == p["revision_number"] + 1

    # A port bound elsewhere, or unknown, is ignored; the agent stays.
    a.send({"type": "port_status", "port_id": q["id"], "status": "ACTIVE"})
    a.send({"type": "port_status", "port_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
             "status": "ACTIVE"})
    a.send({"type": "port_status", "port_id": p["id"], "status": "DOWN"})
    assert wait_for(lambda: api.get("/v2.0/ports/" + p["id"]).json()["port"]["status"] == "DOWN")
    assert api.get("/v2.0/ports/" + q["id"]).json()["port"]["status"] == "DOWN"
    assert agent_of(api, "h1")["alive"] is True
    a.close()


@pytest.mark.parametrize("line", [
    b"not json\n",
    b"[1, 2]\n",
    b'{"no_type": 1}\n',
    b'{"type": "frobnicate"}\n',
    b'{"type": "snapshot", "revision": 1, "objects": []}\n',
    b'{"type": "port_status", "port_id": 5, "status": "ACTIVE"}\n',
    b'{"type": "port_status", "port_id": "x", "status": "UP"}\n',
    b'{"type": "hello", "version": 1, "host": "h9", "underlay_ip": "192.0.2.9", "revision": 0}\n',
    b"x" * (1024 * 1024 + 10) + b"\n",
], ids=["not-json", "array", "no-type", "unknown-type", "weftd-only-type",
        "wrong-field-type", "bad-values", "second-hello", "over-1MiB"])
def test_protocol_violation_closes_only_that_connection(sb, api, line):
    good = FakeAgent(sb, "h1")
    good.hello()
    bad = FakeAgent(sb, "h2", "192.0.2.12")
    bad.hello()
    try:
        bad.send_raw(line)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert bad.closed()
    assert "protocol violation" in sb.log()

    net = network(api)
    p = port(api, net, "h1")
    d = good.next()
    assert "port:" + p["id"] in keys(d["upsert"])
    good.close()


def test_message_before_hello_closes(sb, api):
    a = FakeAgent(sb, "h1")
    a.send({"type": "heartbeat"})
    assert a.closed()
    assert "before hello" in sb.log()


STATS = {"rx_packets": 10, "rx_bytes": 1000, "tx_packets": 7, "tx_bytes": 700,
         "drops": {"src_mac": 2, "arp_spoof": 0}}


def answer_request(agent, type_, reply, linger=0.0, types=None):
    """Serves one request of 'type_' in a thread with 'reply(request)'
    (nothing is sent when it returns None); then keeps reading (so heartbeats
    go on) for 'linger' seconds. The request must be the next message of
    'types' (by default just 'type_': others are skipped). Returns the thread
    and a dict that gets the request's members."""
    seen = {}

    def run():
        req = agent.next(types=types or (type_,))
        assert req is not None and req["type"] == type_, req
        seen.update(req)
        msg = reply(req)
        if msg is not None:
            agent.send(msg)
        end = time.time() + linger
        while time.time() < end:
            try:
                agent.read(timeout=max(0.05, min(0.3, end - time.time())))
            except TimeoutError:
                pass
    t = threading.Thread(target=run)
    t.start()
    return t, seen


def answer_stats(agent, reply, linger=0.0):
    """Serves one stats_request, which must be the next snapshot, delta or
    request weftd sends; see answer_request()."""
    return answer_request(agent, "stats_request", reply, linger,
                          types=("snapshot", "delta", "stats_request"))[0]


def test_port_stats(sb, api):
    net = network(api)
    p = port(api, net, "h1")
    unbound = port(api, net)
    away = port(api, net, "h3")
    a = FakeAgent(sb, "h1")
    a.hello()

    t = answer_stats(a, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "port_id": req["port_id"], "stats": STATS})
    r = api.get("/v2.0/ports/%s/stats" % p["id"])
    t.join()
    assert r.status_code == 200, r.text
    assert r.json() == {"stats": STATS}

    t = answer_stats(a, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "error": "no tap for this port"})
    r = api.get("/v2.0/ports/%s/stats" % p["id"])
    t.join()
    err = neutron_error(r, 409)
    assert "no tap" in err["message"]

    neutron_error(api.get("/v2.0/ports/%s/stats" % unbound["id"]), 409, "PortNotBound")
    neutron_error(api.get("/v2.0/ports/%s/stats" % away["id"]), 409, "AgentNotConnected")
    neutron_error(api.get("/v2.0/ports/%s/stats" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12)),
                  404, "PortNotFound")

    # No answer: 504 after 3 s, and a late answer is ignored.
    late = {}
    # The agent stays alive (heartbeats) past weftd's 3 s stats timeout.
    t = answer_stats(a, lambda req: late.update(req) or None, linger=4.0)
    t0 = time.time()
    r = api.get("/v2.0/ports/%s/stats" % p["id"])
    t.join()
    neutron_error(r, 504)
    assert 2.5 < time.time() - t0 < 10
    a.send({"type": "stats_reply", "request_id": late["request_id"],
            "port_id": p["id"], "stats": STATS})

    # weftctl port stats prints the counters and the drops by reason.
    t = answer_stats(a, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "port_id": req["port_id"], "stats": STATS})
    out = subprocess.run([WEFTCTL, "--url", sb.url, "port", "stats", p["id"]],
                         capture_output=True, text=True, timeout=30)
    t.join()
    assert out.returncode == 0, out.stderr
    assert "rx_packets" in out.stdout and "1000" in out.stdout
    assert "drops: src_mac" in out.stdout
    a.close()


def test_stats_agent_disconnects(sb, api):
    net = network(api)
    p = port(api, net, "h1")
    a = FakeAgent(sb, "h1")
    a.hello()
    t = answer_stats(a, lambda req: a.close())
    r = api.get("/v2.0/ports/%s/stats" % p["id"])
    t.join()
    neutron_error(r, 409, "AgentNotConnected")


def test_stale_socket_replaced_and_live_one_refused(tmp_path):
    d = Weftd(tmp_path)
    # A stale socket file (nobody listening) is replaced.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(d.sb_path)
    s.close()
    d.start()
    try:
        a = FakeAgent(d, "h1")
        assert a.hello()["type"] == "snapshot"
        a.close()
        # A second weftd on the same socket is refused.
        (tmp_path / "x").mkdir()
        args = Weftd(tmp_path / "x").args()
        args[args.index("--southbound") + 1] = "unix:" + d.sb_path
        out = subprocess.run(args, capture_output=True, text=True, timeout=20)
        assert out.returncode != 0
        assert "another process serves" in out.stderr
    finally:
        assert d.stop() == 0, d.log()
