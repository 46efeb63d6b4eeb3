/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security groups and their rules (docs/security-groups.md), with
 * Neutron's semantics: a project's 'default' group made on first use, rule
 * validation, and the groups of ports. Rules are documents of their own
 * (kind "security_group_rule", parent: their group); a group's
 * 'security_group_rules' is read from them when the group is answered.
 * A change of a group's rules writes the group again, and a change of its
 * members is noted in the change log, so that the southbound service sends
 * the new group to the hosts whose views hold it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "netaddr.h"
#include "secgroup.h"

#define DEFAULT_NAME "default"
#define PORT_MAX 65535
#define ICMP_FIELD_MAX 255

static const struct api_attr group_attrs[] = {
	{ "name", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "stateful", API_T_BOOL, API_POST, "true", 0 },
	{ "security_group_rules", API_T_LIST, 0, NULL, 0 },
	{ NULL },
};

static const struct api_attr rule_attrs[] = {
	{ "security_group_id", API_T_STRING, API_POST | API_REQUIRED, NULL,
	  36 },
	{ "direction", API_T_STRING, API_POST | API_REQUIRED, NULL, 0 },
	{ "ethertype", API_T_STRING, API_POST, "\"IPv4\"", 0 },
	{ "protocol", API_T_ANY, API_POST | API_NULLABLE, "null", 0 },
	{ "port_range_min", API_T_ANY, API_POST | API_NULLABLE, "null", 0 },
	{ "port_range_max", API_T_ANY, API_POST | API_NULLABLE, "null", 0 },
	{ "remote_ip_prefix", API_T_STRING, API_POST | API_NULLABLE, "null",
	  0 },
	{ "remote_group_id", API_T_STRING, API_POST | API_NULLABLE, "null", 0 },
	{ "remote_address_group_id", API_T_STRING, API_POST | API_NULLABLE,
	  "null", 0 },
	{ "normalized_cidr", API_T_STRING, 0, "null", 0 },
	{ NULL },
};

static int store_error(struct api_ctx *ctx, int r)
{
	return api_fail(&ctx->err, 500, "HTTPInternalServerError",
			"The store failed: %s", strerror(-r));
}

static int group_not_found(struct api_ctx *ctx, const char *id)
{
	return api_fail(&ctx->err, 404, "SecurityGroupNotFound",
			"Security group %s does not exist", id ? id : "(null)");
}

static bool is_default(json_t *group)
{
	const char *name = api_str(group, "name");

	return name && !strcmp(name, DEFAULT_NAME);
}

/* The group 'id' when it belongs to 'project' (a new reference), else
 * NULL with 404 SecurityGroupNotFound. */
static json_t *project_group(struct api_ctx *ctx, const char *id,
			     const char *project)
{
	json_t *group = id ? store_get(ctx->store, "security_group", id) : NULL;
	const char *owner = api_str(group, "project_id");

	if (!group || !owner || !project || strcmp(owner, project)) {
		json_decref(group);
		group_not_found(ctx, id);
		return NULL;
	}
	return group;
}

/* --- the default group --- */

struct default_find {
	char id[37];
};

static int find_default(json_t *doc, void *data)
{
	struct default_find *f = data;

	if (!is_default(doc))
		return 0;
	snprintf(f->id, sizeof(f->id), "%s", api_str(doc, "id"));
	return 1;
}

/* Finds the default group of 'project', creating it (with its rules) when
 * the project has none. Writes its id into 'id' (37 bytes). */
static int ensure_default(struct api_ctx *ctx, const char *project, char *id)
{
	struct store_query q = { .kind = "security_group",
				 .project_id = project };
	struct default_find f = { "" };
	bool internal = ctx->sg_internal;
	json_t *in, *group = NULL;
	int r = store_list(ctx->store, &q, find_default, &f);

	if (r < 0)
		return store_error(ctx, r);
	if (r == 1) {
		memcpy(id, f.id, sizeof(f.id));
		return 0;
	}
	in = json_pack("{s:s, s:s, s:s}", "name", DEFAULT_NAME, "description",
		       "Default security group", "project_id", project);
	ctx->sg_internal = true;
	r = api_create(ctx, &api_security_groups, in, &group);
	ctx->sg_internal = internal;
	json_decref(in);
	if (r < 0)
		return -1;
	snprintf(id, 37, "%s", api_str(group, "id"));
	json_decref(group);
	return 0;
}

/* --- groups --- */

struct rule_collect {
	/* When set, only the rules of other groups with this remote group. */
	const char *remote;
	json_t *rules;
};

static int collect_rule(json_t *rule, void *data)
{
	struct rule_collect *c = data;
	const char *remote = api_str(rule, "remote_group_id");
	const char *group = api_str(rule, "security_group_id");

	if (!c->remote || (remote && group && !strcmp(remote, c->remote) &&
			   strcmp(group, c->remote)))
		json_array_append(c->rules, rule);
	return 0;
}

/* Fills 'security_group_rules' with the group's rules. */
static void group_present(struct api_ctx *ctx, json_t *group)
{
	struct store_query q = { .kind = "security_group_rule",
				 .parent_id = api_str(group, "id") };
	struct rule_collect c = { NULL, json_array() };

	store_list(ctx->store, &q, collect_rule, &c);
	json_object_set_new(group, "security_group_rules", c.rules);
}

static int group_checks(struct api_ctx *ctx, json_t *group)
{
	if (!json_is_true(json_object_get(group, "stateful")))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for stateful. Reason: weft has only stateful security groups.");
	if (is_default(group) && !ctx->sg_internal)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for name. Reason: '%s' is reserved for the project's default security group.",
			DEFAULT_NAME);
	return 0;
}

static int group_create(struct api_ctx *ctx, json_t *group)
{
	char id[37];

	json_object_del(group, "security_group_rules");
	if (group_checks(ctx, group) < 0)
		return -1;
	/* A project's first group of its own comes after its default. */
	if (!is_default(group) &&
	    ensure_default(ctx, api_str(group, "project_id"), id) < 0)
		return -1;
	return 0;
}

/* Creates one rule of the new group 'group'. */
static int add_rule(struct api_ctx *ctx, json_t *group, const char *direction,
		    const char *ethertype, bool from_group)
{
	json_t *in = json_pack("{s:s, s:s, s:s, s:s}", "security_group_id",
			       api_str(group, "id"), "direction", direction,
			       "ethertype", ethertype, "project_id",
			       api_str(group, "project_id"));
	json_t *rule = NULL;
	int r;

	if (from_group)
		json_object_set(in, "remote_group_id",
				json_object_get(group, "id"));
	r = api_create(ctx, &api_security_group_rules, in, &rule);
	json_decref(in);
	json_decref(rule);
	return r;
}

/* Gives a new group Neutron's rules: egress anywhere, and for the default
 * group ingress from its own members. */
static int group_created(struct api_ctx *ctx, json_t *group)
{
	bool internal = ctx->sg_internal;
	int r;

	ctx->sg_internal = true;
	r = add_rule(ctx, group, "egress", "IPv4", false);
	if (r == 0)
		r = add_rule(ctx, group, "egress", "IPv6", false);
	if (r == 0 && is_default(group))
		r = add_rule(ctx, group, "ingress", "IPv4", true);
	if (r == 0 && is_default(group))
		r = add_rule(ctx, group, "ingress", "IPv6", true);
	ctx->sg_internal = internal;
	return r;
}

static int group_update(struct api_ctx *ctx, json_t *old, json_t *group,
			json_t *changes)
{
	json_object_del(group, "security_group_rules");
	if (is_default(old) && !is_default(group))
		return api_fail(&ctx->err, 409,
				"SecurityGroupCannotUpdateDefault",
				"Updating default security group not allowed.");
	if (!is_default(old))
		return group_checks(ctx, group);
	return 0;
}

/* Deletes 'rules' and writes again each group of those that stays. */
static int delete_rules(struct api_ctx *ctx, json_t *rules, const char *gone)
{
	json_t *rule, *touched = json_object();
	const char *id;
	size_t i;
	int r = 0;

	json_array_foreach(rules, i, rule) {
		const char *group = api_str(rule, "security_group_id");

		r = store_delete(ctx->store, "security_group_rule",
				 api_str(rule, "id"));
		if (r < 0)
			break;
		if (group && strcmp(group, gone))
			json_object_set_new(touched, group, json_true());
	}
	json_object_foreach(touched, id, rule) {
		json_t *group;

		if (r < 0)
			break;
		group = store_get(ctx->store, "security_group", id);
		if (group && api_touch(ctx, &api_security_groups, group) < 0)
			r = -EIO;
		json_decref(group);
	}
	json_decref(touched);
	return r < 0 ? store_error(ctx, r) : 0;
}

/* Deletes a group's rules, and the rules of other groups that name it as
 * their remote group (Neutron deletes them with it). */
static int group_remove(struct api_ctx *ctx, json_t *group)
{
	const char *id = api_str(group, "id");
	struct store_query own = { .kind = "security_group_rule",
				   .parent_id = id };
	struct store_query all = { .kind = "security_group_rule" };
	struct rule_collect c = { NULL, json_array() };
	struct rule_collect refs = { id, c.rules };
	json_t *ports = NULL;
	int r;

	if (is_default(group) && !ctx->is_admin)
		r = api_fail(&ctx->err, 409, "SecurityGroupCannotRemoveDefault",
			     "Removing default security group not allowed.");
	else if ((r = store_sg_ports(ctx->store, id, &ports)) < 0)
		r = store_error(ctx, r);
	else if (json_array_size(ports))
		r = api_fail(&ctx->err, 409, "SecurityGroupInUse",
			     "Security Group %s in use.", id);
	else if ((r = store_list(ctx->store, &own, collect_rule, &c)) < 0 ||
		 (r = store_list(ctx->store, &all, collect_rule, &refs)) < 0)
		r = store_error(ctx, r);
	else
		r = delete_rules(ctx, c.rules, id);
	json_decref(ports);
	json_decref(c.rules);
	return r;
}

/* Creates the caller's default group before its groups are listed. */
static int group_before_list(struct api_ctx *ctx)
{
	char id[37];

	return ctx->project_id ? ensure_default(ctx, ctx->project_id, id) : 0;
}

const struct api_resource api_security_groups = {
	.member = "security_group",
	.collection = "security-groups",
	.list_key = "security_groups",
	.title = "SecurityGroup",
	.attrs = group_attrs,
	.allow_create = true,
	.create = group_create,
	.created = group_created,
	.update = group_update,
	.remove = group_remove,
	.present = group_present,
	.before_list = group_before_list,
};

/* --- rules --- */

static int bad_rule(struct api_ctx *ctx, const char *type, const char *msg)
{
	return api_fail(&ctx->err, 400, type, "%s", msg);
}

/* Reads a port range bound: null, an integer or a decimal string, 0..65535.
 * Sets 'ret' to -1 for null. */
static int port_value(struct api_ctx *ctx, json_t *rule, const char *name,
		      long *ret)
{
	json_t *v = json_object_get(rule, name);
	const char *text = json_string_value(v);
	char *end;
	long n;

	if (!v || json_is_null(v)) {
		*ret = -1;
		return 0;
	}
	if (json_is_integer(v)) {
		n = (long)json_integer_value(v);
	} else if (text && text[0] >= '0' && text[0] <= '9') {
		n = strtol(text, &end, 10);
		if (*end)
			n = -1;
	} else {
		n = -1;
	}
	if (n < 0 || n > PORT_MAX)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for %s. Reason: it is not an integer between 0 and %d.",
			name, PORT_MAX);
	json_object_set_new(rule, name, json_integer(n));
	*ret = n;
	return 0;
}

/* Neutron's port range checks for protocol 'proto'. */
static int check_ports(struct api_ctx *ctx, int proto, long min, long max)
{
	if (min < 0 && max < 0)
		return 0;
	if (proto == SECGROUP_PROTOCOL_ANY)
		return bad_rule(
			ctx, "SecurityGroupProtocolRequiredWithPorts",
			"Must also specify protocol if port range is given.");
	if (secgroup_protocol_has_ports(proto)) {
		if (min == 0 || max == 0)
			return bad_rule(
				ctx, "SecurityGroupInvalidPortValue",
				"Invalid value for port 0: ports are 1 to 65535.");
		if (min < 0 || max < 0 || min > max)
			return bad_rule(
				ctx, "SecurityGroupInvalidPortRange",
				"For TCP/UDP protocols, port_range_min must be <= port_range_max");
		return 0;
	}
	if (proto == 1 || proto == 58) {
		if (min > ICMP_FIELD_MAX || max > ICMP_FIELD_MAX)
			return bad_rule(
				ctx, "SecurityGroupInvalidIcmpValue",
				"Invalid value for ICMP type or code: they are 0 to 255.");
		if (min < 0)
			return bad_rule(
				ctx, "SecurityGroupMissingIcmpType",
				"ICMP code (port-range-max) is provided but ICMP type (port-range-min) is missing.");
		return 0;
	}
	return bad_rule(
		ctx, "SecurityGroupInvalidProtocolForPortRange",
		"Invalid protocol for port range, only supported for TCP, UDP, UDPLITE, SCTP, DCCP and ICMP/ICMPv6 protocols.");
}

/* Checks and normalizes the protocol; sets 'ret' to its number. */
static int rule_protocol(struct api_ctx *ctx, json_t *rule, bool ipv6, int *ret)
{
	json_t *v = json_object_get(rule, "protocol");
	char text[32];
	int proto = SECGROUP_PROTOCOL_ANY;

	if (secgroup_protocol(v, &proto) < 0)
		return api_fail(
			&ctx->err, 400, "SecurityGroupRuleInvalidProtocol",
			"Security group rule protocol %s not supported. Only protocol values [None, any, %s] and integer representations [0 to 255] are supported.",
			json_is_string(v) ? json_string_value(v) : "given",
			secgroup_protocol_names());
	if (proto == 58 && !ipv6)
		return bad_rule(
			ctx, "SecurityGroupEthertypeConflictWithProtocol",
			"Invalid ethertype IPv4 for protocol ipv6-icmp.");
	/* Returned as given, lower case; numbers as strings (Neutron). */
	if (json_is_integer(v)) {
		snprintf(text, sizeof(text), "%d", proto);
		json_object_set_new(rule, "protocol", json_string(text));
	} else if (json_is_string(v)) {
		snprintf(text, sizeof(text), "%s", json_string_value(v));
		for (char *p = text; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(rule, "protocol", json_string(text));
	}
	*ret = proto;
	return 0;
}

/* Checks the remote of a rule and sets its normalized_cidr. */
static int rule_remote(struct api_ctx *ctx, json_t *rule, json_t *group,
		       bool ipv6)
{
	const char *prefix = api_str(rule, "remote_ip_prefix");
	const char *remote = api_str(rule, "remote_group_id");
	char normalized[SECGROUP_PREFIX_STRLEN];
	json_t *other;
	int family;

	if (!json_is_null(json_object_get(rule, "remote_address_group_id")))
		return bad_rule(
			ctx, "InvalidInput",
			"Invalid input for remote_address_group_id. Reason: weft has no address groups.");
	if (prefix && remote)
		return bad_rule(
			ctx, "SecurityGroupRemoteGroupAndRemoteIpPrefix",
			"Only remote_ip_prefix or remote_group_id may be provided.");
	if (prefix) {
		if (secgroup_prefix(prefix, &family, normalized) < 0)
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for remote_ip_prefix. Reason: '%s' is not a valid IP address or prefix.",
				prefix);
		if ((family == 6) != ipv6)
			return api_fail(
				&ctx->err, 400,
				"SecurityGroupRuleParameterConflict",
				"Conflicting value ethertype %s for CIDR %s",
				ipv6 ? "IPv6" : "IPv4", prefix);
		json_object_set_new(rule, "normalized_cidr",
				    json_string(normalized));
	}
	if (remote) {
		other = project_group(ctx, remote,
				      api_str(group, "project_id"));
		if (!other)
			return -1;
		json_decref(other);
	}
	return 0;
}

/* The rule's match as a comparable key: two rules with equal keys are
 * the same rule. */
static json_t *rule_key(json_t *rule)
{
	int proto = SECGROUP_PROTOCOL_ANY;

	secgroup_protocol(json_object_get(rule, "protocol"), &proto);
	return json_pack("{s:O, s:O, s:i, s:O, s:O, s:O, s:O}", "direction",
			 json_object_get(rule, "direction"), "ethertype",
			 json_object_get(rule, "ethertype"), "protocol", proto,
			 "min", json_object_get(rule, "port_range_min"), "max",
			 json_object_get(rule, "port_range_max"), "cidr",
			 json_object_get(rule, "normalized_cidr"), "group",
			 json_object_get(rule, "remote_group_id"));
}

struct duplicate_find {
	json_t *key;
	char id[37];
};

static int find_duplicate(json_t *rule, void *data)
{
	struct duplicate_find *f = data;
	json_t *key = rule_key(rule);
	bool same = json_equal(key, f->key);

	json_decref(key);
	if (!same)
		return 0;
	snprintf(f->id, sizeof(f->id), "%s", api_str(rule, "id"));
	return 1;
}

/* 409 SecurityGroupRuleExists when the group has a rule like 'rule'. */
static int check_duplicate(struct api_ctx *ctx, json_t *rule)
{
	struct store_query q = { .kind = "security_group_rule",
				 .parent_id =
					 api_str(rule, "security_group_id") };
	struct duplicate_find f = { rule_key(rule), "" };
	int r = store_list(ctx->store, &q, find_duplicate, &f);

	json_decref(f.key);
	if (r < 0)
		return store_error(ctx, r);
	if (r == 1)
		return api_fail(
			&ctx->err, 409, "SecurityGroupRuleExists",
			"Security group rule already exists. Rule id is %s.",
			f.id);
	return 0;
}

/* Checks a rule's direction and ethertype (case-insensitive, stored as
 * "IPv4"/"IPv6"); sets 'ipv6'. */
static int rule_kind(struct api_ctx *ctx, json_t *rule, bool *ipv6)
{
	const char *dir = api_str(rule, "direction");
	const char *eth = api_str(rule, "ethertype");

	if (strcmp(dir, "ingress") && strcmp(dir, "egress"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for direction. Reason: '%s' is not in ['ingress', 'egress'].",
			dir);
	if (strcasecmp(eth, "IPv4") && strcasecmp(eth, "IPv6"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for ethertype. Reason: '%s' is not in ['IPv4', 'IPv6'].",
			eth);
	*ipv6 = !strcasecmp(eth, "IPv6");
	json_object_set_new(rule, "ethertype",
			    json_string(*ipv6 ? "IPv6" : "IPv4"));
	return 0;
}

/* Writes the rule's group again (its revision and the change log), unless
 * the group is being created in this transaction. */
static int touch_group(struct api_ctx *ctx, const char *id)
{
	json_t *group;
	int r = 0;

	if (ctx->sg_internal)
		return 0;
	group = store_get(ctx->store, "security_group", id);
	if (group)
		r = api_touch(ctx, &api_security_groups, group);
	json_decref(group);
	return r;
}

static int rule_create(struct api_ctx *ctx, json_t *rule)
{
	const char *group_id = api_str(rule, "security_group_id");
	json_t *group = api_find(ctx, &api_security_groups, group_id);
	long min, max;
	bool ipv6 = false;
	int proto = SECGROUP_PROTOCOL_ANY, r = -1;

	if (!group || !api_owns(ctx, group)) {
		json_decref(group);
		return group_not_found(ctx, group_id);
	}
	json_object_set(rule, "project_id",
			json_object_get(group, "project_id"));
	json_object_set(rule, "tenant_id",
			json_object_get(group, "project_id"));
	if (rule_kind(ctx, rule, &ipv6) < 0 ||
	    rule_protocol(ctx, rule, ipv6, &proto) < 0 ||
	    port_value(ctx, rule, "port_range_min", &min) < 0 ||
	    port_value(ctx, rule, "port_range_max", &max) < 0 ||
	    check_ports(ctx, proto, min, max) < 0 ||
	    rule_remote(ctx, rule, group, ipv6) < 0 ||
	    check_duplicate(ctx, rule) < 0 || touch_group(ctx, group_id) < 0)
		goto out;
	r = 0;
out:
	json_decref(group);
	return r;
}

static int rule_remove(struct api_ctx *ctx, json_t *rule)
{
	return touch_group(ctx, api_str(rule, "security_group_id"));
}

const struct api_resource api_security_group_rules = {
	.member = "security_group_rule",
	.collection = "security-group-rules",
	.list_key = "security_group_rules",
	.title = "SecurityGroupRule",
	.attrs = rule_attrs,
	.parent_attr = "security_group_id",
	.allow_create = true,
	.immutable = true,
	.create = rule_create,
	.remove = rule_remove,
};

/* --- ports --- */

int api_sg_port_groups(struct api_ctx *ctx, json_t *port)
{
	json_t *given = json_object_get(port, "security_groups"), *out, *v;
	const char *project = api_str(port, "project_id");
	const char *owner = api_str(port, "device_owner");
	char id[37];
	size_t i;

	if (!given) {
		if (!api_bool(port, "port_security_enabled") ||
		    (owner && !strncmp(owner, "network:", 8))) {
			json_object_set_new(port, "security_groups",
					    json_array());
			return 0;
		}
		if (ensure_default(ctx, project, id) < 0)
			return -1;
		json_object_set_new(port, "security_groups",
				    json_pack("[s]", id));
		return 0;
	}
	out = json_array();
	json_array_foreach(given, i, v) {
		json_t *group =
			project_group(ctx, json_string_value(v), project);
		size_t j;
		bool seen = false;

		if (!group) {
			json_decref(out);
			return -1;
		}
		json_decref(group);
		for (j = 0; j < json_array_size(out); j++)
			seen = seen || json_equal(json_array_get(out, j), v);
		if (!seen)
			json_array_append(out, v);
	}
	json_object_set_new(port, "security_groups", out);
	return 0;
}

/* Whether the members a port gives its groups differ between 'a' and 'b'. */
static bool members_differ(json_t *a, json_t *b)
{
	static const char *const attrs[] = { "fixed_ips",
					     "allowed_address_pairs",
					     "port_security_enabled" };

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (!json_equal(json_object_get(a, attrs[i]),
				json_object_get(b, attrs[i])))
			return true;
	return false;
}

int api_sg_port_changed(struct api_ctx *ctx, json_t *old, json_t *port)
{
	json_t *before = json_object_get(old, "security_groups");
	json_t *after = json_object_get(port, "security_groups");
	json_t *noted = json_object(), *v;
	const char *id = api_str(port ? port : old, "id");
	bool groups_differ = !old || !port || !json_equal(before, after);
	size_t i;
	int r = 0;

	if (groups_differ)
		r = store_sg_ports_set(ctx->store, id, after);
	if (r == 0 && (groups_differ || members_differ(old, port))) {
		json_array_foreach(before, i, v)
			if (json_is_string(v))
				json_object_set(noted, json_string_value(v), v);
		json_array_foreach(after, i, v)
			if (json_is_string(v))
				json_object_set(noted, json_string_value(v), v);
	}
	json_object_foreach(noted, id, v) {
		if (r < 0)
			break;
		r = store_note(ctx->store, "security_group", id);
	}
	json_decref(noted);
	return r < 0 ? store_error(ctx, r) : 0;
}
