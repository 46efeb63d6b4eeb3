/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "birdc.h"
#include "log.h"

/*
 * The birdc runner against a fake birdc first on PATH: a script that
 * logs its arguments, fails while the file 'down' exists (as birdc does
 * when BIRD is not running) and answers "Reconfigured" otherwise.
 */

static char dir[64];

static const char *script =
	"#!/bin/sh\n"
	"echo \"$@\" >> \"$(dirname \"$0\")/calls\"\n"
	"if [ -e \"$(dirname \"$0\")/down\" ]; then\n"
	"  echo 'Unable to connect to server control socket'; exit 1\n"
	"fi\n"
	"echo 'BIRD 2.0.12 ready.'; echo 'Reading configuration from x'\n"
	"echo 'Reconfigured'\n";

/* The number of times the fake birdc ran; 'last' gets its last line. */
static int calls(char last[128])
{
	char path[128], line[128];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/calls", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		snprintf(last, 128, "%s", line);
	}
	fclose(f);
	return n;
}

static void set_down(bool down)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/down", dir);
	if (down)
		fclose(fopen(path, "w"));
	else
		unlink(path);
}

static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int setup(void **state)
{
	char path[128], env[4096];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test-agent-birdc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/birdc", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(script, f);
	fclose(f);
	chmod(path, 0755);
	snprintf(env, sizeof(env), "%s:%s", dir, getenv("PATH"));
	return setenv("PATH", env, 1);
}

static int teardown(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/birdc", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/calls", dir);
	unlink(path);
	set_down(false);
	rmdir(dir);
	return 0;
}

static void test_configure_retries(void **state)
{
	struct event_base *base = event_base_new();
	struct birdc *b;
	char last[128] = "";

	assert_non_null(base);
	assert_int_equal(birdc_new(base, "/run/bird.ctl", &b), 0);

	/* Nothing asked: nothing run. */
	run_for(base, 100);
	assert_int_equal(calls(last), 0);

	/* BIRD down: run, failed, run again a second later. */
	set_down(true);
	birdc_configure(b);
	run_for(base, 300);
	assert_int_equal(calls(last), 1);
	assert_string_equal(last, "-s /run/bird.ctl configure\n");
	/* A request meanwhile does not run it before the retry. */
	birdc_configure(b);
	run_for(base, 300);
	assert_int_equal(calls(last), 1);
	set_down(false);
	run_for(base, 900);
	assert_int_equal(calls(last), 2);
	/* Success: no more runs. */
	run_for(base, 1200);
	assert_int_equal(calls(last), 2);

	/* Two requests before a run starts: one run reads the last file. */
	birdc_configure(b);
	birdc_configure(b);
	run_for(base, 500);
	assert_int_equal(calls(last), 3);

	/* A request while birdc runs (it is checked on every 20 ms): one
	 * more run after it. */
	birdc_configure(b);
	run_for(base, 2);
	birdc_configure(b);
	run_for(base, 500);
	assert_int_equal(calls(last), 5);
	run_for(base, 300);
	assert_int_equal(calls(last), 5);

	birdc_free(b);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configure_retries),
	};

	log_setup("test-agent-birdc", LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
