/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

/*
 * A small HTTP client for weftd's northbound API (the Networking API v2.0),
 * built on libcurl. It sends and receives JSON, adds the authentication
 * headers, and turns an error answer into a 'struct client_error' carrying
 * the Neutron error body. It never prints: the caller decides what to say.
 */

struct client;

/* What went wrong with a request. */
struct client_error {
	/* The HTTP status, or 0 when weftd could not be reached at all. */
	long status;
	/* The Neutron error type ("NetworkNotFound"), or "" when absent. */
	char type[64];
	/* The Neutron error message, or the reason weftd could not be reached. */
	char message[1024];
};

/* Creates a client for the API at 'url' ("http://127.0.0.1:9696"; a
 * trailing slash is ignored). 'token' is sent as X-Auth-Token and 'project'
 * as X-Project-Id; either may be NULL. The strings are copied. Returns 0 and
 * sets 'ret', to be freed with client_free(), or a negative errno. The
 * caller has called curl_global_init(). */
int client_new(const char *url, const char *token, const char *project,
	       struct client **ret);

/* Frees 'c'; accepts NULL. */
void client_free(struct client *c);

/* The base URL of 'c', without a trailing slash. */
const char *client_url(const struct client *c);

/* Sends 'method' ("GET", "POST", "PUT", "DELETE") to 'path' (which starts
 * with '/' and may carry a query string) with 'body' (or no body when NULL)
 * as JSON.
 *
 * On a 2xx answer returns 0 and sets 'ret' (when not NULL) to the parsed
 * answer, which the caller frees with json_decref(), or to NULL when the
 * answer had no body (204). Otherwise fills 'err' and returns -EREMOTEIO
 * when weftd answered with an error status, -EBADMSG when its answer was not
 * JSON, another negative errno when weftd could not be reached ('err->status'
 * is 0 then) or -ENOMEM. */
int client_request(struct client *c, const char *method, const char *path,
		   json_t *body, json_t **ret, struct client_error *err);

/* Percent-encodes 's' for use as a path segment or query value. Returns a
 * string that the caller frees with free(), or NULL when out of memory. */
char *client_escape(struct client *c, const char *s);
