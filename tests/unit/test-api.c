/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API core driven directly, without HTTP: request validation, the
 * JSON shapes in and out, transactions around writes, and tenancy.
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

/* Runs one request as 'project' (admin when 'admin'); returns the body
 * and sets 'status'. 'query' is a JSON object text or NULL. */
static json_t *call_as(const char *project, bool admin, const char *method,
		       const char *path, const char *body, const char *query,
		       int *status)
{
	struct api_ctx ctx = { .store = s,
			       .cfg = &cfg,
			       .project_id = project,
			       .is_admin = admin,
			       .now = "2026-01-01T00:00:00Z",
			       .base_url = "http://test" };
	json_t *b = body ? json_loads(body, 0, NULL) : NULL;
	json_t *q = query ? json_loads(query, 0, NULL) : json_object();
	json_t *out = NULL;

	if (body)
		assert_non_null(b);
	*status = api_handle(&ctx, method, path, q, b, &out);
	json_decref(b);
	json_decref(q);
	return out;
}

static json_t *call(const char *method, const char *path, const char *body,
		    int *status)
{
	return call_as("p1", true, method, path, body, NULL, status);
}

static const char *error_type(json_t *out)
{
	return json_string_value(
		json_object_get(json_object_get(out, "NeutronError"), "type"));
}

static char *create_network(const char *body)
{
	int status;
	json_t *out = call("POST", "/v2.0/networks", body, &status);
	char *id;

	assert_int_equal(status, 201);
	id = strdup(json_string_value(
		json_object_get(json_object_get(out, "network"), "id")));
	json_decref(out);
	return id;
}

static void expect_error(const char *method, const char *path, const char *body,
			 int want_status, const char *type)
{
	uint64_t rev = store_revision(s);
	int status;
	json_t *out = call(method, path, body, &status);

	assert_int_equal(status, want_status);
	if (type)
		assert_string_equal(error_type(out), type);
	assert_non_null(json_string_value(json_object_get(
		json_object_get(out, "NeutronError"), "message")));
	/* Nothing was written. */
	assert_int_equal(store_revision(s), rev);
	json_decref(out);
}

static void test_network_defaults(void **state)
{
	int status;
	json_t *out = call("POST", "/v2.0/networks",
			   "{\"network\": {\"name\": \"n\"}}", &status),
	       *net;

	assert_int_equal(status, 201);
	net = json_object_get(out, "network");
	assert_int_equal(json_integer_value(json_object_get(net, "mtu")), 1450);
	assert_string_equal(json_string_value(json_object_get(
				    net, "provider:network_type")),
			    "vxlan");
	assert_true(json_integer_value(json_object_get(
			    net, "provider:segmentation_id")) >= 1);
	assert_string_equal(
		json_string_value(json_object_get(net, "project_id")), "p1");
	assert_string_equal(
		json_string_value(json_object_get(net, "tenant_id")), "p1");
	assert_int_equal(
		json_integer_value(json_object_get(net, "revision_number")), 1);
	assert_true(json_is_true(json_object_get(net, "admin_state_up")));
	assert_true(json_is_false(json_object_get(net, "shared")));
	assert_int_equal(strlen(json_string_value(json_object_get(net, "id"))),
			 36);
	json_decref(out);
}

static void test_validation(void **state)
{
	char *net = create_network("{\"network\": {}}");
	char path[128], body[512];

	expect_error("POST", "/v2.0/networks", "{\"network\": {\"foo\": 1}}",
		     400, "HTTPBadRequest");
	expect_error("POST", "/v2.0/networks",
		     "{\"network\": {\"admin_state_up\": \"yes\"}}", 400, NULL);
	expect_error("POST", "/v2.0/networks",
		     "{\"network\": {\"mtu\": \"big\"}}", 400, NULL);
	expect_error("POST", "/v2.0/networks", "{\"network\": {\"mtu\": 1451}}",
		     400, "InvalidInput");
	expect_error("POST", "/v2.0/networks",
		     "{\"network\": {\"status\": \"DOWN\"}}", 400, NULL);
	expect_error("POST", "/v2.0/networks", "{\"network\": {\"name\": 5}}",
		     400, NULL);
	expect_error("POST", "/v2.0/networks", "{\"network\": []}", 400, NULL);
	expect_error("POST", "/v2.0/networks", "{\"net\": {}}", 400, NULL);
	expect_error("POST", "/v2.0/networks", "{\"networks\": []}", 400, NULL);
	expect_error("POST", "/v2.0/networks",
		     "{\"network\": {\"provider:network_type\": \"vlan\"}}",
		     400, NULL);
	expect_error("GET", "/v2.0/nothing", NULL, 404, "HTTPNotFound");
	expect_error("DELETE", "/v2.0/networks", NULL, 405,
		     "HTTPMethodNotAllowed");
	expect_error("GET", "/v2.0/networks/nope", NULL, 404,
		     "NetworkNotFound");

	snprintf(path, sizeof(path), "/v2.0/networks/%s", net);
	expect_error("PUT", path,
		     "{\"network\": {\"provider:segmentation_id\": 7}}", 400,
		     NULL);
	expect_error("PUT", path, "{\"network\": {\"id\": \"x\"}}", 400, NULL);

	snprintf(
		body, sizeof(body),
		"{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": \"%s\"}}",
		net, "10.0.0.5/24");
	expect_error("POST", "/v2.0/subnets", body, 400, "InvalidInput");
	snprintf(
		body, sizeof(body),
		"{\"subnet\": {\"network_id\": \"%s\", \"cidr\": \"10.0.0.0/24\"}}",
		net);
	expect_error("POST", "/v2.0/subnets", body, 400,
		     NULL); /* no ip_version */
	snprintf(
		body, sizeof(body),
		"{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": \"10.0.0.0/24\","
		" \"allocation_pools\": [{\"start\": \"10.0.0.1\", \"end\": \"10.0.0.9\"}]}}",
		net);
	expect_error("POST", "/v2.0/subnets", body, 409,
		     "GatewayConflictWithAllocationPools");
	snprintf(
		body, sizeof(body),
		"{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": \"10.0.0.0/24\","
		" \"dns_nameservers\": [\"8.8.8\"]}}",
		net);
	expect_error("POST", "/v2.0/subnets", body, 400, "InvalidInput");
	free(net);
}

static void test_bulk_is_all_or_nothing(void **state)
{
	char *net = create_network("{\"network\": {}}");
	char body[1024];
	int status;
	json_t *out;

	snprintf(
		body, sizeof(body),
		"{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, \"cidr\": \"10.1.0.0/29\"}}",
		net);
	json_decref(call("POST", "/v2.0/subnets", body, &status));
	assert_int_equal(status, 201);

	/* The third port asks for an address the first one takes. */
	snprintf(
		body, sizeof(body),
		"{\"ports\": [{\"network_id\": \"%s\"}, {\"network_id\": \"%s\"},"
		" {\"network_id\": \"%s\", \"fixed_ips\": [{\"ip_address\": \"10.1.0.2\"}]}]}",
		net, net, net);
	expect_error("POST", "/v2.0/ports", body, 409,
		     "IpAddressAlreadyAllocated");
	out = call("GET", "/v2.0/ports", NULL, &status);
	assert_int_equal(json_array_size(json_object_get(out, "ports")), 0);
	json_decref(out);

	/* The same bulk without the conflict lands entirely. */
	snprintf(
		body, sizeof(body),
		"{\"ports\": [{\"network_id\": \"%s\"}, {\"network_id\": \"%s\"}]}",
		net, net);
	out = call("POST", "/v2.0/ports", body, &status);
	assert_int_equal(status, 201);
	assert_int_equal(json_array_size(json_object_get(out, "ports")), 2);
	json_decref(out);
	free(net);
}

static void test_tenancy(void **state)
{
	char *net = create_network("{\"network\": {\"project_id\": \"a\"}}");
	char *shared = create_network(
		"{\"network\": {\"project_id\": \"a\", \"shared\": true}}");
	char path[128], body[256];
	int status;
	json_t *out;

	snprintf(path, sizeof(path), "/v2.0/networks/%s", net);
	out = call_as("b", false, "GET", path, NULL, NULL, &status);
	assert_int_equal(status, 404);
	json_decref(out);
	out = call_as("b", false, "DELETE", path, NULL, NULL, &status);
	assert_int_equal(status, 404);
	json_decref(out);
	out = call_as("a", false, "GET", path, NULL, NULL, &status);
	assert_int_equal(status, 200);
	json_decref(out);

	/* b lists only what it may see: the shared network. */
	out = call_as("b", false, "GET", "/v2.0/networks", NULL, NULL, &status);
	assert_int_equal(status, 200);
	assert_int_equal(json_array_size(json_object_get(out, "networks")), 1);
	json_decref(out);

	/* A member may not share, nor create in another project. */
	out = call_as("b", false, "POST", "/v2.0/networks",
		      "{\"network\": {\"shared\": true}}", NULL, &status);
	assert_int_equal(status, 403);
	json_decref(out);
	out = call_as("b", false, "POST", "/v2.0/networks",
		      "{\"network\": {\"project_id\": \"a\"}}", NULL, &status);
	assert_int_equal(status, 403);
	json_decref(out);

	/* b may create a port on a's shared network, but not update it. */
	snprintf(body, sizeof(body), "{\"port\": {\"network_id\": \"%s\"}}",
		 shared);
	out = call_as("b", false, "POST", "/v2.0/ports", body, NULL, &status);
	assert_int_equal(status, 201);
	json_decref(out);
	snprintf(path, sizeof(path), "/v2.0/networks/%s", shared);
	out = call_as("b", false, "PUT", path,
		      "{\"network\": {\"name\": \"x\"}}", NULL, &status);
	assert_int_equal(status, 403);
	json_decref(out);
	/* Unsharing while b has a port there is refused. */
	out = call_as("a", false, "PUT", path,
		      "{\"network\": {\"shared\": false}}", NULL, &status);
	assert_int_equal(status, 403); /* 'shared' is admin-only */
	json_decref(out);
	out = call("PUT", path, "{\"network\": {\"shared\": false}}", &status);
	assert_int_equal(status, 409);
	json_decref(out);
	/* Agents are admin-only. */
	out = call_as("b", false, "GET", "/v2.0/agents", NULL, NULL, &status);
	assert_int_equal(status, 403);
	json_decref(out);
	free(net);
	free(shared);
}

static void test_list_query(void **state)
{
	int status;
	json_t *out, *list;

	free(create_network("{\"network\": {\"name\": \"x\"}}"));
	free(create_network(
		"{\"network\": {\"name\": \"y\", \"admin_state_up\": false}}"));
	free(create_network("{\"network\": {\"name\": \"z\"}}"));

	out = call_as("p1", true, "GET", "/v2.0/networks", NULL,
		      "{\"name\": [\"x\", \"z\"], \"fields\": [\"name\"]}",
		      &status);
	assert_int_equal(status, 200);
	list = json_object_get(out, "networks");
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_object_size(json_array_get(list, 0)), 1);
	json_decref(out);

	out = call_as("p1", true, "GET", "/v2.0/networks", NULL,
		      "{\"admin_state_up\": [\"false\"]}", &status);
	assert_int_equal(json_array_size(json_object_get(out, "networks")), 1);
	json_decref(out);

	out = call_as(
		"p1", true, "GET", "/v2.0/networks", NULL,
		"{\"sort_key\": [\"name\"], \"sort_dir\": [\"desc\"], \"limit\": [\"2\"]}",
		&status);
	list = json_object_get(out, "networks");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(list, 0), "name")),
			    "z");
	assert_non_null(json_object_get(out, "networks_links"));
	json_decref(out);

	out = call_as("p1", true, "GET", "/v2.0/networks", NULL,
		      "{\"colour\": [\"red\"]}", &status);
	assert_int_equal(status, 400);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_network_defaults, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_validation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bulk_is_all_or_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenancy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_query, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
