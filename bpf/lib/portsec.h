/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Port security: the source addresses a VM may use. port_addrs holds, per
 * port, its fixed IPs (/32, with the port's MAC) and its allowed address
 * pairs (any prefix, each with its MAC). A source IP is allowed when the
 * longest matching prefix exists, and then only together with that entry's
 * MAC; the port's own MAC is always a valid Ethernet source, the address
 * pairs' MACs only with their IPs.
 */

#include "maps.h"

/* The port_addrs entry covering 'ip' on port 'ifindex', or NULL. */
static __always_inline struct weft_port_addr *portsec_lookup(__u32 ifindex,
							     __be32 ip)
{
	struct weft_port_addr_key key = {
		.prefixlen = 32 + 32,
		.ifindex = ifindex,
		.ip = ip,
	};

	return bpf_map_lookup_elem(&port_addrs, &key);
}

/*
 * Checks the Ethernet source 'src_mac' and IPv4 source 'saddr' of a packet
 * from 'port' (tap 'ifindex'). WEFT_DROP_SRC_MAC when the MAC is neither
 * the port's nor the one recorded for the source IP; WEFT_DROP_SRC_IP when
 * the IP is not the port's or comes with another MAC than recorded.
 */
static __always_inline int portsec_ipv4(const struct weft_port *port,
					__u32 ifindex, const __u8 *src_mac,
					__be32 saddr)
{
	struct weft_port_addr *a;

	if (!(port->flags & WEFT_PORT_F_SECURITY))
		return WEFT_OK;
	a = portsec_lookup(ifindex, saddr);
	if (!mac_equal(src_mac, port->mac) &&
	    !(a && mac_equal(src_mac, a->mac)))
		return WEFT_DROP_SRC_MAC;
	if (!a || !mac_equal(src_mac, a->mac))
		return WEFT_DROP_SRC_IP;
	return WEFT_OK;
}

/*
 * Checks the sender of an ARP packet: its sender MAC 'sha' must be the
 * Ethernet source 'src_mac' (always, so that a reply cannot be steered to
 * another station), and with port security the sender IP 'spa' must be one
 * of the port's addresses with that MAC. An address probe (RFC 5227,
 * sender IP 0.0.0.0) owns no address yet; it may only come from the port's
 * own MAC.
 */
static __always_inline int portsec_arp(const struct weft_port *port,
				       __u32 ifindex, const __u8 *src_mac,
				       const __u8 *sha, __be32 spa)
{
	struct weft_port_addr *a;

	if (!mac_equal(sha, src_mac))
		return WEFT_DROP_ARP_SPOOF;
	if (!(port->flags & WEFT_PORT_F_SECURITY))
		return WEFT_OK;
	if (spa == 0)
		return mac_equal(sha, port->mac) ? WEFT_OK :
						   WEFT_DROP_ARP_SPOOF;
	a = portsec_lookup(ifindex, spa);
	if (!a || !mac_equal(sha, a->mac))
		return WEFT_DROP_ARP_SPOOF;
	return WEFT_OK;
}
