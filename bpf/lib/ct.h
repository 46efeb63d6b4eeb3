/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#pragma once

/*
 * Connection tracking for security groups (docs/security-groups.md): the
 * tuple of a packet, the lookup of its connection in map ct (its own tuple
 * with the direction it travels, then the reversed tuple with the other
 * direction: a reply), and the state of a connection: TCP's handshake and
 * close, with the window check of G. van Rooij ("Real Stateful TCP Packet
 * Filtering in IP Filter") as Linux's nf_conntrack does it, and UDP and
 * ICMP echo replied or not.
 *
 * Transport headers are read with bpf_skb_load_bytes(): they may lie
 * outside the linear part of a GSO packet, and routing may have rewritten
 * the packet since it was parsed. The IPv4 header itself is in the linear
 * part (eth_parse() pulled it in).
 */

#include "eth.h"
#include "maps.h"

/* What a packet is to connection tracking. */
enum ct_kind {
	CT_KIND_TRACK = 0, /* TCP, UDP, ICMP echo: a connection's packet */
	CT_KIND_RELATED, /* an ICMP error: 'key' is about the quoted packet */
	CT_KIND_RULES, /* other ICMP, other protocols: the rules decide
			* every packet, no entry */
};

/* Not drops: what the TCP state machine asks of its caller. */
#define CT_TCP_DELETE (-3) /* a RST in the window: the connection ends */
#define CT_TCP_RESTART (-4) /* a SYN on a TIME_WAIT entry: a new one */

#define WEFT_TCP_FIN 0x01
#define WEFT_TCP_SYN 0x02
#define WEFT_TCP_RST 0x04
#define WEFT_TCP_ACK 0x10
#define WEFT_TCP_OPT_WSCALE 3
#define WEFT_TCP_MAX_WSCALE 14
#define WEFT_TCP_MAX_OPTLEN 40
/* The lower bound of acceptable ACKs while the other side's window is not
 * known yet (Linux's MAXACKWINDOW). */
#define WEFT_TCP_MAXACKWINDOW 66000
#define WEFT_NSEC_PER_SEC 1000000000ull

/* The TCP header, flags as one byte. */
struct ct_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff; /* data offset in the high nibble */
	__u8 flags;
	__be16 window;
	__sum16 check;
	__be16 urg_ptr;
};

/* A packet as connection tracking sees it. */
struct ct_pkt {
	/* The packet's own tuple with the direction it travels (for an ICMP
	 * error: the quoted packet's tuple reversed). */
	struct weft_ct_key key;
	__u32 len; /* skb->len, for the counters */
	__u8 kind; /* enum ct_kind */
	__u8 icmp_type;
	__u8 icmp_code;
	/* TCP */
	__u8 tcp_flags; /* FIN, SYN, RST, ACK (PSH, URG, ECE, CWR cleared) */
	__u8 wscale; /* window scale option of a SYN */
	__u8 has_wscale;
	__u16 win; /* unscaled */
	__u32 seq;
	__u32 ack;
	__u32 payload; /* bytes after the TCP header */
};

/* This CPU's scratch buffers (map ct_scratch). */
static __always_inline struct ct_scratch *ct_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ct_scratch, &zero);
}

/* Sequence number comparison, modulo 2^32. */
static __always_inline int ct_seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline int ct_seq_after(__u32 a, __u32 b)
{
	return ct_seq_before(b, a);
}

/*
 * Fills the ports of 'key' from the first 8 bytes 'l4' of a transport
 * header of protocol 'proto': TCP and UDP ports; an ICMP echo request's id
 * as sport, an echo reply's as dport (so that the reversed tuple of a reply
 * is its request's). Returns 0 when the packet belongs to a trackable
 * connection, -1 otherwise.
 */
static __always_inline int ct_l4_ports(struct weft_ct_key *key, __u8 proto,
				       const __u8 *l4)
{
	__be16 id = *(const __be16 *)&l4[4];

	if (proto == WEFT_IPPROTO_TCP || proto == WEFT_IPPROTO_UDP) {
		key->sport = *(const __be16 *)&l4[0];
		key->dport = *(const __be16 *)&l4[2];
		return 0;
	}
	if (proto != WEFT_IPPROTO_ICMP)
		return -1;
	if (l4[0] == WEFT_ICMP_ECHO) {
		key->sport = id;
		key->dport = 0;
		return 0;
	}
	if (l4[0] == WEFT_ICMP_ECHOREPLY) {
		key->sport = 0;
		key->dport = id;
		return 0;
	}
	return -1;
}

/* Swaps the source and destination of 'key' (addresses and ports). */
static __always_inline void ct_key_swap(struct weft_ct_key *key)
{
	__be32 addr = key->saddr;
	__be16 port = key->sport;

	key->saddr = key->daddr;
	key->daddr = addr;
	key->sport = key->dport;
	key->dport = port;
}

/* Turns 'key' into the key of the other direction of its connection. */
static __always_inline void ct_key_reverse(struct weft_ct_key *key)
{
	ct_key_swap(key);
	key->dir ^= 1;
}

/*
 * The window scale announced in the 'optlen' bytes of TCP options at
 * 'off' of 'skb' (a SYN's): stored in 'p' with has_wscale set, clamped to
 * 14 (RFC 7323). A malformed option list ends the search.
 *
 * The loop walks byte positions and acts where the next option starts:
 * only the loop counter indexes the buffer, so the verifier need not tell
 * apart the paths that led to each option boundary.
 */
static __always_inline void ct_tcp_options(struct __sk_buff *skb, __u32 off,
					   __u32 optlen, struct ct_pkt *p)
{
	struct ct_scratch *scratch = ct_scratch_get();
	__u32 pos, next = 0;
	__u8 kind, len, *opts;

	if (!scratch || optlen == 0 || optlen > WEFT_TCP_MAX_OPTLEN)
		return;
	/* Every index below is masked into the buffer; what lies beyond the
	 * options reads as zeros (end of list). */
	opts = scratch->opts;
	__builtin_memset(opts, 0, sizeof(scratch->opts));
	if (bpf_skb_load_bytes(skb, off, opts, optlen))
		return;
	for (pos = 0; pos < WEFT_TCP_MAX_OPTLEN && pos < optlen; pos++) {
		if (pos != next)
			continue;
		kind = opts[pos & 63];
		if (kind == 0)
			return;
		if (kind == 1) { /* NOP */
			next = pos + 1;
			continue;
		}
		len = opts[(pos + 1) & 63];
		if (len < 2 || pos + len > optlen)
			return;
		if (kind == WEFT_TCP_OPT_WSCALE && len == 3) {
			p->wscale = opts[(pos + 2) & 63];
			if (p->wscale > WEFT_TCP_MAX_WSCALE)
				p->wscale = WEFT_TCP_MAX_WSCALE;
			p->has_wscale = 1;
			return;
		}
		next = pos + len;
	}
}

/* Whether TCP 'flags' (FIN, SYN, RST, ACK only) are a set a connection
 * can carry: SYN, SYN+ACK, RST, RST+ACK, ACK, FIN+ACK. */
static __always_inline int ct_tcp_flags_valid(__u8 flags)
{
	return flags == WEFT_TCP_SYN ||
	       flags == (WEFT_TCP_SYN | WEFT_TCP_ACK) ||
	       flags == WEFT_TCP_RST ||
	       flags == (WEFT_TCP_RST | WEFT_TCP_ACK) ||
	       flags == WEFT_TCP_ACK || flags == (WEFT_TCP_FIN | WEFT_TCP_ACK);
}

/*
 * Parses the TCP header at 'off' of 'skb' ('l4len' bytes of segment):
 * ports, flags, sequence numbers, window, payload length and, for a SYN,
 * the window scale option. WEFT_DROP_CT_INVALID for invalid flags or a
 * data offset under 5, WEFT_DROP_MALFORMED for a truncated header.
 */
static __always_inline int ct_parse_tcp(struct __sk_buff *skb, __u32 off,
					__u32 l4len, struct ct_pkt *p)
{
	struct ct_tcphdr th;
	__u32 doff;

	if (l4len < sizeof(th) || bpf_skb_load_bytes(skb, off, &th, sizeof(th)))
		return WEFT_DROP_MALFORMED;
	ct_l4_ports(&p->key, WEFT_IPPROTO_TCP, (const __u8 *)&th);
	doff = (th.doff >> 4) * 4;
	if (doff < sizeof(th))
		return WEFT_DROP_CT_INVALID;
	if (doff > l4len)
		return WEFT_DROP_MALFORMED;
	p->tcp_flags = th.flags & (WEFT_TCP_FIN | WEFT_TCP_SYN | WEFT_TCP_RST |
				   WEFT_TCP_ACK);
	if (!ct_tcp_flags_valid(p->tcp_flags))
		return WEFT_DROP_CT_INVALID;
	p->seq = bpf_ntohl(th.seq);
	p->ack = bpf_ntohl(th.ack_seq);
	p->win = bpf_ntohs(th.window);
	p->payload = l4len - doff;
	if (p->tcp_flags & WEFT_TCP_SYN)
		ct_tcp_options(skb, off + sizeof(th), doff - sizeof(th), p);
	return WEFT_OK;
}

/*
 * 'p' for the ICMP error whose quote (the offending packet's IP header and
 * at least 8 bytes of its payload) is the 'len' bytes at 'off' of 'skb':
 * the quoted packet's tuple reversed, so that it is looked up like a
 * packet going the way the error goes. WEFT_DROP_CT_INVALID when the quote
 * is short or not about a trackable connection.
 */
static __always_inline int ct_parse_quote(struct __sk_buff *skb, __u32 off,
					  __u32 len, struct ct_pkt *p)
{
	struct iphdr in;
	__u8 l4[8];
	__u32 hlen;

	if (len < sizeof(in) || bpf_skb_load_bytes(skb, off, &in, sizeof(in)))
		return WEFT_DROP_CT_INVALID;
	hlen = in.ihl * 4;
	if (hlen < sizeof(in) || len < hlen + sizeof(l4) ||
	    bpf_skb_load_bytes(skb, off + hlen, l4, sizeof(l4)))
		return WEFT_DROP_CT_INVALID;
	p->key.proto = in.protocol;
	if (ct_l4_ports(&p->key, in.protocol, l4))
		return WEFT_DROP_CT_INVALID;
	p->key.saddr = in.saddr;
	p->key.daddr = in.daddr;
	/* The error travels against the quoted packet, in the direction
	 * the error itself goes. */
	ct_key_swap(&p->key);
	p->kind = CT_KIND_RELATED;
	return WEFT_OK;
}

/*
 * Parses the IPv4 packet in 'skb' (after an Ethernet header) into 'p', for
 * a port of network 'vni' and direction 'dir'. WEFT_DROP_FRAGMENT for any
 * fragment (there is no transport header to match in later ones),
 * WEFT_DROP_MALFORMED for an IP or transport header that is not all there,
 * WEFT_DROP_CT_INVALID for bad TCP flags or an ICMP error that quotes
 * nothing trackable.
 */
static __always_inline int ct_parse(struct __sk_buff *skb, __u32 vni, __u32 dir,
				    struct ct_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 hlen, tot_len, off, l4len;
	__u8 icmp[8];

	if ((void *)(ip + 1) > end)
		return WEFT_DROP_MALFORMED;
	hlen = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (hlen < sizeof(*ip) || tot_len < hlen ||
	    tot_len > skb->len - sizeof(struct ethhdr))
		return WEFT_DROP_MALFORMED;
	if (ip_is_fragment(ip))
		return WEFT_DROP_FRAGMENT;
	p->key.vni = vni;
	p->key.saddr = ip->saddr;
	p->key.daddr = ip->daddr;
	p->key.proto = ip->protocol;
	p->key.dir = dir;
	p->len = skb->len;
	off = sizeof(struct ethhdr) + hlen;
	l4len = tot_len - hlen;

	switch (p->key.proto) {
	case WEFT_IPPROTO_TCP:
		return ct_parse_tcp(skb, off, l4len, p);
	case WEFT_IPPROTO_UDP:
	case WEFT_IPPROTO_ICMP:
		if (l4len < sizeof(icmp) ||
		    bpf_skb_load_bytes(skb, off, icmp, sizeof(icmp)))
			return WEFT_DROP_MALFORMED;
		if (p->key.proto == WEFT_IPPROTO_UDP) {
			ct_l4_ports(&p->key, WEFT_IPPROTO_UDP, icmp);
			return WEFT_OK;
		}
		p->icmp_type = icmp[0];
		p->icmp_code = icmp[1];
		if (ip_icmp_is_error(icmp[0]))
			return ct_parse_quote(skb, off + sizeof(icmp),
					      l4len - sizeof(icmp), p);
		if (ct_l4_ports(&p->key, WEFT_IPPROTO_ICMP, icmp))
			p->kind = CT_KIND_RULES;
		return WEFT_OK;
	default:
		p->kind = CT_KIND_RULES;
		return WEFT_OK;
	}
}

/* The idle timeout of a connection of protocol 'proto' in 'state', ns. */
static __always_inline __u64 ct_timeout_ns(__u8 proto, __u8 state)
{
	__u64 s;

	switch (state) {
	case WEFT_CT_SYN_SENT:
	case WEFT_CT_SYN_RECV:
		s = WEFT_CT_TIMEOUT_TCP_SYN;
		break;
	case WEFT_CT_ESTABLISHED:
		s = WEFT_CT_TIMEOUT_TCP_ESTABLISHED;
		break;
	case WEFT_CT_FIN_WAIT:
		s = WEFT_CT_TIMEOUT_TCP_FIN;
		break;
	case WEFT_CT_TIME_WAIT:
		s = WEFT_CT_TIMEOUT_TCP_TIME_WAIT;
		break;
	default:
		if (proto == WEFT_IPPROTO_ICMP)
			s = WEFT_CT_TIMEOUT_ICMP;
		else if (state == WEFT_CT_REPLIED)
			s = WEFT_CT_TIMEOUT_UDP_REPLIED;
		else
			s = WEFT_CT_TIMEOUT_UDP;
	}
	return s * WEFT_NSEC_PER_SEC;
}

/* The sequence number after segment 'p': SYN and FIN count as one. */
static __always_inline __u32 ct_tcp_end(const struct ct_pkt *p)
{
	return p->seq + p->payload + !!(p->tcp_flags & WEFT_TCP_SYN) +
	       !!(p->tcp_flags & WEFT_TCP_FIN);
}

/* Starts the view of sender 's' from its SYN (or SYN-ACK) 'p'. */
static __always_inline void ct_tcp_init_sender(struct weft_ct_tcp *s,
					       const struct ct_pkt *p)
{
	s->end = ct_tcp_end(p);
	s->maxend = s->end;
	s->maxwin = p->win ? p->win : 1;
	s->wscale = p->wscale;
	s->flags = WEFT_CT_TCP_F_SEEN;
	if (p->has_wscale)
		s->flags |= WEFT_CT_TCP_F_WSCALE;
}

/*
 * The window check of segment 'p' from side 'd' of 'e' (0: the opener),
 * and the update of both sides' views when it passes (van Rooij, as
 * tcp_in_window() of Linux, without SACK): the segment must start before
 * the highest end the receiver allowed (I), end after the lowest it could
 * still accept (II), and acknowledge nothing the receiver has not sent
 * (III) nor anything older than one window back (IV). A side whose window
 * is not known yet is checked liberally. WEFT_DROP_CT_WINDOW when it
 * fails.
 */
static __always_inline int ct_tcp_window(struct weft_ct_entry *e, int d,
					 const struct ct_pkt *p)
{
	struct weft_ct_tcp *s = &e->tcp[d & 1], *r = &e->tcp[(d ^ 1) & 1];
	int syn = p->tcp_flags & WEFT_TCP_SYN;
	__u32 seq = p->seq, ack = p->ack, win = p->win;
	__u32 end = ct_tcp_end(p), maxack, swin;

	if (s->maxwin == 0) {
		if (syn) {
			/* The SYN-ACK: this side starts. Window scaling
			 * only when both sides announced it (RFC 7323). */
			ct_tcp_init_sender(s, p);
			if (!(s->flags & r->flags & WEFT_CT_TCP_F_WSCALE)) {
				s->wscale = 0;
				r->wscale = 0;
			}
		} else {
			/* Its history is unknown (a RST answering the SYN):
			 * take what the segment says. */
			s->end = end;
			swin = win << s->wscale;
			s->maxwin = swin ? swin : 1;
			s->maxend = end + s->maxwin;
			if (r->maxwin == 0)
				r->end = r->maxend = ack;
			else if (ack == r->end + 1)
				r->end++;
		}
	} else if (syn &&
		   ((e->state == WEFT_CT_SYN_SENT && d == 0) ||
		    (e->state == WEFT_CT_SYN_RECV && d == 1)) &&
		   ct_seq_after(end, s->end)) {
		/* A SYN (or SYN-ACK) sent again with a new sequence
		 * number: the side starts over (RFC 793). */
		s->end = end;
		s->maxend = end;
		s->maxwin = win ? win : 1;
		s->wscale = p->wscale;
		s->flags = WEFT_CT_TCP_F_SEEN;
		if (p->has_wscale)
			s->flags |= WEFT_CT_TCP_F_WSCALE;
	}

	if (!(p->tcp_flags & WEFT_TCP_ACK) ||
	    ((p->tcp_flags & WEFT_TCP_RST) && ack == 0))
		ack = r->end; /* nothing acknowledged: pretend it is fine */
	maxack = s->maxwin ? s->maxwin : WEFT_TCP_MAXACKWINDOW;
	if (!ct_seq_before(seq, s->maxend + 1) || /* I */
	    (r->maxwin &&
	     !ct_seq_after(end, s->end - r->maxwin - 1)) || /* II */
	    !ct_seq_before(ack, r->end + 1) || /* III */
	    !ct_seq_after(ack, r->end - maxack - 1)) /* IV */
		return WEFT_DROP_CT_WINDOW;

	if (!syn)
		win <<= s->wscale;
	if (s->maxwin < win)
		s->maxwin = win;
	if (ct_seq_after(end, s->end))
		s->end = end;
	if (r->maxwin && ct_seq_after(end, s->maxend))
		r->maxwin += end - s->maxend;
	if (ct_seq_after(ack + win, r->maxend - 1)) {
		r->maxend = ack + win;
		if (win == 0)
			r->maxend++;
	}
	s->flags |= WEFT_CT_TCP_F_SEEN;
	return WEFT_OK;
}

/*
 * The TCP state machine: segment 'p' from side 'd' of connection 'e'
 * (0: the opener). Checks that the segment fits the state
 * (WEFT_DROP_CT_INVALID: a SYN-ACK from the opener, an ACK before the
 * SYN-ACK, a SYN in the middle of a connection...) and the window
 * (WEFT_DROP_CT_WINDOW), then moves the state on. Returns WEFT_OK,
 * CT_TCP_DELETE for a RST in the window, or CT_TCP_RESTART for a SYN on a
 * TIME_WAIT entry (a new connection on the same ports: the caller checks
 * the rules again and starts the entry over).
 */
static __always_inline int ct_tcp_update(struct weft_ct_entry *e, int d,
					 const struct ct_pkt *p)
{
	__u8 flags = p->tcp_flags, state = e->state;
	int r;

	if (flags == WEFT_TCP_SYN) {
		if (state == WEFT_CT_TIME_WAIT)
			return CT_TCP_RESTART;
		if (d != 0 ||
		    (state != WEFT_CT_SYN_SENT && state != WEFT_CT_SYN_RECV))
			return WEFT_DROP_CT_INVALID;
	} else if (flags & WEFT_TCP_SYN) { /* SYN-ACK */
		if (d != 1 ||
		    (state != WEFT_CT_SYN_SENT && state != WEFT_CT_SYN_RECV &&
		     state != WEFT_CT_ESTABLISHED))
			return WEFT_DROP_CT_INVALID;
		if (state == WEFT_CT_SYN_SENT)
			state = WEFT_CT_SYN_RECV;
	} else if (!(flags & WEFT_TCP_RST)) { /* ACK, FIN+ACK */
		if (state == WEFT_CT_SYN_SENT)
			return WEFT_DROP_CT_INVALID;
		if (state == WEFT_CT_SYN_RECV && d == 0)
			state = WEFT_CT_ESTABLISHED;
	}

	r = ct_tcp_window(e, d, p);
	if (r != WEFT_OK)
		return r;
	if (flags & WEFT_TCP_RST)
		return CT_TCP_DELETE;
	if (flags & WEFT_TCP_FIN) {
		e->tcp[d & 1].flags |= WEFT_CT_TCP_F_FIN;
		state = (e->tcp[0].flags & e->tcp[1].flags &
			 WEFT_CT_TCP_F_FIN) ?
				WEFT_CT_TIME_WAIT :
				WEFT_CT_FIN_WAIT;
	}
	e->state = state;
	return WEFT_OK;
}

/*
 * The live entry of 'key' that belongs to the port on 'ifindex', or NULL.
 * An expired entry is deleted on the way (the agent's garbage collection
 * does the rest).
 */
static __always_inline struct weft_ct_entry *
ct_lookup_live(const struct weft_ct_key *key, __u32 ifindex, __u64 now)
{
	struct weft_ct_entry *e = bpf_map_lookup_elem(&ct, key);

	if (!e)
		return NULL;
	if (e->expires_ns <= now) {
		bpf_map_delete_elem(&ct, key);
		return NULL;
	}
	return e->ifindex == ifindex ? e : NULL;
}

/*
 * The connection of the packet whose tuple is 'key', for the port on
 * 'ifindex': the entry of its own tuple and direction (then '*d' = 0, the
 * original direction), else of the reversed tuple and the other direction
 * (a reply: '*d' = 1, and 'key' is left reversed, the entry's key). NULL
 * when there is none, 'key' as it was.
 */
static __always_inline struct weft_ct_entry *
ct_find(struct weft_ct_key *key, __u32 ifindex, __u64 now, int *d)
{
	struct weft_ct_entry *e;

	e = ct_lookup_live(key, ifindex, now);
	if (e) {
		*d = 0;
		return e;
	}
	ct_key_reverse(key);
	e = ct_lookup_live(key, ifindex, now);
	if (e) {
		*d = 1;
		return e;
	}
	ct_key_reverse(key);
	return NULL;
}

/*
 * Moves connection 'e' on with packet 'p' from side 'd': the TCP state
 * machine, or for UDP and ICMP echo the replied state; then the counters
 * of that side and the expiry. Returns what ct_tcp_update() does.
 */
static __always_inline int ct_update(struct weft_ct_entry *e, int d,
				     const struct ct_pkt *p, __u64 now)
{
	int r = WEFT_OK;

	if (p->key.proto == WEFT_IPPROTO_TCP)
		r = ct_tcp_update(e, d, p);
	else if (d == 1)
		e->state = WEFT_CT_REPLIED;
	if (r != WEFT_OK)
		return r;
	e->packets[d & 1]++;
	e->bytes[d & 1] += p->len;
	e->expires_ns = now + ct_timeout_ns(p->key.proto, e->state);
	return WEFT_OK;
}

/*
 * Whether packet 'p', which has no entry, may start a connection: a TCP
 * SYN without ACK, UDP, an ICMP echo request. Anything else tracked (TCP
 * without SYN, a SYN-ACK, an echo reply) is a reply to nothing.
 */
static __always_inline int ct_can_start(const struct ct_pkt *p)
{
	if (p->key.proto == WEFT_IPPROTO_TCP)
		return p->tcp_flags == WEFT_TCP_SYN;
	if (p->key.proto == WEFT_IPPROTO_ICMP)
		return p->icmp_type == WEFT_ICMP_ECHO;
	return 1;
}

/*
 * Records the new connection started by 'p' for the port on 'ifindex'
 * (policy 'gen'): TCP in SYN_SENT with the SYN's window, UDP and ICMP
 * UNREPLIED. An entry of the same key (a TIME_WAIT one) is replaced.
 */
static __always_inline void ct_create(const struct ct_pkt *p, __u32 ifindex,
				      __u32 gen, __u64 now)
{
	struct ct_scratch *scratch = ct_scratch_get();
	struct weft_ct_entry *e;

	if (!scratch)
		return;
	e = &scratch->entry;
	__builtin_memset(e, 0, sizeof(*e));
	e->ifindex = ifindex;
	e->policy_gen = gen;
	e->packets[0] = 1;
	e->bytes[0] = p->len;
	if (p->key.proto == WEFT_IPPROTO_TCP) {
		e->state = WEFT_CT_SYN_SENT;
		ct_tcp_init_sender(&e->tcp[0], p);
	} else {
		e->state = WEFT_CT_UNREPLIED;
	}
	e->expires_ns = now + ct_timeout_ns(p->key.proto, e->state);
	bpf_map_update_elem(&ct, &p->key, e, BPF_ANY);
}
