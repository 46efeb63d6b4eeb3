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
 * (its interfaces), "set --route" and "unset --route" (its static routes).
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
	{ 0 },
};

static const struct noun_option router_unset_options[] = {
	ROUTER_ROUTE("removes the static route to CIDR through IP; repeat for "
		     "several"),
	{ 0 },
};

/* Sends {"KEY": body...} with PUT to the router's 'action' (NULL: the
 * router itself) and shows member 'show' of the answer (NULL: all). */
static int router_put(struct noun_context *ctx, const struct noun *noun,
		      json_t *router, const char *action, json_t *body,
		      const char *show)
{
	_cleanup_free_ char *base = NULL, *path = NULL;
	json_auto_t *answer = NULL;
	json_t *shown;
	int r;

	base = noun_resource_path(
		ctx, noun, json_string_value(json_object_get(router, "id")));
	if (!base)
		return -ENOMEM;
	if (action && asprintf(&path, "%s/%s", base, action) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = noun_request(ctx, "PUT", path ? path : base, body, &answer);
	if (r < 0)
		return r;
	shown = show ? json_object_get(answer, show) : answer;
	if (!json_is_object(shown)) {
		fprintf(stderr, "weftctl: error: weftd's answer lacks \"%s\"\n",
			show ? show : "an object");
		return -EBADMSG;
	}
	return output_resource(stdout, ctx->format, shown);
}

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
	return router_put(ctx, noun, router,
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
	return router_put(ctx, noun, router, action, body, "router");
}

static int router_set(struct noun_context *ctx, const struct noun *noun,
		      const char *command, char **words, int n_words,
		      json_t *attrs)
{
	bool clear = json_is_true(json_object_get(attrs, "no_route"));
	json_t *given = json_object_get(attrs, "routes");

	if (!clear && !given)
		return noun_usage_error(
			command,
			"nothing to change: give --route or --no-route");
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

	if (!given)
		return noun_usage_error(command,
					"nothing to change: give --route");
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
	  .summary = "Adds static routes to the router, or replaces them.",
	  .operands = "ROUTER",
	  .min_operands = 1,
	  .max_operands = 1,
	  .options = router_set_options,
	  .run_words = router_set },
	{ .name = "unset",
	  .summary = "Removes static routes from the router.",
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
