/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

/*
 * Agents are the hosts running weft-agent. They are created by the
 * southbound service when an agent says hello, never through the API;
 * operators list them, disable them (admin_state_up) and delete dead ones.
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

const struct api_resource api_agents = {
	.member = "agent",
	.collection = "agents",
	.title = "Agent",
	.attrs = agent_attrs,
	.allow_create = false,
	.admin_only = true,
};
