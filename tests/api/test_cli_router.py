# SPDX-License-Identifier: Apache-2.0
"""weftctl router: the common verbs, interfaces (add/remove subnet|port) and
static routes (set --route/--no-route, unset --route)."""

import pytest

from conftest import free_port
from test_cli import Cli, weftctl
from util import lst, network, port, show, subnet


@pytest.fixture
def cli(weftd):
    return Cli(weftd.url)


def test_router_verbs(cli, api):
    r = cli.json("router", "create", "r1", "--description", "d")
    assert r["name"] == "r1" and r["description"] == "d" and r["distributed"] is True
    out = cli.ok("router", "list")
    assert "r1" in out and r["id"] in out and "ACTIVE" in out
    assert cli.json("router", "show", "r1")["id"] == r["id"]
    u = cli.json("router", "update", "r1", "--name", "r2", "--admin-state", "down")
    assert u["name"] == "r2" and u["admin_state_up"] is False
    cli.ok("router", "delete", "r2")
    assert lst(api, "routers") == []


def test_router_interfaces_and_routes(cli, api):
    n = network(api, name="a")
    s = subnet(api, n, "10.0.0.0/24", name="sa")
    n2 = network(api, name="b")
    subnet(api, n2, "10.1.0.0/24", name="sb")
    p = port(api, n2, name="link", fixed_ips=[{"ip_address": "10.1.0.9"}])
    r = cli.json("router", "create", "r")

    info = cli.json("router", "add", "subnet", "r", "sa")
    assert info["subnet_id"] == s["id"] and info["id"] == r["id"]
    gw = show(api, "ports", info["port_id"])
    assert gw["device_owner"] == "network:router_interface"
    info = cli.json("router", "add", "port", "r", "link")
    assert info["port_id"] == p["id"]

    x = cli.json("router", "set", "r", "--route", "destination=10.8.0.0/16,gateway=10.0.0.5",
                 "--route", "destination=10.9.0.0/16,gateway=10.1.0.7")
    assert x["routes"] == [{"destination": "10.8.0.0/16", "nexthop": "10.0.0.5"},
                           {"destination": "10.9.0.0/16", "nexthop": "10.1.0.7"}]
    x = cli.json("router", "unset", "r", "--route", "destination=10.8.0.0/16,gateway=10.0.0.5")
    assert x["routes"] == [{"destination": "10.9.0.0/16", "nexthop": "10.1.0.7"}]
    # The interface a route needs stays.
    err = cli.fails("router", "remove", "port", "r", "link")
    assert "RouterInterfaceInUseByRoute" in err
    x = cli.json("router", "set", "r", "--no-route")
    assert x["routes"] == []
    x = cli.json("router", "set", "r", "--no-route", "--route",
                 "destination=10.7.0.0/16,gateway=10.0.0.5")
    assert x["routes"] == [{"destination": "10.7.0.0/16", "nexthop": "10.0.0.5"}]
    err = cli.fails("router", "set", "r", "--route", "destination=10.6.0.0/16,gateway=192.0.2.1")
    assert "InvalidRoutes" in err
    cli.ok("router", "set", "r", "--no-route")

    cli.ok("router", "remove", "port", "r", "link")
    assert lst(api, "ports", params={"name": "link"}) == []
    err = cli.fails("router", "delete", "r")
    assert "RouterInUse" in err
    cli.ok("router", "remove", "subnet", "r", s["id"])
    cli.ok("router", "delete", "r")
    err = cli.fails("router", "add", "subnet", "r", "sa")
    assert "no router named or with id r" in err


@pytest.mark.parametrize("args,words", [
    (["router", "add", "network", "r", "x"], ["neither subnet nor port"]),
    (["router", "add", "subnet", "r"], ["missing"]),
    (["router", "remove", "subnet", "r", "s", "t"], ["unexpected argument"]),
    (["router", "set", "r"], ["nothing to change"]),
    (["router", "set", "r", "--route", "10.0.0.0/8,10.0.0.1"], ["--route takes"]),
    (["router", "set", "r", "--route", "destination=10.0.0.0/8"], ["--route takes"]),
    (["router", "unset", "r"], ["nothing to change"]),
])
def test_router_usage_errors(args, words):
    r = weftctl(*args, url="http://127.0.0.1:%d" % free_port())
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("weftctl: error: ") and r.stderr.count("\n") == 1
    for word in words:
        assert word in r.stderr


def test_router_help():
    r = weftctl("--help")
    assert "router" in r.stdout
    r = weftctl("router", "--help")
    assert r.returncode == 0
    for word in ("add subnet|port ROUTER SUBNET|PORT", "remove subnet|port ROUTER SUBNET|PORT",
                 "set ROUTER", "unset ROUTER", "create NAME"):
        assert word in r.stdout, r.stdout
    r = weftctl("router", "set", "--help")
    assert r.returncode == 0 and "--route destination=CIDR,gateway=IP" in r.stdout
    assert "--no-route" in r.stdout
    r = weftctl("router", "add", "--help")
    assert r.returncode == 0 and r.stdout.startswith(
        "Usage: weftctl router add subnet|port ROUTER SUBNET|PORT")
