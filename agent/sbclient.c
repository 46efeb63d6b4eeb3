/* SPDX-License-Identifier: Apache-2.0 */
#include "sbclient.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000

struct sbclient {
	struct event_base *base;
	const struct sbclient_ops *ops;
	void *ctx;

	bool is_unix;
	char path[108]; /* unix */
	char *host; /* tcp */
	char *port;

	struct bufferevent *bev;
	bool connected; /* connect() completed */
	struct event *reconnect;
	struct event *tick; /* heartbeat and liveness */
	int backoff_ms;
	struct timespec last_rx;
};

static void sbclient_connect(evutil_socket_t fd, short what, void *arg);

static int parse_address(const char *address, bool *is_unix, char *path,
			 char **host, char **port)
{
	if (!strncmp(address, "unix:", 5)) {
		const char *p = address + 5;

		if (!*p || strlen(p) >= 108)
			return -EINVAL;
		if (path)
			strcpy(path, p);
		*is_unix = true;
		return 0;
	}
	if (!strncmp(address, "tcp:", 4)) {
		const char *h = address + 4;
		const char *colon = strrchr(h, ':');
		char *end;
		long port_num;

		if (!colon || colon == h || !colon[1])
			return -EINVAL;
		port_num = strtol(colon + 1, &end, 10);
		if (*end || port_num <= 0 || port_num > 65535)
			return -EINVAL;
		*is_unix = false;
		if (host) {
			*host = strndup(h, (size_t)(colon - h));
			*port = strdup(colon + 1);
			if (!*host || !*port)
				return -ENOMEM;
		}
		return 0;
	}
	return -EINVAL;
}

int sbclient_check_address(const char *address)
{
	bool is_unix;

	return parse_address(address, &is_unix, NULL, NULL, NULL);
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void schedule_reconnect(struct sbclient *sb)
{
	struct timeval tv = { sb->backoff_ms / 1000,
			      (sb->backoff_ms % 1000) * 1000 };

	evtimer_add(sb->reconnect, &tv);
	sb->backoff_ms *= 2;
	if (sb->backoff_ms > BACKOFF_MAX_MS)
		sb->backoff_ms = BACKOFF_MAX_MS;
}

static void drop_connection(struct sbclient *sb)
{
	bool was = sb->connected;

	if (sb->bev) {
		bufferevent_free(sb->bev);
		sb->bev = NULL;
	}
	sb->connected = false;
	evtimer_del(sb->tick);
	if (was && sb->ops->disconnected)
		sb->ops->disconnected(sb->ctx);
	schedule_reconnect(sb);
}

void sbclient_reset(struct sbclient *sb, const char *why)
{
	if (!sb->bev)
		return;
	log_warn("southbound: closing the connection: %s", why);
	drop_connection(sb);
}

bool sbclient_is_connected(const struct sbclient *sb)
{
	return sb->connected;
}

int sbclient_send(struct sbclient *sb, json_t *msg)
{
	char *line;
	size_t len;
	int r;

	if (!sb->connected)
		return -ENOTCONN;
	r = sbproto_format(msg, &line, &len);
	if (r < 0)
		return r;
	r = bufferevent_write(sb->bev, line, len) < 0 ? -ENOMEM : 0;
	free(line);
	return r;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct sbclient *sb = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	clock_gettime(CLOCK_MONOTONIC, &sb->last_rx);
	for (;;) {
		struct evbuffer_ptr eol;
		struct sbproto_msg msg;
		char why[256];
		size_t len;
		char *line;
		int r;

		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > SBPROTO_MAX_LINE)
				sbclient_reset(sb, "line too long");
			return;
		}
		len = (size_t)eol.pos;
		line = (char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		if (!line) {
			sbclient_reset(sb, "out of memory");
			return;
		}
		r = sbproto_parse(line, len, SBPROTO_FROM_WEFTD, &msg, why,
				  sizeof(why));
		evbuffer_drain(in, len + 1);
		if (r < 0) {
			sbclient_reset(sb, why);
			return;
		}
		/* A valid message: the connection works, so the next
		 * reconnect may be quick again. */
		sb->backoff_ms = BACKOFF_MIN_MS;
		r = sb->ops->message(sb->ctx, &msg);
		sbproto_msg_destroy(&msg);
		if (r < 0) {
			char reason[64];

			snprintf(reason, sizeof(reason), "message refused: %s",
				 strerror(-r));
			sbclient_reset(sb, reason);
			return;
		}
		if (!sb->bev) /* the owner reset the connection */
			return;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sbclient *sb = arg;
	json_t *hb;

	if (ms_since(&sb->last_rx) > SBCLIENT_DEAD_MS) {
		sbclient_reset(sb, "weftd silent for 10 s");
		return;
	}
	hb = sbproto_agent_heartbeat_new();
	if (hb) {
		sbclient_send(sb, hb);
		json_decref(hb);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sbclient *sb = arg;

	if (what & BEV_EVENT_CONNECTED) {
		struct timeval tv = { SBCLIENT_HEARTBEAT_MS / 1000,
				      (SBCLIENT_HEARTBEAT_MS % 1000) * 1000 };
		evutil_socket_t fd = bufferevent_getfd(bev);

		if (!sb->is_unix) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		}
		sb->connected = true;
		clock_gettime(CLOCK_MONOTONIC, &sb->last_rx);
		evtimer_add(sb->tick, &tv);
		log_info("southbound: connected");
		sb->ops->connected(sb->ctx);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		log_warn("southbound: weftd closed the connection");
	} else if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();

		if (sb->connected)
			log_warn("southbound: connection lost: %s",
				 strerror(err));
		else
			log_debug("southbound: cannot connect: %s",
				  strerror(err));
	}
	drop_connection(sb);
}

static void sbclient_connect(evutil_socket_t unused, short what, void *arg)
{
	struct sbclient *sb = arg;
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (sb->is_unix) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, sb->path);
		sslen = sizeof(*sun);
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
		int r = getaddrinfo(sb->host, sb->port, &hints, &ai);

		if (r) {
			log_warn("southbound: cannot resolve %s: %s", sb->host,
				 gai_strerror(r));
			schedule_reconnect(sb);
			return;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}

	sb->bev = bufferevent_socket_new(sb->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!sb->bev) {
		schedule_reconnect(sb);
		return;
	}
	bufferevent_setcb(sb->bev, on_read, NULL, on_event, sb);
	bufferevent_enable(sb->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(sb->bev, (struct sockaddr *)&ss,
				       (int)sslen) < 0) {
		/* Refused at once (a unix socket that is not there): the
		 * event callback may not run. */
		log_debug("southbound: cannot connect");
		bufferevent_free(sb->bev);
		sb->bev = NULL;
		schedule_reconnect(sb);
	}
}

int sbclient_new(struct event_base *base, const char *address,
		 const struct sbclient_ops *ops, void *ctx,
		 struct sbclient **ret)
{
	struct sbclient *sb = calloc(1, sizeof(*sb));
	int r;

	if (!sb)
		return -ENOMEM;
	sb->base = base;
	sb->ops = ops;
	sb->ctx = ctx;
	sb->backoff_ms = BACKOFF_MIN_MS;
	r = parse_address(address, &sb->is_unix, sb->path, &sb->host,
			  &sb->port);
	if (r < 0)
		goto fail;
	sb->reconnect = evtimer_new(base, sbclient_connect, sb);
	sb->tick = event_new(base, -1, EV_PERSIST, on_tick, sb);
	if (!sb->reconnect || !sb->tick) {
		r = -ENOMEM;
		goto fail;
	}
	{
		struct timeval now = { 0, 0 };

		evtimer_add(sb->reconnect, &now);
	}
	*ret = sb;
	return 0;
fail:
	sbclient_free(sb);
	return r;
}

void sbclient_free(struct sbclient *sb)
{
	if (!sb)
		return;
	if (sb->bev)
		bufferevent_free(sb->bev);
	if (sb->reconnect)
		event_free(sb->reconnect);
	if (sb->tick)
		event_free(sb->tick);
	free(sb->host);
	free(sb->port);
	free(sb);
}
