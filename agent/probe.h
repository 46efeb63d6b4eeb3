/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "hostview.h"

/*
 * Gateway liveness over the underlay (docs/gateways.md, "Probes"): every
 * agent probes every gateway of its view but itself, a UDP datagram from
 * an ephemeral port of its underlay address to the gateway's probe port,
 * every 'interval_ms'; agent/gateway.h decides who is alive. A gateway
 * agent also answers probes on its probe port, once enabled (its maps hold
 * its first view). Replies come back to the prober's own port, so a
 * gateway's prober and responder never see each other's datagrams.
 */

struct probe;

struct probe_options {
	uint32_t local_ip; /* the underlay address, host order */
	uint16_t port; /* the probe port */
	unsigned int interval_ms;
	unsigned int misses; /* unanswered in a row that make a gateway dead */
	bool responder; /* gateway role: answer probes */
};

struct probe_ops {
	/* A gateway's liveness changed (after it was logged). */
	void (*changed)(void *ctx);
	/* Gateways: a datagram that is not a probe ('len' bytes) came to
	 * the probe port from the gateway of the view at 'from_ip' (host
	 * order); datagrams from anyone else are dropped. May be NULL. */
	void (*received)(void *ctx, const void *buf, size_t len,
			 uint32_t from_ip);
};

/* Opens the sockets and starts the timer. Returns 0 and sets 'ret', or a
 * negative errno (a socket that cannot be bound). */
int probe_new(struct event_base *base, const struct probe_options *o,
	      const struct probe_ops *ops, void *ctx, struct probe **ret);
void probe_free(struct probe *p);

/* Makes the probed set the gateways of 'v' but 'self' (a gateway new to the
 * set starts as the view says: its "alive"). */
int probe_sync(struct probe *p, const struct hostview *v, const char *self);

/* Whether the gateway at 'ip' (host order) is alive; a gateway not probed
 * (this host itself, or not synced yet) is 'dflt'. */
bool probe_is_alive(const struct probe *p, uint32_t ip, bool dflt);

/* Starts answering probes (gateway role, once the maps hold a view). */
void probe_enable_responder(struct probe *p);

/* Sends datagram 'buf' ('len' bytes) to the probe port of every gateway
 * of the view but this host (the probed set). Returns how many sends the
 * kernel took. */
size_t probe_send_gateways(struct probe *p, const void *buf, size_t len);
