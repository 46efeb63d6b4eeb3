# SPDX-License-Identifier: Apache-2.0
"""Floating IPs (docs/gateways.md): CRUD with Neutron's fields, filters and
errors, association rules, and what the gateways' view shows of them."""

import ipaddress
import json
import os
import subprocess

import pytest

from conftest import neutron_error
from test_auth import clients  # noqa: F401 (a fixture)
from test_external import (PUBLIC_CIDR, api_sb, external_network,  # noqa: F401
                           ports_of, sb, set_gateway, tenant_net)
from test_southbound import FakeAgent, by_key
from util import TS_RE, UUID_RE, bad_request, ids, lst, new_id, show

FIELDS = {"id", "floating_ip_address", "floating_network_id", "router_id", "port_id",
          "fixed_ip_address", "status", "project_id", "tenant_id", "description",
          "port_details", "tags", "created_at", "updated_at", "revision_number"}


def routed(api, cidr="10.0.0.0/24", ext=None):
    """A tenant network behind a router with a gateway on 'ext' (made when
    None); returns (ext network, tenant network, subnet, router)."""
    if ext is None:
        ext, _ = external_network(api)
    net, sn = tenant_net(api, cidr)
    r = api.create("router", name="r", external_gateway_info={"network_id": ext["id"]})
    assert api.put("/v2.0/routers/%s/add_router_interface" % r["id"],
                   {"subnet_id": sn["id"]}).status_code == 200
    return ext, net, sn, r


def fip(api, ext, **kw):
    return api.create("floatingip", floating_network_id=ext["id"], **kw)


def test_create_show_list_delete(api):
    ext, net, sn, r = routed(api)
    f = fip(api, ext)
    assert set(f) == FIELDS, set(f) ^ FIELDS
    assert UUID_RE.match(f["id"]) and TS_RE.match(f["created_at"])
    assert ipaddress.ip_address(f["floating_ip_address"]) in ipaddress.ip_network(PUBLIC_CIDR)
    assert f["floating_network_id"] == ext["id"]
    assert (f["router_id"], f["port_id"], f["fixed_ip_address"]) == (None, None, None)
    assert f["status"] == "DOWN" and f["port_details"] is None and f["tags"] == []
    assert f["revision_number"] == 1 and f["tenant_id"] == f["project_id"]
    # Its port holds the address.
    [p] = ports_of(api, f["id"], "network:floatingip")
    assert p["network_id"] == ext["id"]
    assert p["fixed_ips"][0]["ip_address"] == f["floating_ip_address"]
    neutron_error(api.delete("/v2.0/ports/" + p["id"]), 409, "L3PortInUse")
    assert show(api, "floatingips", f["id"]) == f
    assert ids(lst(api, "floatingips")) == [f["id"]]

    # A given address, and one taken.
    want = str(ipaddress.ip_network(PUBLIC_CIDR)[200])
    g = fip(api, ext, floating_ip_address=want, description="d")
    assert g["floating_ip_address"] == want and g["description"] == "d"
    neutron_error(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "floating_ip_address": want}}),
        409, "IpAddressAlreadyAllocated")

    # Deleting frees the address.
    assert api.delete("/v2.0/floatingips/" + g["id"]).status_code == 204
    assert ports_of(api, g["id"], "network:floatingip") == []
    neutron_error(api.get("/v2.0/floatingips/" + g["id"]), 404, "FloatingIPNotFound")
    neutron_error(api.delete("/v2.0/floatingips/" + g["id"]), 404, "FloatingIPNotFound")
    assert fip(api, ext, floating_ip_address=want)["floating_ip_address"] == want


def test_create_errors(api):
    ext, net, sn, r = routed(api)
    before = lst(api, "ports")
    bad_request(api.post("/v2.0/floatingips", {"floatingip": {}}))
    neutron_error(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": net["id"]}}), 400, "BadRequest")
    neutron_error(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": new_id()}}), 404, "NetworkNotFound")
    bad_request(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "floating_ip_address": "198.51.100.9"}}))
    bad_request(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "status": "ACTIVE"}}))
    bad_request(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "router_id": r["id"]}}))
    neutron_error(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": new_id()}}), 404, "PortNotFound")
    # Nothing stayed of the failed requests.
    assert lst(api, "ports") == before and lst(api, "floatingips") == []


def test_associate_disassociate(api):
    ext, net, sn, r = routed(api)
    vm = api.create("port", network_id=net["id"])
    ip = vm["fixed_ips"][0]["ip_address"]
    f = fip(api, ext, port_id=vm["id"])
    assert (f["port_id"], f["fixed_ip_address"], f["router_id"], f["status"]) == (
        vm["id"], ip, r["id"], "ACTIVE")
    # Disassociate, associate again by update, with the address given.
    u = api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"port_id": None}})
    assert u.status_code == 200, u.text
    f2 = u.json()["floatingip"]
    assert (f2["port_id"], f2["fixed_ip_address"], f2["router_id"], f2["status"]) == (
        None, None, None, "DOWN")
    assert f2["revision_number"] == f["revision_number"] + 1
    u = api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {
        "port_id": vm["id"], "fixed_ip_address": ip, "description": "web"}})
    assert u.status_code == 200, u.text
    assert u.json()["floatingip"]["fixed_ip_address"] == ip
    assert u.json()["floatingip"]["description"] == "web"
    # Read-only members.
    bad_request(api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"router_id": None}}))
    bad_request(api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {
        "floating_ip_address": "203.0.113.150"}}))
    # Deleting the port disassociates.
    assert api.delete("/v2.0/ports/" + vm["id"]).status_code == 204
    f3 = show(api, "floatingips", f["id"])
    assert (f3["port_id"], f3["fixed_ip_address"], f3["router_id"], f3["status"]) == (
        None, None, None, "DOWN")


def test_association_errors(api):
    ext, net, sn, r = routed(api)
    vm = api.create("port", network_id=net["id"])
    f = fip(api, ext)

    def put(**kw):
        return api.put("/v2.0/floatingips/" + f["id"], {"floatingip": kw})

    neutron_error(put(port_id=new_id()), 404, "PortNotFound")
    # A port without a fixed IP.
    bare = api.create("port", network_id=net["id"], fixed_ips=[])
    err = neutron_error(put(port_id=bare["id"]), 400, "BadRequest")
    assert "does not have fixed IP" in err["message"]
    # A fixed IP the port does not have.
    neutron_error(put(port_id=vm["id"], fixed_ip_address="10.0.0.250"), 400, "BadRequest")
    neutron_error(put(fixed_ip_address="10.0.0.5"), 400, "BadRequest")  # no port
    # A subnet that no router connects to the floating network.
    lone, lsn = tenant_net(api, "10.5.0.0/24")
    stray = api.create("port", network_id=lone["id"])
    neutron_error(put(port_id=stray["id"]), 404, "ExternalGatewayForFloatingIPNotFound")
    # A router whose gateway is on another external network.
    ext2, _ = external_network(api, "198.51.100.0/24", name="public2")
    _, net2, _, _ = routed(api, "10.6.0.0/24", ext=ext2)
    far = api.create("port", network_id=net2["id"])
    neutron_error(put(port_id=far["id"]), 404, "ExternalGatewayForFloatingIPNotFound")
    # A router port itself is not a target.
    iface = [p for p in lst(api, "ports", params={"device_id": r["id"]})
             if p["device_owner"] == "network:router_interface"][0]
    neutron_error(put(port_id=iface["id"]), 404, "PortNotFound")
    # One floating IP per fixed IP.
    assert put(port_id=vm["id"]).status_code == 200
    other = fip(api, ext)
    neutron_error(api.put("/v2.0/floatingips/" + other["id"], {"floatingip": {
        "port_id": vm["id"]}}), 409, "FloatingIPPortAlreadyAssociated")
    neutron_error(api.post("/v2.0/floatingips", {"floatingip": {
        "floating_network_id": ext["id"], "port_id": vm["id"]}}),
        409, "FloatingIPPortAlreadyAssociated")
    # Several IPv4 addresses: the address must be given.
    two = api.create("port", network_id=net["id"], fixed_ips=[
        {"subnet_id": sn["id"]}, {"subnet_id": sn["id"]}])
    neutron_error(api.put("/v2.0/floatingips/" + other["id"], {"floatingip": {
        "port_id": two["id"]}}), 400, "BadRequest")
    second = two["fixed_ips"][1]["ip_address"]
    u = api.put("/v2.0/floatingips/" + other["id"], {"floatingip": {
        "port_id": two["id"], "fixed_ip_address": second}})
    assert u.status_code == 200 and u.json()["floatingip"]["fixed_ip_address"] == second
    # Nothing of the failures stuck.
    assert show(api, "floatingips", f["id"])["port_id"] == vm["id"]


def test_in_use_by_floating_ips(api):
    ext, net, sn, r = routed(api)
    vm = api.create("port", network_id=net["id"])
    f = fip(api, ext, port_id=vm["id"])
    neutron_error(set_gateway(api, r, None), 409, "RouterExternalGatewayInUseByFloatingIp")
    ext2, _ = external_network(api, "198.51.100.0/24", name="public2")
    neutron_error(set_gateway(api, r, {"network_id": ext2["id"]}),
                  409, "RouterExternalGatewayInUseByFloatingIp")
    neutron_error(api.put("/v2.0/routers/%s/remove_router_interface" % r["id"],
                          {"subnet_id": sn["id"]}), 409, "RouterInterfaceInUseByFloatingIP")
    neutron_error(api.put("/v2.0/networks/" + ext["id"], {"network": {"router:external": False}}),
                  409, "ExternalNetworkInUse")
    # SNAT may still change.
    assert set_gateway(api, r, {"network_id": ext["id"], "enable_snat": False}).status_code == 200
    assert show(api, "routers", r["id"])["external_gateway_info"]["network_id"] == ext["id"]
    # Once disassociated, all of it may go.
    api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"port_id": None}})
    assert api.put("/v2.0/routers/%s/remove_router_interface" % r["id"],
                   {"subnet_id": sn["id"]}).status_code == 200
    assert set_gateway(api, r, None).status_code == 200


def test_filters(api):
    ext, net, sn, r = routed(api)
    vm = api.create("port", network_id=net["id"])
    a = fip(api, ext, port_id=vm["id"])
    b = fip(api, ext)

    def find(**params):
        return ids(lst(api, "floatingips", params=params))

    assert find(floating_ip_address=a["floating_ip_address"]) == [a["id"]]
    assert find(port_id=vm["id"]) == [a["id"]]
    assert find(router_id=r["id"]) == [a["id"]]
    assert find(floating_network_id=ext["id"]) == [a["id"], b["id"]]
    assert find(fixed_ip_address=vm["fixed_ips"][0]["ip_address"]) == [a["id"]]
    assert find(status="ACTIVE") == [a["id"]]
    assert find(status="DOWN") == [b["id"]]
    assert find(project_id=a["project_id"]) == [a["id"], b["id"]]
    assert find(floating_network_id=net["id"]) == []
    assert ids(lst(api, "floatingips", params={"fields": ["id", "status"]})) == [a["id"], b["id"]]
    assert set(lst(api, "floatingips", params={"fields": ["status"]})[0]) == {"status"}
    bad_request(api.get("/v2.0/floatingips", params={"bogus": "1"}))


def test_projects(clients):  # noqa: F811
    admin, a, b = clients
    ext, _ = external_network(admin)
    _, net, sn, r = routed(a, ext=ext)
    vm = a.create("port", network_id=net["id"])
    f = fip(a, ext, port_id=vm["id"])
    assert f["project_id"] == "p-a" and f["status"] == "ACTIVE"
    # Another project neither sees it nor may use a's port.
    assert lst(b, "floatingips") == []
    neutron_error(b.get("/v2.0/floatingips/" + f["id"]), 404, "FloatingIPNotFound")
    neutron_error(b.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"port_id": None}}),
                  404, "FloatingIPNotFound")
    g = fip(b, ext)
    neutron_error(b.put("/v2.0/floatingips/" + g["id"], {"floatingip": {"port_id": vm["id"]}}),
                  404, "PortNotFound")
    assert ids(lst(admin, "floatingips")) == [f["id"], g["id"]]


def test_gateway_view_of_floating_ips(sb, api_sb):  # noqa: F811
    api = api_sb
    ext, net, sn, r = routed(api)
    vm = api.create("port", network_id=net["id"], **{"binding:host_id": "h1"})
    f = fip(api, ext)
    h1 = FakeAgent(sb, "h1", "192.0.2.11")
    assert not [k for k in by_key(h1.hello()["objects"]) if k.startswith("floatingip:")]
    g1 = FakeAgent(sb, "gw1", "192.0.2.101")
    gview = by_key(g1.hello(gateway=True, uplink_ip="203.0.113.2")["objects"])
    h1.next()  # the gateway's arrival
    key = "floatingip:" + f["id"]
    assert gview[key] == {"key": key, "kind": "floatingip", "id": f["id"],
                          "floating_ip_address": f["floating_ip_address"],
                          "router_key": None, "vni": None, "fixed_ip_address": None}
    router_key = gview["router:" + r["id"]]["router_key"]
    vni = gview["network:" + net["id"]]["vni"]

    # Associating: only the gateway is told.
    api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"port_id": vm["id"]}})
    d = g1.next()
    assert by_key(d["upsert"])[key] == {
        "key": key, "kind": "floatingip", "id": f["id"],
        "floating_ip_address": f["floating_ip_address"], "router_key": router_key,
        "vni": vni, "fixed_ip_address": vm["fixed_ips"][0]["ip_address"]}
    h1.quiet(0.5)
    # Disassociating, then deleting.
    api.put("/v2.0/floatingips/" + f["id"], {"floatingip": {"port_id": None}})
    assert by_key(g1.next()["upsert"])[key]["router_key"] is None
    api.delete("/v2.0/floatingips/" + f["id"])
    assert key in g1.next()["delete"]
    h1.quiet(0.5)
    g1.close()
    h1.close()


OPENSTACK = "/usr/bin/openstack"


@pytest.mark.skipif(not os.path.exists(OPENSTACK),
                    reason="python3-openstackclient is not installed")
def test_openstack_client(api, weftd, tmp_path):
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

    ext = osc("network", "create", "--external", "public")
    assert ext["router:external"] is True
    osc("subnet", "create", "--network", "public", "--subnet-range", PUBLIC_CIDR,
        "--no-dhcp", "public-subnet")
    osc("network", "create", "blue")
    osc("subnet", "create", "--network", "blue", "--subnet-range", "10.0.0.0/24", "blue-subnet")
    osc("router", "create", "r")
    osc("router", "add", "subnet", "r", "blue-subnet", as_json=False)
    osc("router", "set", "--external-gateway", "public", "r", as_json=False)
    r = osc("router", "show", "r")
    assert r["external_gateway_info"]["network_id"] == ext["id"]
    vm = osc("port", "create", "--network", "blue", "vm")
    f = osc("floating", "ip", "create", "public")
    assert f["floating_network_id"] == ext["id"] and f["status"] == "DOWN"
    osc("floating", "ip", "set", "--port", vm["id"], f["id"], as_json=False)
    assert show(api, "floatingips", f["id"])["port_id"] == vm["id"]
    listed = osc("floating", "ip", "list")
    assert [x["ID"] for x in listed] == [f["id"]]
    assert listed[0]["Port"] == vm["id"]
    osc("floating", "ip", "unset", "--port", f["id"], as_json=False)
    assert show(api, "floatingips", f["id"])["port_id"] is None
    osc("floating", "ip", "delete", f["id"], as_json=False)
    osc("router", "unset", "--external-gateway", "r", as_json=False)
    assert show(api, "routers", r["id"])["external_gateway_info"] is None
