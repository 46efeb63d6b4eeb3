# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of security groups and connection tracking
(docs/security-groups.md), in one 3-host lab. Groups and rules are made with
weftctl, the rest through the API and weft-lab.

Two tenants, on purpose with the same addresses (10.0.0.0/24):

    acme    d1 10.0.0.11 host1  group default
            d2 10.0.0.12 host2  group default
            w1 10.0.0.21 host3  group web (no ingress rule but those the
                                tests add), runs the TCP servers
            c1 10.0.0.31 host1  group clients (no ingress rule)
            c2 10.0.0.32 host2  group other (no ingress rule)
            o1 10.0.0.41 host2  group open (ingress from anywhere)
            p1 10.0.0.51 host1  port security off (sends what it likes)
    globex  gw 10.0.0.21 host2  group web (globex's own, no ingress rule)
            gc 10.0.0.31 host1  group default

Every test that adds a rule deletes it again, so that the tests do not
depend on each other's rules; the test that kills an agent comes last
(pytest runs a module's tests in file order). Servers and clients run in
the VMs as python3 (standard library) or iperf3 and are stopped by pid."""

import json
import os
import re
import shutil
import time

import pytest

from conftest import (API_URL, PYTHON, IntervalReader, drop_count, lab, logs_tail, ping, port_stats, stop_bg,
                      vm_exec, vm_popen, wait_ping, wait_port_status, weftctl, weftctl_as)
import weftlab

VMS = {
    # name: (tenant, address, host, groups or None for port security off)
    "d1": ("acme", "10.0.0.11", "host1", ["default"]),
    "d2": ("acme", "10.0.0.12", "host2", ["default"]),
    "w1": ("acme", "10.0.0.21", "host3", ["web"]),
    "c1": ("acme", "10.0.0.31", "host1", ["clients"]),
    "c2": ("acme", "10.0.0.32", "host2", ["other"]),
    "o1": ("acme", "10.0.0.41", "host2", ["open"]),
    "p1": ("acme", "10.0.0.51", "host1", None),
    "gw": ("globex", "10.0.0.21", "host2", ["web"]),
    "gc": ("globex", "10.0.0.31", "host1", ["default"]),
}
W1 = "10.0.0.21"

# A TCP server for the VMs: listens on every port given, accepts any number
# of connections and echoes what they send; prints 'ready'.
TCP_SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(64)
    sel.register(s, selectors.EVENT_READ, "listen")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data == "listen":
            c, _ = key.fileobj.accept()
            sel.register(c, selectors.EVENT_READ, "conn")
        else:
            try:
                data = key.fileobj.recv(65536)
                if data:
                    key.fileobj.sendall(data)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
"""

# One TCP connection attempt: prints open, refused or timeout.
TCP_PROBE = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
"""

# A long-lived connection to TCP_SERVER: connects, then sends a line every
# 0.2 s for argv[3] seconds and waits for its echo (1 s at most), printing
# 'connected SPORT' first and 'sent N' at the end; a lost echo or a failed
# send prints 'broken ...' and exits with 1.
TCP_STREAM = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(1.0)
print("connected %d" % s.getsockname()[1], flush=True)
end = time.monotonic() + float(sys.argv[3])
n = 0
line = b"weft-e2e-stream\n"
try:
    while time.monotonic() < end:
        s.sendall(line)
        got = b""
        while len(got) < len(line):
            chunk = s.recv(len(line) - len(got))
            if not chunk:
                raise OSError("closed by the server")
            got += chunk
        n += 1
        time.sleep(0.2)
    print("sent %d" % n, flush=True)
except OSError as e:
    print("broken after %d: %s" % (n, e), flush=True)
    sys.exit(1)
"""


def sg_cmd(tenant, *args, check=True):
    """weftctl security group ARGS... as 'tenant'."""
    return weftctl_as(tenant, "security", "group", *args, check=check)


def sg_json(tenant, *args):
    return json.loads(sg_cmd(tenant, *args, "-o", "json").stdout)


def add_rule(tenant, group, *args):
    """Creates a rule in 'group' with weftctl; returns its id."""
    return sg_json(tenant, "rule", "create", group, *args)["id"]


def delete_rule(tenant, rule_id):
    sg_cmd(tenant, "rule", "delete", rule_id)


def tcp_probe(vm, addr, port, timeout=1.0):
    """'open', 'refused' or 'timeout': one connection attempt from 'vm'."""
    p = vm_exec(vm, [PYTHON, "-c", TCP_PROBE, addr, port, timeout], timeout=30)
    return p.stdout.strip()


def wait_probe(vm, addr, port, want, timeout=8.0):
    """Probes until the answer is 'want' (the agents apply a change within
    moments of the API's answer); fails the test otherwise."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = tcp_probe(vm, addr, port)
        if got == want:
            return
        time.sleep(0.2)
    pytest.fail("%s -> %s:%d is %s, not %s, after %g s\n%s" % (vm, addr, port, got, want, timeout,
                                                              logs_tail()))


class Server:
    """TCP_SERVER in a VM, on 'ports'."""

    def __init__(self, vm, ports):
        self.proc = vm_popen(vm, [PYTHON, "-c", TCP_SERVER] + list(ports))
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            stop_bg(self.proc)
            pytest.fail("TCP server in %s did not start: %r %s" % (vm, line, self.proc.stderr.read()))

    def stop(self):
        stop_bg(self.proc)


@pytest.fixture
def server(cloud):
    """A TCP server in w1 on 8080, 8081 and 9090, stopped after the test."""
    s = Server("w1", [8080, 8081, 9090])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cloud(lab_up, api):
    """Both tenants' networks, groups (weftctl), ports and VMs; returns
    {"vms": {name: {...}}, "groups": {(tenant, name): group}}."""
    groups, vms = {}, {}
    for tenant in ("acme", "globex"):
        tapi = weftlab.Api(API_URL, project=tenant)
        net = tapi.create("network", name=tenant + "-net")
        sub = tapi.create("subnet", network_id=net["id"], name=tenant + "-sub", ip_version=4,
                          cidr="10.0.0.0/24")
        # Listing makes the project's default group.
        for g in sg_json(tenant, "list"):
            groups[(tenant, g["name"])] = g
        names = {g for spec in VMS.values() if spec[0] == tenant for g in (spec[3] or [])}
        for name in sorted(names - {"default"}):
            groups[(tenant, name)] = sg_json(tenant, "create", name, "--description", "e2e " + name)
        for vm, (owner, addr, host, sgs) in VMS.items():
            if owner != tenant:
                continue
            args = ["port", "create", vm, "--network", net["id"],
                    "--fixed-ip", "subnet=%s,ip=%s" % (sub["id"], addr)]
            if sgs is None:
                args += ["--no-security-group", "--disable-port-security"]
            for g in sgs or []:
                args += ["--security-group", groups[(tenant, g)]["id"]]
            port = json.loads(weftctl(*args, "-o", "json", project=tenant).stdout)
            lab("vm", "add", vm, "--host", host, "--port", port["id"])
            vms[vm] = {"tenant": tenant, "ip": addr, "host": host, "port": port}
    add_rule("acme", "open", "--protocol", "any")
    for vm in vms.values():
        wait_port_status(api, vm["port"]["id"], "ACTIVE")
    wait_ping("d1", "10.0.0.12")
    return {"vms": vms, "groups": groups}


def port_id(cloud, vm):
    return cloud["vms"][vm]["port"]["id"]


def wait_agent_log(host, *parts, timeout=5.0):
    """Waits until a line of the agent log of 'host' holds every one of
    'parts'; fails the test otherwise."""
    path = os.path.join(weftlab.STATE_DIR, "logs", "agent-%s.log" % host)
    deadline = time.monotonic() + timeout
    while True:
        with open(path, errors="replace") as f:
            if any(all(p in line for p in parts) for line in f):
                return
        if time.monotonic() > deadline:
            pytest.fail("no line with %s in %s:\n%s" % (parts, path, weftlab.tail(path, 20)))
        time.sleep(0.2)


def drops(api, cloud, vm, reason):
    return drop_count(port_stats(api, port_id(cloud, vm)), reason)


def wait_drops(api, cloud, vm, reason, before, at_least, timeout=5.0):
    """Waits until the drops of 'reason' on the port of 'vm' exceed 'before'
    by 'at_least'; returns the increase."""
    deadline = time.monotonic() + timeout
    while True:
        diff = drops(api, cloud, vm, reason) - before
        if diff >= at_least or time.monotonic() > deadline:
            return diff
        time.sleep(0.2)


# ---------------------------------------------------------------------------


def test_ports_have_their_groups(api, cloud):
    g = cloud["groups"]
    for vm, (tenant, _, _, sgs) in VMS.items():
        port = api.show("port", port_id(cloud, vm))
        want = sorted(g[(tenant, n)]["id"] for n in (sgs or []))
        assert sorted(port["security_groups"]) == want, (vm, port)
        assert port["port_security_enabled"] is (sgs is not None), (vm, port)


def test_default_group_members_reach_each_other(cloud):
    for src, dst in (("d1", "10.0.0.12"), ("d2", "10.0.0.11")):
        tx, rx, out = ping(src, dst, count=5, interval=0.1)
        assert (tx, rx) == (5, 5), "%s -> %s:\n%s" % (src, dst, out)


def test_group_without_ingress_rules_is_closed_but_reaches_out(api, cloud):
    before = drops(api, cloud, "w1", "policy_ingress")
    # Nobody reaches w1: not a default group member, not o1.
    for src in ("d1", "o1"):
        tx, rx, out = ping(src, W1, count=3, interval=0.2, wait=1)
        assert rx == 0, "%s reached w1 without an ingress rule:\n%s" % (src, out)
    assert wait_drops(api, cloud, "w1", "policy_ingress", before, 6) >= 6
    # w1 reaches o1 (whose group admits anything) and gets the replies,
    # though its own group admits nothing in: replies need no rule.
    tx, rx, out = ping("w1", "10.0.0.41", count=5, interval=0.1)
    assert (tx, rx) == (5, 5), out
    # The default group admits its members only: c1 (group clients)
    # cannot reach d1.
    tx, rx, out = ping("c1", "10.0.0.11", count=3, interval=0.2, wait=1)
    assert rx == 0, out


def test_tcp_server_reachable_only_on_the_opened_port(api, cloud, server):
    assert tcp_probe("d1", W1, 8080) == "timeout"
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "8080", "--remote-ip", "0.0.0.0/0")
    try:
        wait_probe("d1", W1, 8080, "open")
        wait_probe("c2", W1, 8080, "open")
        # The port next to it stays closed: dropped, not refused.
        assert tcp_probe("d1", W1, 8081) == "timeout"
        assert tcp_probe("d1", W1, 9090) == "timeout"
        # nmap and hping3 come with 'make deps'.
        assert shutil.which("nmap") and shutil.which("hping3"), "nmap or hping3 missing: make deps"
        p = vm_exec("d1", ["nmap", "-n", "-Pn", "-p", "8080,8081", W1], timeout=60, check=False)
        assert re.search(r"8080/tcp\s+open", p.stdout), p.stdout
        assert re.search(r"8081/tcp\s+filtered", p.stdout), p.stdout
        # SYNs to the closed port get nothing back, to the open one a SYN+ACK.
        p = vm_exec("d1", ["hping3", "-S", "-c", 3, "-i", "u200000", "-p", 8081, W1],
                    timeout=30, check=False)
        assert "flags=SA" not in p.stdout and "flags=RA" not in p.stdout, p.stdout
        p = vm_exec("d1", ["hping3", "-S", "-c", 3, "-i", "u200000", "-p", 8080, W1],
                    timeout=30, check=False)
        assert "flags=SA" in p.stdout, p.stdout + p.stderr
    finally:
        delete_rule("acme", rule)
    wait_probe("d1", W1, 8080, "timeout")


def test_remote_group_follows_membership(api, cloud, server):
    g = cloud["groups"]
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "9090", "--remote-group", "clients")
    c2_port = port_id(cloud, "c2")
    try:
        wait_probe("c1", W1, 9090, "open")
        assert tcp_probe("c2", W1, 9090) == "timeout"
        # c2 joins clients: its address becomes a member, it connects.
        weftctl("port", "update", c2_port, "--security-group", "other", "--security-group", "clients",
                project="acme")
        wait_probe("c2", W1, 9090, "open")
        # And leaves it again.
        weftctl("port", "update", c2_port, "--security-group", "other", project="acme")
        wait_probe("c2", W1, 9090, "timeout")
        assert tcp_probe("c1", W1, 9090) == "open"
    finally:
        weftctl("port", "update", c2_port, "--security-group", g[("acme", "other")]["id"],
                project="acme", check=False)
        delete_rule("acme", rule)


def conntrack(host, port):
    p = weftctl("conntrack", "list", "--host", host, "--port", port, "-o", "json")
    return json.loads(p.stdout)


def test_conntrack_list_shows_a_running_connection(cloud, server):
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "8080")
    stream = None
    try:
        wait_probe("d1", W1, 8080, "open")
        stream = vm_popen("d1", [PYTHON, "-c", TCP_STREAM, W1, 8080, 20])
        line = stream.stdout.readline().split()
        assert line[:1] == ["connected"], (line, stream.stderr.read() if stream.poll() is not None else "")
        sport = int(line[1])
        time.sleep(0.5)

        def entry(entries, direction):
            for e in entries:
                if (e["protocol"] == "tcp" and e["dport"] == 8080 and e["sport"] == sport
                        and e["direction"] == direction):
                    return e
            return None

        # On w1's host, the ingress entry; on d1's, the egress one (d1's
        # default group has egress rules too).
        e = entry(conntrack("host3", "w1"), "ingress")
        assert e is not None, conntrack("host3", "w1")
        assert (e["src"], e["dst"], e["state"]) == ("10.0.0.11", W1, "ESTABLISHED"), e
        assert e["port_id"] == port_id(cloud, "w1"), e
        assert e["packets_orig"] > 0 and e["packets_reply"] > 0, e
        assert e["expires_in"] > 0, e
        e = entry(conntrack("host1", "d1"), "egress")
        assert e is not None and e["state"] == "ESTABLISHED", conntrack("host1", "d1")
        # The table shows it too.
        out = weftctl("conntrack", "list", "--host", "host3", "--port", "w1").stdout
        assert re.search(r"10\.0\.0\.11\s+%d\s+10\.0\.0\.21\s+8080\s+ESTABLISHED" % sport, out), out
    finally:
        if stream:
            stop_bg(stream)
        delete_rule("acme", rule)


STRAY = r"""
import logging, sys
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
from scapy.all import IP, TCP, send
for flags in sys.argv[3].split(','):
    send(IP(dst=sys.argv[1])/TCP(sport=40001, dport=int(sys.argv[2]), flags=flags, seq=1000, ack=2000),
         count=3, verbose=False)
"""


def send_stray_tcp(vm, addr, port, flags):
    """Sends TCP segments with 'flags' (scapy notation, comma-separated
    sets) that belong to no connection: with hping3 when there is one, else
    scapy; skips when neither is installed."""
    if flags == ["A"] and shutil.which("hping3"):
        vm_exec(vm, ["hping3", "-A", "-c", 3, "-i", "u100000", "-p", port, addr], timeout=30, check=False)
        return
    p = vm_exec(vm, [PYTHON, "-c", "import scapy.all"], check=False)
    if p.returncode != 0:
        pytest.skip("neither hping3 nor scapy is installed (make deps)")
    vm_exec(vm, [PYTHON, "-c", STRAY, addr, port, ",".join(flags)], timeout=60)


def test_drops_counted_by_reason(api, cloud, server):
    # p1 has no port security: what it sends meets w1's ingress checks only.
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "8080")
    try:
        wait_probe("d1", W1, 8080, "open")
        # A stray ACK (no connection) and segments with invalid flags.
        before = drops(api, cloud, "w1", "ct_invalid")
        send_stray_tcp("p1", W1, 8080, ["A"])
        assert wait_drops(api, cloud, "w1", "ct_invalid", before, 3) >= 3
        before = drops(api, cloud, "w1", "ct_invalid")
        send_stray_tcp("p1", W1, 8080, ["SF", "F"])
        assert wait_drops(api, cloud, "w1", "ct_invalid", before, 6) >= 6
        # Fragments: the overlay MTU is 1450, a 3000-byte echo is cut in
        # three by p1's kernel (-M dont: no DF bit).
        rule_icmp = add_rule("acme", "web", "--protocol", "icmp")
        try:
            before = drops(api, cloud, "w1", "fragment")
            p = vm_exec("p1", ["ping", "-n", "-q", "-c", 2, "-i", 0.3, "-W", 1, "-M", "dont", "-s", 3000, W1],
                        check=False)
            assert " 0 received" in p.stdout, p.stdout
            assert wait_drops(api, cloud, "w1", "fragment", before, 2) >= 2
            # Small echoes pass the same rule.
            tx, rx, out = ping("p1", W1, count=3, interval=0.1)
            assert (tx, rx) == (3, 3), out
        finally:
            delete_rule("acme", rule_icmp)
        # A SYN to a port no rule opens: policy_ingress.
        before = drops(api, cloud, "w1", "policy_ingress")
        assert tcp_probe("p1", W1, 8081) == "timeout"
        assert wait_drops(api, cloud, "w1", "policy_ingress", before, 1) >= 1
        # ... and w1's agent logs it (rate-limited drop events).
        wait_agent_log("host3", "security group drop: port %s policy_ingress tcp "
                       "%s:" % (port_id(cloud, "w1"), cloud["vms"]["p1"]["ip"]),
                       "-> %s:8081" % W1)
        # weftctl port stats shows the reasons.
        out = weftctl("port", "stats", "w1", project="acme").stdout
        for reason in ("policy_ingress", "ct_invalid", "fragment"):
            assert re.search(r"drops: %s\s+[1-9]" % reason, out), out
    finally:
        delete_rule("acme", rule)


def test_tenants_with_the_same_addresses_do_not_share_groups(cloud):
    # acme's web opens 8080 to d1 (10.0.0.11), globex's web (the same name;
    # gw has the same address as w1) to 10.0.0.31 (gc; acme's c1 has it
    # too). weftctl names "web" for each tenant: an admin sees both, and
    # --project (WEFT_PROJECT) picks the tenant's.
    acme_rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "8080",
                         "--remote-ip", "10.0.0.11/32")
    servers = [Server("w1", [8080]), Server("gw", [8080])]
    globex_rule = None
    try:
        wait_probe("d1", W1, 8080, "open")
        # acme's rule does not open globex's gw.
        assert tcp_probe("gc", W1, 8080) == "timeout"
        globex_rule = add_rule("globex", "web", "--protocol", "tcp", "--dst-port", "8080",
                               "--remote-ip", "10.0.0.31/32")
        wait_probe("gc", W1, 8080, "open")
        # globex's rule does not open acme's w1 to acme's 10.0.0.31.
        assert tcp_probe("c1", W1, 8080) == "timeout"
        assert tcp_probe("d1", W1, 8080) == "open"
        # Deleting acme's rule closes acme's w1 only.
        delete_rule("acme", acme_rule)
        acme_rule = None
        wait_probe("d1", W1, 8080, "timeout")
        assert tcp_probe("gc", W1, 8080) == "open"
    finally:
        for srv in servers:
            srv.stop()
        if acme_rule:
            delete_rule("acme", acme_rule)
        if globex_rule:
            delete_rule("globex", globex_rule)


def iperf3_server(vm):
    p = vm_popen(vm, ["iperf3", "-s", "-1", "-i", "0.2", "--forceflush"])
    reader = IntervalReader(p)
    time.sleep(0.5)
    return p, reader


def test_revoking_a_rule_cuts_a_running_iperf3(cloud):
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "5201")
    server = client = None
    try:
        server, reader = iperf3_server("w1")
        # The first tries may race the rule reaching host3.
        deadline = time.monotonic() + 8
        while tcp_probe("d1", W1, 5201) != "open" and time.monotonic() < deadline:
            time.sleep(0.2)
        stop_bg(server)
        server, reader = iperf3_server("w1")
        client = vm_popen("d1", ["iperf3", "-c", W1, "-t", 10, "-i", 0.2, "--forceflush"])
        deadline = time.monotonic() + 10
        while not [s for s in reader.samples if s[2] >= 2.0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.samples, "iperf3 never ran:\n" + reader.text()
        t_cut = time.monotonic()
        delete_rule("acme", rule)
        rule = None
        time.sleep(3.0)
        before = [s[3] for s in reader.samples if s[0] < t_cut]
        after = [s for s in reader.samples if s[0] > t_cut + 1.0 + 0.25]
        assert before and min(before) > 0, reader.text()
        assert after, "iperf3 printed nothing after the cut:\n" + reader.text()
        # Within a second of the rule's deletion, nothing gets through.
        ceiling = 0.01 * sorted(before)[len(before) // 2]
        assert all(s[3] <= ceiling for s in after), reader.text()
    finally:
        for p in (client, server):
            if p:
                stop_bg(p)
        if rule:
            delete_rule("acme", rule)


def test_rules_and_connections_survive_an_agent_restart(api, cloud, server, agent_guard):
    rule = add_rule("acme", "web", "--protocol", "tcp", "--dst-port", "8080")
    stream = None
    try:
        wait_probe("d1", W1, 8080, "open")
        # A connection streaming for 8 s; w1's agent (host3) is killed with
        # SIGKILL and started again while it runs.
        stream = vm_popen("d1", [PYTHON, "-c", TCP_STREAM, W1, 8080, 8])
        assert stream.stdout.readline().startswith("connected"), stream.stderr.read()
        time.sleep(1.5)
        old = weftlab.load_state()["hosts"]["3"]["agent"]["pid"]
        lab("agent", "kill", "host3")
        # The datapath keeps enforcing while no agent runs.
        assert tcp_probe("d1", W1, 8081) == "timeout"
        assert tcp_probe("c1", W1, 8080) == "open"
        lab("agent", "start", "host3")
        assert weftlab.load_state()["hosts"]["3"]["agent"]["pid"] != old
        # Every echo came back within a second: no interruption.
        out, err = stream.communicate(timeout=30)
        assert stream.returncode == 0 and out.startswith("sent"), (out, err)
        missing = weftlab.wait_agents_alive(weftlab.load_state(), ["host3"], 20)
        assert not missing, "the restarted agent did not come back:\n" + logs_tail()
        # The same policy after the restart.
        assert tcp_probe("d1", W1, 8080) == "open"
        assert tcp_probe("d1", W1, 8081) == "timeout"
        tx, rx, out = ping("o1", W1, count=3, interval=0.2, wait=1)
        assert rx == 0, out
    finally:
        if stream:
            stop_bg(stream)
        delete_rule("acme", rule)
    wait_probe("d1", W1, 8080, "timeout")
