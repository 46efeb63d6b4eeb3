/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "kvtab.h"

/*
 * The network devices of this host's namespace, watched over rtnetlink
 * (a libnl cache manager on RTNLGRP_LINK), so that the agent learns when a
 * VM's tap appears or goes away. It does not read /sys/class/net: the agent
 * may run in a network namespace whose /sys is the root one's.
 */

struct links;

/* Called after a batch of link changes was taken in (devices appeared,
 * went, were renamed). */
typedef void (*links_changed_fn)(void *ctx);

/* Dumps the current devices and subscribes to changes. Returns 0 and sets
 * 'ret', or a negative errno. */
int links_open(links_changed_fn changed, void *ctx, struct links **ret);
void links_free(struct links *l);

/* The descriptor to poll for readability; then call links_process(). */
int links_fd(const struct links *l);

/* Takes in pending notifications and calls 'changed' when there were any.
 * Returns 0 or a negative errno (after which the cache was refilled). */
int links_process(struct links *l);

/* Fills 'ret' (a kvtab of char[LINKS_NAMSIZ] names to uint32_t ifindexes,
 * initialised by the caller with links_table_init()) with the devices
 * present now. Returns 0 or -ENOMEM. */
#define LINKS_NAMSIZ 16
void links_table_init(struct kvtab *t);
int links_table(const struct links *l, struct kvtab *ret);

/* The ifindex of 'name' in a table from links_table(), or 0. */
uint32_t links_table_ifindex(const struct kvtab *t, const char *name);

/* The MAC of device 'name' as the cache has it: 0, or -ENODEV when the
 * device is absent or has no 6-byte address. */
int links_mac(const struct links *l, const char *name, uint8_t mac[6]);

/* Calls 'fn' for each device present now. */
void links_foreach(const struct links *l,
		   void (*fn)(void *ctx, const char *name, int ifindex),
		   void *ctx);
