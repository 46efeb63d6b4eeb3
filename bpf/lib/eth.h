/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Bounds-checked parsing of the Ethernet header and of what follows it.
 * Every header is checked against data_end before it is read; a packet too
 * short for the header its ethertype announces is WEFT_DROP_MALFORMED.
 */

#include "common.h"

#define WEFT_ARPHRD_ETHER 1
#define WEFT_IP_MF 0x2000 /* more fragments (host order frag_off) */
#define WEFT_IP_OFFSET 0x1fff /* fragment offset, in 8-byte units */
#define WEFT_ARPOP_REQUEST 1
#define WEFT_ARPOP_REPLY 2

/* IP protocols and ICMP types the datapath looks into. */
#define WEFT_IPPROTO_ICMP 1
#define WEFT_IPPROTO_TCP 6
#define WEFT_IPPROTO_UDP 17
#define WEFT_ICMP_ECHOREPLY 0
#define WEFT_ICMP_DEST_UNREACH 3
#define WEFT_ICMP_SOURCE_QUENCH 4
#define WEFT_ICMP_REDIRECT 5
#define WEFT_ICMP_ECHO 8
#define WEFT_ICMP_TIME_EXCEEDED 11
#define WEFT_ICMP_PARAMETERPROB 12

/* An ARP packet for IPv4 over Ethernet (RFC 826), the only kind accepted.
 * Packed: the addresses are not aligned in the packet. */
struct weft_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* A parsed frame. Pointers into the packet stay valid as long as no helper
 * that changes packet data is called. */
struct weft_eth {
	struct ethhdr *eth;
	void *l3;
	void *end; /* end of the linear data */
	__u32 l3_len; /* bytes after the Ethernet header, in the whole skb */
	__u16 proto; /* host order */
};

/* Headers weft reads: Ethernet plus an IPv4 header with options or an ARP
 * packet. A GSO packet's payload may sit outside the linear data, so the
 * headers are pulled in when they are not there yet. */
#define WEFT_PULL_LEN 74

static __always_inline int eth_parse(struct __sk_buff *skb, struct weft_eth *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth;

	if (data + WEFT_PULL_LEN > end && skb->len > end - data) {
		bpf_skb_pull_data(skb, skb->len < WEFT_PULL_LEN ?
					       skb->len :
					       WEFT_PULL_LEN);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
	}
	eth = data;
	if ((void *)(eth + 1) > end)
		return WEFT_DROP_MALFORMED;
	p->eth = eth;
	p->l3 = eth + 1;
	p->end = end;
	p->l3_len = skb->len - sizeof(*eth);
	p->proto = bpf_ntohs(eth->h_proto);
	return WEFT_OK;
}

/* The ARP header of 'p' (proto ETH_P_ARP), or NULL when the frame is too
 * short or not IPv4 over Ethernet. */
static __always_inline struct weft_arp *eth_arp(const struct weft_eth *p)
{
	struct weft_arp *arp = p->l3;

	if ((void *)(arp + 1) > p->end)
		return NULL;
	if (arp->htype != bpf_htons(WEFT_ARPHRD_ETHER) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN ||
	    arp->plen != 4)
		return NULL;
	return arp;
}

/* The IPv4 header of 'p' (proto ETH_P_IP), or NULL when it fails the
 * minimal sanity checks: version 4, a header length of at least 20 bytes
 * and not beyond the total length, and a total length within the packet
 * (Ethernet padding after it is allowed). */
static __always_inline struct iphdr *eth_ipv4(const struct weft_eth *p)
{
	struct iphdr *ip = p->l3;
	__u32 tot_len;

	if ((void *)(ip + 1) > p->end)
		return NULL;
	if (ip->version != 4 || ip->ihl < 5)
		return NULL;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < (__u32)ip->ihl * 4)
		return NULL;
	/* Against the whole packet, not the linear part: a GSO packet from
	 * a VM carries most of its payload in fragments. */
	if (tot_len > p->l3_len)
		return NULL;
	return ip;
}

/* Whether 'ip' is a fragment that does not start its datagram: it carries
 * no transport header. */
static __always_inline int ip_is_later_fragment(const struct iphdr *ip)
{
	return (ip->frag_off & bpf_htons(WEFT_IP_OFFSET)) != 0;
}

/* Whether 'ip' is any fragment, the first one included. */
static __always_inline int ip_is_fragment(const struct iphdr *ip)
{
	return (ip->frag_off & bpf_htons(WEFT_IP_MF | WEFT_IP_OFFSET)) != 0;
}

/* Whether ICMP 'type' is one of the error messages of RFC 792 (destination
 * unreachable, source quench, redirect, time exceeded, parameter problem),
 * which quote the packet they are about. */
static __always_inline int ip_icmp_is_error(__u8 type)
{
	return type == WEFT_ICMP_DEST_UNREACH ||
	       type == WEFT_ICMP_SOURCE_QUENCH || type == WEFT_ICMP_REDIRECT ||
	       type == WEFT_ICMP_TIME_EXCEEDED ||
	       type == WEFT_ICMP_PARAMETERPROB;
}
