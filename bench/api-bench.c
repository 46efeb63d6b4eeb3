/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api-bench: a load generator for weftd's Networking API.
 *
 * It talks to a running weftd (it starts nothing itself; bench/api-bench.sh
 * does) over keep-alive HTTP/1.1 connections and measures:
 *
 *   GET /          the empty request, an in-run reference for the cost of
 *                  HTTP and request dispatch without any store work;
 *   single create  N ports created one POST /v2.0/ports each, in a network
 *                  with a /16 subnet;
 *   bulk create    N ports in a second such network, B ports per POST;
 *   list           GET /v2.0/ports?network_id=... of the first network.
 *
 * Every reply's status is checked and the first unexpected one stops the
 * run: a benchmark that counts errors as fast requests measures nothing. At
 * the end it lists both networks and checks that all 2N ports exist, that
 * their ids are the ones the creates returned, and that their 2N addresses
 * are unique and inside their subnets.
 *
 * The figures go to a table beside the aims (>= 2,000 port creates/s,
 * p99 < 20 ms), as the ratio measured / aim, and beside the empty request's
 * p50. Each latency is also split at the reply's first byte, which tells
 * weftd's work from the transfer. Given weftd's PID, it also shows weftd's
 * VmRSS after each phase. Benchmarks are not tests: it never fails because a
 * figure misses its aim. docs/bench.md explains every figure.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define AIM_CREATES_PER_S 2000.0
#define AIM_P99_MS 20.0

#define UUID_LEN 36

static const char *const single_cidr = "10.1.0.0/16";
static const char *const bulk_cidr = "10.2.0.0/16";

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("api-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable, always NUL-terminated byte buffer. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

static void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n < sizeof(small)) {
		buf_append(b, small, (size_t)n);
		return;
	}
	{
		char *big = xcalloc(1, (size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		buf_append(b, big, (size_t)n);
		free(big);
	}
}

static void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

/*
 * The client: one curl multi handle whose connection cache holds at most
 * 'concurrency' keep-alive connections to weftd, and one easy handle
 * ("slot") per request in flight.
 */
struct slot {
	CURL *easy;
	struct buf body;
	struct buf resp;
	size_t index;
	double started;
	/* When the first byte of the reply (its status line) arrived. */
	double first_byte;
	char errbuf[CURL_ERROR_SIZE];
};

struct client {
	CURLM *multi;
	struct curl_slist *headers;
	const char *base_url;
	struct slot *slots;
	size_t n_slots;
	long connects;
	size_t requests;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct slot *slot = userdata;

	buf_append(&slot->resp, ptr, size * nmemb);
	return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct slot *slot = userdata;

	if (slot->first_byte == 0)
		slot->first_byte = now_s();
	return size * nmemb;
}

static void client_init(struct client *c, const char *base_url,
			size_t concurrency)
{
	c->base_url = base_url;
	c->multi = curl_multi_init();
	if (!c->multi)
		die("curl_multi_init failed");
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)concurrency);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
	/* curl would otherwise send "Expect: 100-continue" before large
	 * bodies and wait for the go-ahead: a round trip that is the
	 * client's, not weftd's. */
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Accept: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (!c->headers)
		die("out of memory");

	c->n_slots = concurrency;
	c->slots = xcalloc(concurrency, sizeof(*c->slots));
	for (size_t i = 0; i < concurrency; i++) {
		struct slot *s = &c->slots[i];

		s->easy = curl_easy_init();
		if (!s->easy)
			die("curl_easy_init failed");
		curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, c->headers);
		curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
		curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 300L);
	}
}

static void client_destroy(struct client *c)
{
	for (size_t i = 0; i < c->n_slots; i++) {
		curl_easy_cleanup(c->slots[i].easy);
		buf_free(&c->slots[i].body);
		buf_free(&c->slots[i].resp);
	}
	free(c->slots);
	curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
}

/*
 * A phase: 'count' requests of 'method' to one path. 'make_body' writes the
 * body of request 'i' (POST only); 'on_reply' receives each reply and may
 * take its buffer (leaving an empty one behind). Results are filled in by
 * run_phase().
 */
struct phase {
	const char *label;
	const char *method;
	const char *path;
	size_t count;
	long expect_status;
	/* Ports created or listed by the whole phase, for the rate; 0 when
	 * the rate is in requests. */
	size_t ports;
	void (*make_body)(const struct phase *ph, size_t i, struct buf *body);
	void (*on_reply)(const struct phase *ph, size_t i, struct buf *resp);
	void *data;

	double *latency_ms;
	/* Time to the first byte of each reply: weftd's work on the request
	 * plus one round trip; the rest of the latency is the transfer. */
	double *ttfb_ms;
	double elapsed_s;
	long rss_kib;
};

static void start_request(struct client *c, struct phase *ph, struct slot *s,
			  const char *url, size_t i)
{
	CURLMcode mr;

	buf_reset(&s->resp);
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	if (!strcmp(ph->method, "POST")) {
		buf_reset(&s->body);
		ph->make_body(ph, i, &s->body);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body.data);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)s->body.len);
	} else {
		curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
	}
	s->index = i;
	s->first_byte = 0;
	s->started = now_s();
	mr = curl_multi_add_handle(c->multi, s->easy);
	if (mr != CURLM_OK)
		die("curl_multi_add_handle: %s", curl_multi_strerror(mr));
}

/* Handles a finished transfer of slot 's'; stops the run on any failure. */
static void finish_request(struct client *c, struct phase *ph, struct slot *s,
			   CURLcode result, double done)
{
	long status = 0, connects = 0;

	curl_multi_remove_handle(c->multi, s->easy);
	if (result != CURLE_OK)
		die("%s: request %zu: %s %s: %s", ph->label, s->index,
		    ph->method, ph->path,
		    s->errbuf[0] ? s->errbuf : curl_easy_strerror(result));
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != ph->expect_status)
		die("%s: request %zu: %s %s answered %ld, expected %ld: %.600s",
		    ph->label, s->index, ph->method, ph->path, status,
		    ph->expect_status, s->resp.data ? s->resp.data : "");
	curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
	c->connects += connects;
	c->requests++;
	ph->latency_ms[s->index] = (done - s->started) * 1e3;
	ph->ttfb_ms[s->index] = (s->first_byte - s->started) * 1e3;
	if (ph->on_reply)
		ph->on_reply(ph, s->index, &s->resp);
}

/* Runs all requests of 'ph' with up to c->n_slots in flight and fills in
 * its latencies and elapsed time. */
/* When set, run_phase() reports each phase's start and end on stderr in
 * CLOCK_MONOTONIC seconds, the clock of 'perf record -k CLOCK_MONOTONIC',
 * so that a profile can be cut to one phase with 'perf report --time'. */
static bool verbose;

static void run_phase(struct client *c, struct phase *ph)
{
	struct slot **idle = xcalloc(c->n_slots, sizeof(*idle));
	size_t n_idle = c->n_slots, next = 0, done = 0;
	struct buf url = { 0 };
	double t0;

	for (size_t i = 0; i < c->n_slots; i++)
		idle[i] = &c->slots[c->n_slots - 1 - i];
	buf_printf(&url, "%s%s", c->base_url, ph->path);
	ph->latency_ms = xcalloc(ph->count, sizeof(*ph->latency_ms));
	ph->ttfb_ms = xcalloc(ph->count, sizeof(*ph->ttfb_ms));

	t0 = now_s();
	while (done < ph->count) {
		struct CURLMsg *msg;
		int running, queued;
		CURLMcode mr;

		while (next < ph->count && n_idle > 0)
			start_request(c, ph, idle[--n_idle], url.data, next++);
		mr = curl_multi_perform(c->multi, &running);
		if (mr != CURLM_OK)
			die("curl_multi_perform: %s", curl_multi_strerror(mr));
		while ((msg = curl_multi_info_read(c->multi, &queued))) {
			double t = now_s();
			struct slot *s;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&s);
			finish_request(c, ph, s, msg->data.result, t);
			idle[n_idle++] = s;
			done++;
		}
		/* A freed slot takes the next request at once. */
		if (next < ph->count && n_idle > 0)
			continue;
		if (done < ph->count) {
			mr = curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
			if (mr != CURLM_OK)
				die("curl_multi_poll: %s",
				    curl_multi_strerror(mr));
		}
	}
	ph->elapsed_s = now_s() - t0;
	if (verbose)
		fprintf(stderr, "api-bench: phase '%s': %.6f,%.6f\n", ph->label,
			t0, t0 + ph->elapsed_s);
	buf_free(&url);
	free(idle);
}

/* A request outside the measured phases, or the last reply of a phase. */
struct one_request {
	const char *body;
	struct buf reply;
};

static void one_body(const struct phase *ph, size_t i, struct buf *body)
{
	const struct one_request *one = ph->data;

	buf_append(body, one->body, strlen(one->body));
}

static void keep_reply(const struct phase *ph, size_t i, struct buf *resp)
{
	struct one_request *one = ph->data;
	struct buf tmp = one->reply;

	one->reply = *resp;
	*resp = tmp;
}

/* Sends one request outside any measured phase and returns the parsed
 * reply (the caller frees it); stops the run on any other status than
 * 'expect_status'. */
static json_t *request_json(struct client *c, const char *label,
			    const char *method, const char *path,
			    const char *body, long expect_status)
{
	struct one_request one = { .body = body };
	struct phase ph = {
		.label = label,
		.method = method,
		.path = path,
		.count = 1,
		.expect_status = expect_status,
		.make_body = one_body,
		.on_reply = keep_reply,
		.data = &one,
	};
	json_error_t jerr;
	json_t *j;

	run_phase(c, &ph);
	free(ph.latency_ms);
	free(ph.ttfb_ms);
	j = json_loadb(one.reply.data ? one.reply.data : "", one.reply.len, 0,
		       &jerr);
	if (!j)
		die("%s: %s %s: reply is not JSON: %s", label, method, path,
		    jerr.text);
	buf_free(&one.reply);
	return j;
}

/* Returns the string at 'key' of 'obj', stopping the run when absent. */
static const char *must_str(json_t *obj, const char *key, const char *what)
{
	const char *v = json_string_value(json_object_get(obj, key));

	if (!v)
		die("%s: reply has no string '%s'", what, key);
	return v;
}

/* Creates a network with one IPv4 subnet 'cidr'; writes both ids. */
static void create_network(struct client *c, const char *name, const char *cidr,
			   char *net_id, char *subnet_id)
{
	struct buf body = { 0 };
	json_t *j;

	buf_printf(&body, "{\"network\": {\"name\": \"%s\"}}", name);
	j = request_json(c, "setup", "POST", "/v2.0/networks", body.data, 201);
	snprintf(net_id, UUID_LEN + 1, "%s",
		 must_str(json_object_get(j, "network"), "id",
			  "create network"));
	json_decref(j);

	buf_reset(&body);
	buf_printf(&body,
		   "{\"subnet\": {\"network_id\": \"%s\", \"ip_version\": 4, "
		   "\"cidr\": \"%s\", \"name\": \"%s\"}}",
		   net_id, cidr, name);
	j = request_json(c, "setup", "POST", "/v2.0/subnets", body.data, 201);
	snprintf(subnet_id, UUID_LEN + 1, "%s",
		 must_str(json_object_get(j, "subnet"), "id", "create subnet"));
	json_decref(j);
	buf_free(&body);
}

/*
 * The create phases keep every reply and parse them only after the phase,
 * so that the client spends as little time as it can between requests.
 */
struct create_data {
	const char *network_id;
	const char *name;
	size_t ports;
	size_t bulk_size;
	struct buf *replies;
};

/* The number of ports in bulk request 'i' (the last one may be short). */
static size_t bulk_ports_in(const struct create_data *d, size_t i)
{
	size_t left = d->ports - i * d->bulk_size;

	return left < d->bulk_size ? left : d->bulk_size;
}

static void single_body(const struct phase *ph, size_t i, struct buf *body)
{
	const struct create_data *d = ph->data;

	buf_printf(body,
		   "{\"port\": {\"network_id\": \"%s\", \"name\": \"%s-%zu\"}}",
		   d->network_id, d->name, i);
}

static void bulk_body(const struct phase *ph, size_t i, struct buf *body)
{
	const struct create_data *d = ph->data;
	size_t n = bulk_ports_in(d, i);

	buf_append(body, "{\"ports\": [", 11);
	for (size_t k = 0; k < n; k++)
		buf_printf(body,
			   "%s{\"network_id\": \"%s\", \"name\": \"%s-%zu\"}",
			   k ? ", " : "", d->network_id, d->name,
			   i * d->bulk_size + k);
	buf_append(body, "]}", 2);
}

static void store_reply(const struct phase *ph, size_t i, struct buf *resp)
{
	struct create_data *d = ph->data;
	struct buf tmp = d->replies[i];

	d->replies[i] = *resp;
	*resp = tmp;
	buf_reset(resp);
}

/*
 * Verification: ids and addresses of the ports of one network, as the
 * creates returned them and as a list shows them.
 */
struct port_set {
	char (*ids)[UUID_LEN + 1];
	uint32_t *ips;
	size_t n;
	size_t cap;
};

static void port_set_add(struct port_set *set, const char *id, uint32_t ip)
{
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 1024;
		set->ids = xrealloc(set->ids, set->cap * sizeof(*set->ids));
		set->ips = xrealloc(set->ips, set->cap * sizeof(*set->ips));
	}
	snprintf(set->ids[set->n], UUID_LEN + 1, "%s", id);
	set->ips[set->n] = ip;
	set->n++;
}

static void port_set_free(struct port_set *set)
{
	free(set->ids);
	free(set->ips);
	*set = (struct port_set){ 0 };
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint32_t parse_cidr(const char *cidr, uint32_t *mask)
{
	char addr[32];
	const char *slash = strchr(cidr, '/');
	struct in_addr in;
	int prefix;

	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - cidr), cidr);
	if (inet_pton(AF_INET, addr, &in) != 1)
		die("bad CIDR %s", cidr);
	prefix = atoi(slash + 1);
	*mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
	return ntohl(in.s_addr);
}

/* Checks one port document and adds it to 'set'. */
static void check_port(json_t *port, const char *network_id,
		       const char *subnet_id, const char *cidr,
		       struct port_set *set, const char *what)
{
	json_t *ips = json_object_get(port, "fixed_ips");
	const char *ip_s, *id;
	uint32_t net, mask;
	struct in_addr in;

	id = must_str(port, "id", what);
	if (strcmp(must_str(port, "network_id", what), network_id))
		die("%s: port %s is on network %s, expected %s", what, id,
		    must_str(port, "network_id", what), network_id);
	if (json_array_size(ips) != 1)
		die("%s: port %s has %zu fixed IPs, expected 1", what, id,
		    json_array_size(ips));
	if (strcmp(must_str(json_array_get(ips, 0), "subnet_id", what),
		   subnet_id))
		die("%s: port %s has an address of another subnet", what, id);
	ip_s = must_str(json_array_get(ips, 0), "ip_address", what);
	if (inet_pton(AF_INET, ip_s, &in) != 1)
		die("%s: port %s has a bad address '%s'", what, id, ip_s);
	net = parse_cidr(cidr, &mask);
	if ((ntohl(in.s_addr) & mask) != net)
		die("%s: port %s has %s, outside %s", what, id, ip_s, cidr);
	port_set_add(set, id, ntohl(in.s_addr));
}

/* Parses the create replies of one network into 'set'. */
static void collect_created(const struct create_data *d, size_t n_replies,
			    bool bulk, const char *subnet_id, const char *cidr,
			    struct port_set *set)
{
	for (size_t i = 0; i < n_replies; i++) {
		json_error_t jerr;
		json_t *j = json_loadb(d->replies[i].data, d->replies[i].len, 0,
				       &jerr);
		json_t *port;
		size_t k;

		if (!j)
			die("%s create %zu: reply is not JSON: %s", d->name, i,
			    jerr.text);
		if (bulk) {
			json_t *ports = json_object_get(j, "ports");
			size_t want = bulk_ports_in(d, i);

			if (json_array_size(ports) != want)
				die("%s create %zu: %zu ports in the reply, expected %zu",
				    d->name, i, json_array_size(ports), want);
			json_array_foreach(ports, k, port)
				check_port(port, d->network_id, subnet_id, cidr,
					   set, "bulk create reply");
		} else {
			check_port(json_object_get(j, "port"), d->network_id,
				   subnet_id, cidr, set, "single create reply");
		}
		json_decref(j);
	}
}

/* Parses a list reply of one network into 'set'. */
static void collect_listed(const struct buf *reply, const char *network_id,
			   const char *subnet_id, const char *cidr,
			   struct port_set *set)
{
	json_error_t jerr;
	json_t *j = json_loadb(reply->data, reply->len, 0, &jerr), *port;
	size_t k;

	if (!j)
		die("list: reply is not JSON: %s", jerr.text);
	json_array_foreach(json_object_get(j, "ports"), k, port)
		check_port(port, network_id, subnet_id, cidr, set, "list");
	json_decref(j);
}

/* Checks that the ports listed are exactly the ports created. */
static void compare_sets(struct port_set *created, struct port_set *listed,
			 const char *what, size_t want)
{
	if (created->n != want)
		die("%s: %zu ports created, expected %zu", what, created->n,
		    want);
	if (listed->n != want)
		die("%s: the list shows %zu ports, expected %zu", what,
		    listed->n, want);
	qsort(created->ids, created->n, sizeof(*created->ids), cmp_id);
	qsort(listed->ids, listed->n, sizeof(*listed->ids), cmp_id);
	for (size_t i = 0; i < want; i++) {
		if (i > 0 && !strcmp(created->ids[i], created->ids[i - 1]))
			die("%s: port id %s returned twice", what,
			    created->ids[i]);
		if (strcmp(created->ids[i], listed->ids[i]))
			die("%s: created and listed ports differ (%s vs %s)",
			    what, created->ids[i], listed->ids[i]);
	}
}

/* Checks that 'n' addresses are pairwise different. */
static void check_unique_ips(uint32_t *ips, size_t n)
{
	qsort(ips, n, sizeof(*ips), cmp_u32);
	for (size_t i = 1; i < n; i++)
		if (ips[i] == ips[i - 1]) {
			struct in_addr in = { htonl(ips[i]) };
			char s[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &in, s, sizeof(s));
			die("verify: address %s is held by two ports", s);
		}
}

/* weftd's resident memory, from /proc/PID/status; -1 when unknown. */
static long proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Nearest-rank percentile of the sorted 'v'. */
static double percentile(const double *v, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

struct summary {
	double rate;
	double p50, p99, max;
	double ttfb_p50;
	const char *unit;
};

static struct summary summarize(const struct phase *ph)
{
	struct summary s = { 0 };
	double *v = xcalloc(ph->count, sizeof(*v));

	memcpy(v, ph->latency_ms, ph->count * sizeof(*v));
	qsort(v, ph->count, sizeof(*v), cmp_double);
	s.p50 = percentile(v, ph->count, 50);
	s.p99 = percentile(v, ph->count, 99);
	s.max = ph->count ? v[ph->count - 1] : 0;
	memcpy(v, ph->ttfb_ms, ph->count * sizeof(*v));
	qsort(v, ph->count, sizeof(*v), cmp_double);
	s.ttfb_p50 = percentile(v, ph->count, 50);
	s.rate = (double)(ph->ports ? ph->ports : ph->count) / ph->elapsed_s;
	s.unit = ph->ports ? "port" : "req";
	free(v);
	return s;
}

/* The width of a row up to the aim column (see print_row()). */
#define ROW_PREFIX_WIDTH 100

static void print_rule(void)
{
	for (int i = 0; i < ROW_PREFIX_WIDTH + 25; i++)
		putchar('-');
	putchar('\n');
}

static void print_row(const struct phase *ph, double empty_p50, bool rss)
{
	struct summary s = summarize(ph);
	char rss_s[16] = "";

	if (rss && ph->rss_kib >= 0)
		snprintf(rss_s, sizeof(rss_s), "%.1f", ph->rss_kib / 1024.0);
	printf("%-24s %6zu %8.0f %-4s %8.3f %8.3f %8.3f %8.3f %7.1fx %7s  ",
	       ph->label, ph->count, s.rate, s.unit, s.p50, s.p99, s.max,
	       s.ttfb_p50, empty_p50 > 0 ? s.p50 / empty_p50 : 0, rss_s);
}

static void usage(FILE *f)
{
	fputs("Usage: api-bench --url URL [OPTIONS]\n"
	      "\n"
	      "Measures weftd's port create throughput and latency (single and\n"
	      "bulk) and list latency, checks that every port was created, and\n"
	      "prints the figures beside the aims. Starts nothing itself.\n"
	      "\n"
	      "  -u, --url URL          weftd's API, e.g. http://127.0.0.1:9696\n"
	      "  -n, --ports N          ports per create phase (default 10000)\n"
	      "  -b, --bulk-size B      ports per bulk POST (default 100)\n"
	      "  -c, --concurrency C    requests in flight, one keep-alive\n"
	      "                         connection each (default 1)\n"
	      "  -l, --list-repeat L    timed lists of the network (default 10)\n"
	      "  -e, --empty-requests E timed GET / requests (default 1000)\n"
	      "  -p, --weftd-pid PID    read weftd's VmRSS after each phase\n"
	      "  -v, --verbose          print each phase's start,end on stderr\n"
	      "                         (CLOCK_MONOTONIC s, for perf report --time)\n"
	      "  -h, --help             this text\n",
	      f);
}

static long parse_count(const char *s, const char *name, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || !*s || v < min)
		die("%s must be an integer >= %ld, not '%s'", name, min, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ports", required_argument, NULL, 'n' },
		{ "bulk-size", required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "list-repeat", required_argument, NULL, 'l' },
		{ "empty-requests", required_argument, NULL, 'e' },
		{ "weftd-pid", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char net1[UUID_LEN + 1], sub1[UUID_LEN + 1];
	char net2[UUID_LEN + 1], sub2[UUID_LEN + 1];
	size_t ports = 10000, bulk_size = 100, concurrency = 1;
	size_t list_repeat = 10, empty_requests = 1000;
	struct port_set created1 = { 0 }, created2 = { 0 };
	struct port_set listed1 = { 0 }, listed2 = { 0 }, all_ips = { 0 };
	struct create_data single_d, bulk_d;
	struct phase empty, single, bulk, list;
	struct one_request list_d = { 0 };
	char bulk_label[40], list_label[40];
	struct buf path = { 0 };
	const char *url = NULL;
	long rss_start;
	struct client c = { 0 };
	pid_t pid = 0;
	double empty_p50;
	int opt;

	while ((opt = getopt_long(argc, argv, "u:n:b:c:l:e:p:vh", options,
				  NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'n':
			ports = (size_t)parse_count(optarg, "--ports", 1);
			break;
		case 'b':
			bulk_size =
				(size_t)parse_count(optarg, "--bulk-size", 1);
			break;
		case 'c':
			concurrency =
				(size_t)parse_count(optarg, "--concurrency", 1);
			break;
		case 'l':
			list_repeat =
				(size_t)parse_count(optarg, "--list-repeat", 1);
			break;
		case 'e':
			empty_requests = (size_t)parse_count(
				optarg, "--empty-requests", 1);
			break;
		case 'p':
			pid = (pid_t)parse_count(optarg, "--weftd-pid", 1);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!url || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (ports > 60000)
		die("--ports: a /16 subnet holds at most 65533 ports; use <= 60000");

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		die("curl_global_init failed");
	client_init(&c, url, concurrency);
	rss_start = proc_status_kib(pid, "VmRSS");

	/* (a) The networks first, so that a weftd that is not there fails
	 * before anything is measured. */
	create_network(&c, "api-bench-single", single_cidr, net1, sub1);
	create_network(&c, "api-bench-bulk", bulk_cidr, net2, sub2);

	/* (e) The empty request: HTTP, parsing and dispatch, no store. */
	empty = (struct phase){
		.label = "GET / (empty, ref)",
		.method = "GET",
		.path = "/",
		.count = empty_requests,
		.expect_status = 200,
	};
	run_phase(&c, &empty);
	empty.rss_kib = proc_status_kib(pid, "VmRSS");

	/* (b) One port per request. */
	single_d = (struct create_data){
		.network_id = net1,
		.name = "single",
		.ports = ports,
		.bulk_size = 1,
		.replies = xcalloc(ports, sizeof(struct buf)),
	};
	single = (struct phase){
		.label = "create port, single",
		.method = "POST",
		.path = "/v2.0/ports",
		.count = ports,
		.expect_status = 201,
		.ports = ports,
		.make_body = single_body,
		.on_reply = store_reply,
		.data = &single_d,
	};
	run_phase(&c, &single);
	single.rss_kib = proc_status_kib(pid, "VmRSS");

	/* (c) 'bulk_size' ports per request, in the second network. */
	bulk_d = (struct create_data){
		.network_id = net2,
		.name = "bulk",
		.ports = ports,
		.bulk_size = bulk_size,
		.replies = xcalloc((ports + bulk_size - 1) / bulk_size,
				   sizeof(struct buf)),
	};
	snprintf(bulk_label, sizeof(bulk_label), "create ports, bulk %zu",
		 bulk_size);
	bulk = (struct phase){
		.label = bulk_label,
		.method = "POST",
		.path = "/v2.0/ports",
		.count = (ports + bulk_size - 1) / bulk_size,
		.expect_status = 201,
		.ports = ports,
		.make_body = bulk_body,
		.on_reply = store_reply,
		.data = &bulk_d,
	};
	run_phase(&c, &bulk);
	bulk.rss_kib = proc_status_kib(pid, "VmRSS");

	/* (d) The whole first network in one list; the last reply is kept
	 * for the verification. */
	buf_printf(&path, "/v2.0/ports?network_id=%s", net1);
	snprintf(list_label, sizeof(list_label), "list %zu ports", ports);
	list = (struct phase){
		.label = list_label,
		.method = "GET",
		.path = path.data,
		.count = list_repeat,
		.expect_status = 200,
		.ports = ports * list_repeat,
		.on_reply = keep_reply,
		.data = &list_d,
	};
	run_phase(&c, &list);
	list.rss_kib = proc_status_kib(pid, "VmRSS");

	/* Verification, outside every timed phase. */
	collect_created(&single_d, ports, false, sub1, single_cidr, &created1);
	collect_created(&bulk_d, bulk.count, true, sub2, bulk_cidr, &created2);
	collect_listed(&list_d.reply, net1, sub1, single_cidr, &listed1);
	{
		json_t *j, *port;
		size_t k;

		buf_reset(&path);
		buf_printf(&path, "/v2.0/ports?network_id=%s", net2);
		j = request_json(&c, "verify", "GET", path.data, NULL, 200);
		json_array_foreach(json_object_get(j, "ports"), k, port)
			check_port(port, net2, sub2, bulk_cidr, &listed2,
				   "list");
		json_decref(j);
	}
	compare_sets(&created1, &listed1, "single-created network", ports);
	compare_sets(&created2, &listed2, "bulk-created network", ports);
	for (size_t i = 0; i < listed1.n; i++)
		port_set_add(&all_ips, listed1.ids[i], listed1.ips[i]);
	for (size_t i = 0; i < listed2.n; i++)
		port_set_add(&all_ips, listed2.ids[i], listed2.ips[i]);
	check_unique_ips(all_ips.ips, all_ips.n);

	/* The table. */
	empty_p50 = summarize(&empty).p50;
	printf("api-bench: %s, %zu ports per create phase, bulk size %zu, "
	       "concurrency %zu\n",
	       url, ports, bulk_size, concurrency);
	printf("verified: %zu ports exist (%zu per network), ids as created, "
	       "%zu unique addresses\n",
	       2 * ports, ports, all_ips.n);
	printf("HTTP: %zu requests on %ld connection(s) (keep-alive)\n",
	       c.requests, c.connects);
	putchar('\n');
	printf("%-24s %6s %13s %8s %8s %8s %8s %8s %7s  %-18s %6s\n", "phase",
	       "count", "rate/s", "p50 ms", "p99 ms", "max ms", "ttfb p50",
	       "p50/ref", "RSS MiB", "aim", "ratio");
	print_rule();
	print_row(&empty, empty_p50, pid > 0);
	printf("%-18s %6s\n", "(reference)", "-");
	print_row(&single, empty_p50, pid > 0);
	printf("%-18s %6.2f\n", ">= 2000 ports/s",
	       summarize(&single).rate / AIM_CREATES_PER_S);
	printf("%*s%-18s %6.2f\n", ROW_PREFIX_WIDTH, "", "p99 < 20 ms",
	       summarize(&single).p99 / AIM_P99_MS);
	print_row(&bulk, empty_p50, pid > 0);
	printf("%-18s %6.2f\n", ">= 2000 ports/s",
	       summarize(&bulk).rate / AIM_CREATES_PER_S);
	print_row(&list, empty_p50, pid > 0);
	printf("%-18s %6s\n", "-", "-");
	print_rule();
	puts("rate/s: ports (or requests, 'req') per second over the phase's "
	     "wall time; latencies per request.");
	puts("ttfb p50: time to the reply's first byte (weftd's work plus a "
	     "round trip); the rest is the transfer.");
	puts("p50/ref: p50 over the p50 of GET / (the HTTP cost without "
	     "store work). ratio = measured / aim:");
	puts("above 1 beats a rate aim, below 1 beats a latency aim.");
	if (pid > 0 && single.rss_kib >= 0 && bulk.rss_kib >= 0 &&
	    rss_start >= 0) {
		double per_port = (double)(bulk.rss_kib - rss_start) * 1024.0 /
				  (double)(2 * ports);

		printf("weftd RSS growth over the creates (before any list): "
		       "%.0f B/port (aim < 2048 B/port: ratio %.2f)\n",
		       per_port, per_port / 2048.0);
	}
	{
		size_t tenth = ports / 10 ? ports / 10 : 1;
		double *a = xcalloc(tenth, sizeof(*a));
		double *b = xcalloc(tenth, sizeof(*b));

		memcpy(a, single.latency_ms, tenth * sizeof(*a));
		memcpy(b, single.latency_ms + ports - tenth,
		       tenth * sizeof(*b));
		qsort(a, tenth, sizeof(*a), cmp_double);
		qsort(b, tenth, sizeof(*b), cmp_double);
		printf("single create p50, first vs last %zu ports: %.3f ms vs "
		       "%.3f ms\n",
		       tenth, percentile(a, tenth, 50),
		       percentile(b, tenth, 50));
		free(a);
		free(b);
	}
	fflush(stdout);

	for (size_t i = 0; i < ports; i++)
		buf_free(&single_d.replies[i]);
	for (size_t i = 0; i < bulk.count; i++)
		buf_free(&bulk_d.replies[i]);
	free(single_d.replies);
	free(bulk_d.replies);
	buf_free(&list_d.reply);
	buf_free(&path);
	free(empty.latency_ms);
	free(empty.ttfb_ms);
	free(single.latency_ms);
	free(single.ttfb_ms);
	free(bulk.latency_ms);
	free(bulk.ttfb_ms);
	free(list.latency_ms);
	free(list.ttfb_ms);
	port_set_free(&created1);
	port_set_free(&created2);
	port_set_free(&listed1);
	port_set_free(&listed2);
	port_set_free(&all_ips);
	client_destroy(&c);
	curl_global_cleanup();
	return 0;
}
