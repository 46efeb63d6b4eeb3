# SPDX-License-Identifier: Apache-2.0
"""weft-lab: a whole weft cloud on one machine, made of network namespaces.

    weft-ul          the underlay: bridge br0, one veth per host (ul-hI)
    weft-hI          hypervisor I: eth0 = 192.0.2.(10+I)/24, weft-agent --host hostI
    weft-vm-NAME     a VM: eth0 (port MAC, first fixed IP, MTU of the network,
                     default route via the subnet's gateway; or, with --dhcp,
                     all of it from a DHCP client's lease: see vm_add), its
                     peer tap<port id[:11]> lives in the VM's host namespace
    root namespace   weftd only: API on 127.0.0.1:9696, southbound on a unix
                     socket the agents reach through the shared filesystem

No address and no route is added to the root namespace. Everything the lab
starts or creates is recorded in STATE_DIR/state.json; 'down' undoes it from
there and, after a crash that lost the state, from the lab's namespace names
(weft-ul, weft-hN, weft-vm-*, weft-kvm*).

The module is the 'weft-lab' command (see main()) and a library that the
end-to-end tests and bench/datapath-bench import, so that they drive the lab
exactly as a person at the shell would. Standard library only: it runs under
Debian's /usr/bin/python3 without anything installed.
"""

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_DIR = os.environ.get("WEFT_LAB_STATE_DIR", "/run/weft-lab")
STATE_FILE = os.path.join(STATE_DIR, "state.json")
LOCK_FILE = STATE_DIR.rstrip("/") + ".lock"
NETNS_DIR = "/run/netns"
BPFFS_ROOT = "/sys/fs/bpf/weft"

UNDERLAY_NS = "weft-ul"
UNDERLAY_BRIDGE = "br0"
UNDERLAY_PREFIX = "192.0.2."
UNDERLAY_PLEN = 24
DEFAULT_API = "127.0.0.1:9696"
DEFAULT_SB = "/run/weft/sb.sock"
DEFAULT_MTU = 1450

# North-south (docs/gateways.md "Lab"): gateway nodes weft-gwK, the
# upstream router and a host on the internet behind it.
GATEWAY_UNDERLAY_BASE = 100      # gwK's underlay address: 192.0.2.(100+K)
UPLINK_DEV = "uplink0"
EXT_BRIDGE = "br-ext"
EXT_CIDR = "203.0.113.0/24"
EXT_PREFIX = "203.0.113."
EXT_GATEWAY = "203.0.113.1"      # the upstream router on the external segment
EXT_POOL = ("203.0.113.100", "203.0.113.250")
EXT_NETWORK = "public"
EXT_SUBNET = "public-subnet"
UPSTREAM_NS = "weft-upstream"
INTERNET_NS = "weft-internet"
INTERNET_LINK_PLEN = 24
UPSTREAM_INTERNET_IP = "198.51.100.1"
INTERNET_IP = "198.51.100.10"
UPSTREAM_AS = 65000
GATEWAY_AS = 65001
BFD_INTERVAL_MS = 20
BFD_MULTIPLIER = 3
MAX_GATEWAYS = 8

# Namespaces the lab (and the benches, which build their kernel baselines
# on the lab: weft-kvm*, weft-kgw*) may create; 'down' treats any of them as
# leftovers.
LAB_NS_RE = re.compile(r"^weft-(ul|h\d+|gw\d+|upstream|internet|vm-.+|kvm.*|kgw.*)$")
VM_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")


class LabError(Exception):
    """A failure to report to the user in one line (the CLI exits with 1)."""


def log(msg):
    print("weft-lab: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Small helpers: commands, namespaces, processes.


def run(args, check=True, timeout=60, input=None):
    """Runs 'args' and returns the CompletedProcess (text mode). On failure
    with 'check' raises LabError with the command's stderr."""
    try:
        p = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise LabError("%s: command not found" % args[0])
    except subprocess.TimeoutExpired:
        raise LabError("%s: timed out after %d s" % (" ".join(args), timeout))
    if check and p.returncode != 0:
        raise LabError("%s: %s" % (" ".join(args), (p.stderr or p.stdout).strip() or "exit %d" % p.returncode))
    return p


def ip(*args, ns=None, check=True):
    cmd = ["ip"]
    if ns:
        cmd += ["-n", ns]
    return run(cmd + list(args), check=check)


def ip_batch(ns, lines):
    """Runs several 'ip' commands in one process (one fork instead of many:
    VM plumbing is part of the port-to-ping time the bench measures)."""
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    return run(cmd, input="\n".join(lines) + "\n")


def netns_path(ns):
    return os.path.join(NETNS_DIR, ns)


def netns_exists(ns):
    return os.path.exists(netns_path(ns))


def netns_list():
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def netns_add(ns, lo_up=True, ipv6=False):
    """Creates namespace 'ns', by default with IPv6 off, so that no router
    solicitation or MLD report (multicast, which the datapath drops and
    counts) clutters the counters."""
    run(["ip", "netns", "add", ns])
    if not ipv6:
        nsenter_run(ns, ["/usr/sbin/sysctl", "-q", "-w",
                         "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"])
    if lo_up:
        ip("link", "set", "lo", "up", ns=ns)


def netns_del(ns):
    if netns_exists(ns):
        run(["ip", "netns", "del", ns], check=False)


def nsenter_cmd(ns, argv):
    """The command line that runs 'argv' in namespace 'ns'. nsenter rather
    than 'ip netns exec': the latter remounts /sys, which hides
    /sys/fs/bpf from the agent."""
    return ["nsenter", "--net=" + netns_path(ns), "--"] + list(argv)


def nsenter_run(ns, argv, check=True, timeout=60, input=None):
    return run(nsenter_cmd(ns, argv), check=check, timeout=timeout, input=input)


def netns_inode(ns):
    try:
        return os.stat(netns_path(ns)).st_ino
    except OSError:
        return None


def proc_start_time(pid):
    """The start time of process 'pid' in clock ticks since boot (field 22 of
    /proc/PID/stat), or None when there is no such live process. A zombie
    counts as gone. Recorded beside each PID so that a PID the kernel has
    reused for an unrelated process is never signalled."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def proc_alive(rec):
    """True when the process recorded as {'pid', 'start'} still runs."""
    if not rec or not rec.get("pid"):
        return False
    st = proc_start_time(rec["pid"])
    return st is not None and st == rec.get("start")


# Popen objects of the processes this Python process started, so that a
# library user (the bench) reaps them instead of leaving zombies.
_children = {}


def spawn(argv, logpath):
    """Starts 'argv' in its own session with output appended to 'logpath'
    and returns its record {'pid', 'start', 'argv', 'log'}."""
    os.makedirs(os.path.dirname(logpath), exist_ok=True)
    with open(logpath, "a") as logf:
        logf.write("=== %s %s\n" % (time.strftime("%H:%M:%S"), " ".join(argv)))
        logf.flush()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             start_new_session=True, close_fds=True)
    _children[p.pid] = p
    st = None
    for _ in range(100):
        st = proc_start_time(p.pid)
        if st is not None or p.poll() is not None:
            break
        time.sleep(0.01)
    return {"pid": p.pid, "start": st, "argv": list(argv), "log": logpath}


def _reap(pid):
    p = _children.pop(pid, None)
    if p is not None:
        with contextlib.suppress(Exception):
            p.wait(timeout=1)


def stop_process(rec, sig=signal.SIGTERM, timeout=10.0):
    """Sends 'sig' to the recorded process and waits until it is gone; after
    'timeout' seconds a SIGTERM is followed by SIGKILL. Returns True when the
    process had to be killed or was already gone, False on a clean exit."""
    if not proc_alive(rec):
        _reap(rec.get("pid") or 0)
        return True
    pid = rec["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if _wait_gone(rec, timeout):
        _reap(pid)
        return sig == signal.SIGKILL
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(rec, 5)
    _reap(pid)
    return True


def _wait_gone(rec, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = _children.get(rec["pid"])
        if p is not None:
            p.poll()
        if not proc_alive(rec):
            return True
        time.sleep(0.02)
    return False


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------
# The API client (urllib; the lab runs weftd in noauth mode, so every call is
# admin).


class ApiError(LabError):
    def __init__(self, status, message, type_=None):
        super().__init__(message)
        self.status = status
        self.type = type_


class Api:
    def __init__(self, url, project=None, timeout=30):
        self.url = url.rstrip("/")
        self.project = project
        self.timeout = timeout

    def request(self, method, path, body=None):
        """Returns (status, parsed JSON or None). Raises ApiError on an HTTP
        error and LabError when weftd cannot be reached."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.project:
            req.add_header("X-Project-Id", self.project)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            msg, type_ = raw.decode(errors="replace"), None
            with contextlib.suppress(Exception):
                err = json.loads(raw)["NeutronError"]
                msg, type_ = err["message"], err["type"]
            raise ApiError(e.code, "%s %s: HTTP %d %s" % (method, path, e.code, msg), type_)
        except (urllib.error.URLError, OSError) as e:
            raise LabError("cannot reach weftd at %s: %s" % (self.url, getattr(e, "reason", e)))

    def get(self, path):
        return self.request("GET", path)[1]

    def post(self, path, body):
        return self.request("POST", path, body)[1]

    def put(self, path, body):
        return self.request("PUT", path, body)[1]

    def delete(self, path):
        return self.request("DELETE", path)[1]

    def answers(self):
        try:
            self.request("GET", "/")
            return True
        except LabError:
            return False

    # Shortcuts on the resources.
    def create(self, kind, **attrs):
        return self.post("/v2.0/%ss" % kind, {kind: attrs})[kind]

    def show(self, kind, id_):
        return self.get("/v2.0/%ss/%s" % (kind, id_))[kind]

    def update(self, kind, id_, **attrs):
        return self.put("/v2.0/%ss/%s" % (kind, id_), {kind: attrs})[kind]

    def remove(self, kind, id_):
        return self.delete("/v2.0/%ss/%s" % (kind, id_))

    def list(self, collection, query=""):
        return self.get("/v2.0/%s%s" % (collection, ("?" + query) if query else ""))[collection]


# ---------------------------------------------------------------------------
# State.


@contextlib.contextmanager
def locked():
    """Serialises commands that change the lab (tests may run several)."""
    os.makedirs(os.path.dirname(LOCK_FILE) or "/", exist_ok=True)
    with open(LOCK_FILE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_state():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise LabError("%s is corrupt (%s); run 'weft-lab down'" % (STATE_FILE, e))


def save_state(state):
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, STATE_FILE)


def need_state():
    st = load_state()
    if st is None:
        raise LabError("no lab is up (no %s); run 'weft-lab up'" % STATE_FILE)
    return st


def host_ns(index):
    return "weft-h%d" % index


def host_name(index):
    return "host%d" % index


def underlay_ip(index):
    return UNDERLAY_PREFIX + str(10 + index)


def vm_ns(name):
    return "weft-vm-" + name


def tap_name(port_id):
    """The host end of a VM's interface, named as Nova names it."""
    return "tap" + port_id[:11]


def resolve_host(state, spec):
    """Accepts 'host2', 'h2', '2' or 'weft-h2' and returns the host record."""
    m = re.fullmatch(r"(?:host|h|weft-h)?(\d+)", spec)
    if m and m.group(1) in state["hosts"]:
        return state["hosts"][m.group(1)]
    for h in state["hosts"].values():
        if h["name"] == spec:
            return h
    raise LabError("no host %r in the lab (hosts: %s)" %
                   (spec, ", ".join(h["name"] for h in state["hosts"].values())))


def api_of(state):
    return Api("http://" + state["api"])


# ---------------------------------------------------------------------------
# Processes: weftd and the agents.


def weftd_path(build):
    return os.path.join(build, "controller", "weftd")


def agent_path(build):
    return os.path.join(build, "agent", "weft-agent")


def weftd_has_southbound(weftd):
    """weftd builds from before the southbound service have no such option;
    the lab then runs the API alone (no agent can connect)."""
    p = run([weftd, "--help"], check=False)
    return "--southbound" in p.stdout + p.stderr


def sock_in_use(path):
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def start_controller(state):
    c = state["controller"]
    weftd = weftd_path(state["build"])
    if not os.access(weftd, os.X_OK):
        raise LabError("%s is missing; build first (ninja -C %s)" % (weftd, state["build"]))
    if proc_alive(c.get("proc")):
        raise LabError("weftd already runs (pid %d)" % c["proc"]["pid"])
    api = api_of(state)
    if api.answers():
        raise LabError("something already answers on http://%s; stop it first" % state["api"])
    if c["southbound"]:
        if sock_in_use(state["sb"]):
            raise LabError("%s is in use by another process; stop it first" % state["sb"])
        os.makedirs(os.path.dirname(state["sb"]), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(state["sb"])  # stale: nobody answers on it
    conf = os.path.join(STATE_DIR, "weftd.conf")
    if not os.path.exists(conf):
        with open(conf, "w") as f:
            f.write("# weft-lab: empty on purpose, so /etc/weft/weftd.conf is not read\n")
    argv = [weftd, "--config", conf, "--listen", state["api"], "--db", c["db"]]
    if c["southbound"]:
        argv += ["--southbound", "unix:" + state["sb"]]
    argv += c.get("extra_args", [])
    rec = spawn(argv, os.path.join(STATE_DIR, "logs", "weftd.log"))
    c["proc"] = rec
    save_state(state)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not proc_alive(rec):
            raise LabError("weftd exited:\n" + tail(rec["log"]))
        if api.answers():
            return rec
        time.sleep(0.05)
    raise LabError("weftd did not answer on http://%s within 20 s:\n%s" % (state["api"], tail(rec["log"])))


def stop_controller(state, sig=signal.SIGTERM):
    c = state["controller"]
    rec = c.get("proc")
    killed = stop_process(rec, sig) if rec else True
    c["proc"] = None
    save_state(state)
    return killed


def start_agent(state, host):
    if not state.get("agents", True):
        raise LabError("the lab runs without agents (no %s)" % agent_path(state["build"]))
    if proc_alive(host.get("agent")):
        raise LabError("the agent of %s already runs (pid %d)" % (host["name"], host["agent"]["pid"]))
    agent = agent_path(state["build"])
    if not os.access(agent, os.X_OK):
        raise LabError("%s is missing; build first (ninja -C %s)" % (agent, state["build"]))
    # A gateway's record carries its role's arguments ('agent_extra').
    argv = nsenter_cmd(host["ns"], [agent, "--host", host["name"], "--underlay-ip",
                                    host["underlay_ip"], "--controller", "unix:" + state["sb"]]
                       + host.get("agent_extra", []) + state.get("agent_args", []))
    rec = spawn(argv, os.path.join(STATE_DIR, "logs", "agent-%s.log" % host["name"]))
    host["agent"] = rec
    save_state(state)
    time.sleep(0.05)
    if not proc_alive(rec):
        raise LabError("the agent of %s exited at once:\n%s" % (host["name"], tail(rec["log"])))
    return rec


def stop_agent(state, host, sig=signal.SIGTERM):
    rec = host.get("agent")
    killed = stop_process(rec, sig) if rec else True
    host["agent"] = None
    save_state(state)
    return killed


def agents_by_host(api):
    try:
        return {a["host"]: a for a in api.list("agents")}
    except LabError:
        return {}


def wait_agents_alive(state, names, timeout=20.0):
    """Waits until every host in 'names' has an alive agent in the API.
    Returns the names still not alive at the deadline."""
    api = api_of(state)
    deadline = time.monotonic() + timeout
    missing = list(names)
    while True:
        agents = agents_by_host(api)
        missing = [n for n in names if not agents.get(n, {}).get("alive")]
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(0.1)


# ---------------------------------------------------------------------------
# North-south: gateway nodes, the upstream router, the internet
# (docs/gateways.md "Lab", docs/lab.md).
#
#   weft-internet  eth0 198.51.100.10/24, default via 198.51.100.1
#   weft-upstream  inet0 198.51.100.1/24; bridge br-ext 203.0.113.1/24 with
#                  one port ext-gwK per gateway; ip_forward, L4 multipath
#                  hash; BIRD 2 AS 65000: a BGP session with BFD to each
#                  gateway, its routes merged into ECMP kernel routes
#   weft-gwK       eth0 192.0.2.(100+K)/24 on the underlay bridge (port
#                  ul-gwK), uplink0 203.0.113.(1+K)/24 (peer ext-gwK),
#                  default via 203.0.113.1; weft-agent --host gwK in the
#                  gateway role, BIRD 2 AS 65001 with the agent's config


def gateway_ns(index):
    return "weft-gw%d" % index


def gateway_name(index):
    return "gw%d" % index


def gateway_underlay_ip(index):
    return UNDERLAY_PREFIX + str(GATEWAY_UNDERLAY_BASE + index)


def gateway_uplink_ip(index):
    return EXT_PREFIX + str(1 + index)


def upstream_dir():
    return os.path.join(STATE_DIR, "upstream")


def agent_has_gateway_role(build):
    """weft-agent builds from before the gateway role have no --gateway."""
    p = run([agent_path(build), "--help"], check=False)
    return "--gateway" in p.stdout + p.stderr


def upstream_bird_conf(gateways):
    """The upstream router's BIRD configuration: a BGP session with BFD
    (BFD_INTERVAL_MS x BFD_MULTIPLIER) to each gateway, accepting only /32s
    of the external network, and a kernel protocol that merges the
    gateways' equal routes into one multipath route. Short retry timers, so
    that a gateway that comes back is peered again within a second or two
    (BIRD's defaults wait minutes). Session state changes go to the log."""
    lines = ["# weft-lab: the upstream router, AS %d (written by weft-lab up)" % UPSTREAM_AS,
             "log stderr all;",
             "debug protocols { states };",
             "router id %s;" % EXT_GATEWAY,
             "protocol device { scan time 10; }",
             "protocol kernel {",
             "\tipv4 { import none; export where source = RTS_BGP; };",
             "\tmerge paths on;",
             "}",
             "protocol bfd {",
             '\tinterface "%s" { min rx interval %d ms; min tx interval %d ms; multiplier %d; };' % (
                 EXT_BRIDGE, BFD_INTERVAL_MS, BFD_INTERVAL_MS, BFD_MULTIPLIER),
             "}",
             "template bgp weft_gateway {",
             "\tlocal %s as %d;" % (EXT_GATEWAY, UPSTREAM_AS),
             "\tbfd on;",
             "\tconnect delay time 1;",
             "\tconnect retry time 1;",
             "\terror wait time 1, 2;",
             "\terror forget time 10;",
             "\tipv4 { import where net ~ [ %s{32,32} ]; export none; };" % EXT_CIDR,
             "}"]
    for gw in gateways:
        lines.append("protocol bgp %s from weft_gateway { neighbor %s as %d; }" % (
            gw["name"], gw["uplink_ip"], GATEWAY_AS))
    return "\n".join(lines) + "\n"


def _build_upstream(state):
    """The upstream router's and the internet's namespaces and links."""
    up = state["upstream"]
    netns_add(UPSTREAM_NS)
    up["created"] = True
    save_state(state)
    netns_add(INTERNET_NS)
    state["internet"]["created"] = True
    save_state(state)
    nsenter_run(UPSTREAM_NS, ["/usr/sbin/sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                              "net.ipv4.fib_multipath_hash_policy=1"])
    ip_batch(UPSTREAM_NS, [
        "link add %s type bridge" % EXT_BRIDGE,
        "addr add %s/24 dev %s" % (EXT_GATEWAY, EXT_BRIDGE),
        "link set %s up" % EXT_BRIDGE,
        "link add inet0 type veth peer name eth0 netns %s" % INTERNET_NS,
        "addr add %s/%d dev inet0" % (UPSTREAM_INTERNET_IP, INTERNET_LINK_PLEN),
        "link set inet0 up",
    ])
    ip_batch(INTERNET_NS, [
        "addr add %s/%d dev eth0" % (INTERNET_IP, INTERNET_LINK_PLEN),
        "link set eth0 up",
        "route add default via %s" % UPSTREAM_INTERNET_IP,
    ])


def _build_gateway(state, gw):
    """Gateway 'gw''s namespace: eth0 on the underlay, uplink0 on the
    upstream's bridge, default route via the upstream."""
    netns_add(gw["ns"])
    save_state(state)
    ip("link", "add", gw["ul_port"], "type", "veth", "peer", "name", "eth0", "netns", gw["ns"],
       ns=UNDERLAY_NS)
    ip("link", "set", gw["ul_port"], "master", UNDERLAY_BRIDGE, "up", ns=UNDERLAY_NS)
    ip("link", "add", gw["ext_port"], "type", "veth", "peer", "name", UPLINK_DEV, "netns", gw["ns"],
       ns=UPSTREAM_NS)
    ip("link", "set", gw["ext_port"], "master", EXT_BRIDGE, "up", ns=UPSTREAM_NS)
    ip_batch(gw["ns"], ["addr add %s/%d dev eth0" % (gw["underlay_ip"], UNDERLAY_PLEN),
                        "link set eth0 up",
                        "addr add %s/24 dev %s" % (gw["uplink_ip"], UPLINK_DEV),
                        "link set %s up" % UPLINK_DEV,
                        "route add default via %s" % EXT_GATEWAY])
    os.makedirs(gw["dir"], exist_ok=True)


def new_gateway(index):
    """The state record of gateway 'index' (nothing made yet)."""
    name = gateway_name(index)
    d = os.path.join(STATE_DIR, name)
    conf, sock = os.path.join(d, "bird.conf"), os.path.join(d, "bird.ctl")
    uplink_ip = gateway_uplink_ip(index)
    return {"index": index, "name": name, "ns": gateway_ns(index),
            "underlay_ip": gateway_underlay_ip(index), "underlay_dev": "eth0",
            "ul_port": "ul-gw%d" % index, "uplink_dev": UPLINK_DEV, "uplink_ip": uplink_ip,
            "ext_port": "ext-gw%d" % index, "dir": d, "bird_conf": conf, "bird_sock": sock,
            "agent_extra": ["--gateway", "--uplink-dev", UPLINK_DEV, "--uplink-ip", uplink_ip,
                            "--bird-conf", conf, "--bird-socket", sock,
                            "--bgp-as", str(GATEWAY_AS), "--bgp-peer", EXT_GATEWAY,
                            "--bgp-peer-as", str(UPSTREAM_AS)],
            "agent": None, "bird": None, "stopped": False}


def start_bird(ns, conf, sock, logname):
    """Starts BIRD 2 in namespace 'ns' in the foreground (so that the PID
    recorded is BIRD's own) and waits until its control socket answers.
    Returns the process record."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sock)  # a stale socket of a killed BIRD
    pidfile = os.path.join(os.path.dirname(sock), "bird.pid")
    rec = spawn(nsenter_cmd(ns, ["bird", "-f", "-c", conf, "-s", sock, "-P", pidfile]),
                os.path.join(STATE_DIR, "logs", logname))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not proc_alive(rec):
            raise LabError("bird in %s exited:\n%s" % (ns, tail(rec["log"])))
        if sock_in_use(sock):
            return rec
        time.sleep(0.05)
    raise LabError("bird in %s does not answer on %s after 10 s:\n%s" % (ns, sock, tail(rec["log"])))


def start_upstream(state):
    """Writes the upstream router's BIRD configuration and starts it."""
    d = upstream_dir()
    os.makedirs(d, exist_ok=True)
    up = state["upstream"]
    with open(up["bird_conf"], "w") as f:
        f.write(upstream_bird_conf(state["gateways"].values()))
    up["bird"] = start_bird(UPSTREAM_NS, up["bird_conf"], up["bird_sock"], "bird-upstream.log")
    save_state(state)


def _gateway_links(gw, updown):
    """Takes gateway 'gw''s links up or down. The kernel flushes the
    default route when the uplink goes down, so 'up' puts it back."""
    lines = ["link set eth0 %s" % updown, "link set %s %s" % (UPLINK_DEV, updown)]
    if updown == "up":
        lines.append("route replace default via %s dev %s" % (EXT_GATEWAY, UPLINK_DEV))
    ip_batch(gw["ns"], lines)


def start_gateway(state, gw, conf_timeout=15.0):
    """Brings gateway 'gw' up: its links, its agent in the gateway role and,
    once the agent has written its BIRD configuration, BIRD. The previous
    configuration is removed first, so that BIRD never announces what an
    earlier agent wrote."""
    _gateway_links(gw, "up")
    gw["stopped"] = False
    save_state(state)
    if not state.get("gateway_agents", True):
        log("%s: this weft-agent has no gateway role (--gateway): no agent, no BIRD" % gw["name"])
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(gw["bird_conf"])
    if not proc_alive(gw.get("agent")):
        start_agent(state, gw)
    deadline = time.monotonic() + conf_timeout
    while not os.path.exists(gw["bird_conf"]):
        if time.monotonic() > deadline:
            raise LabError("the agent of %s wrote no %s within %g s:\n%s" % (
                gw["name"], gw["bird_conf"], conf_timeout, tail(gw["agent"]["log"])))
        if not proc_alive(gw["agent"]):
            raise LabError("the agent of %s exited:\n%s" % (gw["name"], tail(gw["agent"]["log"])))
        time.sleep(0.05)
    if not proc_alive(gw.get("bird")):
        gw["bird"] = start_bird(gw["ns"], gw["bird_conf"], gw["bird_sock"], "bird-%s.log" % gw["name"])
        save_state(state)


def stop_gateway(state, gw):
    """Gateway 'gw' dies as a machine does: its links go down, then its
    agent and BIRD get SIGKILL. In that order, so that not even the FIN of
    BIRD's BGP connection, which the kernel sends when the process dies,
    tells the upstream: it learns of the death from BFD, as from a machine
    that lost power."""
    if netns_exists(gw["ns"]):
        _gateway_links(gw, "down")
    for key in ("agent", "bird"):
        if gw.get(key):
            stop_process(gw[key], signal.SIGKILL)
        gw[key] = None
    gw["stopped"] = True
    save_state(state)


def resolve_gateway(state, spec):
    """Accepts 'gw2', '2' or 'weft-gw2' and returns the gateway record."""
    m = re.fullmatch(r"(?:gw|weft-gw)?(\d+)", spec)
    if m and m.group(1) in state.get("gateways", {}):
        return state["gateways"][m.group(1)]
    raise LabError("no gateway %r in the lab (gateways: %s)" %
                   (spec, ", ".join(g["name"] for g in state.get("gateways", {}).values()) or "none"))


def create_external_network(state):
    """Creates, as an operator, the external network 'public' and its subnet
    (no DHCP, the upstream as gateway, the pool for router gateways and
    floating IPs) and records their ids."""
    api = Api("http://" + state["api"], project="admin")
    net = api.create("network", name=EXT_NETWORK, **{"router:external": True})
    if net.get("router:external") is not True:
        api.remove("network", net["id"])
        raise LabError("weftd ignored router:external (no north-south support in this weftd?)")
    sub = api.create("subnet", network_id=net["id"], name=EXT_SUBNET, ip_version=4, cidr=EXT_CIDR,
                     gateway_ip=EXT_GATEWAY, enable_dhcp=False,
                     allocation_pools=[{"start": EXT_POOL[0], "end": EXT_POOL[1]}])
    state["external"] = {"network_id": net["id"], "subnet_id": sub["id"]}
    save_state(state)


def birdc(sock, *cmd, check=True):
    return run(["birdc", "-s", sock] + list(cmd), check=check, timeout=10)


def bird_protocols(sock):
    """{protocol name: {'proto', 'state', 'info'}} from 'show protocols' of
    the BIRD on 'sock'; {} when it does not answer."""
    p = birdc(sock, "show", "protocols", check=False)
    out = {}
    if p.returncode != 0:
        return out
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] not in ("BIRD", "Name") and f[3] in ("up", "down", "start", "stop"):
            out[f[0]] = {"proto": f[1], "state": f[3], "info": " ".join(f[5:]) if len(f) > 5 else ""}
    return out


def bgp_established(state):
    """{gateway name: True when the upstream's session with it is
    Established}."""
    protos = bird_protocols(state["upstream"]["bird_sock"])
    return {g["name"]: "Established" in protos.get(g["name"], {}).get("info", "")
            for g in state.get("gateways", {}).values()}


def upstream_routes():
    """The upstream router's /32 routes into the external network:
    {address: [next hops]} (several when ECMP spreads it)."""
    p = nsenter_run(UPSTREAM_NS, ["ip", "-j", "-4", "route", "show", "root", EXT_CIDR], check=False)
    out = {}
    with contextlib.suppress(ValueError):
        for r in json.loads(p.stdout or "[]"):
            dst = r.get("dst", "")
            if "/" in dst and not dst.endswith("/32"):
                continue
            dst = dst.split("/")[0]
            if r.get("gateway"):
                out[dst] = [r["gateway"]]
            elif r.get("nexthops"):
                out[dst] = sorted(n["gateway"] for n in r["nexthops"] if n.get("gateway"))
    return out


def wait_routes(addresses, nexthops, timeout=10.0):
    """Waits until the upstream routes every one of 'addresses' over
    exactly the set 'nexthops' (uplink addresses); returns the routes seen
    last, and raises LabError on timeout."""
    want = sorted(nexthops)
    deadline = time.monotonic() + timeout
    while True:
        routes = upstream_routes()
        if all(routes.get(a) == want for a in addresses):
            return routes
        if time.monotonic() > deadline:
            raise LabError("upstream routes after %g s: %s (wanted %s via %s)" %
                           (timeout, {a: routes.get(a) for a in addresses}, addresses, want))
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# up / down.


def lab_leftovers():
    return [ns for ns in netns_list() if LAB_NS_RE.match(ns)]


def cmd_up(args):
    hosts = args.hosts
    if not 1 <= hosts <= 200:
        raise LabError("--hosts must be between 1 and 200")
    if not 0 <= args.gateways <= MAX_GATEWAYS:
        raise LabError("--gateways must be between 0 and %d" % MAX_GATEWAYS)
    if args.gateways and shutil.which("bird") is None:
        raise LabError("--gateways needs BIRD 2 (bird, birdc: make deps)")
    if os.geteuid() != 0:
        raise LabError("weft-lab needs root (network namespaces, bpffs)")
    build = os.path.abspath(args.build)
    with locked():
        if load_state() is not None:
            raise LabError("a lab is already up (%s); run 'weft-lab down' first" % STATE_FILE)
        left = lab_leftovers()
        if left:
            raise LabError("leftovers of an earlier lab (%s); run 'weft-lab down' first" % ", ".join(left))
        if not os.access(weftd_path(build), os.X_OK):
            raise LabError("%s is missing; build first (ninja -C %s)" % (weftd_path(build), build))
        agents = not args.no_agents
        if agents and not os.access(agent_path(build), os.X_OK):
            log("%s is missing: the hosts run no agent, so no traffic flows" % agent_path(build))
            agents = False
        southbound = weftd_has_southbound(weftd_path(build))
        if not southbound:
            log("this weftd has no --southbound option: agents cannot connect")
        gateway_agents = agents and bool(args.gateways) and agent_has_gateway_role(build)
        if agents and args.gateways and not gateway_agents:
            log("this weft-agent has no gateway role (--gateway): the gateways run no agent")
        shutil.rmtree(os.path.join(STATE_DIR, "logs"), ignore_errors=True)
        os.makedirs(STATE_DIR, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(STATE_DIR, "weft.db"))
        state = {
            "version": 1,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "build": build,
            "api": args.api,
            "sb": args.sb,
            "agents": agents,
            "agent_args": args.agent_arg or [],
            "underlay": {"ns": UNDERLAY_NS, "bridge": UNDERLAY_BRIDGE, "created": False},
            "controller": {"db": os.path.join(STATE_DIR, "weft.db"), "southbound": southbound,
                           "extra_args": args.weftd_arg or [], "proc": None},
            "hosts": {},
            "vms": {},
            "gateway_agents": gateway_agents,
            "gateways": {},
            "upstream": {"ns": UPSTREAM_NS, "created": False, "bird": None,
                         "bird_conf": os.path.join(upstream_dir(), "bird.conf"),
                         "bird_sock": os.path.join(upstream_dir(), "bird.ctl")},
            "internet": {"ns": INTERNET_NS, "created": False, "ip": INTERNET_IP},
            "external": None,
        }
        save_state(state)
        try:
            _up(state, hosts, args.gateways)
        except BaseException:
            log("up failed; removing what was made")
            with contextlib.suppress(Exception):
                _down(load_state() or state, keep_logs=True)
            raise
    cmd_status(argparse.Namespace(json=False))


def _up(state, hosts, gateways=0):
    ul = state["underlay"]
    netns_add(UNDERLAY_NS)
    ul["created"] = True
    save_state(state)
    ip("link", "add", UNDERLAY_BRIDGE, "type", "bridge", ns=UNDERLAY_NS)
    ip("link", "set", UNDERLAY_BRIDGE, "up", ns=UNDERLAY_NS)
    for i in range(1, hosts + 1):
        h = {"index": i, "name": host_name(i), "ns": host_ns(i), "underlay_ip": underlay_ip(i),
             "underlay_dev": "eth0", "ul_port": "ul-h%d" % i, "agent": None}
        state["hosts"][str(i)] = h
        netns_add(h["ns"])
        save_state(state)
        ip("link", "add", h["ul_port"], "type", "veth", "peer", "name", "eth0", "netns", h["ns"],
           ns=UNDERLAY_NS)
        ip("link", "set", h["ul_port"], "master", UNDERLAY_BRIDGE, "up", ns=UNDERLAY_NS)
        ip_batch(h["ns"], ["addr add %s/%d dev eth0" % (h["underlay_ip"], UNDERLAY_PLEN),
                           "link set eth0 up"])
    if gateways:
        _build_upstream(state)
        for k in range(1, gateways + 1):
            gw = new_gateway(k)
            state["gateways"][str(k)] = gw
            _build_gateway(state, gw)
        start_upstream(state)
    start_controller(state)
    if gateways:
        try:
            create_external_network(state)
        except LabError as e:
            log("external network %s not created: %s" % (EXT_NETWORK, e))
    if state["agents"]:
        for h in state["hosts"].values():
            start_agent(state, h)
        for gw in state["gateways"].values():
            start_gateway(state, gw)
        if state["controller"]["southbound"]:
            names = [h["name"] for h in state["hosts"].values()]
            if state.get("gateway_agents"):
                names += [g["name"] for g in state["gateways"].values()]
            missing = wait_agents_alive(state, names)
            for name in missing:
                log("the agent of %s is not alive in the API after 20 s; see %s" %
                    (name, os.path.join(STATE_DIR, "logs", "agent-%s.log" % name)))


def procs_in_netns(inodes):
    """PIDs of the processes whose network namespace is one of 'inodes'."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            link = os.readlink("/proc/%s/ns/net" % d)
        except OSError:
            continue
        m = re.fullmatch(r"net:\[(\d+)\]", link)
        if m and int(m.group(1)) in inodes:
            st = proc_start_time(int(d))
            if st is not None:
                found.append({"pid": int(d), "start": st})
    return found


def procs_with_arg(arg):
    """PIDs of weftd processes whose command line contains 'arg' (the lab's
    store path: how a weftd of a crashed lab is found without its state)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"/weftd") and arg.encode() in argv:
            st = proc_start_time(int(d))
            if st is not None:
                found.append({"pid": int(d), "start": st})
    return found


def cmd_down(args):
    if os.geteuid() != 0:
        raise LabError("weft-lab needs root")
    with locked():
        state = load_state() or {}
        problems = _down(state, keep_logs=args.keep_logs)
    for p in problems:
        log(p)
    print("weft-lab: down")


def _down(state, keep_logs=False):
    """Removes everything the lab made: first by its records, then whatever
    carries the lab's names. Never raises for a single failure; returns the
    list of problems met."""
    problems = []
    build = state.get("build") or os.path.join(ROOT, "build")
    hosts = {h["name"]: h["ns"] for h in state.get("hosts", {}).values()}
    gateways = {g["name"]: g for g in state.get("gateways", {}).values()}
    for ns in netns_list():
        m = re.fullmatch(r"weft-h(\d+)", ns)
        if m:
            hosts.setdefault(host_name(int(m.group(1))), ns)
        m = re.fullmatch(r"weft-gw(\d+)", ns)
        if m:
            hosts.setdefault(gateway_name(int(m.group(1))), ns)
    for g in gateways.values():
        hosts.setdefault(g["name"], g["ns"])

    # 1. Processes: the recorded ones, weftd on the lab's store, and anything
    # still running inside one of the lab's namespaces (agents after a
    # crash, iperf3 servers left by a test).
    procs = []
    for h in list(state.get("hosts", {}).values()) + list(gateways.values()):
        if h.get("agent"):
            procs.append(h["agent"])
        if h.get("bird"):
            procs.append(h["bird"])
    if (state.get("upstream") or {}).get("bird"):
        procs.append(state["upstream"]["bird"])
    for v in state.get("vms", {}).values():
        if v.get("dhcp_client"):
            procs.append(v["dhcp_client"])
    ctl = state.get("controller", {})
    if ctl.get("proc"):
        procs.append(ctl["proc"])
    procs += procs_with_arg(ctl.get("db") or os.path.join(STATE_DIR, "weft.db"))
    inodes = {netns_inode(ns) for ns in lab_leftovers()} - {None}
    procs += procs_in_netns(inodes)
    seen = set()
    live = []
    for rec in procs:
        if rec["pid"] not in seen and proc_alive(rec):
            seen.add(rec["pid"])
            live.append(rec)
    for rec in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec["pid"], signal.SIGTERM)
    for rec in live:
        if not _wait_gone(rec, 5):
            problems.append("pid %d ignored SIGTERM; killed" % rec["pid"])
            stop_process(rec, signal.SIGKILL)
        _reap(rec["pid"])

    # 2. The agents' own cleanup (tc filters, VXLAN device, pins), inside
    # each host namespace while it still exists.
    agent = agent_path(build)
    if os.access(agent, os.X_OK):
        for name, ns in sorted(hosts.items()):
            if not netns_exists(ns):
                continue
            p = nsenter_run(ns, [agent, "--host", name, "--cleanup"], check=False, timeout=30)
            if p.returncode != 0:
                problems.append("weft-agent --host %s --cleanup: exit %d %s" %
                                (name, p.returncode, (p.stderr or "").strip()[-300:]))

    # 3. Namespaces (VMs first; the veths and bridges inside go with them).
    order = sorted(lab_leftovers(), key=lambda ns: (0 if ns.startswith(("weft-vm-", "weft-kvm", "weft-kgw")) else
                                                    1 if ns.startswith(("weft-h", "weft-gw")) else 2, ns))
    for ns in order:
        p = run(["ip", "netns", "del", ns], check=False)
        if p.returncode != 0:
            problems.append("ip netns del %s: %s" % (ns, p.stderr.strip()))

    # 4. Pins the agents left (after a crash, or when --cleanup failed).
    for name in hosts:
        path = os.path.join(BPFFS_ROOT, name)
        if os.path.lexists(path):
            try:
                shutil.rmtree(path)
            except OSError as e:
                problems.append("cannot remove %s: %s" % (path, e))
    with contextlib.suppress(OSError):
        os.rmdir(BPFFS_ROOT)  # only when empty: other users may pin there too

    # 5. The southbound socket of our weftd, the store, the state.
    sb = state.get("sb")
    if sb and ctl.get("southbound") and os.path.exists(sb) and not sock_in_use(sb):
        with contextlib.suppress(OSError):
            os.unlink(sb)
    if keep_logs:
        for f in ("state.json", "state.json.tmp", "weft.db", "weft.db-wal", "weft.db-shm", "weftd.conf"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(STATE_DIR, f))
        shutil.rmtree(os.path.join(STATE_DIR, "vms"), ignore_errors=True)
        for d in ["upstream"] + [g for g in hosts if re.fullmatch(r"gw\d+", g)]:
            shutil.rmtree(os.path.join(STATE_DIR, d), ignore_errors=True)
    else:
        shutil.rmtree(STATE_DIR, ignore_errors=True)
    return problems


# ---------------------------------------------------------------------------
# VMs.


DHCP_CLIENTS = ("dhclient", "udhcpc")
DHCP_SCRIPT = os.path.join(ROOT, "lab", "weft-dhcp-script")

# dhclient's configuration for the lab's VMs: Debian's default requests
# (mask, routers, DNS, domain, MTU, classless routes), a shorter timeout and
# fast retries. Written to the VM's directory.
DHCLIENT_CONF = """# weft-lab: dhclient configuration of a VM
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
request subnet-mask, broadcast-address, time-offset, routers,
        domain-name, domain-name-servers, domain-search, host-name,
        interface-mtu, rfc3442-classless-static-routes;
timeout %d;
initial-interval 1;
backoff-cutoff 2;
"""


def vm_dir(name):
    """A VM's own files: the DHCP client's lease, pid file and
    configuration, and the VM's resolv.conf."""
    return os.path.join(STATE_DIR, "vms", name)


def vm_resolv_conf(name):
    return os.path.join(vm_dir(name), "resolv.conf")


def vm_add(name, host_spec, port_id, bind=True, sysctls=(), dhcp=None, dhcp_timeout=20.0):
    """Creates VM 'name' on host 'host_spec' for port 'port_id' (see the
    module docstring) and binds the port to the host. 'sysctls'
    ("key=value") are set in the VM's namespace once eth0 exists, before it
    is up.

    With 'dhcp' ("dhclient" or "udhcpc") eth0 gets only the port's MAC (MTU
    left at 1500) and is brought up; once the port is bound (and ACTIVE, or
    after 'dhcp_timeout' seconds) that DHCP client configures it from the
    lease through lab/weft-dhcp-script (address, routes, MTU; DNS into the
    VM's resolv.conf). LabError when no lease comes within 'dhcp_timeout'
    seconds. Returns the VM record."""
    if not VM_NAME_RE.match(name):
        raise LabError("bad VM name %r (letters, digits, _ . -; at most 41)" % name)
    if dhcp is not None and dhcp not in DHCP_CLIENTS:
        raise LabError("unknown DHCP client %r (%s)" % (dhcp, ", ".join(DHCP_CLIENTS)))
    with locked():
        state = need_state()
        host = resolve_host(state, host_spec)
        if name in state["vms"] or netns_exists(vm_ns(name)):
            raise LabError("VM %s already exists" % name)
        api = api_of(state)
        port = api.show("port", port_id)
        net = api.show("network", port["network_id"])
        mtu = net.get("mtu") or DEFAULT_MTU
        addr, gateway = None, None
        if port.get("fixed_ips") and not dhcp:
            fip = port["fixed_ips"][0]
            sub = api.show("subnet", fip["subnet_id"])
            plen = ipaddress.ip_network(sub["cidr"]).prefixlen
            addr = "%s/%d" % (fip["ip_address"], plen)
            gateway = sub.get("gateway_ip")
        ns = vm_ns(name)
        tap = tap_name(port["id"])
        vm = {"name": name, "ns": ns, "host": host["name"], "host_ns": host["ns"],
              "port_id": port["id"], "tap": tap, "mac": port["mac_address"], "ip": addr,
              "gateway": gateway, "mtu": mtu, "dhcp": dhcp}
        state["vms"][name] = vm
        save_state(state)
        bound = False
        try:
            # A VM keeps IPv6 on but silent: with no link-local address it
            # sends neither router solicitations nor MLD reports. (One fork
            # less than the sysctl: VM plumbing counts in the bench's
            # port-to-ping time.)
            netns_add(ns, lo_up=False, ipv6=True)
            ip("link", "add", tap, "mtu", str(mtu), "up", "type", "veth", "peer", "name", "eth0",
               "netns", ns, ns=host["ns"])
            if sysctls:
                nsenter_run(ns, ["/usr/sbin/sysctl", "-q", "-w"] + list(sysctls))
            # By DHCP the MTU is the lease's (option 26): eth0 starts at
            # Ethernet's 1500, so that the 1450 shows DHCP at work.
            lines = ["link set lo up",
                     "link set eth0 address %s mtu %d addrgenmode none" %
                     (port["mac_address"], 1500 if dhcp else mtu)]
            if addr:
                lines.append("addr add %s dev eth0" % addr)
            lines.append("link set eth0 up")
            if gateway and addr:
                lines.append("route add default via %s dev eth0" % gateway)
            ip_batch(ns, lines)
            if bind:
                api.update("port", port["id"], **{"binding:host_id": host["name"]})
                bound = True
            if dhcp:
                _vm_dhcp(state, vm, api, dhcp_timeout)
                save_state(state)
        except BaseException:
            _stop_dhcp_client(vm)
            netns_del(ns)
            shutil.rmtree(vm_dir(name), ignore_errors=True)
            del state["vms"][name]
            save_state(state)
            if bound:
                with contextlib.suppress(LabError):
                    api.update("port", port["id"], **{"binding:host_id": ""})
            raise
        return vm


def _vm_dhcp(state, vm, api, timeout):
    """Runs the VM's DHCP client until it has a lease (see vm_add)."""
    name, ns = vm["name"], vm["ns"]
    d = vm_dir(name)
    os.makedirs(d, exist_ok=True)
    resolv = vm_resolv_conf(name)
    with open(resolv, "w") as f:
        f.write("# weft-lab: VM %s, no DHCP lease yet\n" % name)
    vm["resolv_conf"] = resolv
    # The client's DISCOVER is answered once the agent serves the tap:
    # wait for ACTIVE (the clients retry anyway, so a slow agent only
    # costs time).
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(LabError):
            if api.show("port", vm["port_id"]).get("status") == "ACTIVE":
                break
        time.sleep(0.05)
    left = max(2, int(deadline - time.monotonic() + 0.999))
    logpath = os.path.join(STATE_DIR, "logs", "dhcp-%s.log" % name)
    pidfile = os.path.join(d, vm["dhcp"] + ".pid")
    env = dict(os.environ, WEFT_RESOLV_CONF=resolv)
    if vm["dhcp"] == "dhclient":
        conf = os.path.join(d, "dhclient.conf")
        with open(conf, "w") as f:
            f.write(DHCLIENT_CONF % left)
        # -1: one attempt, exit 2 without a lease; with a lease dhclient
        # goes to the background (and renews), its PID in the pid file.
        argv = ["dhclient", "-4", "-1", "-v", "-cf", conf, "-pf", pidfile,
                "-lf", os.path.join(d, "dhclient.leases"), "-sf", DHCP_SCRIPT,
                "-e", "WEFT_RESOLV_CONF=" + resolv, "eth0"]
    else:
        # -n: exit without a lease; -q: exit once configured (busybox
        # applies the lease through the script and leaves nothing running).
        tries = max(1, left // 2)
        argv = ["busybox", "udhcpc", "-i", "eth0", "-f", "-n", "-q", "-t", str(tries), "-T", "2",
                "-A", "1", "-s", DHCP_SCRIPT, "-p", pidfile,
                "-O", "mtu", "-O", "staticroutes", "-O", "dns", "-O", "domain", "-O", "router",
                "-O", "subnet"]
    os.makedirs(os.path.dirname(logpath), exist_ok=True)
    with open(logpath, "a") as logf:
        logf.write("=== %s %s\n" % (time.strftime("%H:%M:%S"), " ".join(argv)))
        logf.flush()
        p = subprocess.Popen(nsenter_cmd(ns, argv), stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             env=env, start_new_session=True, close_fds=True)
    try:
        rc = p.wait(timeout=left + 15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    if vm["dhcp"] == "dhclient":
        with contextlib.suppress(OSError, ValueError):
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
            st = proc_start_time(pid)
            if st is not None:
                vm["dhcp_client"] = {"pid": pid, "start": st, "argv": argv, "log": logpath}
    if rc != 0:
        raise LabError("VM %s: %s got no DHCP lease within %d s (exit %s):\n%s" %
                       (name, vm["dhcp"], left, rc, tail(logpath, 12)))
    out = ip("-4", "-o", "addr", "show", "dev", "eth0", ns=ns).stdout.split()
    if "inet" not in out:
        raise LabError("VM %s: %s exited 0 but eth0 has no address:\n%s" % (name, vm["dhcp"], tail(logpath, 12)))
    vm["ip"] = out[out.index("inet") + 1]
    route = ip("-4", "route", "show", "default", ns=ns).stdout.split()
    vm["gateway"] = route[route.index("via") + 1] if "via" in route else None
    link = ip("-o", "link", "show", "dev", "eth0", ns=ns).stdout.split()
    if "mtu" in link:
        vm["mtu"] = int(link[link.index("mtu") + 1])


def _stop_dhcp_client(vm):
    """Stops the DHCP client recorded for 'vm' (dhclient stays in the
    background to renew), by its recorded PID."""
    rec = vm.get("dhcp_client")
    if rec:
        stop_process(rec, signal.SIGTERM, timeout=3)
        vm["dhcp_client"] = None


def vm_del(name, unbind=True):
    """Deletes VM 'name': its namespace (with it the veth, so the tap leaves
    the host) and, like Nova, the port's binding when the port still exists."""
    with locked():
        state = need_state()
        vm = state["vms"].get(name)
        ns = vm_ns(name)
        if vm is None and not netns_exists(ns):
            raise LabError("no VM %s" % name)
        if vm is not None:
            _stop_dhcp_client(vm)
        shutil.rmtree(vm_dir(name), ignore_errors=True)
        if netns_exists(ns):
            inode = netns_inode(ns)
            for rec in procs_in_netns({inode}):
                stop_process(rec, signal.SIGTERM, timeout=3)
            run(["ip", "netns", "del", ns])
        if vm is not None:
            state["vms"].pop(name, None)
            save_state(state)
            if unbind:
                with contextlib.suppress(LabError):
                    api = api_of(state)
                    port = api.show("port", vm["port_id"])
                    if port.get("binding:host_id") == vm["host"]:
                        api.update("port", vm["port_id"], **{"binding:host_id": ""})


# ---------------------------------------------------------------------------
# The commands.


def cmd_vm(args):
    if args.vm_cmd == "add":
        if args.dhcp and args.no_bind:
            raise LabError("--dhcp needs the port bound (no answer comes to an unbound tap)")
        vm = vm_add(args.name, args.host, args.port, bind=not args.no_bind, dhcp=args.dhcp,
                    dhcp_timeout=args.dhcp_timeout)
        print("vm %s on %s: port %s, %s %s, %s in %s%s" %
              (vm["name"], vm["host"], vm["port_id"], vm["mac"], vm["ip"] or "(no address)",
               vm["tap"], vm["host_ns"],
               ", by %s: gateway %s, mtu %s" % (vm["dhcp"], vm["gateway"] or "-", vm["mtu"])
               if vm.get("dhcp") else ""))
    elif args.vm_cmd == "del":
        for name in args.names:
            vm_del(name, unbind=not args.keep_binding)
    elif args.vm_cmd == "exec":
        state = need_state()
        if args.name not in state["vms"] and not netns_exists(vm_ns(args.name)):
            raise LabError("no VM %s" % args.name)
        exec_in(vm_ns(args.name), args.cmd, vm=args.name)
    elif args.vm_cmd == "list":
        state = need_state()
        for vm in state["vms"].values():
            print("%-16s %-8s %-15s %-18s %-18s %s" % (vm["name"], vm["host"], vm["tap"], vm["mac"],
                                                       vm["ip"], vm["port_id"]))


# Runs a command with the VM's resolv.conf bind-mounted on /etc/resolv.conf,
# in a mount namespace of its own ($0 is the file, "$@" the command).
_WITH_RESOLV = ('mount --bind "$0" /etc/resolv.conf || '
                'echo "weft-lab: cannot show $0 as /etc/resolv.conf" >&2; exec "$@"')


def vm_cmd(name, cmd):
    """The command line that runs 'cmd' in VM 'name', as 'vm exec' does:
    in the VM's network namespace and, when the VM has a resolv.conf of its
    own (written from its DHCP lease), in a private mount namespace where
    that file is /etc/resolv.conf. Every step execs, so the process that
    runs 'cmd' keeps the PID of the first."""
    resolv = vm_resolv_conf(name)
    if os.path.exists(resolv):
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
               _WITH_RESOLV, resolv] + list(cmd)
    return nsenter_cmd(vm_ns(name), cmd)


def exec_in(ns, cmd, vm=None):
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        cmd = [os.environ.get("SHELL", "/bin/bash")]
    argv = vm_cmd(vm, cmd) if vm else nsenter_cmd(ns, cmd)
    os.execvp(argv[0], argv)


def resolve_node(state, spec):
    """A host, a gateway ('gw2', 'weft-gw2'), 'upstream' or 'internet':
    the namespace's record (with 'ns')."""
    if spec in ("upstream", UPSTREAM_NS, "internet", INTERNET_NS):
        rec = state.get("upstream" if "upstream" in spec else "internet") or {}
        if not rec.get("created"):
            raise LabError("the lab has no %s (weft-lab up --gateways N)" % spec)
        return rec
    if re.fullmatch(r"(?:weft-)?gw\d+", spec):
        return resolve_gateway(state, spec)
    return resolve_host(state, spec)


def cmd_exec(args):
    state = need_state()
    exec_in(resolve_node(state, args.host)["ns"], args.cmd)


def cmd_gateway(args):
    with locked():
        state = need_state()
        gws = (list(state.get("gateways", {}).values()) if args.name == "all"
               else [resolve_gateway(state, args.name)])
        if not gws:
            raise LabError("the lab has no gateways (weft-lab up --gateways N)")
        for gw in gws:
            if args.action == "stop":
                stop_gateway(state, gw)
                print("gateway %s: stopped (agent and bird killed, links down)" % gw["name"])
            else:
                start_gateway(state, gw)
                print("gateway %s: started, agent pid %s, bird pid %s" % (
                    gw["name"], (gw.get("agent") or {}).get("pid", "-"), (gw.get("bird") or {}).get("pid", "-")))
        if args.action == "start" and args.wait and state.get("gateway_agents"):
            missing = wait_agents_alive(state, [g["name"] for g in gws], args.wait)
            if missing:
                raise LabError("not alive in the API after %g s: %s" % (args.wait, ", ".join(missing)))


def cmd_agent(args):
    with locked():
        state = need_state()
        hosts = (list(state["hosts"].values()) if args.host == "all"
                 else [resolve_node(state, args.host)])
        if any("name" not in h for h in hosts):
            raise LabError("%s runs no agent" % args.host)
        for host in hosts:
            if args.action == "start":
                rec = start_agent(state, host)
                print("agent %s: started, pid %d" % (host["name"], rec["pid"]))
            elif args.action == "stop":
                pid = (host.get("agent") or {}).get("pid")
                killed = stop_agent(state, host, signal.SIGTERM)
                print("agent %s: stopped%s" % (host["name"], " (had to be killed)" if killed and pid else
                                                "" if pid else " (was not running)"))
            elif args.action == "kill":
                stop_agent(state, host, signal.SIGKILL)
                print("agent %s: killed (SIGKILL)" % host["name"])
            elif args.action == "restart":
                stop_agent(state, host, signal.SIGTERM)
                rec = start_agent(state, host)
                print("agent %s: restarted, pid %d" % (host["name"], rec["pid"]))
        if args.action in ("start", "restart") and args.wait and state["controller"]["southbound"]:
            missing = wait_agents_alive(state, [h["name"] for h in hosts], args.wait)
            if missing:
                raise LabError("not alive in the API after %g s: %s" % (args.wait, ", ".join(missing)))


def cmd_controller(args):
    with locked():
        state = need_state()
        if args.action == "start":
            rec = start_controller(state)
            print("weftd: started, pid %d, http://%s" % (rec["pid"], state["api"]))
        elif args.action in ("stop", "kill"):
            sig = signal.SIGKILL if args.action == "kill" else signal.SIGTERM
            was = proc_alive(state["controller"].get("proc"))
            stop_controller(state, sig)
            print("weftd: %s" % ((args.action == "kill" and "killed") or ("stopped" if was else "was not running")))
        elif args.action == "restart":
            stop_controller(state)
            rec = start_controller(state)
            print("weftd: restarted, pid %d" % rec["pid"])


def status(state):
    """The lab's state as a dict (what 'status --json' prints)."""
    api = api_of(state)
    gateways = list(state.get("gateways", {}).values())
    known = ([UNDERLAY_NS] + [h["ns"] for h in state["hosts"].values()] + [g["ns"] for g in gateways] +
             [state[k]["ns"] for k in ("upstream", "internet") if (state.get(k) or {}).get("created")] +
             [v["ns"] for v in state["vms"].values()])
    out = {"state": STATE_FILE, "build": state["build"], "api": "http://" + state["api"],
           "southbound": "unix:" + state["sb"] if state["controller"]["southbound"] else None,
           "namespaces": {ns: netns_exists(ns) for ns in known},
           "leftovers": [ns for ns in lab_leftovers() if ns not in known]}
    ctl = state["controller"].get("proc")
    out["controller"] = {"pid": ctl and ctl["pid"], "alive": proc_alive(ctl),
                         "api_answers": api.answers()}
    agents = agents_by_host(api) if out["controller"]["api_answers"] else {}
    out["hosts"] = []
    for h in state["hosts"].values():
        a = agents.get(h["name"], {})
        out["hosts"].append({"name": h["name"], "ns": h["ns"], "underlay_ip": h["underlay_ip"],
                             "agent_pid": (h.get("agent") or {}).get("pid"),
                             "agent_running": proc_alive(h.get("agent")),
                             "api_alive": a.get("alive"),
                             "heartbeat": a.get("heartbeat_timestamp")})
    out["gateways"] = []
    if gateways:
        up = state["upstream"]
        bgp = bgp_established(state) if proc_alive(up.get("bird")) else {}
        routes = upstream_routes()
        out["upstream"] = {"ns": up["ns"], "bird_pid": (up.get("bird") or {}).get("pid"),
                           "bird_running": proc_alive(up.get("bird")), "routes": routes}
        out["external"] = state.get("external")
        for g in gateways:
            a = agents.get(g["name"], {})
            conf = a.get("configurations") or {}
            out["gateways"].append({
                "name": g["name"], "ns": g["ns"], "underlay_ip": g["underlay_ip"],
                "uplink_ip": g["uplink_ip"], "stopped": g.get("stopped", False),
                "agent_pid": (g.get("agent") or {}).get("pid"), "agent_running": proc_alive(g.get("agent")),
                "bird_pid": (g.get("bird") or {}).get("pid"), "bird_running": proc_alive(g.get("bird")),
                "api_alive": a.get("alive"), "slot": conf.get("gateway_slot"),
                "bgp_established": bgp.get(g["name"]),
                "routes_via": sum(1 for nh in routes.values() if g["uplink_ip"] in nh)})
    ports = {}
    if out["controller"]["api_answers"]:
        with contextlib.suppress(LabError):
            ports = {p["id"]: p for p in api.list("ports")}
    out["vms"] = []
    for v in state["vms"].values():
        p = ports.get(v["port_id"], {})
        out["vms"].append({"name": v["name"], "host": v["host"], "ip": v["ip"], "mac": v["mac"],
                           "tap": v["tap"], "port_id": v["port_id"],
                           "port_status": p.get("status", "(no port)" if ports else None),
                           "binding": p.get("binding:host_id")})
    out["ports"] = [{"id": p["id"], "name": p.get("name"), "project": p.get("project_id"),
                     "ips": [f["ip_address"] for f in p.get("fixed_ips", [])],
                     "host": p.get("binding:host_id"), "status": p.get("status")}
                    for p in ports.values()]
    return out


def cmd_status(args):
    state = need_state()
    s = status(state)
    if args.json:
        json.dump(s, sys.stdout, indent=2)
        print()
        return
    yn = lambda b: "yes" if b else "NO"
    c = s["controller"]
    print("lab        state %s, build %s" % (s["state"], s["build"]))
    print("weftd      pid %s running %s, API %s answers %s, southbound %s" %
          (c["pid"], yn(c["alive"]), s["api"], yn(c["api_answers"]), s["southbound"] or "(none)"))
    print("underlay   %s bridge %s: %s" % (UNDERLAY_NS, UNDERLAY_BRIDGE,
                                           "present" if s["namespaces"].get(UNDERLAY_NS) else "MISSING"))
    print()
    print("%-8s %-9s %-13s %-9s %-8s %-6s %s" % ("HOST", "NS", "UNDERLAY", "AGENT", "RUNNING", "ALIVE",
                                                "HEARTBEAT"))
    for h in s["hosts"]:
        print("%-8s %-9s %-13s %-9s %-8s %-6s %s" % (h["name"], h["ns"], h["underlay_ip"], h["agent_pid"] or "-",
                                                    yn(h["agent_running"]),
                                                    {True: "yes", False: "NO", None: "-"}[h["api_alive"]],
                                                    h["heartbeat"] or "-"))
    if s["gateways"]:
        up = s["upstream"]
        print()
        print("%-7s %-9s %-14s %-13s %-7s %-7s %-6s %-5s %-5s %s" % (
            "GATEWAY", "NS", "UNDERLAY", "UPLINK", "AGENT", "BIRD", "ALIVE", "SLOT", "BGP", "ROUTES"))
        for g in s["gateways"]:
            print("%-7s %-9s %-14s %-13s %-7s %-7s %-6s %-5s %-5s %d%s" % (
                g["name"], g["ns"], g["underlay_ip"], g["uplink_ip"],
                g["agent_pid"] if g["agent_running"] else "-", g["bird_pid"] if g["bird_running"] else "-",
                {True: "yes", False: "NO", None: "-"}[g["api_alive"]],
                "-" if g["slot"] is None else g["slot"],
                {True: "up", False: "DOWN", None: "-"}[g["bgp_established"]], g["routes_via"],
                " (stopped)" if g["stopped"] else ""))
        ext = s.get("external")
        print("upstream   %s, BIRD pid %s running %s, %d routes into %s; internet %s; external network %s" % (
            up["ns"], up["bird_pid"], yn(up["bird_running"]), len(up["routes"]), EXT_CIDR, INTERNET_IP,
            "%s (%s)" % (EXT_NETWORK, ext["network_id"]) if ext else "NOT CREATED"))
    if s["vms"]:
        print()
        print("%-14s %-7s %-16s %-18s %-15s %-7s %s" % ("VM", "HOST", "IP", "MAC", "TAP", "STATUS", "PORT"))
        for v in s["vms"]:
            print("%-14s %-7s %-16s %-18s %-15s %-7s %s" % (v["name"], v["host"], v["ip"] or "-", v["mac"],
                                                           v["tap"], v["port_status"] or "?", v["port_id"]))
    print()
    print("ports in weftd: %d (%d bound, %d ACTIVE)" % (
        len(s["ports"]), sum(1 for p in s["ports"] if p["host"]),
        sum(1 for p in s["ports"] if p["status"] == "ACTIVE")))
    if s["leftovers"]:
        print("namespaces not in the state: %s" % ", ".join(s["leftovers"]))


def parser():
    p = argparse.ArgumentParser(
        prog="weft-lab",
        description="A weft cloud on one machine: an underlay, hypervisor and VM namespaces, "
                    "weftd and one weft-agent per host. Needs root. See docs/lab.md.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="build the underlay and hosts, start weftd and the agents")
    up.add_argument("--hosts", type=int, default=3, help="number of hypervisors (default 3)")
    up.add_argument("--gateways", type=int, default=0,
                    help="number of gateway nodes, 0..%d (default 0); with any, also the upstream "
                         "router and the internet (docs/gateways.md)" % MAX_GATEWAYS)
    up.add_argument("--build", default=os.environ.get("WEFT_BUILD", os.path.join(ROOT, "build")),
                    help="Meson build dir with controller/weftd and agent/weft-agent "
                         "(default $WEFT_BUILD or ./build)")
    up.add_argument("--api", default=DEFAULT_API, help="weftd's API address (default %s)" % DEFAULT_API)
    up.add_argument("--sb", default=DEFAULT_SB, help="weftd's southbound socket (default %s)" % DEFAULT_SB)
    up.add_argument("--no-agents", action="store_true", help="start no agents (API-only lab)")
    up.add_argument("--weftd-arg", action="append", metavar="ARG", help="extra weftd argument (repeatable)")
    up.add_argument("--agent-arg", action="append", metavar="ARG",
                    help="extra weft-agent argument (repeatable)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop and remove everything the lab made, even after a crash")
    down.add_argument("--keep-logs", action="store_true", help="keep %s/logs" % STATE_DIR)
    down.set_defaults(func=cmd_down)

    st = sub.add_parser("status", help="namespaces, processes, agents, VMs and ports")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    vm = sub.add_parser("vm", help="VMs: add, del, exec, list")
    vsub = vm.add_subparsers(dest="vm_cmd", required=True, metavar="VMCMD")
    va = vsub.add_parser("add", help="create a VM namespace for a port and bind the port to the host")
    va.add_argument("name")
    va.add_argument("--host", required=True, help="host1, h1 or 1")
    va.add_argument("--port", required=True, help="the port's id")
    va.add_argument("--no-bind", action="store_true", help="leave binding:host_id alone")
    va.add_argument("--dhcp", nargs="?", const="dhclient", choices=DHCP_CLIENTS,
                    help="configure eth0 by DHCP instead of static addresses, with dhclient "
                         "(the default) or busybox udhcpc")
    va.add_argument("--dhcp-timeout", type=float, default=20.0, metavar="SECONDS",
                    help="with --dhcp: fail when no lease comes within this time (20)")
    vd = vsub.add_parser("del", help="delete VMs (and clear their ports' binding)")
    vd.add_argument("names", nargs="+")
    vd.add_argument("--keep-binding", action="store_true")
    ve = vsub.add_parser("exec", help="run a command in a VM: vm exec NAME -- CMD...")
    ve.add_argument("name")
    ve.add_argument("cmd", nargs=argparse.REMAINDER)
    vsub.add_parser("list", help="the lab's VMs")
    vm.set_defaults(func=cmd_vm)

    ex = sub.add_parser("exec", help="run a command in a host's, a gateway's, the upstream's or the "
                                     "internet's namespace: exec HOST|gwK|upstream|internet -- CMD...")
    ex.add_argument("host")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)

    ag = sub.add_parser("agent", help="start, stop (SIGTERM), kill (SIGKILL) or restart a host's agent")
    ag.add_argument("action", choices=["start", "stop", "kill", "restart"])
    ag.add_argument("host", help="host1, h1, 1, or all")
    ag.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                    help="after start: wait until the agent is alive in the API")
    ag.set_defaults(func=cmd_agent)

    gwp = sub.add_parser("gateway", help="stop (a dead machine: agent and BIRD killed, links down) "
                                         "or start a gateway node")
    gwp.add_argument("action", choices=["start", "stop"])
    gwp.add_argument("name", help="gw1, 1, or all")
    gwp.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                     help="after start: wait until the agent is alive in the API")
    gwp.set_defaults(func=cmd_gateway)

    ct = sub.add_parser("controller", help="start, stop (SIGTERM), kill (SIGKILL) or restart weftd")
    ct.add_argument("action", choices=["start", "stop", "kill", "restart"])
    ct.set_defaults(func=cmd_controller)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except LabError as e:
        log(str(e))
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
