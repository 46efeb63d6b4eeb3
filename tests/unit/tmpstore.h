/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A store in a fresh temporary directory, for unit tests: one per test
 * (setup/teardown), removed with its directory afterwards.
 */

#include <stdio.h>
#include <stdlib.h>

#include "store.h"

struct tmpstore {
	char dir[64];
	char path[128];
	struct store *store;
};

/* Creates the directory and opens the store. Returns 0 or -1. */
static inline int tmpstore_open(struct tmpstore *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/weft-test-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/weft.db", t->dir);
	return store_open(t->path, NULL, &t->store, NULL, 0) < 0 ? -1 : 0;
}

/* Closes the store and removes the directory. Returns 0 or -1. */
static inline int tmpstore_close(struct tmpstore *t)
{
	char cmd[128];

	store_free(t->store);
	t->store = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	return system(cmd) ? -1 : 0;
}
