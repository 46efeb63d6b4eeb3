/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the address parsers: whatever they accept must
 * format back to a string they accept again with the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[64], buf[64];
	uint32_t ip, ip2, net;
	uint8_t mac[6], mac2[6];
	int plen;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (netaddr_parse_ipv4(text, &ip) == 0) {
		netaddr_format_ipv4(ip, buf);
		if (strcmp(buf, text) || netaddr_parse_ipv4(buf, &ip2) ||
		    ip2 != ip)
			abort();
	}
	if (netaddr_parse_cidr4(text, true, &net, &plen) == 0 &&
	    (plen < 0 || plen > 32 || (net & ~netaddr_mask(plen))))
		abort();
	if (netaddr_parse_mac(text, mac) == 0) {
		netaddr_format_mac(mac, buf);
		if (netaddr_parse_mac(buf, mac2) || memcmp(mac, mac2, 6))
			abort();
	}
	return 0;
}
