/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * DHCPv4 messages as the agent's DHCP server sees them (RFC 2131, 2132,
 * 3442): parsing a client's request from a whole Ethernet frame, and
 * building the whole Ethernet frame of the server's reply. No I/O, no
 * state, no logging: agent/dhcp.c does the rest (docs/dhcp.md).
 *
 * Addresses are in host byte order.
 */

/* A frame longer than this (the IPv4 packet over 1500 bytes) is refused. */
#define DHCP_PROTO_MAX_IP_LEN 1500
#define DHCP_PROTO_MAX_FRAME (14 + DHCP_PROTO_MAX_IP_LEN)

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* Message types (option 53). */
enum dhcp_msg_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

/* A client's message, from a frame that dhcp_proto_parse() accepted. */
struct dhcp_request {
	uint8_t eth_src[6];
	uint8_t eth_dst[6];
	uint32_t ip_src;
	uint32_t ip_dst;
	enum dhcp_msg_type type; /* 1..8 */
	uint32_t xid; /* as on the wire (echoed back as is) */
	uint16_t flags; /* host order; bit 15 is BROADCAST */
	uint32_t ciaddr;
	uint32_t giaddr;
	uint8_t chaddr[6];
	bool has_requested_ip; /* option 50 */
	uint32_t requested_ip;
	bool has_server_id; /* option 54 */
	uint32_t server_id;
};

/*
 * Parses 'frame' ('len' bytes, an Ethernet frame as an AF_PACKET socket
 * returns it) as a DHCP client message: Ethernet II with type IPv4; an
 * IPv4 header that is valid (version, length, header checksum), not a
 * fragment, UDP, total length within the frame; UDP to port 67 with a
 * length that fits; a BOOTREQUEST for Ethernet (htype 1, hlen 6) with the
 * magic cookie and well-formed options (each within the field it is in,
 * with option 52's overload of 'file' and 'sname' followed) including a
 * valid message type (53). The UDP checksum is not checked: a frame taken
 * from a veth before the kernel filled it in carries a partial one.
 *
 * Returns 0 and fills 'ret'; -EMSGSIZE when the frame or the IPv4 packet
 * is larger than DHCP_PROTO_MAX_FRAME / DHCP_PROTO_MAX_IP_LEN; -EBADMSG
 * for anything else.
 */
int dhcp_proto_parse(const uint8_t *frame, size_t len,
		     struct dhcp_request *ret);

/* A classless static route (option 121). */
struct dhcp_route {
	uint32_t dest;
	int prefix; /* 0..32 */
	uint32_t router;
};

/* What the server says in a reply. */
struct dhcp_reply {
	enum dhcp_msg_type type; /* DHCP_OFFER, DHCP_ACK or DHCP_NAK */
	bool inform; /* an ACK to an INFORM: no address, no lease */
	uint8_t server_mac[6];
	uint32_t server_id; /* option 54, and the IP source */
	uint32_t yiaddr;
	int prefix; /* option 1 */
	bool has_router;
	uint32_t router; /* option 3 */
	const uint32_t *dns; /* option 6 (none: left out) */
	size_t n_dns;
	const char *domain; /* option 15 (NULL or "": left out) */
	uint16_t mtu; /* option 26 (0: left out) */
	uint32_t lease; /* option 51, seconds; 58 and 59 are 1/2, 7/8 */
	const struct dhcp_route *routes; /* option 121 (none: left out) */
	size_t n_routes;
};

/*
 * Builds into 'buf' ('size' bytes) the Ethernet frame of 'reply' to
 * 'req': Ethernet from 'reply->server_mac' to the client's chaddr, IPv4
 * from 'server_id' to 255.255.255.255, UDP 67 -> 68 with both checksums,
 * and a BOOTREPLY echoing xid, flags, giaddr and chaddr (and ciaddr for an
 * INFORM). Options, in this order: 53, 54, then for an OFFER or ACK 51,
 * 58, 59 (not for an INFORM), 1, 3, 6, 15, 26, 121; a NAK carries 53 and
 * 54 only; then 255. An option longer than 255 bytes is split into
 * consecutive instances (RFC 3396).
 *
 * Returns the frame's length, or -EMSGSIZE when it does not fit in 'size'
 * or in DHCP_PROTO_MAX_FRAME, or -EINVAL for a type that is not a reply.
 */
int dhcp_proto_build(const struct dhcp_request *req,
		     const struct dhcp_reply *reply, uint8_t *buf, size_t size);

/*
 * Encodes 'n' routes as the value of option 121 (RFC 3442: the prefix
 * length, the significant octets of the destination, the router) into
 * 'buf' ('size' bytes). Returns the number of bytes, or -EMSGSIZE.
 */
int dhcp_proto_classless_routes(const struct dhcp_route *routes, size_t n,
				uint8_t *buf, size_t size);

/* The Internet checksum (RFC 1071) of 'len' bytes, folded, with 'sum' as
 * the initial partial sum; in network byte order as read from memory. */
uint16_t dhcp_proto_checksum(const void *data, size_t len, uint32_t sum);
