# SPDX-License-Identifier: Apache-2.0
"""Fixtures and helpers of the end-to-end tests: a weft lab (lab/weft-lab)
with real weftd and weft-agent processes, VMs as network namespaces, and
real traffic between them. Everything is driven through the public
interfaces: the Networking API over HTTP, weftctl and the weft-lab command.

WEFT_BUILD names the Meson build directory whose binaries are tested
(the Makefile points it at the release build). The tests skip, with the
reason, when the machine cannot run a lab: not root, no network
namespaces, or no weft-agent binary."""

import binascii
import json
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("WEFT_BUILD", os.path.join(ROOT, "build")))
WEFT_LAB = os.path.join(ROOT, "lab", "weft-lab")
WEFTCTL = os.path.join(BUILD, "cli", "weftctl")
PYTHON = "/usr/bin/python3"

sys.path.insert(0, os.path.join(ROOT, "lab"))
import weftlab  # noqa: E402

API_URL = "http://" + weftlab.DEFAULT_API


def why_no_lab():
    """The reason this machine cannot run the lab, or None."""
    if os.geteuid() != 0:
        return "the end-to-end tests need root (network namespaces, bpffs)"
    for exe in (os.path.join(BUILD, "controller", "weftd"), WEFTCTL,
                os.path.join(BUILD, "agent", "weft-agent")):
        if not os.access(exe, os.X_OK):
            return "%s is missing (build it: ninja -C %s)" % (exe, BUILD)
    if not weftlab.weftd_has_southbound(os.path.join(BUILD, "controller", "weftd")):
        return "this weftd has no southbound service (--southbound)"
    for tool in ("ip", "nsenter", "ping", "iperf3"):
        if shutil.which(tool) is None:
            return "%s is not installed (make deps)" % tool
    probe = "weft-e2e-probe-%d" % os.getpid()
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        return "cannot create a network namespace: " + p.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def run(argv, timeout=60, check=True, env=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr)
    return p


def lab(*args, timeout=120, check=True):
    """Runs 'weft-lab ARGS...'."""
    return run([WEFT_LAB] + [str(a) for a in args], timeout=timeout, check=check)


def weftctl(*args, project=None, check=True, timeout=30):
    env = dict(os.environ, WEFT_URL=API_URL)
    env.pop("WEFT_TOKEN", None)
    if project:
        env["WEFT_PROJECT"] = project
    else:
        env.pop("WEFT_PROJECT", None)
    return run([WEFTCTL] + [str(a) for a in args], timeout=timeout, check=check, env=env)


def weftctl_as(tenant, *args, check=True):
    """weftctl ARGS... as 'tenant'; unless not 'check', fails the test with
    weftctl's output when it does not succeed."""
    p = weftctl(*args, project=tenant, check=False)
    if check and p.returncode != 0:
        pytest.fail("weftctl %s: exit %d\n%s%s" % (" ".join(map(str, args)), p.returncode,
                                                   p.stdout, p.stderr))
    return p


def vm_exec(vm, argv, timeout=60, check=True):
    return run([WEFT_LAB, "vm", "exec", vm, "--"] + [str(a) for a in argv], timeout=timeout, check=check)


def vm_popen(vm, argv, **kw):
    """Starts 'argv' in VM 'vm' in the background. The Popen's pid is the
    command's own (weft-lab and nsenter exec it)."""
    return subprocess.Popen([WEFT_LAB, "vm", "exec", vm, "--"] + [str(a) for a in argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def stop_bg(p):
    """Stops a background process started by vm_popen, by its pid."""
    if p.poll() is None:
        p.kill()
    try:
        p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass


PING_RE = re.compile(r"(\d+) packets transmitted, (\d+) received")


def ping(vm, dst, count=3, interval=0.2, wait=1, pattern=None, deadline=None, timeout=60):
    """Pings 'dst' from VM 'vm'; returns (transmitted, received, output)."""
    argv = ["ping", "-n", "-q", "-c", count, "-i", interval, "-W", wait]
    if pattern:
        argv += ["-p", pattern]
    if deadline:
        argv += ["-w", deadline]
    p = vm_exec(vm, argv + [dst], timeout=timeout, check=False)
    m = PING_RE.search(p.stdout)
    assert m, "no ping summary from %s -> %s:\n%s%s" % (vm, dst, p.stdout, p.stderr)
    return int(m.group(1)), int(m.group(2)), p.stdout


def parse_ping(out):
    m = PING_RE.search(out)
    assert m, "no ping summary:\n" + out
    return int(m.group(1)), int(m.group(2))


def wait_ping(vm, dst, timeout=15.0):
    """Retries single pings until one is answered; returns the seconds it
    took, or fails the test with the last output."""
    t0 = time.monotonic()
    out = ""
    while time.monotonic() - t0 < timeout:
        tx, rx, out = ping(vm, dst, count=1, wait=1)
        if rx == 1:
            return time.monotonic() - t0
        time.sleep(0.1)
    pytest.fail("%s cannot reach %s within %g s:\n%s" % (vm, dst, timeout, out))


def wait_unreachable(vm, dst, timeout=10.0):
    """Waits until pings from 'vm' to 'dst' stop being answered: three in a
    row lost. Fails the test when that does not happen within 'timeout'."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        tx, rx, out = ping(vm, dst, count=3, interval=0.2, wait=1)
        if rx == 0:
            return
    pytest.fail("%s still reaches %s after %g s" % (vm, dst, timeout))


# A sniffer run inside a VM namespace: counts the frames received on eth0
# (not the ones the VM sends) that contain one of the given byte strings.
# Standard library only (AF_PACKET), prints 'ready' once listening and then
# the received hits as JSON.
SNIFFER = r"""
import binascii, json, socket, sys, time
dur = float(sys.argv[1])
markers = [binascii.unhexlify(m) for m in sys.argv[2].split(",")]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.settimeout(0.05)
print("ready", flush=True)
end = time.monotonic() + dur
hits = []
while time.monotonic() < end:
    try:
        frame, addr = s.recvfrom(65535)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    if any(m in frame for m in markers):
        hits.append(frame[:80].hex())
print(json.dumps(hits), flush=True)
"""


class Sniffer:
    """Listens on a VM's eth0 for frames carrying 'markers' (bytes)."""

    def __init__(self, vm, markers, seconds):
        self.vm = vm
        hexes = ",".join(binascii.hexlify(m).decode() for m in markers)
        self.proc = vm_popen(vm, [PYTHON, "-c", SNIFFER, seconds, hexes])
        self.hits = None

    def wait_ready(self, timeout=10):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if r else ""
        if line.strip() != "ready":
            stop_bg(self.proc)
            pytest.fail("sniffer in %s did not start: %r %s" % (self.vm, line, self.proc.stderr.read()))

    def result(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, "sniffer in %s failed: %s" % (self.vm, err)
        self.hits = json.loads(out.strip().splitlines()[-1])
        return self.hits

    def stop(self):
        stop_bg(self.proc)


def sniff_during(vms, markers, action, seconds=3.0):
    """Runs 'action()' while every VM in 'vms' sniffs for 'markers'; returns
    {vm: [hits]}. The sniffers are stopped even when 'action' fails."""
    sniffers = [Sniffer(vm, markers, seconds) for vm in vms]
    try:
        for s in sniffers:
            s.wait_ready()
        action()
        return {s.vm: s.result() for s in sniffers}
    finally:
        for s in sniffers:
            s.stop()


def marker():
    """A payload that no other traffic carries."""
    return b"weft-e2e-" + uuid.uuid4().hex[:16].encode()


def scapy_send(vm, code, timeout=60):
    """Runs scapy statements in VM 'vm' with Ether, IP, UDP, ARP, Raw and
    sendp imported; 'code' calls sendp(..., iface='eth0')."""
    prog = ("import logging\nlogging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n"
            "from scapy.all import Ether, IP, UDP, ICMP, ARP, Raw, sendp\n" + code)
    vm_exec(vm, [PYTHON, "-c", prog], timeout=timeout)


def have_scapy():
    p = subprocess.run([PYTHON, "-c", "import scapy.all"], capture_output=True)
    return p.returncode == 0


# ---------------------------------------------------------------------------
# Port counters: GET /v2.0/ports/ID/stats answers the counters the agent of
# the port's host reads from the datapath, {"stats": {"rx_packets": N, ...,
# "drops": {"src_mac": N, ...}}} (docs/api.md), reasons named as in
# lib/drop-reasons.c.


def drop_count(stats, reason):
    """The drops counted for 'reason' in a stats body; 0 when absent."""
    return stats["stats"].get("drops", {}).get(reason, 0)


def wait_port_status(api, port_id, status, timeout=20.0):
    """Waits until the port's status in the API is 'status'; fails the test
    with the lab's log tails otherwise."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = api.show("port", port_id)["status"]
        if got == status:
            return
        time.sleep(0.1)
    pytest.fail("port %s is %s, not %s, after %g s\n%s" % (port_id, got, status, timeout, logs_tail()))


def port_stats(api, port_id):
    status, body = api.request("GET", "/v2.0/ports/%s/stats" % port_id)
    assert status == 200, body
    return body


# ---------------------------------------------------------------------------
# Fixtures.


def lab_session(tmp_path_factory, hosts=3, gateways=0):
    """Brings up a lab of 'hosts' hypervisors and 'gateways' gateway nodes
    (with them the upstream router and the internet, docs/gateways.md) and
    yields its state; 'weft-lab down' at the end, whatever happened. The
    lab's logs are copied to a temporary directory first. Module fixtures
    ('lab_up' here, its gateway variant in test_gateways.py) use it."""
    reason = why_no_lab()
    if reason:
        pytest.skip(reason)
    if gateways and (shutil.which("bird") is None or shutil.which("birdc") is None):
        pytest.skip("BIRD 2 (bird, birdc) is not installed (make deps)")
    if weftlab.load_state() is not None or weftlab.lab_leftovers():
        pytest.fail("a weft lab is already up on this machine; run 'weft-lab down' first")
    try:
        p = lab("up", "--hosts", hosts, "--gateways", gateways, "--build", BUILD, check=False)
        assert p.returncode == 0, "weft-lab up failed:\n%s%s" % (p.stdout, p.stderr)
        state = weftlab.load_state()
        assert state["agents"], "weft-lab up started no agents"
        names = ["host%d" % i for i in range(1, hosts + 1)]
        if gateways:
            assert state.get("gateway_agents"), "this weft-agent has no gateway role (--gateway)"
            names += ["gw%d" % k for k in range(1, gateways + 1)]
        missing = weftlab.wait_agents_alive(state, names, timeout=20)
        assert not missing, "agents not alive: %s\n%s" % (missing, logs_tail())
        yield state
    finally:
        logs = os.path.join(weftlab.STATE_DIR, "logs")
        if os.path.isdir(logs):
            dest = tmp_path_factory.mktemp("lab-logs")
            for f in os.listdir(logs):
                shutil.copy(os.path.join(logs, f), dest)
            print("\nlab logs copied to %s" % dest)
        p = lab("down", check=False)
        assert p.returncode == 0, p.stderr
        left = weftlab.lab_leftovers()
        assert not left, "weft-lab down left namespaces: %s" % left


@pytest.fixture(scope="module")
def lab_up(tmp_path_factory):
    """A 3-host lab without gateways for the module."""
    yield from lab_session(tmp_path_factory)


def logs_tail():
    logs = os.path.join(weftlab.STATE_DIR, "logs")
    out = []
    if os.path.isdir(logs):
        for f in sorted(os.listdir(logs)):
            out.append("--- %s\n%s" % (f, weftlab.tail(os.path.join(logs, f), 15)))
    return "\n".join(out)


@pytest.fixture(scope="module")
def api(lab_up):
    return weftlab.Api(API_URL)


@pytest.fixture
def agent_guard(lab_up):
    """Makes sure every agent runs again after the test."""
    yield
    state = weftlab.load_state()
    for h in state["hosts"].values():
        if not weftlab.proc_alive(h.get("agent")):
            lab("agent", "start", h["name"], check=False)
    weftlab.wait_agents_alive(weftlab.load_state(), [h["name"] for h in state["hosts"].values()], 20)


# ---------------------------------------------------------------------------
# iperf3 interval lines, read while iperf3 runs (-i 0.1 --forceflush).

IPERF_INTERVAL = re.compile(r"^\[\s*\d+\]\s+([\d.]+)-([\d.]+)\s+sec\s+([\d.]+)\s+(\w?)Bytes\s+([\d.]+)\s+(\w?)bits/sec"
                            r"(?!.*(sender|receiver))")
UNIT = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


class IntervalReader:
    """Reads the interval lines of a running iperf3 (-i 0.2 --forceflush)
    in a thread; 'samples' are (arrival monotonic time, start, end,
    bits/s)."""

    def __init__(self, proc):
        self.proc = proc
        self.samples = []
        self.lines = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            m = IPERF_INTERVAL.match(line.strip())
            if m:
                self.samples.append((time.monotonic(), float(m.group(1)), float(m.group(2)),
                                     float(m.group(5)) * UNIT[m.group(6)]))

    def text(self):
        return "".join(self.lines[-60:])
