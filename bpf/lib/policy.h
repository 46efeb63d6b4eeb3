/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Security groups (docs/security-groups.md): stateful rules at the edge.
 * A port with WEFT_PORT_F_POLICY has its egress rules checked on what it
 * sends (the port program, before switching or routing) and its ingress
 * rules on what is delivered to it (fwd_deliver(), for local switching,
 * routed delivery and the tunnel alike). Packets of a connection already
 * admitted, and ICMP errors about one, pass on their conntrack entry
 * (ct.h); a new connection needs a rule: two LPM lookups, sg_remote for
 * the remote address, then sg_rules for the protocol and port in the
 * classes it gives.
 *
 * The check is one BPF-to-BPF function, policy_conntrack(), global so that
 * the verifier checks it once on its own and its code exists once for the
 * three places that call it. Its frame adds to the caller's in the 512
 * bytes of BPF stack, hence the scratch map for large buffers (ct.h). Every
 * argument must be used: clang leaves the register of an unused one unset
 * at the call, and the verifier refuses a call whose arguments are not
 * scalars.
 */

#include "ct.h"

/* Whether rule class 'class' admits protocol 'proto' to 'port' (TCP/UDP
 * destination port; ICMP type and code; 0 for other protocols). */
static __always_inline int policy_class_admits(__u32 class, __u8 proto,
					       __be16 port)
{
	struct weft_sg_rule_key key = {
		.prefixlen = 64,
		.class = class,
		.proto = proto,
		.pad = 0,
		.port = port,
	};

	return class && bpf_map_lookup_elem(&sg_rules, &key) != NULL;
}

/*
 * Whether the rules of policy 'policy' (a port's policy_id) admit the
 * connection 'key'
 * (its original tuple; key->dir says which rule set) to 'port': the remote
 * address (the source for ingress, the destination for egress) picks its
 * classes in sg_remote, and either class must admit the protocol and port.
 */
static __always_inline int
policy_admits(__u32 policy, const struct weft_ct_key *key, __be16 port)
{
	struct weft_sg_remote_key rkey = {
		.prefixlen = 64 + 32,
		.policy = policy,
		.dir = key->dir,
		.ip = key->dir == WEFT_CT_INGRESS ? key->saddr : key->daddr,
	};
	struct weft_sg_remote *rem;

	rem = bpf_map_lookup_elem(&sg_remote, &rkey);
	if (!rem)
		return 0;
	return policy_class_admits(rem->class, key->proto, port) ||
	       policy_class_admits(rem->any_class, key->proto, port);
}

/* The port the rules match for the connection 'key' whose first packet
 * has ICMP 'type' and 'code': the destination port, or for ICMP the type
 * in the first byte and the code in the second. */
static __always_inline __be16 policy_port(const struct weft_ct_key *key,
					  __u8 type, __u8 code)
{
	if (key->proto == WEFT_IPPROTO_ICMP)
		return bpf_htons((__u16)type << 8 | code);
	if (key->proto == WEFT_IPPROTO_TCP || key->proto == WEFT_IPPROTO_UDP)
		return key->dport;
	return 0;
}

/* The drop of a connection refused by the rules of direction 'dir'. */
static __always_inline int policy_refused(__u32 dir)
{
	return dir == WEFT_CT_INGRESS ? WEFT_DROP_POLICY_INGRESS :
					WEFT_DROP_POLICY_EGRESS;
}

/*
 * Checks again connection 'e' (key 'key', its original tuple) admitted
 * under another policy than the port's current 'gen' (its rules are those
 * of 'policy'): still admitted, it
 * takes 'gen'; no longer admitted, the entry is deleted and the packet
 * dropped as refused by the connection's rules. Connections are only
 * tracked for TCP, UDP and ICMP echo, whose first packet's port is in the
 * key (an echo request for ICMP).
 */
static __always_inline int policy_revalidate(struct weft_ct_entry *e,
					     const struct weft_ct_key *key,
					     __u32 policy, __u32 gen)
{
	if (e->policy_gen == gen)
		return WEFT_OK;
	if (!policy_admits(policy, key, policy_port(key, WEFT_ICMP_ECHO, 0))) {
		bpf_map_delete_elem(&ct, key);
		return policy_refused(key->dir);
	}
	e->policy_gen = gen;
	return WEFT_OK;
}

/* policy_conntrack() takes the network and the direction in one argument
 * (BPF calls have five): vni | dir << WEFT_POLICY_DIR_SHIFT. */
#define WEFT_POLICY_DIR_SHIFT 24

/*
 * The security group check of the IPv4 packet in 'skb' for the port on
 * 'ifindex' (network and direction in 'vni_dir', policy digest 'gen',
 * rules of 'policy'), in direction WEFT_CT_EGRESS (from the port) or
 * WEFT_CT_INGRESS (to it). Returns WEFT_OK
 * or the drop reason: WEFT_DROP_FRAGMENT, WEFT_DROP_CT_INVALID,
 * WEFT_DROP_CT_WINDOW, WEFT_DROP_POLICY_INGRESS/EGRESS,
 * WEFT_DROP_MALFORMED.
 */
__attribute__((noinline)) int policy_conntrack(struct __sk_buff *skb,
					       __u32 ifindex, __u32 vni_dir,
					       __u32 gen, __u32 policy)
{
	__u32 vni = vni_dir & ((1u << WEFT_POLICY_DIR_SHIFT) - 1);
	__u32 dir = (vni_dir >> WEFT_POLICY_DIR_SHIFT) & 1;
	struct ct_pkt p = {};
	struct weft_ct_entry *e;
	__u64 now;
	int d = 0, r;

	r = ct_parse(skb, vni, dir, &p);
	if (r != WEFT_OK)
		return r;
	if (p.kind == CT_KIND_RULES)
		return policy_admits(
			       policy, &p.key,
			       policy_port(&p.key, p.icmp_type, p.icmp_code)) ?
			       WEFT_OK :
			       policy_refused(p.key.dir);

	now = bpf_ktime_get_ns();
	e = ct_find(&p.key, ifindex, now, &d);
	if (p.kind == CT_KIND_RELATED)
		return e ? WEFT_OK : WEFT_DROP_CT_INVALID;
	if (e) {
		r = policy_revalidate(e, &p.key, policy, gen);
		if (r != WEFT_OK)
			return r;
		r = ct_update(e, d, &p, now);
		if (r == CT_TCP_DELETE) {
			bpf_map_delete_elem(&ct, &p.key);
			return WEFT_OK;
		}
		if (r != CT_TCP_RESTART)
			return r;
		/* A new connection from the opener on a TIME_WAIT entry: as
		 * if there were none. From the other side it gets the
		 * reversed key, so the old entry must not stay. */
		bpf_map_delete_elem(&ct, &p.key);
		if (d)
			ct_key_reverse(&p.key);
	}

	if (!ct_can_start(&p))
		return WEFT_DROP_CT_INVALID;
	if (!policy_admits(policy, &p.key,
			   policy_port(&p.key, p.icmp_type, p.icmp_code)))
		return policy_refused(p.key.dir);
	ct_create(&p, ifindex, gen, now);
	return WEFT_OK;
}

/* Whether the rate limit of this CPU lets one more drop event out; counts
 * the ones it keeps in. 'st' is this CPU's state, 'limit' per second. */
static __always_inline int policy_log_allowed(struct drop_log_state *st,
					      __u32 limit, __u64 now)
{
	if (now - st->window_ns >= 1000000000ULL) {
		st->window_ns = now;
		st->sent = 0;
	}
	if (st->sent >= limit) {
		st->suppressed++;
		return 0;
	}
	st->sent++;
	return 1;
}

/*
 * Reports in drop_events the packet in 'skb' that the rules (or conntrack)
 * of the port on 'ifindex' (network 'vni') dropped for 'reason' in
 * direction 'dir', when config.log_drops_per_sec allows. Global, like
 * policy_conntrack(), so that it is verified and exists once.
 */
__attribute__((noinline)) int policy_log_drop(struct __sk_buff *skb,
					      __u32 ifindex, __u32 vni,
					      __u32 dir, __u32 reason)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct weft_config *cfg = config_get();
	struct weft_drop_event *ev;
	struct drop_log_state *st;
	__u32 zero = 0;
	__be16 ports[2];

	if (!cfg || !cfg->log_drops_per_sec)
		return 0;
	st = bpf_map_lookup_elem(&drop_log_state, &zero);
	if (!st ||
	    !policy_log_allowed(st, cfg->log_drops_per_sec, bpf_ktime_get_ns()))
		return 0;
	if ((void *)(ip + 1) > end)
		return 0;
	ev = bpf_ringbuf_reserve(&drop_events, sizeof(*ev), 0);
	if (!ev) {
		st->suppressed++;
		return 0;
	}
	ev->ifindex = ifindex;
	ev->reason = reason;
	ev->vni = vni;
	ev->saddr = ip->saddr;
	ev->daddr = ip->daddr;
	ev->proto = ip->protocol;
	ev->dir = dir;
	ev->pad = 0;
	ev->sport = 0;
	ev->dport = 0;
	if ((ip->protocol == WEFT_IPPROTO_TCP ||
	     ip->protocol == WEFT_IPPROTO_UDP) &&
	    !ip_is_later_fragment(ip) && ip->ihl >= 5 &&
	    !bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + ip->ihl * 4, ports,
				sizeof(ports))) {
		ev->sport = ports[0];
		ev->dport = ports[1];
	}
	ev->suppressed = st->suppressed;
	st->suppressed = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/*
 * The security group check of 'port' (tap 'ifindex') for the packet in
 * 'skb' going in direction 'dir', when the port has security groups
 * (WEFT_PORT_F_POLICY); WEFT_OK otherwise. A refusal is also reported
 * in drop_events (policy_log_drop()).
 */
static __always_inline int policy_check(struct __sk_buff *skb,
					const struct weft_port *port,
					__u32 ifindex, __u32 dir)
{
	int r;

	if (!(port->flags & WEFT_PORT_F_POLICY))
		return WEFT_OK;
	r = policy_conntrack(skb, ifindex,
			     port->vni | (dir & 1) << WEFT_POLICY_DIR_SHIFT,
			     port->policy_gen, port->policy_id);
	if (r != WEFT_OK && r != WEFT_DROP_MALFORMED)
		policy_log_drop(skb, ifindex, port->vni, dir, (__u32)r);
	return r;
}
