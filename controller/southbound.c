/* SPDX-License-Identifier: Apache-2.0 */
#include "southbound.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <libgen.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "abi/weft.h"
#include "log.h"
#include "sbproto.h"
#include "view.h"

/* A connection whose unsent output grows beyond this is closed: the agent
 * does not read, and its views would pile up in weftd's memory. */
#define MAX_PENDING_OUTPUT (64u * 1024 * 1024)

/* Agent ids are name-based UUIDs (version 5) of the host name in this
 * namespace, so that a host keeps its id across reconnects and restarts
 * of weftd without a lookup by name. */
#define AGENT_ID_NAMESPACE "6c1b7a52-3f0e-4f4e-9d55-8e3f2b7d9a10"

struct sb_conn;

/* What weftd knows of one host; kept after its agent disconnects, so that
 * a reconnect can be answered with a delta. */
struct sb_host {
	struct sb_host *next;
	char *name;
	struct sb_conn *conn; /* NULL while no agent of the host is connected */
	json_t *view; /* the last view sent (key -> object), or NULL */
	uint64_t revision; /* the revision 'view' is exact at */
	json_t *networks; /* networks that may hold a port bound here */
	bool gateway; /* its agent said hello in the gateway role */
};

struct sb_conn {
	struct sb_conn *next;
	struct southbound *sb;
	struct bufferevent *bev;
	struct event *timer;
	char peer[128];
	struct sb_host *host; /* set by hello */
	struct timespec last_seen; /* CLOCK_MONOTONIC */
	time_t last_seen_wall;
};

struct sb_listener {
	struct sb_listener *next;
	struct evconnlistener *lev;
	char *unix_path; /* to remove at exit; NULL for TCP */
};

struct southbound {
	struct event_base *base;
	struct store *store;
	struct southbound_options opts;
	struct sb_listener *listeners;
	struct sb_conn *conns;
	struct sb_host *hosts;
	struct southbound_request *requests;
	uint64_t next_request_id;
	/* The change log has been applied to the views up to here. */
	uint64_t processed;
	/* A gateway agent connected or went away: every view holds the
	 * gateways' 'alive', so every view is recomputed. */
	bool gateways_changed;
	struct event *process_ev;
	struct api_live live;
};

static void conn_close(struct sb_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void format_time(time_t t, const char *fmt, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, fmt, &tm);
}

static const char *conn_name(const struct sb_conn *c)
{
	return c->host ? c->host->name : c->peer;
}

/* --- hosts --- */

static struct sb_host *host_find(struct southbound *sb, const char *name)
{
	for (struct sb_host *h = sb->hosts; h; h = h->next)
		if (!strcmp(h->name, name))
			return h;
	return NULL;
}

static struct sb_host *host_get(struct southbound *sb, const char *name)
{
	struct sb_host *h = host_find(sb, name);

	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->name = strdup(name))) {
		free(h);
		return NULL;
	}
	h->next = sb->hosts;
	sb->hosts = h;
	return h;
}

static void host_set_view(struct sb_host *h, json_t *view, uint64_t revision)
{
	json_decref(h->view);
	h->view = view;
	h->revision = revision;
}

/* --- sending --- */

/* Sends 'msg' (stolen) to 'c'. Returns 0, or a negative errno after
 * closing the connection. */
static int conn_send(struct sb_conn *c, json_t *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char *line = NULL;
	size_t len;
	int r;

	if (!msg) {
		conn_close(c, "out of memory building a message");
		return -ENOMEM;
	}
	r = sbproto_format(msg, &line, &len);
	json_decref(msg);
	if (r == -EMSGSIZE) {
		conn_close(c,
			   "a message for it is over the %d-byte line limit "
			   "(its view is too large for one snapshot or delta)",
			   SBPROTO_MAX_LINE);
		return r;
	}
	if (r < 0) {
		conn_close(c, "cannot format a message: %s", strerror(-r));
		return r;
	}
	if (evbuffer_get_length(out) + len > MAX_PENDING_OUTPUT) {
		free(line);
		conn_close(c, "it does not read (%zu bytes unsent)",
			   evbuffer_get_length(out));
		return -ENOBUFS;
	}
	r = evbuffer_add(out, line, len);
	free(line);
	if (r < 0) {
		conn_close(c, "out of memory queueing a message");
		return -ENOMEM;
	}
	return 0;
}

/* Sends the changes from the host's last sent view to 'view' (stolen) at
 * 'revision'; with 'always', an empty delta too. */
static int send_delta(struct sb_conn *c, json_t *view, uint64_t revision,
		      bool always)
{
	struct sb_host *h = c->host;
	json_t *upsert = NULL, *deletes = NULL;
	int r = view_diff(h->view, view, &upsert, &deletes);

	if (r < 0) {
		json_decref(view);
		conn_close(c, "out of memory computing a delta");
		return r;
	}
	host_set_view(h, view, revision);
	if (always || json_array_size(upsert) || json_array_size(deletes)) {
		log_debug(
			"southbound: %s: delta at %llu, %zu upserts, %zu deletes",
			h->name, (unsigned long long)revision,
			json_array_size(upsert), json_array_size(deletes));
		r = conn_send(c, sbproto_delta_new(revision, upsert, deletes));
	}
	json_decref(upsert);
	json_decref(deletes);
	return r;
}

/* --- requests to agents (port statistics, conntrack entries) --- */

struct southbound_request {
	struct southbound_request *next;
	struct southbound *sb;
	enum sbproto_type reply; /* the type that answers it */
	uint64_t id;
	struct sb_conn *conn;
	char host[256];
	char port_id[40]; /* "" when the request names no port */
	struct event *timeout;
	southbound_reply_fn fn;
	void *arg;
};

static void request_unlink(struct southbound_request *req)
{
	struct southbound_request **p = &req->sb->requests;

	while (*p && *p != req)
		p = &(*p)->next;
	if (*p)
		*p = req->next;
	if (req->timeout)
		event_free(req->timeout);
}

/* Answers 'req' with 'body' (which it takes, and which may be NULL) and
 * frees it. */
static void request_finish(struct southbound_request *req, int status,
			   json_t *body)
{
	request_unlink(req);
	req->fn(req->arg, status, body);
	free(req);
	json_decref(body);
}

static void request_fail(struct southbound_request *req, int status,
			 const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void request_fail(struct southbound_request *req, int status,
			 const char *type, const char *fmt, ...)
{
	struct api_error err = { 0 };
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_fail(&err, status, type, "%s", msg);
	request_finish(req, status, api_error_body(&err));
}

static void request_timed_out(evutil_socket_t fd, short what, void *arg)
{
	struct southbound_request *req = arg;

	log_warn("southbound: %s: no answer to %s request %llu in %u ms",
		 req->host, sbproto_type_name(req->reply),
		 (unsigned long long)req->id, req->sb->opts.stats_timeout_ms);
	request_fail(req, 504, "HTTPGatewayTimeout",
		     "The agent of host %s did not answer within %u ms.",
		     req->host, req->sb->opts.stats_timeout_ms);
}

/*
 * Sends the request built by 'build' (called with the new request id and
 * 'port_id') to the agent of 'host', to be answered by a message of type
 * 'reply'; see southbound_port_stats().
 */
static int request_start(struct southbound *sb, const char *host,
			 const char *port_id, enum sbproto_type reply,
			 json_t *(*build)(uint64_t, const char *),
			 southbound_reply_fn fn, void *arg,
			 struct southbound_request **ret)
{
	struct sb_host *h = host_find(sb, host);
	struct southbound_request *req;
	struct timeval tv;

	if (!h || !h->conn)
		return -ENOTCONN;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->sb = sb;
	req->reply = reply;
	req->id = ++sb->next_request_id;
	req->conn = h->conn;
	snprintf(req->host, sizeof(req->host), "%s", host);
	snprintf(req->port_id, sizeof(req->port_id), "%s",
		 port_id ? port_id : "");
	req->fn = fn;
	req->arg = arg;
	req->timeout = evtimer_new(sb->base, request_timed_out, req);
	if (!req->timeout) {
		free(req);
		return -ENOMEM;
	}
	tv.tv_sec = sb->opts.stats_timeout_ms / 1000;
	tv.tv_usec = (sb->opts.stats_timeout_ms % 1000) * 1000;
	evtimer_add(req->timeout, &tv);
	req->next = sb->requests;
	sb->requests = req;
	/* A send failure closes the connection, which answers 'req' on the
	 * next turn of the loop (never from within this call). */
	conn_send(h->conn, build(req->id, port_id));
	*ret = req;
	return 0;
}

int southbound_port_stats(struct southbound *sb, const char *host,
			  const char *port_id, southbound_reply_fn fn,
			  void *arg, struct southbound_request **ret)
{
	return request_start(sb, host, port_id, SBPROTO_STATS_REPLY,
			     sbproto_stats_request_new, fn, arg, ret);
}

int southbound_conntrack(struct southbound *sb, const char *host,
			 const char *port_id, southbound_reply_fn fn, void *arg,
			 struct southbound_request **ret)
{
	return request_start(sb, host, port_id, SBPROTO_CONNTRACK_REPLY,
			     sbproto_conntrack_request_new, fn, arg, ret);
}

/* The device stats_request of request 'request_id' (no port). */
static json_t *device_stats_request(uint64_t request_id, const char *unused)
{
	(void)unused;
	return sbproto_device_stats_request_new(request_id);
}

int southbound_device_stats(struct southbound *sb, const char *host,
			    southbound_reply_fn fn, void *arg,
			    struct southbound_request **ret)
{
	return request_start(sb, host, NULL, SBPROTO_STATS_REPLY,
			     device_stats_request, fn, arg, ret);
}

void southbound_request_cancel(struct southbound_request *req)
{
	if (!req)
		return;
	request_unlink(req);
	free(req);
}

static void request_orphaned(evutil_socket_t fd, short what, void *arg)
{
	struct southbound_request *req = arg;

	request_fail(req, 409, "AgentNotConnected",
		     "The agent of host %s disconnected before answering.",
		     req->host);
}

/* The request of 'c' that the reply 'm' answers, or NULL (logged). */
static struct southbound_request *request_of_reply(struct sb_conn *c,
						   struct sbproto_msg *m)
{
	struct southbound_request *req;

	for (req = c->sb->requests; req; req = req->next)
		if (req->id == m->request_id && req->conn == c &&
		    req->reply == m->type)
			return req;
	log_info(
		"southbound: %s: ignoring the %s to unknown (or timed out) request %llu",
		conn_name(c), sbproto_type_name(m->type),
		(unsigned long long)m->request_id);
	return NULL;
}

/* Answers the device stats request 'req' with the reply 'm'. */
static void handle_device_stats_reply(struct sb_conn *c,
				      struct southbound_request *req,
				      struct sbproto_msg *m)
{
	if (m->error) {
		request_fail(
			req, 409, "DeviceStatsUnavailable",
			"The agent of host %s cannot read the counters of its devices: %.200s",
			conn_name(c), m->error);
		return;
	}
	if (m->port_id) {
		request_fail(
			req, 502, "HTTPBadGateway",
			"The agent of host %s answered for port %s instead of its devices.",
			conn_name(c), m->port_id);
		return;
	}
	request_finish(req, 200, json_pack("{s:O}", "stats", m->stats));
}

static void handle_stats_reply(struct sb_conn *c, struct sbproto_msg *m)
{
	struct southbound_request *req = request_of_reply(c, m);

	if (!req)
		return;
	if (!req->port_id[0]) {
		handle_device_stats_reply(c, req, m);
		return;
	}
	if (m->error) {
		request_fail(
			req, 409, "PortStatsUnavailable",
			"The agent of host %s cannot read the counters of port %s: %.200s",
			conn_name(c), req->port_id, m->error);
		return;
	}
	if (!m->port_id || strcmp(m->port_id, req->port_id)) {
		request_fail(
			req, 502, "HTTPBadGateway",
			"The agent of host %s answered for port %s instead of %s.",
			conn_name(c), m->port_id, req->port_id);
		return;
	}
	request_finish(req, 200, json_pack("{s:O}", "stats", m->stats));
}

static void handle_conntrack_reply(struct sb_conn *c, struct sbproto_msg *m)
{
	struct southbound_request *req = request_of_reply(c, m);

	if (!req)
		return;
	if (m->error) {
		request_fail(
			req, 409, "ConntrackUnavailable",
			"The agent of host %s cannot read its conntrack entries: %.200s",
			conn_name(c), m->error);
		return;
	}
	request_finish(req, 200,
		       json_pack("{s:O, s:b}", "conntrack", m->entries,
				 "truncated", m->truncated));
}

/* --- connections --- */

static void conn_close(struct sb_conn *c, const char *fmt, ...)
{
	struct southbound *sb = c->sb;
	struct sb_conn **p = &sb->conns;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_warn("southbound: closing the connection of %s%s%s: %s",
		 conn_name(c), c->host ? " from " : "", c->host ? c->peer : "",
		 reason);

	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	if (c->host) {
		json_decref(c->host->networks);
		c->host->networks = NULL;
		c->host->conn = NULL;
		if (c->host->gateway) {
			sb->gateways_changed = true;
			event_active(sb->process_ev, 0, 0);
		}
	}
	/* Requests waiting on this agent are answered on the next turn of
	 * the loop: the caller may be in the middle of sending one. */
	for (struct southbound_request *req = sb->requests; req;
	     req = req->next) {
		if (req->conn != c)
			continue;
		req->conn = NULL;
		event_del(req->timeout);
		event_assign(req->timeout, sb->base, -1, 0, request_orphaned,
			     req);
		event_active(req->timeout, 0, 0);
	}
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

/*
 * The configurations of the agent of hello 'm', inside the registration's
 * transaction: a gateway's uplink address and slot (claimed at its first
 * hello and kept; null when all are taken), a hypervisor's slot released
 * (a host that stopped being a gateway). A new reference, or NULL.
 */
static json_t *agent_configurations(struct southbound *sb,
				    struct sbproto_msg *m)
{
	uint32_t slot;
	int r;

	if (!m->gateway) {
		if (store_gateway_slot_release(sb->store, m->host) < 0)
			return NULL;
		return json_pack("{s:s, s:b}", "underlay_ip", m->underlay_ip,
				 "gateway", 0);
	}
	r = store_gateway_slot_claim(sb->store, m->host, WEFT_MAX_GATEWAYS,
				     &slot);
	if (r == -ENOSPC)
		log_warn(
			"southbound: gateway %s gets no slot: all %d are taken; it serves nothing until one is freed (delete a dead gateway's agent)",
			m->host, WEFT_MAX_GATEWAYS);
	else if (r < 0)
		return NULL;
	return json_pack("{s:s, s:b, s:s, s:o}", "underlay_ip", m->underlay_ip,
			 "gateway", 1, "uplink_ip", m->uplink_ip,
			 "gateway_slot",
			 r == 0 ? json_integer(slot) : json_null());
}

/* Registers or refreshes the agent resource of the host of 'm'. */
static int register_agent(struct southbound *sb, struct sbproto_msg *m,
			  char *errmsg, size_t errmsg_len)
{
	char id[37], now[32], heartbeat[32];
	uuid_t ns, u;
	json_t *doc, *conf;
	time_t t = time(NULL);
	int r;

	uuid_parse(AGENT_ID_NAMESPACE, ns);
	uuid_generate_sha1(u, ns, m->host, strlen(m->host));
	uuid_unparse_lower(u, id);
	format_time(t, "%Y-%m-%dT%H:%M:%SZ", now, sizeof(now));
	format_time(t, "%Y-%m-%d %H:%M:%S", heartbeat, sizeof(heartbeat));

	r = store_begin(sb->store);
	if (r < 0) {
		snprintf(errmsg, errmsg_len, "the store is busy: %s",
			 strerror(-r));
		return r;
	}
	conf = agent_configurations(sb, m);
	doc = store_get(sb->store, "agent", id);
	if (!doc) {
		doc = json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:[], s:i, s:n, s:n}",
			"id", id, "project_id", "", "tenant_id", "", "host",
			m->host, "agent_type", "weft agent", "binary",
			"weft-agent", "topic", "weft", "admin_state_up", 1,
			"description", "", "created_at", now, "updated_at", now,
			"started_at", now, "tags", "revision_number", 1,
			"availability_zone", "resources_synced");
	} else {
		json_int_t rev = json_integer_value(
			json_object_get(doc, "revision_number"));

		json_object_set_new(doc, "revision_number",
				    json_integer(rev + 1));
		json_object_set_new(doc, "updated_at", json_string(now));
		json_object_set_new(doc, "started_at", json_string(now));
		/* Planted or older documents may carry a stored 'alive'; the
		 * API computes it. */
		json_object_del(doc, "alive");
	}
	if (!doc || !conf) {
		json_decref(doc);
		json_decref(conf);
		store_rollback(sb->store);
		snprintf(errmsg, errmsg_len, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(doc, "configurations", conf);
	json_object_set_new(doc, "heartbeat_timestamp", json_string(heartbeat));
	r = store_put(sb->store, "agent", NULL, false, doc);
	json_decref(doc);
	if (r < 0) {
		store_rollback(sb->store);
		snprintf(errmsg, errmsg_len, "the store failed to write: %s",
			 strerror(-r));
		return r;
	}
	r = store_commit(sb->store);
	if (r < 0) {
		snprintf(errmsg, errmsg_len, "the store failed to commit: %s",
			 strerror(-r));
		return r;
	}
	southbound_committed(sb, store_revision(sb->store));
	return 0;
}

/* Whether the agent of 'host' is alive, for view_gateways(). */
static bool gateway_alive(void *data, const char *host)
{
	return southbound_agent_alive(data, host, NULL, 0);
}

/* Computes the view of 'h': a gateway's or a hypervisor's (view.h). */
static int host_view(struct southbound *sb, struct sb_host *h, json_t *hosts,
		     json_t *gateways, json_t *secgroups, json_t **ret)
{
	if (h->gateway)
		return view_compute_gateway(sb->store, h->name, hosts, gateways,
					    sb->opts.dns_domain, ret);
	return view_compute(sb->store, h->name, h->networks, hosts, gateways,
			    secgroups, sb->opts.dns_domain, ret);
}

static int handle_hello(struct sb_conn *c, struct sbproto_msg *m)
{
	struct southbound *sb = c->sb;
	json_t *hosts = NULL, *gateways = NULL, *view = NULL, *objects, *msg;
	struct sb_host *h;
	uint64_t revision;
	char why[256];
	bool delta;
	int r;

	if (c->host) {
		conn_close(c, "protocol violation: a second hello");
		return -EPROTO;
	}
	h = host_get(sb, m->host);
	if (!h) {
		conn_close(c, "out of memory");
		return -ENOMEM;
	}
	if (h->conn)
		conn_close(h->conn, "host %s connected again from %s", h->name,
			   c->peer);
	r = register_agent(sb, m, why, sizeof(why));
	if (r < 0) {
		conn_close(c, "cannot register the agent of %s: %s", m->host,
			   why);
		return r;
	}

	/* Connected before its view is computed: a gateway is alive in its
	 * own first view and in everyone's next one. */
	h->gateway = m->gateway;
	h->conn = c;
	c->host = h;
	h->networks = json_object();
	r = h->networks ? view_host_networks(sb->store, h->name, h->networks) :
			  -ENOMEM;
	if (r == 0)
		r = view_agent_hosts(sb->store, &hosts);
	if (r == 0)
		r = view_gateways(sb->store, gateway_alive, sb, &gateways);
	if (r == 0)
		r = host_view(sb, h, hosts, gateways, NULL, &view);
	json_decref(hosts);
	json_decref(gateways);
	if (r < 0) {
		conn_close(c, "cannot compute the view of %s: %s", m->host,
			   strerror(-r));
		return r;
	}
	revision = store_revision(sb->store);
	delta = m->revision && h->view && h->revision == m->revision;
	log_info(
		"southbound: agent of %s (%s, underlay %s%s%s) said hello at revision %llu: %s at %llu, %zu objects",
		h->name, c->peer, m->underlay_ip,
		m->gateway ? ", gateway with uplink " : "",
		m->gateway ? m->uplink_ip : "", (unsigned long long)m->revision,
		delta ? "delta" : "snapshot", (unsigned long long)revision,
		json_object_size(view));
	if (delta)
		return send_delta(c, view, revision, true);
	host_set_view(h, view, revision);
	objects = view_objects(view);
	msg = objects ? sbproto_snapshot_new(revision, objects) : NULL;
	json_decref(objects);
	return conn_send(c, msg);
}

static int handle_port_status(struct sb_conn *c, struct sbproto_msg *m)
{
	struct southbound *sb = c->sb;
	json_t *port;
	const char *bound;
	char now[32];
	int r;

	port = store_get(sb->store, "port", m->port_id);
	bound = port ? json_string_value(
			       json_object_get(port, "binding:host_id")) :
		       NULL;
	if (!port || !bound || strcmp(bound, c->host->name)) {
		/* A race with a delete or a rebinding, or a confused agent:
		 * either way nothing to write. */
		log_warn("southbound: %s: ignoring status %s of port %s, %s",
			 c->host->name, m->status, m->port_id,
			 port ? "bound to another host" :
				"which does not exist");
		json_decref(port);
		return 0;
	}
	if (json_equal(json_object_get(port, "status"),
		       json_object_get(m->json, "status"))) {
		json_decref(port);
		return 0;
	}
	format_time(time(NULL), "%Y-%m-%dT%H:%M:%SZ", now, sizeof(now));
	json_object_set_new(port, "status", json_string(m->status));
	json_object_set_new(port, "revision_number",
			    json_integer(json_integer_value(json_object_get(
						 port, "revision_number")) +
					 1));
	json_object_set_new(port, "updated_at", json_string(now));
	r = store_begin(sb->store);
	if (r == 0) {
		r = store_put(
			sb->store, "port",
			json_string_value(json_object_get(port, "network_id")),
			false, port);
		if (r < 0)
			store_rollback(sb->store);
		else
			r = store_commit(sb->store);
	}
	json_decref(port);
	if (r < 0) {
		log_err("southbound: %s: cannot write the status of port %s: %s",
			c->host->name, m->port_id, strerror(-r));
		return 0;
	}
	log_info("southbound: %s: port %s is %s", c->host->name, m->port_id,
		 m->status);
	southbound_committed(sb, store_revision(sb->store));
	return 0;
}

/* Handles one line. Returns 0, or a negative errno after closing 'c'. */
static int handle_line(struct sb_conn *c, const char *line, size_t len)
{
	struct sbproto_msg m;
	char why[300];
	int r;

	r = sbproto_parse(line, len, SBPROTO_FROM_AGENT, &m, why, sizeof(why));
	if (r < 0) {
		conn_close(c, "protocol violation: %s", why);
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->last_seen);
	c->last_seen_wall = time(NULL);
	if (!c->host && m.type != SBPROTO_HELLO) {
		conn_close(c, "protocol violation: %s before hello",
			   sbproto_type_name(m.type));
		sbproto_msg_destroy(&m);
		return -EPROTO;
	}
	switch (m.type) {
	case SBPROTO_HELLO:
		r = handle_hello(c, &m);
		break;
	case SBPROTO_PORT_STATUS:
		r = handle_port_status(c, &m);
		break;
	case SBPROTO_STATS_REPLY:
		handle_stats_reply(c, &m);
		r = 0;
		break;
	case SBPROTO_CONNTRACK_REPLY:
		handle_conntrack_reply(c, &m);
		r = 0;
		break;
	default: /* heartbeat: last_seen is all it does */
		r = 0;
		break;
	}
	sbproto_msg_destroy(&m);
	return r;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct sb_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t eol_len, len;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
							    EVBUFFER_EOL_LF);
		char *line;
		int r;

		if (p.pos < 0) {
			if (evbuffer_get_length(in) > SBPROTO_MAX_LINE)
				conn_close(
					c,
					"protocol violation: a line over %d bytes",
					SBPROTO_MAX_LINE);
			return;
		}
		if ((size_t)p.pos > SBPROTO_MAX_LINE) {
			conn_close(c, "protocol violation: a line of %zu bytes",
				   (size_t)p.pos);
			return;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (!line) {
			conn_close(c, "out of memory reading a line");
			return;
		}
		r = handle_line(c, line, len);
		free(line);
		if (r < 0)
			return; /* 'c' is gone */
	}
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct sb_conn *c = arg;

	if (what & BEV_EVENT_EOF)
		conn_close(c, "it closed the connection");
	else if (what & BEV_EVENT_ERROR)
		conn_close(
			c, "%s",
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void conn_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sb_conn *c = arg;
	double quiet = seconds_since(&c->last_seen);

	if (quiet >= c->sb->opts.agent_down_time) {
		conn_close(c, "%s for %.0f s", c->host ? "silent" : "no hello",
			   quiet);
		return;
	}
	if (c->host)
		conn_send(c, sbproto_heartbeat_new(c->host->revision));
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd,
		      struct sockaddr *addr, int addrlen, void *arg)
{
	struct southbound *sb = arg;
	struct timeval tv = { sb->opts.heartbeat_interval, 0 };
	struct sb_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->sb = sb;
	if (addr->sa_family == AF_UNIX) {
		snprintf(c->peer, sizeof(c->peer), "unix socket");
	} else {
		char ip[INET6_ADDRSTRLEN] = "?";
		int one = 1;
		uint16_t port = 0;

		if (addr->sa_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)addr;

			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else if (addr->sa_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;

			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, port);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->bev = bufferevent_socket_new(sb->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = event_new(sb->base, -1, EV_PERSIST, conn_tick, c);
	if (!c->bev || !c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->last_seen);
	c->last_seen_wall = time(NULL);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	event_add(c->timer, &tv);
	c->next = sb->conns;
	sb->conns = c;
	log_debug("southbound: connection from %s", c->peer);
}

/* --- views after commits --- */

/* The changes of the log since the last processing, sorted by kind. */
struct changes {
	json_t *ports; /* id -> document, or null when deleted */
	json_t *subnets; /* id -> document, or null when deleted */
	json_t *networks; /* set of ids */
	json_t *routers; /* set of ids */
	json_t *secgroups; /* set of ids */
	bool agents;
	bool floatingips; /* only gateways' views hold them */
};

static int collect_change(uint64_t revision, const char *kind, const char *id,
			  const char *op, void *data)
{
	struct changes *ch = data;

	if (!strcmp(kind, "port"))
		json_object_set_new(ch->ports, id, json_null());
	else if (!strcmp(kind, "subnet"))
		json_object_set_new(ch->subnets, id, json_null());
	else if (!strcmp(kind, "network"))
		json_object_set_new(ch->networks, id, json_true());
	else if (!strcmp(kind, "router"))
		json_object_set_new(ch->routers, id, json_true());
	else if (!strcmp(kind, "security_group"))
		json_object_set_new(ch->secgroups, id, json_true());
	else if (!strcmp(kind, "agent"))
		ch->agents = true;
	else if (!strcmp(kind, "floatingip"))
		ch->floatingips = true;
	return 0;
}

/* Whether the view of 'h' holds the object "PREFIX:ID". */
static bool in_view(struct sb_host *h, const char *prefix, const char *id)
{
	char key[128];

	if (!id)
		return false;
	snprintf(key, sizeof(key), "%s:%s", prefix, id);
	return json_object_get(h->view, key) != NULL;
}

/* Whether network 'id' is one the host takes part in or reaches. */
static bool network_affects(struct sb_host *h, const char *id)
{
	return id &&
	       (json_object_get(h->networks, id) || in_view(h, "network", id));
}

/*
 * Whether the changes may alter the view of 'h'; adds to its network set
 * the networks of ports newly bound to it. A view is closed under routing,
 * so a change matters when it touches anything the view holds: a network
 * (one with a port bound here, or one reached through routers), a subnet,
 * a port or a router of it, or a security group it holds. Growth is caught
 * too: a new interface is a port of a network in the view or a change of a
 * router in the view (the router actions also write the router), and so
 * is the removal of one.
 */
static bool host_affected(struct sb_host *h, struct changes *ch)
{
	const char *id;
	json_t *doc, *v;
	bool affected = ch->agents;

	json_object_foreach(ch->ports, id, doc) {
		const char *net =
			json_string_value(json_object_get(doc, "network_id"));
		const char *bound = json_string_value(
			json_object_get(doc, "binding:host_id"));

		if (net && bound && !strcmp(bound, h->name)) {
			json_object_set_new(h->networks, net, json_true());
			affected = true;
		}
		if (network_affects(h, net) || in_view(h, "port", id) ||
		    in_view(h, "router",
			    json_string_value(
				    json_object_get(doc, "device_id"))))
			affected = true;
	}
	json_object_foreach(ch->subnets, id, doc)
		if (in_view(h, "subnet", id) ||
		    network_affects(h, json_string_value(json_object_get(
					       doc, "network_id"))))
			affected = true;
	json_object_foreach(ch->networks, id, v)
		if (network_affects(h, id))
			affected = true;
	/* A gateway's view grows with any router given an external
	 * gateway, and holds every floating IP. */
	if (h->gateway && (ch->floatingips || json_object_size(ch->routers)))
		affected = true;
	json_object_foreach(ch->routers, id, v)
		if (in_view(h, "router", id))
			affected = true;
	/* A group's rules or members changed (api-secgroups.c notes it);
	 * a local port joining or leaving a group is a change of the port. */
	json_object_foreach(ch->secgroups, id, v)
		if (in_view(h, "secgroup", id))
			affected = true;
	return affected;
}

/* Orders connections (given by pointers) by the size of their host's last
 * view. */
static int cmp_view_size(const void *a, const void *b)
{
	const struct sb_conn *x = *(struct sb_conn *const *)a;
	const struct sb_conn *y = *(struct sb_conn *const *)b;
	size_t nx = x->host ? json_object_size(x->host->view) : 0;
	size_t ny = y->host ? json_object_size(y->host->view) : 0;

	return nx < ny ? -1 : nx > ny;
}

static void process_changes(evutil_socket_t fd, short what, void *arg)
{
	struct southbound *sb = arg;
	uint64_t now = store_revision(sb->store);
	struct changes ch = { json_object(), json_object(), json_object(),
			      json_object(), json_object(), false,
			      false };
	json_t *hosts = NULL, *gateways = NULL, *secgroups = NULL, *doc;
	struct sb_conn **order = NULL, *c;
	size_t n = 0;
	const char *id;
	void *tmp;
	int r;

	if ((now <= sb->processed && !sb->gateways_changed) || !sb->conns)
		goto done;
	/* Every view holds every gateway and its 'alive'. */
	ch.agents = sb->gateways_changed;
	sb->gateways_changed = false;
	r = store_changes_since(sb->store, sb->processed, collect_change, &ch);
	if (r < 0) {
		/* Agents reconnect and get snapshots. */
		log_err("southbound: cannot read the change log: %s",
			strerror(-r));
		while (sb->conns)
			conn_close(sb->conns, "the change log is unreadable");
		goto done;
	}
	json_object_foreach_safe(ch.ports, tmp, id, doc) {
		json_t *port = store_get(sb->store, "port", id);

		if (port)
			json_object_set_new(ch.ports, id, port);
	}
	json_object_foreach_safe(ch.subnets, tmp, id, doc) {
		json_t *subnet = store_get(sb->store, "subnet", id);

		if (subnet)
			json_object_set_new(ch.subnets, id, subnet);
	}
	for (c = sb->conns; c; c = c->next)
		n++;
	order = calloc(n ? n : 1, sizeof(*order));
	if (!order) {
		log_err("southbound: out of memory; agents get snapshots");
		while (sb->conns)
			conn_close(sb->conns, "out of memory");
		goto done;
	}
	n = 0;
	for (c = sb->conns; c; c = c->next)
		order[n++] = c;
	/* Smaller views first: their deltas are quick to compute, and a
	 * host that merely reaches a new port (its ARP answer) is not kept
	 * waiting behind the large view of the port's own host. */
	qsort(order, n, sizeof(*order), cmp_view_size);
	for (size_t i = 0; i < n; i++) {
		struct sb_host *h = order[i]->host;
		json_t *view = NULL;

		if (!h)
			continue;
		if (!host_affected(h, &ch)) {
			h->revision = now;
			continue;
		}
		r = hosts ? 0 : view_agent_hosts(sb->store, &hosts);
		if (r == 0 && !gateways)
			r = view_gateways(sb->store, gateway_alive, sb,
					  &gateways);
		if (r == 0 && !secgroups && !(secgroups = json_object()))
			r = -ENOMEM;
		if (r == 0)
			r = host_view(sb, h, hosts, gateways, secgroups, &view);
		if (r < 0) {
			/* The agent reconnects and gets a snapshot. */
			conn_close(order[i], "cannot compute its view: %s",
				   strerror(-r));
			continue;
		}
		send_delta(order[i], view, now, false);
	}
done:
	free(order);
	if (now > sb->processed)
		sb->processed = now;
	json_decref(hosts);
	json_decref(gateways);
	json_decref(secgroups);
	json_decref(ch.ports);
	json_decref(ch.subnets);
	json_decref(ch.networks);
	json_decref(ch.routers);
	json_decref(ch.secgroups);
}

void southbound_committed(struct southbound *sb, uint64_t revision)
{
	if (revision > sb->processed)
		event_active(sb->process_ev, 0, 0);
}

bool southbound_agent_alive(struct southbound *sb, const char *host,
			    char *heartbeat, size_t len)
{
	struct sb_host *h = host_find(sb, host);

	if (!h || !h->conn ||
	    seconds_since(&h->conn->last_seen) >= sb->opts.agent_down_time)
		return false;
	if (heartbeat)
		format_time(h->conn->last_seen_wall, "%Y-%m-%d %H:%M:%S",
			    heartbeat, len);
	return true;
}

static void live_committed(void *data, uint64_t revision)
{
	southbound_committed(data, revision);
}

static bool live_agent_alive(void *data, const char *host, char *heartbeat,
			     size_t len)
{
	return southbound_agent_alive(data, host, heartbeat, len);
}

const struct api_live *southbound_api_live(struct southbound *sb)
{
	return &sb->live;
}

/* --- listeners --- */

static int add_listener(struct southbound *sb, struct evconnlistener *lev,
			const char *unix_path)
{
	struct sb_listener *l = calloc(1, sizeof(*l));

	if (!l || (unix_path && !(l->unix_path = strdup(unix_path)))) {
		free(l);
		evconnlistener_free(lev);
		return -ENOMEM;
	}
	l->lev = lev;
	l->next = sb->listeners;
	sb->listeners = l;
	return 0;
}

static int listen_tcp(struct southbound *sb, const char *spec, char *errmsg,
		      size_t errmsg_len)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct evconnlistener *lev;

	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) <
		    0 ||
	    !strrchr(spec, ':')) {
		snprintf(errmsg, errmsg_len,
			 "southbound: '%s' is not ADDR:PORT", spec);
		return -EINVAL;
	}
	lev = evconnlistener_new_bind(sb->base, on_accept, sb,
				      LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_FREE |
					      LEV_OPT_CLOSE_ON_EXEC,
				      -1, (struct sockaddr *)&ss, sslen);
	if (!lev) {
		int r = -errno;

		snprintf(errmsg, errmsg_len,
			 "southbound: cannot listen on %s: %s", spec,
			 strerror(errno));
		return r ? r : -EADDRINUSE;
	}
	return add_listener(sb, lev, NULL);
}

/* Creates the directories of 'path' that are missing. */
static void make_dirs(const char *path)
{
	char *copy = strdup(path), *dir;

	if (!copy)
		return;
	dir = dirname(copy);
	if (strcmp(dir, ".") && strcmp(dir, "/") && access(dir, F_OK) < 0) {
		make_dirs(dir);
		mkdir(dir, 0755);
	}
	free(copy);
}

static int listen_unix(struct southbound *sb, const char *path, char *errmsg,
		       size_t errmsg_len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *lev;
	struct stat st;
	int fd, r;

	if (!path[0] || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(
			errmsg, errmsg_len,
			"southbound: unix socket path '%s' is empty or too long",
			path);
		return -EINVAL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	make_dirs(path);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(errmsg, errmsg_len,
				 "southbound: %s exists and is not a socket",
				 path);
			return -EEXIST;
		}
		/* A socket somebody accepts on belongs to a live weftd. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(errmsg, errmsg_len,
				 "southbound: another process serves %s", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		snprintf(errmsg, errmsg_len,
			 "southbound: cannot listen on unix:%s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	lev = evconnlistener_new(sb->base, on_accept, sb,
				 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				 -1, fd);
	if (!lev) {
		r = -errno;
		snprintf(errmsg, errmsg_len,
			 "southbound: cannot listen on unix:%s: %s", path,
			 strerror(errno));
		close(fd);
		unlink(path);
		return r ? r : -EIO;
	}
	r = add_listener(sb, lev, path);
	if (r < 0)
		unlink(path);
	return r;
}

int southbound_new(struct event_base *base, struct store *store,
		   const struct southbound_options *opts,
		   struct southbound **ret, char *errmsg, size_t errmsg_len)
{
	struct southbound *sb = calloc(1, sizeof(*sb));
	char *list, *save = NULL;
	int r = 0;

	if (!sb)
		return -ENOMEM;
	sb->base = base;
	sb->store = store;
	sb->opts = *opts;
	if (!sb->opts.agent_down_time)
		sb->opts.agent_down_time = SOUTHBOUND_DEFAULT_DOWN_TIME;
	if (!sb->opts.heartbeat_interval)
		sb->opts.heartbeat_interval = SOUTHBOUND_HEARTBEAT_INTERVAL;
	if (!sb->opts.stats_timeout_ms)
		sb->opts.stats_timeout_ms = SOUTHBOUND_STATS_TIMEOUT_MS;
	sb->processed = store_revision(store);
	sb->live = (struct api_live){ .data = sb,
				      .committed = live_committed,
				      .agent_alive = live_agent_alive };
	sb->process_ev = event_new(base, -1, 0, process_changes, sb);
	list = strdup(opts->listen ? opts->listen : "");
	if (!sb->process_ev || !list) {
		free(list);
		southbound_free(sb);
		return -ENOMEM;
	}
	for (char *item = strtok_r(list, ",", &save); item && r == 0;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (!strncmp(item, "tcp:", 4)) {
			r = listen_tcp(sb, item + 4, errmsg, errmsg_len);
		} else if (!strncmp(item, "unix:", 5)) {
			r = listen_unix(sb, item + 5, errmsg, errmsg_len);
		} else if (item[0]) {
			snprintf(
				errmsg, errmsg_len,
				"southbound: '%s' is neither tcp:ADDR:PORT nor unix:PATH",
				item);
			r = -EINVAL;
		}
	}
	free(list);
	if (r < 0) {
		southbound_free(sb);
		return r;
	}
	*ret = sb;
	return 0;
}

void southbound_free(struct southbound *sb)
{
	if (!sb)
		return;
	while (sb->conns)
		conn_close(sb->conns, "weftd is stopping");
	while (sb->requests)
		southbound_request_cancel(sb->requests);
	while (sb->listeners) {
		struct sb_listener *l = sb->listeners;

		sb->listeners = l->next;
		evconnlistener_free(l->lev);
		if (l->unix_path) {
			unlink(l->unix_path);
			free(l->unix_path);
		}
		free(l);
	}
	while (sb->hosts) {
		struct sb_host *h = sb->hosts;

		sb->hosts = h->next;
		json_decref(h->view);
		json_decref(h->networks);
		free(h->name);
		free(h);
	}
	if (sb->process_ev)
		event_free(sb->process_ev);
	free(sb);
}
