# SPDX-License-Identifier: Apache-2.0
"""Token authentication, project isolation, admin-only attributes, and the
project of new resources in noauth mode."""

import pytest

from conftest import Api, Weftd, neutron_error
from util import bad_request, ids, lst, new_id, show, snapshot


@pytest.fixture
def clients(tokend):
    return (Api(tokend.url, {"X-Auth-Token": "adm-token"}),
            Api(tokend.url, {"X-Auth-Token": "a-token"}),
            Api(tokend.url, {"X-Auth-Token": "b-token"}))


def create(api, kind, **attrs):
    r = api.post("/v2.0/%ss" % kind, {kind: attrs})
    assert r.status_code == 201, r.text
    return r.json()[kind]


def test_missing_or_wrong_token_401(tokend, clients):
    admin, a, b = clients
    net = create(a, "network", name="a-net")
    anon = Api(tokend.url)
    for method, path, body in (("GET", "/v2.0/networks", None),
                               ("GET", "/v2.0/networks/" + net["id"], None),
                               ("POST", "/v2.0/networks", {"network": {"name": "x"}}),
                               ("PUT", "/v2.0/networks/" + net["id"], {"network": {"name": "x"}}),
                               ("DELETE", "/v2.0/networks/" + net["id"], None),
                               ("GET", "/v2.0/ports", None),
                               ("GET", "/v2.0/agents", None)):
        neutron_error(anon.request(method, path, body=body), 401, "HTTPUnauthorized")
        for bad in ("nope", "a-tokenx", "A-TOKEN", "p-a", "member", "#", "adm"):
            r = anon.request(method, path, body=body, headers={"X-Auth-Token": bad})
            neutron_error(r, 401, "HTTPUnauthorized")
    # Nothing changed.
    assert ids(lst(admin, "networks")) == [net["id"]]
    assert show(admin, "networks", net["id"]) == net


def test_member_projects(clients):
    admin, a, b = clients
    na = create(a, "network", name="a-net")
    nb = create(b, "network", name="b-net")
    assert na["project_id"] == "p-a" and na["tenant_id"] == "p-a"
    assert nb["project_id"] == "p-b"
    sa = create(a, "subnet", network_id=na["id"], ip_version=4, cidr="10.0.0.0/24")
    pa = create(a, "port", network_id=na["id"])
    assert sa["project_id"] == "p-a" and pa["project_id"] == "p-a"

    # Each member lists only its own.
    assert ids(lst(a, "networks")) == [na["id"]]
    assert ids(lst(b, "networks")) == [nb["id"]]
    assert lst(b, "subnets") == [] and lst(b, "ports") == []
    assert ids(lst(a, "subnets")) == [sa["id"]]
    # Even when it asks for the other's.
    assert lst(b, "networks", {"project_id": "p-a"}) == []
    assert lst(b, "networks", {"id": na["id"]}) == []
    # The admin sees all.
    assert sorted(ids(lst(admin, "networks"))) == sorted([na["id"], nb["id"]])
    assert ids(lst(admin, "ports")) == [pa["id"]]
    assert ids(lst(admin, "networks", {"project_id": "p-b"})) == [nb["id"]]


def test_other_projects_resources_are_404(clients):
    admin, a, b = clients
    na = create(a, "network", name="a-net")
    sa = create(a, "subnet", network_id=na["id"], ip_version=4, cidr="10.0.0.0/24")
    pa = create(a, "port", network_id=na["id"])
    before = snapshot(admin)
    for coll, obj, typ in (("networks", na, "NetworkNotFound"), ("subnets", sa, "SubnetNotFound"),
                           ("ports", pa, "PortNotFound")):
        path = "/v2.0/%s/%s" % (coll, obj["id"])
        neutron_error(b.get(path), 404, typ)
        neutron_error(b.put(path, {coll[:-1]: {"name": "pwned"}}), 404, typ)
        neutron_error(b.delete(path), 404, typ)
    # B cannot put a port or a subnet on A's private network.
    r = b.post("/v2.0/ports", {"port": {"network_id": na["id"]}})
    assert r.status_code in (403, 404), r.text
    neutron_error(r, r.status_code)
    r = b.post("/v2.0/subnets", {"subnet": {"network_id": na["id"], "ip_version": 4,
                                            "cidr": "10.1.0.0/24"}})
    assert r.status_code in (403, 404), r.text
    neutron_error(r, r.status_code)
    assert snapshot(admin) == before
    # A still can.
    r = a.put("/v2.0/networks/" + na["id"], {"network": {"name": "mine"}})
    assert r.status_code == 200, r.text
    # And the admin can act on A's resources.
    r = admin.put("/v2.0/ports/" + pa["id"], {"port": {"name": "by-admin"}})
    assert r.status_code == 200, r.text


def test_member_cannot_use_admin_attributes(clients):
    admin, a, b = clients
    na = create(a, "network", name="a-net")
    create(a, "subnet", network_id=na["id"], ip_version=4, cidr="10.0.0.0/24")
    pa = create(a, "port", network_id=na["id"])
    before = snapshot(admin)
    for attrs in ({"shared": True}, {"provider:segmentation_id": 1234},
                  {"router:external": True}):
        neutron_error(a.post("/v2.0/networks", {"network": attrs}), 403, "PolicyNotAuthorized")
        r = a.put("/v2.0/networks/" + na["id"], {"network": attrs})
        if "provider:segmentation_id" in attrs and r.status_code == 400:
            # Not updatable at all (docs/api.md), so a 400 is fine too.
            bad_request(r)
        else:
            neutron_error(r, 403, "PolicyNotAuthorized")
    for attrs in ({"binding:host_id": "h1"}, {"binding:profile": {"a": "b"}}):
        body = {"network_id": na["id"]}
        body.update(attrs)
        neutron_error(a.post("/v2.0/ports", {"port": body}), 403, "PolicyNotAuthorized")
        neutron_error(a.put("/v2.0/ports/" + pa["id"], {"port": attrs}), 403,
                      "PolicyNotAuthorized")
    # A bulk with one such item: nothing written.
    r = a.post("/v2.0/networks", {"networks": [{"name": "ok"}, {"name": "x", "shared": True}]})
    neutron_error(r, 403, "PolicyNotAuthorized")
    assert snapshot(admin) == before
    # The admin may.
    r = admin.put("/v2.0/ports/" + pa["id"], {"port": {"binding:host_id": "h1"}})
    assert r.status_code == 200, r.text
    assert r.json()["port"]["binding:host_id"] == "h1"
    n = create(admin, "network", shared=True, **{"provider:segmentation_id": 1234})
    assert n["shared"] is True and n["provider:segmentation_id"] == 1234


def test_member_cannot_create_for_other_project(clients):
    admin, a, b = clients
    before = snapshot(admin)
    r = a.post("/v2.0/networks", {"network": {"name": "x", "project_id": "p-b"}})
    # Neutron answers 400 for this; a 403 is accepted as well.
    assert r.status_code in (400, 403), r.text
    neutron_error(r, r.status_code)
    assert snapshot(admin) == before
    # Its own project in the body is fine.
    n = create(a, "network", project_id="p-a")
    assert n["project_id"] == "p-a"
    # The admin may create for anyone.
    n = create(admin, "network", project_id="p-b")
    assert n["project_id"] == "p-b"
    assert ids(lst(b, "networks")) == [n["id"]]


def test_shared_network_across_projects(clients):
    admin, a, b = clients
    n = create(admin, "network", name="shared", shared=True, project_id="p-a")
    s = create(a, "subnet", network_id=n["id"], ip_version=4, cidr="10.0.0.0/24")
    private = create(a, "network", name="private")
    # B sees the shared network (and its subnet), not A's private one.
    assert ids(lst(b, "networks")) == [n["id"]]
    assert show(b, "networks", n["id"])["shared"] is True
    assert ids(lst(b, "networks", {"shared": "true"})) == [n["id"]]
    assert ids(lst(b, "subnets")) == [s["id"]]
    neutron_error(b.get("/v2.0/networks/" + private["id"]), 404, "NetworkNotFound")
    # B creates a port on it; the port is B's and A does not see it.
    p = create(b, "port", network_id=n["id"], name="b-port")
    assert p["project_id"] == "p-b"
    assert p["fixed_ips"][0]["subnet_id"] == s["id"]
    assert ids(lst(b, "ports")) == [p["id"]]
    assert lst(a, "ports") == []
    neutron_error(a.get("/v2.0/ports/" + p["id"]), 404, "PortNotFound")
    # B cannot change or delete the shared network itself.
    before = snapshot(admin)
    r = b.put("/v2.0/networks/" + n["id"], {"network": {"name": "mine"}})
    assert r.status_code in (403, 404), r.text
    neutron_error(r, r.status_code)
    r = b.delete("/v2.0/networks/" + n["id"])
    assert r.status_code in (403, 404), r.text
    neutron_error(r, r.status_code)
    # Nor add a subnet to it (only the owner or an admin may).
    r = b.post("/v2.0/subnets", {"subnet": {"network_id": n["id"], "ip_version": 4,
                                            "cidr": "10.1.0.0/24"}})
    neutron_error(r, 403, "PolicyNotAuthorized")
    assert snapshot(admin) == before
    # B deletes its own port.
    assert b.delete("/v2.0/ports/" + p["id"]).status_code == 204


def test_token_file_comments_and_roles(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# only a comment\n  \nt1 proj-1 member\n#t2 proj-2 admin\n")
    d = Weftd(tmp_path, config="auth = token\ntoken_file = %s\n" % tokens).start()
    try:
        ok = Api(d.url, {"X-Auth-Token": "t1"})
        assert lst(ok, "networks") == []
        neutron_error(Api(d.url, {"X-Auth-Token": "#t2"}).get("/v2.0/networks"), 401,
                      "HTTPUnauthorized")
        neutron_error(Api(d.url, {"X-Auth-Token": "t2"}).get("/v2.0/networks"), 401,
                      "HTTPUnauthorized")
    finally:
        assert d.stop() == 0, d.log()


def test_auth_on_command_line(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("tt proj member\n")
    d = Weftd(tmp_path, ["--auth", "token", "--token-file", str(tokens)]).start()
    try:
        neutron_error(Api(d.url).get("/v2.0/networks"), 401, "HTTPUnauthorized")
        n = create(Api(d.url, {"X-Auth-Token": "tt"}), "network")
        assert n["project_id"] == "proj"
    finally:
        assert d.stop() == 0, d.log()


# --- noauth -------------------------------------------------------------------

def test_noauth_project_from_header(api):
    r = api.post("/v2.0/networks", {"network": {"name": "h"}}, headers={"X-Project-Id": "p-h"})
    assert r.status_code == 201, r.text
    n = r.json()["network"]
    assert n["project_id"] == "p-h" and n["tenant_id"] == "p-h"
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"]}}, headers={"X-Project-Id": "p-q"})
    assert r.status_code == 201, r.text
    assert r.json()["port"]["project_id"] == "p-q"


def test_noauth_project_from_body(api):
    n = api.create("network", name="b", project_id="p-body")
    assert n["project_id"] == "p-body" and n["tenant_id"] == "p-body"
    n = api.create("network", name="t", tenant_id="p-tenant")
    assert n["project_id"] == "p-tenant" and n["tenant_id"] == "p-tenant"
    # The body wins over the header.
    r = api.post("/v2.0/networks", {"network": {"project_id": "p-body2"}},
                 headers={"X-Project-Id": "p-h"})
    assert r.status_code == 201, r.text
    assert r.json()["network"]["project_id"] == "p-body2"
    # Different project_id and tenant_id is an error.
    before = snapshot(api)
    r = api.post("/v2.0/networks", {"network": {"project_id": "x", "tenant_id": "y"}})
    assert r.status_code == 400, r.text
    neutron_error(r, 400)
    assert snapshot(api) == before


def test_noauth_default_project(api):
    assert api.create("network")["project_id"] == "default"


def test_noauth_default_project_from_config(tmp_path):
    d = Weftd(tmp_path, config="# comment\ndefault_project = proj-x\n").start()
    try:
        api = Api(d.url)
        n = api.create("network")
        assert n["project_id"] == "proj-x"
        # noauth requests are admin: all projects are visible, and admin-only
        # attributes are allowed.
        api.create("network", project_id="other", shared=True,
                   **{"provider:segmentation_id": 99})
        assert len(lst(api, "networks")) == 2
        p = api.create("port", network_id=n["id"], **{"binding:host_id": "h"})
        assert p["binding:host_id"] == "h"
    finally:
        assert d.stop() == 0, d.log()


def test_noauth_ignores_tokens(api):
    # noauth: a token is not needed and not checked.
    r = api.get("/v2.0/networks", headers={"X-Auth-Token": new_id()})
    assert r.status_code == 200, r.text


def test_token_mode_ignores_project_header(clients):
    admin, a, b = clients
    nb = create(b, "network", name="b-net")
    # A member cannot become another project with X-Project-Id.
    r = a.post("/v2.0/networks", {"network": {"name": "x"}}, headers={"X-Project-Id": "p-b"})
    if r.status_code == 201:
        assert r.json()["network"]["project_id"] == "p-a", r.text
    else:
        assert r.status_code in (400, 403), r.text
    r = a.get("/v2.0/networks/" + nb["id"], headers={"X-Project-Id": "p-b"})
    neutron_error(r, 404, "NetworkNotFound")
    assert nb["id"] not in ids(lst(a, "networks", headers={"X-Project-Id": "p-b"}))
