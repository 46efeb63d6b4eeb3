/* SPDX-License-Identifier: Apache-2.0 */
#include "netaddr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int netaddr_parse_ipv4(const char *s, uint32_t *ret)
{
	uint32_t ip = 0;

	if (!s)
		return -EINVAL;
	for (int part = 0; part < 4; part++) {
		unsigned value = 0;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			if (digits > 0 && value == 0)
				return -EINVAL; /* leading zero */
			value = value * 10 + (unsigned)(*s - '0');
			if (value > 255)
				return -EINVAL;
			digits++;
			s++;
		}
		if (digits == 0)
			return -EINVAL;
		ip = ip << 8 | value;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	*ret = ip;
	return 0;
}

void netaddr_format_ipv4(uint32_t ip, char *buf)
{
	snprintf(buf, NETADDR_IPV4_STRLEN, "%u.%u.%u.%u", ip >> 24,
		 (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

uint32_t netaddr_mask(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int netaddr_parse_cidr4(const char *s, bool strict, uint32_t *ret_addr,
			int *ret_prefix)
{
	char addr[NETADDR_IPV4_STRLEN];
	const char *slash;
	char *end;
	uint32_t ip;
	long prefix;
	size_t len;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	len = (size_t)(slash - s);
	if (len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (netaddr_parse_ipv4(addr, &ip) < 0)
		return -EINVAL;
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (errno || *end || prefix < 0 || prefix > 32 ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -EINVAL;
	if (strict && (ip & ~netaddr_mask((int)prefix)))
		return -EINVAL;
	*ret_addr = ip;
	*ret_prefix = (int)prefix;
	return 0;
}

bool netaddr_in_prefix(uint32_t ip, uint32_t net, int prefix)
{
	uint32_t mask = netaddr_mask(prefix);

	return (ip & mask) == (net & mask);
}

bool netaddr_prefixes_overlap(uint32_t a, int alen, uint32_t b, int blen)
{
	int shorter = alen < blen ? alen : blen;

	return netaddr_in_prefix(a, b, shorter);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int netaddr_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t out[6];

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && s[i * 3 + 2] != ':')
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, out, 6);
	return 0;
}

void netaddr_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, NETADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}
