/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl agent: the weft-agent of each host. Agents register themselves
 * with weftd, so they are listed, shown, updated and deleted here, never
 * created; an agent is named by its host.
 */

static const struct output_column agent_columns[] = {
	{ "ID", "id", NULL },
	{ "Host", "host", NULL },
	{ "Type", "agent_type", NULL },
	{ "Alive", "alive", NULL },
	{ "Admin state", "admin_state_up", NULL },
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
};
