/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	set_str(&c->listen, "127.0.0.1:9696");
	set_str(&c->db, "/var/lib/weft/weft.db");
	set_str(&c->auth, "noauth");
	set_str(&c->default_project, "default");
	set_str(&c->synchronous, "full");
	set_str(&c->log_level, "info");
	set_str(&c->base_mac, "fa:16:3e");
	set_str(&c->southbound, "tcp:0.0.0.0:9697,unix:/run/weft/sb.sock");
	c->agent_down_time = 10;
	set_str(&c->dns_domain, "openstacklocal");
	c->max_body_size = 1024 * 1024;
	c->underlay_mtu = 1500;
}

void config_destroy(struct config *c)
{
	free(c->listen);
	free(c->db);
	free(c->auth);
	free(c->token_file);
	free(c->default_project);
	free(c->synchronous);
	free(c->log_level);
	free(c->base_mac);
	free(c->southbound);
	free(c->dns_domain);
}

/* A DNS domain name: 1 to 253 bytes of letters, digits, '-' and '.'. */
static bool valid_domain(const char *value)
{
	size_t n = strlen(value);

	if (n == 0 || n > 253)
		return false;
	for (; *value; value++)
		if (!isalnum((unsigned char)*value) && *value != '-' &&
		    *value != '.')
			return false;
	return true;
}

static int parse_uint(const char *value, unsigned long long min,
		      unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)value[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int config_set(struct config *c, const char *key, const char *value,
	       char *errmsg, size_t errmsg_len)
{
	char k[64];
	unsigned long long n;

	snprintf(k, sizeof(k), "%s", key);
	for (char *p = k; *p; p++)
		if (*p == '-')
			*p = '_';

	if (!strcmp(k, "listen")) {
		if (!strrchr(value, ':'))
			goto bad;
		set_str(&c->listen, value);
	} else if (!strcmp(k, "db")) {
		set_str(&c->db, value);
	} else if (!strcmp(k, "auth")) {
		if (strcmp(value, "noauth") && strcmp(value, "token"))
			goto bad;
		set_str(&c->auth, value);
	} else if (!strcmp(k, "token_file")) {
		set_str(&c->token_file, value);
	} else if (!strcmp(k, "default_project")) {
		if (!value[0])
			goto bad;
		set_str(&c->default_project, value);
	} else if (!strcmp(k, "max_body_size")) {
		if (parse_uint(value, 1024, 1ull << 30, &n) < 0)
			goto bad;
		c->max_body_size = (size_t)n;
	} else if (!strcmp(k, "underlay_mtu")) {
		if (parse_uint(value, 576, 65535, &n) < 0)
			goto bad;
		c->underlay_mtu = (uint32_t)n;
	} else if (!strcmp(k, "synchronous")) {
		if (strcmp(value, "full") && strcmp(value, "normal"))
			goto bad;
		set_str(&c->synchronous, value);
	} else if (!strcmp(k, "log_level")) {
		if (strcmp(value, "err") && strcmp(value, "warn") &&
		    strcmp(value, "info") && strcmp(value, "debug"))
			goto bad;
		set_str(&c->log_level, value);
	} else if (!strcmp(k, "base_mac")) {
		unsigned a, b, d;
		char extra;

		if (sscanf(value, "%2x:%2x:%2x%c", &a, &b, &d, &extra) != 3 ||
		    strlen(value) != 8 || (a & 1))
			goto bad;
		set_str(&c->base_mac, value);
	} else if (!strcmp(k, "southbound")) {
		if (!value[0])
			goto bad;
		for (const char *item = value; item;) {
			while (*item == ' ')
				item++;
			if (strncmp(item, "tcp:", 4) &&
			    strncmp(item, "unix:", 5))
				goto bad;
			item = strchr(item, ',');
			if (item)
				item++;
		}
		set_str(&c->southbound, value);
	} else if (!strcmp(k, "agent_down_time")) {
		if (parse_uint(value, 1, 3600, &n) < 0)
			goto bad;
		c->agent_down_time = (unsigned)n;
	} else if (!strcmp(k, "dns_domain")) {
		if (!valid_domain(value))
			goto bad;
		set_str(&c->dns_domain, value);
	} else {
		snprintf(errmsg, errmsg_len, "unknown option '%s'", key);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(errmsg, errmsg_len, "invalid value '%s' for %s", value, key);
	return -EINVAL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int config_load(struct config *c, const char *path, char *errmsg,
		size_t errmsg_len)
{
	char line[1024], msg[256];
	int lineno = 0, r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		r = -errno;
		snprintf(errmsg, errmsg_len, "cannot open %s: %s", path,
			 strerror(errno));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *eq, *hash;

		lineno++;
		hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		s = trim(s);
		if (!*s || !strcmp(s, "[weftd]"))
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(errmsg, errmsg_len,
				 "%s:%d: expected 'key = value'", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		if (config_set(c, trim(s), trim(eq + 1), msg, sizeof(msg)) <
		    0) {
			snprintf(errmsg, errmsg_len, "%s:%d: %s", path, lineno,
				 msg);
			r = -EINVAL;
			break;
		}
	}
	fclose(f);
	return r;
}
