/* SPDX-License-Identifier: Apache-2.0 */
#include "noun.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))

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
	&network_noun,	     &subnet_noun,    &port_noun,
	&agent_noun,	     &router_noun,    &secgroup_noun,
	&secgroup_rule_noun, &conntrack_noun, &floatingip_noun,
};

/* The words that name one 'noun' on the command line and in messages
 * ("security group"). */
static const char *noun_words(const struct noun *noun)
{
	return noun->words ? noun->words : noun->name;
}

/* The same in the plural ("security groups"). */
static const char *noun_plural(const struct noun *noun)
{
	return noun->plural ? noun->plural : noun->collection;
}

/* The key of the list in the answers of the noun's collection. */
static const char *noun_list_key(const struct noun *noun)
{
	return noun->list_key ? noun->list_key : noun->collection;
}

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
	/* The noun's own command being run, if it is one. */
	const struct noun_verb *extra;
};

struct verb {
	const char *name;
	/* Its NOUN_VERB_* bit, 0 for a noun's own command. */
	unsigned int bit;
	/* One line for --help; "%s" is the noun's name, or its collection
	 * when 'plural'. */
	const char *summary;
	bool plural;
	/* The operand as --help shows it, or NULL for the noun's name in
	 * capitals. */
	const char *operand;
	int min_operands;
	int max_operands;
	/* The noun's options for this verb. */
	size_t options_offset;
	int (*run)(struct noun_context *ctx, const struct noun *noun,
		   struct args *args);
	/* When 'options_offset' is NO_OPTIONS, the options (or NULL). */
	const struct noun_option *options;
};

#define NO_OPTIONS SIZE_MAX

static const struct noun_option *verb_options(const struct verb *verb,
					      const struct noun *noun)
{
	if (verb->options_offset == NO_OPTIONS)
		return verb->options;
	return *(const struct noun_option *const *)((const char *)noun +
						    verb->options_offset);
}

/* Writes "weftctl: error: " and the message, then 'suffix'. */
static void print_message(const char *suffix, const char *fmt, va_list ap)
{
	fputs("weftctl: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "%s\n", suffix);
}

static void print_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void print_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_message("", fmt, ap);
	va_end(ap);
}

/* Reports a mistake on the command line of 'command' ("network create",
 * or "" for weftctl itself) and returns -EINVAL. */
static int usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *command, const char *fmt, ...)
{
	char suffix[96];
	va_list ap;

	snprintf(suffix, sizeof(suffix), "; see 'weftctl %s%s--help'", command,
		 *command ? " " : "");
	va_start(ap, fmt);
	print_message(suffix, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Reports the failure 'r' of a request, described by 'err'. Running out
 * of memory is left to main(), which reports it wherever it happens. */
static void report_request_error(struct noun_context *ctx, int r,
				 const struct client_error *err)
{
	if (r == -ENOMEM)
		return;
	if (err->status == 0)
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
	if (ctx->client)
		return 0;
	return client_new(ctx->url, ctx->token, ctx->project, &ctx->client);
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

	if (!escaped ||
	    asprintf(&path, "/v2.0/%s/%s", noun->collection, escaped) < 0)
		return NULL;
	return path;
}

/* Sets 'ret' to a new reference to 'resource' when it has an id. */
static int take_resource(json_t *resource, json_t **ret)
{
	if (!json_is_string(json_object_get(resource, "id"))) {
		print_error("weftd sent a resource without an id");
		return -EBADMSG;
	}
	*ret = json_incref(resource);
	return 0;
}

/* Returns a malloc()ed "SEPARATOR ATTR=VALUE" for a query string, 'value'
 * percent-encoded, or NULL when out of memory. */
static char *query_term(struct noun_context *ctx, char separator,
			const char *attr, const char *value)
{
	_cleanup_free_ char *escaped = client_escape(ctx->client, value);
	char *term;

	if (!escaped ||
	    asprintf(&term, "%c%s=%s", separator, attr, escaped) < 0)
		return NULL;
	return term;
}

/* Fetches the 'noun' resource with 'id' into 'ret' (a new reference).
 * Returns -ENOENT, without reporting it, when weftd knows no such id, and
 * reports other errors. */
static int fetch_by_id(struct noun_context *ctx, const struct noun *noun,
		       const char *id, json_t **ret)
{
	_cleanup_free_ char *path = resource_path(ctx, noun, id);
	json_auto_t *answer = NULL, *resource = NULL;
	struct client_error err;
	int r;

	if (!path)
		return -ENOMEM;
	r = client_request(ctx->client, "GET", path, NULL, &answer, &err);
	if (r == -EREMOTEIO && err.status == 404)
		return -ENOENT;
	if (r < 0) {
		report_request_error(ctx, r, &err);
		return r;
	}
	r = answer_member(answer, noun->name, JSON_OBJECT, &resource);
	if (r == 0)
		r = take_resource(resource, ret);
	return r;
}

/* True when 'resource' belongs to 'project'. */
static bool owned_by(json_t *resource, const char *project)
{
	const char *owner =
		json_string_value(json_object_get(resource, "project_id"));

	return owner && !strcmp(owner, project);
}

/* Keeps in 'list' only the resources of 'project' when there are some
 * (an admin sees every project's "default" security group; --project
 * says which one is meant). Returns the number of resources left. */
static size_t keep_project(json_t *list, const char *project)
{
	size_t i, mine = 0;
	json_t *item;

	json_array_foreach(list, i, item)
		mine += owned_by(item, project);
	if (mine == 0)
		return json_array_size(list);
	for (i = json_array_size(list); i-- > 0;)
		if (!owned_by(json_array_get(list, i), project))
			json_array_remove(list, i);
	return mine;
}

/* Finds the 'noun' resource whose id or name is 'ref'. A name is looked up
 * among the resources whose 'scope_attr' is 'scope_value' (the subnets of
 * one network), or among all when 'scope_attr' is NULL. Sets 'ret' to a new
 * reference to the resource. Reports errors. */
static int resolve(struct noun_context *ctx, const struct noun *noun,
		   const char *ref, const char *scope_attr,
		   const char *scope_value, json_t **ret)
{
	_cleanup_free_ char *path = NULL, *name = NULL, *scope = NULL;
	json_auto_t *answer = NULL, *list = NULL;
	bool named = noun->name_attr && !strcmp(noun->name_attr, "name");
	size_t n;
	int r;

	r = ensure_client(ctx);
	if (r < 0)
		return r;
	/* An empty 'ref' would make the path that of the collection. */
	if (*ref) {
		r = fetch_by_id(ctx, noun, ref, ret);
		if (r != -ENOENT)
			return r;
	}
	if (!noun->name_attr) {
		print_error("no %s with id %s", noun_words(noun), ref);
		return -ENOENT;
	}

	name = query_term(ctx, '?', noun->name_attr, ref);
	scope = scope_attr ? query_term(ctx, '&', scope_attr, scope_value) :
			     strdup("");
	if (!name || !scope ||
	    asprintf(&path, "/v2.0/%s%s%s", noun->collection, name, scope) <
		    0) {
		path = NULL;
		return -ENOMEM;
	}
	r = request(ctx, "GET", path, NULL, &answer);
	if (r < 0)
		return r;
	r = answer_member(answer, noun_list_key(noun), JSON_ARRAY, &list);
	if (r < 0)
		return r;

	n = json_array_size(list);
	if (n > 1 && ctx->project)
		n = keep_project(list, ctx->project);
	if (n == 1)
		return take_resource(json_array_get(list, 0), ret);
	if (n == 0 && named)
		print_error("no %s named or with id %s", noun_words(noun), ref);
	else if (n == 0)
		print_error("no %s with %s or id %s", noun_words(noun),
			    noun->name_attr, ref);
	else if (named)
		print_error("several %s are named %s; use the id",
			    noun_plural(noun), ref);
	else
		print_error("several %s have %s %s; use the id",
			    noun_plural(noun), noun->name_attr, ref);
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
	json_auto_t *item = json_object();
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
			else if (!strcmp(part, "ip") ||
				 !strcmp(part, "ip-address"))
				key = "ip_address";
		}
		if (!key || !*value || json_object_get(item, key))
			return usage_error(command, "--%s takes %s, not '%s'",
					   opt->name, opt->metavar, arg);
		if (json_object_set_new(item, key, json_string(value)) < 0)
			return usage_error(command,
					   "--%s: '%s' is not valid UTF-8",
					   opt->name, arg);
	}
	if (json_object_size(item) == 0)
		return usage_error(command, "--%s takes %s, not '%s'",
				   opt->name, opt->metavar, arg);
	*ret = json_incref(item);
	return 0;
}

/* Parses a whole number from 'arg' into 'ret'; -EINVAL when 'arg' is
 * not one. */
static int parse_integer(const char *arg, long long *ret)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (errno || end == arg || *end)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* Sets the two attributes of a NOUN_OPTION_RANGE option from "N" or
 * "N:M". The numbers' bounds are weftd's to check. */
static int apply_range(const char *command, const struct noun_option *opt,
		       const char *arg, struct args *args)
{
	_cleanup_free_ char *first = strdup(arg);
	char *colon = first ? strchr(first, ':') : NULL;
	long long min, max;

	if (!first)
		return -ENOMEM;
	if (colon)
		*colon = '\0';
	if (parse_integer(first, &min) < 0 ||
	    parse_integer(colon ? colon + 1 : first, &max) < 0)
		return usage_error(command, "--%s takes %s, not '%s'",
				   opt->name, opt->metavar, arg);
	if (json_object_set_new(args->attrs, opt->keys[0], json_integer(min)) <
		    0 ||
	    json_object_set_new(args->attrs, opt->keys[1], json_integer(max)) <
		    0)
		return -ENOMEM;
	return 0;
}

/* Checks that 'arg' is one of the choices of option 'opt'. */
static int check_choice(const char *command, const struct noun_option *opt,
			const char *arg)
{
	for (const char *const *c = opt->choices; *c; c++)
		if (!strcmp(arg, *c))
			return 0;
	return usage_error(command, "--%s takes %s, not '%s'", opt->name,
			   opt->metavar, arg);
}

/* Appends the item that option 'opt' with argument 'arg' describes to its
 * list attribute. */
static int append_option(const char *command, const struct noun_option *options,
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
	long long n;

	switch (opt->kind) {
	case NOUN_OPTION_APPEND:
	case NOUN_OPTION_APPEND_PAIR:
	case NOUN_OPTION_FIXED_IP:
		return append_option(command, options, opt, arg, args);
	case NOUN_OPTION_RANGE:
		return apply_range(command, opt, arg, args);
	case NOUN_OPTION_CHOICE:
		if (check_choice(command, opt, arg) < 0)
			return -EINVAL;
		value = json_string(arg);
		break;
	case NOUN_OPTION_STRING:
		if (opt->default_word && !strcmp(arg, opt->default_word)) {
			json_object_del(args->attrs, opt->attr);
			return 0;
		}
		value = json_string(arg);
		break;
	case NOUN_OPTION_REFERENCE:
		value = json_string(arg);
		break;
	case NOUN_OPTION_STRING_OR_NONE:
		value = strcmp(arg, "none") ? json_string(arg) : json_null();
		break;
	case NOUN_OPTION_INTEGER:
		if (parse_integer(arg, &n) < 0)
			return usage_error(
				command, "--%s takes a whole number, not '%s'",
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
			return usage_error(
				command, "--%s and --%s exclude each other",
				opt->name, option_rival(options, opt));
		if (json_object_set_new(args->cleared, opt->attr, json_true()) <
		    0)
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
		json_auto_t *implied = json_loads(opt->implies, 0, NULL);

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
	bool is_long = !strncmp(word, "--", 2);

	if (c == ':')
		return usage_error(command, "option '%s' needs an argument",
				   word);
	if (is_long && optopt && strchr(word, '='))
		return usage_error(command, "option '%.*s' takes no argument",
				   (int)strcspn(word, "="), word);
	if (is_long || !optopt)
		return usage_error(command, "unknown option '%s'", word);
	return usage_error(command, "unknown option '-%c'", optopt);
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
	while (r == 0 &&
	       (c = getopt_long(argc, argv, stop_at_operand ? "+:ho:" : ":ho:",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			args->help = true;
			break;
		case 'o':
			if (output_format_from_string(optarg, &ctx->format) < 0)
				r = usage_error(
					command,
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

/* Sets member 'key' of 'object' to the id of the 'noun' resource named by
 * string 'ref' (which may be that member). */
static int resolve_into(struct noun_context *ctx, const struct noun *noun,
			json_t *object, const char *key, json_t *ref)
{
	json_auto_t *found = NULL;
	int r;

	r = resolve(ctx, noun, json_string_value(ref), NULL, NULL, &found);
	if (r < 0)
		return r;
	if (json_object_set(object, key, json_object_get(found, "id")) < 0)
		return -ENOMEM;
	return 0;
}

/* Replaces each name in array 'list' by the id of the 'noun' resource it
 * names. */
static int resolve_items(struct noun_context *ctx, const struct noun *noun,
			 json_t *list)
{
	json_t *item;
	size_t i;

	json_array_foreach(list, i, item) {
		json_auto_t *found = NULL;
		int r;

		r = resolve(ctx, noun, json_string_value(item), NULL, NULL,
			    &found);
		if (r < 0)
			return r;
		if (json_array_set(list, i, json_object_get(found, "id")) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Replaces the names given to NOUN_OPTION_REFERENCE options by ids, then
 * those of the subnets of NOUN_OPTION_FIXED_IP options. A subnet is looked
 * for in the port's network: that given by 'attrs', else that of 'current',
 * the port being updated. */
static int resolve_references(struct noun_context *ctx,
			      const struct noun_option *options, json_t *attrs,
			      json_t *current)
{
	const struct noun_option *opt;
	const char *network;
	json_t *value, *item;
	size_t i;
	int r;

	for (opt = options; opt && opt->name; opt++) {
		value = json_object_get(attrs, opt->attr);
		if (opt->kind == NOUN_OPTION_REFERENCE && value)
			r = resolve_into(ctx, opt->ref, attrs, opt->attr,
					 value);
		else if (opt->kind == NOUN_OPTION_APPEND && opt->ref)
			r = resolve_items(ctx, opt->ref, value);
		else
			r = 0;
		if (r < 0)
			return r;
	}

	network = json_string_value(json_object_get(attrs, "network_id"));
	if (!network)
		network = json_string_value(
			json_object_get(current, "network_id"));
	for (opt = options; opt && opt->name; opt++) {
		if (opt->kind != NOUN_OPTION_FIXED_IP)
			continue;
		json_array_foreach(json_object_get(attrs, opt->attr), i, item) {
			json_auto_t *found = NULL;

			value = json_object_get(item, "subnet_id");
			if (!value)
				continue;
			r = resolve(ctx, opt->ref, json_string_value(value),
				    network ? "network_id" : NULL, network,
				    &found);
			if (r < 0)
				return r;
			if (json_object_set(item, "subnet_id",
					    json_object_get(found, "id")) < 0)
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
	json_auto_t *body = json_pack("{sO}", noun->name, attrs);
	json_auto_t *answer = NULL, *resource = NULL;
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
	const struct noun_option *operand;
	_cleanup_free_ char *path = NULL;
	json_t *value;
	int r;

	if (noun->create_defaults) {
		json_auto_t *defaults =
			json_loads(noun->create_defaults, 0, NULL);

		if (json_object_update_missing(args->attrs, defaults) < 0)
			return -ENOMEM;
	}
	operand = noun->create_operand;
	value = json_string(args->positional[0]);
	if (!value)
		return usage_error("", "the %s is not valid UTF-8",
				   operand ? operand->metavar : "name");
	if (json_object_set_new(args->attrs, operand ? operand->attr : "name",
				value) < 0)
		return -ENOMEM;
	r = operand ? ensure_client(ctx) : 0;
	if (r == 0 && operand)
		r = resolve_into(ctx, operand->ref, args->attrs, operand->attr,
				 value);
	if (r == 0)
		r = resolve_references(ctx, noun->create_options, args->attrs,
				       NULL);
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
	json_auto_t *current = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = resolve(ctx, noun, args->positional[0], NULL, NULL, &current);
	if (r < 0)
		return r;
	r = resolve_references(ctx, noun->update_options, args->attrs, current);
	if (r < 0)
		return r;
	path = resource_path(ctx, noun,
			     json_string_value(json_object_get(current, "id")));
	if (!path)
		return -ENOMEM;
	return send_and_show(ctx, noun, "PUT", path, args->attrs);
}

static int verb_list(struct noun_context *ctx, const struct noun *noun,
		     struct args *args)
{
	json_auto_t *answer = NULL, *list = NULL;
	_cleanup_free_ char *path = NULL;
	size_t len = 0;
	char separator = '?';
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
	     opt && opt->name && r == 0; opt++) {
		json_t *value = json_object_get(args->attrs, opt->attr);
		_cleanup_free_ char *text = NULL, *term = NULL;

		if (!value)
			continue;
		text = output_format_value(value, NULL);
		term = text ? query_term(ctx, separator, opt->attr, text) :
			      NULL;
		if (!term)
			r = -ENOMEM;
		else
			fputs(term, f);
		separator = '&';
	}
	if (fclose(f) != 0 || r < 0)
		return -ENOMEM;

	r = request(ctx, "GET", path, NULL, &answer);
	if (r == 0)
		r = answer_member(answer, noun_list_key(noun), JSON_ARRAY,
				  &list);
	if (r == 0)
		r = output_list(stdout, ctx->format, noun->columns,
				noun->n_columns, list);
	/* weftd may cut a long answer short (conntrack entries). */
	if (r == 0 && json_is_true(json_object_get(answer, "truncated")))
		fprintf(stderr,
			"weftctl: warning: weftd answered only the first %zu "
			"%s; there are more\n",
			json_array_size(list), noun_plural(noun));
	return r;
}

static int verb_show(struct noun_context *ctx, const struct noun *noun,
		     struct args *args)
{
	json_auto_t *resource = NULL;
	int r;

	r = resolve(ctx, noun, args->positional[0], NULL, NULL, &resource);
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
		json_auto_t *resource = NULL;
		_cleanup_free_ char *path = NULL;
		int r;

		r = resolve(ctx, noun, args->positional[i], NULL, NULL,
			    &resource);
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

/* Writes "NOUN VERB" ("security group create") into 'buf', the command
 * named in usage errors. */
static void command_name(const struct noun *noun, const char *verb, char *buf,
			 size_t size)
{
	snprintf(buf, size, "%s %s", noun_words(noun), verb);
}

/* Runs a command of the noun's own (args->extra) on the resource named by
 * the operand. */
static int verb_extra(struct noun_context *ctx, const struct noun *noun,
		      struct args *args)
{
	json_auto_t *resource = NULL;
	char command[64];
	int r;

	if (args->extra->run_words) {
		command_name(noun, args->extra->name, command, sizeof(command));
		r = resolve_references(ctx, args->extra->options, args->attrs,
				       NULL);
		if (r < 0)
			return r;
		return args->extra->run_words(ctx, noun, command,
					      args->positional,
					      args->n_positional, args->attrs);
	}
	r = resolve(ctx, noun, args->positional[0], NULL, NULL, &resource);
	if (r == 0)
		r = args->extra->run(ctx, noun, resource);
	return r;
}

int noun_resolve(struct noun_context *ctx, const struct noun *noun,
		 const char *ref, json_t **ret)
{
	return resolve(ctx, noun, ref, NULL, NULL, ret);
}

int noun_usage_error(const char *command, const char *fmt, ...)
{
	char suffix[96];
	va_list ap;

	snprintf(suffix, sizeof(suffix), "; see 'weftctl %s --help'", command);
	va_start(ap, fmt);
	print_message(suffix, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int noun_request(struct noun_context *ctx, const char *method, const char *path,
		 json_t *body, json_t **ret)
{
	return request(ctx, method, path, body, ret);
}

int noun_put(struct noun_context *ctx, const struct noun *noun,
	     json_t *resource, const char *action, json_t *body,
	     const char *show)
{
	_cleanup_free_ char *base = NULL, *path = NULL;
	json_auto_t *answer = NULL;
	json_t *shown;
	int r;

	base = noun_resource_path(
		ctx, noun, json_string_value(json_object_get(resource, "id")));
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

/* Appends one row of a stats table. */
static int add_stats_row(json_t *rows, const char *counter, json_t *value)
{
	return json_array_append_new(rows, json_pack("{s:s, s:O}", "counter",
						     counter, "value", value));
}

/* Appends to 'rows' the counters of 'stats', then one row per drop reason
 * ("drops: REASON"), each name after 'prefix'. */
static int add_stats_rows(json_t *rows, const char *prefix, json_t *stats)
{
	json_t *value, *drops = NULL;
	const char *key;

	json_object_foreach(stats, key, value) {
		_cleanup_free_ char *name = NULL;

		if (json_is_object(value)) {
			drops = !strcmp(key, "drops") ? value : drops;
			continue;
		}
		if (asprintf(&name, "%s%s", prefix, key) < 0) {
			name = NULL;
			return -ENOMEM;
		}
		if (add_stats_row(rows, name, value) < 0)
			return -ENOMEM;
	}
	json_object_foreach(drops, key, value) {
		_cleanup_free_ char *name = NULL;

		if (asprintf(&name, "%sdrops: %s", prefix, key) < 0) {
			name = NULL;
			return -ENOMEM;
		}
		if (add_stats_row(rows, name, value) < 0)
			return -ENOMEM;
	}
	return 0;
}

int noun_show_stats(struct noun_context *ctx, const char *path, bool devices)
{
	static const struct output_column columns[] = {
		{ "Counter", "counter", NULL },
		{ "Value", "value", NULL },
	};
	json_auto_t *answer = NULL, *rows = NULL;
	json_t *stats, *value;
	const char *key;
	int r;

	r = noun_request(ctx, "GET", path, NULL, &answer);
	if (r < 0)
		return r;
	stats = json_object_get(answer, "stats");
	if (!json_is_object(stats)) {
		print_error("weftd's answer lacks \"stats\"");
		return -EBADMSG;
	}
	if (ctx->format == OUTPUT_JSON) {
		json_dumpf(stats, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		return 0;
	}
	rows = json_array();
	if (!rows)
		return -ENOMEM;
	if (!devices)
		r = add_stats_rows(rows, "", stats);
	json_object_foreach(devices ? stats : NULL, key, value) {
		_cleanup_free_ char *prefix = NULL;

		if (asprintf(&prefix, "%s ", key) < 0) {
			prefix = NULL;
			return -ENOMEM;
		}
		r = add_stats_rows(rows, prefix, value);
		if (r < 0)
			break;
	}
	if (r < 0)
		return r;
	return output_list(stdout, ctx->format, columns,
			   sizeof(columns) / sizeof(columns[0]), rows);
}

char *noun_resource_path(struct noun_context *ctx, const struct noun *noun,
			 const char *id)
{
	if (ensure_client(ctx) < 0)
		return NULL;
	return resource_path(ctx, noun, id);
}

static const struct verb verbs[] = {
	{ "create", NOUN_VERB_CREATE, "Creates a new %s and shows it.", false,
	  "NAME", 1, 1, offsetof(struct noun, create_options), verb_create },
	{ "list", NOUN_VERB_LIST, "Lists the %s.", true, "", 0, 0,
	  offsetof(struct noun, list_options), verb_list },
	{ "show", NOUN_VERB_SHOW, "Shows every attribute of one %s.", false,
	  NULL, 1, 1, NO_OPTIONS, verb_show },
	{ "update", NOUN_VERB_UPDATE,
	  "Changes attributes of one %s and shows the result.", false, NULL, 1,
	  1, offsetof(struct noun, update_options), verb_update },
	{ "delete", NOUN_VERB_DELETE, "Deletes one or more %s.", true, NULL, 1,
	  INT_MAX, NO_OPTIONS, verb_delete },
};

/* True when 'noun' lacks the common verb 'verb'. */
static bool verb_absent(const struct noun *noun, const struct verb *verb)
{
	return (noun->absent_verbs & verb->bit) != 0;
}

/* Writes the operand of 'verb' as --help shows it into 'buf': "NAME", the
 * create operand of the noun, or the last word of the noun in capitals
 * ("NETWORK", "GROUP" for security groups). */
static void operand_name(const struct noun *noun, const struct verb *verb,
			 char *buf, size_t size)
{
	const char *words = noun_words(noun), *last = strrchr(words, ' ');
	size_t i;

	if (verb->run == verb_create && noun->create_operand) {
		snprintf(buf, size, "%s", noun->create_operand->metavar);
		return;
	}
	if (verb->operand) {
		snprintf(buf, size, "%s", verb->operand);
		return;
	}
	last = last ? last + 1 : words;
	for (i = 0; last[i] && i + 1 < size; i++)
		buf[i] = (char)toupper((unsigned char)last[i]);
	buf[i] = '\0';
}

/* The column where the explanations of --help start, and the width that
 * they are wrapped to. */
#define HELP_INDENT 26
#define HELP_WIDTH 79

/* Writes 'text' wrapped to HELP_WIDTH, the cursor being at 'column' and
 * the lines after the first starting at 'indent', then a newline. */
static void print_wrapped(FILE *f, size_t indent, size_t column,
			  const char *text)
{
	size_t start = column;

	while (*text) {
		size_t n = strcspn(text, " ");

		if (column > start && column + 1 + n > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			column = start = indent;
		} else if (column > start) {
			fputc(' ', f);
			column++;
		}
		fwrite(text, 1, n, f);
		column += n;
		text += n + strspn(text + n, " ");
	}
	fputc('\n', f);
}

/* Writes "  LEFT  HELP" with 'help' in a column of its own. */
static void print_option_line(FILE *f, const char *left, const char *help)
{
	size_t column = 2 + strlen(left);

	fprintf(f, "  %s", left);
	if (column + 2 > HELP_INDENT) {
		fputc('\n', f);
		column = 0;
	}
	fprintf(f, "%*s", (int)(HELP_INDENT - column), "");
	print_wrapped(f, HELP_INDENT, HELP_INDENT, help);
}

static void print_global_options(FILE *f)
{
	fputs("\nGlobal options (before or after the command):\n", f);
	print_option_line(f, "-o, --output table|json|value",
			  "how to show results (default: table)");
	print_option_line(f, "--url URL",
			  "weftd's API (env WEFT_URL; default " NOUN_DEFAULT_URL
			  ")");
	print_option_line(f, "--token TOKEN",
			  "sent as X-Auth-Token (env WEFT_TOKEN)");
	print_option_line(f, "--project ID",
			  "sent as X-Project-Id, the project of new resources "
			  "in noauth mode (env WEFT_PROJECT)");
	print_option_line(f, "-h, --help", "shows this help");
}

static void print_verb_help(FILE *f, const struct noun *noun,
			    const struct verb *verb)
{
	const struct noun_option *options = verb_options(verb, noun);
	char operand[32];

	if (verb_absent(noun, verb)) {
		fprintf(f, "Usage: weftctl %s %s\n\n%c", noun_words(noun),
			verb->name, toupper((unsigned char)noun->refusal[0]));
		print_wrapped(f, 0, 1, noun->refusal + 1);
		print_global_options(f);
		return;
	}

	operand_name(noun, verb, operand, sizeof(operand));
	fprintf(f, "Usage: weftctl %s %s", noun_words(noun), verb->name);
	if (*operand)
		fprintf(f, " %s%s", operand,
			verb->max_operands > 1 && verb->run != verb_extra ?
				"..." :
				"");
	for (const struct noun_option *opt = options; opt && opt->name; opt++)
		if (opt->required)
			fprintf(f, " --%s %s", opt->name, opt->metavar);
	fputs(" [options]\n\n", f);

	fprintf(f, verb->summary,
		verb->plural ? noun_plural(noun) : noun_words(noun));
	fputc('\n', f);
	if (verb->run == verb_create && noun->create_operand)
		fprintf(f, "%s is %s.\n", operand, noun->create_operand->help);
	else if (!verb->operand && noun->name_attr)
		fprintf(f, "%s is the %s's id or its %s.\n", operand,
			noun_words(noun), noun->name_attr);
	else if (!verb->operand)
		fprintf(f, "%s is the %s's id.\n", operand, noun_words(noun));

	if (options_count(options) > 0)
		fputs("\nOptions:\n", f);
	for (const struct noun_option *opt = options; opt && opt->name; opt++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opt->name,
			 option_takes_argument(opt) ? " " : "",
			 option_takes_argument(opt) ? opt->metavar : "");
		print_option_line(f, left, opt->help);
	}
	print_global_options(f);
}

static void print_noun_help(FILE *f, const struct noun *noun)
{
	fprintf(f, "Usage: weftctl %s COMMAND [ARGS] [options]\n\n",
		noun_words(noun));
	print_wrapped(f, 0, 0, noun->summary);
	fputs("\nCommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		char operand[32], left[64], summary[128];

		if (verb_absent(noun, &verbs[i]))
			continue;
		operand_name(noun, &verbs[i], operand, sizeof(operand));
		snprintf(left, sizeof(left), "%s %s%s", verbs[i].name, operand,
			 verbs[i].max_operands > 1 ? "..." : "");
		snprintf(summary, sizeof(summary), verbs[i].summary,
			 verbs[i].plural ? noun_plural(noun) :
					   noun_words(noun));
		print_option_line(f, left, summary);
	}
	for (const struct noun_verb *v = noun->extra_verbs; v && v->name; v++) {
		char operand[32], left[64];
		struct verb generic = { .name = v->name,
					.operand = v->operands };

		operand_name(noun, &generic, operand, sizeof(operand));
		snprintf(left, sizeof(left), "%s %s", v->name, operand);
		print_option_line(f, left, v->summary);
	}
	fprintf(f,
		"\nRun 'weftctl %s COMMAND --help' for the options of a "
		"command.\n",
		noun_words(noun));
	print_global_options(f);
}

void noun_print_usage(FILE *f)
{
	fputs("Usage: weftctl [options] NOUN COMMAND [ARGS] [options]\n\n"
	      "Manages weft's virtual networks through weftd's API.\n\n"
	      "Nouns:\n",
	      f);
	for (size_t i = 0; i < ARRAY_SIZE(nouns); i++)
		print_option_line(f, noun_words(nouns[i]), nouns[i]->summary);
	fputs("\nCommands: create, list, show, update, delete. Wherever a "
	      "command takes a\nresource it accepts its id or its name. "
	      "Run 'weftctl NOUN --help' or\n'weftctl NOUN COMMAND --help' "
	      "for the details.\n",
	      f);
	print_global_options(f);
	fputs("\nExit status: 0 on success, 1 when the request failed (weftd "
	      "refused it or\ncould not be reached), 2 when the command line "
	      "is wrong.\n",
	      f);
}

/* The number of words of 'argv' that 'words' ("security group") are the
 * start of, or 0 when they are not. */
static int words_match(const char *words, int argc, char **argv)
{
	int n = 0;

	while (*words) {
		size_t len = strcspn(words, " ");

		if (n == argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], words, len))
			return 0;
		n++;
		words += len + strspn(words + len, " ");
	}
	return n;
}

const struct noun *noun_find(int argc, char **argv, int *ret_words)
{
	const struct noun *best = NULL;
	int best_n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(nouns); i++) {
		int n = words_match(noun_words(nouns[i]), argc, argv);

		if (n == 0)
			n = words_match(noun_plural(nouns[i]), argc, argv);
		if (n > best_n) {
			best = nouns[i];
			best_n = n;
		}
	}
	*ret_words = best_n;
	return best;
}

int noun_unknown(const char *word)
{
	char list[256] = "";
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(nouns) && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i == 0			   ? "" :
					i + 1 == ARRAY_SIZE(nouns) ? " or " :
								     ", ",
					noun_words(nouns[i]));
	return usage_error("", "unknown command '%s' (%s)", word, list);
}

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(name, verbs[i].name))
			return &verbs[i];
	return NULL;
}

int noun_parse_globals(struct noun_context *ctx, int argc, char **argv,
		       int *ret_index, bool *ret_help)
{
	struct args args;
	int r;

	r = parse_args(ctx, "", NULL, true, argc, argv, &args);
	if (r == 0) {
		*ret_index = argc - args.n_positional;
		*ret_help = args.help;
	}
	args_destroy(&args);
	return r;
}

/* Finds the option of 'options' called 'name'. */
static const struct noun_option *option_find(const struct noun_option *options,
					     const char *name)
{
	for (; options && options->name; options++)
		if (!strcmp(options->name, name))
			return options;
	return NULL;
}

/* Refuses two options that exclude each other ('excludes') when both set
 * their attribute in 'attrs'. */
static int check_exclusions(const char *command,
			    const struct noun_option *options, json_t *attrs)
{
	for (const struct noun_option *opt = options; opt && opt->name; opt++) {
		const struct noun_option *other;

		if (!opt->excludes || !json_object_get(attrs, opt->attr))
			continue;
		other = option_find(options, opt->excludes);
		if (other && json_object_get(attrs, other->attr))
			return usage_error(command,
					   "--%s and --%s exclude each other",
					   opt->name, other->name);
	}
	return 0;
}

/* Checks the operands and options of 'verb' in 'args', then runs it. */
static int run_verb(struct noun_context *ctx, const struct noun *noun,
		    const struct verb *verb, const char *command,
		    struct args *args)
{
	const struct noun_option *options = verb_options(verb, noun);
	char operand[32];
	int r;

	if (args->help) {
		print_verb_help(stdout, noun, verb);
		return 0;
	}
	operand_name(noun, verb, operand, sizeof(operand));
	if (args->n_positional < verb->min_operands)
		return usage_error(command, "missing %s", operand);
	if (args->n_positional > verb->max_operands)
		return usage_error(command, "unexpected argument '%s'",
				   args->positional[verb->max_operands]);
	for (const struct noun_option *opt = options; opt && opt->name; opt++)
		if (opt->required && !json_object_get(args->attrs, opt->attr))
			return usage_error(command, "missing --%s %s",
					   opt->name, opt->metavar);
	if (verb->run == verb_update && json_object_size(args->attrs) == 0)
		return usage_error(
			command, "nothing to change: give at least one option");
	r = check_exclusions(command, options, args->attrs);
	if (r < 0)
		return r;
	return verb->run(ctx, noun, args);
}

/* Finds a command of the noun's own called 'name' and describes it as a
 * verb in 'buf'; NULL when there is none. */
static const struct verb *extra_verb_find(const struct noun *noun,
					  const char *name, struct verb *buf,
					  const struct noun_verb **ret)
{
	for (const struct noun_verb *v = noun->extra_verbs; v && v->name; v++) {
		if (strcmp(v->name, name))
			continue;
		*buf = (struct verb){
			.name = v->name,
			.summary = v->summary,
			.operand = v->operands,
			.min_operands = v->run_words ? v->min_operands : 1,
			.max_operands = v->run_words ? v->max_operands : 1,
			.options_offset = NO_OPTIONS,
			.options = v->options,
			.run = verb_extra,
		};
		*ret = v;
		return buf;
	}
	return NULL;
}

/* Runs a common verb that 'noun' lacks: its --help (in 'argv') tells why,
 * else the refusal is reported. Its options are not parsed: whatever they
 * are, the command cannot run. */
static int refuse_verb(const struct noun *noun, const struct verb *verb,
		       int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_verb_help(stdout, noun, verb);
			return 0;
		}
	}
	print_error("%s", noun->refusal);
	return -EINVAL;
}

/* Reports that the command line stops after the noun, naming the
 * noun's commands. */
static int missing_verb(const struct noun *noun)
{
	char list[160] = "";
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(verbs) && len < sizeof(list); i++)
		if (!verb_absent(noun, &verbs[i]))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", len ? ", " : "",
						verbs[i].name);
	for (const struct noun_verb *v = noun->extra_verbs;
	     v && v->name && len < sizeof(list); v++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					len ? ", " : "", v->name);
	return usage_error(noun_words(noun), "missing command after '%s' (%s)",
			   noun_words(noun), list);
}

int noun_run(struct noun_context *ctx, const struct noun *noun, int argc,
	     char **argv)
{
	const struct noun_verb *extra = NULL;
	struct verb extra_buf;
	const struct verb *verb = NULL;
	struct args args;
	char command[64];
	int index = 0, r;

	/* Global options may come between the noun and the verb. */
	r = parse_args(ctx, noun_words(noun), NULL, true, argc, argv, &args);
	if (r == 0) {
		index = argc - args.n_positional;
		if (args.help || (index < argc && !strcmp(argv[index], "help")))
			print_noun_help(stdout, noun);
		else if (index == argc)
			r = missing_verb(noun);
		else if (!(verb = verb_find(argv[index])) &&
			 !(verb = extra_verb_find(noun, argv[index], &extra_buf,
						  &extra)))
			r = usage_error(noun_words(noun),
					"unknown command '%s' for %s",
					argv[index], noun_plural(noun));
	}
	args_destroy(&args);
	if (r < 0 || !verb)
		return r;

	command_name(noun, verb->name, command, sizeof(command));
	if (verb_absent(noun, verb))
		return refuse_verb(noun, verb, argc - index, argv + index);
	r = parse_args(ctx, command, verb_options(verb, noun), false,
		       argc - index, argv + index, &args);
	args.extra = extra;
	if (r == 0)
		r = run_verb(ctx, noun, verb, command, &args);
	args_destroy(&args);
	return r;
}

void noun_context_destroy(struct noun_context *ctx)
{
	client_free(ctx->client);
	ctx->client = NULL;
}
