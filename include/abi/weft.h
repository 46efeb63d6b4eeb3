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
#define WEFT_MAX_CT 262144 /* tracked connections per host (LRU) */
#define WEFT_MAX_SG_REMOTE 131072 /* (port, direction, remote prefix) */
#define WEFT_MAX_SG_RULES 262144 /* (class, protocol, port prefix) */
#define WEFT_MAX_GATEWAYS 16 /* gateway slots (docs/gateways.md) */
#define WEFT_GW_BUCKETS 256 /* consistent-hash buckets of gw_table */
#define WEFT_MAX_EXT_ROUTERS 4096 /* routers with an external gateway */
#define WEFT_MAX_FIPS 65536 /* floating IPs */
#define WEFT_MAX_SNAT 262144 /* SNAT translations per gateway (LRU) */

/* The VNI of a frame one gateway hands to another: the original external
 * frame, as it arrived on the uplink, for the gateway that owns its SNAT
 * port. weftd never allocates it to a network. */
#define WEFT_VNI_HANDOFF 0xFFFFFFu

/* SNAT port shares: gateway slot s translates only to ports (and ICMP echo
 * ids) in [WEFT_SNAT_PORT_MIN + s * WEFT_SNAT_PORTS_PER_SLOT,
 * WEFT_SNAT_PORT_MIN + (s + 1) * WEFT_SNAT_PORTS_PER_SLOT). */
#define WEFT_SNAT_PORT_MIN 1024
#define WEFT_SNAT_PORTS_PER_SLOT 4032 /* (65536 - 1024) / 16 */
/* Ports tried (from a hash of the flow) before a translation is refused
 * as WEFT_DROP_SNAT_EXHAUSTED. */
#define WEFT_SNAT_PROBES 16

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
	WEFT_DROP_POLICY_INGRESS, /* no security group rule of the receiving
				   * port admits this new connection */
	WEFT_DROP_POLICY_EGRESS, /* no security group rule of the sending
				  * port admits this new connection */
	WEFT_DROP_CT_INVALID, /* neither a valid start of a connection nor
			       * part of a tracked one: bad TCP flags, TCP
			       * without SYN and no entry, a reply (SYN-ACK,
			       * echo reply) or ICMP error with no entry */
	WEFT_DROP_CT_WINDOW, /* TCP segment outside the tracked window */
	WEFT_DROP_FRAGMENT, /* IP fragment on a port with security groups */
	/* North-south (docs/gateways.md). */
	WEFT_DROP_NO_GATEWAY, /* routed out of a router with an external
			       * gateway, but no gateway node is alive */
	WEFT_DROP_NO_EXT_ROUTER, /* gateway: a frame for a router it knows no
				  * external gateway of */
	WEFT_DROP_FIP_UNASSOCIATED, /* uplink: to a floating IP with no port */
	WEFT_DROP_EXT_UNKNOWN_DST, /* uplink: to an address weft does not
				    * serve */
	WEFT_DROP_EXT_SPOOF, /* uplink: from an address weft serves (a
			      * floating IP, a router's external IP) */
	WEFT_DROP_SNAT_NO_STATE, /* uplink: to a router's external IP, with no
				  * translation for that port and remote */
	WEFT_DROP_SNAT_EXHAUSTED, /* no free port in this gateway's share */
	WEFT_DROP_NAT_PROTO, /* a protocol NAT cannot translate (not TCP, UDP,
			      * ICMP echo or ICMP error) */
	WEFT_DROP_OTHER_HOST, /* uplink: a unicast frame to another node's MAC
			       * (flooded by the external segment) */
	WEFT_DROP_MAX,
};

/* ports: key = ifindex of the tap (__u32). */
#define WEFT_PORT_F_SECURITY (1u << 0) /* enforce source MAC/IP */
#define WEFT_PORT_F_UP (1u << 1) /* admin_state_up */
/* Security groups (and conntrack) apply: port_security_enabled. */
#define WEFT_PORT_F_POLICY (1u << 2)

struct weft_port {
	__u32 vni;
	__u8 mac[6];
	__u16 flags; /* WEFT_PORT_F_* */
	/* A digest of the port's compiled security group policy (its
	 * sg_remote entries and the classes they name), written by the
	 * agent; it changes whenever the policy does. A conntrack entry
	 * admitted under another value is checked against the rules again
	 * on its next packet and ended when they no longer admit it. */
	__u32 policy_gen;
	/* The key of the port's rules in sg_remote: every port with the same
	 * set of security groups has the same policy (0: none). */
	__u32 policy_id;
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
	/* Out through the router's external gateway: the agent writes 0/0
	 * with this kind for a router that has one. The packet goes to a
	 * gateway node picked by gw_table (docs/gateways.md). */
	WEFT_ROUTE_EXTERNAL = 3,
};

struct weft_route {
	__u32 kind; /* enum weft_route_kind */
	__u32 vni; /* CONNECTED: the interface's network */
	__u8 mac[6]; /* CONNECTED: the interface's MAC; EXTERNAL: the MAC
		      * of the router's gateway port */
	__u16 pad;
	__be32 ifaddr; /* CONNECTED: the interface's address; EXTERNAL: the
			* router's external IP */
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

/*
 * Connection tracking (docs/security-groups.md). An entry belongs to one
 * local port with security groups: the port whose rules admitted the
 * connection ('dir' says which of its rule sets: INGRESS for a connection
 * opened towards the port, EGRESS for one the port opened). The key is the
 * connection in its original direction. A packet looks up its own tuple
 * with the direction it travels (from the port: EGRESS, to the port:
 * INGRESS), then the reversed tuple with the other direction (a reply).
 * Two ports of one host that talk to each other have one entry each.
 */
enum weft_ct_dir {
	WEFT_CT_INGRESS = 0, /* towards the local port */
	WEFT_CT_EGRESS = 1, /* from the local port */
};

struct weft_ct_key {
	__u32 vni; /* network of the local port */
	__be32 saddr; /* who opened the connection */
	__be32 daddr;
	/* TCP, UDP: the ports. ICMP echo: a request has its id in sport and
	 * 0 in dport, a reply 0 in sport and its id in dport, so that the
	 * reversed tuple of a reply is the request's. */
	__be16 sport;
	__be16 dport;
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	__u8 dir; /* enum weft_ct_dir */
	__u16 pad; /* zero */
};

enum weft_ct_state {
	/* TCP */
	WEFT_CT_SYN_SENT = 1, /* SYN from the opener */
	WEFT_CT_SYN_RECV = 2, /* SYN-ACK from the other side */
	WEFT_CT_ESTABLISHED = 3, /* the opener acknowledged the SYN-ACK */
	WEFT_CT_FIN_WAIT = 4, /* a FIN from one side */
	WEFT_CT_TIME_WAIT = 5, /* FINs from both sides */
	/* UDP, ICMP */
	WEFT_CT_UNREPLIED = 6, /* packets in the original direction only */
	WEFT_CT_REPLIED = 7, /* a packet in the reply direction was seen */
};

/* Idle timeouts, seconds. A RST in the window deletes the entry. */
#define WEFT_CT_TIMEOUT_TCP_SYN 60
#define WEFT_CT_TIMEOUT_TCP_ESTABLISHED 86400
#define WEFT_CT_TIMEOUT_TCP_FIN 120
#define WEFT_CT_TIMEOUT_TCP_TIME_WAIT 10
#define WEFT_CT_TIMEOUT_UDP 30
#define WEFT_CT_TIMEOUT_UDP_REPLIED 180
#define WEFT_CT_TIMEOUT_ICMP 30

/* One direction of a TCP connection, as seen by the window check (the
 * algorithm of G. van Rooij, "Real Stateful TCP Packet Filtering in IP
 * Filter"): sequence numbers in host order. */
struct weft_ct_tcp {
	__u32 end; /* highest sequence number sent + length */
	__u32 maxend; /* highest ack + window the other side allowed */
	__u32 maxwin; /* largest window advertised, scaled */
	__u8 wscale; /* window scale announced in the SYN (0..14) */
	__u8 flags; /* WEFT_CT_TCP_F_* */
	__u16 pad;
};

#define WEFT_CT_TCP_F_WSCALE (1u << 0) /* the SYN carried a window scale */
#define WEFT_CT_TCP_F_FIN (1u << 1) /* this side sent a FIN */
#define WEFT_CT_TCP_F_SEEN (1u << 2) /* this side sent a packet */

struct weft_ct_entry {
	__u64 expires_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) after
			   * which the entry is dead */
	__u64 packets[2]; /* [0] original direction, [1] reply */
	__u64 bytes[2];
	__u32 ifindex; /* the local port */
	__u32 policy_gen; /* the port's policy_gen when last admitted */
	__u8 state; /* enum weft_ct_state */
	/* 1 + the slot of the gateway node that carries this connection to
	 * the outside (0: none yet): a connection stays on its gateway while
	 * that gateway is alive (docs/gateways.md). */
	__u8 gw;
	__u8 pad[6];
	struct weft_ct_tcp tcp[2]; /* TCP only: [0] opener, [1] other */
};

/*
 * Security group rules, compiled by the agent (docs/security-groups.md).
 * Two LPM lookups decide a new connection, whatever the number of rules:
 *
 * 1. sg_remote: (the local port's policy, direction, remote address) ->
 *    two rule classes: 'class', the rules whose remote prefix (or remote
 *    group member) is the longest match or contains it, /0 excluded; and
 *    'any_class', the port's rules that admit any remote address. The
 *    agent writes a /0 entry (class 0) when the port has such rules. The
 *    remote address is the source for INGRESS, the destination for
 *    EGRESS.
 * 2. sg_rules: (class, protocol, port) -> admitted when any prefix
 *    matches. Port ranges are written as the prefixes that cover them.
 *
 * A connection is admitted when 'class' or 'any_class' (non-zero) admits
 * its protocol and destination port. No entry in sg_remote: refused.
 * Classes are shared by every port whose rules are the same set; class 0
 * is never used.
 */
struct weft_sg_remote_key {
	__u32 prefixlen; /* 64 + remote prefix length */
	__u32 policy; /* the local port's policy_id */
	__u32 dir; /* enum weft_ct_dir */
	__be32 ip; /* remote address prefix */
};

struct weft_sg_remote {
	__u32 class;
	__u32 any_class;
};

/* prefixlen: 32 (any protocol), 48 (the protocol, any port), or 48 + the
 * prefix of 'port'. 'port' is the TCP/UDP destination port (network
 * order); for ICMP the type in its first byte and the code in its second
 * (so 56 matches a type, 64 a type and code). */
struct weft_sg_rule_key {
	__u32 prefixlen;
	__u32 class;
	__u8 proto;
	__u8 pad; /* zero */
	__be16 port;
};

struct weft_sg_rule {
	__u32 flags; /* reserved, zero */
};

/* config: array of one entry, written by the agent. */
struct weft_config {
	__u32 vxlan_ifindex;
	__be32 local_ip; /* this host's underlay address */
	/* Security group drops reported in drop_events, at most this many a
	 * second on each CPU; 0: none. */
	__u32 log_drops_per_sec;
	__u32 flags; /* WEFT_CONFIG_F_* */
	/* Gateway nodes only (WEFT_CONFIG_F_GATEWAY): */
	__u32 uplink_ifindex; /* the interface on the external network */
	__be32 uplink_ip; /* its own address there (BGP, BFD): passed to the
			   * stack, never translated */
	__u32 gw_slot; /* this gateway's slot, 0..WEFT_MAX_GATEWAYS-1 */
	/* The uplink's MAC: a unicast frame to another MAC (one the external
	 * segment floods, meant for another node) is dropped as
	 * WEFT_DROP_OTHER_HOST. All zero: not checked. */
	__u8 uplink_mac[6];
	__u16 pad; /* zero */
};

#define WEFT_CONFIG_F_GATEWAY (1u << 0) /* this host is a gateway node */

/*
 * North-south (docs/gateways.md).
 *
 * gw_slots: array of WEFT_MAX_GATEWAYS, index = gateway slot (weftd
 * assigns each gateway agent one, stable for its life). Every host has it:
 * hypervisors to keep a connection on its gateway, gateways to hand a SNAT
 * reply to the owner of its port. ip 0: no gateway in that slot.
 */
#define WEFT_GW_F_ALIVE (1u << 0) /* the agent's probes say it answers */

struct weft_gw_slot {
	__be32 ip; /* the gateway's underlay address */
	__u32 flags; /* WEFT_GW_F_* */
};

/* gw_table: array of WEFT_GW_BUCKETS; a flow's bucket is a hash of its
 * tuple (and network). The agent fills every bucket with an alive gateway
 * by rendezvous hashing, so a gateway that comes or goes moves only the
 * buckets it gains or loses. ip 0: no alive gateway. */
struct weft_gw_bucket {
	__be32 ip; /* the gateway's underlay address */
	__u32 slot; /* its slot */
};

/* ext_routers (gateways): key = router key (__u32). */
#define WEFT_EXT_F_SNAT (1u << 0) /* enable_snat */

struct weft_ext_router {
	__be32 ext_ip; /* the router's address on the external network */
	__u8 ext_mac[6]; /* its gateway port's MAC */
	__u16 flags; /* WEFT_EXT_F_* */
};

/* fips (gateways): outbound 1:1 translation, (network, fixed IP) -> the
 * floating IP. Only associated floating IPs are here. */
struct weft_fip_key {
	__u32 vni;
	__be32 fixed_ip;
};

struct weft_fip {
	__be32 fip;
	__u32 router; /* the router whose gateway serves it */
};

/* ext_addrs (gateways): every external address weft serves, key = __be32
 * address: inbound dispatch, and the spoof check of outside sources. */
enum weft_ext_kind {
	WEFT_EXT_FIP = 1, /* a floating IP: vni 0 when not associated */
	WEFT_EXT_ROUTER = 2, /* a router's external IP: SNAT replies */
};

struct weft_ext_addr {
	__u32 kind; /* enum weft_ext_kind */
	__u32 vni; /* FIP: the port's network (0: not associated) */
	__be32 fixed_ip; /* FIP: the port's fixed IP */
	__u32 router; /* the router key */
};

/* SNAT state (gateways), two LRU hashes written together by the gateway
 * that owns the port. snat_out: the inside flow -> its translation. */
struct weft_snat_key {
	__u32 vni; /* network of the inside address */
	__be32 saddr; /* inside address */
	__be32 daddr; /* outside (remote) address */
	__be16 sport; /* inside port; ICMP echo: the id */
	__be16 dport; /* remote port; ICMP echo: 0 */
	__u8 proto;
	__u8 pad[3]; /* zero */
};

struct weft_snat_out {
	__be32 ext_ip;
	__be16 ext_port; /* ICMP echo: the id on the outside */
	__u16 pad;
	__u64 expires_ns; /* bpf_ktime_get_ns() after which it may be reused */
};

/* snat_in: (external IP, port, protocol) -> the inside flow. A reply must
 * come from the flow's remote address and port. */
struct weft_snat_in_key {
	__be32 ext_ip;
	__be16 ext_port;
	__u8 proto;
	__u8 pad; /* zero */
};

struct weft_snat_in {
	struct weft_snat_key orig; /* the inside flow (snat_out's key) */
	__u32 router;
	__u32 pad;
	__u64 expires_ns;
};

/* snat_events (gateways): a ring buffer of the translations this gateway
 * made, for its agent to copy to the other gateways, which write them
 * into their own snat_out and snat_in: when this gateway dies, the
 * gateway that inherits a flow finds its translation and the connection
 * goes on with the same external port (docs/gateways.md). */
#define WEFT_SNAT_EVENTS_SIZE (256 * 1024) /* bytes */

struct weft_snat_event {
	struct weft_snat_key orig; /* the inside flow */
	__be32 ext_ip;
	__be16 ext_port;
	__u16 pad;
	__u32 router;
	__u32 pad2;
};

/* Idle timeouts of SNAT translations, seconds. */
#define WEFT_SNAT_TIMEOUT_TCP 7440
#define WEFT_SNAT_TIMEOUT_UDP 180
#define WEFT_SNAT_TIMEOUT_ICMP 30

/* drop_events: a ring buffer of the packets that security groups or
 * connection tracking dropped (reasons POLICY_INGRESS, POLICY_EGRESS,
 * CT_INVALID, CT_WINDOW, FRAGMENT), for the agent to log. Rate-limited
 * per CPU by config.log_drops_per_sec; what the limit (or a full ring)
 * kept out is counted in the next event's 'suppressed'. */
#define WEFT_DROP_EVENTS_SIZE (256 * 1024) /* bytes */

struct weft_drop_event {
	__u32 ifindex; /* the port whose rules refused the packet */
	__u32 reason; /* enum weft_drop_reason */
	__u32 vni; /* that port's network */
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* TCP/UDP; 0 otherwise */
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum weft_ct_dir: the port sent it or was to receive it */
	__u16 pad;
	__u32 suppressed; /* drops not reported on this CPU since the last
			   * event */
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
