# SPDX-License-Identifier: Apache-2.0
"""weftctl security group, security group rule, the security groups of ports
(port create/update --security-group, --no-security-group, --enable- and
--disable-port-security) and conntrack list, run against a real weftd
(docs/security-groups.md, docs/weftctl.md). Conntrack entries come from a
fake agent on weftd's southbound socket."""

import threading
import time

import pytest

from conftest import Api, Weftd, free_port
from test_cli import Cli, fields, table, weftctl
from test_southbound import FakeAgent
from util import lst, network, subnet


@pytest.fixture
def cli(weftd):
    return Cli(weftd.url)


def groups(api, **params):
    """The security groups weftd lists (the URL has a hyphen, the key an
    underscore)."""
    r = api.get("/v2.0/security-groups", params=params)
    assert r.status_code == 200, r.text
    return r.json()["security_groups"]


def group(api, group_id):
    r = api.get("/v2.0/security-groups/" + group_id)
    assert r.status_code == 200, r.text
    return r.json()["security_group"]


def rules_of(api, group_id):
    r = api.get("/v2.0/security-group-rules", params={"security_group_id": group_id})
    assert r.status_code == 200, r.text
    return r.json()["security_group_rules"]


def rule(api, rule_id):
    r = api.get("/v2.0/security-group-rules/" + rule_id)
    assert r.status_code == 200, r.text
    return r.json()["security_group_rule"]


# Security groups


def test_group_verbs(cli, api):
    g = cli.json("security", "group", "create", "web", "--description", "the web tier")
    assert g["name"] == "web" and g["description"] == "the web tier"
    assert g["stateful"] is True
    # A new group has Neutron's two egress rules.
    assert sorted((r["direction"], r["ethertype"]) for r in g["security_group_rules"]) == \
        [("egress", "IPv4"), ("egress", "IPv6")]

    rows = table(cli.ok("security", "group", "list"))
    assert rows[0] == ["ID", "Name", "Description", "Project"]
    names = {r[1]: r for r in rows[1:]}
    # Listing made the project's default group.
    assert set(names) == {"default", "web"}, rows
    assert names["web"][:3] == [g["id"], "web", "the web tier"]
    assert [x["id"] for x in cli.json("security", "group", "list", "--name", "web")] == [g["id"]]
    value = cli.ok("security", "group", "list", "--name", "web", "-o", "value")
    assert value.split()[:2] == [g["id"], "web"]

    shown = fields(cli.ok("security", "group", "show", "web"))
    assert shown["id"] == g["id"] and shown["stateful"] == "true"
    assert cli.json("security", "group", "show", g["id"])["name"] == "web"

    u = cli.json("security", "group", "update", "web", "--name", "www", "--description", "d2")
    assert u["name"] == "www" and u["description"] == "d2"
    assert group(api, g["id"])["name"] == "www"

    cli.ok("security", "group", "delete", "www")
    assert [x["name"] for x in groups(api)] == ["default"]
    err = cli.fails("security", "group", "show", "www")
    assert err == "weftctl: error: no security group named or with id www\n"


def test_group_refusals(cli, api):
    err = cli.fails("security", "group", "create", "default")
    assert "(HTTP 400" in err
    cli.json("security", "group", "create", "a")
    err = cli.fails("security", "group", "update", "a", "--name", "default")
    assert "(HTTP 400" in err
    err = cli.fails("security", "group", "update", "default", "--name", "other")
    assert "SecurityGroupCannotUpdateDefault" in err
    # Deleting several: each one that can be is deleted, the exit is 1.
    err = cli.fails("security", "group", "delete", "nope", "a")
    assert "no security group named or with id nope" in err
    assert [x["name"] for x in groups(api)] == ["default"]


def test_group_name_of_the_project(cli):
    # An admin sees every project's default group: --project says which.
    a = cli.json("security", "group", "list", "--project", "pa")
    b = cli.json("security", "group", "list", "--project", "pb")
    da = [g for g in a if g["name"] == "default" and g["project_id"] == "pa"]
    db = [g for g in b if g["name"] == "default" and g["project_id"] == "pb"]
    assert len(da) == 1 and len(db) == 1, (a, b)
    assert cli.json("security", "group", "show", "default", "--project", "pa")["id"] == da[0]["id"]
    assert cli.json("security", "group", "show", "default", "--project", "pb")["id"] == db[0]["id"]
    err = cli.fails("security", "group", "show", "default")
    assert "several security groups are named default; use the id" in err


# Rules


def test_rule_create_forms(cli, api):
    web = cli.json("security", "group", "create", "web")
    lbg = cli.json("security", "group", "create", "lb")

    r = cli.json("security", "group", "rule", "create", "web", "--protocol", "tcp",
                 "--dst-port", "22")
    assert r["security_group_id"] == web["id"]
    assert r["direction"] == "ingress" and r["ethertype"] == "IPv4"
    assert r["protocol"] == "tcp"
    assert (r["port_range_min"], r["port_range_max"]) == (22, 22)
    assert r["remote_ip_prefix"] is None and r["remote_group_id"] is None

    r = cli.json("security", "group", "rule", "create", web["id"], "--protocol", "udp",
                 "--dst-port", "137:139", "--remote-ip", "10.1.2.3/8", "--description", "smb")
    assert (r["port_range_min"], r["port_range_max"]) == (137, 139)
    assert r["remote_ip_prefix"] == "10.1.2.3/8" and r["normalized_cidr"] == "10.0.0.0/8"
    assert r["description"] == "smb"

    lb = cli.json("security", "group", "rule", "create", "web", "--protocol", "6",
                  "--dst-port", "8080", "--remote-group", "lb")
    assert lb["protocol"] == "6"
    assert lb["remote_group_id"] == lbg["id"]

    r = cli.json("security", "group", "rule", "create", "web", "--protocol", "any",
                 "--direction", "egress", "--ethertype", "IPv6", "--remote-ip", "2001:db8::/32")
    assert r["protocol"] is None
    assert r["direction"] == "egress" and r["ethertype"] == "IPv6"

    r = cli.json("security", "group", "rule", "create", "web", "--protocol", "icmp",
                 "--dst-port", "8:0")
    assert (r["protocol"], r["port_range_min"], r["port_range_max"]) == ("icmp", 8, 0)

    # The rules are in the group's list and each one is shown by id.
    mine = rules_of(api, web["id"])
    assert len(mine) == 2 + 5
    listed = cli.json("security", "group", "rule", "list", "--group", "web")
    assert sorted(x["id"] for x in listed) == sorted(x["id"] for x in mine)
    ingress = cli.json("security", "group", "rule", "list", "--group", "web",
                       "--direction", "ingress")
    assert len(ingress) == 4 and all(x["direction"] == "ingress" for x in ingress)
    assert cli.json("security", "group", "rule", "show", lb["id"]) == \
        rule(api, lb["id"])

    rows = table(cli.ok("security", "group", "rule", "list", "--group", "web"))
    assert rows[0] == ["ID", "Group", "Direction", "Ethertype", "Protocol", "Port range",
                       "Remote IP", "Remote group"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[lb["id"]][1:] == [web["id"], "ingress", "IPv4", "6", "8080:8080", "",
                                   lb["remote_group_id"]]
    assert any(row[5] == "137:139" and row[6] == "10.1.2.3/8" for row in rows[1:]), rows
    # An egress rule to anything shows empty cells, not "null".
    assert any(row[2] == "egress" and row[4:] == ["", "", "", ""] for row in rows[1:]), rows

    cli.ok("security", "group", "rule", "delete", lb["id"])
    assert lb["id"] not in [x["id"] for x in rules_of(api, web["id"])]
    err = cli.fails("security", "group", "rule", "show", lb["id"])
    assert err == "weftctl: error: no security group rule with id %s\n" % lb["id"]


def test_rule_errors_from_weftd(cli, api):
    cli.json("security", "group", "create", "g")
    cli.json("security", "group", "rule", "create", "g", "--protocol", "tcp", "--dst-port", "80")
    for args, word in (
            (["--protocol", "tcp", "--dst-port", "80"], "SecurityGroupRuleExists"),
            (["--protocol", "bogus"], "SecurityGroupRuleInvalidProtocol"),
            (["--protocol", "tcp", "--dst-port", "90:80"], "SecurityGroupInvalidPortRange"),
            (["--protocol", "icmp", "--dst-port", "300"], "SecurityGroupInvalidIcmpValue"),
            (["--dst-port", "80"], "(HTTP 400"),
            (["--remote-ip", "10.0.0.0/33"], "(HTTP 400"),
            (["--remote-ip", "2001:db8::/32"], "SecurityGroupRuleParameterConflict")):
        err = cli.fails("security", "group", "rule", "create", "g", *args)
        assert word in err, (args, err)
    err = cli.fails("security", "group", "rule", "create", "nope", "--protocol", "tcp")
    assert err == "weftctl: error: no security group named or with id nope\n"
    err = cli.fails("security", "group", "rule", "create", "g", "--remote-group", "nope")
    assert "no security group named or with id nope" in err
    err = cli.fails("security", "group", "rule", "delete", "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert "no security group rule with id" in err


# Ports and their groups


def test_port_security_groups(cli, api):
    net = network(api, name="n")
    subnet(api, net, "10.0.0.0/24")
    web = cli.json("security", "group", "create", "web")
    db = cli.json("security", "group", "create", "db")
    default = [g for g in groups(api) if g["name"] == "default"][0]

    p = cli.json("port", "create", "plain", "--network", "n")
    assert p["security_groups"] == [default["id"]]
    assert p["port_security_enabled"] is True

    p = cli.json("port", "create", "p", "--network", "n", "--security-group", "web",
                 "--security-group", db["id"])
    assert sorted(p["security_groups"]) == sorted([web["id"], db["id"]])
    err = cli.fails("security", "group", "delete", "web")
    assert "SecurityGroupInUse" in err

    # An update replaces the list.
    p = cli.json("port", "update", "p", "--security-group", "db")
    assert p["security_groups"] == [db["id"]]
    err = cli.fails("port", "update", "p", "--disable-port-security")
    assert "PortSecurityPortHasSecurityGroup" in err
    p = cli.json("port", "update", "p", "--no-security-group", "--disable-port-security")
    assert p["security_groups"] == [] and p["port_security_enabled"] is False
    p = cli.json("port", "update", "p", "--enable-port-security", "--security-group", "web")
    assert p["port_security_enabled"] is True and p["security_groups"] == [web["id"]]

    p = cli.json("port", "create", "bare", "--network", "n", "--no-security-group")
    assert p["security_groups"] == []
    p = cli.json("port", "create", "open", "--network", "n", "--disable-port-security")
    assert p["port_security_enabled"] is False and p["security_groups"] == []
    err = cli.fails("port", "create", "x", "--network", "n", "--disable-port-security",
                    "--security-group", "web")
    assert "(HTTP 400" in err
    err = cli.fails("port", "create", "x", "--network", "n", "--security-group", "nope")
    assert err == "weftctl: error: no security group named or with id nope\n"
    assert lst(api, "ports", params={"name": "x"}) == []


# conntrack list


ENTRIES = [
    {"port_id": None, "direction": "ingress", "protocol": "tcp", "src": "10.0.0.3",
     "dst": "10.0.0.4", "sport": 40000, "dport": 22, "state": "ESTABLISHED",
     "expires_in": 86399, "packets_orig": 5, "bytes_orig": 300, "packets_reply": 4,
     "bytes_reply": 260},
    {"port_id": None, "direction": "egress", "protocol": "icmp", "src": "10.0.0.4",
     "dst": "10.0.0.9", "icmp_id": 77, "state": "ESTABLISHED", "expires_in": 29,
     "packets_orig": 1, "bytes_orig": 84, "packets_reply": 1, "bytes_reply": 84},
]


@pytest.fixture
def sb(tmp_path):
    d = Weftd(tmp_path, extra_args=["--agent-down-time", "5"]).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())


def serve_conntrack(agent, reply):
    """Answers one conntrack_request in a thread with reply(request); the
    request is stored in the returned holder."""
    seen = {}

    def run():
        req = agent.next(types=("conntrack_request",), timeout=10)
        seen["request"] = req
        agent.send(reply(req))
        end = time.time() + 0.5
        while time.time() < end:
            try:
                agent.read(timeout=0.2)
            except TimeoutError:
                pass
    t = threading.Thread(target=run)
    t.start()
    return t, seen


def test_conntrack_list(sb):
    api = Api(sb.url)
    cli = Cli(sb.url)
    net = network(api, name="n")
    subnet(api, net, "10.0.0.0/24")
    port = api.create("port", network_id=net["id"], name="vm4", **{"binding:host_id": "h1"})
    entries = [dict(e, port_id=port["id"]) for e in ENTRIES]
    agent = FakeAgent(sb, "h1")
    agent.hello()
    try:
        def answer(req):
            return {"type": "conntrack_reply", "request_id": req["request_id"],
                    "entries": entries, "truncated": False}

        t, seen = serve_conntrack(agent, answer)
        out = cli.ok("conntrack", "list", "--host", "h1")
        t.join()
        assert "port_id" not in seen["request"], seen
        rows = table(out)
        assert rows[0] == ["Port", "Direction", "Protocol", "Source", "Sport", "Destination",
                           "Dport", "ICMP id", "State", "Expires in", "Packets orig/reply",
                           "Bytes orig/reply"]
        assert rows[1] == [port["id"], "ingress", "tcp", "10.0.0.3", "40000", "10.0.0.4", "22",
                           "", "ESTABLISHED", "86399", "5/4", "300/260"]
        assert rows[2] == [port["id"], "egress", "icmp", "10.0.0.4", "", "10.0.0.9", "", "77",
                           "ESTABLISHED", "29", "1/1", "84/84"]

        # By port name; -o json is the entries as weftd answered them.
        t, seen = serve_conntrack(agent, answer)
        got = cli.json("conntrack", "list", "--host", "h1", "--port", "vm4")
        t.join()
        assert seen["request"]["port_id"] == port["id"]
        assert got == entries

        # More than the agent sends: said on stderr.
        t, seen = serve_conntrack(agent, lambda req: dict(answer(req), truncated=True))
        r = cli.run("conntrack", "list", "--host", "h1")
        t.join()
        assert r.returncode == 0 and len(table(r.stdout)) == 3
        assert "only the first 2 conntrack entries" in r.stderr

        # The agent fails to read its table.
        t, seen = serve_conntrack(agent, lambda req: {"type": "conntrack_reply",
                                                      "request_id": req["request_id"],
                                                      "error": "cannot read the ct map"})
        err = cli.fails("conntrack", "list", "--host", "h1")
        t.join()
        assert "(HTTP 409" in err
    finally:
        agent.close()

    err = cli.fails("conntrack", "list", "--host", "h9")
    assert "AgentNotConnected" in err
    err = cli.fails("conntrack", "list", "--host", "h1", "--port", "nope")
    assert err == "weftctl: error: no port named or with id nope\n"


# Usage errors and help


@pytest.mark.parametrize("args,words", [
    (["security"], ["unknown command 'security'", "security group"]),
    (["security", "group"], ["missing command after 'security group'",
                             "weftctl security group --help"]),
    (["security", "group", "create"], ["missing NAME"]),
    (["security", "group", "update", "g"], ["nothing to change"]),
    (["security", "group", "frobnicate"], ["unknown command 'frobnicate' for security groups"]),
    (["security", "group", "rule", "create"], ["missing GROUP"]),
    (["security", "group", "rule", "create", "g", "--direction", "up"],
     ["--direction takes ingress|egress, not 'up'"]),
    (["security", "group", "rule", "create", "g", "--ethertype", "ipx"], ["--ethertype takes IPv4|IPv6"]),
    (["security", "group", "rule", "create", "g", "--dst-port", "http"],
     ["--dst-port takes PORT[:PORT], not 'http'"]),
    (["security", "group", "rule", "create", "g", "--dst-port", "1:"], ["--dst-port takes"]),
    (["security", "group", "rule", "create", "g", "--remote-ip", "10.0.0.0/8",
      "--remote-group", "g"], ["--remote-ip and --remote-group exclude each other"]),
    (["security", "group", "rule", "update", "r", "--description", "x"],
     ["cannot be changed: delete the rule and create another"]),
    (["security", "group", "rule", "show"], ["missing RULE"]),
    (["port", "create", "p", "--network", "n", "--security-group", "a", "--no-security-group"],
     ["--no-security-group and --security-group exclude each other"]),
    (["port", "update", "p", "--security-group"], ["'--security-group' needs an argument"]),
    (["conntrack", "list"], ["missing --host HOST", "weftctl conntrack list --help"]),
    (["conntrack", "show", "x"], ["only listed"]),
    (["conntrack"], ["missing command after 'conntrack' (list)"]),
])
def test_usage_errors(args, words):
    """Usage errors exit with 2 before any request: the URL points nowhere."""
    r = weftctl(*args, url="http://127.0.0.1:%d" % free_port())
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("weftctl: error: ") and r.stderr.count("\n") == 1, r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


def test_help():
    r = weftctl("--help")
    for noun in ("security group ", "security group rule ", "conntrack "):
        assert noun in r.stdout, r.stdout
    r = weftctl("security", "group", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: weftctl security group COMMAND")
    for line in ("create NAME", "show GROUP", "update GROUP", "delete GROUP..."):
        assert line in r.stdout, r.stdout
    r = weftctl("security", "group", "rule", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage: weftctl security group rule COMMAND")
    assert "create GROUP" in r.stdout and "show RULE" in r.stdout
    assert "update" not in r.stdout.split("Global options")[0]
    r = weftctl("security", "group", "rule", "create", "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: weftctl security group rule create GROUP [options]")
    for option in ("--direction ingress|egress", "--ethertype IPv4|IPv6",
                   "--protocol NAME|NUMBER|any", "--dst-port PORT[:PORT]", "--remote-ip CIDR",
                   "--remote-group GROUP", "--description TEXT"):
        assert option in r.stdout, r.stdout
    r = weftctl("security", "group", "rule", "update", "--help")
    assert r.returncode == 0 and "cannot be changed" in r.stdout
    r = weftctl("port", "update", "--help")
    for option in ("--security-group GROUP", "--no-security-group", "--enable-port-security",
                   "--disable-port-security"):
        assert option in r.stdout, r.stdout
    r = weftctl("conntrack", "list", "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: weftctl conntrack list --host HOST [options]")
    assert "--port PORT" in r.stdout
