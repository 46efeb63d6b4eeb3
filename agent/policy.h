/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hostview.h"
#include "kvtab.h"

/*
 * The security group compiler (docs/security-groups.md, "The agent"): from
 * the IPv4 rules of the groups of this host's ports to the contents of the
 * datapath's sg_remote and sg_rules maps, and to one policy_gen per port.
 *
 * Per port and direction, every rule's remote set is a prefix (its
 * remote_ip_prefix), the members of its remote group (each a prefix; a
 * group not in the view has none), or any (no remote, or a /0). Each
 * distinct non-/0 prefix P gets an sg_remote entry naming a rule class:
 * the deduplicated (protocol, port range) of the rules whose remote
 * contains P. The rules that admit any remote form the 'any_class', named
 * by every entry of the port and by a /0 entry of its own. A class is
 * numbered by a hash of its content (collisions probed, never 0), so the
 * same set of rules is one class whatever the number of ports that use it,
 * and keeps its number across restarts.
 *
 * Use: policy_new(), policy_add_port() for each local port the policy
 * applies to, policy_finish() once, then policy_port_gen() per port.
 * Everything is computed in memory; nothing here touches the maps.
 */

struct policy;

/* Creates a compiler over view 'v' (which must outlive it: groups are
 * looked up there). Returns 0 and sets 'ret', or -ENOMEM. */
int policy_new(const struct hostview *v, struct policy **ret);
void policy_free(struct policy *p);

/* Compiles the rules of the groups of 'port' (its security_groups, looked
 * up in the view; an absent group has no rules) for the tap of index
 * 'ifindex'. A port with no rules at all gets no entries (the datapath
 * then refuses every new connection). Returns 0, -EEXIST when 'ifindex'
 * was already added, or -ENOMEM. */
int policy_add_port(struct policy *p, uint32_t ifindex,
		    const struct hostview_port *port);

/* Numbers the classes and writes the entries of every port added into
 * 'sg_remote' (struct weft_sg_remote_key -> struct weft_sg_remote) and
 * every class into 'sg_rules' (struct weft_sg_rule_key -> struct
 * weft_sg_rule). Call once. Returns 0 or -ENOMEM. */
int policy_finish(struct policy *p, struct kvtab *sg_remote,
		  struct kvtab *sg_rules);

/* After policy_finish(): the digest of the compiled policy of the port of
 * 'ifindex' (its set's sg_remote entries, the contents of the classes they
 * name, and its policy_id; the same on every run for the same rules and
 * members). 0 when that port was not added. */
uint32_t policy_port_gen(const struct policy *p, uint32_t ifindex);

/* After policy_finish(): the policy_id of the port of 'ifindex' (the key
 * of its rules in sg_remote, shared by every port with the same set of
 * groups; never 0), or 0 when that port was not added. */
uint32_t policy_port_id(const struct policy *p, uint32_t ifindex);

/* The number of distinct classes (for logs and tests). */
size_t policy_class_count(const struct policy *p);

/* One prefix of a port range: the 16-bit values whose first 'plen' bits
 * are those of 'port'. */
struct policy_port_prefix {
	uint16_t port;
	uint8_t plen; /* 0..16 */
};

/* The longest cover of a 16-bit range needs 2 * 16 - 2 prefixes. */
#define POLICY_COVER_MAX 30

/* Writes into 'out' the smallest set of prefixes whose union is exactly
 * 'lo'..'hi' (lo <= hi), in increasing order, and returns their number. */
size_t policy_port_cover(uint16_t lo, uint16_t hi,
			 struct policy_port_prefix out[POLICY_COVER_MAX]);
