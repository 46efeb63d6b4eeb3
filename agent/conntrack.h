/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/weft.h"
#include "kvtab.h"

/*
 * The agent's side of connection tracking (docs/security-groups.md): which
 * entries of the datapath's 'ct' map are dead (garbage collection) and how
 * the live ones are shown to weftd (conntrack_request). Pure: the walk of
 * the map itself is datapath_ct_walk().
 */

#define CONNTRACK_GC_INTERVAL_MS 5000
#define CONNTRACK_MAX_ENTRIES 4000 /* in one conntrack_reply */
#define CONNTRACK_PORT_ID_MAX 64 /* a port id and its NUL, in 'port_ids' */

/* Now on the clock of bpf_ktime_get_ns() (CLOCK_MONOTONIC), in ns. */
uint64_t conntrack_now_ns(void);

/* The name of enum weft_ct_state 'state' ("ESTABLISHED"...), or
 * "UNKNOWN". */
const char *conntrack_state_name(uint8_t state);

/* "tcp", "udp", "icmp", or the number of 'proto' written into 'buf'. */
const char *conntrack_proto_name(uint8_t proto, char buf[4]);

/* Writes the log line of drop event 'ev' of port 'port_id' into 'buf'
 * ('len' bytes): "PORT REASON PROTO SRC[:SPORT] -> DST[:DPORT]", and
 * " (N more not logged)" when the rate limit kept some out. Returns what
 * snprintf() does. */
int conntrack_drop_event_format(const struct weft_drop_event *ev,
				const char *port_id, char *buf, size_t len);

/* True when entry 'e' is dead at 'now_ns': expired, or its port
 * ('e->ifindex') is not in 'ports' (the image of the ports map: ifindex ->
 * struct weft_port) with WEFT_PORT_F_POLICY. */
bool conntrack_is_dead(const struct weft_ct_entry *e, uint64_t now_ns,
		       const struct kvtab *ports);

/* The JSON of one live entry (docs/security-groups.md, "ENTRY") of port
 * 'port_id' at 'now_ns'. Returns a new reference, or NULL (no memory). */
json_t *conntrack_entry_json(const struct weft_ct_key *key,
			     const struct weft_ct_entry *e, const char *port_id,
			     uint64_t now_ns);

/* A conntrack_reply being filled. */
struct conntrack_list {
	/* In: the local ports, ifindex (uint32_t) ->
	 * char[CONNTRACK_PORT_ID_MAX]; only entries of these are listed. */
	const struct kvtab *port_ids;
	uint32_t only_ifindex; /* non-zero: list this port only */
	uint64_t now_ns;
	/* Out. */
	json_t *entries; /* array, owned */
	bool truncated;
	int error; /* -ENOMEM */
};

/* Sets up 'l' (entries empty). Returns 0 or -ENOMEM. */
int conntrack_list_init(struct conntrack_list *l, const struct kvtab *port_ids,
			uint32_t only_ifindex, uint64_t now_ns);
void conntrack_list_destroy(struct conntrack_list *l);

/* Adds the entry when it is live and of a listed port. Returns true to go
 * on, false when the list is full (then 'truncated' is set: there was one
 * more) or out of memory ('error'). */
bool conntrack_list_add(struct conntrack_list *l, const struct weft_ct_key *key,
			const struct weft_ct_entry *e);
