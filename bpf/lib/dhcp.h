/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * The DHCP hand-off (docs/routing.md). DHCP is answered by the agent of
 * the VM's own host, never across the underlay: the port program passes a
 * client's request up the host's stack (TC_ACT_OK), where the agent's
 * packet socket reads it, instead of switching it. Only what a client of
 * this very port could send is passed up; anything else to port 67 is
 * switched (and checked) like any packet.
 */

#include "eth.h"
#include "portsec.h"

#define WEFT_DHCP_SERVER_PORT 67
#define WEFT_DHCP_CLIENT_PORT 68

/*
 * Whether the IPv4 packet 'ip' of frame 'p' in 'skb', from 'port' (tap
 * 'ifindex'), is a DHCP client's message for the agent: UDP from port 68
 * to port 67, not a fragment, with the port's own MAC as Ethernet source,
 * and as IP source 0.0.0.0 (a client has no address yet, so this comes
 * before the source IP check) or an address port security allows with
 * that MAC (renewals). Broadcast or unicast to the server alike.
 */
static __always_inline int dhcp_from_client(struct __sk_buff *skb,
					    const struct weft_port *port,
					    __u32 ifindex,
					    const struct weft_eth *p,
					    const struct iphdr *ip)
{
	__be16 udp_ports[2];
	__u32 hlen;

	if (ip->protocol != WEFT_IPPROTO_UDP || ip_is_fragment(ip))
		return 0;
	hlen = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < hlen + 8)
		return 0;
	if (!mac_equal(p->eth->h_source, port->mac))
		return 0;
	if (ip->saddr != 0 &&
	    portsec_ipv4(port, ifindex, p->eth->h_source, ip->saddr) != WEFT_OK)
		return 0;
	/* The UDP header may lie beyond the linear part read so far (IP
	 * options). */
	if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + hlen, udp_ports,
			       sizeof(udp_ports)))
		return 0;
	return udp_ports[0] == bpf_htons(WEFT_DHCP_CLIENT_PORT) &&
	       udp_ports[1] == bpf_htons(WEFT_DHCP_SERVER_PORT);
}
