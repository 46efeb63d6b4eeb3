/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "weft";
static enum log_level log_max = LOG_LEVEL_INFO;
static int log_journal = -1;

void log_setup(const char *ident, enum log_level max_level)
{
	log_ident = ident;
	log_max = max_level;
}

int log_level_from_string(const char *s, enum log_level *ret)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "err", LOG_LEVEL_ERR },
		{ "warn", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*ret = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERR:
		return "error";
	case LOG_LEVEL_WARN:
		return "warning";
	case LOG_LEVEL_INFO:
		return "info";
	default:
		return "debug";
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (level > log_max)
		return;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp,
			ts.tv_nsec / 1000000, log_ident, log_level_name(level),
			line);
	}
}
