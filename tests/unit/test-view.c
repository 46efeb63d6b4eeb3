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
	assert_int_equal(view_compute(s, host, networks, hosts, &view), 0);
	json_decref(hosts);
	if (ret_networks)
		*ret_networks = networks;
	else
		json_decref(networks);
	return view;
}

static bool has(json_t *view, const char *prefix, const char *id)
{
	char key[300];

	snprintf(key, sizeof(key), "%s:%s", prefix, id);
	return json_object_get(view, key) != NULL;
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

	/* h1: n1 only; ports a and b (not the unbound c); hosts h1, h2. */
	view = compute("h1", &networks);
	assert_int_equal(json_object_size(view), 5);
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

	/* h2: n1 and n2; ports a, b, d; hosts h1, h2. */
	view = compute("h2", NULL);
	assert_int_equal(json_object_size(view), 7);
	assert_true(has(view, "network", id_of(n2)));
	assert_true(has(view, "port", id_of(d)));
	assert_false(has(view, "network", id_of(n3)));
	json_decref(view);

	/* h3: its port is sent, its host object is not (no agent). */
	view = compute("h3", NULL);
	assert_int_equal(json_object_size(view), 2);
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
	assert_int_equal(json_object_size(before), 4); /* net, p, q, host:hx */

	/* q moves to hx's network peer... then p leaves: hx drops out. */
	snprintf(path, sizeof(path), "/v2.0/ports/%s", id_of(p));
	json_decref(call("DELETE", path, NULL, 204, NULL));
	assert_int_equal(view_agent_hosts(s, &hosts), 0);
	assert_int_equal(view_compute(s, "hx", networks, hosts, &after), 0);
	assert_int_equal(json_object_size(after), 0);
	assert_int_equal(json_object_size(networks), 0); /* pruned */

	assert_int_equal(view_diff(before, after, &up, &del), 0);
	assert_int_equal(json_array_size(up), 0);
	assert_int_equal(json_array_size(del), 4);
	json_decref(up);
	json_decref(del);

	/* From nothing, everything is an upsert; equal views give nothing. */
	assert_int_equal(view_diff(NULL, before, &up, &del), 0);
	assert_int_equal(json_array_size(up), 4);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_pruning_and_diff),
		cmocka_unit_test(test_invalid_host_left_out),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
