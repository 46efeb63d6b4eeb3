# SPDX-License-Identifier: Apache-2.0
"""Tests of weftctl, the command-line client, run as a subprocess against a
real weftd. They check what a user sees: the exit status, the tables, the
JSON of -o json, and the messages on stderr."""

import json
import os
import subprocess

import pytest

from conftest import WEFTCTL, Weftd, free_port

NOUNS = ["network", "subnet", "port", "agent"]
VERBS = ["create", "list", "show", "update", "delete"]


def weftctl(*args, url=None, env=None):
    """Runs weftctl with 'args' (and --url 'url' first when given) in an
    environment without WEFT_* variables but those of 'env'."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_")}
    environ.update(env or {})
    cmd = [WEFTCTL] + (["--url", url] if url else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=environ,
                          timeout=60)


class Cli:
    """weftctl bound to one weftd."""

    def __init__(self, url):
        self.url = url

    def run(self, *args, **kw):
        return weftctl(*args, url=self.url, **kw)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        assert r.stderr == "", r.stderr
        return r.stdout

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "-o", "json", **kw))

    def fails(self, *args, status=1, **kw):
        """Runs a command that must fail with exit 'status' and a message on
        stderr; returns that message."""
        r = self.run(*args, **kw)
        assert r.returncode == status, (args, r.returncode, r.stdout, r.stderr)
        assert r.stderr.startswith("weftctl: error: "), r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
        return r.stderr


@pytest.fixture
def cli(weftd):
    return Cli(weftd.url)


def table(text):
    """Parses a weftctl table into a list of rows (lists of cells), the
    header first. The columns are found from the dashes under the header."""
    lines = text.rstrip("\n").split("\n")
    assert set(lines[1]) <= {"-", " "}, lines
    spans, start = [], 0
    for dashes in lines[1].split("  "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    rows = [lines[0]] + lines[2:]
    return [[row[a:b].strip() for a, b in spans[:-1]] + [row[spans[-1][0]:].strip()]
            for row in rows]


def fields(text):
    """Parses a Field/Value table into a dict."""
    rows = table(text)
    assert rows[0] == ["Field", "Value"]
    return {f: v for f, v in rows[1:]}


# Networks

def test_network_create_show_list(cli, api):
    out = cli.ok("network", "create", "blue", "--mtu", "1400",
                 "--description", "the blue one")
    shown = fields(out)
    assert shown["name"] == "blue"
    assert shown["mtu"] == "1400"
    assert shown["description"] == "the blue one"
    assert shown["admin_state_up"] == "true"
    net_id = shown["id"]
    assert api.get("/v2.0/networks/" + net_id).json()["network"]["mtu"] == 1400

    by_name = cli.json("network", "show", "blue")
    by_id = cli.json("network", "show", net_id)
    assert by_name == by_id
    assert by_name["provider:segmentation_id"] == int(shown["provider:segmentation_id"])

    rows = table(cli.ok("network", "list"))
    assert rows[0] == ["ID", "Name", "VNI", "MTU", "Subnets", "Shared"]
    assert [net_id, "blue", str(by_id["provider:segmentation_id"]), "1400", "",
            "false"] in rows[1:]


def test_network_create_options(cli):
    net = cli.json("network", "create", "plain", "--shared",
                   "--disable-port-security", "--vni", "4242")
    assert net["shared"] is True
    assert net["port_security_enabled"] is False
    assert net["provider:segmentation_id"] == 4242
    assert net["provider:network_type"] == "vxlan"
    err = cli.fails("network", "create", "again", "--vni", "4242")
    assert "(HTTP 409 SegmentationIdInUse)" in err


def test_network_list_filter_and_formats(cli):
    a = cli.json("network", "create", "a")
    cli.json("network", "create", "b")
    listed = cli.json("network", "list")
    assert {n["name"] for n in listed} == {"a", "b"}
    assert [n["id"] for n in cli.json("network", "list", "--name", "a")] == [a["id"]]
    # Global options go before the noun as well as after the verb.
    assert json.loads(cli.ok("-o", "json", "network", "list", "--name", "a")) == \
        cli.json("network", "list", "--name", "a")
    value = cli.ok("network", "list", "--name", "a", "-o", "value")
    assert value.split()[:2] == [a["id"], "a"]
    empty = table(cli.ok("network", "list", "--name", "nothing"))
    assert len(empty) == 1
    assert cli.json("network", "list", "--name", "nothing") == []


def test_network_update(cli, api):
    net = cli.json("network", "create", "red")
    out = cli.ok("network", "update", "red", "--name", "green", "--mtu", "1300",
                 "--description", "now green", "--admin-state", "down", "--shared")
    shown = fields(out)
    assert shown["name"] == "green"
    assert shown["mtu"] == "1300"
    assert shown["admin_state_up"] == "false"
    assert shown["shared"] == "true"
    assert shown["revision_number"] == "2"
    updated = cli.json("network", "update", net["id"], "--no-shared",
                       "--admin-state", "up")
    assert updated["shared"] is False
    assert updated["admin_state_up"] is True
    assert api.get("/v2.0/networks/" + net["id"]).json()["network"]["name"] == "green"


def test_network_delete(cli, api):
    one = cli.json("network", "create", "one")
    two = cli.json("network", "create", "two")
    three = cli.json("network", "create", "three")
    assert cli.ok("network", "delete", "one", two["id"]) == ""
    # The unknown name fails the command but 'three' is deleted anyway.
    err = cli.fails("network", "delete", "nowhere", "three")
    assert "no network named or with id nowhere" in err
    for net in (one, two, three):
        assert api.get("/v2.0/networks/" + net["id"]).status_code == 404
    err = cli.fails("network", "show", "one")
    assert err == "weftctl: error: no network named or with id one\n"


def test_network_in_use(cli):
    cli.ok("network", "create", "busy")
    cli.ok("port", "create", "p", "--network", "busy")
    err = cli.fails("network", "delete", "busy")
    assert "(HTTP 409 NetworkInUse)" in err


def test_ambiguous_name(cli):
    first = cli.json("network", "create", "twin")
    cli.json("network", "create", "twin")
    err = cli.fails("network", "show", "twin")
    assert err == "weftctl: error: several networks are named twin; use the id\n"
    assert cli.json("network", "show", first["id"])["id"] == first["id"]


# Subnets

def test_subnet_create_show_list(cli, api):
    net = cli.json("network", "create", "n")
    out = cli.ok("subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24",
                 "--pool", "10.0.0.10,10.0.0.20", "--pool", "10.0.0.30,10.0.0.40",
                 "--dns", "10.0.0.2", "--dns", "10.0.0.3",
                 "--route", "10.1.0.0/16,10.0.0.254", "--no-dhcp")
    shown = fields(out)
    assert shown["network_id"] == net["id"]
    assert shown["dns_nameservers"] == "10.0.0.2, 10.0.0.3"
    subnet = api.get("/v2.0/subnets/" + shown["id"]).json()["subnet"]
    assert subnet["ip_version"] == 4
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["enable_dhcp"] is False
    assert subnet["allocation_pools"] == [{"start": "10.0.0.10", "end": "10.0.0.20"},
                                          {"start": "10.0.0.30", "end": "10.0.0.40"}]
    assert subnet["host_routes"] == [{"destination": "10.1.0.0/16",
                                      "nexthop": "10.0.0.254"}]
    assert json.loads(shown["allocation_pools"]) == subnet["allocation_pools"]

    other = cli.json("network", "create", "other")
    cli.ok("subnet", "create", "s2", "--network", other["id"], "--cidr", "10.0.0.0/24",
           "--gateway", "none")
    assert cli.json("subnet", "show", "s2")["gateway_ip"] is None

    rows = table(cli.ok("subnet", "list", "--network", "n"))
    assert rows == [["ID", "Name", "Network", "CIDR", "Gateway", "DHCP"],
                    [subnet["id"], "s", net["id"], "10.0.0.0/24", "10.0.0.1", "false"]]
    assert len(cli.json("subnet", "list")) == 2
    assert cli.json("network", "show", "n")["subnets"] == [subnet["id"]]


def test_subnet_update_delete(cli, api):
    cli.ok("network", "create", "n")
    sub = cli.json("subnet", "create", "s", "--network", "n", "--cidr", "192.168.5.0/24",
                   "--pool", "192.168.5.10,192.168.5.100", "--no-dhcp")
    updated = cli.json("subnet", "update", "s", "--name", "t", "--gateway", "none",
                       "--dns", "192.168.5.53", "--dhcp")
    assert updated["name"] == "t"
    assert updated["gateway_ip"] is None
    assert updated["dns_nameservers"] == ["192.168.5.53"]
    assert updated["enable_dhcp"] is True
    updated = cli.json("subnet", "update", sub["id"], "--gateway", "192.168.5.254",
                       "--no-dns", "--no-dhcp")
    assert updated["gateway_ip"] == "192.168.5.254"
    assert updated["dns_nameservers"] == []
    assert updated["enable_dhcp"] is False
    cli.ok("subnet", "delete", "t")
    assert api.get("/v2.0/subnets/" + sub["id"]).status_code == 404


def test_subnet_bad_cidr(cli, api):
    net = cli.json("network", "create", "n")
    expected = api.post("/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.1/24"}})
    assert expected.status_code == 400
    message = expected.json()["NeutronError"]["message"]
    err = cli.fails("subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.1/24")
    assert message in err
    assert "(HTTP 400 " in err


def test_subnet_unknown_network(cli):
    err = cli.fails("subnet", "create", "s", "--network", "nope", "--cidr", "10.0.0.0/24")
    assert err == "weftctl: error: no network named or with id nope\n"


# Ports

def test_port_create_show_list(cli, api):
    net = cli.json("network", "create", "n")
    sub = cli.json("subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24")
    out = cli.ok("port", "create", "vm1", "--network", "n",
                 "--fixed-ip", "subnet=s,ip=10.0.0.5", "--mac", "fa:16:3e:00:00:05",
                 "--device-id", "vm-1", "--device-owner", "compute:nova",
                 "--allowed-address", "10.0.0.100",
                 "--allowed-address", "10.0.0.101,fa:16:3e:00:00:99")
    shown = fields(out)
    port = api.get("/v2.0/ports/" + shown["id"]).json()["port"]
    assert port["network_id"] == net["id"]
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.5"}]
    assert port["mac_address"] == "fa:16:3e:00:00:05"
    assert port["device_id"] == "vm-1"
    assert port["device_owner"] == "compute:nova"
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.100", "mac_address": "fa:16:3e:00:00:05"},
        {"ip_address": "10.0.0.101", "mac_address": "fa:16:3e:00:00:99"}]
    assert cli.json("port", "show", "vm1") == cli.json("port", "show", port["id"])

    auto = cli.json("port", "create", "vm2", "--network", net["id"], "--host", "hv1")
    assert auto["binding:host_id"] == "hv1"
    assert len(auto["fixed_ips"]) == 1
    rows = table(cli.ok("port", "list", "--network", "n"))
    assert rows[0] == ["ID", "Name", "Network", "MAC", "Fixed IPs", "Host", "Status"]
    assert [port["id"], "vm1", net["id"], "fa:16:3e:00:00:05", "10.0.0.5", "",
            "DOWN"] in rows[1:]
    assert len(rows) == 3
    assert [p["id"] for p in cli.json("port", "list", "--host", "hv1")] == [auto["id"]]


def test_port_fixed_ip_forms(cli):
    cli.ok("network", "create", "n")
    cli.ok("subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24")
    none = cli.json("port", "create", "p0", "--network", "n", "--no-fixed-ips",
                    "--disable-port-security")
    assert none["fixed_ips"] == []
    assert none["port_security_enabled"] is False
    ip_only = cli.json("port", "create", "p1", "--network", "n", "--fixed-ip", "ip=10.0.0.7")
    assert [f["ip_address"] for f in ip_only["fixed_ips"]] == ["10.0.0.7"]
    subnet_only = cli.json("port", "create", "p2", "--network", "n",
                           "--fixed-ip", "subnet=s")
    assert len(subnet_only["fixed_ips"]) == 1
    err = cli.fails("port", "create", "p3", "--network", "n", "--fixed-ip", "ip=10.0.0.7")
    assert "(HTTP 409 IpAddressAlreadyAllocated)" in err
    assert "10.0.0.7" in err
    err = cli.fails("port", "create", "p3", "--network", "n", "--fixed-ip", "subnet=zz")
    assert "no subnet named or with id zz" in err


def test_port_fixed_ip_subnet_of_the_port_network(cli):
    """A subnet name is looked for in the port's network only, so the same
    name on two networks is no ambiguity."""
    for net, cidr in (("a", "10.0.0.0/24"), ("b", "10.0.1.0/24")):
        cli.ok("network", "create", net)
        cli.ok("subnet", "create", "lan", "--network", net, "--cidr", cidr)
    port = cli.json("port", "create", "p", "--network", "b", "--fixed-ip", "subnet=lan")
    assert port["fixed_ips"][0]["ip_address"].startswith("10.0.1.")
    port = cli.json("port", "update", "p", "--fixed-ip", "subnet=lan,ip=10.0.1.99")
    assert port["fixed_ips"][0]["ip_address"] == "10.0.1.99"


def test_port_update_delete(cli, api):
    cli.ok("network", "create", "n")
    cli.ok("subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24")
    port = cli.json("port", "create", "p", "--network", "n")
    updated = cli.json("port", "update", "p", "--name", "q", "--host", "hv2",
                       "--mac", "fa:16:3e:aa:bb:cc", "--admin-state", "down",
                       "--fixed-ip", "subnet=s,ip=10.0.0.9")
    assert updated["name"] == "q"
    assert updated["binding:host_id"] == "hv2"
    assert updated["mac_address"] == "fa:16:3e:aa:bb:cc"
    assert updated["admin_state_up"] is False
    assert [f["ip_address"] for f in updated["fixed_ips"]] == ["10.0.0.9"]
    cli.ok("port", "delete", port["id"])
    assert api.get("/v2.0/ports/" + port["id"]).status_code == 404
    err = cli.fails("port", "delete", "q")
    assert err == "weftctl: error: no port named or with id q\n"


# Agents

def test_agent_create_refused(cli):
    err = cli.fails("agent", "create", "hv1", status=2)
    assert "registers itself" in err


def test_agent_list_show(cli):
    rows = table(cli.ok("agent", "list"))
    assert rows == [["ID", "Host", "Type", "Gateway", "Slot", "Alive", "Admin state"]]
    assert cli.json("agent", "list") == []
    err = cli.fails("agent", "show", "hv9")
    assert err == "weftctl: error: no agent with host or id hv9\n"
    err = cli.fails("agent", "update", "hv9", "--admin-state", "down")
    assert "no agent with host or id hv9" in err


# Errors, help and the environment

@pytest.mark.parametrize("args, words", [
    (["frobnicate"], ["unknown command 'frobnicate'", "weftctl --help"]),
    (["network", "frobnicate"], ["unknown command 'frobnicate'", "weftctl network --help"]),
    (["network"], ["missing command", "weftctl network --help"]),
    (["network", "create"], ["missing NAME", "weftctl network create --help"]),
    (["network", "create", "x", "--bogus"], ["unknown option '--bogus'"]),
    (["network", "create", "x", "--mtu"], ["'--mtu' needs an argument"]),
    (["network", "create", "x", "--mtu", "big"], ["--mtu takes a whole number"]),
    (["network", "create", "x", "y"], ["unexpected argument 'y'"]),
    (["network", "update", "x"], ["nothing to change"]),
    (["network", "update", "x", "--admin-state", "sideways"], ["takes up or down"]),
    (["network", "show"], ["missing NETWORK"]),
    (["subnet", "create", "s", "--cidr", "10.0.0.0/24"], ["missing --network NETWORK"]),
    (["subnet", "create", "s", "--network", "n"], ["missing --cidr CIDR"]),
    (["subnet", "create", "s", "--network", "n", "--cidr", "10.0.0.0/24",
      "--pool", "10.0.0.5"], ["--pool takes START,END"]),
    (["port", "create", "p", "--network", "n", "--fixed-ip", "address=1.2.3.4"],
     ["--fixed-ip takes subnet=SUBNET,ip=IP"]),
    (["port", "create", "p", "--network", "n", "--fixed-ip", "ip=10.0.0.1",
      "--no-fixed-ips"], ["exclude each other"]),
    (["-o", "yaml", "network", "list"], ["-o takes table, json or value"]),
    ([], ["Usage: weftctl"]),
])
def test_usage_errors(args, words):
    """Usage errors exit with 2 before any request: the URL points nowhere."""
    r = weftctl(*args, url="http://127.0.0.1:%d" % free_port())
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    for word in words:
        assert word in r.stderr


def test_help_everywhere():
    for args in ([], ["help"]):
        r = weftctl(*args, "--help")
        assert r.returncode == 0 and r.stderr == ""
        assert r.stdout.startswith("Usage: weftctl")
        for noun in NOUNS:
            assert noun in r.stdout
    for noun in NOUNS:
        for args in ([noun, "--help"], [noun, "-h"], [noun, "help"]):
            r = weftctl(*args)
            assert r.returncode == 0 and r.stderr == "", r.stderr
            assert r.stdout.startswith("Usage: weftctl %s COMMAND" % noun)
        for verb in VERBS:
            r = weftctl(noun, verb, "--help")
            assert r.returncode == 0 and r.stderr == "", (noun, verb, r.stderr)
            assert r.stdout.startswith("Usage: weftctl %s %s" % (noun, verb)), r.stdout
            assert "--url URL" in r.stdout
    r = weftctl("port", "create", "--help")
    for option in ("--network NETWORK", "--fixed-ip subnet=SUBNET,ip=IP", "--no-fixed-ips",
                   "--mac MAC", "--host HOST", "--allowed-address IP[,MAC]",
                   "--disable-port-security", "--device-id", "--device-owner"):
        assert option in r.stdout


def test_weftd_not_running():
    url = "http://127.0.0.1:%d" % free_port()
    r = weftctl("network", "list", url=url)
    assert r.returncode == 1
    assert r.stderr.startswith("weftctl: error: cannot reach weftd at %s: " % url)
    assert "Connection refused" in r.stderr
    assert "WEFT_URL" in r.stderr
    r = weftctl("network", "list", env={"WEFT_URL": url})
    assert r.returncode == 1 and ("cannot reach weftd at %s" % url) in r.stderr


def test_environment(weftd, api):
    env = {"WEFT_URL": weftd.url, "WEFT_PROJECT": "acme"}
    r = weftctl("network", "create", "envnet", "-o", "json", env=env)
    assert r.returncode == 0, r.stderr
    net = json.loads(r.stdout)
    assert net["project_id"] == "acme"
    r = weftctl("network", "list", "-o", "json", env={"WEFT_URL": weftd.url})
    assert [n["id"] for n in json.loads(r.stdout)] == [net["id"]]
    # The command line wins over the environment.
    r = weftctl("--project", "other", "network", "create", "flagnet", "-o", "json",
                env=env)
    assert json.loads(r.stdout)["project_id"] == "other"
    r = weftctl("network", "list", url=weftd.url,
                env={"WEFT_URL": "http://127.0.0.1:%d" % free_port()})
    assert r.returncode == 0, r.stderr


def test_token(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# tokens\nsecret-admin acme admin\nsecret-member beta member\n")
    d = Weftd(tmp_path, extra_args=["--auth", "token", "--token-file", str(tokens)]).start()
    try:
        cli = Cli(d.url)
        err = cli.fails("network", "list")
        assert "(HTTP 401" in err
        net = cli.json("--token", "secret-admin", "network", "create", "t")
        assert net["project_id"] == "acme"
        listed = cli.json("network", "list", env={"WEFT_TOKEN": "secret-member"})
        assert listed == []
        err = cli.fails("network", "show", "t", env={"WEFT_TOKEN": "secret-member"})
        assert "no network named or with id t" in err
    finally:
        assert d.stop() == 0, d.log()
