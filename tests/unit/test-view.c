/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host views computed from a store filled through the API core: which
 * networks, ports and hosts each host sees, the shape of each object, the
 * pruning of the network set, and diffs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tmpstore.h"
#include "sbproto.h"
#include "view.h"

static struct tmpstore ts;
static struct store *s;
static const struct api_config cfg = { .underlay_mtu = 1500,
				       .base_mac = { 0xfa, 0x16, 0x3e } };

static int setup(void **state)
{
	if (tmpstore_open(&ts) < 0)
		return -1;
	s = ts.store;
	return 0;
}

static int teardown(void **state)
{
	return tmpstore_close(&ts);
}

/* Runs one admin request and returns the member 'key' of the answer (a new
 * reference), asserting 'want' as the status. */
static json_t *call(const char *method, const char *path, json_t *body,
		    int want, const char *key)
{
	struct api_ctx ctx = { .store = s,
			       .cfg = &cfg,
			       .project_id = "p1",
			       .is_admin = true,
			       .now = "2026-01-01T00:00:00Z",
			       .base_url = "http://test" };
	json_t *q = json_object(), *out = NULL, *member;
	int status = api_handle(&ctx, method, path, q, body, &out);

	json_decref(q);
	json_decref(body);
	if (status != want) {
		char *text = json_dumps(out, 0);

		fail_msg("%s %s: %d %s", method, path, status, text);
	}
	member = key ? json_incref(json_object_get(out, key)) : NULL;
	json_decref(out);
	return member;
}

static json_t *network(const char *cidr)
{
	json_t *net = call("POST", "/v2.0/networks",
			   json_pack("{s:{s:s}}", "network", "name", "n"), 201,
			   "network");

	json_decref(
		call("POST", "/v2.0/subnets",
		     json_pack("{s:{s:s, s:i, s:s}}", "subnet", "network_id",
			       json_string_value(json_object_get(net, "id")),
			       "ip_version", 4, "cidr", cidr),
		     201, NULL));
	return net;
}

static json_t *port(json_t *net, const char *host)
{
	return call("POST", "/v2.0/ports",
		    json_pack("{s:{s:O, s:s}}", "port", "network_id",
			      json_object_get(net, "id"), "binding:host_id",
			      host),
		    201, "port");
}

static const char *id_of(json_t *obj)
{
	return json_string_value(json_object_get(obj, "id"));
}

/* Registers an agent for 'host' as the southbound service does. */
static void agent(const char *id, const char *host, const char *ip)
{
	json_t *doc =
		json_pack("{s:s, s:s, s:s, s:{s:s, s:b}}", "id", id,
			  "project_id", "", "host", host, "configurations",
			  "underlay_ip", ip, "gateway", 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_put(s, "agent", NULL, false, doc), 0);
	assert_int_equal(store_commit(s), 0);
	json_decref(doc);
}

/* Computes the view of 'host' from scratch. */
static json_t *compute(const char *host, json_t **ret_networks)
{
	json_t *networks = json_object(), *hosts = NULL, *view = NULL;

	assert_int_equal(view_host_networks(s, host, networks), 0);
	assert_int_equal(view_agent_hosts(s, &hosts), 0);
	assert_int_equal(
		view_compute(s, host, networks, hosts, NULL, NULL, NULL, &view),
		0);
	json_decref(hosts);
	if (ret_networks)
		*ret_networks = networks;
	else
		json_decref(networks);
	return view;
}

/* "PREFIX:ID" in a static buffer. */
static const char *key_of(const char *prefix, const char *id)
{
	static char key[300];

	snprintf(key, sizeof(key), "%s:%s", prefix, id);
	return key;
}

static bool has(json_t *view, const char *prefix, const char *id)
{
	return json_object_get(view, key_of(prefix, id)) != NULL;
}

static void test_views(void **state)
{
	json_t *n1 = network("10.0.0.0/24"), *n2 = network("10.1.0.0/24");
	json_t *n3 = network("10.2.0.0/24");
	json_t *a = port(n1, "h1"), *b = port(n1, "h2"), *c = port(n1, "");
	json_t *d = port(n2, "h2"), *e = port(n3, "h3");
	json_t *view, *obj, *networks;
	const char *key;
	char tap[16];

	agent("11111111-1111-4111-8111-111111111111", "h1", "192.0.2.11");
	agent("22222222-2222-4222-8222-222222222222", "h2", "192.0.2.12");
	/* h3 has no agent */

	/* h1: n1 and its subnet; ports a and b (not the unbound c); hosts
	 * h1, h2; the project's default security group. */
	view = compute("h1", &networks);
	assert_int_equal(json_object_size(view), 7);
	assert_true(has(view, "network", id_of(n1)));
	assert_true(has(view, "port", id_of(a)));
	assert_true(has(view, "port", id_of(b)));
	assert_false(has(view, "port", id_of(c)));
	assert_true(has(view, "host", "h1"));
	assert_true(has(view, "host", "h2"));
	assert_int_equal(json_object_size(networks), 1);
	json_object_foreach(view, key, obj) {
		assert_int_equal(sbproto_check_object(obj, NULL, 0), 0);
		assert_string_equal(
			key, json_string_value(json_object_get(obj, "key")));
	}

	/* The objects' contents. */
	obj = json_object_get(view, "host:h2");
	assert_string_equal(
		json_string_value(json_object_get(obj, "underlay_ip")),
		"192.0.2.12");
	obj = json_object_get(
		view, json_string_value(json_object_get(
			      json_object_get(view, "host:h1"), "key")));
	assert_non_null(obj);
	snprintf(tap, sizeof(tap), "tap%.11s", id_of(a));
	for (void *it = json_object_iter(view); it;
	     it = json_object_iter_next(view, it)) {
		json_t *o = json_object_iter_value(it);

		if (strcmp(json_string_value(json_object_get(o, "kind")),
			   "port"))
			continue;
		if (strcmp(id_of(o), id_of(a)))
			continue;
		assert_string_equal(
			json_string_value(json_object_get(o, "tap")), tap);
		assert_string_equal(
			json_string_value(json_object_get(o, "host")), "h1");
		assert_true(json_equal(
			json_object_get(o, "vni"),
			json_object_get(n1, "provider:segmentation_id")));
		assert_string_equal(
			json_string_value(json_object_get(o, "mac")),
			json_string_value(json_object_get(a, "mac_address")));
		assert_string_equal(json_string_value(json_array_get(
					    json_object_get(o, "ips"), 0)),
				    "10.0.0.2");
		assert_true(json_is_true(json_object_get(o, "port_security")));
	}
	json_decref(view);
	json_decref(networks);

	/* h2: n1 and n2 and their subnets; ports a, b, d; hosts h1, h2;
	 * the default group. */
	view = compute("h2", NULL);
	assert_int_equal(json_object_size(view), 10);
	assert_true(has(view, "network", id_of(n2)));
	assert_true(has(view, "port", id_of(d)));
	assert_false(has(view, "network", id_of(n3)));
	json_decref(view);

	/* h3: its port is sent, its host object is not (no agent). */
	view = compute("h3", NULL);
	assert_int_equal(json_object_size(view), 4);
	assert_true(has(view, "port", id_of(e)));
	assert_false(has(view, "host", "h3"));
	json_decref(view);

	/* A host with nothing bound has an empty view. */
	view = compute("h9", NULL);
	assert_int_equal(json_object_size(view), 0);
	json_decref(view);

	json_decref(n1);
	json_decref(n2);
	json_decref(n3);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(e);
}

static void test_pruning_and_diff(void **state)
{
	json_t *n = network("10.5.0.0/24");
	json_t *p = port(n, "hx"), *q = port(n, "hy");
	json_t *networks, *hosts = NULL, *before, *after, *up, *del;
	char path[128];

	agent("33333333-3333-4333-8333-333333333333", "hx", "192.0.2.21");
	before = compute("hx", &networks);
	/* net, subnet, p, q, host:hx, the default group */
	assert_int_equal(json_object_size(before), 6);

	/* q moves to hx's network peer... then p leaves: hx drops out. */
	snprintf(path, sizeof(path), "/v2.0/ports/%s", id_of(p));
	json_decref(call("DELETE", path, NULL, 204, NULL));
	assert_int_equal(view_agent_hosts(s, &hosts), 0);
	assert_int_equal(view_compute(s, "hx", networks, hosts, NULL, NULL,
				      NULL, &after),
			 0);
	assert_int_equal(json_object_size(after), 0);
	assert_int_equal(json_object_size(networks), 0); /* pruned */

	assert_int_equal(view_diff(before, after, &up, &del), 0);
	assert_int_equal(json_array_size(up), 0);
	assert_int_equal(json_array_size(del), 6);
	json_decref(up);
	json_decref(del);

	/* From nothing, everything is an upsert; equal views give nothing. */
	assert_int_equal(view_diff(NULL, before, &up, &del), 0);
	assert_int_equal(json_array_size(up), 6);
	assert_int_equal(json_array_size(del), 0);
	json_decref(up);
	json_decref(del);
	assert_int_equal(view_diff(before, before, &up, &del), 0);
	assert_int_equal(json_array_size(up) + json_array_size(del), 0);
	json_decref(up);
	json_decref(del);

	json_decref(before);
	json_decref(after);
	json_decref(hosts);
	json_decref(networks);
	json_decref(n);
	json_decref(p);
	json_decref(q);
}

/* The member 'name' of the object "PREFIX:ID" of 'view'. */
static json_t *member(json_t *view, const char *prefix, const char *id,
		      const char *name)
{
	char key[300];

	snprintf(key, sizeof(key), "%s:%s", prefix, id);
	return json_object_get(json_object_get(view, key), name);
}

/* Ports carry their groups; a host's view holds the groups of its ports
 * and their remote groups, with IPv4 rules and the members' addresses. */
static void test_secgroups(void **state)
{
	json_t *n1 = network("10.7.0.0/24"), *n2 = network("10.8.0.0/24");
	json_t *web =
		call("POST", "/v2.0/security-groups",
		     json_pack("{s:{s:s}}", "security_group", "name", "web"),
		     201, "security_group");
	json_t *db =
		call("POST", "/v2.0/security-groups",
		     json_pack("{s:{s:s}}", "security_group", "name", "db"),
		     201, "security_group");
	json_t *a, *b, *c, *rule, *view, *rules, *want, *obj;
	const char *key;

	/* web admits tcp/22 from 10.9.0.5/8 and anything from db. */
	rule = call("POST", "/v2.0/security-group-rules",
		    json_pack("{s:{s:s, s:s, s:s, s:i, s:i, s:s}}",
			      "security_group_rule", "security_group_id",
			      id_of(web), "direction", "ingress", "protocol",
			      "tcp", "port_range_min", 22, "port_range_max", 22,
			      "remote_ip_prefix", "10.9.0.5/8"),
		    201, "security_group_rule");
	json_decref(rule);
	json_decref(call("POST", "/v2.0/security-group-rules",
			 json_pack("{s:{s:s, s:s, s:s}}", "security_group_rule",
				   "security_group_id", id_of(web), "direction",
				   "ingress", "remote_group_id", id_of(db)),
			 201, NULL));
	a = call("POST", "/v2.0/ports",
		 json_pack("{s:{s:O, s:s, s:[O]}}", "port", "network_id",
			   json_object_get(n1, "id"), "binding:host_id", "s1",
			   "security_groups", json_object_get(web, "id")),
		 201, "port");
	/* b, in another network and unbound, is a member of db with an
	 * address pair; c has port security off. */
	b = call("POST", "/v2.0/ports",
		 json_pack("{s:{s:O, s:[O], s:[{s:s}]}}", "port", "network_id",
			   json_object_get(n2, "id"), "security_groups",
			   json_object_get(db, "id"), "allowed_address_pairs",
			   "ip_address", "10.8.0.128/25"),
		 201, "port");
	c = call("POST", "/v2.0/ports",
		 json_pack("{s:{s:O, s:s, s:b}}", "port", "network_id",
			   json_object_get(n1, "id"), "binding:host_id", "s2",
			   "port_security_enabled", 0),
		 201, "port");

	view = compute("s1", NULL);
	want = json_pack("[O]", json_object_get(web, "id"));
	assert_true(json_equal(
		member(view, "port", id_of(a), "security_groups"), want));
	json_decref(want);
	assert_int_equal(json_array_size(member(view, "port", id_of(c),
						"security_groups")),
			 0);
	/* web: egress IPv4 (IPv6 not sent), tcp/22 normalized, from db. */
	rules = member(view, "secgroup", id_of(web), "rules");
	assert_int_equal(json_array_size(rules), 3);
	rule = json_array_get(rules, 1);
	assert_int_equal(json_integer_value(json_object_get(rule, "protocol")),
			 6);
	assert_int_equal(
		json_integer_value(json_object_get(rule, "port_range_min")),
		22);
	assert_string_equal(
		json_string_value(json_object_get(rule, "remote_ip_prefix")),
		"10.0.0.0/8");
	assert_true(json_is_null(
		json_object_get(json_array_get(rules, 0), "protocol")));
	want = json_pack("[s]", "10.7.0.2");
	assert_true(json_equal(member(view, "secgroup", id_of(web), "members"),
			       want));
	json_decref(want);
	/* db is there as web's remote group, with b's addresses. */
	want = json_pack("[s, s]", "10.8.0.128/25", "10.8.0.2");
	assert_true(json_equal(member(view, "secgroup", id_of(db), "members"),
			       want));
	json_decref(want);
	json_object_foreach(view, key, obj)
		assert_int_equal(sbproto_check_object(obj, NULL, 0), 0);

	/* With a cache shared by the views of one revision: the same view,
	 * and the groups computed once, kept in the cache. */
	{
		json_t *networks = json_object(), *hosts = NULL, *cached = NULL;
		json_t *cache = json_object();

		assert_int_equal(view_host_networks(s, "s1", networks), 0);
		assert_int_equal(view_agent_hosts(s, &hosts), 0);
		assert_int_equal(view_compute(s, "s1", networks, hosts, NULL,
					      cache, NULL, &cached),
				 0);
		assert_true(json_equal(cached, view));
		assert_int_equal(json_object_size(cache), 2); /* web, db */
		assert_ptr_equal(json_object_get(cache, id_of(web)),
				 json_object_get(cached, key_of("secgroup",
								id_of(web))));
		json_decref(cached);
		json_decref(hosts);
		json_decref(networks);
		json_decref(cache);
	}
	json_decref(view);

	/* s2's only port has port security off: no group. */
	view = compute("s2", NULL);
	assert_false(has(view, "secgroup", id_of(web)));
	json_decref(view);

	json_decref(n1);
	json_decref(n2);
	json_decref(web);
	json_decref(db);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_invalid_host_left_out(void **state)
{
	json_t *n = network("10.6.0.0/24");
	json_t *p = port(n, "hz"), *q = port(n, "bad host");
	json_t *view = compute("hz", NULL);

	/* The port bound to a name no agent could have is not sent. */
	assert_true(has(view, "port", id_of(p)));
	assert_false(has(view, "port", id_of(q)));
	json_decref(view);
	json_decref(n);
	json_decref(p);
	json_decref(q);
}

/* The id of the first subnet of network 'net'. */
static const char *subnet_of(json_t *net, char *buf)
{
	char path[128];
	json_t *fresh;

	snprintf(path, sizeof(path), "/v2.0/networks/%s", id_of(net));
	fresh = call("GET", path, NULL, 200, "network");
	snprintf(buf, 40, "%s",
		 json_string_value(
			 json_array_get(json_object_get(fresh, "subnets"), 0)));
	json_decref(fresh);
	return buf;
}

static json_t *router(void)
{
	return call("POST", "/v2.0/routers",
		    json_pack("{s:{s:s}}", "router", "name", "r"), 201,
		    "router");
}

/* add_router_interface or remove_router_interface with {'what': 'id'}. */
static void interface(json_t *r, bool add, const char *what, const char *id)
{
	char path[160];

	snprintf(path, sizeof(path), "/v2.0/routers/%s/%s_router_interface",
		 id_of(r), add ? "add" : "remove");
	json_decref(call("PUT", path, json_pack("{s:s}", what, id), 200, NULL));
}

static void test_routed_closure(void **state)
{
	/* A -R1- B -R2- C, and D on its own. */
	json_t *a = network("10.0.0.0/24"), *b = network("10.1.0.0/24");
	json_t *c = network("10.2.0.0/24"), *d = network("10.3.0.0/24");
	json_t *pa = port(a, "ha"), *pc = port(c, "hc"), *pd = port(d, "hd");
	json_t *r1 = router(), *r2 = router(), *link, *view, *networks, *obj;
	char sa[40], sb[40], sc[40], key[64];

	agent("44444444-4444-4444-8444-444444444444", "hc", "192.0.2.33");
	subnet_of(a, sa);
	subnet_of(b, sb);
	subnet_of(c, sc);
	interface(r1, true, "subnet_id", sa);
	interface(r1, true, "subnet_id", sb);
	/* R2 joins B through a port of its own: B is shared by R1 and R2. */
	link = call("POST", "/v2.0/ports",
		    json_pack("{s:{s:O, s:[{s:s}]}}", "port", "network_id",
			      json_object_get(b, "id"), "fixed_ips",
			      "ip_address", "10.1.0.254"),
		    201, "port");
	interface(r2, true, "port_id", id_of(link));
	interface(r2, true, "subnet_id", sc);

	/* ha, with a port on A only, reaches C behind R2. */
	view = compute("ha", &networks);
	assert_true(has(view, "network", id_of(a)));
	assert_true(has(view, "network", id_of(b)));
	assert_true(has(view, "network", id_of(c)));
	assert_false(has(view, "network", id_of(d)));
	assert_true(has(view, "subnet", sc));
	assert_true(has(view, "router", id_of(r1)));
	assert_true(has(view, "router", id_of(r2)));
	assert_true(has(view, "port", id_of(pa)));
	assert_true(has(view, "port", id_of(pc)));
	assert_false(has(view, "port", id_of(pd)));
	/* Interface ports are in their routers, not sent as ports. */
	assert_false(has(view, "port", id_of(link)));
	assert_true(has(view, "host", "hc"));
	/* Only A holds a port bound to h1. */
	assert_int_equal(json_object_size(networks), 1);
	assert_non_null(json_object_get(networks, id_of(a)));
	for (void *it = json_object_iter(view); it;
	     it = json_object_iter_next(view, it))
		assert_int_equal(sbproto_check_object(
					 json_object_iter_value(it), NULL, 0),
				 0);

	snprintf(key, sizeof(key), "router:%s", id_of(r2));
	obj = json_object_get(view, key);
	assert_int_equal(json_array_size(json_object_get(obj, "interfaces")),
			 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(obj, "interfaces"), 0),
			"ip")),
		"10.1.0.254");
	assert_true(json_equal(
		json_object_get(
			json_array_get(json_object_get(obj, "interfaces"), 1),
			"vni"),
		json_object_get(c, "provider:segmentation_id")));
	assert_true(json_integer_value(json_object_get(obj, "router_key")) > 0);
	snprintf(key, sizeof(key), "subnet:%s", sc);
	obj = json_object_get(view, key);
	assert_string_equal(
		json_string_value(json_object_get(obj, "dns_domain")),
		VIEW_DEFAULT_DNS_DOMAIN);
	assert_string_equal(
		json_string_value(json_object_get(obj, "dhcp_server")),
		"10.2.0.1");
	json_decref(view);

	/* And the other way: hc on C sees A and ha's port. */
	view = compute("hc", NULL);
	assert_true(has(view, "network", id_of(a)));
	assert_true(has(view, "port", id_of(pa)));
	json_decref(view);

	/* Cut R1 from B: ha sees A and R1 only; the same network set
	 * (incremental recompute) gives the same. */
	interface(r1, false, "subnet_id", sb);
	{
		json_t *hosts = NULL;

		assert_int_equal(view_agent_hosts(s, &hosts), 0);
		assert_int_equal(view_compute(s, "ha", networks, hosts, NULL,
					      NULL, NULL, &view),
				 0);
		json_decref(hosts);
	}
	assert_true(has(view, "router", id_of(r1)));
	assert_false(has(view, "router", id_of(r2)));
	assert_false(has(view, "network", id_of(b)));
	assert_false(has(view, "network", id_of(c)));
	assert_false(has(view, "port", id_of(pc)));
	assert_false(has(view, "host", "hc"));
	json_decref(view);
	json_decref(networks);

	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(pa);
	json_decref(pc);
	json_decref(pd);
	json_decref(r1);
	json_decref(r2);
	json_decref(link);
}

static bool alive_gw1(void *data, const char *host)
{
	return !strcmp(host, "gw1");
}

/* North-south (docs/gateways.md): gateway objects in every view, a
 * router's external_gateway, and a gateway's view (routers with a gateway
 * and their closure, floating IPs, hypervisors, gateways). */
static void test_gateway_view(void **state)
{
	json_t *ext = call("POST", "/v2.0/networks",
			   json_pack("{s:{s:s, s:b}}", "network", "name",
				     "public", "router:external", 1),
			   201, "network");
	json_t *a = network("10.7.0.0/24"), *e = network("10.8.0.0/24");
	json_t *pa = port(a, "hv7"), *pe = port(e, "hv8");
	json_t *r = router(), *r0 = router(), *gws = NULL, *hosts = NULL;
	json_t *view, *obj, *gw, *fip, *networks = json_object();
	char sa[40], se[40], path[160];
	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:b, s:s, s:i}}", "id",
		"a0000000-0000-4000-8000-000000000001", "project_id", "",
		"host", "gw1", "configurations", "underlay_ip", "192.0.2.101",
		"gateway", 1, "uplink_ip", "203.0.113.2", "gateway_slot", 3);

	json_decref(call("POST", "/v2.0/subnets",
			 json_pack("{s:{s:O, s:i, s:s}}", "subnet",
				   "network_id", json_object_get(ext, "id"),
				   "ip_version", 4, "cidr", "203.0.113.0/24"),
			 201, NULL));
	interface(r, true, "subnet_id", subnet_of(a, sa));
	interface(r0, true, "subnet_id", subnet_of(e, se));
	snprintf(path, sizeof(path), "/v2.0/routers/%s", id_of(r));
	json_decref(call("PUT", path,
			 json_pack("{s:{s:{s:O}}}", "router",
				   "external_gateway_info", "network_id",
				   json_object_get(ext, "id")),
			 200, NULL));
	fip = call("POST", "/v2.0/floatingips",
		   json_pack("{s:{s:O}}", "floatingip", "floating_network_id",
			     json_object_get(ext, "id")),
		   201, "floatingip");
	agent("a0000000-0000-4000-8000-000000000007", "hv7", "192.0.2.7");
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_put(s, "agent", NULL, false, doc), 0);
	assert_int_equal(store_commit(s), 0);

	/* The gateway is a gateway object, not a host. */
	assert_int_equal(view_gateways(s, alive_gw1, NULL, &gws), 0);
	gw = json_object_get(gws, "gateway:gw1");
	assert_non_null(gw);
	assert_int_equal(json_integer_value(json_object_get(gw, "slot")), 3);
	assert_true(json_is_true(json_object_get(gw, "alive")));
	assert_int_equal(view_agent_hosts(s, &hosts), 0);
	assert_null(json_object_get(hosts, "gw1"));

	/* A hypervisor: every gateway, and its router's external gateway. */
	assert_int_equal(view_host_networks(s, "hv7", networks), 0);
	assert_int_equal(
		view_compute(s, "hv7", networks, hosts, gws, NULL, NULL, &view),
		0);
	assert_true(json_equal(json_object_get(view, "gateway:gw1"), gw));
	obj = json_object_get(json_object_get(view, key_of("router", id_of(r))),
			      "external_gateway");
	assert_true(json_is_object(obj));
	assert_string_equal(
		json_string_value(json_object_get(obj, "network_id")),
		id_of(ext));
	assert_true(json_is_true(json_object_get(obj, "enable_snat")));
	assert_false(has(view, "floatingip", id_of(fip)));
	json_decref(view);

	/* The gateway: the router with a gateway and its closure, not the
	 * other one; hypervisors with agents; the floating IP. */
	assert_int_equal(
		view_compute_gateway(s, "gw1", hosts, gws, NULL, &view), 0);
	assert_true(has(view, "router", id_of(r)));
	assert_true(has(view, "network", id_of(a)));
	assert_true(has(view, "port", id_of(pa)));
	assert_true(has(view, "host", "hv7"));
	assert_true(has(view, "gateway", "gw1"));
	assert_false(has(view, "router", id_of(r0)));
	assert_false(has(view, "port", id_of(pe)));
	assert_false(has(view, "network", id_of(ext)));
	assert_false(has(view, "host", "gw1"));
	obj = json_object_get(view, key_of("floatingip", id_of(fip)));
	assert_non_null(obj);
	assert_true(json_is_null(json_object_get(obj, "router_key")));
	json_decref(view);

	/* Associated: the router's key, the port's VNI and fixed IP. */
	snprintf(path, sizeof(path), "/v2.0/floatingips/%s", id_of(fip));
	json_decref(call("PUT", path,
			 json_pack("{s:{s:O}}", "floatingip", "port_id",
				   json_object_get(pa, "id")),
			 200, NULL));
	assert_int_equal(
		view_compute_gateway(s, "gw1", hosts, gws, NULL, &view), 0);
	obj = json_object_get(view, key_of("floatingip", id_of(fip)));
	assert_true(json_equal(
		json_object_get(obj, "router_key"),
		json_object_get(
			json_object_get(view, key_of("router", id_of(r))),
			"router_key")));
	assert_true(json_equal(
		json_object_get(obj, "vni"),
		json_object_get(
			json_object_get(view, key_of("network", id_of(a))),
			"vni")));
	assert_true(json_equal(
		json_object_get(obj, "fixed_ip_address"),
		json_object_get(
			json_array_get(json_object_get(pa, "fixed_ips"), 0),
			"ip_address")));
	json_decref(view);
	json_decref(doc);
	json_decref(networks);
	json_decref(gws);
	json_decref(hosts);
	json_decref(fip);
	json_decref(ext);
	json_decref(a);
	json_decref(e);
	json_decref(pa);
	json_decref(pe);
	json_decref(r);
	json_decref(r0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_pruning_and_diff),
		cmocka_unit_test(test_invalid_host_left_out),
		cmocka_unit_test(test_routed_closure),
		cmocka_unit_test(test_secgroups),
		cmocka_unit_test(test_gateway_view),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
