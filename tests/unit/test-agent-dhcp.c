/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp-proto.h"
#include "dhcp-server.h"
#include "hostview.h"

/*
 * DHCP: parsing (frames captured from Debian's dhclient 4.4 and busybox
 * udhcpc 1.35, and crafted ones), building (the option bytes), and the
 * server's decisions against a view.
 */

/* Captured on a veth: DISCOVERs of MAC fa:16:3e:11:22:33. */
static const char dhclient_discover[] =
	"fffffffffffffa163e112233080045100148000000008011399600000000ffff"
	"ffff0044004301349cb401010600e2d5d97d0000000000000000000000000000"
	"000000000000fa163e1122330000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000638253633501010c0276"
	"6d370d011c02030f06770c2c2f1a792aff000000000000000000000000000000"
	"00000000000000000000000000000000000000000000";
static const char udhcpc_discover[] =
	"fffffffffffffa163e11223308004500014800000000401179a600000000ffff"
	"ffff004400430134a42501010600f0edee0d0000000000000000000000000000"
	"000000000000fa163e1122330000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000063825363350101390202"
	"4037070103060c0f1c2a3c0c756468637020312e33352e303d0701fa163e1122"
	"33ff0000000000000000000000000000000000000000";

#define MAC_BYTES 0xfa, 0x16, 0x3e, 0x11, 0x22, 0x33

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Builds a client frame from MAC 'mac' with BOOTP fields 'ciaddr' and the
 * options 'opts' ('n' bytes, without the end option). Returns its length. */
static size_t client_frame(uint8_t *f, const uint8_t mac[6], uint32_t ciaddr,
			   const uint8_t *opts, size_t n)
{
	size_t blen = 240 + n + 1, ulen = 8 + blen, tot = 20 + ulen;
	uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;

	memset(f, 0, 14 + tot);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, ciaddr);
	put32(ip + 16, 0xffffffff);
	put16(ip + 10, dhcp_proto_checksum(ip, 20, 0));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)ulen);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	put32(b + 4, 0x12345678);
	put32(b + 12, ciaddr);
	memcpy(b + 28, mac, 6);
	put32(b + 236, 0x63825363);
	memcpy(b + 240, opts, n);
	b[240 + n] = 255;
	return 14 + tot;
}

static void fix_ip_checksum(uint8_t *f)
{
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, dhcp_proto_checksum(f + 14, 20, 0));
}

static void test_parse_captured(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	uint8_t f[1600];
	struct dhcp_request r;
	size_t n;

	n = unhex(dhclient_discover, f);
	assert_int_equal(n, 342);
	assert_int_equal(dhcp_proto_parse(f, n, &r), 0);
	assert_int_equal(r.type, DHCP_DISCOVER);
	assert_int_equal(r.xid, 0xe2d5d97d);
	assert_memory_equal(r.chaddr, mac, 6);
	assert_memory_equal(r.eth_src, mac, 6);
	assert_int_equal(r.ip_dst, 0xffffffff);
	assert_false(r.has_requested_ip);
	assert_false(r.has_server_id);

	n = unhex(udhcpc_discover, f);
	assert_int_equal(dhcp_proto_parse(f, n, &r), 0);
	assert_int_equal(r.type, DHCP_DISCOVER);
	assert_int_equal(r.xid, 0xf0edee0d);
	assert_memory_equal(r.chaddr, mac, 6);

	/* Trailing bytes after the IP packet (Ethernet padding) are fine. */
	memset(f + n, 0, 20);
	assert_int_equal(dhcp_proto_parse(f, n + 20, &r), 0);
}

static void test_parse_requests(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	/* dhclient's REQUEST in SELECTING: type, server id, requested IP. */
	static const uint8_t select[] = { 53, 1,  3, 54, 4, 10, 0, 0,	1,  50,
					  4,  10, 0, 0,	 5, 12, 2, 'v', 'm' };
	/* udhcpc's renewal: type only, ciaddr set. */
	static const uint8_t renew[] = { 53, 1, 3, 57, 2, 2, 64 };
	uint8_t f[1600];
	struct dhcp_request r;
	size_t n;

	n = client_frame(f, mac, 0, select, sizeof(select));
	assert_int_equal(dhcp_proto_parse(f, n, &r), 0);
	assert_int_equal(r.type, DHCP_REQUEST);
	assert_true(r.has_server_id);
	assert_int_equal(r.server_id, 0x0a000001);
	assert_true(r.has_requested_ip);
	assert_int_equal(r.requested_ip, 0x0a000005);

	n = client_frame(f, mac, 0x0a000005, renew, sizeof(renew));
	assert_int_equal(dhcp_proto_parse(f, n, &r), 0);
	assert_int_equal(r.type, DHCP_REQUEST);
	assert_int_equal(r.ciaddr, 0x0a000005);
	assert_false(r.has_requested_ip);
}

static void test_parse_bad(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	uint8_t f[2000], g[2000];
	struct dhcp_request r;
	size_t n;

	n = unhex(dhclient_discover, f);

	/* Truncated anywhere. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dhcp_proto_parse(f, i, &r), -EBADMSG);

	/* Bad magic cookie. */
	memcpy(g, f, n);
	g[14 + 20 + 8 + 236] = 0x64;
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);

	/* Bad IP header checksum; a fragment; not UDP; not to port 67; a
	 * BOOTREPLY; another hardware type; a UDP length past the packet. */
	memcpy(g, f, n);
	g[14 + 10] ^= 1;
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	g[14 + 6] = 0x20; /* MF */
	fix_ip_checksum(g);
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	g[14 + 9] = 6;
	fix_ip_checksum(g);
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	g[14 + 20 + 3] = 68;
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	g[14 + 28] = 2;
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	g[14 + 28 + 1] = 6;
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	memcpy(g, f, n);
	put16(g + 14 + 20 + 4, 400);
	assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);

	/* Oversized: a frame over 1514 bytes, or an IP length over 1500. */
	memcpy(g, f, n);
	memset(g + n, 0, sizeof(g) - n);
	assert_int_equal(dhcp_proto_parse(g, 1515, &r), -EMSGSIZE);
	put16(g + 14 + 2, 1501);
	assert_int_equal(dhcp_proto_parse(g, 1514, &r), -EMSGSIZE);

	/* Options: one running past the end; a message type of the wrong
	 * length or value; none at all (plain BOOTP). */
	{
		static const uint8_t over[] = { 53, 1, 1, 12, 200, 'x' };
		static const uint8_t len2[] = { 53, 2, 1, 1 };
		static const uint8_t bad_type[] = { 53, 1, 9 };
		static const uint8_t none[] = { 12, 1, 'x' };
		static const uint8_t short_ip[] = { 53, 1, 3, 50, 3, 1, 2, 3 };

		n = client_frame(g, mac, 0, over, sizeof(over));
		assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
		n = client_frame(g, mac, 0, len2, sizeof(len2));
		assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
		n = client_frame(g, mac, 0, bad_type, sizeof(bad_type));
		assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
		n = client_frame(g, mac, 0, none, sizeof(none));
		assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
		n = client_frame(g, mac, 0, short_ip, sizeof(short_ip));
		assert_int_equal(dhcp_proto_parse(g, n, &r), -EBADMSG);
	}
}

static void test_parse_overload(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	static const uint8_t opts[] = { 52, 1, 3 };
	uint8_t f[1600], *b = f + 14 + 20 + 8;
	struct dhcp_request r;
	size_t n = client_frame(f, mac, 0, opts, sizeof(opts));

	/* The message type in 'file', the requested IP in 'sname'. */
	memcpy(b + 108, (const uint8_t[]){ 53, 1, 3, 255 }, 4);
	memcpy(b + 44, (const uint8_t[]){ 50, 4, 10, 0, 0, 7, 255 }, 7);
	assert_int_equal(dhcp_proto_parse(f, n, &r), 0);
	assert_int_equal(r.type, DHCP_REQUEST);
	assert_int_equal(r.requested_ip, 0x0a000007);

	/* An option in 'file' running past the field. */
	memcpy(b + 108 + 124, (const uint8_t[]){ 12, 9, 'x', 'y' }, 4);
	b[108 + 3] = 0; /* the end becomes padding */
	assert_int_equal(dhcp_proto_parse(f, n, &r), -EBADMSG);

	/* Overloading again from within 'file'. */
	n = client_frame(f, mac, 0, opts, sizeof(opts));
	memcpy(b + 108, (const uint8_t[]){ 53, 1, 3, 52, 1, 3, 255 }, 7);
	assert_int_equal(dhcp_proto_parse(f, n, &r), -EBADMSG);
}

static void test_classless_routes(void **state)
{
	/* The examples of RFC 3442, section 3. */
	static const struct dhcp_route routes[] = {
		{ 0, 0, 0x0a000001 },		{ 0x0a000000, 8, 0x0a000001 },
		{ 0x0a110000, 16, 0x0a000001 }, { 0x0a1b8100, 24, 0x0a000001 },
		{ 0x0ae50080, 25, 0x0a000001 }, { 0x0ac67a2f, 32, 0x0a000001 },
	};
	static const uint8_t want[] = {
		0,  10, 0,   0,	  1, /* 0/0 */
		8,  10, 10,  0,	  0,   1, /* /8 */
		16, 10, 17,  10,  0,   0,  1, /* /16 */
		24, 10, 27,  129, 10,  0,  0, 1, /* /24 */
		25, 10, 229, 0,	  128, 10, 0, 0, 1, /* /25 */
		32, 10, 198, 122, 47,  10, 0, 0, 1, /* /32 */
	};
	uint8_t buf[64];

	assert_int_equal(
		dhcp_proto_classless_routes(routes, 6, buf, sizeof(buf)),
		sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(dhcp_proto_classless_routes(routes, 6, buf, 20),
			 -EMSGSIZE);
}

/* Checks the headers of a reply and returns its options. */
static const uint8_t *check_reply(const uint8_t *f, int len,
				  const uint8_t server_mac[6], uint32_t server,
				  size_t *ret_optlen)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	const uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint32_t sum;

	assert_true(len > 14 + 20 + 8 + 300 - 1);
	assert_memory_equal(f, mac, 6);
	assert_memory_equal(f + 6, server_mac, 6);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[2] << 8 | ip[3], len - 14);
	assert_int_equal(dhcp_proto_checksum(ip, 20, 0), 0);
	assert_int_equal((uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 |
				 (uint32_t)ip[14] << 8 | ip[15],
			 server);
	assert_memory_equal(ip + 16, "\xff\xff\xff\xff", 4);
	assert_int_equal(udp[0] << 8 | udp[1], 67);
	assert_int_equal(udp[2] << 8 | udp[3], 68);
	assert_int_equal(ulen, (size_t)len - 14 - 20);
	sum = (server >> 16) + (server & 0xffff) + 0xffff + 0xffff + 17 +
	      (uint32_t)ulen;
	assert_int_equal(dhcp_proto_checksum(udp, ulen, sum), 0);
	assert_int_equal(b[0], 2);
	assert_int_equal(b[1], 1);
	assert_int_equal(b[2], 6);
	assert_memory_equal(b + 4, "\x12\x34\x56\x78", 4);
	assert_memory_equal(b + 28, mac, 6);
	assert_memory_equal(b + 236, "\x63\x82\x53\x63", 4);
	*ret_optlen = ulen - 8 - 240;
	return b + 240;
}

static void test_build(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	static const uint8_t smac[6] = { 0xfa, 0x16, 0x3e, 0, 0, 1 };
	static const uint8_t discover[] = { 53, 1, 1 };
	static const uint32_t dns[] = { 0xc0000235, 0x08080808 };
	static const struct dhcp_route routes[] = {
		{ 0xac100000, 12, 0x0a000009 },
		{ 0, 0, 0x0a000001 },
	};
	struct dhcp_reply rp = {
		.type = DHCP_OFFER,
		.server_mac = { 0xfa, 0x16, 0x3e, 0, 0, 1 },
		.server_id = 0x0a000001,
		.yiaddr = 0x0a000005,
		.prefix = 24,
		.has_router = true,
		.router = 0x0a000001,
		.dns = dns,
		.n_dns = 2,
		.domain = "openstacklocal",
		.mtu = 1450,
		.lease = 86400,
		.routes = routes,
		.n_routes = 2,
	};
	static const uint8_t want[] = {
		53,  1,	  2, /* OFFER */
		54,  4,	  10,  0,   0,	 1, /* server id */
		51,  4,	  0,   1,   81,	 128, /* lease 86400 */
		58,  4,	  0,   0,   168, 192, /* T1 43200 */
		59,  4,	  0,   1,   39,	 80, /* T2 75600 */
		1,   4,	  255, 255, 255, 0, /* mask */
		3,   4,	  10,  0,   0,	 1, /* router */
		6,   8,	  192, 0,   2,	 53,  8,   8,	8,   8, /* DNS */
		15,  14,  'o', 'p', 'e', 'n', 's', 't', 'a', 'c',
		'k', 'l', 'o', 'c', 'a', 'l', /* domain */
		26,  2,	  5,   170, /* MTU 1450 */
		121, 12,  12,  172, 16,	 10,  0,   0,	9,   0,
		10,  0,	  0,   1, /* routes */
		255,
	};
	static const uint8_t want_nak[] = { 53, 1, 6, 54, 4, 10, 0, 0, 1, 255 };
	uint8_t f[1600], out[1600];
	struct dhcp_request req;
	const uint8_t *opts, *b;
	size_t n, optlen;
	int len;

	n = client_frame(f, mac, 0, discover, sizeof(discover));
	assert_int_equal(dhcp_proto_parse(f, n, &req), 0);

	len = dhcp_proto_build(&req, &rp, out, sizeof(out));
	assert_true(len > 0);
	opts = check_reply(out, len, smac, 0x0a000001, &optlen);
	assert_true(optlen >= sizeof(want));
	assert_memory_equal(opts, want, sizeof(want));
	for (size_t i = sizeof(want); i < optlen; i++)
		assert_int_equal(opts[i], 0); /* padding to 300 bytes */
	b = out + 14 + 20 + 8;
	assert_memory_equal(b + 16, "\x0a\x00\x00\x05", 4); /* yiaddr */

	/* An ACK to an INFORM: no lease times, no yiaddr, ciaddr echoed. */
	req.ciaddr = 0x0a000005;
	rp.type = DHCP_ACK;
	rp.inform = true;
	len = dhcp_proto_build(&req, &rp, out, sizeof(out));
	assert_true(len > 0);
	opts = check_reply(out, len, smac, 0x0a000001, &optlen);
	assert_memory_equal(opts,
			    "\x35\x01\x05\x36\x04\x0a\x00\x00\x01\x01\x04", 11);
	b = out + 14 + 20 + 8;
	assert_memory_equal(b + 12, "\x0a\x00\x00\x05", 4); /* ciaddr */
	assert_memory_equal(b + 16, "\0\0\0\0", 4);

	/* A NAK: type and server id only. */
	rp.type = DHCP_NAK;
	rp.inform = false;
	len = dhcp_proto_build(&req, &rp, out, sizeof(out));
	assert_true(len > 0);
	opts = check_reply(out, len, smac, 0x0a000001, &optlen);
	assert_memory_equal(opts, want_nak, sizeof(want_nak));
	b = out + 14 + 20 + 8;
	assert_memory_equal(b + 16, "\0\0\0\0", 4);

	/* Not a reply type; no room. */
	rp.type = DHCP_REQUEST;
	assert_int_equal(dhcp_proto_build(&req, &rp, out, sizeof(out)),
			 -EINVAL);
	rp.type = DHCP_OFFER;
	assert_int_equal(dhcp_proto_build(&req, &rp, out, 300), -EMSGSIZE);
}

static void test_build_long_option(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	static const uint8_t discover[] = { 53, 1, 1 };
	uint32_t dns[64];
	struct dhcp_reply rp = { .type = DHCP_OFFER,
				 .prefix = 24,
				 .lease = 100,
				 .dns = dns,
				 .n_dns = 64 };
	uint8_t f[1600], out[1600];
	struct dhcp_request req;
	const uint8_t *opts;
	size_t n, optlen, i = 0;
	int len, seen = 0, total = 0;

	for (int k = 0; k < 64; k++)
		dns[k] = 0x01010101u * (uint32_t)(k + 1);
	n = client_frame(f, mac, 0, discover, sizeof(discover));
	assert_int_equal(dhcp_proto_parse(f, n, &req), 0);
	len = dhcp_proto_build(&req, &rp, out, sizeof(out));
	assert_true(len > 0);
	opts = check_reply(out, len, rp.server_mac, 0, &optlen);
	/* 256 bytes of DNS servers: two instances of option 6 (RFC 3396),
	 * 255 + 1 bytes, one after the other. */
	while (i < optlen && opts[i] != 255) {
		if (opts[i] == 6) {
			seen++;
			total += opts[i + 1];
			if (seen == 1)
				assert_int_equal(opts[i + 1], 255);
		}
		i += 2 + opts[i + 1];
	}
	assert_int_equal(seen, 2);
	assert_int_equal(total, 256);
}

/* The server's decisions. Port P on this host "h1", tap ifindex 10, MAC
 * fa:16:3e:11:22:33, 10.0.0.5 on a DHCP subnet whose gateway is router
 * r's interface; port Q (ifindex 11) only on a subnet without DHCP;
 * port Z (ifindex 12) without fixed IPs. */
#define P "aaaaaaaa-1111-4111-8111-111111111111"
#define Q "bbbbbbbb-2222-4222-8222-222222222222"
#define Z "cccccccc-3333-4333-8333-333333333333"
static const char *view_json =
	"[{\"key\": \"network:n\", \"kind\": \"network\", \"id\": \"n\","
	"  \"vni\": 5, \"mtu\": 1450},"
	" {\"key\": \"subnet:s\", \"kind\": \"subnet\", \"id\": \"s\","
	"  \"network_id\": \"n\", \"vni\": 5, \"cidr\": \"10.0.0.0/24\","
	"  \"gateway_ip\": \"10.0.0.1\", \"enable_dhcp\": true,"
	"  \"dns_nameservers\": [\"192.0.2.53\"],"
	"  \"host_routes\": [{\"destination\": \"172.16.0.0/12\","
	"                     \"nexthop\": \"10.0.0.9\"}],"
	"  \"dns_domain\": \"openstacklocal\", \"dhcp_server\": \"10.0.0.1\"},"
	" {\"key\": \"subnet:t\", \"kind\": \"subnet\", \"id\": \"t\","
	"  \"network_id\": \"n\", \"vni\": 5, \"cidr\": \"10.0.1.0/24\","
	"  \"gateway_ip\": null, \"enable_dhcp\": false},"
	" {\"key\": \"router:r\", \"kind\": \"router\", \"id\": \"r\","
	"  \"router_key\": 3, \"interfaces\": [{\"subnet_id\": \"s\","
	"   \"vni\": 5, \"ip\": \"10.0.0.1\", \"prefixlen\": 24,"
	"   \"mac\": \"fa:16:3e:00:01:01\"}]},"
	" {\"key\": \"port:" P "\", \"kind\": \"port\", \"id\": \"" P "\","
	"  \"network_id\": \"n\", \"vni\": 5, \"mac\": \"fa:16:3e:11:22:33\","
	"  \"ips\": [\"10.0.0.5\"], \"host\": \"h1\"},"
	" {\"key\": \"port:" Q "\", \"kind\": \"port\", \"id\": \"" Q "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:11:22:44\","
	"  \"ips\": [\"10.0.1.5\"], \"host\": \"h1\"},"
	" {\"key\": \"port:" Z "\", \"kind\": \"port\", \"id\": \"" Z "\","
	"  \"vni\": 5, \"mac\": \"fa:16:3e:11:22:55\", \"host\": \"h1\"}]";

static uint32_t taps(void *ctx, const char *name)
{
	if (!strcmp(name, "tapaaaaaaaa-11"))
		return 10;
	if (!strcmp(name, "tapbbbbbbbb-22"))
		return 11;
	if (!strcmp(name, "tapcccccccc-33"))
		return 12;
	return 0;
}

static enum dhcp_verdict decide(const struct hostview *v, uint32_t ifindex,
				const uint8_t mac[6], uint32_t ciaddr,
				const uint8_t *opts, size_t n, uint8_t *out)
{
	uint8_t f[1600];
	struct dhcp_answer a;
	size_t len = client_frame(f, mac, ciaddr, opts, n);

	dhcp_server_answer(v, "h1", taps, NULL, ifindex, f, len, out, 1600, &a);
	if (DHCP_VERDICT_ANSWERED(a.verdict))
		assert_true(a.len > 300);
	return a.verdict;
}

static void test_server(void **state)
{
	static const uint8_t mac[6] = { MAC_BYTES };
	static const uint8_t other[6] = { 0xfa, 0x16, 0x3e, 0x11, 0x22, 0x99 };
	static const uint8_t qmac[6] = { 0xfa, 0x16, 0x3e, 0x11, 0x22, 0x44 };
	static const uint8_t zmac[6] = { 0xfa, 0x16, 0x3e, 0x11, 0x22, 0x55 };
	static const uint8_t rmac[6] = { 0xfa, 0x16, 0x3e, 0, 1, 1 };
	static const uint8_t discover[] = { 53, 1, 1 };
	static const uint8_t select_ok[] = { 53, 1,  3, 54, 4, 10, 0, 0,
					     1,	 50, 4, 10, 0, 0,  5 };
	static const uint8_t select_other[] = { 53, 1,	3, 54, 4, 10, 0, 0,
						2,  50, 4, 10, 0, 0,  5 };
	static const uint8_t reboot_wrong[] = { 53, 1, 3, 50, 4, 10, 0, 0, 6 };
	static const uint8_t renew[] = { 53, 1, 3 };
	static const uint8_t inform[] = { 53, 1, 8 };
	static const uint8_t release[] = { 53, 1, 7, 54, 4, 10, 0, 0, 1 };
	static const uint8_t offer[] = { 53, 1, 2 };
	struct hostview v;
	json_t *objs = json_loads(view_json, 0, NULL);
	uint8_t out[1600];
	const uint8_t *opts;
	size_t optlen;

	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 1, objs), 0);
	json_decref(objs);

	assert_int_equal(decide(&v, 10, mac, 0, discover, 3, out),
			 DHCP_VERDICT_OFFER);
	/* From the router interface's MAC and the gateway address; the
	 * default route is in option 121, after the host route. */
	opts = check_reply(out, 14 + (out[16] << 8 | out[17]), rmac, 0x0a000001,
			   &optlen);
	{
		static const uint8_t tail[] = { 26,  2,	 5,  170, 121, 12, 12,
						172, 16, 10, 0,	  0,   9,  0,
						10,  0,	 0,  1,	  255 };
		const uint8_t *end = memchr(opts, 121, optlen);

		assert_non_null(end);
		assert_memory_equal(end - 4, tail, sizeof(tail));
	}
	assert_memory_equal(out + 14 + 20 + 8 + 16, "\x0a\x00\x00\x05", 4);

	assert_int_equal(
		decide(&v, 10, mac, 0, select_ok, sizeof(select_ok), out),
		DHCP_VERDICT_ACK);
	assert_int_equal(
		decide(&v, 10, mac, 0, select_other, sizeof(select_other), out),
		DHCP_VERDICT_OTHER_SERVER);
	assert_int_equal(
		decide(&v, 10, mac, 0, reboot_wrong, sizeof(reboot_wrong), out),
		DHCP_VERDICT_NAK);
	assert_int_equal(decide(&v, 10, mac, 0x0a000005, renew, 3, out),
			 DHCP_VERDICT_ACK);
	assert_int_equal(decide(&v, 10, mac, 0x0a000006, renew, 3, out),
			 DHCP_VERDICT_NAK);
	assert_int_equal(decide(&v, 10, mac, 0x0a000005, inform, 3, out),
			 DHCP_VERDICT_ACK);
	assert_null(memchr(out + 14 + 20 + 8 + 240, 51, 3)); /* no lease */
	assert_int_equal(decide(&v, 10, mac, 0x0a000006, inform, 3, out),
			 DHCP_VERDICT_WRONG_ADDRESS);
	assert_int_equal(
		decide(&v, 10, mac, 0x0a000005, release, sizeof(release), out),
		DHCP_VERDICT_RELEASE);
	assert_int_equal(decide(&v, 10, mac, 0, offer, 3, out),
			 DHCP_VERDICT_UNSUPPORTED);

	/* Another MAC on P's tap; an unknown device; Q and Z. */
	assert_int_equal(decide(&v, 10, other, 0, discover, 3, out),
			 DHCP_VERDICT_FOREIGN_MAC);
	assert_int_equal(decide(&v, 99, mac, 0, discover, 3, out),
			 DHCP_VERDICT_NOT_PORT);
	assert_int_equal(decide(&v, 11, qmac, 0, discover, 3, out),
			 DHCP_VERDICT_NO_DHCP_SUBNET);
	assert_int_equal(decide(&v, 12, zmac, 0, discover, 3, out),
			 DHCP_VERDICT_NO_DHCP_SUBNET);

	/* chaddr differs from the Ethernet source. */
	{
		uint8_t f[1600];
		struct dhcp_answer a;
		size_t len = client_frame(f, mac, 0, discover, 3);

		f[14 + 20 + 8 + 28 + 5] = 0x99;
		dhcp_server_answer(&v, "h1", taps, NULL, 10, f, len, out,
				   sizeof(out), &a);
		assert_int_equal(a.verdict, DHCP_VERDICT_FOREIGN_MAC);
		assert_string_equal(a.port->id, P);
		dhcp_server_answer(&v, "h1", taps, NULL, 10, f, 100, out,
				   sizeof(out), &a);
		assert_int_equal(a.verdict, DHCP_VERDICT_MALFORMED);
		dhcp_server_answer(&v, "h1", taps, NULL, 10, f, 1600, out,
				   sizeof(out), &a);
		assert_int_equal(a.verdict, DHCP_VERDICT_OVERSIZED);
	}
	hostview_destroy(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_captured),
		cmocka_unit_test(test_parse_requests),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_overload),
		cmocka_unit_test(test_classless_routes),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_build_long_option),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
