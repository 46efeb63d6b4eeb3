# SPDX-License-Identifier: Apache-2.0
"""Discovery documents, unknown URLs and wrong methods."""

from conftest import neutron_error
from util import network

EXTENSIONS = {
    "binding", "provider", "allowed-address-pairs", "port-security",
    "standard-attr-revisions", "standard-attr-timestamp",
    "standard-attr-description", "project-id", "agent", "filter-validation",
    "pagination", "sorting",
}


def test_root_lists_versions(weftd, api):
    r = api.get("/")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    versions = r.json()["versions"]
    assert len(versions) == 1, versions
    v = versions[0]
    assert v["id"] == "v2.0"
    assert v["status"] == "CURRENT"
    assert {"href": "http://127.0.0.1:%d/v2.0/" % weftd.port, "rel": "self"} in v["links"], v


def test_v2_lists_resources(api):
    for path in ("/v2.0", "/v2.0/"):
        r = api.get(path)
        assert r.status_code == 200, (path, r.text)
        res = r.json()["resources"]
        by_name = {x["name"]: x for x in res}
        assert set(by_name) >= {"network", "subnet", "port", "agent"}, res
        for name in ("network", "subnet", "port", "agent"):
            assert by_name[name]["collection"] == name + "s"
            assert isinstance(by_name[name]["links"], list) and by_name[name]["links"], res
            assert any(l["href"].endswith("/v2.0/%ss" % name) for l in by_name[name]["links"]), res


def test_extensions_list(api):
    r = api.get("/v2.0/extensions")
    assert r.status_code == 200, r.text
    exts = r.json()["extensions"]
    aliases = {e["alias"] for e in exts}
    assert aliases >= EXTENSIONS, EXTENSIONS - aliases
    for e in exts:
        assert {"alias", "name", "description"} <= set(e), e


def test_extension_show(api):
    for alias in ("binding", "provider", "agent", "pagination"):
        r = api.get("/v2.0/extensions/" + alias)
        assert r.status_code == 200, (alias, r.text)
        assert r.json()["extension"]["alias"] == alias


def test_extension_show_unknown(api):
    r = api.get("/v2.0/extensions/no-such-extension")
    neutron_error(r, 404)


def test_unknown_urls_404(api):
    for path in ("/v2.0/routers-nope", "/v3", "/v2.0/networks/%s/whatever" % "x",
                 "/nothing/here", "/v2.0/frobnicators"):
        r = api.get(path)
        neutron_error(r, 404)
    # An unknown collection is HTTPNotFound (it is not an unknown id).
    neutron_error(api.get("/v2.0/frobnicators"), 404, "HTTPNotFound")
    neutron_error(api.post("/v2.0/frobnicators", {"frobnicator": {}}), 404, "HTTPNotFound")


def test_wrong_method_405(api):
    n = network(api)
    # POST on a member, PUT and DELETE on a collection.
    for method, path in (("POST", "/v2.0/networks/" + n["id"]),
                         ("PUT", "/v2.0/networks"),
                         ("DELETE", "/v2.0/ports")):
        r = api.request(method, path, body={"network": {"name": "x"}})
        neutron_error(r, 405, "HTTPMethodNotAllowed")
    # Nothing changed.
    r = api.get("/v2.0/networks/" + n["id"])
    assert r.json()["network"]["name"] == "net"
    assert r.json()["network"]["revision_number"] == n["revision_number"]


def test_other_http_methods_405(api):
    n = network(api)
    for method in ("PATCH", "OPTIONS"):
        r = api.request(method, "/v2.0/networks/" + n["id"], body={"network": {"name": "x"}})
        neutron_error(r, 405, "HTTPMethodNotAllowed")
    assert api.get("/v2.0/networks/" + n["id"]).json()["network"]["name"] == "net"
