/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * weftd's configuration: defaults, then the config file, then command-line
 * options. The file has one "key = value" per line; '#' starts a comment;
 * a "[weftd]" section header is accepted and ignored. Keys are the long
 * option names with '-' or '_' alike.
 */

struct config {
	char *listen; /* ADDR:PORT of the API */
	char *db; /* SQLite file */
	char *auth; /* "noauth" or "token" */
	char *token_file; /* for auth = token */
	char *default_project; /* noauth: project when none is given */
	size_t max_body_size; /* bytes */
	uint32_t underlay_mtu; /* networks get underlay_mtu - 50 */
	char *synchronous; /* "full" or "normal" */
	char *log_level; /* err, warn, info, debug */
	char *base_mac; /* "fa:16:3e": the first 3 bytes of MACs */
	char *southbound; /* agents' listeners: "tcp:ADDR:PORT,unix:PATH" */
	unsigned agent_down_time; /* seconds without a message: dead */
	char *dns_domain; /* the domain name DHCP hands out */
};

#define CONFIG_DEFAULT_PATH "/etc/weft/weftd.conf"

/* Fills the defaults. */
void config_init(struct config *c);
void config_destroy(struct config *c);

/* Sets one key. Returns 0, or -EINVAL with a message in 'errmsg'. */
int config_set(struct config *c, const char *key, const char *value,
	       char *errmsg, size_t errmsg_len);

/* Reads a config file. Returns 0, or a negative errno with 'errmsg'
 * naming the file and line. */
int config_load(struct config *c, const char *path, char *errmsg,
		size_t errmsg_len);
