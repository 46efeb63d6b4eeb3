# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of DHCP at the edge, in one 3-host lab.

Tenant 'dh' has dh-net with dh-sub 10.50.0.0/24 (DHCP on, gateway
10.50.0.1, DNS 198.51.100.53 and .54, host routes 10.60.0.0/24 via
10.50.0.254 and 203.0.113.0/24 via 10.50.0.253; the network's MTU is 1450)
and dh-off with dh-off-sub 10.51.0.0/24 (DHCP off):

    d1  10.50.0.11 host1  by dhclient (isc-dhcp-client)
    d2  10.50.0.12 host2  by busybox udhcpc
    d4  10.50.0.14 host3  by udhcpc, while the underlay is captured
    s3  10.50.0.13 host3  static      s5 10.50.0.15 host1 static
    nf  (no fixed_ips)    host1       off1 10.51.0.11 host2 (DHCP off)

A DHCP VM starts with eth0 at MTU 1500 and no address ('weft-lab vm add
--dhcp'); everything it ends up with comes from the lease, and is checked
inside the VM's namespace: address, default route, MTU, the routes of
option 121, and its /etc/resolv.conf ('weft-lab vm exec' shows the VM's
own, which the lab's DHCP script wrote)."""

import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import time

import pytest

from conftest import (wait_port_status, API_URL, PYTHON, have_scapy, lab, logs_tail, ping, port_stats, drop_count,
                      stop_bg, vm_exec, vm_popen, wait_ping, weftctl)
import weftlab

TENANT = "dh"
CIDR = "10.50.0.0/24"
GATEWAY = "10.50.0.1"
DNS = ["198.51.100.53", "198.51.100.54"]
HOST_ROUTES = [("10.60.0.0/24", "10.50.0.254"), ("203.0.113.0/24", "10.50.0.253")]
DOMAIN = "openstacklocal"  # weftd's dns_domain by default
MTU = 1450

STATIC = {"s3": ("10.50.0.13", "host3"), "s5": ("10.50.0.15", "host1")}


@pytest.fixture(scope="module")
def cloud(lab_up, api):
    """The networks and subnets (weftctl), the ports, and the static VMs;
    the DHCP VMs are made by the tests."""
    tapi = weftlab.Api(API_URL, project=TENANT)
    weftctl("network", "create", "dh-net", project=TENANT)
    args = ["subnet", "create", "dh-sub", "--network", "dh-net", "--cidr", CIDR]
    for d in DNS:
        args += ["--dns", d]
    for dest, hop in HOST_ROUTES:
        args += ["--route", "%s,%s" % (dest, hop)]
    sub = json.loads(weftctl(*args, "-o", "json", project=TENANT).stdout)
    net = tapi.show("network", sub["network_id"])
    weftctl("network", "create", "dh-off", project=TENANT)
    off = json.loads(weftctl("subnet", "create", "dh-off-sub", "--network", "dh-off", "--cidr", "10.51.0.0/24",
                             "--no-dhcp", "-o", "json", project=TENANT).stdout)
    assert sub["enable_dhcp"] is True and off["enable_dhcp"] is False, (sub, off)

    def port(name, addr, subnet=sub, network=net):
        return tapi.create("port", network_id=network["id"], name=name,
                           fixed_ips=[{"subnet_id": subnet["id"], "ip_address": addr}])

    ports = {name: port(name, addr) for name, addr in
             (("d1", "10.50.0.11"), ("d2", "10.50.0.12"), ("d4", "10.50.0.14"))}
    vms = {}
    for name, (addr, host) in STATIC.items():
        ports[name] = port(name, addr)
        lab("vm", "add", name, "--host", host, "--port", ports[name]["id"])
        vms[name] = host
    ports["nf"] = tapi.create("port", network_id=net["id"], name="nf", fixed_ips=[])
    assert ports["nf"]["fixed_ips"] == [], ports["nf"]
    lab("vm", "add", "nf", "--host", "host1", "--port", ports["nf"]["id"])
    off_net = tapi.show("network", off["network_id"])
    ports["off1"] = port("off1", "10.51.0.11", subnet=off, network=off_net)
    lab("vm", "add", "off1", "--host", "host2", "--port", ports["off1"]["id"])
    for name in ("s3", "s5", "nf", "off1"):
        wait_port_status(api, ports[name]["id"], "ACTIVE")
    wait_ping("s3", "10.50.0.15")
    return {"net": net, "subnet": sub, "off": off, "ports": ports, "dhcp_vms": {}}


def port_diag(api, port_id):
    """The port's counters, for failure messages (to_agent: DHCP requests
    the datapath passed up; drops by reason)."""
    try:
        return json.dumps(port_stats(api, port_id)["stats"])
    except Exception as e:  # noqa: BLE001 - only for a message
        return "(no stats: %s)" % e


def dhcp_counts(api, port_id):
    """The agent's DHCP counters of a port (GET /v2.0/ports/ID/stats,
    "dhcp": offers, acks, naks, releases, ignored, ignored_by_reason), as
    one flat dict."""
    d = port_stats(api, port_id)["stats"].get("dhcp", {})
    flat = {k: v for k, v in d.items() if isinstance(v, int)}
    flat.update(d.get("ignored_by_reason", {}))
    return flat


def wait_counted(api, port_id, before, keys, at_least):
    """Waits (5 s at most: the counters come from the agent) until the
    DHCP counters under 'keys' grew by 'at_least'; returns (growth, now)."""
    deadline = time.monotonic() + 5
    while True:
        now = dhcp_counts(api, port_id)
        grew = sum(now.get(k, 0) - before.get(k, 0) for k in keys)
        if grew >= at_least or time.monotonic() > deadline:
            return grew, now
        time.sleep(0.2)


def add_dhcp_vm(api, cloud, name, host, client, timeout=30):
    port = cloud["ports"][name]
    p = lab("vm", "add", name, "--host", host, "--port", port["id"], "--dhcp", client,
            "--dhcp-timeout", timeout, check=False, timeout=timeout + 90)
    if p.returncode != 0:
        pytest.fail("weft-lab vm add %s --dhcp %s failed:\n%s%s\nport stats: %s\n%s" % (
            name, client, p.stdout, p.stderr, port_diag(api, port["id"]), logs_tail()))
    cloud["dhcp_vms"][name] = client
    return p.stdout


def need_vm(cloud, name):
    if name not in cloud["dhcp_vms"]:
        pytest.fail("VM %s was not configured by DHCP (see the test that makes it)" % name)


def check_configured(name, addr):
    """What the lease must have set up inside VM 'name'."""
    out = vm_exec(name, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
    assert "inet %s/24 " % addr in out, "%s: address: %s" % (name, out)
    out = vm_exec(name, ["ip", "-o", "link", "show", "dev", "eth0"]).stdout
    assert re.search(r"\bmtu %d\b" % MTU, out), "%s: MTU (option 26) not applied: %s" % (name, out)
    routes = vm_exec(name, ["ip", "-4", "route", "show", "dev", "eth0"]).stdout
    assert re.search(r"^default via %s\b" % re.escape(GATEWAY), routes, re.M), \
        "%s: no default route via %s:\n%s" % (name, GATEWAY, routes)
    for dest, hop in HOST_ROUTES:
        assert re.search(r"^%s via %s\b" % (re.escape(dest), re.escape(hop)), routes, re.M), \
            "%s: host route %s via %s (option 121) missing:\n%s" % (name, dest, hop, routes)
    resolv = vm_exec(name, ["cat", "/etc/resolv.conf"]).stdout
    for d in DNS:
        assert re.search(r"^nameserver %s$" % re.escape(d), resolv, re.M), \
            "%s: DNS %s missing from the VM's /etc/resolv.conf:\n%s" % (name, d, resolv)
    assert re.search(r"^search %s$" % DOMAIN, resolv, re.M), \
        "%s: domain %s (option 15) missing from resolv.conf:\n%s" % (name, DOMAIN, resolv)
    # And it works: across hosts, with full-size packets.
    wait_ping(name, "10.50.0.13", timeout=10)
    p = vm_exec(name, ["ping", "-n", "-q", "-c", 3, "-i", 0.1, "-W", 1, "-M", "do", "-s", MTU - 28, "10.50.0.13"],
                check=False)
    assert " 3 received" in p.stdout, p.stdout + p.stderr


# ---------------------------------------------------------------------------


def test_dhclient_configures_the_vm(api, cloud):
    if shutil.which("dhclient") is None:
        pytest.skip("dhclient (isc-dhcp-client) is not installed (make deps)")
    add_dhcp_vm(api, cloud, "d1", "host1", "dhclient")
    check_configured("d1", "10.50.0.11")
    # The lease itself: server identifier (the gateway), MTU, domain, lease time.
    with open(os.path.join(weftlab.vm_dir("d1"), "dhclient.leases")) as f:
        lease = f.read()
    for opt in ("option dhcp-server-identifier %s;" % GATEWAY, "option interface-mtu %d;" % MTU,
                'option domain-name "%s";' % DOMAIN, "option dhcp-lease-time 86400;",
                "option subnet-mask 255.255.255.0;", "option routers %s;" % GATEWAY):
        assert opt in lease, "%s not in the lease:\n%s" % (opt, lease)
    # dhclient stays in the background for renewals; the lab knows its PID.
    rec = weftlab.load_state()["vms"]["d1"].get("dhcp_client")
    assert rec and weftlab.proc_alive(rec), rec


def test_udhcpc_configures_the_vm(api, cloud):
    if shutil.which("busybox") is None:
        pytest.skip("busybox (udhcpc) is not installed (make deps)")
    add_dhcp_vm(api, cloud, "d2", "host2", "udhcpc")
    check_configured("d2", "10.50.0.12")


def test_dhcp_vms_reach_each_other(cloud):
    need_vm(cloud, "d1")
    need_vm(cloud, "d2")
    for src, dst in (("d1", "10.50.0.12"), ("d2", "10.50.0.11"), ("d1", "10.50.0.15"), ("d2", "10.50.0.13")):
        tx, rx, out = ping(src, dst, count=3, interval=0.1)
        assert (tx, rx) == (3, 3), "%s -> %s:\n%s" % (src, dst, out)


def test_dhclient_reboot_request_is_acked(cloud):
    """dhclient started again with its lease file asks for the same address
    (INIT-REBOOT: a REQUEST without a preceding OFFER) and gets the ACK."""
    need_vm(cloud, "d1")
    d = weftlab.vm_dir("d1")
    rec = weftlab.load_state()["vms"]["d1"].get("dhcp_client")
    if rec:
        weftlab.stop_process(rec, signal.SIGTERM, timeout=3)
    pidfile = os.path.join(d, "dhclient-again.pid")
    logfile = os.path.join(d, "dhclient-again.log")
    # Output to a file, not a pipe: the dhclient that goes to the
    # background must not hold the test's pipe open.
    with open(logfile, "w") as logf:
        rc = subprocess.run(weftlab.vm_cmd("d1", [
            "dhclient", "-4", "-1", "-v", "-cf", os.path.join(d, "dhclient.conf"), "-pf", pidfile,
            "-lf", os.path.join(d, "dhclient.leases"), "-sf", weftlab.DHCP_SCRIPT,
            "-e", "WEFT_RESOLV_CONF=" + weftlab.vm_resolv_conf("d1"), "eth0"]),
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, timeout=90).returncode
    with open(logfile) as f:
        out = f.read()
    try:
        assert rc == 0, out
        assert re.search(r"DHCPREQUEST for 10\.50\.0\.11", out) and \
            re.search(r"DHCPACK of 10\.50\.0\.11 from", out), out
    finally:
        # The new dhclient went to the background: stop it by its PID.
        try:
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
            weftlab.stop_process({"pid": pid, "start": weftlab.proc_start_time(pid)}, signal.SIGTERM, timeout=3)
        except (OSError, ValueError):
            pass
    check_configured("d1", "10.50.0.11")


def _read_until(proc, pattern, timeout):
    """Reads proc's stderr lines until one matches 'pattern'; returns all
    that was read and whether it matched."""
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        line = proc.stderr.readline()
        if not line:
            break
        text += line
        if re.search(pattern, line):
            return text, True
    return text, False


def test_udhcpc_renewal_is_answered(cloud):
    """A running udhcpc renews on SIGUSR1 with a REQUEST unicast to the
    server identifier (10.50.0.1): the VM ARPs for it, the datapath sends it
    up like the broadcasts, and the agent ACKs it."""
    need_vm(cloud, "d2")
    proc = vm_popen("d2", ["busybox", "udhcpc", "-i", "eth0", "-f", "-t", 5, "-T", 1, "-s", weftlab.DHCP_SCRIPT])
    try:
        text, ok = _read_until(proc, r"lease of 10\.50\.0\.12 obtained", 20)
        assert ok, "udhcpc got no lease:\n" + text
        proc.send_signal(signal.SIGUSR1)
        more, ok = _read_until(proc, r"lease of 10\.50\.0\.12 obtained", 20)
        assert ok, "the renewal was not answered:\n" + text + more
        assert "renew" in more, more
    finally:
        stop_bg(proc)
    check_configured("d2", "10.50.0.12")


# Counts the DHCP server messages (UDP 67 -> 68) that VM's eth0 receives.
DHCP_SNIFFER = r"""
import json, socket, struct, sys, time
dur = float(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.settimeout(0.05)
print("ready", flush=True)
end = time.monotonic() + dur
got = []
while time.monotonic() < end:
    try:
        f, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING or len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    sport, dport = struct.unpack("!HH", f[14 + ihl:18 + ihl])
    if sport == 67 and dport == 68:
        bootp = f[22 + ihl:]
        got.append({"yiaddr": socket.inet_ntoa(bootp[16:20]) if len(bootp) >= 20 else None,
                    "chaddr": bootp[28:34].hex() if len(bootp) >= 34 else None})
print(json.dumps(got), flush=True)
"""


def dhcp_replies_during(vm, action, seconds):
    """Runs 'action()' while VM 'vm' counts the DHCP replies it receives;
    returns the list of replies seen."""
    proc = vm_popen(vm, [PYTHON, "-c", DHCP_SNIFFER, seconds])
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", "sniffer in %s: %r %s" % (vm, line, proc.stderr.read() if proc.poll() else "")
        action()
        out, err = proc.communicate(timeout=seconds + 30)
        assert proc.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])
    finally:
        stop_bg(proc)


def udhcpc_once(vm):
    """One short udhcpc run that applies nothing; returns its exit code and
    output (non-zero: no lease)."""
    p = vm_exec(vm, ["busybox", "udhcpc", "-i", "eth0", "-f", "-n", "-q", "-t", 3, "-T", 1, "-A", 1,
                     "-s", "/bin/true"], check=False, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_port_without_fixed_ips_gets_no_answer(api, cloud):
    if shutil.which("busybox") is None:
        pytest.skip("busybox (udhcpc) is not installed (make deps)")
    port = cloud["ports"]["nf"]["id"]
    before = port_stats(api, port)
    counts = dhcp_counts(api, port)
    res = {}
    replies = dhcp_replies_during("nf", lambda: res.update(r=udhcpc_once("nf")), seconds=6)
    rc, out = res["r"]
    assert replies == [], "a port without fixed_ips got DHCP answers: %s" % replies
    assert rc != 0 and "no lease" in out, out
    # The requests did reach the agent (passed up by the datapath), which
    # chose not to answer, and counted them.
    after = port_stats(api, port)
    assert after["stats"].get("to_agent", 0) > before["stats"].get("to_agent", 0), (before, after)
    grew, now = wait_counted(api, port, counts, ["ignored"], 1)
    assert grew >= 1 and now.get("offers", 0) == counts.get("offers", 0), (counts, now)


def test_dhcp_disabled_subnet_gets_no_answer(api, cloud):
    if shutil.which("busybox") is None:
        pytest.skip("busybox (udhcpc) is not installed (make deps)")
    port = cloud["ports"]["off1"]["id"]
    counts = dhcp_counts(api, port)
    res = {}
    replies = dhcp_replies_during("off1", lambda: res.update(r=udhcpc_once("off1")), seconds=6)
    rc, out = res["r"]
    assert replies == [], "a port on a subnet with enable_dhcp false got DHCP answers: %s" % replies
    assert rc != 0, out
    grew, now = wait_counted(api, port, counts, ["no_dhcp_subnet"], 1)
    assert grew >= 1, "not counted as no_dhcp_subnet: %s -> %s" % (counts, now)
    # Its static address is still there (the script was /bin/true).
    assert "10.51.0.11/24" in vm_exec("off1", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout


def _discover(src_mac, chaddr, xid):
    return ("Ether(src='%s', dst='ff:ff:ff:ff:ff:ff')/IP(src='0.0.0.0', dst='255.255.255.255')"
            "/UDP(sport=68, dport=67)/BOOTP(op=1, xid=%d, flags=0x8000, chaddr=mac2str('%s') + b'\\0' * 10)"
            "/DHCP(options=[('message-type', 'discover'), ('param_req_list', [1, 3, 6, 15, 26, 121]), 'end'])"
            % (src_mac, xid, chaddr))


def _scapy_dhcp(vm, frame):
    prog = ("import logging\nlogging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n"
            "from scapy.all import Ether, IP, UDP, BOOTP, DHCP, Raw, sendp, mac2str\n"
            "sendp(%s, iface='eth0', count=3, inter=0.3, verbose=False)\n" % frame)
    vm_exec(vm, [PYTHON, "-c", prog], timeout=60)


def test_requests_for_other_macs_get_no_answer(api, cloud):
    """From s3: a DISCOVER with its own MAC is answered (the control); one
    whose client MAC (chaddr) is another, and one with a forged Ethernet
    source as well, are not; the forged source is dropped and counted."""
    if not have_scapy():
        pytest.skip("python3-scapy is not installed (make deps)")
    s3 = cloud["ports"]["s3"]
    counts = dhcp_counts(api, s3["id"])
    replies = dhcp_replies_during("s3", lambda: _scapy_dhcp("s3", _discover(s3["mac_address"], s3["mac_address"],
                                                                            0x5eed0001)), seconds=4)
    assert replies, "no OFFER to a well-formed DISCOVER from s3 (port stats %s)" % port_diag(api, s3["id"])
    assert all(r["yiaddr"] == "10.50.0.13" for r in replies), replies
    grew, counts2 = wait_counted(api, s3["id"], counts, ["offers"], 3)
    assert grew >= 3, "offers not counted: %s -> %s" % (counts, counts2)
    foreign = "fa:16:3e:0d:0d:0d"
    replies = dhcp_replies_during("s3", lambda: _scapy_dhcp("s3", _discover(s3["mac_address"], foreign,
                                                                            0x5eed0002)), seconds=4)
    assert replies == [], "a DISCOVER for another client MAC was answered: %s" % replies
    # d1's MAC as chaddr: the address of another port is not handed out.
    other = cloud["ports"]["d1"]["mac_address"]
    replies = dhcp_replies_during("s3", lambda: _scapy_dhcp("s3", _discover(s3["mac_address"], other,
                                                                            0x5eed0003)), seconds=4)
    assert replies == [], "s3 was answered for d1's MAC: %s" % replies
    grew, now = wait_counted(api, s3["id"], counts2, ["foreign_mac"], 6)
    assert grew >= 6, "foreign chaddr requests not counted as foreign_mac: %s -> %s" % (counts2, now)
    before = port_stats(api, s3["id"])
    replies = dhcp_replies_during("s3", lambda: _scapy_dhcp("s3", _discover(foreign, foreign, 0x5eed0004)),
                                  seconds=4)
    assert replies == [], replies
    deadline = time.monotonic() + 5
    while True:
        after = port_stats(api, s3["id"])
        diff = drop_count(after, "src_mac") - drop_count(before, "src_mac")
        if diff >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert diff >= 3, "forged-source DISCOVERs not counted as src_mac drops: %s -> %s" % (before, after)


def test_malformed_requests_get_no_answer_and_are_counted(api, cloud):
    """From s3, with its own MAC everywhere: a BOOTP without the DHCP magic
    cookie, a request cut short in the BOOTP header, and one whose option
    runs past the end. No answer; each counted as malformed on s3's port."""
    if not have_scapy():
        pytest.skip("python3-scapy is not installed (make deps)")
    s3 = cloud["ports"]["s3"]
    mac = s3["mac_address"]
    head = ("Ether(src='%s', dst='ff:ff:ff:ff:ff:ff')/IP(src='0.0.0.0', dst='255.255.255.255')"
            "/UDP(sport=68, dport=67)" % mac)
    bootp = "BOOTP(op=1, xid=%d, chaddr=mac2str('%s') + b'\\0' * 10)" % (0x5eed0100, mac)
    frames = [
        # A whole BOOTP header, then options but a wrong cookie.
        "%s/%s/Raw(b'\\x63\\x82\\x53\\x00\\x35\\x01\\x01\\xff')" % (head, bootp),
        # 100 bytes of a BOOTP header: cut short.
        "%s/Raw(bytes(%s)[:100])" % (head, bootp),
        # The cookie, then option 53 claiming 200 bytes.
        "%s/%s/Raw(b'\\x63\\x82\\x53\\x63\\x35\\xc8\\x01')" % (head, bootp),
    ]
    counts = dhcp_counts(api, s3["id"])

    def send():
        for f in frames:
            _scapy_dhcp("s3", f)

    replies = dhcp_replies_during("s3", send, seconds=8)
    assert replies == [], "malformed requests were answered: %s" % replies
    grew, now = wait_counted(api, s3["id"], counts, ["malformed"], 3 * len(frames))
    assert grew >= 3 * len(frames), "malformed requests: %d of %d counted: %s -> %s" % (
        grew, 3 * len(frames), counts, now)


# ---------------------------------------------------------------------------
# The underlay capture.

VXLAN_PORT = 4789
UNDERLAY_NET = "192.0.2."


def _frames(path):
    """Yields (ethertype, payload) of each frame of a pcap file written by
    tcpdump: Ethernet, Linux cooked (v1 and v2, what '-i any' gives)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise AssertionError("%s is not a pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            yield _ether(pkt)
        elif linktype == 113 and len(pkt) >= 16:
            yield struct.unpack("!H", pkt[14:16])[0], pkt[16:]
        elif linktype == 276 and len(pkt) >= 20:
            yield struct.unpack("!H", pkt[0:2])[0], pkt[20:]


def _ether(f):
    if len(f) < 14:
        return 0, b""
    et, off = struct.unpack("!H", f[12:14])[0], 14
    while et in (0x8100, 0x88a8) and len(f) >= off + 4:
        et, off = struct.unpack("!H", f[off + 2:off + 4])[0], off + 4
    return et, f[off:]


def _udp_ports(ip4):
    if len(ip4) < 20 or ip4[9] != 17:
        return None
    ihl = (ip4[0] & 15) * 4
    if len(ip4) < ihl + 8:
        return None
    sport, dport = struct.unpack("!HH", ip4[ihl:ihl + 4])
    return sport, dport, ip4[ihl + 8:]


def classify_capture(path):
    """Counts, in a capture of the underlay: VXLAN frames; tenant DHCP and
    ARP inside them; DHCP and ARP directly on the underlay (ARP between the
    hypervisors' own underlay addresses is the underlay's business and
    counted apart)."""
    c = {"frames": 0, "vxlan": 0, "inner_dhcp": 0, "inner_arp": 0, "inner_broadcast": 0,
         "outer_dhcp": 0, "outer_tenant_arp": 0, "underlay_arp": 0}
    samples = []
    for et, payload in _frames(path):
        c["frames"] += 1
        if et == 0x0806:
            ips = payload[14:18], payload[24:28]
            if all(len(x) == 4 and ".".join(map(str, x)).startswith(UNDERLAY_NET) for x in ips):
                c["underlay_arp"] += 1
            else:
                c["outer_tenant_arp"] += 1
                samples.append("outer ARP " + payload[:28].hex())
            continue
        if et != 0x0800:
            continue
        u = _udp_ports(payload)
        if not u:
            continue
        sport, dport, body = u
        if {sport, dport} & {67, 68}:
            c["outer_dhcp"] += 1
            samples.append("outer DHCP %d->%d" % (sport, dport))
        if dport != VXLAN_PORT or len(body) < 8 + 14:
            continue
        c["vxlan"] += 1
        inner = body[8:]
        if inner[:6] == b"\xff" * 6:
            c["inner_broadcast"] += 1
        iet, ipl = _ether(inner)
        if iet == 0x0806:
            c["inner_arp"] += 1
            samples.append("ARP in VXLAN " + inner[:42].hex())
        elif iet == 0x0800:
            iu = _udp_ports(ipl)
            if iu and {iu[0], iu[1]} & {67, 68}:
                c["inner_dhcp"] += 1
                samples.append("DHCP in VXLAN %d->%d" % (iu[0], iu[1]))
    return c, samples


def test_no_dhcp_or_arp_broadcast_on_the_underlay(api, cloud, tmp_path):
    """tcpdump captures the whole underlay (every port of the underlay
    bridge: '-i any' in weft-ul, since br0 itself sees only what the bridge
    floods) while d4 gets its lease by udhcpc on host3, s3 (host3)
    resolves s5 (host1) by ARP after a flush and pings it, and s3 ARPs for
    an address nobody has. The pings are the control: they cross the
    underlay in VXLAN."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed (make deps)")
    if shutil.which("busybox") is None:
        pytest.skip("busybox (udhcpc) is not installed (make deps)")
    pcap = str(tmp_path / "underlay.pcap")
    # -Z root: tcpdump keeps root, so that it can write the file.
    tcpdump = subprocess.Popen(weftlab.nsenter_cmd(weftlab.UNDERLAY_NS, ["tcpdump", "-i", "any", "-nn", "-U",
                                                                         "-Z", "root", "-w", pcap]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    res = {}
    try:
        text, ok = _read_until(tcpdump, r"listening on", 10)
        assert ok, "tcpdump did not start: %s" % text
        time.sleep(0.3)
        p = lab("vm", "add", "d4", "--host", "host3", "--port", cloud["ports"]["d4"]["id"], "--dhcp", "udhcpc",
                "--dhcp-timeout", 30, check=False, timeout=120)
        res["d4"] = p
        if p.returncode == 0:
            cloud["dhcp_vms"]["d4"] = "udhcpc"
        vm_exec("s3", ["ip", "neigh", "flush", "dev", "eth0"])
        res["ping"] = ping("s3", "10.50.0.15", count=5, interval=0.1)
        res["nobody"] = ping("s3", "10.50.0.99", count=2, interval=0.5, wait=1)
        time.sleep(0.5)
    finally:
        if tcpdump.poll() is None:
            tcpdump.send_signal(signal.SIGINT)
        try:
            tcpdump.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            tcpdump.kill()
            tcpdump.communicate()
    counts, samples = classify_capture(pcap)
    print("underlay capture: %s" % counts)
    p = res["d4"]
    assert p.returncode == 0, "d4 got no lease by udhcpc:\n%s%s\nport stats %s" % (
        p.stdout, p.stderr, port_diag(api, cloud["ports"]["d4"]["id"]))
    assert res["ping"][:2] == (5, 5), res["ping"][2]
    assert res["nobody"][1] == 0, res["nobody"][2]
    assert counts["vxlan"] >= 10, "the capture saw no VXLAN traffic: it cannot be trusted (%s)" % counts
    assert counts["inner_dhcp"] == 0 and counts["outer_dhcp"] == 0, \
        "DHCP on the underlay: %s\n%s" % (counts, "\n".join(samples[:10]))
    assert counts["inner_arp"] == 0 and counts["outer_tenant_arp"] == 0, \
        "tenant ARP on the underlay: %s\n%s" % (counts, "\n".join(samples[:10]))
    assert counts["inner_broadcast"] == 0, "broadcast frames in VXLAN: %s" % counts
    check_configured("d4", "10.50.0.14")
