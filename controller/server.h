/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>
#include <stddef.h>

#include "api.h"
#include "auth.h"
#include "southbound.h"
#include "store.h"

/*
 * The HTTP front of the API, on libevent's evhttp: parses the request
 * (path, query, JSON body within the size limit), authenticates it,
 * calls api_handle() and writes the JSON answer. Requests are handled one
 * at a time on the event loop, so each API write is a transaction of its
 * own with nothing interleaved.
 */

struct server;

struct server_options {
	const char *listen; /* "ADDR:PORT" */
	size_t max_body_size;
	bool token_auth;
	const char *default_project; /* noauth */
	const struct api_config *api;
	/* The daemon's live state for the API core (may be NULL). */
	const struct api_live *live;
	/* Where GET /v2.0/ports/ID/stats is forwarded (may be NULL: no
	 * agent is ever connected). */
	struct southbound *southbound;
};

/* Binds the listening socket. 'auth' may be NULL in noauth mode; it is
 * borrowed, and may be replaced with server_set_auth(). */
int server_new(struct event_base *base, const struct server_options *opts,
	       struct store *store, struct auth *auth, struct server **ret,
	       char *errmsg, size_t errmsg_len);
void server_free(struct server *srv);

void server_set_auth(struct server *srv, struct auth *auth);
