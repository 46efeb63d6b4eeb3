/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvtab.h"
#include "hostview.h"

/*
 * From the desired state (the view, plus the taps present on the host) to
 * the contents of the datapath's maps, and from there to the smallest set
 * of map operations that makes the maps hold them.
 *
 * The agent keeps a 'present' image of what it believes each map holds
 * (read from the maps once at start, then kept up to date by applying
 * operations), so a reconcile costs a walk in memory and one syscall per
 * entry that actually changes. Maps are never flushed: an entry that stays
 * is never touched, which is what keeps restarts and resyncs hitless.
 */

enum dp_map {
	DP_MAP_NETWORKS,
	DP_MAP_HOSTS, /* hypervisors and gateways: before anything that
		       * sends to or accepts from them */
	DP_MAP_GW_SLOTS, /* arrays, every key always written: a slot's */
	DP_MAP_GW_TABLE, /* address before the buckets that name it */
	DP_MAP_SG_RULES, /* rule classes, before the sg_remote entries that
			  * name them, */
	DP_MAP_SG_REMOTE, /* updated and deleted before the ports whose
			   * policy_gen covers them */
	DP_MAP_PORTS,
	DP_MAP_PORT_ADDRS,
	DP_MAP_EXT_ROUTERS, /* gateways: before the routes, fdb, fips and
			     * ext_addrs that lead to a router */
	DP_MAP_ROUTES, /* before neigh and fdb: a router MAC appears last */
	DP_MAP_NEIGH,
	DP_MAP_FDB,
	DP_MAP_FIPS, /* gateways: translations once the tenant side is */
	DP_MAP_EXT_ADDRS, /* there; inbound addresses last (deleted first) */
	DP_MAP_STATS, /* a set of ifindexes: entries are created zeroed */
	DP_MAP_COUNT,
};

struct dp_map_info {
	const char *name; /* the map's name in the BPF object and in bpffs */
	size_t key_size;
	size_t value_size; /* 0 for DP_MAP_STATS (values are counters) */
};

extern const struct dp_map_info dp_map_info[DP_MAP_COUNT];

/* An image of the maps' contents. */
struct dp_state {
	struct kvtab maps[DP_MAP_COUNT];
};

void dp_state_init(struct dp_state *s);
void dp_state_destroy(struct dp_state *s);

/* Who and where this host is. */
struct reconcile_self {
	const char *host; /* our host name (binding:host_id) */
	uint32_t underlay_ip; /* host byte order */
	uint32_t vxlan_ifindex;
	/* The gateway role (docs/gateways.md): ext_routers, fips and
	 * ext_addrs are written only on a gateway. */
	bool gateway;
	uint32_t uplink_ifindex; /* gateways: its stats entry; 0: none */
	/* Bit s: the gateway of slot s answers probes (or is this host).
	 * gw_slots' ALIVE flags and gw_table follow it. */
	uint32_t gw_alive;
};

/* Returns the ifindex of the interface named 'name', or 0 when absent. */
typedef uint32_t (*reconcile_tap_fn)(void *ctx, const char *name);

/* A port bound to this host. 'id' points into the view. */
struct reconcile_local_port {
	const char *id;
	char tap[HOSTVIEW_IFNAMSIZ];
	uint32_t ifindex; /* 0: its tap is not there */
};

/* Computes into 'out' (initialised by the caller, empty) the map contents
 * that view 'v' asks for on host 'self' (security groups compiled by
 * agent/policy.h for each local port whose tap exists and that has port
 * security and a security_groups list), and sets 'ret_ports' to a malloc'ed
 * array of the 'ret_n' ports bound to this host (caller frees; the ids
 * point into 'v'). Returns 0 or -ENOMEM. */
int reconcile_desired(const struct hostview *v,
		      const struct reconcile_self *self,
		      reconcile_tap_fn tap_ifindex, void *ctx,
		      struct dp_state *out,
		      struct reconcile_local_port **ret_ports, size_t *ret_n);

enum reconcile_op_kind {
	RECONCILE_UPDATE, /* create or change the entry of 'key' */
	RECONCILE_DELETE,
};

struct reconcile_op {
	enum dp_map map;
	enum reconcile_op_kind kind;
	const void *key;
	const void *value; /* UPDATE only; NULL for DP_MAP_STATS */
};

/* Applies one operation to the maps. Returns 0 or a negative errno. */
typedef int (*reconcile_apply_fn)(void *ctx, const struct reconcile_op *op);

struct reconcile_result {
	size_t updates;
	size_t deletes;
	size_t failures; /* operations 'apply' refused; retried next time */
	int first_error;
};

/* Calls 'apply' for every difference between 'desired' and 'present' —
 * all updates (networks and hosts first, then gateway slots and gw_table,
 * rule classes, the ports' sg_remote entries, ports, external routers,
 * routes, neigh, the fdb, then floating IP translations and external
 * addresses, so that a forwarding, router, policy or translation entry
 * never leads to an entry the datapath cannot find), then all deletes
 * (in the reverse order; sg_remote's are done right after its updates,
 * before the ports, so that a port's new policy_gen never meets a stale
 * entry that would admit its connections again) — and records in
 * 'present' each operation that
 * succeeded. Returns 0 or -ENOMEM; failed operations are counted in
 * 'result', not returned. */
int reconcile_diff(const struct dp_state *desired, struct dp_state *present,
		   reconcile_apply_fn apply, void *ctx,
		   struct reconcile_result *result);
