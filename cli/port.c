/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noun.h"

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))

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
#define PORT_SECURITY_GROUP(text)                                     \
	{                                                             \
		.name = "security-group", .kind = NOUN_OPTION_APPEND, \
		.attr = "security_groups", .metavar = "GROUP",        \
		.ref = &secgroup_noun, .help = text                   \
	}
#define PORT_NO_SECURITY_GROUP                                               \
	{                                                                    \
		.name = "no-security-group", .kind = NOUN_OPTION_EMPTY_LIST, \
		.attr = "security_groups",                                   \
		.help = "gives it no security group (not even the default)"  \
	}
#define PORT_SECURITY(flag, value, text)                                      \
	{                                                                     \
		.name = flag, .kind = value, .attr = "port_security_enabled", \
		.help = text                                                  \
	}
#define PORT_SECURITY_OPTIONS                                                 \
	PORT_SECURITY("enable-port-security", NOUN_OPTION_TRUE,               \
		      "checks its source addresses and applies its security " \
		      "groups (the default)"),                                \
		PORT_SECURITY(                                                \
			"disable-port-security", NOUN_OPTION_FALSE,           \
			"lets it send from any address, without security "    \
			"groups (give --no-security-group as well when "      \
			"it has some)")
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
	PORT_SECURITY_GROUP("a security group (name or id) of the port; "
			    "repeat for several (default: the project's "
			    "default group)"),
	PORT_NO_SECURITY_GROUP,
	PORT_SECURITY_OPTIONS,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option port_update_options[] = {
	NOUN_COMMON_NAME,
	PORT_HOST,
	PORT_MAC,
	PORT_FIXED_IP,
	PORT_NO_FIXED_IPS,
	PORT_SECURITY_GROUP("a security group (name or id) of the port; "
			    "repeat for several; an update replaces them all"),
	PORT_NO_SECURITY_GROUP,
	PORT_SECURITY_OPTIONS,
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

/* weftctl port stats PORT: the port's counters, read by the agent of its
 * host from the datapath (GET /v2.0/ports/ID/stats). The table has one row
 * per counter, then one per drop reason ("drops: REASON"). */
static int port_stats(struct noun_context *ctx, const struct noun *noun,
		      json_t *port)
{
	_cleanup_free_ char *path = NULL, *base = NULL;

	base = noun_resource_path(
		ctx, noun, json_string_value(json_object_get(port, "id")));
	if (!base || asprintf(&path, "%s/stats", base) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	return noun_show_stats(ctx, path, false);
}

static const struct noun_verb port_verbs[] = {
	{ "stats",
	  "Shows the traffic counters and drops by reason of one port, as "
	  "the agent of its host reads them.",
	  port_stats },
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
	.extra_verbs = port_verbs,
};
