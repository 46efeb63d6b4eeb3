/* SPDX-License-Identifier: Apache-2.0 */
#include "output.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A grid of text cells, row-major; row 0 holds the headings. */
struct table {
	size_t n_columns;
	size_t n_rows;
	char **cells;
};

int output_format_from_string(const char *s, enum output_format *ret)
{
	static const char *const names[] = {
		[OUTPUT_TABLE] = "table",
		[OUTPUT_JSON] = "json",
		[OUTPUT_VALUE] = "value",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*ret = (enum output_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_scalar(json_t *v)
{
	return v && !json_is_array(v) && !json_is_object(v);
}

/* Replaces control characters (a newline in a description) by spaces so
 * that each cell stays on its line. */
static void flatten(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int format_scalar(FILE *f, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return fputs(json_string_value(v), f) < 0 ? -EIO : 0;
	case JSON_INTEGER:
		return fprintf(f, "%" JSON_INTEGER_FORMAT,
			       json_integer_value(v)) < 0 ?
			       -EIO :
			       0;
	case JSON_REAL:
		return fprintf(f, "%g", json_real_value(v)) < 0 ? -EIO : 0;
	case JSON_TRUE:
		return fputs("true", f) < 0 ? -EIO : 0;
	case JSON_FALSE:
		return fputs("false", f) < 0 ? -EIO : 0;
	default:
		return 0;
	}
}

/* True when every element of 'list' (or its 'member') is a scalar, so that
 * the list reads well comma-separated. */
static bool list_is_flat(json_t *list, const char *member)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		if (member)
			e = json_object_get(e, member);
		if (!is_scalar(e))
			return false;
	}
	return true;
}

char *output_format_value(json_t *value, const char *member)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r = 0;

	if (!value || json_is_null(value))
		return strdup("");
	if (json_is_object(value) ||
	    (json_is_array(value) && !list_is_flat(value, member)))
		return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	if (json_is_array(value)) {
		size_t i;
		json_t *e;

		json_array_foreach(value, i, e) {
			if (i > 0 && fputs(", ", f) < 0)
				r = -EIO;
			if (r == 0)
				r = format_scalar(
					f, member ? json_object_get(e, member) :
						    e);
			if (r < 0)
				break;
		}
	} else {
		r = format_scalar(f, value);
	}
	if (fclose(f) != 0 || r < 0) {
		free(text);
		return NULL;
	}
	flatten(text);
	return text;
}

static int table_init(struct table *t, size_t n_columns, size_t n_rows)
{
	t->n_columns = n_columns;
	t->n_rows = n_rows;
	t->cells = calloc(n_columns * n_rows, sizeof(*t->cells));
	return t->cells ? 0 : -ENOMEM;
}

static void table_destroy(struct table *t)
{
	for (size_t i = 0; i < t->n_columns * t->n_rows; i++)
		free(t->cells[i]);
	free(t->cells);
}

static char **table_cell(struct table *t, size_t row, size_t column)
{
	return &t->cells[row * t->n_columns + column];
}

/* Sets a cell to a copy of 'text'. */
static int table_set_text(struct table *t, size_t row, size_t column,
			  const char *text)
{
	char **cell = table_cell(t, row, column);

	*cell = strdup(text);
	return *cell ? 0 : -ENOMEM;
}

/* Sets a cell to 'value' formatted by output_format_value(). */
static int table_set_value(struct table *t, size_t row, size_t column,
			   json_t *value, const char *member)
{
	char **cell = table_cell(t, row, column);

	*cell = output_format_value(value, member);
	return *cell ? 0 : -ENOMEM;
}

/* The value of attribute 'key' of 'item', following "a.b" into nested
 * objects (an agent's "configurations.gateway"); NULL when absent. */
static json_t *column_value(json_t *item, const char *key)
{
	const char *dot = strchr(key, '.');
	char head[64];

	if (!dot || (size_t)(dot - key) >= sizeof(head))
		return json_object_get(item, key);
	memcpy(head, key, (size_t)(dot - key));
	head[dot - key] = '\0';
	return column_value(json_object_get(item, head), dot + 1);
}

/* Sets a cell to the value of 'column' in 'item'. */
static int table_set_column(struct table *t, size_t row, size_t col,
			    const struct output_column *column, json_t *item)
{
	json_t *second = column->key2 ? column_value(item, column->key2) : NULL;
	char *first, *rest, *joined;
	int n;

	if (!second || json_is_null(second))
		return table_set_value(t, row, col,
				       column_value(item, column->key),
				       column->member);
	first = output_format_value(column_value(item, column->key), NULL);
	rest = output_format_value(second, NULL);
	n = first && rest ? asprintf(&joined, "%s%s%s", first,
				     column->separator, rest) :
			    -1;
	free(first);
	free(rest);
	if (n < 0)
		return -ENOMEM;
	*table_cell(t, row, col) = joined;
	return 0;
}

/* The number of characters in UTF-8 's', which is what a terminal shows
 * for the text weftd sends. */
static size_t display_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Writes 't' with its columns aligned and the headings underlined. */
static void table_print(FILE *f, struct table *t)
{
	size_t *widths = calloc(t->n_columns, sizeof(*widths));

	if (!widths)
		return;
	for (size_t row = 0; row < t->n_rows; row++)
		for (size_t col = 0; col < t->n_columns; col++) {
			size_t w = display_width(*table_cell(t, row, col));

			if (w > widths[col])
				widths[col] = w;
		}

	for (size_t row = 0; row < t->n_rows; row++) {
		for (size_t col = 0; col < t->n_columns; col++) {
			const char *cell = *table_cell(t, row, col);
			bool last = col + 1 == t->n_columns;

			fputs(cell, f);
			if (!last)
				fprintf(f, "%*s",
					(int)(widths[col] -
					      display_width(cell) + 2),
					"");
		}
		fputc('\n', f);
		if (row > 0)
			continue;
		for (size_t col = 0; col < t->n_columns; col++) {
			for (size_t i = 0; i < widths[col]; i++)
				fputc('-', f);
			if (col + 1 < t->n_columns)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	free(widths);
}

/* Writes the rows of 't' after the headings, one line each, with the
 * cells separated by a space. */
static void table_print_values(FILE *f, struct table *t)
{
	for (size_t row = 1; row < t->n_rows; row++)
		for (size_t col = 0; col < t->n_columns; col++)
			fprintf(f, "%s%c", *table_cell(t, row, col),
				col + 1 == t->n_columns ? '\n' : ' ');
}

static void print_json(FILE *f, json_t *value)
{
	json_dumpf(value, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
}

int output_list(FILE *f, enum output_format format,
		const struct output_column *columns, size_t n_columns,
		json_t *items)
{
	struct table t;
	size_t i;
	json_t *item;
	int r;

	if (format == OUTPUT_JSON) {
		print_json(f, items);
		return 0;
	}

	r = table_init(&t, n_columns, json_array_size(items) + 1);
	if (r < 0)
		return r;
	for (size_t col = 0; col < n_columns && r == 0; col++)
		r = table_set_text(&t, 0, col, columns[col].header);
	json_array_foreach(items, i, item) {
		for (size_t col = 0; col < n_columns && r == 0; col++)
			r = table_set_column(&t, i + 1, col, &columns[col],
					     item);
	}
	if (r == 0) {
		if (format == OUTPUT_TABLE)
			table_print(f, &t);
		else
			table_print_values(f, &t);
	}
	table_destroy(&t);
	return r;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int output_resource(FILE *f, enum output_format format, json_t *resource)
{
	const char **keys;
	const char *key;
	struct table t;
	size_t n = 0;
	json_t *value;
	int r;

	if (format == OUTPUT_JSON) {
		print_json(f, resource);
		return 0;
	}

	keys = calloc(json_object_size(resource) + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	json_object_foreach(resource, key, value)
		keys[n++] = key;
	qsort(keys, n, sizeof(*keys), compare_strings);

	r = table_init(&t, 2, n + 1);
	if (r == 0)
		r = table_set_text(&t, 0, 0, "Field");
	if (r == 0)
		r = table_set_text(&t, 0, 1, "Value");
	for (size_t i = 0; i < n && r == 0; i++) {
		r = table_set_text(&t, i + 1, 0, keys[i]);
		if (r == 0)
			r = table_set_value(&t, i + 1, 1,
					    json_object_get(resource, keys[i]),
					    NULL);
	}
	if (r == 0 && format == OUTPUT_TABLE) {
		table_print(f, &t);
	} else if (r == 0) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s\n", *table_cell(&t, i + 1, 1));
	}
	if (t.cells)
		table_destroy(&t);
	free(keys);
	return r;
}
