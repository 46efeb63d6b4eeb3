# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of distributed routing, in one 3-host lab.

Two tenants build the same thing on purpose: two subnets, 10.1.0.0/24 and
10.2.0.0/24, joined by one router each (gateways 10.1.0.1 and 10.2.0.1),
VMs with the same addresses:

    red     ra1 10.1.0.11 host1   ra2 10.1.0.12 host2
            rb1 10.2.0.11 host2   rb2 10.2.0.12 host3   rb3 10.2.0.13 host1
            (later: rnh 10.2.0.254 host3, a VM that routes to 172.31.0.0/24
             behind it; red-r2, a second router on red-b, with red-c
             10.3.0.0/24 and rc1 10.3.0.11 host2)
    green   ga1 10.1.0.11 host3   gb1 10.2.0.11 host1

Routers, their interfaces and routes are made with weftctl; networks, ports
and VMs through the API and weft-lab. The ingress host routes: a packet
crosses exactly one router hop (TTL 64 arrives as 63), whatever hosts the
two VMs are on.

Drop reasons read from GET /v2.0/ports/ID/stats are named as in
lib/drop-reasons.c (WEFT_DROP_TTL_EXCEEDED -> ttl_exceeded, ...)."""

import json
import re
import secrets
import shutil
import subprocess
import time

import pytest

from conftest import (wait_port_status, API_URL, PYTHON, drop_count, lab, ping, port_stats, sniff_during, stop_bg,
                      vm_exec, vm_popen, wait_ping, weftctl_as)
import weftlab

TENANTS = {
    "red": {
        "nets": {"red-a": "10.1.0.0/24", "red-b": "10.2.0.0/24"},
        "vms": {"ra1": ("red-a", "10.1.0.11", "host1"), "ra2": ("red-a", "10.1.0.12", "host2"),
                "rb1": ("red-b", "10.2.0.11", "host2"), "rb2": ("red-b", "10.2.0.12", "host3"),
                "rb3": ("red-b", "10.2.0.13", "host1")},
    },
    "green": {
        "nets": {"green-a": "10.1.0.0/24", "green-b": "10.2.0.0/24"},
        "vms": {"ga1": ("green-a", "10.1.0.11", "host3"), "gb1": ("green-b", "10.2.0.11", "host1")},
    },
}

# What lies behind the next-hop VM rnh: a namespace of its own (named like
# a VM, so that 'weft-lab down' removes it whatever happens).
LAN_NS = "weft-vm-rlan"
LAN_PREFIX = "172.31.0.0/24"
LAN_GW, LAN_HOST = "172.31.0.1", "172.31.0.2"

TTL_RE = re.compile(r"ttl=(\d+)")


def router_cmd(tenant, *args, check=True):
    """weftctl router ARGS... as 'tenant'; fails the test with weftctl's
    output when it does not succeed."""
    return weftctl_as(tenant, "router", *args, check=check)


def router_json(tenant, *args):
    return json.loads(router_cmd(tenant, *args, "-o", "json").stdout)


def make_vm(api, tapi, name, net, sub, addr, host, **port_attrs):
    port = tapi.create("port", network_id=net["id"], name=name,
                       fixed_ips=[{"subnet_id": sub["id"], "ip_address": addr}], **port_attrs)
    lab("vm", "add", name, "--host", host, "--port", port["id"])
    return {"ip": addr, "host": host, "port": port, "mac": port["mac_address"], "net": net}


@pytest.fixture(scope="module")
def cloud(lab_up, api):
    """Both tenants' networks, subnets, routers (weftctl) and VMs; returns
    {"nets": {name: {"net", "subnet"}}, "routers": {tenant: router},
    "vms": {name: {...}}}."""
    nets, routers, vms = {}, {}, {}
    for tenant, spec in TENANTS.items():
        tapi = weftlab.Api(API_URL, project=tenant)
        for name, cidr in spec["nets"].items():
            net = tapi.create("network", name=name)
            sub = tapi.create("subnet", network_id=net["id"], name=name + "4", ip_version=4, cidr=cidr)
            nets[name] = {"net": net, "subnet": sub, "tenant": tenant}
        rname = tenant + "-r"
        routers[tenant] = router_json(tenant, "create", rname)
        for name in spec["nets"]:
            router_cmd(tenant, "add", "subnet", rname, name + "4")
        for vm, (netname, addr, host) in spec["vms"].items():
            n = nets[netname]
            vms[vm] = dict(make_vm(api, tapi, vm, n["net"], n["subnet"], addr, host), tenant=tenant)
    for vm in vms.values():
        wait_port_status(api, vm["port"]["id"], "ACTIVE")
    # Switching within a subnet first: that is the L2 overlay, known to work.
    wait_ping("ra1", "10.1.0.12")
    return {"nets": nets, "routers": routers, "vms": vms}


def interface_ports(api, router_id):
    return [p for p in api.list("ports", "device_id=" + router_id)
            if p.get("device_owner") == "network:router_interface"]


def router_mac(api, router_id, gateway_ip):
    for p in interface_ports(api, router_id):
        if any(f["ip_address"] == gateway_ip for f in p["fixed_ips"]):
            return p["mac_address"]
    pytest.fail("router %s has no interface with %s: %s" % (router_id, gateway_ip, interface_ports(api, router_id)))


def ping_ttls(src, dst, count=5, interval=0.1, wait=1, extra=()):
    """Pings (not quiet) and returns (transmitted, received, [reply TTLs],
    output)."""
    p = vm_exec(src, ["ping", "-n", "-c", count, "-i", interval, "-W", wait] + list(extra) + [dst],
                check=False, timeout=60)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
    assert m, "no ping summary from %s -> %s:\n%s%s" % (src, dst, p.stdout, p.stderr)
    return int(m.group(1)), int(m.group(2)), [int(t) for t in TTL_RE.findall(p.stdout)], p.stdout


def wait_routed(src, dst, timeout=10.0):
    """The first routed ping may wait for the agents to have the router in
    their view; give it a moment, then expect every ping answered."""
    wait_ping(src, dst, timeout=timeout)


def stats_diff(api, port_id, before, reasons):
    """Waits (up to 5 s: the counters come from the agent) until the drops
    under 'reasons' exceed 'before'; returns (diff, after)."""
    deadline = time.monotonic() + 5
    while True:
        after = port_stats(api, port_id)
        diff = sum(drop_count(after, r) - drop_count(before, r) for r in reasons)
        if diff > 0 or time.monotonic() > deadline:
            return diff, after
        time.sleep(0.2)


def traceroute(src, dst, max_hops=6):
    """traceroute -n from VM 'src'; returns [(hop, [addresses or '*'], line)].
    One probe per hop, sent one at a time (no ICMP rate limit in the way);
    up to three tries when a hop answers '*'."""
    if shutil.which("traceroute") is None:
        pytest.skip("traceroute is not installed (make deps)")
    out = ""
    for _ in range(3):
        p = vm_exec(src, ["traceroute", "-n", "-q", 1, "-N", 1, "-w", 2, "-m", max_hops, dst],
                    check=False, timeout=120)
        out = p.stdout + p.stderr
        hops = []
        for line in p.stdout.splitlines()[1:]:
            m = re.match(r"\s*(\d+)\s+(.*)$", line)
            if m:
                hops.append((int(m.group(1)), re.findall(r"\d+\.\d+\.\d+\.\d+|\*", m.group(2)), line))
        if hops and all("*" not in h[1] for h in hops):
            return hops, out
        time.sleep(1.5)
    return hops, out


# ---------------------------------------------------------------------------


def test_router_and_its_interfaces(api, cloud):
    for tenant, r in cloud["routers"].items():
        got = api.show("router", r["id"])
        assert got["name"] == tenant + "-r", got
        assert got["admin_state_up"] is True, got
        assert got["status"] == "ACTIVE", got
        assert got.get("distributed") is True, got
        ports = interface_ports(api, r["id"])
        ips = sorted(f["ip_address"] for p in ports for f in p["fixed_ips"])
        assert ips == ["10.1.0.1", "10.2.0.1"], ports
        for p in ports:
            assert p["project_id"] == tenant, p
    # The CLI lists and shows them.
    p = router_cmd("red", "list")
    assert "red-r" in p.stdout, p.stdout
    p = router_cmd("red", "show", "red-r")
    assert cloud["routers"]["red"]["id"] in p.stdout, p.stdout


def test_static_vms_default_route_is_the_gateway(cloud):
    for vm, gw in (("ra1", "10.1.0.1"), ("rb2", "10.2.0.1"), ("ga1", "10.1.0.1")):
        out = vm_exec(vm, ["ip", "-4", "route", "show", "default"]).stdout
        assert "default via %s dev eth0" % gw in out, "%s: %s" % (vm, out)


def test_router_addresses_answer_ping(api, cloud):
    red = cloud["routers"]["red"]["id"]
    wait_routed("ra1", "10.1.0.1")
    for src, dst in (("ra1", "10.1.0.1"), ("ra2", "10.1.0.1"), ("rb2", "10.2.0.1"),
                     # The router's other interface, answered in place too.
                     ("ra1", "10.2.0.1"), ("ga1", "10.1.0.1")):
        tx, rx, ttls, out = ping_ttls(src, dst)
        assert (tx, rx) == (5, 5), "%s -> %s:\n%s" % (src, dst, out)
    # ARP for the gateway is answered with the router interface's MAC.
    neigh = vm_exec("ra1", ["ip", "neigh", "show", "10.1.0.1", "dev", "eth0"]).stdout
    assert router_mac(api, red, "10.1.0.1") in neigh, neigh
    # Anything but an echo request to a router address is dropped and
    # counted (to_router).
    port = cloud["vms"]["ra1"]["port"]["id"]
    before = port_stats(api, port)
    vm_exec("ra1", [PYTHON, "-c", "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "for _ in range(3):\n    s.sendto(b'weft', ('10.1.0.1', 9)); time.sleep(0.05)\n"])
    diff, after = stats_diff(api, port, before, ["to_router"])
    assert diff >= 3, "UDP to the router: %d of 3 counted as to_router\nbefore %s\nafter %s" % (
        diff, json.dumps(before), json.dumps(after))


# (source, destination address, what it crosses)
ACROSS = [
    ("ra1", "10.2.0.11", "host1 -> host2"),
    ("ra1", "10.2.0.12", "host1 -> host3"),
    ("ra2", "10.2.0.13", "host2 -> host1"),
    ("rb2", "10.1.0.12", "host3 -> host2"),
    ("ra1", "10.2.0.13", "within host1"),
    ("ra2", "10.2.0.11", "within host2"),
]


@pytest.mark.parametrize("src,dst,where", ACROSS, ids=[a[2].replace(" ", "") for a in ACROSS])
def test_ping_across_subnets(cloud, src, dst, where):
    wait_routed(src, dst)
    tx, rx, ttls, out = ping_ttls(src, dst)
    assert (tx, rx) == (5, 5), "%s -> %s (%s):\n%s" % (src, dst, where, out)
    # One router hop each way: the reply left the VM with 64.
    assert ttls and set(ttls) == {63}, "%s -> %s: reply TTLs %s (one hop means 63)\n%s" % (src, dst, ttls, out)


def test_large_routed_packets_fit_the_mtu(cloud):
    wait_routed("ra1", "10.2.0.12")
    tx, rx, ttls, out = ping_ttls("ra1", "10.2.0.12", count=3, extra=["-M", "do", "-s", 1422])
    assert (tx, rx) == (3, 3), out


def test_iperf3_tcp_across_subnets(cloud):
    wait_routed("ra1", "10.2.0.11")
    server = vm_popen("rb1", ["iperf3", "-s", "-1", "-B", "10.2.0.11"])
    try:
        time.sleep(0.5)
        p = vm_exec("ra1", ["iperf3", "-c", "10.2.0.11", "-t", 3, "-J"], timeout=60, check=False)
        try:
            result = json.loads(p.stdout)
        except ValueError:
            pytest.fail("iperf3 gave no JSON: %s %s" % (p.stdout[-500:], p.stderr))
        assert "error" not in result, result.get("error")
        assert p.returncode == 0, p.stderr
        end = result["end"]
        assert end["sum_received"]["bytes"] > 0 and end["sum_sent"]["bytes"] > 0, end
        print("iperf3 ra1 (10.1.0.11, host1) -> rb1 (10.2.0.11, host2), routed: %.2f Gbit/s, %s retransmits" %
              (end["sum_received"]["bits_per_second"] / 1e9, end["sum_sent"].get("retransmits")))
    finally:
        stop_bg(server)


def test_traceroute_shows_one_router_hop(cloud):
    for src, dst, gw in (("ra1", "10.2.0.11", "10.1.0.1"), ("rb2", "10.1.0.12", "10.2.0.1"),
                         ("ra1", "10.2.0.13", "10.1.0.1")):
        wait_routed(src, dst)
        hops, out = traceroute(src, dst)
        addrs = [h[1] for h in hops]
        assert addrs == [[gw], [dst]], "%s -> %s: expected the gateway %s then %s:\n%s" % (
            src, dst, gw, dst, out)


def test_ttl_1_gets_time_exceeded_from_the_gateway(api, cloud):
    wait_routed("ra1", "10.2.0.11")
    port = cloud["vms"]["ra1"]["port"]["id"]
    before = port_stats(api, port)
    p = vm_exec("ra1", ["ping", "-n", "-c", 2, "-i", 0.3, "-W", 2, "-t", 1, "10.2.0.11"], check=False)
    assert re.search(r"From 10\.1\.0\.1 icmp_seq=\d+ Time to live exceeded", p.stdout), p.stdout + p.stderr
    diff, after = stats_diff(api, port, before, ["ttl_exceeded"])
    assert diff >= 1, "no ttl_exceeded drop counted on ra1's port\nbefore %s\nafter %s" % (
        json.dumps(before), json.dumps(after))
    # The ICMP errors the datapath built are counted too.
    assert after["stats"].get("icmp_sent", 0) > before["stats"].get("icmp_sent", 0), (before, after)


def test_unreachable_destinations_get_icmp_errors(api, cloud):
    wait_routed("ra1", "10.2.0.11")
    port = cloud["vms"]["ra1"]["port"]["id"]
    # An address of a connected subnet that no port holds: host unreachable,
    # from the router (10.1.0.1, not the VM's own 10.1.0.11 that a local ARP
    # failure would show).
    before = port_stats(api, port)
    p = vm_exec("ra1", ["ping", "-n", "-c", 2, "-i", 0.3, "-W", 2, "10.2.0.99"], check=False)
    assert re.search(r"From 10\.1\.0\.1 icmp_seq=\d+ Destination Host Unreachable", p.stdout), \
        p.stdout + p.stderr
    diff, after = stats_diff(api, port, before, ["no_neigh"])
    assert diff >= 1, "no no_neigh drop counted\nbefore %s\nafter %s" % (json.dumps(before), json.dumps(after))
    # A network the router has no route to: net unreachable.
    before = after
    p = vm_exec("ra1", ["ping", "-n", "-c", 2, "-i", 0.3, "-W", 2, "10.77.0.1"], check=False)
    assert re.search(r"From 10\.1\.0\.1 icmp_seq=\d+ Destination Net Unreachable", p.stdout), \
        p.stdout + p.stderr
    diff, after = stats_diff(api, port, before, ["no_route"])
    assert diff >= 1, "no no_route drop counted\nbefore %s\nafter %s" % (json.dumps(before), json.dumps(after))


@pytest.mark.parametrize("what,extra", [("ip-options", ["-R"]), ("fragments", ["-s", 3000])],
                         ids=["ip-options", "fragments"])
def test_ip_options_and_fragments_are_routed_or_dropped_never_misrouted(api, cloud, what, extra):
    """Pings with the record-route option, and pings of 3000 bytes (two
    fragments each at MTU 1450), red ra1 -> red rb1 (10.2.0.11): either
    answered, or dropped and counted on ra1's port; never seen by green's
    gb1, which has the same address behind an identical router."""
    wait_routed("ra1", "10.2.0.11")
    port = cloud["vms"]["ra1"]["port"]["id"]
    before = port_stats(api, port)
    pattern = secrets.token_hex(8)
    result = {}

    def pings():
        p = vm_exec("ra1", ["ping", "-n", "-c", 3, "-i", 0.3, "-W", 1, "-p", pattern] + extra + ["10.2.0.11"],
                    check=False)
        result["out"] = p.stdout + p.stderr

    hits = sniff_during(["gb1", "ga1", "rb1"], [bytes.fromhex(pattern)], pings, seconds=3.5)
    assert hits["gb1"] == [] and hits["ga1"] == [], "%s reached the other tenant: %s" % (what, hits)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", result["out"])
    assert m, result["out"]
    received = int(m.group(2))
    if received == 3:
        assert hits["rb1"], "answered, yet rb1 saw nothing"
        print("%s: routed (3 of 3 answered)" % what)
        return
    diff, after = stats_diff(api, port, before, list(before["stats"].get("drops", {}).keys()))
    assert diff >= 3 - received, "%s: %d of 3 answered and only %d drops counted on ra1's port\n%s\n%s -> %s" % (
        what, received, diff, result["out"], json.dumps(before), json.dumps(after))
    print("%s: %d answered, dropped with %s" % (what, received, {
        k: v - before["stats"]["drops"].get(k, 0) for k, v in after["stats"]["drops"].items()
        if v != before["stats"]["drops"].get(k, 0)}))


def test_tenants_with_identical_subnets_and_routers_are_isolated(api, cloud):
    result = {}
    wait_routed("ga1", "10.2.0.11")
    wait_routed("ra1", "10.2.0.11")

    # green's ga1 (host3) pings 10.2.0.11: green's gb1 (host1) answers; red's
    # rb1 with the same address and red's ra1 (ga1's own address) see nothing.
    pattern = secrets.token_hex(8)

    def ga1_pings():
        result["ping"] = ping("ga1", "10.2.0.11", count=5, interval=0.1, pattern=pattern)

    hits = sniff_during(["gb1", "rb1", "ra1", "rb3"], [bytes.fromhex(pattern)], ga1_pings, seconds=2.5)
    assert result["ping"][:2] == (5, 5), result["ping"][2]
    assert hits["gb1"], "gb1 saw none of ga1's pings"
    for vm in ("rb1", "ra1", "rb3"):
        assert hits[vm] == [], "green's ga1 reached red's %s: %s" % (vm, hits[vm])

    # The other way: red's ra1 reaches red's rb1, not green's gb1.
    pattern = secrets.token_hex(8)

    def ra1_pings():
        result["ping"] = ping("ra1", "10.2.0.11", count=5, interval=0.1, pattern=pattern)

    hits = sniff_during(["rb1", "gb1", "ga1"], [bytes.fromhex(pattern)], ra1_pings, seconds=2.5)
    assert result["ping"][:2] == (5, 5), result["ping"][2]
    assert hits["rb1"], "rb1 saw none of ra1's pings"
    assert hits["gb1"] == [] and hits["ga1"] == [], hits

    # Each tenant's gateway is its own router.
    neigh = vm_exec("ga1", ["ip", "neigh", "show", "10.1.0.1", "dev", "eth0"]).stdout
    green_mac = router_mac(api, cloud["routers"]["green"]["id"], "10.1.0.1")
    red_mac = router_mac(api, cloud["routers"]["red"]["id"], "10.1.0.1")
    assert green_mac != red_mac
    assert green_mac in neigh and red_mac not in neigh, neigh

    # 10.2.0.12 exists only in red (rb2): green gets host unreachable from its
    # own router, and rb2 sees nothing.
    pattern = secrets.token_hex(8)

    def ga1_pings_red_only():
        p = vm_exec("ga1", ["ping", "-n", "-c", 3, "-i", 0.3, "-W", 1, "-p", pattern, "10.2.0.12"], check=False)
        result["out"] = p.stdout

    hits = sniff_during(["rb2"], [bytes.fromhex(pattern)], ga1_pings_red_only, seconds=3)
    assert " 0 received" in result["out"], result["out"]
    assert hits["rb2"] == [], hits
    assert "Destination Host Unreachable" in result["out"], result["out"]


@pytest.fixture(scope="module")
def next_hop(api, cloud):
    """rnh (10.2.0.254, host3): a VM that forwards, with 172.31.0.0/24 behind
    it in a namespace of its own (172.31.0.2), and red-r's static route to
    that prefix through it."""
    tapi = weftlab.Api(API_URL, project="red")
    n = cloud["nets"]["red-b"]
    # The VM forwards packets from 172.31.0.0/24: its port allows that prefix.
    vm = make_vm(api, tapi, "rnh", n["net"], n["subnet"], "10.2.0.254", "host3",
                 allowed_address_pairs=[{"ip_address": LAN_PREFIX}])
    cloud["vms"]["rnh"] = dict(vm, tenant="red")
    vm_exec("rnh", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
    subprocess.run(["ip", "netns", "add", LAN_NS], check=True)
    try:
        weftlab.ip("link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", LAN_NS,
                   ns="weft-vm-rnh")
        weftlab.ip_batch("weft-vm-rnh", ["addr add %s/24 dev lan0" % LAN_GW, "link set lan0 up"])
        weftlab.ip_batch(LAN_NS, ["link set lo up", "addr add %s/24 dev eth0" % LAN_HOST, "link set eth0 up",
                                  "route add default via %s" % LAN_GW])
        wait_port_status(api, vm["port"]["id"], "ACTIVE")
        router_cmd("red", "set", "red-r", "--route", "destination=%s,gateway=10.2.0.254" % LAN_PREFIX)
        yield vm
    finally:
        subprocess.run(["ip", "netns", "del", LAN_NS], capture_output=True)


def test_static_route_through_a_vm(api, cloud, next_hop):
    routes = api.show("router", cloud["routers"]["red"]["id"])["routes"]
    assert {"destination": LAN_PREFIX, "nexthop": "10.2.0.254"} in routes, routes
    wait_routed("ra1", LAN_HOST)
    # From host1 and from host2 (rnh is on host3).
    for src in ("ra1", "ra2"):
        tx, rx, ttls, out = ping_ttls(src, LAN_HOST)
        assert (tx, rx) == (5, 5), "%s -> %s:\n%s" % (src, LAN_HOST, out)
        # The reply crossed rnh and the router: 64 - 2.
        assert set(ttls) == {62}, "%s -> %s: reply TTLs %s (expected 62)\n%s" % (src, LAN_HOST, ttls, out)
    hops, out = traceroute("ra1", LAN_HOST)
    assert [h[1] for h in hops] == [["10.1.0.1"], ["10.2.0.254"], [LAN_HOST]], out
    # The route is the router's, not the VM's: green (same subnets, no such
    # route) gets net unreachable from its router.
    p = vm_exec("ga1", ["ping", "-n", "-c", 2, "-i", 0.3, "-W", 1, LAN_HOST], check=False)
    assert " 0 received" in p.stdout and "Destination Net Unreachable" in p.stdout, p.stdout


def test_two_routers_joined_by_a_subnet(api, cloud, next_hop):
    """red-r2 has an interface on red-b by port (10.2.0.2) and one on red-c
    (10.3.0.0/24); red-r routes 10.3.0.0/24 to 10.2.0.2, red-r2 routes back
    by default through 10.2.0.1. ra1 (host1) -> rc1 (host2) crosses both
    routers at the ingress host: TTL 62, two router hops."""
    tapi = weftlab.Api(API_URL, project="red")
    net = tapi.create("network", name="red-c")
    sub = tapi.create("subnet", network_id=net["id"], name="red-c4", ip_version=4, cidr="10.3.0.0/24")
    cloud["nets"]["red-c"] = {"net": net, "subnet": sub, "tenant": "red"}
    r2 = router_json("red", "create", "red-r2")
    b = cloud["nets"]["red-b"]
    link = tapi.create("port", network_id=b["net"]["id"], name="red-r2-b",
                       fixed_ips=[{"subnet_id": b["subnet"]["id"], "ip_address": "10.2.0.2"}])
    router_cmd("red", "add", "port", "red-r2", link["id"])
    router_cmd("red", "add", "subnet", "red-r2", "red-c4")
    got = api.show("port", link["id"])
    assert got["device_owner"] == "network:router_interface" and got["device_id"] == r2["id"], got
    # 'router set --route' adds to the routes (add_extraroutes).
    router_cmd("red", "set", "red-r", "--route", "destination=10.3.0.0/24,gateway=10.2.0.2")
    router_cmd("red", "set", "red-r2", "--route", "destination=0.0.0.0/0,gateway=10.2.0.1")
    routes = api.show("router", cloud["routers"]["red"]["id"])["routes"]
    assert {"destination": "10.3.0.0/24", "nexthop": "10.2.0.2"} in routes, routes
    assert {"destination": LAN_PREFIX, "nexthop": "10.2.0.254"} in routes, routes
    vm = make_vm(api, tapi, "rc1", net, sub, "10.3.0.11", "host2")
    cloud["vms"]["rc1"] = dict(vm, tenant="red")
    wait_port_status(api, vm["port"]["id"], "ACTIVE")
    wait_routed("ra1", "10.3.0.11")
    tx, rx, ttls, out = ping_ttls("ra1", "10.3.0.11")
    assert (tx, rx) == (5, 5), out
    assert set(ttls) == {62}, "reply TTLs %s (two routers: 62)\n%s" % (ttls, out)
    # rb2 on red-b (host3): its gateway is red-r, so the request crosses
    # both routers; rc1's reply reaches red-b through red-r2 alone (63).
    wait_routed("rb2", "10.3.0.11")
    tx, rx, ttls, out = ping_ttls("rb2", "10.3.0.11")
    assert (tx, rx) == (5, 5) and set(ttls) == {63}, out
    hops, out = traceroute("ra1", "10.3.0.11")
    assert [h[1] for h in hops] == [["10.1.0.1"], ["10.2.0.2"], ["10.3.0.11"]], out


def test_removing_an_interface_cuts_the_subnet_off(api, cloud, next_hop):
    """After 'router remove subnet', red-c is no longer reachable from red-a
    (red-r's route to it now leads to a router without that subnet)."""
    if "rc1" not in cloud["vms"]:
        pytest.fail("rc1 was not made: test_two_routers_joined_by_a_subnet failed first")
    wait_routed("rb2", "10.3.0.11")
    router_cmd("red", "remove", "subnet", "red-r2", "red-c4")
    r2 = [r for r in api.list("routers") if r["name"] == "red-r2"][0]
    assert all(f["subnet_id"] != cloud["nets"]["red-c"]["subnet"]["id"]
               for p in interface_ports(api, r2["id"]) for f in p["fixed_ips"])
    deadline = time.monotonic() + 10
    while True:
        tx, rx, out = ping("rb2", "10.3.0.11", count=3, interval=0.2, wait=1)
        if rx == 0:
            break
        assert time.monotonic() < deadline, "rb2 still reaches rc1 10 s after the interface went:\n" + out
    # And back. The new interface port has a new MAC: rc1 forgets the old
    # one (a real guest would after its ARP entry went stale).
    router_cmd("red", "add", "subnet", "red-r2", "red-c4")
    vm_exec("rc1", ["ip", "neigh", "flush", "dev", "eth0"])
    wait_routed("rb2", "10.3.0.11")
