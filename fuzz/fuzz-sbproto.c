/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the southbound codec: any input is split into lines
 * as weftd and the agent split their streams, and each line is parsed as
 * sent by either side. Whatever is accepted must format back into one line
 * that parses again to the same message, and every view object accepted in
 * a snapshot or delta must pass sbproto_check_object() on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbproto.h"

static void check_objects(json_t *list)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o)
		if (sbproto_check_object(o, NULL, 0) < 0)
			abort();
}

static void one_line(const char *line, size_t len, enum sbproto_sender from)
{
	struct sbproto_msg m, again;
	char why[256], *text;
	size_t text_len;

	if (sbproto_parse(line, len, from, &m, why, sizeof(why)) < 0)
		return;
	check_objects(m.objects);
	check_objects(m.upsert);
	if (sbproto_format(m.json, &text, &text_len) == 0) {
		if (text[text_len - 1] != '\n' ||
		    memchr(text, '\n', text_len - 1) ||
		    sbproto_parse(text, text_len - 1, from, &again, why,
				  sizeof(why)) < 0)
			abort();
		if (again.type != m.type || !json_equal(again.json, m.json))
			abort();
		sbproto_msg_destroy(&again);
		free(text);
	}
	sbproto_msg_destroy(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t len;
	int r;

	while (size > 0) {
		r = sbproto_line_length(buf, size, &len);
		if (r < 0)
			abort(); /* inputs are far below the limit */
		if (r == 0)
			len = size; /* the last, unterminated line */
		one_line(buf, len, SBPROTO_FROM_AGENT);
		one_line(buf, len, SBPROTO_FROM_WEFTD);
		if (len >= size)
			break;
		buf += len + 1;
		size -= len + 1;
	}
	return 0;
}
