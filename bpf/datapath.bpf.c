/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * weft's datapath: TC ingress programs (clsact, direct action) of the
 * VMs' taps and of the host's collect_md VXLAN device. The stages live in
 * lib/; these entry programs only chain them and count. See
 * docs/datapath.md.
 */

#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/eth.h"
#include "lib/portsec.h"
#include "lib/arp.h"
#include "lib/fdb.h"
#include "lib/forward.h"
#include "lib/tunnel.h"
#include "lib/route.h"
#include "lib/icmp.h"
#include "lib/dhcp.h"
#include "lib/policy.h"
#include "lib/gateway.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * A packet from the port on tap 'ifindex' ('len' bytes, network 'vni') sent
 * to an interface of router 'router' (fdb entry 'flags'): routed and
 * switched into the destination network, or tunnelled to a gateway node
 * when it leaves through the router's external gateway, or answered (echo reply, ICMP error) back
 * out of the tap, or dropped. Returns the TC verdict and counts: rx for a
 * packet routed or answered, tx and icmp_sent for an answer, and for an
 * ICMP error the drop of the original packet by its reason.
 */
static __always_inline int port_route(struct __sk_buff *skb, __u32 ifindex,
				      __u32 len, __u32 vni, __u32 router,
				      __u32 flags, __u32 tracked)
{
	struct route_ctx c = { .vni = vni };
	int r;

	r = route_ipv4(skb, router, flags, &c);
	if (r == WEFT_ROUTE_OUT) {
		r = gw_forward(skb, ifindex, c.vni, tracked);
		if (r != WEFT_OK)
			return stats_drop(ifindex, r);
		stats_rx(ifindex, len);
		return TC_ACT_REDIRECT;
	}
	if (r == WEFT_ROUTE_LOCAL) {
		r = icmp_echo_reply(skb, &c);
		if (r != WEFT_OK)
			return stats_drop(ifindex, r);
		r = fwd_local(skb, ifindex);
		if (r != WEFT_OK)
			return stats_drop(ifindex, r);
		stats_rx(ifindex, len);
		stats_icmp_sent(ifindex);
		return TC_ACT_REDIRECT;
	}
	if (r != WEFT_OK) {
		/* The frame becomes the ICMP error, when one is due. */
		int sent = c.icmp_type && icmp_error(skb, &c) == WEFT_OK &&
			   fwd_local(skb, ifindex) == WEFT_OK;

		stats_drop(ifindex, r);
		if (!sent)
			return TC_ACT_SHOT;
		stats_icmp_sent(ifindex);
		return TC_ACT_REDIRECT;
	}
	r = fwd_fdb(skb, c.vni, c.ifindex, c.host_ip);
	if (r != WEFT_OK)
		return stats_drop(ifindex, r);
	stats_rx(ifindex, len);
	return TC_ACT_REDIRECT;
}

/*
 * Packets from a VM: the port (and so the network) comes from the tap they
 * came in on. ARP requests are answered back out of the tap; DHCP
 * requests are passed up to the agent; IPv4 is checked against port
 * security and the port's egress security group rules (with connection
 * tracking), and switched locally or into the tunnel, or routed first when
 * it is sent to a router's MAC. Delivery to a local port checks its
 * ingress rules (fwd_deliver()). Counters go to the ingress port: rx for
 * what is accepted, drops by reason; tx to the port a packet is delivered
 * to.
 */
SEC("tc")
int weft_port_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ingress_ifindex;
	__u32 len = skb->len;
	struct weft_fdb_entry *dst;
	struct weft_port *port;
	struct weft_eth p;
	struct iphdr *ip;
	int r;

	port = bpf_map_lookup_elem(&ports, &ifindex);
	if (!port) {
		r = WEFT_DROP_NO_PORT;
		goto drop;
	}
	if (!(port->flags & WEFT_PORT_F_UP)) {
		r = WEFT_DROP_ADMIN_DOWN;
		goto drop;
	}
	r = eth_parse(skb, &p);
	if (r != WEFT_OK)
		goto drop;

	switch (p.proto) {
	case ETH_P_ARP:
		r = arp_respond(port, ifindex, &p);
		if (r != WEFT_OK)
			goto drop;
		r = fwd_local(skb, ifindex);
		if (r != WEFT_OK)
			goto drop;
		stats_rx(ifindex, len);
		return TC_ACT_REDIRECT;
	case ETH_P_IP:
		ip = eth_ipv4(&p);
		if (!ip) {
			r = WEFT_DROP_MALFORMED;
			goto drop;
		}
		if (dhcp_from_client(skb, port, ifindex, &p, ip)) {
			stats_rx(ifindex, len);
			stats_to_agent(ifindex);
			return TC_ACT_OK;
		}
		r = portsec_ipv4(port, ifindex, p.eth->h_source, ip->saddr);
		if (r != WEFT_OK)
			goto drop;
		r = policy_check(skb, port, ifindex, WEFT_CT_EGRESS);
		if (r != WEFT_OK)
			goto drop;
		break;
	default:
		r = WEFT_DROP_ETHERTYPE;
		goto drop;
	}

	r = fwd_l2_dst(port->vni, p.eth->h_dest, &dst);
	if (r != WEFT_OK)
		goto drop;
	if (dst->router)
		return port_route(skb, ifindex, len, port->vni, dst->router,
				  dst->flags, port->flags & WEFT_PORT_F_POLICY);
	r = fwd_fdb(skb, port->vni, dst->ifindex, dst->host_ip);
	if (r != WEFT_OK)
		goto drop;
	stats_rx(ifindex, len);
	return TC_ACT_REDIRECT;
drop:
	return stats_drop(ifindex, r);
}

/*
 * Frames decapsulated by the VXLAN device: the network comes from the VNI.
 * Delivered only to local ports (their ingress rules checked), from
 * sources that live on the sending host. rx and drops are counted on the VXLAN device, tx on the port.
 */
SEC("tc")
int weft_tunnel_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg = config_get();
	__u32 dev = skb->ingress_ifindex;
	__u32 len = skb->len;
	struct weft_tunnel_info t = {};
	struct weft_eth p;
	__u32 ifindex = 0;
	int r;

	if (cfg && cfg->vxlan_ifindex)
		dev = cfg->vxlan_ifindex;
	r = tunnel_key_get(skb, &t);
	if (r != WEFT_OK)
		goto drop;
	r = tunnel_check_outer(&t);
	if (r != WEFT_OK)
		goto drop;
	r = eth_parse(skb, &p);
	if (r != WEFT_OK)
		goto drop;
	r = tunnel_check_inner(&t, &p, &ifindex);
	if (r != WEFT_OK)
		goto drop;
	r = fwd_deliver(skb, ifindex);
	if (r != WEFT_OK)
		goto drop;
	stats_rx(dev, len);
	return TC_ACT_REDIRECT;
drop:
	return stats_drop(dev, r);
}

/*
 * The gateway node's VXLAN device (docs/gateways.md): frames from
 * hypervisors, routed out of a router with an external gateway, are
 * translated and sent out of the uplink (gw_outbound()); frames another
 * gateway hands off (VNI WEFT_VNI_HANDOFF) are external frames for a SNAT
 * port of this gateway's share and take the uplink's inbound path, never
 * handed off again. A translated frame to an address weft serves (a
 * floating IP, a router's external IP) goes straight back in, tunnelled
 * to the destination VM's host (hairpin). The outer source must be a
 * known host. rx and drops are counted on the VXLAN device, tx on the
 * uplink for what leaves through it.
 */
SEC("tc")
int weft_gw_tunnel_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg = config_get();
	__u32 dev = skb->ingress_ifindex;
	__u32 len = skb->len;
	struct weft_tunnel_info t = {};
	__u32 vni;
	int r;

	if (!cfg) {
		r = WEFT_DROP_REDIRECT;
		goto drop;
	}
	if (cfg->vxlan_ifindex)
		dev = cfg->vxlan_ifindex;
	r = tunnel_key_get(skb, &t);
	if (r != WEFT_OK)
		goto drop;
	if (!bpf_map_lookup_elem(&hosts, &t.remote_ip)) {
		r = WEFT_DROP_UNKNOWN_HOST;
		goto drop;
	}
	if (t.vni == WEFT_VNI_HANDOFF) {
		r = gw_inbound(skb, GW_IN_HANDOFF);
		if (r != WEFT_OK)
			goto drop;
		stats_rx(dev, len);
		return TC_ACT_REDIRECT;
	}
	vni = t.vni;
	if (!bpf_map_lookup_elem(&networks, &vni)) {
		r = WEFT_DROP_UNKNOWN_VNI;
		goto drop;
	}
	r = gw_outbound(skb, vni, cfg);
	if (r != WEFT_OK && r != WEFT_GW_HAIRPIN)
		goto drop;
	stats_rx(dev, len);
	if (r == WEFT_OK)
		stats_tx(cfg->uplink_ifindex, skb->len);
	return TC_ACT_REDIRECT;
drop:
	return stats_drop(dev, r);
}

/*
 * The gateway node's uplink (docs/gateways.md): what is for the node
 * itself (ARP, BGP, BFD: not IPv4, or to config.uplink_ip) goes to the
 * stack untouched; the rest is translated into a tenant network and
 * tunnelled to the VM's host, or handed to the gateway that owns its SNAT
 * port, or dropped (gw_inbound()). rx and drops are counted on the uplink.
 */
SEC("tc")
int weft_gw_uplink_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg = config_get();
	__u32 dev = skb->ingress_ifindex;
	__u32 len = skb->len;
	int r;

	if (cfg && cfg->uplink_ifindex)
		dev = cfg->uplink_ifindex;
	r = gw_inbound(skb, GW_IN_UPLINK);
	if (r == WEFT_GW_TO_STACK)
		return TC_ACT_OK;
	if (r != WEFT_OK)
		return stats_drop(dev, r);
	stats_rx(dev, len);
	return TC_ACT_REDIRECT;
}
