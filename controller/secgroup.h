/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * What the security group API (api-secgroups.c) and the host views
 * (view.c) must agree on about a rule: the protocols it may name and their
 * numbers, which of them have ports, and the remote prefix in its
 * normalized form (docs/security-groups.md).
 */

/* The number of "any protocol". */
#define SECGROUP_PROTOCOL_ANY (-1)

/* The longest normalized prefix, "ffff:...:ffff/128". */
#define SECGROUP_PREFIX_STRLEN 64

/*
 * Parses a rule's 'protocol': null or "any" (SECGROUP_PROTOCOL_ANY), a
 * name of the table (case-insensitive: "tcp", "icmp", "ipv6-icmp", ...),
 * or a number 0..255 as an integer or a decimal string. Returns 0 and sets
 * 'ret' to the number, or -EINVAL.
 */
int secgroup_protocol(json_t *protocol, int *ret);

/* Whether rules of protocol 'number' may give a port range (tcp, udp,
 * sctp, dccp, udplite). */
bool secgroup_protocol_has_ports(int number);

/* The names accepted, for error messages ("ah, dccp, ..."). */
const char *secgroup_protocol_names(void);

/*
 * Parses a remote prefix: an IPv4 or IPv6 address (a host prefix) or a
 * prefix "ADDR/LEN", host bits allowed. Returns 0, sets 'ret_family' to 4
 * or 6 and writes the prefix with its host bits cleared into 'normalized'
 * (SECGROUP_PREFIX_STRLEN bytes); or -EINVAL.
 */
int secgroup_prefix(const char *text, int *ret_family, char *normalized);
