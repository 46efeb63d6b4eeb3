/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Per-port counters (map stats, per CPU, so plain increments are enough).
 * An entry is created on first use: the agent may also create it when it
 * attaches a port, but a counter must never be lost because it did not.
 */

#include "maps.h"

/* The first value of a port's counters: all zeros. A global (in .bss,
 * which is a map value) rather than a local, because the 512 bytes of BPF
 * stack are for a program and the functions it calls together, and
 * policy_conntrack() needs its share. Never written. */
struct weft_stats stats_zero;

static __always_inline struct weft_stats *stats_of(__u32 ifindex)
{
	struct weft_stats *s;

	s = bpf_map_lookup_elem(&stats, &ifindex);
	if (s)
		return s;
	/* EEXIST when another CPU raced us is fine: look up again. */
	bpf_map_update_elem(&stats, &ifindex, &stats_zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&stats, &ifindex);
}

/* A packet accepted from the port (or from the tunnel) 'ifindex'. */
static __always_inline void stats_rx(__u32 ifindex, __u32 len)
{
	struct weft_stats *s = stats_of(ifindex);

	if (s) {
		s->rx_packets++;
		s->rx_bytes += len;
	}
}

/* A packet the datapath delivered to the port 'ifindex'. */
static __always_inline void stats_tx(__u32 ifindex, __u32 len)
{
	struct weft_stats *s = stats_of(ifindex);

	if (s) {
		s->tx_packets++;
		s->tx_bytes += len;
	}
}

/* A DHCP request of the port 'ifindex' passed up to the agent. */
static __always_inline void stats_to_agent(__u32 ifindex)
{
	struct weft_stats *s = stats_of(ifindex);

	if (s)
		s->to_agent++;
}

/* An ICMP reply or error the datapath sent to the port 'ifindex'. */
static __always_inline void stats_icmp_sent(__u32 ifindex)
{
	struct weft_stats *s = stats_of(ifindex);

	if (s)
		s->icmp_sent++;
}

/* Counts a drop for 'reason' on 'ifindex' and returns the TC verdict. */
static __always_inline int stats_drop(__u32 ifindex, int reason)
{
	struct weft_stats *s;
	__u64 idx;

	if (reason == WEFT_DROP_COUNTED)
		return TC_ACT_SHOT;
	s = stats_of(ifindex);
	/* A reason out of range would be a bug of ours, counted as
	 * malformed. The bound is checked in assembly, on the very register
	 * that indexes: clang may otherwise check one copy of the value and
	 * index with another, which the verifier cannot follow. */
	idx = (__u32)reason;
	asm volatile(
		"if %[i] < %[max] goto +1\n\t"
		"%[i] = %[bad]"
		: [i] "+r"(idx)
		: [max] "i"(WEFT_DROP_MAX), [bad] "i"(WEFT_DROP_MALFORMED));
	if (s)
		s->drops[idx]++;
	return TC_ACT_SHOT;
}
