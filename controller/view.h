/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/*
 * Host views: what the weft-agent of one host must know, computed from the
 * store (docs/southbound.md, "What a host's view holds"; docs/routing.md).
 * For host H, the view is closed under routing: start with the networks
 * that have at least one port bound to H, add every router with an
 * interface on one of them, add every network those routers have
 * interfaces on, and repeat until nothing is added. It holds:
 *
 *   - those networks and their subnets;
 *   - those routers, each with its interfaces and static routes;
 *   - every port of those networks bound to some host (a router's
 *     interface ports are not sent as ports: they are in their router);
 *   - the host object of every host named by those ports whose agent is
 *     registered with an underlay address;
 *   - the security groups of the ports bound to H, and every group that
 *     the rules of those groups name as remote group (their members are
 *     the addresses of every port having them, wherever it is).
 *
 * A view is a JSON object mapping each object's key ("port:UUID") to the
 * object ({"key": ..., "kind": "port", ...}). Every object built here
 * passes sbproto_check_object(); a resource that cannot give a valid object
 * (a port bound to a host name with spaces, say) is left out, so that weftd
 * never sends an agent something it must refuse.
 *
 * A "network set" is a JSON object used as a set of network ids (id ->
 * true). Callers keep one per host so that recomputing a view does not need
 * to walk every port of the store: the set holds every network that may have
 * a port bound to H (a superset), and view_compute() prunes it.
 */

/*
 * Adds to 'networks' the id of every network that has a port bound to
 * 'host'. Walks every port of the store: O(ports), done once when an agent
 * says hello. Returns 0 or a negative errno.
 */
int view_host_networks(struct store *s, const char *host, json_t *networks);

/*
 * Reads the registered agents: sets 'ret' to a new object mapping each
 * hypervisor agent's host name to its underlay address
 * (configurations.underlay_ip), for agents that have one; gateway agents
 * are left out (they are gateway objects). O(agents). Returns 0 or a
 * negative errno.
 */
int view_agent_hosts(struct store *s, json_t **ret);

/* Whether the agent of 'host' is alive, as weftd's heartbeats say. */
typedef bool (*view_alive_fn)(void *data, const char *host);

/*
 * Reads the gateway agents (configurations.gateway true) that have a slot:
 * sets 'ret' to a new object mapping each gateway object's key
 * ("gateway:NAME") to the object, 'alive' from 'alive' (called with
 * 'data'; NULL: false). O(agents). Returns 0 or a negative errno.
 */
int view_gateways(struct store *s, view_alive_fn alive, void *data,
		  json_t **ret);

/* The DHCP domain name when the configuration gives none. */
#define VIEW_DEFAULT_DNS_DOMAIN "openstacklocal"

/*
 * Computes the view of 'host' over the candidate network set 'networks'
 * and removes from that set the networks (no longer) holding a port bound
 * to 'host'. 'hosts' is what view_agent_hosts() returned, 'gateways' what
 * view_gateways() did (NULL: none; every view holds every gateway);
 * 'dns_domain'
 * goes into the subnet objects (NULL: VIEW_DEFAULT_DNS_DOMAIN).
 * 'secgroups' (may be NULL) caches security group objects by id across the
 * views computed for one revision: a group is computed once (its members
 * cost a lookup per port of the group), not once per host. Sets 'ret'
 * to a new view. Cost, for each network of the closure: one store lookup
 * plus a walk of its ports and subnets (index ranges); for each router of
 * the closure: one lookup, one index lookup of its interface ports and
 * its key. That is O(ports and subnets of the networks the host reaches).
 * Returns 0 or a negative errno.
 */
int view_compute(struct store *s, const char *host, json_t *networks,
		 json_t *hosts, json_t *gateways, json_t *secgroups,
		 const char *dns_domain, json_t **ret);

/*
 * Computes the view of gateway 'host' (docs/gateways.md): every router
 * with an external gateway and its closure under routing (networks,
 * subnets, routers, bound ports, as for a host with a port on them),
 * every floating IP, every gateway of 'gateways' and the host object of
 * every hypervisor of 'hosts'. Cost: a walk of the routers and of the
 * floating IPs (three lookups each) plus the closure's cost as in
 * view_compute(). Sets 'ret' to a new view; returns 0 or a negative errno.
 */
int view_compute_gateway(struct store *s, const char *host, json_t *hosts,
			 json_t *gateways, const char *dns_domain,
			 json_t **ret);

/*
 * The differences from view 'old' (NULL: empty) to view 'new': sets
 * 'upsert' to a new array of the objects of 'new' that 'old' lacks or holds
 * differently, and 'deletes' to a new array of the keys of 'old' that 'new'
 * lacks. Returns 0 or -ENOMEM.
 */
int view_diff(json_t *old, json_t *new, json_t **upsert, json_t **deletes);

/* The objects of 'view' as a new array. */
json_t *view_objects(json_t *view);

/*
 * Object builders, from the API documents. Each returns a new reference,
 * or NULL when the document cannot make a valid object.
 */
json_t *view_network_object(json_t *network);
/* 'vni' is the port's network's VNI. */
json_t *view_port_object(json_t *port, json_int_t vni);
json_t *view_host_object(const char *name, const char *underlay_ip);
json_t *view_gateway_object(const char *name, const char *underlay_ip,
			    uint32_t slot, bool alive);
/* The floatingip object of 'fip' (a floating IP document): its router's
 * key, its port's VNI and fixed IP when associated, else nulls. */
json_t *view_floatingip_object(struct store *s, json_t *fip);
/* The secgroup object of group 'id' (docs/security-groups.md), read from
 * the store: its IPv4 rules and its members. NULL when there is none. */
json_t *view_secgroup_object(struct store *s, const char *id);
/* 'network' is the subnet's network (its VNI and MTU). */
json_t *view_subnet_object(json_t *subnet, json_t *network,
			   const char *dns_domain);
