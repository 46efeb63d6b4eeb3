/* SPDX-License-Identifier: Apache-2.0 */
#include "hostview.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

void hostview_init(struct hostview *v)
{
	memset(v, 0, sizeof(*v));
}

void hostview_object_free(struct hostview_object *o)
{
	if (!o)
		return;
	switch (o->kind) {
	case HOSTVIEW_HOST:
		free(o->host.name);
		break;
	case HOSTVIEW_NETWORK:
		free(o->network.id);
		break;
	case HOSTVIEW_PORT:
		free(o->port.id);
		free(o->port.network_id);
		free(o->port.host);
		free(o->port.tap);
		free(o->port.ips);
		free(o->port.pairs);
		for (size_t i = 0; i < o->port.n_security_groups; i++)
			free(o->port.security_groups[i]);
		free(o->port.security_groups);
		break;
	case HOSTVIEW_SUBNET:
		free(o->subnet.id);
		free(o->subnet.network_id);
		free(o->subnet.dns);
		free(o->subnet.host_routes);
		free(o->subnet.dns_domain);
		break;
	case HOSTVIEW_ROUTER:
		for (size_t i = 0; i < o->router.n_ifaces; i++) {
			free(o->router.ifaces[i].port_id);
			free(o->router.ifaces[i].subnet_id);
			free(o->router.ifaces[i].network_id);
		}
		free(o->router.ifaces);
		free(o->router.id);
		free(o->router.routes);
		free(o->router.ext_gateway.network_id);
		break;
	case HOSTVIEW_GATEWAY:
		free(o->gateway.name);
		break;
	case HOSTVIEW_FLOATINGIP:
		free(o->floatingip.id);
		break;
	case HOSTVIEW_SECGROUP:
		for (size_t i = 0; i < o->secgroup.n_rules; i++)
			free(o->secgroup.rules[i].remote_group_id);
		free(o->secgroup.rules);
		free(o->secgroup.members);
		free(o->secgroup.id);
		break;
	case HOSTVIEW_OTHER:
		break;
	}
	free(o->key);
	free(o);
}

static void hostview_clear(struct hostview *v)
{
	for (size_t i = 0; i < v->n_buckets; i++) {
		struct hostview_object *o = v->buckets[i];

		while (o) {
			struct hostview_object *next = o->next;

			hostview_object_free(o);
			o = next;
		}
		v->buckets[i] = NULL;
	}
	v->count = 0;
}

void hostview_destroy(struct hostview *v)
{
	hostview_clear(v);
	free(v->buckets);
	v->buckets = NULL;
	v->n_buckets = 0;
}

static size_t hostview_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 ^ (unsigned char)*s++;
	return h;
}

static int hostview_grow(struct hostview *v)
{
	size_t n = v->n_buckets ? v->n_buckets * 2 : 64;
	struct hostview_object **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_buckets; i++) {
		struct hostview_object *o = v->buckets[i];

		while (o) {
			struct hostview_object *next = o->next;
			size_t j = hostview_hash(o->key) & (n - 1);

			o->next = b[j];
			b[j] = o;
			o = next;
		}
	}
	free(v->buckets);
	v->buckets = b;
	v->n_buckets = n;
	return 0;
}

/* Removes and frees the object of 'key'; true when there was one. */
static bool hostview_remove(struct hostview *v, const char *key)
{
	struct hostview_object **pp;

	if (!v->n_buckets)
		return false;
	for (pp = &v->buckets[hostview_hash(key) & (v->n_buckets - 1)]; *pp;
	     pp = &(*pp)->next) {
		if (!strcmp((*pp)->key, key)) {
			struct hostview_object *o = *pp;

			*pp = o->next;
			hostview_object_free(o);
			v->count--;
			return true;
		}
	}
	return false;
}

/* Takes ownership of 'o', replacing an object with the same key. Cannot
 * fail once the table has room (see hostview_reserve()). */
static void hostview_insert(struct hostview *v, struct hostview_object *o)
{
	size_t j;

	hostview_remove(v, o->key);
	j = hostview_hash(o->key) & (v->n_buckets - 1);
	o->next = v->buckets[j];
	v->buckets[j] = o;
	v->count++;
}

/* Makes room for 'extra' more objects so that hostview_insert() never fails. */
static int hostview_reserve(struct hostview *v, size_t extra)
{
	while (v->n_buckets < v->count + extra + 1) {
		int r = hostview_grow(v);

		if (r < 0)
			return r;
	}
	return 0;
}

const struct hostview_object *hostview_find(const struct hostview *v,
					    const char *key)
{
	if (!v->n_buckets)
		return NULL;
	for (const struct hostview_object *o =
		     v->buckets[hostview_hash(key) & (v->n_buckets - 1)];
	     o; o = o->next) {
		if (!strcmp(o->key, key))
			return o;
	}
	return NULL;
}

/* The object of key "'kind_name':'id'" when it is of 'kind'; NULL
 * otherwise. */
static const struct hostview_object *find_kind(const struct hostview *v,
					       const char *kind_name,
					       const char *id,
					       enum hostview_kind kind)
{
	char key[256];
	const struct hostview_object *o;

	if (snprintf(key, sizeof(key), "%s:%s", kind_name, id) >=
	    (int)sizeof(key))
		return NULL;
	o = hostview_find(v, key);
	return o && o->kind == kind ? o : NULL;
}

const struct hostview_port *hostview_find_port(const struct hostview *v,
					       const char *id)
{
	const struct hostview_object *o =
		find_kind(v, "port", id, HOSTVIEW_PORT);

	return o ? &o->port : NULL;
}

const struct hostview_host *hostview_find_host(const struct hostview *v,
					       const char *name)
{
	const struct hostview_object *o =
		find_kind(v, "host", name, HOSTVIEW_HOST);

	return o ? &o->host : NULL;
}

const struct hostview_network *hostview_find_network(const struct hostview *v,
						     const char *id)
{
	const struct hostview_object *o =
		find_kind(v, "network", id, HOSTVIEW_NETWORK);

	return o ? &o->network : NULL;
}

const struct hostview_secgroup *hostview_find_secgroup(const struct hostview *v,
						       const char *id)
{
	const struct hostview_object *o =
		find_kind(v, "secgroup", id, HOSTVIEW_SECGROUP);

	return o ? &o->secgroup : NULL;
}

const struct hostview_gateway *hostview_find_gateway(const struct hostview *v,
						     const char *name)
{
	const struct hostview_object *o =
		find_kind(v, "gateway", name, HOSTVIEW_GATEWAY);

	return o ? &o->gateway : NULL;
}

const uint8_t HOSTVIEW_DHCP_MAC[6] = { 0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01 };

void hostview_dhcp_server_mac(const struct hostview *v,
			      const struct hostview_subnet *subnet,
			      uint8_t mac[6])
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;

	while ((o = hostview_next(v, &it))) {
		if (o->kind != HOSTVIEW_ROUTER)
			continue;
		for (size_t i = 0; i < o->router.n_ifaces; i++) {
			const struct hostview_router_iface *f =
				&o->router.ifaces[i];

			if (f->vni == subnet->vni &&
			    f->ip == subnet->dhcp_server &&
			    (!f->subnet_id ||
			     !strcmp(f->subnet_id, subnet->id))) {
				memcpy(mac, f->mac, 6);
				return;
			}
		}
	}
	memcpy(mac, HOSTVIEW_DHCP_MAC, 6);
}

const struct hostview_object *hostview_next(const struct hostview *v,
					    struct hostview_iter *it)
{
	if (it->obj && it->obj->next) {
		it->obj = it->obj->next;
		return it->obj;
	}
	if (it->obj)
		it->bucket++;
	it->obj = NULL;
	for (; it->bucket < v->n_buckets; it->bucket++) {
		if (v->buckets[it->bucket]) {
			it->obj = v->buckets[it->bucket];
			return it->obj;
		}
	}
	return NULL;
}

/* Field helpers: each returns 0 and sets its output, or -EINVAL. An
 * optional field that is absent (or null) keeps the default. */

static int get_string(const json_t *obj, const char *name, bool required,
		      char **ret)
{
	const json_t *j = json_object_get(obj, name);
	char *s;

	if (!j || json_is_null(j)) {
		if (required)
			return -EINVAL;
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(j))
		return -EINVAL;
	s = strdup(json_string_value(j));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int get_uint(const json_t *obj, const char *name, bool required,
		    uint32_t max, uint32_t *ret)
{
	const json_t *j = json_object_get(obj, name);
	json_int_t n;

	if (!j || json_is_null(j))
		return required ? -EINVAL : 0;
	if (!json_is_integer(j))
		return -EINVAL;
	n = json_integer_value(j);
	if (n < 0 || n > (json_int_t)max)
		return -EINVAL;
	*ret = (uint32_t)n;
	return 0;
}

static int get_bool(const json_t *obj, const char *name, bool *ret)
{
	const json_t *j = json_object_get(obj, name);

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_boolean(j))
		return -EINVAL;
	*ret = json_is_true(j);
	return 0;
}

static int get_ipv4(const json_t *obj, const char *name, uint32_t *ret)
{
	const json_t *j = json_object_get(obj, name);

	if (!json_is_string(j))
		return -EINVAL;
	return netaddr_parse_ipv4(json_string_value(j), ret);
}

/* Parses the MAC address 'name' of 'obj' into 'mac'. */
static int get_mac(const json_t *obj, const char *name, uint8_t mac[6])
{
	const json_t *j = json_object_get(obj, name);

	if (!json_is_string(j) ||
	    netaddr_parse_mac(json_string_value(j), mac) < 0)
		return -EINVAL;
	return 0;
}

/* Parses the string 'j', an address (a /32) or a CIDR (host bits
 * cleared). */
static int parse_prefix(const json_t *j, struct hostview_prefix *ret)
{
	const char *s;

	if (!json_is_string(j))
		return -EINVAL;
	s = json_string_value(j);
	if (strchr(s, '/')) {
		if (netaddr_parse_cidr4(s, false, &ret->ip, &ret->prefix) < 0)
			return -EINVAL;
		ret->ip &= netaddr_mask(ret->prefix);
	} else {
		if (netaddr_parse_ipv4(s, &ret->ip) < 0)
			return -EINVAL;
		ret->prefix = 32;
	}
	return 0;
}

/* Finds the array 'name' of 'obj' and allocates 'ret' with one zeroed
 * element of 'size' bytes per item. Returns 1 with 'ret_arr' set when there
 * are items, 0 when the array is absent, null or empty, or a negative
 * errno. */
static int alloc_for_array(const json_t *obj, const char *name, size_t size,
			   void **ret, const json_t **ret_arr)
{
	const json_t *arr = json_object_get(obj, name);

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return -EINVAL;
	if (!json_array_size(arr))
		return 0;
	*ret = calloc(json_array_size(arr), size);
	if (!*ret)
		return -ENOMEM;
	*ret_arr = arr;
	return 1;
}

/* Parses the array 'name' of 'obj' into '*ret', a new array of '*ret_n'
 * elements of 'size' bytes, each parsed by 'parse' from its zeroed state.
 * An absent, null or empty array leaves '*ret' NULL. An element is counted
 * in '*ret_n' before it is parsed, so that on error whatever a half-parsed
 * element holds is freed with its object; the caller frees '*ret'. */
static int get_array(const json_t *obj, const char *name, size_t size,
		     int (*parse)(const json_t *j, void *elem), void **ret,
		     size_t *ret_n)
{
	const json_t *arr = NULL;
	const json_t *j;
	size_t i;
	int r = alloc_for_array(obj, name, size, ret, &arr);

	if (r <= 0)
		return r;
	json_array_foreach(arr, i, j) {
		(*ret_n)++;
		r = parse(j, (char *)*ret + i * size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An element of get_array(): an IPv4 address into a uint32_t. */
static int parse_ipv4_elem(const json_t *j, void *elem)
{
	if (!json_is_string(j) ||
	    netaddr_parse_ipv4(json_string_value(j), elem) < 0)
		return -EINVAL;
	return 0;
}

/* An element of get_array(): a string, copied into a char *. */
static int parse_string_elem(const json_t *j, void *elem)
{
	char **s = elem;

	if (!json_is_string(j))
		return -EINVAL;
	*s = strdup(json_string_value(j));
	return *s ? 0 : -ENOMEM;
}

/* An element of get_array(): an address or CIDR, see parse_prefix(). */
static int parse_prefix_elem(const json_t *j, void *elem)
{
	return parse_prefix(j, elem) < 0 ? -EINVAL : 0;
}

/* An element of get_array(): {"destination": CIDR, "nexthop": IP}. */
static int parse_route_elem(const json_t *j, void *elem)
{
	struct hostview_route *rt = elem;
	const json_t *d = json_object_get(j, "destination");

	if (!json_is_object(j) || !json_is_string(d) ||
	    netaddr_parse_cidr4(json_string_value(d), false, &rt->dest,
				&rt->prefix) < 0 ||
	    get_ipv4(j, "nexthop", &rt->nexthop) < 0)
		return -EINVAL;
	rt->dest &= netaddr_mask(rt->prefix);
	return 0;
}

static int get_ipv4_array(const json_t *obj, const char *name, uint32_t **ret,
			  size_t *ret_n)
{
	return get_array(obj, name, sizeof(**ret), parse_ipv4_elem,
			 (void **)ret, ret_n);
}

/* An array of strings; 'ret_present' tells whether the member was there
 * (as an array, possibly empty). */
static int get_string_array(const json_t *obj, const char *name, char ***ret,
			    size_t *ret_n, bool *ret_present)
{
	int r = get_array(obj, name, sizeof(**ret), parse_string_elem,
			  (void **)ret, ret_n);

	if (r < 0)
		return r;
	*ret_present = json_is_array(json_object_get(obj, name));
	return 0;
}

/* An array of addresses or CIDRs. */
static int get_prefix_array(const json_t *obj, const char *name,
			    struct hostview_prefix **ret, size_t *ret_n)
{
	return get_array(obj, name, sizeof(**ret), parse_prefix_elem,
			 (void **)ret, ret_n);
}

/* An optional integer 0..'max'; null or absent: HOSTVIEW_SG_ANY. */
static int get_int_or_any(const json_t *obj, const char *name, uint32_t max,
			  int *ret)
{
	uint32_t n = 0;
	const json_t *j = json_object_get(obj, name);
	int r;

	if (!j || json_is_null(j)) {
		*ret = HOSTVIEW_SG_ANY;
		return 0;
	}
	r = get_uint(obj, name, true, max, &n);
	if (r < 0)
		return r;
	*ret = (int)n;
	return 0;
}

/* An array of {"destination": CIDR, "nexthop": IP}. */
static int get_routes(const json_t *obj, const char *name,
		      struct hostview_route **ret, size_t *ret_n)
{
	return get_array(obj, name, sizeof(**ret), parse_route_elem,
			 (void **)ret, ret_n);
}

static int parse_host(const json_t *obj, struct hostview_host *h)
{
	int r = get_string(obj, "name", true, &h->name);

	if (r < 0)
		return r;
	return get_ipv4(obj, "underlay_ip", &h->underlay_ip);
}

static int parse_network(const json_t *obj, struct hostview_network *n)
{
	int r;

	n->mtu = 1450;
	r = get_string(obj, "id", true, &n->id);
	if (r < 0)
		return r;
	r = get_uint(obj, "vni", true, HOSTVIEW_MAX_VNI, &n->vni);
	if (r < 0)
		return r;
	return get_uint(obj, "mtu", false, 65535, &n->mtu);
}

/* An element of get_array(): an allowed address pair. */
static int parse_pair_elem(const json_t *j, void *elem)
{
	struct hostview_address_pair *pair = elem;
	const json_t *mac = json_object_get(j, "mac_address");
	struct hostview_prefix p;

	if (!json_is_object(j) ||
	    parse_prefix(json_object_get(j, "ip_address"), &p) < 0)
		return -EINVAL;
	pair->ip = p.ip;
	pair->prefix = p.prefix;
	if (mac && !json_is_null(mac)) {
		if (!json_is_string(mac) ||
		    netaddr_parse_mac(json_string_value(mac), pair->mac) < 0)
			return -EINVAL;
		pair->has_mac = true;
	}
	return 0;
}

static int parse_port(const json_t *obj, struct hostview_port *p)
{
	int r;

	p->admin_state_up = true;
	p->port_security = true;
	if ((r = get_string(obj, "id", true, &p->id)) < 0 ||
	    (r = get_string(obj, "network_id", false, &p->network_id)) < 0 ||
	    (r = get_string(obj, "host", false, &p->host)) < 0 ||
	    (r = get_string(obj, "tap", false, &p->tap)) < 0 ||
	    (r = get_uint(obj, "vni", true, HOSTVIEW_MAX_VNI, &p->vni)) < 0 ||
	    (r = get_bool(obj, "admin_state_up", &p->admin_state_up)) < 0 ||
	    (r = get_bool(obj, "port_security", &p->port_security)) < 0)
		return r;
	if ((r = get_mac(obj, "mac", p->mac)) < 0)
		return r;

	if ((r = get_ipv4_array(obj, "ips", &p->ips, &p->n_ips)) < 0 ||
	    (r = get_string_array(obj, "security_groups", &p->security_groups,
				  &p->n_security_groups,
				  &p->has_security_groups)) < 0)
		return r;
	return get_array(obj, "allowed_address_pairs", sizeof(*p->pairs),
			 parse_pair_elem, (void **)&p->pairs, &p->n_pairs);
}

/* The highest host address of 'net'/'prefix' (weftd's default DHCP server
 * identifier when a subnet has no gateway). */
static uint32_t last_host(uint32_t net, int prefix)
{
	uint32_t bcast = net | ~netaddr_mask(prefix);

	return prefix >= 31 ? bcast : bcast - 1;
}

static int parse_subnet(const json_t *obj, struct hostview_subnet *s)
{
	const json_t *cidr = json_object_get(obj, "cidr");
	const json_t *gw = json_object_get(obj, "gateway_ip");
	const json_t *server = json_object_get(obj, "dhcp_server");
	int r;

	if ((r = get_string(obj, "id", true, &s->id)) < 0 ||
	    (r = get_string(obj, "network_id", false, &s->network_id)) < 0 ||
	    (r = get_string(obj, "dns_domain", false, &s->dns_domain)) < 0 ||
	    (r = get_uint(obj, "vni", true, HOSTVIEW_MAX_VNI, &s->vni)) < 0 ||
	    (r = get_uint(obj, "mtu", false, 65535, &s->mtu)) < 0 ||
	    (r = get_bool(obj, "enable_dhcp", &s->enable_dhcp)) < 0 ||
	    (r = get_ipv4_array(obj, "dns_nameservers", &s->dns, &s->n_dns)) <
		    0 ||
	    (r = get_routes(obj, "host_routes", &s->host_routes,
			    &s->n_host_routes)) < 0)
		return r;
	if (!json_is_string(cidr) ||
	    netaddr_parse_cidr4(json_string_value(cidr), false, &s->net,
				&s->prefix) < 0)
		return -EINVAL;
	s->net &= netaddr_mask(s->prefix);
	if (gw && !json_is_null(gw)) {
		if ((r = get_ipv4(obj, "gateway_ip", &s->gateway)) < 0)
			return r;
		s->has_gateway = true;
	}
	if (server && !json_is_null(server)) {
		if ((r = get_ipv4(obj, "dhcp_server", &s->dhcp_server)) < 0)
			return r;
	} else {
		s->dhcp_server = s->has_gateway ? s->gateway :
						  last_host(s->net, s->prefix);
	}
	return 0;
}

static int parse_router_iface(const json_t *j, struct hostview_router_iface *f)
{
	uint32_t prefix = 0;
	int r;

	if (!json_is_object(j))
		return -EINVAL;
	if ((r = get_string(j, "port_id", false, &f->port_id)) < 0 ||
	    (r = get_string(j, "subnet_id", false, &f->subnet_id)) < 0 ||
	    (r = get_string(j, "network_id", false, &f->network_id)) < 0 ||
	    (r = get_uint(j, "vni", true, HOSTVIEW_MAX_VNI, &f->vni)) < 0 ||
	    (r = get_uint(j, "prefixlen", true, 32, &prefix)) < 0 ||
	    (r = get_ipv4(j, "ip", &f->ip)) < 0)
		return r;
	f->prefix = (int)prefix;
	return get_mac(j, "mac", f->mac);
}

/* A router's optional "external_gateway": null (or absent), or
 * {network_id, ip, mac, enable_snat (default true)}. */
static int parse_ext_gateway(const json_t *obj, struct hostview_router *rt)
{
	const json_t *j = json_object_get(obj, "external_gateway");
	struct hostview_ext_gateway *g = &rt->ext_gateway;
	int r;

	if (!j || json_is_null(j))
		return 0;
	if (!json_is_object(j))
		return -EINVAL;
	g->enable_snat = true;
	if ((r = get_string(j, "network_id", false, &g->network_id)) < 0 ||
	    (r = get_ipv4(j, "ip", &g->ip)) < 0 ||
	    (r = get_mac(j, "mac", g->mac)) < 0 ||
	    (r = get_bool(j, "enable_snat", &g->enable_snat)) < 0)
		return r;
	rt->has_ext_gateway = true;
	return 0;
}

static int parse_router(const json_t *obj, struct hostview_router *rt)
{
	const json_t *ifaces = json_object_get(obj, "interfaces");
	int r;

	rt->admin_state_up = true;
	if ((r = get_string(obj, "id", true, &rt->id)) < 0 ||
	    (r = get_uint(obj, "router_key", true, UINT32_MAX,
			  &rt->router_key)) < 0 ||
	    (r = get_bool(obj, "admin_state_up", &rt->admin_state_up)) < 0 ||
	    (r = get_routes(obj, "routes", &rt->routes, &rt->n_routes)) < 0 ||
	    (r = parse_ext_gateway(obj, rt)) < 0)
		return r;
	if (!rt->router_key)
		return -EINVAL;
	if (ifaces && !json_is_null(ifaces)) {
		const json_t *j;
		size_t i;

		if (!json_is_array(ifaces))
			return -EINVAL;
		if (json_array_size(ifaces)) {
			rt->ifaces = calloc(json_array_size(ifaces),
					    sizeof(*rt->ifaces));
			if (!rt->ifaces)
				return -ENOMEM;
		}
		json_array_foreach(ifaces, i, j) {
			/* Counted first: a half-parsed interface's strings
			 * are freed with the object. */
			rt->n_ifaces++;
			r = parse_router_iface(j, &rt->ifaces[i]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* An element of get_array(): a security group rule. */
static int parse_sg_rule_elem(const json_t *j, void *elem)
{
	struct hostview_sg_rule *rule = elem;
	const json_t *dir = json_object_get(j, "direction");
	const json_t *prefix = json_object_get(j, "remote_ip_prefix");
	int r;

	if (!json_is_object(j) || !json_is_string(dir))
		return -EINVAL;
	if (!strcmp(json_string_value(dir), "ingress"))
		rule->dir = HOSTVIEW_SG_INGRESS;
	else if (!strcmp(json_string_value(dir), "egress"))
		rule->dir = HOSTVIEW_SG_EGRESS;
	else
		return -EINVAL;
	if ((r = get_int_or_any(j, "protocol", 255, &rule->protocol)) < 0 ||
	    (r = get_int_or_any(j, "port_range_min", 65535, &rule->port_min)) <
		    0 ||
	    (r = get_int_or_any(j, "port_range_max", 65535, &rule->port_max)) <
		    0 ||
	    (r = get_string(j, "remote_group_id", false,
			    &rule->remote_group_id)) < 0)
		return r;
	if (prefix && !json_is_null(prefix)) {
		if (parse_prefix(prefix, &rule->remote_prefix) < 0)
			return -EINVAL;
		rule->has_remote_prefix = true;
	}
	return 0;
}

static int parse_secgroup(const json_t *obj, struct hostview_secgroup *g)
{
	int r;

	if ((r = get_string(obj, "id", true, &g->id)) < 0 ||
	    (r = get_prefix_array(obj, "members", &g->members, &g->n_members)) <
		    0)
		return r;
	/* get_array() counts a rule before parsing it: a half-parsed rule's
	 * strings are freed with the object. */
	return get_array(obj, "rules", sizeof(*g->rules), parse_sg_rule_elem,
			 (void **)&g->rules, &g->n_rules);
}

static int parse_gateway(const json_t *obj, struct hostview_gateway *g)
{
	int r;

	g->alive = true;
	if ((r = get_string(obj, "name", true, &g->name)) < 0 ||
	    (r = get_ipv4(obj, "underlay_ip", &g->underlay_ip)) < 0 ||
	    (r = get_uint(obj, "slot", true, HOSTVIEW_MAX_GATEWAY_SLOT,
			  &g->slot)) < 0)
		return r;
	return get_bool(obj, "alive", &g->alive);
}

/* A floating IP: its association (router_key, vni, fixed_ip_address) is
 * all null or all set. */
static int parse_floatingip(const json_t *obj, struct hostview_floatingip *f)
{
	const json_t *fixed = json_object_get(obj, "fixed_ip_address");
	int r;

	if ((r = get_string(obj, "id", true, &f->id)) < 0 ||
	    (r = get_ipv4(obj, "floating_ip_address", &f->ip)) < 0 ||
	    (r = get_uint(obj, "router_key", false, UINT32_MAX,
			  &f->router_key)) < 0 ||
	    (r = get_uint(obj, "vni", false, HOSTVIEW_MAX_VNI, &f->vni)) < 0)
		return r;
	if (fixed && !json_is_null(fixed) &&
	    (r = get_ipv4(obj, "fixed_ip_address", &f->fixed_ip)) < 0)
		return r;
	f->associated = f->router_key && f->vni && f->fixed_ip;
	if (!f->associated && (f->router_key || f->vni || f->fixed_ip))
		return -EINVAL;
	return 0;
}

int hostview_object_from_json(const json_t *obj, struct hostview_object **ret)
{
	const json_t *key = json_object_get(obj, "key");
	const json_t *kind = json_object_get(obj, "kind");
	struct hostview_object *o;
	const char *k;
	int r;

	if (!json_is_object(obj) || !json_is_string(key) ||
	    !json_is_string(kind) || !json_string_length(key))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = HOSTVIEW_OTHER;
	o->key = strdup(json_string_value(key));
	if (!o->key) {
		free(o);
		return -ENOMEM;
	}
	k = json_string_value(kind);
	if (!strcmp(k, "host")) {
		o->kind = HOSTVIEW_HOST;
		r = parse_host(obj, &o->host);
	} else if (!strcmp(k, "network")) {
		o->kind = HOSTVIEW_NETWORK;
		r = parse_network(obj, &o->network);
	} else if (!strcmp(k, "port")) {
		o->kind = HOSTVIEW_PORT;
		r = parse_port(obj, &o->port);
	} else if (!strcmp(k, "subnet")) {
		o->kind = HOSTVIEW_SUBNET;
		r = parse_subnet(obj, &o->subnet);
	} else if (!strcmp(k, "router")) {
		o->kind = HOSTVIEW_ROUTER;
		r = parse_router(obj, &o->router);
	} else if (!strcmp(k, "secgroup")) {
		o->kind = HOSTVIEW_SECGROUP;
		r = parse_secgroup(obj, &o->secgroup);
	} else if (!strcmp(k, "gateway")) {
		o->kind = HOSTVIEW_GATEWAY;
		r = parse_gateway(obj, &o->gateway);
	} else if (!strcmp(k, "floatingip")) {
		o->kind = HOSTVIEW_FLOATINGIP;
		r = parse_floatingip(obj, &o->floatingip);
	} else {
		r = 0;
	}
	if (r < 0) {
		hostview_object_free(o);
		return r;
	}
	*ret = o;
	return 0;
}

/* Parses every object of the array 'arr' into 'ret' (an array of
 * 'ret_n' objects); all or nothing. */
static int parse_objects(const json_t *arr, struct hostview_object ***ret,
			 size_t *ret_n)
{
	struct hostview_object **objs = NULL;
	size_t n = json_array_size(arr), i;
	const json_t *j;
	int r = 0;

	if (n) {
		objs = calloc(n, sizeof(*objs));
		if (!objs)
			return -ENOMEM;
	}
	json_array_foreach(arr, i, j) {
		r = hostview_object_from_json(j, &objs[i]);
		if (r < 0)
			break;
	}
	if (r < 0) {
		for (i = 0; i < n; i++)
			hostview_object_free(objs[i]);
		free(objs);
		return r;
	}
	*ret = objs;
	*ret_n = n;
	return 0;
}

int hostview_apply_snapshot(struct hostview *v, int64_t revision,
			    const json_t *arr)
{
	struct hostview_object **objs;
	size_t n;
	int r;

	if (revision < 0 || !json_is_array(arr))
		return -EINVAL;
	r = parse_objects(arr, &objs, &n);
	if (r < 0)
		return r;
	hostview_clear(v);
	r = hostview_reserve(v, n);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			hostview_object_free(objs[i]);
		free(objs);
		v->synced = false; /* the view was lost: wait for another */
		return r;
	}
	for (size_t i = 0; i < n; i++)
		hostview_insert(v, objs[i]);
	free(objs);
	v->revision = revision;
	v->synced = true;
	return 0;
}

int hostview_apply_delta(struct hostview *v, int64_t revision,
			 const json_t *ups, const json_t *dels)
{
	struct hostview_object **objs = NULL;
	size_t n = 0, i;
	const json_t *j;
	int r;

	if (revision < 0)
		return -EINVAL;
	if ((ups && !json_is_array(ups)) || (dels && !json_is_array(dels)))
		return -EINVAL;
	json_array_foreach(dels, i, j) {
		if (!json_is_string(j))
			return -EINVAL;
	}
	if (ups) {
		r = parse_objects(ups, &objs, &n);
		if (r < 0)
			return r;
	}
	r = hostview_reserve(v, n);
	if (r < 0) {
		for (i = 0; i < n; i++)
			hostview_object_free(objs[i]);
		free(objs);
		return r;
	}
	json_array_foreach(dels, i, j)
		hostview_remove(v, json_string_value(j));
	for (i = 0; i < n; i++)
		hostview_insert(v, objs[i]);
	free(objs);
	v->revision = revision;
	return 0;
}

void hostview_port_tap_name(const struct hostview_port *p,
			    char buf[HOSTVIEW_IFNAMSIZ])
{
	if (p->tap && p->tap[0] && strlen(p->tap) < HOSTVIEW_IFNAMSIZ)
		snprintf(buf, HOSTVIEW_IFNAMSIZ, "%s", p->tap);
	else
		snprintf(buf, HOSTVIEW_IFNAMSIZ, "tap%.11s", p->id);
}
