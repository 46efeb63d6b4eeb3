/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "netaddr.h"

/*
 * Routers (docs/routing.md): Neutron's L3 router with the extraroute and
 * extraroute-atomic extensions. Every weft router is distributed: it is
 * not a box anywhere, each host routes for the VMs it serves.
 *
 * A router's interfaces are ports of the networks it joins, with
 * device_owner "network:router_interface" and device_id the router. They
 * are found through the store's device index, so nothing about them is
 * kept in the router's document (Neutron's RouterPort table is that index
 * here). The ports' API refuses to create such a port or to change or
 * delete one (L3PortInUse); only the actions below do, through the same
 * code that ports use (MAC and IP claims), so that uniqueness holds.
 */

#define MAX_ROUTES 30

static const struct api_attr router_attrs[] = {
	{ "name", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "admin_state_up", API_T_BOOL, API_POST | API_PUT, "true", 0 },
	{ "status", API_T_STRING, 0, "\"ACTIVE\"", 0 },
	{ "external_gateway_info", API_T_DICT,
	  API_POST | API_PUT | API_NULLABLE, "null", 0 },
	{ "routes", API_T_LIST, API_PUT, "[]", 0 },
	{ "distributed", API_T_BOOL, API_POST | API_ADMIN, "true", 0 },
	{ "ha", API_T_BOOL, API_POST | API_ADMIN, "false", 0 },
	{ "flavor_id", API_T_STRING, API_POST | API_NULLABLE, "null", 36 },
	{ "availability_zone_hints", API_T_LIST, API_POST, "[]", 0 },
	{ "availability_zones", API_T_LIST, 0, "[]", 0 },
	{ NULL },
};

/* One interface of a router: its port and the subnet of its address. */
struct router_iface {
	json_t *port; /* owned */
	const char *port_id, *subnet_id, *network_id, *cidr;
	uint32_t ip, net;
	int prefix;
};

struct router_ifaces {
	size_t n, cap;
	struct router_iface *v;
};

static void ifaces_destroy(struct router_ifaces *ifs)
{
	for (size_t i = 0; i < ifs->n; i++)
		json_decref(ifs->v[i].port);
	free(ifs->v);
	*ifs = (struct router_ifaces){ 0 };
}

struct ifaces_walk {
	struct store *store;
	struct router_ifaces *ifs;
};

static int add_iface(json_t *port, void *data)
{
	struct ifaces_walk *w = data;
	struct router_ifaces *ifs = w->ifs;
	json_t *fixed = json_array_get(json_object_get(port, "fixed_ips"), 0);
	const char *owner = api_str(port, "device_owner");
	struct router_iface *it;
	json_t *subnet;

	if (!owner || strcmp(owner, API_ROUTER_INTERFACE_OWNER) || !fixed)
		return 0;
	if (ifs->n == ifs->cap) {
		size_t cap = ifs->cap ? 2 * ifs->cap : 8;
		struct router_iface *v = realloc(ifs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ifs->v = v;
		ifs->cap = cap;
	}
	subnet = store_get(w->store, "subnet", api_str(fixed, "subnet_id"));
	if (!subnet)
		return 0;
	it = &ifs->v[ifs->n];
	*it = (struct router_iface){
		.port = json_pack("{s:O, s:o}", "port", port, "subnet", subnet)
	};
	if (!it->port)
		return -ENOMEM;
	port = json_object_get(it->port, "port");
	subnet = json_object_get(it->port, "subnet");
	fixed = json_array_get(json_object_get(port, "fixed_ips"), 0);
	it->port_id = api_str(port, "id");
	it->subnet_id = api_str(fixed, "subnet_id");
	it->network_id = api_str(port, "network_id");
	it->cidr = api_str(subnet, "cidr");
	if (netaddr_parse_ipv4(api_str(fixed, "ip_address"), &it->ip) < 0 ||
	    netaddr_parse_cidr4(it->cidr, true, &it->net, &it->prefix) < 0) {
		json_decref(it->port);
		return 0;
	}
	ifs->n++;
	return 0;
}

/* Loads the interfaces of router 'router_id' (one index lookup). */
static int load_ifaces(struct api_ctx *ctx, const char *router_id,
		       struct router_ifaces *ifs)
{
	struct store_query q = { .kind = "port", .device_id = router_id };
	struct ifaces_walk w = { ctx->store, ifs };

	*ifs = (struct router_ifaces){ 0 };
	if (store_list(ctx->store, &q, add_iface, &w) < 0) {
		ifaces_destroy(ifs);
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to read the router's ports");
	}
	return 0;
}

static int bad_router(struct api_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Neutron's BadRequest for a router: "Bad router request: MSG." */
static int bad_router(struct api_ctx *ctx, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_fail(&ctx->err, 400, "BadRequest", "Bad router request: %s.",
			msg);
}

static int store_failed(struct api_ctx *ctx)
{
	return api_fail(&ctx->err, 500, "HTTPInternalServerError",
			"The store failed");
}

static int bad_route(struct api_ctx *ctx, const char *reason, const char *a,
		     const char *b)
{
	char msg[300];

	snprintf(msg, sizeof(msg), reason, a, b ? b : "");
	return api_fail(&ctx->err, 400, "InvalidInput",
			"Invalid input for routes. Reason: %s", msg);
}

static int invalid_routes(struct api_ctx *ctx, json_t *route,
			  const char *reason)
{
	char *text = json_dumps(route, JSON_COMPACT | JSON_SORT_KEYS);
	int r = api_fail(&ctx->err, 400, "InvalidRoutes",
			 "Invalid format for routes: [%s], %s",
			 text ? text : "?", reason);

	free(text);
	return r;
}

/*
 * Checks the shape of a list of routes: each {"destination": CIDR (host
 * bits zero), "nexthop": IPv4}, no duplicates. With 'ifs', also that each
 * nexthop lies in a subnet the router is connected to and is not one of
 * the router's own addresses.
 */
static int check_routes(struct api_ctx *ctx, json_t *routes,
			const struct router_ifaces *ifs)
{
	json_t *v;
	size_t i, j;

	if (!json_is_array(routes))
		return bad_route(ctx, "'%s' is not a list.%s", "routes", NULL);
	if (ifs && json_array_size(routes) > MAX_ROUTES)
		return api_fail(
			&ctx->err, 400, "RoutesExhausted",
			"Unable to complete operation for the router. The number of routes exceeds the maximum %d.",
			MAX_ROUTES);
	json_array_foreach(routes, i, v) {
		const char *dest = api_str(v, "destination");
		const char *hop = api_str(v, "nexthop");
		uint32_t net, ip;
		int plen;
		bool connected = false;

		if (!json_is_object(v) || json_object_size(v) != 2 || !dest ||
		    !hop)
			return bad_route(
				ctx,
				"Invalid data format for hostroute: each route is {\"destination\": CIDR, \"nexthop\": IP}.%s",
				"", NULL);
		if (netaddr_parse_cidr4(dest, false, &net, &plen) < 0)
			return bad_route(ctx,
					 "'%s' is not a valid IP subnet.%s",
					 dest, NULL);
		if (net & ~netaddr_mask(plen)) {
			char buf[NETADDR_IPV4_STRLEN], suggestion[32];

			netaddr_format_ipv4(net & netaddr_mask(plen), buf);
			snprintf(suggestion, sizeof(suggestion), "%s/%d", buf,
				 plen);
			return bad_route(
				ctx,
				"'%s' isn't a recognized IP subnet cidr, '%s' is recommended.",
				dest, suggestion);
		}
		if (netaddr_parse_ipv4(hop, &ip) < 0)
			return bad_route(ctx,
					 "'%s' is not a valid IP address.%s",
					 hop, NULL);
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(routes, j)))
				return bad_route(ctx,
						 "Duplicate hostroute '%s'.%s",
						 dest, NULL);
		if (!ifs)
			continue;
		for (j = 0; j < ifs->n; j++) {
			if (ifs->v[j].ip == ip)
				return invalid_routes(
					ctx, v,
					"the nexthop is used by router");
			if (netaddr_in_prefix(ip, ifs->v[j].net,
					      ifs->v[j].prefix))
				connected = true;
		}
		if (!connected)
			return invalid_routes(
				ctx, v,
				"the nexthop is not connected with router");
	}
	return 0;
}

static int bad_gateway_info(struct api_ctx *ctx, const char *reason)
{
	return api_fail(&ctx->err, 400, "InvalidInput",
			"Invalid input for external_gateway_info. Reason: %s",
			reason);
}

/* Checks the shape of an external_gateway_info object: network_id (a
 * string), enable_snat (a boolean), external_fixed_ips (a list of
 * {subnet_id, ip_address}), nothing else. */
static int check_gateway_shape(struct api_ctx *ctx, json_t *info)
{
	json_t *ips = json_object_get(info, "external_fixed_ips"), *v, *e;
	const char *key, *k;
	size_t i;

	json_object_foreach(info, key, v)
		if (strcmp(key, "network_id") && strcmp(key, "enable_snat") &&
		    strcmp(key, "external_fixed_ips"))
			return bad_gateway_info(ctx, "unexpected key.");
	if (!api_str(info, "network_id"))
		return bad_gateway_info(ctx, "network_id is required.");
	v = json_object_get(info, "enable_snat");
	if (v && !json_is_boolean(v))
		return bad_gateway_info(ctx, "enable_snat is not a boolean.");
	if (ips && !json_is_array(ips))
		return bad_gateway_info(ctx,
					"external_fixed_ips is not a list.");
	json_array_foreach(ips, i, e) {
		if (!json_is_object(e) || !json_object_size(e))
			return bad_gateway_info(
				ctx,
				"each external fixed IP is {\"subnet_id\", \"ip_address\"}.");
		json_object_foreach(e, k, v)
			if ((strcmp(k, "subnet_id") &&
			     strcmp(k, "ip_address")) ||
			    !json_is_string(v))
				return bad_gateway_info(
					ctx,
					"each external fixed IP is {\"subnet_id\", \"ip_address\"} of strings.");
	}
	return 0;
}

static int invalid_ip_for_subnet(struct api_ctx *ctx, const char *ip,
				 const char *subnet_id)
{
	return api_fail(
		&ctx->err, 400, "InvalidIpForSubnet",
		"IP address %s is not a valid IP for the specified subnet %s.",
		ip, subnet_id ? subnet_id : "of the external network");
}

struct subnet_search {
	uint32_t ip;
	bool found;
};

static int subnet_holds_ip(json_t *subnet, void *data)
{
	struct subnet_search *w = data;
	uint32_t net;
	int plen;

	if (netaddr_parse_cidr4(api_str(subnet, "cidr"), true, &net, &plen) ==
		    0 &&
	    netaddr_in_prefix(w->ip, net, plen))
		w->found = true;
	return w->found;
}

/* Checks that each requested external address lies in its subnet (or,
 * without one, in a subnet of network 'net_id'): InvalidIpForSubnet. */
static int check_external_ips(struct api_ctx *ctx, const char *net_id,
			      json_t *ips)
{
	struct store_query q = { .kind = "subnet", .parent_id = net_id };
	json_t *e;
	size_t i;

	json_array_foreach(ips, i, e) {
		const char *addr = api_str(e, "ip_address");
		const char *subnet_id = api_str(e, "subnet_id");
		struct subnet_search w = { 0, false };
		json_t *subnet;

		if (!addr)
			continue;
		if (netaddr_parse_ipv4(addr, &w.ip) < 0)
			return invalid_ip_for_subnet(ctx, addr, subnet_id);
		if (!subnet_id) {
			if (store_list(ctx->store, &q, subnet_holds_ip, &w) < 0)
				return store_failed(ctx);
		} else {
			subnet = store_get(ctx->store, "subnet", subnet_id);
			if (subnet &&
			    !strcmp(api_str(subnet, "network_id"), net_id))
				subnet_holds_ip(subnet, &w);
			json_decref(subnet);
		}
		if (!w.found)
			return invalid_ip_for_subnet(ctx, addr, subnet_id);
	}
	return 0;
}

/* Creates the gateway port of 'router' on the network of 'info' and
 * completes 'info' with enable_snat and the port's addresses. */
static int create_gateway_port(struct api_ctx *ctx, json_t *router,
			       json_t *info)
{
	const char *net_id = api_str(info, "network_id");
	json_t *ips = json_object_get(info, "external_fixed_ips");
	json_t *network = api_find(ctx, &api_networks, net_id);
	json_t *in = NULL, *port = NULL, *fixed, *e;
	size_t i;
	int r = -1;

	if (!network)
		return -1;
	if (!api_bool(network, "router:external")) {
		bad_router(ctx, "Network %s is not an external network",
			   net_id);
		goto out;
	}
	if (check_external_ips(ctx, net_id, ips) < 0)
		goto out;
	in = json_pack("{s:s, s:s, s:O, s:s, s:b, s:O}", "network_id", net_id,
		       "device_owner", API_ROUTER_GATEWAY_OWNER, "device_id",
		       json_object_get(router, "id"), "name", "",
		       "admin_state_up", 1, "project_id",
		       json_object_get(router, "project_id"));
	if (json_array_size(ips))
		json_object_set(in, "fixed_ips", ips);
	ctx->l3_internal = true;
	r = api_create(ctx, &api_ports, in, &port);
	ctx->l3_internal = false;
	if (r < 0)
		goto out;
	fixed = json_array();
	json_array_foreach(json_object_get(port, "fixed_ips"), i, e)
		json_array_append_new(
			fixed,
			json_pack("{s:O, s:O}", "subnet_id",
				  json_object_get(e, "subnet_id"), "ip_address",
				  json_object_get(e, "ip_address")));
	json_object_set_new(info, "external_fixed_ips", fixed);
out:
	json_decref(in);
	json_decref(port);
	json_decref(network);
	return r;
}

/* Refuses to remove or move the gateway of a router that floating IPs
 * use. */
static int check_gateway_unused(struct api_ctx *ctx, json_t *router)
{
	int64_t n;

	if (api_fip_router_users(ctx, api_str(router, "id"), 0, -1, &n) < 0)
		return -1;
	if (n)
		return api_fail(
			&ctx->err, 409,
			"RouterExternalGatewayInUseByFloatingIp",
			"Gateway cannot be updated for router %s, since a gateway to external network %s is required by one or more floating IPs.",
			api_str(router, "id"),
			api_str(json_object_get(router,
						"external_gateway_info"),
				"network_id"));
	return 0;
}

/*
 * Applies the external_gateway_info of 'obj' (the router as it will be)
 * given the stored router 'old' (NULL on create): creates, keeps, moves or
 * deletes the gateway port, and stores the info completed (enable_snat
 * defaults to true; external_fixed_ips are the port's).
 */
static int set_gateway(struct api_ctx *ctx, json_t *old, json_t *obj)
{
	json_t *info = json_object_get(obj, "external_gateway_info");
	json_t *was =
		old ? json_object_get(old, "external_gateway_info") : NULL;
	json_t *ips;
	bool keep;

	if (!json_is_null(info) && !json_is_object(info))
		return bad_gateway_info(ctx, "it is not a dictionary.");
	/* An empty dictionary clears the gateway (as in Neutron). */
	if (json_is_object(info) && !json_object_size(info)) {
		json_object_set_new(obj, "external_gateway_info", json_null());
		info = json_object_get(obj, "external_gateway_info");
	}
	if (json_is_object(info) && check_gateway_shape(ctx, info) < 0)
		return -1;
	if (!json_is_object(info) && !json_is_object(was))
		return 0;
	if (json_is_object(info) && !json_object_get(info, "enable_snat"))
		json_object_set_new(info, "enable_snat", json_true());
	ips = json_object_get(info, "external_fixed_ips");
	keep = json_is_object(was) && json_is_object(info) &&
	       !strcmp(api_str(was, "network_id"),
		       api_str(info, "network_id")) &&
	       (!ips ||
		json_equal(ips, json_object_get(was, "external_fixed_ips")));
	if (keep) {
		json_object_set(info, "external_fixed_ips",
				json_object_get(was, "external_fixed_ips"));
		return 0;
	}
	if (json_is_object(was)) {
		if ((!json_is_object(info) ||
		     strcmp(api_str(was, "network_id"),
			    api_str(info, "network_id"))) &&
		    check_gateway_unused(ctx, old) < 0)
			return -1;
		if (api_l3_port_remove(ctx, api_str(obj, "id"),
				       API_ROUTER_GATEWAY_OWNER) < 0)
			return -1;
	}
	if (!json_is_object(info))
		return 0;
	return create_gateway_port(ctx, obj, info);
}

static int router_create(struct api_ctx *ctx, json_t *obj)
{
	uint32_t key;
	int r;

	if (!api_bool(obj, "distributed"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for distributed. Reason: every weft router is distributed.");
	if (api_bool(obj, "ha"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for ha. Reason: weft routers are distributed; there is no HA router.");
	r = store_router_key_allocate(ctx->store, api_str(obj, "id"), &key);
	if (r == -ENOSPC)
		return api_fail(&ctx->err, 503, "RouterKeyExhausted",
				"No routing key is left for a new router.");
	if (r < 0)
		return store_failed(ctx);
	return set_gateway(ctx, NULL, obj);
}

static int router_update(struct api_ctx *ctx, json_t *old, json_t *obj,
			 json_t *changes)
{
	struct router_ifaces ifs;
	int r;

	if (json_object_get(changes, "external_gateway_info") &&
	    set_gateway(ctx, old, obj) < 0)
		return -1;
	if (!json_object_get(changes, "routes"))
		return 0;
	if (load_ifaces(ctx, api_str(obj, "id"), &ifs) < 0)
		return -1;
	r = check_routes(ctx, json_object_get(obj, "routes"), &ifs);
	ifaces_destroy(&ifs);
	return r;
}

static int router_remove(struct api_ctx *ctx, json_t *obj)
{
	struct router_ifaces ifs;
	size_t n;

	if (load_ifaces(ctx, api_str(obj, "id"), &ifs) < 0)
		return -1;
	n = ifs.n;
	ifaces_destroy(&ifs);
	if (n)
		return api_fail(&ctx->err, 409, "RouterInUse",
				"Router %s still has ports",
				api_str(obj, "id"));
	if (json_is_object(json_object_get(obj, "external_gateway_info")) &&
	    (check_gateway_unused(ctx, obj) < 0 ||
	     api_l3_port_remove(ctx, api_str(obj, "id"),
				API_ROUTER_GATEWAY_OWNER) < 0))
		return -1;
	if (store_router_key_release(ctx->store, api_str(obj, "id")) < 0)
		return store_failed(ctx);
	return 0;
}

/* The answer of add_router_interface and remove_router_interface. */
static json_t *interface_info(json_t *router, json_t *port,
			      const char *subnet_id)
{
	return json_pack("{s:O, s:O, s:O, s:O, s:s, s:[s], s:O}", "id",
			 json_object_get(router, "id"), "tenant_id",
			 json_object_get(router, "project_id"), "project_id",
			 json_object_get(router, "project_id"), "port_id",
			 json_object_get(port, "id"), "subnet_id", subnet_id,
			 "subnet_ids", subnet_id, "network_id",
			 json_object_get(port, "network_id"));
}

/* Checks that the router may take an interface on 'subnet': not on an
 * external network (that is what its gateway is for), not twice on a
 * subnet, not on overlapping ones. */
static int check_new_iface(struct api_ctx *ctx, const struct router_ifaces *ifs,
			   json_t *subnet)
{
	const char *id = api_str(subnet, "id"), *cidr = api_str(subnet, "cidr");
	json_t *network =
		store_get(ctx->store, "network", api_str(subnet, "network_id"));
	bool external = api_bool(network, "router:external");
	uint32_t net;
	int prefix;

	json_decref(network);
	if (external)
		return bad_router(
			ctx,
			"Subnet %s is on external network %s: a router joins an external network with external_gateway_info, not with an interface",
			id, api_str(subnet, "network_id"));
	if (netaddr_parse_cidr4(cidr, true, &net, &prefix) < 0)
		return store_failed(ctx);
	for (size_t i = 0; i < ifs->n; i++) {
		const struct router_iface *it = &ifs->v[i];

		if (!strcmp(it->subnet_id, id))
			return bad_router(
				ctx, "Router already has a port on subnet %s",
				id);
		if (netaddr_prefixes_overlap(net, prefix, it->net, it->prefix))
			return bad_router(
				ctx,
				"Cidr %s of subnet %s overlaps with cidr %s of subnet %s",
				cidr, id, it->cidr, it->subnet_id);
	}
	return 0;
}

/* add_router_interface by subnet: a new port holding the gateway IP. */
static int add_by_subnet(struct api_ctx *ctx, json_t *router,
			 const struct router_ifaces *ifs, const char *subnet_id,
			 json_t **ret_port)
{
	json_t *subnet = api_find(ctx, &api_subnets, subnet_id), *in;
	int r = -1;

	if (!subnet)
		return -1;
	if (!json_is_string(json_object_get(subnet, "gateway_ip"))) {
		r = bad_router(
			ctx,
			"Subnet for router interface must have a gateway IP");
		goto out;
	}
	if (check_new_iface(ctx, ifs, subnet) < 0)
		goto out;
	in = json_pack(
		"{s:O, s:[{s:s, s:O}], s:s, s:O, s:s, s:b, s:O}", "network_id",
		json_object_get(subnet, "network_id"), "fixed_ips", "subnet_id",
		subnet_id, "ip_address", json_object_get(subnet, "gateway_ip"),
		"device_owner", API_ROUTER_INTERFACE_OWNER, "device_id",
		json_object_get(router, "id"), "name", "", "admin_state_up", 1,
		"project_id", json_object_get(router, "project_id"));
	ctx->l3_internal = true;
	r = api_create(ctx, &api_ports, in, ret_port);
	ctx->l3_internal = false;
	json_decref(in);
out:
	json_decref(subnet);
	return r;
}

/* add_router_interface by port: an unbound port with one address. */
static int add_by_port(struct api_ctx *ctx, json_t *router,
		       const struct router_ifaces *ifs, const char *port_id,
		       json_t **ret_port)
{
	json_t *port = api_find(ctx, &api_ports, port_id), *subnet = NULL;
	json_t *fixed = json_object_get(port, "fixed_ips");
	const char *device = api_str(port, "device_id");
	const char *host = api_str(port, "binding:host_id");
	int r = -1;

	if (!port)
		return -1;
	if ((device && device[0]) || (host && host[0])) {
		api_fail(
			&ctx->err, 409, "PortInUse",
			"Unable to complete operation on port %s for network %s. Port already has an attached device %s.",
			port_id, api_str(port, "network_id"),
			device && device[0] ? device : host);
		goto out;
	}
	if (json_array_size(fixed) == 0) {
		bad_router(ctx, "Router port must have at least one fixed IP");
		goto out;
	}
	if (json_array_size(fixed) > 1) {
		bad_router(ctx,
			   "Cannot have multiple IPv4 subnets on router port");
		goto out;
	}
	subnet = store_get(ctx->store, "subnet",
			   api_str(json_array_get(fixed, 0), "subnet_id"));
	if (!subnet) {
		store_failed(ctx);
		goto out;
	}
	if (check_new_iface(ctx, ifs, subnet) < 0)
		goto out;
	json_object_set_new(port, "device_owner",
			    json_string(API_ROUTER_INTERFACE_OWNER));
	json_object_set(port, "device_id", json_object_get(router, "id"));
	if (api_touch(ctx, &api_ports, port) < 0)
		goto out;
	*ret_port = json_incref(port);
	r = 0;
out:
	json_decref(subnet);
	json_decref(port);
	return r;
}

/* Reads the member 'name' of an interface request: absent, or a string. */
static int body_id(struct api_ctx *ctx, json_t *body, const char *name,
		   const char **ret)
{
	json_t *v = json_object_get(body, name);

	*ret = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad_router(ctx, "%s must be a string", name);
	*ret = json_string_value(v);
	return 0;
}

static int check_interface_body(struct api_ctx *ctx, json_t *body,
				const char **subnet_id, const char **port_id)
{
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v)
		if (strcmp(key, "subnet_id") && strcmp(key, "port_id"))
			return bad_router(ctx, "Unrecognized attribute '%s'",
					  key);
	if (body_id(ctx, body, "subnet_id", subnet_id) < 0 ||
	    body_id(ctx, body, "port_id", port_id) < 0)
		return -1;
	if (!*subnet_id && !*port_id)
		return bad_router(
			ctx, "Either subnet_id or port_id must be specified");
	return 0;
}

static int add_router_interface(struct api_ctx *ctx, json_t *router,
				json_t *body, json_t **ret)
{
	const char *subnet_id, *port_id;
	struct router_ifaces ifs;
	json_t *port = NULL;
	int r;

	if (check_interface_body(ctx, body, &subnet_id, &port_id) < 0)
		return -1;
	if (subnet_id && port_id)
		return bad_router(ctx,
				  "Cannot specify both subnet-id and port-id");
	if (load_ifaces(ctx, api_str(router, "id"), &ifs) < 0)
		return -1;
	if (subnet_id)
		r = add_by_subnet(ctx, router, &ifs, subnet_id, &port);
	else
		r = add_by_port(ctx, router, &ifs, port_id, &port);
	ifaces_destroy(&ifs);
	/* The router changes with its interfaces (as in Neutron), which
	 * also tells the southbound service whose views it is in. */
	if (r == 0)
		r = api_touch(ctx, &api_routers, router);
	if (r == 0)
		*ret = interface_info(
			router, port,
			api_str(json_array_get(
					json_object_get(port, "fixed_ips"), 0),
				"subnet_id"));
	json_decref(port);
	return r;
}

/* Refuses to remove interface 'it' of router 'router_id' while floating
 * IPs are associated through it. */
static int check_iface_unused(struct api_ctx *ctx, const char *router_id,
			      const struct router_iface *it)
{
	int64_t n;

	if (api_fip_router_users(ctx, router_id, it->net, it->prefix, &n) < 0)
		return -1;
	if (n)
		return api_fail(
			&ctx->err, 409, "RouterInterfaceInUseByFloatingIP",
			"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.",
			it->subnet_id, router_id);
	return 0;
}

static int remove_router_interface(struct api_ctx *ctx, json_t *router,
				   json_t *body, json_t **ret)
{
	const char *subnet_id, *port_id, *router_id = api_str(router, "id");
	struct router_ifaces ifs;
	struct router_iface *it = NULL;
	json_t *route, *port = NULL, *subnet;
	size_t i;
	int r = -1;

	if (check_interface_body(ctx, body, &subnet_id, &port_id) < 0)
		return -1;
	if (subnet_id) {
		subnet = api_find(ctx, &api_subnets, subnet_id);
		if (!subnet)
			return -1;
		json_decref(subnet);
	}
	if (load_ifaces(ctx, router_id, &ifs) < 0)
		return -1;
	for (i = 0; i < ifs.n && !it; i++)
		if (port_id ? !strcmp(ifs.v[i].port_id, port_id) :
			      !strcmp(ifs.v[i].subnet_id, subnet_id))
			it = &ifs.v[i];
	if (!it && port_id) {
		api_fail(&ctx->err, 404, "RouterInterfaceNotFound",
			 "Router %s does not have an interface with id %s",
			 router_id, port_id);
		goto out;
	}
	if (!it) {
		api_fail(&ctx->err, 404, "RouterInterfaceNotFoundForSubnet",
			 "Router %s has no interface on subnet %s", router_id,
			 subnet_id);
		goto out;
	}
	if (subnet_id && strcmp(it->subnet_id, subnet_id)) {
		api_fail(
			&ctx->err, 400, "SubnetMismatchForPort",
			"Subnet on port %s does not match the requested subnet %s",
			port_id, subnet_id);
		goto out;
	}
	json_array_foreach(json_object_get(router, "routes"), i, route) {
		uint32_t hop;

		if (netaddr_parse_ipv4(api_str(route, "nexthop"), &hop) == 0 &&
		    netaddr_in_prefix(hop, it->net, it->prefix)) {
			api_fail(
				&ctx->err, 409, "RouterInterfaceInUseByRoute",
				"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more routes.",
				it->subnet_id, router_id);
			goto out;
		}
	}
	if (check_iface_unused(ctx, router_id, it) < 0)
		goto out;
	/* Neutron deletes the interface's port, whether the router made it
	 * (by subnet) or was given it (by port). */
	port = json_object_get(it->port, "port");
	ctx->l3_internal = true;
	r = api_port_release(ctx, port);
	ctx->l3_internal = false;
	if (r < 0)
		goto out;
	if (store_delete(ctx->store, "port", it->port_id) < 0 ||
	    api_touch(ctx, &api_routers, router) < 0) {
		r = store_failed(ctx);
		goto out;
	}
	*ret = interface_info(router, port, it->subnet_id);
out:
	ifaces_destroy(&ifs);
	return r;
}

/* add_extraroutes and remove_extraroutes: {"router": {"routes": [...]}}. */
static int edit_routes(struct api_ctx *ctx, json_t *router, json_t *body,
		       bool add, json_t **ret)
{
	json_t *in = json_object_get(body, "router");
	json_t *given = json_object_get(in, "routes");
	json_t *routes, *v;
	struct router_ifaces ifs;
	size_t i;
	int r;

	if (!json_is_object(in) || json_object_size(body) != 1 ||
	    json_object_size(in) != 1 || !given)
		return api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"The body must be {\"router\": {\"routes\": [...]}}");
	if (check_routes(ctx, given, NULL) < 0)
		return -1;
	routes = json_deep_copy(json_object_get(router, "routes"));
	json_array_foreach(given, i, v) {
		size_t j;
		json_t *w;
		bool found = false;

		json_array_foreach(routes, j, w) {
			if (json_equal(v, w)) {
				found = true;
				if (!add)
					json_array_remove(routes, j);
				break;
			}
		}
		if (add && !found)
			json_array_append(routes, v);
	}
	r = load_ifaces(ctx, api_str(router, "id"), &ifs);
	if (r == 0) {
		r = check_routes(ctx, routes, &ifs);
		ifaces_destroy(&ifs);
	}
	if (r == 0 && !json_equal(routes, json_object_get(router, "routes"))) {
		json_object_set(router, "routes", routes);
		r = api_touch(ctx, &api_routers, router);
	}
	json_decref(routes);
	if (r == 0)
		*ret = json_pack("{s:O}", "router", router);
	return r;
}

static int add_extraroutes(struct api_ctx *ctx, json_t *router, json_t *body,
			   json_t **ret)
{
	return edit_routes(ctx, router, body, true, ret);
}

static int remove_extraroutes(struct api_ctx *ctx, json_t *router, json_t *body,
			      json_t **ret)
{
	return edit_routes(ctx, router, body, false, ret);
}

static const struct api_action router_actions[] = {
	{ "add_router_interface", add_router_interface },
	{ "remove_router_interface", remove_router_interface },
	{ "add_extraroutes", add_extraroutes },
	{ "remove_extraroutes", remove_extraroutes },
	{ NULL },
};

const struct api_resource api_routers = {
	.member = "router",
	.collection = "routers",
	.title = "Router",
	.attrs = router_attrs,
	.allow_create = true,
	.create = router_create,
	.update = router_update,
	.remove = router_remove,
	.actions = router_actions,
};
