/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dhcp-proto.h"
#include "hostview.h"
#include "reconcile.h"

/*
 * The DHCP server's decisions (docs/dhcp.md): given the view, the device
 * a frame came in on and the frame, which port asked, whether and what to
 * answer. Pure: agent/dhcp.c receives and sends, and counts.
 */

#define DHCP_LEASE_SECONDS 86400u

enum dhcp_verdict {
	/* Answered. */
	DHCP_VERDICT_OFFER,
	DHCP_VERDICT_ACK,
	DHCP_VERDICT_NAK,
	/* A RELEASE or DECLINE: nothing to say. */
	DHCP_VERDICT_RELEASE,
	/* Ignored, counted by reason. */
	DHCP_VERDICT_NOT_PORT, /* the device is not a local port's tap */
	DHCP_VERDICT_MALFORMED, /* dhcp_proto_parse() said -EBADMSG */
	DHCP_VERDICT_OVERSIZED, /* ... or -EMSGSIZE */
	DHCP_VERDICT_FOREIGN_MAC, /* Ethernet source or chaddr not the port's */
	DHCP_VERDICT_NO_DHCP_SUBNET, /* no fixed IP on a subnet with DHCP */
	DHCP_VERDICT_OTHER_SERVER, /* the client chose another server */
	DHCP_VERDICT_WRONG_ADDRESS, /* an INFORM from an address not the port's */
	DHCP_VERDICT_UNSUPPORTED, /* a server's message type, from a client */
	DHCP_VERDICT_BUILD_FAILED, /* the reply does not fit in a frame */
	DHCP_VERDICT_MAX,
};

/* True for the verdicts that put a reply in the output frame. */
#define DHCP_VERDICT_ANSWERED(v) ((v) <= DHCP_VERDICT_NAK)
/* True for the verdicts counted as ignored. */
#define DHCP_VERDICT_IGNORED(v) ((v) > DHCP_VERDICT_RELEASE)

/* The lower-case name of 'v' ("offer", "foreign_mac", ...). */
const char *dhcp_verdict_name(enum dhcp_verdict v);

struct dhcp_answer {
	enum dhcp_verdict verdict;
	const struct hostview_port *port; /* NULL for NOT_PORT; into the view */
	uint32_t ip; /* the port's address that was served (0 when none) */
	size_t len; /* the reply frame's length, when answered */
};

/*
 * Decides what to answer to 'frame' ('len' bytes) received on the device
 * 'ifindex' of this host 'host', whose taps 'tap_ifindex' resolves, and
 * writes the reply frame into 'out' ('out_size' bytes, at least
 * DHCP_PROTO_MAX_FRAME) when there is one.
 */
void dhcp_server_answer(const struct hostview *v, const char *host,
			reconcile_tap_fn tap_ifindex, void *ctx,
			uint32_t ifindex, const uint8_t *frame, size_t len,
			uint8_t *out, size_t out_size, struct dhcp_answer *ret);
