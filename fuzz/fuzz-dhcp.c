/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the DHCP parser (agent/dhcp-proto.c): any frame is
 * either refused with -EBADMSG/-EMSGSIZE or parsed into a request whose
 * fields are sane, and a reply to a parsed request always builds into a
 * frame of the promised size. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t dns[] = { 0xc0000235 };
	static const struct dhcp_route routes[] = {
		{ 0xac100000, 12, 0x0a000009 },
		{ 0, 0, 0x0a000001 },
	};
	struct dhcp_request req;
	struct dhcp_reply rp = {
		.type = DHCP_OFFER,
		.server_id = 0x0a000001,
		.yiaddr = 0x0a000005,
		.prefix = 24,
		.has_router = true,
		.router = 0x0a000001,
		.dns = dns,
		.n_dns = 1,
		.domain = "openstacklocal",
		.mtu = 1450,
		.lease = 86400,
		.routes = routes,
		.n_routes = 2,
	};
	uint8_t *copy, out[DHCP_PROTO_MAX_FRAME];
	int r, len;

	/* An exact-size copy, so that ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = dhcp_proto_parse(copy, size, &req);
	free(copy);
	if (r == -EBADMSG || r == -EMSGSIZE)
		return 0;
	if (r != 0 || req.type < DHCP_DISCOVER || req.type > DHCP_INFORM ||
	    size > DHCP_PROTO_MAX_FRAME)
		abort();

	rp.type = req.type == DHCP_DISCOVER ? DHCP_OFFER : DHCP_ACK;
	rp.inform = req.type == DHCP_INFORM;
	len = dhcp_proto_build(&req, &rp, out, sizeof(out));
	if (len < 14 + 20 + 8 + 300 || len > (int)sizeof(out) ||
	    dhcp_proto_checksum(out + 14, 20, 0) != 0 ||
	    memcmp(out, req.chaddr, 6))
		abort();
	return 0;
}
