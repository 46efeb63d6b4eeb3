/* SPDX-License-Identifier: Apache-2.0 */
#include "bird.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netaddr.h"

/* BFD timers on the uplink (docs/gateways.md): 20 ms x 3. */
#define BIRD_BFD_INTERVAL_MS 20
#define BIRD_BFD_MULTIPLIER 3

/* Appends 'ip' to the growing array '*arr' ('*n' used, '*cap' allocated). */
static int push_addr(uint32_t **arr, size_t *n, size_t *cap, uint32_t ip)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint32_t *na = realloc(*arr, ncap * sizeof(**arr));

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = ip;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int bird_announced(const struct hostview *v, uint32_t **ret, size_t *ret_n)
{
	struct hostview_iter it = { 0 };
	const struct hostview_object *o;
	uint32_t *addrs = NULL;
	size_t n = 0, cap = 0, out = 0;
	int r = 0;

	while ((o = hostview_next(v, &it)) && !r) {
		if (o->kind == HOSTVIEW_FLOATINGIP && o->floatingip.associated)
			r = push_addr(&addrs, &n, &cap, o->floatingip.ip);
		else if (o->kind == HOSTVIEW_ROUTER &&
			 o->router.has_ext_gateway)
			r = push_addr(&addrs, &n, &cap,
				      o->router.ext_gateway.ip);
	}
	if (r < 0) {
		free(addrs);
		return r;
	}
	if (n)
		qsort(addrs, n, sizeof(*addrs), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (!out || addrs[i] != addrs[out - 1])
			addrs[out++] = addrs[i];
	*ret = addrs;
	*ret_n = out;
	return 0;
}

int bird_config_text(const struct bird_config *c, const uint32_t *addrs,
		     size_t n, char **ret)
{
	char uplink[NETADDR_IPV4_STRLEN], peer[NETADDR_IPV4_STRLEN];
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return -ENOMEM;
	netaddr_format_ipv4(c->uplink_ip, uplink);
	netaddr_format_ipv4(c->peer_ip, peer);
	fprintf(f,
		"# Written by weft-agent (docs/gateways.md): do not edit, it is\n"
		"# rewritten whenever the addresses to announce change.\n"
		"router id %s;\n\n"
		"protocol device {\n}\n\n"
		"protocol bfd {\n"
		"\tinterface \"%s\" {\n"
		"\t\tmin rx interval %d ms;\n"
		"\t\tmin tx interval %d ms;\n"
		"\t\tmultiplier %d;\n"
		"\t};\n"
		"}\n\n"
		"# Every associated floating IP and router external IP.\n"
		"protocol static weft_announce {\n"
		"\tipv4;\n",
		uplink, c->uplink_dev, BIRD_BFD_INTERVAL_MS,
		BIRD_BFD_INTERVAL_MS, BIRD_BFD_MULTIPLIER);
	for (size_t i = 0; i < n; i++) {
		char a[NETADDR_IPV4_STRLEN];

		netaddr_format_ipv4(addrs[i], a);
		fprintf(f, "\troute %s/32 blackhole;\n", a);
	}
	fprintf(f,
		"}\n\n"
		"protocol bgp upstream {\n"
		"\tlocal %s as %u;\n"
		"\tneighbor %s as %u;\n"
		"\tbfd on;\n"
		"\tipv4 {\n"
		"\t\timport none;\n"
		"\t\texport where proto = \"weft_announce\";\n"
		"\t};\n"
		"}\n",
		uplink, c->local_as, peer, c->peer_as);
	if (fclose(f) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

int bird_write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	size_t len = strlen(text), done = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len && !r) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno != EINTR)
			r = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
