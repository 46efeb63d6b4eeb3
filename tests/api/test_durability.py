# SPDX-License-Identifier: Apache-2.0
"""Every acknowledged write survives kill -9; the state after a restart is
consistent (no leaked or doubly allocated addresses, MACs or VNIs)."""

import ipaddress
from concurrent.futures import ThreadPoolExecutor

from conftest import Api, Weftd, neutron_error
from util import lst, show


def state(api):
    return {c: {x["id"]: x for x in lst(api, c)} for c in ("networks", "subnets", "ports")}


def test_acknowledged_writes_survive_kill9(tmp_path):
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        nets, subs = [], []
        for i in range(3):
            n = api.create("network", name="n%d" % i)
            s = api.create("subnet", network_id=n["id"], ip_version=4, cidr="10.%d.0.0/22" % i)
            nets.append(n)
            subs.append(s)
        # A small subnet that we fill up completely.
        small = api.create("network", name="small")
        small_sub = api.create("subnet", network_id=small["id"], ip_version=4, cidr="10.99.0.0/28")

        # 300 port creates, from a few concurrent clients (each answer is an
        # acknowledgement).
        def mk(i):
            c = Api(d.url)
            r = c.post("/v2.0/ports", {"port": {"network_id": nets[i % 3]["id"], "name": "p%d" % i}})
            assert r.status_code == 201, r.text
            return r.json()["port"]

        with ThreadPoolExecutor(4) as ex:
            ports = list(ex.map(mk, range(300)))
        small_ports = [api.create("port", network_id=small["id"]) for _ in range(13)]
        neutron_error(api.post("/v2.0/ports", {"port": {"network_id": small["id"]}}), 409,
                      "IpAddressGenerationFailure")

        expected = {p["id"]: p for p in ports + small_ports}
        # Some updates: names, and moving fixed IPs (which frees the old one).
        moved_from = []
        used = {f["ip_address"] for p in ports for f in p["fixed_ips"]}
        for i, p in enumerate(ports[:40]):
            body = {"name": "renamed-%d" % i}
            if i % 4 == 0:
                sub = next(s for s in subs if s["network_id"] == p["network_id"])
                new_ip = next(str(a) for a in reversed(list(ipaddress.ip_network(sub["cidr"]).hosts()))
                              if str(a) not in used)
                used.add(new_ip)
                body["fixed_ips"] = [{"subnet_id": sub["id"], "ip_address": new_ip}]
                moved_from.append((sub["id"], p["fixed_ips"][0]["ip_address"], p["network_id"]))
            r = api.put("/v2.0/ports/" + p["id"], {"port": body})
            assert r.status_code == 200, r.text
            expected[p["id"]] = r.json()["port"]
        # Some deletes.
        deleted = ports[250:280]
        for p in deleted:
            assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
            del expected[p["id"]]
        freed_small = small_ports[:3]
        for p in freed_small:
            assert api.delete("/v2.0/ports/" + p["id"]).status_code == 204
            del expected[p["id"]]
        # Network updates and a network delete.
        r = api.put("/v2.0/networks/" + nets[0]["id"], {"network": {"name": "n0-renamed"}})
        assert r.status_code == 200
        n0 = r.json()["network"]
        gone = api.create("network", name="gone")
        gone_vni = gone["provider:segmentation_id"]
        api.create("subnet", network_id=gone["id"], ip_version=4, cidr="10.50.0.0/24")
        last = api.delete("/v2.0/networks/" + gone["id"])
        assert last.status_code == 204
        before = state(api)
        assert before["ports"] == expected
        d.kill9()

        d.start()
        api = Api(d.url)
        after = state(api)
        assert set(after["ports"]) == set(expected)
        for pid, p in expected.items():
            assert after["ports"][pid] == p, pid
        assert after == before
        assert after["networks"][nets[0]["id"]] == n0
        assert gone["id"] not in after["networks"]
        assert all(s["network_id"] != gone["id"] for s in after["subnets"].values())

        # No leaked allocations: each freed address can be taken explicitly.
        for p in deleted:
            fip = p["fixed_ips"][0]
            r = api.post("/v2.0/ports", {"port": {"network_id": p["network_id"],
                                                  "mac_address": p["mac_address"],
                                                  "fixed_ips": [fip]}})
            assert r.status_code == 201, (p, r.text)
        for sub_id, ip, net_id in moved_from:
            r = api.post("/v2.0/ports", {"port": {"network_id": net_id, "fixed_ips": [
                {"subnet_id": sub_id, "ip_address": ip}]}})
            assert r.status_code == 201, (ip, r.text)
        # ...and taken addresses and MACs stay taken.
        for p in list(expected.values())[:20]:
            r = api.post("/v2.0/ports", {"port": {"network_id": p["network_id"],
                                                  "fixed_ips": p["fixed_ips"]}})
            neutron_error(r, 409, "IpAddressAlreadyAllocated")
            r = api.post("/v2.0/ports", {"port": {"network_id": p["network_id"], "fixed_ips": [],
                                                  "mac_address": p["mac_address"]}})
            neutron_error(r, 409, "MacAddressInUse")
        # The small subnet has exactly the 3 freed addresses left.
        got = {api.create("port", network_id=small["id"])["fixed_ips"][0]["ip_address"]
               for _ in range(3)}
        assert got == {p["fixed_ips"][0]["ip_address"] for p in freed_small}
        neutron_error(api.post("/v2.0/ports", {"port": {"network_id": small["id"]}}), 409,
                      "IpAddressGenerationFailure")
        assert small_sub["id"] in after["subnets"]
        # Never a duplicate address or MAC in a network.
        seen_ip, seen_mac = set(), set()
        for p in lst(api, "ports"):
            key = (p["network_id"], p["mac_address"])
            assert key not in seen_mac, p
            seen_mac.add(key)
            for f in p["fixed_ips"]:
                assert (f["subnet_id"], f["ip_address"]) not in seen_ip, p
                seen_ip.add((f["subnet_id"], f["ip_address"]))
        # The deleted network's VNI is not handed out right away.
        for _ in range(5):
            assert api.create("network")["provider:segmentation_id"] != gone_vni
    finally:
        assert d.stop() == 0, d.log()


def test_kill9_right_after_each_kind_of_write(tmp_path):
    """kill -9 immediately after one acknowledged create/update/delete."""
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        n = api.create("network", name="x")
        d.kill9()
        d.start()
        api = Api(d.url)
        assert show(api, "networks", n["id"]) == n

        r = api.put("/v2.0/networks/" + n["id"], {"network": {"name": "y"}})
        assert r.status_code == 200
        u = r.json()["network"]
        d.kill9()
        d.start()
        api = Api(d.url)
        assert show(api, "networks", n["id"]) == u

        assert api.delete("/v2.0/networks/" + n["id"]).status_code == 204
        d.kill9()
        d.start()
        api = Api(d.url)
        neutron_error(api.get("/v2.0/networks/" + n["id"]), 404, "NetworkNotFound")
        assert lst(api, "networks") == []
    finally:
        assert d.stop() == 0, d.log()


def test_vnis_survive_restart(tmp_path):
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        nets = [api.create("network", name="v%d" % i) for i in range(10)]
        wanted = api.create("network", **{"provider:segmentation_id": 100000})
        vnis = {n["id"]: n["provider:segmentation_id"] for n in nets + [wanted]}
        deleted = nets[:3]
        for n in deleted:
            assert api.delete("/v2.0/networks/" + n["id"]).status_code == 204
            del vnis[n["id"]]
        # A clean restart, then a crash.
        assert d.stop() == 0, d.log()
        d.start()
        api = Api(d.url)
        assert {n["id"]: n["provider:segmentation_id"] for n in lst(api, "networks")} == vnis
        d.kill9()
        d.start()
        api = Api(d.url)
        assert {n["id"]: n["provider:segmentation_id"] for n in lst(api, "networks")} == vnis
        # New networks never get a VNI in use, nor (soon) a released one.
        in_use = set(vnis.values())
        released = {n["provider:segmentation_id"] for n in deleted}
        for _ in range(20):
            v = api.create("network")["provider:segmentation_id"]
            assert v not in in_use, v
            assert v not in released, v
            in_use.add(v)
        r = api.post("/v2.0/networks", {"network": {"provider:segmentation_id": 100000}})
        neutron_error(r, 409, "SegmentationIdInUse")
        # An explicitly requested VNI that is in use by an auto-allocated network.
        r = api.post("/v2.0/networks", {"network": {
            "provider:segmentation_id": nets[5]["provider:segmentation_id"]}})
        neutron_error(r, 409, "SegmentationIdInUse")
    finally:
        assert d.stop() == 0, d.log()


def test_restart_keeps_allocator_state(tmp_path):
    """After a restart the allocator does not hand out addresses or MACs that
    are in use (e.g. if it kept a 'next' cursor only in memory)."""
    d = Weftd(tmp_path).start()
    try:
        api = Api(d.url)
        n = api.create("network")
        api.create("subnet", network_id=n["id"], ip_version=4, cidr="10.0.0.0/26")
        first = [api.create("port", network_id=n["id"]) for _ in range(20)]
        d.kill9()
        d.start()
        api = Api(d.url)
        more = [api.create("port", network_id=n["id"]) for _ in range(20)]
        ips = [p["fixed_ips"][0]["ip_address"] for p in first + more]
        macs = [p["mac_address"] for p in first + more]
        assert len(set(ips)) == 40 and len(set(macs)) == 40
    finally:
        assert d.stop() == 0, d.log()
