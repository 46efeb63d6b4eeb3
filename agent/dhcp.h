/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "hostview.h"
#include "reconcile.h"

/*
 * The agent's DHCP server (docs/dhcp.md): one AF_PACKET socket in the
 * host's namespace, with a socket filter that lets IPv4 UDP to port 67
 * through, read from the event loop; each request is decided by
 * dhcp-server.c against the current view and answered with a raw frame
 * sent on the tap it came from. Answers and ignored requests are counted
 * per port.
 */

struct dhcp;

/* Opens the socket and adds its event to 'base'. The view 'v', 'host' and
 * the tap resolver are borrowed for the life of the server. Returns 0 and
 * sets 'ret', or a negative errno. */
int dhcp_new(struct event_base *base, const struct hostview *v,
	     const char *host, reconcile_tap_fn tap_ifindex, void *ctx,
	     struct dhcp **ret);

/* Closes the socket. Accepts NULL. */
void dhcp_free(struct dhcp *d);

/* The counters of port 'port_id' as a JSON object {"offers", "acks",
 * "naks", "releases", "ignored", "ignored_by_reason": {...}} (zeros for a
 * port never heard from). Returns a new reference, NULL when out of
 * memory. */
json_t *dhcp_port_stats(const struct dhcp *d, const char *port_id);
