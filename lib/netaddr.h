/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * Parsing and formatting of IPv4 addresses, IPv4 prefixes and Ethernet
 * addresses, strictly: the text forms accepted are the canonical ones the
 * Networking API uses. Addresses are kept in host byte order.
 */

#define NETADDR_IPV4_STRLEN 16
#define NETADDR_MAC_STRLEN 18

/* Parses dotted-quad 's' (exactly four decimal parts, no leading zeros).
 * Returns 0 and sets 'ret', or -EINVAL. */
int netaddr_parse_ipv4(const char *s, uint32_t *ret);

/* Writes 'ip' in dotted-quad form into 'buf' (NETADDR_IPV4_STRLEN bytes). */
void netaddr_format_ipv4(uint32_t ip, char *buf);

/* Parses "A.B.C.D/N". With 'strict', host bits beyond the prefix must be
 * zero (as a subnet's cidr must be). Returns 0 and sets 'ret_addr' and
 * 'ret_prefix', or -EINVAL. */
int netaddr_parse_cidr4(const char *s, bool strict, uint32_t *ret_addr,
			int *ret_prefix);

/* The netmask of a prefix length 0..32. */
uint32_t netaddr_mask(int prefix);

/* True when 'ip' lies within 'net'/'prefix'. */
bool netaddr_in_prefix(uint32_t ip, uint32_t net, int prefix);

/* True when the two prefixes share any address. */
bool netaddr_prefixes_overlap(uint32_t a, int alen, uint32_t b, int blen);

/* Parses "aa:bb:cc:dd:ee:ff" (hex digits in either case). Returns 0 and
 * fills 'mac', or -EINVAL. */
int netaddr_parse_mac(const char *s, uint8_t mac[6]);

/* Writes 'mac' in lower-case colon form into 'buf' (NETADDR_MAC_STRLEN). */
void netaddr_format_mac(const uint8_t mac[6], char *buf);
