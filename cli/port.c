/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl port: a VM's (or a service's) attachment to a network, with its
 * MAC and IP addresses and the host it is bound to.
 */

static const struct output_column port_columns[] = {
	{ "ID", "id", NULL },
	{ "Name", "name", NULL },
	{ "Network", "network_id", NULL },
	{ "MAC", "mac_address", NULL },
	{ "Fixed IPs", "fixed_ips", "ip_address" },
	{ "Host", "binding:host_id", NULL },
	{ "Status", "status", NULL },
};

#define PORT_MAC                                                       \
	{                                                              \
		.name = "mac", .kind = NOUN_OPTION_STRING,             \
		.attr = "mac_address", .metavar = "MAC",               \
		.help = "its MAC address (default: fa:16:3e:xx:xx:xx)" \
	}
#define PORT_FIXED_IP                                                         \
	{                                                                     \
		.name = "fixed-ip", .kind = NOUN_OPTION_FIXED_IP,             \
		.attr = "fixed_ips", .metavar = "subnet=SUBNET,ip=IP",        \
		.ref = &subnet_noun,                                          \
		.help = "an address: from SUBNET (name or id), IP, or both; " \
			"repeat for several; an update replaces them all"     \
	}
#define PORT_NO_FIXED_IPS                                               \
	{                                                               \
		.name = "no-fixed-ips", .kind = NOUN_OPTION_EMPTY_LIST, \
		.attr = "fixed_ips", .help = "gives it no address"      \
	}
#define PORT_HOST                                                         \
	{                                                                 \
		.name = "host", .kind = NOUN_OPTION_STRING,               \
		.attr = "binding:host_id", .metavar = "HOST",             \
		.help = "binds it to the weft-agent of HOST (admin only)" \
	}
#define PORT_DEVICE(flag, attribute, text)                                   \
	{                                                                    \
		.name = flag, .kind = NOUN_OPTION_STRING, .attr = attribute, \
		.metavar = "TEXT", .help = text                              \
	}

static const struct noun_option port_create_options[] = {
	NOUN_COMMON_NETWORK(true, "the network (name or id) it attaches to"),
	PORT_MAC,
	PORT_FIXED_IP,
	PORT_NO_FIXED_IPS,
	PORT_HOST,
	PORT_DEVICE("device-id", "device_id", "what uses it, as a VM's id"),
	PORT_DEVICE("device-owner", "device_owner",
		    "the kind of user, as compute:nova"),
	{ .name = "allowed-address",
	  .kind = NOUN_OPTION_APPEND_PAIR,
	  .attr = "allowed_address_pairs",
	  .metavar = "IP[,MAC]",
	  .keys = { "ip_address", "mac_address" },
	  .second_optional = true,
	  .help = "another address it may send from; repeat for several" },
	{ .name = "disable-port-security",
	  .kind = NOUN_OPTION_FALSE,
	  .attr = "port_security_enabled",
	  .help = "lets it send from any address" },
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option port_update_options[] = {
	NOUN_COMMON_NAME,
	PORT_HOST,
	PORT_MAC,
	PORT_FIXED_IP,
	PORT_NO_FIXED_IPS,
	NOUN_COMMON_ADMIN_STATE,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option port_list_options[] = {
	NOUN_COMMON_NETWORK(false, "only those of NETWORK (name or id)"),
	{ .name = "host",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "binding:host_id",
	  .metavar = "HOST",
	  .help = "only those bound to HOST" },
	NOUN_COMMON_NAME_FILTER,
	{ 0 },
};

const struct noun port_noun = {
	.name = "port",
	.collection = "ports",
	.summary = "Attachments of VMs and services to a network.",
	.name_attr = "name",
	NOUN_COLUMNS(port_columns),
	.create_options = port_create_options,
	.update_options = port_update_options,
	.list_options = port_list_options,
};
