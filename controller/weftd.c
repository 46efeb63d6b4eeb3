/* SPDX-License-Identifier: Apache-2.0 */
/*
 * weftd: the weft controller. Serves the OpenStack Networking API over the
 * durable store; see docs/api.md and docs/controller.md.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "southbound.h"
#include "store.h"

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, 'l' },
	{ "db", required_argument, NULL, 'd' },
	{ "auth", required_argument, NULL, 'a' },
	{ "token-file", required_argument, NULL, 't' },
	{ "default-project", required_argument, NULL, 'p' },
	{ "max-body-size", required_argument, NULL, 'm' },
	{ "underlay-mtu", required_argument, NULL, 'u' },
	{ "synchronous", required_argument, NULL, 's' },
	{ "log-level", required_argument, NULL, 'L' },
	{ "base-mac", required_argument, NULL, 'b' },
	{ "southbound", required_argument, NULL, 'S' },
	{ "agent-down-time", required_argument, NULL, 'D' },
	{ "dns-domain", required_argument, NULL, 'N' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: weftd [OPTIONS]\n"
		"\n"
		"The weft controller: the OpenStack Networking API v2.0 over a durable store.\n"
		"\n"
		"Options (each may also be set in the config file as 'key = value',\n"
		"with the long option's name; the command line wins):\n"
		"  -c, --config FILE          config file (default " CONFIG_DEFAULT_PATH
		",\n"
		"                             read when it exists)\n"
		"  -l, --listen ADDR:PORT     API address (default 127.0.0.1:9696)\n"
		"  -d, --db PATH              SQLite store (default /var/lib/weft/weft.db)\n"
		"      --auth noauth|token    authentication mode (default noauth)\n"
		"      --token-file FILE      tokens for --auth token: lines 'TOKEN PROJECT admin|member'\n"
		"      --default-project ID   noauth: project of requests that name none (default 'default')\n"
		"      --max-body-size BYTES  largest request body (default 1048576)\n"
		"      --underlay-mtu N       underlay MTU; networks get N - 50 (default 1500)\n"
		"      --synchronous full|normal  fsync every commit (full, default) or not\n"
		"      --log-level err|warn|info|debug  (default info)\n"
		"      --base-mac XX:XX:XX    first three bytes of generated MACs (default fa:16:3e)\n"
		"      --southbound LIST      agents' listeners, comma-separated tcp:ADDR:PORT and\n"
		"                             unix:PATH (default " SOUTHBOUND_DEFAULT_LISTEN
		")\n"
		"      --agent-down-time SECONDS  an agent silent this long is dead (default 10)\n"
		"      --dns-domain DOMAIN    the domain name DHCP hands out (default openstacklocal)\n"
		"  -h, --help                 this text\n"
		"  -V, --version              print the version\n");
}

static struct auth *current_auth;
static struct server *current_server;
static struct southbound *current_southbound;
static const char *token_file;

/* SIGHUP re-reads the token file; a bad file keeps the old tokens. */
static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
	struct auth *fresh;
	char msg[256];

	if (!token_file)
		return;
	if (auth_load(token_file, &fresh, msg, sizeof(msg)) < 0) {
		log_err("keeping the old tokens: %s", msg);
		return;
	}
	server_set_auth(current_server, fresh);
	auth_free(current_auth);
	current_auth = fresh;
	log_info("reloaded %s", token_file);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	log_info("stopping on signal %d", (int)fd);
	event_base_loopexit(arg, NULL);
}

/* Creates the directory of the default database path if missing. */
static void make_parent_dir(const char *path)
{
	char *copy = strdup(path);

	if (copy && mkdir(dirname(copy), 0750) < 0 && errno != EEXIST)
		log_warn("cannot create the directory of %s: %s", path,
			 strerror(errno));
	free(copy);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct api_config api_cfg = { 0 };
	struct store_options sopts;
	struct server_options srv_opts;
	struct southbound_options sb_opts;
	struct store *store = NULL;
	struct event_base *base = NULL;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	const char *config_path = NULL;
	enum log_level level;
	char msg[512];
	unsigned mac[3];
	int c, r, ret = 1;

	config_init(&cfg);
	log_setup("weftd", LOG_LEVEL_INFO);

	/* First pass: the config file, so that options override it. */
	while ((c = getopt_long(argc, argv, "c:l:d:hV", options, NULL)) != -1) {
		if (c == 'c')
			config_path = optarg;
		else if (c == 'h') {
			usage(stdout);
			ret = 0;
			goto out;
		} else if (c == 'V') {
			printf("weftd 0.1.0 (schema %d)\n",
			       store_schema_version());
			ret = 0;
			goto out;
		} else if (c == '?') {
			fprintf(stderr, "Try 'weftd --help'.\n");
			ret = 2;
			goto out;
		}
	}
	if (argc > optind) {
		fprintf(stderr,
			"weftd: unexpected argument '%s'; try 'weftd --help'.\n",
			argv[optind]);
		ret = 2;
		goto out;
	}
	if (config_path || access(CONFIG_DEFAULT_PATH, R_OK) == 0) {
		const char *path =
			config_path ? config_path : CONFIG_DEFAULT_PATH;

		if (config_load(&cfg, path, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "weftd: %s\n", msg);
			ret = 2;
			goto out;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:l:d:hV", options, NULL)) != -1) {
		const char *name = NULL;

		for (const struct option *o = options; o->name; o++)
			if (o->val == c)
				name = o->name;
		if (c == 'c' || !name)
			continue;
		if (config_set(&cfg, name, optarg, msg, sizeof(msg)) < 0) {
			fprintf(stderr, "weftd: --%s: %s\n", name, msg);
			ret = 2;
			goto out;
		}
	}

	log_level_from_string(cfg.log_level, &level);
	log_setup("weftd", level);
	sscanf(cfg.base_mac, "%2x:%2x:%2x", &mac[0], &mac[1], &mac[2]);
	for (int i = 0; i < 3; i++)
		api_cfg.base_mac[i] = (uint8_t)mac[i];
	api_cfg.underlay_mtu = cfg.underlay_mtu;

	if (!strcmp(cfg.auth, "token")) {
		if (!cfg.token_file) {
			log_err("auth = token needs token_file");
			goto out;
		}
		token_file = cfg.token_file;
		if (auth_load(cfg.token_file, &current_auth, msg, sizeof(msg)) <
		    0) {
			log_err("%s", msg);
			goto out;
		}
	}

	make_parent_dir(cfg.db);
	sopts.synchronous = cfg.synchronous;
	r = store_open(cfg.db, &sopts, &store, msg, sizeof(msg));
	if (r < 0) {
		log_err("%s", msg);
		goto out;
	}

	base = event_base_new();
	if (!base) {
		log_err("cannot create the event loop");
		goto out;
	}
	sb_opts = (struct southbound_options){
		.listen = cfg.southbound,
		.agent_down_time = cfg.agent_down_time,
		.dns_domain = cfg.dns_domain,
	};
	r = southbound_new(base, store, &sb_opts, &current_southbound, msg,
			   sizeof(msg));
	if (r < 0) {
		log_err("%s", msg);
		goto out;
	}
	srv_opts = (struct server_options){
		.listen = cfg.listen,
		.max_body_size = cfg.max_body_size,
		.token_auth = current_auth != NULL,
		.default_project = cfg.default_project,
		.api = &api_cfg,
		.live = southbound_api_live(current_southbound),
		.southbound = current_southbound,
	};
	r = server_new(base, &srv_opts, store, current_auth, &current_server,
		       msg, sizeof(msg));
	if (r < 0) {
		log_err("%s", msg);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	ev_int = evsignal_new(base, SIGINT, on_stop, base);
	ev_hup = evsignal_new(base, SIGHUP, on_sighup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);

	log_info(
		"serving the Networking API on http://%s (auth %s), store %s at revision %llu; agents on %s",
		cfg.listen, cfg.auth, cfg.db,
		(unsigned long long)store_revision(store), cfg.southbound);
	event_base_dispatch(base);
	ret = 0;
out:
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	/* The server first: its pending stats requests cancel themselves in
	 * the southbound service as their connections close. */
	server_free(current_server);
	southbound_free(current_southbound);
	if (base)
		event_base_free(base);
	store_free(store);
	auth_free(current_auth);
	config_destroy(&cfg);
	return ret;
}
