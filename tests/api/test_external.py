# SPDX-License-Identifier: Apache-2.0
"""North-south on weftd's side (docs/gateways.md): external networks,
routers' external gateways, gateway agents (slots, device statistics) and
the southbound views of hypervisors and gateways, with their deltas."""

import ipaddress
import os
import time

import pytest

from conftest import Api, Weftd, neutron_error
from test_auth import clients  # noqa: F401 (a fixture)
from test_southbound import FakeAgent, answer_stats, by_key, keys, wait_for
from util import MAC_RE, bad_request, ids, lst, new_id, show

PUBLIC_CIDR = "203.0.113.0/24"


def external_network(api, cidr=PUBLIC_CIDR, name="public"):
    """An external network with one subnet (as the lab makes 'public')."""
    n = api.create("network", name=name, **{"router:external": True})
    s = api.create("subnet", network_id=n["id"], ip_version=4, cidr=cidr,
                   gateway_ip=str(ipaddress.ip_network(cidr)[1]), enable_dhcp=False,
                   allocation_pools=[{"start": str(ipaddress.ip_network(cidr)[100]),
                                      "end": str(ipaddress.ip_network(cidr)[250])}])
    return n, s


def tenant_net(api, cidr="10.0.0.0/24"):
    n = api.create("network", name="t")
    s = api.create("subnet", network_id=n["id"], ip_version=4, cidr=cidr)
    return n, s


def set_gateway(api, router, info):
    return api.put("/v2.0/routers/" + router["id"], {"router": {"external_gateway_info": info}})


def ports_of(api, device_id, owner):
    return [p for p in lst(api, "ports", params={"device_id": device_id})
            if p["device_owner"] == owner]


# --- external networks ---

def test_external_network_admin_only_and_public(clients):  # noqa: F811
    admin, a, b = clients
    n, s = external_network(admin)
    assert n["router:external"] is True
    # Setting it is for operators, on create and on update.
    neutron_error(a.post("/v2.0/networks", {"network": {"router:external": True}}),
                  403, "PolicyNotAuthorized")
    own = a.create("network", name="mine")
    neutron_error(a.put("/v2.0/networks/" + own["id"], {"network": {"router:external": True}}),
                  403, "PolicyNotAuthorized")
    # Every project sees it and its subnets, in lists and by id.
    for client in (a, b):
        assert n["id"] in ids(lst(client, "networks"))
        assert s["id"] in ids(lst(client, "subnets"))
        assert show(client, "networks", n["id"])["router:external"] is True
        assert show(client, "subnets", s["id"])["cidr"] == PUBLIC_CIDR
        assert n["id"] in ids(lst(client, "networks", params={"router:external": "true"}))
    assert ids(lst(b, "networks", params={"router:external": "false"})) == []
    # but may not change it or put ports on it.
    neutron_error(a.put("/v2.0/networks/" + n["id"], {"network": {"name": "x"}}), 403)
    neutron_error(a.post("/v2.0/ports", {"port": {"network_id": n["id"]}}),
                  403, "PolicyNotAuthorized")
    # A router interface on an external subnet is refused, for anyone.
    for client in (a, admin):
        r = client.create("router", name="r")
        neutron_error(client.put("/v2.0/routers/%s/add_router_interface" % r["id"],
                                 {"subnet_id": s["id"]}), 400, "BadRequest")
    # The admin may make ports there (an operator's own use).
    assert admin.post("/v2.0/ports", {"port": {"network_id": n["id"]}}).status_code == 201


def test_external_network_in_use(api):
    n, s = external_network(api)
    r = api.create("router", name="r")
    assert set_gateway(api, r, {"network_id": n["id"]}).status_code == 200
    neutron_error(api.put("/v2.0/networks/" + n["id"], {"network": {"router:external": False}}),
                  409, "ExternalNetworkInUse")
    assert show(api, "networks", n["id"])["router:external"] is True
    assert set_gateway(api, r, None).status_code == 200
    r2 = api.put("/v2.0/networks/" + n["id"], {"network": {"router:external": False}})
    assert r2.status_code == 200 and r2.json()["network"]["router:external"] is False


# --- routers' external gateways ---

def test_router_gateway_set_change_unset(api):
    n, s = external_network(api)
    r = api.create("router", name="r")
    assert r["external_gateway_info"] is None
    got = set_gateway(api, r, {"network_id": n["id"]})
    assert got.status_code == 200, got.text
    info = got.json()["router"]["external_gateway_info"]
    assert info["network_id"] == n["id"] and info["enable_snat"] is True
    [fixed] = info["external_fixed_ips"]
    assert fixed["subnet_id"] == s["id"]
    assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network(PUBLIC_CIDR)
    [gw] = ports_of(api, r["id"], "network:router_gateway")
    assert gw["network_id"] == n["id"] and MAC_RE.match(gw["mac_address"])
    assert gw["fixed_ips"] == [fixed]
    assert show(api, "routers", r["id"])["external_gateway_info"] == info
    # The gateway port is the router's: not deleted or re-addressed directly.
    neutron_error(api.delete("/v2.0/ports/" + gw["id"]), 409, "L3PortInUse")
    neutron_error(api.put("/v2.0/ports/" + gw["id"], {"port": {"fixed_ips": []}}),
                  409, "L3PortInUse")
    bad_request(api.post("/v2.0/ports", {"port": {
        "network_id": n["id"], "device_owner": "network:router_gateway"}}))

    # SNAT off keeps the port and its address.
    got = set_gateway(api, r, {"network_id": n["id"], "enable_snat": False})
    assert got.status_code == 200, got.text
    assert got.json()["router"]["external_gateway_info"] == dict(info, enable_snat=False)
    assert ids(ports_of(api, r["id"], "network:router_gateway")) == [gw["id"]]

    # A given address: the port is made again with it.
    want = str(ipaddress.ip_network(PUBLIC_CIDR)[120])
    got = set_gateway(api, r, {"network_id": n["id"],
                               "external_fixed_ips": [{"ip_address": want}]})
    assert got.status_code == 200, got.text
    assert got.json()["router"]["external_gateway_info"]["external_fixed_ips"] == [
        {"subnet_id": s["id"], "ip_address": want}]
    assert got.json()["router"]["external_gateway_info"]["enable_snat"] is True

    assert set_gateway(api, r, None).json()["router"]["external_gateway_info"] is None
    assert ports_of(api, r["id"], "network:router_gateway") == []

    # On create, and gone with the router.
    r2 = api.create("router", name="r2", external_gateway_info={"network_id": n["id"]})
    assert r2["external_gateway_info"]["network_id"] == n["id"]
    assert len(ports_of(api, r2["id"], "network:router_gateway")) == 1
    assert api.delete("/v2.0/routers/" + r2["id"]).status_code == 204
    assert ports_of(api, r2["id"], "network:router_gateway") == []


def test_router_gateway_errors(api):
    n, s = external_network(api)
    internal, _ = tenant_net(api)
    r = api.create("router", name="r")
    before = lst(api, "ports")
    neutron_error(set_gateway(api, r, {"network_id": internal["id"]}), 400, "BadRequest")
    neutron_error(set_gateway(api, r, {"network_id": new_id()}), 404, "NetworkNotFound")
    neutron_error(api.post("/v2.0/routers", {"router": {
        "external_gateway_info": {"network_id": internal["id"]}}}), 400, "BadRequest")
    neutron_error(set_gateway(api, r, {"network_id": n["id"], "external_fixed_ips": [
        {"subnet_id": s["id"], "ip_address": "198.51.100.5"}]}), 400, "InvalidIpForSubnet")
    neutron_error(set_gateway(api, r, {"network_id": n["id"], "external_fixed_ips": [
        {"ip_address": "198.51.100.5"}]}), 400, "InvalidIpForSubnet")
    for bad in ({"enable_snat": True}, {"network_id": n["id"], "bogus": 1}, {"network_id": n["id"], "enable_snat": 1},
                {"network_id": n["id"], "external_fixed_ips": "x"}, {"network_id": 5}):
        bad_request(set_gateway(api, r, bad))
    taken = str(ipaddress.ip_network(PUBLIC_CIDR)[130])
    other = api.create("router", name="o", external_gateway_info={
        "network_id": n["id"], "external_fixed_ips": [{"ip_address": taken}]})
    before = lst(api, "ports")
    neutron_error(set_gateway(api, r, {"network_id": n["id"], "external_fixed_ips": [
        {"ip_address": taken}]}), 409, "IpAddressAlreadyAllocated")
    # The upstream router's address (the subnet's gateway) is not a router's.
    neutron_error(set_gateway(api, r, {"network_id": n["id"], "external_fixed_ips": [
        {"ip_address": s["gateway_ip"]}]}), 409, "IpAddressAlreadyAllocated")
    # Nothing of the failed requests stayed.
    assert lst(api, "ports") == before
    assert show(api, "routers", r["id"])["external_gateway_info"] is None
    assert other["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == taken


# --- gateway agents ---

def agent_of(api, host):
    [a] = lst(api, "agents", params={"host": host})
    return a


@pytest.fixture
def sb(tmp_path):
    d = Weftd(tmp_path, extra_args=["--agent-down-time", "2"]).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())


@pytest.fixture
def api_sb(sb):
    return Api(sb.url)


def gateway(sb, name, k):
    g = FakeAgent(sb, name, "192.0.2.%d" % (100 + k))
    g.hello(gateway=True, uplink_ip="203.0.113.%d" % (1 + k))
    return g


def test_gateway_slots(sb, api_sb):
    api = api_sb
    gws = [gateway(sb, "gw%d" % k, k) for k in range(1, 4)]
    for k in range(1, 4):
        conf = agent_of(api, "gw%d" % k)["configurations"]
        assert conf == {"gateway": True, "underlay_ip": "192.0.2.%d" % (100 + k),
                        "uplink_ip": "203.0.113.%d" % (1 + k), "gateway_slot": k - 1}
    # A gateway keeps its slot when it comes back, even to a new weftd.
    gws[1].close()
    gws[1] = gateway(sb, "gw2", 2)
    assert agent_of(api, "gw2")["configurations"]["gateway_slot"] == 1
    for g in gws:
        g.close()
    assert sb.stop() == 0
    sb.start()
    gws = [gateway(sb, "gw%d" % k, k) for k in (3, 2, 1)][::-1]
    assert [agent_of(api, "gw%d" % k)["configurations"]["gateway_slot"]
            for k in (1, 2, 3)] == [0, 1, 2]
    # Deleting a (dead) gateway's agent frees its slot for the next one.
    gws[0].close()
    assert wait_for(lambda: agent_of(api, "gw1")["alive"] is False, 5)
    assert api.delete("/v2.0/agents/" + agent_of(api, "gw1")["id"]).status_code == 204
    g4 = gateway(sb, "gw4", 4)
    assert agent_of(api, "gw4")["configurations"]["gateway_slot"] == 0
    # Sixteen slots: the 17th gateway gets none.
    more = [gateway(sb, "gx%d" % k, 10 + k) for k in range(13)]
    late = gateway(sb, "late", 40)
    assert agent_of(api, "late")["configurations"]["gateway_slot"] is None
    slots = sorted(a["configurations"].get("gateway_slot") for a in lst(api, "agents")
                   if a["configurations"].get("gateway_slot") is not None)
    assert slots == list(range(16))
    assert "gets no slot" in sb.log()
    for g in gws[1:] + more + [g4, late]:
        g.close()


def test_gateway_hello_needs_uplink(sb, api_sb):
    a = FakeAgent(sb, "gw1", "192.0.2.101")
    a.send({"type": "hello", "version": 1, "host": "gw1", "underlay_ip": "192.0.2.101",
            "revision": 0, "gateway": True})
    assert a.closed(5)
    assert lst(api_sb, "agents") == []


DEVICE_STATS = {"tunnel": {"rx_packets": 5, "rx_bytes": 500, "tx_packets": 4,
                           "tx_bytes": 400, "drops": {"no_gateway": 1}},
                "uplink": {"rx_packets": 9, "rx_bytes": 900, "tx_packets": 8,
                           "tx_bytes": 800, "drops": {"ext_spoof": 2}}}


def test_agent_stats(sb, api_sb):
    api = api_sb
    g = gateway(sb, "gw1", 1)
    ag = agent_of(api, "gw1")
    seen = {}

    def reply(req):
        seen.update(req)
        return {"type": "stats_reply", "request_id": req["request_id"], "stats": DEVICE_STATS}
    t = answer_stats(g, reply)
    r = api.get("/v2.0/agents/%s/stats" % ag["id"])
    t.join()
    assert r.status_code == 200, r.text
    assert r.json() == {"stats": DEVICE_STATS}
    assert seen["devices"] is True and "port_id" not in seen

    t = answer_stats(g, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "error": "no uplink"})
    r = api.get("/v2.0/agents/%s/stats" % ag["id"])
    t.join()
    assert "no uplink" in neutron_error(r, 409, "DeviceStatsUnavailable")["message"]

    # A port's answer to a device request is the agent's mistake: 502.
    t = answer_stats(g, lambda req: {"type": "stats_reply", "request_id": req["request_id"],
                                     "port_id": new_id(), "stats": {}})
    r = api.get("/v2.0/agents/%s/stats" % ag["id"])
    t.join()
    neutron_error(r, 502)

    neutron_error(api.get("/v2.0/agents/%s/stats" % new_id()), 404, "AgentNotFound")
    # No answer: 504 after the stats timeout (3 s).
    t = answer_stats(g, lambda req: None, linger=4.0)
    r = api.get("/v2.0/agents/%s/stats" % ag["id"])
    t.join()
    neutron_error(r, 504)
    g.close()
    assert wait_for(lambda: agent_of(api, "gw1")["alive"] is False, 5)
    neutron_error(api.get("/v2.0/agents/%s/stats" % ag["id"]), 409, "AgentNotConnected")


def test_agent_stats_admin_only(clients):  # noqa: F811
    admin, a, b = clients
    neutron_error(a.get("/v2.0/agents/%s/stats" % new_id()), 403, "PolicyNotAuthorized")


# --- southbound views ---

def world(api):
    """An external network, a router with a gateway joining a tenant
    network, and a VM port on host h1."""
    ext, ext_sub = external_network(api)
    net, sn = tenant_net(api)
    r = api.create("router", name="r", external_gateway_info={"network_id": ext["id"]})
    assert api.put("/v2.0/routers/%s/add_router_interface" % r["id"],
                   {"subnet_id": sn["id"]}).status_code == 200
    vm = api.create("port", network_id=net["id"], **{"binding:host_id": "h1"})
    return ext, net, r, vm


def test_views_gateways_and_external_gateway(sb, api_sb):
    api = api_sb
    ext, net, r, vm = world(api)
    h1 = FakeAgent(sb, "h1", "192.0.2.11")
    view = by_key(h1.hello()["objects"])
    gw_port = ports_of(api, r["id"], "network:router_gateway")[0]
    assert view["router:" + r["id"]]["external_gateway"] == {
        "network_id": ext["id"], "ip": gw_port["fixed_ips"][0]["ip_address"],
        "mac": gw_port["mac_address"], "enable_snat": True}
    assert not [k for k in view if k.startswith("gateway:")]

    # A gateway appears: every hypervisor gets its object.
    g1 = FakeAgent(sb, "gw1", "192.0.2.101")
    gview = by_key(g1.hello(gateway=True, uplink_ip="203.0.113.2")["objects"])
    d = h1.next()
    assert d["type"] == "delta"
    assert by_key(d["upsert"])["gateway:gw1"] == {
        "key": "gateway:gw1", "kind": "gateway", "name": "gw1",
        "underlay_ip": "192.0.2.101", "slot": 0, "alive": True}

    # The gateway's view: the router with its closure, hosts, gateways.
    assert "router:" + r["id"] in gview and "network:" + net["id"] in gview
    assert "port:" + vm["id"] in gview and "host:h1" in gview
    assert gview["gateway:gw1"]["alive"] is True
    assert "host:gw1" not in gview and "network:" + ext["id"] not in gview

    # SNAT off: both views follow.
    assert set_gateway(api, r, {"network_id": ext["id"], "enable_snat": False}).status_code == 200
    for agent in (h1, g1):
        d = agent.next()
        assert by_key(d["upsert"])["router:" + r["id"]]["external_gateway"]["enable_snat"] is False

    # The gateway goes away: alive false everywhere.
    g1.close()
    d = h1.next()
    assert by_key(d["upsert"])["gateway:gw1"]["alive"] is False
    h1.close()


def test_gateway_view_follows_routers(sb, api_sb):
    api = api_sb
    ext, _ = external_network(api)
    net, sn = tenant_net(api)
    other, osn = tenant_net(api, "10.1.0.0/24")
    r = api.create("router", name="r")
    api.put("/v2.0/routers/%s/add_router_interface" % r["id"], {"subnet_id": sn["id"]})
    vm = api.create("port", network_id=net["id"], **{"binding:host_id": "h1"})
    lonely = api.create("port", network_id=other["id"], **{"binding:host_id": "h2"})
    h2 = FakeAgent(sb, "h2", "192.0.2.12")
    h2.hello()
    g1 = FakeAgent(sb, "gw1", "192.0.2.101")
    gview = by_key(g1.hello(gateway=True, uplink_ip="203.0.113.2")["objects"])
    # No router with a gateway yet: only hosts and gateways.
    assert {o["kind"] for o in gview.values()} <= {"host", "gateway"}
    assert "gateway:gw1" in keys(h2.next()["upsert"])  # the gateway's arrival

    # A router gets a gateway: the gateway's view grows; h2 is not told.
    assert set_gateway(api, r, {"network_id": ext["id"]}).status_code == 200
    d = g1.next()
    ks = keys(d["upsert"])
    assert "router:" + r["id"] in ks and "network:" + net["id"] in ks
    assert "port:" + vm["id"] in ks and "port:" + lonely["id"] not in ks
    h2.quiet(0.5)
    # and shrinks when it loses it.
    assert set_gateway(api, r, None).status_code == 200
    d = g1.next()
    assert "router:" + r["id"] in d["delete"] and "port:" + vm["id"] in d["delete"]
    h2.quiet(0.5)
    g1.close()
    h2.close()
