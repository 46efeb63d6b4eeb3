/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl network: the tenants' layer-2 segments, each carried over VXLAN
 * with its own VNI.
 */

static const struct output_column network_columns[] = {
	{ "ID", "id", NULL },
	{ "Name", "name", NULL },
	{ "VNI", "provider:segmentation_id", NULL },
	{ "MTU", "mtu", NULL },
	{ "Subnets", "subnets", NULL },
	{ "Shared", "shared", NULL },
};

#define NETWORK_MTU                                                           \
	{                                                                     \
		.name = "mtu", .kind = NOUN_OPTION_INTEGER, .attr = "mtu",    \
		.metavar = "N", .help = "the MTU of its ports (default 1450)" \
	}
#define NETWORK_SHARED(flag, value, text)                                   \
	{                                                                   \
		.name = flag, .kind = value, .attr = "shared", .help = text \
	}

#define NETWORK_EXTERNAL(flag, value, text)                             \
	{                                                               \
		.name = flag, .kind = value, .attr = "router:external", \
		.help = text                                            \
	}

static const struct noun_option network_create_options[] = {
	NETWORK_MTU,
	NETWORK_EXTERNAL("external", NOUN_OPTION_TRUE,
			 "makes it an external network, for routers' "
			 "gateways and floating IPs (admin only)"),
	NETWORK_SHARED("shared", NOUN_OPTION_TRUE,
		       "lets every project use it (admin only)"),
	{ .name = "disable-port-security",
	  .kind = NOUN_OPTION_FALSE,
	  .attr = "port_security_enabled",
	  .help = "creates its ports without port security by default" },
	{ .name = "vni",
	  .kind = NOUN_OPTION_INTEGER,
	  .attr = "provider:segmentation_id",
	  .metavar = "N",
	  .help = "asks for VXLAN network identifier N (admin only)",
	  .implies = "{\"provider:network_type\": \"vxlan\"}" },
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option network_update_options[] = {
	NOUN_COMMON_NAME,
	NETWORK_MTU,
	NETWORK_SHARED("shared", NOUN_OPTION_TRUE,
		       "lets every project use it (admin only)"),
	NETWORK_SHARED("no-shared", NOUN_OPTION_FALSE,
		       "keeps it to its project (admin only)"),
	NETWORK_EXTERNAL("external", NOUN_OPTION_TRUE,
			 "makes it an external network (admin only)"),
	NETWORK_EXTERNAL("internal", NOUN_OPTION_FALSE,
			 "makes it an internal network again (admin only)"),
	NOUN_COMMON_DESCRIPTION,
	NOUN_COMMON_ADMIN_STATE,
	{ 0 },
};

static const struct noun_option network_list_options[] = {
	NOUN_COMMON_NAME_FILTER,
	NETWORK_EXTERNAL("external", NOUN_OPTION_TRUE,
			 "only the external networks"),
	{ 0 },
};

const struct noun network_noun = {
	.name = "network",
	.collection = "networks",
	.summary = "Virtual layer-2 networks, each a VXLAN segment.",
	.name_attr = "name",
	NOUN_COLUMNS(network_columns),
	.create_options = network_create_options,
	.update_options = network_update_options,
	.list_options = network_list_options,
};
