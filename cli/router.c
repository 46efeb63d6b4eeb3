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
 * weftctl router: the routers that join subnets; every weft router is
 * distributed, each host routing for its own VMs (docs/routing.md).
 * Besides the common verbs: "add subnet|port" and "remove subnet|port"
 * (its interfaces), "set --route" and "unset --route" (its static routes),
 * "set --external-gateway" and "unset --external-gateway" (its gateway on
 * an external network, docs/gateways.md).
 */

static const struct output_column router_columns[] = {
	{ "ID", "id", NULL },
	{ "Name", "name", NULL },
	{ "Status", "status", NULL },
	{ "State", "admin_state_up", NULL },
	{ "Routes", "routes", "destination" },
	{ "Project", "project_id", NULL },
};

static const struct noun_option router_create_options[] = {
	NOUN_COMMON_ADMIN_STATE,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option router_update_options[] = {
	NOUN_COMMON_NAME,
	NOUN_COMMON_ADMIN_STATE,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option router_list_options[] = {
	NOUN_COMMON_NAME_FILTER,
	{ 0 },
};

#define ROUTER_ROUTE(text)                                                     \
	{                                                                      \
		.name = "route", .kind = NOUN_OPTION_APPEND, .attr = "routes", \
		.metavar = "destination=CIDR,gateway=IP", .help = text         \
	}

static const struct noun_option router_set_options[] = {
	ROUTER_ROUTE("adds a static route to CIDR through IP, which must be "
		     "on one of the router's subnets; repeat for several"),
	{ .name = "no-route",
	  .kind = NOUN_OPTION_TRUE,
	  .attr = "no_route",
	  .help = "removes every static route first" },
	{ .name = "external-gateway",
	  .kind = NOUN_OPTION_REFERENCE,
	  .attr = "network_id",
	  .metavar = "NETWORK",
	  .help = "gives the router a gateway on external network NETWORK "
		  "(docs/gateways.md)",
	  .ref = &network_noun },
	{ .name = "fixed-ip",
	  .kind = NOUN_OPTION_FIXED_IP,
	  .attr = "external_fixed_ips",
	  .metavar = "subnet=SUBNET,ip-address=IP",
	  .help = "the gateway's address (either or both); with "
		  "--external-gateway",
	  .ref = &subnet_noun },
	{ .name = "disable-snat",
	  .kind = NOUN_OPTION_FALSE,
	  .attr = "enable_snat",
	  .help = "VMs without a floating IP reach the outside with their "
		  "own address; with --external-gateway" },
	{ .name = "enable-snat",
	  .kind = NOUN_OPTION_TRUE,
	  .attr = "enable_snat",
	  .help = "VMs without a floating IP go out with the router's "
		  "address (the default); with --external-gateway" },
	{ 0 },
};

static const struct noun_option router_unset_options[] = {
	ROUTER_ROUTE("removes the static route to CIDR through IP; repeat for "
		     "several"),
	{ .name = "external-gateway",
	  .kind = NOUN_OPTION_TRUE,
	  .attr = "clear_gateway",
	  .help = "removes the router's external gateway" },
	{ 0 },
};

/* "router add|remove subnet|port ROUTER SUBNET|PORT". */
static int router_interface(struct noun_context *ctx, const struct noun *noun,
			    const char *command, char **words, bool add)
{
	json_auto_t *router = NULL, *target = NULL, *body = NULL;
	const struct noun *kind;
	const char *member;
	int r;

	if (!strcmp(words[0], "subnet")) {
		kind = &subnet_noun;
		member = "subnet_id";
	} else if (!strcmp(words[0], "port")) {
		kind = &port_noun;
		member = "port_id";
	} else {
		return noun_usage_error(
			command, "'%s' is neither subnet nor port", words[0]);
	}
	r = noun_resolve(ctx, noun, words[1], &router);
	if (r == 0)
		r = noun_resolve(ctx, kind, words[2], &target);
	if (r < 0)
		return r;
	body = json_pack("{s:O}", member, json_object_get(target, "id"));
	if (!body)
		return -ENOMEM;
	return noun_put(ctx, noun, router,
			add ? "add_router_interface" :
			      "remove_router_interface",
			body, NULL);
}

static int router_add(struct noun_context *ctx, const struct noun *noun,
		      const char *command, char **words, int n_words,
		      json_t *attrs)
{
	return router_interface(ctx, noun, command, words, true);
}

static int router_remove(struct noun_context *ctx, const struct noun *noun,
			 const char *command, char **words, int n_words,
			 json_t *attrs)
{
	return router_interface(ctx, noun, command, words, false);
}

/* Parses the arguments of --route, "destination=CIDR,gateway=IP", into
 * [{"destination", "nexthop"}]. */
static int parse_routes(const char *command, json_t *args, json_t **ret)
{
	json_auto_t *routes = json_array();
	json_t *arg;
	size_t i;

	if (!routes)
		return -ENOMEM;
	json_array_foreach(args, i, arg) {
		_cleanup_free_ char *copy = strdup(json_string_value(arg));
		const char *dest = NULL, *gw = NULL;
		char *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *part = strtok_r(copy, ",", &save); part;
		     part = strtok_r(NULL, ",", &save)) {
			char *value = strchr(part, '=');

			if (!value)
				break;
			*value++ = '\0';
			if (!strcmp(part, "destination") && !dest)
				dest = value;
			else if (!strcmp(part, "gateway") && !gw)
				gw = value;
			else
				dest = gw = NULL;
			if (!dest && !gw)
				break;
		}
		if (!dest || !gw || !*dest || !*gw)
			return noun_usage_error(
				command,
				"--route takes destination=CIDR,gateway=IP, not '%s'",
				json_string_value(arg));
		if (json_array_append_new(routes,
					  json_pack("{s:s, s:s}", "destination",
						    dest, "nexthop", gw)) < 0)
			return -ENOMEM;
	}
	*ret = json_incref(routes);
	return 0;
}

/* Parses the --route values 'given' and sends them as {"router": {"routes":
 * [...]}} to ROUTER 'name': as an update when 'action' is NULL, else to the
 * member action 'action'. */
static int send_routes(struct noun_context *ctx, const struct noun *noun,
		       const char *command, const char *name, json_t *given,
		       const char *action)
{
	json_auto_t *router = NULL, *routes = NULL, *body = NULL;
	int r = parse_routes(command, given, &routes);

	if (r == 0)
		r = noun_resolve(ctx, noun, name, &router);
	if (r < 0)
		return r;
	body = json_pack("{s:{s:O}}", "router", "routes", routes);
	if (!body)
		return -ENOMEM;
	return noun_put(ctx, noun, router, action, body, "router");
}

/* Sets the external_gateway_info of ROUTER 'name' to 'info' (stolen; null
 * clears it) and shows the router. */
static int send_gateway(struct noun_context *ctx, const struct noun *noun,
			const char *name, json_t *info)
{
	json_auto_t *router = NULL, *body = NULL;
	int r = noun_resolve(ctx, noun, name, &router);

	if (r < 0) {
		json_decref(info);
		return r;
	}
	body = json_pack("{s:{s:o}}", "router", "external_gateway_info", info);
	if (!body)
		return -ENOMEM;
	return noun_put(ctx, noun, router, NULL, body, "router");
}

/* "router set ROUTER --external-gateway NET [--fixed-ip ...]
 * [--disable-snat]": the gateway's info from the options 'attrs'. */
static int router_set_gateway(struct noun_context *ctx, const struct noun *noun,
			      const char *command, const char *name,
			      json_t *attrs)
{
	json_t *net = json_object_get(attrs, "network_id");
	json_t *info;

	if (!net)
		return noun_usage_error(
			command,
			"--fixed-ip, --disable-snat and --enable-snat go with --external-gateway");
	if (json_object_get(attrs, "routes") ||
	    json_object_get(attrs, "no_route"))
		return noun_usage_error(
			command,
			"set the gateway and the routes in two commands");
	info = json_pack("{s:O}", "network_id", net);
	if (!info)
		return -ENOMEM;
	if (json_object_get(attrs, "enable_snat"))
		json_object_set(info, "enable_snat",
				json_object_get(attrs, "enable_snat"));
	if (json_object_get(attrs, "external_fixed_ips"))
		json_object_set(info, "external_fixed_ips",
				json_object_get(attrs, "external_fixed_ips"));
	return send_gateway(ctx, noun, name, info);
}

static int router_set(struct noun_context *ctx, const struct noun *noun,
		      const char *command, char **words, int n_words,
		      json_t *attrs)
{
	bool clear = json_is_true(json_object_get(attrs, "no_route"));
	json_t *given = json_object_get(attrs, "routes");

	if (json_object_get(attrs, "network_id") ||
	    json_object_get(attrs, "enable_snat") ||
	    json_object_get(attrs, "external_fixed_ips"))
		return router_set_gateway(ctx, noun, command, words[0], attrs);
	if (!clear && !given)
		return noun_usage_error(
			command,
			"nothing to change: give --route, --no-route or --external-gateway");
	/* Replacing the list (--no-route) is an update; adding to it is
	 * add_extraroutes, which weftd does atomically. */
	return send_routes(ctx, noun, command, words[0], given,
			   clear ? NULL : "add_extraroutes");
}

static int router_unset(struct noun_context *ctx, const struct noun *noun,
			const char *command, char **words, int n_words,
			json_t *attrs)
{
	json_t *given = json_object_get(attrs, "routes");
	bool clear_gateway =
		json_is_true(json_object_get(attrs, "clear_gateway"));

	if (clear_gateway && given)
		return noun_usage_error(
			command,
			"unset the gateway and the routes in two commands");
	if (clear_gateway)
		return send_gateway(ctx, noun, words[0], json_null());
	if (!given)
		return noun_usage_error(
			command,
			"nothing to change: give --route or --external-gateway");
	return send_routes(ctx, noun, command, words[0], given,
			   "remove_extraroutes");
}

static const struct noun_verb router_verbs[] = {
	{ .name = "add",
	  .summary = "Gives the router an interface on a subnet (at the "
		     "subnet's gateway address) or on a port.",
	  .operands = "subnet|port ROUTER SUBNET|PORT",
	  .min_operands = 3,
	  .max_operands = 3,
	  .run_words = router_add },
	{ .name = "remove",
	  .summary = "Removes the router's interface on a subnet or port "
		     "(its port is deleted).",
	  .operands = "subnet|port ROUTER SUBNET|PORT",
	  .min_operands = 3,
	  .max_operands = 3,
	  .run_words = router_remove },
	{ .name = "set",
	  .summary = "Adds static routes to the router, or replaces them; or "
		     "sets its external gateway.",
	  .operands = "ROUTER",
	  .min_operands = 1,
	  .max_operands = 1,
	  .options = router_set_options,
	  .run_words = router_set },
	{ .name = "unset",
	  .summary = "Removes static routes, or the external gateway, from "
		     "the router.",
	  .operands = "ROUTER",
	  .min_operands = 1,
	  .max_operands = 1,
	  .options = router_unset_options,
	  .run_words = router_unset },
	{ 0 },
};

const struct noun router_noun = {
	.name = "router",
	.collection = "routers",
	.summary = "Distributed routers joining subnets, with static routes.",
	.name_attr = "name",
	NOUN_COLUMNS(router_columns),
	.create_options = router_create_options,
	.update_options = router_update_options,
	.list_options = router_list_options,
	.extra_verbs = router_verbs,
};
