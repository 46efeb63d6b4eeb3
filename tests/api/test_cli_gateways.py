# SPDX-License-Identifier: Apache-2.0
"""weftctl for north-south (docs/gateways.md): network create --external,
router set/unset --external-gateway, floating ip create/list/show/set/unset/
delete, agent list with gateways and agent stats."""

import pytest

from test_cli import Cli, table
from test_external import PUBLIC_CIDR, api_sb, gateway, sb  # noqa: F401
from test_southbound import answer_stats
from util import lst, show


@pytest.fixture
def cli(weftd):
    return Cli(weftd.url)


def public(cli):
    ext = cli.json("network", "create", "public", "--external")
    cli.json("subnet", "create", "public-subnet", "--network", "public",
             "--cidr", PUBLIC_CIDR)
    return ext


def test_external_network(cli, api):
    ext = public(cli)
    assert ext["router:external"] is True
    cli.json("network", "create", "blue")
    assert [n["name"] for n in cli.json("network", "list", "--external")] == ["public"]
    assert cli.json("network", "update", "public", "--internal")["router:external"] is False
    assert cli.json("network", "update", "public", "--external")["router:external"] is True


def test_router_gateway(cli, api):
    ext = public(cli)
    cli.json("router", "create", "r")
    r = cli.json("router", "set", "r", "--external-gateway", "public",
                 "--fixed-ip", "subnet=public-subnet,ip-address=203.0.113.150",
                 "--disable-snat")
    info = r["external_gateway_info"]
    assert info["network_id"] == ext["id"] and info["enable_snat"] is False
    assert [f["ip_address"] for f in info["external_fixed_ips"]] == ["203.0.113.150"]
    r = cli.json("router", "set", "r", "--external-gateway", "public", "--enable-snat")
    assert r["external_gateway_info"]["enable_snat"] is True
    r = cli.json("router", "unset", "r", "--external-gateway")
    assert r["external_gateway_info"] is None
    # Usage errors.
    cli.fails("router", "set", "r", "--disable-snat", status=2)
    cli.fails("router", "set", "r", "--external-gateway", "public", "--route",
              "destination=10.9.0.0/16,gateway=10.0.0.5", status=2)
    err = cli.fails("router", "set", "r", "--external-gateway", "nosuch")
    assert "nosuch" in err


def test_floating_ips(cli, api):
    ext = public(cli)
    net = cli.json("network", "create", "blue")
    cli.json("subnet", "create", "blue-subnet", "--network", "blue",
             "--cidr", "10.0.0.0/24")
    cli.json("router", "create", "r")
    cli.json("router", "add", "subnet", "r", "blue-subnet")
    cli.json("router", "set", "r", "--external-gateway", "public")
    vm = cli.json("port", "create", "vm", "--network", "blue")
    f = cli.json("floating", "ip", "create", "public", "--floating-ip-address",
                 "203.0.113.120", "--port", "vm")
    assert f["floating_ip_address"] == "203.0.113.120" and f["port_id"] == vm["id"]
    assert f["floating_network_id"] == ext["id"] and f["status"] == "ACTIVE"
    rows = table(cli.ok("floating", "ip", "list"))
    assert rows[0] == ["ID", "Floating IP Address", "Fixed IP Address", "Port", "Router",
                       "Status", "Project"]
    assert rows[1][:4] == [f["id"], "203.0.113.120", vm["fixed_ips"][0]["ip_address"],
                           vm["id"]]
    # By address or id.
    assert cli.json("floating", "ip", "show", "203.0.113.120")["id"] == f["id"]
    u = cli.json("floating", "ip", "unset", "203.0.113.120", "--port")
    assert u["port_id"] is None and u["status"] == "DOWN"
    assert [x["id"] for x in cli.json("floating", "ip", "list", "--status", "DOWN")] == [f["id"]]
    u = cli.json("floating", "ip", "set", f["id"], "--port", "vm", "--fixed-ip-address",
                 vm["fixed_ips"][0]["ip_address"])
    assert u["port_id"] == vm["id"]
    assert [x["id"] for x in cli.json("floating", "ip", "list", "--port", "vm")] == [f["id"]]
    assert cli.json("floating", "ip", "list", "--network", "blue") == []
    # weftd's errors come through.
    g = cli.json("floating", "ip", "create", "public")
    err = cli.fails("floating", "ip", "set", g["id"], "--port", "vm")
    assert "FloatingIPPortAlreadyAssociated" in err or "already has a floating IP" in err
    err = cli.fails("floating", "ip", "create", "blue")
    assert "not a valid external network" in err
    cli.fails("floating", "ip", "update", g["id"], status=2)
    cli.fails("floating", "ip", "unset", g["id"], status=2)
    cli.ok("floating", "ip", "delete", "203.0.113.120", g["id"])
    assert lst(api, "floatingips") == []
    assert net["id"]


def test_agent_list_and_stats(sb, api_sb):  # noqa: F811
    cli = Cli(sb.url)
    g = gateway(sb, "gw1", 1)
    rows = table(cli.ok("agent", "list"))
    assert rows[0] == ["ID", "Host", "Type", "Gateway", "Slot", "Alive", "Admin state"]
    assert rows[1][1:6] == ["gw1", "weft agent", "true", "0", "true"]
    stats = {"tunnel": {"rx_packets": 5, "drops": {"no_gateway": 1}},
             "uplink": {"tx_packets": 8, "drops": {"ext_spoof": 2}}}
    t = answer_stats(g, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "stats": stats})
    rows = table(cli.ok("agent", "stats", "gw1"))
    t.join()
    assert rows[0] == ["Counter", "Value"]
    assert sorted(rows[1:]) == [["tunnel drops: no_gateway", "1"], ["tunnel rx_packets", "5"],
                                ["uplink drops: ext_spoof", "2"], ["uplink tx_packets", "8"]]
    t = answer_stats(g, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "stats": stats})
    assert cli.json("agent", "stats", "gw1") == stats
    t.join()
    g.close()
    assert show(api_sb, "agents", lst(api_sb, "agents")[0]["id"])["host"] == "gw1"
