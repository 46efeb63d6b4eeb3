/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Address translation on the gateway nodes (docs/gateways.md): the flow of
 * a packet as NAT sees it, the rewrite of one side of it with every
 * checksum that covers it, and the SNAT state (snat_out, snat_in) of this
 * gateway's share of ports, each new translation reported in snat_events.
 *
 * A packet is described by its flow in the orientation of connection
 * tracking (ct.h): its own tuple, or for an ICMP error the tuple of the
 * packet it quotes, reversed (the direction the error travels). So an
 * outbound error about a reply the inside received has the tuple of the
 * inside's connection, and translating "the source" of a packet means the
 * same thing whether it is the packet itself or an error about it: the
 * outer source, or the quoted destination. Every read and write goes
 * through bpf_skb_load_bytes()/bpf_skb_store_bytes() at offsets, since the
 * checksum helpers invalidate packet pointers.
 */

#include "ct.h"
#include "icmp.h"
#include "maps.h"

#define WEFT_OFF_IP_DADDR \
	(WEFT_OFF_IP + __builtin_offsetof(struct iphdr, daddr))
#define WEFT_TCP_CSUM_OFF 16
#define WEFT_UDP_CSUM_OFF 6
#define WEFT_ICMP_CSUM_OFF 2
#define WEFT_ICMP_ID_OFF 4

/* Which side of a flow a rewrite translates. */
enum nat_side {
	NAT_SRC = 0, /* the source: SNAT, floating IP outbound */
	NAT_DST = 1, /* the destination: replies, floating IP inbound */
};

/* A packet as NAT sees it. */
struct nat_pkt {
	/* The flow (ct orientation, see above); 'proto' is the quoted
	 * packet's for an ICMP error. The caller fills 'vni'. */
	struct weft_snat_key t;
	__u32 l4_off; /* the transport header, from the frame's start */
	__u32 in_ip_off; /* ICMP error: the quoted IP header */
	__u32 in_l4_off; /* ICMP error: the quoted transport header */
	__be32 o_saddr; /* the outer IP addresses */
	__be32 o_daddr;
	__u8 error; /* an ICMP error (types 3, 4, 5, 11, 12) */
	__u8 echo_reply; /* an ICMP echo reply (not an error) */
};

/*
 * Fills 't' of 'n' from the first 8 bytes 'l4' of a transport header of
 * 'proto': TCP/UDP ports, or an echo's id as ct_l4_ports() places it.
 * WEFT_DROP_NAT_PROTO for anything else.
 */
static __always_inline int nat_ports(struct nat_pkt *n, __u8 proto,
				     const __u8 *l4)
{
	struct weft_ct_key k = {};

	if (ct_l4_ports(&k, proto, l4))
		return WEFT_DROP_NAT_PROTO;
	n->t.sport = k.sport;
	n->t.dport = k.dport;
	return WEFT_OK;
}

/*
 * The quoted packet of the ICMP error whose message body (after the 8
 * bytes of ICMP header) starts at 'off' and has 'len' bytes: its header
 * and 8 bytes of its transport header must be there (WEFT_DROP_MALFORMED),
 * and it must be TCP, UDP or an echo (WEFT_DROP_NAT_PROTO). 't' gets its
 * tuple reversed.
 */
static __always_inline int
nat_parse_quote(struct __sk_buff *skb, struct nat_pkt *n, __u32 off, __u32 len)
{
	struct iphdr in;
	__be16 port;
	__u8 l4[8];
	__u32 hlen;
	int r;

	if (len < sizeof(in) || bpf_skb_load_bytes(skb, off, &in, sizeof(in)))
		return WEFT_DROP_MALFORMED;
	hlen = in.ihl * 4;
	if (hlen < sizeof(in) || hlen > 60 || len < hlen + sizeof(l4) ||
	    bpf_skb_load_bytes(skb, off + hlen, l4, sizeof(l4)))
		return WEFT_DROP_MALFORMED;
	r = nat_ports(n, in.protocol, l4);
	if (r != WEFT_OK)
		return r;
	/* Reversed: the direction the error travels. */
	port = n->t.sport;
	n->t.sport = n->t.dport;
	n->t.dport = port;
	n->t.saddr = in.daddr;
	n->t.daddr = in.saddr;
	n->t.proto = in.protocol;
	n->in_ip_off = off;
	n->in_l4_off = off + hlen;
	n->error = 1;
	return WEFT_OK;
}

/*
 * Parses the IPv4 packet in 'skb' (after an Ethernet header, validated by
 * eth_ipv4()) into 'n'. TCP and UDP (a header long enough to hold the
 * checksum), ICMP echo requests and replies, and ICMP errors quoting one
 * of those are translatable; anything else, and every fragment (the
 * transport header is in the first one only), is WEFT_DROP_NAT_PROTO.
 */
static __always_inline int nat_parse(struct __sk_buff *skb, struct nat_pkt *n)
{
	struct iphdr ip;
	__u32 hlen, l4len;
	__u8 l4[8];

	if (bpf_skb_load_bytes(skb, WEFT_OFF_IP, &ip, sizeof(ip)))
		return WEFT_DROP_MALFORMED;
	if (ip_is_fragment(&ip))
		return WEFT_DROP_NAT_PROTO;
	hlen = ip.ihl * 4;
	l4len = bpf_ntohs(ip.tot_len);
	if (hlen < sizeof(ip) || hlen > 60 || l4len < hlen)
		return WEFT_DROP_MALFORMED;
	l4len -= hlen;
	n->l4_off = WEFT_OFF_IP + hlen;
	n->t.saddr = ip.saddr;
	n->t.daddr = ip.daddr;
	n->t.proto = ip.protocol;
	n->o_saddr = ip.saddr;
	n->o_daddr = ip.daddr;
	n->error = 0;
	n->echo_reply = 0;
	if (ip.protocol != WEFT_IPPROTO_TCP &&
	    ip.protocol != WEFT_IPPROTO_UDP && ip.protocol != WEFT_IPPROTO_ICMP)
		return WEFT_DROP_NAT_PROTO;
	if (l4len < sizeof(l4) ||
	    (ip.protocol == WEFT_IPPROTO_TCP &&
	     l4len < WEFT_TCP_CSUM_OFF + 2) ||
	    bpf_skb_load_bytes(skb, n->l4_off, l4, sizeof(l4)))
		return WEFT_DROP_MALFORMED;
	if (ip.protocol == WEFT_IPPROTO_ICMP && ip_icmp_is_error(l4[0]))
		return nat_parse_quote(skb, n, n->l4_off + sizeof(l4),
				       l4len - sizeof(l4));
	n->echo_reply = ip.protocol == WEFT_IPPROTO_ICMP &&
			l4[0] == WEFT_ICMP_ECHOREPLY;
	return nat_ports(n, ip.protocol, l4);
}

/* The offset of the checksum of the packet's own transport header: the
 * ICMP one for an ICMP error or echo. */
static __always_inline __u32 nat_csum_off(const struct nat_pkt *n)
{
	if (n->error || n->t.proto == WEFT_IPPROTO_ICMP)
		return n->l4_off + WEFT_ICMP_CSUM_OFF;
	if (n->t.proto == WEFT_IPPROTO_TCP)
		return n->l4_off + WEFT_TCP_CSUM_OFF;
	return n->l4_off + WEFT_UDP_CSUM_OFF;
}

/*
 * The quoted packet of the ICMP error 'n': its address on 'side' of the
 * flow (the other side of the quoted header, which travelled the other
 * way) becomes 'addr'; the quoted IP checksum follows, and the ICMP
 * checksum follows both changes (neither has a pseudo-header, and both
 * fields sit at even offsets of the ICMP message).
 */
static __always_inline int nat_rewrite_quote(struct __sk_buff *skb,
					     const struct nat_pkt *n, int side,
					     __be32 old, __be32 addr)
{
	__u32 qcsum = n->in_ip_off + __builtin_offsetof(struct iphdr, check);
	__u32 csum = nat_csum_off(n);
	__sum16 qold, qnew;

	if (bpf_skb_load_bytes(skb, qcsum, &qold, sizeof(qold)) ||
	    bpf_skb_store_bytes(
		    skb,
		    n->in_ip_off +
			    (side == NAT_DST ?
				     __builtin_offsetof(struct iphdr, saddr) :
				     __builtin_offsetof(struct iphdr, daddr)),
		    &addr, sizeof(addr), 0) ||
	    bpf_l3_csum_replace(skb, qcsum, old, addr, sizeof(addr)) ||
	    bpf_skb_load_bytes(skb, qcsum, &qnew, sizeof(qnew)) ||
	    bpf_l4_csum_replace(skb, csum, old, addr, sizeof(addr)) ||
	    bpf_l4_csum_replace(skb, csum, qold, qnew, sizeof(qnew)))
		return WEFT_DROP_MALFORMED;
	return WEFT_OK;
}

/* The offset of the port (or echo id) of 'side' of the flow of 'n'. */
static __always_inline __u32 nat_port_off(const struct nat_pkt *n, int side)
{
	if (n->t.proto == WEFT_IPPROTO_ICMP)
		return (n->error ? n->in_l4_off : n->l4_off) + WEFT_ICMP_ID_OFF;
	/* The quoted header travelled the other way: its source port is the
	 * flow's destination port. */
	if (n->error)
		return n->in_l4_off + (side == NAT_DST ? 0 : 2);
	return n->l4_off + (side == NAT_DST ? 2 : 0);
}

/*
 * Translates 'side' of the flow of packet 'n' in 'skb' to address 'addr'
 * and port (or echo id) 'port', with every checksum: the IP header's; TCP
 * and UDP through their pseudo-header (BPF_F_PSEUDO_HDR, so that a
 * checksum the device completes later stays right), a UDP checksum of 0
 * staying 0 (BPF_F_MARK_MANGLED_0); the ICMP checksum for an echo id; for
 * an ICMP error, the outer address, the quoted address and port, the
 * quoted IP checksum and the ICMP checksum. The quoted transport checksum
 * is left as it is (the quote is truncated: nobody can check it).
 * WEFT_DROP_NAT_PROTO for an ICMP error whose outer address is not the
 * flow's on that side (a quote about another packet).
 */
static __always_inline int nat_rewrite(struct __sk_buff *skb,
				       const struct nat_pkt *n, int side,
				       __be32 addr, __be16 port)
{
	__be32 old = side == NAT_DST ? n->t.daddr : n->t.saddr;
	__be32 outer = side == NAT_DST ? n->o_daddr : n->o_saddr;
	__be16 old_port = side == NAT_DST ? n->t.dport : n->t.sport;
	__u32 csum = nat_csum_off(n);
	__u64 flags = 0;
	int r;

	if (outer != old)
		return WEFT_DROP_NAT_PROTO;
	if (!n->error && n->t.proto == WEFT_IPPROTO_UDP)
		flags = BPF_F_MARK_MANGLED_0;
	if (bpf_skb_store_bytes(skb,
				side == NAT_DST ? WEFT_OFF_IP_DADDR :
						  WEFT_OFF_IP_SADDR,
				&addr, sizeof(addr), 0) ||
	    bpf_l3_csum_replace(skb, WEFT_OFF_IP_CSUM, old, addr, sizeof(addr)))
		return WEFT_DROP_MALFORMED;
	if (n->error) {
		r = nat_rewrite_quote(skb, n, side, old, addr);
		if (r != WEFT_OK)
			return r;
	} else if (n->t.proto != WEFT_IPPROTO_ICMP) {
		if (bpf_l4_csum_replace(skb, csum, old, addr,
					flags | BPF_F_PSEUDO_HDR |
						sizeof(addr)))
			return WEFT_DROP_MALFORMED;
	}
	if (port == old_port)
		return WEFT_OK;
	if (bpf_skb_store_bytes(skb, nat_port_off(n, side), &port, sizeof(port),
				0) ||
	    bpf_l4_csum_replace(skb, csum, old_port, port,
				flags | sizeof(port)))
		return WEFT_DROP_MALFORMED;
	return WEFT_OK;
}

/* --- SNAT state ---------------------------------------------------------- */

/* One round of MurmurHash3's body: 'h' absorbs 'v'. */
static __always_inline __u32 flow_hash_mix(__u32 h, __u32 v)
{
	v *= 0xcc9e2d51;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

/*
 * The hash of a flow: network, addresses, protocol and ports (or echo id,
 * placed as ct_l4_ports() does). Hypervisors pick a flow's gateway with it
 * (gw_table), gateways the first SNAT port they try.
 */
static __always_inline __u32 flow_hash(__u32 vni, __be32 saddr, __be32 daddr,
				       __u8 proto, __be16 sport, __be16 dport)
{
	__u32 h = 0x77656674; /* "weft" */

	h = flow_hash_mix(h, vni);
	h = flow_hash_mix(h, saddr);
	h = flow_hash_mix(h, daddr);
	h = flow_hash_mix(h, (__u32)sport << 16 | dport);
	h = flow_hash_mix(h, proto);
	/* MurmurHash3's finalizer: every input bit moves every output bit,
	 * so that the low bits a modulo keeps are well spread. */
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The idle timeout of a translation of protocol 'proto', ns. */
static __always_inline __u64 snat_timeout_ns(__u8 proto)
{
	if (proto == WEFT_IPPROTO_TCP)
		return WEFT_SNAT_TIMEOUT_TCP * WEFT_NSEC_PER_SEC;
	if (proto == WEFT_IPPROTO_UDP)
		return WEFT_SNAT_TIMEOUT_UDP * WEFT_NSEC_PER_SEC;
	return WEFT_SNAT_TIMEOUT_ICMP * WEFT_NSEC_PER_SEC;
}

static __always_inline int snat_key_equal(const struct weft_snat_key *a,
					  const struct weft_snat_key *b)
{
	return a->vni == b->vni && a->saddr == b->saddr &&
	       a->daddr == b->daddr && a->sport == b->sport &&
	       a->dport == b->dport && a->proto == b->proto;
}

/*
 * Takes the SNAT port 'ik' for the translation 'v': a free port is
 * inserted (BPF_NOEXIST, so two CPUs never both get it); a port whose
 * translation has expired ('now') is taken over, the old flow's snat_out
 * entry removed when it still names that port. Returns 1 when the port is
 * ours.
 */
static __always_inline int snat_claim(const struct weft_snat_in_key *ik,
				      const struct weft_snat_in *v, __u64 now)
{
	struct weft_snat_key old_key;
	struct weft_snat_in *old;
	struct weft_snat_out *o;

	if (!bpf_map_update_elem(&snat_in, ik, v, BPF_NOEXIST))
		return 1;
	old = bpf_map_lookup_elem(&snat_in, ik);
	if (!old || old->expires_ns > now)
		return 0;
	old_key = old->orig;
	/* Whoever deletes it takes it: another CPU may be here too. */
	if (bpf_map_delete_elem(&snat_in, ik))
		return 0;
	o = bpf_map_lookup_elem(&snat_out, &old_key);
	if (o && o->ext_ip == ik->ext_ip && o->ext_port == ik->ext_port)
		bpf_map_delete_elem(&snat_out, &old_key);
	return !bpf_map_update_elem(&snat_in, ik, v, BPF_NOEXIST);
}

/*
 * Reports the new translation of the flow 't' (through router 'router')
 * to 'ext_ip':'port' in snat_events, for the agent to copy to the other
 * gateways (docs/gateways.md). A full ring loses the copy, never the
 * packet: nothing is counted.
 */
static __always_inline void snat_event_send(const struct weft_snat_key *t,
					    __u32 router, __be32 ext_ip,
					    __be16 port)
{
	struct weft_snat_event ev = {
		.orig = *t, .ext_ip = ext_ip, .ext_port = port, .router = router
	};

	bpf_ringbuf_output(&snat_events, &ev, sizeof(ev), 0);
}

/*
 * A new translation of the flow 't' (through router 'router') to
 * 'ext_ip' and a port of gateway slot 'slot''s share: up to
 * WEFT_SNAT_PROBES consecutive ports of the share (wrapping) are tried,
 * from one the flow's hash picks. Writes snat_in and snat_out (expiry
 * 'expires') and the port to 'port', and reports the translation
 * (snat_event_send()). WEFT_DROP_SNAT_EXHAUSTED when none is free, or
 * the slot has no share.
 */
static __always_inline int snat_alloc(const struct weft_snat_key *t,
				      __u32 router, __be32 ext_ip, __u32 slot,
				      __u64 now, __u64 expires, __be16 *port)
{
	struct weft_snat_in_key ik = { .ext_ip = ext_ip, .proto = t->proto };
	struct weft_snat_out out = { .ext_ip = ext_ip, .expires_ns = expires };
	struct weft_snat_in in = { .orig = *t,
				   .router = router,
				   .expires_ns = expires };
	__u32 base, first, i, p;

	if (slot >= WEFT_MAX_GATEWAYS)
		return WEFT_DROP_SNAT_EXHAUSTED;
	base = WEFT_SNAT_PORT_MIN + slot * WEFT_SNAT_PORTS_PER_SLOT;
	first = flow_hash(t->vni, t->saddr, t->daddr, t->proto, t->sport,
			  t->dport) %
		WEFT_SNAT_PORTS_PER_SLOT;
	for (i = 0; i < WEFT_SNAT_PROBES; i++) {
		p = first + i;
		if (p >= WEFT_SNAT_PORTS_PER_SLOT)
			p -= WEFT_SNAT_PORTS_PER_SLOT;
		ik.ext_port = bpf_htons((__u16)(base + p));
		if (snat_claim(&ik, &in, now))
			break;
	}
	if (i == WEFT_SNAT_PROBES)
		return WEFT_DROP_SNAT_EXHAUSTED;
	out.ext_port = ik.ext_port;
	bpf_map_update_elem(&snat_out, t, &out, BPF_ANY);
	snat_event_send(t, router, ext_ip, ik.ext_port);
	*port = ik.ext_port;
	return WEFT_OK;
}

/*
 * The SNAT translation of the outbound packet 'n' through router 'router'
 * (external IP 'ext_ip') on gateway slot 'slot': its flow's snat_out
 * entry when snat_in still gives that port to the flow (both expiries
 * refreshed), whatever share the port is in (a copy of another gateway's
 * translation keeps its port), else a new one (snat_alloc()). ICMP errors and echo replies
 * never open one: an error with no translation is WEFT_DROP_SNAT_NO_STATE,
 * an echo reply WEFT_DROP_NAT_PROTO. The port goes to 'port'.
 */
static __always_inline int snat_outbound(const struct nat_pkt *n, __u32 router,
					 __be32 ext_ip, __u32 slot,
					 __be16 *port)
{
	struct weft_snat_in_key ik = { .ext_ip = ext_ip, .proto = n->t.proto };
	__u64 now = bpf_ktime_get_ns();
	__u64 expires = now + snat_timeout_ns(n->t.proto);
	struct weft_snat_out *o;
	struct weft_snat_in *in;

	if (n->echo_reply)
		return WEFT_DROP_NAT_PROTO;
	o = bpf_map_lookup_elem(&snat_out, &n->t);
	if (o && o->ext_ip == ext_ip) {
		ik.ext_port = o->ext_port;
		in = bpf_map_lookup_elem(&snat_in, &ik);
		if (in && snat_key_equal(&in->orig, &n->t)) {
			in->expires_ns = expires;
			o->expires_ns = expires;
			*port = ik.ext_port;
			return WEFT_OK;
		}
	}
	if (n->error)
		return WEFT_DROP_SNAT_NO_STATE;
	return snat_alloc(&n->t, router, ext_ip, slot, now, expires, port);
}

/*
 * The live SNAT translation whose external side is the destination of the
 * inbound packet 'n' (router external IP, port or echo id, protocol), or
 * NULL.
 */
static __always_inline struct weft_snat_in *
snat_inbound_find(const struct nat_pkt *n, __u64 now)
{
	struct weft_snat_in_key ik = { .ext_ip = n->t.daddr,
				       .ext_port = n->t.dport,
				       .proto = n->t.proto };
	struct weft_snat_in *in = bpf_map_lookup_elem(&snat_in, &ik);

	if (!in || in->expires_ns <= now)
		return NULL;
	return in;
}

/*
 * Accepts the inbound packet 'n' on its translation 'in' (expiry
 * refreshed, snat_out's too): it must come from the flow's remote address
 * and port, else WEFT_DROP_SNAT_NO_STATE.
 */
static __always_inline int
snat_inbound_accept(const struct nat_pkt *n, struct weft_snat_in *in, __u64 now)
{
	__u64 expires = now + snat_timeout_ns(n->t.proto);
	struct weft_snat_out *o;

	if (in->orig.daddr != n->t.saddr || in->orig.dport != n->t.sport)
		return WEFT_DROP_SNAT_NO_STATE;
	in->expires_ns = expires;
	o = bpf_map_lookup_elem(&snat_out, &in->orig);
	if (o && o->ext_ip == n->t.daddr && o->ext_port == n->t.dport)
		o->expires_ns = expires;
	return WEFT_OK;
}
