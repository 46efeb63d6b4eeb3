/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abi/weft.h"
#include "hostview.h"
#include "policy.h"

#define G1 "11111111-1111-4111-8111-111111111111"
#define G2 "22222222-2222-4222-8222-222222222222"
#define P1 "aaaaaaaa-1111-4111-8111-111111111111"
#define P2 "bbbbbbbb-2222-4222-8222-222222222222"
#define P3 "cccccccc-3333-4333-8333-333333333333"

/* A rule; 'proto', 'min', 'max' < 0 are null. */
static json_t *rule(const char *dir, int proto, int min, int max,
		    const char *prefix, const char *group)
{
	json_t *r = json_pack("{s:s, s:s}", "id", "r", "direction", dir);

	json_object_set_new(r, "protocol",
			    proto < 0 ? json_null() : json_integer(proto));
	json_object_set_new(r, "port_range_min",
			    min < 0 ? json_null() : json_integer(min));
	json_object_set_new(r, "port_range_max",
			    max < 0 ? json_null() : json_integer(max));
	json_object_set_new(r, "remote_ip_prefix",
			    prefix ? json_string(prefix) : json_null());
	json_object_set_new(r, "remote_group_id",
			    group ? json_string(group) : json_null());
	return r;
}

/* A secgroup object; 'rules' and 'members' are stolen. */
static json_t *secgroup(const char *id, json_t *rules, json_t *members)
{
	char key[64];

	snprintf(key, sizeof(key), "secgroup:%s", id);
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "key", key, "kind",
			 "secgroup", "id", id, "rules", rules, "members",
			 members ? members : json_array());
}

/* A port of host h1; 'groups' is stolen (NULL: no security_groups). */
static json_t *port(const char *id, const char *mac, json_t *groups)
{
	char key[64];
	json_t *p;

	snprintf(key, sizeof(key), "port:%s", id);
	p = json_pack("{s:s, s:s, s:s, s:i, s:s, s:[s], s:s}", "key", key,
		      "kind", "port", "id", id, "vni", 5, "mac", mac, "ips",
		      "10.0.0.1", "host", "h1");
	if (groups)
		json_object_set_new(p, "security_groups", groups);
	return p;
}

/* Loads the objects of 'objs' (stolen) into 'v'. */
static void load(struct hostview *v, json_t *objs)
{
	hostview_init(v);
	assert_int_equal(hostview_apply_snapshot(v, 1, objs), 0);
	json_decref(objs);
}

struct compiled {
	struct kvtab remote;
	struct kvtab rules;
	struct policy *pol;
};

/* Compiles the ports 'ids' ('n' of them, ifindexes 10, 11, ...). */
static void compile(const struct hostview *v, const char *const *ids, size_t n,
		    struct compiled *c)
{
	kvtab_init(&c->remote, sizeof(struct weft_sg_remote_key),
		   sizeof(struct weft_sg_remote));
	kvtab_init(&c->rules, sizeof(struct weft_sg_rule_key),
		   sizeof(struct weft_sg_rule));
	assert_int_equal(policy_new(v, &c->pol), 0);
	for (size_t i = 0; i < n; i++) {
		const struct hostview_port *p = hostview_find_port(v, ids[i]);

		assert_non_null(p);
		assert_int_equal(policy_add_port(c->pol, 10 + (uint32_t)i, p),
				 0);
	}
	assert_int_equal(policy_finish(c->pol, &c->remote, &c->rules), 0);
}

static void release(struct compiled *c)
{
	kvtab_destroy(&c->remote);
	kvtab_destroy(&c->rules);
	policy_free(c->pol);
}

static const struct weft_sg_remote *remote(const struct compiled *c,
					   uint32_t ifindex, uint32_t dir,
					   uint32_t ip, uint32_t plen)
{
	struct weft_sg_remote_key k = { 64 + plen,
					policy_port_id(c->pol, ifindex), dir,
					htonl(ip) };

	return kvtab_get(&c->remote, &k);
}

static bool has_rule(const struct compiled *c, uint32_t cls, uint32_t plen,
		     uint8_t proto, uint16_t port)
{
	struct weft_sg_rule_key k = { .prefixlen = plen,
				      .class = cls,
				      .proto = proto,
				      .port = htons(port) };

	return kvtab_get(&c->rules, &k) != NULL;
}

/* The number of sg_rules entries of class 'cls'. */
static size_t class_size(const struct compiled *c, uint32_t cls)
{
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;
	size_t count = 0;

	while ((n = kvtab_next(&c->rules, &it)))
		if (((const struct weft_sg_rule_key *)kvtab_node_key(n))->class
		    == cls)
			count++;
	return count;
}

static void test_port_cover(void **state)
{
	struct policy_port_prefix out[POLICY_COVER_MAX];
	size_t n;

	n = policy_port_cover(80, 80, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].port, 80);
	assert_int_equal(out[0].plen, 16);

	n = policy_port_cover(0, 65535, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].plen, 0);

	/* 1..65535: 1/16, 2/15, 4/14, ..., 32768/1. */
	n = policy_port_cover(1, 65535, out);
	assert_int_equal(n, 16);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].port, 1u << i);
		assert_int_equal(out[i].plen, 16 - i);
	}

	/* 1000..2000: 1000/13 1008/12 1024/7 1536/8 1792/9 1920/10 1984/12
	 * 2000/16. */
	{
		static const struct policy_port_prefix want[] = {
			{ 1000, 13 }, { 1008, 12 }, { 1024, 7 },  { 1536, 8 },
			{ 1792, 9 },  { 1920, 10 }, { 1984, 12 }, { 2000, 16 },
		};

		n = policy_port_cover(1000, 2000, out);
		assert_int_equal(n, 8);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(out[i].port, want[i].port);
			assert_int_equal(out[i].plen, want[i].plen);
		}
	}

	/* The worst case, and the top of the range. */
	n = policy_port_cover(1, 65534, out);
	assert_int_equal(n, 30);
	n = policy_port_cover(65535, 65535, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].port, 65535);

	/* Every cover is exact: brute force over a few ranges. */
	for (uint32_t lo = 0; lo < 70; lo += 7) {
		for (uint32_t hi = lo; hi < 300; hi += 13) {
			uint32_t covered = 0;

			n = policy_port_cover((uint16_t)lo, (uint16_t)hi, out);
			for (size_t i = 0; i < n; i++) {
				uint32_t size = 1u << (16 - out[i].plen);

				assert_int_equal(out[i].port % size, 0);
				assert_true(out[i].port >= lo);
				assert_true(out[i].port + size - 1 <= hi);
				covered += size;
			}
			assert_int_equal(covered, hi - lo + 1);
		}
	}
}

/*
 * G1: ingress tcp 22 from 10.0.0.0/8, ingress tcp 80 from 10.1.0.0/16,
 * ingress icmp from anywhere, ingress udp 53 from 0.0.0.0/0 (any too),
 * egress anything.
 */
static json_t *basic_view(void)
{
	return json_pack(
		"[o, o]",
		secgroup(
			G1,
			json_pack(
				"[o, o, o, o, o]",
				rule("ingress", 6, 22, 22, "10.0.0.0/8", NULL),
				rule("ingress", 6, 80, 80, "10.1.0.0/16", NULL),
				rule("ingress", 1, -1, -1, NULL, NULL),
				rule("ingress", 17, 53, 53, "0.0.0.0/0", NULL),
				rule("egress", -1, -1, -1, NULL, NULL)),
			NULL),
		port(P1, "fa:16:3e:00:00:01", json_pack("[s]", G1)));
}

static void test_nested_prefixes(void **state)
{
	static const char *const ids[] = { P1 };
	const struct weft_sg_remote *r8, *r16, *any_in, *any_out;
	struct hostview v;
	struct compiled c;

	load(&v, basic_view());
	compile(&v, ids, 1, &c);

	assert_int_equal(c.remote.count, 4);
	r8 = remote(&c, 10, WEFT_CT_INGRESS, 0x0a000000, 8);
	r16 = remote(&c, 10, WEFT_CT_INGRESS, 0x0a010000, 16);
	any_in = remote(&c, 10, WEFT_CT_INGRESS, 0, 0);
	any_out = remote(&c, 10, WEFT_CT_EGRESS, 0, 0);
	assert_non_null(r8);
	assert_non_null(r16);
	assert_non_null(any_in);
	assert_non_null(any_out);

	/* /8: tcp 22; /16: tcp 22 and 80 (it lies within the /8). */
	assert_int_not_equal(r8->class, 0);
	assert_int_equal(class_size(&c, r8->class), 1);
	assert_true(has_rule(&c, r8->class, 64, 6, 22));
	assert_int_equal(class_size(&c, r16->class), 2);
	assert_true(has_rule(&c, r16->class, 64, 6, 22));
	assert_true(has_rule(&c, r16->class, 64, 6, 80));

	/* The any class (icmp, udp 53) is named by every ingress entry. */
	assert_int_equal(any_in->class, 0);
	assert_int_not_equal(any_in->any_class, 0);
	assert_int_equal(r8->any_class, any_in->any_class);
	assert_int_equal(r16->any_class, any_in->any_class);
	assert_int_equal(class_size(&c, any_in->any_class), 2);
	assert_true(has_rule(&c, any_in->any_class, 48, 1, 0));
	assert_true(has_rule(&c, any_in->any_class, 64, 17, 53));

	/* Egress: any protocol to anywhere. */
	assert_int_equal(any_out->class, 0);
	assert_int_equal(class_size(&c, any_out->any_class), 1);
	assert_true(has_rule(&c, any_out->any_class, 32, 0, 0));

	assert_int_equal(policy_class_count(c.pol), 4);
	assert_int_equal(c.rules.count, 1 + 2 + 2 + 1);
	assert_int_not_equal(policy_port_gen(c.pol, 10), 0);
	assert_int_equal(policy_port_gen(c.pol, 99), 0);
	release(&c);
	hostview_destroy(&v);
}

static void test_icmp_and_ranges(void **state)
{
	static const char *const ids[] = { P1 };
	const struct weft_sg_remote *any;
	struct hostview v;
	struct compiled c;

	load(&v,
	     json_pack(
		     "[o, o]",
		     secgroup(
			     G1,
			     json_pack(
				     "[o, o, o, o, o]",
				     /* echo request: type 8 */
				     rule("ingress", 1, 8, -1, NULL, NULL),
				     /* port unreachable: 3/3 */
				     rule("ingress", 1, 3, 3, NULL, NULL),
				     rule("ingress", 6, 1000, 2000, NULL, NULL),
				     rule("ingress", 17, 1, 65535, NULL, NULL),
				     /* gre: no ports */
				     rule("ingress", 47, -1, -1, NULL, NULL)),
			     NULL),
		     port(P1, "fa:16:3e:00:00:01", json_pack("[s]", G1))));
	compile(&v, ids, 1, &c);

	assert_int_equal(c.remote.count, 1);
	any = remote(&c, 10, WEFT_CT_INGRESS, 0, 0);
	assert_non_null(any);
	assert_true(has_rule(&c, any->any_class, 56, 1, 8 << 8));
	assert_true(has_rule(&c, any->any_class, 64, 1, 3 << 8 | 3));
	assert_true(has_rule(&c, any->any_class, 48 + 13, 6, 1000));
	assert_true(has_rule(&c, any->any_class, 48 + 16, 6, 2000));
	assert_true(has_rule(&c, any->any_class, 48 + 16, 17, 1));
	assert_true(has_rule(&c, any->any_class, 48 + 1, 17, 32768));
	assert_true(has_rule(&c, any->any_class, 48, 47, 0));
	assert_int_equal(class_size(&c, any->any_class), 1 + 1 + 8 + 16 + 1);
	release(&c);
	hostview_destroy(&v);
}

/* Two ports with the same groups share their policy (sg_remote entries)
 * and classes; a port with another set of rules gets its own. */
static json_t *two_ports_view(const char *members_extra)
{
	json_t *members = json_pack("[s, s]", "10.0.0.3", "10.0.1.0/24");

	if (members_extra)
		json_array_append_new(members, json_string(members_extra));
	return json_pack(
		"[o, o, o, o]",
		secgroup(G1,
			 json_pack("[o, o]",
				   rule("ingress", 6, 22, 22, NULL, G2),
				   rule("egress", -1, -1, -1, NULL, NULL)),
			 NULL),
		secgroup(G2,
			 json_pack("[o]",
				   rule("ingress", 6, 443, 443, NULL, NULL)),
			 members),
		port(P1, "fa:16:3e:00:00:01", json_pack("[s]", G1)),
		port(P2, "fa:16:3e:00:00:02", json_pack("[s]", G1)));
}

static void test_remote_group_and_dedup(void **state)
{
	static const char *const ids[] = { P1, P2 };
	const struct weft_sg_remote *a, *b, *c24;
	struct hostview v;
	struct compiled c;

	load(&v, two_ports_view(NULL));
	compile(&v, ids, 2, &c);

	/* Per set of groups, shared by both ports: the two members, and
	 * egress /0. */
	assert_int_equal(c.remote.count, 3);
	assert_int_equal(policy_port_id(c.pol, 10), policy_port_id(c.pol, 11));
	assert_int_not_equal(policy_port_id(c.pol, 10), 0);
	assert_int_equal(policy_port_id(c.pol, 12), 0); /* not added */
	a = remote(&c, 10, WEFT_CT_INGRESS, 0x0a000003, 32);
	b = remote(&c, 11, WEFT_CT_INGRESS, 0x0a000003, 32);
	c24 = remote(&c, 10, WEFT_CT_INGRESS, 0x0a000100, 24);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c24);
	assert_null(remote(&c, 10, WEFT_CT_INGRESS, 0, 0));
	assert_int_equal(a->any_class, 0);
	assert_int_equal(a->class, b->class);
	assert_int_equal(a->class, c24->class);
	assert_true(has_rule(&c, a->class, 64, 6, 22));
	/* tcp 22 (from G2's members), any (egress): two classes in all. */
	assert_int_equal(policy_class_count(c.pol), 2);
	assert_int_equal(c.rules.count, 2);
	assert_int_equal(policy_port_gen(c.pol, 10),
			 policy_port_gen(c.pol, 11));
	release(&c);
	hostview_destroy(&v);
}

/* Ports share a policy by their set of groups, whatever its order; a
 * port with another set (here: the same rules through G1 alone) has
 * another policy_id and another digest, so that its connections are
 * checked against its own entries. */
static void test_policy_sets(void **state)
{
	static const char *const ids[] = { P1, P2, P3 };
	struct hostview v;
	struct compiled c;
	json_t *objs = two_ports_view(NULL);

	json_array_set_new(
		objs, 2,
		port(P1, "fa:16:3e:00:00:01", json_pack("[s, s]", G1, G2)));
	json_array_set_new(objs, 3,
			   port(P2, "fa:16:3e:00:00:02",
				json_pack("[s, s, s]", G2, G1, G2)));
	json_array_append_new(
		objs, port(P3, "fa:16:3e:00:00:03", json_pack("[s]", G1)));
	load(&v, objs);
	compile(&v, ids, 3, &c);
	assert_int_equal(policy_port_id(c.pol, 10), policy_port_id(c.pol, 11));
	assert_int_equal(policy_port_gen(c.pol, 10),
			 policy_port_gen(c.pol, 11));
	assert_int_not_equal(policy_port_id(c.pol, 10),
			     policy_port_id(c.pol, 12));
	assert_int_not_equal(policy_port_gen(c.pol, 10),
			     policy_port_gen(c.pol, 12));
	assert_non_null(remote(&c, 10, WEFT_CT_INGRESS, 0x0a000003, 32));
	assert_non_null(remote(&c, 12, WEFT_CT_INGRESS, 0x0a000003, 32));
	/* G2's own tcp 443 from anywhere: only the G1+G2 set has it. */
	assert_non_null(remote(&c, 10, WEFT_CT_INGRESS, 0, 0));
	assert_null(remote(&c, 12, WEFT_CT_INGRESS, 0, 0));
	release(&c);
	hostview_destroy(&v);
}

static void test_determinism(void **state)
{
	static const char *const ids[] = { P1, P2 };
	static const char *const reversed[] = { P2, P1 };
	struct hostview v;
	struct compiled c1, c2;
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;

	load(&v, basic_view());
	json_t *more = json_pack(
		"[o]", port(P2, "fa:16:3e:00:00:02", json_pack("[s]", G1)));
	assert_int_equal(hostview_apply_delta(&v, 2, more, NULL), 0);
	json_decref(more);

	compile(&v, ids, 2, &c1);
	compile(&v, reversed, 2, &c2);
	/* Same classes, numbered the same whatever the order of ports. */
	assert_int_equal(c1.rules.count, c2.rules.count);
	while ((n = kvtab_next(&c1.rules, &it)))
		assert_non_null(kvtab_get(&c2.rules, kvtab_node_key(n)));
	/* P1 is ifindex 10 in c1 and 11 in c2: same gen. */
	assert_int_equal(policy_port_gen(c1.pol, 10),
			 policy_port_gen(c2.pol, 11));
	assert_int_equal(policy_port_gen(c1.pol, 10),
			 policy_port_gen(c1.pol, 11));
	release(&c1);
	release(&c2);
	hostview_destroy(&v);
}

static void test_membership_changes_gen(void **state)
{
	static const char *const ids[] = { P1 };
	struct hostview v1, v2, v3;
	struct compiled c1, c2, c3;

	load(&v1, two_ports_view(NULL));
	load(&v2, two_ports_view("10.0.2.0/24"));
	/* A /0 member (an allowed address pair 0.0.0.0/0): any remote. */
	load(&v3, two_ports_view("0.0.0.0/0"));
	compile(&v1, ids, 1, &c1);
	compile(&v2, ids, 1, &c2);
	compile(&v3, ids, 1, &c3);
	assert_int_not_equal(policy_port_gen(c1.pol, 10),
			     policy_port_gen(c2.pol, 10));
	assert_int_equal(c2.remote.count, 4);
	assert_non_null(remote(&c2, 10, WEFT_CT_INGRESS, 0x0a000200, 24));

	assert_int_equal(c3.remote.count, 4);
	assert_int_not_equal(remote(&c3, 10, WEFT_CT_INGRESS, 0, 0)->any_class,
			     0);
	assert_int_equal(
		remote(&c3, 10, WEFT_CT_INGRESS, 0x0a000003, 32)->any_class,
		remote(&c3, 10, WEFT_CT_INGRESS, 0, 0)->any_class);
	release(&c1);
	release(&c2);
	release(&c3);
	hostview_destroy(&v1);
	hostview_destroy(&v2);
	hostview_destroy(&v3);
}

/* Groups without rules, a missing group, a missing remote group: no
 * entries (everything refused), and still a gen. */
static void test_no_rules(void **state)
{
	static const char *const ids[] = { P1 };
	struct hostview v;
	struct compiled c;

	load(&v, json_pack("[o, o]",
			   secgroup(G1,
				    json_pack("[o]", rule("ingress", 6, 22, 22,
							  NULL, G2)),
				    NULL),
			   port(P1, "fa:16:3e:00:00:01",
				json_pack("[s, s]", G1, "missing"))));
	compile(&v, ids, 1, &c);
	assert_int_equal(c.remote.count, 0);
	assert_int_equal(c.rules.count, 0);
	assert_int_equal(policy_class_count(c.pol), 0);
	assert_int_equal(policy_add_port(c.pol, 10, hostview_find_port(&v, P1)),
			 -EEXIST);
	release(&c);
	hostview_destroy(&v);
}

/* 1,000 rules on one port, each from its own /32 and to its own port,
 * under a few shorter prefixes: measured, not asserted. */
static void test_scale(void **state)
{
	static const char *const ids[] = { P1 };
	json_t *rules = json_array();
	struct timespec t0, t1;
	struct hostview v;
	struct compiled c;
	double ms;

	for (int i = 0; i < 1000; i++) {
		char prefix[32];

		if (i % 100 == 0)
			snprintf(prefix, sizeof(prefix), "10.%d.0.0/16",
				 i / 100);
		else
			snprintf(prefix, sizeof(prefix), "10.%d.%d.%d/32",
				 i / 100, i % 7, i % 100);
		json_array_append_new(rules, rule(i % 2 ? "ingress" : "egress",
						  6, 1000 + i, 1000 + 2 * i,
						  prefix, NULL));
	}
	load(&v,
	     json_pack("[o, o]", secgroup(G1, rules, NULL),
		       port(P1, "fa:16:3e:00:00:01", json_pack("[s]", G1))));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	compile(&v, ids, 1, &c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("1000 rules: %zu sg_remote, %zu sg_rules, %zu classes "
		      "in %.1f ms\n",
		      c.remote.count, c.rules.count, policy_class_count(c.pol),
		      ms);
	assert_int_equal(c.remote.count, 1000);
	release(&c);
	hostview_destroy(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_cover),
		cmocka_unit_test(test_nested_prefixes),
		cmocka_unit_test(test_icmp_and_ranges),
		cmocka_unit_test(test_remote_group_and_dedup),
		cmocka_unit_test(test_policy_sets),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_membership_changes_gen),
		cmocka_unit_test(test_no_rules),
		cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
