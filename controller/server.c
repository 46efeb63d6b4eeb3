/* SPDX-License-Identifier: Apache-2.0 */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* libevent refuses bodies beyond this on its own (with a bare 413);
 * bodies between max_body_size and this get a Neutron error body. */
#define HARD_BODY_LIMIT_FACTOR 4

struct server {
	struct evhttp *http;
	struct server_options opts;
	struct store *store;
	struct auth *auth;
};

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 502:
		return "Bad Gateway";
	case 504:
		return "Gateway Timeout";
	case 413:
		return "Request Entity Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Error" : "Internal Server Error";
	}
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

/* Parses the query string into {key: [values...]}; NULL when a key or
 * value is not UTF-8. */
static json_t *parse_query(const char *query)
{
	struct evkeyvalq params;
	struct evkeyval *kv;
	json_t *out = json_object();

	if (!query || evhttp_parse_query_str(query, &params) < 0)
		return out;
	TAILQ_FOREACH(kv, &params, next) {
		/* libevent decodes the values but not the keys (which may
		 * carry "%3A", as in "provider%3Asegmentation_id"). */
		char *key = evhttp_uridecode(kv->key, 1, NULL);
		json_t *list = key ? json_object_get(out, key) : NULL;
		json_t *value = json_string(kv->value);

		if (key && value && !list) {
			list = json_array();
			if (json_object_set_new(out, key, list) < 0)
				list = NULL; /* the key is not UTF-8 */
		}
		free(key);
		if (!list || !value) {
			/* Not UTF-8: no filter could match it; refuse it. */
			json_decref(value);
			json_decref(out);
			out = NULL;
			break;
		}
		json_array_append_new(list, value);
	}
	evhttp_clear_headers(&params);
	return out;
}

static int append_to_evbuffer(const char *text, size_t len, void *data)
{
	return evbuffer_add(data, text, len);
}

static void send_json(struct evhttp_request *req, int status, json_t *body,
		      const char *request_id)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(out, "X-Openstack-Request-Id", request_id);
	if (body && status != 204) {
		evhttp_add_header(out, "Content-Type", "application/json");
		/* Serialise straight into the output buffer: no second copy
		 * of a large list. */
		json_dump_callback(body, append_to_evbuffer, buf, JSON_COMPACT);
	}
	evhttp_send_reply(req, status, reason_phrase(status), buf);
	evbuffer_free(buf);
}

static int fail_body(struct api_error *err, int status, const char *type,
		     const char *msg, json_t **ret)
{
	api_fail(err, status, type, "%s", msg);
	*ret = api_error_body(err);
	return status;
}

/* Reads and parses the body. Returns 0 and sets 'ret' (NULL when empty),
 * or an HTTP status with the error body in 'err_body'. */
static int read_body(struct server *srv, struct evhttp_request *req,
		     json_t **ret, json_t **err_body)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct api_error err;
	json_error_t jerr;
	json_t *body;

	*ret = NULL;
	if (len == 0)
		return 0;
	if (len > srv->opts.max_body_size) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "Request is too large: %zu bytes, the limit is %zu.",
			 len, srv->opts.max_body_size);
		return fail_body(&err, 413, "HTTPRequestEntityTooLarge", msg,
				 err_body);
	}
	body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (!body) {
		char msg[300];

		snprintf(msg, sizeof(msg),
			 "Malformed request body: %s (line %d, column %d)",
			 jerr.text, jerr.line, jerr.column);
		return fail_body(&err, 400, "HTTPBadRequest", msg, err_body);
	}
	*ret = body;
	return 0;
}

/* Works out who is calling. Returns 0, or 401 with 'err_body'. */
static int authenticate(struct server *srv, struct evhttp_request *req,
			const char *path, struct api_ctx *ctx,
			json_t **err_body)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct auth_identity id;
	struct api_error err;
	const char *token;

	if (!srv->opts.token_auth) {
		const char *project = evhttp_find_header(in, "X-Project-Id");

		ctx->project_id = project && project[0] ?
					  project :
					  srv->opts.default_project;
		ctx->is_admin = true;
		return 0;
	}
	/* Version discovery needs no token, as in Neutron. */
	if (!strcmp(path, "/") || !strcmp(path, "")) {
		ctx->project_id = "";
		ctx->is_admin = false;
		return 0;
	}
	token = evhttp_find_header(in, "X-Auth-Token");
	if (!token || auth_lookup(srv->auth, token, &id) < 0)
		return fail_body(
			&err, 401, "HTTPUnauthorized",
			token ? "The request you have made requires authentication: the token is not valid." :
				"The request you have made requires authentication: send X-Auth-Token.",
			err_body);
	ctx->project_id = id.project_id;
	ctx->is_admin = id.is_admin;
	return 0;
}

/* A GET answered by an agent (/v2.0/ports/ID/stats, /v2.0/conntrack)
 * waiting for its answer. */
struct pending_agent {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct southbound_request *handle;
	char request_id[48];
	char *path;
	struct timespec t0;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void agent_answered(void *arg, int status, json_t *body)
{
	struct pending_agent *p = arg;

	evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	send_json(p->req, status, body, p->request_id);
	log_msg(status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
		"GET %s -> %d (%.2f ms) %s", p->path, status, ms_since(&p->t0),
		p->request_id);
	free(p->path);
	free(p);
}

/* The client went away before the agent answered. */
static void agent_client_closed(struct evhttp_connection *evcon, void *arg)
{
	struct pending_agent *p = arg;

	southbound_request_cancel(p->handle);
	log_debug("GET %s: the client closed the connection (%s)", p->path,
		  p->request_id);
	free(p->path);
	free(p);
}

/* Whether 'path' is /v2.0/COLLECTION/ID/stats, 'prefix' being
 * "/v2.0/COLLECTION/"; copies ID into 'id'. */
static bool is_stats_path(const char *path, const char *prefix, char *id,
			  size_t len)
{
	const char *rest, *slash;

	if (strncmp(path, prefix, strlen(prefix)))
		return false;
	rest = path + strlen(prefix);
	slash = strchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= len ||
	    (strcmp(slash, "/stats") && strcmp(slash, "/stats/")))
		return false;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	return true;
}

/* Fills ctx->err for a failure to ask the agent of 'host' ('r'). */
static void agent_unreachable(struct api_ctx *ctx, const char *host, int r)
{
	if (r == -ENOTCONN)
		api_fail(&ctx->err, 409, "AgentNotConnected",
			 "The agent of host %s is not connected.", host);
	else
		api_fail(&ctx->err, 500, "HTTPInternalServerError",
			 "Cannot ask the agent of host %s: %s", host,
			 strerror(-r));
}

/* A request to an agent: 'ask' is southbound_port_stats() or
 * southbound_conntrack(). */
typedef int (*agent_ask_fn)(struct southbound *sb, const char *host,
			    const char *port_id, southbound_reply_fn fn,
			    void *arg, struct southbound_request **ret);

/*
 * Asks the agent of 'host' with 'ask' (about 'port_id', may be NULL) and
 * answers 'req' when it does (southbound.h). Returns 0 when the answer
 * will come later, or -1 with ctx->err set.
 */
static int ask_agent(struct server *srv, struct evhttp_request *req,
		     struct api_ctx *ctx, agent_ask_fn ask, const char *host,
		     const char *port_id, const char *path,
		     const char *request_id, const struct timespec *t0)
{
	struct pending_agent *p = calloc(1, sizeof(*p));
	int r;

	if (!p || !(p->path = strdup(path))) {
		free(p);
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"Out of memory.");
	}
	r = srv->opts.southbound ? ask(srv->opts.southbound, host, port_id,
				       agent_answered, p, &p->handle) :
				   -ENOTCONN;
	if (r < 0) {
		free(p->path);
		free(p);
		agent_unreachable(ctx, host, r);
		return -1;
	}
	p->req = req;
	p->evcon = evhttp_request_get_connection(req);
	p->t0 = *t0;
	snprintf(p->request_id, sizeof(p->request_id), "%s", request_id);
	evhttp_connection_set_closecb(p->evcon, agent_client_closed, p);
	return 0;
}

/*
 * GET /v2.0/ports/ID/stats: asks the agent of the port's host. Returns 0
 * when the answer will come later, or an HTTP status with 'out' set.
 */
static int start_port_stats(struct server *srv, struct evhttp_request *req,
			    struct api_ctx *ctx, const char *id,
			    const char *path, const char *request_id,
			    const struct timespec *t0, json_t **out)
{
	json_t *port = api_find(ctx, &api_ports, id);
	const char *host = api_str(port, "binding:host_id");
	int r = -1;

	if (port && (!host || !host[0]))
		api_fail(
			&ctx->err, 409, "PortNotBound",
			"Port %s is not bound to a host: no agent holds its counters.",
			id);
	else if (port)
		r = ask_agent(srv, req, ctx, southbound_port_stats, host, id,
			      path, request_id, t0);
	json_decref(port);
	if (r == 0)
		return 0;
	*out = api_error_body(&ctx->err);
	return ctx->err.status;
}

/* southbound_device_stats() as an agent_ask_fn: no port. */
static int ask_device_stats(struct southbound *sb, const char *host,
			    const char *port_id, southbound_reply_fn fn,
			    void *arg, struct southbound_request **ret)
{
	(void)port_id;
	return southbound_device_stats(sb, host, fn, arg, ret);
}

/*
 * GET /v2.0/agents/ID/stats (admin only): asks the agent for the counters
 * of its host's devices. Returns as start_port_stats() does.
 */
static int start_agent_stats(struct server *srv, struct evhttp_request *req,
			     struct api_ctx *ctx, const char *id,
			     const char *path, const char *request_id,
			     const struct timespec *t0, json_t **out)
{
	json_t *agent = NULL;
	int r = -1;

	if (!ctx->is_admin)
		api_fail(&ctx->err, 403, "PolicyNotAuthorized",
			 "(rule:get_agent_stats) is disallowed by policy");
	else if ((agent = api_find(ctx, &api_agents, id)))
		r = ask_agent(srv, req, ctx, ask_device_stats,
			      api_str(agent, "host"), NULL, path, request_id,
			      t0);
	json_decref(agent);
	if (r == 0)
		return 0;
	*out = api_error_body(&ctx->err);
	return ctx->err.status;
}

/* Whether 'path' is /v2.0/conntrack. */
static bool is_conntrack_path(const char *path)
{
	return !strcmp(path, "/v2.0/conntrack") ||
	       !strcmp(path, "/v2.0/conntrack/");
}

/* The single value of query key 'key', or NULL. */
static const char *query_value(json_t *query, const char *key)
{
	return json_string_value(
		json_array_get(json_object_get(query, key), 0));
}

/*
 * GET /v2.0/conntrack?host=H[&port_id=P] (admin only): asks the agent of
 * H for its conntrack entries. Returns as start_port_stats() does.
 */
static int start_conntrack(struct server *srv, struct evhttp_request *req,
			   struct api_ctx *ctx, json_t *query, const char *path,
			   const char *request_id, const struct timespec *t0,
			   json_t **out)
{
	const char *host = query_value(query, "host");
	const char *port_id = query_value(query, "port_id");
	json_t *port = NULL;
	int r = -1;

	if (!ctx->is_admin)
		api_fail(&ctx->err, 403, "PolicyNotAuthorized",
			 "(rule:get_conntrack) is disallowed by policy");
	else if (!host || !host[0])
		api_fail(&ctx->err, 400, "HTTPBadRequest",
			 "The query parameter 'host' is required.");
	else if (port_id && !(port = api_find(ctx, &api_ports, port_id)))
		r = -1; /* 404 PortNotFound, from api_find() */
	else
		r = ask_agent(srv, req, ctx, southbound_conntrack, host,
			      port_id, path, request_id, t0);
	json_decref(port);
	if (r == 0)
		return 0;
	*out = api_error_body(&ctx->err);
	return ctx->err.status;
}

static void handle_request(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *method = method_name(evhttp_request_get_command(req));
	const char *host = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Host");
	struct api_ctx ctx = { .store = srv->store,
			       .cfg = srv->opts.api,
			       .live = srv->opts.live };
	char request_id[48], base_url[300], uuid[37], stats_of[64];
	struct timespec t0, t1;
	json_t *query, *body = NULL, *out = NULL;
	char *path = NULL;
	struct tm tm;
	time_t now;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	api_uuid(uuid);
	snprintf(request_id, sizeof(request_id), "req-%s", uuid);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ctx.now, sizeof(ctx.now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(base_url, sizeof(base_url), "http://%s",
		 host ? host : srv->opts.listen);
	ctx.base_url = base_url;

	path = evhttp_uridecode(
		evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/", 0,
		NULL);
	query = parse_query(evhttp_uri_get_query(uri));

	if (!query)
		status =
			fail_body(&ctx.err, 400, "HTTPBadRequest",
				  "The query string is not valid UTF-8.", &out);
	else
		status = authenticate(srv, req, path, &ctx, &out);
	if (!status && !strcmp(method, "GET") &&
	    is_stats_path(path, "/v2.0/ports/", stats_of, sizeof(stats_of))) {
		status = start_port_stats(srv, req, &ctx, stats_of, path,
					  request_id, &t0, &out);
		if (!status)
			goto out; /* answered when the agent answers */
	}
	if (!status && !strcmp(method, "GET") &&
	    is_stats_path(path, "/v2.0/agents/", stats_of, sizeof(stats_of))) {
		status = start_agent_stats(srv, req, &ctx, stats_of, path,
					   request_id, &t0, &out);
		if (!status)
			goto out; /* answered when the agent answers */
	}
	if (!status && !strcmp(method, "GET") && is_conntrack_path(path)) {
		status = start_conntrack(srv, req, &ctx, query, path,
					 request_id, &t0, &out);
		if (!status)
			goto out; /* answered when the agent answers */
	}
	if (!status)
		status = read_body(srv, req, &body, &out);
	if (!status)
		status = api_handle(&ctx, method, path, query, body, &out);

	send_json(req, status, out, request_id);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_msg(status >= 500 ? LOG_LEVEL_ERR : LOG_LEVEL_DEBUG,
		"%s %s -> %d (%.2f ms) %s%s", method, path, status,
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		request_id, status >= 500 ? ctx.err.message : "");
out:
	json_decref(out);
	json_decref(body);
	json_decref(query);
	free(path);
}

int server_new(struct event_base *base, const struct server_options *opts,
	       struct store *store, struct auth *auth, struct server **ret,
	       char *errmsg, size_t errmsg_len)
{
	const char *colon = strrchr(opts->listen, ':');
	char addr[256];
	struct evhttp_bound_socket *handle;
	struct server *srv;
	char *end;
	long port;

	if (!colon || (size_t)(colon - opts->listen) >= sizeof(addr)) {
		snprintf(errmsg, errmsg_len,
			 "listen address '%s' is not ADDR:PORT", opts->listen);
		return -EINVAL;
	}
	memcpy(addr, opts->listen, (size_t)(colon - opts->listen));
	addr[colon - opts->listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535) {
		snprintf(errmsg, errmsg_len, "invalid port in '%s'",
			 opts->listen);
		return -EINVAL;
	}

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->opts = *opts;
	srv->store = store;
	srv->auth = auth;
	srv->http = evhttp_new(base);
	if (!srv->http) {
		free(srv);
		return -ENOMEM;
	}
	evhttp_set_max_body_size(
		srv->http,
		(ev_ssize_t)(opts->max_body_size * HARD_BODY_LIMIT_FACTOR));
	evhttp_set_allowed_methods(
		srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
				   EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(srv->http, handle_request, srv);
	handle = evhttp_bind_socket_with_handle(srv->http, addr,
						(ev_uint16_t)port);
	if (handle) {
		/* Accepted sockets inherit TCP_NODELAY: without it a large
		 * answer written in several pieces waits for the client's
		 * delayed ACK (about 40 ms) on keep-alive connections. */
		int one = 1;

		setsockopt(evhttp_bound_socket_get_fd(handle), IPPROTO_TCP,
			   TCP_NODELAY, &one, sizeof(one));
	}
	if (!handle) {
		snprintf(errmsg, errmsg_len, "cannot listen on %s: %s",
			 opts->listen, strerror(errno));
		evhttp_free(srv->http);
		free(srv);
		return -EADDRINUSE;
	}
	*ret = srv;
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	evhttp_free(srv->http);
	free(srv);
}

void server_set_auth(struct server *srv, struct auth *auth)
{
	srv->auth = auth;
}
