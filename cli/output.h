/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*
 * How weftctl shows resources: as a table of aligned columns for people
 * (the default), as the API's JSON for programs, or as bare values for
 * shell scripts.
 */

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_VALUE,
};

/* One column of a list table. */
struct output_column {
	/* The column's heading ("Fixed IPs"). */
	const char *header;
	/* The attribute shown ("fixed_ips"; "a.b" for member b of object
	 * a). */
	const char *key;
	/* When the attribute is a list of objects, the member of each that is
	 * shown ("ip_address"), comma-separated; NULL to show the whole
	 * value. */
	const char *member;
	/* A second attribute shown after the first, 'separator' between
	 * them ("22:80", a port range; "5/4"), or NULL. When it is null the
	 * first alone is shown; when both are, nothing. */
	const char *key2;
	const char *separator;
};

/* Parses "table", "json" or "value"; returns 0 and sets 'ret', or
 * -EINVAL. */
int output_format_from_string(const char *s, enum output_format *ret);

/* Writes the resources of array 'items' to 'f' in 'format': a table of
 * 'columns' (of which there are 'n_columns'), a JSON array, or one line of
 * space-separated column values per resource. Returns 0 or -ENOMEM. */
int output_list(FILE *f, enum output_format format,
		const struct output_column *columns, size_t n_columns,
		json_t *items);

/* Writes every attribute of object 'resource' to 'f' in 'format': a
 * Field/Value table sorted by field, the JSON object, or the values one a
 * line in the same order as the table. Returns 0 or -ENOMEM. */
int output_resource(FILE *f, enum output_format format, json_t *resource);

/* Formats 'value' as one line of text: strings as they are, null and
 * missing values as "", lists of scalars comma-separated, with 'member'
 * the member of each object of a list, and any other list or object as
 * compact JSON. Returns a string that the caller frees with free(), or NULL
 * when out of memory. */
char *output_format_value(json_t *value, const char *member);
