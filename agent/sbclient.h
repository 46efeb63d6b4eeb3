/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "sbproto.h"

/*
 * The agent's end of the southbound connection (docs/southbound.md): it
 * connects to weftd over a unix socket or TCP, reconnects with exponential
 * backoff (0.25 s doubling to 8 s) when the connection fails or drops,
 * sends a heartbeat every 2 s, and gives up on a weftd that has said
 * nothing for 10 s. Lines are framed and validated by lib/sbproto.
 *
 * The connection's state is all it keeps; what the messages mean is the
 * owner's business (through 'ops').
 */

struct sbclient;

struct sbclient_ops {
	/* The connection is up: the owner sends its hello. */
	void (*connected)(void *ctx);
	/* A valid message from weftd. Returning a negative errno closes the
	 * connection (and reconnects later). */
	int (*message)(void *ctx, const struct sbproto_msg *msg);
	/* The connection is gone (also when it never came up). */
	void (*disconnected)(void *ctx);
};

#define SBCLIENT_HEARTBEAT_MS 2000
#define SBCLIENT_DEAD_MS 10000

/* Parses 'address' ("unix:PATH" or "tcp:HOST:PORT"), and starts connecting
 * on 'base'. Returns 0 and sets 'ret', or -EINVAL for a bad address. */
int sbclient_new(struct event_base *base, const char *address,
		 const struct sbclient_ops *ops, void *ctx,
		 struct sbclient **ret);
void sbclient_free(struct sbclient *sb);

/* Checks an address without connecting. Returns 0 or -EINVAL. */
int sbclient_check_address(const char *address);

bool sbclient_is_connected(const struct sbclient *sb);

/* Queues message 'msg' (reference borrowed). Returns 0, -ENOTCONN when
 * there is no connection (the message is dropped), or another negative
 * errno. */
int sbclient_send(struct sbclient *sb, json_t *msg);

/* Drops the connection (for a protocol error found by the owner) and
 * reconnects after the backoff. */
void sbclient_reset(struct sbclient *sb, const char *why);
