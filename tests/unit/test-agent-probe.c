/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway.h"
#include "hostview.h"
#include "log.h"
#include "probe.h"

/*
 * The prober and the responder for real, on loopback: agent h1 probes
 * gateway gwr (127.0.0.1), whose agent answers once enabled; gwr gets
 * SNAT copies from a gateway of its view.
 */

#define LOOPBACK 0x7f000001u
#define INTERVAL_MS 5

struct watcher {
	struct event_base *base;
	bool stop_on_change; /* a liveness change ends run_for() */
	int changes;
	int received;
	size_t received_len;
	uint32_t received_from;
};

static void changed(void *ctx)
{
	struct watcher *w = ctx;

	w->changes++;
	if (w->stop_on_change)
		event_base_loopbreak(w->base);
}

static void received(void *ctx, const void *buf, size_t len, uint32_t from)
{
	struct watcher *w = ctx;

	w->received++;
	w->received_len = len;
	w->received_from = from;
	event_base_loopbreak(w->base);
}

static const struct probe_ops ops = { changed, received };

/* A view with the gateway 'name' at 127.0.0.1. */
static void view_with_gateway(struct hostview *v, const char *name, bool alive)
{
	char text[256];
	json_t *objs;

	snprintf(text, sizeof(text),
		 "[{\"key\": \"gateway:%s\", \"kind\": \"gateway\","
		 " \"name\": \"%s\", \"underlay_ip\": \"127.0.0.1\","
		 " \"slot\": 0, \"alive\": %s}]",
		 name, name, alive ? "true" : "false");
	objs = json_loads(text, 0, NULL);
	assert_non_null(objs);
	hostview_init(v);
	assert_int_equal(hostview_apply_snapshot(v, 1, objs), 0);
	json_decref(objs);
}

/* Runs the loop until a callback breaks it or 'ms' pass. */
static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void test_probe_loopback(void **state)
{
	uint16_t port = (uint16_t)(20000 + getpid() % 20000);
	struct probe_options ro = { LOOPBACK, port, INTERVAL_MS, 3, true };
	struct probe_options qo = { LOOPBACK, port, INTERVAL_MS, 3, false };
	struct watcher rw = { 0 }, qw = { 0 };
	struct hostview rv, qv;
	struct probe *r = NULL, *q;
	struct event_base *base = event_base_new();
	uint8_t wfts[GATEWAY_SNAT_MAX_SIZE];
	struct weft_snat_event ev = { .router = 7 };
	size_t len;

	assert_non_null(base);
	rw.base = qw.base = base;
	/* gwr's own prober sees "gwo" (itself, unanswered at first) die:
	 * only h1's changes matter here. */
	qw.stop_on_change = true;
	/* A port of our own: another test run may hold one. */
	for (int i = 0; i < 20 && probe_new(base, &ro, &ops, &rw, &r) < 0; i++)
		ro.port = qo.port = (uint16_t)(ro.port + 1);
	assert_int_equal(probe_new(base, &qo, &ops, &qw, &q), 0);
	/* h1 sees gwr, dead for weftd; gwr sees another gateway "gwo" at
	 * the same address (all of them are on loopback here). */
	view_with_gateway(&qv, "gwr", false);
	view_with_gateway(&rv, "gwo", true);
	assert_int_equal(probe_sync(q, &qv, "h1"), 0);
	assert_int_equal(probe_sync(r, &rv, "gwr"), 0);
	assert_false(probe_is_alive(q, LOOPBACK, true));
	/* Not in the view: the default. */
	assert_true(probe_is_alive(q, LOOPBACK + 1, true));

	/* The responder is not enabled yet: no answer, still dead. */
	run_for(base, 10 * INTERVAL_MS);
	assert_int_equal(qw.changes, 0);
	assert_false(probe_is_alive(q, LOOPBACK, true));

	/* Enabled: alive after two answers. */
	probe_enable_responder(r);
	run_for(base, 1000);
	assert_int_equal(qw.changes, 1);
	assert_true(probe_is_alive(q, LOOPBACK, false));

	/* A SNAT copy from a gateway of gwr's view reaches gwr's callback;
	 * a probe echo never does. */
	len = gateway_snat_encode(wfts, &ev, 1);
	assert_int_equal(probe_send_gateways(q, wfts, len), 1);
	run_for(base, 1000);
	assert_int_equal(rw.received, 1);
	assert_int_equal(rw.received_len, len);
	assert_int_equal(rw.received_from, LOOPBACK);

	/* gwr goes: dead after three unanswered probes. */
	probe_free(r);
	run_for(base, 1000);
	assert_int_equal(qw.changes, 2);
	assert_false(probe_is_alive(q, LOOPBACK, true));

	/* Out of the view: forgotten. */
	hostview_destroy(&qv);
	hostview_init(&qv);
	assert_int_equal(probe_sync(q, &qv, "h1"), 0);
	assert_true(probe_is_alive(q, LOOPBACK, true));

	probe_free(q);
	hostview_destroy(&qv);
	hostview_destroy(&rv);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_loopback),
	};

	log_setup("test-agent-probe", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
