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

#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/weft-test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/weft.db", f->dir);
	if (store_open(f->path, NULL, &f->s, NULL, 0) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static json_t *doc(const char *id, const char *project, const char *name)
{
	return json_pack("{s:s, s:s, s:s}", "id", id, "project_id", project,
			 "name", name);
}

static int collect(json_t *d, void *data)
{
	json_array_append(data, d);
	return 0;
}

static void test_put_get_revision(void **state)
{
	struct fixture *f = *state;
	json_t *a = doc("a", "p1", "alpha"), *got;

	assert_int_equal(store_revision(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), -EBUSY);
	assert_int_equal(store_put(f->s, "network", NULL, false, a), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_revision(f->s), 1);

	got = store_get(f->s, "network", "a");
	assert_non_null(got);
	assert_true(json_equal(got, a));
	json_decref(got);
	assert_null(store_get(f->s, "network", "b"));
	assert_null(store_get(f->s, "subnet", "a"));

	/* A transaction that writes nothing takes no revision. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_revision(f->s), 1);
	json_decref(a);
}

static void test_rollback_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	json_t *a = doc("a", "p1", "alpha");
	uint32_t vni;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_put(f->s, "network", NULL, false, a), 0);
	assert_int_equal(store_vni_allocate(f->s, "a", &vni), 0);
	assert_int_equal(store_ip_claim(f->s, "sn", 5, "port"), 0);
	store_rollback(f->s);

	assert_null(store_get(f->s, "network", "a"));
	assert_int_equal(store_revision(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	/* The VNI and the address are free again. */
	assert_int_equal(store_vni_claim(f->s, "b", vni), 0);
	assert_int_equal(store_ip_claim(f->s, "sn", 5, "other"), 0);
	assert_int_equal(store_commit(f->s), 0);
	json_decref(a);
}

static void test_list_filters_and_order(void **state)
{
	struct fixture *f = *state;
	struct store_query q = { .kind = "port" };
	json_t *out = json_array(), *d;
	int64_t n;

	assert_int_equal(store_begin(f->s), 0);
	for (int i = 0; i < 6; i++) {
		char id[8];

		snprintf(id, sizeof(id), "p%d", i);
		d = doc(id, i % 2 ? "odd" : "even", id);
		assert_int_equal(store_put(f->s, "port",
					   i < 4 ? "net1" : "net2", i == 5, d),
				 0);
		json_decref(d);
	}
	/* Replacing keeps the creation order. */
	d = doc("p0", "even", "renamed");
	assert_int_equal(store_put(f->s, "port", "net1", false, d), 0);
	json_decref(d);
	assert_int_equal(store_commit(f->s), 0);

	assert_int_equal(store_list(f->s, &q, collect, out), 0);
	assert_int_equal(json_array_size(out), 6);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(out, 0), "name")),
			    "renamed");
	json_array_clear(out);

	q.project_id = "even";
	assert_int_equal(store_list(f->s, &q, collect, out), 0);
	assert_int_equal(json_array_size(out), 3);
	json_array_clear(out);

	q.include_shared = true; /* p5 is odd but shared */
	assert_int_equal(store_list(f->s, &q, collect, out), 0);
	assert_int_equal(json_array_size(out), 4);
	json_array_clear(out);

	q = (struct store_query){ .kind = "port", .parent_id = "net2" };
	assert_int_equal(store_list(f->s, &q, collect, out), 0);
	assert_int_equal(json_array_size(out), 2);
	assert_int_equal(store_count_children(f->s, "port", "net1", &n), 0);
	assert_int_equal(n, 4);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_delete(f->s, "port", "p1"), 0);
	assert_int_equal(store_delete(f->s, "port", "p1"), -ENOENT);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_count_children(f->s, "port", "net1", &n), 0);
	assert_int_equal(n, 3);
	json_decref(out);
}

static void test_vni(void **state)
{
	struct fixture *f = *state;
	uint32_t v1, v2, v3;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_vni_allocate(f->s, "n1", &v1), 0);
	assert_int_equal(store_vni_allocate(f->s, "n2", &v2), 0);
	assert_int_not_equal(v1, v2);
	assert_in_range(v1, 1, 0xffffff);
	assert_int_equal(store_vni_claim(f->s, "n3", v2), -EEXIST);
	assert_int_equal(store_vni_claim(f->s, "n3", 0), -EINVAL);
	assert_int_equal(store_vni_claim(f->s, "n3", 0x1000000), -EINVAL);
	/* A claimed VNI right after the last one is skipped. */
	assert_int_equal(store_vni_claim(f->s, "n3", v2 + 1), 0);
	assert_int_equal(store_vni_allocate(f->s, "n4", &v3), 0);
	assert_int_equal(v3, v2 + 2);
	/* A released VNI is not handed out again at once. */
	assert_int_equal(store_vni_release(f->s, "n1"), 0);
	assert_int_equal(store_vni_allocate(f->s, "n5", &v3), 0);
	assert_int_not_equal(v3, v1);
	assert_int_equal(store_commit(f->s), 0);
}

static void test_vni_wraps(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	assert_int_equal(store_begin(f->s), 0);
	/* 0xffffff is WEFT_VNI_HANDOFF: never a network's. */
	assert_int_equal(store_vni_claim(f->s, "handoff", 0xffffff), -EINVAL);
	assert_int_equal(store_vni_claim(f->s, "top", 0xfffffe), 0);
	assert_int_equal(store_vni_claim(f->s, "one", 1), 0);
	/* Nothing above the last claim: the search wraps to the bottom. */
	assert_int_equal(store_vni_allocate(f->s, "a", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(store_commit(f->s), 0);
}

static void test_ip_and_mac(void **state)
{
	struct fixture *f = *state;
	uint32_t ip;
	int64_t n;
	char owner[40];

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_mac_claim(f->s, "n1", "fa:16:3e:00:00:01", "p1"),
			 0);
	assert_int_equal(store_mac_claim(f->s, "n1", "fa:16:3e:00:00:01", "p2"),
			 -EEXIST);
	assert_int_equal(store_mac_claim(f->s, "n2", "fa:16:3e:00:00:01", "p3"),
			 0);

	for (uint32_t i = 10; i < 20; i++)
		assert_int_equal(store_ip_claim(f->s, "s1", i, "p"), 0);
	assert_int_equal(store_ip_claim(f->s, "s1", 15, "q"), -EEXIST);
	assert_int_equal(store_ip_first_free(f->s, "s1", 10, 30, &ip), 0);
	assert_int_equal(ip, 20);
	assert_int_equal(store_ip_first_free(f->s, "s1", 10, 19, &ip), -ENOSPC);
	assert_int_equal(store_ip_release(f->s, "s1", 13), 0);
	assert_int_equal(store_ip_first_free(f->s, "s1", 10, 19, &ip), 0);
	assert_int_equal(ip, 13);
	assert_int_equal(store_ip_highest(f->s, "s1", 0, 100, &ip), 0);
	assert_int_equal(ip, 19);
	assert_int_equal(store_ip_highest(f->s, "s2", 0, 100, &ip), -ENOENT);
	assert_int_equal(store_ip_count(f->s, "s1", &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(store_ip_owner(f->s, "s1", 12, owner, sizeof(owner)),
			 0);
	assert_string_equal(owner, "p");
	assert_int_equal(store_ip_owner(f->s, "s1", 13, owner, sizeof(owner)),
			 -ENOENT);
	assert_int_equal(store_commit(f->s), 0);
}

static int count_change(uint64_t rev, const char *kind, const char *id,
			const char *op, void *data)
{
	json_array_append_new(data, json_pack("{s:I, s:s, s:s, s:s}", "rev",
					      (json_int_t)rev, "kind", kind,
					      "id", id, "op", op));
	return 0;
}

static void test_changes_and_reopen(void **state)
{
	struct fixture *f = *state;
	json_t *a = doc("a", "p", "a"), *b = doc("b", "p", "b");
	json_t *changes = json_array(), *got;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_put(f->s, "network", NULL, false, a), 0);
	assert_int_equal(store_put(f->s, "network", NULL, false, b), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_delete(f->s, "network", "a"), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_revision(f->s), 2);

	assert_int_equal(store_changes_since(f->s, 0, count_change, changes),
			 0);
	assert_int_equal(json_array_size(changes), 3);
	got = json_array_get(changes, 2);
	assert_int_equal(json_integer_value(json_object_get(got, "rev")), 2);
	assert_string_equal(json_string_value(json_object_get(got, "op")),
			    "delete");
	json_array_clear(changes);
	assert_int_equal(store_changes_since(f->s, 1, count_change, changes),
			 0);
	assert_int_equal(json_array_size(changes), 1);

	/* Reopening keeps documents and the revision. */
	store_free(f->s);
	assert_int_equal(store_open(f->path, NULL, &f->s, NULL, 0), 0);
	assert_int_equal(store_revision(f->s), 2);
	got = store_get(f->s, "network", "b");
	assert_non_null(got);
	json_decref(got);
	assert_null(store_get(f->s, "network", "a"));
	json_decref(changes);
	json_decref(a);
	json_decref(b);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char cmd[256], msg[256] = "";
	struct store *s2;
	struct store_options bad = { .synchronous = "sometimes" };

	store_free(f->s);
	f->s = NULL;
	snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA user_version = 99'",
		 f->path);
	if (system(cmd) != 0)
		skip();
	assert_int_equal(store_open(f->path, NULL, &s2, msg, sizeof(msg)),
			 -EPROTO);
	assert_non_null(strstr(msg, "newer"));
	assert_int_equal(store_open(f->path, &bad, &s2, msg, sizeof(msg)),
			 -EINVAL);
	/* Reopen something valid for the teardown. */
	snprintf(f->path, sizeof(f->path), "%s/other.db", f->dir);
	assert_int_equal(store_open(f->path, NULL, &f->s, NULL, 0), 0);
	assert_int_equal(store_schema_version(), 4);
}

static void test_router_keys(void **state)
{
	struct fixture *f = *state;
	uint32_t a, b, c, got;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_router_key_allocate(f->s, "r1", &a), 0);
	assert_int_equal(store_router_key_allocate(f->s, "r2", &b), 0);
	assert_int_equal(store_router_key_allocate(f->s, "r1", &c), -EEXIST);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_not_equal(a, 0);
	assert_int_not_equal(a, b);
	assert_int_equal(store_router_key(f->s, "r1", &got), 0);
	assert_int_equal(got, a);
	assert_int_equal(store_router_key(f->s, "r9", &got), -ENOENT);
	/* A released key is not handed out again soon. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_router_key_release(f->s, "r2"), 0);
	assert_int_equal(store_router_key_allocate(f->s, "r3", &c), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_not_equal(c, a);
	assert_int_not_equal(c, b);
	assert_int_equal(store_router_key(f->s, "r2", &got), -ENOENT);
}

/* Gateway slots: lowest free first, kept per host, freed on release. */
static void test_gateway_slots(void **state)
{
	struct fixture *f = *state;
	uint32_t a, b, c, got;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_gateway_slot_claim(f->s, "gw1", 3, &a), 0);
	assert_int_equal(store_gateway_slot_claim(f->s, "gw2", 3, &b), 0);
	assert_int_equal(store_gateway_slot_claim(f->s, "gw3", 3, &c), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	/* A host keeps its slot; a fourth finds none. */
	assert_int_equal(store_gateway_slot_claim(f->s, "gw2", 3, &got), 0);
	assert_int_equal(got, 1);
	assert_int_equal(store_gateway_slot_claim(f->s, "gw4", 3, &got),
			 -ENOSPC);
	assert_int_equal(store_gateway_slot(f->s, "gw4", &got), -ENOENT);
	/* The lowest freed slot goes to the next one. */
	assert_int_equal(store_gateway_slot_release(f->s, "gw1"), 0);
	assert_int_equal(store_gateway_slot_claim(f->s, "gw4", 3, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_gateway_slot(f->s, "gw4", &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(store_gateway_slot(f->s, "gw1", &got), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_router_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gateway_slots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put_get_revision, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters_and_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vni, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vni_wraps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ip_and_mac, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
