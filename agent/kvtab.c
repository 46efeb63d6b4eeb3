/* SPDX-License-Identifier: Apache-2.0 */
#include "kvtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void kvtab_init(struct kvtab *t, size_t key_size, size_t value_size)
{
	memset(t, 0, sizeof(*t));
	t->key_size = key_size;
	t->value_size = value_size;
}

void kvtab_destroy(struct kvtab *t)
{
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct kvtab_node *n = t->buckets[i];

		while (n) {
			struct kvtab_node *next = n->next;

			free(n);
			n = next;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = 0;
	t->count = 0;
}

uint32_t kvtab_hash_add(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i = 0;

	/* A word at a time (keys are mostly multiples of 4 bytes): the
	 * policy compiler hashes every sg_remote entry of every port on each
	 * reconcile. kvtab_hash_finish() mixes what this leaves. */
	for (; i + 4 <= len; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, sizeof(w));
		h ^= w;
		h *= 16777619u;
		h ^= h >> 15;
	}
	for (; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t kvtab_hash_finish(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

static uint32_t kvtab_hash(const void *key, size_t len)
{
	return kvtab_hash_finish(kvtab_hash_add(KVTAB_HASH_INIT, key, len));
}

static int kvtab_grow(struct kvtab *t)
{
	size_t n = t->n_buckets ? t->n_buckets * 2 : 16;
	struct kvtab_node **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct kvtab_node *node = t->buckets[i];

		while (node) {
			struct kvtab_node *next = node->next;
			size_t j = node->hash & (n - 1);

			node->next = b[j];
			b[j] = node;
			node = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

static struct kvtab_node *kvtab_find(const struct kvtab *t, const void *key,
				     uint32_t hash)
{
	if (!t->n_buckets)
		return NULL;
	for (struct kvtab_node *n = t->buckets[hash & (t->n_buckets - 1)]; n;
	     n = n->next) {
		if (n->hash == hash && !memcmp(n->data, key, t->key_size))
			return n;
	}
	return NULL;
}

int kvtab_put(struct kvtab *t, const void *key, const void *value)
{
	uint32_t hash = kvtab_hash(key, t->key_size);
	struct kvtab_node *n = kvtab_find(t, key, hash);
	size_t j;

	if (n) {
		if (t->value_size)
			memcpy(n->data + t->key_size, value, t->value_size);
		return 0;
	}
	if (t->count >= t->n_buckets) {
		int r = kvtab_grow(t);

		if (r < 0)
			return r;
	}
	n = malloc(sizeof(*n) + t->key_size + t->value_size);
	if (!n)
		return -ENOMEM;
	n->hash = hash;
	memcpy(n->data, key, t->key_size);
	if (t->value_size)
		memcpy(n->data + t->key_size, value, t->value_size);
	j = hash & (t->n_buckets - 1);
	n->next = t->buckets[j];
	t->buckets[j] = n;
	t->count++;
	return 0;
}

const void *kvtab_get(const struct kvtab *t, const void *key)
{
	struct kvtab_node *n = kvtab_find(t, key, kvtab_hash(key, t->key_size));

	return n ? n->data + (t->value_size ? t->key_size : 0) : NULL;
}

bool kvtab_remove(struct kvtab *t, const void *key)
{
	uint32_t hash = kvtab_hash(key, t->key_size);
	struct kvtab_node **pp;

	if (!t->n_buckets)
		return false;
	for (pp = &t->buckets[hash & (t->n_buckets - 1)]; *pp;
	     pp = &(*pp)->next) {
		struct kvtab_node *n = *pp;

		if (n->hash == hash && !memcmp(n->data, key, t->key_size)) {
			*pp = n->next;
			free(n);
			t->count--;
			return true;
		}
	}
	return false;
}

struct kvtab_node *kvtab_next(const struct kvtab *t, struct kvtab_iter *it)
{
	if (it->node && it->node->next) {
		it->node = it->node->next;
		return it->node;
	}
	if (it->node)
		it->bucket++;
	it->node = NULL;
	for (; it->bucket < t->n_buckets; it->bucket++) {
		if (t->buckets[it->bucket]) {
			it->node = t->buckets[it->bucket];
			return it->node;
		}
	}
	return NULL;
}
