/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

/*
 * Agents are the hosts running weft-agent. They are created by the
 * southbound service when an agent says hello, never through the API;
 * operators list them, disable them (admin_state_up) and delete dead ones.
 * A gateway agent's configurations carry its uplink address and its slot
 * (docs/gateways.md).
 */
static const struct api_attr agent_attrs[] = {
	{ "agent_type", API_T_STRING, 0, NULL, 0 },
	{ "binary", API_T_STRING, 0, NULL, 0 },
	{ "host", API_T_STRING, 0, NULL, 0 },
	{ "topic", API_T_STRING, 0, NULL, 0 },
	{ "alive", API_T_BOOL, 0, NULL, 0 },
	{ "admin_state_up", API_T_BOOL, API_PUT, NULL, 0 },
	{ "configurations", API_T_DICT, 0, NULL, 0 },
	{ "heartbeat_timestamp", API_T_STRING, 0, NULL, 0 },
	{ "started_at", API_T_STRING, 0, NULL, 0 },
	{ "availability_zone", API_T_STRING, API_NULLABLE, NULL, 0 },
	{ "resources_synced", API_T_BOOL, API_NULLABLE, NULL, 0 },
	{ NULL },
};

/* 'alive' and the last heartbeat come from the southbound service's
 * memory: heartbeats are not written to the store. */
static void agent_present(struct api_ctx *ctx, json_t *obj)
{
	char heartbeat[32] = "";
	const char *host = api_str(obj, "host");
	bool alive = false;

	if (host && ctx->live && ctx->live->agent_alive)
		alive = ctx->live->agent_alive(ctx->live->data, host, heartbeat,
					       sizeof(heartbeat));
	json_object_set_new(obj, "alive", json_boolean(alive));
	if (alive && heartbeat[0])
		json_object_set_new(obj, "heartbeat_timestamp",
				    json_string(heartbeat));
}

/* Deleting a gateway's agent frees its slot for another gateway. */
static int agent_remove(struct api_ctx *ctx, json_t *obj)
{
	const char *host = api_str(obj, "host");

	if (host && store_gateway_slot_release(ctx->store, host) < 0)
		return api_fail(
			&ctx->err, 500, "HTTPInternalServerError",
			"The store failed to free the gateway slot of %s",
			host);
	return 0;
}

const struct api_resource api_agents = {
	.member = "agent",
	.collection = "agents",
	.title = "Agent",
	.attrs = agent_attrs,
	.allow_create = false,
	.admin_only = true,
	.present = agent_present,
	.remove = agent_remove,
};
