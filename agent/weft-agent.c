/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weft-agent: the per-hypervisor agent. It keeps this host's eBPF datapath
 * (maps, programs, TC attachments, the VXLAN device) equal to the view
 * weftd sends over the southbound connection, with the taps present on the
 * host. See docs/agent.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <event2/event.h>
#include <jansson.h>

#include "drop-reasons.h"
#include "gateway.h"
#include "abi/weft.h"
#include "bird.h"
#include "birdc.h"
#include "conntrack.h"
#include "datapath.h"
#include "dhcp.h"
#include "kvtab.h"
#include "links.h"
#include "log.h"
#include "netaddr.h"
#include "probe.h"
#include "reconcile.h"
#include "sbclient.h"
#include "sbproto.h"
#include "hostview.h"
#include "vxlan.h"

#define PORT_ID_MAX 64
#define RETRY_MS 1000

struct options {
	const char *host;
	const char *underlay_ip_str;
	uint32_t underlay_ip;
	const char *underlay_dev;
	const char *controller;
	const char *bpffs_root;
	const char *vxlan_name;
	uint16_t vxlan_port;
	bool cleanup;
	uint32_t log_drops; /* security group drops logged a second, per CPU */
	/* The gateway role (docs/gateways.md). */
	bool gateway;
	const char *uplink_dev;
	const char *uplink_ip_str;
	uint32_t uplink_ip;
	uint32_t probe_port;
	uint32_t probe_interval_ms;
	uint32_t probe_misses;
	/* BGP through BIRD 2 (gateways): all of them or none. */
	const char *bird_conf;
	const char *bird_socket;
	uint32_t bgp_as;
	const char *bgp_peer_str;
	uint32_t bgp_peer;
	uint32_t bgp_peer_as;
};

enum port_state {
	PORT_DOWN = 1,
	PORT_ACTIVE = 2,
};

struct agent {
	struct options opt;
	struct event_base *base;
	struct hostview view;
	struct dp_state present; /* what the maps hold */
	struct datapath *dp;
	struct links *links;
	struct kvtab taps; /* name -> ifindex, of all devices */
	struct sbclient *sb;
	struct dhcp *dhcp;
	int vxlan_ifindex;
	uint32_t vxlan_mtu;
	struct event *reconcile_ev;
	struct event *ct_gc_ev;
	struct ring_buffer *drop_rb; /* drop_events */
	struct event *drop_ev;
	struct kvtab attached; /* ifindex (u32) of taps we attached, set */
	struct kvtab reported; /* port id -> enum port_state told weftd */
	int uplink_ifindex; /* gateways: the uplink, 0 until attached */
	struct probe *probe; /* gateway liveness */
	bool view_written; /* the maps hold a view (first full reconcile) */
	struct birdc *birdc; /* gateways with --bird-conf */
	struct ring_buffer *snat_rb; /* gateways: snat_events */
	struct event *snat_ev;
	struct weft_snat_event snat_batch[GATEWAY_SNAT_MAX_EVENTS];
	size_t n_snat_batch; /* events read, not sent yet */
	uint32_t *announced; /* what BIRD's file announces (sorted) */
	size_t n_announced;
	bool announced_valid; /* 'announced' was written by this agent */
};

static void schedule_reconcile(struct agent *a, int delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	/* A pending immediate run is never pushed back by a later retry. */
	if (delay_ms && evtimer_pending(a->reconcile_ev, NULL))
		return;
	evtimer_add(a->reconcile_ev, &tv);
}

static uint32_t tap_ifindex(void *ctx, const char *name)
{
	struct agent *a = ctx;

	return links_table_ifindex(&a->taps, name);
}

static void port_key(const char *id, char key[PORT_ID_MAX])
{
	memset(key, 0, PORT_ID_MAX);
	strncpy(key, id, PORT_ID_MAX - 1);
}

/* Sends port_status. A change is logged; the first report of a port on a
 * new connection (every local port, mostly DOWN) only at debug level. */
static void report_status(struct agent *a, const char *id, bool active,
			  bool change)
{
	json_t *msg = sbproto_port_status_new(id, active);

	if (!msg)
		return;
	if (sbclient_send(a->sb, msg) == 0)
		log_msg(change ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
			"port %s: %s", id, active ? "ACTIVE" : "DOWN");
	json_decref(msg);
}

/* Attaches the port program to the taps of local ports that have one and
 * are not attached yet; failures are left to update_ports(). */
static void attach_new_taps(struct agent *a,
			    const struct reconcile_local_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t ifindex = ports[i].ifindex;

		int r;

		if (!ifindex || kvtab_get(&a->attached, &ifindex))
			continue;
		r = datapath_attach(a->dp, (int)ifindex, DATAPATH_PROG_PORT);
		if (r < 0)
			continue;
		log_msg(r ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
			"port %s: %s %s (ifindex %u)", ports[i].id,
			r ? "attached to" : "already attached to", ports[i].tap,
			ifindex);
		kvtab_put(&a->attached, &ifindex, NULL);
	}
}

/* Attaches the port program to the taps of local ports that have one,
 * reports port status changes, and forgets taps that went. Returns true
 * when something failed and deserves a retry. */
static bool update_ports(struct agent *a,
			 const struct reconcile_local_port *ports, size_t n)
{
	struct kvtab attached, reported;
	bool retry = false;

	kvtab_init(&attached, sizeof(uint32_t), 0);
	kvtab_init(&reported, PORT_ID_MAX, sizeof(uint8_t));
	for (size_t i = 0; i < n; i++) {
		const struct reconcile_local_port *p = &ports[i];
		uint32_t ifindex = p->ifindex;
		char key[PORT_ID_MAX];
		const uint8_t *was;
		uint8_t state = PORT_DOWN;

		if (ifindex) {
			if (kvtab_get(&a->attached, &ifindex)) {
				state = PORT_ACTIVE;
			} else {
				int r = datapath_attach(a->dp, (int)ifindex,
							DATAPATH_PROG_PORT);

				if (r < 0) {
					log_warn(
						"port %s: cannot attach to %s: %s",
						p->id, p->tap, strerror(-r));
					retry = true;
				} else {
					log_msg(r ? LOG_LEVEL_INFO :
						    LOG_LEVEL_DEBUG,
						"port %s: %s %s (ifindex %u)",
						p->id,
						r ? "attached to" :
						    "already attached to",
						p->tap, ifindex);
					state = PORT_ACTIVE;
				}
			}
			if (state == PORT_ACTIVE)
				kvtab_put(&attached, &ifindex, NULL);
		}
		port_key(p->id, key);
		was = kvtab_get(&a->reported, key);
		if (sbclient_is_connected(a->sb) && (!was || *was != state))
			report_status(a, p->id, state == PORT_ACTIVE,
				      was || state == PORT_ACTIVE);
		if (sbclient_is_connected(a->sb))
			kvtab_put(&reported, key, &state);
		else if (was)
			kvtab_put(&reported, key, was);
	}
	kvtab_destroy(&a->attached);
	a->attached = attached;
	kvtab_destroy(&a->reported);
	a->reported = reported;
	return retry;
}

static int setup_uplink(struct agent *a);

/* The config map's contents: on a gateway its uplink and its slot (the
 * slot of its own gateway object in the view; WEFT_MAX_GATEWAYS, no
 * slot, until weftd gives it one). */
static int write_config(struct agent *a)
{
	struct weft_config c = {
		.vxlan_ifindex = (uint32_t)a->vxlan_ifindex,
		.local_ip = htonl(a->opt.underlay_ip),
		.log_drops_per_sec = a->opt.log_drops,
	};
	int r;

	if (a->opt.gateway) {
		const struct hostview_gateway *g =
			hostview_find_gateway(&a->view, a->opt.host);

		c.flags = WEFT_CONFIG_F_GATEWAY;
		c.uplink_ifindex = (uint32_t)a->uplink_ifindex;
		c.uplink_ip = htonl(a->opt.uplink_ip);
		c.gw_slot = g ? g->slot : WEFT_MAX_GATEWAYS;
		/* Unknown (all zero, as before the links are read): the
		 * datapath does not check it. */
		if (!a->links ||
		    links_mac(a->links, a->opt.uplink_dev, c.uplink_mac) < 0)
			memset(c.uplink_mac, 0, sizeof(c.uplink_mac));
	}
	r = datapath_set_config(a->dp, &c);
	if (r < 0)
		log_err("cannot write the config map: %s", strerror(-r));
	return r;
}

/* reconcile_self.gw_alive: bit s set when the gateway of slot s is alive
 * by our probes (this host itself always is). */
static uint32_t gateways_alive(struct agent *a)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;
	uint32_t mask = 0;

	while ((o = hostview_next(&a->view, &it))) {
		const struct hostview_gateway *g = &o->gateway;

		if (o->kind != HOSTVIEW_GATEWAY || g->slot >= WEFT_MAX_GATEWAYS)
			continue;
		if (!strcmp(g->name, a->opt.host) ||
		    probe_is_alive(a->probe, g->underlay_ip, g->alive))
			mask |= 1u << g->slot;
	}
	return mask;
}

/* The maps hold a view for the first time: a gateway starts answering
 * probes (docs/gateways.md). */
static void view_written(struct agent *a)
{
	if (a->view_written)
		return;
	a->view_written = true;
	if (a->opt.gateway) {
		probe_enable_responder(a->probe);
		log_info("first view in the maps: answering probes on port %u",
			 a->opt.probe_port);
	}
}

static const struct bird_config *bird_config_of(const struct options *o,
						struct bird_config *c)
{
	*c = (struct bird_config){ .uplink_dev = o->uplink_dev,
				   .uplink_ip = o->uplink_ip,
				   .local_as = o->bgp_as,
				   .peer_ip = o->bgp_peer,
				   .peer_as = o->bgp_peer_as };
	return c;
}

/* Writes BIRD's configuration file announcing 'addrs' ('n'). */
static int bird_write(struct agent *a, const uint32_t *addrs, size_t n)
{
	struct bird_config c;
	char *text;
	int r = bird_config_text(bird_config_of(&a->opt, &c), addrs, n, &text);

	if (r == 0) {
		r = bird_write_file(a->opt.bird_conf, text);
		free(text);
	}
	if (r < 0)
		log_err("cannot write %s: %s", a->opt.bird_conf, strerror(-r));
	return r;
}

/* Announces through BIRD what the view asks for, when that changed: the
 * file is rewritten and BIRD told to read it. A gateway without a slot
 * serves nothing, so it announces nothing. */
static int update_bird(struct agent *a)
{
	uint32_t *addrs = NULL;
	size_t n = 0;
	int r;

	if (!a->birdc)
		return 0;
	if (hostview_find_gateway(&a->view, a->opt.host)) {
		r = bird_announced(&a->view, &addrs, &n);
		if (r < 0)
			return r;
	}
	if (a->announced_valid && n == a->n_announced &&
	    (!n || !memcmp(addrs, a->announced, n * sizeof(*addrs)))) {
		free(addrs);
		return 0;
	}
	r = bird_write(a, addrs, n);
	if (r < 0) {
		free(addrs);
		return r;
	}
	log_info("BIRD: announcing %zu addresses", n);
	free(a->announced);
	a->announced = addrs;
	a->n_announced = n;
	a->announced_valid = true;
	birdc_configure(a->birdc);
	return 0;
}

/* At start: BIRD needs a file to start with. One left by a previous agent
 * is kept (its announcements stand until our first view); otherwise one
 * announcing nothing is written. */
static int bird_start(struct agent *a)
{
	int r;

	if (!a->opt.bird_conf)
		return 0;
	r = birdc_new(a->base, a->opt.bird_socket, &a->birdc);
	if (r < 0)
		return r;
	if (access(a->opt.bird_conf, F_OK) == 0)
		return 0;
	return bird_write(a, NULL, 0);
}

static void reconcile(struct agent *a)
{
	struct reconcile_self self = {
		.host = a->opt.host,
		.underlay_ip = a->opt.underlay_ip,
		.vxlan_ifindex = (uint32_t)a->vxlan_ifindex,
		.gateway = a->opt.gateway,
		.uplink_ifindex = (uint32_t)a->uplink_ifindex,
	};
	struct reconcile_local_port *ports = NULL;
	struct reconcile_result res;
	struct dp_state desired;
	size_t n_ports = 0;
	bool retry;
	int r;

	/* Until weftd has sent a view, the maps hold the best state there
	 * is (what the previous agent left): leave them alone. */
	if (!a->view.synced)
		return;

	if (probe_sync(a->probe, &a->view, a->opt.host) < 0) {
		log_err("reconcile: %s", strerror(ENOMEM));
		schedule_reconcile(a, RETRY_MS);
		return;
	}
	self.gw_alive = gateways_alive(a);
	if (a->opt.gateway && !a->uplink_ifindex && setup_uplink(a) == 0)
		self.uplink_ifindex = (uint32_t)a->uplink_ifindex;
	dp_state_init(&desired);
	r = reconcile_desired(&a->view, &self, tap_ifindex, a, &desired, &ports,
			      &n_ports);
	if (r < 0) {
		log_err("reconcile: %s", strerror(-r));
		dp_state_destroy(&desired);
		schedule_reconcile(a, RETRY_MS);
		return;
	}
	/* New taps get the port program before the maps make them
	 * reachable (their fdb entries): a VM that answers its first packet
	 * at once must find the program there for its ARP request, or it
	 * waits for its kernel's retry (1 s). Until its port entry is
	 * written (in this same diff, before the fdb), the program drops
	 * what the tap sends (no_port), as the host would have. */
	attach_new_taps(a, ports, n_ports);
	r = reconcile_diff(&desired, &a->present, datapath_apply, a->dp, &res);
	dp_state_destroy(&desired);
	if (r < 0) {
		log_err("reconcile: %s", strerror(-r));
		free(ports);
		schedule_reconcile(a, RETRY_MS);
		return;
	}
	if (res.updates || res.deletes || res.failures)
		log_info(
			"reconcile at revision %lld: %zu updated, %zu deleted, %zu failed%s%s",
			(long long)a->view.revision, res.updates, res.deletes,
			res.failures, res.failures ? ": " : "",
			res.failures ? strerror(-res.first_error) : "");
	retry = update_ports(a, ports, n_ports);
	free(ports);
	if (write_config(a) < 0 || (a->opt.gateway && !a->uplink_ifindex))
		retry = true;
	if (!res.failures)
		view_written(a);
	if (a->view_written && update_bird(a) < 0)
		retry = true;
	if (retry || res.failures)
		schedule_reconcile(a, RETRY_MS);
}

static void on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	reconcile(arg);
}

/* A gateway died or came back (logged by the prober): gw_slots and
 * gw_table follow at once. */
static void on_gateways_changed(void *ctx)
{
	schedule_reconcile(ctx, 0);
}

/* A datagram from another gateway to the probe port: its SNAT
 * translations, copied into our snat_out and snat_in
 * (docs/gateways.md). */
static void on_gateway_datagram(void *ctx, const void *buf, size_t len,
				uint32_t from_ip)
{
	struct agent *a = ctx;
	int n = gateway_snat_decode(buf, len);
	uint64_t now = conntrack_now_ns();
	char from[NETADDR_IPV4_STRLEN];
	int copied = 0, refused = 0;

	netaddr_format_ipv4(from_ip, from);
	if (n < 0) {
		log_debug("probe port: unknown datagram of %zu bytes from %s",
			  len, from);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct weft_snat_event ev;
		int r;

		gateway_snat_event(buf, (size_t)i, &ev);
		r = datapath_snat_copy(a->dp, &ev, now);
		if (r == 0)
			copied++;
		else if (r == -EEXIST)
			refused++;
		else
			log_warn("SNAT copy from %s: %s", from, strerror(-r));
	}
	log_debug("SNAT copies from %s: %d written, %d refused (port in use)",
		  from, copied, refused);
}

static const struct probe_ops probe_ops = {
	.changed = on_gateways_changed,
	.received = on_gateway_datagram,
};

/* Sends the translations read from snat_events and not sent yet to
 * every other gateway of the view. */
static void snat_flush(struct agent *a)
{
	uint8_t buf[GATEWAY_SNAT_MAX_SIZE];
	size_t len;

	if (!a->n_snat_batch)
		return;
	len = gateway_snat_encode(buf, a->snat_batch, a->n_snat_batch);
	probe_send_gateways(a->probe, buf, len);
	a->n_snat_batch = 0;
}

/* One translation this gateway made (snat_events): batched, at most
 * GATEWAY_SNAT_MAX_EVENTS a datagram. */
static int on_snat_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;

	if (size < sizeof(struct weft_snat_event))
		return 0;
	memcpy(&a->snat_batch[a->n_snat_batch++], data,
	       sizeof(struct weft_snat_event));
	if (a->n_snat_batch == GATEWAY_SNAT_MAX_EVENTS)
		snat_flush(a);
	return 0;
}

static void on_snat_events_readable(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	ring_buffer__consume(a->snat_rb);
	snat_flush(a);
}

/* Gateways: reads snat_events as the datapath fills it. Returns 0 or a
 * negative errno. */
static int snat_copy_start(struct agent *a)
{
	if (!a->opt.gateway)
		return 0;
	a->snat_rb = ring_buffer__new(datapath_snat_events_fd(a->dp),
				      on_snat_event, a, NULL);
	if (!a->snat_rb)
		return -errno;
	a->snat_ev =
		event_new(a->base, ring_buffer__epoll_fd(a->snat_rb),
			  EV_READ | EV_PERSIST, on_snat_events_readable, a);
	if (!a->snat_ev)
		return -ENOMEM;
	return event_add(a->snat_ev, NULL) < 0 ? -EIO : 0;
}

/* Creates or adopts the VXLAN device, attaches the tunnel program and
 * writes the config map. */
static int setup_vxlan(struct agent *a)
{
	enum datapath_prog tunnel_prog =
		a->opt.gateway ? DATAPATH_PROG_GW_TUNNEL : DATAPATH_PROG_TUNNEL;
	bool created = false;
	int ifindex, r;

	ifindex = vxlan_ensure(a->opt.vxlan_name, a->opt.vxlan_port,
			       a->vxlan_mtu, &created);
	if (ifindex < 0) {
		log_err("VXLAN device %s: %s%s", a->opt.vxlan_name,
			strerror(-ifindex),
			ifindex == -EEXIST ?
				" (a device of that name exists and is not a collect_md VXLAN device on that port)" :
				"");
		return ifindex;
	}
	r = datapath_attach(a->dp, ifindex, tunnel_prog);
	if (r < 0) {
		log_err("cannot attach %s to %s: %s",
			datapath_prog_name(tunnel_prog), a->opt.vxlan_name,
			strerror(-r));
		return r;
	}
	log_info("VXLAN device %s (ifindex %d): %s, %s %s", a->opt.vxlan_name,
		 ifindex, created ? "created" : "adopted",
		 datapath_prog_name(tunnel_prog),
		 r ? "attached" : "already attached");
	a->vxlan_ifindex = ifindex;
	return write_config(a);
}

/* Gateways: attaches weft_gw_uplink_ingress to the uplink (again when its
 * ifindex changed) and writes the config map. */
static int setup_uplink(struct agent *a)
{
	uint32_t ifindex =
		a->opt.gateway ?
			links_table_ifindex(&a->taps, a->opt.uplink_dev) :
			0;
	int r;

	if (!a->opt.gateway || (a->uplink_ifindex && ifindex &&
				ifindex == (uint32_t)a->uplink_ifindex))
		return 0;
	if (!ifindex) {
		log_err("uplink device %s: no such device", a->opt.uplink_dev);
		a->uplink_ifindex = 0;
		return -ENODEV;
	}
	r = datapath_attach(a->dp, (int)ifindex, DATAPATH_PROG_GW_UPLINK);
	if (r < 0) {
		log_err("cannot attach %s to %s: %s",
			datapath_prog_name(DATAPATH_PROG_GW_UPLINK),
			a->opt.uplink_dev, strerror(-r));
		return r;
	}
	log_info("uplink %s (ifindex %u): %s %s", a->opt.uplink_dev, ifindex,
		 datapath_prog_name(DATAPATH_PROG_GW_UPLINK),
		 r ? "attached" : "already attached");
	a->uplink_ifindex = (int)ifindex;
	return write_config(a);
}

static void on_links_changed(void *ctx)
{
	struct agent *a = ctx;
	struct kvtab taps;
	uint32_t vx;

	links_table_init(&taps);
	if (links_table(a->links, &taps) < 0) {
		kvtab_destroy(&taps);
		schedule_reconcile(a, RETRY_MS);
		return;
	}
	kvtab_destroy(&a->taps);
	a->taps = taps;

	/* Someone deleted (or recreated) our VXLAN device: make it again. */
	vx = links_table_ifindex(&a->taps, a->opt.vxlan_name);
	if (vx != (uint32_t)a->vxlan_ifindex) {
		log_warn("VXLAN device %s changed (ifindex %d -> %u)",
			 a->opt.vxlan_name, a->vxlan_ifindex, vx);
		if (setup_vxlan(a) < 0)
			a->vxlan_ifindex = 0;
	}
	setup_uplink(a); /* failures: retried by the next reconcile */
	schedule_reconcile(a, 0);
}

static void on_links_readable(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int r = links_process(a->links);

	if (r < 0)
		log_warn("netlink: %s (device list re-read)", strerror(-r));
}

/* Southbound. */

static void sb_connected(void *ctx)
{
	struct agent *a = ctx;
	uint64_t rev = a->view.synced ? (uint64_t)a->view.revision : 0;
	json_t *hello =
		a->opt.gateway ?
			sbproto_gateway_hello_new(a->opt.host,
						  a->opt.underlay_ip_str, rev,
						  a->opt.uplink_ip_str) :
			sbproto_hello_new(a->opt.host, a->opt.underlay_ip_str,
					  rev, false);

	/* A new weftd connection knows nothing of what we told the last
	 * one: report every port again after the next reconcile. */
	kvtab_destroy(&a->reported);
	if (!hello || sbclient_send(a->sb, hello) < 0)
		sbclient_reset(a->sb, "cannot send hello");
	json_decref(hello);
}

static void sb_disconnected(void *ctx)
{
	struct agent *a = ctx;

	log_warn(
		"southbound: disconnected; forwarding headless at revision %lld",
		(long long)a->view.revision);
}

/* The JSON of counters 's' (docs/agent.md, "Stats"), with the port's
 * DHCP counters 'dhcp' (stolen) when 'with_dhcp'. */
static json_t *stats_json(const struct weft_stats *s, bool with_dhcp,
			  json_t *dhcp)
{
	json_t *drops = json_object();
	json_t *o;

	if (!drops || (with_dhcp && !dhcp)) {
		json_decref(drops);
		json_decref(dhcp);
		return NULL;
	}
	for (int d = 0; d < WEFT_DROP_MAX; d++)
		json_object_set_new(drops, drop_reason_name(d),
				    json_integer((json_int_t)s->drops[d]));
	o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "rx_packets",
		(json_int_t)s->rx_packets, "rx_bytes", (json_int_t)s->rx_bytes,
		"tx_packets", (json_int_t)s->tx_packets, "tx_bytes",
		(json_int_t)s->tx_bytes, "to_agent", (json_int_t)s->to_agent,
		"icmp_sent", (json_int_t)s->icmp_sent, "drops", drops);
	if (o && with_dhcp && json_object_set_new(o, "dhcp", dhcp) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The tap ifindex of port 'port_id', which must be bound to this host
 * and have its tap. Returns NULL and sets 'ret', or the reason why not
 * (possibly written into 'buf', 'size' bytes). */
static const char *local_port_ifindex(struct agent *a, const char *port_id,
				      char *buf, size_t size, uint32_t *ret)
{
	const struct hostview_port *p = hostview_find_port(&a->view, port_id);
	char tap[HOSTVIEW_IFNAMSIZ];
	uint32_t ifindex;

	if (!p)
		return "unknown port";
	if (!p->host || strcmp(p->host, a->opt.host))
		return "port not bound to this host";
	hostview_port_tap_name(p, tap);
	ifindex = links_table_ifindex(&a->taps, tap);
	if (!ifindex) {
		snprintf(buf, size, "no device %s on this host", tap);
		return buf;
	}
	*ret = ifindex;
	return NULL;
}

/* Adds the counters of device 'ifindex' to 'stats' as 'name'. Returns
 * NULL, or why not (written into 'buf', 'size' bytes). */
static const char *device_stats(struct agent *a, json_t *stats,
				const char *name, uint32_t ifindex, char *buf,
				size_t size)
{
	struct weft_stats st;
	int r = ifindex ? datapath_read_stats(a->dp, ifindex, &st) : -ENODEV;

	if (r < 0) {
		snprintf(buf, size, "cannot read the counters of the %s: %s",
			 name, strerror(-r));
		return buf;
	}
	if (json_object_set_new(stats, name, stats_json(&st, false, NULL)) < 0)
		return "out of memory";
	return NULL;
}

/* stats_request with "devices": the VXLAN device's counters as "tunnel"
 * and, on a gateway, the uplink's as "uplink". */
static void handle_device_stats_request(struct agent *a,
					const struct sbproto_msg *m)
{
	json_t *stats = json_object(), *reply;
	const char *error = stats ? NULL : "out of memory";
	char buf[128];

	if (!error)
		error = device_stats(a, stats, "tunnel",
				     (uint32_t)a->vxlan_ifindex, buf,
				     sizeof(buf));
	if (!error && a->opt.gateway)
		error = device_stats(a, stats, "uplink",
				     (uint32_t)a->uplink_ifindex, buf,
				     sizeof(buf));
	reply = error ? sbproto_stats_error_new(m->request_id, error) :
			sbproto_stats_reply_new(m->request_id, NULL, stats);
	if (reply)
		sbclient_send(a->sb, reply);
	json_decref(reply);
	json_decref(stats);
}

static void handle_stats_request(struct agent *a, const struct sbproto_msg *m)
{
	const char *error;
	char buf[128];
	struct weft_stats st;
	uint32_t ifindex = 0;
	json_t *reply;
	int r;

	error = local_port_ifindex(a, m->port_id, buf, sizeof(buf), &ifindex);
	if (!error && (r = datapath_read_stats(a->dp, ifindex, &st)) < 0) {
		snprintf(buf, sizeof(buf), "cannot read counters: %s",
			 strerror(-r));
		error = buf;
	}
	if (error) {
		reply = sbproto_stats_error_new(m->request_id, error);
	} else {
		json_t *stats = stats_json(
			&st, true, dhcp_port_stats(a->dhcp, m->port_id));

		reply = stats ? sbproto_stats_reply_new(m->request_id,
							m->port_id, stats) :
				NULL;
		json_decref(stats);
	}
	if (reply)
		sbclient_send(a->sb, reply);
	json_decref(reply);
}

/* Fills 'ids' (ifindex -> char[CONNTRACK_PORT_ID_MAX]) with the local
 * ports whose tap is there. Returns 0 or -ENOMEM. */
static int local_port_ids(struct agent *a, struct kvtab *ids)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;

	while ((o = hostview_next(&a->view, &it))) {
		char tap[HOSTVIEW_IFNAMSIZ], id[CONNTRACK_PORT_ID_MAX] = { 0 };
		uint32_t ifindex;

		if (o->kind != HOSTVIEW_PORT || !o->port.host ||
		    strcmp(o->port.host, a->opt.host))
			continue;
		hostview_port_tap_name(&o->port, tap);
		ifindex = links_table_ifindex(&a->taps, tap);
		strncpy(id, o->port.id, sizeof(id) - 1);
		if (ifindex && kvtab_put(ids, &ifindex, id) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int ct_list_entry(void *ctx, const struct weft_ct_key *key,
			 const struct weft_ct_entry *e)
{
	return conntrack_list_add(ctx, key, e) ? DATAPATH_CT_KEEP :
						 DATAPATH_CT_STOP;
}

/* Lists the live conntrack entries of the local ports (or of the port
 * 'port_id' only, when given) into 'ret' (a new array). Returns NULL, or
 * why it could not (possibly written into 'buf', 'size' bytes). */
static const char *conntrack_entries(struct agent *a, const char *port_id,
				     char *buf, size_t size, json_t **ret,
				     bool *ret_truncated)
{
	const char *error = NULL;
	struct conntrack_list l = { 0 };
	uint32_t only = 0;
	struct kvtab ids;
	int r;

	if (port_id) {
		error = local_port_ifindex(a, port_id, buf, size, &only);
		if (error)
			return error;
	}
	kvtab_init(&ids, sizeof(uint32_t), CONNTRACK_PORT_ID_MAX);
	if (local_port_ids(a, &ids) < 0 ||
	    conntrack_list_init(&l, &ids, only, conntrack_now_ns()) < 0) {
		error = "out of memory";
	} else if ((r = datapath_ct_walk(a->dp, ct_list_entry, &l)) < 0) {
		snprintf(buf, size, "cannot read the conntrack table: %s",
			 strerror(-r));
		error = buf;
	} else if (l.error) {
		error = "out of memory";
	} else {
		*ret = l.entries;
		*ret_truncated = l.truncated;
		l.entries = NULL;
	}
	conntrack_list_destroy(&l);
	kvtab_destroy(&ids);
	return error;
}

static void handle_conntrack_request(struct agent *a,
				     const struct sbproto_msg *m)
{
	json_t *entries = NULL, *reply;
	bool truncated = false;
	const char *error;
	char buf[128];

	error = conntrack_entries(a, m->port_id, buf, sizeof(buf), &entries,
				  &truncated);
	if (error)
		reply = sbproto_conntrack_reply_error_new(m->request_id, error);
	else
		reply = sbproto_conntrack_reply_new(m->request_id, entries,
						    truncated);
	if (reply)
		sbclient_send(a->sb, reply);
	json_decref(reply);
}

static int ct_gc_entry(void *ctx, const struct weft_ct_key *key,
		       const struct weft_ct_entry *e)
{
	const struct agent *a = ctx;

	return conntrack_is_dead(e, conntrack_now_ns(),
				 &a->present.maps[DP_MAP_PORTS]) ?
		       DATAPATH_CT_DELETE :
		       DATAPATH_CT_KEEP;
}

/* Every CONNTRACK_GC_INTERVAL_MS: deletes the conntrack entries that
 * expired and those of ports that are no longer local ports with
 * security groups (as the ports map holds them). */
static void on_ct_gc(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int r = datapath_ct_walk(a->dp, ct_gc_entry, a);

	if (r < 0)
		log_warn("conntrack GC: cannot read the table: %s",
			 strerror(-r));
	else
		log_debug("conntrack GC: %d entries deleted", r);
}

static int sb_message(void *ctx, const struct sbproto_msg *m)
{
	struct agent *a = ctx;
	int r;

	switch (m->type) {
	case SBPROTO_SNAPSHOT:
		r = hostview_apply_snapshot(&a->view, (int64_t)m->revision,
					    m->objects);
		if (r < 0) {
			log_err("snapshot at revision %llu refused: %s",
				(unsigned long long)m->revision, strerror(-r));
			return r == -EINVAL ? -EPROTO : r;
		}
		log_info("snapshot: revision %lld, %zu objects",
			 (long long)a->view.revision, a->view.count);
		schedule_reconcile(a, 0);
		return 0;
	case SBPROTO_DELTA:
		if (!a->view.synced) {
			log_err("delta before any snapshot");
			return -EPROTO;
		}
		r = hostview_apply_delta(&a->view, (int64_t)m->revision,
					 m->upsert, m->deletes);
		if (r < 0) {
			log_err("delta to revision %llu refused: %s",
				(unsigned long long)m->revision, strerror(-r));
			return r == -EINVAL ? -EPROTO : r;
		}
		log_debug("delta: revision %lld", (long long)a->view.revision);
		schedule_reconcile(a, 0);
		return 0;
	case SBPROTO_HEARTBEAT:
		/* weftd advances R when commits leave our view unchanged: the
		 * view is exact at R, and a hello with R after a reconnect
		 * can be answered with a (small) delta. */
		if (a->view.synced)
			a->view.revision = (int64_t)m->revision;
		return 0;
	case SBPROTO_STATS_REQUEST:
		if (m->devices)
			handle_device_stats_request(a, m);
		else
			handle_stats_request(a, m);
		return 0;
	case SBPROTO_CONNTRACK_REQUEST:
		handle_conntrack_request(a, m);
		return 0;
	default:
		return -EPROTO;
	}
}

static const struct sbclient_ops sb_ops = {
	.connected = sb_connected,
	.message = sb_message,
	.disconnected = sb_disconnected,
};

/* Logs one security group drop the datapath reported (drop_events). */
static int on_drop_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct weft_drop_event *ev = data;
	char id[CONNTRACK_PORT_ID_MAX] = "", line[256];
	struct kvtab ids;
	const char *found;

	if (size < sizeof(*ev))
		return 0;
	kvtab_init(&ids, sizeof(uint32_t), CONNTRACK_PORT_ID_MAX);
	if (local_port_ids(a, &ids) == 0 &&
	    (found = kvtab_get(&ids, &ev->ifindex)))
		memcpy(id, found, sizeof(id));
	else
		snprintf(id, sizeof(id), "ifindex %u", ev->ifindex);
	kvtab_destroy(&ids);
	conntrack_drop_event_format(ev, id, line, sizeof(line));
	log_info("security group drop: port %s", line);
	return 0;
}

static void on_drop_events_readable(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	ring_buffer__consume(a->drop_rb);
}

/* Reads drop_events as the datapath fills it. Returns 0 or a negative
 * errno. */
static int drop_log_start(struct agent *a)
{
	a->drop_rb = ring_buffer__new(datapath_drop_events_fd(a->dp),
				      on_drop_event, a, NULL);
	if (!a->drop_rb)
		return -errno;
	a->drop_ev =
		event_new(a->base, ring_buffer__epoll_fd(a->drop_rb),
			  EV_READ | EV_PERSIST, on_drop_events_readable, a);
	if (!a->drop_ev)
		return -ENOMEM;
	return event_add(a->drop_ev, NULL) < 0 ? -EIO : 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	log_info("signal %d: exiting, the datapath stays in place", (int)sig);
	event_base_loopbreak(a->base);
}

/* --cleanup */

struct cleanup_ctx {
	uint32_t ids[DATAPATH_PROG_COUNT];
	int detached;
};

static void cleanup_link(void *ctx, const char *name, int ifindex)
{
	struct cleanup_ctx *c = ctx;
	int r = datapath_detach_ours(ifindex, c->ids, DATAPATH_PROG_COUNT);

	if (r > 0) {
		log_info("detached from %s", name);
		c->detached++;
	} else if (r < 0) {
		log_warn("cannot detach from %s: %s", name, strerror(-r));
	}
}

static void cleanup_changed(void *ctx)
{
}

static int do_cleanup(const struct options *o)
{
	struct cleanup_ctx c = { 0 };
	struct links *links;
	int r, ret = 0;

	datapath_pinned_prog_ids(o->bpffs_root, o->host, c.ids);
	r = links_open(cleanup_changed, NULL, &links);
	if (r < 0) {
		log_warn("cannot list devices: %s", strerror(-r));
		ret = r;
	} else {
		links_foreach(links, cleanup_link, &c);
		links_free(links);
	}
	r = vxlan_delete(o->vxlan_name);
	if (r < 0) {
		log_warn("cannot delete %s: %s", o->vxlan_name, strerror(-r));
		ret = ret ? ret : r;
	}
	r = datapath_unpin(o->bpffs_root, o->host);
	if (r < 0) {
		log_warn("cannot remove the pins under %s/%s: %s",
			 o->bpffs_root, o->host, strerror(-r));
		ret = ret ? ret : r;
	}
	log_info("cleanup of host %s done", o->host);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: weft-agent --host NAME --underlay-ip IP --controller ADDRESS [OPTIONS]\n"
		"       weft-agent ... --gateway --uplink-dev IF --uplink-ip A [BGP OPTIONS]\n"
		"       weft-agent --host NAME --cleanup [--bpffs-root DIR] [--vxlan-name NAME]\n"
		"\n"
		"The per-hypervisor agent of weft: keeps this host's eBPF datapath equal to\n"
		"the view weftd sends. Run it in the host's network namespace.\n"
		"\n"
		"  --host NAME          this host's name (the ports' binding:host_id)\n"
		"  --underlay-ip IP     this host's underlay (VTEP) address\n"
		"  --underlay-dev DEV   underlay device; the VXLAN MTU is its MTU - 50\n"
		"                       (default: 1450)\n"
		"  --controller ADDR    weftd's southbound: unix:PATH or tcp:HOST:PORT\n"
		"  --bpffs-root DIR     where pins live (default /sys/fs/bpf/weft);\n"
		"                       this host's are under DIR/NAME\n"
		"  --vxlan-name NAME    the VXLAN device (default weft0)\n"
		"  --vxlan-port PORT    its UDP port (default 4789)\n"
		"  --log-level LEVEL    err, warn, info (default) or debug\n"
		"  --log-drops N        log at most N security group drops a second\n"
		"                       on each CPU (default 10; 0: none)\n"
		"  --cleanup            remove this host's TC filters, VXLAN device and\n"
		"                       pins, and exit\n"
		"  --help               show this and exit\n"
		"  --probe-port N       gateway probes' UDP port (default 4791)\n"
		"  --probe-interval-ms N  probe every gateway every N ms (default 20)\n"
		"  --probe-misses N     unanswered probes in a row that make a gateway\n"
		"                       dead (default 3)\n"
		"\n"
		"Gateway role (docs/gateways.md):\n"
		"  --gateway            run as a gateway node\n"
		"  --uplink-dev IF      its interface on the external network\n"
		"  --uplink-ip A        its own address there (BGP, BFD)\n"
		"  --bird-conf FILE     write BIRD 2's configuration to FILE and\n"
		"  --bird-socket SOCK   run birdc -s SOCK configure when it changes\n"
		"  --bgp-as N           this gateway's AS\n"
		"  --bgp-peer IP        the upstream router\n"
		"  --bgp-peer-as N      its AS\n");
}

/* Parses the value of option --'name' (optarg), a decimal number in
 * 'min'..'max'. */
static int parse_number(const char *name, uint32_t min, uint32_t max,
			uint32_t *ret)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(optarg, &end, 10);
	if (!*optarg || *end || *optarg == '-' || errno || n < min || n > max) {
		fprintf(stderr,
			"weft-agent: --%s takes a number from %u to %u, not '%s'\n",
			name, min, max, optarg);
		return -EINVAL;
	}
	*ret = (uint32_t)n;
	return 0;
}

/* Checks the options of the gateway role and of BGP: the role needs its
 * uplink; the BGP options go together, and only with the role. */
static int check_gateway_options(struct options *o)
{
	const char *bgp[] = { o->bird_conf, o->bird_socket, o->bgp_peer_str };
	int n_bgp = !!o->bgp_as + !!o->bgp_peer_as;

	for (size_t i = 0; i < 3; i++)
		n_bgp += bgp[i] != NULL;
	if (!o->gateway && (o->uplink_dev || o->uplink_ip_str || n_bgp)) {
		fprintf(stderr,
			"weft-agent: --uplink-dev, --uplink-ip and the BGP options are for the gateway role (--gateway)\n");
		return -EINVAL;
	}
	if (!o->gateway)
		return 0;
	if (!o->uplink_dev || !*o->uplink_dev ||
	    strlen(o->uplink_dev) >= HOSTVIEW_IFNAMSIZ) {
		fprintf(stderr,
			"weft-agent: --gateway needs --uplink-dev IF (an interface name)\n");
		return -EINVAL;
	}
	if (!o->uplink_ip_str ||
	    netaddr_parse_ipv4(o->uplink_ip_str, &o->uplink_ip) < 0) {
		fprintf(stderr,
			"weft-agent: --gateway needs --uplink-ip A (an IPv4 address)\n");
		return -EINVAL;
	}
	if (n_bgp && n_bgp != 5) {
		fprintf(stderr,
			"weft-agent: --bird-conf, --bird-socket, --bgp-as, --bgp-peer and --bgp-peer-as go together\n");
		return -EINVAL;
	}
	if (o->bgp_peer_str &&
	    netaddr_parse_ipv4(o->bgp_peer_str, &o->bgp_peer) < 0) {
		fprintf(stderr,
			"weft-agent: --bgp-peer takes an IPv4 address, not '%s'\n",
			o->bgp_peer_str);
		return -EINVAL;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "underlay-ip", required_argument, NULL, 'u' },
		{ "underlay-dev", required_argument, NULL, 'd' },
		{ "controller", required_argument, NULL, 'c' },
		{ "bpffs-root", required_argument, NULL, 'b' },
		{ "vxlan-name", required_argument, NULL, 'n' },
		{ "vxlan-port", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-drops", required_argument, NULL, 'D' },
		{ "cleanup", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "gateway", no_argument, NULL, 'G' },
		{ "uplink-dev", required_argument, NULL, 'U' },
		{ "uplink-ip", required_argument, NULL, 'I' },
		{ "probe-port", required_argument, NULL, 'P' },
		{ "probe-interval-ms", required_argument, NULL, 'T' },
		{ "probe-misses", required_argument, NULL, 'M' },
		{ "bird-conf", required_argument, NULL, 'B' },
		{ "bird-socket", required_argument, NULL, 'S' },
		{ "bgp-as", required_argument, NULL, 'A' },
		{ "bgp-peer", required_argument, NULL, 'E' },
		{ "bgp-peer-as", required_argument, NULL, 'F' },
		{ 0 },
	};
	uint32_t port;
	enum log_level level = LOG_LEVEL_INFO;
	int c;

	o->bpffs_root = "/sys/fs/bpf/weft";
	o->vxlan_name = "weft0";
	o->vxlan_port = 4789;
	o->log_drops = 10;
	o->probe_port = 4791;
	o->probe_interval_ms = 20;
	o->probe_misses = 3;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			o->host = optarg;
			break;
		case 'u':
			o->underlay_ip_str = optarg;
			break;
		case 'd':
			o->underlay_dev = optarg;
			break;
		case 'c':
			o->controller = optarg;
			break;
		case 'b':
			o->bpffs_root = optarg;
			break;
		case 'n':
			o->vxlan_name = optarg;
			break;
		case 'p':
			if (parse_number("vxlan-port", 1, 65535, &port) < 0)
				return -EINVAL;
			o->vxlan_port = (uint16_t)port;
			break;
		case 'l':
			if (log_level_from_string(optarg, &level) < 0) {
				fprintf(stderr,
					"weft-agent: bad --log-level\n");
				return -EINVAL;
			}
			break;
		case 'D':
			if (parse_number("log-drops", 0, 100000,
					 &o->log_drops) < 0)
				return -EINVAL;
			break;
		case 'G':
			o->gateway = true;
			break;
		case 'U':
			o->uplink_dev = optarg;
			break;
		case 'I':
			o->uplink_ip_str = optarg;
			break;
		case 'P':
			if (parse_number("probe-port", 1, 65535,
					 &o->probe_port) < 0)
				return -EINVAL;
			break;
		case 'T':
			if (parse_number("probe-interval-ms", 1, 60000,
					 &o->probe_interval_ms) < 0)
				return -EINVAL;
			break;
		case 'M':
			if (parse_number("probe-misses", 1, 1000,
					 &o->probe_misses) < 0)
				return -EINVAL;
			break;
		case 'B':
			o->bird_conf = optarg;
			break;
		case 'S':
			o->bird_socket = optarg;
			break;
		case 'A':
			if (parse_number("bgp-as", 1, UINT32_MAX, &o->bgp_as) <
			    0)
				return -EINVAL;
			break;
		case 'E':
			o->bgp_peer_str = optarg;
			break;
		case 'F':
			if (parse_number("bgp-peer-as", 1, UINT32_MAX,
					 &o->bgp_peer_as) < 0)
				return -EINVAL;
			break;
		case 'C':
			o->cleanup = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	log_setup("weft-agent", level);
	if (optind < argc) {
		fprintf(stderr, "weft-agent: unexpected argument %s\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->host || !*o->host || strchr(o->host, '/') ||
	    strlen(o->host) > 255) {
		fprintf(stderr,
			"weft-agent: --host NAME is required (no '/')\n");
		return -EINVAL;
	}
	if (strlen(o->vxlan_name) >= HOSTVIEW_IFNAMSIZ) {
		fprintf(stderr, "weft-agent: --vxlan-name is too long\n");
		return -EINVAL;
	}
	if (o->cleanup)
		return 0;
	if (!o->underlay_ip_str ||
	    netaddr_parse_ipv4(o->underlay_ip_str, &o->underlay_ip) < 0) {
		fprintf(stderr, "weft-agent: --underlay-ip IP is required\n");
		return -EINVAL;
	}
	if (!o->controller || sbclient_check_address(o->controller) < 0) {
		fprintf(stderr,
			"weft-agent: --controller unix:PATH|tcp:HOST:PORT is required\n");
		return -EINVAL;
	}
	return check_gateway_options(o);
}

/* libbpf's messages (verifier logs included) go to our log. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	/* Kernel extack messages come with failures the agent reports (or
	 * expects, as when it asks whether a filter is there). */
	if (level == LIBBPF_WARN && !strstr(line, "Kernel error message"))
		log_warn("%s", line);
	else
		log_debug("%s", line);
	return 0;
}

static int run(struct agent *a)
{
	struct event *sigterm = NULL, *sigint = NULL, *nl_ev = NULL;
	bool adopted = false;
	int r;

	a->vxlan_mtu = 1450;
	if (a->opt.underlay_dev) {
		int mtu = vxlan_link_mtu(a->opt.underlay_dev);

		if (mtu < 0) {
			log_err("underlay device %s: %s", a->opt.underlay_dev,
				strerror(-mtu));
			return mtu;
		}
		a->vxlan_mtu =
			(uint32_t)mtu > 50 + 68 ? (uint32_t)mtu - 50 : 68;
	}

	r = datapath_open(a->opt.bpffs_root, a->opt.host, a->opt.gateway,
			  &a->dp, &adopted);
	if (r == -ENOENT && a->opt.gateway) {
		log_err("cannot run as a gateway: the datapath object has no program %s or %s",
			datapath_prog_name(DATAPATH_PROG_GW_TUNNEL),
			datapath_prog_name(DATAPATH_PROG_GW_UPLINK));
		return r;
	}
	if (r < 0) {
		log_err("cannot open the datapath under %s/%s: %s",
			a->opt.bpffs_root, a->opt.host, strerror(-r));
		return r;
	}
	log_info("datapath %s under %s/%s",
		 adopted ? "adopted (pinned programs and maps reused)" :
			   "loaded and pinned",
		 a->opt.bpffs_root, a->opt.host);

	r = datapath_read_state(a->dp, &a->present);
	if (r < 0) {
		log_err("cannot read the maps: %s", strerror(-r));
		return r;
	}
	r = setup_vxlan(a);
	if (r < 0)
		return r;

	r = links_open(on_links_changed, a, &a->links);
	if (r < 0) {
		log_err("netlink: %s", strerror(-r));
		return r;
	}
	r = links_table(a->links, &a->taps);
	if (r < 0)
		return r;
	r = setup_uplink(a);
	if (r < 0)
		return r;
	{
		struct probe_options po = {
			.local_ip = a->opt.underlay_ip,
			.port = (uint16_t)a->opt.probe_port,
			.interval_ms = a->opt.probe_interval_ms,
			.misses = a->opt.probe_misses,
			.responder = a->opt.gateway,
		};

		r = probe_new(a->base, &po, &probe_ops, a, &a->probe);
		if (r < 0) {
			log_err("gateway probes: cannot open UDP sockets on %s%s: %s",
				a->opt.underlay_ip_str,
				a->opt.gateway ? " (probe port)" : "",
				strerror(-r));
			return r;
		}
	}
	r = snat_copy_start(a);
	if (r < 0) {
		log_err("snat_events: %s", strerror(-r));
		return r;
	}
	r = bird_start(a);
	if (r < 0) {
		log_err("BIRD configuration %s: %s", a->opt.bird_conf,
			strerror(-r));
		return r;
	}

	a->reconcile_ev = evtimer_new(a->base, on_reconcile, a);
	a->ct_gc_ev = event_new(a->base, -1, EV_PERSIST, on_ct_gc, a);
	nl_ev = event_new(a->base, links_fd(a->links), EV_READ | EV_PERSIST,
			  on_links_readable, a);
	sigterm = evsignal_new(a->base, SIGTERM, on_signal, a);
	sigint = evsignal_new(a->base, SIGINT, on_signal, a);
	if (!a->reconcile_ev || !a->ct_gc_ev || !nl_ev || !sigterm || !sigint) {
		r = -ENOMEM;
		goto out;
	}
	{
		struct timeval gc = { CONNTRACK_GC_INTERVAL_MS / 1000,
				      (CONNTRACK_GC_INTERVAL_MS % 1000) *
					      1000 };

		event_add(a->ct_gc_ev, &gc);
	}
	r = drop_log_start(a);
	if (r < 0) {
		log_err("drop_events: %s", strerror(-r));
		goto out;
	}
	event_add(nl_ev, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);

	/* DHCP answers come from the view: without one (weftd not heard
	 * from yet) every request is ignored as from no known port. */
	r = dhcp_new(a->base, &a->view, a->opt.host, tap_ifindex, a, &a->dhcp);
	if (r < 0) {
		log_err("DHCP socket: %s", strerror(-r));
		goto out;
	}

	r = sbclient_new(a->base, a->opt.controller, &sb_ops, a, &a->sb);
	if (r < 0)
		goto out;
	log_info("host %s, underlay %s, controller %s%s%s", a->opt.host,
		 a->opt.underlay_ip_str, a->opt.controller,
		 a->opt.gateway ? ", gateway with uplink " : "",
		 a->opt.gateway ? a->opt.uplink_ip_str : "");

	event_base_dispatch(a->base);
	r = 0;
out:
	if (nl_ev)
		event_free(nl_ev);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	return r;
}

int main(int argc, char **argv)
{
	struct agent a = { 0 };
	int r;

	if (parse_options(argc, argv, &a.opt) < 0)
		return 2;
	libbpf_set_print(libbpf_log);
	if (a.opt.cleanup)
		return do_cleanup(&a.opt) < 0 ? 1 : 0;

	signal(SIGPIPE, SIG_IGN);
	a.base = event_base_new();
	if (!a.base)
		return 1;
	hostview_init(&a.view);
	dp_state_init(&a.present);
	links_table_init(&a.taps);
	kvtab_init(&a.attached, sizeof(uint32_t), 0);
	kvtab_init(&a.reported, PORT_ID_MAX, sizeof(uint8_t));

	r = run(&a);

	sbclient_free(a.sb);
	if (a.snat_ev)
		event_free(a.snat_ev);
	ring_buffer__free(a.snat_rb);
	probe_free(a.probe);
	birdc_free(a.birdc);
	free(a.announced);
	dhcp_free(a.dhcp);
	if (a.reconcile_ev)
		event_free(a.reconcile_ev);
	if (a.ct_gc_ev)
		event_free(a.ct_gc_ev);
	if (a.drop_ev)
		event_free(a.drop_ev);
	ring_buffer__free(a.drop_rb);
	links_free(a.links);
	datapath_free(a.dp); /* closes handles only: pins stay */
	kvtab_destroy(&a.taps);
	kvtab_destroy(&a.attached);
	kvtab_destroy(&a.reported);
	dp_state_destroy(&a.present);
	hostview_destroy(&a.view);
	event_base_free(a.base);
	return r < 0 ? 1 : 0;
}
