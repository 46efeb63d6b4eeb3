/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <event2/event.h>

/*
 * Tells a running BIRD to read its configuration again: `birdc -s SOCK
 * configure`, started with posix_spawn and reaped from the event loop
 * (never waited for). A run that fails (birdc missing, BIRD not running,
 * a configuration BIRD refuses) is retried every second until one
 * succeeds; a request made while a run is under way runs once more after
 * it, so the last configuration written is always the one BIRD reads.
 */

struct birdc;

/* 'socket_path' is borrowed and must outlive the object. */
int birdc_new(struct event_base *base, const char *socket_path,
	      struct birdc **ret);

/* Kills nothing: a birdc still running is left to finish (and reaped by
 * init once we exit). */
void birdc_free(struct birdc *b);

/* Asks for a `configure` as soon as possible. */
void birdc_configure(struct birdc *b);
