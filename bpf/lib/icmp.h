/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * ICMP the routers answer: echo replies from their interface addresses,
 * and the errors of routing (time exceeded, net and host unreachable),
 * built in BPF from the offending packet and sent back out of the tap it
 * came in on. Nothing goes to a host stack: a router exists only in the
 * datapath.
 */

#include "eth.h"
#include "route.h"

#define WEFT_ICMP_TTL 64
#define WEFT_IPTOS_PREC_INTERNETCONTROL 0xc0

/* Offsets in the frame. */
#define WEFT_OFF_IP sizeof(struct ethhdr)
#define WEFT_OFF_IP_TTL (WEFT_OFF_IP + __builtin_offsetof(struct iphdr, ttl))
#define WEFT_OFF_IP_CSUM (WEFT_OFF_IP + __builtin_offsetof(struct iphdr, check))
#define WEFT_OFF_IP_SADDR \
	(WEFT_OFF_IP + __builtin_offsetof(struct iphdr, saddr))

/* An ICMP error quotes the offending IP header (options included, at most
 * 60 bytes) and the first 8 bytes of its payload (RFC 792). */
#define WEFT_ICMP_QUOTE_MAX (60 + 8)

/* An ICMP error message after its IP header: the ICMP header (type, code,
 * checksum, 4 unused bytes) and the quote. Zero beyond the quote, so that
 * the checksum can be summed over the whole, fixed-size buffer (zeros add
 * nothing to a ones' complement sum; the size is a multiple of 4 as
 * bpf_csum_diff() wants). */
struct icmp_error_msg {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 unused;
	__u8 quote[WEFT_ICMP_QUOTE_MAX];
};

/* The Ethernet and IPv4 headers of an ICMP error. 'pad' aligns the IP
 * header for bpf_csum_diff(); it is not sent. */
struct icmp_error_hdrs {
	__u8 pad[2];
	struct ethhdr eth;
	struct iphdr ip;
} __attribute__((packed, aligned(4)));

/* Folds the 32-bit ones' complement sum 'csum' into a checksum field. */
static __always_inline __sum16 icmp_csum_fold(__s64 csum)
{
	__u32 sum = (__u32)csum;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/* Whether ICMP 'type' is an error message (or unknown, which RFC 1812
 * says to treat the same): never answered with an error. */
static __always_inline int icmp_type_is_error(__u8 type)
{
	return ip_icmp_is_error(type) || type > 18;
}

/* Whether an address may be the destination of an ICMP error (RFC 1812
 * 4.3.2.7: not 0.0.0.0, not multicast, not the limited broadcast). */
static __always_inline int icmp_addr_unicast(__be32 addr)
{
	__u32 a = bpf_ntohl(addr);

	return a != 0 && a < 0xe0000000;
}

/*
 * Answers in place the echo request in 'skb' addressed to a router, whose
 * routing gave 'c': Ethernet back to the sender from the router interface
 * it was sent to, IP addresses swapped, TTL 64, ICMP type 0, checksums
 * updated. WEFT_OK when the frame is now the reply, to be sent back out of
 * the ingress tap; WEFT_DROP_TO_ROUTER for anything that is not an echo
 * request (a fragment included: the router does not reassemble).
 */
static __always_inline int icmp_echo_reply(struct __sk_buff *skb,
					   const struct route_ctx *c)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 reply = WEFT_ICMP_ECHOREPLY, request, ttl = WEFT_ICMP_TTL;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u8 new_word[2] = { WEFT_ICMP_TTL, WEFT_IPPROTO_ICMP };
	__be32 addrs[2], swapped[2];
	__u32 l4, tot_len;
	__be16 old_word;

	if ((void *)(ip + 1) > end)
		return WEFT_DROP_MALFORMED;
	if (ip->protocol != WEFT_IPPROTO_ICMP || ip_is_fragment(ip))
		return WEFT_DROP_TO_ROUTER;
	l4 = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < l4 + 8)
		return WEFT_DROP_TO_ROUTER;
	l4 += sizeof(struct ethhdr);
	old_word = *(__be16 *)&ip->ttl; /* TTL and protocol */
	/* Headers with options may reach beyond the linear part read so far:
	 * the helpers read and write at any offset. */
	if (bpf_skb_load_bytes(skb, l4, &request, 1) ||
	    request != WEFT_ICMP_ECHO)
		return WEFT_DROP_TO_ROUTER;

	if (bpf_skb_store_bytes(skb, 0, c->sender_mac, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, c->gw_mac, ETH_ALEN, 0))
		return WEFT_DROP_MALFORMED;
	/* Swapping the addresses leaves the IP checksum as it is. */
	if (bpf_skb_load_bytes(skb, WEFT_OFF_IP_SADDR, addrs, sizeof(addrs)))
		return WEFT_DROP_MALFORMED;
	swapped[0] = addrs[1];
	swapped[1] = addrs[0];
	if (bpf_skb_store_bytes(skb, WEFT_OFF_IP_SADDR, swapped,
				sizeof(swapped), 0))
		return WEFT_DROP_MALFORMED;
	if (bpf_skb_store_bytes(skb, WEFT_OFF_IP_TTL, &ttl, 1, 0) ||
	    bpf_l3_csum_replace(skb, WEFT_OFF_IP_CSUM, old_word,
				*(__be16 *)new_word, sizeof(__be16)))
		return WEFT_DROP_MALFORMED;
	/* Type 8 -> 0, the code unchanged: no pseudo header in ICMP. */
	if (bpf_skb_store_bytes(skb, l4, &reply, 1, 0) ||
	    bpf_l4_csum_replace(skb, l4 + 2, bpf_htons(WEFT_ICMP_ECHO << 8),
				bpf_htons(WEFT_ICMP_ECHOREPLY << 8),
				sizeof(__be16)))
		return WEFT_DROP_MALFORMED;
	return WEFT_OK;
}

/*
 * Turns the packet in 'skb', dropped by routing as 'c' says, into the
 * ICMP error 'c->icmp_type'/'c->icmp_code' for its sender: Ethernet to
 * the sender from the router interface it was sent to, IPv4 from
 * 'c->in_addr' to the original source (TTL 64, protocol ICMP), ICMP with
 * the original IP header (options included) and the first 8 bytes of its
 * payload. WEFT_OK when the frame is now the error, to be sent back out of
 * the ingress tap. Anything else means no error is due and the packet is
 * just dropped: the offending packet is an ICMP error itself (never an
 * error about an error), a fragment other than the first, from or to an
 * address that is not unicast, or the router has no address towards the
 * sender; or the packet could not be resized.
 */
static __always_inline int icmp_error(struct __sk_buff *skb,
				      const struct route_ctx *c)
{
	struct icmp_error_hdrs h = {};
	struct icmp_error_msg m = {};
	struct iphdr orig;
	__u32 hlen, plen, qlen;
	__u8 type;

	if (!c->icmp_type || !c->in_addr)
		return WEFT_DROP_MALFORMED;
	if (bpf_skb_load_bytes(skb, WEFT_OFF_IP, &orig, sizeof(orig)))
		return WEFT_DROP_MALFORMED;
	if (ip_is_later_fragment(&orig) || !icmp_addr_unicast(orig.saddr) ||
	    !icmp_addr_unicast(orig.daddr))
		return WEFT_DROP_MALFORMED;
	hlen = orig.ihl * 4;
	plen = bpf_ntohs(orig.tot_len);
	if (hlen < sizeof(orig) || plen < hlen)
		return WEFT_DROP_MALFORMED;
	plen -= hlen;
	if (plen > 8)
		plen = 8;
	if (orig.protocol == WEFT_IPPROTO_ICMP) {
		if (plen < 1 ||
		    bpf_skb_load_bytes(skb, WEFT_OFF_IP + hlen, &type, 1) ||
		    icmp_type_is_error(type))
			return WEFT_DROP_MALFORMED;
	}
	qlen = hlen + plen;
	/* Bounds the verifier can see (hlen <= 60, plen <= 8 already). */
	if (qlen < sizeof(orig) || qlen > WEFT_ICMP_QUOTE_MAX)
		return WEFT_DROP_MALFORMED;
	if (bpf_skb_load_bytes(skb, WEFT_OFF_IP, m.quote, qlen))
		return WEFT_DROP_MALFORMED;
	m.type = c->icmp_type;
	m.code = c->icmp_code;
	m.checksum = icmp_csum_fold(
		bpf_csum_diff(NULL, 0, (void *)&m, sizeof(m), 0));

	mac_copy(h.eth.h_dest, c->sender_mac);
	mac_copy(h.eth.h_source, c->gw_mac);
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tos = WEFT_IPTOS_PREC_INTERNETCONTROL;
	h.ip.tot_len = bpf_htons(sizeof(h.ip) + 8 + qlen);
	h.ip.ttl = WEFT_ICMP_TTL;
	h.ip.protocol = WEFT_IPPROTO_ICMP;
	h.ip.saddr = c->in_addr;
	h.ip.daddr = orig.saddr;
	h.ip.check = icmp_csum_fold(
		bpf_csum_diff(NULL, 0, (void *)&h.ip, sizeof(h.ip), 0));

	if (bpf_skb_change_tail(skb, sizeof(h.eth) + sizeof(h.ip) + 8 + qlen,
				0))
		return WEFT_DROP_MALFORMED;
	if (bpf_skb_store_bytes(skb, 0, &h.eth, sizeof(h.eth) + sizeof(h.ip),
				0))
		return WEFT_DROP_MALFORMED;
	if (bpf_skb_store_bytes(skb, sizeof(h.eth) + sizeof(h.ip), &m, 8 + qlen,
				0))
		return WEFT_DROP_MALFORMED;
	return WEFT_OK;
}
