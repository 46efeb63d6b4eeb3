/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * The forwarding database: where a MAC of a network lives, on a local tap
 * (ifindex != 0) or behind a remote host (ifindex == 0, host_ip). There is
 * no learning: every entry comes from the controller through the agent, so
 * an unknown destination is dropped, never flooded.
 */

#include "maps.h"

static __always_inline struct weft_fdb_entry *fdb_lookup(__u32 vni,
							 const __u8 *mac)
{
	struct weft_fdb_key key = {};

	key.vni = vni;
	mac_copy(key.mac, mac);
	return bpf_map_lookup_elem(&fdb, &key);
}
