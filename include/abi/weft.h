/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * The contract between weft-agent and the eBPF datapath: map keys and
 * values, drop reasons and flags. Included by the BPF programs and by
 * userspace, both through linux/types.h, so only fixed-width types and no
 * padding the compiler could choose.
 *
 * Tenancy: every tenant-scoped key starts with the network's VNI (the
 * 24-bit id weftd allocates, unique per network), so two tenants with the
 * same addresses never share an entry.
 *
 * Byte order: IPv4 addresses in keys and values are in network byte order
 * (as they appear in packets); VNIs and ifindexes in host order.
 */

#include <linux/types.h>

#define WEFT_MAX_PORTS 4096 /* VM ports per host */
#define WEFT_MAX_FDB 65536 /* (vni, mac) entries per host */
#define WEFT_MAX_NEIGH 65536 /* (vni, ip) entries per host */
#define WEFT_MAX_PORT_ADDRS 16384 /* allowed (ifindex, prefix) entries */
#define WEFT_MAX_HOSTS 4096 /* underlay peers */
#define WEFT_MAX_NETWORKS 4096 /* networks present on a host */
#define WEFT_MAX_ROUTES 16384 /* connected + static routes, all routers */
#define WEFT_MAX_ROUTER_HOPS 4 /* routers one packet may cross */

/* Why a packet was dropped. Counted per port (or per tunnel device). Keep
 * weft_drop_reason_names in lib/drop-reasons.c in step. */
enum weft_drop_reason {
	WEFT_DROP_MALFORMED = 0, /* truncated or invalid headers */
	WEFT_DROP_NO_PORT, /* ingress device is not a known port */
	WEFT_DROP_ADMIN_DOWN, /* port admin_state_up is false */
	WEFT_DROP_SRC_MAC, /* port security: source MAC not allowed */
	WEFT_DROP_SRC_IP, /* port security: source IP not allowed */
	WEFT_DROP_ARP_SPOOF, /* ARP sender MAC/IP not the port's */
	WEFT_DROP_ARP_UNKNOWN, /* ARP request for an address not known */
	WEFT_DROP_ARP_NOT_REQUEST, /* ARP reply or gratuitous ARP from a VM */
	WEFT_DROP_BROADCAST, /* broadcast or multicast destination */
	WEFT_DROP_UNKNOWN_DST, /* unicast to a MAC not in the network */
	WEFT_DROP_ETHERTYPE, /* neither IPv4 nor ARP */
	WEFT_DROP_UNKNOWN_HOST, /* tunnel: outer source is not a host */
	WEFT_DROP_UNKNOWN_VNI, /* tunnel: VNI not a local network */
	WEFT_DROP_NOT_LOCAL, /* tunnel: destination is not a local port */
	WEFT_DROP_TUNNEL_SRC, /* tunnel: inner source not from that host */
	WEFT_DROP_NO_TUNNEL_KEY, /* tunnel: no tunnel metadata */
	WEFT_DROP_REDIRECT, /* the redirect itself failed */
	WEFT_DROP_TTL_EXCEEDED, /* routed with TTL <= 1 (ICMP sent back) */
	WEFT_DROP_NO_ROUTE, /* no route (ICMP net unreachable sent) */
	WEFT_DROP_NO_NEIGH, /* no port holds the address (ICMP host
				    * unreachable sent) */
	WEFT_DROP_ROUTER_DOWN, /* the router is admin down */
	WEFT_DROP_ROUTER_LOOP, /* more than WEFT_MAX_ROUTER_HOPS routers */
	WEFT_DROP_TO_ROUTER, /* to a router address, and not an echo */
	WEFT_DROP_MAX,
};

/* ports: key = ifindex of the tap (__u32). */
#define WEFT_PORT_F_SECURITY (1u << 0) /* enforce source MAC/IP */
#define WEFT_PORT_F_UP (1u << 1) /* admin_state_up */

struct weft_port {
	__u32 vni;
	__u8 mac[6];
	__u16 flags; /* WEFT_PORT_F_* */
};

/* fdb: where a MAC of a network lives. */
struct weft_fdb_key {
	__u32 vni;
	__u8 mac[6];
	__u16 pad; /* zero */
};

#define WEFT_FDB_F_ROUTER_DOWN (1u << 0) /* the router is admin down */

struct weft_fdb_entry {
	__u32 ifindex; /* local tap, or 0 when remote */
	__be32 host_ip; /* underlay address of the host holding the MAC */
	__u32 router; /* non-zero: an interface of this router (its key);
			 * ifindex and host_ip are then unused */
	__u32 flags; /* WEFT_FDB_F_* */
};

/* routes: LPM trie of every router's table, prefixlen = 64 + IP prefix
 * length (the router key and a zero word are always matched in full). */
struct weft_route_key {
	__u32 prefixlen;
	__u32 router;
	__u32 zero; /* keeps the IP 8-byte aligned; always 0 */
	__be32 ip;
};

enum weft_route_kind {
	WEFT_ROUTE_CONNECTED = 1, /* a subnet the router has an interface on */
	WEFT_ROUTE_NEXTHOP = 2, /* a static route: look 'nexthop' up again */
};

struct weft_route {
	__u32 kind; /* enum weft_route_kind */
	__u32 vni; /* CONNECTED: the interface's network */
	__u8 mac[6]; /* CONNECTED: the interface's MAC */
	__u16 pad;
	__be32 ifaddr; /* CONNECTED: the interface's address */
	__be32 nexthop; /* NEXTHOP: the next hop, on a connected subnet */
};

/* neigh: the ARP answers of a network, (vni, ip) -> mac. */
struct weft_neigh_key {
	__u32 vni;
	__be32 ip;
};

struct weft_neigh_entry {
	__u8 mac[6];
	__u16 pad;
};

/* port_addrs: LPM trie of the source addresses a port may use: its fixed
 * IPs (/32) and allowed address pairs (any prefix), each with the MAC that
 * must go with it. prefixlen counts the ifindex: 32 + IP prefix length. */
struct weft_port_addr_key {
	__u32 prefixlen;
	__u32 ifindex; /* always matched in full (prefixlen >= 32) */
	__be32 ip;
};

struct weft_port_addr {
	__u8 mac[6];
	__u16 pad;
};

/* hosts: underlay peers that may send tunnel traffic. key = __be32 IP. */
struct weft_host {
	__u32 flags; /* reserved, zero */
};

/* networks: VNIs present on this host. key = __u32 vni. */
struct weft_network {
	__u32 mtu;
	__u32 flags; /* reserved, zero */
};

/* stats: per-CPU counters, key = ifindex (__u32) of a port or of the
 * VXLAN device. "rx" is from the VM (or from the tunnel), "tx" is what
 * the datapath delivered to the port. */
struct weft_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 to_agent; /* DHCP requests passed up to the agent */
	__u64 icmp_sent; /* ICMP replies and errors the datapath answered */
	__u64 drops[WEFT_DROP_MAX];
};

/* config: array of one entry, written by the agent. */
struct weft_config {
	__u32 vxlan_ifindex;
	__be32 local_ip; /* this host's underlay address */
};

/* Test hook: when the program is loaded with the read-only constant
 * 'weft_test_mode' set, the tunnel program takes its tunnel key from the
 * map test_tunnel_key (BPF_PROG_TEST_RUN cannot attach tunnel metadata)
 * and the port program records the key it set there. Never set by the
 * agent. */
struct weft_test_tunnel_key {
	__u32 vni;
	__be32 remote_ip;
	__u32 set; /* 1 when written by the program */
	__u32 pad;
};
