/* SPDX-License-Identifier: Apache-2.0 */
#include "conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "drop-reasons.h"
#include "netaddr.h"

uint64_t conntrack_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *conntrack_state_name(uint8_t state)
{
	static const char *const names[] = {
		[WEFT_CT_SYN_SENT] = "SYN_SENT",
		[WEFT_CT_SYN_RECV] = "SYN_RECV",
		[WEFT_CT_ESTABLISHED] = "ESTABLISHED",
		[WEFT_CT_FIN_WAIT] = "FIN_WAIT",
		[WEFT_CT_TIME_WAIT] = "TIME_WAIT",
		[WEFT_CT_UNREPLIED] = "UNREPLIED",
		[WEFT_CT_REPLIED] = "REPLIED",
	};

	if (state >= sizeof(names) / sizeof(names[0]) || !names[state])
		return "UNKNOWN";
	return names[state];
}

bool conntrack_is_dead(const struct weft_ct_entry *e, uint64_t now_ns,
		       const struct kvtab *ports)
{
	__u32 ifindex = e->ifindex;
	const struct weft_port *port = kvtab_get(ports, &ifindex);

	return e->expires_ns < now_ns || !port ||
	       !(port->flags & WEFT_PORT_F_POLICY);
}

const char *conntrack_proto_name(uint8_t proto, char buf[4])
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	default:
		snprintf(buf, 4, "%u", proto);
		return buf;
	}
}

int conntrack_drop_event_format(const struct weft_drop_event *ev,
				const char *port_id, char *buf, size_t len)
{
	char src[NETADDR_IPV4_STRLEN], dst[NETADDR_IPV4_STRLEN], num[4];
	const char *reason =
		drop_reason_name((enum weft_drop_reason)ev->reason);
	int n;

	netaddr_format_ipv4(ntohl(ev->saddr), src);
	netaddr_format_ipv4(ntohl(ev->daddr), dst);
	if (ev->sport || ev->dport)
		n = snprintf(buf, len, "%s %s %s %s:%u -> %s:%u", port_id,
			     reason ? reason : "unknown",
			     conntrack_proto_name(ev->proto, num), src,
			     ntohs(ev->sport), dst, ntohs(ev->dport));
	else
		n = snprintf(buf, len, "%s %s %s %s -> %s", port_id,
			     reason ? reason : "unknown",
			     conntrack_proto_name(ev->proto, num), src, dst);
	if (n >= 0 && (size_t)n < len && ev->suppressed)
		n += snprintf(buf + n, len - (size_t)n, " (%u more not logged)",
			      ev->suppressed);
	return n;
}

json_t *conntrack_entry_json(const struct weft_ct_key *key,
			     const struct weft_ct_entry *e, const char *port_id,
			     uint64_t now_ns)
{
	char src[NETADDR_IPV4_STRLEN], dst[NETADDR_IPV4_STRLEN], proto[4];
	json_t *o;

	netaddr_format_ipv4(ntohl(key->saddr), src);
	netaddr_format_ipv4(ntohl(key->daddr), dst);
	o = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
		"port_id", port_id, "direction",
		key->dir == WEFT_CT_EGRESS ? "egress" : "ingress", "protocol",
		conntrack_proto_name(key->proto, proto), "src", src, "dst", dst,
		"state", conntrack_state_name(e->state), "expires_in",
		(json_int_t)(e->expires_ns > now_ns ?
				     (e->expires_ns - now_ns) / 1000000000u :
				     0),
		"packets_orig", (json_int_t)e->packets[0], "bytes_orig",
		(json_int_t)e->bytes[0], "packets_reply",
		(json_int_t)e->packets[1], "bytes_reply",
		(json_int_t)e->bytes[1]);
	if (!o)
		return NULL;
	/* An echo request holds its id in sport, a reply in dport. */
	if ((key->proto == 1 &&
	     json_object_set_new(
		     o, "icmp_id",
		     json_integer(ntohs(key->sport | key->dport)))) ||
	    (key->proto != 1 &&
	     (json_object_set_new(o, "sport",
				  json_integer(ntohs(key->sport))) ||
	      json_object_set_new(o, "dport",
				  json_integer(ntohs(key->dport)))))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int conntrack_list_init(struct conntrack_list *l, const struct kvtab *port_ids,
			uint32_t only_ifindex, uint64_t now_ns)
{
	*l = (struct conntrack_list){ .port_ids = port_ids,
				      .only_ifindex = only_ifindex,
				      .now_ns = now_ns };
	l->entries = json_array();
	return l->entries ? 0 : -ENOMEM;
}

void conntrack_list_destroy(struct conntrack_list *l)
{
	json_decref(l->entries);
	l->entries = NULL;
}

bool conntrack_list_add(struct conntrack_list *l, const struct weft_ct_key *key,
			const struct weft_ct_entry *e)
{
	__u32 ifindex = e->ifindex;
	const char *port_id = kvtab_get(l->port_ids, &ifindex);
	json_t *j;

	if (!port_id || (l->only_ifindex && ifindex != l->only_ifindex) ||
	    e->expires_ns <= l->now_ns)
		return true;
	if (json_array_size(l->entries) >= CONNTRACK_MAX_ENTRIES) {
		l->truncated = true;
		return false;
	}
	j = conntrack_entry_json(key, e, port_id, l->now_ns);
	if (!j || json_array_append_new(l->entries, j) < 0) {
		l->error = -ENOMEM;
		return false;
	}
	return true;
}
