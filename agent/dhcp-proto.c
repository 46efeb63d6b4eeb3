/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp-proto.h"

#include <errno.h>
#include <string.h>

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define IP_HLEN 20
#define UDP_HLEN 8
#define IPPROTO_UDP_ 17

/* The fixed part of a BOOTP message, and where its fields are. */
#define BOOTP_LEN 236
#define BOOTP_OP 0
#define BOOTP_HTYPE 1
#define BOOTP_HLEN 2
#define BOOTP_XID 4
#define BOOTP_FLAGS 10
#define BOOTP_CIADDR 12
#define BOOTP_YIADDR 16
#define BOOTP_GIADDR 24
#define BOOTP_CHADDR 28
#define BOOTP_SNAME 44
#define BOOTP_SNAME_LEN 64
#define BOOTP_FILE 108
#define BOOTP_FILE_LEN 128
#define BOOTP_MIN_REPLY 300 /* what RFC 1542 relays and old clients expect */

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define HTYPE_ETHER 1

static const uint8_t magic_cookie[4] = { 99, 130, 83, 99 };

/* Options. */
#define OPT_PAD 0
#define OPT_MASK 1
#define OPT_ROUTER 3
#define OPT_DNS 6
#define OPT_DOMAIN 15
#define OPT_MTU 26
#define OPT_REQUESTED_IP 50
#define OPT_LEASE 51
#define OPT_OVERLOAD 52
#define OPT_MSG_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_RENEWAL 58
#define OPT_REBINDING 59
#define OPT_CLASSLESS_ROUTES 121
#define OPT_END 255

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint16_t dhcp_proto_checksum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Walks the options of one field ('p', 'len' bytes) and records those the
 * server uses. Returns 0, or -EBADMSG when an option runs past the field
 * or has the wrong length for its code. */
static int parse_options(const uint8_t *p, size_t len, struct dhcp_request *r,
			 int *overload)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i], olen;
		const uint8_t *v;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return 0;
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return -EBADMSG;
		olen = p[i + 1];
		v = p + i + 2;
		switch (code) {
		case OPT_MSG_TYPE:
			if (olen != 1 || v[0] < DHCP_DISCOVER ||
			    v[0] > DHCP_INFORM)
				return -EBADMSG;
			r->type = (enum dhcp_msg_type)v[0];
			break;
		case OPT_REQUESTED_IP:
			if (olen != 4)
				return -EBADMSG;
			r->has_requested_ip = true;
			r->requested_ip = get32(v);
			break;
		case OPT_SERVER_ID:
			if (olen != 4)
				return -EBADMSG;
			r->has_server_id = true;
			r->server_id = get32(v);
			break;
		case OPT_OVERLOAD:
			/* Only in the options field itself, once: in 'file'
			 * and 'sname' the caller passes -1. */
			if (olen != 1 || v[0] < 1 || v[0] > 3 || *overload)
				return -EBADMSG;
			*overload = v[0];
			break;
		default:
			break;
		}
		i += 2 + (size_t)olen;
	}
	/* A client that omits the end option is forgiven. */
	return 0;
}

int dhcp_proto_parse(const uint8_t *frame, size_t len, struct dhcp_request *ret)
{
	struct dhcp_request r = { 0 };
	const uint8_t *ip, *udp, *b;
	size_t ihl, tot, ulen, blen;
	int overload = 0, none = -1, rc;

	if (len > DHCP_PROTO_MAX_FRAME)
		return -EMSGSIZE;
	if (len < ETH_HLEN + IP_HLEN || get16(frame + 12) != ETH_P_IPV4)
		return -EBADMSG;
	memcpy(r.eth_dst, frame, 6);
	memcpy(r.eth_src, frame + 6, 6);

	ip = frame + ETH_HLEN;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = get16(ip + 2);
	if (tot > DHCP_PROTO_MAX_IP_LEN)
		return -EMSGSIZE;
	if (ip[0] >> 4 != 4 || ihl < IP_HLEN || tot < ihl + UDP_HLEN ||
	    tot > len - ETH_HLEN || ip[9] != IPPROTO_UDP_ ||
	    (get16(ip + 6) & 0x3fff) || /* MF or a fragment offset */
	    dhcp_proto_checksum(ip, ihl, 0) != 0)
		return -EBADMSG;
	r.ip_src = get32(ip + 12);
	r.ip_dst = get32(ip + 16);

	udp = ip + ihl;
	ulen = get16(udp + 4);
	if (get16(udp + 2) != DHCP_SERVER_PORT || ulen < UDP_HLEN ||
	    ulen > tot - ihl)
		return -EBADMSG;

	b = udp + UDP_HLEN;
	blen = ulen - UDP_HLEN;
	if (blen < BOOTP_LEN + sizeof(magic_cookie) ||
	    b[BOOTP_OP] != BOOTREQUEST || b[BOOTP_HTYPE] != HTYPE_ETHER ||
	    b[BOOTP_HLEN] != 6 ||
	    memcmp(b + BOOTP_LEN, magic_cookie, sizeof(magic_cookie)))
		return -EBADMSG;
	r.xid = get32(b + BOOTP_XID);
	r.flags = get16(b + BOOTP_FLAGS);
	r.ciaddr = get32(b + BOOTP_CIADDR);
	r.giaddr = get32(b + BOOTP_GIADDR);
	memcpy(r.chaddr, b + BOOTP_CHADDR, 6);

	rc = parse_options(b + BOOTP_LEN + 4, blen - BOOTP_LEN - 4, &r,
			   &overload);
	if (rc < 0)
		return rc;
	/* RFC 2131 4.1: 'file' first, then 'sname'; neither may overload
	 * again. */
	if (overload & 1) {
		rc = parse_options(b + BOOTP_FILE, BOOTP_FILE_LEN, &r, &none);
		if (rc < 0)
			return rc;
	}
	if (overload & 2) {
		rc = parse_options(b + BOOTP_SNAME, BOOTP_SNAME_LEN, &r, &none);
		if (rc < 0)
			return rc;
	}
	if (!r.type)
		return -EBADMSG; /* plain BOOTP: not served */
	*ret = r;
	return 0;
}

int dhcp_proto_classless_routes(const struct dhcp_route *routes, size_t n,
				uint8_t *buf, size_t size)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		const struct dhcp_route *rt = &routes[i];
		size_t octets = (size_t)(rt->prefix + 7) / 8;
		uint8_t dest[4];

		if (rt->prefix < 0 || rt->prefix > 32)
			return -EINVAL;
		if (off + 1 + octets + 4 > size)
			return -EMSGSIZE;
		buf[off++] = (uint8_t)rt->prefix;
		put32(dest, rt->dest);
		memcpy(buf + off, dest, octets);
		off += octets;
		put32(buf + off, rt->router);
		off += 4;
	}
	return (int)off;
}

/* The options being written: 'p' with room for 'cap' bytes, 'len' used;
 * 'overflow' set once something did not fit. */
struct optbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

/* Appends option 'code' with 'n' bytes of 'data', split into instances of
 * at most 255 bytes (RFC 3396). */
static void opt_put(struct optbuf *o, uint8_t code, const void *data, size_t n)
{
	const uint8_t *d = data;

	do {
		size_t chunk = n > 255 ? 255 : n;

		if (o->len + 2 + chunk > o->cap) {
			o->overflow = true;
			return;
		}
		o->p[o->len++] = code;
		o->p[o->len++] = (uint8_t)chunk;
		memcpy(o->p + o->len, d, chunk);
		o->len += chunk;
		d += chunk;
		n -= chunk;
	} while (n);
}

static void opt_put32(struct optbuf *o, uint8_t code, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	opt_put(o, code, b, 4);
}

/* All options but the end. */
static void reply_options(const struct dhcp_reply *rp, struct optbuf *o)
{
	uint8_t type = (uint8_t)rp->type;

	opt_put(o, OPT_MSG_TYPE, &type, 1);
	opt_put32(o, OPT_SERVER_ID, rp->server_id);
	if (rp->type == DHCP_NAK)
		return;
	if (!rp->inform) {
		opt_put32(o, OPT_LEASE, rp->lease);
		opt_put32(o, OPT_RENEWAL, rp->lease / 2);
		opt_put32(o, OPT_REBINDING,
			  (uint32_t)((uint64_t)rp->lease * 7 / 8));
	}
	opt_put32(o, OPT_MASK, rp->prefix ? ~0u << (32 - rp->prefix) : 0);
	if (rp->has_router)
		opt_put32(o, OPT_ROUTER, rp->router);
	if (rp->n_dns) {
		uint8_t dns[4 * 64];
		size_t n = rp->n_dns > 64 ? 64 : rp->n_dns;

		for (size_t i = 0; i < n; i++)
			put32(dns + 4 * i, rp->dns[i]);
		opt_put(o, OPT_DNS, dns, 4 * n);
	}
	if (rp->domain && rp->domain[0])
		opt_put(o, OPT_DOMAIN, rp->domain, strlen(rp->domain));
	if (rp->mtu) {
		uint8_t mtu[2];

		put16(mtu, rp->mtu);
		opt_put(o, OPT_MTU, mtu, 2);
	}
	if (rp->n_routes) {
		uint8_t routes[DHCP_PROTO_MAX_IP_LEN];
		int n = dhcp_proto_classless_routes(rp->routes, rp->n_routes,
						    routes, sizeof(routes));

		if (n < 0)
			o->overflow = true;
		else
			opt_put(o, OPT_CLASSLESS_ROUTES, routes, (size_t)n);
	}
}

int dhcp_proto_build(const struct dhcp_request *req,
		     const struct dhcp_reply *rp, uint8_t *buf, size_t size)
{
	size_t hdrs = ETH_HLEN + IP_HLEN + UDP_HLEN, blen, ulen, tot;
	uint8_t *ip, *udp, *b;
	struct optbuf o;
	uint32_t sum;

	if (rp->type != DHCP_OFFER && rp->type != DHCP_ACK &&
	    rp->type != DHCP_NAK)
		return -EINVAL;
	if (size > DHCP_PROTO_MAX_FRAME)
		size = DHCP_PROTO_MAX_FRAME;
	if (size < hdrs + BOOTP_MIN_REPLY)
		return -EMSGSIZE;
	memset(buf, 0, hdrs + BOOTP_MIN_REPLY);

	b = buf + hdrs;
	o = (struct optbuf){ .p = b + BOOTP_LEN + 4,
			     .cap = size - hdrs - BOOTP_LEN - 4 - 1 };
	reply_options(rp, &o);
	if (o.overflow)
		return -EMSGSIZE;
	o.p[o.len++] = OPT_END;
	blen = BOOTP_LEN + 4 + o.len;
	if (blen < BOOTP_MIN_REPLY)
		blen = BOOTP_MIN_REPLY; /* zero padding, set above */

	b[BOOTP_OP] = BOOTREPLY;
	b[BOOTP_HTYPE] = HTYPE_ETHER;
	b[BOOTP_HLEN] = 6;
	put32(b + BOOTP_XID, req->xid);
	put16(b + BOOTP_FLAGS, req->flags);
	if (rp->type == DHCP_ACK)
		put32(b + BOOTP_CIADDR, req->ciaddr);
	if (rp->type != DHCP_NAK && !rp->inform)
		put32(b + BOOTP_YIADDR, rp->yiaddr);
	put32(b + BOOTP_GIADDR, req->giaddr);
	memcpy(b + BOOTP_CHADDR, req->chaddr, 6);
	memcpy(b + BOOTP_LEN, magic_cookie, sizeof(magic_cookie));

	ulen = UDP_HLEN + blen;
	tot = IP_HLEN + ulen;

	memcpy(buf, req->chaddr, 6);
	memcpy(buf + 6, rp->server_mac, 6);
	put16(buf + 12, ETH_P_IPV4);

	ip = buf + ETH_HLEN;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	ip[8] = 64; /* TTL */
	ip[9] = IPPROTO_UDP_;
	put32(ip + 12, rp->server_id);
	put32(ip + 16, 0xffffffffu);
	put16(ip + 10, dhcp_proto_checksum(ip, IP_HLEN, 0));

	udp = ip + IP_HLEN;
	put16(udp, DHCP_SERVER_PORT);
	put16(udp + 2, DHCP_CLIENT_PORT);
	put16(udp + 4, (uint16_t)ulen);
	/* The pseudo-header: addresses, protocol, UDP length. */
	sum = (rp->server_id >> 16) + (rp->server_id & 0xffff) + 0xffff +
	      0xffff + IPPROTO_UDP_ + (uint32_t)ulen;
	{
		uint16_t c = dhcp_proto_checksum(udp, ulen, sum);

		put16(udp + 6, c ? c : 0xffff);
	}
	return (int)(ETH_HLEN + tot);
}
