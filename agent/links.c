/* SPDX-License-Identifier: Apache-2.0 */
#include "links.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "nlerr.h"

struct links {
	struct nl_sock *sk; /* for refills */
	struct nl_cache_mngr *mngr;
	struct nl_cache *cache;
	links_changed_fn changed;
	void *ctx;
	bool dirty;
};

static void links_change(struct nl_cache *cache, struct nl_object *obj,
			 int action, void *data)
{
	struct links *l = data;

	l->dirty = true;
}

int links_open(links_changed_fn changed, void *ctx, struct links **ret)
{
	struct links *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->changed = changed;
	l->ctx = ctx;
	l->sk = nl_socket_alloc();
	if (!l->sk) {
		r = -ENOMEM;
		goto fail;
	}
	r = nl_connect(l->sk, NETLINK_ROUTE);
	if (r < 0)
		goto fail_nl;
	r = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &l->mngr);
	if (r < 0)
		goto fail_nl;
	r = nl_cache_mngr_add(l->mngr, "route/link", links_change, l,
			      &l->cache);
	if (r < 0)
		goto fail_nl;
	*ret = l;
	return 0;
fail_nl:
	r = nlerr_to_errno(r);
fail:
	links_free(l);
	return r;
}

void links_free(struct links *l)
{
	if (!l)
		return;
	if (l->mngr)
		nl_cache_mngr_free(l->mngr); /* frees its caches */
	if (l->sk)
		nl_socket_free(l->sk);
	free(l);
}

int links_fd(const struct links *l)
{
	return nl_cache_mngr_get_fd(l->mngr);
}

int links_process(struct links *l)
{
	int r = nl_cache_mngr_data_ready(l->mngr);

	if (r < 0) {
		/* Most likely the socket overran (ENOBUFS) during a burst of
		 * changes: the cache may have missed some, so read it all
		 * again. */
		nl_cache_refill(l->sk, l->cache);
		l->dirty = true;
	}
	if (l->dirty) {
		l->dirty = false;
		l->changed(l->ctx);
	}
	return r < 0 ? nlerr_to_errno(r) : 0;
}

void links_table_init(struct kvtab *t)
{
	kvtab_init(t, LINKS_NAMSIZ, sizeof(uint32_t));
}

struct table_ctx {
	struct kvtab *t;
	int r;
};

static void table_add(void *ctx, const char *name, int ifindex)
{
	struct table_ctx *c = ctx;
	char key[LINKS_NAMSIZ] = { 0 };
	uint32_t value = (uint32_t)ifindex;

	strncpy(key, name, LINKS_NAMSIZ - 1);
	if (!c->r)
		c->r = kvtab_put(c->t, key, &value);
}

int links_table(const struct links *l, struct kvtab *ret)
{
	struct table_ctx c = { ret, 0 };

	links_foreach(l, table_add, &c);
	return c.r;
}

uint32_t links_table_ifindex(const struct kvtab *t, const char *name)
{
	char key[LINKS_NAMSIZ] = { 0 };
	const uint32_t *v;

	strncpy(key, name, LINKS_NAMSIZ - 1);
	v = kvtab_get(t, key);
	return v ? *v : 0;
}

void links_foreach(const struct links *l,
		   void (*fn)(void *ctx, const char *name, int ifindex),
		   void *ctx)
{
	for (struct nl_object *o = nl_cache_get_first(l->cache); o;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(link);

		if (name)
			fn(ctx, name, rtnl_link_get_ifindex(link));
	}
}

int links_mac(const struct links *l, const char *name, uint8_t mac[6])
{
	struct rtnl_link *link = rtnl_link_get_by_name(l->cache, name);
	struct nl_addr *a;
	int r = -ENODEV;

	if (!link)
		return r;
	a = rtnl_link_get_addr(link);
	if (a && nl_addr_get_len(a) == 6) {
		memcpy(mac, nl_addr_get_binary_addr(a), 6);
		r = 0;
	}
	rtnl_link_put(link);
	return r;
}
