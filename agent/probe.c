/* SPDX-License-Identifier: Apache-2.0 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conntrack.h"
#include "gateway.h"
#include "kvtab.h"
#include "log.h"
#include "netaddr.h"

#define PROBE_NAME_MAX 64

/* One probed gateway: the value of 'gateways', keyed by its address. */
struct probe_target {
	struct gateway_probe st;
	char name[PROBE_NAME_MAX];
	bool seen; /* still in the view (probe_sync()) */
};

struct probe {
	struct probe_options opt;
	struct probe_ops ops;
	void *ctx;
	int tx_fd; /* prober: ephemeral port, receives the echoes */
	int rx_fd; /* responder: the probe port (-1 on hypervisors) */
	bool responding;
	uint32_t seq;
	struct kvtab gateways; /* uint32_t ip (host order) -> probe_target */
	struct event *tick_ev, *tx_ev, *rx_ev;
};

/* A UDP socket bound to 'ip':'port' (0: any port), non-blocking. */
static int udp_socket(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Logs a liveness change of 't' (at 'ip') and tells the agent. */
static void report_change(struct probe *p, uint32_t ip,
			  const struct probe_target *t,
			  enum gateway_change change)
{
	char addr[NETADDR_IPV4_STRLEN];

	if (change == GATEWAY_UNCHANGED)
		return;
	netaddr_format_ipv4(ip, addr);
	if (change == GATEWAY_DIED)
		log_warn("gateway %s %s dead: %u probes unanswered", t->name,
			 addr, t->st.misses);
	else
		log_info("gateway %s %s alive: %u probes answered", t->name,
			 addr, t->st.answers);
	p->ops.changed(p->ctx);
}

/* Sends 'buf' ('len' bytes) from the prober's socket to the probe port
 * of 'ip' (host order). A full socket buffer or an unreachable underlay
 * is what a probe's miss is for: no retry. Returns true when sent. */
static bool send_to(struct probe *p, uint32_t ip, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(p->opt.port),
				  .sin_addr.s_addr = htonl(ip) };

	return sendto(p->tx_fd, buf, len, 0, (struct sockaddr *)&sa,
		      sizeof(sa)) >= 0;
}

/* Every interval: a probe to each gateway (the last one, unanswered,
 * counts as a miss). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;
	uint8_t buf[GATEWAY_PROBE_SIZE];
	uint32_t seq = ++p->seq;

	gateway_probe_encode(buf, seq, conntrack_now_ns());
	while ((n = kvtab_next(&p->gateways, &it))) {
		uint32_t ip;
		struct probe_target *t =
			(struct probe_target *)kvtab_node_value(&p->gateways,
								n);
		enum gateway_change change;

		memcpy(&ip, kvtab_node_key(n), sizeof(ip));
		change = gateway_probe_sent(&t->st, seq, p->opt.misses);
		send_to(p, ip, buf, sizeof(buf));
		report_change(p, ip, t, change);
	}
}

/* Echoes from gateways, on the prober's socket. */
static void on_tx_readable(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	uint8_t buf[64];
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	ssize_t got;

	while ((got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa,
			       &len)) >= 0) {
		uint32_t ip = ntohl(sa.sin_addr.s_addr), seq;
		uint64_t ts;
		struct probe_target *t;

		len = sizeof(sa);
		if (gateway_probe_decode(buf, (size_t)got, &seq, &ts) < 0 ||
		    ntohs(sa.sin_port) != p->opt.port)
			continue;
		t = (struct probe_target *)kvtab_get(&p->gateways, &ip);
		if (t)
			report_change(p, ip, t,
				      gateway_probe_answered(&t->st, seq));
	}
}

/* Datagrams to the probe port: probes from other agents, echoed
 * unchanged once the responder is enabled; anything else from a gateway
 * of the view goes to ops.received (SNAT copies). */
static void on_rx_readable(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	uint8_t buf[GATEWAY_SNAT_MAX_SIZE + 1];
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	ssize_t got;

	while ((got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa,
			       &len)) >= 0) {
		uint32_t seq, from = ntohl(sa.sin_addr.s_addr);
		uint64_t ts;

		if (gateway_probe_decode(buf, (size_t)got, &seq, &ts) == 0) {
			if (p->responding)
				sendto(fd, buf, (size_t)got, 0,
				       (struct sockaddr *)&sa, len);
		} else if (p->ops.received && kvtab_get(&p->gateways, &from)) {
			p->ops.received(p->ctx, buf, (size_t)got, from);
		}
		len = sizeof(sa);
	}
}

size_t probe_send_gateways(struct probe *p, const void *buf, size_t len)
{
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;
	size_t sent = 0;

	while ((n = kvtab_next(&p->gateways, &it))) {
		uint32_t ip;

		memcpy(&ip, kvtab_node_key(n), sizeof(ip));
		sent += send_to(p, ip, buf, len);
	}
	return sent;
}

int probe_new(struct event_base *base, const struct probe_options *o,
	      const struct probe_ops *ops, void *ctx, struct probe **ret)
{
	struct timeval tv = { o->interval_ms / 1000,
			      (o->interval_ms % 1000) * 1000 };
	struct probe *p = calloc(1, sizeof(*p));
	int r = -ENOMEM;

	if (!p)
		return -ENOMEM;
	p->opt = *o;
	p->ops = *ops;
	p->ctx = ctx;
	p->rx_fd = -1;
	kvtab_init(&p->gateways, sizeof(uint32_t), sizeof(struct probe_target));
	p->tx_fd = udp_socket(o->local_ip, 0);
	if (p->tx_fd < 0) {
		r = p->tx_fd;
		goto fail;
	}
	if (o->responder) {
		p->rx_fd = udp_socket(o->local_ip, o->port);
		if (p->rx_fd < 0) {
			r = p->rx_fd;
			goto fail;
		}
		p->rx_ev = event_new(base, p->rx_fd, EV_READ | EV_PERSIST,
				     on_rx_readable, p);
		if (!p->rx_ev || event_add(p->rx_ev, NULL) < 0)
			goto fail;
	}
	p->tx_ev = event_new(base, p->tx_fd, EV_READ | EV_PERSIST,
			     on_tx_readable, p);
	p->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, p);
	if (!p->tx_ev || !p->tick_ev || event_add(p->tx_ev, NULL) < 0 ||
	    event_add(p->tick_ev, &tv) < 0)
		goto fail;
	*ret = p;
	return 0;
fail:
	probe_free(p);
	return r;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	if (p->tick_ev)
		event_free(p->tick_ev);
	if (p->tx_ev)
		event_free(p->tx_ev);
	if (p->rx_ev)
		event_free(p->rx_ev);
	if (p->tx_fd >= 0)
		close(p->tx_fd);
	if (p->rx_fd >= 0)
		close(p->rx_fd);
	kvtab_destroy(&p->gateways);
	free(p);
}

/* Forgets the gateways that probe_sync() did not see. */
static int drop_unseen(struct probe *p)
{
	struct kvtab_iter it = { 0 };
	struct kvtab_node *n;
	uint32_t *gone = NULL;
	size_t n_gone = 0;

	if (p->gateways.count) {
		gone = calloc(p->gateways.count, sizeof(*gone));
		if (!gone)
			return -ENOMEM;
	}
	while ((n = kvtab_next(&p->gateways, &it))) {
		struct probe_target *t =
			(struct probe_target *)kvtab_node_value(&p->gateways,
								n);

		if (!t->seen)
			memcpy(&gone[n_gone++], kvtab_node_key(n),
			       sizeof(*gone));
		t->seen = false;
	}
	for (size_t i = 0; i < n_gone; i++)
		kvtab_remove(&p->gateways, &gone[i]);
	free(gone);
	return 0;
}

int probe_sync(struct probe *p, const struct hostview *v, const char *self)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;

	while ((o = hostview_next(v, &it))) {
		const struct hostview_gateway *g = &o->gateway;
		struct probe_target *t, fresh = { .seen = true };

		if (o->kind != HOSTVIEW_GATEWAY || !strcmp(g->name, self))
			continue;
		t = (struct probe_target *)kvtab_get(&p->gateways,
						     &g->underlay_ip);
		if (t) {
			t->seen = true;
			snprintf(t->name, sizeof(t->name), "%s", g->name);
			continue;
		}
		gateway_probe_init(&fresh.st, g->alive);
		snprintf(fresh.name, sizeof(fresh.name), "%s", g->name);
		if (kvtab_put(&p->gateways, &g->underlay_ip, &fresh) < 0)
			return -ENOMEM;
	}
	return drop_unseen(p);
}

bool probe_is_alive(const struct probe *p, uint32_t ip, bool dflt)
{
	const struct probe_target *t = kvtab_get(&p->gateways, &ip);

	return t ? t->st.alive : dflt;
}

void probe_enable_responder(struct probe *p)
{
	p->responding = p->rx_fd >= 0;
}
