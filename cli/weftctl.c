/* SPDX-License-Identifier: Apache-2.0 */

/*
 * weftctl, the command-line client of weftd: "weftctl NOUN COMMAND ...".
 * This file reads the global options and the environment and hands the
 * rest to the noun; noun.c does the work.
 */

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noun.h"

/* The value of environment variable 'name', or NULL when it is unset or
 * empty. */
static const char *env(const char *name)
{
	const char *value = getenv(name);

	return value && *value ? value : NULL;
}

/* Runs the command line and returns a negative errno as noun_run()
 * does. */
static int run(struct noun_context *ctx, int argc, char **argv)
{
	const struct noun *noun;
	bool help = false;
	int index, words, r;

	r = noun_parse_globals(ctx, argc, argv, &index, &help);
	if (r < 0)
		return r;
	if (help || (index < argc && !strcmp(argv[index], "help"))) {
		noun_print_usage(stdout);
		return 0;
	}
	if (index == argc) {
		noun_print_usage(stderr);
		return -EINVAL;
	}
	noun = noun_find(argc - index, argv + index, &words);
	if (!noun)
		return noun_unknown(argv[index]);
	/* The noun's last word stands as the command's name for getopt. */
	index += words - 1;
	return noun_run(ctx, noun, argc - index, argv + index);
}

int main(int argc, char **argv)
{
	struct noun_context ctx = {
		.url = env("WEFT_URL") ? env("WEFT_URL") : NOUN_DEFAULT_URL,
		.token = env("WEFT_TOKEN"),
		.project = env("WEFT_PROJECT"),
		.format = OUTPUT_TABLE,
	};
	int r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("weftctl: error: cannot initialize libcurl\n", stderr);
		return 1;
	}
	r = run(&ctx, argc, argv);
	noun_context_destroy(&ctx);
	curl_global_cleanup();
	if (r == -ENOMEM)
		fputs("weftctl: error: out of memory\n", stderr);
	if (fflush(stdout) != 0 && r == 0) {
		perror("weftctl: error: cannot write the output");
		r = -EIO;
	}

	/* Exit status 2 says that the command line is wrong, 1 that the
	 * request failed. */
	if (r == -EINVAL)
		return 2;
	return r < 0 ? 1 : 0;
}
