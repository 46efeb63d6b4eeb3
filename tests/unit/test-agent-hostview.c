/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostview.h"

#define NET1 "11111111-1111-4111-8111-111111111111"
#define PORT1 "0123456789ab-cdef-4000-8000-000000000001"
#define PORT2 "22222222-2222-4222-8222-222222222222"

static json_t *parse(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);

	if (!j)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

static const char *snapshot_objects =
	"[{\"key\": \"host:h2\", \"kind\": \"host\", \"name\": \"h2\","
	"  \"underlay_ip\": \"192.0.2.12\"},"
	" {\"key\": \"network:" NET1 "\", \"kind\": \"network\","
	"  \"id\": \"" NET1 "\", \"vni\": 5, \"mtu\": 1450},"
	" {\"key\": \"port:" PORT1 "\", \"kind\": \"port\", \"id\": \"" PORT1
	"\","
	"  \"network_id\": \"" NET1 "\", \"vni\": 5,"
	"  \"mac\": \"fa:16:3e:00:00:01\", \"ips\": [\"10.0.0.3\"],"
	"  \"host\": \"h1\", \"admin_state_up\": true, \"port_security\": false,"
	"  \"allowed_address_pairs\": [{\"ip_address\": \"10.1.0.0/16\","
	"    \"mac_address\": \"fa:16:3e:00:00:99\"},"
	"    {\"ip_address\": \"10.0.0.77\"}],"
	"  \"tap\": \"tap0123456789a\"}]";

static void test_snapshot(void **state)
{
	struct hostview v;
	json_t *objs = parse(snapshot_objects);
	const struct hostview_port *p;
	const struct hostview_host *h;
	const struct hostview_object *o;

	hostview_init(&v);
	assert_false(v.synced);
	assert_int_equal(hostview_apply_snapshot(&v, 7, objs), 0);
	assert_true(v.synced);
	assert_int_equal(v.revision, 7);
	assert_int_equal(v.count, 3);

	h = hostview_find_host(&v, "h2");
	assert_non_null(h);
	assert_int_equal(h->underlay_ip, 0xc000020c);
	o = hostview_find(&v, "network:" NET1);
	assert_non_null(o);
	assert_int_equal(o->kind, HOSTVIEW_NETWORK);
	assert_int_equal(o->network.vni, 5);
	assert_int_equal(o->network.mtu, 1450);

	p = hostview_find_port(&v, PORT1);
	assert_non_null(p);
	assert_int_equal(p->vni, 5);
	assert_int_equal(p->mac[5], 1);
	assert_int_equal(p->n_ips, 1);
	assert_int_equal(p->ips[0], 0x0a000003);
	assert_string_equal(p->host, "h1");
	assert_true(p->admin_state_up);
	assert_false(p->port_security);
	assert_int_equal(p->n_pairs, 2);
	assert_int_equal(p->pairs[0].ip, 0x0a010000);
	assert_int_equal(p->pairs[0].prefix, 16);
	assert_true(p->pairs[0].has_mac);
	assert_int_equal(p->pairs[0].mac[5], 0x99);
	assert_int_equal(p->pairs[1].prefix, 32);
	assert_false(p->pairs[1].has_mac);
	assert_null(hostview_find_port(&v, PORT2));

	/* A second snapshot replaces everything. */
	json_decref(objs);
	objs = parse("[{\"key\": \"host:h3\", \"kind\": \"host\","
		     " \"name\": \"h3\", \"underlay_ip\": \"192.0.2.13\"}]");
	assert_int_equal(hostview_apply_snapshot(&v, 9, objs), 0);
	assert_int_equal(v.count, 1);
	assert_int_equal(v.revision, 9);
	assert_null(hostview_find_host(&v, "h2"));
	assert_null(hostview_find_port(&v, PORT1));
	assert_non_null(hostview_find_host(&v, "h3"));
	json_decref(objs);
	hostview_destroy(&v);
}

static void test_snapshot_invalid_keeps_view(void **state)
{
	struct hostview v;
	json_t *objs = parse(snapshot_objects);
	json_t *bad = parse("[{\"key\": \"host:h9\", \"kind\": \"host\","
			    " \"name\": \"h9\", \"underlay_ip\": \"1.2.3\"}]");
	json_t *badmac = parse(
		"[{\"key\": \"port:x\", \"kind\": \"port\", \"id\": \"x\","
		"  \"vni\": 5, \"mac\": \"zz:16:3e:00:00:01\"}]");
	json_t *badvni =
		parse("[{\"key\": \"network:n\", \"kind\": \"network\","
		      "  \"id\": \"n\", \"vni\": 16777216}]");

	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 7, objs), 0);
	assert_int_equal(hostview_apply_snapshot(&v, 8, bad), -EINVAL);
	assert_int_equal(hostview_apply_snapshot(&v, 8, badmac), -EINVAL);
	assert_int_equal(hostview_apply_snapshot(&v, 8, badvni), -EINVAL);
	assert_int_equal(hostview_apply_delta(&v, 8, bad, NULL), -EINVAL);
	assert_int_equal(v.revision, 7);
	assert_int_equal(v.count, 3);
	assert_non_null(hostview_find_port(&v, PORT1));
	json_decref(objs);
	json_decref(bad);
	json_decref(badmac);
	json_decref(badvni);
	hostview_destroy(&v);
}

static void test_subnet_router(void **state)
{
	struct hostview v;
	json_t *objs = parse(
		"[{\"key\": \"subnet:s\", \"kind\": \"subnet\", \"id\": \"s\","
		"  \"network_id\": \"n\", \"vni\": 5, \"cidr\": \"10.0.0.0/24\","
		"  \"gateway_ip\": null, \"enable_dhcp\": true,"
		"  \"dns_nameservers\": [\"192.0.2.53\", \"192.0.2.54\"],"
		"  \"host_routes\": [{\"destination\": \"172.16.0.0/12\","
		"                     \"nexthop\": \"10.0.0.9\"}],"
		"  \"mtu\": 1400, \"dns_domain\": \"example.\"},"
		" {\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		"  \"router_key\": 4294967295, \"admin_state_up\": false,"
		"  \"interfaces\": [{\"port_id\": \"p\", \"subnet_id\": \"s\","
		"   \"network_id\": \"n\", \"vni\": 5, \"ip\": \"10.0.0.1\","
		"   \"prefixlen\": 24, \"mac\": \"fa:16:3e:00:01:01\"}],"
		"  \"routes\": [{\"destination\": \"0.0.0.0/0\","
		"               \"nexthop\": \"10.0.0.9\"}]}]");
	static const char *const bad[] = {
		/* router_key 0, a missing interface MAC, a bad prefixlen, a
		 * host route without nexthop, a bad cidr. */
		"[{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		"  \"router_key\": 0}]",
		"[{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		"  \"router_key\": 1, \"interfaces\": [{\"vni\": 5,"
		"  \"ip\": \"10.0.0.1\", \"prefixlen\": 24}]}]",
		"[{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		"  \"router_key\": 1, \"interfaces\": [{\"vni\": 5,"
		"  \"ip\": \"10.0.0.1\", \"prefixlen\": 33,"
		"  \"mac\": \"fa:16:3e:00:01:01\"}]}]",
		"[{\"key\": \"subnet:s\", \"kind\": \"subnet\", \"id\": \"s\","
		"  \"vni\": 5, \"cidr\": \"10.0.0.0/24\","
		"  \"host_routes\": [{\"destination\": \"1.0.0.0/8\"}]}]",
		"[{\"key\": \"subnet:s\", \"kind\": \"subnet\", \"id\": \"s\","
		"  \"vni\": 5, \"cidr\": \"10.0.0.0\"}]",
	};
	const struct hostview_object *o;
	const struct hostview_subnet *s;
	const struct hostview_router *r;
	uint8_t mac[6];

	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 1, objs), 0);
	o = hostview_find(&v, "subnet:s");
	assert_int_equal(o->kind, HOSTVIEW_SUBNET);
	s = &o->subnet;
	assert_int_equal(s->net, 0x0a000000);
	assert_int_equal(s->prefix, 24);
	assert_false(s->has_gateway);
	assert_true(s->enable_dhcp);
	/* No gateway and no dhcp_server: the highest host address. */
	assert_int_equal(s->dhcp_server, 0x0a0000fe);
	assert_int_equal(s->n_dns, 2);
	assert_int_equal(s->dns[1], 0xc0000236);
	assert_int_equal(s->n_host_routes, 1);
	assert_int_equal(s->host_routes[0].dest, 0xac100000);
	assert_int_equal(s->host_routes[0].prefix, 12);
	assert_int_equal(s->mtu, 1400);
	assert_string_equal(s->dns_domain, "example.");

	o = hostview_find(&v, "router:r");
	assert_int_equal(o->kind, HOSTVIEW_ROUTER);
	r = &o->router;
	assert_int_equal(r->router_key, 0xffffffffu);
	assert_false(r->admin_state_up);
	assert_int_equal(r->n_ifaces, 1);
	assert_int_equal(r->ifaces[0].ip, 0x0a000001);
	assert_int_equal(r->ifaces[0].prefix, 24);
	assert_string_equal(r->ifaces[0].subnet_id, "s");
	assert_int_equal(r->n_routes, 1);
	assert_int_equal(r->routes[0].prefix, 0);

	/* The server address is not the router's (10.0.0.1): fixed MAC. */
	hostview_dhcp_server_mac(&v, s, mac);
	assert_memory_equal(mac, HOSTVIEW_DHCP_MAC, 6);
	json_decref(objs);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		objs = parse(bad[i]);
		assert_int_equal(hostview_apply_snapshot(&v, 2, objs), -EINVAL);
		assert_int_equal(v.revision, 1);
		json_decref(objs);
	}
	hostview_destroy(&v);
}

static void test_delta(void **state)
{
	struct hostview v;
	json_t *objs = parse(snapshot_objects);
	json_t *ups = parse(
		"[{\"key\": \"port:" PORT2 "\", \"kind\": \"port\","
		"  \"id\": \"" PORT2 "\", \"vni\": 5,"
		"  \"mac\": \"fa:16:3e:00:00:02\", \"ips\": [\"10.0.0.4\"],"
		"  \"host\": \"h2\"},"
		" {\"key\": \"host:h2\", \"kind\": \"host\", \"name\": \"h2\","
		"  \"underlay_ip\": \"192.0.2.22\"},"
		" {\"key\": \"future:f\", \"kind\": \"future\"}]");
	json_t *dels = parse("[\"port:" PORT1 "\", \"port:absent\"]");
	json_t *baddels = parse("[1]");
	const struct hostview_port *p;

	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 7, objs), 0);
	assert_int_equal(hostview_apply_delta(&v, 8, ups, dels), 0);
	assert_int_equal(v.revision, 8);
	assert_null(hostview_find_port(&v, PORT1));
	p = hostview_find_port(&v, PORT2);
	assert_non_null(p);
	/* Defaults of absent fields. */
	assert_true(p->admin_state_up);
	assert_true(p->port_security);
	assert_int_equal(p->n_pairs, 0);
	assert_int_equal(hostview_find_host(&v, "h2")->underlay_ip, 0xc0000216);
	/* Unknown kinds are kept (so deletes of them work), not used. */
	assert_int_equal(hostview_find(&v, "future:f")->kind, HOSTVIEW_OTHER);
	assert_int_equal(v.count, 4);

	assert_int_equal(hostview_apply_delta(&v, 9, NULL, baddels), -EINVAL);
	assert_int_equal(v.revision, 8);

	json_decref(objs);
	json_decref(ups);
	json_decref(dels);
	json_decref(baddels);
	hostview_destroy(&v);
}

static void test_many_objects(void **state)
{
	struct hostview v;
	json_t *objs = json_array();
	char key[64], name[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		snprintf(key, sizeof(key), "host:%s", name);
		json_array_append_new(
			objs, json_pack("{s:s, s:s, s:s, s:s}", "key", key,
					"kind", "host", "name", name,
					"underlay_ip", "10.0.0.1"));
	}
	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 1, objs), 0);
	assert_int_equal(v.count, 5000);
	assert_non_null(hostview_find_host(&v, "h4999"));
	{
		struct hostview_iter it = { 0 };
		size_t n = 0;

		while (hostview_next(&v, &it))
			n++;
		assert_int_equal(n, 5000);
	}
	json_decref(objs);
	hostview_destroy(&v);
}

static void test_tap_name(void **state)
{
	struct hostview_port p = { 0 };
	char buf[HOSTVIEW_IFNAMSIZ];

	p.id = PORT1;
	hostview_port_tap_name(&p, buf);
	assert_string_equal(buf, "tap0123456789a");
	assert_int_equal(strlen(buf), 14);

	p.tap = "tapother";
	hostview_port_tap_name(&p, buf);
	assert_string_equal(buf, "tapother");

	/* A name that cannot be an interface name falls back to the rule. */
	p.tap = "tap0123456789abcdef";
	hostview_port_tap_name(&p, buf);
	assert_string_equal(buf, "tap0123456789a");
	p.tap = "";
	hostview_port_tap_name(&p, buf);
	assert_string_equal(buf, "tap0123456789a");

	p.id = "abc";
	p.tap = NULL;
	hostview_port_tap_name(&p, buf);
	assert_string_equal(buf, "tapabc");
}

#define SG1 "33333333-3333-4333-8333-333333333333"
#define SG2 "44444444-4444-4444-8444-444444444444"

static void test_secgroup(void **state)
{
	struct hostview v;
	json_t *objs = parse(
		"[{\"key\": \"secgroup:" SG1 "\", \"kind\": \"secgroup\","
		"  \"id\": \"" SG1 "\", \"members\": [\"10.0.0.3\","
		"  \"10.0.1.0/24\"], \"rules\": ["
		"  {\"id\": \"r1\", \"direction\": \"ingress\", \"protocol\": 6,"
		"   \"port_range_min\": 22, \"port_range_max\": 22,"
		"   \"remote_ip_prefix\": \"10.1.0.0/16\","
		"   \"remote_group_id\": null},"
		"  {\"id\": \"r2\", \"direction\": \"egress\", \"protocol\": null,"
		"   \"port_range_min\": null, \"port_range_max\": null,"
		"   \"remote_ip_prefix\": null, \"remote_group_id\": \"" SG2
		"\"}]},"
		" {\"key\": \"port:" PORT2 "\", \"kind\": \"port\","
		"  \"id\": \"" PORT2
		"\", \"vni\": 5, \"mac\": \"fa:16:3e:00:00:02\","
		"  \"security_groups\": [\"" SG1 "\", \"" SG2 "\"]},"
		" {\"key\": \"port:" PORT1 "\", \"kind\": \"port\","
		"  \"id\": \"" PORT1
		"\", \"vni\": 5, \"mac\": \"fa:16:3e:00:00:01\","
		"  \"security_groups\": []}]");
	const struct hostview_secgroup *g;
	const struct hostview_port *p;
	static const char *const bad[] = {
		/* direction */
		"{\"direction\": \"both\"}",
		/* protocol out of range, of the wrong type */
		"{\"direction\": \"ingress\", \"protocol\": 256}",
		"{\"direction\": \"ingress\", \"protocol\": \"tcp\"}",
		/* port out of range */
		"{\"direction\": \"ingress\", \"protocol\": 6,"
		" \"port_range_min\": 70000}",
		/* not a prefix, not a string */
		"{\"direction\": \"ingress\", \"remote_ip_prefix\": \"10.0.0/8\"}",
		"{\"direction\": \"ingress\", \"remote_group_id\": 5}",
		"[]",
	};

	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 3, objs), 0);
	json_decref(objs);

	g = hostview_find_secgroup(&v, SG1);
	assert_non_null(g);
	assert_string_equal(g->id, SG1);
	assert_int_equal(g->n_members, 2);
	assert_int_equal(g->members[0].ip, 0x0a000003);
	assert_int_equal(g->members[0].prefix, 32);
	assert_int_equal(g->members[1].ip, 0x0a000100);
	assert_int_equal(g->members[1].prefix, 24);
	assert_int_equal(g->n_rules, 2);
	assert_int_equal(g->rules[0].dir, HOSTVIEW_SG_INGRESS);
	assert_int_equal(g->rules[0].protocol, 6);
	assert_int_equal(g->rules[0].port_min, 22);
	assert_int_equal(g->rules[0].port_max, 22);
	assert_true(g->rules[0].has_remote_prefix);
	assert_int_equal(g->rules[0].remote_prefix.ip, 0x0a010000);
	assert_int_equal(g->rules[0].remote_prefix.prefix, 16);
	assert_null(g->rules[0].remote_group_id);
	assert_int_equal(g->rules[1].dir, HOSTVIEW_SG_EGRESS);
	assert_int_equal(g->rules[1].protocol, HOSTVIEW_SG_ANY);
	assert_int_equal(g->rules[1].port_min, HOSTVIEW_SG_ANY);
	assert_int_equal(g->rules[1].port_max, HOSTVIEW_SG_ANY);
	assert_false(g->rules[1].has_remote_prefix);
	assert_string_equal(g->rules[1].remote_group_id, SG2);
	assert_null(hostview_find_secgroup(&v, SG2));
	assert_null(hostview_find_secgroup(&v, PORT2));

	p = hostview_find_port(&v, PORT2);
	assert_true(p->has_security_groups);
	assert_int_equal(p->n_security_groups, 2);
	assert_string_equal(p->security_groups[1], SG2);
	p = hostview_find_port(&v, PORT1);
	assert_true(p->has_security_groups);
	assert_int_equal(p->n_security_groups, 0);

	/* Each bad rule, and bad members, refuse the whole delta. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *r = parse(bad[i]);
		json_t *up = json_pack("[{s:s, s:s, s:s, s:[o]}]", "key",
				       "secgroup:" SG2, "kind", "secgroup",
				       "id", SG2, "rules", r);

		assert_int_equal(hostview_apply_delta(&v, 4, up, NULL),
				 -EINVAL);
		json_decref(up);
	}
	objs = parse("[{\"key\": \"secgroup:" SG2 "\", \"kind\": \"secgroup\","
		     "  \"id\": \"" SG2 "\", \"members\": [\"10.0.0.300\"]}]");
	assert_int_equal(hostview_apply_delta(&v, 4, objs, NULL), -EINVAL);
	json_decref(objs);
	objs = parse("[{\"key\": \"port:" PORT1 "\", \"kind\": \"port\","
		     "  \"id\": \"" PORT1 "\", \"vni\": 5,"
		     "  \"mac\": \"fa:16:3e:00:00:01\","
		     "  \"security_groups\": [7]}]");
	assert_int_equal(hostview_apply_delta(&v, 4, objs, NULL), -EINVAL);
	json_decref(objs);
	assert_int_equal(v.revision, 3);

	/* A group without rules nor members; a port without the member. */
	objs = parse("[{\"key\": \"secgroup:" SG2 "\", \"kind\": \"secgroup\","
		     "  \"id\": \"" SG2 "\"},"
		     " {\"key\": \"port:" PORT1 "\", \"kind\": \"port\","
		     "  \"id\": \"" PORT1 "\", \"vni\": 5,"
		     "  \"mac\": \"fa:16:3e:00:00:01\"}]");
	assert_int_equal(hostview_apply_delta(&v, 5, objs, NULL), 0);
	json_decref(objs);
	g = hostview_find_secgroup(&v, SG2);
	assert_non_null(g);
	assert_int_equal(g->n_rules, 0);
	assert_int_equal(g->n_members, 0);
	assert_false(hostview_find_port(&v, PORT1)->has_security_groups);
	hostview_destroy(&v);
}

/* Parses the single object 'text' into a view of one object and returns
 * it (NULL and the error in 'ret' when refused). */
static const struct hostview_object *one(struct hostview *v, const char *text,
					 int *ret)
{
	char arr[1024];
	json_t *objs;

	snprintf(arr, sizeof(arr), "[%s]", text);
	objs = parse(arr);
	hostview_init(v);
	*ret = hostview_apply_snapshot(v, 1, objs);
	json_decref(objs);
	if (*ret < 0)
		return NULL;
	{
		struct hostview_iter it = { 0 };

		return hostview_next(v, &it);
	}
}

/* The north-south objects (docs/gateways.md): gateway, floatingip and a
 * router's external_gateway. */
static void test_north_south(void **state)
{
	static const uint8_t mac[6] = { 0xfa, 0x16, 0x3e, 0, 0x0e, 7 };
	static const char *const bad[] = {
		/* slot out of range */
		"{\"key\": \"gateway:gw9\", \"kind\": \"gateway\","
		" \"name\": \"gw9\", \"underlay_ip\": \"192.0.2.109\", \"slot\": 16}",
		/* no underlay_ip */
		"{\"key\": \"gateway:gw9\", \"kind\": \"gateway\","
		" \"name\": \"gw9\", \"slot\": 1}",
		/* half an association */
		"{\"key\": \"floatingip:f\", \"kind\": \"floatingip\", \"id\": \"f\","
		" \"floating_ip_address\": \"203.0.113.5\", \"router_key\": 7}",
		/* bad MAC in external_gateway */
		"{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		" \"router_key\": 7, \"external_gateway\": {\"ip\": \"203.0.113.1\","
		" \"mac\": \"nope\"}}",
		/* external_gateway neither null nor an object */
		"{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		" \"router_key\": 7, \"external_gateway\": true}",
	};
	const struct hostview_object *o;
	const struct hostview_gateway *g;
	struct hostview v;
	int r;

	o = one(&v,
		"{\"key\": \"gateway:gw2\", \"kind\": \"gateway\", \"name\": \"gw2\","
		" \"underlay_ip\": \"192.0.2.102\", \"slot\": 3, \"alive\": false}",
		&r);
	assert_int_equal(r, 0);
	assert_int_equal(o->kind, HOSTVIEW_GATEWAY);
	g = hostview_find_gateway(&v, "gw2");
	assert_ptr_equal(g, &o->gateway);
	assert_string_equal(g->name, "gw2");
	assert_int_equal(g->underlay_ip, 0xc0000266);
	assert_int_equal(g->slot, 3);
	assert_false(g->alive);
	assert_null(hostview_find_gateway(&v, "gw1"));
	hostview_destroy(&v);

	o = one(&v,
		"{\"key\": \"floatingip:f\", \"kind\": \"floatingip\", \"id\": \"f\","
		" \"floating_ip_address\": \"203.0.113.120\", \"router_key\": 7,"
		" \"vni\": 5, \"fixed_ip_address\": \"10.0.0.5\"}",
		&r);
	assert_int_equal(r, 0);
	assert_int_equal(o->kind, HOSTVIEW_FLOATINGIP);
	assert_string_equal(o->floatingip.id, "f");
	assert_int_equal(o->floatingip.ip, 0xcb007178);
	assert_true(o->floatingip.associated);
	assert_int_equal(o->floatingip.router_key, 7);
	assert_int_equal(o->floatingip.vni, 5);
	assert_int_equal(o->floatingip.fixed_ip, 0x0a000005);
	hostview_destroy(&v);

	o = one(&v,
		"{\"key\": \"floatingip:f\", \"kind\": \"floatingip\", \"id\": \"f\","
		" \"floating_ip_address\": \"203.0.113.121\", \"router_key\": null,"
		" \"vni\": null, \"fixed_ip_address\": null}",
		&r);
	assert_int_equal(r, 0);
	assert_false(o->floatingip.associated);
	assert_int_equal(o->floatingip.vni, 0);
	hostview_destroy(&v);

	o = one(&v,
		"{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		" \"router_key\": 7, \"external_gateway\": {\"network_id\": \"x\","
		" \"ip\": \"203.0.113.101\", \"mac\": \"fa:16:3e:00:0e:07\","
		" \"enable_snat\": false}}",
		&r);
	assert_int_equal(r, 0);
	assert_true(o->router.has_ext_gateway);
	assert_string_equal(o->router.ext_gateway.network_id, "x");
	assert_int_equal(o->router.ext_gateway.ip, 0xcb007165);
	assert_memory_equal(o->router.ext_gateway.mac, mac, 6);
	assert_false(o->router.ext_gateway.enable_snat);
	hostview_destroy(&v);

	/* enable_snat defaults to true; null and absent are no gateway. */
	o = one(&v,
		"{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		" \"router_key\": 7, \"external_gateway\": {"
		" \"ip\": \"203.0.113.101\", \"mac\": \"fa:16:3e:00:0e:07\"}}",
		&r);
	assert_int_equal(r, 0);
	assert_true(o->router.ext_gateway.enable_snat);
	hostview_destroy(&v);
	o = one(&v,
		"{\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
		" \"router_key\": 7, \"external_gateway\": null}",
		&r);
	assert_int_equal(r, 0);
	assert_false(o->router.has_ext_gateway);
	hostview_destroy(&v);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(one(&v, bad[i], &r));
		assert_int_equal(r, -EINVAL);
		assert_int_equal(v.count, 0);
		hostview_destroy(&v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_invalid_keeps_view),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_subnet_router),
		cmocka_unit_test(test_many_objects),
		cmocka_unit_test(test_tap_name),
		cmocka_unit_test(test_secgroup),
		cmocka_unit_test(test_north_south),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
