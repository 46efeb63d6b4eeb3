/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "netaddr.h"

static void test_ipv4_valid(void **state)
{
	uint32_t ip;
	char buf[NETADDR_IPV4_STRLEN];

	assert_int_equal(netaddr_parse_ipv4("10.0.0.1", &ip), 0);
	assert_int_equal(ip, 0x0a000001);
	assert_int_equal(netaddr_parse_ipv4("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffff);
	assert_int_equal(netaddr_parse_ipv4("0.0.0.0", &ip), 0);
	netaddr_format_ipv4(0xc0a80a01, buf);
	assert_string_equal(buf, "192.168.10.1");
}

static void test_ipv4_invalid(void **state)
{
	static const char *const bad[] = {
		"",	    "1.2.3",	  "1.2.3.4.5", "256.1.1.1",
		"01.2.3.4", "1.2.3.4 ",	  "a.b.c.d",   "1..2.3",
		"-1.2.3.4", "1.2.3.4/24", "1.2.3.",
	};
	uint32_t ip = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(netaddr_parse_ipv4(bad[i], &ip), -EINVAL);
	assert_int_equal(ip, 42); /* untouched on failure */
	assert_int_equal(netaddr_parse_ipv4(NULL, &ip), -EINVAL);
}

static void test_cidr(void **state)
{
	uint32_t net;
	int plen;

	assert_int_equal(netaddr_parse_cidr4("10.0.0.0/24", true, &net, &plen),
			 0);
	assert_int_equal(net, 0x0a000000);
	assert_int_equal(plen, 24);
	assert_int_equal(netaddr_parse_cidr4("0.0.0.0/0", true, &net, &plen),
			 0);
	assert_int_equal(plen, 0);
	/* Host bits: rejected when strict, kept otherwise. */
	assert_int_equal(netaddr_parse_cidr4("10.0.0.5/24", true, &net, &plen),
			 -EINVAL);
	assert_int_equal(netaddr_parse_cidr4("10.0.0.5/24", false, &net, &plen),
			 0);
	assert_int_equal(net, 0x0a000005);
	assert_int_equal(netaddr_parse_cidr4("10.0.0.0/33", false, &net, &plen),
			 -EINVAL);
	assert_int_equal(netaddr_parse_cidr4("10.0.0.0/", false, &net, &plen),
			 -EINVAL);
	assert_int_equal(
		netaddr_parse_cidr4("10.0.0.0/024", false, &net, &plen),
		-EINVAL);
	assert_int_equal(netaddr_parse_cidr4("10.0.0.0", false, &net, &plen),
			 -EINVAL);
	assert_int_equal(netaddr_parse_cidr4("10.0.0.0/2x", false, &net, &plen),
			 -EINVAL);
	assert_int_equal(netaddr_parse_cidr4("foo", false, &net, &plen),
			 -EINVAL);
}

static void test_prefix_math(void **state)
{
	assert_int_equal(netaddr_mask(0), 0);
	assert_int_equal(netaddr_mask(24), 0xffffff00);
	assert_int_equal(netaddr_mask(32), 0xffffffff);
	assert_true(netaddr_in_prefix(0x0a0000fe, 0x0a000000, 24));
	assert_false(netaddr_in_prefix(0x0a000100, 0x0a000000, 24));
	assert_true(netaddr_prefixes_overlap(0x0a000000, 16, 0x0a000100, 24));
	assert_true(netaddr_prefixes_overlap(0x0a000100, 24, 0x0a000000, 16));
	assert_false(netaddr_prefixes_overlap(0x0a000000, 24, 0x0a000100, 24));
}

static void test_mac(void **state)
{
	uint8_t mac[6];
	char buf[NETADDR_MAC_STRLEN];

	assert_int_equal(netaddr_parse_mac("FA:16:3e:00:aB:ff", mac), 0);
	netaddr_format_mac(mac, buf);
	assert_string_equal(buf, "fa:16:3e:00:ab:ff");
	assert_int_equal(netaddr_parse_mac("fa:16:3e:00:ab", mac), -EINVAL);
	assert_int_equal(netaddr_parse_mac("fa-16-3e-00-ab-ff", mac), -EINVAL);
	assert_int_equal(netaddr_parse_mac("fa:16:3e:00:ab:fg", mac), -EINVAL);
	assert_int_equal(netaddr_parse_mac(NULL, mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_valid),
		cmocka_unit_test(test_ipv4_invalid),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_prefix_math),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
