/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dhcp-proto.h"
#include "dhcp-server.h"
#include "kvtab.h"
#include "log.h"
#include "netaddr.h"

#define PORT_ID_MAX 64
#define BURST \
	64 /* frames read per wake-up, so a flood cannot starve the loop */

struct dhcp_counters {
	uint64_t verdicts[DHCP_VERDICT_MAX];
};

struct dhcp {
	int fd;
	struct event *ev;
	const struct hostview *view;
	const char *host;
	reconcile_tap_fn tap_ifindex;
	void *ctx;
	struct kvtab counters; /* port id (PORT_ID_MAX) -> dhcp_counters */
	struct dhcp_counters
		no_port; /* frames from devices that are not ports */
};

/*
 * The socket filter: Ethernet type IPv4, protocol UDP, not a fragment
 * (the first fragment included: a client never fragments a request),
 * destination port 67. The whole frame is kept (the parser decides what is
 * too long).
 */
static struct sock_filter dhcp_filter[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 9),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14 + 6),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 4, 0),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14 + 2),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0x40000),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static void count(struct dhcp *d, const struct hostview_port *p,
		  enum dhcp_verdict v)
{
	struct dhcp_counters c = { 0 };
	const struct dhcp_counters *cur;
	char key[PORT_ID_MAX] = { 0 };

	if (!p) {
		d->no_port.verdicts[v]++;
		return;
	}
	strncpy(key, p->id, PORT_ID_MAX - 1);
	cur = kvtab_get(&d->counters, key);
	if (cur)
		c = *cur;
	c.verdicts[v]++;
	kvtab_put(&d->counters, key, &c); /* out of memory: not counted */
}

static void handle_frame(struct dhcp *d, const uint8_t *frame, size_t len,
			 const struct sockaddr_ll *from)
{
	static uint8_t out[DHCP_PROTO_MAX_FRAME];
	struct dhcp_answer a;
	char ip[NETADDR_IPV4_STRLEN];

	dhcp_server_answer(d->view, d->host, d->tap_ifindex, d->ctx,
			   (uint32_t)from->sll_ifindex, frame, len, out,
			   sizeof(out), &a);
	count(d, a.port, a.verdict);
	netaddr_format_ipv4(a.ip, ip);
	if (!DHCP_VERDICT_ANSWERED(a.verdict)) {
		/* Ignored frames are logged at debug level only: a VM can
		 * send as many as it likes. */
		log_debug("dhcp: ifindex %d%s%s: %s", from->sll_ifindex,
			  a.port ? ", port " : "", a.port ? a.port->id : "",
			  dhcp_verdict_name(a.verdict));
		return;
	}
	{
		struct sockaddr_ll to = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons(ETH_P_IP),
			.sll_ifindex = from->sll_ifindex,
			.sll_halen = 6,
		};

		memcpy(to.sll_addr, out, 6);
		if (sendto(d->fd, out, a.len, MSG_DONTWAIT,
			   (struct sockaddr *)&to, sizeof(to)) < 0) {
			log_warn("dhcp: port %s: cannot send the %s: %s",
				 a.port->id, dhcp_verdict_name(a.verdict),
				 strerror(errno));
			return;
		}
	}
	log_info("dhcp: port %s: %s %s", a.port->id,
		 dhcp_verdict_name(a.verdict), ip);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp *d = arg;
	/* One byte more than the largest frame served: a longer one is
	 * seen as longer and refused. */
	static uint8_t buf[DHCP_PROTO_MAX_FRAME + 1];

	for (int i = 0; i < BURST; i++) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("dhcp: recv: %s", strerror(errno));
			return;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		handle_frame(d, buf,
			     (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n,
			     &from);
	}
}

int dhcp_new(struct event_base *base, const struct hostview *v,
	     const char *host, reconcile_tap_fn tap_ifindex, void *ctx,
	     struct dhcp **ret)
{
	struct sock_fprog prog = {
		.len = sizeof(dhcp_filter) / sizeof(dhcp_filter[0]),
		.filter = dhcp_filter,
	};
	struct sockaddr_ll addr = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
	};
	struct dhcp *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->view = v;
	d->host = host;
	d->tap_ifindex = tap_ifindex;
	d->ctx = ctx;
	kvtab_init(&d->counters, PORT_ID_MAX, sizeof(struct dhcp_counters));
	/* Protocol 0 receives nothing until bound: the filter is in place
	 * before the first frame. */
	d->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(d->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) < 0 ||
	    bind(d->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		goto fail;
	}
	d->ev = event_new(base, d->fd, EV_READ | EV_PERSIST, on_readable, d);
	if (!d->ev || event_add(d->ev, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	dhcp_free(d);
	return r;
}

void dhcp_free(struct dhcp *d)
{
	if (!d)
		return;
	if (d->ev)
		event_free(d->ev);
	if (d->fd >= 0)
		close(d->fd);
	kvtab_destroy(&d->counters);
	free(d);
}

json_t *dhcp_port_stats(const struct dhcp *d, const char *port_id)
{
	char key[PORT_ID_MAX] = { 0 };
	const struct dhcp_counters *c = NULL;
	struct dhcp_counters zero = { 0 };
	json_t *reasons, *o;
	uint64_t ignored = 0;

	if (d) {
		strncpy(key, port_id, PORT_ID_MAX - 1);
		c = kvtab_get(&d->counters, key);
	}
	if (!c)
		c = &zero;
	reasons = json_object();
	if (!reasons)
		return NULL;
	for (int v = 0; v < DHCP_VERDICT_MAX; v++) {
		if (!DHCP_VERDICT_IGNORED(v) || v == DHCP_VERDICT_NOT_PORT)
			continue;
		ignored += c->verdicts[v];
		json_object_set_new(reasons, dhcp_verdict_name(v),
				    json_integer((json_int_t)c->verdicts[v]));
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "offers",
		      (json_int_t)c->verdicts[DHCP_VERDICT_OFFER], "acks",
		      (json_int_t)c->verdicts[DHCP_VERDICT_ACK], "naks",
		      (json_int_t)c->verdicts[DHCP_VERDICT_NAK], "releases",
		      (json_int_t)c->verdicts[DHCP_VERDICT_RELEASE], "ignored",
		      (json_int_t)ignored, "ignored_by_reason", reasons);
	return o;
}
