/* SPDX-License-Identifier: Apache-2.0 */
#include "reconcile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abi/weft.h"
#include "gateway.h"
#include "netaddr.h"
#include "policy.h"

const struct dp_map_info dp_map_info[DP_MAP_COUNT] = {
	[DP_MAP_NETWORKS] = { "networks", sizeof(__u32),
			      sizeof(struct weft_network) },
	[DP_MAP_HOSTS] = { "hosts", sizeof(__be32), sizeof(struct weft_host) },
	[DP_MAP_GW_SLOTS] = { "gw_slots", sizeof(__u32),
			      sizeof(struct weft_gw_slot) },
	[DP_MAP_GW_TABLE] = { "gw_table", sizeof(__u32),
			      sizeof(struct weft_gw_bucket) },
	[DP_MAP_EXT_ROUTERS] = { "ext_routers", sizeof(__u32),
				 sizeof(struct weft_ext_router) },
	[DP_MAP_FIPS] = { "fips", sizeof(struct weft_fip_key),
			  sizeof(struct weft_fip) },
	[DP_MAP_EXT_ADDRS] = { "ext_addrs", sizeof(__be32),
			       sizeof(struct weft_ext_addr) },
	[DP_MAP_SG_RULES] = { "sg_rules", sizeof(struct weft_sg_rule_key),
			      sizeof(struct weft_sg_rule) },
	[DP_MAP_SG_REMOTE] = { "sg_remote", sizeof(struct weft_sg_remote_key),
			       sizeof(struct weft_sg_remote) },
	[DP_MAP_PORTS] = { "ports", sizeof(__u32), sizeof(struct weft_port) },
	[DP_MAP_PORT_ADDRS] = { "port_addrs", sizeof(struct weft_port_addr_key),
				sizeof(struct weft_port_addr) },
	[DP_MAP_ROUTES] = { "routes", sizeof(struct weft_route_key),
			    sizeof(struct weft_route) },
	[DP_MAP_NEIGH] = { "neigh", sizeof(struct weft_neigh_key),
			   sizeof(struct weft_neigh_entry) },
	[DP_MAP_FDB] = { "fdb", sizeof(struct weft_fdb_key),
			 sizeof(struct weft_fdb_entry) },
	[DP_MAP_STATS] = { "stats", sizeof(__u32), 0 },
};

void dp_state_init(struct dp_state *s)
{
	for (int m = 0; m < DP_MAP_COUNT; m++)
		kvtab_init(&s->maps[m], dp_map_info[m].key_size,
			   dp_map_info[m].value_size);
}

void dp_state_destroy(struct dp_state *s)
{
	for (int m = 0; m < DP_MAP_COUNT; m++)
		kvtab_destroy(&s->maps[m]);
}

static int put_fdb(struct dp_state *out, uint32_t vni, const uint8_t mac[6],
		   uint32_t ifindex, uint32_t host_ip)
{
	struct weft_fdb_key key = { .vni = vni };
	struct weft_fdb_entry e = { .ifindex = ifindex,
				    .host_ip = htonl(host_ip) };

	memcpy(key.mac, mac, 6);
	return kvtab_put(&out->maps[DP_MAP_FDB], &key, &e);
}

static int put_neigh(struct dp_state *out, uint32_t vni, uint32_t ip,
		     const uint8_t mac[6])
{
	struct weft_neigh_key key = { .vni = vni, .ip = htonl(ip) };
	struct weft_neigh_entry e = { 0 };

	memcpy(e.mac, mac, 6);
	return kvtab_put(&out->maps[DP_MAP_NEIGH], &key, &e);
}

static int put_port_addr(struct dp_state *out, uint32_t ifindex, uint32_t ip,
			 int prefix, const uint8_t mac[6])
{
	struct weft_port_addr_key key = {
		.prefixlen = 32 + (__u32)prefix,
		.ifindex = ifindex,
		.ip = htonl(ip & netaddr_mask(prefix)),
	};
	struct weft_port_addr e = { 0 };

	memcpy(e.mac, mac, 6);
	return kvtab_put(&out->maps[DP_MAP_PORT_ADDRS], &key, &e);
}

static int put_route(struct dp_state *out, uint32_t router, uint32_t dest,
		     int prefix, const struct weft_route *rt, bool replace)
{
	struct weft_route_key key = {
		.prefixlen = 64 + (__u32)prefix,
		.router = router,
		.ip = htonl(dest & netaddr_mask(prefix)),
	};

	if (!replace && kvtab_get(&out->maps[DP_MAP_ROUTES], &key))
		return 0;
	return kvtab_put(&out->maps[DP_MAP_ROUTES], &key, rt);
}

/* The entries of one router (docs/routing.md): per interface, an fdb
 * entry for its MAC, a neigh entry for its address and a connected route;
 * per static route, a next-hop route. A static route to the very prefix of
 * a connected subnet is left out: the subnet wins. */
static int router_entries(struct dp_state *out,
			  const struct hostview_router *rt)
{
	int r;

	for (size_t i = 0; i < rt->n_ifaces; i++) {
		const struct hostview_router_iface *f = &rt->ifaces[i];
		struct weft_fdb_key fk = { .vni = f->vni };
		struct weft_fdb_entry fe = {
			.router = rt->router_key,
			.flags =
				rt->admin_state_up ? 0 : WEFT_FDB_F_ROUTER_DOWN,
		};
		struct weft_route c = { .kind = WEFT_ROUTE_CONNECTED,
					.vni = f->vni,
					.ifaddr = htonl(f->ip) };

		memcpy(fk.mac, f->mac, 6);
		r = kvtab_put(&out->maps[DP_MAP_FDB], &fk, &fe);
		if (r < 0)
			return r;
		r = put_neigh(out, f->vni, f->ip, f->mac);
		if (r < 0)
			return r;
		memcpy(c.mac, f->mac, 6);
		r = put_route(out, rt->router_key, f->ip, f->prefix, &c, true);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < rt->n_routes; i++) {
		const struct hostview_route *s = &rt->routes[i];
		struct weft_route nh = { .kind = WEFT_ROUTE_NEXTHOP,
					 .nexthop = htonl(s->nexthop) };

		r = put_route(out, rt->router_key, s->dest, s->prefix, &nh,
			      false);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The default route of a router with an external gateway, after its
 * connected and static routes (a static 0/0 wins), and on a gateway its
 * ext_routers entry and its external IP in ext_addrs. */
static int router_ext_entries(struct dp_state *out,
			      const struct hostview_router *rt, bool gateway)
{
	const struct hostview_ext_gateway *g = &rt->ext_gateway;
	struct weft_route ext = { .kind = WEFT_ROUTE_EXTERNAL,
				  .ifaddr = htonl(g->ip) };
	__u32 key = rt->router_key;
	__be32 addr = htonl(g->ip);
	struct weft_ext_router er = { .ext_ip = htonl(g->ip),
				      .flags = g->enable_snat ?
						       WEFT_EXT_F_SNAT :
						       0 };
	struct weft_ext_addr ea = { .kind = WEFT_EXT_ROUTER,
				    .router = rt->router_key };
	int r;

	if (!rt->has_ext_gateway)
		return 0;
	memcpy(ext.mac, g->mac, 6);
	r = put_route(out, rt->router_key, 0, 0, &ext, false);
	if (r < 0 || !gateway)
		return r;
	memcpy(er.ext_mac, g->mac, 6);
	r = kvtab_put(&out->maps[DP_MAP_EXT_ROUTERS], &key, &er);
	if (r < 0)
		return r;
	return kvtab_put(&out->maps[DP_MAP_EXT_ADDRS], &addr, &ea);
}

/* A floating IP on a gateway: ext_addrs for every one (vni 0 when not
 * associated), fips for the associated ones. */
static int floatingip_entries(struct dp_state *out,
			      const struct hostview_floatingip *f)
{
	__be32 addr = htonl(f->ip);
	struct weft_ext_addr ea = { .kind = WEFT_EXT_FIP,
				    .vni = f->vni,
				    .fixed_ip = htonl(f->fixed_ip),
				    .router = f->router_key };
	struct weft_fip_key fk = { .vni = f->vni,
				   .fixed_ip = htonl(f->fixed_ip) };
	struct weft_fip fe = { .fip = htonl(f->ip), .router = f->router_key };
	int r = kvtab_put(&out->maps[DP_MAP_EXT_ADDRS], &addr, &ea);

	if (r < 0 || !f->associated)
		return r;
	return kvtab_put(&out->maps[DP_MAP_FIPS], &fk, &fe);
}

/* gw_slots and gw_table from the view's gateways and 'alive' (bit s: the
 * gateway of slot s is alive). Every slot and bucket is written, empty
 * ones as zeros: the maps are arrays. */
static int gateway_entries(struct dp_state *out, const struct hostview *v,
			   uint32_t alive)
{
	struct weft_gw_slot slots[WEFT_MAX_GATEWAYS] = { 0 };
	struct weft_gw_bucket table[WEFT_GW_BUCKETS];
	struct gateway_member members[WEFT_MAX_GATEWAYS];
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;
	size_t n = 0;
	int r;

	while ((o = hostview_next(v, &it))) {
		if (o->kind != HOSTVIEW_GATEWAY ||
		    o->gateway.slot >= WEFT_MAX_GATEWAYS)
			continue;
		slots[o->gateway.slot].ip = htonl(o->gateway.underlay_ip);
		if (alive & (1u << o->gateway.slot))
			slots[o->gateway.slot].flags = WEFT_GW_F_ALIVE;
	}
	for (uint32_t s = 0; s < WEFT_MAX_GATEWAYS; s++) {
		if (slots[s].ip && (slots[s].flags & WEFT_GW_F_ALIVE))
			members[n++] =
				(struct gateway_member){ ntohl(slots[s].ip),
							 s };
		r = kvtab_put(&out->maps[DP_MAP_GW_SLOTS], &s, &slots[s]);
		if (r < 0)
			return r;
	}
	gateway_table_fill(members, n, table);
	for (uint32_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		r = kvtab_put(&out->maps[DP_MAP_GW_TABLE], &b, &table[b]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The neigh entry of each DHCP subnet's server address, so that a client
 * renewing by unicast finds a MAC to send to (docs/routing.md). Written
 * after every port and router: an address a port or router holds keeps
 * its own entry. */
static int dhcp_entries(struct dp_state *out, const struct hostview *v)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;

	while ((o = hostview_next(v, &it))) {
		const struct hostview_subnet *s = &o->subnet;
		struct weft_neigh_key key;
		uint8_t mac[6];
		int r;

		if (o->kind != HOSTVIEW_SUBNET || !s->enable_dhcp)
			continue;
		key = (struct weft_neigh_key){ .vni = s->vni,
					       .ip = htonl(s->dhcp_server) };
		if (kvtab_get(&out->maps[DP_MAP_NEIGH], &key))
			continue;
		hostview_dhcp_server_mac(v, s, mac);
		r = put_neigh(out, s->vni, s->dhcp_server, mac);
		if (r < 0)
			return r;
	}
	return 0;
}

/* True when security groups apply to local port 'p': port security on,
 * and a weftd that sends groups (an empty list then refuses every new
 * connection, as in Neutron). */
static bool port_has_policy(const struct hostview_port *p)
{
	return p->port_security && p->has_security_groups;
}

/* The entries of one port. 'ifindex' is its local tap (0 when remote or
 * absent), 'host_ip' the underlay address of its host (0 when unknown).
 * A local port with a tap and security groups is added to 'pol'. */
static int port_entries(struct dp_state *out, struct policy *pol,
			const struct hostview_port *p, bool local,
			uint32_t ifindex, uint32_t host_ip)
{
	/* A remote port with no known host, or a local port whose tap is
	 * missing, has nowhere to be forwarded to: ARP answers only. */
	bool forward = local ? ifindex != 0 : host_ip != 0;
	int r;

	for (size_t i = 0; i < p->n_ips; i++) {
		r = put_neigh(out, p->vni, p->ips[i], p->mac);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_pairs; i++) {
		const struct hostview_address_pair *a = &p->pairs[i];
		const uint8_t *mac = a->has_mac ? a->mac : p->mac;

		if (a->prefix == 32) {
			r = put_neigh(out, p->vni, a->ip, mac);
			if (r < 0)
				return r;
		}
	}
	if (!forward)
		return 0;

	r = put_fdb(out, p->vni, p->mac, ifindex, host_ip);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_pairs; i++) {
		const struct hostview_address_pair *a = &p->pairs[i];

		if (a->has_mac && memcmp(a->mac, p->mac, 6)) {
			r = put_fdb(out, p->vni, a->mac, ifindex, host_ip);
			if (r < 0)
				return r;
		}
	}
	if (!local)
		return 0;

	{
		struct weft_port port = { .vni = p->vni };
		__u32 key = ifindex;

		memcpy(port.mac, p->mac, 6);
		if (p->port_security)
			port.flags |= WEFT_PORT_F_SECURITY;
		if (p->admin_state_up)
			port.flags |= WEFT_PORT_F_UP;
		if (port_has_policy(p)) {
			/* policy_gen is filled in by policy_entries(). */
			port.flags |= WEFT_PORT_F_POLICY;
			r = policy_add_port(pol, ifindex, p);
			if (r < 0 && r != -EEXIST) /* two ports, one tap */
				return r;
		}
		r = kvtab_put(&out->maps[DP_MAP_PORTS], &key, &port);
		if (r < 0)
			return r;
		r = kvtab_put(&out->maps[DP_MAP_STATS], &key, NULL);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_ips; i++) {
		r = put_port_addr(out, ifindex, p->ips[i], 32, p->mac);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_pairs; i++) {
		const struct hostview_address_pair *a = &p->pairs[i];

		r = put_port_addr(out, ifindex, a->ip, a->prefix,
				  a->has_mac ? a->mac : p->mac);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Writes the compiled security groups into 'out' and the policy_gen and
 * policy_id of each local port with WEFT_PORT_F_POLICY into its ports
 * entry. */
static int policy_entries(struct dp_state *out, struct policy *pol,
			  const struct reconcile_local_port *ports, size_t n)
{
	int r = policy_finish(pol, &out->maps[DP_MAP_SG_REMOTE],
			      &out->maps[DP_MAP_SG_RULES]);

	for (size_t i = 0; i < n && !r; i++) {
		__u32 key = ports[i].ifindex;
		const struct weft_port *cur =
			key ? kvtab_get(&out->maps[DP_MAP_PORTS], &key) : NULL;
		struct weft_port port;

		if (!cur || !(cur->flags & WEFT_PORT_F_POLICY))
			continue;
		port = *cur;
		port.policy_gen = policy_port_gen(pol, key);
		port.policy_id = policy_port_id(pol, key);
		r = kvtab_put(&out->maps[DP_MAP_PORTS], &key, &port);
	}
	return r;
}

int reconcile_desired(const struct hostview *v,
		      const struct reconcile_self *self,
		      reconcile_tap_fn tap_ifindex, void *ctx,
		      struct dp_state *out,
		      struct reconcile_local_port **ret_ports, size_t *ret_n)
{
	struct reconcile_local_port *ports = NULL;
	size_t n_ports = 0, cap = 0;
	const struct hostview_object *o;
	struct hostview_iter it = { 0 };
	struct policy *pol;
	int r;

	r = policy_new(v, &pol);
	if (r < 0)
		return r;
	{
		__be32 key = htonl(self->underlay_ip);
		struct weft_host h = { 0 };

		r = kvtab_put(&out->maps[DP_MAP_HOSTS], &key, &h);
		if (r < 0)
			goto fail;
	}
	for (int i = 0; i < 2; i++) {
		__u32 key = i ? self->uplink_ifindex : self->vxlan_ifindex;

		if (!key)
			continue;
		r = kvtab_put(&out->maps[DP_MAP_STATS], &key, NULL);
		if (r < 0)
			goto fail;
	}
	r = gateway_entries(out, v, self->gw_alive);
	if (r < 0)
		goto fail;

	while ((o = hostview_next(v, &it))) {
		switch (o->kind) {
		case HOSTVIEW_HOST: {
			__be32 key = htonl(o->host.underlay_ip);
			struct weft_host h = { 0 };

			r = kvtab_put(&out->maps[DP_MAP_HOSTS], &key, &h);
			break;
		}
		case HOSTVIEW_NETWORK: {
			__u32 key = o->network.vni;
			struct weft_network n = { .mtu = o->network.mtu };

			r = kvtab_put(&out->maps[DP_MAP_NETWORKS], &key, &n);
			break;
		}
		case HOSTVIEW_PORT: {
			const struct hostview_port *p = &o->port;
			bool local = p->host && !strcmp(p->host, self->host);
			uint32_t ifindex = 0, host_ip = 0;

			if (local) {
				struct reconcile_local_port *lp;

				if (n_ports == cap) {
					size_t ncap = cap ? cap * 2 : 16;
					void *np = realloc(
						ports, ncap * sizeof(*ports));

					if (!np) {
						r = -ENOMEM;
						break;
					}
					ports = np;
					cap = ncap;
				}
				lp = &ports[n_ports++];
				lp->id = p->id;
				hostview_port_tap_name(p, lp->tap);
				ifindex = tap_ifindex(ctx, lp->tap);
				lp->ifindex = ifindex;
				host_ip = self->underlay_ip;
			} else if (p->host) {
				const struct hostview_host *h =
					hostview_find_host(v, p->host);

				host_ip = h ? h->underlay_ip : 0;
			}
			r = port_entries(out, pol, p, local, ifindex, host_ip);
			break;
		}
		case HOSTVIEW_ROUTER:
			r = router_entries(out, &o->router);
			if (r == 0)
				r = router_ext_entries(out, &o->router,
						       self->gateway);
			break;
		case HOSTVIEW_GATEWAY: {
			__be32 key = htonl(o->gateway.underlay_ip);
			struct weft_host h = { 0 };

			r = kvtab_put(&out->maps[DP_MAP_HOSTS], &key, &h);
			break;
		}
		case HOSTVIEW_FLOATINGIP:
			r = self->gateway ?
				    floatingip_entries(out, &o->floatingip) :
				    0;
			break;
		case HOSTVIEW_SUBNET:
		case HOSTVIEW_SECGROUP:
		case HOSTVIEW_OTHER:
			r = 0;
			break;
		}
		if (r < 0)
			goto fail;
	}
	r = dhcp_entries(out, v);
	if (r < 0)
		goto fail;
	r = policy_entries(out, pol, ports, n_ports);
	if (r < 0)
		goto fail;
	policy_free(pol);
	*ret_ports = ports;
	*ret_n = n_ports;
	return 0;
fail:
	policy_free(pol);
	free(ports);
	return r;
}

static int apply_updates(const struct kvtab *want, struct kvtab *have,
			 enum dp_map map, reconcile_apply_fn apply, void *ctx,
			 struct reconcile_result *res)
{
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;

	while ((n = kvtab_next(want, &it))) {
		const void *key = kvtab_node_key(n);
		const void *value =
			want->value_size ? kvtab_node_value(want, n) : NULL;
		const void *cur = kvtab_get(have, key);
		struct reconcile_op op = { map, RECONCILE_UPDATE, key, value };
		int r;

		if (cur && (!value || !memcmp(cur, value, want->value_size)))
			continue;
		r = apply(ctx, &op);
		if (r < 0) {
			if (!res->failures++)
				res->first_error = r;
			continue;
		}
		r = kvtab_put(have, key, value);
		if (r < 0)
			return r;
		res->updates++;
	}
	return 0;
}

static int apply_deletes(const struct kvtab *want, struct kvtab *have,
			 enum dp_map map, reconcile_apply_fn apply, void *ctx,
			 struct reconcile_result *res)
{
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;
	uint8_t *keys = NULL;
	size_t n_keys = 0;

	/* Collect first: 'have' changes as deletes succeed. */
	if (have->count) {
		keys = malloc(have->count * have->key_size);
		if (!keys)
			return -ENOMEM;
	}
	while ((n = kvtab_next(have, &it))) {
		if (!kvtab_get(want, kvtab_node_key(n)))
			memcpy(keys + n_keys++ * have->key_size,
			       kvtab_node_key(n), have->key_size);
	}
	for (size_t i = 0; i < n_keys; i++) {
		const void *key = keys + i * have->key_size;
		struct reconcile_op op = { map, RECONCILE_DELETE, key, NULL };
		int r = apply(ctx, &op);

		if (r < 0) {
			if (!res->failures++)
				res->first_error = r;
			continue;
		}
		kvtab_remove(have, key);
		res->deletes++;
	}
	free(keys);
	return 0;
}

int reconcile_diff(const struct dp_state *desired, struct dp_state *present,
		   reconcile_apply_fn apply, void *ctx,
		   struct reconcile_result *result)
{
	struct reconcile_result res = { 0 };
	int r;

	for (int m = 0; m < DP_MAP_COUNT; m++) {
		r = apply_updates(&desired->maps[m], &present->maps[m], m,
				  apply, ctx, &res);
		if (r < 0)
			return r;
		/* A port's new policy_gen makes its connections check the
		 * rules again: by then no stale sg_remote entry may be left
		 * to admit them under the old rules. */
		if (m == DP_MAP_SG_REMOTE) {
			r = apply_deletes(&desired->maps[m], &present->maps[m],
					  m, apply, ctx, &res);
			if (r < 0)
				return r;
		}
	}
	for (int m = DP_MAP_COUNT - 1; m >= 0; m--) {
		r = apply_deletes(&desired->maps[m], &present->maps[m], m,
				  apply, ctx, &res);
		if (r < 0)
			return r;
	}
	*result = res;
	return 0;
}
