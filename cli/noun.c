/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void json_decrefp(json_t **p)
{
	json_decref(*p);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The getopt_long() values of the global options. The options of a
 * command's table get OPTION_TABLE + their index. */
enum {
	OPTION_URL = 0x100,
	OPTION_TOKEN,
	OPTION_PROJECT,
	OPTION_TABLE = 0x200,
};

static const struct option global_options[] = {
	{ "url", required_argument, NULL, OPTION_URL },
	{ "token", required_argument, NULL, OPTION_TOKEN },
	{ "project", required_argument, NULL, OPTION_PROJECT },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
};

static const struct noun *const nouns[] = {
	&network_noun,
	&subnet_noun,
	&port_noun,
	&agent_noun,
};

/* A command line, parsed. */
struct args {
	/* The attributes (or filters) that the options set. */
	json_t *attrs;
	/* The attributes emptied by a NOUN_OPTION_EMPTY_LIST option. */
	json_t *cleared;
	/* The words that are not options; they point into argv. */
	char **positional;
	int n_positional;
	bool help;
};

struct verb {
	const char *name;
	/* One line for --help; "%s" is the noun's collection. */
	const char *summary;
	/* The operand as --help shows it, or NULL for the noun's name in
	 * capitals. */
	const char *operand;
	int min_operands;
	int max_operands;
	/* The noun's options for this verb. */
	size_t options_offset;
	int (*run)(struct noun_context *ctx, const struct noun *noun,
		   struct args *args);
};

#define NO_OPTIONS SIZE_MAX

static const struct noun_option *verb_options(const struct verb *verb,
					      const struct noun *noun)
{
	if (verb->options_offset == NO_OPTIONS)
		return NULL;
	return *(const struct noun_option *const *)((const char *)noun +
						    verb->options_offset);
}

static void print_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void print_error(const char *fmt, ...)
{
	va_list ap;

	fputs("weftctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Reports a mistake on the command line of 'command' ("network create",
 * or "" for weftctl itself) and returns -EINVAL. */
static int usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fputs("weftctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'weftctl %s%s--help'\n", command,
		*command ? " " : "");
	return -EINVAL;
}

/* Reports the failure 'r' of a request, described by 'err'. */
static void report_request_error(struct noun_context *ctx, int r,
				 const struct client_error *err)
{
	if (r == -ENOMEM)
		print_error("out of memory");
	else if (err->status == 0)
		print_error("cannot reach weftd at %s: %s (is weftd running? "
			    "set --url or WEFT_URL)",
			    client_url(ctx->client), err->message);
	else if (err->type[0])
		print_error("%s (HTTP %ld %s)", err->message, err->status,
			    err->type);
	else
		print_error("%s (HTTP %ld)", err->message, err->status);
}

static int ensure_client(struct noun_context *ctx)
{
	int r;

	if (ctx->client)
		return 0;
	r = client_new(ctx->url, ctx->token, ctx->project, &ctx->client);
	if (r < 0)
		print_error("out of memory");
	return r;
}

/* Sends a request as client_request() does, and reports its failure. */
static int request(struct noun_context *ctx, const char *method,
		   const char *path, json_t *body, json_t **ret)
{
	struct client_error err;
	int r;

	r = ensure_client(ctx);
	if (r < 0)
		return r;
	r = client_request(ctx->client, method, path, body, ret, &err);
	if (r < 0)
		report_request_error(ctx, r, &err);
	return r;
}

/* Sets 'ret' to a new reference to member 'key' of 'answer', which must be
 * of 'type'; reports an error when it is not. */
static int answer_member(json_t *answer, const char *key, json_type type,
			 json_t **ret)
{
	json_t *member = json_object_get(answer, key);

	if (!member || json_typeof(member) != type) {
		print_error("weftd's answer lacks \"%s\"", key);
		return -EBADMSG;
	}
	*ret = json_incref(member);
	return 0;
}

/* Returns a malloc()ed "/v2.0/COLLECTION/ID", or NULL when out of memory. */
static char *resource_path(struct noun_context *ctx, const struct noun *noun,
			   const char *id)
{
	_cleanup_free_ char *escaped = client_escape(ctx->client, id);
	char *path;

	if (!escaped || asprintf(&path, "/v2.0/%s/%s", noun->collection,
				 escaped) < 0)
		return NULL;
	return path;
}

/* Finds the 'noun' resource whose id or name is 'ref'. A name is looked up
 * among the resources matching the query 'scope' ("network_id=ID"), or among
 * all when 'scope' is NULL. Sets 'ret' to a new reference to the resource.
 * Reports errors. */
static int resolve(struct noun_context *ctx, const struct noun *noun,
		   const char *ref, const char *scope, json_t **ret)
{
	_cleanup_json_ json_t *answer = NULL, *list = NULL;
	_cleanup_free_ char *path = NULL, *escaped = NULL;
	bool named = !strcmp(noun->name_attr, "name");
	struct client_error err;
	size_t n;
	int r;

	r = ensure_client(ctx);
	if (r < 0)
		return r;

	/* An empty 'ref' would make the path that of the collection. */
	if (*ref) {
		path = resource_path(ctx, noun, ref);
		if (!path)
			return -ENOMEM;
		r = client_request(ctx->client, "GET", path, NULL, &answer,
				   &err);
		if (r == 0)
			return answer_member(answer, noun->name, JSON_OBJECT,
					     ret);
		if (r != -EREMOTEIO || err.status != 404) {
			report_request_error(ctx, r, &err);
			return r;
		}
		free(path);
	}

	escaped = client_escape(ctx->client, ref);
	if (!escaped || asprintf(&path, "/v2.0/%s?%s=%s%s%s", noun->collection,
				 noun->name_attr, escaped, scope ? "&" : "",
				 scope ? scope : "") < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = request(ctx, "GET", path, NULL, &answer);
	if (r < 0)
		return r;
	r = answer_member(answer, noun->collection, JSON_ARRAY, &list);
	if (r < 0)
		return r;

	n = json_array_size(list);
	if (n == 1) {
		*ret = json_incref(json_array_get(list, 0));
		return 0;
	}
	if (n == 0 && named)
		print_error("no %s named or with id %s", noun->name, ref);
	else if (n == 0)
		print_error("no %s with %s or id %s", noun->name,
			    noun->name_attr, ref);
	else if (named)
		print_error("several %s are named %s; use the id",
			    noun->collection, ref);
	else
		print_error("several %s have %s %s; use the id",
			    noun->collection, noun->name_attr, ref);
	return n == 0 ? -ENOENT : -ENOTUNIQ;
}

static bool option_takes_argument(const struct noun_option *opt)
{
	return opt->kind != NOUN_OPTION_TRUE &&
	       opt->kind != NOUN_OPTION_FALSE &&
	       opt->kind != NOUN_OPTION_EMPTY_LIST;
}

static size_t options_count(const struct noun_option *options)
{
	size_t n = 0;

	while (options && options[n].name)
		n++;
	return n;
}

/* The name of another option of 'options' that sets the same attribute as
 * 'opt', for the message saying that they exclude each other. */
static const char *option_rival(const struct noun_option *options,
				const struct noun_option *opt)
{
	for (; options->name; options++)
		if (options != opt && !strcmp(options->attr, opt->attr))
			return options->name;
	return "?";
}

/* Parses "A,B" into {keys[0]: A, keys[1]: B}. */
static int parse_pair(const char *command, const struct noun_option *opt,
		      const char *arg, json_t **ret)
{
	_cleanup_free_ char *first = NULL;
	const char *comma = strchr(arg, ',');
	json_t *item;

	if ((!comma && !opt->second_optional) || comma == arg ||
	    (comma && !comma[1]))
		return usage_error(command, "--%s takes %s, not '%s'",
				   opt->name, opt->metavar, arg);
	first = comma ? strndup(arg, (size_t)(comma - arg)) : strdup(arg);
	if (!first)
		return -ENOMEM;
	if (comma)
		item = json_pack("{ssss}", opt->keys[0], first, opt->keys[1],
				 comma + 1);
	else
		item = json_pack("{ss}", opt->keys[0], first);
	if (!item)
		return usage_error(command, "--%s: '%s' is not valid UTF-8",
				   opt->name, arg);
	*ret = item;
	return 0;
}

/* Parses "subnet=S,ip=IP" (either or both, in any order) into
 * {"subnet_id": S, "ip_address": IP}. */
static int parse_fixed_ip(const char *command, const struct noun_option *opt,
			  const char *arg, json_t **ret)
{
	_cleanup_json_ json_t *item = json_object();
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL;

	if (!item || !copy)
		return -ENOMEM;
	for (char *part = strtok_r(copy, ",", &save); part;
	     part = strtok_r(NULL, ",", &save)) {
		char *value = strchr(part, '=');
		const char *key = NULL;

		if (value) {
			*value++ = '\0';
			if (!strcmp(part, "subnet"))
				key = "subnet_id";
			else if (!strcmp(part, "ip"))
				key = "ip_address";
		}
		if (!key || !*value || json_object_get(item, key))
			break;
		if (json_object_set_new(item, key, json_string(value)) < 0)
			return usage_error(command,
					   "--%s: '%s' is not valid UTF-8",
					   opt->name, arg);
	}
	if (save && *save)
		return usage_error(command, "--%s takes %s, not '%s'",
				   opt->name, opt->metavar, arg);
	if (json_object_size(item) == 0 || strtok_r(NULL, ",", &save))
		return usage_error(command, "--%s takes %s, not '%s'",
				   opt->name, opt->metavar, arg);
	*ret = json_incref(item);
	return 0;
}

/* Appends the item that option 'opt' with argument 'arg' describes to its
 * list attribute. */
static int append_option(const char *command,
			 const struct noun_option *options,
			 const struct noun_option *opt, const char *arg,
			 struct args *args)
{
	json_t *list = json_object_get(args->attrs, opt->attr);
	json_t *item = NULL;
	int r = 0;

	if (json_object_get(args->cleared, opt->attr))
		return usage_error(command, "--%s and --%s exclude each other",
				   opt->name, option_rival(options, opt));
	if (!list) {
		list = json_array();
		if (json_object_set_new(args->attrs, opt->attr, list) < 0)
			return -ENOMEM;
	}

	if (opt->kind == NOUN_OPTION_APPEND) {
		item = json_string(arg);
		if (!item)
			return usage_error(command,
					   "--%s: '%s' is not valid UTF-8",
					   opt->name, arg);
	} else if (opt->kind == NOUN_OPTION_APPEND_PAIR) {
		r = parse_pair(command, opt, arg, &item);
	} else {
		r = parse_fixed_ip(command, opt, arg, &item);
	}
	if (r < 0)
		return r;
	return json_array_append_new(list, item) < 0 ? -ENOMEM : 0;
}

/* Sets the attribute of option 'opt' (one of 'options') from its argument
 * 'arg' (NULL for an option without one). */
static int apply_option(const char *command, const struct noun_option *options,
			const struct noun_option *opt, const char *arg,
			struct args *args)
{
	json_t *value = NULL;
	char *end;
	long long n;

	switch (opt->kind) {
	case NOUN_OPTION_APPEND:
	case NOUN_OPTION_APPEND_PAIR:
	case NOUN_OPTION_FIXED_IP:
		return append_option(command, options, opt, arg, args);
	case NOUN_OPTION_STRING:
	case NOUN_OPTION_REFERENCE:
		value = json_string(arg);
		break;
	case NOUN_OPTION_STRING_OR_NONE:
		value = strcmp(arg, "none") ? json_string(arg) : json_null();
		break;
	case NOUN_OPTION_INTEGER:
		errno = 0;
		n = strtoll(arg, &end, 10);
		if (errno || end == arg || *end)
			return usage_error(command,
					   "--%s takes a whole number, not '%s'",
					   opt->name, arg);
		value = json_integer(n);
		break;
	case NOUN_OPTION_TRUE:
	case NOUN_OPTION_FALSE:
		value = json_boolean(opt->kind == NOUN_OPTION_TRUE);
		break;
	case NOUN_OPTION_UP_DOWN:
		if (strcasecmp(arg, "up") && strcasecmp(arg, "down"))
			return usage_error(command,
					   "--%s takes up or down, not '%s'",
					   opt->name, arg);
		value = json_boolean(!strcasecmp(arg, "up"));
		break;
	case NOUN_OPTION_EMPTY_LIST:
		if (json_array_size(json_object_get(args->attrs, opt->attr)))
			return usage_error(command,
					   "--%s and --%s exclude each other",
					   opt->name,
					   option_rival(options, opt));
		if (json_object_set_new(args->cleared, opt->attr,
					json_true()) < 0)
			return -ENOMEM;
		value = json_array();
		break;
	}
	if (!value)
		return usage_error(command, "--%s: '%s' is not valid UTF-8",
				   opt->name, arg);
	if (json_object_set_new(args->attrs, opt->attr, value) < 0)
		return -ENOMEM;

	if (opt->implies) {
		_cleanup_json_ json_t *implied =
			json_loads(opt->implies, 0, NULL);

		if (json_object_update(args->attrs, implied) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void args_destroy(struct args *args)
{
	json_decref(args->attrs);
	json_decref(args->cleared);
}

/* Reports an option that getopt_long() refused. */
static int option_error(const char *command, int c, char **argv)
{
	const char *word = argv[optind - 1];

	if (c == ':')
		return usage_error(command, "option '%s' needs an argument",
				   word);
	if (optopt >= OPTION_URL)
		return usage_error(command, "option '%.*s' takes no argument",
				   (int)strcspn(word, "="), word);
	if (optopt > 0)
		return usage_error(command, "unknown option '-%c'", optopt);
	return usage_error(command, "unknown option '%s'", word);
}

/* Parses 'argv' (whose first element is the command's last word) with the
 * global options and 'options' into 'args', which the caller destroys with
 * args_destroy() even on failure. With 'stop_at_operand', stops at the
 * first word that is not an option. The global options are stored in
 * 'ctx'. Errors are reported with 'command' ("network create"). */
static int parse_args(struct noun_context *ctx, const char *command,
		      const struct noun_option *options, bool stop_at_operand,
		      int argc, char **argv, struct args *args)
{
	size_t n = options_count(options);
	_cleanup_free_ struct option *longopts =
		calloc(n + ARRAY_SIZE(global_options) + 1, sizeof(*longopts));
	int c, r = 0;

	*args = (struct args){ .attrs = json_object(),
			       .cleared = json_object() };
	if (!longopts || !args->attrs || !args->cleared)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		longopts[i] = (struct option){
			.name = options[i].name,
			.has_arg = option_takes_argument(&options[i]) ?
					   required_argument :
					   no_argument,
			.val = OPTION_TABLE + (int)i,
		};
	memcpy(longopts + n, global_options, sizeof(global_options));

	/* Zero, rather than 1, makes glibc's getopt start afresh. */
	optind = 0;
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv,
					  stop_at_operand ? "+:ho:" : ":ho:",
					  longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			args->help = true;
			break;
		case 'o':
			if (output_format_from_string(optarg, &ctx->format) < 0)
				r = usage_error(command,
						"-o takes table, json or value, not '%s'",
						optarg);
			break;
		case OPTION_URL:
			ctx->url = optarg;
			break;
		case OPTION_TOKEN:
			ctx->token = optarg;
			break;
		case OPTION_PROJECT:
			ctx->project = optarg;
			break;
		case ':':
		case '?':
			r = option_error(command, c, argv);
			break;
		default:
			r = apply_option(command, options,
					 &options[c - OPTION_TABLE], optarg,
					 args);
			break;
		}
	}
	args->positional = argv + optind;
	args->n_positional = argc - optind;
	return r;
}

/* Replaces the names given to NOUN_OPTION_REFERENCE options by ids, then
 * those of the subnets of NOUN_OPTION_FIXED_IP options (as a subnet is
 * looked for in the network of the port: that given by 'attrs', or that of
 * 'current', the resource being updated). */
static int resolve_references(struct noun_context *ctx,
			      const struct noun_option *options, json_t *attrs,
			      json_t *current)
{
	const struct noun_option *opt;
	_cleanup_free_ char *scope = NULL;
	json_t *network, *value, *item, *found;
	size_t i;
	int r;

	for (opt = options; opt && opt->name; opt++) {
		value = json_object_get(attrs, opt->attr);
		if (opt->kind != NOUN_OPTION_REFERENCE || !value)
			continue;
		r = resolve(ctx, opt->ref, json_string_value(value), NULL,
			    &found);
		if (r < 0)
			return r;
		r = json_object_set(attrs, opt->attr,
				    json_object_get(found, "id"));
		json_decref(found);
		if (r < 0)
			return -ENOMEM;
	}

	network = json_object_get(attrs, "network_id");
	if (!network)
		network = json_object_get(current, "network_id");
	if (json_is_string(network)) {
		_cleanup_free_ char *escaped =
			client_escape(ctx->client, json_string_value(network));

		if (!escaped || asprintf(&scope, "network_id=%s", escaped) < 0)
			return -ENOMEM;
	}
	for (opt = options; opt && opt->name; opt++) {
		if (opt->kind != NOUN_OPTION_FIXED_IP)
			continue;
		json_array_foreach(json_object_get(attrs, opt->attr), i, item) {
			value = json_object_get(item, "subnet_id");
			if (!value)
				continue;
			r = resolve(ctx, opt->ref, json_string_value(value),
				    scope, &found);
			if (r < 0)
				return r;
			r = json_object_set(item, "subnet_id",
					    json_object_get(found, "id"));
			json_decref(found);
			if (r < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Sends 'attrs' wrapped as {"NOUN": attrs} with 'method' to 'path' and
 * shows the resource that weftd answers with. */
static int send_and_show(struct noun_context *ctx, const struct noun *noun,
			 const char *method, const char *path, json_t *attrs)
{
	_cleanup_json_ json_t *body = json_pack("{sO}", noun->name, attrs);
	_cleanup_json_ json_t *answer = NULL, *resource = NULL;
	int r;

	if (!body)
		return -ENOMEM;
	r = request(ctx, method, path, body, &answer);
	if (r == 0)
		r = answer_member(answer, noun->name, JSON_OBJECT, &resource);
	if (r == 0)
		r = output_resource(stdout, ctx->format, resource);
	return r;
}

static int verb_create(struct noun_context *ctx, const struct noun *noun,
		       struct args *args)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (noun->create_defaults) {
		_cleanup_json_ json_t *defaults =
			json_loads(noun->create_defaults, 0, NULL);

		if (json_object_update_missing(args->attrs, defaults) < 0)
			return -ENOMEM;
	}
	if (json_object_set_new(args->attrs, "name",
				json_string(args->positional[0])) < 0)
		return usage_error("", "the name is not valid UTF-8");
	r = resolve_references(ctx, noun->create_options, args->attrs, NULL);
	if (r < 0)
		return r;
	if (asprintf(&path, "/v2.0/%s", noun->collection) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	return send_and_show(ctx, noun, "POST", path, args->attrs);
}

static int verb_update(struct noun_context *ctx, const struct noun *noun,
		       struct args *args)
{
	_cleanup_json_ json_t *current = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = resolve(ctx, noun, args->positional[0], NULL, &current);
	if (r < 0)
		return r;
	r = resolve_references(ctx, noun->update_options, args->attrs,
			       current);
	if (r < 0)
		return r;
	path = resource_path(
		ctx, noun, json_string_value(json_object_get(current, "id")));
	if (!path)
		return -ENOMEM;
	return send_and_show(ctx, noun, "PUT", path, args->attrs);
}

static int verb_list(struct noun_context *ctx, const struct noun *noun,
		     struct args *args)
{
	_cleanup_json_ json_t *answer = NULL, *list = NULL;
	_cleanup_free_ char *path = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	r = ensure_client(ctx);
	if (r == 0)
		r = resolve_references(ctx, noun->list_options, args->attrs,
				       NULL);
	if (r < 0)
		return r;

	f = open_memstream(&path, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "/v2.0/%s", noun->collection);
	for (const struct noun_option *opt = noun->list_options;
	     opt && opt->name; opt++) {
		json_t *value = json_object_get(args->attrs, opt->attr);
		_cleanup_free_ char *text = NULL, *escaped = NULL;

		if (!value)
			continue;
		text = output_format_value(value, NULL);
		escaped = text ? client_escape(ctx->client, text) : NULL;
		if (!escaped)
			r = -ENOMEM;
		else
			fprintf(f, "%c%s=%s", ftell(f) > 6 + (long)strlen(noun->collection) ? '&' : '?',
				opt->attr, escaped);
	}
	if (fclose(f) != 0 || r < 0)
		return -ENOMEM;

	r = request(ctx, "GET", path, NULL, &answer);
	if (r == 0)
		r = answer_member(answer, noun->collection, JSON_ARRAY, &list);
	if (r == 0)
		r = output_list(stdout, ctx->format, noun->columns,
				noun->n_columns, list);
	return r;
}

static int verb_show(struct noun_context *ctx, const struct noun *noun,
		     struct args *args)
{
	_cleanup_json_ json_t *resource = NULL;
	int r;

	r = resolve(ctx, noun, args->positional[0], NULL, &resource);
	if (r == 0)
		r = output_resource(stdout, ctx->format, resource);
	return r;
}

static int verb_delete(struct noun_context *ctx, const struct noun *noun,
		       struct args *args)
{
	int failed = 0;

	/* Each resource is deleted even when another could not be. */
	for (int i = 0; i < args->n_positional; i++) {
		_cleanup_json_ json_t *resource = NULL;
		_cleanup_free_ char *path = NULL;
		int r;

		r = resolve(ctx, noun, args->positional[i], NULL, &resource);
		if (r == 0) {
			path = resource_path(ctx, noun,
					     json_string_value(json_object_get(
						     resource, "id")));
			r = path ? request(ctx, "DELETE", path, NULL, NULL) :
				   -ENOMEM;
		}
		if (r < 0 && !failed)
			failed = r;
	}
	return failed;
}

static const struct verb verbs[] = {
	{ "create", "Creates a new %s and shows it.", "NAME", 1, 1,
	  offsetof(struct noun, create_options), verb_create },
	{ "list", "Lists the %s.", "", 0, 0,
	  offsetof(struct noun, list_options), verb_list },
	{ "show", "Shows every attribute of one %s.", NULL, 1, 1, NO_OPTIONS,
	  verb_show },
	{ "update", "Changes attributes of one %s and shows the result.", NULL,
	  1, 1, offsetof(struct noun, update_options), verb_update },
	{ "delete", "Deletes one or more %s.", NULL, 1, INT_MAX, NO_OPTIONS,
	  verb_delete },
};
