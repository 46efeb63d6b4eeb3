/* SPDX-License-Identifier: Apache-2.0 */
#include "view.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sbproto.h"

#define TAP_ID_CHARS 11

/* Keeps 'obj' only when it is a valid view object. Steals 'obj'. */
static json_t *checked(json_t *obj)
{
	if (obj && sbproto_check_object(obj, NULL, 0) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static const char *str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

json_t *view_network_object(json_t *network)
{
	const char *id = str(network, "id");
	char key[64];

	if (!id)
		return NULL;
	snprintf(key, sizeof(key), "network:%s", id);
	return checked(
		json_pack("{s:s, s:s, s:s, s:O, s:O}", "key", key, "kind",
			  "network", "id", id, "vni",
			  json_object_get(network, "provider:segmentation_id"),
			  "mtu", json_object_get(network, "mtu")));
}

json_t *view_port_object(json_t *port, json_int_t vni)
{
	const char *id = str(port, "id");
	json_t *ips, *pairs, *e;
	char key[64], tap[16];
	size_t i;

	if (!id || strlen(id) < TAP_ID_CHARS)
		return NULL;
	snprintf(key, sizeof(key), "port:%s", id);
	snprintf(tap, sizeof(tap), "tap%.*s", TAP_ID_CHARS, id);
	ips = json_array();
	json_array_foreach(json_object_get(port, "fixed_ips"), i, e)
		json_array_append(ips, json_object_get(e, "ip_address"));
	pairs = json_array();
	json_array_foreach(json_object_get(port, "allowed_address_pairs"), i,
			   e) {
		json_t *mac = json_object_get(e, "mac_address");

		json_array_append_new(
			pairs,
			json_pack("{s:O, s:O}", "ip_address",
				  json_object_get(e, "ip_address"),
				  "mac_address",
				  mac ? mac :
					json_object_get(port, "mac_address")));
	}
	return checked(json_pack(
		"{s:s, s:s, s:s, s:O, s:I, s:O, s:o, s:O, s:b, s:b, s:o, s:s}",
		"key", key, "kind", "port", "id", id, "network_id",
		json_object_get(port, "network_id"), "vni", vni, "mac",
		json_object_get(port, "mac_address"), "ips", ips, "host",
		json_object_get(port, "binding:host_id"), "admin_state_up",
		json_is_true(json_object_get(port, "admin_state_up")),
		"port_security",
		json_is_true(json_object_get(port, "port_security_enabled")),
		"allowed_address_pairs", pairs, "tap", tap));
}

json_t *view_host_object(const char *name, const char *underlay_ip)
{
	char key[300];

	snprintf(key, sizeof(key), "host:%s", name);
	return checked(json_pack("{s:s, s:s, s:s, s:s}", "key", key, "kind",
				 "host", "name", name, "underlay_ip",
				 underlay_ip));
}

struct networks_walk {
	const char *host;
	json_t *networks;
};

static int add_network_of_port(json_t *port, void *data)
{
	struct networks_walk *w = data;
	const char *bound = str(port, "binding:host_id");
	const char *net = str(port, "network_id");

	if (bound && net && !strcmp(bound, w->host))
		return json_object_set_new(w->networks, net, json_true()) < 0 ?
			       -ENOMEM :
			       0;
	return 0;
}

int view_host_networks(struct store *s, const char *host, json_t *networks)
{
	struct store_query q = { .kind = "port" };
	struct networks_walk w = { host, networks };

	return store_list(s, &q, add_network_of_port, &w);
}

static int add_agent_host(json_t *agent, void *data)
{
	const char *host = str(agent, "host");
	const char *ip =
		str(json_object_get(agent, "configurations"), "underlay_ip");

	if (host && ip && host[0] && ip[0])
		return json_object_set_new(data, host, json_string(ip)) < 0 ?
			       -ENOMEM :
			       0;
	return 0;
}

int view_agent_hosts(struct store *s, json_t **ret)
{
	struct store_query q = { .kind = "agent" };
	json_t *hosts = json_object();
	int r;

	if (!hosts)
		return -ENOMEM;
	r = store_list(s, &q, add_agent_host, hosts);
	if (r < 0) {
		json_decref(hosts);
		return r;
	}
	*ret = hosts;
	return 0;
}

/* The ports of one network, while its part of a view is built. */
struct ports_walk {
	const char *host;
	json_int_t vni;
	json_t *ports; /* key -> port object, bound to any host */
	json_t *named; /* host names of those ports (a set) */
	bool local; /* a port is bound to 'host' */
};

static int add_bound_port(json_t *port, void *data)
{
	struct ports_walk *w = data;
	const char *bound = str(port, "binding:host_id");
	json_t *obj;

	if (!bound || !bound[0])
		return 0;
	obj = view_port_object(port, w->vni);
	if (!obj)
		return 0;
	if (!strcmp(bound, w->host))
		w->local = true;
	json_object_set_new(w->named, bound, json_true());
	json_object_set_new(w->ports, str(obj, "key"), obj);
	return 0;
}

int view_compute(struct store *s, const char *host, json_t *networks,
		 json_t *hosts, json_t **ret)
{
	json_t *view = json_object(), *named = json_object();
	json_t *gone = json_array(), *v;
	const char *net_id, *name;
	void *tmp;
	size_t i;
	int r = 0;

	if (!view || !named || !gone) {
		r = -ENOMEM;
		goto out;
	}
	json_object_foreach_safe(networks, tmp, net_id, v) {
		struct store_query q = { .kind = "port", .parent_id = net_id };
		struct ports_walk w = { host, 0, json_object(), named, false };
		json_t *network = store_get(s, "network", net_id);
		json_t *net_obj = network ? view_network_object(network) : NULL;

		if (net_obj) {
			w.vni = json_integer_value(
				json_object_get(net_obj, "vni"));
			r = store_list(s, &q, add_bound_port, &w);
		}
		if (r == 0 && net_obj && w.local) {
			json_object_set(view, str(net_obj, "key"), net_obj);
			json_object_update(view, w.ports);
		} else if (r == 0) {
			json_array_append_new(gone, json_string(net_id));
		}
		json_decref(w.ports);
		json_decref(net_obj);
		json_decref(network);
		if (r < 0)
			goto out;
	}
	json_array_foreach(gone, i, v)
		json_object_del(networks, json_string_value(v));
	json_object_foreach(named, name, v) {
		const char *ip = str(hosts, name);
		json_t *obj = ip ? view_host_object(name, ip) : NULL;

		if (obj)
			json_object_set_new(view, str(obj, "key"), obj);
	}
out:
	json_decref(named);
	json_decref(gone);
	if (r < 0) {
		json_decref(view);
		return r;
	}
	*ret = view;
	return 0;
}

int view_diff(json_t *old, json_t *new, json_t **upsert, json_t **deletes)
{
	json_t *up = json_array(), *del = json_array(), *obj;
	const char *key;

	if (!up || !del) {
		json_decref(up);
		json_decref(del);
		return -ENOMEM;
	}
	json_object_foreach(new, key, obj)
		if (!json_equal(obj, json_object_get(old, key)))
			json_array_append(up, obj);
	json_object_foreach(old, key, obj)
		if (!json_object_get(new, key))
			json_array_append_new(del, json_string(key));
	*upsert = up;
	*deletes = del;
	return 0;
}

json_t *view_objects(json_t *view)
{
	json_t *list = json_array(), *obj;
	const char *key;

	json_object_foreach(view, key, obj)
		json_array_append(list, obj);
	return list;
}
