/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static const struct api_resource *const resources[] = {
	&api_networks,
	&api_subnets,
	&api_ports,
	&api_agents,
	&api_routers,
	&api_security_groups,
	&api_security_group_rules,
	&api_floatingips,
};

#define N_RESOURCES (sizeof(resources) / sizeof(resources[0]))

/* The attributes every resource has, handled here rather than by hooks. */
static const struct api_attr standard_attrs[] = {
	{ "id", API_T_STRING, 0, NULL, 0 },
	{ "project_id", API_T_STRING, API_POST, NULL, 0 },
	{ "tenant_id", API_T_STRING, API_POST, NULL, 0 },
	{ "description", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "revision_number", API_T_INT, 0, NULL, 0 },
	{ "created_at", API_T_STRING, 0, NULL, 0 },
	{ "updated_at", API_T_STRING, 0, NULL, 0 },
	{ "tags", API_T_LIST, 0, NULL, 0 },
	{ NULL },
};

/* The extensions weft implements, as listed by /v2.0/extensions. */
static const struct {
	const char *alias, *name, *description;
} extensions[] = {
	{ "agent", "agent", "The agent management extension." },
	{ "allowed-address-pairs", "Allowed Address Pairs",
	  "Provides allowed address pairs" },
	{ "binding", "Port Binding",
	  "Expose port bindings of a virtual port to external application" },
	{ "external-net", "Neutron external network",
	  "Adds external network attribute to network resource." },
	{ "ext-gw-mode", "Neutron L3 Configurable external gateway mode",
	  "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway" },
	{ "extraroute", "Neutron Extra Route",
	  "Extra routes configuration for L3 router" },
	{ "extraroute-atomic", "Atomically add/remove extra routes",
	  "Edit extra routes of a router on server side by atomically adding/removing extra routes" },
	{ "filter-validation", "Filter parameters validation",
	  "Provides validation on filter parameters." },
	{ "pagination", "Pagination support",
	  "Extension that indicates that pagination is enabled." },
	{ "port-security", "Port Security", "Provides port security" },
	{ "project-id", "project_id field enabled",
	  "Extension that indicates that project_id field is enabled." },
	{ "provider", "Provider Network",
	  "Expose mapping of virtual networks to physical networks" },
	{ "security-group", "security-group",
	  "The security groups extension." },
	{ "stateful-security-group", "Stateful security group",
	  "Indicates if the security group is stateful or not" },
	{ "router", "Neutron L3 Router",
	  "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway." },
	{ "sorting", "Sorting support",
	  "Extension that indicates that sorting is enabled." },
	{ "standard-attr-description", "standard-attr-description",
	  "Extension to add descriptions to standard attributes" },
	{ "standard-attr-revisions", "Resource revision numbers",
	  "This extension will display the revision number of neutron resources." },
	{ "standard-attr-timestamp", "Resource timestamps",
	  "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes." },
};

int api_fail(struct api_error *err, int status, const char *type,
	     const char *fmt, ...)
{
	json_t *check;
	va_list ap;

	err->status = status;
	snprintf(err->type, sizeof(err->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	/* Messages quote the request, which may not be UTF-8; JSON must be. */
	check = json_string(err->message);
	if (!check) {
		for (char *p = err->message; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	}
	json_decref(check);
	return -1;
}

json_t *api_error_body(const struct api_error *err)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "NeutronError", "type",
			 err->type, "message", err->message, "detail", "");
}

void api_uuid(char *buf)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, buf);
}

const char *api_str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

bool api_bool(json_t *obj, const char *name)
{
	return json_is_true(json_object_get(obj, name));
}

bool api_owns(struct api_ctx *ctx, json_t *obj)
{
	const char *project = api_str(obj, "project_id");

	return ctx->is_admin || (project && ctx->project_id &&
				 !strcmp(project, ctx->project_id));
}

static bool visible(struct api_ctx *ctx, const struct api_resource *res,
		    json_t *obj)
{
	if (ctx->is_admin)
		return true;
	if (res->admin_only)
		return false;
	if (res->visible)
		return res->visible(ctx, obj);
	return api_owns(ctx, obj);
}

static int not_found(struct api_ctx *ctx, const struct api_resource *res,
		     const char *id)
{
	char type[64];

	snprintf(type, sizeof(type), "%sNotFound", res->title);
	return api_fail(&ctx->err, 404, type, "%s %s could not be found.",
			res->title, id);
}

/* The key of a list of the resource in bodies ("security_groups"). */
static const char *list_key(const struct api_resource *res)
{
	return res->list_key ? res->list_key : res->collection;
}

static int policy_denied(struct api_ctx *ctx, const char *action,
			 const struct api_resource *res, const char *attr)
{
	return api_fail(&ctx->err, 403, "PolicyNotAuthorized",
			"(rule:%s_%s%s%s) is disallowed by policy", action,
			res->member, attr ? ":" : "", attr ? attr : "");
}

json_t *api_find(struct api_ctx *ctx, const struct api_resource *res,
		 const char *id)
{
	json_t *obj = id ? store_get(ctx->store, res->member, id) : NULL;

	if (!obj || !visible(ctx, res, obj)) {
		json_decref(obj);
		not_found(ctx, res, id ? id : "(null)");
		return NULL;
	}
	return obj;
}

static const char *parent_of(const struct api_resource *res, json_t *obj)
{
	return res->parent_attr ? api_str(obj, res->parent_attr) : NULL;
}

static int put(struct api_ctx *ctx, const struct api_resource *res, json_t *obj)
{
	int r = store_put(ctx->store, res->member, parent_of(res, obj),
			  res->shared ? res->shared(obj) : false, obj);

	if (r < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to write: %s", strerror(-r));
	return 0;
}

int api_touch(struct api_ctx *ctx, const struct api_resource *res, json_t *obj)
{
	json_int_t rev =
		json_integer_value(json_object_get(obj, "revision_number"));

	json_object_set_new(obj, "revision_number", json_integer(rev + 1));
	json_object_set_new(obj, "updated_at", json_string(ctx->now));
	return put(ctx, res, obj);
}

static const struct api_attr *find_in(const struct api_attr *attrs,
				      const char *name)
{
	for (; attrs->name; attrs++)
		if (!strcmp(attrs->name, name))
			return attrs;
	return NULL;
}

static const struct api_attr *find_attr(const struct api_resource *res,
					const char *name)
{
	const struct api_attr *a = find_in(res->attrs, name);

	return a ? a : find_in(standard_attrs, name);
}

static const char *type_name(enum api_type type)
{
	switch (type) {
	case API_T_STRING:
		return "a string";
	case API_T_BOOL:
		return "a boolean";
	case API_T_INT:
		return "an integer";
	case API_T_LIST:
		return "a list";
	case API_T_ANY:
		return "a value";
	default:
		return "a dictionary";
	}
}

/* Checks the type of one attribute value. */
static int check_type(struct api_ctx *ctx, const struct api_attr *a, json_t *v)
{
	bool ok;

	if (json_is_null(v)) {
		ok = a->flags & API_NULLABLE;
	} else {
		switch (a->type) {
		case API_T_STRING:
			ok = json_is_string(v);
			if (ok &&
			    json_string_length(v) >
				    (size_t)(a->max_len ? a->max_len : 255))
				return api_fail(
					&ctx->err, 400, "HTTPBadRequest",
					"Invalid input for %s. Reason: '%s' exceeds maximum length of %d.",
					a->name, json_string_value(v),
					a->max_len ? a->max_len : 255);
			break;
		case API_T_BOOL:
			ok = json_is_boolean(v);
			break;
		case API_T_INT:
			ok = json_is_integer(v);
			break;
		case API_T_LIST:
			ok = json_is_array(v);
			break;
		case API_T_ANY:
			ok = true;
			break;
		default:
			ok = json_is_object(v);
			break;
		}
	}
	if (!ok) {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		int r = api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"Invalid input for %s. Reason: '%s' is not %s.",
			a->name, text ? text : "?", type_name(a->type));

		free(text);
		return r;
	}
	return 0;
}

/*
 * Validates the attributes of a create ('creating') or update request
 * against the resource's table: no unknown attribute, each allowed for the
 * operation, of its type, and settable by the caller.
 */
static int check_attrs(struct api_ctx *ctx, const struct api_resource *res,
		       json_t *in, bool creating)
{
	char unknown[256] = "";
	int n_unknown = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(in))
		return api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"The %s in the request body must be a dictionary.",
			res->member);
	json_object_foreach(in, key, v) {
		if (!find_attr(res, key)) {
			size_t len = strlen(unknown);

			snprintf(unknown + len, sizeof(unknown) - len, "%s%s",
				 n_unknown++ ? ", " : "", key);
		}
	}
	if (n_unknown)
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"Unrecognized attribute(s) '%s'", unknown);

	json_object_foreach(in, key, v) {
		const struct api_attr *a = find_attr(res, key);

		if (creating && !(a->flags & API_POST))
			return api_fail(&ctx->err, 400, "HTTPBadRequest",
					"Attribute '%s' not allowed in POST",
					key);
		if (!creating && !(a->flags & API_PUT))
			return api_fail(&ctx->err, 400, "HTTPBadRequest",
					"Cannot update read-only attribute %s",
					key);
		if (check_type(ctx, a, v) < 0)
			return -1;
		if ((a->flags & API_ADMIN) && !ctx->is_admin)
			return policy_denied(
				ctx, creating ? "create" : "update", res, key);
	}
	if (creating) {
		for (const struct api_attr *a = res->attrs; a->name; a++)
			if ((a->flags & API_REQUIRED) &&
			    !json_object_get(in, a->name))
				return api_fail(
					&ctx->err, 400, "HTTPBadRequest",
					"Failed to parse request. Required attribute '%s' not specified",
					a->name);
	}
	return 0;
}

/* Works out the project of a new resource from the body and the caller. */
static int creation_project(struct api_ctx *ctx, json_t *in, const char **ret)
{
	const char *project = api_str(in, "project_id");
	const char *tenant = api_str(in, "tenant_id");

	if (project && tenant && strcmp(project, tenant))
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"'project_id' and 'tenant_id' do not match");
	if (!project)
		project = tenant;
	if (project && !project[0])
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"'project_id' must not be empty");
	if (project && !ctx->is_admin && strcmp(project, ctx->project_id))
		return api_fail(
			&ctx->err, 403, "PolicyNotAuthorized",
			"Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
	*ret = project ? project : ctx->project_id;
	return 0;
}

/* Validates one member of a create request and stores the new resource.
 * Returns the stored object (new reference) in 'ret'. */
static int create_one(struct api_ctx *ctx, const struct api_resource *res,
		      json_t *in, json_t **ret)
{
	char id[37];
	const char *project = NULL;
	json_t *obj;

	if (check_attrs(ctx, res, in, true) < 0)
		return -1;
	if (creation_project(ctx, in, &project) < 0)
		return -1;

	obj = json_object();
	api_uuid(id);
	json_object_set_new(obj, "id", json_string(id));
	json_object_set_new(obj, "project_id", json_string(project));
	json_object_set_new(obj, "tenant_id", json_string(project));
	for (const struct api_attr *a = res->attrs; a->name; a++) {
		json_t *v = json_object_get(in, a->name);

		if (v)
			json_object_set(obj, a->name, v);
		else if (a->def)
			json_object_set_new(
				obj, a->name,
				json_loads(a->def, JSON_DECODE_ANY, NULL));
	}
	json_object_set_new(obj, "description",
			    json_string(api_str(in, "description") ?
						api_str(in, "description") :
						""));
	json_object_set_new(obj, "tags", json_array());
	json_object_set_new(obj, "revision_number", json_integer(1));
	json_object_set_new(obj, "created_at", json_string(ctx->now));
	json_object_set_new(obj, "updated_at", json_string(ctx->now));

	if ((res->create && res->create(ctx, obj) < 0) ||
	    put(ctx, res, obj) < 0 ||
	    (res->created && res->created(ctx, obj) < 0)) {
		json_decref(obj);
		return -1;
	}
	*ret = obj;
	return 0;
}

int api_create(struct api_ctx *ctx, const struct api_resource *res, json_t *in,
	       json_t **ret)
{
	return create_one(ctx, res, in, ret);
}

/* Begins the request's transaction. */
static int begin(struct api_ctx *ctx)
{
	int r = store_begin(ctx->store);

	if (r < 0)
		return api_fail(&ctx->err, 503, "HTTPServiceUnavailable",
				"The store is busy: %s", strerror(-r));
	return 0;
}

/* Commits the request's transaction, or rolls it back on 'failed'. */
static int finish(struct api_ctx *ctx, int failed)
{
	int r;

	if (failed) {
		store_rollback(ctx->store);
		return -1;
	}
	r = store_commit(ctx->store);
	if (r < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to commit: %s", strerror(-r));
	if (ctx->live && ctx->live->committed)
		ctx->live->committed(ctx->live->data,
				     store_revision(ctx->store));
	return 0;
}

/* Keeps only the attributes named in 'fields' (an array of strings or
 * NULL). Returns a new reference. */
static json_t *project_fields(json_t *obj, json_t *fields)
{
	json_t *out, *f;
	size_t i;

	if (!fields || !json_array_size(fields))
		return json_incref(obj);
	out = json_object();
	json_array_foreach(fields, i, f) {
		json_t *v = json_object_get(obj, json_string_value(f));

		if (v)
			json_object_set(out, json_string_value(f), v);
	}
	return out;
}

static int handle_create(struct api_ctx *ctx, const struct api_resource *res,
			 json_t *body, json_t **ret)
{
	json_t *one = json_object_get(body, res->member);
	json_t *many = json_object_get(body, list_key(res));
	json_t *items, *out, *item;
	size_t i;
	int failed = 0;

	if (!res->allow_create)
		return api_fail(
			&ctx->err, 405, "HTTPMethodNotAllowed",
			"Creating %s is not allowed: they register themselves.",
			res->collection);
	if (res->admin_only && !ctx->is_admin)
		return policy_denied(ctx, "create", res, NULL);
	if (!json_is_object(body) || json_object_size(body) != 1 ||
	    (!one && !many))
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"Unable to find '%s' in request body",
				res->member);
	if (many && (!json_is_array(many) || !json_array_size(many)))
		return api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"Bulk request body '%s' must be a non-empty list",
			list_key(res));

	if (begin(ctx) < 0)
		return -1;
	items = one ? json_pack("[O]", one) : json_incref(many);
	out = json_array();
	json_array_foreach(items, i, item) {
		json_t *obj;

		if (create_one(ctx, res, item, &obj) < 0) {
			failed = 1;
			break;
		}
		json_array_append_new(out, obj);
	}
	json_decref(items);
	if (finish(ctx, failed) < 0) {
		json_decref(out);
		return -1;
	}
	json_array_foreach(out, i, item) {
		if (res->present)
			res->present(ctx, item);
	}
	if (one)
		*ret = json_pack("{s:O}", res->member, json_array_get(out, 0));
	else
		*ret = json_pack("{s:O}", list_key(res), out);
	json_decref(out);
	return 201;
}

static int handle_show(struct api_ctx *ctx, const struct api_resource *res,
		       const char *id, json_t *query, json_t **ret)
{
	json_t *obj = api_find(ctx, res, id);

	if (!obj)
		return -1;
	if (res->present)
		res->present(ctx, obj);
	*ret = json_pack("{s:o}", res->member,
			 project_fields(obj, json_object_get(query, "fields")));
	json_decref(obj);
	return 200;
}

static int handle_update(struct api_ctx *ctx, const struct api_resource *res,
			 const char *id, json_t *body, json_t **ret)
{
	json_t *changes = json_object_get(body, res->member);
	json_t *old = NULL, *obj = NULL;
	int failed = 1;

	if (!json_is_object(body) || json_object_size(body) != 1 || !changes)
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"Unable to find '%s' in request body",
				res->member);
	if (begin(ctx) < 0)
		return -1;
	old = api_find(ctx, res, id);
	if (!old)
		goto out;
	if (!api_owns(ctx, old)) {
		policy_denied(ctx, "update", res, NULL);
		goto out;
	}
	if (check_attrs(ctx, res, changes, false) < 0)
		goto out;
	obj = json_deep_copy(old);
	json_object_update(obj, changes);
	if (res->update && res->update(ctx, old, obj, changes) < 0)
		goto out;
	if (!json_equal(old, obj) && api_touch(ctx, res, obj) < 0)
		goto out;
	failed = 0;
out:
	json_decref(old);
	if (finish(ctx, failed) < 0) {
		json_decref(obj);
		return -1;
	}
	if (res->present)
		res->present(ctx, obj);
	*ret = json_pack("{s:o}", res->member, obj);
	return 200;
}

static int handle_delete(struct api_ctx *ctx, const struct api_resource *res,
			 const char *id)
{
	json_t *obj;
	int failed = 1;

	if (begin(ctx) < 0)
		return -1;
	obj = api_find(ctx, res, id);
	if (!obj)
		goto out;
	if (!api_owns(ctx, obj)) {
		policy_denied(ctx, "delete", res, NULL);
		goto out;
	}
	if (res->remove && res->remove(ctx, obj) < 0)
		goto out;
	if (store_delete(ctx->store, res->member, id) < 0) {
		api_fail(&ctx->err, 500, "HTTPInternalServerError",
			 "The store failed to delete %s", id);
		goto out;
	}
	failed = 0;
out:
	json_decref(obj);
	if (finish(ctx, failed) < 0)
		return -1;
	return 204;
}

/* Whether a filter value from the query matches an attribute value. */
static bool value_matches(json_t *v, const char *want)
{
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return !strcmp(json_string_value(v), want);
	case JSON_TRUE:
		return !strcasecmp(want, "true") || !strcmp(want, "1");
	case JSON_FALSE:
		return !strcasecmp(want, "false") || !strcmp(want, "0");
	case JSON_INTEGER: {
		char buf[32];

		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return !strcmp(buf, want);
	}
	case JSON_NULL:
		return !want[0] || !strcmp(want, "None") ||
		       !strcmp(want, "null");
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			if (value_matches(e, want))
				return true;
		return false;
	case JSON_OBJECT: {
		/* A dictionary in a list, e.g. a fixed IP: "key=value". */
		const char *eq = strchr(want, '=');
		char key[64];

		if (!eq || (size_t)(eq - want) >= sizeof(key))
			return false;
		memcpy(key, want, (size_t)(eq - want));
		key[eq - want] = '\0';
		e = json_object_get(v, key);
		return e && value_matches(e, eq + 1);
	}
	default:
		return false;
	}
}

struct list_state {
	struct api_ctx *ctx;
	const struct api_resource *res;
	json_t *filters; /* attribute -> array of accepted values */
	json_t *out;
};

static int list_one(json_t *doc, void *data)
{
	struct list_state *st = data;
	const char *key;
	json_t *values;

	if (!visible(st->ctx, st->res, doc))
		return 0;
	if (st->res->present)
		st->res->present(st->ctx, doc);
	json_object_foreach(st->filters, key, values) {
		json_t *v = json_object_get(doc, key), *want;
		bool match = false;
		size_t i;

		if (!v)
			return 0;
		json_array_foreach(values, i, want)
			match = match ||
				value_matches(v, json_string_value(want));
		if (!match)
			return 0;
	}
	json_array_append(st->out, doc);
	return 0;
}

static const char *sort_key;
static int sort_dir;

static int compare_docs(const void *a, const void *b)
{
	json_t *va = json_object_get(*(json_t *const *)a, sort_key);
	json_t *vb = json_object_get(*(json_t *const *)b, sort_key);
	int c;

	if (json_is_integer(va) && json_is_integer(vb))
		c = (json_integer_value(va) > json_integer_value(vb)) -
		    (json_integer_value(va) < json_integer_value(vb));
	else if (json_is_string(va) && json_is_string(vb))
		c = strcmp(json_string_value(va), json_string_value(vb));
	else if (json_is_boolean(va) && json_is_boolean(vb))
		c = json_is_true(va) - json_is_true(vb);
	else
		c = (va != NULL) - (vb != NULL);
	return c * sort_dir;
}

/* Sorts 'list' in place by one attribute. */
static int sort_list(struct api_ctx *ctx, const struct api_resource *res,
		     json_t *list, const char *key, const char *dir)
{
	size_t n = json_array_size(list);
	json_t **items;

	if (!find_attr(res, key))
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"%s is invalid attribute for sort_key", key);
	if (strcmp(dir, "asc") && strcmp(dir, "desc"))
		return api_fail(
			&ctx->err, 400, "HTTPBadRequest",
			"%s is invalid value for sort_dir; use asc or desc",
			dir);
	items = calloc(n ? n : 1, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	sort_key = key;
	sort_dir = strcmp(dir, "desc") ? 1 : -1;
	qsort(items, n, sizeof(*items), compare_docs);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
	return 0;
}

/* The single value of a query key, or NULL. */
static const char *query_one(json_t *query, const char *key)
{
	return json_string_value(
		json_array_get(json_object_get(query, key), 0));
}

/* Checks that filter values can be compared with the attribute's type. */
static int check_filter(struct api_ctx *ctx, const struct api_attr *a,
			json_t *values)
{
	json_t *v;
	size_t i;

	json_array_foreach(values, i, v) {
		const char *text = json_string_value(v);
		bool ok = true;

		if (a->type == API_T_BOOL) {
			ok = !strcasecmp(text, "true") ||
			     !strcasecmp(text, "false") || !strcmp(text, "1") ||
			     !strcmp(text, "0");
		} else if (a->type == API_T_INT) {
			char *end;

			strtoll(text, &end, 10);
			ok = text[0] && !*end;
		}
		if (!ok)
			return api_fail(
				&ctx->err, 400, "HTTPBadRequest",
				"Invalid input for %s filter: '%s' is not %s.",
				a->name, text, type_name(a->type));
	}
	return 0;
}

/* Appends 'text' to 'buf' percent-encoded, as a URL query needs. */
static void append_encoded(char *buf, size_t len, const char *text)
{
	size_t used = strlen(buf);

	for (; *text && used + 4 < len; text++) {
		unsigned char c = (unsigned char)*text;

		if (isalnum(c) || strchr("-_.~", c))
			buf[used++] = (char)c;
		else
			used += (size_t)snprintf(buf + used, len - used,
						 "%%%02X", c);
	}
	buf[used] = '\0';
}

/* The link to the next page: the same query with a new marker. */
static void next_link(struct api_ctx *ctx, const struct api_resource *res,
		      json_t *query, const char *marker, char *buf, size_t len)
{
	const char *key;
	json_t *values, *v;
	size_t i;

	snprintf(buf, len, "%s/v2.0/%s?", ctx->base_url, res->collection);
	json_object_foreach(query, key, values) {
		if (!strcmp(key, "marker"))
			continue;
		json_array_foreach(values, i, v) {
			append_encoded(buf, len, key);
			strncat(buf, "=", len - strlen(buf) - 1);
			append_encoded(buf, len, json_string_value(v));
			strncat(buf, "&", len - strlen(buf) - 1);
		}
	}
	strncat(buf, "marker=", len - strlen(buf) - 1);
	append_encoded(buf, len, marker);
}

static int handle_list(struct api_ctx *ctx, const struct api_resource *res,
		       json_t *query, json_t **ret)
{
	struct store_query q = { .kind = res->member };
	struct list_state st = { ctx, res, json_object(), json_array() };
	const char *limit_s = query_one(query, "limit");
	const char *marker = query_one(query, "marker");
	const char *key, *sort_by = query_one(query, "sort_key");
	json_t *values, *page, *fields = json_object_get(query, "fields");
	long limit = 0;
	size_t start = 0, n;
	int r;

	if (res->admin_only && !ctx->is_admin) {
		r = policy_denied(ctx, "get", res, NULL);
		goto out;
	}
	if (res->before_list) {
		if (begin(ctx) < 0 ||
		    finish(ctx, res->before_list(ctx) < 0) < 0) {
			r = -1;
			goto out;
		}
	}
	json_object_foreach(query, key, values) {
		static const char *const paging[] = {
			"fields",   "limit",	"marker",
			"sort_key", "sort_dir", "page_reverse"
		};
		bool is_paging = false;

		for (size_t i = 0; i < sizeof(paging) / sizeof(paging[0]); i++)
			is_paging = is_paging || !strcmp(key, paging[i]);
		if (is_paging)
			continue;
		if (!find_attr(res, key)) {
			r = api_fail(&ctx->err, 400, "HTTPBadRequest",
				     "[%s] is invalid attribute for filtering",
				     key);
			goto out;
		}
		if (check_filter(ctx, find_attr(res, key), values) < 0) {
			r = -1;
			goto out;
		}
		json_object_set(st.filters, key, values);
	}
	if (limit_s) {
		char *end;

		limit = strtol(limit_s, &end, 10);
		if (*end || limit < 0) {
			r = api_fail(
				&ctx->err, 400, "HTTPBadRequest",
				"Limit must be an integer 0 or greater and not '%s'",
				limit_s);
			goto out;
		}
	}

	/* Narrow in SQL where the filters allow it. */
	if (!ctx->is_admin) {
		q.project_id = ctx->project_id;
		q.include_shared = res->shared != NULL || res->visible != NULL;
		if (res->visible && !res->shared)
			q.project_id = NULL; /* the hook decides */
	} else if (json_array_size(json_object_get(query, "project_id")) == 1) {
		q.project_id = query_one(query, "project_id");
	}
	if (res->parent_attr &&
	    json_array_size(json_object_get(query, res->parent_attr)) == 1)
		q.parent_id = query_one(query, res->parent_attr);

	r = store_list(ctx->store, &q, list_one, &st);
	if (r < 0) {
		r = api_fail(&ctx->err, 500, "HTTPInternalServerError",
			     "The store failed to list %s: %s", res->collection,
			     strerror(-r));
		goto out;
	}
	if (sort_by) {
		const char *dir = query_one(query, "sort_dir");

		if (sort_list(ctx, res, st.out, sort_by, dir ? dir : "asc") <
		    0) {
			r = -1;
			goto out;
		}
	}
	n = json_array_size(st.out);
	if (marker) {
		for (start = 0; start < n; start++)
			if (!strcmp(api_str(json_array_get(st.out, start),
					    "id"),
				    marker))
				break;
		if (start == n) {
			r = not_found(ctx, res, marker);
			goto out;
		}
		start++;
	}

	page = json_array();
	for (size_t i = start; i < n && (!limit || i < start + (size_t)limit);
	     i++)
		json_array_append_new(
			page,
			project_fields(json_array_get(st.out, i), fields));
	*ret = json_pack("{s:o}", list_key(res), page);
	if (limit && start + (size_t)limit < n) {
		char links_key[64], href[2048];
		json_t *last =
			json_array_get(st.out, start + (size_t)limit - 1);

		snprintf(links_key, sizeof(links_key), "%s_links",
			 list_key(res));
		next_link(ctx, res, query, api_str(last, "id"), href,
			  sizeof(href));
		json_object_set_new(
			*ret, links_key,
			json_pack("[{s:s, s:s}]", "rel", "next", "href", href));
	}
	r = 200;
out:
	json_decref(st.filters);
	json_decref(st.out);
	return r;
}

static json_t *versions_body(struct api_ctx *ctx)
{
	char href[512];

	snprintf(href, sizeof(href), "%s/v2.0/", ctx->base_url);
	return json_pack("{s:[{s:s, s:s, s:[{s:s, s:s}]}]}", "versions", "id",
			 "v2.0", "status", "CURRENT", "links", "href", href,
			 "rel", "self");
}

static json_t *resources_body(struct api_ctx *ctx)
{
	json_t *list = json_array();

	for (size_t i = 0; i < N_RESOURCES; i++) {
		char href[512];

		snprintf(href, sizeof(href), "%s/v2.0/%s", ctx->base_url,
			 resources[i]->collection);
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name",
					resources[i]->member, "collection",
					resources[i]->collection, "links",
					"href", href, "rel", "self"));
	}
	return json_pack("{s:o}", "resources", list);
}

static json_t *extension_body(size_t i)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:[]}", "alias",
			 extensions[i].alias, "name", extensions[i].name,
			 "description", extensions[i].description, "updated",
			 "2013-01-20T00:00:00-00:00", "links");
}

static int handle_extensions(struct api_ctx *ctx, const char *alias,
			     json_t **ret)
{
	size_t n = sizeof(extensions) / sizeof(extensions[0]);
	json_t *list;

	if (alias) {
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(extensions[i].alias, alias)) {
				*ret = json_pack("{s:o}", "extension",
						 extension_body(i));
				return 200;
			}
		}
		return api_fail(&ctx->err, 404, "ExtensionNotFound",
				"Extension with alias %s does not exist",
				alias);
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, extension_body(i));
	*ret = json_pack("{s:o}", "extensions", list);
	return 200;
}

static int method_not_allowed(struct api_ctx *ctx, const char *method)
{
	return api_fail(&ctx->err, 405, "HTTPMethodNotAllowed",
			"The method %s is not allowed for this resource.",
			method);
}

static int handle_action(struct api_ctx *ctx, const struct api_resource *res,
			 const char *id, const char *name, json_t *body,
			 json_t **ret)
{
	const struct api_action *action = NULL;
	json_t *obj;
	int failed = 1;

	for (const struct api_action *a = res->actions; a && a->name; a++)
		if (!strcmp(a->name, name))
			action = a;
	if (!action)
		return api_fail(&ctx->err, 404, "HTTPNotFound",
				"The resource could not be found.");
	if (!json_is_object(body))
		return api_fail(&ctx->err, 400, "HTTPBadRequest",
				"The request body must be a dictionary.");
	if (begin(ctx) < 0)
		return -1;
	obj = api_find(ctx, res, id);
	if (obj && !api_owns(ctx, obj))
		policy_denied(ctx, name, res, NULL);
	else if (obj && action->fn(ctx, obj, body, ret) == 0)
		failed = 0;
	json_decref(obj);
	if (finish(ctx, failed) < 0) {
		if (!failed)
			json_decref(*ret);
		return -1;
	}
	return 200;
}

/* Splits 'path' into at most 'max' segments, without empty ones. Returns
 * the count, or -1 when there are more. 'buf' holds the copies. */
static int split_path(const char *path, char *buf, size_t len, char **segs,
		      int max)
{
	int n = 0;

	snprintf(buf, len, "%s", path);
	for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		segs[n++] = tok;
	}
	/* Neutron accepts a ".json" suffix on the last segment. */
	if (n > 0) {
		size_t l = strlen(segs[n - 1]);

		if (l > 5 && !strcmp(segs[n - 1] + l - 5, ".json"))
			segs[n - 1][l - 5] = '\0';
	}
	return n;
}

static int dispatch(struct api_ctx *ctx, const char *method, const char *path,
		    json_t *query, json_t *body, json_t **ret)
{
	const struct api_resource *res = NULL;
	bool get = !strcmp(method, "GET");
	char buf[1024], *segs[4];
	int n = split_path(path, buf, sizeof(buf), segs, 4);

	if (n == 0)
		return get ? (*ret = versions_body(ctx), 200) :
			     method_not_allowed(ctx, method);
	if (n < 0 || strcmp(segs[0], "v2.0"))
		goto not_found;
	if (n == 1)
		return get ? (*ret = resources_body(ctx), 200) :
			     method_not_allowed(ctx, method);
	if (!strcmp(segs[1], "extensions") && n <= 3)
		return get ? handle_extensions(ctx, n == 3 ? segs[2] : NULL,
					       ret) :
			     method_not_allowed(ctx, method);
	for (size_t i = 0; i < N_RESOURCES; i++)
		if (!strcmp(resources[i]->collection, segs[1]))
			res = resources[i];
	if (!res)
		goto not_found;

	if (n == 2) {
		if (get)
			return handle_list(ctx, res, query, ret);
		if (!strcmp(method, "POST"))
			return handle_create(ctx, res, body, ret);
		return method_not_allowed(ctx, method);
	}
	if (n == 3) {
		if (get)
			return handle_show(ctx, res, segs[2], query, ret);
		if (!strcmp(method, "PUT") && !res->immutable)
			return handle_update(ctx, res, segs[2], body, ret);
		if (!strcmp(method, "DELETE"))
			return handle_delete(ctx, res, segs[2]);
		return method_not_allowed(ctx, method);
	}
	if (!strcmp(method, "PUT"))
		return handle_action(ctx, res, segs[2], segs[3], body, ret);
	if (res->actions)
		return method_not_allowed(ctx, method);
not_found:
	return api_fail(&ctx->err, 404, "HTTPNotFound",
			"The resource could not be found.");
}

int api_handle(struct api_ctx *ctx, const char *method, const char *path,
	       json_t *query, json_t *body, json_t **ret_body)
{
	json_t *out = NULL;
	int status = dispatch(ctx, method, path, query, body, &out);

	if (status < 0) {
		json_decref(out);
		*ret_body = api_error_body(&ctx->err);
		return ctx->err.status;
	}
	*ret_body = out;
	return status;
}
