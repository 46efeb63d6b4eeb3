# SPDX-License-Identifier: Apache-2.0
"""subnets: CRUD, defaults, pools, filters, pagination, bulk."""

from conftest import neutron_error
from util import (bad_request, check_standard_attrs, ids, lst, network, new_id, not_found,
                  port, show, snapshot, subnet)


def test_create_defaults(api):
    n = network(api)
    r = api.post("/v2.0/subnets", {"subnet": {"network_id": n["id"], "ip_version": 4,
                                              "cidr": "10.1.0.0/24"}})
    assert r.status_code == 201, r.text
    s = r.json()["subnet"]
    check_standard_attrs(s)
    assert s["revision_number"] == 1
    assert s["network_id"] == n["id"]
    assert s["ip_version"] == 4
    assert s["cidr"] == "10.1.0.0/24"
    assert s["name"] == ""
    assert s["gateway_ip"] == "10.1.0.1"
    assert s["allocation_pools"] == [{"start": "10.1.0.2", "end": "10.1.0.254"}]
    assert s["enable_dhcp"] is True
    assert s["dns_nameservers"] == []
    assert s["host_routes"] == []
    assert s["ipv6_ra_mode"] is None and s["ipv6_address_mode"] is None
    assert s["subnetpool_id"] is None and s["segment_id"] is None
    assert s["service_types"] == []
    assert s["project_id"] == n["project_id"]
    assert show(api, "subnets", s["id"]) == s


def test_default_pools_other_sizes(api):
    n = network(api)
    s = subnet(api, n, "192.168.8.0/22")
    assert s["gateway_ip"] == "192.168.8.1"
    assert s["allocation_pools"] == [{"start": "192.168.8.2", "end": "192.168.11.254"}]
    s = subnet(api, network(api), "10.9.9.8/29")
    assert s["gateway_ip"] == "10.9.9.9"
    assert s["allocation_pools"] == [{"start": "10.9.9.10", "end": "10.9.9.14"}]


def test_gateway_in_the_middle_splits_pool(api):
    s = subnet(api, network(api), "10.0.0.0/24", gateway_ip="10.0.0.100")
    assert s["gateway_ip"] == "10.0.0.100"
    assert s["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.99"},
                                     {"start": "10.0.0.101", "end": "10.0.0.254"}]


def test_no_gateway(api):
    s = subnet(api, network(api), "10.0.0.0/24", gateway_ip=None)
    assert s["gateway_ip"] is None
    assert s["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.254"}]


def test_explicit_pools_and_attrs(api):
    n = network(api)
    s = subnet(api, n, "10.0.0.0/24", name="s", description="desc", enable_dhcp=False,
               allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.20"},
                                 {"start": "10.0.0.100", "end": "10.0.0.100"}],
               dns_nameservers=["8.8.8.8", "1.1.1.1"],
               host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}])
    assert s["name"] == "s" and s["description"] == "desc" and s["enable_dhcp"] is False
    assert s["allocation_pools"] == [{"start": "10.0.0.10", "end": "10.0.0.20"},
                                     {"start": "10.0.0.100", "end": "10.0.0.100"}]
    assert s["dns_nameservers"] == ["8.8.8.8", "1.1.1.1"]
    assert s["host_routes"] == [{"destination": "192.168.0.0/16", "nexthop": "10.0.0.254"}]
    assert s["gateway_ip"] == "10.0.0.1"
    assert show(api, "subnets", s["id"]) == s


def test_required_attributes(api):
    n = network(api)
    for body in ({"ip_version": 4, "cidr": "10.0.0.0/24"},
                 {"network_id": n["id"], "cidr": "10.0.0.0/24"},
                 {"network_id": n["id"], "ip_version": 4}):
        bad_request(api.post("/v2.0/subnets", {"subnet": body}))
    assert lst(api, "subnets") == []


def test_ipv6_is_400(api):
    n = network(api)
    bad_request(api.post("/v2.0/subnets", {"subnet": {"network_id": n["id"], "ip_version": 6,
                                                      "cidr": "fd00::/64"}}))
    bad_request(api.post("/v2.0/subnets", {"subnet": {"network_id": n["id"], "ip_version": 4,
                                                      "cidr": "fd00::/64"}}))
    assert lst(api, "subnets") == []


def test_unknown_network(api):
    r = api.post("/v2.0/subnets", {"subnet": {"network_id": new_id(), "ip_version": 4,
                                              "cidr": "10.0.0.0/24"}})
    neutron_error(r, 404, "NetworkNotFound")
    assert lst(api, "subnets") == []


def test_show_unknown(api):
    not_found(api.get("/v2.0/subnets/" + new_id()), "SubnetNotFound")
    not_found(api.put("/v2.0/subnets/" + new_id(), {"subnet": {"name": "x"}}), "SubnetNotFound")
    not_found(api.delete("/v2.0/subnets/" + new_id()), "SubnetNotFound")


def test_update(api):
    s = subnet(api, network(api))
    r = api.put("/v2.0/subnets/" + s["id"], {"subnet": {"name": "renamed",
                                                        "dns_nameservers": ["9.9.9.9"],
                                                        "enable_dhcp": False}})
    assert r.status_code == 200, r.text
    u = r.json()["subnet"]
    assert u["name"] == "renamed" and u["dns_nameservers"] == ["9.9.9.9"]
    assert u["enable_dhcp"] is False
    assert u["revision_number"] == s["revision_number"] + 1
    assert u["cidr"] == s["cidr"] and u["allocation_pools"] == s["allocation_pools"]
    assert show(api, "subnets", s["id"]) == u


def test_update_immutable(api):
    n = network(api)
    s = subnet(api, n)
    for attrs in ({"cidr": "10.0.1.0/24"}, {"network_id": network(api)["id"]},
                  {"ip_version": 4}):
        bad_request(api.put("/v2.0/subnets/" + s["id"], {"subnet": attrs}))
    assert show(api, "subnets", s["id"]) == s


def test_delete(api):
    n = network(api)
    s = subnet(api, n)
    r = api.delete("/v2.0/subnets/" + s["id"])
    assert r.status_code == 204 and r.content == b""
    not_found(api.get("/v2.0/subnets/" + s["id"]), "SubnetNotFound")
    assert lst(api, "subnets") == []
    assert show(api, "networks", n["id"])["subnets"] == []


def test_delete_in_use(api):
    n = network(api)
    s = subnet(api, n)
    p = port(api, n)
    neutron_error(api.delete("/v2.0/subnets/" + s["id"]), 409, "SubnetInUse")
    assert show(api, "subnets", s["id"]) == s
    assert show(api, "networks", n["id"])["subnets"] == [s["id"]]
    assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
    assert api.delete("/v2.0/subnets/" + s["id"]).status_code == 204


def test_same_cidr_on_two_networks(api):
    a = subnet(api, network(api), "10.0.0.0/24")
    b = subnet(api, network(api), "10.0.0.0/24")
    assert a["cidr"] == b["cidr"] and a["id"] != b["id"]


def test_overlap_on_one_network(api):
    n = network(api)
    subnet(api, n, "10.0.0.0/24")
    before = snapshot(api)
    for cidr in ("10.0.0.0/24", "10.0.0.0/16", "10.0.0.128/25"):
        bad_request(api.post("/v2.0/subnets", {"subnet": {"network_id": n["id"],
                                                          "ip_version": 4, "cidr": cidr}}))
    assert snapshot(api) == before
    # Adjacent is fine.
    subnet(api, n, "10.0.1.0/24")


def test_filters(api):
    n1 = network(api)
    n2 = network(api)
    a = subnet(api, n1, "10.0.0.0/24", name="a")
    b = subnet(api, n2, "10.0.1.0/24", name="b", enable_dhcp=False)
    assert ids(lst(api, "subnets", {"network_id": n1["id"]})) == [a["id"]]
    assert ids(lst(api, "subnets", {"cidr": "10.0.1.0/24"})) == [b["id"]]
    assert ids(lst(api, "subnets", {"enable_dhcp": "false"})) == [b["id"]]
    assert ids(lst(api, "subnets", {"ip_version": "4", "name": "a"})) == [a["id"]]
    got = lst(api, "subnets", [("network_id", n1["id"]), ("network_id", n2["id"])])
    assert sorted(ids(got)) == sorted([a["id"], b["id"]])
    got = lst(api, "subnets", [("fields", "id"), ("fields", "cidr"), ("name", "b")])
    assert got == [{"id": b["id"], "cidr": "10.0.1.0/24"}]
    bad_request(api.get("/v2.0/subnets", params={"nonsense": "1"}))


def test_pagination_and_sort(api):
    n = network(api)
    made = [subnet(api, n, "10.0.%d.0/24" % i, name="s%d" % (5 - i)) for i in range(5)]
    got = lst(api, "subnets", {"sort_key": "name", "sort_dir": "asc"})
    assert [s["name"] for s in got] == ["s1", "s2", "s3", "s4", "s5"]
    r = api.get("/v2.0/subnets", params={"limit": 2, "sort_key": "name", "sort_dir": "asc"})
    body = r.json()
    assert [s["name"] for s in body["subnets"]] == ["s1", "s2"]
    assert any(l["rel"] == "next" for l in body["subnets_links"])
    r = api.get("/v2.0/subnets", params={"limit": 2, "sort_key": "name", "sort_dir": "asc",
                                         "marker": body["subnets"][-1]["id"]})
    assert [s["name"] for s in r.json()["subnets"]] == ["s3", "s4"]
    assert len(made) == 5


def test_bulk(api):
    n = network(api)
    r = api.post("/v2.0/subnets", {"subnets": [
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.1.0/24"}]})
    assert r.status_code == 201, r.text
    got = r.json()["subnets"]
    assert [s["cidr"] for s in got] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert sorted(show(api, "networks", n["id"])["subnets"]) == sorted(ids(got))


def test_bulk_all_or_nothing(api):
    n = network(api)
    before = snapshot(api)
    # The second item overlaps the first.
    r = api.post("/v2.0/subnets", {"subnets": [
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.0.0/25"}]})
    bad_request(r)
    assert snapshot(api) == before
    r = api.post("/v2.0/subnets", {"subnets": [
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.0.0/24"},
        {"network_id": n["id"], "ip_version": 4, "cidr": "10.0.0.7/24"}]})
    bad_request(r)
    assert snapshot(api) == before
    assert show(api, "networks", n["id"])["revision_number"] == before["networks"][0]["revision_number"]
