/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The durable store of the logical model: one SQLite file in WAL mode.
 *
 * Resources are JSON documents addressed by (kind, id), e.g. ("network",
 * UUID). A few columns are kept beside the document so that lists can be
 * narrowed in SQL: the project, the parent (a subnet's or port's network)
 * and whether the resource is shared. Uniqueness that the API must enforce
 * lives in tables of its own, whose primary keys make a duplicate
 * impossible even under a bug: VNIs, MAC addresses per network and IP
 * allocations per subnet.
 *
 * Every write happens inside a transaction opened with store_begin(). The
 * first write of a transaction takes the next global revision; all writes
 * of the transaction carry it, and each is recorded in the change log
 * (revision, kind, id, op) from which the southbound stream is built.
 * store_commit() makes it durable (synchronous=FULL by default) before it
 * returns, so a change the API acknowledged survives kill -9 and power loss.
 */

struct store;

struct store_options {
	/* "full" (default: fsync on every commit) or "normal" (WAL
	 * checkpoint-time fsync only: survives a crash of weftd, not of the
	 * machine). */
	const char *synchronous;
};

/* Opens or creates the store at 'path' and brings its schema to the
 * current version. Returns 0 and sets 'ret' (free with store_free()), or a
 * negative errno; 'errmsg' (may be NULL) receives a description. */
int store_open(const char *path, const struct store_options *opts,
	       struct store **ret, char *errmsg, size_t errmsg_len);
void store_free(struct store *s);

/* The schema version this build writes. */
int store_schema_version(void);

/* Transactions. store_begin() fails with -EBUSY if one is already open. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* The revision of the last committed write transaction (0 for an empty
 * store). */
uint64_t store_revision(const struct store *s);

/* Inserts or replaces the document 'doc' of 'kind'. 'doc' must carry string
 * members "id" and "project_id"; 'parent_id' may be NULL. The document is
 * serialised; the caller keeps its reference. */
int store_put(struct store *s, const char *kind, const char *parent_id,
	      bool shared, json_t *doc);

/* Records in the change log that something derived from the document
 * (kind, id) changed without the document being written (a security
 * group whose members changed), with op "note". Inside a transaction. */
int store_note(struct store *s, const char *kind, const char *id);

/* Deletes a document. Returns 0, or -ENOENT when there is none. */
int store_delete(struct store *s, const char *kind, const char *id);

/* Returns a new reference to the document, or NULL when not found. */
json_t *store_get(struct store *s, const char *kind, const char *id);

struct store_query {
	const char *kind;
	/* When set, only documents of this project, plus shared ones when
	 * 'include_shared'. */
	const char *project_id;
	bool include_shared;
	/* When set, only documents with this parent. */
	const char *parent_id;
	/* When set, only documents whose member "device_id" is this (a
	 * router's interface ports); an index lookup. */
	const char *device_id;
};

/* Called for each document in creation order; 'doc' is borrowed. A
 * non-zero return stops the walk and is returned by store_list(). */
typedef int (*store_list_fn)(json_t *doc, void *data);

int store_list(struct store *s, const struct store_query *q, store_list_fn fn,
	       void *data);

/* Counts the documents of 'kind' with parent 'parent_id'. */
int store_count_children(struct store *s, const char *kind,
			 const char *parent_id, int64_t *ret);

/* VNIs: a 24-bit id per network, 1..0xfffffe (0xffffff is
 * WEFT_VNI_HANDOFF, the gateways' own). store_vni_allocate() takes the
 * next free value after the last one handed out (so a freed VNI is reused
 * as late as possible); store_vni_claim() takes a given one, -EEXIST when
 * in use, -EINVAL when out of range. */
int store_vni_allocate(struct store *s, const char *network_id, uint32_t *ret);
int store_vni_claim(struct store *s, const char *network_id, uint32_t vni);
int store_vni_release(struct store *s, const char *network_id);

/* Router keys: a 32-bit id per router (1..2^32-1), allocated as VNIs
 * are (the next free one after the last handed out). store_router_key()
 * reads a router's key: -ENOENT when it has none. */
int store_router_key_allocate(struct store *s, const char *router_id,
			      uint32_t *ret);
int store_router_key_release(struct store *s, const char *router_id);
int store_router_key(struct store *s, const char *router_id, uint32_t *ret);

/* Gateway slots (docs/gateways.md): each gateway agent, by host name,
 * holds one of 0..'n'-1 until released. store_gateway_slot_claim() returns
 * the host's slot, taking the lowest free one when it has none (-ENOSPC
 * when all 'n' are taken); store_gateway_slot() reads it (-ENOENT when
 * none); store_gateway_slot_release() frees it. Inside a transaction. */
int store_gateway_slot_claim(struct store *s, const char *host, uint32_t n,
			     uint32_t *ret);
int store_gateway_slot(struct store *s, const char *host, uint32_t *ret);
int store_gateway_slot_release(struct store *s, const char *host);

/* MAC addresses, unique per network. -EEXIST when taken. */
int store_mac_claim(struct store *s, const char *network_id, const char *mac,
		    const char *port_id);
int store_mac_release(struct store *s, const char *network_id, const char *mac);

/* IP allocations, unique per subnet. store_ip_claim() returns -EEXIST when
 * the address is taken. */
int store_ip_claim(struct store *s, const char *subnet_id, uint32_t ip,
		   const char *port_id);
int store_ip_release(struct store *s, const char *subnet_id, uint32_t ip);

/* Finds the lowest free address in ['lo', 'hi'] of a subnet. Returns 0 and
 * sets 'ret', or -ENOSPC when every address in the range is taken. Costs
 * one index walk over the allocations in the range. */
int store_ip_first_free(struct store *s, const char *subnet_id, uint32_t lo,
			uint32_t hi, uint32_t *ret);

/* The highest allocated address of a subnet in ['lo', 'hi']; -ENOENT when
 * none. */
int store_ip_highest(struct store *s, const char *subnet_id, uint32_t lo,
		     uint32_t hi, uint32_t *ret);

/* Counts the allocations of a subnet. */
int store_ip_count(struct store *s, const char *subnet_id, int64_t *ret);

/* Returns the id of the port holding 'ip' in 'subnet_id' into 'port_id'
 * (37 bytes), or -ENOENT. */
int store_ip_owner(struct store *s, const char *subnet_id, uint32_t ip,
		   char *port_id, size_t len);

/* Security group membership: store_sg_ports_set() makes the groups of
 * port 'port_id' exactly the strings of 'groups' (an array; NULL or empty:
 * none), inside a transaction; store_sg_ports() sets 'ret' to a new array
 * of the ids of the ports having group 'group_id', sorted. */
int store_sg_ports_set(struct store *s, const char *port_id, json_t *groups);
int store_sg_ports(struct store *s, const char *group_id, json_t **ret);

/* Reads the change log after revision 'since': calls 'fn' with each
 * (revision, kind, id, op) in order. */
typedef int (*store_change_fn)(uint64_t revision, const char *kind,
			       const char *id, const char *op, void *data);
int store_changes_since(struct store *s, uint64_t since, store_change_fn fn,
			void *data);
