/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "netaddr.h"

/*
 * Floating IPs (docs/gateways.md): an address of an external network,
 * held by a port of that network (device_owner "network:floatingip",
 * device_id the floating IP), translated 1:1 by every gateway to a fixed
 * IP of a port whose subnet is on a router with a gateway on that
 * network. The association is kept in the document (port_id,
 * fixed_ip_address, router_id); the gateways' view reads it from there.
 */

static const struct api_attr fip_attrs[] = {
	{ "floating_ip_address", API_T_STRING, API_POST | API_NULLABLE, NULL,
	  64 },
	{ "floating_network_id", API_T_STRING, API_POST | API_REQUIRED, NULL,
	  36 },
	/* Picks the subnet of the address on create; not kept. */
	{ "subnet_id", API_T_STRING, API_POST | API_NULLABLE, NULL, 36 },
	{ "router_id", API_T_STRING, API_NULLABLE, "null", 0 },
	{ "port_id", API_T_STRING, API_POST | API_PUT | API_NULLABLE, "null",
	  36 },
	{ "fixed_ip_address", API_T_STRING, API_POST | API_PUT | API_NULLABLE,
	  "null", 64 },
	{ "status", API_T_STRING, 0, "\"DOWN\"", 0 },
	{ "port_details", API_T_ANY, API_NULLABLE, "null", 0 },
	{ NULL },
};

static int bad_fip(struct api_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Neutron's BadRequest for a floating IP: "Bad floatingip request: MSG." */
static int bad_fip(struct api_ctx *ctx, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return api_fail(&ctx->err, 400, "BadRequest",
			"Bad floatingip request: %s.", msg);
}

static int store_failed(struct api_ctx *ctx)
{
	return api_fail(&ctx->err, 500, "HTTPInternalServerError",
			"The store failed");
}

/* Calls 'fn' with every floating IP document (borrowed) and 'data'; a
 * non-zero return stops the walk. O(floating IPs). */
static int each_fip(struct api_ctx *ctx, store_list_fn fn, void *data)
{
	struct store_query q = { .kind = "floatingip" };

	return store_list(ctx->store, &q, fn, data);
}

struct router_users {
	const char *router_id;
	uint32_t net;
	int prefix;
	int64_t n;
};

static int count_router_user(json_t *fip, void *data)
{
	struct router_users *u = data;
	const char *router = api_str(fip, "router_id");
	uint32_t ip;

	if (!router || strcmp(router, u->router_id))
		return 0;
	if (u->prefix >= 0 &&
	    (netaddr_parse_ipv4(api_str(fip, "fixed_ip_address"), &ip) < 0 ||
	     !netaddr_in_prefix(ip, u->net, u->prefix)))
		return 0;
	u->n++;
	return 0;
}

int api_fip_router_users(struct api_ctx *ctx, const char *router_id,
			 uint32_t net, int prefix, int64_t *ret)
{
	struct router_users u = { router_id, net, prefix, 0 };

	if (each_fip(ctx, count_router_user, &u) < 0)
		return store_failed(ctx);
	*ret = u.n;
	return 0;
}

/* Clears the association of 'fip'. */
static void disassociate(json_t *fip)
{
	json_object_set_new(fip, "port_id", json_null());
	json_object_set_new(fip, "fixed_ip_address", json_null());
	json_object_set_new(fip, "router_id", json_null());
	json_object_set_new(fip, "status", json_string("DOWN"));
}

struct port_fips {
	const char *port_id;
	json_t *found; /* the floating IPs of the port (new references) */
};

static int collect_port_fip(json_t *fip, void *data)
{
	struct port_fips *w = data;
	const char *port = api_str(fip, "port_id");

	if (port && !strcmp(port, w->port_id))
		json_array_append(w->found, fip);
	return 0;
}

int api_fip_port_deleted(struct api_ctx *ctx, const char *port_id)
{
	struct port_fips w = { port_id, json_array() };
	json_t *fip;
	size_t i;
	int r = 0;

	if (each_fip(ctx, collect_port_fip, &w) < 0)
		r = store_failed(ctx);
	json_array_foreach(w.found, i, fip) {
		if (r < 0)
			break;
		disassociate(fip);
		r = api_touch(ctx, &api_floatingips, fip);
	}
	json_decref(w.found);
	return r;
}

/* The router that connects subnet 'subnet_id' of network 'network_id' to
 * external network 'ext_id': one with an interface on the subnet and its
 * gateway on 'ext_id'. */
struct router_search {
	struct store *store;
	const char *subnet_id, *ext_id;
	char router_id[40];
};

static int match_router_iface(json_t *port, void *data)
{
	struct router_search *w = data;
	json_t *fixed = json_array_get(json_object_get(port, "fixed_ips"), 0);
	const char *owner = api_str(port, "device_owner");
	json_t *router, *info;
	bool found;

	if (!owner || strcmp(owner, API_ROUTER_INTERFACE_OWNER) || !fixed ||
	    strcmp(api_str(fixed, "subnet_id"), w->subnet_id))
		return 0;
	router = store_get(w->store, "router", api_str(port, "device_id"));
	info = json_object_get(router, "external_gateway_info");
	found = json_is_object(info) &&
		!strcmp(api_str(info, "network_id"), w->ext_id);
	if (found)
		snprintf(w->router_id, sizeof(w->router_id), "%s",
			 api_str(router, "id"));
	json_decref(router);
	return found;
}

/* The fixed IP of 'port' that 'fip' will use: the requested one (it must
 * be the port's), else the port's only IPv4 address. Sets 'subnet_id'. */
static int pick_fixed_ip(struct api_ctx *ctx, json_t *fip, json_t *port,
			 const char **ret_ip, const char **subnet_id)
{
	const char *want = api_str(fip, "fixed_ip_address");
	const char *port_id = api_str(port, "id");
	json_t *fixed = json_object_get(port, "fixed_ips"), *e;
	size_t i, n = json_array_size(fixed);

	if (!n)
		return bad_fip(ctx, "Port %s does not have fixed IP", port_id);
	if (!want && n > 1)
		return bad_fip(
			ctx,
			"Port %s has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP",
			port_id);
	json_array_foreach(fixed, i, e) {
		if (!want || !strcmp(api_str(e, "ip_address"), want)) {
			*ret_ip = api_str(e, "ip_address");
			*subnet_id = api_str(e, "subnet_id");
			return 0;
		}
	}
	return bad_fip(ctx, "Port %s does not have fixed ip %s", port_id, want);
}

struct fixed_users {
	const char *fip_id, *port_id, *ip;
	const char *other; /* the floating IP found, or NULL */
	char other_id[40];
};

static int find_other_fip(json_t *fip, void *data)
{
	struct fixed_users *w = data;
	const char *port = api_str(fip, "port_id");
	const char *ip = api_str(fip, "fixed_ip_address");

	if (!port || !ip || strcmp(port, w->port_id) || strcmp(ip, w->ip) ||
	    !strcmp(api_str(fip, "id"), w->fip_id))
		return 0;
	snprintf(w->other_id, sizeof(w->other_id), "%s", api_str(fip, "id"));
	w->other = w->other_id;
	return 1;
}

/*
 * Associates 'fip' with its port_id (and fixed_ip_address, if given) by
 * Neutron's rules: the port exists in the floating IP's project, has the
 * fixed IP, its subnet is on a router whose gateway is on the floating
 * network, and that fixed IP has no other floating IP. Sets router_id,
 * fixed_ip_address and status.
 */
static int associate(struct api_ctx *ctx, json_t *fip)
{
	const char *port_id = api_str(fip, "port_id");
	struct router_search rs = { ctx->store, NULL,
				    api_str(fip, "floating_network_id"), "" };
	struct fixed_users fu = { api_str(fip, "id"), port_id, NULL, NULL, "" };
	struct store_query q = { .kind = "port" };
	json_t *port = store_get(ctx->store, "port", port_id);
	const char *ip = NULL;
	int r = -1;

	if (!port || api_port_is_l3(port) ||
	    strcmp(api_str(port, "project_id"), api_str(fip, "project_id"))) {
		r = api_fail(&ctx->err, 404, "PortNotFound",
			     "Port %s could not be found.", port_id);
		goto out;
	}
	if (pick_fixed_ip(ctx, fip, port, &ip, &rs.subnet_id) < 0)
		goto out;
	q.parent_id = api_str(port, "network_id");
	if (store_list(ctx->store, &q, match_router_iface, &rs) < 0) {
		r = store_failed(ctx);
		goto out;
	}
	if (!rs.router_id[0]) {
		r = api_fail(
			&ctx->err, 404, "ExternalGatewayForFloatingIPNotFound",
			"External network %s is not reachable from subnet %s. Therefore, cannot associate Port %s with a Floating IP.",
			rs.ext_id, rs.subnet_id, port_id);
		goto out;
	}
	fu.ip = ip;
	if (each_fip(ctx, find_other_fip, &fu) < 0) {
		r = store_failed(ctx);
		goto out;
	}
	if (fu.other) {
		r = api_fail(
			&ctx->err, 409, "FloatingIPPortAlreadyAssociated",
			"Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
			api_str(fip, "floating_ip_address"), api_str(fip, "id"),
			port_id, ip, rs.ext_id);
		goto out;
	}
	json_object_set_new(fip, "fixed_ip_address", json_string(ip));
	json_object_set_new(fip, "router_id", json_string(rs.router_id));
	json_object_set_new(fip, "status", json_string("ACTIVE"));
	r = 0;
out:
	json_decref(port);
	return r;
}

/* Creates the port holding the address of 'fip' on its network, as asked
 * (floating_ip_address, subnet_id), and sets floating_ip_address. */
static int create_fip_port(struct api_ctx *ctx, json_t *fip)
{
	json_t *in, *port = NULL, *item = json_object();
	const char *addr = api_str(fip, "floating_ip_address");
	const char *subnet = api_str(fip, "subnet_id");
	int r;

	if (addr)
		json_object_set_new(item, "ip_address", json_string(addr));
	if (subnet)
		json_object_set_new(item, "subnet_id", json_string(subnet));
	in = json_pack("{s:O, s:s, s:O, s:s, s:b, s:O}", "network_id",
		       json_object_get(fip, "floating_network_id"),
		       "device_owner", API_FLOATINGIP_OWNER, "device_id",
		       json_object_get(fip, "id"), "name", "", "admin_state_up",
		       1, "project_id", json_object_get(fip, "project_id"));
	if (json_object_size(item))
		json_object_set_new(in, "fixed_ips", json_pack("[O]", item));
	json_decref(item);
	ctx->l3_internal = true;
	r = api_create(ctx, &api_ports, in, &port);
	ctx->l3_internal = false;
	json_decref(in);
	if (r < 0)
		return r;
	item = json_array_get(json_object_get(port, "fixed_ips"), 0);
	if (!item)
		r = api_fail(
			&ctx->err, 409, "IpAddressGenerationFailure",
			"No more IP addresses available on network %s: it has no subnet.",
			api_str(fip, "floating_network_id"));
	else
		json_object_set(fip, "floating_ip_address",
				json_object_get(item, "ip_address"));
	json_decref(port);
	return r;
}

static int fip_create(struct api_ctx *ctx, json_t *obj)
{
	const char *net_id = api_str(obj, "floating_network_id");
	json_t *network = api_find(ctx, &api_networks, net_id);
	int r = -1;

	if (!network)
		return -1;
	if (!api_bool(network, "router:external")) {
		bad_fip(ctx, "Network %s is not a valid external network",
			net_id);
		goto out;
	}
	if (create_fip_port(ctx, obj) < 0)
		goto out;
	json_object_del(obj, "subnet_id");
	if (api_str(obj, "port_id"))
		r = associate(ctx, obj);
	else if (api_str(obj, "fixed_ip_address"))
		r = bad_fip(ctx, "fixed_ip_address needs a port_id");
	else
		r = 0;
out:
	json_decref(network);
	return r;
}

static int fip_update(struct api_ctx *ctx, json_t *old, json_t *obj,
		      json_t *changes)
{
	bool port_changed = json_object_get(changes, "port_id") != NULL;

	if (!port_changed && !json_object_get(changes, "fixed_ip_address"))
		return 0;
	if (!api_str(obj, "port_id")) {
		if (api_str(changes, "fixed_ip_address"))
			return bad_fip(ctx, "fixed_ip_address needs a port_id");
		disassociate(obj);
		return 0;
	}
	/* Another port: its own address, unless one is given. */
	if (port_changed && !json_object_get(changes, "fixed_ip_address") &&
	    !json_equal(json_object_get(old, "port_id"),
			json_object_get(obj, "port_id")))
		json_object_set_new(obj, "fixed_ip_address", json_null());
	return associate(ctx, obj);
}

/* Deleting a floating IP frees its address: its port goes. */
static int fip_remove(struct api_ctx *ctx, json_t *obj)
{
	return api_l3_port_remove(ctx, api_str(obj, "id"),
				  API_FLOATINGIP_OWNER);
}

const struct api_resource api_floatingips = {
	.member = "floatingip",
	.collection = "floatingips",
	.title = "FloatingIP",
	.attrs = fip_attrs,
	.parent_attr = "floating_network_id",
	.allow_create = true,
	.create = fip_create,
	.update = fip_update,
	.remove = fip_remove,
};
