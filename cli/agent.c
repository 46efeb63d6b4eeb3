/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "noun.h"

/*
 * weftctl agent: the weft-agent of each host. Agents register themselves
 * with weftd, so they are listed, shown, updated and deleted here, never
 * created; an agent is named by its host. Gateways show their slot
 * (docs/gateways.md); "agent stats" shows a host's device counters.
 */

static const struct output_column agent_columns[] = {
	{ "ID", "id", NULL },
	{ "Host", "host", NULL },
	{ "Type", "agent_type", NULL },
	{ "Gateway", "configurations.gateway", NULL },
	{ "Slot", "configurations.gateway_slot", NULL },
	{ "Alive", "alive", NULL },
	{ "Admin state", "admin_state_up", NULL },
};

/* weftctl agent stats HOST: the counters of the host's devices (its VXLAN
 * device, a gateway's uplink too), read by its agent
 * (GET /v2.0/agents/ID/stats). */
static int agent_stats(struct noun_context *ctx, const struct noun *noun,
		       json_t *agent)
{
	char *base = noun_resource_path(
		ctx, noun, json_string_value(json_object_get(agent, "id")));
	char *path = NULL;
	int r;

	if (!base || asprintf(&path, "%s/stats", base) < 0) {
		free(base);
		return -ENOMEM;
	}
	r = noun_show_stats(ctx, path, true);
	free(base);
	free(path);
	return r;
}

static const struct noun_verb agent_verbs[] = {
	{ "stats",
	  "Shows the traffic counters and drops by reason of the host's "
	  "devices (tunnel, uplink), as its agent reads them.",
	  agent_stats },
	{ 0 },
};

static const struct noun_option agent_update_options[] = {
	NOUN_COMMON_ADMIN_STATE,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option agent_list_options[] = {
	{ .name = "host",
	  .kind = NOUN_OPTION_STRING,
	  .attr = "host",
	  .metavar = "HOST",
	  .help = "only the agent of HOST" },
	{ 0 },
};

const struct noun agent_noun = {
	.name = "agent",
	.collection = "agents",
	.summary = "The weft-agent of each host; agents register themselves.",
	.name_attr = "host",
	NOUN_COLUMNS(agent_columns),
	.absent_verbs = NOUN_VERB_CREATE,
	.refusal = "agents cannot be created with weftctl: each "
		   "weft-agent registers itself when it connects to "
		   "weftd, so start weft-agent on the host instead",
	.update_options = agent_update_options,
	.list_options = agent_list_options,
	.extra_verbs = agent_verbs,
};
