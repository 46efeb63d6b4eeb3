/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Distributed routing (docs/routing.md). A router is not a box anywhere:
 * the port program of the host where a packet enters does the routing of
 * every router on its path and hands the packet, rewritten, to the L2
 * stage of the destination network, which delivers it to a local tap or
 * tunnels it straight to the destination's host (one hop).
 *
 * A router is its key: the fdb entry of each of its interface MACs names
 * it, and its table lives in the LPM trie routes under that key (CONNECTED
 * routes for its subnets, NEXTHOP routes for static ones). Two tenants'
 * identical ranges are two keys, never one entry.
 */

#include "eth.h"
#include "fdb.h"
#include "maps.h"

/* Not a drop: the packet is for one of the router's own addresses (the
 * caller answers an echo request, drops the rest as WEFT_DROP_TO_ROUTER). */
#define WEFT_ROUTE_LOCAL (-2)

/* Not a drop: the packet leaves through the router's external gateway
 * (route WEFT_ROUTE_EXTERNAL); the frame is rewritten for the gateway node
 * and 'vni' of the route_ctx is the network to tunnel it in (gateway.h). */
#define WEFT_ROUTE_OUT (-5)

#define WEFT_ICMP_NET_UNREACH 0 /* code of WEFT_ICMP_DEST_UNREACH */
#define WEFT_ICMP_HOST_UNREACH 1 /* code of WEFT_ICMP_DEST_UNREACH */

/* What routing found out, for the caller to act on. */
struct route_ctx {
	__u8 sender_mac[ETH_ALEN]; /* Ethernet source from the VM */
	__u8 gw_mac[ETH_ALEN]; /* the router interface it was sent to */
	/* The address of the interface through which the packet entered the
	 * router that stopped it: the source of an ICMP message. 0 when it
	 * cannot be known (no ICMP then). */
	__be32 in_addr;
	/* In: the network of the sender. WEFT_OK: where the packet goes
	 * now, a non-router fdb entry of network 'vni'. WEFT_ROUTE_OUT: the
	 * network the packet was in at the router that sends it out. */
	__u32 vni;
	__u32 ifindex;
	__be32 host_ip;
	/* A drop that deserves an ICMP error back to the sender: its type and
	 * code (type 0: none). */
	__u8 icmp_type;
	__u8 icmp_code;
};

/* The longest prefix of 'ip' in the table of router 'router', or NULL. */
static __always_inline struct weft_route *route_lookup(__u32 router, __be32 ip)
{
	struct weft_route_key key = {
		.prefixlen = 64 + 32,
		.router = router,
		.zero = 0,
		.ip = ip,
	};

	return bpf_map_lookup_elem(&routes, &key);
}

/*
 * The connected route through which router 'router' reaches 'ip', directly
 * or through a static route's next hop (which must itself be connected),
 * or NULL. '*via' gets the address whose MAC is wanted: 'ip', or the next
 * hop.
 */
static __always_inline struct weft_route *route_resolve(__u32 router, __be32 ip,
							__be32 *via)
{
	struct weft_route *rt = route_lookup(router, ip);

	if (!rt)
		return NULL;
	if (rt->kind == WEFT_ROUTE_NEXTHOP) {
		ip = rt->nexthop;
		rt = route_lookup(router, ip);
		if (!rt)
			return NULL;
	}
	if (rt->kind != WEFT_ROUTE_CONNECTED)
		return NULL;
	*via = ip;
	return rt;
}

/*
 * The address of router 'router' on the interface towards 'src', the
 * sender of a packet that entered it: what ICMP messages are sent from. 0
 * when the router has no route back.
 */
static __always_inline __be32 route_ingress_addr(__u32 router, __be32 src)
{
	struct weft_route *rt;
	__be32 via;

	rt = route_resolve(router, src, &via);
	return rt ? rt->ifaddr : 0;
}

/*
 * Decrements the TTL of the IPv4 header 'ip' (in 'skb', after an
 * Ethernet header) and updates the header checksum incrementally. Only the
 * fixed header is touched, so options and fragments are carried as they
 * are. Packet pointers are invalid afterwards.
 */
static __always_inline int route_ttl_dec(struct __sk_buff *skb,
					 struct iphdr *ip)
{
	__be16 *word = (__be16 *)&ip->ttl; /* TTL and protocol */
	__be16 old = *word, new;

	ip->ttl--;
	new = *word;
	if (bpf_l3_csum_replace(skb,
				sizeof(struct ethhdr) +
					__builtin_offsetof(struct iphdr, check),
				old, new, sizeof(new)))
		return WEFT_DROP_MALFORMED;
	return WEFT_OK;
}

/*
 * Rewrites the frame at 'eth'/'ip' (in 'skb') for the external gateway of
 * its router, whose default route is 'rt' (WEFT_ROUTE_EXTERNAL): Ethernet
 * source := the router interface the frame entered through (its current
 * destination), destination := the MAC of the router's gateway port, TTL
 * decremented. Packet pointers are invalid afterwards.
 */
static __always_inline int route_external(struct __sk_buff *skb,
					  struct ethhdr *eth, struct iphdr *ip,
					  const struct weft_route *rt)
{
	mac_copy(eth->h_source, eth->h_dest);
	mac_copy(eth->h_dest, rt->mac);
	return route_ttl_dec(skb, ip);
}

/* Records in 'c' the ICMP error to send for a packet dropped by 'reason'
 * and returns 'reason'. */
static __always_inline int route_unreachable(struct route_ctx *c, int reason,
					     __u8 type, __u8 code)
{
	c->icmp_type = type;
	c->icmp_code = code;
	return reason;
}

/*
 * Routes the IPv4 packet in 'skb' (validated by eth_ipv4(), source checked
 * by port security), sent to an interface MAC of router 'router' whose fdb
 * entry has 'flags'. Router after router, at most WEFT_MAX_ROUTER_HOPS of
 * them: the destination is looked up in the router's table, the MAC of the
 * destination (or of the next hop) in neigh of the outgoing network; the
 * frame gets the outgoing interface's MAC as source, that MAC as
 * destination, and its TTL decremented. When that MAC is again a router's
 * interface (a subnet shared by two routers), the next router routes it
 * in the same pass. Returns:
 * - WEFT_OK: 'c' says where to switch the rewritten frame (vni, and the
 *   destination's fdb entry);
 * - WEFT_ROUTE_LOCAL: the destination is an address of the router;
 * - WEFT_ROUTE_OUT: the router's external route (WEFT_ROUTE_EXTERNAL, the
 *   0/0 of a router with a gateway) matched: the frame is rewritten by
 *   route_external() and 'c->vni' is the network it is in (the sender's,
 *   or the one shared with the previous router), for gateway.h to tunnel;
 * - a drop reason: WEFT_DROP_ROUTER_DOWN, WEFT_DROP_TTL_EXCEEDED,
 *   WEFT_DROP_NO_ROUTE, WEFT_DROP_NO_NEIGH, WEFT_DROP_ROUTER_LOOP,
 *   WEFT_DROP_UNKNOWN_DST (neigh knows the MAC, fdb does not),
 *   WEFT_DROP_MALFORMED; 'c->icmp_type' is set when an ICMP error is due.
 * 'c->vni' must hold the sender's network on entry. 'c->sender_mac',
 * 'c->gw_mac' and 'c->in_addr' are set in every case.
 */
static __always_inline int route_ipv4(struct __sk_buff *skb, __u32 router,
				      __u32 flags, struct route_ctx *c)
{
	struct weft_neigh_key nkey = {};
	struct weft_fdb_entry *next;
	struct weft_neigh_entry *n;
	__u8 out_mac[ETH_ALEN];
	__u8 dst_mac[ETH_ALEN];
	struct weft_route *rt;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *data, *end;
	__u32 out_vni, cur_vni = c->vni;
	__be32 daddr, via;
	int hop, r;

	c->icmp_type = 0;
	c->in_addr = 0;
	for (hop = 0; hop < WEFT_MAX_ROUTER_HOPS; hop++) {
		/* Helpers that change the packet invalidate pointers: parse
		 * again at each router. The header was validated and pulled
		 * into the linear part by eth_parse(). */
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		eth = data;
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return WEFT_DROP_MALFORMED;
		if (hop == 0) {
			mac_copy(c->sender_mac, eth->h_source);
			mac_copy(c->gw_mac, eth->h_dest);
			c->in_addr = route_ingress_addr(router, ip->saddr);
		}
		if (flags & WEFT_FDB_F_ROUTER_DOWN)
			return WEFT_DROP_ROUTER_DOWN;

		daddr = ip->daddr;
		rt = route_lookup(router, daddr);
		if (rt && rt->kind == WEFT_ROUTE_CONNECTED &&
		    rt->ifaddr == daddr)
			return WEFT_ROUTE_LOCAL;
		if (ip->ttl <= 1)
			return route_unreachable(c, WEFT_DROP_TTL_EXCEEDED,
						 WEFT_ICMP_TIME_EXCEEDED, 0);
		if (rt && rt->kind == WEFT_ROUTE_EXTERNAL) {
			c->vni = cur_vni;
			r = route_external(skb, eth, ip, rt);
			return r == WEFT_OK ? WEFT_ROUTE_OUT : r;
		}
		rt = route_resolve(router, daddr, &via);
		if (!rt)
			return route_unreachable(c, WEFT_DROP_NO_ROUTE,
						 WEFT_ICMP_DEST_UNREACH,
						 WEFT_ICMP_NET_UNREACH);
		out_vni = rt->vni;
		mac_copy(out_mac, rt->mac);
		nkey.vni = out_vni;
		nkey.ip = via;
		n = bpf_map_lookup_elem(&neigh, &nkey);
		if (!n)
			return route_unreachable(c, WEFT_DROP_NO_NEIGH,
						 WEFT_ICMP_DEST_UNREACH,
						 WEFT_ICMP_HOST_UNREACH);
		mac_copy(dst_mac, n->mac);

		mac_copy(eth->h_source, out_mac);
		mac_copy(eth->h_dest, dst_mac);
		r = route_ttl_dec(skb, ip);
		if (r != WEFT_OK)
			return r;

		next = fdb_lookup(out_vni, dst_mac);
		if (!next)
			return WEFT_DROP_UNKNOWN_DST;
		if (!next->router) {
			c->vni = out_vni;
			c->ifindex = next->ifindex;
			c->host_ip = next->host_ip;
			return WEFT_OK;
		}
		/* Into the next router, through its interface on the shared
		 * subnet: the address neigh resolved is that interface's. */
		router = next->router;
		flags = next->flags;
		cur_vni = out_vni;
		c->in_addr = via;
	}
	return WEFT_DROP_ROUTER_LOOP;
}
