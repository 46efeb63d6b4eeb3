/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Delivery: to a local tap, or into the tunnel towards the host that holds
 * the destination. Both end in bpf_redirect(): the packet leaves through
 * the egress of the target device, without a trip through the stack.
 */

#include "fdb.h"
#include "maps.h"
#include "policy.h"
#include "stats.h"

/* Sends the packet out of the local tap 'ifindex' and counts it there.
 * Used as is for what the datapath answers itself (ARP replies, the
 * routers' echo replies and ICMP errors); traffic for a VM goes through
 * fwd_deliver(). */
static __always_inline int fwd_local(struct __sk_buff *skb, __u32 ifindex)
{
	__u32 len = skb->len;
	int verdict = bpf_redirect(ifindex, 0);

	if (verdict != TC_ACT_REDIRECT)
		return WEFT_DROP_REDIRECT;
	stats_tx(ifindex, len);
	return WEFT_OK;
}

/*
 * Delivers the IPv4 packet in 'skb' to the VM on the local tap 'ifindex':
 * the one way in for local switching, routed delivery and frames from the
 * tunnel. A port whose record is there with admin_state_up false receives
 * nothing (WEFT_DROP_ADMIN_DOWN, as in Neutron); a port with security
 * groups gets its ingress rules checked (policy_check(); a refusal is
 * counted on that port and WEFT_DROP_COUNTED returned); a tap the fdb
 * names without a port record yet is served, the fdb being what the agent
 * writes to say where a MAC lives.
 */
static __always_inline int fwd_deliver(struct __sk_buff *skb, __u32 ifindex)
{
	struct weft_port *port = bpf_map_lookup_elem(&ports, &ifindex);
	int r;

	if (port) {
		if (!(port->flags & WEFT_PORT_F_UP))
			return WEFT_DROP_ADMIN_DOWN;
		/* Counted on the receiving port, whose rules refused it. */
		r = policy_check(skb, port, ifindex, WEFT_CT_INGRESS);
		if (r != WEFT_OK) {
			stats_drop(ifindex, r);
			return WEFT_DROP_COUNTED;
		}
	}
	return fwd_local(skb, ifindex);
}

/*
 * Sets the tunnel key (network 'vni', remote host 'host_ip') and sends the
 * packet to the host's VXLAN device, which encapsulates it. In test mode
 * the key is also recorded in test_tunnel_key for the tests to read.
 * WEFT_DROP_REDIRECT when the VXLAN device is not configured yet or the
 * key cannot be set.
 */
static __always_inline int fwd_tunnel(struct __sk_buff *skb, __u32 vni,
				      __be32 host_ip)
{
	struct bpf_tunnel_key key = {};
	struct weft_config *cfg = config_get();

	if (!cfg || !cfg->vxlan_ifindex)
		return WEFT_DROP_REDIRECT;
	key.tunnel_id = vni;
	key.remote_ipv4 = bpf_ntohl(host_ip);
	key.tunnel_ttl = 64;
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX))
		return WEFT_DROP_REDIRECT;
	if (weft_test_mode) {
		struct weft_test_tunnel_key *t;
		__u32 zero = 0;

		t = bpf_map_lookup_elem(&test_tunnel_key, &zero);
		if (t) {
			t->vni = vni;
			t->remote_ip = host_ip;
			t->set = 1;
		}
	}
	if (bpf_redirect(cfg->vxlan_ifindex, 0) != TC_ACT_REDIRECT)
		return WEFT_DROP_REDIRECT;
	return WEFT_OK;
}

/*
 * Sends the frame to where the fdb entry of network 'vni' says its
 * destination lives: local tap 'ifindex', or remote host 'host_ip'.
 */
static __always_inline int fwd_fdb(struct __sk_buff *skb, __u32 vni,
				   __u32 ifindex, __be32 host_ip)
{
	if (ifindex)
		return fwd_deliver(skb, ifindex);
	if (!host_ip)
		return WEFT_DROP_UNKNOWN_DST;
	return fwd_tunnel(skb, vni, host_ip);
}

/*
 * Finds in 'dst' the fdb entry of the destination 'dst_mac' of a frame
 * from a port of network 'vni'. No flooding: broadcast and multicast are
 * dropped (ARP is answered before, DHCP by the agent), and so is unicast
 * to a MAC the network does not have. The entry may be a router's
 * interface: the caller routes then, instead of switching.
 */
static __always_inline int fwd_l2_dst(__u32 vni, const __u8 *dst_mac,
				      struct weft_fdb_entry **dst)
{
	struct weft_fdb_entry *e;

	if (mac_is_multicast(dst_mac))
		return WEFT_DROP_BROADCAST;
	e = fdb_lookup(vni, dst_mac);
	if (!e)
		return WEFT_DROP_UNKNOWN_DST;
	*dst = e;
	return WEFT_OK;
}
