/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the API core: each input is one request, "METHOD
 * PATH[?QUERY]\n" followed by the body. The store lives in memory and
 * persists across inputs, so sequences of creates, updates and deletes build
 * up real state. Checks that every answer is well-formed and that a failed
 * request changed nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static struct store *store;
static const struct api_config cfg = { .underlay_mtu = 1500,
				       .base_mac = { 0xfa, 0x16, 0x3e } };

/* Parses "a=b&a=c" into {a: [b, c]} (no percent-decoding: the fuzzer
 * reaches any byte directly). */
static json_t *parse_query(char *q)
{
	json_t *out = json_object();

	for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
	     kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		json_t *list;

		if (!eq)
			continue;
		*eq = '\0';
		list = json_object_get(out, kv);
		if (!list) {
			list = json_array();
			json_object_set_new(out, kv, list);
		}
		json_array_append_new(list, json_string(eq + 1));
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_ctx ctx = { .cfg = &cfg,
			       .project_id = "fuzz",
			       .now = "2026-01-01T00:00:00Z",
			       .base_url = "http://fuzz" };
	char line[512], method[16], path[496], *q;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t line_len = nl ? (size_t)(nl - data) : size;
	json_t *body = NULL, *query, *out = NULL;
	uint64_t before;
	int status;

	if (!store && store_open(":memory:", NULL, &store, NULL, 0) < 0)
		abort();
	ctx.store = store;
	if (line_len >= sizeof(line))
		return 0;
	memcpy(line, data, line_len);
	line[line_len] = '\0';
	if (memchr(line, '\0', line_len))
		return 0;
	if (sscanf(line, "%15s %495s", method, path) != 2)
		return 0;
	ctx.is_admin = method[0] != 'G' || path[1] == 'v';
	q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	query = q ? parse_query(q) : json_object();
	if (nl && size > line_len + 1) {
		body = json_loadb((const char *)nl + 1, size - line_len - 1,
				  JSON_REJECT_DUPLICATES, NULL);
		if (!body) {
			json_decref(query);
			return 0;
		}
	}

	before = store_revision(store);
	status = api_handle(&ctx, method, path, query, body, &out);
	if (status < 200 || status > 599)
		abort();
	if (status >= 400) {
		/* An error carries a Neutron body and writes nothing. */
		json_t *err = json_object_get(out, "NeutronError");

		if (!json_string_value(json_object_get(err, "type")) ||
		    !json_string_value(json_object_get(err, "message")) ||
		    store_revision(store) != before)
			abort();
	} else if (status != 204 && !out) {
		abort();
	}
	json_decref(out);
	json_decref(body);
	json_decref(query);
	return 0;
}
