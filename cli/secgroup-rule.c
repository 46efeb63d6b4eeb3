/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl security group rule: the rules of a security group. Each admits
 * the connections of one direction, protocol, port range and remote (a
 * prefix, the members of a group, or anyone); replies pass by themselves.
 * Rules are created and deleted, never changed, and only their id names
 * them. The arguments that weftd checks (protocol names, port bounds,
 * prefixes) are left to weftd, so that its message is the one shown.
 */

static const struct output_column rule_columns[] = {
	{ "ID", "id", NULL },
	{ "Group", "security_group_id", NULL },
	{ "Direction", "direction", NULL },
	{ "Ethertype", "ethertype", NULL },
	{ "Protocol", "protocol", NULL },
	{ "Port range", "port_range_min", NULL, "port_range_max", ":" },
	{ "Remote IP", "remote_ip_prefix", NULL },
	{ "Remote group", "remote_group_id", NULL },
};

static const char *const rule_directions[] = { "ingress", "egress", NULL };
static const char *const rule_ethertypes[] = { "IPv4", "IPv6", NULL };

static const struct noun_option rule_group_operand = {
	.name = "group",
	.kind = NOUN_OPTION_REFERENCE,
	.attr = "security_group_id",
	.metavar = "GROUP",
	.help = "the security group (name or id) that gets the rule",
	.ref = &secgroup_noun,
};

static const struct noun_option rule_create_options[] = {
	{ .name = "direction",
	  .kind = NOUN_OPTION_CHOICE,
	  .attr = "direction",
	  .metavar = "ingress|egress",
	  .choices = rule_directions,
	  .help = "ingress (the default) admits connections to the port, "
		  "egress connections from it" },
	{ .name = "ethertype",
	  .kind = NOUN_OPTION_CHOICE,
	  .attr = "ethertype",
	  .metavar = "IPv4|IPv6",
	  .choices = rule_ethertypes,
	  .help = "the IP version (default IPv4)" },
	{ .name = "protocol",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "protocol",
	  .metavar = "NAME|NUMBER|any",
	  .default_word = "any",
	  .help = "tcp, udp, icmp, ... or an IP protocol number (default: "
		  "any)" },
	{ .name = "dst-port",
	  .kind = NOUN_OPTION_RANGE,
	  .attr = "port_range_min",
	  .metavar = "PORT[:PORT]",
	  .keys = { "port_range_min", "port_range_max" },
	  .help = "the destination port, or a range such as 137:139 (tcp, "
		  "udp, sctp); for icmp TYPE or TYPE:CODE" },
	{ .name = "remote-ip",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "remote_ip_prefix",
	  .metavar = "CIDR",
	  .excludes = "remote-group",
	  .help = "admits only the remote addresses in CIDR" },
	{ .name = "remote-group",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "remote_group_id",
	  .metavar = "GROUP",
	  .ref = &secgroup_noun,
	  .help = "admits only the addresses of the ports in security group "
		  "GROUP (name or id)" },
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option rule_list_options[] = {
	{ .name = "group",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "security_group_id",
	  .metavar = "GROUP",
	  .ref = &secgroup_noun,
	  .help = "only the rules of security group GROUP (name or id)" },
	{ .name = "direction",
	  .kind = NOUN_OPTION_CHOICE,
	  .attr = "direction",
	  .metavar = "ingress|egress",
	  .choices = rule_directions,
	  .help = "only the rules of that direction" },
	{ 0 },
};

const struct noun secgroup_rule_noun = {
	.name = "security_group_rule",
	.collection = "security-group-rules",
	.list_key = "security_group_rules",
	.words = "security group rule",
	.plural = "security group rules",
	.summary = "The rules of security groups: each admits connections by "
		   "direction, protocol, port and remote.",
	NOUN_COLUMNS(rule_columns),
	.create_defaults = "{\"direction\": \"ingress\"}",
	.create_operand = &rule_group_operand,
	.absent_verbs = NOUN_VERB_UPDATE,
	.refusal = "security group rules cannot be changed: delete the rule "
		   "and create another",
	.create_options = rule_create_options,
	.list_options = rule_list_options,
};
