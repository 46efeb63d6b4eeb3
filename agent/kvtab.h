/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A hash table of fixed-size binary keys to fixed-size binary values: the
 * userspace image of one BPF map (what the agent wants in it, or what it
 * believes the map holds). Keys and values are copied in. 'value_size' may
 * be 0 for a plain set.
 */

struct kvtab_node {
	struct kvtab_node *next;
	uint32_t hash;
	uint8_t data[]; /* key, then value */
};

struct kvtab {
	size_t key_size;
	size_t value_size;
	size_t count;
	size_t n_buckets; /* a power of two, or 0 before the first insert */
	struct kvtab_node **buckets;
};

/* The hash of the table, for other uses that need a stable digest of
 * bytes (the same on every run and host): FNV-1a, fed piecewise with
 * kvtab_hash_add() from KVTAB_HASH_INIT, then a final mix so that every
 * bit of the result depends on all of the input. */
#define KVTAB_HASH_INIT 2166136261u
uint32_t kvtab_hash_add(uint32_t h, const void *data, size_t len);
uint32_t kvtab_hash_finish(uint32_t h);

/* Initialises an empty table. */
void kvtab_init(struct kvtab *t, size_t key_size, size_t value_size);

/* Frees every entry; 't' stays usable (empty). */
void kvtab_destroy(struct kvtab *t);

/* Inserts or replaces the value of 'key'. Returns 0 or -ENOMEM. */
int kvtab_put(struct kvtab *t, const void *key, const void *value);

/* Returns a pointer to the value stored for 'key' (valid until the next
 * change to the table), or NULL. For a set, returns a non-NULL pointer
 * to the key when present. */
const void *kvtab_get(const struct kvtab *t, const void *key);

/* Removes 'key'. Returns true when it was present. */
bool kvtab_remove(struct kvtab *t, const void *key);

/* Iteration: 'bucket' and 'node' start at 0/NULL; each call returns the
 * next node or NULL at the end. The table must not change meanwhile. */
struct kvtab_iter {
	size_t bucket;
	struct kvtab_node *node;
};
struct kvtab_node *kvtab_next(const struct kvtab *t, struct kvtab_iter *it);

static inline const void *kvtab_node_key(const struct kvtab_node *n)
{
	return n->data;
}

static inline const void *kvtab_node_value(const struct kvtab *t,
					   const struct kvtab_node *n)
{
	return n->data + t->key_size;
}
