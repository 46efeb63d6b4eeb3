/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/*
 * IP address management for IPv4 subnets.
 *
 * The allocations themselves live in the store (one row per address, unique
 * per subnet), so IPAM keeps no state of its own and cannot drift from the
 * database after a rollback or a restart. To allocate, it continues after
 * the highest address already allocated in the subnet's pools — one index
 * lookup — and only when the top of the pools is used up does it walk the
 * allocations from the bottom to find a freed address. A freed address is
 * therefore reused late, as in Neutron, and creating ports in a /16 costs
 * the same at the 60,000th port as at the first.
 */

#define IPAM_MAX_POOLS 64

struct ipam_pool {
	uint32_t first, last; /* inclusive, host byte order */
};

/* The parsed form of a stored subnet. */
struct ipam_subnet {
	const char *id;
	uint32_t net;
	int prefix;
	bool has_gateway;
	uint32_t gateway;
	size_t n_pools;
	struct ipam_pool pools[IPAM_MAX_POOLS];
};

/* Parses a subnet document as stored ('cidr', 'gateway_ip',
 * 'allocation_pools'). 'ret->id' borrows from 'subnet'. Returns 0 or
 * -EINVAL. */
int ipam_subnet_parse(json_t *subnet, struct ipam_subnet *ret);

/* The lowest and highest addresses a port may hold in 'net'/'prefix': the
 * network and broadcast addresses are excluded for prefixes up to /30. */
void ipam_host_range(uint32_t net, int prefix, uint32_t *first, uint32_t *last);

/* Computes the default pools: the host range less the gateway. */
void ipam_default_pools(struct ipam_subnet *sn);

/* Builds the JSON list of {start, end} for the subnet's pools. */
json_t *ipam_pools_to_json(const struct ipam_subnet *sn);

/* Allocates a free address of the subnet's pools to 'port_id'. Returns 0
 * and sets 'ret', -ENOSPC when the pools are full, or another negative
 * errno from the store. */
int ipam_allocate(struct store *s, const struct ipam_subnet *sn,
		  const char *port_id, uint32_t *ret);

/* Whether 'ip' is in one of the subnet's pools. */
bool ipam_in_pools(const struct ipam_subnet *sn, uint32_t ip);
