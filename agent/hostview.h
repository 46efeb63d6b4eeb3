/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The desired state of this host as weftd describes it: the objects of the
 * host's view (docs/southbound.md), by key, at a revision. A snapshot
 * replaces the whole view; a delta upserts and deletes objects. Both are
 * all-or-nothing: a message with one invalid object leaves the view as it
 * was.
 *
 * Addresses are kept in host byte order, as lib/netaddr.h returns them.
 */

enum hostview_kind {
	HOSTVIEW_HOST,
	HOSTVIEW_NETWORK,
	HOSTVIEW_PORT,
	HOSTVIEW_SUBNET,
	HOSTVIEW_ROUTER,
	HOSTVIEW_SECGROUP,
	HOSTVIEW_GATEWAY, /* a gateway node (docs/gateways.md) */
	HOSTVIEW_FLOATINGIP, /* a floating IP (gateways' views only) */
	HOSTVIEW_OTHER, /* a kind this agent does not know: kept, not used */
};

struct hostview_address_pair {
	uint32_t ip;
	int prefix; /* 0..32 */
	uint8_t mac[6];
	bool has_mac; /* false: the port's own MAC */
};

struct hostview_host {
	char *name;
	uint32_t underlay_ip;
};

struct hostview_network {
	char *id;
	uint32_t vni;
	uint32_t mtu;
};

struct hostview_port {
	char *id;
	char *network_id; /* may be NULL */
	char *host; /* binding:host_id */
	char *tap; /* interface name on the host */
	uint32_t vni;
	uint8_t mac[6];
	uint32_t *ips;
	size_t n_ips;
	struct hostview_address_pair *pairs;
	size_t n_pairs;
	bool admin_state_up;
	bool port_security;
	/* "security_groups": the ids of the groups that apply (empty when
	 * port security is off). 'has_security_groups' is false when the
	 * member is absent (a weftd older than security groups): then no
	 * policy applies at all. */
	char **security_groups;
	size_t n_security_groups;
	bool has_security_groups;
};

/* A route: 'dest'/'prefix' via 'nexthop' (a subnet's host route or a
 * router's static route). */
struct hostview_route {
	uint32_t dest;
	int prefix; /* 0..32; 'dest' has no bits beyond it */
	uint32_t nexthop;
};

struct hostview_subnet {
	char *id;
	char *network_id; /* may be NULL */
	uint32_t vni;
	uint32_t net; /* the cidr's network address */
	int prefix;
	bool has_gateway;
	uint32_t gateway;
	bool enable_dhcp;
	uint32_t *dns; /* dns_nameservers */
	size_t n_dns;
	struct hostview_route *host_routes;
	size_t n_host_routes;
	uint32_t mtu; /* 0: not sent (take the network's) */
	char *dns_domain; /* may be NULL */
	uint32_t dhcp_server; /* the DHCP server identifier */
};

struct hostview_router_iface {
	char *port_id;
	char *subnet_id;
	char *network_id;
	uint32_t vni;
	uint32_t ip;
	int prefix;
	uint8_t mac[6];
};

/* A router's "external_gateway" (docs/gateways.md). */
struct hostview_ext_gateway {
	char *network_id;
	uint32_t ip; /* the router's address on the external network */
	uint8_t mac[6]; /* its gateway port's MAC */
	bool enable_snat;
};

struct hostview_router {
	char *id;
	uint32_t router_key; /* non-zero */
	bool admin_state_up;
	struct hostview_router_iface *ifaces;
	size_t n_ifaces;
	struct hostview_route *routes;
	size_t n_routes;
	bool has_ext_gateway; /* false: "external_gateway" null or absent */
	struct hostview_ext_gateway ext_gateway;
};

/* A gateway node with a slot: "gateway:NAME". */
struct hostview_gateway {
	char *name; /* its agent's host name */
	uint32_t underlay_ip;
	uint32_t slot; /* 0..WEFT_MAX_GATEWAYS-1 */
	bool alive; /* weftd's heartbeat view; agents decide by probes */
};

/* A floating IP: "floatingip:ID". Not associated: 'associated' false and
 * the three association members zero. */
struct hostview_floatingip {
	char *id;
	uint32_t ip; /* floating_ip_address */
	bool associated;
	uint32_t router_key; /* the router whose gateway serves it */
	uint32_t vni; /* the port's network */
	uint32_t fixed_ip; /* the port's fixed IP */
};

/* An IPv4 prefix: an address is a /32. */
struct hostview_prefix {
	uint32_t ip; /* no bits beyond 'prefix' */
	int prefix; /* 0..32 */
};

enum hostview_sg_dir {
	HOSTVIEW_SG_INGRESS = 0, /* towards the port (= WEFT_CT_INGRESS) */
	HOSTVIEW_SG_EGRESS = 1, /* from the port (= WEFT_CT_EGRESS) */
};

#define HOSTVIEW_SG_ANY -1 /* protocol or port bound: null */

/* One IPv4 rule of a security group (docs/security-groups.md). */
struct hostview_sg_rule {
	enum hostview_sg_dir dir;
	int protocol; /* 0..255, or HOSTVIEW_SG_ANY */
	int port_min; /* 0..65535 (ICMP: the type), or HOSTVIEW_SG_ANY */
	int port_max; /* 0..65535 (ICMP: the code), or HOSTVIEW_SG_ANY */
	bool has_remote_prefix;
	struct hostview_prefix remote_prefix; /* when 'has_remote_prefix' */
	char *remote_group_id; /* NULL: none */
};

struct hostview_secgroup {
	char *id;
	struct hostview_sg_rule *rules;
	size_t n_rules;
	/* The IPv4 addresses (/32) and address pair prefixes of the ports
	 * that have the group. */
	struct hostview_prefix *members;
	size_t n_members;
};

struct hostview_object {
	struct hostview_object *next; /* hash chain */
	char *key;
	enum hostview_kind kind;
	union {
		struct hostview_host host;
		struct hostview_network network;
		struct hostview_port port;
		struct hostview_subnet subnet;
		struct hostview_router router;
		struct hostview_secgroup secgroup;
		struct hostview_gateway gateway;
		struct hostview_floatingip floatingip;
	};
};

struct hostview {
	struct hostview_object **buckets;
	size_t n_buckets;
	size_t count;
	int64_t revision; /* 0: no view received yet */
	bool synced; /* a snapshot was applied (since start) */
};

#define HOSTVIEW_MAX_VNI 0xffffffu
#define HOSTVIEW_MAX_GATEWAY_SLOT 15u /* WEFT_MAX_GATEWAYS - 1 */

void hostview_init(struct hostview *v);
void hostview_destroy(struct hostview *v);

/* Parses one object of a view. Returns 0 and sets 'ret' (free with
 * hostview_object_free()), or -EINVAL when a known field has the wrong type
 * or value, or -ENOMEM. */
int hostview_object_from_json(const json_t *obj, struct hostview_object **ret);
void hostview_object_free(struct hostview_object *o);

/* Applies a snapshot: the view becomes exactly the objects of the array
 * 'objects', at 'revision'. Returns 0, -EINVAL (an invalid object; view
 * unchanged) or -ENOMEM (the view is then empty and not synced). */
int hostview_apply_snapshot(struct hostview *v, int64_t revision,
			    const json_t *objects);

/* Applies a delta: removes the keys of the array of strings 'deletes',
 * then inserts or replaces the objects of the array 'upsert' (either may
 * be NULL), and moves to 'revision'. Deleting an absent key is not an
 * error. Returns 0, -EINVAL (view unchanged) or -ENOMEM (view unchanged). */
int hostview_apply_delta(struct hostview *v, int64_t revision,
			 const json_t *upsert, const json_t *deletes);

/* Lookups; NULL when absent. */
const struct hostview_object *hostview_find(const struct hostview *v,
					    const char *key);
const struct hostview_port *hostview_find_port(const struct hostview *v,
					       const char *id);
const struct hostview_host *hostview_find_host(const struct hostview *v,
					       const char *name);

const struct hostview_network *hostview_find_network(const struct hostview *v,
						     const char *id);
const struct hostview_secgroup *hostview_find_secgroup(const struct hostview *v,
						       const char *id);
/* The gateway object of host 'name' ("gateway:NAME"). */
const struct hostview_gateway *hostview_find_gateway(const struct hostview *v,
						     const char *name);

/* The MAC the DHCP server of 'subnet' answers from, and that the neigh
 * entry of its 'dhcp_server' address holds: the MAC of the router
 * interface that has that address on the subnet, else
 * HOSTVIEW_DHCP_MAC (the same on every host). */
extern const uint8_t HOSTVIEW_DHCP_MAC[6];
void hostview_dhcp_server_mac(const struct hostview *v,
			      const struct hostview_subnet *subnet,
			      uint8_t mac[6]);

/* Iteration over all objects: start with 'it' zeroed. */
struct hostview_iter {
	size_t bucket;
	const struct hostview_object *obj;
};
const struct hostview_object *hostview_next(const struct hostview *v,
					    struct hostview_iter *it);

/* The name of the interface that carries port 'p' on its host: the "tap"
 * field when weftd sent one that fits, else "tap" followed by the first 11
 * characters of the port id (the Nova/libvirt convention). 'buf' has
 * IFNAMSIZ (16) bytes. */
#define HOSTVIEW_IFNAMSIZ 16
void hostview_port_tap_name(const struct hostview_port *p,
			    char buf[HOSTVIEW_IFNAMSIZ]);
