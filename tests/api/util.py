# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the API tests (the fixtures live in conftest.py)."""

import calendar
import ipaddress
import re
import time
import uuid

from conftest import neutron_error

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MAC_RE = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")

# The two error types docs/api.md allows for a 400.
BAD_REQUEST_TYPES = ("HTTPBadRequest", "InvalidInput")


def bad_request(r):
    """Asserts a Neutron-style 400."""
    err = neutron_error(r, 400)
    assert err["type"] in BAD_REQUEST_TYPES, err
    return err


def not_found(r, type_):
    return neutron_error(r, 404, type_)


def new_id():
    return str(uuid.uuid4())


def ids(items):
    return [x["id"] for x in items]


def lst(api, collection, params=None, headers=None):
    """GET /v2.0/COLLECTION and return the list (asserting 200)."""
    r = api.get("/v2.0/" + collection, params=params, headers=headers)
    assert r.status_code == 200, (r.status_code, r.text)
    body = r.json()
    assert collection in body, body
    return body[collection]


def show(api, collection, id_, headers=None):
    r = api.get("/v2.0/%s/%s" % (collection, id_), headers=headers)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()[collection[:-1]]


def snapshot(api):
    """The whole logical state, to check that a failed request changed
    nothing."""
    return {c: sorted(lst(api, c), key=lambda x: x["id"])
            for c in ("networks", "subnets", "ports")}


def network(api, **kw):
    kw.setdefault("name", "net")
    return api.create("network", **kw)


def subnet(api, net, cidr="10.0.0.0/24", **kw):
    kw.setdefault("ip_version", 4)
    return api.create("subnet", network_id=net["id"] if isinstance(net, dict) else net,
                      cidr=cidr, **kw)


def port(api, net, **kw):
    return api.create("port", network_id=net["id"] if isinstance(net, dict) else net, **kw)


def net_with_subnet(api, cidr="10.0.0.0/24", **kw):
    n = network(api)
    s = subnet(api, n, cidr, **kw)
    return n, s


def in_pools(ip, pools):
    a = ipaddress.ip_address(ip)
    return any(ipaddress.ip_address(p["start"]) <= a <= ipaddress.ip_address(p["end"])
               for p in pools)


def check_standard_attrs(obj):
    assert UUID_RE.match(obj["id"]), obj
    assert obj["project_id"] == obj["tenant_id"], obj
    assert isinstance(obj["revision_number"], int) and obj["revision_number"] >= 1, obj
    assert TS_RE.match(obj["created_at"]), obj
    assert TS_RE.match(obj["updated_at"]), obj
    assert obj["updated_at"] >= obj["created_at"], obj
    assert obj["tags"] == [], obj
    assert "description" in obj, obj
    # The timestamps are recent (UTC).
    t = calendar.timegm(time.strptime(obj["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(t - time.time()) < 300, obj["created_at"]
