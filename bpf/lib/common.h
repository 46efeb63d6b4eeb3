/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * What every stage of the datapath shares: the uapi and libbpf headers in
 * the order they need, the ABI, and the convention for results.
 *
 * A stage returns WEFT_OK to let the packet go on, or the enum
 * weft_drop_reason that stops it. The entry program turns a reason into
 * a counter and TC_ACT_SHOT in one place, so the counting code exists
 * once per program however many stages can drop.
 */

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "abi/weft.h"

/* Not a drop: the packet goes on to the next stage. */
#define WEFT_OK (-1)

/* Not a reason: the packet was dropped and its reason already counted
 * (on another device than the caller's). */
#define WEFT_DROP_COUNTED (-3)

/*
 * Set by the loader before load (the skeleton's rodata), never by the
 * agent. See struct weft_test_tunnel_key in abi/weft.h.
 */
const volatile __u32 weft_test_mode = 0;

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] &&
	       a[4] == b[4] && a[5] == b[5];
}

static __always_inline int mac_is_zero(const __u8 *a)
{
	return !(a[0] | a[1] | a[2] | a[3] | a[4] | a[5]);
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

/* Broadcast is a multicast address: both have the group bit set. */
static __always_inline int mac_is_multicast(const __u8 *mac)
{
	return mac[0] & 1;
}
