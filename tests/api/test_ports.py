# SPDX-License-Identifier: Apache-2.0
"""ports: CRUD, defaults, IPAM, MACs, filters, pagination, bulk."""

import ipaddress

from conftest import neutron_error
from util import (MAC_RE, bad_request, check_standard_attrs, ids, in_pools, lst,
                  net_with_subnet, network, new_id, not_found, port, show, snapshot, subnet)


def test_create_defaults(api):
    n, s = net_with_subnet(api, "10.0.0.0/24")
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"]}})
    assert r.status_code == 201, r.text
    p = r.json()["port"]
    check_standard_attrs(p)
    assert p["revision_number"] == 1
    assert p["network_id"] == n["id"]
    assert p["name"] == ""
    assert p["admin_state_up"] is True
    assert MAC_RE.match(p["mac_address"]), p["mac_address"]
    assert len(p["fixed_ips"]) == 1
    fip = p["fixed_ips"][0]
    assert fip["subnet_id"] == s["id"]
    assert in_pools(fip["ip_address"], s["allocation_pools"])
    assert fip["ip_address"] != s["gateway_ip"]
    assert p["device_id"] == "" and p["device_owner"] == ""
    assert p["binding:host_id"] == ""
    assert p["binding:vif_type"] == "unbound"
    assert p["binding:vnic_type"] == "normal"
    assert p["binding:profile"] == {}
    assert "binding:vif_details" in p
    assert p["status"] == "DOWN"
    assert isinstance(p["security_groups"], list)
    assert p["allowed_address_pairs"] == []
    assert p["port_security_enabled"] is True
    assert p["project_id"] == "default"
    assert show(api, "ports", p["id"]) == p


def test_create_with_attributes(api):
    n, s = net_with_subnet(api)
    sg = api.create("security_group", "security-groups", name="web")["id"]
    p = port(api, n, name="vm1", description="d", admin_state_up=False,
             mac_address="fa:16:3e:12:34:56", device_id="dev-1", device_owner="compute:nova",
             fixed_ips=[{"subnet_id": s["id"], "ip_address": "10.0.0.77"}],
             security_groups=[sg],
             allowed_address_pairs=[{"ip_address": "10.0.0.200"},
                                    {"ip_address": "10.1.0.0/24", "mac_address": "fa:16:3e:00:00:01"}])
    assert p["name"] == "vm1" and p["description"] == "d" and p["admin_state_up"] is False
    assert p["mac_address"] == "fa:16:3e:12:34:56"
    assert p["device_id"] == "dev-1" and p["device_owner"] == "compute:nova"
    assert p["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "10.0.0.77"}]
    assert p["security_groups"] == [sg]
    assert p["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.200", "mac_address": "fa:16:3e:12:34:56"},
        {"ip_address": "10.1.0.0/24", "mac_address": "fa:16:3e:00:00:01"}]
    assert show(api, "ports", p["id"]) == p


def test_mac_normalised(api):
    n = network(api)
    p = port(api, n, mac_address="FA:16:3E:AB:CD:EF")
    assert p["mac_address"] == "fa:16:3e:ab:cd:ef"
    # And the duplicate check is on the normalised form.
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"], "mac_address": "fa:16:3e:ab:cd:ef"}})
    neutron_error(r, 409, "MacAddressInUse")


def test_generated_macs_unique(api):
    n = network(api)
    macs = [port(api, n, fixed_ips=[])["mac_address"] for _ in range(40)]
    assert len(set(macs)) == 40
    assert all(MAC_RE.match(m) for m in macs), macs


def test_port_without_subnet(api):
    n = network(api)
    p = port(api, n)
    assert p["fixed_ips"] == []


def test_empty_fixed_ips(api):
    n, s = net_with_subnet(api)
    p = port(api, n, fixed_ips=[])
    assert p["fixed_ips"] == []
    # Nothing allocated: the subnet can be deleted.
    assert api.delete("/v2.0/subnets/" + s["id"]).status_code == 204


def test_fixed_ip_forms(api):
    n, s = net_with_subnet(api)
    s2 = subnet(api, n, "10.0.1.0/24")
    # subnet only
    p = port(api, n, fixed_ips=[{"subnet_id": s2["id"]}])
    assert len(p["fixed_ips"]) == 1 and p["fixed_ips"][0]["subnet_id"] == s2["id"]
    assert in_pools(p["fixed_ips"][0]["ip_address"], s2["allocation_pools"])
    # address only: the subnet is found
    p = port(api, n, fixed_ips=[{"ip_address": "10.0.1.50"}])
    assert p["fixed_ips"] == [{"subnet_id": s2["id"], "ip_address": "10.0.1.50"}]
    # both, and two addresses
    p = port(api, n, fixed_ips=[{"subnet_id": s["id"], "ip_address": "10.0.0.5"},
                                {"subnet_id": s2["id"]}])
    assert len(p["fixed_ips"]) == 2
    assert {"subnet_id": s["id"], "ip_address": "10.0.0.5"} in p["fixed_ips"]
    # absent: one address from the first subnet
    p = port(api, n)
    assert len(p["fixed_ips"]) == 1 and p["fixed_ips"][0]["subnet_id"] == s["id"]


def test_allocation_skips_gateway_and_stays_in_pools(api):
    # A gateway in the middle of the range: the pools go around it.
    n = network(api)
    subnet(api, n, "10.0.0.0/29", gateway_ip="10.0.0.3")
    got = set()
    for _ in range(5):
        ip = port(api, n)["fixed_ips"][0]["ip_address"]
        assert ip != "10.0.0.3"
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/29")
        assert ip not in ("10.0.0.0", "10.0.0.7")
        got.add(ip)
    assert got == {"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"}
    neutron_error(api.post("/v2.0/ports", {"port": {"network_id": n["id"]}}), 409,
                  "IpAddressGenerationFailure")


def test_allocation_in_explicit_pool(api):
    n = network(api)
    s = subnet(api, n, "10.0.0.0/24", allocation_pools=[{"start": "10.0.0.100",
                                                         "end": "10.0.0.102"}])
    got = {port(api, n)["fixed_ips"][0]["ip_address"] for _ in range(3)}
    assert got == {"10.0.0.100", "10.0.0.101", "10.0.0.102"}
    neutron_error(api.post("/v2.0/ports", {"port": {"network_id": n["id"]}}), 409,
                  "IpAddressGenerationFailure")
    # An explicit address outside the pools (but inside the subnet) is allowed
    # (Neutron lets an admin do so).
    p = port(api, n, fixed_ips=[{"subnet_id": s["id"], "ip_address": "10.0.0.7"}])
    assert p["fixed_ips"][0]["ip_address"] == "10.0.0.7"


def test_freed_address_returns_to_pool(api):
    n = network(api)
    subnet(api, n, "10.0.0.0/29")
    ports = [port(api, n) for _ in range(5)]
    ips = [p["fixed_ips"][0]["ip_address"] for p in ports]
    assert len(set(ips)) == 5
    assert api.delete("/v2.0/ports/" + ports[2]["id"]).status_code == 204
    again = port(api, n)
    assert again["fixed_ips"][0]["ip_address"] == ips[2]
    # And explicitly.
    assert api.delete("/v2.0/ports/" + again["id"]).status_code == 204
    p = port(api, n, fixed_ips=[{"ip_address": ips[2]}])
    assert p["fixed_ips"][0]["ip_address"] == ips[2]


def test_update_fixed_ips_frees_old_address(api):
    n, s = net_with_subnet(api)
    p = port(api, n, fixed_ips=[{"ip_address": "10.0.0.10"}])
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"fixed_ips": [{"ip_address": "10.0.0.11"}]}})
    assert r.status_code == 200, r.text
    u = r.json()["port"]
    assert u["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "10.0.0.11"}]
    assert u["revision_number"] == p["revision_number"] + 1
    q = port(api, n, fixed_ips=[{"ip_address": "10.0.0.10"}])
    assert q["fixed_ips"][0]["ip_address"] == "10.0.0.10"
    # The new one is taken.
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                          "fixed_ips": [{"ip_address": "10.0.0.11"}]}})
    neutron_error(r, 409, "IpAddressAlreadyAllocated")


def test_update_fixed_ips_to_taken_address(api):
    n, s = net_with_subnet(api)
    p = port(api, n, fixed_ips=[{"ip_address": "10.0.0.10"}])
    q = port(api, n, fixed_ips=[{"ip_address": "10.0.0.11"}])
    r = api.put("/v2.0/ports/" + q["id"], {"port": {"fixed_ips": [{"ip_address": "10.0.0.10"}]}})
    neutron_error(r, 409, "IpAddressAlreadyAllocated")
    assert show(api, "ports", q["id"]) == q
    assert show(api, "ports", p["id"]) == p
    # q's address was not freed by the failed update.
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                          "fixed_ips": [{"ip_address": "10.0.0.11"}]}})
    neutron_error(r, 409, "IpAddressAlreadyAllocated")


def test_update(api):
    n, _ = net_with_subnet(api)
    p = port(api, n, name="a")
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"name": "b", "admin_state_up": False,
                                                    "device_id": "vm", "device_owner": "compute:x",
                                                    "mac_address": "fa:16:3e:00:11:22"}})
    assert r.status_code == 200, r.text
    u = r.json()["port"]
    assert (u["name"], u["admin_state_up"], u["device_id"], u["device_owner"]) == \
        ("b", False, "vm", "compute:x")
    assert u["mac_address"] == "fa:16:3e:00:11:22"
    assert u["fixed_ips"] == p["fixed_ips"]
    assert u["revision_number"] == 2
    assert show(api, "ports", p["id"]) == u
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"name": "c"}})
    assert r.json()["port"]["revision_number"] == 3
    # The old MAC is free again in the network.
    port(api, n, mac_address=p["mac_address"])


def test_read_only_port_attributes(api):
    n, _ = net_with_subnet(api)
    p = port(api, n)
    for attrs in ({"status": "ACTIVE"}, {"binding:vif_type": "tap"}, {"id": new_id()},
                  {"network_id": network(api)["id"]}, {"binding:vif_details": {}},
                  {"revision_number": 9}, {"created_at": "2020-01-01T00:00:00Z"}):
        bad_request(api.put("/v2.0/ports/" + p["id"], {"port": attrs}))
    assert show(api, "ports", p["id"]) == p


def test_binding(api):
    n, _ = net_with_subnet(api)
    p = port(api, n, **{"binding:host_id": "host-1", "binding:profile": {"k": "v"}})
    assert p["binding:host_id"] == "host-1"
    assert p["binding:profile"] == {"k": "v"}
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"binding:host_id": "host-2"}})
    assert r.status_code == 200, r.text
    assert r.json()["port"]["binding:host_id"] == "host-2"
    assert ids(lst(api, "ports", {"binding:host_id": "host-2"})) == [p["id"]]
    bad_request(api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                                  "binding:vnic_type": "direct"}}))


def test_port_security(api):
    n = network(api, port_security_enabled=False)
    subnet(api, n)
    p = port(api, n)
    assert p["port_security_enabled"] is False
    # Address pairs need port security (Neutron: 409 AddressPairAndPortSecurityRequired).
    before = snapshot(api)
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                          "allowed_address_pairs": [{"ip_address": "10.0.0.9"}]}})
    assert r.status_code in (400, 409), r.text
    neutron_error(r, r.status_code)
    assert snapshot(api) == before
    m = network(api)
    subnet(api, m)
    q = port(api, m)
    assert q["port_security_enabled"] is True
    q2 = port(api, m, port_security_enabled=False)
    assert q2["port_security_enabled"] is False


def test_show_unknown(api):
    not_found(api.get("/v2.0/ports/" + new_id()), "PortNotFound")
    not_found(api.put("/v2.0/ports/" + new_id(), {"port": {"name": "x"}}), "PortNotFound")
    not_found(api.delete("/v2.0/ports/" + new_id()), "PortNotFound")


def test_unknown_network(api):
    neutron_error(api.post("/v2.0/ports", {"port": {"network_id": new_id()}}), 404,
                  "NetworkNotFound")
    bad_request(api.post("/v2.0/ports", {"port": {"name": "no network"}}))
    assert lst(api, "ports") == []


def test_delete(api):
    n, _ = net_with_subnet(api)
    p = port(api, n)
    r = api.delete("/v2.0/ports/" + p["id"])
    assert r.status_code == 204 and r.content == b""
    not_found(api.get("/v2.0/ports/" + p["id"]), "PortNotFound")
    assert lst(api, "ports") == []


def test_filters(api):
    n1, s1 = net_with_subnet(api, "10.0.0.0/24")
    n2, s2 = net_with_subnet(api, "10.0.1.0/24")
    a = port(api, n1, name="a", fixed_ips=[{"ip_address": "10.0.0.5"}])
    b = port(api, n1, name="b", admin_state_up=False, device_id="vm-b")
    c = port(api, n2, name="c", fixed_ips=[{"ip_address": "10.0.1.5"}])
    assert sorted(ids(lst(api, "ports", {"network_id": n1["id"]}))) == sorted([a["id"], b["id"]])
    assert ids(lst(api, "ports", {"name": "c"})) == [c["id"]]
    assert ids(lst(api, "ports", {"admin_state_up": "false"})) == [b["id"]]
    assert ids(lst(api, "ports", {"device_id": "vm-b"})) == [b["id"]]
    assert ids(lst(api, "ports", {"mac_address": c["mac_address"]})) == [c["id"]]
    assert ids(lst(api, "ports", {"fixed_ips": "ip_address=10.0.0.5"})) == [a["id"]]
    assert ids(lst(api, "ports", {"fixed_ips": "ip_address=10.0.1.5"})) == [c["id"]]
    assert lst(api, "ports", {"fixed_ips": "ip_address=10.0.9.9"}) == []
    assert ids(lst(api, "ports", {"fixed_ips": "subnet_id=" + s2["id"]})) == [c["id"]]
    got = lst(api, "ports", [("fixed_ips", "ip_address=10.0.0.5"),
                             ("fixed_ips", "ip_address=10.0.1.5")])
    assert sorted(ids(got)) == sorted([a["id"], c["id"]])
    got = lst(api, "ports", [("name", "a"), ("name", "c")])
    assert sorted(ids(got)) == sorted([a["id"], c["id"]])
    # Different keys AND.
    assert lst(api, "ports", {"network_id": n2["id"], "name": "a"}) == []
    got = lst(api, "ports", [("fields", "id"), ("fields", "mac_address"), ("name", "b")])
    assert got == [{"id": b["id"], "mac_address": b["mac_address"]}]
    got = lst(api, "ports", [("fields", "fixed_ips"), ("name", "a")])
    assert got == [{"fixed_ips": [{"subnet_id": s1["id"], "ip_address": "10.0.0.5"}]}]
    bad_request(api.get("/v2.0/ports", params={"color": "blue"}))


def test_pagination_and_sort(api):
    n, _ = net_with_subnet(api)
    made = [port(api, n, name="p%d" % i) for i in range(6)]
    got = lst(api, "ports", {"sort_key": "name", "sort_dir": "desc"})
    assert [p["name"] for p in got] == ["p5", "p4", "p3", "p2", "p1", "p0"]
    seen = []
    params = {"limit": 4}
    while True:
        r = api.get("/v2.0/ports", params=params)
        assert r.status_code == 200, r.text
        page = r.json()["ports"]
        assert len(page) <= 4
        seen += ids(page)
        if len(page) < 4:
            break
        params = {"limit": 4, "marker": page[-1]["id"]}
    assert sorted(seen) == sorted(ids(made)) and len(seen) == 6


def test_bulk(api):
    n, s = net_with_subnet(api)
    r = api.post("/v2.0/ports", {"ports": [{"network_id": n["id"], "name": "p%d" % i}
                                           for i in range(5)]})
    assert r.status_code == 201, r.text
    got = r.json()["ports"]
    assert [p["name"] for p in got] == ["p%d" % i for i in range(5)]
    ips = [p["fixed_ips"][0]["ip_address"] for p in got]
    macs = [p["mac_address"] for p in got]
    assert len(set(ips)) == 5 and len(set(macs)) == 5
    assert sorted(ids(lst(api, "ports"))) == sorted(ids(got))


def test_bulk_all_or_nothing(api):
    n, s = net_with_subnet(api)
    port(api, n, fixed_ips=[{"ip_address": "10.0.0.20"}])
    before = snapshot(api)
    cases = [
        # an address taken by an existing port
        ([{"network_id": n["id"], "fixed_ips": [{"ip_address": "10.0.0.21"}]},
          {"network_id": n["id"], "fixed_ips": [{"ip_address": "10.0.0.20"}]}],
         409, "IpAddressAlreadyAllocated"),
        # the same address twice within the bulk
        ([{"network_id": n["id"], "fixed_ips": [{"ip_address": "10.0.0.30"}]},
          {"network_id": n["id"], "fixed_ips": [{"ip_address": "10.0.0.30"}]}],
         409, "IpAddressAlreadyAllocated"),
        # the same MAC twice within the bulk
        ([{"network_id": n["id"], "mac_address": "fa:16:3e:aa:aa:aa"},
          {"network_id": n["id"], "mac_address": "fa:16:3e:aa:aa:aa"}],
         409, "MacAddressInUse"),
        # a bad item last
        ([{"network_id": n["id"]}, {"network_id": n["id"]}, {"network_id": n["id"], "bogus": 1}],
         400, None),
        # an unknown network
        ([{"network_id": n["id"]}, {"network_id": new_id()}], 404, "NetworkNotFound"),
    ]
    for items, status, type_ in cases:
        r = api.post("/v2.0/ports", {"ports": items})
        if status == 400:
            bad_request(r)
        else:
            neutron_error(r, status, type_)
        assert snapshot(api) == before, items
    # The addresses and MACs the failed bulks touched are all free.
    port(api, n, fixed_ips=[{"ip_address": "10.0.0.21"}], mac_address="fa:16:3e:aa:aa:aa")
    port(api, n, fixed_ips=[{"ip_address": "10.0.0.30"}])


def test_allocation_falls_over_to_next_subnet(api):
    n = network(api)
    s1 = subnet(api, n, "10.0.0.0/30")
    assert s1["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.2"}]
    s2 = subnet(api, n, "10.0.1.0/24")
    p = port(api, n)
    assert p["fixed_ips"] == [{"subnet_id": s1["id"], "ip_address": "10.0.0.2"}]
    q = port(api, n)
    assert len(q["fixed_ips"]) == 1 and q["fixed_ips"][0]["subnet_id"] == s2["id"], q
    # Once s1 has room again, it is first again.
    assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
    assert port(api, n)["fixed_ips"] == [{"subnet_id": s1["id"], "ip_address": "10.0.0.2"}]


def test_update_keeps_own_ip_and_mac(api):
    n, s = net_with_subnet(api)
    s2 = subnet(api, n, "10.0.1.0/24")
    p = port(api, n, fixed_ips=[{"ip_address": "10.0.0.10"}], mac_address="fa:16:3e:00:00:aa")
    # Re-stating the port's own address and MAC is not a conflict with itself.
    r = api.put("/v2.0/ports/" + p["id"], {"port": {
        "mac_address": "fa:16:3e:00:00:aa",
        "fixed_ips": [{"subnet_id": s["id"], "ip_address": "10.0.0.10"},
                      {"subnet_id": s2["id"], "ip_address": "10.0.1.10"}]}})
    assert r.status_code == 200, r.text
    u = r.json()["port"]
    assert sorted(f["ip_address"] for f in u["fixed_ips"]) == ["10.0.0.10", "10.0.1.10"]
    # Dropping one frees it, keeping the other.
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"fixed_ips": [{"ip_address": "10.0.1.10"}]}})
    assert r.status_code == 200, r.text
    assert r.json()["port"]["fixed_ips"] == [{"subnet_id": s2["id"], "ip_address": "10.0.1.10"}]
    port(api, n, fixed_ips=[{"ip_address": "10.0.0.10"}])
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                          "fixed_ips": [{"ip_address": "10.0.1.10"}]}})
    neutron_error(r, 409, "IpAddressAlreadyAllocated")


def test_concurrent_allocation_no_duplicates(weftd):
    from concurrent.futures import ThreadPoolExecutor

    from conftest import Api
    api = Api(weftd.url)
    n, s = net_with_subnet(api, "10.0.0.0/27")   # 29 addresses in the pool

    def mk(_):
        r = Api(weftd.url).post("/v2.0/ports", {"port": {"network_id": n["id"]}})
        return r

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(mk, range(40)))
    ok = [r.json()["port"] for r in results if r.status_code == 201]
    for r in results:
        if r.status_code != 201:
            neutron_error(r, 409, "IpAddressGenerationFailure")
    assert len(ok) == 29
    ips = [p["fixed_ips"][0]["ip_address"] for p in ok]
    assert len(set(ips)) == 29
    assert all(in_pools(ip, s["allocation_pools"]) for ip in ips)
    assert len(lst(api, "ports")) == 29


def test_bulk_exhaustion_writes_nothing(api):
    n, s = net_with_subnet(api, "10.0.0.0/29")   # 5 addresses
    port(api, n)
    before = snapshot(api)
    r = api.post("/v2.0/ports", {"ports": [{"network_id": n["id"]} for _ in range(5)]})
    neutron_error(r, 409, "IpAddressGenerationFailure")
    assert snapshot(api) == before
    r = api.post("/v2.0/ports", {"ports": [{"network_id": n["id"]} for _ in range(4)]})
    assert r.status_code == 201, r.text
