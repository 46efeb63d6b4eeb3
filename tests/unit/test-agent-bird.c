/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bird.h"
#include "hostview.h"

#define BIRD "/usr/sbin/bird"

static const struct bird_config config = {
	.uplink_dev = "uplink0",
	.uplink_ip = 0xcb007102u, /* 203.0.113.2 */
	.local_as = 65001,
	.peer_ip = 0xcb007101u, /* 203.0.113.1 */
	.peer_as = 65000,
};

/* Routers r7 (external 203.0.113.101) and r8 (none); floating IPs .120
 * (associated), .121 (not), .99 (associated). */
static const char *view_objects =
	"[{\"key\": \"router:r7\", \"kind\": \"router\", \"id\": \"r7\","
	"  \"router_key\": 7, \"external_gateway\": {\"network_id\": \"x\","
	"  \"ip\": \"203.0.113.101\", \"mac\": \"fa:16:3e:00:0e:07\","
	"  \"enable_snat\": true}},"
	" {\"key\": \"router:r8\", \"kind\": \"router\", \"id\": \"r8\","
	"  \"router_key\": 8, \"external_gateway\": null},"
	" {\"key\": \"floatingip:f1\", \"kind\": \"floatingip\", \"id\": \"f1\","
	"  \"floating_ip_address\": \"203.0.113.120\", \"router_key\": 7,"
	"  \"vni\": 5, \"fixed_ip_address\": \"10.0.0.1\"},"
	" {\"key\": \"floatingip:f2\", \"kind\": \"floatingip\", \"id\": \"f2\","
	"  \"floating_ip_address\": \"203.0.113.121\"},"
	" {\"key\": \"floatingip:f3\", \"kind\": \"floatingip\", \"id\": \"f3\","
	"  \"floating_ip_address\": \"203.0.113.99\", \"router_key\": 7,"
	"  \"vni\": 5, \"fixed_ip_address\": \"10.0.0.2\"}]";

/* Associated floating IPs and router external IPs, sorted. */
static void test_announced(void **state)
{
	json_t *objs = json_loads(view_objects, 0, NULL);
	struct hostview v;
	uint32_t *addrs;
	size_t n;

	assert_non_null(objs);
	hostview_init(&v);
	assert_int_equal(hostview_apply_snapshot(&v, 1, objs), 0);
	json_decref(objs);
	assert_int_equal(bird_announced(&v, &addrs, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(addrs[0], 0xcb007163u); /* .99 */
	assert_int_equal(addrs[1], 0xcb007165u); /* .101 */
	assert_int_equal(addrs[2], 0xcb007178u); /* .120 */
	free(addrs);
	hostview_destroy(&v);

	/* An empty view announces nothing. */
	hostview_init(&v);
	assert_int_equal(bird_announced(&v, &addrs, &n), 0);
	assert_int_equal(n, 0);
	assert_null(addrs);
	hostview_destroy(&v);
}

static const char *expected =
	"# Written by weft-agent (docs/gateways.md): do not edit, it is\n"
	"# rewritten whenever the addresses to announce change.\n"
	"router id 203.0.113.2;\n\n"
	"protocol device {\n}\n\n"
	"protocol bfd {\n"
	"\tinterface \"uplink0\" {\n"
	"\t\tmin rx interval 20 ms;\n"
	"\t\tmin tx interval 20 ms;\n"
	"\t\tmultiplier 3;\n"
	"\t};\n"
	"}\n\n"
	"# Every associated floating IP and router external IP.\n"
	"protocol static weft_announce {\n"
	"\tipv4;\n"
	"\troute 203.0.113.101/32 blackhole;\n"
	"\troute 203.0.113.120/32 blackhole;\n"
	"}\n\n"
	"protocol bgp upstream {\n"
	"\tlocal 203.0.113.2 as 65001;\n"
	"\tneighbor 203.0.113.1 as 65000;\n"
	"\tbfd on;\n"
	"\tipv4 {\n"
	"\t\timport none;\n"
	"\t\texport where proto = \"weft_announce\";\n"
	"\t};\n"
	"}\n";

static const uint32_t two[] = { 0xcb007165u, 0xcb007178u };

static void test_text(void **state)
{
	char *text;

	assert_int_equal(bird_config_text(&config, two, 2, &text), 0);
	assert_string_equal(text, expected);
	assert_null(strstr(text, "kernel"));
	free(text);

	/* Nothing to announce: an empty static protocol. */
	assert_int_equal(bird_config_text(&config, NULL, 0, &text), 0);
	assert_non_null(strstr(text, "protocol static weft_announce {\n"
				     "\tipv4;\n}\n"));
	assert_null(strstr(text, "blackhole"));
	free(text);
}

/* A fresh temporary directory for this test's files. */
static void tmpdir(char dir[64])
{
	snprintf(dir, 64, "/tmp/test-agent-bird-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

/* Written whole, under its name, with no temporary file left. */
static void test_write(void **state)
{
	char dir[64], path[128], tmp[140], buf[4096];
	struct stat st;
	FILE *f;
	size_t n;

	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(bird_write_file(path, "old\n"), 0);
	assert_int_equal(bird_write_file(path, expected), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, expected);
	assert_int_equal(stat(tmp, &st), -1);
	/* A directory that does not exist: an error, nothing written. */
	snprintf(tmp, sizeof(tmp), "%s/no/bird.conf", dir);
	assert_int_equal(bird_write_file(tmp, expected), -ENOENT);
	unlink(path);
	rmdir(dir);
}

/* Runs `bird -p -c 'path'` (parse only); returns its exit status. */
static int bird_parse(const char *path)
{
	char cmd[256];
	int status;

	snprintf(cmd, sizeof(cmd), BIRD " -p -c %s >/dev/null 2>&1", path);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* BIRD 2 itself accepts the configuration, with and without routes (and
 * refuses a broken one, so the check can fail). */
static void test_bird_parses(void **state)
{
	char dir[64], path[128], *text;

	if (access(BIRD, X_OK) < 0)
		skip();
	tmpdir(dir);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	assert_int_equal(bird_config_text(&config, two, 2, &text), 0);
	assert_int_equal(bird_write_file(path, text), 0);
	free(text);
	assert_int_equal(bird_parse(path), 0);
	assert_int_equal(bird_config_text(&config, NULL, 0, &text), 0);
	assert_int_equal(bird_write_file(path, text), 0);
	free(text);
	assert_int_equal(bird_parse(path), 0);
	assert_int_equal(bird_write_file(path, "protocol bgp {\n"), 0);
	assert_int_not_equal(bird_parse(path), 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announced),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_bird_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
