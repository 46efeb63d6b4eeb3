# SPDX-License-Identifier: Apache-2.0
"""networks: CRUD, defaults, VNIs, filters, pagination, sorting, bulk."""

import time
from urllib.parse import parse_qs, urlparse

from conftest import neutron_error
from util import (bad_request, check_standard_attrs, ids, lst, network, new_id, not_found,
                  port, show, subnet)

# 0xFFFFFF is WEFT_VNI_HANDOFF (docs/gateways.md): never a network's VNI.
VNI_HANDOFF = (1 << 24) - 1
VNI_MAX = VNI_HANDOFF - 1


def test_create_defaults(api):
    r = api.post("/v2.0/networks", {"network": {"name": "n1"}})
    assert r.status_code == 201, r.text
    n = r.json()["network"]
    check_standard_attrs(n)
    assert n["name"] == "n1"
    assert n["revision_number"] == 1
    assert n["admin_state_up"] is True
    assert n["shared"] is False
    assert n["mtu"] == 1450
    assert n["port_security_enabled"] is True
    assert n["router:external"] is False
    assert n["provider:network_type"] == "vxlan"
    assert n["provider:physical_network"] is None
    vni = n["provider:segmentation_id"]
    assert isinstance(vni, int) and 1 <= vni <= VNI_MAX, vni
    assert n["status"] == "ACTIVE"
    assert n["subnets"] == []
    assert n["description"] == ""
    assert n["project_id"] == "default"
    assert n["ipv4_address_scope"] is None
    assert n["ipv6_address_scope"] is None
    assert isinstance(n["availability_zone_hints"], list)
    assert isinstance(n["availability_zones"], list)
    # Show answers the same document.
    assert show(api, "networks", n["id"]) == n


def test_create_with_attributes(api):
    n = network(api, name="x", description="d", admin_state_up=False, mtu=1400,
                port_security_enabled=False, shared=True)
    assert (n["name"], n["description"], n["admin_state_up"], n["mtu"],
            n["port_security_enabled"], n["shared"]) == ("x", "d", False, 1400, False, True)
    assert show(api, "networks", n["id"]) == n


def test_empty_body_object_creates(api):
    r = api.post("/v2.0/networks", {"network": {}})
    assert r.status_code == 201, r.text
    assert r.json()["network"]["name"] == ""


def test_list_and_show(api):
    assert lst(api, "networks") == []
    a = network(api, name="a")
    b = network(api, name="b")
    got = lst(api, "networks")
    assert sorted(ids(got)) == sorted([a["id"], b["id"]])
    assert {x["id"]: x for x in got}[a["id"]] == a


def test_show_unknown(api):
    not_found(api.get("/v2.0/networks/" + new_id()), "NetworkNotFound")
    not_found(api.get("/v2.0/networks/not-a-uuid"), "NetworkNotFound")


def test_update(api):
    n = network(api, name="old")
    time.sleep(1.1)
    r = api.put("/v2.0/networks/" + n["id"], {"network": {"name": "new", "admin_state_up": False,
                                                          "description": "dd"}})
    assert r.status_code == 200, r.text
    u = r.json()["network"]
    assert u["name"] == "new" and u["admin_state_up"] is False and u["description"] == "dd"
    assert u["revision_number"] == n["revision_number"] + 1
    assert u["created_at"] == n["created_at"]
    assert u["updated_at"] > n["updated_at"]
    assert u["id"] == n["id"]
    assert u["provider:segmentation_id"] == n["provider:segmentation_id"]
    assert show(api, "networks", n["id"]) == u
    r = api.put("/v2.0/networks/" + n["id"], {"network": {"mtu": 1300}})
    assert r.status_code == 200, r.text
    assert r.json()["network"]["mtu"] == 1300
    assert r.json()["network"]["revision_number"] == n["revision_number"] + 2


def test_update_unknown(api):
    not_found(api.put("/v2.0/networks/" + new_id(), {"network": {"name": "x"}}), "NetworkNotFound")


def test_delete(api):
    n = network(api)
    r = api.delete("/v2.0/networks/" + n["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    not_found(api.get("/v2.0/networks/" + n["id"]), "NetworkNotFound")
    not_found(api.delete("/v2.0/networks/" + n["id"]), "NetworkNotFound")
    assert lst(api, "networks") == []


def test_delete_cascades_to_subnets(api):
    n = network(api)
    s1 = subnet(api, n, "10.0.0.0/24")
    s2 = subnet(api, n, "10.0.1.0/24")
    other = network(api)
    s3 = subnet(api, other, "10.0.0.0/24")
    assert api.delete("/v2.0/networks/" + n["id"]).status_code == 204
    for s in (s1, s2):
        not_found(api.get("/v2.0/subnets/" + s["id"]), "SubnetNotFound")
    assert ids(lst(api, "subnets")) == [s3["id"]]
    assert lst(api, "subnets", {"network_id": n["id"]}) == []


def test_delete_with_port_is_409(api):
    n = network(api)
    subnet(api, n)
    p = port(api, n)
    before = show(api, "networks", n["id"])
    neutron_error(api.delete("/v2.0/networks/" + n["id"]), 409, "NetworkInUse")
    assert show(api, "networks", n["id"]) == before
    assert len(lst(api, "subnets")) == 1
    assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
    assert api.delete("/v2.0/networks/" + n["id"]).status_code == 204


def test_subnets_attribute_follows_subnets(api):
    n = network(api)
    s1 = subnet(api, n, "10.0.0.0/24")
    assert show(api, "networks", n["id"])["subnets"] == [s1["id"]]
    s2 = subnet(api, n, "10.0.1.0/24")
    assert sorted(show(api, "networks", n["id"])["subnets"]) == sorted([s1["id"], s2["id"]])
    assert api.delete("/v2.0/subnets/" + s1["id"]).status_code == 204
    assert show(api, "networks", n["id"])["subnets"] == [s2["id"]]
    # The list shows it too.
    assert lst(api, "networks")[0]["subnets"] == [s2["id"]]


# --- VNIs -------------------------------------------------------------------

def test_vni_unique_across_many_networks(api):
    nets = [network(api, name="n%d" % i) for i in range(60)]
    vnis = [n["provider:segmentation_id"] for n in nets]
    assert len(set(vnis)) == len(vnis), vnis
    assert all(isinstance(v, int) and 1 <= v <= VNI_MAX for v in vnis), vnis
    # And show agrees with create.
    listed = {n["id"]: n["provider:segmentation_id"] for n in lst(api, "networks")}
    assert listed == {n["id"]: n["provider:segmentation_id"] for n in nets}


def test_vni_bulk_unique(api):
    r = api.post("/v2.0/networks", {"networks": [{"name": "b%d" % i} for i in range(20)]})
    assert r.status_code == 201, r.text
    vnis = [n["provider:segmentation_id"] for n in r.json()["networks"]]
    assert len(set(vnis)) == 20, vnis


def test_vni_not_reused_after_delete(api):
    keep = [network(api) for _ in range(3)]
    gone = network(api)
    gone_vni = gone["provider:segmentation_id"]
    assert api.delete("/v2.0/networks/" + gone["id"]).status_code == 204
    used = {n["provider:segmentation_id"] for n in keep}
    for _ in range(10):
        v = network(api)["provider:segmentation_id"]
        assert v != gone_vni, "VNI %d reused right after its network was deleted" % v
        assert v not in used
        used.add(v)


def test_vni_admin_requested(api):
    n = network(api, **{"provider:segmentation_id": 4242, "provider:network_type": "vxlan"})
    assert n["provider:segmentation_id"] == 4242
    assert show(api, "networks", n["id"])["provider:segmentation_id"] == 4242
    before = lst(api, "networks")
    r = api.post("/v2.0/networks", {"network": {"name": "dup", "provider:segmentation_id": 4242}})
    neutron_error(r, 409, "SegmentationIdInUse")
    assert lst(api, "networks") == before
    # The highest VNI is usable.
    m = network(api, **{"provider:segmentation_id": VNI_MAX})
    assert m["provider:segmentation_id"] == VNI_MAX
    # The gateways' hand-off VNI is not.
    bad_request(api.post("/v2.0/networks", {"network": {"provider:segmentation_id": VNI_HANDOFF}}))


def test_vni_allocator_skips_requested(api):
    a = network(api)
    v = a["provider:segmentation_id"]
    # Take the next few VNIs explicitly; the allocator must step over them.
    taken = {v}
    for k in range(1, 4):
        if v + k <= VNI_MAX:
            taken.add(network(api, **{"provider:segmentation_id": v + k})["provider:segmentation_id"])
    for _ in range(5):
        w = network(api)["provider:segmentation_id"]
        assert w not in taken, (w, taken)
        taken.add(w)


def test_vni_requested_after_release(api):
    n = network(api, **{"provider:segmentation_id": 777})
    assert api.delete("/v2.0/networks/" + n["id"]).status_code == 204
    # Once free, an admin may take it again explicitly.
    m = network(api, **{"provider:segmentation_id": 777})
    assert m["provider:segmentation_id"] == 777


def test_vni_out_of_range(api):
    for v in (0, -1, 1 << 24, "abc"):
        r = api.post("/v2.0/networks", {"network": {"provider:segmentation_id": v}})
        bad_request(r)
    assert lst(api, "networks") == []


def test_network_type_only_vxlan(api):
    bad_request(api.post("/v2.0/networks", {"network": {"provider:network_type": "vlan"}}))
    assert lst(api, "networks") == []


def test_vni_not_updatable(api):
    n = network(api)
    r = api.put("/v2.0/networks/" + n["id"],
                {"network": {"provider:segmentation_id": n["provider:segmentation_id"] + 1}})
    bad_request(r)
    assert show(api, "networks", n["id"]) == n


def test_mtu_limit(api):
    bad_request(api.post("/v2.0/networks", {"network": {"mtu": 1451}}))
    assert lst(api, "networks") == []
    assert network(api, mtu=1450)["mtu"] == 1450
    n = network(api, mtu=1000)
    bad_request(api.put("/v2.0/networks/" + n["id"], {"network": {"mtu": 1500}}))
    assert show(api, "networks", n["id"])["mtu"] == 1000


def test_mtu_follows_underlay(tmp_path):
    from conftest import Api, Weftd
    d = Weftd(tmp_path, config="underlay_mtu = 9000\n").start()
    try:
        api = Api(d.url)
        assert network(api, mtu=8950)["mtu"] == 8950
        bad_request(api.post("/v2.0/networks", {"network": {"mtu": 8951}}))
        assert len(lst(api, "networks")) == 1
    finally:
        assert d.stop() == 0, d.log()


# --- filters, fields, pagination, sorting -----------------------------------

def test_filter_by_name(api):
    a = network(api, name="alpha")
    b = network(api, name="beta")
    network(api, name="gamma")
    assert ids(lst(api, "networks", {"name": "alpha"})) == [a["id"]]
    assert lst(api, "networks", {"name": "nope"}) == []
    # Repeated keys are ORed.
    got = lst(api, "networks", [("name", "alpha"), ("name", "beta")])
    assert sorted(ids(got)) == sorted([a["id"], b["id"]])
    # Two different keys are ANDed.
    assert lst(api, "networks", {"name": "alpha", "id": b["id"]}) == []
    assert ids(lst(api, "networks", {"name": "beta", "id": b["id"]})) == [b["id"]]


def test_filter_bool(api):
    up = network(api, name="up")
    down = network(api, name="down", admin_state_up=False)
    sh = network(api, name="sh", shared=True)
    assert ids(lst(api, "networks", {"admin_state_up": "false"})) == [down["id"]]
    assert sorted(ids(lst(api, "networks", {"admin_state_up": "true"}))) == \
        sorted([up["id"], sh["id"]])
    assert ids(lst(api, "networks", {"shared": "true"})) == [sh["id"]]
    assert len(lst(api, "networks", {"shared": "false"})) == 2


def test_filter_int_and_id(api):
    a = network(api, mtu=1400)
    network(api)
    assert ids(lst(api, "networks", {"mtu": "1400"})) == [a["id"]]
    vni = a["provider:segmentation_id"]
    assert ids(lst(api, "networks", {"provider:segmentation_id": str(vni)})) == [a["id"]]
    assert ids(lst(api, "networks", {"id": a["id"]})) == [a["id"]]


def test_filter_list_attribute(api):
    n = network(api)
    s = subnet(api, n)
    network(api)
    assert ids(lst(api, "networks", {"subnets": s["id"]})) == [n["id"]]


def test_filter_project(api):
    a = network(api, project_id="p1")
    network(api, project_id="p2")
    assert ids(lst(api, "networks", {"project_id": "p1"})) == [a["id"]]
    assert ids(lst(api, "networks", {"tenant_id": "p1"})) == [a["id"]]


def test_unknown_filter_400(api):
    network(api)
    bad_request(api.get("/v2.0/networks", params={"colour": "red"}))


def test_fields(api):
    n = network(api, name="f")
    got = lst(api, "networks", [("fields", "id"), ("fields", "name")])
    assert got == [{"id": n["id"], "name": "f"}]
    r = api.get("/v2.0/networks/" + n["id"], params=[("fields", "mtu")])
    assert r.status_code == 200, r.text
    assert r.json()["network"] == {"mtu": 1450}
    got = lst(api, "networks", [("fields", "provider:segmentation_id"), ("name", "f")])
    assert got == [{"provider:segmentation_id": n["provider:segmentation_id"]}]


def _walk_pages(api, collection, params):
    seen = []
    p = dict(params)
    for _ in range(100):
        r = api.get("/v2.0/" + collection, params=p)
        assert r.status_code == 200, r.text
        body = r.json()
        page = body[collection]
        assert len(page) <= int(params["limit"])
        seen.extend(page)
        nxt = [l for l in body.get(collection + "_links", []) if l["rel"] == "next"]
        if not page or not nxt:
            return seen
        q = parse_qs(urlparse(nxt[0]["href"]).query)
        assert q["marker"] == [page[-1]["id"]], (nxt, page[-1]["id"])
        assert q["limit"] == [str(params["limit"])]
        p = {k: v[0] if len(v) == 1 else v for k, v in q.items()}
    raise AssertionError("pagination does not end")


def test_pagination(api):
    nets = [network(api, name="p%02d" % i) for i in range(7)]
    r = api.get("/v2.0/networks", params={"limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["networks"]) == 3
    assert any(l["rel"] == "next" for l in body["networks_links"]), body
    walked = ids(_walk_pages(api, "networks", {"limit": 3}))
    # Every network exactly once.
    assert len(walked) == 7 and sorted(walked) == sorted(ids(nets)), walked
    assert walked[:3] == ids(body["networks"])
    # Marker: the page after a given id, in the same order.
    r = api.get("/v2.0/networks", params={"limit": 2, "marker": walked[2]})
    assert ids(r.json()["networks"]) == walked[3:5]
    r = api.get("/v2.0/networks", params={"limit": 10, "marker": walked[5]})
    assert ids(r.json()["networks"]) == walked[6:]
    # limit larger than the collection: everything.
    assert sorted(ids(lst(api, "networks", {"limit": 100}))) == sorted(walked)


def test_pagination_with_sort(api):
    names = ["d", "a", "f", "b", "e", "c"]
    for x in names:
        network(api, name=x)
    walked = _walk_pages(api, "networks", {"limit": 2, "sort_key": "name", "sort_dir": "desc"})
    assert [n["name"] for n in walked] == sorted(names, reverse=True)


def test_sorting(api):
    for x in ("b", "c", "a"):
        network(api, name=x)
    got = lst(api, "networks", {"sort_key": "name", "sort_dir": "asc"})
    assert [n["name"] for n in got] == ["a", "b", "c"]
    got = lst(api, "networks", {"sort_key": "name", "sort_dir": "desc"})
    assert [n["name"] for n in got] == ["c", "b", "a"]
    got = lst(api, "networks", {"sort_key": "provider:segmentation_id", "sort_dir": "desc"})
    v = [n["provider:segmentation_id"] for n in got]
    assert v == sorted(v, reverse=True)


def test_sorting_bad_key(api):
    network(api)
    bad_request(api.get("/v2.0/networks", params={"sort_key": "nope", "sort_dir": "asc"}))
    bad_request(api.get("/v2.0/networks", params={"sort_key": "name", "sort_dir": "sideways"}))
    bad_request(api.get("/v2.0/networks", params={"limit": "many"}))


# --- bulk -------------------------------------------------------------------

def test_bulk_create(api):
    r = api.post("/v2.0/networks", {"networks": [{"name": "b1"}, {"name": "b2", "mtu": 1400}]})
    assert r.status_code == 201, r.text
    got = r.json()["networks"]
    assert [n["name"] for n in got] == ["b1", "b2"]
    assert got[1]["mtu"] == 1400
    assert sorted(ids(lst(api, "networks"))) == sorted(ids(got))


def test_bulk_create_all_or_nothing(api):
    network(api, name="pre")
    before = lst(api, "networks")
    r = api.post("/v2.0/networks", {"networks": [{"name": "ok1"}, {"name": "ok2"},
                                                 {"name": "bad", "mtu": "big"}]})
    bad_request(r)
    assert lst(api, "networks") == before
    # A conflict in the middle of a bulk: nothing written either, and the VNIs
    # of the items before it are not leaked.
    taken = before[0]["provider:segmentation_id"]
    r = api.post("/v2.0/networks", {"networks": [
        {"name": "ok1", "provider:segmentation_id": 5000},
        {"name": "dup", "provider:segmentation_id": taken}]})
    neutron_error(r, 409, "SegmentationIdInUse")
    assert lst(api, "networks") == before
    assert network(api, **{"provider:segmentation_id": 5000})["provider:segmentation_id"] == 5000
    # Two items asking for the same VNI.
    r = api.post("/v2.0/networks", {"networks": [{"provider:segmentation_id": 6000},
                                                 {"provider:segmentation_id": 6000}]})
    neutron_error(r, 409, "SegmentationIdInUse")
    assert len(lst(api, "networks")) == 2


def test_bulk_empty_list(api):
    r = api.post("/v2.0/networks", {"networks": []})
    # Neutron: "Resources required" 400.
    bad_request(r)


# --- shared networks ----------------------------------------------------------

def test_shared_network_port_by_other_project(api):
    n = network(api, project_id="owner", shared=True)
    subnet(api, n, project_id="owner")
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"], "project_id": "other"}})
    assert r.status_code == 201, r.text
    p = r.json()["port"]
    assert p["project_id"] == "other" and p["tenant_id"] == "other"
    assert len(p["fixed_ips"]) == 1
    assert ids(lst(api, "ports", {"network_id": n["id"]})) == [p["id"]]


def test_shared_updatable_by_admin(api):
    n = network(api, project_id="owner")
    r = api.put("/v2.0/networks/" + n["id"], {"network": {"shared": True}})
    assert r.status_code == 200, r.text
    assert r.json()["network"]["shared"] is True
    assert ids(lst(api, "networks", {"shared": "true"})) == [n["id"]]


def test_bad_filter_values(api):
    network(api)
    bad_request(api.get("/v2.0/networks", params={"admin_state_up": "maybe"}))
    bad_request(api.get("/v2.0/networks", params={"mtu": "big"}))
    bad_request(api.get("/v2.0/networks", params={"limit": "-1"}))
