/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl subnet: the IPv4 ranges of a network, from which ports get their
 * addresses, with what DHCP hands out along with them.
 */

static const struct output_column subnet_columns[] = {
	{ "ID", "id", NULL },
	{ "Name", "name", NULL },
	{ "Network", "network_id", NULL },
	{ "CIDR", "cidr", NULL },
	{ "Gateway", "gateway_ip", NULL },
	{ "DHCP", "enable_dhcp", NULL },
};

#define SUBNET_GATEWAY                                                      \
	{                                                                   \
		.name = "gateway", .kind = NOUN_OPTION_STRING_OR_NONE,      \
		.attr = "gateway_ip", .metavar = "IP|none",                 \
		.help = "the gateway (default: the first address), or none" \
	}
#define SUBNET_DNS                                                            \
	{                                                                     \
		.name = "dns", .kind = NOUN_OPTION_APPEND,                    \
		.attr = "dns_nameservers", .metavar = "IP",                   \
		.help = "a DNS server handed out by DHCP; repeat for several" \
	}
#define SUBNET_DHCP(flag, value, text)                              \
	{                                                           \
		.name = flag, .kind = value, .attr = "enable_dhcp", \
		.help = text                                        \
	}

static const struct noun_option subnet_create_options[] = {
	NOUN_COMMON_NETWORK(true, "the network (name or id) it belongs to"),
	{ .name = "cidr",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "cidr",
	  .metavar = "CIDR",
	  .required = true,
	  .help = "its range, as 10.0.0.0/24" },
	SUBNET_GATEWAY,
	{ .name = "pool",
	  .kind = NOUN_OPTION_APPEND_PAIR,
	  .attr = "allocation_pools",
	  .metavar = "START,END",
	  .keys = { "start", "end" },
	  .help = "a range that ports get addresses from; repeat for several "
		  "(default: the whole subnet)" },
	SUBNET_DHCP("no-dhcp", NOUN_OPTION_FALSE, "turns DHCP off"),
	SUBNET_DNS,
	{ .name = "route",
	  .kind = NOUN_OPTION_APPEND_PAIR,
	  .attr = "host_routes",
	  .metavar = "DEST,NEXTHOP",
	  .keys = { "destination", "nexthop" },
	  .help = "a route handed out by DHCP, as 10.1.0.0/16,10.0.0.254; "
		  "repeat for several" },
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option subnet_update_options[] = {
	NOUN_COMMON_NAME,
	SUBNET_GATEWAY,
	SUBNET_DNS,
	{ .name = "no-dns",
	  .kind = NOUN_OPTION_EMPTY_LIST,
	  .attr = "dns_nameservers",
	  .help = "removes every DNS server" },
	SUBNET_DHCP("dhcp", NOUN_OPTION_TRUE, "turns DHCP on"),
	SUBNET_DHCP("no-dhcp", NOUN_OPTION_FALSE, "turns DHCP off"),
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option subnet_list_options[] = {
	NOUN_COMMON_NETWORK(false, "only those of NETWORK (name or id)"),
	NOUN_COMMON_NAME_FILTER,
	{ 0 },
};

const struct noun subnet_noun = {
	.name = "subnet",
	.collection = "subnets",
	.summary = "IPv4 ranges of a network, with their DHCP settings.",
	.name_attr = "name",
	NOUN_COLUMNS(subnet_columns),
	.create_defaults = "{\"ip_version\": 4}",
	.create_options = subnet_create_options,
	.update_options = subnet_update_options,
	.list_options = subnet_list_options,
};
