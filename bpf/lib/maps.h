/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Every map of the datapath. Keys and values are the ABI structs of
 * abi/weft.h, which the agent writes; see docs/datapath.md for who writes
 * what and docs/southbound.md for where it comes from.
 *
 * All maps but test_tunnel_key are pinned by name, so an agent that
 * restarts with the same pin_root_path (/sys/fs/bpf/weft/<host>) adopts
 * them with their contents and forwarding never stops.
 */

#include "common.h"

/* ifindex of a VM's tap -> the port behind it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct weft_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

/* (vni, mac) -> local tap or remote host. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_FDB);
	__type(key, struct weft_fdb_key);
	__type(value, struct weft_fdb_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fdb SEC(".maps");

/* (vni, ip) -> mac: the answers of the ARP responder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_NEIGH);
	__type(key, struct weft_neigh_key);
	__type(value, struct weft_neigh_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} neigh SEC(".maps");

/* (ifindex, ip prefix) -> mac: the source addresses a port may use. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_PORT_ADDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_port_addr_key);
	__type(value, struct weft_port_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} port_addrs SEC(".maps");

/* (64 + plen, router key, 0, ip prefix) -> a route of that router:
 * every router's table in one trie, kept apart by the router key. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_ROUTES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_route_key);
	__type(value, struct weft_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routes SEC(".maps");

/* Underlay address (__be32) -> a host allowed to send tunnel traffic. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_HOSTS);
	__type(key, __be32);
	__type(value, struct weft_host);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hosts SEC(".maps");

/* VNI -> a network with ports on this host. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_NETWORKS);
	__type(key, __u32);
	__type(value, struct weft_network);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} networks SEC(".maps");

/* Connection tracking: (vni, tuple in the original direction, dir) -> the
 * state of a connection admitted by a local port's security groups. LRU:
 * when full, the least recently used connection makes room (its next
 * packet then has to start a connection again). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_CT);
	__type(key, struct weft_ct_key);
	__type(value, struct weft_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct SEC(".maps");

/* (64 + plen, ifindex, dir, remote prefix) -> the rule classes that apply
 * to a remote address for one direction of a port's security groups. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_SG_REMOTE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_sg_remote_key);
	__type(value, struct weft_sg_remote);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_remote SEC(".maps");

/* (prefixlen, class, protocol, port prefix) -> admitted: the (protocol,
 * port range) cover of every rule class. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WEFT_MAX_SG_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct weft_sg_rule_key);
	__type(value, struct weft_sg_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_rules SEC(".maps");

/* Per-CPU scratch space of connection tracking: buffers too large for the
 * BPF stack, which the programs and policy_conntrack() share (512 bytes in
 * all). Holds nothing between packets, so it is not pinned. */
struct ct_scratch {
	struct weft_ct_entry entry; /* a new entry being built */
	__u8 opts[64]; /* TCP options of a SYN */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_scratch);
} ct_scratch SEC(".maps");

/* Security group drops for the agent to log (struct weft_drop_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WEFT_DROP_EVENTS_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} drop_events SEC(".maps");

/* The rate limit of drop_events on each CPU. Not pinned: a limit's
 * window, nothing to keep. */
struct drop_log_state {
	__u64 window_ns; /* start of the current second */
	__u32 sent; /* events sent in it */
	__u32 suppressed; /* drops not reported since the last event */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_log_state);
} drop_log_state SEC(".maps");

/* ifindex of a port, of the VXLAN device or of a gateway's uplink ->
 * per-CPU counters: one entry per port and one per device. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, WEFT_MAX_PORTS + 2);
	__type(key, __u32);
	__type(value, struct weft_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* North-south (docs/gateways.md, struct comments in abi/weft.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEFT_MAX_GATEWAYS);
	__type(key, __u32);
	__type(value, struct weft_gw_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WEFT_GW_BUCKETS);
	__type(key, __u32);
	__type(value, struct weft_gw_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gw_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_EXT_ROUTERS);
	__type(key, __u32);
	__type(value, struct weft_ext_router);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ext_routers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_FIPS);
	__type(key, struct weft_fip_key);
	__type(value, struct weft_fip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WEFT_MAX_FIPS + WEFT_MAX_EXT_ROUTERS);
	__type(key, __be32);
	__type(value, struct weft_ext_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ext_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_SNAT);
	__type(key, struct weft_snat_key);
	__type(value, struct weft_snat_out);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} snat_out SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WEFT_MAX_SNAT);
	__type(key, struct weft_snat_in_key);
	__type(value, struct weft_snat_in);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} snat_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WEFT_SNAT_EVENTS_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} snat_events SEC(".maps");

/* The host's configuration, written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

/* Test mode only (weft_test_mode): the tunnel key in both directions.
 * Not pinned: it belongs to the loaded object, never to the host. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weft_test_tunnel_key);
} test_tunnel_key SEC(".maps");

static __always_inline struct weft_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}
