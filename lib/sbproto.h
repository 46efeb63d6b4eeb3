/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The southbound protocol between weftd and weft-agent (docs/southbound.md):
 * line framing, validation of received messages and construction of the
 * messages to send. Shared by both ends so that they agree on what a valid
 * message is; it does no I/O and keeps no state.
 *
 * Receiving, on either side:
 *
 *	size_t len;
 *	int r = sbproto_line_length(buf, buf_len, &len);
 *	if (r < 0)          the peer sent a line over SBPROTO_MAX_LINE: close
 *	else if (r == 0)    no complete line yet: read more
 *	else {
 *		struct sbproto_msg msg;
 *		char why[256];
 *
 *		if (sbproto_parse(buf, len, SBPROTO_FROM_WEFTD, &msg, why,
 *				  sizeof(why)) < 0)
 *			log why and close the connection;
 *		... use msg.type and its fields ...
 *		sbproto_msg_destroy(&msg);
 *		consume len + 1 bytes (the line and its '\n');
 *	}
 *
 * Sending: build a message with one of the sbproto_*_new() functions (or by
 * hand), then sbproto_format() it into one '\n'-terminated line.
 *
 * Unknown members of a message are ignored (a newer peer may add some);
 * a missing member that the type requires, a member of the wrong type or
 * value, an unknown type, or a type that the sender's side never sends is
 * a protocol violation.
 */

/* The protocol version carried by hello. */
#define SBPROTO_VERSION 1

/* The longest line, without its '\n'. */
#define SBPROTO_MAX_LINE (1024 * 1024)

/* Who sent a line: the types each side may send differ, and heartbeat
 * carries a revision only from weftd. */
enum sbproto_sender {
	SBPROTO_FROM_AGENT,
	SBPROTO_FROM_WEFTD,
};

enum sbproto_type {
	/* Agent -> weftd. */
	SBPROTO_HELLO,
	SBPROTO_PORT_STATUS,
	SBPROTO_STATS_REPLY,
	SBPROTO_CONNTRACK_REPLY,
	/* Both ways. */
	SBPROTO_HEARTBEAT,
	/* weftd -> agent. */
	SBPROTO_SNAPSHOT,
	SBPROTO_DELTA,
	SBPROTO_STATS_REQUEST,
	SBPROTO_CONNTRACK_REQUEST,
};

/*
 * A parsed and validated message. Only the members of its type are set;
 * the others are zero or NULL. Strings and JSON values are borrowed from
 * 'json' and live until sbproto_msg_destroy().
 */
struct sbproto_msg {
	enum sbproto_type type;
	/* The whole message (owned). */
	json_t *json;

	/* hello: 'version' (== SBPROTO_VERSION), 'host' (1..255 bytes, no
	 * whitespace or control characters), 'underlay_ip' (dotted quad),
	 * 'revision', 'gateway' (false when absent) and 'uplink_ip' (a dotted
	 * quad, required with 'gateway' true: the address of the gateway's
	 * uplink; NULL on hypervisors). */
	int version;
	const char *host;
	const char *underlay_ip;
	bool gateway;
	const char *uplink_ip;

	/* hello, heartbeat (from weftd), snapshot, delta: a revision >= 0.
	 * A heartbeat from an agent has none (0). */
	uint64_t revision;

	/* port_status: 'port_id' (a lower-case UUID) and 'status', "ACTIVE"
	 * or "DOWN". */
	const char *port_id;
	const char *status;

	/* stats_request: 'request_id' >= 0 and either 'port_id' (a port's
	 * counters) or 'devices' true (the counters of the host's devices,
	 * docs/gateways.md; 'port_id' is then NULL). stats_reply: 'request_id'
	 * and either 'stats' (an object) or 'error' (a string). With 'stats',
	 * 'port_id' names the port answered for; when it is absent (NULL) the
	 * reply answers a device request and 'stats' holds "tunnel" (an
	 * object) and, on a gateway, "uplink" (an object). With 'error',
	 * 'port_id' may be absent. */
	uint64_t request_id;
	bool devices;
	json_t *stats;
	const char *error;

	/* conntrack_request: 'request_id' and an optional 'port_id' (NULL
	 * when absent: every local port). conntrack_reply: 'request_id' and
	 * either 'entries' (an array of objects) with 'truncated' (false when
	 * absent), or 'error' (a string; 'entries' is then NULL). */
	json_t *entries;
	bool truncated;

	/* snapshot: 'objects', an array of view objects, each valid for
	 * sbproto_check_object() and with a key unique in the array.
	 * delta: 'upsert' (such objects, keys unique) and 'deletes' (an
	 * array of key strings). */
	json_t *objects;
	json_t *upsert;
	json_t *deletes;
};

/*
 * Framing. Looks for the end of the first line in 'buf' ('len' bytes
 * received so far). Returns 1 and sets 'ret' to the line's length without
 * its '\n' when a complete line is there; 0 when more bytes are needed;
 * -EMSGSIZE when the line is (or will be, the buffer already holding more
 * than SBPROTO_MAX_LINE bytes without a '\n') longer than SBPROTO_MAX_LINE.
 */
int sbproto_line_length(const char *buf, size_t len, size_t *ret);

/*
 * Parses and validates one line ('line', 'len' bytes, without its '\n';
 * it need not be NUL-terminated) sent by 'from'. Returns 0 and fills
 * 'ret', to be released with sbproto_msg_destroy(); or a negative errno
 * with a one-line reason in 'errmsg' (may be NULL), 'ret' untouched:
 * -EMSGSIZE (longer than SBPROTO_MAX_LINE), -EBADMSG (not a JSON object,
 * or not UTF-8) or -EPROTO (no or unknown type, a type 'from' never
 * sends, a missing or invalid member).
 */
int sbproto_parse(const char *line, size_t len, enum sbproto_sender from,
		  struct sbproto_msg *ret, char *errmsg, size_t errmsg_len);

/* Releases what sbproto_parse() filled; accepts a zeroed 'msg'. */
void sbproto_msg_destroy(struct sbproto_msg *msg);

/* The wire name of 'type' ("hello", "stats_reply", ...). */
const char *sbproto_type_name(enum sbproto_type type);

/*
 * Checks one object of a view (docs/southbound.md, "Objects of a view"):
 * its "kind" is "host", "network", "port", "subnet", "router",
 * "secgroup", "gateway" or "floatingip" (docs/gateways.md), its
 * "key" is "host:NAME", "gateway:NAME" or "KIND:ID" accordingly, and it
 * has every member
 * of its kind with the right type and a valid value (UUIDs, VNI
 * 1..2^24-2 (2^24-1 is WEFT_VNI_HANDOFF, never a network's), MTU
 * 68..65535, MAC, IPv4 addresses, prefixes with their host
 * bits zero, the tap name "tap" + 11 characters of the port id, a router
 * key 1..2^32-1, a dns_domain of letters, digits, '-' and '.', a port's
 * optional "security_groups" list of UUIDs, a secgroup's rules and
 * members as in docs/security-groups.md, a router's optional
 * "external_gateway" null or {network_id, ip, mac, enable_snat}, a
 * gateway's slot 0..15 and alive flag, a floating IP's router_key, vni
 * and fixed_ip_address all null or all set). Unknown
 * members are allowed. Returns 0, or -EPROTO with a
 * reason in 'errmsg' (may be NULL).
 */
int sbproto_check_object(json_t *obj, char *errmsg, size_t errmsg_len);

/* True when 's' is a UUID in lower-case canonical form. */
bool sbproto_is_uuid(const char *s);

/*
 * Serialises 'msg' (a JSON object with a "type") as one compact line with
 * its '\n'. Returns 0 and sets 'ret' (free with free()) and 'ret_len'
 * (bytes, '\n' included), -EMSGSIZE when the line would be longer than
 * SBPROTO_MAX_LINE, -EINVAL when 'msg' is not an object, or -ENOMEM. The
 * message is not validated: build it with the functions below.
 */
int sbproto_format(json_t *msg, char **ret, size_t *ret_len);

/*
 * Message builders. Each returns a new reference, or NULL when out of
 * memory or when a string is not UTF-8. Arguments of type json_t * are
 * borrowed (the message takes its own reference).
 */
json_t *sbproto_hello_new(const char *host, const char *underlay_ip,
			  uint64_t revision, bool gateway);
/* The hello of an agent in the gateway role: "gateway": true and its
 * uplink's address 'uplink_ip'. */
json_t *sbproto_gateway_hello_new(const char *host, const char *underlay_ip,
				  uint64_t revision, const char *uplink_ip);
/* An agent's heartbeat: {"type": "heartbeat"}. */
json_t *sbproto_agent_heartbeat_new(void);
json_t *sbproto_port_status_new(const char *port_id, bool active);
/* An agent's answer to stats_request: the counters of port 'port_id', or,
 * when 'port_id' is NULL, of its devices ({"tunnel": {...}, "uplink":
 * {...}}). */
json_t *sbproto_stats_reply_new(uint64_t request_id, const char *port_id,
				json_t *stats);
json_t *sbproto_stats_error_new(uint64_t request_id, const char *error);
/* weftd's heartbeat: {"type": "heartbeat", "revision": R}. */
json_t *sbproto_heartbeat_new(uint64_t revision);
json_t *sbproto_snapshot_new(uint64_t revision, json_t *objects);
json_t *sbproto_delta_new(uint64_t revision, json_t *upsert, json_t *deletes);
json_t *sbproto_stats_request_new(uint64_t request_id, const char *port_id);
/* weftd's request for the counters of the host's devices ("devices": true). */
json_t *sbproto_device_stats_request_new(uint64_t request_id);
/* weftd's request for the conntrack entries of one local port ('port_id')
 * or, when 'port_id' is NULL, of every local port. */
json_t *sbproto_conntrack_request_new(uint64_t request_id, const char *port_id);
/* An agent's answer to conntrack_request: 'entries' (an array of entry
 * objects, docs/security-groups.md) is stolen, even on failure;
 * 'truncated' says that there were more entries than sent. */
json_t *sbproto_conntrack_reply_new(uint64_t request_id, json_t *entries,
				    bool truncated);
/* An agent's answer to conntrack_request when it cannot read its table. */
json_t *sbproto_conntrack_reply_error_new(uint64_t request_id,
					  const char *error);
