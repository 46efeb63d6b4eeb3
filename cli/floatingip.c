/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "noun.h"

/*
 * weftctl floating ip: addresses of external networks translated 1:1 to a
 * port's fixed IP by every gateway (docs/gateways.md). A floating IP is
 * named by its id or its address. Besides create, list, show and delete:
 * "set --port" associates it, "unset --port" disassociates it.
 */

static const struct output_column floatingip_columns[] = {
	{ "ID", "id", NULL },
	{ "Floating IP Address", "floating_ip_address", NULL },
	{ "Fixed IP Address", "fixed_ip_address", NULL },
	{ "Port", "port_id", NULL },
	{ "Router", "router_id", NULL },
	{ "Status", "status", NULL },
	{ "Project", "project_id", NULL },
};

static const struct noun_option floatingip_network_operand = {
	.name = "network",
	.kind = NOUN_OPTION_REFERENCE,
	.attr = "floating_network_id",
	.metavar = "NETWORK",
	.help = "the external network (name or id) whose address it takes",
	.ref = &network_noun,
};

#define FLOATINGIP_PORT(text)                                       \
	{                                                           \
		.name = "port", .kind = NOUN_OPTION_REFERENCE,      \
		.attr = "port_id", .metavar = "PORT", .help = text, \
		.ref = &port_noun                                   \
	}
#define FLOATINGIP_FIXED_IP                                                 \
	{                                                                   \
		.name = "fixed-ip-address", .kind = NOUN_OPTION_STRING,     \
		.attr = "fixed_ip_address", .metavar = "IP",                \
		.help = "the port's address it translates to (needed when " \
			"the port has several)"                             \
	}

static const struct noun_option floatingip_create_options[] = {
	FLOATINGIP_PORT("associates it with PORT (name or id) at once"),
	FLOATINGIP_FIXED_IP,
	{ .name = "floating-ip-address",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "floating_ip_address",
	  .metavar = "IP",
	  .help = "takes this address of the network rather than the next "
		  "free one" },
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option floatingip_list_options[] = {
	{ .name = "network",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "floating_network_id",
	  .metavar = "NETWORK",
	  .help = "only those of NETWORK",
	  .ref = &network_noun },
	FLOATINGIP_PORT("only that of PORT"),
	{ .name = "router",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "router_id",
	  .metavar = "ROUTER",
	  .help = "only those translated through ROUTER",
	  .ref = &router_noun },
	{ .name = "floating-ip-address",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "floating_ip_address",
	  .metavar = "IP",
	  .help = "only the one with this address" },
	{ .name = "fixed-ip-address",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "fixed_ip_address",
	  .metavar = "IP",
	  .help = "only the one translated to this fixed IP" },
	{ .name = "status",
	  .kind = NOUN_OPTION_CHOICE,
	  .attr = "status",
	  .metavar = "ACTIVE|DOWN",
	  .choices = (const char *const[]){ "ACTIVE", "DOWN", NULL },
	  .help = "only the associated (ACTIVE) or free (DOWN) ones" },
	{ 0 },
};

static const struct noun_option floatingip_set_options[] = {
	FLOATINGIP_PORT("associates it with PORT (name or id)"),
	FLOATINGIP_FIXED_IP,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option floatingip_unset_options[] = {
	{ .name = "port",
	  .kind = NOUN_OPTION_TRUE,
	  .attr = "unset_port",
	  .help = "disassociates it from its port",
	  .required = true },
	{ 0 },
};

/* Sends {"floatingip": 'attrs'} with PUT to floating IP 'ref' and shows
 * the result. */
static int floatingip_put(struct noun_context *ctx, const struct noun *noun,
			  const char *ref, json_t *attrs)
{
	json_auto_t *fip = NULL, *body = NULL;
	int r = noun_resolve(ctx, noun, ref, &fip);

	if (r < 0)
		return r;
	body = json_pack("{s:O}", noun->name, attrs);
	if (!body)
		return -ENOMEM;
	return noun_put(ctx, noun, fip, NULL, body, noun->name);
}

static int floatingip_set(struct noun_context *ctx, const struct noun *noun,
			  const char *command, char **words, int n_words,
			  json_t *attrs)
{
	if (!json_object_size(attrs))
		return noun_usage_error(
			command,
			"nothing to change: give --port, --fixed-ip-address or --description");
	return floatingip_put(ctx, noun, words[0], attrs);
}

static int floatingip_unset(struct noun_context *ctx, const struct noun *noun,
			    const char *command, char **words, int n_words,
			    json_t *attrs)
{
	json_auto_t *change = json_pack("{s:n}", "port_id");

	if (!change)
		return -ENOMEM;
	return floatingip_put(ctx, noun, words[0], change);
}

static const struct noun_verb floatingip_verbs[] = {
	{ .name = "set",
	  .summary = "Associates the floating IP with a port, or changes its "
		     "description.",
	  .operands = "FLOATING_IP",
	  .min_operands = 1,
	  .max_operands = 1,
	  .options = floatingip_set_options,
	  .run_words = floatingip_set },
	{ .name = "unset",
	  .summary = "Disassociates the floating IP from its port.",
	  .operands = "FLOATING_IP",
	  .min_operands = 1,
	  .max_operands = 1,
	  .options = floatingip_unset_options,
	  .run_words = floatingip_unset },
	{ 0 },
};

const struct noun floatingip_noun = {
	.name = "floatingip",
	.collection = "floatingips",
	.words = "floating ip",
	.plural = "floating ips",
	.summary = "Addresses of external networks translated to ports' fixed "
		   "IPs by the gateways.",
	.name_attr = "floating_ip_address",
	NOUN_COLUMNS(floatingip_columns),
	.create_operand = &floatingip_network_operand,
	.absent_verbs = NOUN_VERB_UPDATE,
	.refusal = "floating ips are changed with 'floating ip set' and "
		   "'floating ip unset'",
	.create_options = floatingip_create_options,
	.list_options = floatingip_list_options,
	.extra_verbs = floatingip_verbs,
};
