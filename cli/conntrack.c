/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl conntrack: the connections that the datapath of one host tracks
 * for its ports' security groups, as its agent reads them
 * (GET /v2.0/conntrack?host=H[&port_id=P], admin only). They are only
 * listed: weftd and the datapath make and end them.
 */

static const struct output_column conntrack_columns[] = {
	{ "Port", "port_id", NULL },
	{ "Direction", "direction", NULL },
	{ "Protocol", "protocol", NULL },
	{ "Source", "src", NULL },
	{ "Sport", "sport", NULL },
	{ "Destination", "dst", NULL },
	{ "Dport", "dport", NULL },
	{ "ICMP id", "icmp_id", NULL },
	{ "State", "state", NULL },
	{ "Expires in", "expires_in", NULL },
	{ "Packets orig/reply", "packets_orig", NULL, "packets_reply", "/" },
	{ "Bytes orig/reply", "bytes_orig", NULL, "bytes_reply", "/" },
};

static const struct noun_option conntrack_list_options[] = {
	{ .name = "host",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "host",
	  .metavar = "HOST",
	  .required = true,
	  .help = "the host whose agent is asked" },
	{ .name = "port",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "port_id",
	  .metavar = "PORT",
	  .ref = &port_noun,
	  .help = "only the connections of PORT (name or id)" },
	{ 0 },
};

const struct noun conntrack_noun = {
	.name = "conntrack",
	.collection = "conntrack",
	.plural = "conntrack entries",
	.summary = "The connections tracked by the datapath of a host for "
		   "security groups.",
	NOUN_COLUMNS(conntrack_columns),
	.absent_verbs = NOUN_VERB_CREATE | NOUN_VERB_SHOW | NOUN_VERB_UPDATE |
			NOUN_VERB_DELETE,
	.refusal = "conntrack entries are only listed: weftctl conntrack list "
		   "--host HOST [--port PORT]",
	.list_options = conntrack_list_options,
};
