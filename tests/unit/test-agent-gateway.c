/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "gateway.h"

/* Gateways 192.0.2.101.. in slots 0.. */
static void members(struct gateway_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m[i] = (struct gateway_member){ 0xc0000265u + (uint32_t)i,
						(uint32_t)i };
}

/* How many buckets of 't' go to 'ip' (host order). */
static size_t share(const struct weft_gw_bucket *t, uint32_t ip)
{
	size_t n = 0;

	for (size_t b = 0; b < WEFT_GW_BUCKETS; b++)
		n += t[b].ip == htonl(ip);
	return n;
}

/* Every gateway count from 1 to 16 gets every bucket filled, each
 * gateway at least half and at most twice its fair share. */
static void test_table_balanced(void **state)
{
	struct gateway_member m[WEFT_MAX_GATEWAYS];
	struct weft_gw_bucket t[WEFT_GW_BUCKETS];

	members(m, WEFT_MAX_GATEWAYS);
	for (size_t n = 1; n <= WEFT_MAX_GATEWAYS; n++) {
		size_t fair = WEFT_GW_BUCKETS / n, total = 0;

		gateway_table_fill(m, n, t);
		for (size_t i = 0; i < n; i++) {
			size_t s = share(t, m[i].ip);

			assert_true(s >= fair / 2);
			assert_true(s <= fair * 2);
			total += s;
		}
		assert_int_equal(total, WEFT_GW_BUCKETS);
		for (size_t b = 0; b < WEFT_GW_BUCKETS; b++)
			assert_int_equal(t[b].slot, ntohl(t[b].ip) - m[0].ip);
	}
}

/* No gateway: every bucket is empty. */
static void test_table_empty(void **state)
{
	struct weft_gw_bucket t[WEFT_GW_BUCKETS];

	memset(t, 0xff, sizeof(t));
	gateway_table_fill(NULL, 0, t);
	for (size_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		assert_int_equal(t[b].ip, 0);
		assert_int_equal(t[b].slot, 0);
	}
}

/* The order members are given in does not matter, and the score of a
 * (bucket, gateway) pair is a fixed function: every host computes the
 * same table. */
static void test_table_deterministic(void **state)
{
	struct gateway_member m[4], rev[4];
	struct weft_gw_bucket a[WEFT_GW_BUCKETS], b[WEFT_GW_BUCKETS];

	members(m, 4);
	for (size_t i = 0; i < 4; i++)
		rev[i] = m[3 - i];
	gateway_table_fill(m, 4, a);
	gateway_table_fill(rev, 4, b);
	assert_memory_equal(a, b, sizeof(a));
	/* Pinned values: a change of the hash would split hosts running
	 * different versions. */
	assert_true(gateway_score(0, 0xc0000265u) == 0x6742f10945d88228ull);
	assert_true(gateway_score(0, 0xc0000265u) !=
		    gateway_score(1, 0xc0000265u));
	assert_true(gateway_score(0, 0xc0000265u) !=
		    gateway_score(0, 0xc0000266u));
}

/* A gateway leaving moves only its own buckets; one joining takes only
 * buckets, never moving a bucket between two others. */
static void test_table_minimal_movement(void **state)
{
	struct gateway_member m[5];
	struct weft_gw_bucket four[WEFT_GW_BUCKETS], three[WEFT_GW_BUCKETS],
		five[WEFT_GW_BUCKETS];
	size_t moved = 0;

	members(m, 5);
	gateway_table_fill(m, 4, four);
	/* Without m[1]. */
	{
		struct gateway_member left[3] = { m[0], m[2], m[3] };

		gateway_table_fill(left, 3, three);
	}
	for (size_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		if (four[b].ip == htonl(m[1].ip)) {
			assert_true(three[b].ip != htonl(m[1].ip));
			moved++;
		} else {
			assert_memory_equal(&three[b], &four[b],
					    sizeof(four[b]));
		}
	}
	assert_int_equal(moved, share(four, m[1].ip));

	/* m[4] joins: a bucket either stays or goes to m[4]. */
	gateway_table_fill(m, 5, five);
	moved = 0;
	for (size_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		if (memcmp(&five[b], &four[b], sizeof(five[b]))) {
			assert_int_equal(five[b].ip, htonl(m[4].ip));
			assert_int_equal(five[b].slot, 4);
			moved++;
		}
	}
	assert_int_equal(moved, share(five, m[4].ip));
	assert_true(moved > 0);
}

/* Dead after 'misses' unanswered probes in a row, not before; an answer
 * in between starts the count again. */
static void test_probe_dies(void **state)
{
	struct gateway_probe p;
	uint32_t seq = 0;

	gateway_probe_init(&p, true);
	/* The first probe has nothing before it to miss. */
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_int_equal(p.misses, 2);
	/* Answered: the count starts again. */
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_UNCHANGED);
	assert_int_equal(p.misses, 0);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_true(p.alive);
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_DIED);
	assert_false(p.alive);
	assert_int_equal(p.misses, 3);
	/* Dead stays dead, without another change. */
	assert_int_equal(gateway_probe_sent(&p, ++seq, 3), GATEWAY_UNCHANGED);
	assert_false(p.alive);
}

/* Alive again after 2 answered probes in a row; a miss in between starts
 * the count again; late or foreign answers do not count. */
static void test_probe_revives(void **state)
{
	struct gateway_probe p;
	uint32_t seq = 100;

	gateway_probe_init(&p, false);
	gateway_probe_sent(&p, ++seq, 3);
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_UNCHANGED);
	/* Missed: back to zero answers. */
	gateway_probe_sent(&p, ++seq, 3);
	gateway_probe_sent(&p, ++seq, 3);
	assert_int_equal(p.answers, 0);
	/* A late answer to the previous probe and a repeated one. */
	assert_int_equal(gateway_probe_answered(&p, seq - 1),
			 GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_UNCHANGED);
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_UNCHANGED);
	assert_int_equal(p.answers, 1);
	assert_false(p.alive);
	gateway_probe_sent(&p, ++seq, 3);
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_REVIVED);
	assert_true(p.alive);
	gateway_probe_sent(&p, ++seq, 3);
	assert_int_equal(gateway_probe_answered(&p, seq), GATEWAY_UNCHANGED);
	assert_true(p.alive);
}

/* The wire form: 16 bytes, "WFTP", big-endian sequence and timestamp. */
static void test_probe_wire(void **state)
{
	static const uint8_t want[GATEWAY_PROBE_SIZE] = {
		'W',  'F',  'T',  'P',	0x01, 0x02, 0x03, 0x04,
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	};
	uint8_t buf[GATEWAY_PROBE_SIZE + 1];
	uint64_t ts;
	uint32_t seq;

	gateway_probe_encode(buf, 0x01020304u, 0x1122334455667788ull);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(
		gateway_probe_decode(buf, GATEWAY_PROBE_SIZE, &seq, &ts), 0);
	assert_int_equal(seq, 0x01020304u);
	assert_true(ts == 0x1122334455667788ull);
	assert_int_equal(
		gateway_probe_decode(buf, GATEWAY_PROBE_SIZE + 1, &seq, &ts),
		-EINVAL);
	assert_int_equal(gateway_probe_decode(buf, 15, &seq, &ts), -EINVAL);
	buf[3] = 'S'; /* WFTS: a SNAT copy, not a probe */
	assert_int_equal(
		gateway_probe_decode(buf, GATEWAY_PROBE_SIZE, &seq, &ts),
		-EINVAL);
}

static const struct weft_snat_event event = {
	.orig = { .vni = 5,
		  .saddr = 0x0100000a, /* 10.0.0.1, network order */
		  .daddr = 0x0a6433c6, /* 198.51.100.10 */
		  .sport = 0x3930,
		  .dport = 0x5000,
		  .proto = 6 },
	.ext_ip = 0x657100cb, /* 203.0.113.101 */
	.ext_port = 0x0004,
	.router = 7,
};

/* WFTS: a count, then the events as they are; refused when the length
 * does not match the count, the count is 0 or above 32, or the magic is
 * another. */
static void test_snat_wire(void **state)
{
	struct weft_snat_event evs[GATEWAY_SNAT_MAX_EVENTS], got;
	uint8_t buf[GATEWAY_SNAT_MAX_SIZE + 64];
	size_t len;

	for (size_t i = 0; i < GATEWAY_SNAT_MAX_EVENTS; i++) {
		evs[i] = event;
		evs[i].ext_port = (uint16_t)i;
	}
	len = gateway_snat_encode(buf, evs, 3);
	assert_int_equal(len, 8 + 3 * sizeof(event));
	assert_memory_equal(buf, "WFTS\0\0\0\3", 8);
	assert_int_equal(gateway_snat_decode(buf, len), 3);
	gateway_snat_event(buf, 2, &got);
	assert_memory_equal(&got, &evs[2], sizeof(got));
	assert_int_equal(gateway_snat_decode(buf, len - 1), -EINVAL);
	assert_int_equal(gateway_snat_decode(buf, len + 1), -EINVAL);
	assert_int_equal(gateway_snat_decode(buf, 4), -EINVAL);
	len = gateway_snat_encode(buf, evs, GATEWAY_SNAT_MAX_EVENTS);
	assert_int_equal(len, GATEWAY_SNAT_MAX_SIZE);
	assert_int_equal(gateway_snat_decode(buf, len),
			 GATEWAY_SNAT_MAX_EVENTS);
	/* 33 events: too many. */
	buf[7] = GATEWAY_SNAT_MAX_EVENTS + 1;
	assert_int_equal(gateway_snat_decode(buf, len + sizeof(event)),
			 -EINVAL);
	buf[7] = 0;
	assert_int_equal(gateway_snat_decode(buf, 8), -EINVAL);
	len = gateway_snat_encode(buf, evs, 1);
	buf[3] = 'P';
	assert_int_equal(gateway_snat_decode(buf, len), -EINVAL);
}

/* A copy's entries: both directions, expiring after the protocol's
 * timeout; written unless snat_in holds a live entry of another flow. */
static void test_snat_copy(void **state)
{
	const uint64_t now = 1000ull * 1000000000ull;
	struct weft_snat_event udp = event;
	struct weft_snat_in_key in_key;
	struct weft_snat_in in, other;
	struct weft_snat_out out;

	gateway_snat_entries(&event, now, &out, &in_key, &in);
	assert_int_equal(out.ext_ip, event.ext_ip);
	assert_int_equal(out.ext_port, event.ext_port);
	assert_true(out.expires_ns ==
		    now + WEFT_SNAT_TIMEOUT_TCP * 1000000000ull);
	assert_int_equal(in_key.ext_ip, event.ext_ip);
	assert_int_equal(in_key.ext_port, event.ext_port);
	assert_int_equal(in_key.proto, 6);
	assert_int_equal(in_key.pad, 0);
	assert_memory_equal(&in.orig, &event.orig, sizeof(in.orig));
	assert_int_equal(in.router, 7);
	assert_true(in.expires_ns == out.expires_ns);

	udp.orig.proto = 17;
	gateway_snat_entries(&udp, now, &out, &in_key, &in);
	assert_true(out.expires_ns ==
		    now + WEFT_SNAT_TIMEOUT_UDP * 1000000000ull);
	udp.orig.proto = 1;
	gateway_snat_entries(&udp, now, &out, &in_key, &in);
	assert_true(out.expires_ns ==
		    now + WEFT_SNAT_TIMEOUT_ICMP * 1000000000ull);

	gateway_snat_entries(&event, now, &out, &in_key, &in);
	assert_true(gateway_snat_may_copy(NULL, &event.orig, now));
	/* The same flow: refreshed. */
	assert_true(gateway_snat_may_copy(&in, &event.orig, now));
	/* Another flow on that port: live, kept; expired, replaced. */
	other = in;
	other.orig.sport = 0x1111;
	assert_false(gateway_snat_may_copy(&other, &event.orig, now));
	other.expires_ns = now;
	assert_true(gateway_snat_may_copy(&other, &event.orig, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_balanced),
		cmocka_unit_test(test_table_empty),
		cmocka_unit_test(test_table_deterministic),
		cmocka_unit_test(test_table_minimal_movement),
		cmocka_unit_test(test_probe_dies),
		cmocka_unit_test(test_probe_revives),
		cmocka_unit_test(test_probe_wire),
		cmocka_unit_test(test_snat_wire),
		cmocka_unit_test(test_snat_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
