/* SPDX-License-Identifier: Apache-2.0 */
#include "view.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "netaddr.h"
#include "sbproto.h"
#include "secgroup.h"

#define TAP_ID_CHARS 11

/* Keeps 'obj' only when it is a valid view object. Steals 'obj'. */
static json_t *checked(json_t *obj)
{
	if (obj && sbproto_check_object(obj, NULL, 0) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static const char *str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

json_t *view_network_object(json_t *network)
{
	const char *id = str(network, "id");
	char key[64];

	if (!id)
		return NULL;
	snprintf(key, sizeof(key), "network:%s", id);
	return checked(
		json_pack("{s:s, s:s, s:s, s:O, s:O}", "key", key, "kind",
			  "network", "id", id, "vni",
			  json_object_get(network, "provider:segmentation_id"),
			  "mtu", json_object_get(network, "mtu")));
}

/* The security groups that apply to 'port': none when port security is
 * off. A new reference. */
static json_t *port_groups(json_t *port)
{
	json_t *groups = json_array(), *g;
	size_t i;

	if (!json_is_true(json_object_get(port, "port_security_enabled")))
		return groups;
	json_array_foreach(json_object_get(port, "security_groups"), i, g)
		if (json_is_string(g))
			json_array_append(groups, g);
	return groups;
}

json_t *view_port_object(json_t *port, json_int_t vni)
{
	const char *id = str(port, "id");
	json_t *ips, *pairs, *e;
	char key[64], tap[16];
	size_t i;

	if (!id || strlen(id) < TAP_ID_CHARS)
		return NULL;
	snprintf(key, sizeof(key), "port:%s", id);
	snprintf(tap, sizeof(tap), "tap%.*s", TAP_ID_CHARS, id);
	ips = json_array();
	json_array_foreach(json_object_get(port, "fixed_ips"), i, e)
		json_array_append(ips, json_object_get(e, "ip_address"));
	pairs = json_array();
	json_array_foreach(json_object_get(port, "allowed_address_pairs"), i,
			   e) {
		json_t *mac = json_object_get(e, "mac_address");

		json_array_append_new(
			pairs,
			json_pack("{s:O, s:O}", "ip_address",
				  json_object_get(e, "ip_address"),
				  "mac_address",
				  mac ? mac :
					json_object_get(port, "mac_address")));
	}
	return checked(json_pack(
		"{s:s, s:s, s:s, s:O, s:I, s:O, s:o, s:O, s:b, s:b, s:o, s:s, s:o}",
		"key", key, "kind", "port", "id", id, "network_id",
		json_object_get(port, "network_id"), "vni", vni, "mac",
		json_object_get(port, "mac_address"), "ips", ips, "host",
		json_object_get(port, "binding:host_id"), "admin_state_up",
		json_is_true(json_object_get(port, "admin_state_up")),
		"port_security",
		json_is_true(json_object_get(port, "port_security_enabled")),
		"allowed_address_pairs", pairs, "tap", tap, "security_groups",
		port_groups(port)));
}

json_t *view_host_object(const char *name, const char *underlay_ip)
{
	char key[300];

	snprintf(key, sizeof(key), "host:%s", name);
	return checked(json_pack("{s:s, s:s, s:s, s:s}", "key", key, "kind",
				 "host", "name", name, "underlay_ip",
				 underlay_ip));
}

json_t *view_gateway_object(const char *name, const char *underlay_ip,
			    uint32_t slot, bool alive)
{
	char key[300];

	snprintf(key, sizeof(key), "gateway:%s", name);
	return checked(json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "key", key,
				 "kind", "gateway", "name", name, "underlay_ip",
				 underlay_ip, "slot", (int)slot, "alive",
				 alive));
}

struct networks_walk {
	const char *host;
	json_t *networks;
};

static int add_network_of_port(json_t *port, void *data)
{
	struct networks_walk *w = data;
	const char *bound = str(port, "binding:host_id");
	const char *net = str(port, "network_id");

	if (bound && net && !strcmp(bound, w->host))
		return json_object_set_new(w->networks, net, json_true()) < 0 ?
			       -ENOMEM :
			       0;
	return 0;
}

int view_host_networks(struct store *s, const char *host, json_t *networks)
{
	struct store_query q = { .kind = "port" };
	struct networks_walk w = { host, networks };

	return store_list(s, &q, add_network_of_port, &w);
}

static int add_agent_host(json_t *agent, void *data)
{
	const char *host = str(agent, "host");
	json_t *conf = json_object_get(agent, "configurations");
	const char *ip = str(conf, "underlay_ip");

	/* Gateways are in views as gateway objects, not as hosts. */
	if (json_is_true(json_object_get(conf, "gateway")))
		return 0;
	if (host && ip && host[0] && ip[0])
		return json_object_set_new(data, host, json_string(ip)) < 0 ?
			       -ENOMEM :
			       0;
	return 0;
}

int view_agent_hosts(struct store *s, json_t **ret)
{
	struct store_query q = { .kind = "agent" };
	json_t *hosts = json_object();
	int r;

	if (!hosts)
		return -ENOMEM;
	r = store_list(s, &q, add_agent_host, hosts);
	if (r < 0) {
		json_decref(hosts);
		return r;
	}
	*ret = hosts;
	return 0;
}

struct gateways_walk {
	view_alive_fn alive;
	void *data;
	json_t *out;
};

static int add_gateway(json_t *agent, void *data)
{
	struct gateways_walk *w = data;
	json_t *conf = json_object_get(agent, "configurations");
	json_t *slot = json_object_get(conf, "gateway_slot");
	const char *host = str(agent, "host");
	const char *ip = str(conf, "underlay_ip");
	json_t *obj;

	if (!host || !ip || !json_is_true(json_object_get(conf, "gateway")) ||
	    !json_is_integer(slot))
		return 0;
	obj = view_gateway_object(host, ip, (uint32_t)json_integer_value(slot),
				  w->alive ? w->alive(w->data, host) : false);
	if (obj)
		json_object_set_new(w->out, str(obj, "key"), obj);
	return 0;
}

int view_gateways(struct store *s, view_alive_fn alive, void *data,
		  json_t **ret)
{
	struct store_query q = { .kind = "agent" };
	struct gateways_walk w = { alive, data, json_object() };
	int r;

	if (!w.out)
		return -ENOMEM;
	r = store_list(s, &q, add_gateway, &w);
	if (r < 0) {
		json_decref(w.out);
		return r;
	}
	*ret = w.out;
	return 0;
}

/* The routes of 'list' (host_routes or a router's routes) as a view
 * sends them: destination and nexthop only. A new array. */
static json_t *route_list(json_t *list)
{
	json_t *routes = json_array(), *e;
	size_t i;

	json_array_foreach(list, i, e)
		json_array_append_new(
			routes,
			json_pack("{s:O, s:O}", "destination",
				  json_object_get(e, "destination"), "nexthop",
				  json_object_get(e, "nexthop")));
	return routes;
}

json_t *view_subnet_object(json_t *subnet, json_t *network,
			   const char *dns_domain)
{
	const char *id = str(subnet, "id"), *cidr = str(subnet, "cidr");
	json_t *gw = json_object_get(subnet, "gateway_ip"), *routes;
	char key[64], server[NETADDR_IPV4_STRLEN];
	uint32_t net, first, last;
	int plen;

	if (!id || !cidr || netaddr_parse_cidr4(cidr, true, &net, &plen) < 0)
		return NULL;
	snprintf(key, sizeof(key), "subnet:%s", id);
	/* The DHCP server identifier: the gateway, or when there is none the
	 * highest host address, which the agent answers for. */
	if (json_is_string(gw)) {
		snprintf(server, sizeof(server), "%s", json_string_value(gw));
	} else {
		ipam_host_range(net, plen, &first, &last);
		netaddr_format_ipv4(last, server);
	}
	routes = route_list(json_object_get(subnet, "host_routes"));
	return checked(json_pack(
		"{s:s, s:s, s:s, s:O, s:O, s:s, s:O, s:b, s:O, s:o, s:O, s:s, s:s}",
		"key", key, "kind", "subnet", "id", id, "network_id",
		json_object_get(subnet, "network_id"), "vni",
		json_object_get(network, "provider:segmentation_id"), "cidr",
		cidr, "gateway_ip", json_is_string(gw) ? gw : json_null(),
		"enable_dhcp",
		json_is_true(json_object_get(subnet, "enable_dhcp")),
		"dns_nameservers", json_object_get(subnet, "dns_nameservers"),
		"host_routes", routes, "mtu", json_object_get(network, "mtu"),
		"dns_domain", dns_domain ? dns_domain : VIEW_DEFAULT_DNS_DOMAIN,
		"dhcp_server", server));
}

static bool is_router_interface(json_t *port)
{
	const char *owner = str(port, "device_owner");
	const char *device = str(port, "device_id");

	return owner && device && device[0] &&
	       !strcmp(owner, "network:router_interface");
}

/*
 * The part of a view that one network brings, while a view is built:
 * {"network": OBJ, "ports": {key: OBJ}, "subnets": {key: OBJ},
 *  "routers": {id: true}, "local": bool}, "routers" being the routers
 * with an interface on it.
 */
struct ports_walk {
	const char *host;
	json_int_t vni;
	json_t *part;
	json_t *named; /* host names of bound ports (a set) */
};

static int add_port_to_part(json_t *port, void *data)
{
	struct ports_walk *w = data;
	const char *bound = str(port, "binding:host_id");
	json_t *obj;

	if (is_router_interface(port)) {
		json_object_set_new(json_object_get(w->part, "routers"),
				    str(port, "device_id"), json_true());
		return 0;
	}
	if (!bound || !bound[0])
		return 0;
	obj = view_port_object(port, w->vni);
	if (!obj)
		return 0;
	if (!strcmp(bound, w->host))
		json_object_set_new(w->part, "local", json_true());
	json_object_set_new(w->named, bound, json_true());
	json_object_set_new(json_object_get(w->part, "ports"), str(obj, "key"),
			    obj);
	return 0;
}

struct subnets_walk {
	json_t *network;
	const char *dns_domain;
	json_t *subnets;
};

static int add_subnet_to_part(json_t *subnet, void *data)
{
	struct subnets_walk *w = data;
	json_t *obj = view_subnet_object(subnet, w->network, w->dns_domain);

	if (obj)
		json_object_set_new(w->subnets, str(obj, "key"), obj);
	return 0;
}

/* Builds the part of network 'net_id' into 'ret' (NULL when the network
 * is gone or cannot make a valid object). The host names of its bound
 * ports are added to 'named' only when the part is used: the caller
 * passes a scratch set. */
static int network_part(struct store *s, const char *host, const char *net_id,
			const char *dns_domain, json_t *named, json_t **ret)
{
	struct store_query q = { .kind = "port", .parent_id = net_id };
	struct store_query sq = { .kind = "subnet", .parent_id = net_id };
	json_t *network = store_get(s, "network", net_id);
	json_t *net_obj = network ? view_network_object(network) : NULL;
	struct ports_walk w = { host, 0, NULL, named };
	struct subnets_walk sw = { network, dns_domain, json_object() };
	int r = 0;

	*ret = NULL;
	if (!net_obj) {
		json_decref(network);
		json_decref(sw.subnets);
		return 0;
	}
	w.vni = json_integer_value(json_object_get(net_obj, "vni"));
	w.part = json_pack("{s:o, s:{}, s:o, s:{}, s:b}", "network", net_obj,
			   "ports", "subnets", sw.subnets, "routers", "local",
			   0);
	if (!w.part)
		r = -ENOMEM;
	if (r == 0)
		r = store_list(s, &q, add_port_to_part, &w);
	if (r == 0)
		r = store_list(s, &sq, add_subnet_to_part, &sw);
	json_decref(network);
	if (r < 0) {
		json_decref(w.part);
		return r;
	}
	*ret = w.part;
	return 0;
}

struct router_walk {
	json_t *ports; /* the router's interface ports, in creation order */
	json_t *gateway_port; /* its gateway port (a reference), or NULL */
};

static int add_router_port(json_t *port, void *data)
{
	struct router_walk *w = data;
	const char *owner = str(port, "device_owner");

	if (is_router_interface(port))
		json_array_append(w->ports, port);
	else if (owner && !strcmp(owner, "network:router_gateway") &&
		 !w->gateway_port)
		w->gateway_port = json_incref(port);
	return 0;
}

/* Reads the router 'router_id': sets 'ret' to {"doc": DOC, "ports":
 * [interface ports], "gateway_port": PORT or null}, or to NULL when there
 * is no such router. Returns 0 or a negative errno. */
static int router_entry(struct store *s, const char *router_id, json_t **ret)
{
	struct store_query q = { .kind = "port", .device_id = router_id };
	struct router_walk w = { json_array(), NULL };
	json_t *doc = store_get(s, "router", router_id);
	int r;

	*ret = NULL;
	if (!doc) {
		json_decref(w.ports);
		return 0;
	}
	r = store_list(s, &q, add_router_port, &w);
	*ret = json_pack("{s:o, s:o, s:o}", "doc", doc, "ports", w.ports,
			 "gateway_port",
			 w.gateway_port ? w.gateway_port : json_null());
	if (r == 0 && !*ret)
		r = -ENOMEM;
	return r;
}

/* The external_gateway of a router object: null, or its gateway's
 * network, address, MAC and SNAT flag (docs/gateways.md). */
static json_t *external_gateway(json_t *doc, json_t *gateway_port)
{
	json_t *info = json_object_get(doc, "external_gateway_info");
	json_t *fixed =
		json_array_get(json_object_get(gateway_port, "fixed_ips"), 0);

	if (!json_is_object(info) || !fixed)
		return json_null();
	return json_pack("{s:O, s:O, s:O, s:b}", "network_id",
			 json_object_get(info, "network_id"), "ip",
			 json_object_get(fixed, "ip_address"), "mac",
			 json_object_get(gateway_port, "mac_address"),
			 "enable_snat",
			 !json_is_false(json_object_get(info, "enable_snat")));
}

/* Builds the object of the router of 'entry' (router_entry()) from its
 * interface ports, whose networks' parts are in 'parts'. */
static json_t *router_object(struct store *s, json_t *entry, json_t *parts)
{
	json_t *doc = json_object_get(entry, "doc");
	json_t *ports = json_object_get(entry, "ports");
	const char *id = str(doc, "id");
	json_t *ifaces = json_array(), *port;
	json_t *routes = route_list(json_object_get(doc, "routes"));
	uint32_t key;
	char k[64];
	size_t i;

	if (!id || store_router_key(s, id, &key) < 0) {
		json_decref(ifaces);
		json_decref(routes);
		return NULL;
	}
	json_array_foreach(ports, i, port) {
		json_t *fixed =
			json_array_get(json_object_get(port, "fixed_ips"), 0);
		json_t *net = json_object_get(
			json_object_get(parts, str(port, "network_id")),
			"network");
		json_t *subnet;
		uint32_t addr;
		int plen;

		if (!fixed || !net)
			continue;
		snprintf(k, sizeof(k), "subnet:%s", str(fixed, "subnet_id"));
		subnet = json_object_get(
			json_object_get(
				json_object_get(parts, str(port, "network_id")),
				"subnets"),
			k);
		if (!subnet || netaddr_parse_cidr4(str(subnet, "cidr"), true,
						   &addr, &plen) < 0)
			continue;
		json_array_append_new(
			ifaces,
			json_pack("{s:O, s:O, s:O, s:O, s:O, s:i, s:O}",
				  "port_id", json_object_get(port, "id"),
				  "subnet_id",
				  json_object_get(fixed, "subnet_id"),
				  "network_id",
				  json_object_get(port, "network_id"), "vni",
				  json_object_get(net, "vni"), "ip",
				  json_object_get(fixed, "ip_address"),
				  "prefixlen", plen, "mac",
				  json_object_get(port, "mac_address")));
	}
	snprintf(k, sizeof(k), "router:%s", id);
	return checked(json_pack(
		"{s:s, s:s, s:s, s:I, s:b, s:o, s:o, s:o}", "key", k, "kind",
		"router", "id", id, "router_key", (json_int_t)key,
		"admin_state_up",
		json_is_true(json_object_get(doc, "admin_state_up")),
		"interfaces", ifaces, "routes", routes, "external_gateway",
		external_gateway(doc, json_object_get(entry, "gateway_port"))));
}

/* The rule object of an IPv4 rule; NULL for others. */
static json_t *secgroup_rule(json_t *rule)
{
	json_t *cidr = json_object_get(rule, "normalized_cidr");
	json_t *remote = json_object_get(rule, "remote_group_id");
	json_t *min = json_object_get(rule, "port_range_min");
	json_t *max = json_object_get(rule, "port_range_max");
	int proto;

	if (!str(rule, "ethertype") || strcmp(str(rule, "ethertype"), "IPv4") ||
	    secgroup_protocol(json_object_get(rule, "protocol"), &proto) < 0)
		return NULL;
	return json_pack(
		"{s:O, s:O, s:o, s:O, s:O, s:O, s:O}", "id",
		json_object_get(rule, "id"), "direction",
		json_object_get(rule, "direction"), "protocol",
		proto == SECGROUP_PROTOCOL_ANY ? json_null() :
						 json_integer(proto),
		"port_range_min", min ? min : json_null(), "port_range_max",
		max ? max : json_null(), "remote_ip_prefix",
		json_is_string(cidr) ? cidr : json_null(), "remote_group_id",
		json_is_string(remote) ? remote : json_null());
}

static int add_rule_object(json_t *rule, void *data)
{
	json_t *obj = secgroup_rule(rule);

	if (obj)
		json_array_append_new(data, obj);
	return 0;
}

/* Adds to the set 'members' the IPv4 addresses port 'port_id' gives
 * group 'group_id': its fixed IPs and its address pairs. */
static void add_members(struct store *s, const char *port_id,
			const char *group_id, json_t *members)
{
	json_t *port = store_get(s, "port", port_id), *groups, *g, *e;
	bool has = false;
	size_t i;

	groups = port_groups(port);
	json_array_foreach(groups, i, g)
		has = has || !strcmp(json_string_value(g), group_id);
	json_decref(groups);
	if (!has) {
		json_decref(port);
		return;
	}
	json_array_foreach(json_object_get(port, "fixed_ips"), i, e) {
		const char *ip = str(e, "ip_address");
		uint32_t a;

		if (ip && netaddr_parse_ipv4(ip, &a) == 0)
			json_object_set_new(members, ip, json_true());
	}
	json_array_foreach(json_object_get(port, "allowed_address_pairs"), i,
			   e) {
		const char *ip = str(e, "ip_address");
		uint32_t a;
		int plen;

		if (ip && (netaddr_parse_ipv4(ip, &a) == 0 ||
			   netaddr_parse_cidr4(ip, false, &a, &plen) == 0))
			json_object_set_new(members, ip, json_true());
	}
	json_decref(port);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of the set 'set' as a sorted array (a new reference). */
static json_t *sorted_keys(json_t *set)
{
	size_t n = json_object_size(set), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	json_t *list = json_array(), *v;
	const char *key;

	if (!keys || !list) {
		free(keys);
		json_decref(list);
		return NULL;
	}
	json_object_foreach(set, key, v)
		keys[i++] = key;
	qsort(keys, n, sizeof(*keys), compare_strings);
	for (i = 0; i < n; i++)
		json_array_append_new(list, json_string(keys[i]));
	free(keys);
	return list;
}

json_t *view_secgroup_object(struct store *s, const char *id)
{
	struct store_query q = { .kind = "security_group_rule",
				 .parent_id = id };
	json_t *group = store_get(s, "security_group", id);
	json_t *rules = json_array(), *members = json_object(), *ports = NULL;
	json_t *p, *obj = NULL;
	char key[64];
	size_t i;

	if (!group || !rules || !members ||
	    store_list(s, &q, add_rule_object, rules) < 0 ||
	    store_sg_ports(s, id, &ports) < 0)
		goto out;
	json_array_foreach(ports, i, p)
		add_members(s, json_string_value(p), id, members);
	snprintf(key, sizeof(key), "secgroup:%s", id);
	obj = checked(json_pack("{s:s, s:s, s:s, s:O, s:o}", "key", key, "kind",
				"secgroup", "id", id, "rules", rules, "members",
				sorted_keys(members)));
out:
	json_decref(group);
	json_decref(rules);
	json_decref(members);
	json_decref(ports);
	return obj;
}

/* Adds to 'view' the security groups of the ports bound to 'host', and the
 * groups their rules name as remote groups. */
/* The object of group 'id', from 'cache' (may be NULL) or computed (and
 * then cached). A new reference, or NULL. */
static json_t *secgroup_object(struct store *s, const char *id, json_t *cache)
{
	json_t *obj = cache ? json_object_get(cache, id) : NULL;

	if (obj)
		return json_incref(obj);
	obj = view_secgroup_object(s, id);
	if (obj && cache)
		json_object_set(cache, id, obj);
	return obj;
}

static void add_secgroups(struct store *s, const char *host, json_t *view,
			  json_t *cache)
{
	json_t *wanted = json_object(), *v, *g, *obj;
	const char *key, *id;
	size_t i;

	json_object_foreach(view, key, v)
		if (!strcmp(str(v, "kind"), "port") &&
		    !strcmp(str(v, "host"), host))
			json_array_foreach(
				json_object_get(v, "security_groups"), i, g)
				json_object_set(wanted, json_string_value(g),
						g);
	json_object_foreach(wanted, id, v) {
		char k[64];

		obj = secgroup_object(s, id, cache);
		if (!obj)
			continue;
		json_array_foreach(json_object_get(obj, "rules"), i, g) {
			const char *remote = str(g, "remote_group_id");

			snprintf(k, sizeof(k), "secgroup:%s",
				 remote ? remote : "");
			if (remote && !json_object_get(view, k) &&
			    !json_object_get(wanted, remote)) {
				json_t *other =
					secgroup_object(s, remote, cache);

				if (other)
					json_object_set_new(view, k, other);
			}
		}
		json_object_set_new(view, str(obj, "key"), obj);
	}
	json_decref(wanted);
}

/* A view while it is built: the parts of the networks taken (id -> part),
 * those still to close over (a queue of ids), the routers met (id ->
 * router_entry() or null) and scratch host names. */
struct view_build {
	struct store *s;
	const char *host;
	const char *dns_domain;
	json_t *parts, *queue, *routers, *named;
};

static int build_init(struct view_build *b, struct store *s, const char *host,
		      const char *dns_domain)
{
	*b = (struct view_build){ s,
				  host,
				  dns_domain,
				  json_object(),
				  json_array(),
				  json_object(),
				  json_object() };
	return b->parts && b->queue && b->routers && b->named ? 0 : -ENOMEM;
}

static void build_destroy(struct view_build *b)
{
	json_decref(b->parts);
	json_decref(b->queue);
	json_decref(b->routers);
	json_decref(b->named);
}

/* Takes the part of network 'net_id' into the view and queues it, unless
 * it is there already or gone. */
static int take_network(struct view_build *b, const char *net_id)
{
	json_t *p;
	int r;

	if (!net_id || json_object_get(b->parts, net_id))
		return 0;
	r = network_part(b->s, b->host, net_id, b->dns_domain, b->named, &p);
	if (r < 0 || !p)
		return r;
	json_object_set_new(b->parts, net_id, p);
	return json_array_append_new(b->queue, json_string(net_id)) < 0 ?
		       -ENOMEM :
		       0;
}

/* Takes router 'router_id' (already read as 'entry', or NULL to read it)
 * and the networks of its interfaces. */
static int take_router(struct view_build *b, const char *router_id,
		       json_t *entry)
{
	json_t *port;
	size_t j;
	int r = 0;

	if (json_object_get(b->routers, router_id))
		return 0;
	if (entry)
		json_incref(entry);
	else if ((r = router_entry(b->s, router_id, &entry)) < 0)
		return r;
	/* A dangling interface (no router) is remembered as null. */
	json_object_set_new(b->routers, router_id, entry ? entry : json_null());
	json_array_foreach(json_object_get(entry, "ports"), j, port)
		if ((r = take_network(b, str(port, "network_id"))) < 0)
			return r;
	return 0;
}

/* Closes the view under routing: the routers on its networks, and the
 * networks of those routers, until nothing is added. */
static int build_close(struct view_build *b)
{
	const char *router_id;
	json_t *part, *v;
	int r;

	for (size_t i = 0; i < json_array_size(b->queue); i++) {
		part = json_object_get(
			b->parts,
			json_string_value(json_array_get(b->queue, i)));
		json_object_foreach(json_object_get(part, "routers"), router_id,
				    v)
			if ((r = take_router(b, router_id, NULL)) < 0)
				return r;
	}
	return 0;
}

/* Writes the networks, subnets, ports and routers taken into 'view'. */
static void build_objects(struct view_build *b, json_t *view)
{
	const char *net_id, *name;
	json_t *part, *v;

	json_object_foreach(b->parts, net_id, part) {
		json_t *net_obj = json_object_get(part, "network");

		json_object_set(view, str(net_obj, "key"), net_obj);
		json_object_update(view, json_object_get(part, "ports"));
		json_object_update(view, json_object_get(part, "subnets"));
	}
	json_object_foreach(b->routers, name, v) {
		json_t *obj;

		if (json_is_null(v))
			continue;
		obj = router_object(b->s, v, b->parts);
		if (obj)
			json_object_set_new(view, str(obj, "key"), obj);
	}
}

/* Adds to 'view' the host object of every host named by its ports. */
static void add_port_hosts(json_t *view, json_t *hosts)
{
	json_t *named = json_object(), *v;
	const char *name;

	json_object_foreach(view, name, v)
		if (!strcmp(str(v, "kind"), "port"))
			json_object_set_new(named, str(v, "host"), json_true());
	json_object_foreach(named, name, v) {
		const char *ip = str(hosts, name);
		json_t *obj = ip ? view_host_object(name, ip) : NULL;

		if (obj)
			json_object_set_new(view, str(obj, "key"), obj);
	}
	json_decref(named);
}

int view_compute(struct store *s, const char *host, json_t *networks,
		 json_t *hosts, json_t *gateways, json_t *secgroups,
		 const char *dns_domain, json_t **ret)
{
	json_t *view = json_object(), *gone = json_array();
	struct view_build b;
	const char *net_id;
	json_t *v, *part;
	void *tmp;
	size_t i;
	int r = build_init(&b, s, host, dns_domain);

	if (r == 0 && (!view || !gone))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	/* The networks with a port bound to 'host' start the closure. */
	json_object_foreach_safe(networks, tmp, net_id, v) {
		r = network_part(s, host, net_id, dns_domain, b.named, &part);
		if (r < 0)
			goto out;
		if (part && json_is_true(json_object_get(part, "local"))) {
			json_object_set_new(b.parts, net_id, part);
			json_array_append_new(b.queue, json_string(net_id));
		} else {
			json_decref(part);
			json_array_append_new(gone, json_string(net_id));
		}
	}
	json_array_foreach(gone, i, v)
		json_object_del(networks, json_string_value(v));
	r = build_close(&b);
	if (r < 0)
		goto out;
	build_objects(&b, view);
	add_secgroups(s, host, view, secgroups);
	add_port_hosts(view, hosts);
	if (gateways)
		json_object_update(view, gateways);
out:
	build_destroy(&b);
	json_decref(gone);
	if (r < 0) {
		json_decref(view);
		return r;
	}
	*ret = view;
	return 0;
}

json_t *view_floatingip_object(struct store *s, json_t *fip)
{
	const char *id = str(fip, "id"), *port_id = str(fip, "port_id");
	const char *router_id = str(fip, "router_id");
	json_t *port = port_id ? store_get(s, "port", port_id) : NULL;
	json_t *net =
		port ? store_get(s, "network", str(port, "network_id")) : NULL;
	json_t *vni = json_object_get(net, "provider:segmentation_id");
	json_t *fixed = json_object_get(fip, "fixed_ip_address");
	json_t *key_v = json_null(), *obj;
	uint32_t key;
	char k[64];

	if (!id) {
		json_decref(port);
		json_decref(net);
		json_decref(key_v);
		return NULL;
	}
	if (router_id && store_router_key(s, router_id, &key) == 0)
		key_v = json_integer(key);
	/* Associated only when the port, its VNI and the router are all
	 * there; otherwise the gateways see it unassociated. */
	if (!json_is_integer(vni) || json_is_null(key_v) ||
	    !json_is_string(fixed)) {
		json_decref(key_v);
		key_v = json_null();
		vni = json_null();
		fixed = json_null();
	}
	snprintf(k, sizeof(k), "floatingip:%s", id);
	obj = checked(json_pack(
		"{s:s, s:s, s:s, s:O, s:o, s:O, s:O}", "key", k, "kind",
		"floatingip", "id", id, "floating_ip_address",
		json_object_get(fip, "floating_ip_address"), "router_key",
		key_v, "vni", vni, "fixed_ip_address", fixed));
	json_decref(port);
	json_decref(net);
	return obj;
}

/* The walks of view_compute_gateway(): routers with an external gateway
 * are taken with their closure; floating IPs become objects. */
static int take_gateway_router(json_t *router, void *data)
{
	struct view_build *b = data;
	const char *id = str(router, "id");
	json_t *entry;
	int r;

	if (!id ||
	    !json_is_object(json_object_get(router, "external_gateway_info")))
		return 0;
	r = router_entry(b->s, id, &entry);
	if (r < 0 || !entry)
		return r;
	r = take_router(b, id, entry);
	json_decref(entry);
	return r;
}

struct fips_walk {
	struct store *s;
	json_t *view;
};

static int add_floatingip(json_t *fip, void *data)
{
	struct fips_walk *w = data;
	json_t *obj = view_floatingip_object(w->s, fip);

	if (obj)
		json_object_set_new(w->view, str(obj, "key"), obj);
	return 0;
}

int view_compute_gateway(struct store *s, const char *host, json_t *hosts,
			 json_t *gateways, const char *dns_domain, json_t **ret)
{
	struct store_query rq = { .kind = "router" };
	struct store_query fq = { .kind = "floatingip" };
	json_t *view = json_object(), *v;
	struct fips_walk fw = { s, view };
	struct view_build b;
	const char *name;
	int r = build_init(&b, s, host, dns_domain);

	if (r == 0 && !view)
		r = -ENOMEM;
	if (r == 0)
		r = store_list(s, &rq, take_gateway_router, &b);
	if (r == 0)
		r = build_close(&b);
	if (r == 0)
		r = store_list(s, &fq, add_floatingip, &fw);
	if (r < 0) {
		build_destroy(&b);
		json_decref(view);
		return r;
	}
	build_objects(&b, view);
	/* Every hypervisor with an agent: the gateway tunnels to any. */
	json_object_foreach(hosts, name, v) {
		char key[300];
		json_t *obj;

		snprintf(key, sizeof(key), "gateway:%s", name);
		if (json_object_get(gateways, key))
			continue;
		obj = view_host_object(name, json_string_value(v));
		if (obj)
			json_object_set_new(view, str(obj, "key"), obj);
	}
	if (gateways)
		json_object_update(view, gateways);
	build_destroy(&b);
	*ret = view;
	return 0;
}

int view_diff(json_t *old, json_t *new, json_t **upsert, json_t **deletes)
{
	json_t *up = json_array(), *del = json_array(), *obj;
	const char *key;

	if (!up || !del) {
		json_decref(up);
		json_decref(del);
		return -ENOMEM;
	}
	json_object_foreach(new, key, obj)
		if (!json_equal(obj, json_object_get(old, key)))
			json_array_append(up, obj);
	json_object_foreach(old, key, obj)
		if (!json_object_get(new, key))
			json_array_append_new(del, json_string(key));
	*upsert = up;
	*deletes = del;
	return 0;
}

json_t *view_objects(json_t *view)
{
	json_t *list = json_array(), *obj;
	const char *key;

	json_object_foreach(view, key, obj)
		json_array_append(list, obj);
	return list;
}
