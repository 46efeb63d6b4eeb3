# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of tenant L2 networks across hosts, in one 3-host lab.

Topology (both tenants use 10.0.0.0/24, on purpose with the same addresses):

    acme    a1 10.0.0.11 host1   a2 10.0.0.12 host2   a3 10.0.0.13 host1
    globex  b1 10.0.0.12 host3   b2 10.0.0.11 host2

The tests that disturb the lab (agent kill, weftd stop) come last; pytest
runs a module's tests in file order."""

import calendar
import contextlib
import json
import secrets
import socket
import time

import pytest

from conftest import (wait_port_status, API_URL, lab, marker, ping, parse_ping, port_stats, drop_count, scapy_send,
                      have_scapy, sniff_during, stop_bg, vm_exec, vm_popen, wait_ping,
                      wait_unreachable, weftctl, logs_tail)
import weftlab

TENANTS = {
    "acme": {"a1": ("10.0.0.11", "host1"), "a2": ("10.0.0.12", "host2"), "a3": ("10.0.0.13", "host1")},
    "globex": {"b1": ("10.0.0.12", "host3"), "b2": ("10.0.0.11", "host2")},
}
ALL_VMS = [vm for vms in TENANTS.values() for vm in vms]


@pytest.fixture(scope="module")
def cloud(lab_up, api):
    """Both tenants' networks, ports and VMs, made through the API and
    weft-lab; returns {"nets": {tenant: net}, "vms": {vm: {...}}}."""
    nets, vms = {}, {}
    for tenant, members in TENANTS.items():
        tapi = weftlab.Api(API_URL, project=tenant)
        net = tapi.create("network", name=tenant + "-net")
        sub = tapi.create("subnet", network_id=net["id"], name=tenant + "-sub", ip_version=4,
                          cidr="10.0.0.0/24")
        nets[tenant] = {"net": net, "subnet": sub}
        for vm, (addr, host) in members.items():
            port = tapi.create("port", network_id=net["id"], name=vm,
                               fixed_ips=[{"subnet_id": sub["id"], "ip_address": addr}])
            lab("vm", "add", vm, "--host", host, "--port", port["id"])
            vms[vm] = {"tenant": tenant, "ip": addr, "host": host, "port": port,
                       "mac": port["mac_address"], "net": net}
    for vm in vms.values():
        wait_port_status(api, vm["port"]["id"], "ACTIVE")
    # Traffic is expected once the ports are ACTIVE; give the first ARP
    # answers a moment all the same, so that a slow start is not a failure
    # of the test that happens to run first.
    wait_ping("a1", "10.0.0.12")
    wait_ping("b1", "10.0.0.11")
    return {"nets": nets, "vms": vms}


def vms_of(cloud, tenant):
    return [n for n, v in cloud["vms"].items() if v["tenant"] == tenant]


# ---------------------------------------------------------------------------


def test_agents_registered_and_ports_active(api, cloud):
    agents = {a["host"]: a for a in api.list("agents")}
    for i in (1, 2, 3):
        a = agents.get("host%d" % i)
        assert a is not None, agents
        assert a["alive"] is True, a
        assert a["configurations"].get("underlay_ip") == "192.0.2.%d" % (10 + i), a
    for name, vm in cloud["vms"].items():
        port = api.show("port", vm["port"]["id"])
        assert port["status"] == "ACTIVE", (name, port)
        assert port["binding:host_id"] == vm["host"], (name, port)
        assert port["binding:vif_type"] == "tap", (name, port)


def test_ping_across_hosts(cloud):
    for src, dst in (("a1", "10.0.0.12"), ("a2", "10.0.0.11"), ("a2", "10.0.0.13"),
                     ("b1", "10.0.0.11"), ("b2", "10.0.0.12")):
        tx, rx, out = ping(src, dst, count=5, interval=0.1)
        assert (tx, rx) == (5, 5), "%s -> %s:\n%s" % (src, dst, out)


def test_ping_same_host(cloud):
    tx, rx, out = ping("a1", "10.0.0.13", count=5, interval=0.1)
    assert (tx, rx) == (5, 5), out


def test_large_packets_fit_the_mtu(cloud):
    # 1450 - 20 (IP) - 8 (ICMP) = 1422 bytes of payload, with DF set: the
    # VM MTU plus the VXLAN overhead must fit the underlay.
    p = vm_exec("a1", ["ping", "-n", "-q", "-c", 3, "-i", 0.1, "-W", 1, "-M", "do", "-s", 1422, "10.0.0.12"],
                check=False)
    assert parse_ping(p.stdout) == (3, 3), p.stdout + p.stderr


def test_iperf3_tcp_across_hosts(cloud):
    server = vm_popen("a2", ["iperf3", "-s", "-1", "-B", "10.0.0.12"])
    try:
        time.sleep(0.5)
        p = vm_exec("a1", ["iperf3", "-c", "10.0.0.12", "-t", 3, "-J"], timeout=60, check=False)
        result = json.loads(p.stdout)
        assert "error" not in result, result.get("error")
        assert p.returncode == 0, p.stderr
        received = result["end"]["sum_received"]["bytes"]
        sent = result["end"]["sum_sent"]["bytes"]
        assert received > 0 and sent > 0, result["end"]
        print("iperf3 a1 -> a2: %.2f Gbit/s" % (result["end"]["sum_received"]["bits_per_second"] / 1e9))
    finally:
        stop_bg(server)


def test_tenants_with_the_same_addresses_are_isolated(cloud):
    vms = cloud["vms"]
    # b1 (globex) pings 10.0.0.11: globex's own b2 answers, acme's a1 (same
    # address, other tenant) never sees a packet.
    pattern = secrets.token_hex(8)
    mark = bytes.fromhex(pattern)
    result = {}

    def b1_pings():
        result["ping"] = ping("b1", "10.0.0.11", count=5, interval=0.1, pattern=pattern)

    hits = sniff_during(["a1", "a2", "a3", "b2"], [mark], b1_pings, seconds=2.5)
    tx, rx, out = result["ping"]
    assert (tx, rx) == (5, 5), out
    assert hits["b2"], "b2 saw none of b1's pings"
    for vm in ("a1", "a2", "a3"):
        assert hits[vm] == [], "globex's b1 reached acme's %s: %s" % (vm, hits[vm])

    # b1's ARP answer for 10.0.0.11 is b2's MAC, not a1's.
    neigh = vm_exec("b1", ["ip", "neigh", "show", "10.0.0.11", "dev", "eth0"]).stdout
    assert vms["b2"]["mac"] in neigh and vms["a1"]["mac"] not in neigh, neigh

    # And the other way: acme's a2 (10.0.0.12, the same as b1) pings
    # 10.0.0.11 and reaches a1, not b2.
    pattern = secrets.token_hex(8)
    mark = bytes.fromhex(pattern)

    def a2_pings():
        result["ping"] = ping("a2", "10.0.0.11", count=5, interval=0.1, pattern=pattern)

    hits = sniff_during(["a1", "b1", "b2"], [mark], a2_pings, seconds=2.5)
    assert result["ping"][:2] == (5, 5), result["ping"][2]
    assert hits["a1"], "a1 saw none of a2's pings"
    assert hits["b1"] == [] and hits["b2"] == [], hits

    # An address that exists only in acme is unreachable from globex.
    pattern = secrets.token_hex(8)

    def b1_pings_acme_only():
        result["ping"] = ping("b1", "10.0.0.13", count=3, interval=0.2, wait=1, pattern=pattern)

    hits = sniff_during(["a3"], [bytes.fromhex(pattern)], b1_pings_acme_only, seconds=3)
    assert result["ping"][1] == 0, result["ping"][2]
    assert hits["a3"] == [], hits
    neigh = vm_exec("b1", ["ip", "neigh", "show", "10.0.0.13", "dev", "eth0"]).stdout
    assert vms["a3"]["mac"] not in neigh, neigh


# Forged frames: each is sent several times by 'sender' and must reach no VM
# and be counted under one of 'reasons' on the sender's port.
SPOOF_COUNT = 5


def _spoof_cases():
    # Each case: (id, sender, scapy frame expression with {placeholders},
    # marker kind, acceptable drop reasons).
    return [
        ("forged-source-mac", "a1",
         "Ether(src='fa:16:3e:66:66:66', dst='{a2_mac}')/IP(src='10.0.0.11', dst='10.0.0.12')"
         "/UDP(sport=4000, dport=4000)/Raw(MARK)", "payload", ["src_mac"]),
        ("forged-source-ip", "a1",
         "Ether(src='{a1_mac}', dst='{a2_mac}')/IP(src='10.0.0.13', dst='10.0.0.12')"
         "/UDP(sport=4000, dport=4000)/Raw(MARK)", "payload", ["src_ip"]),
        ("forged-mac-and-ip-of-another-vm", "a1",
         "Ether(src='{a3_mac}', dst='{a2_mac}')/IP(src='10.0.0.13', dst='10.0.0.12')"
         "/UDP(sport=4000, dport=4000)/Raw(MARK)", "payload", ["src_mac"]),
        ("gratuitous-arp-request", "a3",
         "Ether(src='{a3_mac}', dst='ff:ff:ff:ff:ff:ff')/ARP(op=1, hwsrc='{a3_mac}', psrc='10.0.0.12',"
         " hwdst='00:00:00:00:00:00', pdst='10.0.0.12')", "arp:{a3_mac}:10.0.0.12",
         ["arp_spoof", "arp_not_request", "broadcast"]),
        ("gratuitous-arp-reply", "a3",
         "Ether(src='{a3_mac}', dst='ff:ff:ff:ff:ff:ff')/ARP(op=2, hwsrc='{a3_mac}', psrc='10.0.0.12',"
         " hwdst='ff:ff:ff:ff:ff:ff', pdst='10.0.0.12')", "arp:{a3_mac}:10.0.0.12",
         ["arp_spoof", "arp_not_request", "broadcast"]),
        ("arp-reply-claiming-another-vm", "a2",
         "Ether(src='{a2_mac}', dst='{a1_mac}')/ARP(op=2, hwsrc='{a2_mac}', psrc='10.0.0.13',"
         " hwdst='{a1_mac}', pdst='10.0.0.11')", "arp:{a2_mac}:10.0.0.13",
         ["arp_spoof", "arp_not_request"]),
        ("to-other-tenant-mac-same-host", "b2",
         "Ether(src='{b2_mac}', dst='{a2_mac}')/IP(src='10.0.0.11', dst='10.0.0.12')"
         "/UDP(sport=4000, dport=4000)/Raw(MARK)", "payload", ["unknown_dst"]),
        ("to-other-tenant-mac-other-host", "b1",
         "Ether(src='{b1_mac}', dst='{a3_mac}')/IP(src='10.0.0.12', dst='10.0.0.13')"
         "/UDP(sport=4000, dport=4000)/Raw(MARK)", "payload", ["unknown_dst"]),
    ]


@pytest.mark.parametrize("case", _spoof_cases(), ids=lambda c: c[0])
def test_spoofed_frames_are_dropped_and_counted(api, cloud, case):
    if not have_scapy():
        pytest.skip("python3-scapy is not installed (make deps)")
    name, sender, frame, kind, reasons = case
    vms = cloud["vms"]
    subst = {"%s_mac" % n: v["mac"] for n, v in vms.items()}
    frame = frame.format(**subst)
    mark = marker()
    if kind == "payload":
        markers = [mark]
    else:
        mac, addr = kind.format(**subst)[len("arp:"):].rsplit(":", 1)
        # In an ARP packet the sender's MAC is followed by its IP.
        markers = [bytes.fromhex(mac.replace(":", "")) + socket.inet_aton(addr)]

    # For the ARP cases, a1 first learns the real owner of the claimed
    # address, so that a delivered claim would show in its ARP cache.
    if kind != "payload":
        wait_ping("a1", "10.0.0.12")

    port_id = vms[sender]["port"]["id"]
    before = port_stats(api, port_id)
    code = "MARK = %r\nsendp(%s, iface='eth0', count=%d, inter=0.02, verbose=False)\n" % (
        mark, frame, SPOOF_COUNT)
    others = [n for n in ALL_VMS if n != sender]
    hits = sniff_during(others, markers, lambda: scapy_send(sender, code), seconds=3.0)
    for vm, h in hits.items():
        assert h == [], "%s: the forged frame from %s reached %s: %s" % (name, sender, vm, h)

    # Counted: the counters are read from the agent, which may lag a moment.
    deadline = time.monotonic() + 5
    while True:
        after = port_stats(api, port_id)
        diff = sum(drop_count(after, r) - drop_count(before, r) for r in reasons)
        if diff >= SPOOF_COUNT or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert diff >= SPOOF_COUNT, "%s: %d of %d drops counted under %s\nbefore %s\nafter %s" % (
        name, diff, SPOOF_COUNT, reasons, json.dumps(before), json.dumps(after))

    if kind != "payload":
        neigh = vm_exec("a1", ["ip", "neigh", "show", "10.0.0.12", "dev", "eth0"]).stdout
        assert vms["a2"]["mac"] in neigh, "a1's ARP entry for 10.0.0.12 changed: " + neigh


def test_weftctl_port_stats(cloud):
    p = weftctl("port", "stats", cloud["vms"]["a1"]["port"]["id"], check=False)
    assert p.returncode == 0, p.stderr
    assert "src_mac" in p.stdout.lower().replace("-", "_").replace(" ", "_"), p.stdout


@pytest.fixture
def late_vm(api, cloud):
    """A port created (with weftctl) after the other VMs are up, and its VM
    on host3; removed at the end whatever happens."""
    made = {}

    def make(name, addr):
        out = weftctl("port", "create", name, "--network", cloud["nets"]["acme"]["net"]["id"],
                      "--fixed-ip", "ip=" + addr, "-o", "json", project="acme").stdout
        made["port"] = json.loads(out)
        lab("vm", "add", name, "--host", "host3", "--port", made["port"]["id"])
        made["vm"] = name
        return made["port"]

    yield make
    if "vm" in made:
        lab("vm", "del", made["vm"], check=False)
    if "port" in made:
        weftctl("port", "delete", made["port"]["id"], check=False)


def test_port_created_later_becomes_reachable(api, cloud, late_vm):
    port = late_vm("a4", "10.0.0.14")
    wait_port_status(api, port["id"], "ACTIVE")
    took = wait_ping("a1", "10.0.0.14", timeout=10)
    print("a4 reachable %.2f s after its VM came up" % took)
    tx, rx, out = ping("a2", "10.0.0.14", count=3, interval=0.1)
    assert (tx, rx) == (3, 3), out
    # Not from the other tenant.
    tx, rx, out = ping("b1", "10.0.0.14", count=2, interval=0.2)
    assert rx == 0, out


def test_deleted_port_stops_being_reachable(api, cloud, late_vm):
    port = late_vm("a5", "10.0.0.15")
    wait_port_status(api, port["id"], "ACTIVE")
    wait_ping("a1", "10.0.0.15", timeout=10)
    weftctl("port", "delete", port["id"])
    wait_unreachable("a1", "10.0.0.15", timeout=10)
    # a1 still has a5's MAC in its ARP cache: the datapath, not ARP, stops it.
    pattern = secrets.token_hex(8)
    result = {}

    def pings():
        result["ping"] = ping("a1", "10.0.0.15", count=5, interval=0.1, pattern=pattern)

    hits = sniff_during(["a5"], [bytes.fromhex(pattern)], pings, seconds=2)
    assert result["ping"][1] == 0, result["ping"][2]
    assert hits["a5"] == [], hits
    # The rest of the network is untouched.
    tx, rx, out = ping("a1", "10.0.0.12", count=3, interval=0.1)
    assert (tx, rx) == (3, 3), out


def test_agent_kill9_and_restart_lose_no_packet(api, cloud, agent_guard):
    # host1 holds a1 and a3. One ping stays on host1 (a1 -> a3), one
    # crosses into it (a2 on host2 -> a1); the agent of host1 is killed
    # with SIGKILL and started again while they run.
    pings = [vm_popen("a1", ["ping", "-n", "-q", "-i", "0.01", "-c", "500", "-W", "1", "-w", "60", "10.0.0.13"]),
             vm_popen("a2", ["ping", "-n", "-q", "-i", "0.01", "-c", "500", "-W", "1", "-w", "60", "10.0.0.11"])]
    try:
        time.sleep(1.0)
        old = weftlab.load_state()["hosts"]["1"]["agent"]["pid"]
        lab("agent", "kill", "host1")
        time.sleep(0.3)
        lab("agent", "start", "host1")
        assert weftlab.load_state()["hosts"]["1"]["agent"]["pid"] != old
        outs = [p.communicate(timeout=90)[0] for p in pings]
    finally:
        for p in pings:
            stop_bg(p)
    for what, out in zip(("a1 -> a3 (same host)", "a2 -> a1 (across hosts)"), outs):
        tx, rx = parse_ping(out)
        assert tx == 500 and rx == 500, "%s: %d sent, %d received\n%s" % (what, tx, rx, out)
    missing = weftlab.wait_agents_alive(weftlab.load_state(), ["host1"], 20)
    assert not missing, "the restarted agent did not come back:\n" + logs_tail()
    for vm in ("a1", "a3"):
        assert api.show("port", cloud["vms"][vm]["port"]["id"])["status"] == "ACTIVE"
    # The restarted agent still follows changes.
    tx, rx, out = ping("a2", "10.0.0.13", count=3, interval=0.1)
    assert (tx, rx) == (3, 3), out


@pytest.fixture
def controller_guard(lab_up):
    """Makes sure weftd runs again after the test."""
    yield
    state = weftlab.load_state()
    if not weftlab.proc_alive(state["controller"].get("proc")):
        lab("controller", "start", check=False)


def test_traffic_flows_while_weftd_is_stopped(api, cloud, controller_guard):
    lab("controller", "stop")
    assert not weftlab.Api(API_URL).answers()
    # Right away, and after the agents have had time to notice (several
    # missed heartbeats).
    procs = [vm_popen("a1", ["ping", "-n", "-q", "-i", "0.02", "-c", "300", "-W", "1", "-w", "60", "10.0.0.12"]),
             vm_popen("b1", ["ping", "-n", "-q", "-i", "0.02", "-c", "300", "-W", "1", "-w", "60", "10.0.0.11"])]
    try:
        outs = [p.communicate(timeout=90)[0] for p in procs]
    finally:
        for p in procs:
            stop_bg(p)
    for out in outs:
        assert parse_ping(out) == (300, 300), out
    tx, rx, out = ping("a1", "10.0.0.13", count=5, interval=0.1)
    assert (tx, rx) == (5, 5), out


def _snapshot(api):
    def strip(items, keys):
        return sorted((tuple(json.dumps(i.get(k), sort_keys=True) for k in keys) for i in items))

    return {
        "networks": strip(api.list("networks"), ["id", "name", "project_id", "provider:segmentation_id",
                                                 "mtu", "subnets"]),
        "subnets": strip(api.list("subnets"), ["id", "network_id", "cidr", "gateway_ip", "project_id"]),
        "ports": strip(api.list("ports"), ["id", "network_id", "mac_address", "fixed_ips", "binding:host_id",
                                           "project_id", "revision_number"]),
    }


def _utc(ts):
    """Seconds since the epoch of an API timestamp (UTC), with a 'T' or a
    space between date and time."""
    return calendar.timegm(time.strptime(ts.rstrip("Z").replace("T", " "), "%Y-%m-%d %H:%M:%S"))


def test_weftd_restart_agents_resync_state_intact(api, cloud, controller_guard):
    before = _snapshot(api)
    lab("controller", "stop")
    # Longer than the 10 s after which weftd calls an agent dead, so that
    # 'alive' after the restart can only come from the agents reconnecting.
    stopped = time.time()
    time.sleep(11)
    lab("controller", "start")
    missing = weftlab.wait_agents_alive(weftlab.load_state(), ["host1", "host2", "host3"], timeout=30)
    assert not missing, "agents did not resync: %s\n%s" % (missing, logs_tail())
    for a in api.list("agents"):
        assert _utc(a["heartbeat_timestamp"]) >= int(stopped), a
    assert _snapshot(api) == before
    for name, vm in cloud["vms"].items():
        assert api.show("port", vm["port"]["id"])["status"] == "ACTIVE", name
    # Traffic still flows, and a change made after the restart reaches the
    # agents (they follow the new weftd's stream).
    tx, rx, out = ping("a1", "10.0.0.12", count=3, interval=0.1)
    assert (tx, rx) == (3, 3), out
    tapi = weftlab.Api(API_URL, project="globex")
    port = tapi.create("port", network_id=cloud["nets"]["globex"]["net"]["id"], name="b3",
                       fixed_ips=[{"ip_address": "10.0.0.33"}])
    try:
        lab("vm", "add", "b3", "--host", "host1", "--port", port["id"])
        wait_port_status(api, port["id"], "ACTIVE")
        wait_ping("b1", "10.0.0.33", timeout=10)
    finally:
        lab("vm", "del", "b3", check=False)
        with contextlib.suppress(weftlab.LabError):
            api.remove("port", port["id"])
