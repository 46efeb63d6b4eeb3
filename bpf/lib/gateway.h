/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * North-south (docs/gateways.md). Two ends:
 *
 * - Hypervisors: a packet routed out of a router's external route
 *   (route.h, WEFT_ROUTE_OUT) goes to a gateway node, in one hop:
 *   gw_select() picks it (the connection's gateway while it is alive, else
 *   gw_table by the flow's hash), gw_forward() tunnels the frame there.
 * - Gateway nodes: gw_outbound() translates what hypervisors send and
 *   sends it out of the uplink; gw_inbound() translates what the uplink
 *   (or another gateway, in a hand-off) brings and routes it into the
 *   tenant network, to the VM's host. A translated outbound packet to an
 *   address weft serves takes the inbound path at once (hairpin).
 *
 * gw_select() and gw_inbound() are global BPF-to-BPF functions, like
 * policy_conntrack(): the verifier checks each once on its own, and the
 * inbound path exists once for the two gateway programs that run it.
 */

#include "ct.h"
#include "fdb.h"
#include "forward.h"
#include "nat.h"
#include "route.h"

/* Not a drop: the frame is for the gateway's own stack (ARP, BGP, BFD). */
#define WEFT_GW_TO_STACK (-6)
/* Not a drop: an outbound packet went back in (hairpin), not out of the
 * uplink. */
#define WEFT_GW_HAIRPIN (-7)

/* Where a packet on the inbound path (gw_inbound()) comes from. */
enum gw_in_from {
	GW_IN_HANDOFF = 0, /* another gateway, as its uplink got it */
	GW_IN_UPLINK = 1, /* the uplink */
	GW_IN_HAIRPIN = 2, /* this gateway's outbound path, translated */
};

/* The inbound path (below): a global function, also the hairpin's. */
int gw_inbound(struct __sk_buff *skb, __u32 from);

/* --- hypervisors --------------------------------------------------------- */

/*
 * The tuple of the packet in 'skb' (after an Ethernet header), network
 * 'vni', as connection tracking keys it for a packet the port sends
 * (WEFT_CT_EGRESS): addresses, protocol, and TCP/UDP ports or the echo id;
 * for an ICMP error, the quoted packet's tuple reversed (the connection it
 * is about). What cannot be read stays 0: the hash still has the rest.
 */
static __always_inline void gw_flow_key(struct __sk_buff *skb, __u32 vni,
					struct ct_pkt *p)
{
	struct iphdr ip;
	__u32 hlen, tot;
	__u8 l4[8];

	p->key.vni = vni;
	p->key.dir = WEFT_CT_EGRESS;
	if (bpf_skb_load_bytes(skb, WEFT_OFF_IP, &ip, sizeof(ip)))
		return;
	p->key.saddr = ip.saddr;
	p->key.daddr = ip.daddr;
	p->key.proto = ip.protocol;
	hlen = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	if (ip_is_later_fragment(&ip) || hlen < sizeof(ip) ||
	    tot < hlen + sizeof(l4) ||
	    bpf_skb_load_bytes(skb, WEFT_OFF_IP + hlen, l4, sizeof(l4)))
		return;
	if (ip.protocol == WEFT_IPPROTO_ICMP && ip_icmp_is_error(l4[0])) {
		ct_parse_quote(skb, WEFT_OFF_IP + hlen + sizeof(l4),
			       tot - hlen - sizeof(l4), p);
		return;
	}
	ct_l4_ports(&p->key, ip.protocol, l4);
}

/* The address of the gateway in slot 'slot' when it is alive, else 0. */
static __always_inline __be32 gw_slot_alive(__u32 slot)
{
	struct weft_gw_slot *s = bpf_map_lookup_elem(&gw_slots, &slot);

	if (!s || !(s->flags & WEFT_GW_F_ALIVE))
		return 0;
	return s->ip;
}

/*
 * The gateway node for the packet in 'skb', routed out of its router by
 * the port on 'ifindex' in network 'vni' (the frame already rewritten):
 * the gateway of its connection (the port's conntrack entry, either
 * direction: it may have been opened from outside) while that one is
 * alive; else gw_table's bucket for the flow's hash, recorded in the
 * entry when there is one ('tracked': the port has security groups, the
 * only ports with conntrack entries; others skip the lookup). Returns the
 * gateway's underlay address as the
 * bits of an int (a global function returns a scalar), 0 when no gateway
 * is alive.
 */
__attribute__((noinline)) int gw_select(struct __sk_buff *skb, __u32 ifindex,
					__u32 vni, __u32 tracked)
{
	struct weft_gw_bucket *b;
	struct weft_ct_entry *e;
	struct ct_pkt p = {};
	__u32 bucket;
	__be32 ip;
	int d;

	gw_flow_key(skb, vni, &p);
	bucket = flow_hash(vni, p.key.saddr, p.key.daddr, p.key.proto,
			   p.key.sport, p.key.dport) %
		 WEFT_GW_BUCKETS;
	/* Only a port with security groups has conntrack entries. */
	e = tracked ? ct_find(&p.key, ifindex, bpf_ktime_get_ns(), &d) : NULL;
	if (e && e->gw) {
		ip = gw_slot_alive(e->gw - 1);
		if (ip)
			return (int)ip;
	}
	b = bpf_map_lookup_elem(&gw_table, &bucket);
	if (!b || !b->ip)
		return 0;
	if (e && b->slot < WEFT_MAX_GATEWAYS)
		e->gw = (__u8)(b->slot + 1);
	return (int)b->ip;
}

/*
 * Sends the frame in 'skb', routed out of a router's external route by
 * the port on 'ifindex' and rewritten for the gateway (route_external()),
 * to a gateway node (gw_select()) in network 'vni'.
 * WEFT_DROP_NO_GATEWAY when none is alive.
 */
static __always_inline int gw_forward(struct __sk_buff *skb, __u32 ifindex,
				      __u32 vni, __u32 tracked)
{
	__be32 gw = (__u32)gw_select(skb, ifindex, vni, tracked);

	if (!gw)
		return WEFT_DROP_NO_GATEWAY;
	return fwd_tunnel(skb, vni, gw);
}

/* --- gateway nodes: outbound --------------------------------------------- */

/*
 * The external router of a frame from a hypervisor in network 'vni': its
 * source MAC must be a router's interface (fdb), that router must have an
 * external gateway (ext_routers) and the frame must be addressed to that
 * gateway port's MAC. Sets '*router'. WEFT_DROP_NO_EXT_ROUTER otherwise.
 */
static __always_inline int gw_ext_router(const struct weft_eth *p, __u32 vni,
					 struct weft_ext_router **ext,
					 __u32 *router)
{
	struct weft_fdb_entry *src = fdb_lookup(vni, p->eth->h_source);
	struct weft_ext_router *e;
	__u32 key;

	if (!src || !src->router)
		return WEFT_DROP_NO_EXT_ROUTER;
	key = src->router;
	e = bpf_map_lookup_elem(&ext_routers, &key);
	if (!e || !mac_equal(p->eth->h_dest, e->ext_mac))
		return WEFT_DROP_NO_EXT_ROUTER;
	*ext = e;
	*router = key;
	return WEFT_OK;
}

/* The floating IP of (network 'vni', fixed IP 'saddr') when it is served
 * by router 'router', else 0. */
static __always_inline __be32 gw_fip_of(__u32 vni, __be32 saddr, __u32 router)
{
	struct weft_fip_key k = { .vni = vni, .fixed_ip = saddr };
	struct weft_fip *f = bpf_map_lookup_elem(&fips, &k);

	return f && f->router == router ? f->fip : 0;
}

/*
 * A frame from a hypervisor (network 'vni'), routed out of its router:
 * the source translated (the VM's floating IP, stateless; else SNAT to
 * the router's external IP in this gateway's port share 'cfg->gw_slot';
 * else, without enable_snat, as it is), then sent out of the uplink, the
 * kernel filling in the Ethernet header from its FIB and neighbours
 * (bpf_redirect_neigh()). To an address weft serves (ext_addrs: a
 * floating IP, a router's external IP), it takes the inbound path
 * instead (gw_inbound(), GW_IN_HAIRPIN) and WEFT_GW_HAIRPIN is returned
 * when that sent it on.
 */
static __always_inline int gw_outbound(struct __sk_buff *skb, __u32 vni,
				       const struct weft_config *cfg)
{
	struct weft_ext_router *ext;
	struct nat_pkt n = {};
	__be32 fip, ext_ip, saddr, daddr;
	struct weft_eth p;
	struct iphdr *ip;
	__u32 router;
	__be16 port;
	int r;

	r = eth_parse(skb, &p);
	if (r != WEFT_OK)
		return r;
	if (mac_is_multicast(p.eth->h_dest))
		return WEFT_DROP_BROADCAST;
	if (p.proto == ETH_P_ARP)
		return WEFT_DROP_ARP_NOT_REQUEST;
	if (p.proto != ETH_P_IP)
		return WEFT_DROP_ETHERTYPE;
	ip = eth_ipv4(&p);
	if (!ip)
		return WEFT_DROP_MALFORMED;
	saddr = ip->saddr;
	daddr = ip->daddr;
	r = gw_ext_router(&p, vni, &ext, &router);
	if (r != WEFT_OK)
		return r;
	ext_ip = ext->ext_ip;
	fip = gw_fip_of(vni, saddr, router);
	if (fip || (ext->flags & WEFT_EXT_F_SNAT)) {
		r = nat_parse(skb, &n);
		if (r != WEFT_OK)
			return r;
		n.t.vni = vni;
		port = n.t.sport;
		if (!fip) {
			r = snat_outbound(&n, router, ext_ip, cfg->gw_slot,
					  &port);
			if (r != WEFT_OK)
				return r;
		}
		r = nat_rewrite(skb, &n, NAT_SRC, fip ? fip : ext_ip, port);
		if (r != WEFT_OK)
			return r;
	}
	if (bpf_map_lookup_elem(&ext_addrs, &daddr)) {
		r = gw_inbound(skb, GW_IN_HAIRPIN);
		return r == WEFT_OK ? WEFT_GW_HAIRPIN : r;
	}
	if (!cfg->uplink_ifindex ||
	    bpf_redirect_neigh(cfg->uplink_ifindex, NULL, 0, 0) !=
		    TC_ACT_REDIRECT)
		return WEFT_DROP_REDIRECT;
	return WEFT_OK;
}

/* --- gateway nodes: inbound ---------------------------------------------- */

/*
 * Routes the translated packet in 'skb' into the tenant network 'vni' of
 * router 'router', to its inside address 'inside': the router's connected
 * route gives the interface (its MAC the new source), neigh the VM's MAC,
 * the fdb its host; TTL decremented; tunnelled to the host, which checks
 * the VM's ingress security groups as for any packet. No ICMP errors are
 * sent from here: a failure is a drop.
 */
static __always_inline int gw_route_in(struct __sk_buff *skb, __u32 router,
				       __u32 vni, __be32 inside)
{
	struct weft_neigh_key nk = { .vni = vni, .ip = inside };
	void *data, *end;
	struct weft_neigh_entry *nb;
	struct weft_fdb_entry *dst;
	struct weft_route *rt;
	__u8 src_mac[ETH_ALEN];
	struct ethhdr *eth;
	struct iphdr *ip;
	__be32 host;
	int r;

	rt = route_lookup(router, inside);
	if (!rt || rt->kind != WEFT_ROUTE_CONNECTED || rt->vni != vni)
		return WEFT_DROP_NO_ROUTE;
	mac_copy(src_mac, rt->mac);
	nb = bpf_map_lookup_elem(&neigh, &nk);
	if (!nb)
		return WEFT_DROP_NO_NEIGH;
	dst = fdb_lookup(vni, nb->mac);
	if (!dst || dst->router || !dst->host_ip)
		return WEFT_DROP_UNKNOWN_DST;
	host = dst->host_ip;

	/* The NAT helpers invalidated the pointers: parse again. */
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return WEFT_DROP_MALFORMED;
	if (ip->ttl <= 1)
		return WEFT_DROP_TTL_EXCEEDED;
	mac_copy(eth->h_dest, nb->mac);
	mac_copy(eth->h_source, src_mac);
	r = route_ttl_dec(skb, ip);
	if (r != WEFT_OK)
		return r;
	return fwd_tunnel(skb, vni, host);
}

/*
 * Hands the external frame in 'skb' (SNAT port 'port', not translated
 * here: no state) to the gateway whose share holds the port, when that is
 * another alive gateway; WEFT_DROP_SNAT_NO_STATE otherwise. The frame
 * goes as it arrived, in the tunnel with VNI WEFT_VNI_HANDOFF.
 */
static __always_inline int gw_handoff(struct __sk_buff *skb, __be16 port,
				      const struct weft_config *cfg)
{
	__u32 p = bpf_ntohs(port), owner;
	__be32 ip;

	if (p < WEFT_SNAT_PORT_MIN)
		return WEFT_DROP_SNAT_NO_STATE;
	owner = (p - WEFT_SNAT_PORT_MIN) / WEFT_SNAT_PORTS_PER_SLOT;
	if (owner >= WEFT_MAX_GATEWAYS || owner == cfg->gw_slot)
		return WEFT_DROP_SNAT_NO_STATE;
	ip = gw_slot_alive(owner);
	if (!ip)
		return WEFT_DROP_SNAT_NO_STATE;
	return fwd_tunnel(skb, WEFT_VNI_HANDOFF, ip);
}

/*
 * A reply to a router's external IP ('n', the ext_addrs entry of its
 * destination is a router's): reverse-translated by its SNAT state and
 * routed in; with no state, handed to the owner of the port when
 * 'may_handoff' (gw_handoff()).
 */
static __always_inline int gw_snat_reply(struct __sk_buff *skb,
					 struct nat_pkt *n, __u32 may_handoff,
					 const struct weft_config *cfg)
{
	__u64 now = bpf_ktime_get_ns();
	struct weft_snat_in *in;
	struct weft_snat_key orig;
	__u32 router;
	int r;

	in = snat_inbound_find(n, now);
	if (!in) {
		if (!may_handoff)
			return WEFT_DROP_SNAT_NO_STATE;
		return gw_handoff(skb, n->t.dport, cfg);
	}
	r = snat_inbound_accept(n, in, now);
	if (r != WEFT_OK)
		return r;
	orig = in->orig;
	router = in->router;
	r = nat_rewrite(skb, n, NAT_DST, orig.saddr, orig.sport);
	if (r != WEFT_OK)
		return r;
	return gw_route_in(skb, router, orig.vni, orig.saddr);
}

/*
 * The packet in 'skb' for an address weft serves, 'from' (enum
 * gw_in_from): the uplink; another gateway, in a hand-off (the frame as
 * that gateway's uplink got it; never handed off again); or this
 * gateway's outbound path, its source translated (hairpin: a source weft
 * serves is expected there, and a reply with no SNAT state is not handed
 * off, since the frame is no longer as the uplink got it). From the
 * uplink, ARP, anything but IPv4, frames to a multicast MAC and packets
 * to the uplink's own address are the stack's (WEFT_GW_TO_STACK;
 * otherwise anything but IPv4 is WEFT_DROP_ETHERTYPE). Else a source weft
 * serves is spoofed (WEFT_DROP_EXT_SPOOF); the destination must be one it
 * serves (WEFT_DROP_EXT_UNKNOWN_DST): an associated floating IP
 * (translated to the fixed IP, stateless) or a router's external IP (SNAT
 * state). Then gw_route_in(). Returns WEFT_OK when the packet was sent
 * on.
 */
__attribute__((noinline)) int gw_inbound(struct __sk_buff *skb, __u32 from)
{
	struct weft_config *cfg = config_get();
	struct weft_ext_addr *dst;
	struct nat_pkt n = {};
	struct weft_eth p;
	struct iphdr *ip;
	__be32 saddr, daddr, fixed;
	__u32 router, vni;
	int r;

	if (!cfg)
		return WEFT_DROP_REDIRECT;
	r = eth_parse(skb, &p);
	if (r != WEFT_OK)
		return r;
	if (from == GW_IN_UPLINK &&
	    (p.proto != ETH_P_IP || mac_is_multicast(p.eth->h_dest)))
		return WEFT_GW_TO_STACK;
	/* A bridge floods a frame for a node whose port it lost: translating
	 * it here too would duplicate it. */
	if (from == GW_IN_UPLINK && !mac_is_zero(cfg->uplink_mac) &&
	    !mac_equal(p.eth->h_dest, cfg->uplink_mac))
		return WEFT_DROP_OTHER_HOST;
	if (p.proto != ETH_P_IP)
		return WEFT_DROP_ETHERTYPE;
	ip = eth_ipv4(&p);
	if (!ip)
		return WEFT_DROP_MALFORMED;
	saddr = ip->saddr;
	daddr = ip->daddr;
	if (from == GW_IN_UPLINK && daddr == cfg->uplink_ip)
		return WEFT_GW_TO_STACK;
	if (from != GW_IN_HAIRPIN && bpf_map_lookup_elem(&ext_addrs, &saddr))
		return WEFT_DROP_EXT_SPOOF;
	dst = bpf_map_lookup_elem(&ext_addrs, &daddr);
	if (!dst)
		return WEFT_DROP_EXT_UNKNOWN_DST;
	if (dst->kind == WEFT_EXT_FIP && !dst->vni)
		return WEFT_DROP_FIP_UNASSOCIATED;
	if (dst->kind != WEFT_EXT_FIP && dst->kind != WEFT_EXT_ROUTER)
		return WEFT_DROP_EXT_UNKNOWN_DST;
	vni = dst->vni;
	fixed = dst->fixed_ip;
	router = dst->router;
	r = nat_parse(skb, &n);
	if (r != WEFT_OK)
		return r;
	if (dst->kind == WEFT_EXT_ROUTER)
		return gw_snat_reply(skb, &n, from == GW_IN_UPLINK, cfg);
	r = nat_rewrite(skb, &n, NAT_DST, fixed, n.t.dport);
	if (r != WEFT_OK)
		return r;
	return gw_route_in(skb, router, vni, fixed);
}
