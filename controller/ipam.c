/* SPDX-License-Identifier: Apache-2.0 */
#include "ipam.h"

#include <errno.h>
#include <string.h>

#include "netaddr.h"

void ipam_host_range(uint32_t net, int prefix, uint32_t *first, uint32_t *last)
{
	uint32_t mask = netaddr_mask(prefix);

	*first = net & mask;
	*last = (net & mask) | ~mask;
	if (prefix <= 30) {
		(*first)++;
		(*last)--;
	}
}

void ipam_default_pools(struct ipam_subnet *sn)
{
	uint32_t first, last;

	ipam_host_range(sn->net, sn->prefix, &first, &last);
	sn->n_pools = 0;
	if (!sn->has_gateway || sn->gateway < first || sn->gateway > last) {
		sn->pools[sn->n_pools++] = (struct ipam_pool){ first, last };
		return;
	}
	if (sn->gateway > first)
		sn->pools[sn->n_pools++] =
			(struct ipam_pool){ first, sn->gateway - 1 };
	if (sn->gateway < last)
		sn->pools[sn->n_pools++] =
			(struct ipam_pool){ sn->gateway + 1, last };
}

int ipam_subnet_parse(json_t *subnet, struct ipam_subnet *ret)
{
	struct ipam_subnet sn = { 0 };
	const char *gw;
	json_t *pools, *pool;
	size_t i;

	sn.id = json_string_value(json_object_get(subnet, "id"));
	if (netaddr_parse_cidr4(
		    json_string_value(json_object_get(subnet, "cidr")), true,
		    &sn.net, &sn.prefix) < 0)
		return -EINVAL;
	gw = json_string_value(json_object_get(subnet, "gateway_ip"));
	if (gw) {
		if (netaddr_parse_ipv4(gw, &sn.gateway) < 0)
			return -EINVAL;
		sn.has_gateway = true;
	}
	pools = json_object_get(subnet, "allocation_pools");
	if (json_array_size(pools) > IPAM_MAX_POOLS)
		return -EINVAL;
	json_array_foreach(pools, i, pool) {
		struct ipam_pool *p = &sn.pools[sn.n_pools++];

		if (netaddr_parse_ipv4(
			    json_string_value(json_object_get(pool, "start")),
			    &p->first) < 0 ||
		    netaddr_parse_ipv4(
			    json_string_value(json_object_get(pool, "end")),
			    &p->last) < 0)
			return -EINVAL;
	}
	*ret = sn;
	return 0;
}

json_t *ipam_pools_to_json(const struct ipam_subnet *sn)
{
	json_t *list = json_array();

	for (size_t i = 0; i < sn->n_pools; i++) {
		char a[NETADDR_IPV4_STRLEN], b[NETADDR_IPV4_STRLEN];

		netaddr_format_ipv4(sn->pools[i].first, a);
		netaddr_format_ipv4(sn->pools[i].last, b);
		json_array_append_new(
			list, json_pack("{s:s, s:s}", "start", a, "end", b));
	}
	return list;
}

bool ipam_in_pools(const struct ipam_subnet *sn, uint32_t ip)
{
	for (size_t i = 0; i < sn->n_pools; i++)
		if (ip >= sn->pools[i].first && ip <= sn->pools[i].last)
			return true;
	return false;
}

/* Finds a free address: first above the highest allocation, then anywhere. */
static int find_free(struct store *s, const struct ipam_subnet *sn,
		     uint32_t *ret)
{
	uint32_t lo = 0, hi = 0xffffffffu, top;
	bool any = false;
	int r;

	for (size_t i = 0; i < sn->n_pools; i++) {
		lo = sn->pools[i].first < lo || !any ? sn->pools[i].first : lo;
		hi = !any || sn->pools[i].last > hi ? sn->pools[i].last : hi;
		any = true;
	}
	if (!any)
		return -ENOSPC;

	r = store_ip_highest(s, sn->id, lo, hi, &top);
	if (r == 0 && top < hi) {
		for (size_t i = 0; i < sn->n_pools; i++) {
			const struct ipam_pool *p = &sn->pools[i];
			uint32_t from = top + 1 > p->first ? top + 1 : p->first;

			if (from > p->last)
				continue;
			r = store_ip_first_free(s, sn->id, from, p->last, ret);
			if (r != -ENOSPC)
				return r;
		}
	} else if (r < 0 && r != -ENOENT) {
		return r;
	}
	for (size_t i = 0; i < sn->n_pools; i++) {
		r = store_ip_first_free(s, sn->id, sn->pools[i].first,
					sn->pools[i].last, ret);
		if (r != -ENOSPC)
			return r;
	}
	return -ENOSPC;
}

int ipam_allocate(struct store *s, const struct ipam_subnet *sn,
		  const char *port_id, uint32_t *ret)
{
	uint32_t ip;
	int r;

	r = find_free(s, sn, &ip);
	if (r < 0)
		return r;
	r = store_ip_claim(s, sn->id, ip, port_id);
	if (r < 0)
		return r;
	*ret = ip;
	return 0;
}
