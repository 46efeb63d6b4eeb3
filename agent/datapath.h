/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "abi/weft.h"
#include "reconcile.h"

/*
 * The eBPF datapath of this host: its programs and maps, pinned under
 * '<bpffs_root>/<host>/' (maps by their names, programs as prog_port and
 * prog_tunnel), and their TC attachments.
 *
 * Opening ADOPTS what a previous agent left when all of it is pinned: the
 * programs and maps are taken from bpffs (bpf_obj_get) and nothing is
 * loaded, so the running programs, their TC attachments and the maps'
 * contents stay exactly as they were. Otherwise the skeleton is loaded with
 * pin_root_path set (libbpf reuses any pinned map and pins the others) and
 * the programs are pinned.
 *
 * Nothing here ever unpins, detaches or flushes, except
 * datapath_cleanup(), which is for taking a host down for good.
 */

/* The TC filter the agent owns on each device: fixed, so that attaching
 * again replaces it atomically instead of adding a second filter. */
#define DATAPATH_TC_HANDLE 0x5746u
#define DATAPATH_TC_PRIORITY 1u

struct datapath;

enum datapath_prog {
	DATAPATH_PROG_PORT, /* weft_port_ingress, on each VM tap */
	DATAPATH_PROG_TUNNEL, /* weft_tunnel_ingress, on the VXLAN device */
	/* Gateway nodes (docs/gateways.md), looked up by name in the
	 * object: */
	DATAPATH_PROG_GW_TUNNEL, /* weft_gw_tunnel_ingress, VXLAN device */
	DATAPATH_PROG_GW_UPLINK, /* weft_gw_uplink_ingress, the uplink */
	DATAPATH_PROG_COUNT,
};

/* The name of program 'which' in the BPF object. */
const char *datapath_prog_name(enum datapath_prog which);

/* Adopts or loads the datapath of 'host' under 'bpffs_root' (mounting bpffs
 * on /sys/fs/bpf first when it is not). With 'gateway', the gateway
 * programs are required: -ENOENT when the object has none (adoption needs
 * their pins too). Sets 'ret_adopted' when it adopted pinned programs.
 * Returns 0 and sets 'ret', or a negative errno. */
int datapath_open(const char *bpffs_root, const char *host, bool gateway,
		  struct datapath **ret, bool *ret_adopted);

/* Closes the agent's handles. The pins, attachments and maps stay. */
void datapath_free(struct datapath *dp);

/* Attaches program 'which' at TC ingress of 'ifindex' (creating the clsact
 * qdisc when needed). Does nothing when that very program is already
 * attached there (returns 0); replaces atomically whatever else holds our
 * handle and priority (returns 1). Returns a negative errno on failure. */
int datapath_attach(struct datapath *dp, int ifindex, enum datapath_prog which);

/* Writes the config map to 'want' (only when it differs). */
int datapath_set_config(struct datapath *dp, const struct weft_config *want);

/* The fd of the drop_events ring buffer (owned by 'dp'). */
int datapath_drop_events_fd(const struct datapath *dp);

/* The fd of the snat_events ring buffer (owned by 'dp'). */
int datapath_snat_events_fd(const struct datapath *dp);

/* Writes the copy of another gateway's translation 'ev' into snat_out and
 * snat_in (docs/gateways.md), expiring the protocol's timeout after
 * 'now_ns'. Returns 0, -EEXIST when snat_in holds a live entry of another
 * flow for that external address and port (nothing written), or a
 * negative errno. */
int datapath_snat_copy(struct datapath *dp, const struct weft_snat_event *ev,
		       uint64_t now_ns);

/* Reads what the maps hold into 'present' (initialised, empty). */
int datapath_read_state(struct datapath *dp, struct dp_state *present);

/* A reconcile_apply_fn: 'ctx' is the struct datapath. */
int datapath_apply(void *ctx, const struct reconcile_op *op);

/* Sums the per-CPU counters of 'ifindex' into 'ret'. -ENOENT when the
 * stats map has no entry for it. */
int datapath_read_stats(struct datapath *dp, uint32_t ifindex,
			struct weft_stats *ret);

/* What a datapath_ct_fn decides about one conntrack entry. */
enum datapath_ct_verdict {
	DATAPATH_CT_KEEP,
	DATAPATH_CT_DELETE,
	DATAPATH_CT_STOP, /* end the walk (entries marked so far still go) */
};

/* Called for each entry of the conntrack map; returns a verdict. */
typedef int (*datapath_ct_fn)(void *ctx, const struct weft_ct_key *key,
			      const struct weft_ct_entry *e);

/* Walks the conntrack map 'ct' (a snapshot as good as the kernel's
 * iteration gives while the datapath keeps changing it), then deletes the
 * entries 'fn' asked to. Returns the number deleted, or a negative errno
 * when the map could not be read. */
int datapath_ct_walk(struct datapath *dp, datapath_ct_fn fn, void *ctx);

/* Detaches our filter from TC ingress of 'ifindex' when the program there
 * is one of ours (by id in 'prog_ids', 'n_ids' of them, or by a "weft_"
 * name). Returns 1 when something was detached, 0, or a negative errno. */
int datapath_detach_ours(int ifindex, const uint32_t *prog_ids, int n_ids);

/* The ids of the pinned programs of 'host' (0 where absent). */
void datapath_pinned_prog_ids(const char *bpffs_root, const char *host,
			      uint32_t ids[DATAPATH_PROG_COUNT]);

/* Removes the pins of 'host' and its directory. Returns 0 or a negative
 * errno (the first failure; it goes on with the rest). */
int datapath_unpin(const char *bpffs_root, const char *host);
