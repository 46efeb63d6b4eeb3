/* SPDX-License-Identifier: Apache-2.0 */
#include "vxlan.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>

#include "nlerr.h"

static int vxlan_socket(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return nlerr_to_errno(r);
	}
	*ret = sk;
	return 0;
}

/* True when 'link' is a collect_md VXLAN device on UDP port 'port'. */
static bool vxlan_matches(struct rtnl_link *link, uint16_t port)
{
	uint32_t p = 0;

	if (!rtnl_link_is_vxlan(link))
		return false;
	if (rtnl_link_vxlan_get_collect_metadata(link) <= 0)
		return false;
	if (rtnl_link_vxlan_get_port(link, &p) < 0)
		return false;
	return p == port;
}

static int vxlan_set_up(struct nl_sock *sk, struct rtnl_link *link,
			uint32_t mtu)
{
	struct rtnl_link *change;
	int r;

	if ((rtnl_link_get_flags(link) & IFF_UP) &&
	    (!mtu || rtnl_link_get_mtu(link) == mtu))
		return 0;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	r = rtnl_link_change(sk, link, change, 0);
	rtnl_link_put(change);
	return nlerr_to_errno(r);
}

int vxlan_ensure(const char *name, uint16_t port, uint32_t mtu,
		 bool *ret_created)
{
	struct rtnl_link *link = NULL, *want;
	struct nl_sock *sk;
	bool created = false;
	int r;

	r = vxlan_socket(&sk);
	if (r < 0)
		return r;
	r = rtnl_link_get_kernel(sk, 0, name, &link);
	if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV) {
		r = nlerr_to_errno(r);
		goto out;
	}
	if (!link) {
		want = rtnl_link_vxlan_alloc();
		if (!want) {
			r = -ENOMEM;
			goto out;
		}
		rtnl_link_set_name(want, name);
		rtnl_link_vxlan_set_collect_metadata(want, 1);
		rtnl_link_vxlan_set_port(want, port);
		rtnl_link_vxlan_set_learning(want, 0);
		if (mtu)
			rtnl_link_set_mtu(want, mtu);
		rtnl_link_set_flags(want, IFF_UP);
		r = rtnl_link_add(sk, want, NLM_F_CREATE | NLM_F_EXCL);
		rtnl_link_put(want);
		if (r < 0 && r != -NLE_EXIST) {
			r = nlerr_to_errno(r);
			goto out;
		}
		created = r == 0;
		r = rtnl_link_get_kernel(sk, 0, name, &link);
		if (r < 0) {
			r = nlerr_to_errno(r);
			goto out;
		}
	}
	if (!vxlan_matches(link, port)) {
		r = -EEXIST;
		goto out;
	}
	r = vxlan_set_up(sk, link, created ? 0 : mtu);
	if (r < 0)
		goto out;
	r = rtnl_link_get_ifindex(link);
	*ret_created = created;
out:
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

/* Opens a socket and reads the link 'name'. On success the caller puts
 * 'ret_link' and frees 'ret_sk'; on failure nothing is left open. */
static int vxlan_lookup(const char *name, struct nl_sock **ret_sk,
			struct rtnl_link **ret_link)
{
	struct rtnl_link *link = NULL;
	struct nl_sock *sk;
	int r;

	r = vxlan_socket(&sk);
	if (r < 0)
		return r;
	r = rtnl_link_get_kernel(sk, 0, name, &link);
	if (r < 0) {
		nl_socket_free(sk);
		return nlerr_to_errno(r);
	}
	*ret_sk = sk;
	*ret_link = link;
	return 0;
}

int vxlan_delete(const char *name)
{
	struct rtnl_link *link;
	struct nl_sock *sk;
	int r;

	r = vxlan_lookup(name, &sk, &link);
	if (r < 0)
		return r == -ENODEV ? 0 : r;
	/* Only ever delete what the agent would have created. */
	if (!rtnl_link_is_vxlan(link) ||
	    rtnl_link_vxlan_get_collect_metadata(link) <= 0)
		r = -EEXIST;
	else
		r = nlerr_to_errno(rtnl_link_delete(sk, link));
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}

int vxlan_link_mtu(const char *name)
{
	struct rtnl_link *link;
	struct nl_sock *sk;
	int r;

	r = vxlan_lookup(name, &sk, &link);
	if (r < 0)
		return r;
	r = (int)rtnl_link_get_mtu(link);
	rtnl_link_put(link);
	nl_socket_free(sk);
	return r;
}
