# SPDX-License-Identifier: Apache-2.0
"""Security groups and rules (docs/security-groups.md): the default group,
rule validation, ports' groups, tenancy, the deltas agents get, and
GET /v2.0/conntrack through a fake agent."""

import os
import time

import pytest

from conftest import Api, neutron_error
from test_southbound import FakeAgent, api, sb  # noqa: F401 (fixtures)
from test_southbound import answer_request, by_key, network, port


def groups(api, **params):
    r = api.get("/v2.0/security-groups", params=params)
    assert r.status_code == 200, r.text
    return r.json()["security_groups"]


def default_group(api):
    return [g for g in groups(api) if g["name"] == "default"][0]


def new_group(api, name="web", **kw):
    return api.create("security_group", "security-groups", name=name, **kw)


def rule(api, group, **kw):
    kw.setdefault("direction", "ingress")
    return api.post("/v2.0/security-group-rules",
                    {"security_group_rule": dict(security_group_id=group["id"], **kw)})


def rule_keys(g):
    return sorted((r["direction"], r["ethertype"], r["remote_group_id"] is not None)
                  for r in g["security_group_rules"])


def test_default_group_made_on_first_use(sb, api):
    listed = groups(api)
    assert [g["name"] for g in listed] == ["default"]
    d = listed[0]
    assert d["stateful"] is True and d["project_id"] == "default"
    assert rule_keys(d) == [("egress", "IPv4", False), ("egress", "IPv6", False),
                            ("ingress", "IPv4", True), ("ingress", "IPv6", True)]
    assert all(r["remote_group_id"] in (None, d["id"]) for r in d["security_group_rules"])
    # Listing again does not make another.
    assert [g["id"] for g in groups(api)] == [d["id"]]
    # A port without groups gets the default; another project's port its own.
    net = network(api)
    assert port(api, net)["security_groups"] == [d["id"]]
    other = port(api, net, project_id="p2")
    assert other["security_groups"] != [d["id"]] and len(other["security_groups"]) == 1
    # Fields, filters, sort, limit work as for every resource.
    r = api.get("/v2.0/security-groups", params={"fields": ["id", "name"], "name": "default",
                                                 "project_id": "p2"})
    assert r.json() == {"security_groups": [{"id": other["security_groups"][0],
                                             "name": "default"}]}
    r = api.get("/v2.0/security-group-rules",
                params={"security_group_id": d["id"], "direction": "egress",
                        "sort_key": "ethertype", "sort_dir": "desc", "limit": 1})
    body = r.json()
    assert [x["ethertype"] for x in body["security_group_rules"]] == ["IPv6"]
    assert "security_group_rules_links" in body


def test_group_and_rule_lifecycle(sb, api):
    g = new_group(api, description="d")
    # A new group comes after the project's default and egresses anywhere.
    assert [x["name"] for x in groups(api)] == ["default", "web"]
    assert rule_keys(g) == [("egress", "IPv4", False), ("egress", "IPv6", False)]
    assert g["revision_number"] == 1
    r = rule(api, g, protocol="TCP", port_range_min=22, port_range_max=22,
             remote_ip_prefix="10.1.2.3/8")
    assert r.status_code == 201, r.text
    ru = r.json()["security_group_rule"]
    assert ru["protocol"] == "tcp" and ru["ethertype"] == "IPv4"
    assert ru["remote_ip_prefix"] == "10.1.2.3/8" and ru["normalized_cidr"] == "10.0.0.0/8"
    assert ru["remote_address_group_id"] is None and ru["project_id"] == "default"
    shown = api.get("/v2.0/security-groups/" + g["id"]).json()["security_group"]
    assert ru in shown["security_group_rules"] and shown["revision_number"] == 2
    # The same rule again (by number, prefix spelt otherwise) is 409.
    dup = rule(api, g, protocol="6", port_range_min=22, port_range_max=22,
               remote_ip_prefix="10.0.0.0/8")
    assert neutron_error(dup, 409, "SecurityGroupRuleExists")["message"].endswith(ru["id"] + ".")
    # Rules cannot be updated.
    neutron_error(api.put("/v2.0/security-group-rules/" + ru["id"],
                          {"security_group_rule": {"description": "x"}}), 405)
    # Name and description can; 'default' cannot be taken.
    r = api.put("/v2.0/security-groups/" + g["id"], {"security_group": {"name": "www"}})
    assert r.status_code == 200 and r.json()["security_group"]["name"] == "www"
    neutron_error(api.put("/v2.0/security-groups/" + g["id"],
                          {"security_group": {"name": "default"}}), 400)
    neutron_error(api.post("/v2.0/security-groups",
                           {"security_group": {"name": "default"}}), 400)
    neutron_error(api.post("/v2.0/security-groups",
                           {"security_group": {"name": "x", "stateful": False}}), 400)
    neutron_error(api.put("/v2.0/security-groups/" + default_group(api)["id"],
                          {"security_group": {"name": "other"}}), 409,
                  "SecurityGroupCannotUpdateDefault")
    assert api.delete("/v2.0/security-group-rules/" + ru["id"]).status_code == 204
    assert api.delete("/v2.0/security-groups/" + g["id"]).status_code == 204
    neutron_error(api.get("/v2.0/security-groups/" + g["id"]), 404, "SecurityGroupNotFound")
    assert api.get("/v2.0/security-group-rules",
                   params={"security_group_id": g["id"]}).json() == {"security_group_rules": []}


@pytest.mark.parametrize("attrs,type_", [
    ({"direction": "both"}, "InvalidInput"),
    ({"ethertype": "IPv5"}, "InvalidInput"),
    ({"protocol": "tcpx"}, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": "-1"}, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": "tcp", "port_range_min": 30, "port_range_max": 20},
     "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 20},
     "SecurityGroupInvalidPortValue"),
    ({"protocol": "udp", "port_range_min": 1, "port_range_max": 65536}, "InvalidInput"),
    ({"protocol": "tcp", "port_range_min": 22}, "SecurityGroupInvalidPortRange"),
    ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPortRange"),
    ({"protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType"),
    ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "InvalidInput"),
    ({"remote_ip_prefix": "banana"}, "InvalidInput"),
    ({"remote_ip_prefix": "::/0"}, "SecurityGroupRuleParameterConflict"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "SELF"},
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"remote_address_group_id": "SELF"}, "InvalidInput"),
])
def test_bad_rules_400(sb, api, attrs, type_):
    g = new_group(api)
    attrs = {k: (g["id"] if v == "SELF" else v) for k, v in attrs.items()}
    neutron_error(rule(api, g, **attrs), 400, type_)


def test_good_rules(sb, api):
    g = new_group(api)
    for attrs in ({"protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
                  {"protocol": "icmp", "port_range_min": 0},
                  {"protocol": 17, "port_range_min": 53, "port_range_max": 53},
                  {"protocol": "any", "direction": "egress", "remote_ip_prefix": "10.0.0.1"},
                  {"ethertype": "ipv6", "protocol": "ipv6-icmp",
                   "remote_ip_prefix": "2001:db8::1/32"},
                  {"remote_group_id": g["id"]}):
        r = rule(api, g, **attrs)
        assert r.status_code == 201, (attrs, r.text)
    got = {(x["protocol"], x["normalized_cidr"], x["ethertype"])
           for x in groups(api, name="web")[0]["security_group_rules"]}
    assert ("17", None, "IPv4") in got
    assert ("any", "10.0.0.1/32", "IPv4") in got
    assert ("ipv6-icmp", "2001:db8::/32", "IPv6") in got
    neutron_error(rule(api, g, remote_group_id="0" * 8 + "-0000-4000-8000-" + "0" * 12),
                  404, "SecurityGroupNotFound")


def test_ports_groups(sb, api):
    net = network(api)
    d = default_group(api)
    g = new_group(api)
    assert port(api, net, device_owner="network:dhcp")["security_groups"] == []
    assert port(api, net, port_security_enabled=False)["security_groups"] == []
    p = port(api, net, security_groups=[g["id"], g["id"]])
    assert p["security_groups"] == [g["id"]]
    neutron_error(api.post("/v2.0/ports", {"port": {"network_id": net["id"],
                                                    "port_security_enabled": False,
                                                    "security_groups": [g["id"]]}}), 400)
    neutron_error(api.put("/v2.0/ports/" + p["id"],
                          {"port": {"port_security_enabled": False}}),
                  409, "PortSecurityPortHasSecurityGroup")
    missing = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    neutron_error(api.put("/v2.0/ports/" + p["id"], {"port": {"security_groups": [missing]}}),
                  404, "SecurityGroupNotFound")
    # A group of another project is not found either.
    theirs = api.create("security_group", "security-groups", name="t", project_id="p2")
    neutron_error(api.put("/v2.0/ports/" + p["id"],
                          {"port": {"security_groups": [theirs["id"]]}}),
                  404, "SecurityGroupNotFound")
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"security_groups": [d["id"], g["id"]]}})
    assert r.status_code == 200 and r.json()["port"]["security_groups"] == [d["id"], g["id"]]
    listed = api.get("/v2.0/ports", params={"security_groups": g["id"]}).json()["ports"]
    assert [x["id"] for x in listed] == [p["id"]]
    neutron_error(api.delete("/v2.0/security-groups/" + g["id"]), 409, "SecurityGroupInUse")
    r = api.put("/v2.0/ports/" + p["id"], {"port": {"security_groups": [],
                                                    "port_security_enabled": False}})
    assert r.status_code == 200, r.text
    assert api.delete("/v2.0/security-groups/" + g["id"]).status_code == 204


def test_tenancy(tokend):
    adm, a, b = (Api(tokend.url, {"X-Auth-Token": t})
                 for t in ("adm-token", "a-token", "b-token"))
    ga = new_group(a)
    # b sees only its own default; a's group is not found for b.
    assert [g["name"] for g in groups(b)] == ["default"]
    neutron_error(b.get("/v2.0/security-groups/" + ga["id"]), 404, "SecurityGroupNotFound")
    neutron_error(rule(b, ga), 404, "SecurityGroupNotFound")
    gb = new_group(b)
    neutron_error(rule(a, ga, remote_group_id=gb["id"]), 404, "SecurityGroupNotFound")
    # A member cannot delete its default group; an admin can.
    da = default_group(a)
    neutron_error(a.delete("/v2.0/security-groups/" + da["id"]), 409,
                  "SecurityGroupCannotRemoveDefault")
    assert adm.delete("/v2.0/security-groups/" + da["id"]).status_code == 204
    # conntrack is for admins.
    neutron_error(a.get("/v2.0/conntrack", params={"host": "h1"}), 403)


def test_deltas(sb, api):
    """A rule change reaches the hosts holding the group; so does a port in
    another network joining a group named as remote group."""
    n1, n2 = network(api), network(api, "10.1.0.0/24")
    web, db = new_group(api), new_group(api, "db")
    assert rule(api, web, remote_group_id=db["id"]).status_code == 201
    p = port(api, n1, "h1", security_groups=[web["id"]])
    a = FakeAgent(sb, "h1")
    objs = by_key(a.hello()["objects"])
    assert objs["port:" + p["id"]]["security_groups"] == [web["id"]]
    assert objs["secgroup:" + db["id"]]["members"] == []
    sw = objs["secgroup:" + web["id"]]
    assert [(r["direction"], r["remote_group_id"]) for r in sw["rules"]] == [
        ("egress", None), ("ingress", db["id"])]
    assert sw["members"] == [p["fixed_ips"][0]["ip_address"]]

    r = rule(api, web, protocol="tcp", port_range_min=80, port_range_max=81)
    assert r.status_code == 201
    d = a.next()
    assert [o["key"] for o in d["upsert"]] == ["secgroup:" + web["id"]]
    assert d["upsert"][0]["rules"][-1] == {
        "id": r.json()["security_group_rule"]["id"], "direction": "ingress", "protocol": 6,
        "port_range_min": 80, "port_range_max": 81, "remote_ip_prefix": None,
        "remote_group_id": None}

    # A port of n2 (not in h1's view) joins db, h1's remote group.
    q = port(api, n2, "h2", security_groups=[db["id"]],
             allowed_address_pairs=[{"ip_address": "10.1.0.64/26"}])
    d = a.next()
    assert [o["key"] for o in d["upsert"]] == ["secgroup:" + db["id"]]
    assert d["upsert"][0]["members"] == ["10.1.0.2", "10.1.0.64/26"]
    # Its address changes, then it leaves.
    assert api.put("/v2.0/ports/" + q["id"],
                   {"port": {"allowed_address_pairs": []}}).status_code == 200
    assert a.next()["upsert"][0]["members"] == ["10.1.0.2"]
    assert api.delete("/v2.0/ports/" + q["id"]).status_code == 204
    assert a.next()["upsert"][0]["members"] == []
    # A group that no view holds changes nothing for h1.
    other = new_group(api, "other")
    assert rule(api, other, protocol="udp").status_code == 201
    a.quiet(0.3)
    a.close()


ENTRY = {"port_id": "", "direction": "ingress", "protocol": "tcp", "src": "10.0.0.3",
         "dst": "10.0.0.4", "sport": 40000, "dport": 22, "state": "ESTABLISHED",
         "expires_in": 86399, "packets_orig": 5, "bytes_orig": 300, "packets_reply": 4,
         "bytes_reply": 260}


def serve(agent, reply, linger=0.0):
    """Answers one conntrack_request; see answer_request()."""
    return answer_request(agent, "conntrack_request", reply, linger)


def test_conntrack(sb, api):
    net = network(api)
    p = port(api, net, "h1")
    a = FakeAgent(sb, "h1")
    a.hello()
    entry = dict(ENTRY, port_id=p["id"])

    t, seen = serve(a, lambda req: {"type": "conntrack_reply", "request_id": req["request_id"],
                                    "entries": [entry], "truncated": True})
    r = api.get("/v2.0/conntrack", params={"host": "h1", "port_id": p["id"]})
    t.join()
    assert r.status_code == 200, r.text
    assert r.json() == {"conntrack": [entry], "truncated": True}
    assert seen["port_id"] == p["id"]

    t, seen = serve(a, lambda req: {"type": "conntrack_reply", "request_id": req["request_id"],
                                    "entries": []})
    r = api.get("/v2.0/conntrack", params={"host": "h1"})
    t.join()
    assert r.json() == {"conntrack": [], "truncated": False}
    assert "port_id" not in seen

    t, _ = serve(a, lambda req: {"type": "conntrack_reply", "request_id": req["request_id"],
                                 "error": "no ct map"})
    r = api.get("/v2.0/conntrack", params={"host": "h1"})
    t.join()
    assert "no ct map" in neutron_error(r, 409, "ConntrackUnavailable")["message"]

    neutron_error(api.get("/v2.0/conntrack"), 400)
    neutron_error(api.get("/v2.0/conntrack", params={"host": "h9"}), 409, "AgentNotConnected")
    neutron_error(api.get("/v2.0/conntrack",
                          params={"host": "h1", "port_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12}),
                  404, "PortNotFound")

    # No answer: 504 after 3 s.
    t, _ = serve(a, lambda req: None, linger=4.0)
    t0 = time.time()
    r = api.get("/v2.0/conntrack", params={"host": "h1"})
    t.join()
    neutron_error(r, 504)
    assert 2.5 < time.time() - t0 < 10
    a.close()


OPENSTACK = "/usr/bin/openstack"


@pytest.fixture
def osc(sb, tmp_path):
    import test_openstack_client
    if not os.path.exists(OPENSTACK):
        pytest.skip("%s is not installed (python3-openstackclient)" % OPENSTACK)
    return test_openstack_client.osc.__wrapped__(sb, tmp_path)


def test_openstack_client(osc, api):
    g = osc("security", "group", "create", "--description", "web servers", "web")
    assert g["name"] == "web" and g["description"] == "web servers"
    assert g["stateful"] is True
    listed = osc("security", "group", "list")
    assert sorted(x["Name"] for x in listed) == ["default", "web"]
    r = osc("security", "group", "rule", "create", "--ingress", "--protocol", "tcp",
            "--dst-port", "22:23", "--remote-ip", "10.0.0.0/8", g["id"])
    assert r["port_range_min"] == 22 and r["port_range_max"] == 23
    assert r["remote_ip_prefix"] == "10.0.0.0/8" and r["protocol"] == "tcp"
    rules = osc("security", "group", "rule", "list", g["id"])
    assert len(rules) == 3
    p = osc("security", "group", "rule", "create", "--ingress", "--protocol", "tcp",
            "--dst-port", "22:23", "--remote-ip", "10.0.0.0/8", g["id"], check=False)
    assert p.returncode != 0 and "already exists" in p.stderr
    out = osc("security", "group", "delete", "web", as_json=False)
    assert out == ""
    assert [x["name"] for x in groups(api)] == ["default"]


def test_rule_with_explicit_nulls_means_any(api):
    """protocol, ports and remotes given as null are 'any', as Neutron."""
    group = new_group(api, name="nulls")
    r = rule(api, group, protocol=None, port_range_min=None, port_range_max=None,
             remote_ip_prefix=None, remote_group_id=None)
    assert r.status_code == 201, r.text
    created = r.json()["security_group_rule"]
    assert created["protocol"] is None
    assert created["port_range_min"] is None and created["remote_ip_prefix"] is None
