# SPDX-License-Identifier: Apache-2.0
"""agents: read, update and delete; no POST. Agents register through the
southbound service, so the tests plant rows in the store directly."""

import json
import sqlite3

from conftest import Api, Weftd, neutron_error
from util import bad_request, lst, new_id, not_found, show


def plant_agents(weftd, n=1, **overrides):
    """Stops weftd, inserts 'n' agents into its store, restarts it."""
    assert weftd.stop() == 0, weftd.log()
    db = sqlite3.connect(weftd.db)
    agents = []
    with db:
        for i in range(n):
            a = {
                "id": new_id(),
                "project_id": "",
                "tenant_id": "",
                "host": "host-%d" % i,
                "agent_type": "weft agent",
                "binary": "weft-agent",
                "topic": "N/A",
                # weftd computes 'alive' from the agent's southbound
                # connection; a planted agent has none.
                "alive": False,
                "admin_state_up": True,
                "configurations": {"tunnel_ip": "192.0.2.%d" % (i + 1)},
                "heartbeat_timestamp": "2024-01-01 00:00:00",
                "created_at": "2024-01-01T00:00:00Z",
                "started_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
                "description": "",
                "revision_number": 1,
                "availability_zone": None,
                "resources_synced": None,
            }
            a.update(overrides)
            db.execute("INSERT INTO resources (kind, id, project_id, parent_id, shared, revision, body)"
                       " VALUES ('agent', ?, ?, NULL, 0, 1, ?)",
                       (a["id"], a["project_id"], json.dumps(a)))
            agents.append(a)
    db.close()
    weftd.start()
    return agents


def test_empty_list(api):
    r = api.get("/v2.0/agents")
    assert r.status_code == 200, r.text
    assert r.json()["agents"] == []


def test_show_unknown(api):
    not_found(api.get("/v2.0/agents/" + new_id()), "AgentNotFound")
    not_found(api.put("/v2.0/agents/" + new_id(), {"agent": {"description": "x"}}),
              "AgentNotFound")
    not_found(api.delete("/v2.0/agents/" + new_id()), "AgentNotFound")


def test_post_is_405(api):
    r = api.post("/v2.0/agents", {"agent": {"host": "h", "agent_type": "weft agent"}})
    neutron_error(r, 405, "HTTPMethodNotAllowed")
    assert lst(api, "agents") == []


def test_show_list_update_delete(weftd, api):
    a, b = plant_agents(weftd, 2)
    got = lst(api, "agents")
    assert sorted(x["id"] for x in got) == sorted([a["id"], b["id"]])
    s = show(api, "agents", a["id"])
    for k in ("host", "agent_type", "binary", "alive", "admin_state_up", "configurations",
              "description"):
        assert s[k] == a[k], k
    assert ids_of(lst(api, "agents", {"host": "host-1"})) == [b["id"]]
    assert lst(api, "agents", [("fields", "host"), ("host", "host-0")]) == [{"host": "host-0"}]

    r = api.put("/v2.0/agents/" + a["id"], {"agent": {"admin_state_up": False,
                                                      "description": "drained"}})
    assert r.status_code == 200, r.text
    u = r.json()["agent"]
    assert u["admin_state_up"] is False and u["description"] == "drained"
    assert u["host"] == "host-0"
    assert show(api, "agents", a["id"])["admin_state_up"] is False
    assert ids_of(lst(api, "agents", {"admin_state_up": "false"})) == [a["id"]]

    r = api.delete("/v2.0/agents/" + a["id"])
    assert r.status_code == 204, r.text
    not_found(api.get("/v2.0/agents/" + a["id"]), "AgentNotFound")
    assert ids_of(lst(api, "agents")) == [b["id"]]


def test_update_other_attributes_400(weftd, api):
    (a,) = plant_agents(weftd, 1)
    before = show(api, "agents", a["id"])
    for attrs in ({"host": "elsewhere"}, {"alive": False}, {"agent_type": "x"},
                  {"admin_state_up": "maybe"}, {"nonsense": 1}):
        bad_request(api.put("/v2.0/agents/" + a["id"], {"agent": attrs}))
    assert show(api, "agents", a["id"]) == before


def test_agents_admin_only(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("adm p-admin admin\nmem p-a member\n")
    d = Weftd(tmp_path, config="auth = token\ntoken_file = %s\n" % tokens).start()
    try:
        (a,) = plant_agents(d, 1)
        admin = Api(d.url, {"X-Auth-Token": "adm"})
        member = Api(d.url, {"X-Auth-Token": "mem"})
        assert [x["id"] for x in lst(admin, "agents")] == [a["id"]]
        r = member.get("/v2.0/agents")
        # Neutron: the list is filtered to nothing, or refused.
        if r.status_code == 200:
            assert r.json()["agents"] == []
        else:
            neutron_error(r, 403, "PolicyNotAuthorized")
        r = member.put("/v2.0/agents/" + a["id"], {"agent": {"admin_state_up": False}})
        assert r.status_code in (403, 404), r.text
        neutron_error(r, r.status_code)
        r = member.delete("/v2.0/agents/" + a["id"])
        assert r.status_code in (403, 404), r.text
        assert show(admin, "agents", a["id"])["admin_state_up"] is True
    finally:
        assert d.stop() == 0, d.log()


def ids_of(items):
    return [x["id"] for x in items]
