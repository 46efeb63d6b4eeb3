/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/weft.h"

/*
 * Gateway nodes as every agent sees them (docs/gateways.md): which are
 * alive (a probe state machine per gateway) and which alive gateway
 * serves each bucket of gw_table (rendezvous hashing). Pure: no I/O, no
 * clock; agent/probe.c drives it from the event loop.
 */

/* An alive gateway, as gw_table knows it. Addresses in host order. */
struct gateway_member {
	uint32_t ip; /* underlay address */
	uint32_t slot; /* 0..WEFT_MAX_GATEWAYS-1 */
};

/* The rendezvous score of gateway 'ip' for 'bucket': each bucket goes to
 * the member with the highest score (ties: the lower address). The same
 * on every host and run. */
uint64_t gateway_score(uint32_t bucket, uint32_t ip);

/* Fills every bucket of 'table' with the member of 'members' ('n' of
 * them, any order) that wins it; with no member, every bucket is {0, 0}
 * (no alive gateway). A member that leaves moves only the buckets it
 * held; one that joins takes only those it wins. Addresses in 'table' are
 * in network order, as the datapath reads them. */
void gateway_table_fill(const struct gateway_member *members, size_t n,
			struct weft_gw_bucket table[WEFT_GW_BUCKETS]);

/* Consecutive answered probes that make a dead gateway alive again. */
#define GATEWAY_PROBE_ANSWERS 2

/* The probe state of one gateway. */
struct gateway_probe {
	bool alive;
	bool outstanding; /* a probe was sent and not answered yet */
	uint32_t seq; /* the sequence number of the last probe sent */
	unsigned int misses; /* unanswered probes in a row */
	unsigned int answers; /* answered probes in a row */
};

enum gateway_change {
	GATEWAY_UNCHANGED,
	GATEWAY_DIED,
	GATEWAY_REVIVED,
};

/* Starts the state of a gateway as 'alive' (weftd's view of it). */
void gateway_probe_init(struct gateway_probe *p, bool alive);

/* Records that probe 'seq' is being sent. The previous probe, still
 * unanswered, counts as a miss: after 'max_misses' in a row an alive
 * gateway dies (returns GATEWAY_DIED). */
enum gateway_change gateway_probe_sent(struct gateway_probe *p, uint32_t seq,
				       unsigned int max_misses);

/* Records an answer to probe 'seq'. Only the answer to the last probe sent
 * counts (a late one is ignored); after GATEWAY_PROBE_ANSWERS in a row a
 * dead gateway comes back (returns GATEWAY_REVIVED). */
enum gateway_change gateway_probe_answered(struct gateway_probe *p,
					   uint32_t seq);

/* The probe datagram: "WFTP", a 32-bit sequence number and a 64-bit
 * timestamp, both big-endian. The gateway echoes it unchanged. */
#define GATEWAY_PROBE_SIZE 16

void gateway_probe_encode(uint8_t buf[GATEWAY_PROBE_SIZE], uint32_t seq,
			  uint64_t timestamp);

/* Decodes a probe of 'len' bytes. Returns 0 and sets 'ret_seq' and
 * 'ret_timestamp', or -EINVAL when it is not a probe. */
int gateway_probe_decode(const void *buf, size_t len, uint32_t *ret_seq,
			 uint64_t *ret_timestamp);

/*
 * SNAT state copies (docs/gateways.md): a gateway sends the translations
 * it made (snat_events) to every other gateway, a UDP datagram to the
 * probe port: "WFTS", a 32-bit count (big-endian), then that many struct
 * weft_snat_event as the datapath wrote them.
 */
#define GATEWAY_SNAT_MAX_EVENTS 32 /* events a datagram */
#define GATEWAY_SNAT_HEADER 8
#define GATEWAY_SNAT_MAX_SIZE  \
	(GATEWAY_SNAT_HEADER + \
	 GATEWAY_SNAT_MAX_EVENTS * sizeof(struct weft_snat_event))

/* Writes the datagram of 'n' (1..GATEWAY_SNAT_MAX_EVENTS) events 'ev' into
 * 'buf' (GATEWAY_SNAT_MAX_SIZE bytes); returns its length. */
size_t gateway_snat_encode(uint8_t *buf, const struct weft_snat_event *ev,
			   size_t n);

/* Checks the datagram 'buf' of 'len' bytes. Returns the number of events
 * it carries (read the i-th with gateway_snat_event()), or -EINVAL. */
int gateway_snat_decode(const void *buf, size_t len);

/* Copies the 'i'-th event of a datagram gateway_snat_decode() accepted. */
void gateway_snat_event(const void *buf, size_t i, struct weft_snat_event *ret);

/* The snat_out and snat_in entries of event 'ev', expiring the
 * protocol's timeout after 'now_ns' (CLOCK_MONOTONIC, as
 * bpf_ktime_get_ns()). */
void gateway_snat_entries(const struct weft_snat_event *ev, uint64_t now_ns,
			  struct weft_snat_out *out,
			  struct weft_snat_in_key *in_key,
			  struct weft_snat_in *in);

/* Whether a copy of the translation of 'orig' may be written over
 * 'existing', the snat_in entry of its external address and port (NULL:
 * none): not while it is live for another flow. */
bool gateway_snat_may_copy(const struct weft_snat_in *existing,
			   const struct weft_snat_key *orig, uint64_t now_ns);
