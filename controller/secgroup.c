/* SPDX-License-Identifier: Apache-2.0 */
#include "secgroup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Neutron's protocol names (neutron-lib IP_PROTOCOL_MAP and its aliases). */
static const struct {
	const char *name;
	int number;
} protocols[] = {
	{ "ah", 51 },	      { "dccp", 33 },	    { "egp", 8 },
	{ "esp", 50 },	      { "gre", 47 },	    { "hopopt", 0 },
	{ "icmp", 1 },	      { "icmpv6", 58 },	    { "igmp", 2 },
	{ "ipip", 4 },	      { "ipv6-encap", 41 }, { "ipv6-frag", 44 },
	{ "ipv6-icmp", 58 },  { "ipv6-nonxt", 59 }, { "ipv6-opts", 60 },
	{ "ipv6-route", 43 }, { "ospf", 89 },	    { "pgm", 113 },
	{ "rsvp", 46 },	      { "sctp", 132 },	    { "tcp", 6 },
	{ "udp", 17 },	      { "udplite", 136 },   { "vrrp", 112 },
};

#define N_PROTOCOLS (sizeof(protocols) / sizeof(protocols[0]))

int secgroup_protocol(json_t *protocol, int *ret)
{
	const char *text;
	char *end;
	long n;

	if (!protocol || json_is_null(protocol)) {
		*ret = SECGROUP_PROTOCOL_ANY;
		return 0;
	}
	if (json_is_integer(protocol)) {
		if (json_integer_value(protocol) < 0 ||
		    json_integer_value(protocol) > 255)
			return -EINVAL;
		*ret = (int)json_integer_value(protocol);
		return 0;
	}
	text = json_string_value(protocol);
	if (!text || !text[0])
		return -EINVAL;
	if (!strcasecmp(text, "any")) {
		*ret = SECGROUP_PROTOCOL_ANY;
		return 0;
	}
	for (size_t i = 0; i < N_PROTOCOLS; i++) {
		if (!strcasecmp(text, protocols[i].name)) {
			*ret = protocols[i].number;
			return 0;
		}
	}
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	n = strtol(text, &end, 10);
	if (*end || n > 255)
		return -EINVAL;
	*ret = (int)n;
	return 0;
}

bool secgroup_protocol_has_ports(int number)
{
	return number == 6 || number == 17 || number == 132 || number == 33 ||
	       number == 136;
}

const char *secgroup_protocol_names(void)
{
	static char names[256];

	if (!names[0])
		for (size_t i = 0; i < N_PROTOCOLS; i++)
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", protocols[i].name);
	return names;
}

/* Clears the bits of 'addr' ('len' bytes) beyond 'prefix'. */
static void clear_host_bits(uint8_t *addr, size_t len, int prefix)
{
	for (size_t i = 0; i < len; i++) {
		int keep = prefix - (int)i * 8;

		if (keep <= 0)
			addr[i] = 0;
		else if (keep < 8)
			addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

int secgroup_prefix(const char *text, int *ret_family, char *normalized)
{
	char addr_text[INET6_ADDRSTRLEN + 1], out[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	uint8_t addr[16];
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	int family, max, prefix;
	char *end;

	if (n == 0 || n >= sizeof(addr_text))
		return -EINVAL;
	memcpy(addr_text, text, n);
	addr_text[n] = '\0';
	if (inet_pton(AF_INET, addr_text, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr_text, addr) == 1)
		family = AF_INET6;
	else
		return -EINVAL;
	max = family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		prefix = (int)strtol(slash + 1, &end, 10);
		if (*end || prefix > max)
			return -EINVAL;
	}
	clear_host_bits(addr, (size_t)max / 8, prefix);
	inet_ntop(family, addr, out, sizeof(out));
	snprintf(normalized, SECGROUP_PREFIX_STRLEN, "%s/%d", out, prefix);
	*ret_family = family == AF_INET ? 4 : 6;
	return 0;
}
