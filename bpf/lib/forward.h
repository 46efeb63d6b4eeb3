/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Delivery: to a local tap, or into the tunnel towards the host that holds
 * the destination. Both end in bpf_redirect(): the packet leaves through
 * the egress of the target device, without a trip through the stack.
 */

#include "fdb.h"
#include "maps.h"
#include "stats.h"

/*
 * Whether the local port on 'ifindex' may receive. A port whose record is
 * there with admin_state_up false receives nothing (as in Neutron); a tap
 * the fdb names without a port record yet is served, the fdb being what
 * the agent writes to say where a MAC lives.
 */
static __always_inline int fwd_port_up(__u32 ifindex)
{
	struct weft_port *port = bpf_map_lookup_elem(&ports, &ifindex);

	return !port || (port->flags & WEFT_PORT_F_UP);
}

/* Sends the packet out of the local tap 'ifindex' and counts it there. */
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
 * Switches the frame with destination 'dst_mac' from a port of network
 * 'vni' to where the fdb says it lives. No flooding: broadcast and
 * multicast are dropped (ARP is answered before, DHCP by the agent), and
 * so is unicast to a MAC the network does not have.
 */
static __always_inline int fwd_l2(struct __sk_buff *skb, __u32 vni,
				  const __u8 *dst_mac)
{
	struct weft_fdb_entry *dst;
	__u32 ifindex;
	__be32 host_ip;

	if (mac_is_multicast(dst_mac))
		return WEFT_DROP_BROADCAST;
	dst = fdb_lookup(vni, dst_mac);
	if (!dst)
		return WEFT_DROP_UNKNOWN_DST;
	ifindex = dst->ifindex;
	host_ip = dst->host_ip;
	if (ifindex) {
		if (!fwd_port_up(ifindex))
			return WEFT_DROP_ADMIN_DOWN;
		return fwd_local(skb, ifindex);
	}
	if (!host_ip)
		return WEFT_DROP_UNKNOWN_DST;
	return fwd_tunnel(skb, vni, host_ip);
}
