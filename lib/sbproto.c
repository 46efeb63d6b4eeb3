/* SPDX-License-Identifier: Apache-2.0 */
#include "sbproto.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/weft.h"
#include "netaddr.h"

/* WEFT_VNI_HANDOFF (0xffffff) carries gateways' hand-offs: never a
 * network's VNI. */
#define VNI_MAX (WEFT_VNI_HANDOFF - 1)
#define MTU_MIN 68
#define MTU_MAX 65535
#define HOST_MAX 255
#define TAP_ID_CHARS 11
#define DOMAIN_MAX 253
#define ROUTER_KEY_MAX 0xffffffffLL
#define SBPROTO_INT_MAX INT64_MAX

static const char *const type_names[] = {
	[SBPROTO_HELLO] = "hello",
	[SBPROTO_PORT_STATUS] = "port_status",
	[SBPROTO_STATS_REPLY] = "stats_reply",
	[SBPROTO_CONNTRACK_REPLY] = "conntrack_reply",
	[SBPROTO_HEARTBEAT] = "heartbeat",
	[SBPROTO_SNAPSHOT] = "snapshot",
	[SBPROTO_DELTA] = "delta",
	[SBPROTO_STATS_REQUEST] = "stats_request",
	[SBPROTO_CONNTRACK_REQUEST] = "conntrack_request",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *sbproto_type_name(enum sbproto_type type)
{
	return (size_t)type < N_TYPES ? type_names[type] : "?";
}

static bool sent_by(enum sbproto_type type, enum sbproto_sender from)
{
	switch (type) {
	case SBPROTO_HELLO:
	case SBPROTO_PORT_STATUS:
	case SBPROTO_STATS_REPLY:
	case SBPROTO_CONNTRACK_REPLY:
		return from == SBPROTO_FROM_AGENT;
	case SBPROTO_HEARTBEAT:
		return true;
	default:
		return from == SBPROTO_FROM_WEFTD;
	}
}

/* Fills 'errmsg' (when not NULL) and returns 'r'. */
static int fail(int r, char *errmsg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int r, char *errmsg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (errmsg && len) {
		va_start(ap, fmt);
		vsnprintf(errmsg, len, fmt, ap);
		va_end(ap);
	}
	return r;
}

int sbproto_line_length(const char *buf, size_t len, size_t *ret)
{
	size_t scan = len < SBPROTO_MAX_LINE + 1 ? len : SBPROTO_MAX_LINE + 1;
	const char *nl = memchr(buf, '\n', scan);

	if (nl) {
		*ret = (size_t)(nl - buf);
		return 1;
	}
	return len > SBPROTO_MAX_LINE ? -EMSGSIZE : 0;
}

bool sbproto_is_uuid(const char *s)
{
	static const int dashes[] = { 8, 13, 18, 23 };
	size_t d = 0;

	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (d < 4 && i == dashes[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i]) ||
			   isupper((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool valid_host_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HOST_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Member accessors: each returns 0 and sets 'ret', or fails with a reason
 * naming the member. 'required' false lets the member be absent (then
 * 'ret' is left alone). */
struct checker {
	json_t *obj;
	const char *what; /* "hello", "port object", ... */
	char *errmsg;
	size_t len;
};

static int missing_or_wrong(struct checker *c, const char *name, json_t *v,
			    const char *expected)
{
	if (!v)
		return fail(-EPROTO, c->errmsg, c->len, "%s: missing '%s'",
			    c->what, name);
	return fail(-EPROTO, c->errmsg, c->len, "%s: '%s' is not %s", c->what,
		    name, expected);
}

static int get_string(struct checker *c, const char *name, bool required,
		      const char **ret)
{
	json_t *v = json_object_get(c->obj, name);

	if (!v && !required)
		return 0;
	if (!json_is_string(v))
		return missing_or_wrong(c, name, v, "a string");
	*ret = json_string_value(v);
	return 0;
}

static int get_int(struct checker *c, const char *name, json_int_t min,
		   json_int_t max, json_int_t *ret)
{
	json_t *v = json_object_get(c->obj, name);

	if (!json_is_integer(v))
		return missing_or_wrong(c, name, v, "an integer");
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: '%s' %" JSON_INTEGER_FORMAT
			    " is out of range %" JSON_INTEGER_FORMAT
			    "..%" JSON_INTEGER_FORMAT,
			    c->what, name, json_integer_value(v), min, max);
	*ret = json_integer_value(v);
	return 0;
}

static int get_bool(struct checker *c, const char *name, bool required,
		    bool *ret)
{
	json_t *v = json_object_get(c->obj, name);

	if (!v && !required)
		return 0;
	if (!json_is_boolean(v))
		return missing_or_wrong(c, name, v, "a boolean");
	*ret = json_is_true(v);
	return 0;
}

static int get_typed(struct checker *c, const char *name, json_type type,
		     json_t **ret)
{
	json_t *v = json_object_get(c->obj, name);

	if (!v || json_typeof(v) != type)
		return missing_or_wrong(c, name, v,
					type == JSON_ARRAY ? "a list" :
							     "an object");
	*ret = v;
	return 0;
}

static int get_uuid(struct checker *c, const char *name, const char **ret)
{
	const char *s = NULL;
	int r = get_string(c, name, true, &s);

	if (r < 0)
		return r;
	if (!sbproto_is_uuid(s))
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: '%s' is not a lower-case UUID", c->what, name);
	*ret = s;
	return 0;
}

static int get_ipv4(struct checker *c, const char *name, const char **ret)
{
	const char *s = NULL;
	uint32_t ip;
	int r = get_string(c, name, true, &s);

	if (r < 0)
		return r;
	if (netaddr_parse_ipv4(s, &ip) < 0)
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: '%s' is not an IPv4 address", c->what, name);
	*ret = s;
	return 0;
}

static int get_revision(struct checker *c, uint64_t *ret)
{
	json_int_t v;
	int r = get_int(c, "revision", 0, SBPROTO_INT_MAX, &v);

	if (r == 0)
		*ret = (uint64_t)v;
	return r;
}

static int get_request_id(struct checker *c, uint64_t *ret)
{
	json_int_t v;
	int r = get_int(c, "request_id", 0, SBPROTO_INT_MAX, &v);

	if (r == 0)
		*ret = (uint64_t)v;
	return r;
}

/* Checks that 'key' is "PREFIX:REST" with REST equal to 'want'. */
static int check_key(struct checker *c, const char *key, const char *prefix,
		     const char *want)
{
	size_t n = strlen(prefix);

	if (strncmp(key, prefix, n) || key[n] != ':' ||
	    strcmp(key + n + 1, want))
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: key '%.80s' is not '%s:%.80s'", c->what, key,
			    prefix, want);
	return 0;
}

/* Checks the members that host and gateway objects share: a host 'name'
 * and its 'underlay_ip'; the key is "'kind':NAME". */
static int check_named_host(struct checker *c, const char *key,
			    const char *kind)
{
	const char *name = NULL, *ip;
	int r;

	if ((r = get_string(c, "name", true, &name)) < 0 ||
	    (r = get_ipv4(c, "underlay_ip", &ip)) < 0)
		return r;
	if (!valid_host_name(name))
		return fail(-EPROTO, c->errmsg, c->len, "%s: invalid name",
			    c->what);
	return check_key(c, key, kind, name);
}

static int check_host_object(struct checker *c, const char *key)
{
	c->what = "host object";
	return check_named_host(c, key, "host");
}

static int check_network_object(struct checker *c, const char *key)
{
	const char *id;
	json_int_t v;
	int r;

	c->what = "network object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_int(c, "vni", 1, VNI_MAX, &v)) < 0 ||
	    (r = get_int(c, "mtu", MTU_MIN, MTU_MAX, &v)) < 0)
		return r;
	return check_key(c, key, "network", id);
}

/* True when 's' is a dotted quad or an IPv4 prefix (host bits allowed, as
 * an allowed address pair's ip_address is kept as given). */
static bool is_ipv4_or_cidr(const char *s)
{
	uint32_t a;
	int plen;

	return s && (netaddr_parse_ipv4(s, &a) == 0 ||
		     netaddr_parse_cidr4(s, false, &a, &plen) == 0);
}

static int check_address_pairs(struct checker *c, json_t *pairs)
{
	json_t *p;
	size_t i;

	json_array_foreach(pairs, i, p) {
		const char *ip =
			json_string_value(json_object_get(p, "ip_address"));
		const char *mac =
			json_string_value(json_object_get(p, "mac_address"));
		uint8_t m[6];

		if (!json_is_object(p) || !is_ipv4_or_cidr(ip) || !mac ||
		    netaddr_parse_mac(mac, m) < 0)
			return fail(
				-EPROTO, c->errmsg, c->len,
				"port object: allowed_address_pairs[%zu] is not {ip_address: IP or CIDR, mac_address: MAC}",
				i);
	}
	return 0;
}

static bool item_is_object(json_t *v)
{
	return json_is_object(v);
}

static bool item_is_string(json_t *v)
{
	return json_is_string(v);
}

static bool item_is_uuid(json_t *v)
{
	return sbproto_is_uuid(json_string_value(v));
}

static bool item_is_ipv4_or_cidr(json_t *v)
{
	return is_ipv4_or_cidr(json_string_value(v));
}

/* Fails with "'what': 'name'[i] is not 'expected'" at the first item of the
 * array 'list' for which 'ok' is false. */
static int check_items(struct checker *c, const char *what, const char *name,
		       json_t *list, bool (*ok)(json_t *v),
		       const char *expected)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (!ok(v))
			return fail(-EPROTO, c->errmsg, c->len,
				    "%s: %s[%zu] is not %s", what, name, i,
				    expected);
	return 0;
}

/* Checks that the optional member 'name' is a list of lower-case UUIDs. */
static int check_uuid_list(struct checker *c, const char *name)
{
	json_t *list = json_object_get(c->obj, name);
	int r;

	if (!list)
		return 0;
	if ((r = get_typed(c, name, JSON_ARRAY, &list)) < 0)
		return r;
	return check_items(c, c->what, name, list, item_is_uuid,
			   "a lower-case UUID");
}

static int check_port_object(struct checker *c, const char *key)
{
	const char *id, *net, *mac = NULL, *host = NULL, *tap = NULL;
	json_t *ips, *pairs, *v;
	json_int_t vni;
	uint8_t m[6];
	bool b;
	size_t i;
	int r;

	c->what = "port object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_uuid(c, "network_id", &net)) < 0 ||
	    (r = get_int(c, "vni", 1, VNI_MAX, &vni)) < 0 ||
	    (r = get_string(c, "mac", true, &mac)) < 0 ||
	    (r = get_typed(c, "ips", JSON_ARRAY, &ips)) < 0 ||
	    (r = get_string(c, "host", true, &host)) < 0 ||
	    (r = get_bool(c, "admin_state_up", true, &b)) < 0 ||
	    (r = get_bool(c, "port_security", true, &b)) < 0 ||
	    (r = get_typed(c, "allowed_address_pairs", JSON_ARRAY, &pairs)) <
		    0 ||
	    (r = get_string(c, "tap", true, &tap)) < 0)
		return r;
	if (netaddr_parse_mac(mac, m) < 0)
		return fail(-EPROTO, c->errmsg, c->len,
			    "port object: 'mac' is not a MAC address");
	json_array_foreach(ips, i, v) {
		uint32_t a;

		if (!json_is_string(v) ||
		    netaddr_parse_ipv4(json_string_value(v), &a) < 0)
			return fail(
				-EPROTO, c->errmsg, c->len,
				"port object: ips[%zu] is not an IPv4 address",
				i);
	}
	if (!valid_host_name(host))
		return fail(-EPROTO, c->errmsg, c->len,
			    "port object: invalid host");
	if (strlen(tap) != 3 + TAP_ID_CHARS || strncmp(tap, "tap", 3) ||
	    strncmp(tap + 3, id, TAP_ID_CHARS))
		return fail(
			-EPROTO, c->errmsg, c->len,
			"port object: 'tap' is not 'tap' + the first %d characters of the id",
			TAP_ID_CHARS);
	if ((r = check_address_pairs(c, pairs)) < 0 ||
	    (r = check_uuid_list(c, "security_groups")) < 0)
		return r;
	return check_key(c, key, "port", id);
}

/* Checks that member 'name' is an IPv4 prefix with its host bits zero. */
static int get_cidr(struct checker *c, const char *name)
{
	const char *s = NULL;
	uint32_t net;
	int plen, r = get_string(c, name, true, &s);

	if (r < 0)
		return r;
	if (netaddr_parse_cidr4(s, true, &net, &plen) < 0)
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: '%s' is not an IPv4 prefix", c->what, name);
	return 0;
}

/* Checks a list of {"destination": CIDR, "nexthop": IPv4}. */
static int check_routes(struct checker *c, json_t *routes, const char *name)
{
	char what[96];
	json_t *v;
	size_t i;
	int r;

	json_array_foreach(routes, i, v) {
		struct checker item = { v, what, c->errmsg, c->len };
		const char *hop;

		snprintf(what, sizeof(what), "%s: %s[%zu]", c->what, name, i);
		if (!json_is_object(v))
			return fail(-EPROTO, c->errmsg, c->len,
				    "%s is not an object", what);
		if ((r = get_cidr(&item, "destination")) < 0 ||
		    (r = get_ipv4(&item, "nexthop", &hop)) < 0)
			return r;
	}
	return 0;
}

static bool valid_domain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DOMAIN_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

static int check_subnet_object(struct checker *c, const char *key)
{
	const char *id, *net, *domain = NULL, *server;
	json_t *dns = NULL, *routes = NULL, *gw, *v;
	json_int_t n;
	bool b;
	size_t i;
	int r;

	c->what = "subnet object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_uuid(c, "network_id", &net)) < 0 ||
	    (r = get_int(c, "vni", 1, VNI_MAX, &n)) < 0 ||
	    (r = get_cidr(c, "cidr")) < 0 ||
	    (r = get_bool(c, "enable_dhcp", true, &b)) < 0 ||
	    (r = get_typed(c, "dns_nameservers", JSON_ARRAY, &dns)) < 0 ||
	    (r = get_typed(c, "host_routes", JSON_ARRAY, &routes)) < 0 ||
	    (r = get_int(c, "mtu", MTU_MIN, MTU_MAX, &n)) < 0 ||
	    (r = get_string(c, "dns_domain", true, &domain)) < 0 ||
	    (r = get_ipv4(c, "dhcp_server", &server)) < 0)
		return r;
	gw = json_object_get(c->obj, "gateway_ip");
	if (!json_is_null(gw) && (r = get_ipv4(c, "gateway_ip", &server)) < 0)
		return r;
	json_array_foreach(dns, i, v) {
		uint32_t a;

		if (!json_is_string(v) ||
		    netaddr_parse_ipv4(json_string_value(v), &a) < 0)
			return fail(
				-EPROTO, c->errmsg, c->len,
				"subnet object: dns_nameservers[%zu] is not an IPv4 address",
				i);
	}
	if (!valid_domain(domain))
		return fail(-EPROTO, c->errmsg, c->len,
			    "subnet object: invalid dns_domain");
	r = check_routes(c, routes, "host_routes");
	if (r < 0)
		return r;
	return check_key(c, key, "subnet", id);
}

/* Checks a router's optional "external_gateway": null (or absent), or
 * {network_id, ip, mac, enable_snat}. */
static int check_external_gateway(struct checker *c)
{
	json_t *gw = json_object_get(c->obj, "external_gateway");
	struct checker item = { gw, "router object: external_gateway",
				c->errmsg, c->len };
	const char *s = NULL;
	uint8_t m[6];
	bool snat;
	int r;

	if (!gw || json_is_null(gw))
		return 0;
	if (!json_is_object(gw))
		return fail(-EPROTO, c->errmsg, c->len,
			    "router object: 'external_gateway' is not null "
			    "or an object");
	if ((r = get_uuid(&item, "network_id", &s)) < 0 ||
	    (r = get_ipv4(&item, "ip", &s)) < 0 ||
	    (r = get_bool(&item, "enable_snat", true, &snat)) < 0 ||
	    (r = get_string(&item, "mac", true, &s)) < 0)
		return r;
	if (netaddr_parse_mac(s, m) < 0)
		return fail(-EPROTO, c->errmsg, c->len,
			    "router object: external_gateway: 'mac' is not a "
			    "MAC address");
	return 0;
}

static int check_router_object(struct checker *c, const char *key)
{
	const char *id;
	json_t *ifaces = NULL, *routes = NULL, *v;
	json_int_t n;
	bool b;
	size_t i;
	int r;

	c->what = "router object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_int(c, "router_key", 1, ROUTER_KEY_MAX, &n)) < 0 ||
	    (r = get_bool(c, "admin_state_up", true, &b)) < 0 ||
	    (r = get_typed(c, "interfaces", JSON_ARRAY, &ifaces)) < 0 ||
	    (r = get_typed(c, "routes", JSON_ARRAY, &routes)) < 0)
		return r;
	json_array_foreach(ifaces, i, v) {
		char what[64];
		struct checker item = { v, what, c->errmsg, c->len };
		const char *s = NULL;
		uint8_t m[6];

		snprintf(what, sizeof(what), "router object: interfaces[%zu]",
			 i);
		if (!json_is_object(v))
			return fail(-EPROTO, c->errmsg, c->len,
				    "%s is not an object", what);
		if ((r = get_uuid(&item, "port_id", &s)) < 0 ||
		    (r = get_uuid(&item, "subnet_id", &s)) < 0 ||
		    (r = get_uuid(&item, "network_id", &s)) < 0 ||
		    (r = get_int(&item, "vni", 1, VNI_MAX, &n)) < 0 ||
		    (r = get_ipv4(&item, "ip", &s)) < 0 ||
		    (r = get_int(&item, "prefixlen", 0, 32, &n)) < 0 ||
		    (r = get_string(&item, "mac", true, &s)) < 0)
			return r;
		if (netaddr_parse_mac(s, m) < 0)
			return fail(-EPROTO, c->errmsg, c->len,
				    "%s: 'mac' is not a MAC address", what);
	}
	r = check_routes(c, routes, "routes");
	if (r < 0)
		return r;
	r = check_external_gateway(c);
	if (r < 0)
		return r;
	return check_key(c, key, "router", id);
}

/* Checks a gateway object: an agent in the gateway role with a slot. */
static int check_gateway_object(struct checker *c, const char *key)
{
	json_int_t slot;
	bool alive;
	int r;

	c->what = "gateway object";
	if ((r = get_int(c, "slot", 0, WEFT_MAX_GATEWAYS - 1, &slot)) < 0 ||
	    (r = get_bool(c, "alive", true, &alive)) < 0)
		return r;
	return check_named_host(c, key, "gateway");
}

/* Checks a floatingip object: its association (router_key, vni,
 * fixed_ip_address) is all null (or absent) or all set. */
static int check_floatingip_object(struct checker *c, const char *key)
{
	static const char *const assoc[] = { "router_key", "vni",
					     "fixed_ip_address" };
	const char *id, *ip;
	json_int_t n;
	size_t set = 0;
	int r;

	c->what = "floatingip object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_ipv4(c, "floating_ip_address", &ip)) < 0)
		return r;
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(c->obj, assoc[i]);

		set += v && !json_is_null(v);
	}
	if (set == 0)
		return check_key(c, key, "floatingip", id);
	if (set != 3)
		return fail(
			-EPROTO, c->errmsg, c->len,
			"floatingip object: router_key, vni and fixed_ip_address must be all null or all set");
	if ((r = get_int(c, "router_key", 1, ROUTER_KEY_MAX, &n)) < 0 ||
	    (r = get_int(c, "vni", 1, VNI_MAX, &n)) < 0 ||
	    (r = get_ipv4(c, "fixed_ip_address", &ip)) < 0)
		return r;
	return check_key(c, key, "floatingip", id);
}

/* Checks that the optional member 'name' is null or an integer in
 * 'min'..'max' (absent counts as null). */
static int get_null_or_int(struct checker *c, const char *name, json_int_t min,
			   json_int_t max)
{
	json_int_t v;

	if (json_is_null(json_object_get(c->obj, name)) ||
	    !json_object_get(c->obj, name))
		return 0;
	return get_int(c, name, min, max, &v);
}

/* Checks one rule of a secgroup object. */
static int check_secgroup_rule(struct checker *c)
{
	const char *id, *dir = NULL;
	json_t *prefix = json_object_get(c->obj, "remote_ip_prefix");
	json_t *group = json_object_get(c->obj, "remote_group_id");
	int r;

	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_string(c, "direction", true, &dir)) < 0 ||
	    (r = get_null_or_int(c, "protocol", 0, 255)) < 0 ||
	    (r = get_null_or_int(c, "port_range_min", 0, 65535)) < 0 ||
	    (r = get_null_or_int(c, "port_range_max", 0, 65535)) < 0)
		return r;
	if (strcmp(dir, "ingress") && strcmp(dir, "egress"))
		return fail(-EPROTO, c->errmsg, c->len,
			    "%s: 'direction' must be ingress or egress",
			    c->what);
	if (prefix && !json_is_null(prefix) &&
	    (r = get_cidr(c, "remote_ip_prefix")) < 0)
		return r;
	if (group && !json_is_null(group) &&
	    (r = get_uuid(c, "remote_group_id", &id)) < 0)
		return r;
	return 0;
}

static int check_secgroup_object(struct checker *c, const char *key)
{
	const char *id;
	json_t *rules = NULL, *members = NULL, *v;
	size_t i;
	int r;

	c->what = "secgroup object";
	if ((r = get_uuid(c, "id", &id)) < 0 ||
	    (r = get_typed(c, "rules", JSON_ARRAY, &rules)) < 0 ||
	    (r = get_typed(c, "members", JSON_ARRAY, &members)) < 0)
		return r;
	json_array_foreach(rules, i, v) {
		char what[64];
		struct checker item = { v, what, c->errmsg, c->len };

		snprintf(what, sizeof(what), "secgroup object: rules[%zu]", i);
		if (!json_is_object(v))
			return fail(-EPROTO, c->errmsg, c->len,
				    "%s is not an object", what);
		if ((r = check_secgroup_rule(&item)) < 0)
			return r;
	}
	if ((r = check_items(c, c->what, "members", members,
			     item_is_ipv4_or_cidr,
			     "an IPv4 address or prefix")) < 0)
		return r;
	return check_key(c, key, "secgroup", id);
}

int sbproto_check_object(json_t *obj, char *errmsg, size_t errmsg_len)
{
	struct checker c = { obj, "view object", errmsg, errmsg_len };
	const char *key = NULL, *kind = NULL;
	int r;

	if (!json_is_object(obj))
		return fail(-EPROTO, errmsg, errmsg_len,
			    "view object: not an object");
	if ((r = get_string(&c, "key", true, &key)) < 0 ||
	    (r = get_string(&c, "kind", true, &kind)) < 0)
		return r;
	if (!strcmp(kind, "host"))
		return check_host_object(&c, key);
	if (!strcmp(kind, "network"))
		return check_network_object(&c, key);
	if (!strcmp(kind, "port"))
		return check_port_object(&c, key);
	if (!strcmp(kind, "subnet"))
		return check_subnet_object(&c, key);
	if (!strcmp(kind, "router"))
		return check_router_object(&c, key);
	if (!strcmp(kind, "secgroup"))
		return check_secgroup_object(&c, key);
	if (!strcmp(kind, "gateway"))
		return check_gateway_object(&c, key);
	if (!strcmp(kind, "floatingip"))
		return check_floatingip_object(&c, key);
	return fail(-EPROTO, errmsg, errmsg_len,
		    "view object: unknown kind '%.40s'", kind);
}

/* Checks an array of view objects with unique keys. */
static int check_objects(struct checker *c, json_t *list, const char *name)
{
	json_t *seen = json_object(), *o;
	size_t i;
	int r = 0;

	if (!seen)
		return -ENOMEM;
	json_array_foreach(list, i, o) {
		char why[200];
		const char *key;

		if (sbproto_check_object(o, why, sizeof(why)) < 0) {
			r = fail(-EPROTO, c->errmsg, c->len, "%s: %s[%zu]: %s",
				 c->what, name, i, why);
			break;
		}
		key = json_string_value(json_object_get(o, "key"));
		if (json_object_get(seen, key)) {
			r = fail(-EPROTO, c->errmsg, c->len,
				 "%s: %s: key '%.80s' appears twice", c->what,
				 name, key);
			break;
		}
		json_object_set_new(seen, key, json_true());
	}
	json_decref(seen);
	return r;
}

static int parse_hello(struct checker *c, struct sbproto_msg *m)
{
	json_int_t version;
	int r;

	if ((r = get_int(c, "version", 0, SBPROTO_INT_MAX, &version)) < 0)
		return r;
	if (version != SBPROTO_VERSION)
		return fail(-EPROTO, c->errmsg, c->len,
			    "hello: version %" JSON_INTEGER_FORMAT
			    " is not supported (this side speaks %d)",
			    version, SBPROTO_VERSION);
	m->version = (int)version;
	if ((r = get_string(c, "host", true, &m->host)) < 0 ||
	    (r = get_ipv4(c, "underlay_ip", &m->underlay_ip)) < 0 ||
	    (r = get_revision(c, &m->revision)) < 0 ||
	    (r = get_bool(c, "gateway", false, &m->gateway)) < 0)
		return r;
	/* A gateway says where its uplink is; a hypervisor has none. */
	if ((m->gateway || json_object_get(c->obj, "uplink_ip")) &&
	    (r = get_ipv4(c, "uplink_ip", &m->uplink_ip)) < 0)
		return r;
	if (!valid_host_name(m->host))
		return fail(
			-EPROTO, c->errmsg, c->len,
			"hello: 'host' must be 1 to %d bytes without spaces or control characters",
			HOST_MAX);
	return 0;
}

static int parse_port_status(struct checker *c, struct sbproto_msg *m)
{
	int r;

	if ((r = get_uuid(c, "port_id", &m->port_id)) < 0 ||
	    (r = get_string(c, "status", true, &m->status)) < 0)
		return r;
	if (strcmp(m->status, "ACTIVE") && strcmp(m->status, "DOWN"))
		return fail(-EPROTO, c->errmsg, c->len,
			    "port_status: 'status' must be ACTIVE or DOWN");
	return 0;
}

static int check_device_stats(struct checker *c, json_t *stats);

static int parse_stats_reply(struct checker *c, struct sbproto_msg *m)
{
	json_t *stats = json_object_get(c->obj, "stats");
	int r;

	if ((r = get_request_id(c, &m->request_id)) < 0)
		return r;
	if (json_object_get(c->obj, "error")) {
		if ((r = get_string(c, "error", true, &m->error)) < 0)
			return r;
		if (json_object_get(c->obj, "port_id") &&
		    (r = get_uuid(c, "port_id", &m->port_id)) < 0)
			return r;
		if (stats)
			return fail(-EPROTO, c->errmsg, c->len,
				    "stats_reply: both 'stats' and 'error'");
		return 0;
	}
	if ((r = get_typed(c, "stats", JSON_OBJECT, &m->stats)) < 0)
		return r;
	if (json_object_get(c->obj, "port_id"))
		return get_uuid(c, "port_id", &m->port_id);
	return check_device_stats(c, m->stats);
}

/* Checks the counters of a device stats_reply: "tunnel" and the optional
 * "uplink" are objects. */
static int check_device_stats(struct checker *c, json_t *stats)
{
	json_t *uplink = json_object_get(stats, "uplink");

	if (!json_is_object(json_object_get(stats, "tunnel")))
		return fail(-EPROTO, c->errmsg, c->len,
			    "stats_reply: without 'port_id', 'stats' must "
			    "hold the object 'tunnel'");
	if (uplink && !json_is_object(uplink))
		return fail(-EPROTO, c->errmsg, c->len,
			    "stats_reply: 'stats.uplink' is not an object");
	return 0;
}

/* Checks a stats_request: 'port_id' or 'devices' true, not both. */
static int parse_stats_request(struct checker *c, struct sbproto_msg *m)
{
	int r;

	if ((r = get_request_id(c, &m->request_id)) < 0 ||
	    (r = get_bool(c, "devices", false, &m->devices)) < 0)
		return r;
	if (!m->devices)
		return get_uuid(c, "port_id", &m->port_id);
	if (json_object_get(c->obj, "port_id"))
		return fail(-EPROTO, c->errmsg, c->len,
			    "stats_request: both 'port_id' and 'devices'");
	return 0;
}

static int parse_conntrack_request(struct checker *c, struct sbproto_msg *m)
{
	int r;

	if ((r = get_request_id(c, &m->request_id)) < 0)
		return r;
	if (json_object_get(c->obj, "port_id"))
		return get_uuid(c, "port_id", &m->port_id);
	return 0;
}

static int parse_conntrack_reply(struct checker *c, struct sbproto_msg *m)
{
	int r;

	if ((r = get_request_id(c, &m->request_id)) < 0)
		return r;
	if (json_object_get(c->obj, "error")) {
		if (json_object_get(c->obj, "entries"))
			return fail(
				-EPROTO, c->errmsg, c->len,
				"conntrack_reply: both 'entries' and 'error'");
		return get_string(c, "error", true, &m->error);
	}
	if ((r = get_typed(c, "entries", JSON_ARRAY, &m->entries)) < 0 ||
	    (r = get_bool(c, "truncated", false, &m->truncated)) < 0)
		return r;
	return check_items(c, "conntrack_reply", "entries", m->entries,
			   item_is_object, "an object");
}

static int parse_body(struct checker *c, struct sbproto_msg *m,
		      enum sbproto_sender from)
{
	int r;

	switch (m->type) {
	case SBPROTO_HELLO:
		return parse_hello(c, m);
	case SBPROTO_PORT_STATUS:
		return parse_port_status(c, m);
	case SBPROTO_STATS_REPLY:
		return parse_stats_reply(c, m);
	case SBPROTO_HEARTBEAT:
		return from == SBPROTO_FROM_WEFTD ?
			       get_revision(c, &m->revision) :
			       0;
	case SBPROTO_SNAPSHOT:
		if ((r = get_revision(c, &m->revision)) < 0 ||
		    (r = get_typed(c, "objects", JSON_ARRAY, &m->objects)) < 0)
			return r;
		return check_objects(c, m->objects, "objects");
	case SBPROTO_DELTA:
		if ((r = get_revision(c, &m->revision)) < 0 ||
		    (r = get_typed(c, "upsert", JSON_ARRAY, &m->upsert)) < 0 ||
		    (r = get_typed(c, "delete", JSON_ARRAY, &m->deletes)) < 0 ||
		    (r = check_items(c, "delta", "delete", m->deletes,
				     item_is_string, "a key string")) < 0)
			return r;
		return check_objects(c, m->upsert, "upsert");
	case SBPROTO_STATS_REQUEST:
		return parse_stats_request(c, m);
	case SBPROTO_CONNTRACK_REQUEST:
		return parse_conntrack_request(c, m);
	case SBPROTO_CONNTRACK_REPLY:
		return parse_conntrack_reply(c, m);
	}
	return -EPROTO;
}

int sbproto_parse(const char *line, size_t len, enum sbproto_sender from,
		  struct sbproto_msg *ret, char *errmsg, size_t errmsg_len)
{
	struct sbproto_msg m = { 0 };
	struct checker c = { NULL, "message", errmsg, errmsg_len };
	const char *type = NULL;
	json_error_t jerr;
	size_t i;
	int r;

	if (len > SBPROTO_MAX_LINE)
		return fail(-EMSGSIZE, errmsg, errmsg_len,
			    "line of %zu bytes is over the limit of %d", len,
			    SBPROTO_MAX_LINE);
	if (memchr(line, '\n', len))
		return fail(-EBADMSG, errmsg, errmsg_len,
			    "newline inside a message");
	m.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m.json)
		return fail(-EBADMSG, errmsg, errmsg_len,
			    "not valid JSON: %s (column %d)", jerr.text,
			    jerr.column);
	if (!json_is_object(m.json)) {
		r = fail(-EBADMSG, errmsg, errmsg_len, "not a JSON object");
		goto out;
	}
	c.obj = m.json;
	if ((r = get_string(&c, "type", true, &type)) < 0)
		goto out;
	for (i = 0; i < N_TYPES; i++)
		if (!strcmp(type, type_names[i]))
			break;
	if (i == N_TYPES) {
		r = fail(-EPROTO, errmsg, errmsg_len,
			 "unknown message type '%.40s'", type);
		goto out;
	}
	m.type = (enum sbproto_type)i;
	if (!sent_by(m.type, from)) {
		r = fail(-EPROTO, errmsg, errmsg_len, "%s is never sent by %s",
			 type,
			 from == SBPROTO_FROM_AGENT ? "an agent" : "weftd");
		goto out;
	}
	c.what = type_names[i];
	r = parse_body(&c, &m, from);
out:
	if (r < 0) {
		json_decref(m.json);
		return r;
	}
	*ret = m;
	return 0;
}

void sbproto_msg_destroy(struct sbproto_msg *msg)
{
	if (!msg)
		return;
	json_decref(msg->json);
	memset(msg, 0, sizeof(*msg));
}

struct format_state {
	char *buf;
	size_t len, cap;
	int err;
};

static int append(const char *text, size_t n, void *data)
{
	struct format_state *st = data;

	if (st->len + n > SBPROTO_MAX_LINE) {
		st->err = -EMSGSIZE;
		return -1;
	}
	if (st->len + n + 2 > st->cap) {
		size_t cap = st->cap ? st->cap : 256;
		char *p;

		while (cap < st->len + n + 2)
			cap *= 2;
		p = realloc(st->buf, cap);
		if (!p) {
			st->err = -ENOMEM;
			return -1;
		}
		st->buf = p;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, text, n);
	st->len += n;
	return 0;
}

int sbproto_format(json_t *msg, char **ret, size_t *ret_len)
{
	struct format_state st = { 0 };

	if (!json_is_object(msg))
		return -EINVAL;
	if (json_dump_callback(msg, append, &st, JSON_COMPACT) < 0) {
		free(st.buf);
		return st.err ? st.err : -ENOMEM;
	}
	if (!st.buf && append("", 0, &st) < 0)
		return st.err;
	st.buf[st.len++] = '\n';
	st.buf[st.len] = '\0';
	*ret = st.buf;
	*ret_len = st.len;
	return 0;
}

json_t *sbproto_hello_new(const char *host, const char *underlay_ip,
			  uint64_t revision, bool gateway)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:I, s:b}", "type", "hello",
			 "version", SBPROTO_VERSION, "host", host,
			 "underlay_ip", underlay_ip, "revision",
			 (json_int_t)revision, "gateway", gateway);
}

json_t *sbproto_gateway_hello_new(const char *host, const char *underlay_ip,
				  uint64_t revision, const char *uplink_ip)
{
	json_t *msg = sbproto_hello_new(host, underlay_ip, revision, true);

	if (msg &&
	    json_object_set_new(msg, "uplink_ip", json_string(uplink_ip)) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

json_t *sbproto_agent_heartbeat_new(void)
{
	return json_pack("{s:s}", "type", "heartbeat");
}

json_t *sbproto_port_status_new(const char *port_id, bool active)
{
	return json_pack("{s:s, s:s, s:s}", "type", "port_status", "port_id",
			 port_id, "status", active ? "ACTIVE" : "DOWN");
}

json_t *sbproto_stats_reply_new(uint64_t request_id, const char *port_id,
				json_t *stats)
{
	if (!port_id)
		return json_pack("{s:s, s:I, s:O}", "type", "stats_reply",
				 "request_id", (json_int_t)request_id, "stats",
				 stats);
	return json_pack("{s:s, s:I, s:s, s:O}", "type", "stats_reply",
			 "request_id", (json_int_t)request_id, "port_id",
			 port_id, "stats", stats);
}

json_t *sbproto_stats_error_new(uint64_t request_id, const char *error)
{
	return json_pack("{s:s, s:I, s:s}", "type", "stats_reply", "request_id",
			 (json_int_t)request_id, "error", error);
}

json_t *sbproto_heartbeat_new(uint64_t revision)
{
	return json_pack("{s:s, s:I}", "type", "heartbeat", "revision",
			 (json_int_t)revision);
}

json_t *sbproto_snapshot_new(uint64_t revision, json_t *objects)
{
	return json_pack("{s:s, s:I, s:O}", "type", "snapshot", "revision",
			 (json_int_t)revision, "objects", objects);
}

json_t *sbproto_delta_new(uint64_t revision, json_t *upsert, json_t *deletes)
{
	return json_pack("{s:s, s:I, s:O, s:O}", "type", "delta", "revision",
			 (json_int_t)revision, "upsert", upsert, "delete",
			 deletes);
}

json_t *sbproto_stats_request_new(uint64_t request_id, const char *port_id)
{
	return json_pack("{s:s, s:I, s:s}", "type", "stats_request",
			 "request_id", (json_int_t)request_id, "port_id",
			 port_id);
}

json_t *sbproto_device_stats_request_new(uint64_t request_id)
{
	return json_pack("{s:s, s:I, s:b}", "type", "stats_request",
			 "request_id", (json_int_t)request_id, "devices", 1);
}

json_t *sbproto_conntrack_request_new(uint64_t request_id, const char *port_id)
{
	if (!port_id)
		return json_pack("{s:s, s:I}", "type", "conntrack_request",
				 "request_id", (json_int_t)request_id);
	return json_pack("{s:s, s:I, s:s}", "type", "conntrack_request",
			 "request_id", (json_int_t)request_id, "port_id",
			 port_id);
}

json_t *sbproto_conntrack_reply_new(uint64_t request_id, json_t *entries,
				    bool truncated)
{
	return json_pack("{s:s, s:I, s:o, s:b}", "type", "conntrack_reply",
			 "request_id", (json_int_t)request_id, "entries",
			 entries, "truncated", truncated);
}

json_t *sbproto_conntrack_reply_error_new(uint64_t request_id,
					  const char *error)
{
	return json_pack("{s:s, s:I, s:s}", "type", "conntrack_reply",
			 "request_id", (json_int_t)request_id, "error", error);
}
