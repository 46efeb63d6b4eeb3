/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The southbound codec: framing, what each side may send, the checks on
 * every member, view objects, and formatting back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbproto.h"

#define UUID1 "0b7e2c4e-8f0a-4a57-9c1e-2f6d3b8a9c01"
#define UUID2 "5d1f0e9a-3c2b-4d8e-a7f6-1e2d3c4b5a69"

#define PORT_OBJ                                                             \
	"{\"key\": \"port:" UUID1 "\", \"kind\": \"port\", \"id\": \"" UUID1 \
	"\", \"network_id\": \"" UUID2 "\", \"vni\": 5, "                    \
	"\"mac\": \"fa:16:3e:00:00:01\", \"ips\": [\"10.0.0.3\"], "          \
	"\"host\": \"h2\", \"admin_state_up\": true, "                       \
	"\"port_security\": true, \"allowed_address_pairs\": "               \
	"[{\"ip_address\": \"10.0.0.0/24\", \"mac_address\": "               \
	"\"fa:16:3e:00:00:01\"}], \"tap\": \"tap0b7e2c4e-8f\"}"
#define NET_OBJ                                       \
	"{\"key\": \"network:" UUID2                  \
	"\", \"kind\": \"network\", \"id\": \"" UUID2 \
	"\", \"vni\": 5, \"mtu\": 1450}"
#define HOST_OBJ                                                        \
	"{\"key\": \"host:h2\", \"kind\": \"host\", \"name\": \"h2\", " \
	"\"underlay_ip\": \"192.0.2.12\"}"

static int parse(const char *line, enum sbproto_sender from,
		 struct sbproto_msg *m)
{
	char why[256] = "";
	int r = sbproto_parse(line, strlen(line), from, m, why, sizeof(why));

	if (r < 0)
		assert_true(why[0] != '\0'); /* a reason is always given */
	return r;
}

static void expect_ok(const char *line, enum sbproto_sender from,
		      enum sbproto_type type)
{
	struct sbproto_msg m;

	if (parse(line, from, &m) != 0)
		fail_msg("refused: %s", line);
	assert_int_equal(m.type, type);
	sbproto_msg_destroy(&m);
}

static void expect_refused(const char *line, enum sbproto_sender from, int r)
{
	struct sbproto_msg m;
	int got = parse(line, from, &m);

	if (got != r)
		fail_msg("expected %d, got %d for: %s", r, got, line);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fails when any of the 'n' 'lines' from 'from' parses. */
static void expect_all_refused(const char *const *lines, size_t n,
			       enum sbproto_sender from)
{
	struct sbproto_msg m;

	for (size_t i = 0; i < n; i++)
		if (parse(lines[i], from, &m) == 0)
			fail_msg("accepted: %s", lines[i]);
}

static void test_framing(void **state)
{
	size_t len = 0;
	char *big;

	assert_int_equal(sbproto_line_length("abc", 3, &len), 0);
	assert_int_equal(sbproto_line_length("abc\ndef", 7, &len), 1);
	assert_int_equal(len, 3);
	assert_int_equal(sbproto_line_length("\n", 1, &len), 1);
	assert_int_equal(len, 0);

	big = malloc(SBPROTO_MAX_LINE + 2);
	assert_non_null(big);
	memset(big, 'x', SBPROTO_MAX_LINE + 2);
	/* Exactly the limit is still a line. */
	big[SBPROTO_MAX_LINE] = '\n';
	assert_int_equal(sbproto_line_length(big, SBPROTO_MAX_LINE + 1, &len),
			 1);
	assert_int_equal(len, SBPROTO_MAX_LINE);
	/* One more byte without a newline is too long. */
	big[SBPROTO_MAX_LINE] = 'x';
	assert_int_equal(sbproto_line_length(big, SBPROTO_MAX_LINE, &len), 0);
	assert_int_equal(sbproto_line_length(big, SBPROTO_MAX_LINE + 1, &len),
			 -EMSGSIZE);
	assert_int_equal(sbproto_parse(big, SBPROTO_MAX_LINE + 1,
				       SBPROTO_FROM_AGENT,
				       &(struct sbproto_msg){ 0 }, NULL, 0),
			 -EMSGSIZE);
	free(big);
}

static void test_agent_messages(void **state)
{
	struct sbproto_msg m;

	assert_int_equal(
		parse("{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		      "\"underlay_ip\": \"192.0.2.11\", \"revision\": 7, "
		      "\"gateway\": true, \"uplink_ip\": \"203.0.113.2\", "
		      "\"future\": [1]}",
		      SBPROTO_FROM_AGENT, &m),
		0);
	assert_int_equal(m.type, SBPROTO_HELLO);
	assert_string_equal(m.host, "h1");
	assert_string_equal(m.underlay_ip, "192.0.2.11");
	assert_int_equal(m.revision, 7);
	assert_true(m.gateway);
	assert_string_equal(m.uplink_ip, "203.0.113.2");
	sbproto_msg_destroy(&m);
	sbproto_msg_destroy(&m); /* zeroed: harmless */

	/* gateway may be left out */
	assert_int_equal(
		parse("{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		      "\"underlay_ip\": \"192.0.2.11\", \"revision\": 0}",
		      SBPROTO_FROM_AGENT, &m),
		0);
	assert_false(m.gateway);
	assert_null(m.uplink_ip);
	sbproto_msg_destroy(&m);

	expect_ok("{\"type\": \"heartbeat\"}", SBPROTO_FROM_AGENT,
		  SBPROTO_HEARTBEAT);
	assert_int_equal(
		parse("{\"type\": \"port_status\", \"port_id\": \"" UUID1
		      "\", \"status\": \"ACTIVE\"}",
		      SBPROTO_FROM_AGENT, &m),
		0);
	assert_string_equal(m.port_id, UUID1);
	assert_string_equal(m.status, "ACTIVE");
	sbproto_msg_destroy(&m);

	assert_int_equal(parse("{\"type\": \"stats_reply\", \"request_id\": 3, "
			       "\"port_id\": \"" UUID1
			       "\", \"stats\": {\"rx_packets\": 1}}",
			       SBPROTO_FROM_AGENT, &m),
			 0);
	assert_int_equal(m.request_id, 3);
	assert_non_null(m.stats);
	assert_null(m.error);
	sbproto_msg_destroy(&m);
	assert_int_equal(parse("{\"type\": \"stats_reply\", \"request_id\": 3, "
			       "\"error\": \"no such tap\"}",
			       SBPROTO_FROM_AGENT, &m),
			 0);
	assert_string_equal(m.error, "no such tap");
	assert_null(m.stats);
	sbproto_msg_destroy(&m);

	/* The counters of the host's devices: no port_id. */
	assert_int_equal(parse("{\"type\": \"stats_reply\", \"request_id\": 4, "
			       "\"stats\": {\"tunnel\": {\"rx_packets\": 1}, "
			       "\"uplink\": {\"rx_packets\": 2}}}",
			       SBPROTO_FROM_AGENT, &m),
			 0);
	assert_null(m.port_id);
	assert_non_null(json_object_get(m.stats, "uplink"));
	sbproto_msg_destroy(&m);
}

static void test_weftd_messages(void **state)
{
	struct sbproto_msg m;

	expect_ok("{\"type\": \"heartbeat\", \"revision\": 4}",
		  SBPROTO_FROM_WEFTD, SBPROTO_HEARTBEAT);
	assert_int_equal(parse("{\"type\": \"snapshot\", \"revision\": 9, "
			       "\"objects\": [" PORT_OBJ ", " NET_OBJ
			       ", " HOST_OBJ "]}",
			       SBPROTO_FROM_WEFTD, &m),
			 0);
	assert_int_equal(m.revision, 9);
	assert_int_equal(json_array_size(m.objects), 3);
	sbproto_msg_destroy(&m);
	expect_ok(
		"{\"type\": \"delta\", \"revision\": 10, \"upsert\": [" HOST_OBJ
		"], \"delete\": [\"port:" UUID1 "\"]}",
		SBPROTO_FROM_WEFTD, SBPROTO_DELTA);
	expect_ok("{\"type\": \"stats_request\", \"request_id\": 1, "
		  "\"port_id\": \"" UUID1 "\"}",
		  SBPROTO_FROM_WEFTD, SBPROTO_STATS_REQUEST);
	assert_int_equal(parse("{\"type\": \"stats_request\", "
			       "\"request_id\": 2, \"devices\": true}",
			       SBPROTO_FROM_WEFTD, &m),
			 0);
	assert_true(m.devices);
	assert_null(m.port_id);
	sbproto_msg_destroy(&m);
}

static void test_invalid(void **state)
{
	static const char *const agent_bad[] = {
		"",
		"not json",
		"[1, 2]",
		"\"hello\"",
		"{}",
		"{\"type\": 5}",
		"{\"type\": \"frobnicate\"}",
		"{\"type\": \"hello\", \"type\": \"hello\"}",
		/* weftd's messages from an agent */
		"{\"type\": \"snapshot\", \"revision\": 1, \"objects\": []}",
		"{\"type\": \"stats_request\", \"request_id\": 1, \"port_id\": \"" UUID1
		"\"}",
		/* hello */
		"{\"type\": \"hello\", \"version\": 2, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"a b\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.300\", \"revision\": 0}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": -1}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": \"0\"}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0, \"gateway\": 1}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"revision\": 0}",
		/* a gateway without (or with a bad) uplink address */
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0, \"gateway\": true}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0, \"gateway\": true, "
		"\"uplink_ip\": \"203.0.113\"}",
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0, \"uplink_ip\": 5}",
		/* port_status */
		"{\"type\": \"port_status\", \"port_id\": \"" UUID1
		"\", \"status\": \"UP\"}",
		"{\"type\": \"port_status\", \"port_id\": \"0B7E2C4E-8F0A-4A57-9C1E-2F6D3B8A9C01\", "
		"\"status\": \"DOWN\"}",
		"{\"type\": \"port_status\", \"port_id\": 5, \"status\": \"DOWN\"}",
		"{\"type\": \"port_status\", \"status\": \"DOWN\"}",
		/* stats_reply */
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"port_id\": \"" UUID1
		"\"}",
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"port_id\": \"" UUID1
		"\", \"stats\": []}",
		"{\"type\": \"stats_reply\", \"port_id\": \"" UUID1
		"\", \"stats\": {}}",
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"error\": \"x\", "
		"\"stats\": {}}",
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"error\": 5}",
		/* device counters without the tunnel, or a bad uplink */
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"stats\": {}}",
		"{\"type\": \"stats_reply\", \"request_id\": 1, \"stats\": "
		"{\"tunnel\": {}, \"uplink\": 1}}",
	};
	static const char *const weftd_bad[] = {
		"{\"type\": \"hello\", \"version\": 1, \"host\": \"h1\", "
		"\"underlay_ip\": \"192.0.2.11\", \"revision\": 0}",
		"{\"type\": \"heartbeat\"}", /* weftd's carries the revision */
		"{\"type\": \"snapshot\", \"revision\": 1}",
		"{\"type\": \"snapshot\", \"revision\": 1, \"objects\": [{}]}",
		"{\"type\": \"snapshot\", \"revision\": 1, \"objects\": [" HOST_OBJ
		", " HOST_OBJ "]}",
		"{\"type\": \"delta\", \"revision\": 1, \"upsert\": []}",
		"{\"type\": \"delta\", \"revision\": 1, \"upsert\": [], \"delete\": [1]}",
		"{\"type\": \"stats_request\", \"request_id\": 1, \"port_id\": \"x\"}",
		"{\"type\": \"stats_request\", \"request_id\": 1}",
		"{\"type\": \"stats_request\", \"request_id\": 1, \"devices\": false}",
		"{\"type\": \"stats_request\", \"request_id\": 1, \"devices\": 1}",
		"{\"type\": \"stats_request\", \"request_id\": 1, \"devices\": true, "
		"\"port_id\": \"" UUID1 "\"}",
	};
	struct sbproto_msg m;

	expect_all_refused(agent_bad, ARRAY_SIZE(agent_bad),
			   SBPROTO_FROM_AGENT);
	expect_all_refused(weftd_bad, ARRAY_SIZE(weftd_bad),
			   SBPROTO_FROM_WEFTD);
	expect_refused("not json", SBPROTO_FROM_AGENT, -EBADMSG);
	expect_refused("[]", SBPROTO_FROM_AGENT, -EBADMSG);
	expect_refused("{\"type\": \"x\"}", SBPROTO_FROM_AGENT, -EPROTO);
	/* A NUL byte or a newline inside the line. */
	assert_int_equal(sbproto_parse("{\"type\"\0: 1}", 12,
				       SBPROTO_FROM_AGENT, &m, NULL, 0),
			 -EBADMSG);
	assert_int_equal(sbproto_parse("{\"type\":\n\"heartbeat\"}", 21,
				       SBPROTO_FROM_AGENT, &m, NULL, 0),
			 -EBADMSG);
}

static void check_object(const char *text, bool valid)
{
	json_t *obj = json_loads(text, 0, NULL);
	char why[256];

	assert_non_null(obj);
	if ((sbproto_check_object(obj, why, sizeof(why)) == 0) != valid)
		fail_msg("%s: %s", valid ? "refused" : "accepted", text);
	json_decref(obj);
}

static void test_objects(void **state)
{
	check_object(PORT_OBJ, true);
	check_object(NET_OBJ, true);
	check_object(HOST_OBJ, true);
	check_object(
		"{\"key\": \"host:h3\", \"kind\": \"host\", \"name\": \"h2\", "
		"\"underlay_ip\": \"192.0.2.12\"}",
		false);
	check_object(
		"{\"key\": \"host:h2\", \"kind\": \"switch\", \"name\": \"h2\"}",
		false);
	check_object("{\"key\": \"network:" UUID2 "\", \"kind\": \"network\", "
		     "\"id\": \"" UUID2 "\", \"vni\": 16777216, \"mtu\": 1450}",
		     false);
	check_object("{\"key\": \"network:" UUID2 "\", \"kind\": \"network\", "
		     "\"id\": \"" UUID2 "\", \"vni\": 5, \"mtu\": 67}",
		     false);
	check_object("{\"key\": \"network:" UUID2 "\", \"kind\": \"network\", "
		     "\"id\": \"" UUID2 "\", \"vni\": 5}",
		     false);
}

#define SUBNET_OBJ                                                            \
	"{\"key\": \"subnet:" UUID1                                           \
	"\", \"kind\": \"subnet\", \"id\": \"" UUID1                          \
	"\", \"network_id\": \"" UUID2                                        \
	"\", \"vni\": 5, \"cidr\": \"10.0.0.0/24\", "                         \
	"\"gateway_ip\": \"10.0.0.1\", \"enable_dhcp\": true, "               \
	"\"dns_nameservers\": [\"192.0.2.53\"], \"host_routes\": "            \
	"[{\"destination\": \"10.9.0.0/16\", \"nexthop\": \"10.0.0.254\"}], " \
	"\"mtu\": 1450, \"dns_domain\": \"openstacklocal\", "                 \
	"\"dhcp_server\": \"10.0.0.1\"}"

#define ROUTER_OBJ                                                   \
	"{\"key\": \"router:" UUID1                                  \
	"\", \"kind\": \"router\", \"id\": \"" UUID1                 \
	"\", \"router_key\": 4294967295, \"admin_state_up\": true, " \
	"\"interfaces\": [{\"port_id\": \"" UUID2                    \
	"\", \"subnet_id\": \"" UUID1 "\", \"network_id\": \"" UUID2 \
	"\", \"vni\": 5, \"ip\": \"10.0.0.1\", "                     \
	"\"prefixlen\": 24, \"mac\": \"fa:16:3e:00:00:01\"}], "      \
	"\"routes\": [{\"destination\": \"0.0.0.0/0\", \"nexthop\": \"10.0.0.9\"}]}"

/* A change to an object: member 'member' set to the JSON 'value' (removed
 * when NULL), in the first element of the list 'inner' when not NULL; and
 * whether the result is valid. */
struct mutation {
	const char *inner, *member, *value;
	bool valid;
};

/* Checks 'base' with member 'member' set to the JSON 'value' (or removed
 * when NULL); in the first element of the list 'inner' when not NULL. */
static void check_mutation(const char *base, const char *inner,
			   const char *member, const char *value, bool valid)
{
	json_t *obj = json_loads(base, 0, NULL), *target = obj;
	char why[256] = "";

	assert_non_null(obj);
	if (inner)
		target = json_array_get(json_object_get(obj, inner), 0);
	if (value)
		json_object_set_new(target, member,
				    json_loads(value, JSON_DECODE_ANY, NULL));
	else
		json_object_del(target, member);
	if ((sbproto_check_object(obj, why, sizeof(why)) == 0) != valid)
		fail_msg("%s = %s: expected %s (%s)", member,
			 value ? value : "(absent)",
			 valid ? "valid" : "invalid", why);
	json_decref(obj);
}

/* Checks 'base' with each of the 'n' 'cases'. */
static void check_mutations(const char *base, const struct mutation *cases,
			    size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_mutation(base, cases[i].inner, cases[i].member,
			       cases[i].value, cases[i].valid);
}

static void test_routing_objects(void **state)
{
	static const struct mutation subnet_cases[] = {
		{ NULL, "gateway_ip", "null", true },
		{ NULL, "gateway_ip", NULL, false },
		{ NULL, "gateway_ip", "\"10.0.0\"", false },
		{ NULL, "cidr", "\"10.0.0.1/24\"", false },
		{ NULL, "cidr", "\"10.0.0.0\"", false },
		{ NULL, "vni", "0", false },
		{ NULL, "mtu", "67", false },
		{ NULL, "network_id", "\"x\"", false },
		{ NULL, "enable_dhcp", "1", false },
		{ NULL, "dns_nameservers", "[\"a\"]", false },
		{ NULL, "dns_nameservers", "\"192.0.2.53\"", false },
		{ NULL, "host_routes", "[{\"destination\": \"10.9.0.0/16\"}]",
		  false },
		{ NULL, "host_routes", "[\"10.9.0.0/16\"]", false },
		{ NULL, "dns_domain", "\"\"", false },
		{ NULL, "dns_domain", "\"a b\"", false },
		{ NULL, "dns_domain", "\"example.org\"", true },
		{ NULL, "dhcp_server", NULL, false },
		{ NULL, "dhcp_server", "\"10.0.0.255/24\"", false },
		{ NULL, "key", "\"subnet:" UUID2 "\"", false },
		{ NULL, "extra", "1", true },
	};
	static const struct mutation router_cases[] = {
		{ NULL, "router_key", "0", false },
		{ NULL, "router_key", "4294967296", false },
		{ NULL, "router_key", "1", true },
		{ NULL, "admin_state_up", NULL, false },
		{ NULL, "interfaces", "[]", true },
		{ NULL, "interfaces", "{}", false },
		{ NULL, "interfaces", "[1]", false },
		{ NULL, "routes", NULL, false },
		{ NULL, "routes",
		  "[{\"destination\": \"10.0.0.1/8\", "
		  "\"nexthop\": \"10.0.0.9\"}]",
		  false },
		{ NULL, "key", "\"network:" UUID1 "\"", false },
		{ "interfaces", "vni", "16777216", false },
		{ "interfaces", "prefixlen", "33", false },
		{ "interfaces", "ip", "\"10.0.0.1/24\"", false },
		{ "interfaces", "mac", "\"fa:16:3e:00:00\"", false },
		{ "interfaces", "port_id", NULL, false },
		{ "interfaces", "subnet_id", "\"" UUID2 "\"", true },
		{ "interfaces", "network_id", "5", false },
	};

	check_object(SUBNET_OBJ, true);
	check_object(ROUTER_OBJ, true);
	check_mutations(SUBNET_OBJ, subnet_cases, ARRAY_SIZE(subnet_cases));
	check_mutations(ROUTER_OBJ, router_cases, ARRAY_SIZE(router_cases));
}

#define GATEWAY_OBJ                                                             \
	"{\"key\": \"gateway:gw1\", \"kind\": \"gateway\", \"name\": \"gw1\", " \
	"\"underlay_ip\": \"192.0.2.101\", \"slot\": 15, \"alive\": true}"
#define FIP_OBJ                                                               \
	"{\"key\": \"floatingip:" UUID1 "\", \"kind\": \"floatingip\", "      \
	"\"id\": \"" UUID1 "\", \"floating_ip_address\": \"203.0.113.120\", " \
	"\"router_key\": 7, \"vni\": 5, \"fixed_ip_address\": \"10.0.0.5\"}"
#define EXT_GW                                                        \
	"{\"network_id\": \"" UUID2 "\", \"ip\": \"203.0.113.101\", " \
	"\"mac\": \"fa:16:3e:00:00:09\", \"enable_snat\": true}"

/* The north-south objects (docs/gateways.md): gateway, floatingip and a
 * router's external_gateway. */
static void test_gateway_objects(void **state)
{
	static const struct mutation gateway_cases[] = {
		{ NULL, "slot", "0", true },
		{ NULL, "slot", "16", false },
		{ NULL, "slot", "-1", false },
		{ NULL, "slot", "null", false },
		{ NULL, "alive", "false", true },
		{ NULL, "alive", NULL, false },
		{ NULL, "alive", "1", false },
		{ NULL, "underlay_ip", "\"192.0.2\"", false },
		{ NULL, "name", "\"gw 1\"", false },
		{ NULL, "key", "\"gateway:gw2\"", false },
		{ NULL, "key", "\"host:gw1\"", false },
	};
	static const struct mutation fip_cases[] = {
		{ NULL, "floating_ip_address", "\"203.0.113\"", false },
		{ NULL, "floating_ip_address", NULL, false },
		{ NULL, "router_key", "0", false },
		{ NULL, "router_key", "null", false },
		{ NULL, "vni", "16777215", false },
		{ NULL, "vni", "16777214", true },
		{ NULL, "fixed_ip_address", "\"10.0.0\"", false },
		{ NULL, "fixed_ip_address", NULL, false },
		{ NULL, "id", "\"" UUID2 "\"", false },
	};
	static const struct mutation router_cases[] = {
		{ NULL, "external_gateway", "null", true },
		{ NULL, "external_gateway", NULL, true },
		{ NULL, "external_gateway", EXT_GW, true },
		{ NULL, "external_gateway", "5", false },
		{ NULL, "external_gateway",
		  "{\"network_id\": \"" UUID2 "\", \"ip\": \"203.0.113.101\", "
		  "\"mac\": \"fa:16:3e:00:00:09\"}",
		  false },
		{ NULL, "external_gateway",
		  "{\"network_id\": \"x\", \"ip\": \"203.0.113.101\", "
		  "\"mac\": \"fa:16:3e:00:00:09\", \"enable_snat\": false}",
		  false },
		{ NULL, "external_gateway",
		  "{\"network_id\": \"" UUID2 "\", \"ip\": \"203.0.113.101\", "
		  "\"mac\": \"fa:16:3e\", \"enable_snat\": false}",
		  false },
	};
	static const char *const unassociated =
		"{\"key\": \"floatingip:" UUID1 "\", \"kind\": \"floatingip\", "
		"\"id\": \"" UUID1
		"\", \"floating_ip_address\": \"203.0.113.120\", "
		"\"router_key\": null, \"vni\": null, \"fixed_ip_address\": null}";

	check_object(GATEWAY_OBJ, true);
	check_object(FIP_OBJ, true);
	check_object(unassociated, true);
	check_mutations(GATEWAY_OBJ, gateway_cases, ARRAY_SIZE(gateway_cases));
	check_mutations(FIP_OBJ, fip_cases, ARRAY_SIZE(fip_cases));
	check_mutations(ROUTER_OBJ, router_cases, ARRAY_SIZE(router_cases));
	/* A network's VNI is never the hand-off VNI. */
	check_mutation(NET_OBJ, NULL, "vni", "16777215", false);
}

/* The builders of the gateway hello and of device statistics. */
static void test_gateway_builders(void **state)
{
	json_t *stats = json_pack("{s:{}}", "tunnel");
	json_t *msgs[3];
	struct sbproto_msg m;
	enum sbproto_sender from[3] = { SBPROTO_FROM_AGENT, SBPROTO_FROM_WEFTD,
					SBPROTO_FROM_AGENT };
	char *line;
	size_t len;

	msgs[0] = sbproto_gateway_hello_new("gw1", "192.0.2.101", 3,
					    "203.0.113.2");
	msgs[1] = sbproto_device_stats_request_new(9);
	msgs[2] = sbproto_stats_reply_new(9, NULL, stats);
	for (int i = 0; i < 3; i++) {
		assert_non_null(msgs[i]);
		assert_int_equal(sbproto_format(msgs[i], &line, &len), 0);
		assert_int_equal(
			sbproto_parse(line, len - 1, from[i], &m, NULL, 0), 0);
		if (i == 0)
			assert_string_equal(m.uplink_ip, "203.0.113.2");
		if (i == 1)
			assert_true(m.devices);
		if (i == 2)
			assert_null(m.port_id);
		sbproto_msg_destroy(&m);
		free(line);
		json_decref(msgs[i]);
	}
	json_decref(stats);
}

#define SECGROUP_OBJ                                                          \
	"{\"key\": \"secgroup:" UUID1                                         \
	"\", \"kind\": \"secgroup\", \"id\": \"" UUID1                        \
	"\", \"rules\": [{\"id\": \"" UUID2                                   \
	"\", \"direction\": \"ingress\", \"protocol\": 6, "                   \
	"\"port_range_min\": 22, \"port_range_max\": 22, "                    \
	"\"remote_ip_prefix\": \"10.0.0.0/8\", \"remote_group_id\": null}], " \
	"\"members\": [\"10.0.0.3\", \"10.0.1.0/24\"]}"

/* The secgroup object and a port's security_groups. */
static void test_secgroup_objects(void **state)
{
	static const struct mutation cases[] = {
		{ NULL, "rules", "[]", true },
		{ NULL, "rules", NULL, false },
		{ NULL, "rules", "{}", false },
		{ NULL, "rules", "[1]", false },
		{ NULL, "members", "[]", true },
		{ NULL, "members", NULL, false },
		{ NULL, "members", "[\"10.0.0.1/24\"]", true },
		{ NULL, "members", "[\"10.0.0\"]", false },
		{ NULL, "members", "[5]", false },
		{ NULL, "id", "\"" UUID2 "\"", false },
		{ NULL, "key", "\"port:" UUID1 "\"", false },
		{ "rules", "id", "\"x\"", false },
		{ "rules", "id", NULL, false },
		{ "rules", "direction", "\"egress\"", true },
		{ "rules", "direction", "\"both\"", false },
		{ "rules", "direction", NULL, false },
		{ "rules", "protocol", "null", true },
		{ "rules", "protocol", NULL, true },
		{ "rules", "protocol", "255", true },
		{ "rules", "protocol", "256", false },
		{ "rules", "protocol", "-1", false },
		{ "rules", "protocol", "\"tcp\"", false },
		{ "rules", "port_range_min", "0", true },
		{ "rules", "port_range_min", "65536", false },
		{ "rules", "port_range_max", "null", true },
		{ "rules", "port_range_max", "\"22\"", false },
		{ "rules", "remote_ip_prefix", "null", true },
		{ "rules", "remote_ip_prefix", "\"0.0.0.0/0\"", true },
		{ "rules", "remote_ip_prefix", "\"10.0.0.1/8\"", false },
		{ "rules", "remote_ip_prefix", "\"10.0.0.1\"", false },
		{ "rules", "remote_group_id", "\"" UUID1 "\"", true },
		{ "rules", "remote_group_id", "\"" UUID1 "x\"", false },
		{ "rules", "remote_group_id", "1", false },
	};
	static const struct mutation port_cases[] = {
		{ NULL, "security_groups", NULL, true },
		{ NULL, "security_groups", "[]", true },
		{ NULL, "security_groups", "[\"" UUID1 "\", \"" UUID2 "\"]",
		  true },
		{ NULL, "security_groups", "\"" UUID1 "\"", false },
		{ NULL, "security_groups", "[\"x\"]", false },
		{ NULL, "security_groups", "[1]", false },
		{ NULL, "security_groups", "null", false },
	};

	check_object(SECGROUP_OBJ, true);
	check_mutations(SECGROUP_OBJ, cases, ARRAY_SIZE(cases));
	check_mutations(PORT_OBJ, port_cases, ARRAY_SIZE(port_cases));
}

/* conntrack_request and conntrack_reply, valid and not. */
static void test_conntrack_messages(void **state)
{
	static const char *const agent_bad[] = {
		"{\"type\": \"conntrack_reply\", \"entries\": []}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"entries\": {}}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"entries\": [1]}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"entries\": [], \"truncated\": 1}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"entries\": [], \"error\": \"x\"}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"error\": 5}",
		"{\"type\": \"conntrack_reply\", \"request_id\": -1, "
		"\"entries\": []}",
		"{\"type\": \"conntrack_request\", \"request_id\": 1}",
	};
	static const char *const weftd_bad[] = {
		"{\"type\": \"conntrack_request\"}",
		"{\"type\": \"conntrack_request\", \"request_id\": \"1\"}",
		"{\"type\": \"conntrack_request\", \"request_id\": 1, "
		"\"port_id\": \"x\"}",
		"{\"type\": \"conntrack_request\", \"request_id\": 1, "
		"\"port_id\": null}",
		"{\"type\": \"conntrack_reply\", \"request_id\": 1, "
		"\"entries\": []}",
	};
	struct sbproto_msg m;

	assert_int_equal(parse("{\"type\": \"conntrack_request\", "
			       "\"request_id\": 7}",
			       SBPROTO_FROM_WEFTD, &m),
			 0);
	assert_int_equal(m.type, SBPROTO_CONNTRACK_REQUEST);
	assert_int_equal(m.request_id, 7);
	assert_null(m.port_id);
	sbproto_msg_destroy(&m);
	assert_int_equal(parse("{\"type\": \"conntrack_request\", "
			       "\"request_id\": 8, \"port_id\": \"" UUID1 "\"}",
			       SBPROTO_FROM_WEFTD, &m),
			 0);
	assert_string_equal(m.port_id, UUID1);
	sbproto_msg_destroy(&m);
	assert_int_equal(
		parse("{\"type\": \"conntrack_reply\", "
		      "\"request_id\": 7, \"entries\": [{\"sport\": 1}]}",
		      SBPROTO_FROM_AGENT, &m),
		0);
	assert_int_equal(m.type, SBPROTO_CONNTRACK_REPLY);
	assert_int_equal(json_array_size(m.entries), 1);
	assert_false(m.truncated);
	assert_null(m.error);
	sbproto_msg_destroy(&m);
	assert_int_equal(parse("{\"type\": \"conntrack_reply\", "
			       "\"request_id\": 7, \"entries\": [], "
			       "\"truncated\": true}",
			       SBPROTO_FROM_AGENT, &m),
			 0);
	assert_true(m.truncated);
	sbproto_msg_destroy(&m);
	assert_int_equal(parse("{\"type\": \"conntrack_reply\", "
			       "\"request_id\": 9, \"error\": \"no map\"}",
			       SBPROTO_FROM_AGENT, &m),
			 0);
	assert_string_equal(m.error, "no map");
	assert_null(m.entries);
	sbproto_msg_destroy(&m);
	expect_all_refused(agent_bad, ARRAY_SIZE(agent_bad),
			   SBPROTO_FROM_AGENT);
	expect_all_refused(weftd_bad, ARRAY_SIZE(weftd_bad),
			   SBPROTO_FROM_WEFTD);
}

static void test_format_round_trip(void **state)
{
	json_t *objects = json_loads("[" PORT_OBJ ", " NET_OBJ "]", 0, NULL);
	json_t *deletes = json_pack("[s]", "host:h9");
	json_t *stats = json_pack("{s:i}", "rx_packets", 1);
	json_t *msgs[] = {
		sbproto_hello_new("h1", "192.0.2.11", 3, false),
		sbproto_gateway_hello_new("gw1", "192.0.2.101", 3,
					  "203.0.113.2"),
		sbproto_agent_heartbeat_new(),
		sbproto_port_status_new(UUID1, false),
		sbproto_stats_reply_new(2, UUID1, stats),
		sbproto_stats_error_new(2, "gone"),
		sbproto_heartbeat_new(9),
		sbproto_snapshot_new(9, objects),
		sbproto_delta_new(10, objects, deletes),
		sbproto_stats_request_new(4, UUID1),
		sbproto_conntrack_reply_new(5, json_pack("[{s:i}]", "sport", 1),
					    true),
		sbproto_conntrack_reply_error_new(5, "no map"),
		sbproto_conntrack_request_new(6, UUID1),
		sbproto_conntrack_request_new(7, NULL),
	};
	enum sbproto_sender from[] = {
		SBPROTO_FROM_AGENT, SBPROTO_FROM_AGENT, SBPROTO_FROM_AGENT,
		SBPROTO_FROM_AGENT, SBPROTO_FROM_AGENT, SBPROTO_FROM_AGENT,
		SBPROTO_FROM_WEFTD, SBPROTO_FROM_WEFTD, SBPROTO_FROM_WEFTD,
		SBPROTO_FROM_WEFTD, SBPROTO_FROM_AGENT, SBPROTO_FROM_AGENT,
		SBPROTO_FROM_WEFTD, SBPROTO_FROM_WEFTD,
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct sbproto_msg m;
		char *line, why[256];
		size_t len;

		assert_non_null(msgs[i]);
		assert_int_equal(sbproto_format(msgs[i], &line, &len), 0);
		assert_int_equal(line[len - 1], '\n');
		assert_null(memchr(line, '\n', len - 1));
		if (sbproto_parse(line, len - 1, from[i], &m, why,
				  sizeof(why)) < 0)
			fail_msg("%s: %s", line, why);
		assert_true(json_equal(m.json, msgs[i]));
		sbproto_msg_destroy(&m);
		free(line);
		json_decref(msgs[i]);
	}
	json_decref(objects);
	json_decref(deletes);
	json_decref(stats);
}

static void test_format_too_long(void **state)
{
	char *big = malloc(SBPROTO_MAX_LINE);
	json_t *msg;
	char *line;
	size_t len;

	assert_non_null(big);
	memset(big, 'a', SBPROTO_MAX_LINE - 1);
	big[SBPROTO_MAX_LINE - 1] = '\0';
	msg = sbproto_stats_error_new(1, big);
	assert_int_equal(sbproto_format(msg, &line, &len), -EMSGSIZE);
	json_decref(msg);
	assert_int_equal(sbproto_format(json_null(), &line, &len), -EINVAL);
	free(big);
}

static void test_uuid(void **state)
{
	assert_true(sbproto_is_uuid(UUID1));
	assert_false(sbproto_is_uuid("0b7e2c4e8f0a4a579c1e2f6d3b8a9c01"));
	assert_false(sbproto_is_uuid("0b7e2c4e-8f0a-4a57-9c1e-2f6d3b8a9c0g"));
	assert_false(sbproto_is_uuid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_agent_messages),
		cmocka_unit_test(test_weftd_messages),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_routing_objects),
		cmocka_unit_test(test_secgroup_objects),
		cmocka_unit_test(test_gateway_objects),
		cmocka_unit_test(test_gateway_builders),
		cmocka_unit_test(test_conntrack_messages),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_too_long),
		cmocka_unit_test(test_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
