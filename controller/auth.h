/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Token authentication: a file maps bearer tokens (sent as X-Auth-Token)
 * to a project and a role. One token per line, "TOKEN PROJECT_ID ROLE",
 * ROLE "admin" or "member"; blank lines and lines starting with '#' are
 * ignored. The file stands in for Keystone in deployments without one.
 */

struct auth;

struct auth_identity {
	const char *project_id; /* borrowed from the auth object */
	bool is_admin;
};

/* Loads 'path'. Returns 0 and sets 'ret' (free with auth_free()), or a
 * negative errno with a description of the first bad line in 'errmsg'. */
int auth_load(const char *path, struct auth **ret, char *errmsg,
	      size_t errmsg_len);
void auth_free(struct auth *a);

/* Looks 'token' up. Returns 0 and fills 'ret', or -ENOENT. */
int auth_lookup(const struct auth *a, const char *token,
		struct auth_identity *ret);
