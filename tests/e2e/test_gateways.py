# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of north-south traffic (docs/gateways.md): a lab of 3
hosts and 3 gateway nodes, the upstream router (BIRD 2, BGP + BFD to every
gateway, ECMP) and a host on the internet, 198.51.100.10.

Two tenants, on purpose with the same addresses (10.0.0.0/24), each with a
router whose gateway is on the external network 'public' (203.0.113.0/24):

    acme    a1 10.0.0.11 host1  default group, no floating IP (SNAT)
            a2 10.0.0.12 host2  group 'fipweb' (tcp 5201, 8080, 8082 and
                                ICMP in), floating IP
            router acme-r, its gateway set with weftctl
    globex  b1 10.0.0.11 host2  default group, no floating IP (SNAT)
            router globex-r, its gateway set through the API

The internet runs the servers (HTTP_SERVER below, iperf3) and the clients
towards the floating IP; the upstream router is used as a router is: to
forward, and to forge packets the datapath must drop. Gateways are stopped
as machines die ('weft-lab gateway stop': links down, agent and BIRD
SIGKILLed) during a 10 ms ping and during iperf3, and the loss windows are
printed (run pytest with -s to see them)."""

import json
import re
import statistics
import subprocess
import threading
import time

import pytest

from conftest import (API_URL, PYTHON, WEFT_LAB, IntervalReader, drop_count, lab, lab_session, logs_tail,
                      ping, port_stats, stop_bg, vm_exec, vm_popen, wait_ping, wait_port_status, weftctl)
import weftlab

GATEWAYS = ["gw1", "gw2", "gw3"]
INTERNET = weftlab.INTERNET_IP
HTTP_PORT = 8000

VMS = {
    # name: (tenant, address, host, group names, floating IP)
    "a1": ("acme", "10.0.0.11", "host1", ["default"], False),
    "a2": ("acme", "10.0.0.12", "host2", ["fipweb"], True),
    "b1": ("globex", "10.0.0.11", "host2", ["default"], False),
}

# An HTTP server on the internet: GET /N answers N bytes; prints
# "peer ADDRESS PORT N" for every request, then "ready" once listening.
HTTP_SERVER = r"""
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        n = int(self.path.strip("/") or 0)
        print("peer %s %d %d" % (self.client_address[0], self.client_address[1], n), flush=True)
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        chunk = b"w" * 65536
        while n > 0:
            self.wfile.write(chunk[:min(n, len(chunk))])
            n -= min(n, len(chunk))
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
s = S(("0.0.0.0", int(sys.argv[1])), H)
print("ready", flush=True)
s.serve_forever()
"""

# Downloads http://ADDR:PORT/N; prints the bytes received and the seconds.
DOWNLOAD = r"""
import sys, time, urllib.request
t0 = time.monotonic()
with urllib.request.urlopen("http://%s:%s/%s" % tuple(sys.argv[1:4]), timeout=20) as r:
    n = 0
    while True:
        b = r.read(1 << 16)
        if not b:
            break
        n += len(b)
print("%d %.3f" % (n, time.monotonic() - t0))
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


def node_cmd(node, argv):
    return [WEFT_LAB, "exec", node, "--"] + [str(a) for a in argv]


def node_exec(node, argv, timeout=60, check=True):
    """Runs 'argv' in the internet's or the upstream's namespace."""
    p = subprocess.run(node_cmd(node, argv), capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(map(str, argv)), p.returncode, p.stdout, p.stderr)
    return p


def node_popen(node, argv):
    return subprocess.Popen(node_cmd(node, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def tcp_probe_from(node, addr, port, timeout=1.0):
    return node_exec(node, [PYTHON, "-c", TCP_PROBE, addr, port, timeout], timeout=30).stdout.strip()


class HttpServer:
    """HTTP_SERVER in a namespace ('internet' or, through vm_popen, a VM);
    a thread collects the requests it prints, (address, port, size)."""

    def __init__(self, proc):
        self.proc = proc
        line = proc.stdout.readline().strip()
        if line != "ready":
            stop_bg(proc)
            pytest.fail("HTTP server did not start: %r %s" % (line, proc.stderr.read()))
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("peer "):
                f = line.split()
                self.lines.append((f[1], int(f[2]), int(f[3])))

    def peers(self, want, timeout=5.0):
        """Waits until 'want' requests have come (at most 'timeout' s);
        returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.lines) < want and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def lab_up(tmp_path_factory):
    """A lab of 3 hosts and 3 gateways for this module."""
    yield from lab_session(tmp_path_factory, hosts=3, gateways=3)


def api_as(tenant):
    return weftlab.Api(API_URL, project=tenant)


def agent_ids(api):
    return {a["host"]: a["id"] for a in api.list("agents")}


def gw_stats(api, name):
    """The device counters of gateway 'name' (GET /v2.0/agents/ID/stats)."""
    status, body = api.request("GET", "/v2.0/agents/%s/stats" % agent_ids(api)[name])
    assert status == 200, body
    return body["stats"]


def gw_drops(api, reason, names=GATEWAYS, devices=("uplink", "tunnel")):
    """The drops of 'reason' summed over the gateways and devices given."""
    total = 0
    for name in names:
        stats = gw_stats(api, name)
        for dev in devices:
            total += (stats.get(dev) or {}).get("drops", {}).get(reason, 0)
    return total


def wait_gw_drops(api, reason, before, at_least, names=GATEWAYS, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        diff = gw_drops(api, reason, names) - before
        if diff >= at_least or time.monotonic() > deadline:
            return diff
        time.sleep(0.2)


def uplinks():
    """{uplink address: gateway name}."""
    return {g["uplink_ip"]: g["name"] for g in weftlab.load_state()["gateways"].values()}


def upstream_choice(dst, proto, sport=None, dport=None):
    """The gateway the upstream's ECMP picks for a packet from the internet
    to 'dst' ('ip route get' computes the same L4 hash)."""
    argv = ["ip", "-j", "route", "get", dst, "from", INTERNET, "iif", "inet0", "ipproto", proto]
    if sport:
        argv += ["sport", sport, "dport", dport]
    r = json.loads(node_exec("upstream", argv).stdout)[0]
    assert r.get("gateway") in uplinks(), r
    return uplinks()[r["gateway"]]


def busiest_gateway(api, device, seconds=1.0):
    """The gateway whose 'device' received the most packets in the next
    'seconds' (the one carrying a running transfer)."""
    before = {g: (gw_stats(api, g).get(device) or {}).get("rx_packets", 0) for g in GATEWAYS}
    time.sleep(seconds)
    after = {g: (gw_stats(api, g).get(device) or {}).get("rx_packets", 0) for g in GATEWAYS}
    delta = {g: after[g] - before[g] for g in GATEWAYS}
    return max(delta, key=delta.get), delta


def all_addresses(cloud):
    return [cloud["routers"][t]["ip"] for t in cloud["routers"]] + [cloud["fip"]["floating_ip_address"]]


def wait_all_gateways(cloud, timeout=20.0):
    """Every gateway alive in the API and every address routed over the
    three of them."""
    state = weftlab.load_state()
    missing = weftlab.wait_agents_alive(state, GATEWAYS, timeout)
    assert not missing, "gateways not alive: %s\n%s" % (missing, logs_tail())
    weftlab.wait_routes(all_addresses(cloud), list(uplinks()), timeout)


@pytest.fixture
def gateway_guard(cloud):
    """Starts again whatever gateway a test stopped."""
    yield
    state = weftlab.load_state()
    for g in state["gateways"].values():
        if g.get("stopped") or not weftlab.proc_alive(g.get("agent")):
            lab("gateway", "start", g["name"], check=False)
    wait_all_gateways(cloud)


@pytest.fixture(scope="module")
def cloud(lab_up, api):
    """Both tenants' networks, routers with their gateways, ports, VMs and
    a2's floating IP; returns {"vms", "routers": {tenant: {"id", "ip"}},
    "fip", "ext"}."""
    ext = weftlab.load_state()["external"]
    assert ext, "weft-lab up did not create the external network:\n" + logs_tail()
    vms, routers, groups = {}, {}, {}
    for tenant in ("acme", "globex"):
        tapi = api_as(tenant)
        net = tapi.create("network", name=tenant + "-net")
        sub = tapi.create("subnet", network_id=net["id"], name=tenant + "-sub", ip_version=4,
                          cidr="10.0.0.0/24")
        router = tapi.create("router", name=tenant + "-r")
        tapi.put("/v2.0/routers/%s/add_router_interface" % router["id"], {"subnet_id": sub["id"]})
        if tenant == "acme":
            weftctl("router", "set", "acme-r", "--external-gateway", weftlab.EXT_NETWORK, project=tenant)
        else:
            tapi.update("router", router["id"], external_gateway_info={"network_id": ext["network_id"]})
        router = tapi.show("router", router["id"])
        info = router["external_gateway_info"]
        assert info and info["network_id"] == ext["network_id"] and info["enable_snat"] is True, router
        routers[tenant] = {"id": router["id"], "ip": info["external_fixed_ips"][0]["ip_address"]}
        for g in tapi.get("/v2.0/security-groups")["security_groups"]:
            groups[(tenant, g["name"])] = g["id"]
        if tenant == "acme":
            g = tapi.post("/v2.0/security-groups", {"security_group": {"name": "fipweb"}})["security_group"]
            groups[(tenant, "fipweb")] = g["id"]
            for proto, port in (("tcp", 5201), ("tcp", 8080), ("tcp", 8082), ("icmp", None)):
                rule = {"security_group_id": g["id"], "direction": "ingress", "ethertype": "IPv4",
                        "protocol": proto, "remote_ip_prefix": "0.0.0.0/0"}
                if port:
                    rule.update(port_range_min=port, port_range_max=port)
                tapi.post("/v2.0/security-group-rules", {"security_group_rule": rule})
        for name, (owner, addr, host, sgs, _) in VMS.items():
            if owner != tenant:
                continue
            port = tapi.create("port", network_id=net["id"], name=name,
                               fixed_ips=[{"subnet_id": sub["id"], "ip_address": addr}],
                               security_groups=[groups[(tenant, s)] for s in sgs])
            lab("vm", "add", name, "--host", host, "--port", port["id"])
            vms[name] = {"tenant": tenant, "ip": addr, "host": host, "port": port}
    fip = api_as("acme").post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["network_id"], "port_id": vms["a2"]["port"]["id"]}})["floatingip"]
    assert fip["fixed_ip_address"] == "10.0.0.12" and fip["router_id"] == routers["acme"]["id"], fip
    for vm in vms.values():
        wait_port_status(api, vm["port"]["id"], "ACTIVE")
    c = {"vms": vms, "routers": routers, "fip": fip, "ext": ext}
    try:
        weftlab.wait_routes(all_addresses(c), list(uplinks()), timeout=20)
    except weftlab.LabError as e:
        pytest.fail("%s\n%s" % (e, logs_tail()))
    wait_ping("a1", INTERNET, timeout=20)
    return c


@pytest.fixture(scope="module")
def web(cloud):
    """HTTP_SERVER on the internet for the module."""
    s = HttpServer(node_popen("internet", [PYTHON, "-c", HTTP_SERVER, HTTP_PORT]))
    yield s
    s.stop()


def download(vm, size, addr=INTERNET):
    p = vm_exec(vm, [PYTHON, "-c", DOWNLOAD, addr, HTTP_PORT, size], timeout=60, check=False)
    assert p.returncode == 0, "%s: download failed:\n%s%s\n%s" % (vm, p.stdout, p.stderr, logs_tail())
    n, secs = p.stdout.split()
    return int(n), float(secs)


# ---------------------------------------------------------------------------


def test_agents_list_three_gateways_alive(api, cloud):
    agents = {a["host"]: a for a in api.list("agents")}
    slots = set()
    for name in GATEWAYS:
        a = agents[name]
        conf = a["configurations"]
        assert a["alive"] is True, a
        assert conf.get("gateway") is True, a
        assert conf.get("uplink_ip") == weftlab.gateway_uplink_ip(int(name[2:])), a
        assert conf.get("underlay_ip") == weftlab.gateway_underlay_ip(int(name[2:])), a
        slots.add(conf.get("gateway_slot"))
    assert slots == {0, 1, 2}, agents
    for h in ("host1", "host2", "host3"):
        assert not agents[h]["configurations"].get("gateway"), agents[h]
    out = weftctl("agent", "list").stdout
    for name in GATEWAYS:
        assert re.search(r"\b%s\b" % name, out), out


def test_upstream_peers_every_gateway_with_bfd(cloud):
    state = weftlab.load_state()
    assert all(weftlab.bgp_established(state).values()), weftlab.bird_protocols(state["upstream"]["bird_sock"])
    bfd = weftlab.birdc(state["upstream"]["bird_sock"], "show", "bfd", "sessions").stdout
    for ip in uplinks():
        assert re.search(r"%s\s+%s\s+Up" % (re.escape(ip), weftlab.EXT_BRIDGE), bfd), bfd
    # Every router external IP and the floating IP over all three.
    routes = weftlab.upstream_routes()
    for addr in all_addresses(cloud):
        assert routes.get(addr) == sorted(uplinks()), routes


def test_snat_download_server_sees_the_router_address(cloud, web):
    n, secs = download("a1", 20_000_000)
    assert n == 20_000_000
    peers = web.peers(1)
    assert peers and peers[-1][0] == cloud["routers"]["acme"]["ip"], peers
    # The translated port is in a gateway's share (docs/gateways.md).
    assert peers[-1][1] >= 1024, peers
    print("\nSNAT download a1 -> internet: 20 MB in %.2f s, seen from %s:%d" % (secs, peers[-1][0], peers[-1][1]))


def test_two_tenants_with_the_same_addresses_both_reach_out(cloud, web):
    before = len(web.peers(0))
    procs = {vm: vm_popen(vm, [PYTHON, "-c", DOWNLOAD, INTERNET, HTTP_PORT, 5_000_000]) for vm in ("a1", "b1")}
    for vm, p in procs.items():
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.split()[0] == "5000000", (vm, out, err)
    seen = {p[0] for p in web.peers(before + 2)[before:]}
    assert seen == {cloud["routers"]["acme"]["ip"], cloud["routers"]["globex"]["ip"]}, seen
    tx, rx, out = ping("b1", INTERNET, count=5, interval=0.1)
    assert rx == 5, out


def test_vm_with_floating_ip_goes_out_as_its_floating_ip(cloud, web):
    before = len(web.peers(0))
    n, _ = download("a2", 1_000_000)
    assert n == 1_000_000
    peers = web.peers(before + 1)[before:]
    assert peers and peers[0][0] == cloud["fip"]["floating_ip_address"], peers


def test_floating_ip_reached_from_the_internet_with_its_groups(api, cloud):
    fip = cloud["fip"]["floating_ip_address"]
    tx, rx, out = ping_from_internet(fip, count=5, interval=0.1)
    assert rx == 5, out
    server = HttpServer(vm_popen("a2", [PYTHON, "-c", HTTP_SERVER, 8080]))
    try:
        p = node_exec("internet", [PYTHON, "-c", DOWNLOAD, fip, 8080, 3_000_000], check=False)
        assert p.returncode == 0 and p.stdout.split()[0] == "3000000", p.stdout + p.stderr
        # The VM sees the internet's own address: floating IPs translate
        # the destination only.
        assert server.peers(1)[0][0] == INTERNET, server.peers(1)
    finally:
        server.stop()
    # 8082 is open in the group but nobody listens: refused by a2 itself.
    assert tcp_probe_from("internet", fip, 8082) == "refused"
    # 8081 is not in the group: dropped at a2's host, counted on its port.
    before = drop_count(port_stats(api, cloud["vms"]["a2"]["port"]["id"]), "policy_ingress")
    assert tcp_probe_from("internet", fip, 8081) == "timeout"
    deadline = time.monotonic() + 5
    while drop_count(port_stats(api, cloud["vms"]["a2"]["port"]["id"]), "policy_ingress") <= before:
        assert time.monotonic() < deadline, "no policy_ingress drop counted on a2's port"
        time.sleep(0.2)
    # The router's own address (SNAT) lets nothing in unasked.
    tcp = tcp_probe_from("internet", cloud["routers"]["acme"]["ip"], 22)
    assert tcp == "timeout", tcp


def ping_from_internet(dst, count, interval, wait=1, timestamps=False):
    argv = ["ping", "-n", "-c", count, "-i", interval, "-W", wait] + (["-D"] if timestamps else ["-q"])
    p = node_exec("internet", argv + [dst], timeout=count * interval + 60, check=False)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
    assert m, p.stdout + p.stderr
    return int(m.group(1)), int(m.group(2)), p.stdout


def test_drops_counted_on_the_gateways(api, cloud):
    acme = api_as("acme")
    ext = cloud["ext"]
    router_ip = cloud["routers"]["acme"]["ip"]
    # 1. A floating IP with no port: not announced; the upstream is told to
    # send it to gw1 anyway, which drops it as fip_unassociated.
    spare = acme.post("/v2.0/floatingips", {"floatingip": {"floating_network_id": ext["network_id"]}})["floatingip"]
    addr = spare["floating_ip_address"]
    assert spare["status"] == "DOWN" and spare["port_id"] is None, spare
    time.sleep(1.0)  # the gateways' views hold it
    assert addr not in weftlab.upstream_routes()
    node_exec("upstream", ["ip", "route", "replace", addr + "/32", "via", weftlab.gateway_uplink_ip(1)])
    try:
        before = gw_drops(api, "fip_unassociated", ["gw1"])
        tx, rx, out = ping_from_internet(addr, count=3, interval=0.2)
        assert rx == 0, out
        assert wait_gw_drops(api, "fip_unassociated", before, 3, ["gw1"]) >= 3
    finally:
        node_exec("upstream", ["ip", "route", "del", addr + "/32"], check=False)
        acme.remove("floatingip", spare["id"])
    # 2. A spoofed source: the internet sends as if from the floating IP.
    before = gw_drops(api, "ext_spoof")
    node_exec("internet", ["hping3", "-2", "-c", 3, "-i", "u100000", "-a", cloud["fip"]["floating_ip_address"],
                           "-p", 9999, router_ip], check=False)
    assert wait_gw_drops(api, "ext_spoof", before, 3) >= 3
    # 3. A reply to an SNAT port with no state: an ACK to the router's
    # address on a port of slot 0's share.
    before = gw_drops(api, "snat_no_state")
    node_exec("internet", ["hping3", "-A", "-c", 3, "-i", "u100000", "-s", 443, "-k", "-p", 2000, router_ip],
              check=False)
    assert wait_gw_drops(api, "snat_no_state", before, 3) >= 3
    # weftctl shows a gateway's counters by reason.
    out = weftctl("agent", "stats", "gw1").stdout
    assert re.search(r"fip_unassociated\s+[1-9]", out), out


def loss_window(out, interval):
    """From 'ping -D' output: (seconds of the longest gap between two
    replies less one interval, replies' sequence numbers)."""
    stamps = [(float(t), int(s)) for t, s in re.findall(r"^\[([\d.]+)\].*icmp_seq=(\d+)", out, re.M)]
    gaps = [b[0] - a[0] for a, b in zip(stamps, stamps[1:])]
    return max(0.0, max(gaps, default=0.0) - interval), stamps


def test_gateway_stopped_and_started_during_a_10ms_ping(api, cloud, gateway_guard):
    fip = cloud["fip"]["floating_ip_address"]
    interval, count = 0.01, 600
    p = node_popen("internet", ["ping", "-n", "-D", "-c", count, "-i", interval, "-W", 1, fip])
    time.sleep(1.0)
    # The gateway whose uplink receives the echo requests (the upstream's
    # ECMP choice for the flow, 'ip route get' computes it too).
    victim, delta = busiest_gateway(api, "uplink", 0.5)
    assert delta[victim] >= 20, delta
    print("\nping flow on %s (upstream's ip route get: %s)" % (victim, upstream_choice(fip, "icmp")))
    lab("gateway", "stop", victim)
    t_stop = time.monotonic()
    weftlab.wait_routes([fip], [ip for ip, n in uplinks().items() if n != victim], timeout=5)
    withdrawn = time.monotonic() - t_stop
    out, err = p.communicate(timeout=60)
    tx, rx = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    window, _ = loss_window(out, interval)
    dups = re.search(r"\+(\d+) duplicates", out)
    print("%s stopped during ping -i 0.01 internet -> %s: %d of %d lost, loss window %.0f ms, %s duplicates, "
          "upstream's route without it %.0f ms after 'gateway stop' returned" % (
              victim, fip, tx - rx, tx, window * 1000, dups.group(1) if dups else "no", withdrawn * 1000))
    assert tx == count and rx > 0, out[-500:]
    # The ping carried on after the stop and the window stayed small.
    assert rx >= count - 200, out[-500:]
    assert window < 2.0, out[-500:]

    # Fail-back: starting the gateway again loses nothing.
    p = node_popen("internet", ["ping", "-n", "-D", "-c", 800, "-i", interval, "-W", 1, fip])
    time.sleep(1.0)
    t0 = time.monotonic()
    lab("gateway", "start", victim, "--wait", 10)
    weftlab.wait_routes([fip], list(uplinks()), timeout=6)
    back = time.monotonic() - t0
    out, err = p.communicate(timeout=60)
    tx, rx = map(int, re.search(r"(\d+) packets transmitted, (\d+) received", out).groups())
    window, _ = loss_window(out, interval)
    print("%s started again during ping -i 0.01: %d of %d lost (longest gap %.0f ms), routed again after "
          "%.1f s" % (victim, tx - rx, tx, window * 1000, back))
    assert back < 7.0, "the route came back after the ping ended"
    assert tx - rx <= 2, out[-500:]


def iperf_windows(reader, t_stop):
    """(seconds without a byte after 't_stop', seconds until an interval
    carries half the median rate before it) from 0.1 s iperf3 samples."""
    before = [s[3] for s in reader.samples if s[0] < t_stop]
    after = [s for s in reader.samples if s[0] >= t_stop]
    if not before or not after:
        return None, None
    zero = run = 0
    for s in after:
        run = run + 1 if s[3] == 0 else 0
        zero = max(zero, run)
    half = statistics.median(before) / 2
    recovered = next((s[0] - t_stop for s in after if s[3] >= half), None)
    return zero * (after[0][2] - after[0][1]), recovered


@pytest.mark.parametrize("direction", ["to_vm", "from_vm"])
def test_gateway_stopped_during_an_iperf3_transfer(api, cloud, gateway_guard, direction):
    fip = cloud["fip"]["floating_ip_address"]
    server = vm_popen("a2", ["iperf3", "-s", "-1"])
    client = None
    try:
        deadline = time.monotonic() + 10
        while tcp_probe_from("internet", fip, 5201) != "open":
            assert time.monotonic() < deadline, "iperf3 in a2 not reachable from the internet"
            time.sleep(0.2)
        stop_bg(server)
        server = vm_popen("a2", ["iperf3", "-s", "-1"])
        time.sleep(0.5)
        argv = ["iperf3", "-c", fip, "-t", 8, "-i", 0.1, "--forceflush", "--cport", 40123]
        if direction == "from_vm":
            argv.append("-R")
        client = node_popen("internet", argv)
        reader = IntervalReader(client)
        time.sleep(1.5)
        # The gateway carrying the data: its uplink receives it from the
        # upstream (to the VM), or its tunnel from a2's host (from the VM).
        victim, delta = busiest_gateway(api, "uplink" if direction == "to_vm" else "tunnel", 0.5)
        assert delta[victim] > 100, delta
        if direction == "to_vm":
            print("\niperf3 flow on %s (upstream's ip route get: %s)" % (
                victim, upstream_choice(fip, "tcp", 40123, 5201)))
        lab("gateway", "stop", victim)
        t_stop = time.monotonic()
        client.wait(timeout=60)
        reader.thread.join(timeout=5)
        assert client.returncode == 0, "iperf3 failed after %s stopped:\n%s%s" % (
            victim, reader.text(), client.stderr.read())
        assert re.search(r"receiver", reader.text()), reader.text()
        zero, recovered = iperf_windows(reader, t_stop)
        print("%s stopped during iperf3 %s (%s): %s s without a byte, half rate again after %s" % (
            victim, "internet -> a2's floating IP" if direction == "to_vm" else "a2 -> internet (-R)",
            fip, "%.1f" % zero if zero is not None else "?",
            "%.0f ms" % (recovered * 1000) if recovered is not None else "never"))
        assert zero is not None and zero < 2.0, reader.text()
        assert recovered is not None, reader.text()
    finally:
        for p in (client, server):
            if p:
                stop_bg(p)


def test_every_gateway_serves_again(cloud, web):
    wait_all_gateways(cloud)
    n, _ = download("a1", 2_000_000)
    assert n == 2_000_000
