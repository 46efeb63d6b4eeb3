/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "store.h"

/*
 * The southbound service: weftd's side of docs/southbound.md. Listens for
 * weft-agents on TCP and unix sockets, registers each agent as an 'agent'
 * resource on hello, sends it the view of its host (view.h) as a snapshot,
 * then a delta after every committed write that changes that view; takes
 * port status reports and answers port statistics and conntrack requests
 * through the agents.
 *
 * State kept in memory, per host name: the connection (if any), the time
 * of its last message (from which the API's 'alive' is computed, so that
 * heartbeats never write to the store), the last view sent and its
 * revision (kept after a disconnect so that a reconnecting agent gets a
 * delta rather than a snapshot), and the set of networks the host may take
 * part in (so that recomputing its view does not walk the whole store).
 *
 * Everything runs on the daemon's event loop; nothing here is thread-safe.
 */

struct southbound;

struct southbound_options {
	/* Comma-separated "tcp:ADDR:PORT" and "unix:PATH" items. */
	const char *listen;
	/* An agent is alive while its last message is younger than this
	 * many seconds; a connection silent this long is closed. */
	unsigned agent_down_time;
	/* Seconds between heartbeats sent to each agent. */
	unsigned heartbeat_interval;
	/* Milliseconds a request to an agent (stats, conntrack) waits for
	 * its answer. */
	unsigned stats_timeout_ms;
	/* The DHCP domain name sent in subnet objects; NULL for
	 * VIEW_DEFAULT_DNS_DOMAIN. Borrowed for the service's lifetime. */
	const char *dns_domain;
};

#define SOUTHBOUND_DEFAULT_LISTEN "tcp:0.0.0.0:9697,unix:/run/weft/sb.sock"
#define SOUTHBOUND_DEFAULT_DOWN_TIME 10
#define SOUTHBOUND_HEARTBEAT_INTERVAL 2
#define SOUTHBOUND_STATS_TIMEOUT_MS 3000

/*
 * Binds every listener of 'opts->listen' on 'base'. A unix socket's
 * directory is created when missing; a stale socket file (nobody accepts
 * on it) is replaced, while a live one is an error (-EADDRINUSE). 'store'
 * is borrowed. Returns 0 and sets 'ret', or a negative errno with a
 * message in 'errmsg'.
 */
int southbound_new(struct event_base *base, struct store *store,
		   const struct southbound_options *opts,
		   struct southbound **ret, char *errmsg, size_t errmsg_len);

/* Closes every connection and listener and removes the unix sockets.
 * Pending requests to agents are dropped without an answer (free the HTTP
 * server first: its connections cancel their requests as they close).
 * Accepts NULL. */
void southbound_free(struct southbound *sb);

/* The hooks the API core calls (committed writes, agents' liveness), for
 * api_ctx.live. Lives as long as 'sb'. */
const struct api_live *southbound_api_live(struct southbound *sb);

/*
 * Tells the service that the store committed up to 'revision'. The views
 * are brought up to date from the change log on the next turn of the event
 * loop, once for any number of commits made in between.
 */
void southbound_committed(struct southbound *sb, uint64_t revision);

/* Whether the agent of 'host' is connected and sent a message within the
 * agent down time; if so and 'heartbeat' is not NULL, writes the time of
 * that message there ("YYYY-MM-DD HH:MM:SS", UTC). */
bool southbound_agent_alive(struct southbound *sb, const char *host,
			    char *heartbeat, size_t len);

/*
 * Requests answered by an agent. southbound_port_stats() asks the agent of
 * 'host' for the statistics of port 'port_id'; southbound_conntrack() for
 * its conntrack entries, of port 'port_id' or of every local port when
 * 'port_id' is NULL. 'fn' is called exactly once, later (never from within
 * these calls), with an HTTP status and the body to answer (borrowed):
 * 200 and {"stats": {...}} or {"conntrack": [...], "truncated": B}; 409
 * and a Neutron error when the agent could not answer (PortStatsUnavailable,
 * ConntrackUnavailable) or went away (AgentNotConnected); 504 when it did
 * not answer within the stats timeout. southbound_request_cancel() before
 * that guarantees 'fn' is not called.
 *
 * Each returns 0 and sets 'ret' (a handle valid until 'fn' runs or the
 * request is cancelled), or -ENOTCONN when no agent of 'host' is
 * connected.
 */
struct southbound_request;
typedef void (*southbound_reply_fn)(void *arg, int status, json_t *body);
int southbound_port_stats(struct southbound *sb, const char *host,
			  const char *port_id, southbound_reply_fn fn,
			  void *arg, struct southbound_request **ret);
int southbound_conntrack(struct southbound *sb, const char *host,
			 const char *port_id, southbound_reply_fn fn, void *arg,
			 struct southbound_request **ret);
/* Asks the agent of 'host' for the counters of its devices (the VXLAN
 * device and, on a gateway, the uplink): answered as
 * southbound_port_stats() is, with 200 and {"stats": {"tunnel": {...},
 * "uplink": {...}}} or 409 DeviceStatsUnavailable. */
int southbound_device_stats(struct southbound *sb, const char *host,
			    southbound_reply_fn fn, void *arg,
			    struct southbound_request **ret);
void southbound_request_cancel(struct southbound_request *req);
