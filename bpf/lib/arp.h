/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * The ARP responder. Broadcast is eliminated from the overlay: a VM's ARP
 * request is answered on its own host from neigh, the controller's
 * knowledge of (network, IP) -> MAC, and never leaves the host. Replies
 * and gratuitous ARP from VMs are dropped: nobody listens to them, and
 * they are how a VM would try to take over another's address.
 */

#include "eth.h"
#include "portsec.h"

/*
 * Turns the ARP request in 'p', sent by 'port' (tap 'ifindex'), into its
 * reply in place. On WEFT_OK the frame is the reply, addressed to the
 * requester and ready to be sent back out of the tap; otherwise the
 * reason to drop it:
 * - WEFT_DROP_MALFORMED: truncated, or not IPv4 over Ethernet;
 * - WEFT_DROP_ARP_SPOOF: see portsec_arp();
 * - WEFT_DROP_ARP_NOT_REQUEST: a reply, or a gratuitous request (sender
 *   IP == target IP);
 * - WEFT_DROP_ARP_UNKNOWN: no answer in neigh, or the answer is the
 *   requester itself (an RFC 5227 probe of its own address, which must
 *   stay unanswered or the VM would see a conflict).
 */
static __always_inline int arp_respond(const struct weft_port *port,
				       __u32 ifindex, struct weft_eth *p)
{
	struct weft_neigh_key key = {};
	struct weft_neigh_entry *n;
	struct weft_arp *arp;
	__u8 requester[ETH_ALEN];
	__be32 spa, tpa;
	int r;

	arp = eth_arp(p);
	if (!arp)
		return WEFT_DROP_MALFORMED;
	spa = arp->spa;
	tpa = arp->tpa;
	r = portsec_arp(port, ifindex, p->eth->h_source, arp->sha, spa);
	if (r != WEFT_OK)
		return r;
	if (arp->op != bpf_htons(WEFT_ARPOP_REQUEST) || spa == tpa)
		return WEFT_DROP_ARP_NOT_REQUEST;

	key.vni = port->vni;
	key.ip = tpa;
	n = bpf_map_lookup_elem(&neigh, &key);
	if (!n || mac_equal(n->mac, arp->sha))
		return WEFT_DROP_ARP_UNKNOWN;

	mac_copy(requester, arp->sha);
	mac_copy(p->eth->h_dest, requester);
	mac_copy(p->eth->h_source, n->mac);
	arp->op = bpf_htons(WEFT_ARPOP_REPLY);
	mac_copy(arp->sha, n->mac);
	arp->spa = tpa;
	mac_copy(arp->tha, requester);
	arp->tpa = spa;
	return WEFT_OK;
}
