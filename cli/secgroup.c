/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

/*
 * weftctl security group: the stateful firewalls of ports
 * (docs/security-groups.md). A group holds rules (weftctl security group
 * rule); a port's groups are set with weftctl port create|update
 * --security-group. Every project has a group named "default", made by
 * weftd the first time the project needs it.
 */

static const struct output_column secgroup_columns[] = {
	{ "ID", "id", NULL },
	{ "Name", "name", NULL },
	{ "Description", "description", NULL },
	{ "Project", "project_id", NULL },
};

static const struct noun_option secgroup_create_options[] = {
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option secgroup_update_options[] = {
	NOUN_COMMON_NAME,
	NOUN_COMMON_DESCRIPTION,
	{ 0 },
};

static const struct noun_option secgroup_list_options[] = {
	NOUN_COMMON_NAME_FILTER,
	{ 0 },
};

const struct noun secgroup_noun = {
	.name = "security_group",
	.collection = "security-groups",
	.list_key = "security_groups",
	.words = "security group",
	.plural = "security groups",
	.summary = "Stateful firewalls of ports: sets of rules admitting "
		   "connections ('weftctl security group rule' for the rules).",
	.name_attr = "name",
	NOUN_COLUMNS(secgroup_columns),
	.create_options = secgroup_create_options,
	.update_options = secgroup_update_options,
	.list_options = secgroup_list_options,
};
