/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp-server.h"

#include <errno.h>
#include <string.h>

#include "netaddr.h"

#define MAX_ROUTES 64

static const char *const verdict_names[DHCP_VERDICT_MAX] = {
	[DHCP_VERDICT_OFFER] = "offer",
	[DHCP_VERDICT_ACK] = "ack",
	[DHCP_VERDICT_NAK] = "nak",
	[DHCP_VERDICT_RELEASE] = "release",
	[DHCP_VERDICT_NOT_PORT] = "not_port",
	[DHCP_VERDICT_MALFORMED] = "malformed",
	[DHCP_VERDICT_OVERSIZED] = "oversized",
	[DHCP_VERDICT_FOREIGN_MAC] = "foreign_mac",
	[DHCP_VERDICT_NO_DHCP_SUBNET] = "no_dhcp_subnet",
	[DHCP_VERDICT_OTHER_SERVER] = "other_server",
	[DHCP_VERDICT_WRONG_ADDRESS] = "wrong_address",
	[DHCP_VERDICT_UNSUPPORTED] = "unsupported",
	[DHCP_VERDICT_BUILD_FAILED] = "build_failed",
};

const char *dhcp_verdict_name(enum dhcp_verdict v)
{
	return v < DHCP_VERDICT_MAX ? verdict_names[v] : "unknown";
}

/* The local port whose tap is 'ifindex'. A walk over the view: DHCP
 * requests are rare, and the view is what is current right now (a cached
 * index could point at objects a delta just freed). */
static const struct hostview_port *port_by_ifindex(const struct hostview *v,
						   const char *host,
						   reconcile_tap_fn tap_ifindex,
						   void *ctx, uint32_t ifindex)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;
	char tap[HOSTVIEW_IFNAMSIZ];

	while ((o = hostview_next(v, &it))) {
		if (o->kind != HOSTVIEW_PORT || !o->port.host ||
		    strcmp(o->port.host, host))
			continue;
		hostview_port_tap_name(&o->port, tap);
		if (tap_ifindex(ctx, tap) == ifindex)
			return &o->port;
	}
	return NULL;
}

/* The first fixed IP of 'p' on a subnet with DHCP, and that subnet. */
static const struct hostview_subnet *dhcp_subnet(const struct hostview *v,
						 const struct hostview_port *p,
						 uint32_t *ret_ip)
{
	for (size_t i = 0; i < p->n_ips; i++) {
		struct hostview_iter it = { 0 };
		const struct hostview_object *o;

		while ((o = hostview_next(v, &it))) {
			const struct hostview_subnet *s = &o->subnet;

			if (o->kind != HOSTVIEW_SUBNET || !s->enable_dhcp ||
			    s->vni != p->vni ||
			    !netaddr_in_prefix(p->ips[i], s->net, s->prefix))
				continue;
			*ret_ip = p->ips[i];
			return s;
		}
	}
	return NULL;
}

static uint16_t subnet_mtu(const struct hostview *v,
			   const struct hostview_subnet *s,
			   const struct hostview_port *p)
{
	const char *net = s->network_id ? s->network_id : p->network_id;
	const struct hostview_network *n;

	if (s->mtu)
		return (uint16_t)s->mtu;
	n = net ? hostview_find_network(v, net) : NULL;
	return n ? (uint16_t)n->mtu : 0;
}

/* Fills 'rp' with what the subnet tells its clients; 'routes' has room
 * for MAX_ROUTES. */
static void subnet_reply(const struct hostview *v,
			 const struct hostview_subnet *s,
			 const struct hostview_port *p,
			 struct dhcp_route *routes, struct dhcp_reply *rp)
{
	size_t n = 0;
	bool has_default = false;

	rp->prefix = s->prefix;
	rp->has_router = s->has_gateway;
	rp->router = s->gateway;
	rp->dns = s->dns;
	rp->n_dns = s->n_dns;
	rp->domain = s->dns_domain;
	rp->mtu = subnet_mtu(v, s, p);
	rp->lease = DHCP_LEASE_SECONDS;
	for (size_t i = 0; i < s->n_host_routes && n < MAX_ROUTES; i++) {
		const struct hostview_route *h = &s->host_routes[i];

		routes[n++] =
			(struct dhcp_route){ h->dest, h->prefix, h->nexthop };
		if (!h->prefix)
			has_default = true;
	}
	/* A client that gets option 121 ignores option 3 (RFC 3442): the
	 * default route goes into 121 as well. */
	if (n && s->has_gateway && !has_default)
		routes[n++] = (struct dhcp_route){ 0, 0, s->gateway };
	rp->routes = routes;
	rp->n_routes = n;
}

void dhcp_server_answer(const struct hostview *v, const char *host,
			reconcile_tap_fn tap_ifindex, void *ctx,
			uint32_t ifindex, const uint8_t *frame, size_t len,
			uint8_t *out, size_t out_size, struct dhcp_answer *ret)
{
	struct dhcp_answer a = { .verdict = DHCP_VERDICT_NOT_PORT };
	struct dhcp_route routes[MAX_ROUTES + 1];
	const struct hostview_subnet *s;
	struct dhcp_request req;
	struct dhcp_reply rp = { 0 };
	int r;

	a.port = port_by_ifindex(v, host, tap_ifindex, ctx, ifindex);
	if (!a.port)
		goto out;
	r = dhcp_proto_parse(frame, len, &req);
	if (r < 0) {
		a.verdict = r == -EMSGSIZE ? DHCP_VERDICT_OVERSIZED :
					     DHCP_VERDICT_MALFORMED;
		goto out;
	}
	if (memcmp(req.eth_src, a.port->mac, 6) ||
	    memcmp(req.chaddr, a.port->mac, 6)) {
		a.verdict = DHCP_VERDICT_FOREIGN_MAC;
		goto out;
	}
	if (req.type != DHCP_DISCOVER && req.type != DHCP_REQUEST &&
	    req.type != DHCP_INFORM && req.type != DHCP_RELEASE &&
	    req.type != DHCP_DECLINE) {
		a.verdict = DHCP_VERDICT_UNSUPPORTED;
		goto out;
	}
	s = dhcp_subnet(v, a.port, &a.ip);
	if (!s) {
		a.verdict = DHCP_VERDICT_NO_DHCP_SUBNET;
		goto out;
	}
	if (req.has_server_id && req.server_id != s->dhcp_server) {
		a.verdict = DHCP_VERDICT_OTHER_SERVER;
		goto out;
	}

	switch (req.type) {
	case DHCP_DISCOVER:
		rp.type = DHCP_OFFER;
		break;
	case DHCP_REQUEST:
		/* SELECTING and INIT-REBOOT name the address in option 50;
		 * RENEWING and REBINDING in ciaddr (RFC 2131 4.3.2). */
		if (req.has_requested_ip)
			rp.type =
				req.requested_ip == a.ip ? DHCP_ACK : DHCP_NAK;
		else if (req.ciaddr)
			rp.type = req.ciaddr == a.ip ? DHCP_ACK : DHCP_NAK;
		else
			rp.type = DHCP_NAK;
		break;
	case DHCP_INFORM:
		if (req.ciaddr != a.ip) {
			a.verdict = DHCP_VERDICT_WRONG_ADDRESS;
			goto out;
		}
		rp.type = DHCP_ACK;
		rp.inform = true;
		break;
	default: /* RELEASE, DECLINE: the address stays the port's. */
		a.verdict = DHCP_VERDICT_RELEASE;
		goto out;
	}

	hostview_dhcp_server_mac(v, s, rp.server_mac);
	rp.server_id = s->dhcp_server;
	rp.yiaddr = a.ip;
	if (rp.type != DHCP_NAK)
		subnet_reply(v, s, a.port, routes, &rp);
	r = dhcp_proto_build(&req, &rp, out, out_size);
	if (r < 0) {
		a.verdict = DHCP_VERDICT_BUILD_FAILED;
		goto out;
	}
	a.len = (size_t)r;
	a.verdict = rp.type == DHCP_OFFER ? DHCP_VERDICT_OFFER :
		    rp.type == DHCP_ACK	  ? DHCP_VERDICT_ACK :
					    DHCP_VERDICT_NAK;
out:
	*ret = a;
}
