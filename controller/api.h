/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

/*
 * The Networking API v2.0 core: request dispatch to resources, validation
 * of attributes against each resource's table, defaults, lists with
 * filters, fields, sorting and pagination, and the transaction around every
 * write. Knows nothing of HTTP transport: server.c turns requests into
 * api_handle() calls.
 *
 * A resource (api-networks.c, ...) describes its attributes in a table and
 * supplies hooks for the semantics the table cannot express. The generic
 * code guarantees that a hook runs inside the request's transaction, that
 * the attributes it sees have the declared types, and that any error it
 * reports rolls back everything the request did.
 */

/* An API error: the HTTP status and the Neutron error type and message. */
struct api_error {
	int status;
	char type[64];
	char message[512];
};

/* Fills 'err' and returns -1, so that hooks can write
 * 'return api_fail(...)'. */
int api_fail(struct api_error *err, int status, const char *type,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct api_config {
	uint32_t underlay_mtu; /* networks may have mtu <= this - 50 */
	uint8_t base_mac[3]; /* generated MACs start with these */
	const char *public_url; /* for links; NULL: from the Host header */
};

/*
 * What the running daemon knows beyond the store, offered to the API core
 * (by the southbound service). The whole struct is optional (NULL in
 * api_ctx), as is each member.
 */
struct api_live {
	void *data;
	/* Called after a write transaction committed; 'revision' is the
	 * store's revision after it. */
	void (*committed)(void *data, uint64_t revision);
	/* Whether the agent of 'host' is connected and recently heard from;
	 * when true, writes the time it was last heard from into 'heartbeat'
	 * ("YYYY-MM-DD HH:MM:SS"). */
	bool (*agent_alive)(void *data, const char *host, char *heartbeat,
			    size_t len);
};

/* One request's context. */
struct api_ctx {
	struct store *store;
	const struct api_config *cfg;
	const struct api_live *live; /* may be NULL */
	const char *project_id; /* the caller's project */
	bool is_admin;
	char now[32]; /* the request's timestamp, YYYY-MM-DDTHH:MM:SSZ */
	/* Set by api-routers.c and api-floatingips.c while they create,
	 * change or delete a router's interface or gateway port or a
	 * floating IP's port through the ports' code, which otherwise refuses
	 * to (L3PortInUse). */
	bool l3_internal;
	/* Set by api-secgroups.c while it creates a security group's own
	 * rules with it, or a project's default group: the name 'default'
	 * is allowed, and the new rules do not write their group again (it
	 * was written in the same transaction). */
	bool sg_internal;
	const char *base_url; /* "http://host:port", for links */
	struct api_error err;
};

enum api_type {
	API_T_STRING,
	API_T_BOOL,
	API_T_INT,
	API_T_LIST,
	API_T_DICT,
	API_T_ANY, /* any JSON value: the hooks check it */
};

/* Attribute flags. */
#define API_POST (1u << 0) /* may be given on create */
#define API_PUT (1u << 1) /* may be changed by update */
#define API_REQUIRED (1u << 2) /* must be given on create */
#define API_NULLABLE (1u << 3) /* null is a valid value */
#define API_ADMIN (1u << 4) /* only an admin may set it */

struct api_attr {
	const char *name;
	enum api_type type;
	unsigned flags;
	/* JSON text of the default filled on create when the attribute is
	 * absent, or NULL when the hook computes it. */
	const char *def;
	/* For strings: the longest accepted value; 0 for 255. */
	int max_len;
};

struct api_resource;

/* A member action: PUT /v2.0/COLLECTION/ID/NAME (e.g. a router's
 * add_router_interface). */
struct api_action {
	const char *name;
	int (*fn)(struct api_ctx *ctx, json_t *obj, json_t *body, json_t **ret);
};

struct api_resource {
	const char *member; /* "network": body key and store kind */
	const char *collection; /* "networks": URL and list key */
	/* The list key when it differs from the URL's collection
	 * ("security_groups" for "security-groups"), or NULL. */
	const char *list_key;
	const char *title; /* "Network": in messages and error types */
	const struct api_attr *attrs; /* terminated by { NULL } */
	/* The attribute whose value is stored as the document's parent
	 * (e.g. "network_id"), or NULL. */
	const char *parent_attr;
	bool allow_create;
	bool admin_only; /* every operation needs admin */
	bool immutable; /* no update: PUT is 405 */

	/* Hooks; each returns 0 or api_fail(). 'obj' is the resource as it
	 * will be stored, after validation and defaults; a hook completes
	 * it and claims what it needs in the store. */
	int (*create)(struct api_ctx *ctx, json_t *obj);
	/* Runs after 'obj' was created and stored, in the same transaction
	 * (to create what refers to it); NULL: nothing. */
	int (*created)(struct api_ctx *ctx, json_t *obj);
	/* 'old' is the stored resource, 'obj' the merged result of the
	 * update and 'changes' the request's attributes. */
	int (*update)(struct api_ctx *ctx, json_t *old, json_t *obj,
		      json_t *changes);
	int (*remove)(struct api_ctx *ctx, json_t *obj);
	/* Whether the caller may see 'obj'; NULL: admin or same project. */
	bool (*visible)(struct api_ctx *ctx, json_t *obj);
	/* Whether the resource is shared with every project (stored beside
	 * the document so that lists can find it); NULL: never. */
	bool (*shared)(json_t *obj);
	const struct api_action *actions; /* terminated by { NULL } */
	/* Completes 'obj' with attributes that are not stored, computed at
	 * read time (an agent's 'alive'), before it is filtered and answered
	 * by show, list and update; NULL: nothing to add. */
	void (*present)(struct api_ctx *ctx, json_t *obj);
	/* Runs in a write transaction of its own before a list is read (a
	 * project's default security group is created on first use); NULL:
	 * lists are read without one. */
	int (*before_list)(struct api_ctx *ctx);
};

extern const struct api_resource api_networks;
extern const struct api_resource api_subnets;
extern const struct api_resource api_ports;
extern const struct api_resource api_agents;
extern const struct api_resource api_routers;
extern const struct api_resource api_security_groups;
extern const struct api_resource api_security_group_rules;
extern const struct api_resource api_floatingips;

/* The device_owner of a router's interface ports (device_id: the router). */
#define API_ROUTER_INTERFACE_OWNER "network:router_interface"
/* The device_owner of a router's gateway port on its external network
 * (device_id: the router) and of a floating IP's port, which holds its
 * address (device_id: the floating IP). */
#define API_ROUTER_GATEWAY_OWNER "network:router_gateway"
#define API_FLOATINGIP_OWNER "network:floatingip"

/* Whether the port 'port' belongs to the L3 code (a router's interface or
 * gateway, a floating IP): only that code, with ctx->l3_internal set,
 * creates, re-addresses or deletes such ports. */
bool api_port_is_l3(json_t *port);

/* Deletes the port of 'device_id' whose device_owner is 'owner' (a
 * router's gateway port, a floating IP's port), releasing what it holds;
 * nothing when there is none. Returns 0 or api_fail(). */
int api_l3_port_remove(struct api_ctx *ctx, const char *device_id,
		       const char *owner);

/*
 * Floating IPs (api-floatingips.c), inside the request's transaction.
 * api_fip_router_users() counts into 'ret' the floating IPs associated
 * through router 'router_id', only those whose fixed IP lies in
 * 'net'/'prefix' when 'prefix' >= 0. api_fip_port_deleted() disassociates
 * the floating IPs of port 'port_id', which is being deleted. Each returns
 * 0 or api_fail().
 */
int api_fip_router_users(struct api_ctx *ctx, const char *router_id,
			 uint32_t net, int prefix, int64_t *ret);
int api_fip_port_deleted(struct api_ctx *ctx, const char *port_id);

/* Handles one request. 'method' is "GET", "POST", "PUT" or "DELETE";
 * 'path' the URL path without the query; 'query' an object mapping each
 * query key to an array of its values; 'body' the parsed body or NULL.
 * Returns the HTTP status and sets 'ret_body' to a new reference (NULL for
 * no body). Errors are answered with a Neutron error body. */
int api_handle(struct api_ctx *ctx, const char *method, const char *path,
	       json_t *query, json_t *body, json_t **ret_body);

/* Builds the Neutron error body for 'err'. */
json_t *api_error_body(const struct api_error *err);

/* Helpers for resource hooks. */

/* Finds a resource the caller may see. Returns a new reference, or NULL
 * with a 404 "<Title>NotFound" in ctx->err. */
json_t *api_find(struct api_ctx *ctx, const struct api_resource *res,
		 const char *id);

/* True when the caller owns 'obj' or is admin. */
bool api_owns(struct api_ctx *ctx, json_t *obj);

/* Stores 'obj' again after a hook changed it as a side effect of another
 * request (e.g. a network's subnet list): bumps revision_number and
 * updated_at. */
int api_touch(struct api_ctx *ctx, const struct api_resource *res, json_t *obj);

/* Creates one resource of 'res' from the attributes 'in' exactly as one
 * item of a POST does (validation, defaults, the create hook, the write),
 * inside the caller's transaction. Returns 0 and sets 'ret' to the stored
 * object (a new reference), or -1 with ctx->err set. */
int api_create(struct api_ctx *ctx, const struct api_resource *res, json_t *in,
	       json_t **ret);

/* Releases what the port 'port' holds (its fixed IPs, its MAC and its
 * security group memberships), as a delete of the port does before the
 * document goes. Returns 0 or api_fail(). */
int api_port_release(struct api_ctx *ctx, json_t *port);

/*
 * Security groups of ports (api-secgroups.c), inside the request's
 * transaction. api_sg_port_groups() completes the 'security_groups' of
 * the port 'port' being created when absent (the project's default group,
 * created if need be, when port security is on and the device_owner does
 * not start with "network:"; else none) and checks each given one: a group
 * of the port's project (404 SecurityGroupNotFound), duplicates dropped.
 * api_sg_port_changed() keeps the membership index up to date and records
 * a change of every group the port left, joined, or whose members' addresses
 * it changed; 'old' is NULL for a new port, 'port' NULL for a deleted one.
 * Each returns 0 or api_fail().
 */
int api_sg_port_groups(struct api_ctx *ctx, json_t *port);
int api_sg_port_changed(struct api_ctx *ctx, json_t *old, json_t *port);

/* Attribute accessors that tolerate absence. */
const char *api_str(json_t *obj, const char *name);
bool api_bool(json_t *obj, const char *name);

/* Generates a random UUID string into 'buf' (37 bytes). */
void api_uuid(char *buf);
