/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t probe_magic[4] = { 'W', 'F', 'T', 'P' };

/* splitmix64's finaliser: every output bit depends on every input bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t gateway_score(uint32_t bucket, uint32_t ip)
{
	return mix64(((uint64_t)ip << 32 | bucket) + 0x9e3779b97f4a7c15ull);
}

void gateway_table_fill(const struct gateway_member *members, size_t n,
			struct weft_gw_bucket table[WEFT_GW_BUCKETS])
{
	for (uint32_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		const struct gateway_member *best = NULL;
		uint64_t best_score = 0;

		for (size_t i = 0; i < n; i++) {
			uint64_t s = gateway_score(b, members[i].ip);

			if (!best || s > best_score ||
			    (s == best_score && members[i].ip < best->ip)) {
				best = &members[i];
				best_score = s;
			}
		}
		table[b] = (struct weft_gw_bucket){
			.ip = best ? htonl(best->ip) : 0,
			.slot = best ? best->slot : 0,
		};
	}
}

void gateway_probe_init(struct gateway_probe *p, bool alive)
{
	memset(p, 0, sizeof(*p));
	p->alive = alive;
}

enum gateway_change gateway_probe_sent(struct gateway_probe *p, uint32_t seq,
				       unsigned int max_misses)
{
	enum gateway_change change = GATEWAY_UNCHANGED;

	if (p->outstanding) {
		p->misses++;
		p->answers = 0;
		if (p->alive && p->misses >= max_misses) {
			p->alive = false;
			change = GATEWAY_DIED;
		}
	}
	p->outstanding = true;
	p->seq = seq;
	return change;
}

enum gateway_change gateway_probe_answered(struct gateway_probe *p,
					   uint32_t seq)
{
	if (!p->outstanding || seq != p->seq)
		return GATEWAY_UNCHANGED;
	p->outstanding = false;
	p->misses = 0;
	p->answers++;
	if (!p->alive && p->answers >= GATEWAY_PROBE_ANSWERS) {
		p->alive = true;
		return GATEWAY_REVIVED;
	}
	return GATEWAY_UNCHANGED;
}

void gateway_probe_encode(uint8_t buf[GATEWAY_PROBE_SIZE], uint32_t seq,
			  uint64_t timestamp)
{
	uint32_t s = htonl(seq);
	uint32_t hi = htonl((uint32_t)(timestamp >> 32));
	uint32_t lo = htonl((uint32_t)timestamp);

	memcpy(buf, probe_magic, 4);
	memcpy(buf + 4, &s, 4);
	memcpy(buf + 8, &hi, 4);
	memcpy(buf + 12, &lo, 4);
}

int gateway_probe_decode(const void *buf, size_t len, uint32_t *ret_seq,
			 uint64_t *ret_timestamp)
{
	const uint8_t *b = buf;
	uint32_t s, hi, lo;

	if (len != GATEWAY_PROBE_SIZE || memcmp(b, probe_magic, 4))
		return -EINVAL;
	memcpy(&s, b + 4, 4);
	memcpy(&hi, b + 8, 4);
	memcpy(&lo, b + 12, 4);
	*ret_seq = ntohl(s);
	*ret_timestamp = (uint64_t)ntohl(hi) << 32 | ntohl(lo);
	return 0;
}

static const uint8_t snat_magic[4] = { 'W', 'F', 'T', 'S' };

size_t gateway_snat_encode(uint8_t *buf, const struct weft_snat_event *ev,
			   size_t n)
{
	uint32_t count = htonl((uint32_t)n);

	memcpy(buf, snat_magic, 4);
	memcpy(buf + 4, &count, 4);
	memcpy(buf + GATEWAY_SNAT_HEADER, ev, n * sizeof(*ev));
	return GATEWAY_SNAT_HEADER + n * sizeof(*ev);
}

int gateway_snat_decode(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t count;

	if (len < GATEWAY_SNAT_HEADER || memcmp(b, snat_magic, 4))
		return -EINVAL;
	memcpy(&count, b + 4, 4);
	count = ntohl(count);
	if (!count || count > GATEWAY_SNAT_MAX_EVENTS ||
	    len != GATEWAY_SNAT_HEADER + count * sizeof(struct weft_snat_event))
		return -EINVAL;
	return (int)count;
}

void gateway_snat_event(const void *buf, size_t i, struct weft_snat_event *ret)
{
	memcpy(ret,
	       (const uint8_t *)buf + GATEWAY_SNAT_HEADER + i * sizeof(*ret),
	       sizeof(*ret));
}

/* The idle timeout of a translation of protocol 'proto', in seconds. */
static uint64_t snat_timeout(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return WEFT_SNAT_TIMEOUT_TCP;
	case IPPROTO_UDP:
		return WEFT_SNAT_TIMEOUT_UDP;
	default:
		return WEFT_SNAT_TIMEOUT_ICMP;
	}
}

void gateway_snat_entries(const struct weft_snat_event *ev, uint64_t now_ns,
			  struct weft_snat_out *out,
			  struct weft_snat_in_key *in_key,
			  struct weft_snat_in *in)
{
	uint64_t expires =
		now_ns + snat_timeout(ev->orig.proto) * 1000000000ull;

	*out = (struct weft_snat_out){ .ext_ip = ev->ext_ip,
				       .ext_port = ev->ext_port,
				       .expires_ns = expires };
	*in_key = (struct weft_snat_in_key){ .ext_ip = ev->ext_ip,
					     .ext_port = ev->ext_port,
					     .proto = ev->orig.proto };
	*in = (struct weft_snat_in){ .orig = ev->orig,
				     .router = ev->router,
				     .expires_ns = expires };
}

bool gateway_snat_may_copy(const struct weft_snat_in *existing,
			   const struct weft_snat_key *orig, uint64_t now_ns)
{
	return !existing || existing->expires_ns <= now_ns ||
	       !memcmp(&existing->orig, orig, sizeof(*orig));
}
