# SPDX-License-Identifier: Apache-2.0
"""Routers (docs/routing.md, docs/api.md): the resource, its interfaces
(add/remove_router_interface by subnet and by port), static routes
(extraroute, extraroute-atomic), Neutron's rejections and errors, the
routing key, and the routed southbound view as fake agents receive it."""

import json
import os
import subprocess

import pytest

from conftest import Api, Weftd, neutron_error
from test_southbound import FakeAgent
from util import (MAC_RE, bad_request, check_standard_attrs, lst, network, not_found, port,
                  show, snapshot, subnet)

ROUTER_OWNER = "network:router_interface"
NO_SUCH_ID = "0c7e2c9e-5a59-4f7e-8a59-7f1b1b1b1b1b"
HAVE_SQLITE3 = subprocess.run(["which", "sqlite3"], capture_output=True).returncode == 0


def router(api, **kw):
    kw.setdefault("name", "r")
    return api.create("router", **kw)


def add_if(api, r, status=200, **body):
    resp = api.put("/v2.0/routers/%s/add_router_interface" % r["id"], body)
    if status == 200:
        assert resp.status_code == 200, resp.text
        return resp.json()
    return resp


def remove_if(api, r, status=200, **body):
    resp = api.put("/v2.0/routers/%s/remove_router_interface" % r["id"], body)
    if status == 200:
        assert resp.status_code == 200, resp.text
        return resp.json()
    return resp


def set_routes(api, r, routes):
    return api.put("/v2.0/routers/" + r["id"], {"router": {"routes": routes}})


def net_sub(api, cidr, **kw):
    n = network(api)
    return n, subnet(api, n, cidr, **kw)


# --- the resource ---

def test_router_shape_and_crud(api):
    r = router(api, name="r1", description="d")
    check_standard_attrs(r)
    assert r["name"] == "r1" and r["description"] == "d"
    assert r["admin_state_up"] is True
    assert r["status"] == "ACTIVE"
    assert r["routes"] == []
    assert r["external_gateway_info"] is None
    assert r["distributed"] is True
    assert r["ha"] is False
    assert r["flavor_id"] is None
    assert r["availability_zone_hints"] == [] and r["availability_zones"] == []
    assert r["revision_number"] == 1
    # The routing key is not an API attribute.
    assert not any("key" in k for k in r)

    assert show(api, "routers", r["id"]) == r
    assert [x["id"] for x in lst(api, "routers")] == [r["id"]]
    assert lst(api, "routers", params={"name": "nope"}) == []

    u = api.put("/v2.0/routers/" + r["id"], {"router": {"name": "r2", "admin_state_up": False}})
    assert u.status_code == 200, u.text
    u = u.json()["router"]
    assert u["name"] == "r2" and u["admin_state_up"] is False and u["revision_number"] == 2

    assert api.delete("/v2.0/routers/" + r["id"]).status_code == 204
    not_found(api.get("/v2.0/routers/" + r["id"]), "RouterNotFound")
    not_found(api.delete("/v2.0/routers/" + r["id"]), "RouterNotFound")
    not_found(api.put("/v2.0/routers/%s/add_router_interface" % r["id"], {"subnet_id": "x"}),
              "RouterNotFound")


def test_router_rejected_attributes(api):
    before = lst(api, "routers")
    # Routes are set by update (extraroute), not on create.
    bad_request(api.post("/v2.0/routers", {"router": {"routes": []}}))
    bad_request(api.post("/v2.0/routers", {"router": {"distributed": False}}))
    bad_request(api.post("/v2.0/routers", {"router": {"ha": True}}))
    bad_request(api.post("/v2.0/routers", {"router": {"status": "DOWN"}}))
    # An unknown external network (docs/gateways.md; test_external.py).
    neutron_error(api.post("/v2.0/routers", {"router": {"external_gateway_info": {
        "network_id": NO_SUCH_ID}}}), 404, "NetworkNotFound")
    bad_request(api.post("/v2.0/routers", {"router": {"bogus": 1}}))
    assert lst(api, "routers") == before
    # distributed: true and ha: false are what every weft router is.
    r = router(api, distributed=True, ha=False)
    assert r["distributed"] is True
    bad_request(api.put("/v2.0/routers/" + r["id"], {"router": {"distributed": False}}))
    # An empty gateway info clears the gateway, as in Neutron.
    r2 = api.put("/v2.0/routers/" + r["id"], {"router": {"external_gateway_info": {}}})
    assert r2.status_code == 200 and r2.json()["router"]["external_gateway_info"] is None
    r2 = api.put("/v2.0/routers/" + r["id"], {"router": {"external_gateway_info": None}})
    assert r2.status_code == 200


def test_bulk_create(api):
    r = api.post("/v2.0/routers", {"routers": [{"name": "a"}, {"name": "b"}]})
    assert r.status_code == 201, r.text
    made = r.json()["routers"]
    assert [x["name"] for x in made] == ["a", "b"]
    assert len({x["id"] for x in made}) == 2
    # All or nothing.
    r = api.post("/v2.0/routers", {"routers": [{"name": "c"}, {"name": "d", "ha": True}]})
    bad_request(r)
    assert sorted(x["name"] for x in lst(api, "routers")) == ["a", "b"]


def test_discovery(api):
    aliases = {e["alias"] for e in api.get("/v2.0/extensions").json()["extensions"]}
    assert {"router", "extraroute", "extraroute-atomic"} <= aliases
    for alias in ("router", "extraroute", "extraroute-atomic"):
        assert api.get("/v2.0/extensions/" + alias).status_code == 200
    colls = {x["collection"] for x in api.get("/v2.0").json()["resources"]}
    assert "routers" in colls


# --- interfaces ---

def test_add_interface_by_subnet(api):
    n, s = net_sub(api, "10.0.0.0/24")
    r = router(api)
    info = add_if(api, r, subnet_id=s["id"])
    assert set(info) == {"id", "tenant_id", "project_id", "port_id", "subnet_id",
                         "subnet_ids", "network_id"}
    assert info["id"] == r["id"]
    assert info["subnet_id"] == s["id"] and info["subnet_ids"] == [s["id"]]
    assert info["network_id"] == n["id"]
    assert info["project_id"] == info["tenant_id"] == r["project_id"]

    p = show(api, "ports", info["port_id"])
    assert p["device_owner"] == ROUTER_OWNER
    assert p["device_id"] == r["id"]
    assert p["network_id"] == n["id"]
    assert p["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "10.0.0.1"}]
    assert MAC_RE.match(p["mac_address"])
    assert p["binding:host_id"] == "" and p["binding:vif_type"] == "unbound"
    assert p["admin_state_up"] is True
    assert p["project_id"] == r["project_id"]
    # The router changed with its interface.
    assert show(api, "routers", r["id"])["revision_number"] == 2
    # The interface is found as Neutron clients look for it.
    found = lst(api, "ports", params={"device_id": r["id"],
                                      "device_owner": ROUTER_OWNER})
    assert [x["id"] for x in found] == [p["id"]]


def test_add_interface_rejections(api):
    n, s = net_sub(api, "10.0.0.0/24")
    n2, s2 = net_sub(api, "10.0.0.0/16")  # overlaps s
    _, nogw = net_sub(api, "10.9.0.0/24", gateway_ip=None)
    r = router(api)
    add_if(api, r, subnet_id=s["id"])
    before = snapshot(api)
    rev = show(api, "routers", r["id"])["revision_number"]

    err = neutron_error(add_if(api, r, 400, subnet_id=s["id"]), 400, "BadRequest")
    assert "already has a port on subnet" in err["message"]
    err = neutron_error(add_if(api, r, 400, subnet_id=s2["id"]), 400, "BadRequest")
    assert "overlaps with cidr" in err["message"]
    err = neutron_error(add_if(api, r, 400, subnet_id=nogw["id"]), 400, "BadRequest")
    assert "must have a gateway IP" in err["message"]
    neutron_error(add_if(api, r, 400), 400, "BadRequest")
    neutron_error(add_if(api, r, 400, subnet_id=s["id"], port_id=s["id"]), 400, "BadRequest")
    neutron_error(add_if(api, r, 400, subnet_id=5), 400, "BadRequest")
    neutron_error(add_if(api, r, 400, subnet_id=s["id"], foo="bar"), 400, "BadRequest")
    not_found(add_if(api, r, 404, subnet_id=NO_SUCH_ID), "SubnetNotFound")
    not_found(add_if(api, r, 404, port_id=NO_SUCH_ID), "PortNotFound")
    bad_request(api.put("/v2.0/routers/%s/add_router_interface" % r["id"], raw="[1]"))
    not_found(api.put("/v2.0/routers/%s/no_such_action" % r["id"], {}), "HTTPNotFound")

    # The gateway of s is held by the first router's interface.
    r2 = router(api, name="r2")
    err = neutron_error(add_if(api, r2, 409, subnet_id=s["id"]), 409,
                        "IpAddressAlreadyAllocated")
    assert "10.0.0.1" in err["message"]
    # A failed action changes nothing.
    assert snapshot(api) == before
    assert show(api, "routers", r["id"])["revision_number"] == rev


def test_add_interface_by_port_and_linked_routers(api):
    n, s = net_sub(api, "10.0.0.0/24")
    r1, r2 = router(api, name="r1"), router(api, name="r2")
    add_if(api, r1, subnet_id=s["id"])
    # A second router joins the same subnet through a port of its own:
    # the two routers are linked by s.
    p = port(api, n, fixed_ips=[{"ip_address": "10.0.0.254"}])
    info = add_if(api, r2, port_id=p["id"])
    assert info["port_id"] == p["id"] and info["subnet_id"] == s["id"]
    assert info["network_id"] == n["id"]
    q = show(api, "ports", p["id"])
    assert q["device_owner"] == ROUTER_OWNER and q["device_id"] == r2["id"]
    assert q["fixed_ips"] == p["fixed_ips"] and q["mac_address"] == p["mac_address"]
    assert q["revision_number"] == p["revision_number"] + 1
    # The same port cannot join twice, nor another router.
    neutron_error(add_if(api, r1, 409, port_id=p["id"]), 409, "PortInUse")


def test_add_interface_by_port_rejections(api):
    n, s = net_sub(api, "10.0.0.0/24")
    subnet(api, n, "10.1.0.0/24")
    r = router(api)
    bound = port(api, n, **{"binding:host_id": "h1"})
    used = port(api, n, device_id="vm-1", device_owner="compute:nova")
    none = port(api, n, fixed_ips=[])
    two = port(api, n, fixed_ips=[{"subnet_id": s["id"]}, {"ip_address": "10.1.0.9"}])
    before = snapshot(api)
    neutron_error(add_if(api, r, 409, port_id=bound["id"]), 409, "PortInUse")
    neutron_error(add_if(api, r, 409, port_id=used["id"]), 409, "PortInUse")
    err = neutron_error(add_if(api, r, 400, port_id=none["id"]), 400, "BadRequest")
    assert "at least one fixed IP" in err["message"]
    err = neutron_error(add_if(api, r, 400, port_id=two["id"]), 400, "BadRequest")
    assert "multiple" in err["message"]
    assert snapshot(api) == before
    # A port on a subnet the router already has.
    add_if(api, r, subnet_id=s["id"])
    other = port(api, n, fixed_ips=[{"subnet_id": s["id"]}])
    before = snapshot(api)
    err = neutron_error(add_if(api, r, 400, port_id=other["id"]), 400, "BadRequest")
    assert "already has a port on subnet" in err["message"]
    assert snapshot(api) == before


def test_remove_interface(api):
    n, s = net_sub(api, "10.0.0.0/24")
    n2, s2 = net_sub(api, "10.1.0.0/24")
    r = router(api)
    by_subnet = add_if(api, r, subnet_id=s["id"])
    p = port(api, n2)
    add_if(api, r, port_id=p["id"])

    # Unknown interfaces.
    elsewhere = subnet(api, network(api), "10.5.0.0/24")
    err = not_found(remove_if(api, r, 404, subnet_id=elsewhere["id"]),
                    "RouterInterfaceNotFoundForSubnet")
    assert r["id"] in err["message"]
    other = port(api, n)
    not_found(remove_if(api, r, 404, port_id=other["id"]), "RouterInterfaceNotFound")
    not_found(remove_if(api, r, 404, subnet_id=NO_SUCH_ID), "SubnetNotFound")
    neutron_error(remove_if(api, r, 400), 400, "BadRequest")
    neutron_error(remove_if(api, r, 400, port_id=p["id"], subnet_id=s["id"]), 400,
                  "SubnetMismatchForPort")

    # By subnet: the port the router made goes.
    info = remove_if(api, r, subnet_id=s["id"])
    assert info == by_subnet
    not_found(api.get("/v2.0/ports/" + by_subnet["port_id"]), "PortNotFound")
    # Its address is free again: a new interface takes the gateway again.
    again = add_if(api, r, subnet_id=s["id"])
    assert show(api, "ports", again["port_id"])["fixed_ips"][0]["ip_address"] == "10.0.0.1"

    # By port (with its subnet, which must match): Neutron deletes the
    # port too.
    info = remove_if(api, r, port_id=p["id"], subnet_id=s2["id"])
    assert info["port_id"] == p["id"] and info["subnet_ids"] == [s2["id"]]
    not_found(api.get("/v2.0/ports/" + p["id"]), "PortNotFound")

    # Delete: 409 while interfaces exist.
    err = neutron_error(api.delete("/v2.0/routers/" + r["id"]), 409, "RouterInUse")
    assert r["id"] in err["message"]
    remove_if(api, r, subnet_id=s["id"])
    assert api.delete("/v2.0/routers/" + r["id"]).status_code == 204
    # Nothing of the router is left.
    assert lst(api, "ports", params={"device_owner": ROUTER_OWNER}) == []


def test_interface_ports_belong_to_the_router(api):
    n, s = net_sub(api, "10.0.0.0/24")
    r = router(api)
    info = add_if(api, r, subnet_id=s["id"])
    pid = info["port_id"]
    before = snapshot(api)
    err = neutron_error(api.delete("/v2.0/ports/" + pid), 409, "L3PortInUse")
    assert pid in err["message"] and ROUTER_OWNER in err["message"]
    neutron_error(api.put("/v2.0/ports/" + pid, {"port": {"fixed_ips": [
        {"subnet_id": s["id"], "ip_address": "10.0.0.7"}]}}), 409, "L3PortInUse")
    neutron_error(api.put("/v2.0/ports/" + pid, {"port": {"fixed_ips": []}}), 409,
                  "L3PortInUse")
    neutron_error(api.put("/v2.0/ports/" + pid, {"port": {"device_id": ""}}), 409,
                  "L3PortInUse")
    neutron_error(api.put("/v2.0/ports/" + pid, {"port": {"device_owner": "compute:x"}}), 409,
                  "L3PortInUse")
    assert snapshot(api) == before
    # Other attributes may change.
    u = api.put("/v2.0/ports/" + pid, {"port": {"name": "gw"}})
    assert u.status_code == 200, u.text
    # The owner is reserved to the router actions.
    bad_request(api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                                  "device_owner": ROUTER_OWNER,
                                                  "device_id": r["id"]}}))
    p = port(api, n)
    bad_request(api.put("/v2.0/ports/" + p["id"], {"port": {"device_owner": ROUTER_OWNER}}))
    # The subnet and network are in use.
    neutron_error(api.delete("/v2.0/subnets/" + s["id"]), 409, "SubnetInUse")
    neutron_error(api.delete("/v2.0/networks/" + n["id"]), 409, "NetworkInUse")


# --- routes ---

def test_routes(api):
    n, s = net_sub(api, "10.0.0.0/24")
    n2, s2 = net_sub(api, "10.1.0.0/24")
    r = router(api)
    # Without interfaces no nexthop is connected.
    neutron_error(set_routes(api, r, [{"destination": "10.8.0.0/16", "nexthop": "10.0.0.9"}]),
                  400, "InvalidRoutes")
    add_if(api, r, subnet_id=s["id"])
    add_if(api, r, subnet_id=s2["id"])
    routes = [{"destination": "10.8.0.0/16", "nexthop": "10.0.0.9"},
              {"destination": "0.0.0.0/0", "nexthop": "10.1.0.254"}]
    u = set_routes(api, r, routes)
    assert u.status_code == 200, u.text
    assert u.json()["router"]["routes"] == routes
    assert show(api, "routers", r["id"])["routes"] == routes

    before = show(api, "routers", r["id"])
    for bad in ([{"destination": "10.8.0.1/16", "nexthop": "10.0.0.9"}],  # not strict
                [{"destination": "10.8.0.0", "nexthop": "10.0.0.9"}],
                [{"destination": "10.8.0.0/16", "nexthop": "10.0.0"}],
                [{"destination": "10.8.0.0/16"}],
                [{"destination": "10.8.0.0/16", "nexthop": "10.0.0.9", "x": 1}],
                ["10.8.0.0/16"],
                [routes[0], routes[0]]):
        bad_request(set_routes(api, r, bad))
    err = neutron_error(set_routes(api, r, [{"destination": "10.8.0.0/16",
                                             "nexthop": "192.168.0.1"}]), 400, "InvalidRoutes")
    assert "not connected" in err["message"]
    err = neutron_error(set_routes(api, r, [{"destination": "10.8.0.0/16",
                                             "nexthop": "10.0.0.1"}]), 400, "InvalidRoutes")
    assert "used by router" in err["message"]
    many = [{"destination": "10.%d.0.0/16" % (100 + i), "nexthop": "10.0.0.9"}
            for i in range(31)]
    neutron_error(set_routes(api, r, many), 400, "RoutesExhausted")
    assert show(api, "routers", r["id"]) == before
    assert set_routes(api, r, many[:30]).status_code == 200
    assert set_routes(api, r, routes).status_code == 200
    assert show(api, "routers", r["id"])["routes"] == before["routes"]

    # An interface a route needs cannot go; once the route is gone it can.
    err = neutron_error(remove_if(api, r, 409, subnet_id=s2["id"]), 409,
                        "RouterInterfaceInUseByRoute")
    assert s2["id"] in err["message"]
    assert set_routes(api, r, routes[:1]).status_code == 200
    remove_if(api, r, subnet_id=s2["id"])
    assert set_routes(api, r, []).status_code == 200


def test_extraroutes_atomic(api):
    n, s = net_sub(api, "10.0.0.0/24")
    r = router(api)
    add_if(api, r, subnet_id=s["id"])
    a = {"destination": "10.8.0.0/16", "nexthop": "10.0.0.9"}
    b = {"destination": "10.9.0.0/16", "nexthop": "10.0.0.10"}
    c = {"destination": "10.10.0.0/16", "nexthop": "10.0.0.11"}
    path = "/v2.0/routers/%s/" % r["id"]

    x = api.put(path + "add_extraroutes", {"router": {"routes": [a, b]}})
    assert x.status_code == 200, x.text
    assert x.json()["router"]["routes"] == [a, b]
    assert x.json()["router"]["id"] == r["id"]
    # Adding what is there already changes nothing; new ones are appended.
    x = api.put(path + "add_extraroutes", {"router": {"routes": [b, c]}})
    assert x.json()["router"]["routes"] == [a, b, c]
    x = api.put(path + "remove_extraroutes", {"router": {"routes": [a, c, {
        "destination": "10.11.0.0/16", "nexthop": "10.0.0.12"}]}})
    assert x.status_code == 200, x.text
    assert x.json()["router"]["routes"] == [b]
    # Bad input, and a route to nowhere, change nothing.
    rev = show(api, "routers", r["id"])["revision_number"]
    bad_request(api.put(path + "add_extraroutes", {"routes": [a]}))
    bad_request(api.put(path + "add_extraroutes", {"router": {"routes": [{"destination": "x",
                                                                         "nexthop": "y"}]}}))
    neutron_error(api.put(path + "add_extraroutes", {"router": {"routes": [a, {
        "destination": "10.12.0.0/16", "nexthop": "172.16.0.1"}]}}), 400, "InvalidRoutes")
    after = show(api, "routers", r["id"])
    assert after["routes"] == [b] and after["revision_number"] == rev


# --- the routing key and the database ---

def router_keys(db):
    out = subprocess.run(["sqlite3", db, "SELECT router_id, key FROM router_keys"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("|") for line in out.split())


@pytest.mark.skipif(not HAVE_SQLITE3, reason="no sqlite3 shell")
def test_router_key_stable_and_not_reused(tmp_path):
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        rs = [router(api, name="k%d" % i) for i in range(5)]
        keys = router_keys(d.db)
        assert set(keys) == {r["id"] for r in rs}
        assert len(set(keys.values())) == 5
        assert api.put("/v2.0/routers/" + rs[0]["id"],
                       {"router": {"name": "renamed"}}).status_code == 200
        assert router_keys(d.db) == keys
        assert api.delete("/v2.0/routers/" + rs[1]["id"]).status_code == 204
        d.kill9()
        d.start()
        api = Api(d.url)
        kept = {k: v for k, v in keys.items() if k != rs[1]["id"]}
        assert router_keys(d.db) == kept
        new = router(api)
        assert router_keys(d.db)[new["id"]] not in keys.values()
    finally:
        assert d.stop() == 0, d.log()


@pytest.mark.skipif(not HAVE_SQLITE3, reason="no sqlite3 shell")
def test_v1_database_migrates(tmp_path):
    """A database as the L2 weftd (schema 1) left it opens, keeps its
    networks and gains routers."""
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        n, s = net_sub(api, "10.0.0.0/24")
        assert d.stop() == 0
        # Back to version 1: what migration 2 adds is gone.
        subprocess.run(["sqlite3", d.db], text=True, check=True, input=(
            "DROP TABLE router_keys; DROP INDEX resources_device;"
            " DELETE FROM meta WHERE key = 'router_key_last'; PRAGMA user_version = 1;"))
        d.start()
        api = Api(d.url)
        assert show(api, "networks", n["id"])["subnets"] == [s["id"]]
        r = router(api)
        add_if(api, r, subnet_id=s["id"])
        ver = subprocess.run(["sqlite3", d.db, "PRAGMA user_version"], capture_output=True,
                             text=True, check=True).stdout.strip()
        assert ver == "4"  # then 3: security group members, 4: gateway slots
        assert r["id"] in router_keys(d.db)
    finally:
        assert d.stop() == 0, d.log()


# --- the routed southbound view ---

@pytest.fixture
def sb(tmp_path):
    d = Weftd(tmp_path, extra_args=["--dns-domain", "example.org"]).start()
    yield d
    rc = d.stop()
    assert rc == 0, "weftd exited with %d:\n%s" % (rc, d.log())


def keys_of(objects):
    """The keys of 'objects' but security groups' (test_secgroups.py)."""
    return sorted(o["key"] for o in objects if o["kind"] != "secgroup")


def test_view_follows_router_interfaces(sb):
    api = Api(sb.url)
    na, sa = net_sub(api, "10.0.0.0/24", dns_nameservers=["192.0.2.53"],
                     host_routes=[{"destination": "172.16.0.0/12", "nexthop": "10.0.0.254"}])
    nb, sb_ = net_sub(api, "10.1.0.0/24", gateway_ip=None, enable_dhcp=False)
    pa = port(api, na, **{"binding:host_id": "h1"})
    pb = port(api, nb, **{"binding:host_id": "h2"})
    r = router(api)
    add_if(api, r, subnet_id=sa["id"])

    a = FakeAgent(sb, "h1")
    snap = a.hello()
    objs = {o["key"]: o for o in snap["objects"]}
    ra = "router:" + r["id"]
    assert keys_of(snap["objects"]) == sorted(["network:" + na["id"], "subnet:" + sa["id"],
                                   "port:" + pa["id"], "host:h1", ra])
    assert objs["subnet:" + sa["id"]] == {
        "key": "subnet:" + sa["id"], "kind": "subnet", "id": sa["id"],
        "network_id": na["id"], "vni": na["provider:segmentation_id"],
        "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "enable_dhcp": True,
        "dns_nameservers": ["192.0.2.53"],
        "host_routes": [{"destination": "172.16.0.0/12", "nexthop": "10.0.0.254"}],
        "mtu": na["mtu"], "dns_domain": "example.org", "dhcp_server": "10.0.0.1"}
    ro = objs[ra]
    gw = lst(api, "ports", params={"device_id": r["id"]})[0]
    assert ro["kind"] == "router" and ro["id"] == r["id"] and ro["admin_state_up"] is True
    assert isinstance(ro["router_key"], int) and ro["router_key"] > 0
    assert ro["routes"] == []
    assert ro["interfaces"] == [{
        "port_id": gw["id"], "subnet_id": sa["id"], "network_id": na["id"],
        "vni": na["provider:segmentation_id"], "ip": "10.0.0.1", "prefixlen": 24,
        "mac": gw["mac_address"]}]
    key = ro["router_key"]

    # An interface on net B brings B, its subnet, its ports and their hosts.
    b = FakeAgent(sb, "h2", "192.0.2.12")
    b.hello()
    a.quiet(0.3)  # h2 is not in h1's view yet
    add_p = port(api, nb, fixed_ips=[{"ip_address": "10.1.0.100"}], security_groups=[])
    info = add_if(api, r, port_id=add_p["id"])
    d = a.next()
    up = {o["key"]: o for o in d["upsert"]}
    assert {"network:" + nb["id"], "subnet:" + sb_["id"], "port:" + pb["id"], "host:h2",
            ra} <= set(up)
    assert d["delete"] == []
    assert up["subnet:" + sb_["id"]]["gateway_ip"] is None
    assert up["subnet:" + sb_["id"]]["dhcp_server"] == "10.1.0.254"
    assert up["subnet:" + sb_["id"]]["enable_dhcp"] is False
    assert up[ra]["router_key"] == key
    assert [i["port_id"] for i in up[ra]["interfaces"]] == [gw["id"], info["port_id"]]
    # Interface ports are not sent as ports.
    assert "port:" + gw["id"] not in up and "port:" + add_p["id"] not in up
    # h2 (on B) now sees A through the router.
    d2 = b.next()
    while not any(o["key"] == "network:" + na["id"] for o in d2["upsert"]):
        d2 = b.next()
    assert {"network:" + na["id"], "port:" + pa["id"], "host:h1", ra} <= set(
        keys_of(d2["upsert"]))

    # A route shows in both views.
    route = {"destination": "10.9.0.0/16", "nexthop": "10.1.0.77"}
    assert set_routes(api, r, [route]).status_code == 200
    for agent in (a, b):
        d = agent.next()
        assert keys_of(d["upsert"]) == [ra] and d["delete"] == []
        assert d["upsert"][0]["routes"] == [route]
    assert set_routes(api, r, []).status_code == 200
    a.next(), b.next()

    # Removing the interface takes B out of h1's view again.
    remove_if(api, r, port_id=add_p["id"])
    d = a.next()
    assert sorted(d["delete"]) == sorted(["network:" + nb["id"], "subnet:" + sb_["id"],
                                          "port:" + pb["id"], "host:h2"])
    assert keys_of(d["upsert"]) == [ra]
    assert len(d["upsert"][0]["interfaces"]) == 1
    d2 = b.next()
    assert set(d2["delete"]) == {"network:" + na["id"], "subnet:" + sa["id"],
                                 "port:" + pa["id"], "host:h1", ra}
    a.close()
    b.close()


def test_view_through_two_routers(sb):
    """Net A -R1- net B -R2- net C: a host on A sees C's ports, and a change
    on C reaches it."""
    api = Api(sb.url)
    na, sa = net_sub(api, "10.0.0.0/24")
    nb, sb_ = net_sub(api, "10.1.0.0/24")
    nc, sc = net_sub(api, "10.2.0.0/24")
    port(api, na, **{"binding:host_id": "h1"})
    r1, r2 = router(api, name="r1"), router(api, name="r2")
    add_if(api, r1, subnet_id=sa["id"])
    add_if(api, r1, subnet_id=sb_["id"])
    link = port(api, nb, fixed_ips=[{"ip_address": "10.1.0.2"}])
    add_if(api, r2, port_id=link["id"])
    add_if(api, r2, subnet_id=sc["id"])
    a = FakeAgent(sb, "h1")
    objs = {o["key"]: o for o in a.hello()["objects"]}
    for k in ("network:" + nc["id"], "subnet:" + sc["id"], "router:" + r1["id"],
              "router:" + r2["id"], "network:" + nb["id"]):
        assert k in objs, k
    assert objs["router:" + r1["id"]]["router_key"] != objs["router:" + r2["id"]]["router_key"]
    pc = port(api, nc, **{"binding:host_id": "h3"})
    d = a.next()
    assert keys_of(d["upsert"]) == ["port:" + pc["id"]]
    # R2 goes admin down: the router object changes in h1's view.
    assert api.put("/v2.0/routers/" + r2["id"],
                   {"router": {"admin_state_up": False}}).status_code == 200
    d = a.next()
    assert keys_of(d["upsert"]) == ["router:" + r2["id"]]
    assert d["upsert"][0]["admin_state_up"] is False
    a.close()


# --- the stock client ---

OPENSTACK = "/usr/bin/openstack"


@pytest.mark.skipif(not os.path.exists(OPENSTACK), reason="no openstack client")
def test_openstack_client(weftd, api, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(tmp_path)

    def osc(*args, as_json=True):
        cmd = [OPENSTACK, "--os-auth-type", "none", "--os-endpoint", weftd.url] + list(args)
        if as_json:
            cmd += ["-f", "json"]
        p = subprocess.run(cmd, env=env, cwd=str(tmp_path), capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, (cmd, p.stdout, p.stderr)
        return json.loads(p.stdout) if as_json else p.stdout

    n, s = net_sub(api, "10.0.0.0/24")
    r = osc("router", "create", "r1")
    assert r["name"] == "r1" and r["status"] == "ACTIVE"
    osc("router", "add", "subnet", "r1", s["id"], as_json=False)
    ports = lst(api, "ports", params={"device_id": r["id"]})
    assert len(ports) == 1 and ports[0]["fixed_ips"][0]["ip_address"] == "10.0.0.1"
    shown = osc("router", "show", "r1")
    assert shown["id"] == r["id"]
    osc("router", "remove", "subnet", "r1", s["id"], as_json=False)
    osc("router", "delete", "r1", as_json=False)
    assert lst(api, "routers") == []
