# SPDX-License-Identifier: Apache-2.0
"""The stock `openstack` client against weftd (noauth, endpoint given)."""

import json
import os
import subprocess

import pytest

from util import bad_request, lst, network, show, subnet

OPENSTACK = "/usr/bin/openstack"

pytestmark = pytest.mark.skipif(not os.path.exists(OPENSTACK),
                                reason="%s is not installed (python3-openstackclient)" % OPENSTACK)


@pytest.fixture
def osc(weftd, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(tmp_path)
    env.pop("XDG_CONFIG_HOME", None)

    def run(*args, check=True, as_json=True):
        cmd = [OPENSTACK, "--os-auth-type", "none", "--os-endpoint", weftd.url] + list(args)
        if as_json:
            cmd += ["-f", "json"]
        p = subprocess.run(cmd, env=env, cwd=str(tmp_path), capture_output=True, text=True,
                           timeout=60)
        if check:
            assert p.returncode == 0, (cmd, p.stdout, p.stderr)
            return json.loads(p.stdout) if as_json else p.stdout
        return p

    return run


def test_network_lifecycle(api, osc):
    n = osc("network", "create", "blue")
    assert n["name"] == "blue"
    assert n["mtu"] == 1450
    assert n["status"] == "ACTIVE"
    assert n["admin_state_up"] is True
    assert n["shared"] is False
    assert n["provider:network_type"] == "vxlan"
    assert isinstance(n["provider:segmentation_id"], int) and n["provider:segmentation_id"] > 0
    assert n["revision_number"] == 1
    assert show(api, "networks", n["id"])["name"] == "blue"

    listed = osc("network", "list")
    assert [(x["ID"], x["Name"]) for x in listed] == [(n["id"], "blue")]

    s = osc("network", "show", "blue")
    assert s["id"] == n["id"] and s["name"] == "blue"

    out = osc("network", "set", "--name", "green", "--description", "d", n["id"], as_json=False)
    assert out == ""
    s = osc("network", "show", n["id"])
    assert s["name"] == "green" and s["description"] == "d"
    assert s["revision_number"] == 2

    osc("network", "delete", "green", as_json=False)
    assert lst(api, "networks") == []


def test_subnet_lifecycle(api, osc):
    n = network(api, name="net1")
    s = osc("subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24", "sub1")
    assert s["name"] == "sub1"
    assert s["network_id"] == n["id"]
    assert s["cidr"] == "10.0.0.0/24"
    assert s["gateway_ip"] == "10.0.0.1"
    assert s["ip_version"] == 4
    assert s["enable_dhcp"] is True
    pools = s["allocation_pools"]
    if isinstance(pools, str):
        assert pools == "10.0.0.2-10.0.0.254", pools
    else:
        assert pools == [{"start": "10.0.0.2", "end": "10.0.0.254"}], pools
    assert show(api, "networks", n["id"])["subnets"] == [s["id"]]

    listed = osc("subnet", "list")
    assert [(x["ID"], x["Name"], x["Subnet"]) for x in listed] == [(s["id"], "sub1", "10.0.0.0/24")]

    osc("subnet", "set", "--name", "sub2", "--dns-nameserver", "8.8.8.8", s["id"], as_json=False)
    got = osc("subnet", "show", "sub2")
    assert got["id"] == s["id"]
    assert got["dns_nameservers"] in (["8.8.8.8"], "8.8.8.8"), got["dns_nameservers"]
    assert got["revision_number"] == 2

    osc("subnet", "delete", "sub2", as_json=False)
    assert lst(api, "subnets") == []
    assert show(api, "networks", n["id"])["subnets"] == []


def test_port_lifecycle(api, osc):
    n = network(api, name="net1")
    s = subnet(api, n, "10.0.0.0/24")
    p = osc("port", "create", "--network", "net1", "port1")
    assert p["name"] == "port1"
    assert p["network_id"] == n["id"]
    assert p["mac_address"].startswith("fa:16:3e:")
    assert p["status"] == "DOWN"
    fips = p["fixed_ips"]
    assert len(fips) == 1 and fips[0]["subnet_id"] == s["id"], fips
    assert show(api, "ports", p["id"])["fixed_ips"] == fips

    q = osc("port", "create", "--network", n["id"], "--fixed-ip",
            "subnet=%s,ip-address=10.0.0.50" % s["id"], "port2")
    assert q["fixed_ips"] == [{"subnet_id": s["id"], "ip_address": "10.0.0.50"}]

    listed = osc("port", "list", "--network", "net1")
    assert sorted(x["ID"] for x in listed) == sorted([p["id"], q["id"]])

    osc("port", "set", "--name", "renamed", p["id"], as_json=False)
    got = osc("port", "show", p["id"])
    assert got["name"] == "renamed" and got["revision_number"] == 2

    osc("port", "delete", "renamed", q["id"], as_json=False)
    assert lst(api, "ports") == []


def test_bad_input(api, osc):
    n = network(api, name="net1")
    subnet(api, n, "10.0.0.0/24")
    before = (lst(api, "subnets"), lst(api, "ports"))

    # An invalid CIDR: the server refuses it and the client shows why.
    r = api.post("/v2.0/subnets", {"subnet": {"network_id": n["id"], "ip_version": 4,
                                              "cidr": "10.1.0.5/33"}})
    message = bad_request(r)["message"]
    p = osc("subnet", "create", "--network", "net1", "--subnet-range", "10.1.0.5/33", "bad",
            check=False)
    assert p.returncode != 0, p.stdout
    assert message in p.stderr, (message, p.stderr)

    # A fixed IP outside the subnet.
    r = api.post("/v2.0/ports", {"port": {"network_id": n["id"],
                                          "fixed_ips": [{"ip_address": "192.168.7.7"}]}})
    message = bad_request(r)["message"]
    p = osc("port", "create", "--network", "net1", "--fixed-ip", "ip-address=192.168.7.7", "bad",
            check=False)
    assert p.returncode != 0, p.stdout
    assert message in p.stderr, (message, p.stderr)

    # An unknown network.
    p = osc("network", "show", "no-such-network", check=False)
    assert p.returncode != 0
    assert (lst(api, "subnets"), lst(api, "ports")) == before
