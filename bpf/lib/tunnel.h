/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * The receiving end of the overlay: frames decapsulated by the host's
 * collect_md VXLAN device. The sending host did the whole logical path
 * (one hop), so this end only checks that the frame is entitled to be
 * here and hands it to the local port.
 */

#include "eth.h"
#include "fdb.h"
#include "maps.h"

struct weft_tunnel_info {
	__u32 vni;
	__be32 remote_ip; /* outer source address */
};

/*
 * The tunnel metadata of 'skb': from the collect_md device, or in test
 * mode from test_tunnel_key (BPF_PROG_TEST_RUN cannot attach metadata).
 */
static __always_inline int tunnel_key_get(struct __sk_buff *skb,
					  struct weft_tunnel_info *t)
{
	struct bpf_tunnel_key key = {};

	if (weft_test_mode) {
		struct weft_test_tunnel_key *k;
		__u32 zero = 0;

		k = bpf_map_lookup_elem(&test_tunnel_key, &zero);
		if (!k || !k->set)
			return WEFT_DROP_NO_TUNNEL_KEY;
		t->vni = k->vni;
		t->remote_ip = k->remote_ip;
		return WEFT_OK;
	}
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0))
		return WEFT_DROP_NO_TUNNEL_KEY;
	t->vni = key.tunnel_id;
	t->remote_ip = bpf_htonl(key.remote_ipv4);
	return WEFT_OK;
}

/* The outer source must be a known host and the VNI a network of ours. */
static __always_inline int tunnel_check_outer(const struct weft_tunnel_info *t)
{
	__be32 remote = t->remote_ip;
	__u32 vni = t->vni;

	if (!bpf_map_lookup_elem(&hosts, &remote))
		return WEFT_DROP_UNKNOWN_HOST;
	if (!bpf_map_lookup_elem(&networks, &vni))
		return WEFT_DROP_UNKNOWN_VNI;
	return WEFT_OK;
}

/*
 * Checks the inner frame 'p' and finds its local destination, stored in
 * 'ifindex'. No broadcast crosses the overlay, nor ARP (requests are
 * answered at the edge, so an ARP frame from the tunnel is counted as
 * WEFT_DROP_ARP_NOT_REQUEST); only IPv4 is carried. The source MAC must
 * live, for this network, on the very host that sent the frame
 * (WEFT_DROP_TUNNEL_SRC), so no host can inject frames in another's name;
 * the destination must be a local port of the network
 * (WEFT_DROP_NOT_LOCAL). A routed frame has a router interface's MAC as
 * source, which every host of the network may send from.
 */
static __always_inline int tunnel_check_inner(const struct weft_tunnel_info *t,
					      const struct weft_eth *p,
					      __u32 *ifindex)
{
	struct weft_fdb_entry *src, *dst;

	if (mac_is_multicast(p->eth->h_dest))
		return WEFT_DROP_BROADCAST;
	if (p->proto == ETH_P_ARP)
		return WEFT_DROP_ARP_NOT_REQUEST;
	if (p->proto != ETH_P_IP)
		return WEFT_DROP_ETHERTYPE;
	src = fdb_lookup(t->vni, p->eth->h_source);
	if (!src)
		return WEFT_DROP_TUNNEL_SRC;
	/* A router's interface lives on every host: the sender routed the
	 * packet itself (one hop), with the interface MAC as source. */
	if (!src->router && (src->ifindex != 0 || src->host_ip != t->remote_ip))
		return WEFT_DROP_TUNNEL_SRC;
	dst = fdb_lookup(t->vni, p->eth->h_dest);
	if (!dst || dst->ifindex == 0 || dst->router)
		return WEFT_DROP_NOT_LOCAL;
	*ifindex = dst->ifindex;
	return WEFT_OK;
}
