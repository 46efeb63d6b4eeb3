/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "output.h"

/*
 * The commands of weftctl, shared by every noun. A noun (network, subnet,
 * port, agent, router, security group...) is a table: its collection in the API, the columns of its
 * list, and the options of its create, update and list commands, each
 * mapped to the attribute it sets. The verbs themselves (create, list,
 * show, update, delete) are written once, here, and read those tables.
 *
 * Wherever a command takes a resource it accepts its id or its name (an
 * agent's host): weftctl first asks for the id and, when weftd knows no such
 * id, lists the resources with that name.
 *
 * These functions print what the user asked for to stdout and errors to
 * stderr. They return 0, -EINVAL for a usage error (the command line is
 * wrong; weftctl exits with 2), or another negative errno when the request
 * failed (weftctl exits with 1).
 */

#define NOUN_DEFAULT_URL "http://127.0.0.1:9696"

/* The global options, and the connection made from them on first use. */
struct noun_context {
	const char *url;
	const char *token;
	const char *project;
	enum output_format format;
	struct client *client;
};

/* How an option's argument becomes part of the request. */
enum noun_option_kind {
	/* 'attr' is the argument, a string. */
	NOUN_OPTION_STRING,
	/* 'attr' is the argument, a whole number. */
	NOUN_OPTION_INTEGER,
	/* 'attr' is true (false); the option takes no argument. */
	NOUN_OPTION_TRUE,
	NOUN_OPTION_FALSE,
	/* 'attr' is true for "up", false for "down". */
	NOUN_OPTION_UP_DOWN,
	/* 'attr' is the argument, or null for "none". */
	NOUN_OPTION_STRING_OR_NONE,
	/* 'attr' is the argument, which must be one of 'choices'. */
	NOUN_OPTION_CHOICE,
	/* 'attr' is the id of the 'ref' resource the argument names. */
	NOUN_OPTION_REFERENCE,
	/* The argument is appended to list 'attr'; the option repeats. With
	 * 'ref', the id of the 'ref' resource it names is appended. */
	NOUN_OPTION_APPEND,
	/* "A,B" is appended to list 'attr' as {keys[0]: A, keys[1]: B}; B
	 * may be left out when 'second_optional'. The option repeats. */
	NOUN_OPTION_APPEND_PAIR,
	/* "N" or "N:M" sets 'keys[0]' to N and 'keys[1]' to N or M (a
	 * port range, as the openstack client's --dst-port). */
	NOUN_OPTION_RANGE,
	/* "subnet=S,ip=IP" (either or both) is appended to list 'attr' as
	 * {"subnet_id", "ip_address"}, S being a subnet of the port's
	 * network ('ref') given by name or id. The option repeats. */
	NOUN_OPTION_FIXED_IP,
	/* 'attr' is the empty list. */
	NOUN_OPTION_EMPTY_LIST,
};

/* One option of a command. A table of them ends with an empty entry. */
struct noun_option {
	/* The long option's name, without "--". */
	const char *name;
	enum noun_option_kind kind;
	/* The attribute set (or, for list, the filter). */
	const char *attr;
	/* The argument as --help shows it ("CIDR"). */
	const char *metavar;
	/* One line for --help. */
	const char *help;
	/* The command fails without this option. */
	bool required;
	/* The noun that NOUN_OPTION_REFERENCE, NOUN_OPTION_APPEND and
	 * NOUN_OPTION_FIXED_IP resolve names of. */
	const struct noun *ref;
	/* The members NOUN_OPTION_APPEND_PAIR fills, the attributes
	 * NOUN_OPTION_RANGE sets. */
	const char *keys[2];
	bool second_optional;
	/* JSON attributes that the option sets as well, or NULL. */
	const char *implies;
	/* NOUN_OPTION_CHOICE: the accepted arguments, NULL-terminated. */
	const char *const *choices;
	/* NOUN_OPTION_STRING: the argument that leaves 'attr' unset, for
	 * weftd's default ("any" protocol). */
	const char *default_word;
	/* Another option of the table (its name) that this one cannot be
	 * given with. */
	const char *excludes;
};

/* The common verbs, for 'struct noun''s 'absent_verbs'. */
enum noun_common_verb {
	NOUN_VERB_CREATE = 1 << 0,
	NOUN_VERB_LIST = 1 << 1,
	NOUN_VERB_SHOW = 1 << 2,
	NOUN_VERB_UPDATE = 1 << 3,
	NOUN_VERB_DELETE = 1 << 4,
};

struct noun;

/* A command that only some nouns have (port stats, router add). In its
 * simple form it takes one resource, by id or name, which weftctl looks up
 * before calling 'run'. In its general form ('run_words' set) it takes
 * 'min_operands' to 'max_operands' words and the options 'options', and
 * 'run_words' makes what it needs of them. */
struct noun_verb {
	const char *name;
	/* One line for --help. */
	const char *summary;
	/* 'resource' is the resource the operand names. Returns 0 or a
	 * negative errno, as the verbs do. */
	int (*run)(struct noun_context *ctx, const struct noun *noun,
		   json_t *resource);
	/* The general form: the operands as --help shows them ("subnet|port
	 * ROUTER SUBNET|PORT"), their number, the options (ending with an
	 * empty entry, or NULL) and the function, given the operands
	 * 'words' and what the options set ('attrs'). */
	const char *operands;
	int min_operands, max_operands;
	const struct noun_option *options;
	int (*run_words)(struct noun_context *ctx, const struct noun *noun,
			 const char *command, char **words, int n_words,
			 json_t *attrs);
};

struct noun {
	/* The singular ("network"), also the key of the API's bodies
	 * ("security_group"). */
	const char *name;
	/* The collection in the URL ("networks"), and the key of lists in
	 * the answers when it is not the same ("security_groups"). */
	const char *collection;
	const char *list_key;
	/* The words of the command line and of messages, when they are not
	 * 'name' and 'collection' ("security group", "security groups"). */
	const char *words;
	const char *plural;
	/* One line for weftctl --help. */
	const char *summary;
	/* The attribute that names a resource besides its id: "name", or
	 * "host" for agents; NULL when only the id names it. */
	const char *name_attr;
	/* The columns of the list table. */
	const struct output_column *columns;
	size_t n_columns;
	/* Attributes that every create sends (JSON), or NULL. */
	const char *create_defaults;
	/* What the operand of create is, when it is not the name: the
	 * option ('attr', 'ref', 'metavar') that it would be. */
	const struct noun_option *create_operand;
	/* The common verbs (NOUN_VERB_*) that the noun lacks, and why: they
	 * are refused with this explanation. */
	unsigned int absent_verbs;
	const char *refusal;
	const struct noun_option *create_options;
	const struct noun_option *update_options;
	const struct noun_option *list_options;
	/* Commands of this noun only, ending with an empty entry; or NULL. */
	const struct noun_verb *extra_verbs;
};

extern const struct noun network_noun;
extern const struct noun subnet_noun;
extern const struct noun port_noun;
extern const struct noun agent_noun;
extern const struct noun router_noun;
extern const struct noun secgroup_noun;
extern const struct noun secgroup_rule_noun;
extern const struct noun conntrack_noun;
extern const struct noun floatingip_noun;

/* Parses the global options at the start of 'argv' (whose first element is
 * the program's name) into 'ctx', stopping at the first word that is not an
 * option. Sets 'ret_index' to the index of that word (argc when there is
 * none) and 'ret_help' when --help was given. Returns 0 or -EINVAL. */
int noun_parse_globals(struct noun_context *ctx, int argc, char **argv,
		       int *ret_index, bool *ret_help);

/* Writes the help of weftctl itself, listing the nouns. */
void noun_print_usage(FILE *f);

/* Finds the noun named by the first words of 'argv' (singular or plural;
 * "security group rule" is three words), the longest that matches. Sets
 * 'ret_words' to the number of words it takes. NULL when none matches. */
const struct noun *noun_find(int argc, char **argv, int *ret_words);

/* Reports that 'word' names no noun on stderr and returns -EINVAL. */
int noun_unknown(const char *word);

/* Runs the command in 'argv', whose first element is the noun's name and
 * the second the verb, with the options that follow. */
int noun_run(struct noun_context *ctx, const struct noun *noun, int argc,
	     char **argv);

/* Sends a request as client_request() does (connecting on first use) and
 * reports its failure on stderr. For noun_verb.run functions. */
int noun_request(struct noun_context *ctx, const char *method, const char *path,
		 json_t *body, json_t **ret);

/* Sends 'body' with PUT to the member action 'action' of 'resource' (NULL:
 * to the resource itself) and shows member 'show' of the answer (NULL: the
 * whole answer). For noun_verb functions. */
int noun_put(struct noun_context *ctx, const struct noun *noun,
	     json_t *resource, const char *action, json_t *body,
	     const char *show);

/* GETs the counters at 'path' ({"stats": {...}}) and shows them: one row
 * per counter, then one per drop reason ("drops: REASON"); with 'devices',
 * the stats hold one such set per device ("tunnel", "uplink"), whose name
 * starts each row. For noun_verb.run functions. */
int noun_show_stats(struct noun_context *ctx, const char *path, bool devices);

/* Returns a malloc()ed "/v2.0/COLLECTION/ID" for 'noun', or NULL when out
 * of memory. */
char *noun_resource_path(struct noun_context *ctx, const struct noun *noun,
			 const char *id);

/* Finds the 'noun' resource whose id or name is 'ref' and sets 'ret' to
 * a new reference to it. Reports errors on stderr. */
int noun_resolve(struct noun_context *ctx, const struct noun *noun,
		 const char *ref, json_t **ret);

/* Reports a mistake on the command line of 'command' ("router add") on
 * stderr and returns -EINVAL. */
int noun_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Frees what 'ctx' created. */
void noun_context_destroy(struct noun_context *ctx);

/* Sets the columns of a 'struct noun' to 'array'. */
#define NOUN_COLUMNS(array) \
	.columns = (array), .n_columns = sizeof(array) / sizeof((array)[0])

/* Options that several nouns share, for their option tables. */
#define NOUN_COMMON_NAME                                                    \
	{                                                                   \
		.name = "name", .kind = NOUN_OPTION_STRING, .attr = "name", \
		.metavar = "NAME", .help = "the new name"                   \
	}
#define NOUN_COMMON_NAME_FILTER                                             \
	{                                                                   \
		.name = "name", .kind = NOUN_OPTION_STRING, .attr = "name", \
		.metavar = "NAME", .help = "only those named NAME"          \
	}
#define NOUN_COMMON_DESCRIPTION                                    \
	{                                                          \
		.name = "description", .kind = NOUN_OPTION_STRING, \
		.attr = "description", .metavar = "TEXT",          \
		.help = "a free text describing it"                \
	}
#define NOUN_COMMON_ADMIN_STATE                                           \
	{                                                                 \
		.name = "admin-state", .kind = NOUN_OPTION_UP_DOWN,       \
		.attr = "admin_state_up", .metavar = "up|down",           \
		.help = "the administrative state: down stops forwarding" \
	}
#define NOUN_COMMON_NETWORK(is_required, text)                            \
	{                                                                 \
		.name = "network", .kind = NOUN_OPTION_REFERENCE,         \
		.attr = "network_id", .metavar = "NETWORK", .help = text, \
		.required = is_required, .ref = &network_noun             \
	}
