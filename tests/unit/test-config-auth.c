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
#include <unistd.h>

#include "auth.h"
#include "config.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config_file(void **state)
{
	char path[] = "/tmp/weft-test-conf-XXXXXX", msg[256];
	struct config c;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path,
		   "# weftd\n[weftd]\nlisten = 0.0.0.0:1234\n"
		   "max-body-size=4096  # small\nauth = token\n"
		   "token_file = /etc/weft/tokens\nunderlay_mtu = 9000\n");
	config_init(&c);
	assert_int_equal(config_load(&c, path, msg, sizeof(msg)), 0);
	assert_string_equal(c.listen, "0.0.0.0:1234");
	assert_int_equal(c.max_body_size, 4096);
	assert_string_equal(c.auth, "token");
	assert_string_equal(c.token_file, "/etc/weft/tokens");
	assert_int_equal(c.underlay_mtu, 9000);
	assert_string_equal(c.db, "/var/lib/weft/weft.db"); /* default kept */

	write_file(path, "listen = 1.2.3.4:1\nbogus = 1\n");
	assert_int_equal(config_load(&c, path, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":2: unknown option 'bogus'"));
	write_file(path, "auth = kerberos\n");
	assert_int_equal(config_load(&c, path, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "invalid value 'kerberos'"));
	write_file(path, "no equals sign\n");
	assert_int_equal(config_load(&c, path, msg, sizeof(msg)), -EINVAL);

	assert_int_equal(
		config_set(&c, "max_body_size", "12x", msg, sizeof(msg)),
		-EINVAL);
	assert_int_equal(
		config_set(&c, "base_mac", "fb:16:3e", msg, sizeof(msg)),
		-EINVAL);
	assert_int_equal(
		config_set(&c, "base_mac", "fa:16:3f", msg, sizeof(msg)), 0);
	assert_int_equal(config_set(&c, "listen", "nocolon", msg, sizeof(msg)),
			 -EINVAL);
	config_destroy(&c);
	unlink(path);
}

static void test_tokens(void **state)
{
	char path[] = "/tmp/weft-test-tokens-XXXXXX", msg[256];
	struct auth_identity id;
	struct auth *a;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# tokens\n\nsecret-admin admin-project admin\n"
			 "  secret-a   project-a member\n");
	assert_int_equal(auth_load(path, &a, msg, sizeof(msg)), 0);
	assert_int_equal(auth_lookup(a, "secret-a", &id), 0);
	assert_string_equal(id.project_id, "project-a");
	assert_false(id.is_admin);
	assert_int_equal(auth_lookup(a, "secret-admin", &id), 0);
	assert_true(id.is_admin);
	assert_int_equal(auth_lookup(a, "secret", &id), -ENOENT);
	assert_int_equal(auth_lookup(a, "secret-ab", &id), -ENOENT);
	assert_int_equal(auth_lookup(a, "", &id), -ENOENT);
	assert_int_equal(auth_lookup(a, NULL, &id), -ENOENT);
	auth_free(a);

	write_file(path, "tok project superuser\n");
	assert_int_equal(auth_load(path, &a, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":1:"));
	write_file(path, "tok project admin extra\n");
	assert_int_equal(auth_load(path, &a, msg, sizeof(msg)), -EINVAL);
	unlink(path);
	assert_int_equal(auth_load(path, &a, msg, sizeof(msg)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_tokens),
	};

	return cmocka_run_group_tests_name("config-auth", tests, NULL, NULL);
}
