/* SPDX-License-Identifier: Apache-2.0 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_token {
	char *token;
	char *project_id;
	bool is_admin;
};

struct auth {
	struct auth_token *tokens;
	size_t n;
};

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->tokens[i].token);
		free(a->tokens[i].project_id);
	}
	free(a->tokens);
	free(a);
}

int auth_load(const char *path, struct auth **ret, char *errmsg,
	      size_t errmsg_len)
{
	struct auth *a;
	char line[1024];
	int lineno = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		r = -errno;
		snprintf(errmsg, errmsg_len, "cannot open token file %s: %s",
			 path, strerror(errno));
		return r;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		char token[512], project[256], role[32], extra[2];
		struct auth_token *grown;
		int n;

		lineno++;
		n = sscanf(line, " %511s %255s %31s %1s", token, project, role,
			   extra);
		if (n <= 0 || token[0] == '#')
			continue;
		if (n != 3 ||
		    (strcmp(role, "admin") && strcmp(role, "member"))) {
			snprintf(
				errmsg, errmsg_len,
				"%s:%d: expected 'TOKEN PROJECT_ID admin|member'",
				path, lineno);
			r = -EINVAL;
			break;
		}
		grown = realloc(a->tokens, (a->n + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		a->tokens = grown;
		a->tokens[a->n] =
			(struct auth_token){ strdup(token), strdup(project),
					     !strcmp(role, "admin") };
		a->n++;
	}
	fclose(f);
	if (r < 0) {
		auth_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Compares without an early exit, so that timing does not reveal how much
 * of a guessed token was right. */
static bool token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

int auth_lookup(const struct auth *a, const char *token,
		struct auth_identity *ret)
{
	if (!a || !token)
		return -ENOENT;
	for (size_t i = 0; i < a->n; i++) {
		if (token_equal(token, a->tokens[i].token)) {
			ret->project_id = a->tokens[i].project_id;
			ret->is_admin = a->tokens[i].is_admin;
			return 0;
		}
	}
	return -ENOENT;
}
