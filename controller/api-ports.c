/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api.h"
#include "ipam.h"
#include "netaddr.h"

#define MAX_SUBNETS_PER_NETWORK 64
#define MAX_ADDRESS_PAIRS 10
#define MAC_TRIES 16

static const struct api_attr port_attrs[] = {
	{ "name", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "network_id", API_T_STRING, API_POST | API_REQUIRED, NULL, 36 },
	{ "admin_state_up", API_T_BOOL, API_POST | API_PUT, "true", 0 },
	{ "mac_address", API_T_STRING, API_POST | API_PUT, NULL, 17 },
	{ "fixed_ips", API_T_LIST, API_POST | API_PUT, NULL, 0 },
	{ "device_id", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "device_owner", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "binding:host_id", API_T_STRING, API_POST | API_PUT | API_ADMIN,
	  "\"\"", 255 },
	{ "binding:vif_type", API_T_STRING, 0, "\"unbound\"", 0 },
	{ "binding:vif_details", API_T_DICT, 0, "{}", 0 },
	{ "binding:vnic_type", API_T_STRING, API_POST | API_PUT, "\"normal\"",
	  0 },
	{ "binding:profile", API_T_DICT, API_POST | API_PUT | API_ADMIN, "{}",
	  0 },
	{ "status", API_T_STRING, 0, "\"DOWN\"", 0 },
	{ "security_groups", API_T_LIST, API_POST | API_PUT, NULL, 0 },
	{ "allowed_address_pairs", API_T_LIST, API_POST | API_PUT, "[]", 0 },
	{ "port_security_enabled", API_T_BOOL, API_POST | API_PUT, NULL, 0 },
	{ "ip_allocation", API_T_STRING, 0, "\"immediate\"", 0 },
	{ NULL },
};

/* The subnets of a port's network, parsed once per request. */
struct net_subnets {
	size_t n;
	struct ipam_subnet sn[MAX_SUBNETS_PER_NETWORK];
	json_t *docs; /* keeps the parsed ids alive */
};

static int collect_subnet(json_t *doc, void *data)
{
	struct net_subnets *ns = data;

	if (ns->n == MAX_SUBNETS_PER_NETWORK)
		return -E2BIG;
	if (ipam_subnet_parse(doc, &ns->sn[ns->n]) < 0)
		return -EINVAL;
	json_array_append(ns->docs, doc);
	/* Point the id at the reference kept in 'docs'. */
	ns->sn[ns->n].id = api_str(json_array_get(ns->docs, ns->n), "id");
	ns->n++;
	return 0;
}

static int load_subnets(struct api_ctx *ctx, const char *network_id,
			struct net_subnets *ns)
{
	struct store_query q = { .kind = "subnet", .parent_id = network_id };

	ns->n = 0;
	ns->docs = json_array();
	if (store_list(ctx->store, &q, collect_subnet, ns) < 0)
		return api_fail(
			&ctx->err, 500, "HTTPInternalServerError",
			"The store failed to read the network's subnets");
	return 0;
}

static const struct ipam_subnet *subnet_by_id(const struct net_subnets *ns,
					      const char *id)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->sn[i].id, id))
			return &ns->sn[i];
	return NULL;
}

static const struct ipam_subnet *subnet_by_ip(const struct net_subnets *ns,
					      uint32_t ip)
{
	for (size_t i = 0; i < ns->n; i++)
		if (netaddr_in_prefix(ip, ns->sn[i].net, ns->sn[i].prefix))
			return &ns->sn[i];
	return NULL;
}

static json_t *fixed_ip(const char *subnet_id, uint32_t ip)
{
	char buf[NETADDR_IPV4_STRLEN];

	netaddr_format_ipv4(ip, buf);
	return json_pack("{s:s, s:s}", "subnet_id", subnet_id, "ip_address",
			 buf);
}

/* Whether 'list' holds the fixed IP (subnet, ip); returns its index or -1. */
static int find_fixed_ip(json_t *list, const char *subnet_id, uint32_t ip)
{
	json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		uint32_t a;

		if (!strcmp(api_str(e, "subnet_id"), subnet_id) &&
		    netaddr_parse_ipv4(api_str(e, "ip_address"), &a) == 0 &&
		    a == ip)
			return (int)i;
	}
	return -1;
}

static int no_address(struct api_ctx *ctx, const char *what, const char *id)
{
	return api_fail(&ctx->err, 409, "IpAddressGenerationFailure",
			"No more IP addresses available %s %s.", what, id);
}

static int store_error(struct api_ctx *ctx, int r)
{
	return api_fail(&ctx->err, 500, "HTTPInternalServerError",
			"The store failed: %s", strerror(-r));
}

/* Allocates the first address any IPv4 subnet of the network has free. */
static int allocate_any(struct api_ctx *ctx, const struct net_subnets *ns,
			const char *network_id, const char *port_id,
			json_t *out)
{
	for (size_t i = 0; i < ns->n; i++) {
		uint32_t ip;
		int r = ipam_allocate(ctx->store, &ns->sn[i], port_id, &ip);

		if (r == 0) {
			json_array_append_new(out, fixed_ip(ns->sn[i].id, ip));
			return 0;
		}
		if (r != -ENOSPC)
			return store_error(ctx, r);
	}
	return ns->n ? no_address(ctx, "on network", network_id) : 0;
}

/* Whether port 'port' may hold its subnet's gateway address: a router's
 * interface, or a network service port (device_owner "network:...") other
 * than a router's gateway or a floating IP (the external subnet's gateway
 * is the upstream router). */
static bool may_take_gateway(json_t *port)
{
	const char *owner = api_str(port, "device_owner");

	if (!strcmp(owner, API_ROUTER_INTERFACE_OWNER))
		return true;
	return !strncmp(owner, "network:", 8) && !api_port_is_l3(port);
}

/* Claims one requested fixed IP item, or keeps it when 'held' has it. */
static int claim_item(struct api_ctx *ctx, const struct net_subnets *ns,
		      json_t *obj, json_t *item, json_t *held, json_t *out)
{
	const char *port_id = api_str(obj, "id");
	const char *network_id = api_str(obj, "network_id");
	const char *subnet_id = api_str(item, "subnet_id");
	const char *addr = api_str(item, "ip_address");
	const struct ipam_subnet *sn = NULL;
	uint32_t ip, first, last;
	json_t *e;
	size_t i;
	int r;

	if (subnet_id) {
		sn = subnet_by_id(ns, subnet_id);
		if (!sn)
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.",
				network_id, subnet_id);
	}
	if (!addr) {
		/* Keep the address the port already has on this subnet. */
		json_array_foreach(held, i, e) {
			if (!strcmp(api_str(e, "subnet_id"), subnet_id) &&
			    netaddr_parse_ipv4(api_str(e, "ip_address"), &ip) ==
				    0 &&
			    find_fixed_ip(out, subnet_id, ip) < 0) {
				json_array_append(out, e);
				return 0;
			}
		}
		r = ipam_allocate(ctx->store, sn, port_id, &ip);
		if (r == -ENOSPC)
			return no_address(ctx, "for subnet", subnet_id);
		if (r < 0)
			return store_error(ctx, r);
		json_array_append_new(out, fixed_ip(sn->id, ip));
		return 0;
	}

	if (netaddr_parse_ipv4(addr, &ip) < 0)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: '%s' is not a valid IP address.",
			addr);
	if (!sn) {
		sn = subnet_by_ip(ns, ip);
		if (!sn)
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for operation: IP address %s is not a valid IP for any of the subnets on the specified network.",
				addr);
	} else if (!netaddr_in_prefix(ip, sn->net, sn->prefix)) {
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: IP address %s is not a valid IP for the specified subnet.",
			addr);
	}
	ipam_host_range(sn->net, sn->prefix, &first, &last);
	if (ip < first || ip > last)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: IP address %s is the network or broadcast address of subnet %s.",
			addr, sn->id);
	if (sn->has_gateway && ip == sn->gateway && !may_take_gateway(obj))
		return api_fail(
			&ctx->err, 409, "IpAddressAlreadyAllocated",
			"IP address %s is the gateway of subnet %s; only a router interface may take it.",
			addr, sn->id);
	if (find_fixed_ip(out, sn->id, ip) >= 0)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: Duplicate IP address '%s'.",
			addr);
	if (find_fixed_ip(held, sn->id, ip) < 0) {
		r = store_ip_claim(ctx->store, sn->id, ip, port_id);
		if (r == -EEXIST)
			return api_fail(
				&ctx->err, 409, "IpAddressAlreadyAllocated",
				"IP address %s already allocated in subnet %s",
				addr, sn->id);
		if (r < 0)
			return store_error(ctx, r);
	}
	json_array_append_new(out, fixed_ip(sn->id, ip));
	return 0;
}

/* Checks the shape of the requested fixed IPs. */
static int check_fixed_ips(struct api_ctx *ctx, json_t *requested,
			   bool network_owner)
{
	json_t *item;
	size_t i;

	json_array_foreach(requested, i, item) {
		const char *key;
		json_t *v;

		if (!json_is_object(item) || !json_object_size(item))
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for fixed_ips. Reason: each item must be a dictionary with subnet_id and/or ip_address.");
		json_object_foreach(item, key, v) {
			if ((strcmp(key, "subnet_id") &&
			     strcmp(key, "ip_address")) ||
			    !json_is_string(v))
				return api_fail(
					&ctx->err, 400, "InvalidInput",
					"Invalid input for fixed_ips. Reason: '%s' is not a valid key, or its value is not a string.",
					key);
		}
		if (json_object_get(item, "ip_address") && !network_owner)
			return api_fail(
				&ctx->err, 403, "PolicyNotAuthorized",
				"(rule:create_port:fixed_ips:ip_address) is disallowed by policy");
	}
	return 0;
}

/*
 * Gives the port 'obj' the fixed IPs it asks for ('requested'; NULL means
 * one address from the first subnet with room), keeping those of 'held'
 * (its current ones) that stay and releasing the others.
 */
static int assign_fixed_ips(struct api_ctx *ctx, json_t *obj, json_t *requested,
			    json_t *held, bool network_owner)
{
	struct net_subnets *ns;
	json_t *out = json_array(), *item, *e;
	size_t i;
	int r = -1;

	if (requested && check_fixed_ips(ctx, requested, network_owner) < 0)
		goto out_nons;
	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		api_fail(&ctx->err, 500, "HTTPInternalServerError",
			 "Out of memory");
		goto out_nons;
	}
	if (load_subnets(ctx, api_str(obj, "network_id"), ns) < 0)
		goto out;

	if (!requested) {
		r = allocate_any(ctx, ns, api_str(obj, "network_id"),
				 api_str(obj, "id"), out);
	} else {
		r = 0;
		json_array_foreach(requested, i, item) {
			r = claim_item(ctx, ns, obj, item, held, out);
			if (r < 0)
				break;
		}
	}
	if (r < 0)
		goto out;
	/* Release what the port held and no longer has. */
	json_array_foreach(held, i, e) {
		uint32_t ip;

		if (netaddr_parse_ipv4(api_str(e, "ip_address"), &ip) < 0 ||
		    find_fixed_ip(out, api_str(e, "subnet_id"), ip) >= 0)
			continue;
		if (store_ip_release(ctx->store, api_str(e, "subnet_id"), ip) <
		    0) {
			r = store_error(ctx, -EIO);
			goto out;
		}
	}
	json_object_set(obj, "fixed_ips", out);
out:
	json_decref(ns->docs);
	free(ns);
out_nons:
	json_decref(out);
	return r;
}

static int claim_mac(struct api_ctx *ctx, json_t *obj)
{
	const char *network_id = api_str(obj, "network_id");
	const char *given = api_str(obj, "mac_address");
	char buf[NETADDR_MAC_STRLEN];
	uint8_t mac[6];
	int r;

	if (given) {
		if (netaddr_parse_mac(given, mac) < 0 || (mac[0] & 1) ||
		    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for mac_address. Reason: '%s' is not a valid unicast MAC address.",
				given);
		netaddr_format_mac(mac, buf);
		r = store_mac_claim(ctx->store, network_id, buf,
				    api_str(obj, "id"));
		if (r == -EEXIST)
			return api_fail(
				&ctx->err, 409, "MacAddressInUse",
				"Unable to complete operation for network %s. The mac address %s is in use.",
				network_id, buf);
		if (r < 0)
			return store_error(ctx, r);
		json_object_set_new(obj, "mac_address", json_string(buf));
		return 0;
	}
	memcpy(mac, ctx->cfg->base_mac, 3);
	for (int i = 0; i < MAC_TRIES; i++) {
		if (getrandom(mac + 3, 3, 0) != 3)
			return store_error(ctx, -EIO);
		netaddr_format_mac(mac, buf);
		r = store_mac_claim(ctx->store, network_id, buf,
				    api_str(obj, "id"));
		if (r == 0) {
			json_object_set_new(obj, "mac_address",
					    json_string(buf));
			return 0;
		}
		if (r != -EEXIST)
			return store_error(ctx, r);
	}
	return api_fail(&ctx->err, 503, "MacAddressGenerationFailure",
			"Unable to generate unique mac on network %s.",
			network_id);
}

static int check_address_pairs(struct api_ctx *ctx, json_t *obj)
{
	json_t *pairs = json_object_get(obj, "allowed_address_pairs"), *p;
	size_t i, j;

	if (json_array_size(pairs) > MAX_ADDRESS_PAIRS)
		return api_fail(
			&ctx->err, 400, "AllowedAddressPairExhausted",
			"The number of allowed address pair exceeds the maximum %d.",
			MAX_ADDRESS_PAIRS);
	json_array_foreach(pairs, i, p) {
		const char *ip = api_str(p, "ip_address");
		json_t *mac = json_object_get(p, "mac_address");
		uint8_t m[6];
		uint32_t a;
		int plen;

		if (!json_is_object(p) || !ip ||
		    json_object_size(p) != (mac ? 2u : 1u))
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for allowed_address_pairs. Reason: each pair is {\"ip_address\": IP or CIDR, \"mac_address\": MAC (optional)}.");
		if (netaddr_parse_ipv4(ip, &a) < 0 &&
		    netaddr_parse_cidr4(ip, false, &a, &plen) < 0)
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for allowed_address_pairs. Reason: '%s' is not a valid IP address or CIDR.",
				ip);
		if (mac && (!json_is_string(mac) ||
			    netaddr_parse_mac(json_string_value(mac), m) < 0))
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for allowed_address_pairs. Reason: the mac_address is not a valid MAC address.");
		if (!mac)
			json_object_set(p, "mac_address",
					json_object_get(obj, "mac_address"));
		for (j = 0; j < i; j++)
			if (json_equal(p, json_array_get(pairs, j)))
				return api_fail(
					&ctx->err, 400,
					"DuplicateAddressPairInRequest",
					"Request contains duplicate address pair: mac_address %s ip_address %s.",
					api_str(p, "mac_address"), ip);
	}
	return 0;
}

/* Checks what depends on port security, and the binding. */
static int check_port(struct api_ctx *ctx, json_t *obj, bool creating)
{
	json_t *sgs = json_object_get(obj, "security_groups"), *v;
	const char *vnic = api_str(obj, "binding:vnic_type");
	const char *host = api_str(obj, "binding:host_id");
	size_t i;

	if (strcmp(vnic, "normal"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for binding:vnic_type. Reason: weft supports only 'normal' (tap) ports, not '%s'.",
			vnic);
	json_array_foreach(sgs, i, v)
		if (!json_is_string(v))
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for security_groups. Reason: each item must be a security group id.");
	if (check_address_pairs(ctx, obj) < 0)
		return -1;
	if (!api_bool(obj, "port_security_enabled")) {
		if (json_array_size(
			    json_object_get(obj, "allowed_address_pairs")))
			return api_fail(
				&ctx->err, 409,
				"AddressPairAndPortSecurityRequired",
				"Port Security must be enabled in order to have allowed address pairs on a port.");
		if (json_array_size(sgs))
			return api_fail(
				&ctx->err, creating ? 400 : 409,
				creating ?
					"PortSecurityAndIPRequiredForSecurityGroups" :
					"PortSecurityPortHasSecurityGroup",
				"Port security must be enabled in order to use security groups.");
	}
	json_object_set_new(obj, "binding:vif_type",
			    json_string(host && host[0] ? "tap" : "unbound"));
	json_object_set_new(obj, "binding:vif_details",
			    host && host[0] ?
				    json_pack("{s:b}", "port_filter", 1) :
				    json_object());
	return 0;
}

bool api_port_is_l3(json_t *port)
{
	const char *owner = api_str(port, "device_owner");

	return owner && (!strcmp(owner, API_ROUTER_INTERFACE_OWNER) ||
			 !strcmp(owner, API_ROUTER_GATEWAY_OWNER) ||
			 !strcmp(owner, API_FLOATINGIP_OWNER));
}

/* A router's interface and gateway ports belong to the router, a floating
 * IP's port to the floating IP: only their code (add_router_interface,
 * external_gateway_info, floating IPs) makes, changes the addresses of, or
 * deletes them. */
static int l3_port_in_use(struct api_ctx *ctx, json_t *port, const char *what)
{
	return api_fail(
		&ctx->err, 409, "L3PortInUse",
		"Port %s has owner %s and therefore cannot be %s directly via the port API.",
		api_str(port, "id"), api_str(port, "device_owner"), what);
}

static int reserved_owner(struct api_ctx *ctx, json_t *port)
{
	return api_fail(
		&ctx->err, 400, "InvalidInput",
		"Invalid input for device_owner. Reason: '%s' is reserved for the ports of routers and floating IPs; use add_router_interface, external_gateway_info or floatingips.",
		api_str(port, "device_owner"));
}

static int port_create(struct api_ctx *ctx, json_t *obj)
{
	json_t *network;
	bool owner;
	int r = -1;

	if (api_port_is_l3(obj) && !ctx->l3_internal)
		return reserved_owner(ctx, obj);
	network = api_find(ctx, &api_networks, api_str(obj, "network_id"));
	if (!network)
		return -1;
	/* Addresses of external networks are handed out by routers'
	 * gateways and floating IPs; only an operator makes other ports. */
	if (api_bool(network, "router:external") && !ctx->is_admin &&
	    !ctx->l3_internal) {
		r = api_fail(
			&ctx->err, 403, "PolicyNotAuthorized",
			"(rule:create_port:network:router:external) is disallowed by policy: network %s is external",
			api_str(network, "id"));
		goto out;
	}
	/* A router's interface takes its subnet's gateway address wherever
	 * the router may join the subnet. */
	owner = api_owns(ctx, network) || ctx->l3_internal;
	if (json_object_get(obj, "mac_address") && !owner) {
		r = api_fail(
			&ctx->err, 403, "PolicyNotAuthorized",
			"(rule:create_port:mac_address) is disallowed by policy");
		goto out;
	}
	if (!json_object_get(obj, "port_security_enabled"))
		json_object_set(
			obj, "port_security_enabled",
			json_object_get(network, "port_security_enabled"));
	if (claim_mac(ctx, obj) < 0 || check_port(ctx, obj, true) < 0 ||
	    api_sg_port_groups(ctx, obj) < 0 ||
	    assign_fixed_ips(ctx, obj, json_object_get(obj, "fixed_ips"), NULL,
			     owner) < 0 ||
	    api_sg_port_changed(ctx, NULL, obj) < 0)
		goto out;
	r = 0;
out:
	json_decref(network);
	return r;
}

static int port_update(struct api_ctx *ctx, json_t *old, json_t *obj,
		       json_t *changes)
{
	json_t *mac = json_object_get(changes, "mac_address");
	json_t *fixed = json_object_get(changes, "fixed_ips");
	json_t *network;
	bool owner;

	if (api_port_is_l3(old) && !ctx->l3_internal) {
		if (fixed &&
		    !json_equal(fixed, json_object_get(old, "fixed_ips")))
			return l3_port_in_use(ctx, old,
					      "given other fixed IPs");
		if (!json_equal(json_object_get(old, "device_owner"),
				json_object_get(obj, "device_owner")) ||
		    !json_equal(json_object_get(old, "device_id"),
				json_object_get(obj, "device_id")))
			return l3_port_in_use(ctx, old, "detached");
	} else if (api_port_is_l3(obj) && !ctx->l3_internal) {
		return reserved_owner(ctx, obj);
	}
	if (mac && !json_equal(mac, json_object_get(old, "mac_address"))) {
		if (!ctx->is_admin)
			return api_fail(
				&ctx->err, 403, "PolicyNotAuthorized",
				"(rule:update_port:mac_address) is disallowed by policy");
		if (claim_mac(ctx, obj) < 0 ||
		    store_mac_release(ctx->store, api_str(old, "network_id"),
				      api_str(old, "mac_address")) < 0)
			return -1;
	}
	if (check_port(ctx, obj, false) < 0 ||
	    (json_object_get(changes, "security_groups") &&
	     api_sg_port_groups(ctx, obj) < 0))
		return -1;
	if (json_object_get(changes, "fixed_ips")) {
		network = store_get(ctx->store, "network",
				    api_str(obj, "network_id"));
		owner = network && api_owns(ctx, network);
		json_decref(network);
		if (assign_fixed_ips(
			    ctx, obj, json_object_get(changes, "fixed_ips"),
			    json_object_get(old, "fixed_ips"), owner) < 0)
			return -1;
	}
	return api_sg_port_changed(ctx, old, obj);
}

int api_port_release(struct api_ctx *ctx, json_t *obj)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(obj, "fixed_ips"), i, e) {
		uint32_t ip;

		if (netaddr_parse_ipv4(api_str(e, "ip_address"), &ip) == 0 &&
		    store_ip_release(ctx->store, api_str(e, "subnet_id"), ip) <
			    0)
			return store_error(ctx, -EIO);
	}
	if (store_mac_release(ctx->store, api_str(obj, "network_id"),
			      api_str(obj, "mac_address")) < 0)
		return store_error(ctx, -EIO);
	return api_sg_port_changed(ctx, obj, NULL);
}

struct owned_port {
	const char *owner;
	json_t *port; /* a new reference, or NULL */
};

static int find_owned_port(json_t *port, void *data)
{
	struct owned_port *w = data;
	const char *owner = api_str(port, "device_owner");

	if (!owner || strcmp(owner, w->owner))
		return 0;
	w->port = json_incref(port);
	return 1;
}

int api_l3_port_remove(struct api_ctx *ctx, const char *device_id,
		       const char *owner)
{
	struct store_query q = { .kind = "port", .device_id = device_id };
	struct owned_port w = { owner, NULL };
	bool internal = ctx->l3_internal;
	int r;

	if (store_list(ctx->store, &q, find_owned_port, &w) < 0)
		return store_error(ctx, -EIO);
	if (!w.port)
		return 0;
	ctx->l3_internal = true;
	r = api_port_release(ctx, w.port);
	ctx->l3_internal = internal;
	if (r == 0 &&
	    store_delete(ctx->store, "port", api_str(w.port, "id")) < 0)
		r = store_error(ctx, -EIO);
	json_decref(w.port);
	return r;
}

static int port_remove(struct api_ctx *ctx, json_t *obj)
{
	if (api_port_is_l3(obj) && !ctx->l3_internal)
		return l3_port_in_use(ctx, obj, "deleted");
	if (api_fip_port_deleted(ctx, api_str(obj, "id")) < 0)
		return -1;
	return api_port_release(ctx, obj);
}

const struct api_resource api_ports = {
	.member = "port",
	.collection = "ports",
	.title = "Port",
	.attrs = port_attrs,
	.parent_attr = "network_id",
	.allow_create = true,
	.create = port_create,
	.update = port_update,
	.remove = port_remove,
};
