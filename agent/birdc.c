/* SPDX-License-Identifier: Apache-2.0 */
#include "birdc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define BIRDC_POLL_MS 20 /* how often a running birdc is checked on */
#define BIRDC_RETRY_MS 1000
#define BIRDC_OUTPUT_MAX 4096

extern char **environ;

struct birdc {
	const char *socket_path;
	pid_t pid; /* the running birdc, 0: none */
	int out_fd; /* read end of its stdout and stderr */
	bool wanted; /* a configure to run (again) */
	bool retrying; /* the timer is the one-second retry */
	struct event *timer;
};

static void arm(struct birdc *b, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(b->timer, &tv);
}

/* Starts birdc with its output on a pipe. Returns 0 or a negative errno. */
static int birdc_spawn(struct birdc *b)
{
	char *argv[] = { "birdc", "-s", (char *)b->socket_path, "configure",
			 NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], r;

	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	r = posix_spawnp(&b->pid, "birdc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		b->pid = 0;
		return -r;
	}
	b->out_fd = pipefd[0];
	return 0;
}

/* Whether birdc's exit 'status' and 'output' say BIRD took the new
 * configuration ("Reconfigured", "Reconfiguration in progress", or
 * queued behind one in progress). */
static bool birdc_succeeded(int status, const char *output)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	       strstr(output, "Reconfigur") && !strstr(output, "rror");
}

/* Reaps a finished birdc; returns true when it was done. */
static bool birdc_reap(struct birdc *b, bool *ok)
{
	char out[BIRDC_OUTPUT_MAX] = "";
	size_t len = 0;
	int status;
	pid_t r = waitpid(b->pid, &status, WNOHANG);

	if (r == 0)
		return false;
	if (r > 0) {
		ssize_t got;

		while (len < sizeof(out) - 1 &&
		       (got = read(b->out_fd, out + len,
				   sizeof(out) - 1 - len)) > 0)
			len += (size_t)got;
		out[len] = '\0';
		*ok = birdc_succeeded(status, out);
		if (*ok)
			log_info("BIRD reconfigured (birdc -s %s)",
				 b->socket_path);
		else
			log_warn("birdc -s %s configure failed: %s",
				 b->socket_path,
				 len ? strtok(out, "\n") : "no output");
	} else {
		*ok = false;
	}
	close(b->out_fd);
	b->out_fd = -1;
	b->pid = 0;
	return true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct birdc *b = arg;
	bool ok = false;
	int r;

	if (b->pid) {
		if (!birdc_reap(b, &ok)) {
			arm(b, BIRDC_POLL_MS);
			return;
		}
		if (!ok)
			b->wanted = true;
		if (b->wanted) {
			arm(b, ok ? 0 : BIRDC_RETRY_MS);
			b->retrying = !ok;
		}
		return;
	}
	if (!b->wanted)
		return;
	b->wanted = false;
	b->retrying = false;
	r = birdc_spawn(b);
	if (r < 0) {
		log_warn("cannot run birdc: %s (retrying in 1 s)",
			 strerror(-r));
		b->wanted = true;
		b->retrying = true;
		arm(b, BIRDC_RETRY_MS);
		return;
	}
	arm(b, BIRDC_POLL_MS);
}

int birdc_new(struct event_base *base, const char *socket_path,
	      struct birdc **ret)
{
	struct birdc *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->socket_path = socket_path;
	b->out_fd = -1;
	b->timer = evtimer_new(base, on_timer, b);
	if (!b->timer) {
		free(b);
		return -ENOMEM;
	}
	*ret = b;
	return 0;
}

void birdc_free(struct birdc *b)
{
	if (!b)
		return;
	if (b->out_fd >= 0)
		close(b->out_fd);
	event_free(b->timer);
	free(b);
}

void birdc_configure(struct birdc *b)
{
	b->wanted = true;
	/* A run under way is polled, and a pending retry keeps its pace;
	 * otherwise run now. */
	if (!b->pid && !b->retrying)
		arm(b, 0);
}
