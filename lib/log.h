/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Logging for weft's daemons. Messages go to stderr, one line each. When
 * stderr is connected to the journal (systemd sets JOURNAL_STREAM), each
 * line starts with a "<N>" syslog priority prefix that journald understands;
 * otherwise it starts with a timestamp and a level name.
 *
 * Library code does not log: it returns errors and the daemon decides.
 */

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Sets the program name printed on each line and the most verbose level
 * that is printed. */
void log_setup(const char *ident, enum log_level max_level);

/* Parses "err", "warn", "info" or "debug"; returns 0 and sets 'ret', or
 * -EINVAL. */
int log_level_from_string(const char *s, enum log_level *ret);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
