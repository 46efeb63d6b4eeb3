/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ipam.h"
#include "netaddr.h"

#define MAX_DNS_NAMESERVERS 5
#define MAX_HOST_ROUTES 20

static const struct api_attr subnet_attrs[] = {
	{ "name", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "network_id", API_T_STRING, API_POST | API_REQUIRED, NULL, 36 },
	{ "ip_version", API_T_INT, API_POST | API_REQUIRED, NULL, 0 },
	{ "cidr", API_T_STRING, API_POST | API_REQUIRED, NULL, 64 },
	{ "gateway_ip", API_T_STRING, API_POST | API_PUT | API_NULLABLE, NULL,
	  64 },
	{ "allocation_pools", API_T_LIST, API_POST | API_PUT, NULL, 0 },
	{ "enable_dhcp", API_T_BOOL, API_POST | API_PUT, "true", 0 },
	{ "dns_nameservers", API_T_LIST, API_POST | API_PUT, "[]", 0 },
	{ "host_routes", API_T_LIST, API_POST | API_PUT, "[]", 0 },
	{ "ipv6_ra_mode", API_T_STRING, API_POST | API_NULLABLE, "null", 0 },
	{ "ipv6_address_mode", API_T_STRING, API_POST | API_NULLABLE, "null",
	  0 },
	{ "subnetpool_id", API_T_STRING, API_POST | API_NULLABLE, "null", 0 },
	{ "segment_id", API_T_STRING, API_POST | API_NULLABLE, "null", 0 },
	{ "service_types", API_T_LIST, API_POST | API_PUT, "[]", 0 },
	{ NULL },
};

static int bad_input(struct api_ctx *ctx, const char *fmt, const char *a,
		     const char *b)
{
	char msg[400];

	snprintf(msg, sizeof(msg), fmt, a, b ? b : "");
	return api_fail(&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: %s", msg);
}

/* Parses 'text' as an IPv4 address inside the subnet's host range. */
static int parse_host(struct api_ctx *ctx, const struct ipam_subnet *sn,
		      const char *what, json_t *text, uint32_t *ret)
{
	uint32_t first, last;
	const char *s = json_string_value(text);

	if (!s || netaddr_parse_ipv4(s, ret) < 0)
		return bad_input(ctx, "'%s' is not a valid IP address for %s.",
				 s ? s : "(not a string)", what);
	ipam_host_range(sn->net, sn->prefix, &first, &last);
	if (*ret < first || *ret > last)
		return bad_input(ctx,
				 "%s %s is not a usable address of the subnet.",
				 what, s);
	return 0;
}

static int compare_pools(const void *a, const void *b)
{
	const struct ipam_pool *pa = a, *pb = b;

	return (pa->first > pb->first) - (pa->first < pb->first);
}

static int check_pools(struct api_ctx *ctx, json_t *pools,
		       struct ipam_subnet *sn)
{
	json_t *pool;
	size_t i;

	if (json_array_size(pools) > IPAM_MAX_POOLS)
		return bad_input(ctx,
				 "at most %s allocation pools are allowed.",
				 "64", NULL);
	sn->n_pools = 0;
	json_array_foreach(pools, i, pool) {
		struct ipam_pool *p = &sn->pools[sn->n_pools++];

		if (!json_is_object(pool) || json_object_size(pool) != 2 ||
		    !json_object_get(pool, "start") ||
		    !json_object_get(pool, "end"))
			return bad_input(
				ctx,
				"an allocation pool must be {\"start\": IP, \"end\": IP}.%s",
				"", NULL);
		if (parse_host(ctx, sn, "allocation pool start",
			       json_object_get(pool, "start"), &p->first) < 0 ||
		    parse_host(ctx, sn, "allocation pool end",
			       json_object_get(pool, "end"), &p->last) < 0)
			return -1;
		if (p->first > p->last)
			return bad_input(
				ctx,
				"the allocation pool %s-%s starts after it ends.",
				api_str(pool, "start"), api_str(pool, "end"));
	}
	qsort(sn->pools, sn->n_pools, sizeof(sn->pools[0]), compare_pools);
	for (i = 1; i < sn->n_pools; i++) {
		if (sn->pools[i].first <= sn->pools[i - 1].last) {
			char a[NETADDR_IPV4_STRLEN], b[NETADDR_IPV4_STRLEN];

			netaddr_format_ipv4(sn->pools[i - 1].first, a);
			netaddr_format_ipv4(sn->pools[i].first, b);
			return bad_input(
				ctx,
				"the allocation pools starting at %s and %s overlap.",
				a, b);
		}
	}
	return 0;
}

static int check_dns(struct api_ctx *ctx, json_t *list)
{
	json_t *v;
	size_t i, j;
	uint32_t ip;

	if (json_array_size(list) > MAX_DNS_NAMESERVERS)
		return bad_input(ctx, "at most %s DNS nameservers are allowed.",
				 "5", NULL);
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (!s || netaddr_parse_ipv4(s, &ip) < 0)
			return bad_input(ctx,
					 "'%s' is not a valid nameserver.%s",
					 s ? s : "(not a string)", "");
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(list, j)))
				return bad_input(ctx,
						 "duplicate nameserver '%s'.%s",
						 s, "");
	}
	return 0;
}

static int check_routes(struct api_ctx *ctx, json_t *list)
{
	json_t *v;
	size_t i, j;

	if (json_array_size(list) > MAX_HOST_ROUTES)
		return bad_input(ctx, "at most %s host routes are allowed.",
				 "20", NULL);
	json_array_foreach(list, i, v) {
		const char *dest = api_str(v, "destination");
		const char *hop = api_str(v, "nexthop");
		uint32_t a;
		int plen;

		if (!json_is_object(v) || json_object_size(v) != 2 || !dest ||
		    !hop)
			return bad_input(
				ctx,
				"a host route must be {\"destination\": CIDR, \"nexthop\": IP}.%s",
				"", NULL);
		if (netaddr_parse_cidr4(dest, true, &a, &plen) < 0)
			return bad_input(
				ctx,
				"'%s' is not a valid host route destination.%s",
				dest, "");
		if (netaddr_parse_ipv4(hop, &a) < 0)
			return bad_input(
				ctx,
				"'%s' is not a valid host route nexthop.%s",
				hop, "");
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(list, j)))
				return bad_input(
					ctx, "duplicate host route to %s.%s",
					dest, "");
	}
	return 0;
}

/*
 * Validates a subnet's gateway, pools, nameservers and routes, filling the
 * gateway and pools when absent. 'sn' receives the parsed result.
 */
static int check_subnet(struct api_ctx *ctx, json_t *obj,
			struct ipam_subnet *sn)
{
	const char *cidr = api_str(obj, "cidr");
	json_t *gw = json_object_get(obj, "gateway_ip");
	json_t *pools = json_object_get(obj, "allocation_pools");

	memset(sn, 0, sizeof(*sn));
	sn->id = api_str(obj, "id");
	if (netaddr_parse_cidr4(cidr, false, &sn->net, &sn->prefix) < 0)
		return bad_input(ctx, "'%s' is not a valid IPv4 subnet.%s",
				 cidr, "");
	if (sn->net & ~netaddr_mask(sn->prefix)) {
		char net[NETADDR_IPV4_STRLEN], suggestion[32];

		netaddr_format_ipv4(sn->net & netaddr_mask(sn->prefix), net);
		snprintf(suggestion, sizeof(suggestion), "%s/%d", net,
			 sn->prefix);
		return bad_input(
			ctx,
			"'%s' isn't a recognized IP subnet cidr, '%s' is recommended.",
			cidr, suggestion);
	}
	if (!gw) {
		uint32_t first, last;

		ipam_host_range(sn->net, sn->prefix, &first, &last);
		sn->gateway = first;
		sn->has_gateway = true;
		json_object_set_new(obj, "gateway_ip", json_null());
		if (first <= last) {
			char buf[NETADDR_IPV4_STRLEN];

			netaddr_format_ipv4(first, buf);
			json_object_set_new(obj, "gateway_ip",
					    json_string(buf));
		} else {
			sn->has_gateway = false;
		}
	} else if (!json_is_null(gw)) {
		if (parse_host(ctx, sn, "gateway_ip", gw, &sn->gateway) < 0)
			return -1;
		sn->has_gateway = true;
	}

	if (pools) {
		if (check_pools(ctx, pools, sn) < 0)
			return -1;
		if (sn->has_gateway && ipam_in_pools(sn, sn->gateway))
			return api_fail(
				&ctx->err, 409,
				"GatewayConflictWithAllocationPools",
				"Gateway ip %s conflicts with allocation pool",
				api_str(obj, "gateway_ip"));
	} else {
		ipam_default_pools(sn);
	}
	json_object_set_new(obj, "allocation_pools", ipam_pools_to_json(sn));

	if (check_dns(ctx, json_object_get(obj, "dns_nameservers")) < 0 ||
	    check_routes(ctx, json_object_get(obj, "host_routes")) < 0)
		return -1;
	return 0;
}

struct overlap_check {
	const char *self;
	uint32_t net;
	int prefix;
	const char *other;
	char *other_buf;
};

static int find_overlap(json_t *subnet, void *data)
{
	struct overlap_check *oc = data;
	uint32_t net;
	int prefix;

	if (!strcmp(api_str(subnet, "id"), oc->self))
		return 0;
	if (netaddr_parse_cidr4(api_str(subnet, "cidr"), true, &net, &prefix) <
	    0)
		return 0;
	if (netaddr_prefixes_overlap(net, prefix, oc->net, oc->prefix)) {
		snprintf(oc->other_buf, 64, "%s", api_str(subnet, "cidr"));
		return 1;
	}
	return 0;
}

static int subnet_create(struct api_ctx *ctx, json_t *obj)
{
	const char *network_id = api_str(obj, "network_id");
	json_int_t version =
		json_integer_value(json_object_get(obj, "ip_version"));
	char other[64] = "";
	struct ipam_subnet sn;
	struct overlap_check oc;
	struct store_query q = { .kind = "subnet", .parent_id = network_id };
	json_t *network, *subnets;
	int r;

	network = api_find(ctx, &api_networks, network_id);
	if (!network)
		return -1;
	if (!api_owns(ctx, network)) {
		json_decref(network);
		return api_fail(
			&ctx->err, 403, "PolicyNotAuthorized",
			"(rule:create_subnet) is disallowed by policy: only the network's owner may add subnets");
	}
	if (version == 6)
		r = bad_input(ctx,
			      "IPv6 subnets are not supported by weft yet.%s",
			      "", NULL);
	else if (version != 4)
		r = api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"Invalid input for ip_version. Reason: %" JSON_INTEGER_FORMAT
			" is not in [4, 6].",
			version);
	else if (!json_is_null(json_object_get(obj, "subnetpool_id")))
		r = bad_input(
			ctx,
			"subnet pools are not supported by weft; give a cidr.%s",
			"", NULL);
	else if (!json_is_null(json_object_get(obj, "ipv6_ra_mode")) ||
		 !json_is_null(json_object_get(obj, "ipv6_address_mode")))
		r = bad_input(
			ctx,
			"ipv6_ra_mode and ipv6_address_mode apply to IPv6 subnets only.%s",
			"", NULL);
	else
		r = check_subnet(ctx, obj, &sn);
	if (r < 0)
		goto out;

	oc = (struct overlap_check){ api_str(obj, "id"), sn.net, sn.prefix,
				     NULL, other };
	r = store_list(ctx->store, &q, find_overlap, &oc);
	if (r > 0) {
		r = api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet (%s).",
			api_str(obj, "cidr"), network_id, other);
		goto out;
	}
	if (r < 0) {
		r = api_fail(&ctx->err, 500, "HTTPInternalServerError",
			     "The store failed to list subnets");
		goto out;
	}
	subnets = json_object_get(network, "subnets");
	json_array_append_new(subnets, json_string(api_str(obj, "id")));
	r = api_touch(ctx, &api_networks, network);
out:
	json_decref(network);
	return r;
}

static int subnet_update(struct api_ctx *ctx, json_t *old, json_t *obj,
			 json_t *changes)
{
	struct ipam_subnet sn;
	char owner[40];
	json_t *gw = json_object_get(obj, "gateway_ip");

	if (check_subnet(ctx, obj, &sn) < 0)
		return -1;
	/* A new gateway must not be an address a port already holds. */
	if (json_object_get(changes, "gateway_ip") && json_is_string(gw) &&
	    !json_equal(gw, json_object_get(old, "gateway_ip")) &&
	    store_ip_owner(ctx->store, sn.id, sn.gateway, owner,
			   sizeof(owner)) == 0)
		return api_fail(
			&ctx->err, 409, "GatewayIpInUse",
			"Current gateway ip %s already in use by port %s. Unable to update.",
			json_string_value(gw), owner);
	return 0;
}

static int subnet_remove(struct api_ctx *ctx, json_t *obj)
{
	const char *id = api_str(obj, "id");
	int64_t used = 0;
	json_t *network, *subnets, *v;
	size_t i;
	int r;

	if (store_ip_count(ctx->store, id, &used) < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to count allocations");
	if (used > 0)
		return api_fail(
			&ctx->err, 409, "SubnetInUse",
			"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet.",
			id);
	network = store_get(ctx->store, "network", api_str(obj, "network_id"));
	if (!network)
		return 0;
	subnets = json_object_get(network, "subnets");
	json_array_foreach(subnets, i, v) {
		if (!strcmp(json_string_value(v), id)) {
			json_array_remove(subnets, i);
			break;
		}
	}
	r = api_touch(ctx, &api_networks, network);
	json_decref(network);
	return r;
}

/* A subnet is visible to its owner and, on a shared or external network,
 * to all. */
static bool subnet_visible(struct api_ctx *ctx, json_t *obj)
{
	json_t *network;
	bool shared;

	if (api_owns(ctx, obj))
		return true;
	network = store_get(ctx->store, "network", api_str(obj, "network_id"));
	shared = api_bool(network, "shared") ||
		 api_bool(network, "router:external");
	json_decref(network);
	return shared;
}

const struct api_resource api_subnets = {
	.member = "subnet",
	.collection = "subnets",
	.title = "Subnet",
	.attrs = subnet_attrs,
	.parent_attr = "network_id",
	.allow_create = true,
	.create = subnet_create,
	.update = subnet_update,
	.remove = subnet_remove,
	.visible = subnet_visible,
};
