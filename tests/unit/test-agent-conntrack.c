/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "abi/weft.h"
#include "conntrack.h"
#include "kvtab.h"

#define SEC 1000000000ull
#define P1 "aaaaaaaa-1111-4111-8111-111111111111"
#define P2 "bbbbbbbb-2222-4222-8222-222222222222"

/* 10.0.0.3:40000 -> 10.0.0.4:22, established, on ifindex 10. */
static void tcp_entry(struct weft_ct_key *k, struct weft_ct_entry *e,
		      uint64_t now)
{
	*k = (struct weft_ct_key){ .vni = 5,
				   .saddr = htonl(0x0a000003),
				   .daddr = htonl(0x0a000004),
				   .sport = htons(40000),
				   .dport = htons(22),
				   .proto = 6,
				   .dir = WEFT_CT_EGRESS };
	*e = (struct weft_ct_entry){
		.expires_ns = now + 86399 * SEC + SEC / 2,
		.packets = { 5, 4 },
		.bytes = { 300, 260 },
		.ifindex = 10,
		.state = WEFT_CT_ESTABLISHED,
	};
}

static void test_entry_json(void **state)
{
	uint64_t now = 1000 * SEC;
	struct weft_ct_key k;
	struct weft_ct_entry e;
	json_t *j, *want;

	tcp_entry(&k, &e, now);
	j = conntrack_entry_json(&k, &e, P1, now);
	want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:i, s:i,"
			 " s:i, s:i, s:i}",
			 "port_id", P1, "direction", "egress", "protocol",
			 "tcp", "src", "10.0.0.3", "dst", "10.0.0.4", "sport",
			 40000, "dport", 22, "state", "ESTABLISHED",
			 "expires_in", 86399, "packets_orig", 5, "bytes_orig",
			 300, "packets_reply", 4, "bytes_reply", 260);
	assert_true(json_equal(j, want));
	json_decref(j);
	json_decref(want);

	/* ICMP echo, opened towards the port: its id, no ports. */
	k.proto = 1;
	k.dir = WEFT_CT_INGRESS;
	k.sport = htons(77);
	k.dport = 0;
	e.state = WEFT_CT_REPLIED;
	e.expires_ns = now + 30 * SEC;
	j = conntrack_entry_json(&k, &e, P1, now);
	assert_string_equal(json_string_value(json_object_get(j, "protocol")),
			    "icmp");
	assert_string_equal(json_string_value(json_object_get(j, "direction")),
			    "ingress");
	assert_int_equal(json_integer_value(json_object_get(j, "icmp_id")), 77);
	assert_null(json_object_get(j, "sport"));
	assert_null(json_object_get(j, "dport"));
	assert_string_equal(json_string_value(json_object_get(j, "state")),
			    "REPLIED");
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in")),
			 30);
	json_decref(j);

	/* UDP, another protocol number. */
	k.proto = 17;
	j = conntrack_entry_json(&k, &e, P1, now);
	assert_string_equal(json_string_value(json_object_get(j, "protocol")),
			    "udp");
	assert_int_equal(json_integer_value(json_object_get(j, "sport")), 77);
	json_decref(j);
	k.proto = 132;
	j = conntrack_entry_json(&k, &e, P1, now);
	assert_string_equal(json_string_value(json_object_get(j, "protocol")),
			    "132");
	json_decref(j);
}

static void test_state_names(void **state)
{
	static const char *const want[] = {
		"UNKNOWN",   "SYN_SENT",  "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
		"TIME_WAIT", "UNREPLIED", "REPLIED",  "UNKNOWN",
	};

	for (uint8_t s = 0; s < sizeof(want) / sizeof(want[0]); s++)
		assert_string_equal(conntrack_state_name(s), want[s]);
	assert_string_equal(conntrack_state_name(255), "UNKNOWN");
}

static void test_is_dead(void **state)
{
	struct kvtab ports;
	struct weft_port with = { .vni = 5, .flags = WEFT_PORT_F_POLICY };
	struct weft_port without = { .vni = 5, .flags = WEFT_PORT_F_UP };
	struct weft_ct_entry e = { .expires_ns = 100 * SEC, .ifindex = 10 };
	__u32 k;

	kvtab_init(&ports, sizeof(__u32), sizeof(struct weft_port));
	/* No such port. */
	assert_true(conntrack_is_dead(&e, 50 * SEC, &ports));
	k = 10;
	kvtab_put(&ports, &k, &with);
	assert_false(conntrack_is_dead(&e, 50 * SEC, &ports));
	assert_false(conntrack_is_dead(&e, 100 * SEC, &ports));
	assert_true(conntrack_is_dead(&e, 100 * SEC + 1, &ports));
	/* The port no longer has security groups. */
	kvtab_put(&ports, &k, &without);
	assert_true(conntrack_is_dead(&e, 50 * SEC, &ports));
	kvtab_destroy(&ports);
}

static void test_list(void **state)
{
	uint64_t now = 1000 * SEC;
	struct kvtab ids;
	struct conntrack_list l;
	struct weft_ct_key k;
	struct weft_ct_entry e;
	char id[CONNTRACK_PORT_ID_MAX] = P1;
	__u32 ifindex = 10;

	kvtab_init(&ids, sizeof(__u32), CONNTRACK_PORT_ID_MAX);
	kvtab_put(&ids, &ifindex, id);
	ifindex = 11;
	strcpy(id, P2);
	kvtab_put(&ids, &ifindex, id);

	/* Every port: p1 and p2; not an unknown ifindex, not expired. */
	assert_int_equal(conntrack_list_init(&l, &ids, 0, now), 0);
	tcp_entry(&k, &e, now);
	assert_true(conntrack_list_add(&l, &k, &e));
	e.ifindex = 11;
	assert_true(conntrack_list_add(&l, &k, &e));
	e.ifindex = 12;
	assert_true(conntrack_list_add(&l, &k, &e));
	e.ifindex = 10;
	e.expires_ns = now - 1;
	assert_true(conntrack_list_add(&l, &k, &e));
	assert_int_equal(json_array_size(l.entries), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(l.entries, 1), "port_id")),
			    P2);
	assert_false(l.truncated);
	conntrack_list_destroy(&l);

	/* One port only, and truncation after CONNTRACK_MAX_ENTRIES. */
	assert_int_equal(conntrack_list_init(&l, &ids, 11, now), 0);
	tcp_entry(&k, &e, now);
	assert_true(conntrack_list_add(&l, &k, &e));
	assert_int_equal(json_array_size(l.entries), 0);
	e.ifindex = 11;
	for (int i = 0; i < CONNTRACK_MAX_ENTRIES; i++)
		assert_true(conntrack_list_add(&l, &k, &e));
	assert_false(l.truncated);
	assert_false(conntrack_list_add(&l, &k, &e));
	assert_true(l.truncated);
	assert_int_equal(json_array_size(l.entries), CONNTRACK_MAX_ENTRIES);
	assert_int_equal(l.error, 0);
	conntrack_list_destroy(&l);
	kvtab_destroy(&ids);
}

/* The log line of a drop event: with ports, without, with what the rate
 * limit kept out, and an unknown protocol by its number. */
static void test_drop_event_format(void **state)
{
	struct weft_drop_event ev = {
		.ifindex = 7,
		.reason = WEFT_DROP_POLICY_INGRESS,
		.saddr = htonl(0x0a000003),
		.daddr = htonl(0x0a000004),
		.sport = htons(40000),
		.dport = htons(22),
		.proto = 6,
	};
	char buf[256];

	conntrack_drop_event_format(&ev, "P1", buf, sizeof(buf));
	assert_string_equal(
		buf, "P1 policy_ingress tcp 10.0.0.3:40000 -> 10.0.0.4:22");
	ev.proto = 1;
	ev.sport = ev.dport = 0;
	ev.reason = WEFT_DROP_CT_INVALID;
	ev.suppressed = 12;
	conntrack_drop_event_format(&ev, "P1", buf, sizeof(buf));
	assert_string_equal(
		buf,
		"P1 ct_invalid icmp 10.0.0.3 -> 10.0.0.4 (12 more not logged)");
	ev.proto = 47;
	ev.suppressed = 0;
	ev.reason = WEFT_DROP_MAX;
	conntrack_drop_event_format(&ev, "P1", buf, sizeof(buf));
	assert_string_equal(buf, "P1 unknown 47 10.0.0.3 -> 10.0.0.4");
	/* Cut short, never overrun. */
	assert_true(conntrack_drop_event_format(&ev, "P1", buf, 8) > 7);
	assert_int_equal(strlen(buf), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_json),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_is_dead),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_drop_event_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
