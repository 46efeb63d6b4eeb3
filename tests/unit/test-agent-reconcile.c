/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "abi/weft.h"
#include "reconcile.h"
#include "hostview.h"

/*
 * Host h1 (192.0.2.11) with:
 *  - p1 local, tap present (ifindex 10), allowed pairs 10.1.0.0/16 with its
 *    own MAC and 10.0.0.77 with another MAC;
 *  - p2 local, no tap;
 *  - p3 remote on h2 (known host);
 *  - p4 remote on h3 (no host object yet).
 */
#define P1 "aaaaaaaa-1111-4111-8111-111111111111"
#define P2 "bbbbbbbb-2222-4222-8222-222222222222"
#define P3 "cccccccc-3333-4333-8333-333333333333"
#define P4 "dddddddd-4444-4444-8444-444444444444"

static const char *objects =
	"[{\"key\": \"host:h2\", \"kind\": \"host\", \"name\": \"h2\","
	"  \"underlay_ip\": \"192.0.2.12\"},"
	" {\"key\": \"network:n\", \"kind\": \"network\", \"id\": \"n\","
	"  \"vni\": 5, \"mtu\": 1450},"
	" {\"key\": \"port:" P1 "\", \"kind\": \"port\", \"id\": \"" P1 "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:01\", \"ips\": [\"10.0.0.1\"],"
	"  \"host\": \"h1\", \"admin_state_up\": true, \"port_security\": true,"
	"  \"allowed_address_pairs\": [{\"ip_address\": \"10.1.0.0/16\"},"
	"   {\"ip_address\": \"10.0.0.77\", \"mac_address\": \"fa:16:3e:00:00:77\"}]},"
	" {\"key\": \"port:" P2 "\", \"kind\": \"port\", \"id\": \"" P2 "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:02\", \"ips\": [\"10.0.0.2\"],"
	"  \"host\": \"h1\", \"admin_state_up\": false},"
	" {\"key\": \"port:" P3 "\", \"kind\": \"port\", \"id\": \"" P3 "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:03\", \"ips\": [\"10.0.0.3\"],"
	"  \"host\": \"h2\"},"
	" {\"key\": \"port:" P4 "\", \"kind\": \"port\", \"id\": \"" P4 "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:04\", \"ips\": [\"10.0.0.4\"],"
	"  \"host\": \"h3\"}]";

#define H1_IP 0xc000020bu
#define H2_IP 0xc000020cu

static uint32_t taps(void *ctx, const char *name)
{
	/* Only p1's tap exists. */
	return !strcmp(name, "tapaaaaaaaa-11") ? 10 : 0;
}

static const struct reconcile_self self = { "h1", H1_IP, 3 };

struct fixture {
	struct hostview view;
	struct dp_state desired;
	struct reconcile_local_port *ports;
	size_t n_ports;
};

/* Loads 'objs_json' and computes the desired state with the taps of
 * 'tap_fn'. */
static void load_taps(struct fixture *f, const char *objs_json,
		      reconcile_tap_fn tap_fn)
{
	json_t *objs = json_loads(objs_json, 0, NULL);

	assert_non_null(objs);
	hostview_init(&f->view);
	assert_int_equal(hostview_apply_snapshot(&f->view, 1, objs), 0);
	json_decref(objs);
	dp_state_init(&f->desired);
	assert_int_equal(reconcile_desired(&f->view, &self, tap_fn, NULL,
					   &f->desired, &f->ports, &f->n_ports),
			 0);
}

static void load(struct fixture *f, const char *objs_json)
{
	load_taps(f, objs_json, taps);
}

static void unload(struct fixture *f)
{
	free(f->ports);
	dp_state_destroy(&f->desired);
	hostview_destroy(&f->view);
}

static const struct weft_fdb_entry *fdb(struct dp_state *s, uint8_t last)
{
	struct weft_fdb_key k = { .vni = 5,
				  .mac = { 0xfa, 0x16, 0x3e, 0, 0, last } };

	return kvtab_get(&s->maps[DP_MAP_FDB], &k);
}

static const struct weft_neigh_entry *neigh(struct dp_state *s, uint32_t ip)
{
	struct weft_neigh_key k = { .vni = 5, .ip = htonl(ip) };

	return kvtab_get(&s->maps[DP_MAP_NEIGH], &k);
}

static const struct weft_port_addr *addr(struct dp_state *s, uint32_t ifindex,
					 uint32_t ip, int plen)
{
	struct weft_port_addr_key k = { 32 + (uint32_t)plen, ifindex,
					htonl(ip) };

	return kvtab_get(&s->maps[DP_MAP_PORT_ADDRS], &k);
}

static void test_desired(void **state)
{
	struct fixture f;
	const struct weft_fdb_entry *e;
	const struct weft_port *port;
	__u32 k;
	__be32 hk;

	load(&f, objects);

	/* networks, hosts (self and h2). */
	k = 5;
	assert_int_equal(((const struct weft_network *)kvtab_get(
				  &f.desired.maps[DP_MAP_NETWORKS], &k))
				 ->mtu,
			 1450);
	assert_int_equal(f.desired.maps[DP_MAP_HOSTS].count, 2);
	hk = htonl(H1_IP);
	assert_non_null(kvtab_get(&f.desired.maps[DP_MAP_HOSTS], &hk));
	hk = htonl(H2_IP);
	assert_non_null(kvtab_get(&f.desired.maps[DP_MAP_HOSTS], &hk));

	/* ARP answers for every port, wherever it is. */
	assert_int_equal(neigh(&f.desired, 0x0a000001)->mac[5], 1);
	assert_int_equal(neigh(&f.desired, 0x0a000002)->mac[5], 2);
	assert_int_equal(neigh(&f.desired, 0x0a000003)->mac[5], 3);
	assert_int_equal(neigh(&f.desired, 0x0a00004d)->mac[5], 0x77);
	assert_int_equal(neigh(&f.desired, 0x0a000004)->mac[5], 4);
	assert_int_equal(f.desired.maps[DP_MAP_NEIGH].count, 5);

	/* fdb: local with tap, its pair MAC, remote with known host; no
	 * entry for a tapless local port or a port on an unknown host. */
	e = fdb(&f.desired, 1);
	assert_non_null(e);
	assert_int_equal(e->ifindex, 10);
	assert_int_equal(e->host_ip, htonl(H1_IP));
	e = fdb(&f.desired, 0x77);
	assert_non_null(e);
	assert_int_equal(e->ifindex, 10);
	e = fdb(&f.desired, 3);
	assert_non_null(e);
	assert_int_equal(e->ifindex, 0);
	assert_int_equal(e->host_ip, htonl(H2_IP));
	assert_null(fdb(&f.desired, 2));
	assert_null(fdb(&f.desired, 4));
	assert_int_equal(f.desired.maps[DP_MAP_FDB].count, 3);

	/* ports, port_addrs, stats: only p1 (and stats of the VXLAN dev). */
	assert_int_equal(f.desired.maps[DP_MAP_PORTS].count, 1);
	k = 10;
	port = kvtab_get(&f.desired.maps[DP_MAP_PORTS], &k);
	assert_non_null(port);
	assert_int_equal(port->vni, 5);
	assert_int_equal(port->mac[5], 1);
	assert_int_equal(port->flags, WEFT_PORT_F_SECURITY | WEFT_PORT_F_UP);
	assert_int_equal(f.desired.maps[DP_MAP_PORT_ADDRS].count, 3);
	assert_int_equal(addr(&f.desired, 10, 0x0a000001, 32)->mac[5], 1);
	assert_int_equal(addr(&f.desired, 10, 0x0a010000, 16)->mac[5], 1);
	assert_int_equal(addr(&f.desired, 10, 0x0a00004d, 32)->mac[5], 0x77);
	assert_int_equal(f.desired.maps[DP_MAP_STATS].count, 2);
	k = 3;
	assert_non_null(kvtab_get(&f.desired.maps[DP_MAP_STATS], &k));

	/* Local ports, with or without tap. */
	assert_int_equal(f.n_ports, 2);
	for (size_t i = 0; i < f.n_ports; i++) {
		if (!strcmp(f.ports[i].id, P1)) {
			assert_int_equal(f.ports[i].ifindex, 10);
			assert_string_equal(f.ports[i].tap, "tapaaaaaaaa-11");
		} else {
			assert_string_equal(f.ports[i].id, P2);
			assert_int_equal(f.ports[i].ifindex, 0);
		}
	}
	unload(&f);
}

struct recorder {
	int updates[DP_MAP_COUNT];
	int deletes[DP_MAP_COUNT];
	int order[64];
	int n;
	int fail_map; /* -1: none */
};

static int record(void *ctx, const struct reconcile_op *op)
{
	struct recorder *r = ctx;

	if ((int)op->map == r->fail_map)
		return -ENOSPC;
	if (op->kind == RECONCILE_UPDATE)
		r->updates[op->map]++;
	else
		r->deletes[op->map]++;
	if (r->n < 64)
		r->order[r->n++] = op->kind == RECONCILE_UPDATE ?
					   (int)op->map :
					   100 + (int)op->map;
	return 0;
}

static void test_diff(void **state)
{
	struct fixture f;
	struct dp_state present;
	struct recorder rec = { .fail_map = -1 };
	struct reconcile_result res;
	int last_update = -1;

	load(&f, objects);
	dp_state_init(&present);

	/* From empty maps: everything is an update, in map order. */
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	/* gw_slots and gw_table are arrays: always written whole. */
	assert_int_equal(res.updates, 1 + 2 + 1 + 3 + 5 + 3 + 2 +
					      WEFT_MAX_GATEWAYS +
					      WEFT_GW_BUCKETS);
	assert_int_equal(res.deletes, 0);
	assert_int_equal(res.failures, 0);
	for (int i = 0; i < rec.n; i++) {
		assert_true(rec.order[i] >= last_update);
		last_update = rec.order[i];
	}

	/* Nothing changed: nothing to do. */
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(res.updates + res.deletes, 0);
	assert_int_equal(rec.n, 0);
	unload(&f);

	/* p1's tap goes away and p3 moves to another MAC: deletes of p1's
	 * local entries, updates for the changed ones, nothing else. */
	{
		char *moved = strdup(objects);
		char *m = strstr(moved, "fa:16:3e:00:00:03");

		m[16] = '9';
		load(&f, moved);
		free(moved);
	}
	/* Pretend p1 has no tap now: recompute with no taps. */
	free(f.ports);
	dp_state_destroy(&f.desired);
	dp_state_init(&f.desired);
	{
		static const struct reconcile_self s = { "h1", H1_IP, 3 };

		assert_int_equal(reconcile_desired(&f.view, &s, taps, NULL,
						   &f.desired, &f.ports,
						   &f.n_ports),
				 0);
	}
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	/* fdb: MAC ...03 removed, ...09 added; neigh 10.0.0.3 changed. */
	assert_int_equal(rec.updates[DP_MAP_FDB], 1);
	assert_int_equal(rec.deletes[DP_MAP_FDB], 1);
	assert_int_equal(rec.updates[DP_MAP_NEIGH], 1);
	assert_int_equal(rec.deletes[DP_MAP_NEIGH], 0);
	assert_int_equal(rec.updates[DP_MAP_PORTS], 0);
	/* Updates come before deletes. */
	assert_true(rec.order[0] < 100);
	assert_true(rec.order[rec.n - 1] >= 100);
	unload(&f);

	/* An empty view (but synced): everything but self goes, and a
	 * failing map keeps its entries in 'present' for the next try. */
	load(&f, "[]");
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = DP_MAP_NEIGH;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(res.failures, 5);
	assert_int_equal(res.first_error, -ENOSPC);
	assert_int_equal(present.maps[DP_MAP_NEIGH].count, 5);
	assert_int_equal(present.maps[DP_MAP_FDB].count, 0);
	assert_int_equal(present.maps[DP_MAP_PORTS].count, 0);
	assert_int_equal(present.maps[DP_MAP_HOSTS].count, 1);
	assert_int_equal(present.maps[DP_MAP_STATS].count, 1);
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(res.deletes, 5);
	assert_int_equal(present.maps[DP_MAP_NEIGH].count, 0);
	unload(&f);
	dp_state_destroy(&present);
}

/*
 * Router r (key 7) joins n (vni 5, 10.0.0.0/24, interface 10.0.0.254) and
 * n2 (vni 6, 10.0.1.0/24, interface 10.0.1.1), with a static route
 * 192.168.0.0/16 via 10.0.1.5 and one to n2's very prefix (left out: the
 * connected route wins). Subnet s5 (on n) serves DHCP from its gateway
 * 10.0.0.254, the router's interface; s6 (on n2) has no router at its
 * dhcp_server 10.0.1.254; s7 has DHCP off.
 */
#define ROUTER_VIEW(admin)                                                        \
	"[{\"key\": \"network:n\", \"kind\": \"network\", \"id\": \"n\","         \
	"  \"vni\": 5, \"mtu\": 1450},"                                           \
	" {\"key\": \"network:n2\", \"kind\": \"network\", \"id\": \"n2\","       \
	"  \"vni\": 6, \"mtu\": 1450},"                                           \
	" {\"key\": \"subnet:s5\", \"kind\": \"subnet\", \"id\": \"s5\","         \
	"  \"network_id\": \"n\", \"vni\": 5, \"cidr\": \"10.0.0.0/24\","         \
	"  \"gateway_ip\": \"10.0.0.254\", \"enable_dhcp\": true,"                \
	"  \"dns_nameservers\": [], \"host_routes\": [], \"mtu\": 1450,"          \
	"  \"dns_domain\": \"openstacklocal\", \"dhcp_server\": \"10.0.0.254\"}," \
	" {\"key\": \"subnet:s6\", \"kind\": \"subnet\", \"id\": \"s6\","         \
	"  \"network_id\": \"n2\", \"vni\": 6, \"cidr\": \"10.0.1.0/24\","        \
	"  \"gateway_ip\": null, \"enable_dhcp\": true},"                         \
	" {\"key\": \"subnet:s7\", \"kind\": \"subnet\", \"id\": \"s7\","         \
	"  \"network_id\": \"n2\", \"vni\": 6, \"cidr\": \"10.0.2.0/24\","        \
	"  \"gateway_ip\": \"10.0.2.1\", \"enable_dhcp\": false},"                \
	" {\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","           \
	"  \"router_key\": 7, \"admin_state_up\": " admin ","                     \
	"  \"interfaces\": ["                                                     \
	"   {\"port_id\": \"i1\", \"subnet_id\": \"s5\", \"network_id\": \"n\","  \
	"    \"vni\": 5, \"ip\": \"10.0.0.254\", \"prefixlen\": 24,"              \
	"    \"mac\": \"fa:16:3e:00:01:01\"},"                                    \
	"   {\"port_id\": \"i2\", \"subnet_id\": \"s6\", \"network_id\": \"n2\"," \
	"    \"vni\": 6, \"ip\": \"10.0.1.1\", \"prefixlen\": 24,"                \
	"    \"mac\": \"fa:16:3e:00:01:02\"}],"                                   \
	"  \"routes\": [{\"destination\": \"192.168.0.0/16\","                    \
	"               \"nexthop\": \"10.0.1.5\"},"                              \
	"              {\"destination\": \"10.0.1.0/24\","                        \
	"               \"nexthop\": \"10.0.1.6\"}]}]"

static const struct weft_route *route(struct dp_state *s, uint32_t router,
				      uint32_t ip, int plen)
{
	struct weft_route_key k = { 64 + (uint32_t)plen, router, 0, htonl(ip) };

	return kvtab_get(&s->maps[DP_MAP_ROUTES], &k);
}

static const struct weft_fdb_entry *fdb_vni(struct dp_state *s, uint32_t vni,
					    uint8_t b4, uint8_t b5)
{
	struct weft_fdb_key k = { .vni = vni,
				  .mac = { 0xfa, 0x16, 0x3e, 0, b4, b5 } };

	return kvtab_get(&s->maps[DP_MAP_FDB], &k);
}

static const struct weft_neigh_entry *neigh_vni(struct dp_state *s,
						uint32_t vni, uint32_t ip)
{
	struct weft_neigh_key k = { .vni = vni, .ip = htonl(ip) };

	return kvtab_get(&s->maps[DP_MAP_NEIGH], &k);
}

static void test_router(void **state)
{
	static const uint8_t dhcp_mac[6] = { 0xfa, 0x16, 0x3e, 0, 0, 1 };
	struct fixture f;
	const struct weft_fdb_entry *e;
	const struct weft_route *rt;
	struct dp_state present;
	struct recorder rec = { .fail_map = -1 };
	struct reconcile_result res;

	load(&f, ROUTER_VIEW("true"));

	/* fdb: the interface MACs, as the router's. */
	assert_int_equal(f.desired.maps[DP_MAP_FDB].count, 2);
	e = fdb_vni(&f.desired, 5, 1, 1);
	assert_non_null(e);
	assert_int_equal(e->router, 7);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->ifindex, 0);
	e = fdb_vni(&f.desired, 6, 1, 2);
	assert_non_null(e);
	assert_int_equal(e->router, 7);

	/* neigh: the interface addresses; s6's DHCP server (no router
	 * there) with the fixed DHCP MAC; s5's server is the interface. */
	assert_int_equal(f.desired.maps[DP_MAP_NEIGH].count, 3);
	assert_int_equal(neigh_vni(&f.desired, 5, 0x0a0000fe)->mac[5], 1);
	assert_int_equal(neigh_vni(&f.desired, 6, 0x0a000101)->mac[5], 2);
	assert_memory_equal(neigh_vni(&f.desired, 6, 0x0a0001fe)->mac, dhcp_mac,
			    6);

	/* routes: two connected, one static; the static route to a
	 * connected prefix is left out. */
	assert_int_equal(f.desired.maps[DP_MAP_ROUTES].count, 3);
	rt = route(&f.desired, 7, 0x0a000000, 24);
	assert_non_null(rt);
	assert_int_equal(rt->kind, WEFT_ROUTE_CONNECTED);
	assert_int_equal(rt->vni, 5);
	assert_int_equal(rt->mac[5], 1);
	assert_int_equal(rt->ifaddr, htonl(0x0a0000fe));
	assert_int_equal(rt->nexthop, 0);
	rt = route(&f.desired, 7, 0x0a000100, 24);
	assert_non_null(rt);
	assert_int_equal(rt->kind, WEFT_ROUTE_CONNECTED);
	assert_int_equal(rt->vni, 6);
	assert_int_equal(rt->ifaddr, htonl(0x0a000101));
	rt = route(&f.desired, 7, 0xc0a80000, 16);
	assert_non_null(rt);
	assert_int_equal(rt->kind, WEFT_ROUTE_NEXTHOP);
	assert_int_equal(rt->nexthop, htonl(0x0a000105));
	assert_int_equal(rt->vni, 0);

	/* Written: routes before neigh before fdb. */
	dp_state_init(&present);
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.updates[DP_MAP_ROUTES], 3);
	for (int i = 1; i < rec.n; i++)
		assert_true(rec.order[i] >= rec.order[i - 1]);
	unload(&f);

	/* Admin down: only the fdb flags change. */
	load(&f, ROUTER_VIEW("false"));
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(res.updates, 2);
	assert_int_equal(rec.updates[DP_MAP_FDB], 2);
	assert_int_equal(res.deletes, 0);
	assert_int_equal(fdb_vni(&f.desired, 5, 1, 1)->flags,
			 WEFT_FDB_F_ROUTER_DOWN);
	unload(&f);

	/* The router goes: its entries go, fdb first; the DHCP neigh of
	 * s5 now has no router behind it and takes the fixed MAC. */
	load(&f,
	     "[{\"key\": \"subnet:s5\", \"kind\": \"subnet\", \"id\": \"s5\","
	     " \"vni\": 5, \"cidr\": \"10.0.0.0/24\", \"gateway_ip\": "
	     " \"10.0.0.254\", \"enable_dhcp\": true}]");
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.deletes[DP_MAP_FDB], 2);
	assert_int_equal(rec.deletes[DP_MAP_ROUTES], 3);
	assert_int_equal(rec.deletes[DP_MAP_NEIGH], 2);
	assert_int_equal(rec.updates[DP_MAP_NEIGH], 1);
	assert_int_equal(present.maps[DP_MAP_ROUTES].count, 0);
	assert_memory_equal(neigh_vni(&present, 5, 0x0a0000fe)->mac, dhcp_mac,
			    6);
	unload(&f);
	dp_state_destroy(&present);
}

/*
 * Security groups: three local ports with taps, p1 with group g (ingress
 * tcp 22 from 10.0.0.0/8 and the rule given, egress any), p2 with port
 * security off, p3 with security on and no groups.
 */
#define G "eeeeeeee-5555-4555-8555-555555555555"
/* The view of group g with the rules 'rules' and the ports p1..p3. */
#define SG_GROUP_VIEW(rules)                                                  \
	"[{\"key\": \"secgroup:" G "\", \"kind\": \"secgroup\", \"id\": \"" G \
	"\", \"members\": [], \"rules\": [" rules "]},"                       \
	" {\"key\": \"port:" P1 "\", \"kind\": \"port\", \"id\": \"" P1 "\"," \
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:01\", \"host\": \"h1\","     \
	"  \"security_groups\": [\"" G "\"]},"                                \
	" {\"key\": \"port:" P2 "\", \"kind\": \"port\", \"id\": \"" P2 "\"," \
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:02\", \"host\": \"h1\","     \
	"  \"port_security\": false, \"security_groups\": []},"               \
	" {\"key\": \"port:" P3 "\", \"kind\": \"port\", \"id\": \"" P3 "\"," \
	"  \"vni\": 5, \"mac\": \"fa:16:3e:00:00:03\", \"host\": \"h1\","     \
	"  \"security_groups\": []}]"

#define SG_VIEW(rule)                                                      \
	SG_GROUP_VIEW("  {\"direction\": \"ingress\", \"protocol\": 6,"    \
		      "   \"port_range_min\": 22, \"port_range_max\": 22," \
		      "   \"remote_ip_prefix\": \"10.0.0.0/8\"},"          \
		      "  {\"direction\": \"egress\"}, " rule)

/* SG_VIEW without its tcp 22 from 10.0.0.0/8 rule. */
#define SG_VIEW_WITHOUT_SSH(rule) \
	SG_GROUP_VIEW("  {\"direction\": \"egress\"}, " rule)

/* The index of the first operation 'what' recorded (map, or 100 + map
 * for a delete), or -1. */
static int position(const struct recorder *r, int what)
{
	for (int i = 0; i < r->n; i++)
		if (r->order[i] == what)
			return i;
	return -1;
}

static uint32_t all_taps(void *ctx, const char *name)
{
	if (!strcmp(name, "tapaaaaaaaa-11"))
		return 10;
	if (!strcmp(name, "tapbbbbbbbb-22"))
		return 11;
	return !strcmp(name, "tapcccccccc-33") ? 12 : 0;
}

/* Like load(), with every tap present. */
static void load_all(struct fixture *f, const char *objs_json)
{
	load_taps(f, objs_json, all_taps);
}

static const struct weft_port *port_of(struct dp_state *s, __u32 ifindex)
{
	return kvtab_get(&s->maps[DP_MAP_PORTS], &ifindex);
}

static void test_policy(void **state)
{
	struct fixture f;
	struct dp_state present;
	struct recorder rec = { .fail_map = -1 };
	struct reconcile_result res;
	const struct weft_port *p1, *p2, *p3;
	uint32_t gen1, gen3;

	load_all(&f, SG_VIEW("{\"direction\": \"ingress\", \"protocol\": 1}"));
	p1 = port_of(&f.desired, 10);
	p2 = port_of(&f.desired, 11);
	p3 = port_of(&f.desired, 12);
	assert_int_equal(p1->flags, WEFT_PORT_F_SECURITY | WEFT_PORT_F_UP |
					    WEFT_PORT_F_POLICY);
	assert_int_not_equal(p1->policy_gen, 0);
	/* Port security off: no policy at all. */
	assert_int_equal(p2->flags, WEFT_PORT_F_UP);
	assert_int_equal(p2->policy_gen, 0);
	/* No groups: the flag, and no entries (every connection refused). */
	assert_true(p3->flags & WEFT_PORT_F_POLICY);
	gen1 = p1->policy_gen;
	gen3 = p3->policy_gen;
	assert_int_not_equal(gen1, gen3);
	/* p1: ingress 10/8 and /0 (icmp), egress /0. */
	assert_int_equal(f.desired.maps[DP_MAP_SG_REMOTE].count, 3);
	{
		struct kvtab_iter it = { 0 };
		struct kvtab_node *n;

		/* All p1's: keyed by its policy_id (p3's set of no groups
		 * has an id and no entries). */
		assert_int_not_equal(port_of(&f.desired, 10)->policy_id, 0);
		assert_int_not_equal(port_of(&f.desired, 12)->policy_id, 0);
		assert_int_not_equal(port_of(&f.desired, 10)->policy_id,
				     port_of(&f.desired, 12)->policy_id);
		while ((n = kvtab_next(&f.desired.maps[DP_MAP_SG_REMOTE], &it)))
			assert_int_equal(((const struct weft_sg_remote_key *)
						  kvtab_node_key(n))
						 ->policy,
					 port_of(&f.desired, 10)->policy_id);
	}
	/* tcp 22; icmp; any. */
	assert_int_equal(f.desired.maps[DP_MAP_SG_RULES].count, 3);

	/* Written: classes, then sg_remote, then ports. */
	dp_state_init(&present);
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.updates[DP_MAP_SG_RULES], 3);
	assert_int_equal(rec.updates[DP_MAP_SG_REMOTE], 3);
	for (int i = 1; i < rec.n; i++)
		assert_true(rec.order[i] >= rec.order[i - 1]);
	assert_true(DP_MAP_SG_RULES < DP_MAP_SG_REMOTE);
	assert_true(DP_MAP_SG_REMOTE < DP_MAP_PORTS);
	unload(&f);

	/* The same view again: nothing to write, the same gens. */
	load_all(&f, SG_VIEW("{\"direction\": \"ingress\", \"protocol\": 1}"));
	assert_int_equal(port_of(&f.desired, 10)->policy_gen, gen1);
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(res.updates + res.deletes, 0);
	unload(&f);

	/* icmp becomes udp 53: the new class is written before the entries
	 * that name it and the port's new gen; the old class goes last. */
	load_all(&f, SG_VIEW("{\"direction\": \"ingress\", \"protocol\": 17,"
			     " \"port_range_min\": 53,"
			     " \"port_range_max\": 53}"));
	assert_int_not_equal(port_of(&f.desired, 10)->policy_gen, gen1);
	assert_int_equal(port_of(&f.desired, 12)->policy_gen, gen3);
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.updates[DP_MAP_SG_RULES], 1);
	assert_int_equal(rec.updates[DP_MAP_SG_REMOTE], 2); /* /8 and /0 */
	assert_int_equal(rec.updates[DP_MAP_PORTS], 1);
	assert_int_equal(rec.deletes[DP_MAP_SG_RULES], 1);
	assert_int_equal(rec.order[0], DP_MAP_SG_RULES);
	assert_int_equal(rec.order[rec.n - 1], 100 + DP_MAP_SG_RULES);
	unload(&f);

	/* A revocation: the /8 rule goes, and with it the /8 entry of P1.
	 * That entry is deleted before P1 gets its new policy_gen, which
	 * makes its connections check the rules again: they must not find
	 * the stale entry. */
	load_all(&f, SG_VIEW_WITHOUT_SSH("{\"direction\": \"ingress\", "
					 "\"protocol\": 17,"
					 " \"port_range_min\": 53,"
					 " \"port_range_max\": 53}"));
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.deletes[DP_MAP_SG_REMOTE], 1);
	assert_int_equal(rec.updates[DP_MAP_PORTS], 1);
	assert_true(position(&rec, 100 + DP_MAP_SG_REMOTE) <
		    position(&rec, DP_MAP_PORTS));
	unload(&f);

	/* Everything goes: the sg_remote entries first, then the ports,
	 * then the classes. */
	load_all(&f, "[]");
	memset(&rec, 0, sizeof(rec));
	rec.fail_map = -1;
	assert_int_equal(
		reconcile_diff(&f.desired, &present, record, &rec, &res), 0);
	assert_int_equal(rec.deletes[DP_MAP_SG_REMOTE], 2);
	assert_int_equal(rec.deletes[DP_MAP_SG_RULES], 2);
	assert_int_equal(present.maps[DP_MAP_SG_RULES].count, 0);
	assert_int_equal(rec.order[0], 100 + DP_MAP_SG_REMOTE);
	assert_int_equal(rec.order[1], 100 + DP_MAP_SG_REMOTE);
	for (int i = 3; i < rec.n; i++)
		assert_true(rec.order[i] <= rec.order[i - 1]);
	unload(&f);
	dp_state_destroy(&present);
}

/*
 * North-south (docs/gateways.md): gateways gw1 (slot 0, 192.0.2.101), gw2
 * (slot 3, .102) and gw3 (slot 5, .103); router 7 with an external
 * gateway (203.0.113.101, SNAT) and an interface on n (vni 5); router 8
 * with one without SNAT (203.0.113.108) and a static default route (it
 * wins); floating IP .120 associated with 10.0.0.1 on n through router 7,
 * .121 not associated.
 */
#define GW_VIEW                                                                      \
	"[{\"key\": \"gateway:gw1\", \"kind\": \"gateway\", \"name\": \"gw1\","      \
	"  \"underlay_ip\": \"192.0.2.101\", \"slot\": 0, \"alive\": true},"         \
	" {\"key\": \"gateway:gw2\", \"kind\": \"gateway\", \"name\": \"gw2\","      \
	"  \"underlay_ip\": \"192.0.2.102\", \"slot\": 3, \"alive\": true},"         \
	" {\"key\": \"gateway:gw3\", \"kind\": \"gateway\", \"name\": \"gw3\","      \
	"  \"underlay_ip\": \"192.0.2.103\", \"slot\": 5, \"alive\": false},"        \
	" {\"key\": \"network:n\", \"kind\": \"network\", \"id\": \"n\","            \
	"  \"vni\": 5, \"mtu\": 1450},"                                              \
	" {\"key\": \"router:r7\", \"kind\": \"router\", \"id\": \"r7\","            \
	"  \"router_key\": 7, \"interfaces\": ["                                     \
	"   {\"port_id\": \"i1\", \"subnet_id\": \"s5\", \"network_id\": \"n\","     \
	"    \"vni\": 5, \"ip\": \"10.0.0.254\", \"prefixlen\": 24,"                 \
	"    \"mac\": \"fa:16:3e:00:01:01\"}],"                                      \
	"  \"external_gateway\": {\"network_id\": \"x\", \"ip\": \"203.0.113.101\"," \
	"   \"mac\": \"fa:16:3e:00:0e:07\", \"enable_snat\": true}},"                \
	" {\"key\": \"router:r8\", \"kind\": \"router\", \"id\": \"r8\","            \
	"  \"router_key\": 8, \"routes\": [{\"destination\": \"0.0.0.0/0\","         \
	"   \"nexthop\": \"10.0.1.5\"}],"                                            \
	"  \"external_gateway\": {\"network_id\": \"x\", \"ip\": \"203.0.113.108\"," \
	"   \"mac\": \"fa:16:3e:00:0e:08\", \"enable_snat\": false}},"               \
	" {\"key\": \"floatingip:f1\", \"kind\": \"floatingip\", \"id\": \"f1\","    \
	"  \"floating_ip_address\": \"203.0.113.120\", \"router_key\": 7,"           \
	"  \"vni\": 5, \"fixed_ip_address\": \"10.0.0.1\"},"                         \
	" {\"key\": \"floatingip:f2\", \"kind\": \"floatingip\", \"id\": \"f2\","    \
	"  \"floating_ip_address\": \"203.0.113.121\", \"router_key\": null,"        \
	"  \"vni\": null, \"fixed_ip_address\": null}]"

#define GW1_IP 0xc0000265u
#define GW2_IP 0xc0000266u
#define GW3_IP 0xc0000267u

/* Computes the desired state of GW_VIEW (or 'objs') for 'self'. */
static void load_self(struct fixture *f, const char *objs,
		      const struct reconcile_self *s)
{
	json_t *j = json_loads(objs, 0, NULL);

	assert_non_null(j);
	hostview_init(&f->view);
	assert_int_equal(hostview_apply_snapshot(&f->view, 1, j), 0);
	json_decref(j);
	dp_state_init(&f->desired);
	assert_int_equal(reconcile_desired(&f->view, s, taps, NULL, &f->desired,
					   &f->ports, &f->n_ports),
			 0);
}

static const void *map_get(struct dp_state *s, enum dp_map m, const void *key)
{
	return kvtab_get(&s->maps[m], key);
}

static void test_gateway_hypervisor(void **state)
{
	/* A hypervisor whose probes say gw1 and gw2 answer, gw3 not. */
	const struct reconcile_self s = { "h1",	 H1_IP, 3,
					  false, 0,	(1u << 0) | (1u << 3) };
	struct weft_route_key rk = { 64, 7, 0, 0 };
	const struct weft_gw_slot *slot;
	const struct weft_route *rt;
	size_t per_gw[2] = { 0 };
	struct fixture f;
	__be32 ip;

	load_self(&f, GW_VIEW, &s);

	/* Every gateway is a host whose tunnelled packets are accepted. */
	for (uint32_t g = GW1_IP; g <= GW3_IP; g++) {
		ip = htonl(g);
		assert_non_null(map_get(&f.desired, DP_MAP_HOSTS, &ip));
	}
	assert_int_equal(f.desired.maps[DP_MAP_HOSTS].count, 4);

	/* gw_slots: every slot, the alive ones flagged. */
	assert_int_equal(f.desired.maps[DP_MAP_GW_SLOTS].count,
			 WEFT_MAX_GATEWAYS);
	for (uint32_t i = 0; i < WEFT_MAX_GATEWAYS; i++) {
		slot = map_get(&f.desired, DP_MAP_GW_SLOTS, &i);
		assert_non_null(slot);
		switch (i) {
		case 0:
			assert_int_equal(slot->ip, htonl(GW1_IP));
			assert_int_equal(slot->flags, WEFT_GW_F_ALIVE);
			break;
		case 3:
			assert_int_equal(slot->ip, htonl(GW2_IP));
			assert_int_equal(slot->flags, WEFT_GW_F_ALIVE);
			break;
		case 5:
			assert_int_equal(slot->ip, htonl(GW3_IP));
			assert_int_equal(slot->flags, 0);
			break;
		default:
			assert_int_equal(slot->ip, 0);
			assert_int_equal(slot->flags, 0);
		}
	}
	/* gw_table: every bucket to an alive gateway with its slot. */
	assert_int_equal(f.desired.maps[DP_MAP_GW_TABLE].count,
			 WEFT_GW_BUCKETS);
	for (uint32_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		const struct weft_gw_bucket *e =
			map_get(&f.desired, DP_MAP_GW_TABLE, &b);

		assert_non_null(e);
		if (e->ip == htonl(GW1_IP)) {
			assert_int_equal(e->slot, 0);
			per_gw[0]++;
		} else {
			assert_int_equal(e->ip, htonl(GW2_IP));
			assert_int_equal(e->slot, 3);
			per_gw[1]++;
		}
	}
	assert_true(per_gw[0] > 64 && per_gw[1] > 64);

	/* The default route of router 7 goes out through its gateway; router
	 * 8's static default route wins. */
	rt = map_get(&f.desired, DP_MAP_ROUTES, &rk);
	assert_non_null(rt);
	assert_int_equal(rt->kind, WEFT_ROUTE_EXTERNAL);
	assert_int_equal(rt->ifaddr, htonl(0xcb007165));
	assert_memory_equal(rt->mac,
			    ((uint8_t[]){ 0xfa, 0x16, 0x3e, 0, 0x0e, 7 }), 6);
	rk.router = 8;
	rt = map_get(&f.desired, DP_MAP_ROUTES, &rk);
	assert_non_null(rt);
	assert_int_equal(rt->kind, WEFT_ROUTE_NEXTHOP);

	/* The gateway maps stay empty on a hypervisor. */
	assert_int_equal(f.desired.maps[DP_MAP_EXT_ROUTERS].count, 0);
	assert_int_equal(f.desired.maps[DP_MAP_FIPS].count, 0);
	assert_int_equal(f.desired.maps[DP_MAP_EXT_ADDRS].count, 0);
	unload(&f);

	/* No alive gateway: every bucket empty. */
	{
		const struct reconcile_self none = { "h1", H1_IP, 3 };

		load_self(&f, GW_VIEW, &none);
		for (uint32_t b = 0; b < WEFT_GW_BUCKETS; b++) {
			const struct weft_gw_bucket *e =
				map_get(&f.desired, DP_MAP_GW_TABLE, &b);

			assert_int_equal(e->ip, 0);
		}
		unload(&f);
	}
}

/* Records the sequence number of the first and last operation of each
 * (kind, map). */
struct sequencer {
	int seq;
	int first[2][DP_MAP_COUNT];
	int last[2][DP_MAP_COUNT];
};

static int sequence(void *ctx, const struct reconcile_op *op)
{
	struct sequencer *q = ctx;
	int k = op->kind == RECONCILE_DELETE;

	if (!q->first[k][op->map])
		q->first[k][op->map] = ++q->seq;
	else
		++q->seq;
	q->last[k][op->map] = q->seq;
	return 0;
}

/* Every operation of 'a' (kind 'k') comes before every one of 'b'. */
static void assert_before(const struct sequencer *q, int k, enum dp_map a,
			  enum dp_map b)
{
	assert_true(q->first[k][a] && q->first[k][b]);
	assert_true(q->last[k][a] < q->first[k][b]);
}

static void test_gateway_node(void **state)
{
	/* Gateway gw1 with its uplink at ifindex 4; its probes say gw3 is
	 * dead. */
	const struct reconcile_self s = {
		"gw1", GW1_IP, 3, true, 4, (1u << 0) | (1u << 3)
	};
	const struct weft_ext_router *er;
	const struct weft_ext_addr *ea;
	const struct weft_fip *fip;
	struct weft_fip_key fk = { 5, htonl(0x0a000001) };
	struct sequencer q = { 0 };
	struct reconcile_result res;
	struct dp_state present;
	struct fixture f;
	__u32 key;
	__be32 ip;

	load_self(&f, GW_VIEW, &s);

	/* ext_routers: both routers, SNAT as configured. */
	assert_int_equal(f.desired.maps[DP_MAP_EXT_ROUTERS].count, 2);
	key = 7;
	er = map_get(&f.desired, DP_MAP_EXT_ROUTERS, &key);
	assert_non_null(er);
	assert_int_equal(er->ext_ip, htonl(0xcb007165));
	assert_memory_equal(er->ext_mac,
			    ((uint8_t[]){ 0xfa, 0x16, 0x3e, 0, 0x0e, 7 }), 6);
	assert_int_equal(er->flags, WEFT_EXT_F_SNAT);
	key = 8;
	er = map_get(&f.desired, DP_MAP_EXT_ROUTERS, &key);
	assert_non_null(er);
	assert_int_equal(er->flags, 0);

	/* fips: the associated floating IP only. */
	assert_int_equal(f.desired.maps[DP_MAP_FIPS].count, 1);
	fip = map_get(&f.desired, DP_MAP_FIPS, &fk);
	assert_non_null(fip);
	assert_int_equal(fip->fip, htonl(0xcb007178));
	assert_int_equal(fip->router, 7);

	/* ext_addrs: both floating IPs and both router addresses. */
	assert_int_equal(f.desired.maps[DP_MAP_EXT_ADDRS].count, 4);
	ip = htonl(0xcb007178);
	ea = map_get(&f.desired, DP_MAP_EXT_ADDRS, &ip);
	assert_non_null(ea);
	assert_int_equal(ea->kind, WEFT_EXT_FIP);
	assert_int_equal(ea->vni, 5);
	assert_int_equal(ea->fixed_ip, htonl(0x0a000001));
	assert_int_equal(ea->router, 7);
	ip = htonl(0xcb007179);
	ea = map_get(&f.desired, DP_MAP_EXT_ADDRS, &ip);
	assert_non_null(ea);
	assert_int_equal(ea->kind, WEFT_EXT_FIP);
	assert_int_equal(ea->vni, 0);
	ip = htonl(0xcb00716c);
	ea = map_get(&f.desired, DP_MAP_EXT_ADDRS, &ip);
	assert_non_null(ea);
	assert_int_equal(ea->kind, WEFT_EXT_ROUTER);
	assert_int_equal(ea->router, 8);

	/* Counters for the VXLAN device and the uplink. */
	key = 4;
	assert_non_null(map_get(&f.desired, DP_MAP_STATS, &key));
	key = 3;
	assert_non_null(map_get(&f.desired, DP_MAP_STATS, &key));

	/* From empty maps: what is referenced comes first. */
	dp_state_init(&present);
	assert_int_equal(
		reconcile_diff(&f.desired, &present, sequence, &q, &res), 0);
	assert_int_equal(res.failures, 0);
	assert_before(&q, 0, DP_MAP_HOSTS, DP_MAP_GW_SLOTS);
	assert_before(&q, 0, DP_MAP_GW_SLOTS, DP_MAP_GW_TABLE);
	assert_before(&q, 0, DP_MAP_GW_TABLE, DP_MAP_ROUTES);
	assert_before(&q, 0, DP_MAP_EXT_ROUTERS, DP_MAP_ROUTES);
	assert_before(&q, 0, DP_MAP_FDB, DP_MAP_FIPS);
	assert_before(&q, 0, DP_MAP_FIPS, DP_MAP_EXT_ADDRS);
	unload(&f);

	/* Everything goes: inbound addresses first, routers last. */
	memset(&q, 0, sizeof(q));
	load_self(&f, "[]", &s);
	assert_int_equal(
		reconcile_diff(&f.desired, &present, sequence, &q, &res), 0);
	assert_int_equal(res.failures, 0);
	assert_before(&q, 1, DP_MAP_EXT_ADDRS, DP_MAP_FIPS);
	assert_before(&q, 1, DP_MAP_FIPS, DP_MAP_FDB);
	assert_before(&q, 1, DP_MAP_ROUTES, DP_MAP_EXT_ROUTERS);
	assert_int_equal(present.maps[DP_MAP_EXT_ADDRS].count, 0);
	assert_int_equal(present.maps[DP_MAP_EXT_ROUTERS].count, 0);
	/* The arrays are never deleted from: their slots are zeroed. */
	assert_int_equal(q.first[1][DP_MAP_GW_SLOTS], 0);
	assert_int_equal(present.maps[DP_MAP_GW_SLOTS].count,
			 WEFT_MAX_GATEWAYS);
	unload(&f);
	dp_state_destroy(&present);
}

static void test_kvtab(void **state)
{
	struct kvtab t;
	struct kvtab_iter it = { 0 };
	uint32_t k, v;
	size_t n = 0;

	kvtab_init(&t, sizeof(k), sizeof(v));
	for (k = 0; k < 10000; k++) {
		v = k * 3;
		assert_int_equal(kvtab_put(&t, &k, &v), 0);
	}
	k = 42;
	v = 1;
	assert_int_equal(kvtab_put(&t, &k, &v), 0);
	assert_int_equal(t.count, 10000);
	assert_int_equal(*(const uint32_t *)kvtab_get(&t, &k), 1);
	for (k = 0; k < 10000; k += 2)
		assert_true(kvtab_remove(&t, &k));
	assert_false(kvtab_remove(&t, &k));
	while (kvtab_next(&t, &it))
		n++;
	assert_int_equal(n, 5000);
	k = 4;
	assert_null(kvtab_get(&t, &k));
	kvtab_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desired),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_kvtab),
		cmocka_unit_test(test_gateway_hypervisor),
		cmocka_unit_test(test_gateway_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
