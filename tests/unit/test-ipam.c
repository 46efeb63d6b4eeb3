/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "tmpstore.h"
#include "netaddr.h"

static struct tmpstore ts;
static struct store *s;

static int setup(void **state)
{
	if (tmpstore_open(&ts) < 0)
		return -1;
	s = ts.store;
	return store_begin(s);
}

static int teardown(void **state)
{
	store_rollback(s);
	return tmpstore_close(&ts);
}

static uint32_t ip(const char *text)
{
	uint32_t v = 0;

	assert_int_equal(netaddr_parse_ipv4(text, &v), 0);
	return v;
}

static struct ipam_subnet subnet(const char *id, const char *cidr,
				 const char *gw)
{
	struct ipam_subnet sn = { .id = id };

	assert_int_equal(netaddr_parse_cidr4(cidr, true, &sn.net, &sn.prefix),
			 0);
	if (gw) {
		sn.has_gateway = true;
		sn.gateway = ip(gw);
	}
	ipam_default_pools(&sn);
	return sn;
}

static void test_default_pools(void **state)
{
	struct ipam_subnet sn = subnet("a", "10.0.0.0/24", "10.0.0.1");

	assert_int_equal(sn.n_pools, 1);
	assert_int_equal(sn.pools[0].first, ip("10.0.0.2"));
	assert_int_equal(sn.pools[0].last, ip("10.0.0.254"));

	/* A gateway in the middle splits the range. */
	sn = subnet("b", "10.0.0.0/24", "10.0.0.100");
	assert_int_equal(sn.n_pools, 2);
	assert_int_equal(sn.pools[0].last, ip("10.0.0.99"));
	assert_int_equal(sn.pools[1].first, ip("10.0.0.101"));

	sn = subnet("c", "10.0.0.0/24", NULL);
	assert_int_equal(sn.n_pools, 1);
	assert_int_equal(sn.pools[0].first, ip("10.0.0.1"));

	/* /31 and /32 have no network or broadcast address. */
	sn = subnet("d", "10.0.0.0/31", NULL);
	assert_int_equal(sn.pools[0].first, ip("10.0.0.0"));
	assert_int_equal(sn.pools[0].last, ip("10.0.0.1"));

	assert_true(ipam_in_pools(&sn, ip("10.0.0.1")));
	assert_false(ipam_in_pools(&sn, ip("10.0.0.2")));
}

static void test_allocate_skips_gateway_and_used(void **state)
{
	struct ipam_subnet sn = subnet("s", "10.0.0.0/29", "10.0.0.1");
	uint32_t got;

	/* Pools: .2 - .6. Take .3 by hand first. */
	assert_int_equal(store_ip_claim(s, "s", ip("10.0.0.3"), "x"), 0);
	assert_int_equal(ipam_allocate(s, &sn, "p1", &got), 0);
	assert_int_equal(got, ip("10.0.0.4")); /* after the highest */
	assert_int_equal(ipam_allocate(s, &sn, "p2", &got), 0);
	assert_int_equal(got, ip("10.0.0.5"));
	assert_int_equal(ipam_allocate(s, &sn, "p3", &got), 0);
	assert_int_equal(got, ip("10.0.0.6"));
	/* The top is used up: the gap at the bottom is found. */
	assert_int_equal(ipam_allocate(s, &sn, "p4", &got), 0);
	assert_int_equal(got, ip("10.0.0.2"));
	assert_int_equal(ipam_allocate(s, &sn, "p5", &got), -ENOSPC);

	/* A freed address returns to the pool. */
	assert_int_equal(store_ip_release(s, "s", ip("10.0.0.5")), 0);
	assert_int_equal(ipam_allocate(s, &sn, "p6", &got), 0);
	assert_int_equal(got, ip("10.0.0.5"));
	assert_int_equal(ipam_allocate(s, &sn, "p7", &got), -ENOSPC);
}

static void test_multiple_pools(void **state)
{
	struct ipam_subnet sn = subnet("m", "192.168.0.0/24", "192.168.0.1");
	uint32_t got;

	sn.n_pools = 2;
	sn.pools[0] =
		(struct ipam_pool){ ip("192.168.0.10"), ip("192.168.0.11") };
	sn.pools[1] =
		(struct ipam_pool){ ip("192.168.0.20"), ip("192.168.0.20") };
	assert_int_equal(ipam_allocate(s, &sn, "a", &got), 0);
	assert_int_equal(got, ip("192.168.0.10"));
	assert_int_equal(ipam_allocate(s, &sn, "b", &got), 0);
	assert_int_equal(got, ip("192.168.0.11"));
	assert_int_equal(ipam_allocate(s, &sn, "c", &got), 0);
	assert_int_equal(got, ip("192.168.0.20"));
	assert_int_equal(ipam_allocate(s, &sn, "d", &got), -ENOSPC);
}

static void test_large_subnet_no_duplicates(void **state)
{
	struct ipam_subnet sn = subnet("big", "10.10.0.0/16", "10.10.0.1");
	uint32_t got, prev = 0;

	/* 20,000 allocations: each is unique and above the previous. */
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(ipam_allocate(s, &sn, "p", &got), 0);
		assert_true(got > prev);
		prev = got;
	}
	assert_int_equal(prev, ip("10.10.0.1") + 20000);
}

static void test_json_roundtrip(void **state)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "j",
				"cidr", "10.0.0.0/24", "gateway_ip", "10.0.0.1",
				"allocation_pools", "start", "10.0.0.10", "end",
				"10.0.0.20");
	struct ipam_subnet sn;
	json_t *pools;

	assert_int_equal(ipam_subnet_parse(doc, &sn), 0);
	assert_string_equal(sn.id, "j");
	assert_int_equal(sn.n_pools, 1);
	assert_int_equal(sn.pools[0].first, ip("10.0.0.10"));
	pools = ipam_pools_to_json(&sn);
	assert_true(
		json_equal(pools, json_object_get(doc, "allocation_pools")));
	json_decref(pools);

	json_object_set_new(doc, "cidr", json_string("10.0.0.1/24"));
	assert_int_equal(ipam_subnet_parse(doc, &sn), -EINVAL);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_pools),
		cmocka_unit_test_setup_teardown(
			test_allocate_skips_gateway_and_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_pools, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_large_subnet_no_duplicates,
						setup, teardown),
		cmocka_unit_test(test_json_roundtrip),
	};

	return cmocka_run_group_tests_name("ipam", tests, NULL, NULL);
}
