/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Datapath tests: the programs of bpf/datapath.bpf.c run on crafted frames
 * with BPF_PROG_TEST_RUN, no interface needed. Each test loads a fresh
 * skeleton in test mode (weft_test_mode = 1) with its maps pinned under a
 * private directory of bpffs, fills the maps like the agent would, runs
 * one program and checks the verdict, the bytes that come out and the
 * counters of map stats.
 *
 * Needs root (CAP_BPF and CAP_NET_ADMIN). Without them every test is
 * skipped and the program exits 77, which meson counts as a skip. Once
 * BPF is usable, a program that fails to load is a failure.
 */

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/pkt_cls.h>

#include "datapath-skel.h"
#include "drop-reasons.h"

/* The world of the tests: one host (underlay 192.0.2.11) with two ports of
 * network 100, a port of network 100 on host 192.0.2.12, a MAC of network
 * 200 on that host too, and a third host 192.0.2.13 that has nothing. */
#define VNI 100
#define VNI_OTHER 200
#define VNI_ABSENT 300
#define IF_A 10 /* local port A: security on */
#define IF_C 11 /* local port C */
#define IF_VXLAN 50
#define IF_UNKNOWN 99

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0, 0x0c };
static const uint8_t MAC_D[6] = { 0x02, 0, 0, 0, 0, 0x0d }; /* remote */
static const uint8_t MAC_E[6] = { 0x02, 0, 0, 0, 0, 0x0e }; /* vni 200 */
static const uint8_t MAC_P[6] = { 0x02, 0, 0, 0, 0, 0x50 }; /* A's pair */
static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0x99 }; /* nobody */
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MAC_MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t MAC_ZERO[6] = { 0 };

#define IP(a, b, c, d) htonl((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define IP_A IP(10, 0, 0, 1)
#define IP_C IP(10, 0, 0, 3)
#define IP_D IP(10, 0, 0, 4)
#define IP_UNKNOWN IP(10, 0, 0, 9)
#define HOST_SELF IP(192, 0, 2, 11)
#define HOST_D IP(192, 0, 2, 12)
#define HOST_OTHER IP(192, 0, 2, 13)
#define HOST_STRANGER IP(198, 51, 100, 1)

#define ETH_P_IPV4 0x0800
#define ETH_P_ARPV 0x0806
#define ETH_P_IPV6 0x86dd

static struct datapath_bpf *skel;
static char pin_dir[64];
static const char *unavailable; /* why BPF cannot be tested here */
static int ncpus;

/* --- maps --------------------------------------------------------------- */

static void put(int fd, const void *key, const void *value)
{
	assert_int_equal(bpf_map_update_elem(fd, key, value, BPF_ANY), 0);
}

static void add_port(uint32_t ifindex, uint32_t vni, const uint8_t mac[6],
		     uint16_t flags)
{
	struct weft_port p = { .vni = vni, .flags = flags };

	memcpy(p.mac, mac, 6);
	put(bpf_map__fd(skel->maps.ports), &ifindex, &p);
}

static void add_fdb(uint32_t vni, const uint8_t mac[6], uint32_t ifindex,
		    uint32_t host_ip)
{
	struct weft_fdb_key k = { .vni = vni };
	struct weft_fdb_entry e = { .ifindex = ifindex, .host_ip = host_ip };

	memcpy(k.mac, mac, 6);
	put(bpf_map__fd(skel->maps.fdb), &k, &e);
}

static void add_neigh(uint32_t vni, uint32_t ip, const uint8_t mac[6])
{
	struct weft_neigh_key k = { .vni = vni, .ip = ip };
	struct weft_neigh_entry e = { 0 };

	memcpy(e.mac, mac, 6);
	put(bpf_map__fd(skel->maps.neigh), &k, &e);
}

static void add_port_addr(uint32_t ifindex, uint32_t ip, int prefix,
			  const uint8_t mac[6])
{
	struct weft_port_addr_key k = { .prefixlen = 32 + (uint32_t)prefix,
					.ifindex = ifindex,
					.ip = ip };
	struct weft_port_addr e = { 0 };

	memcpy(e.mac, mac, 6);
	put(bpf_map__fd(skel->maps.port_addrs), &k, &e);
}

static void add_host(uint32_t ip)
{
	struct weft_host h = { 0 };

	put(bpf_map__fd(skel->maps.hosts), &ip, &h);
}

static void add_network(uint32_t vni)
{
	struct weft_network n = { .mtu = 1450 };

	put(bpf_map__fd(skel->maps.networks), &vni, &n);
}

static void set_config(uint32_t vxlan_ifindex)
{
	struct weft_config c = { .vxlan_ifindex = vxlan_ifindex,
				 .local_ip = HOST_SELF };
	uint32_t zero = 0;

	put(bpf_map__fd(skel->maps.config), &zero, &c);
}

static struct weft_test_tunnel_key get_tunnel_key(void)
{
	struct weft_test_tunnel_key t;
	uint32_t zero = 0;

	assert_int_equal(
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.test_tunnel_key),
				    &zero, &t),
		0);
	return t;
}

/* The tunnel metadata the next run of weft_tunnel_ingress sees. */
static void set_tunnel_key(uint32_t vni, uint32_t remote_ip)
{
	struct weft_test_tunnel_key t = { .vni = vni,
					  .remote_ip = remote_ip,
					  .set = 1 };
	uint32_t zero = 0;

	put(bpf_map__fd(skel->maps.test_tunnel_key), &zero, &t);
}

/* The counters of 'ifindex' summed over the CPUs; zero when absent. */
static struct weft_stats get_stats(uint32_t ifindex)
{
	struct weft_stats sum = { 0 }, *percpu;

	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	assert_non_null(percpu);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &ifindex,
				percpu) == 0) {
		for (int c = 0; c < ncpus; c++) {
			sum.rx_packets += percpu[c].rx_packets;
			sum.rx_bytes += percpu[c].rx_bytes;
			sum.tx_packets += percpu[c].tx_packets;
			sum.tx_bytes += percpu[c].tx_bytes;
			sum.to_agent += percpu[c].to_agent;
			sum.icmp_sent += percpu[c].icmp_sent;
			for (int d = 0; d < WEFT_DROP_MAX; d++)
				sum.drops[d] += percpu[c].drops[d];
		}
	} else {
		assert_int_equal(errno, ENOENT);
	}
	free(percpu);
	return sum;
}

/* The standard world; each test adds or overrides what it is about. */
static void topology(void)
{
	add_port(IF_A, VNI, MAC_A, WEFT_PORT_F_UP | WEFT_PORT_F_SECURITY);
	add_port(IF_C, VNI, MAC_C, WEFT_PORT_F_UP | WEFT_PORT_F_SECURITY);
	add_port_addr(IF_A, IP_A, 32, MAC_A);
	add_port_addr(IF_A, IP(10, 0, 5, 0), 24, MAC_P); /* address pair */
	add_port_addr(IF_C, IP_C, 32, MAC_C);
	add_fdb(VNI, MAC_A, IF_A, HOST_SELF);
	add_fdb(VNI, MAC_C, IF_C, HOST_SELF);
	add_fdb(VNI, MAC_D, 0, HOST_D);
	add_fdb(VNI_OTHER, MAC_E, 0, HOST_D);
	add_neigh(VNI, IP_A, MAC_A);
	add_neigh(VNI, IP_C, MAC_C);
	add_neigh(VNI, IP_D, MAC_D);
	add_host(HOST_D);
	add_host(HOST_OTHER);
	add_network(VNI);
	set_config(IF_VXLAN);
}

/* --- frames ------------------------------------------------------------- */

struct frame {
	uint8_t b[256];
	uint32_t len;
};

static void put_bytes(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += (uint32_t)n;
}

static void put_u8(struct frame *f, uint8_t v)
{
	put_bytes(f, &v, 1);
}

static void put_be16(struct frame *f, uint16_t v)
{
	uint16_t be = htons(v);

	put_bytes(f, &be, 2);
}

/* 'ip' is already in network order. */
static void put_ip(struct frame *f, uint32_t ip)
{
	put_bytes(f, &ip, 4);
}

static void put_eth(struct frame *f, const uint8_t dst[6], const uint8_t src[6],
		    uint16_t proto)
{
	put_bytes(f, dst, 6);
	put_bytes(f, src, 6);
	put_be16(f, proto);
}

static void put_arp(struct frame *f, uint16_t op, const uint8_t sha[6],
		    uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	put_be16(f, 1); /* Ethernet */
	put_be16(f, ETH_P_IPV4);
	put_u8(f, 6);
	put_u8(f, 4);
	put_be16(f, op);
	put_bytes(f, sha, 6);
	put_ip(f, spa);
	put_bytes(f, tha, 6);
	put_ip(f, tpa);
}

/* An Ethernet frame with an ARP packet (42 bytes). */
static struct frame arp_frame(const uint8_t eth_dst[6],
			      const uint8_t eth_src[6], uint16_t op,
			      const uint8_t sha[6], uint32_t spa,
			      const uint8_t tha[6], uint32_t tpa)
{
	struct frame f = { .len = 0 };

	put_eth(&f, eth_dst, eth_src, ETH_P_ARPV);
	put_arp(&f, op, sha, spa, tha, tpa);
	return f;
}

/* A request from 'mac'/'ip' for 'tpa', broadcast as ARP requests are. */
static struct frame arp_request(const uint8_t mac[6], uint32_t ip, uint32_t tpa)
{
	return arp_frame(MAC_BCAST, mac, 1, mac, ip, MAC_ZERO, tpa);
}

/* IPv4 + UDP (port 4000 -> 5000) with 18 bytes of payload: 60 bytes. */
static struct frame udp_frame(const uint8_t dst[6], const uint8_t src[6],
			      uint32_t saddr, uint32_t daddr)
{
	static const char payload[18] = "weft datapath test";
	struct frame f = { .len = 0 };

	put_eth(&f, dst, src, ETH_P_IPV4);
	put_u8(&f, 0x45); /* version 4, ihl 5 */
	put_u8(&f, 0);
	put_be16(&f, 20 + 8 + sizeof(payload));
	put_be16(&f, 1); /* id */
	put_be16(&f, 0x4000); /* DF */
	put_u8(&f, 64);
	put_u8(&f, 17); /* UDP */
	put_be16(&f, 0); /* checksum: not looked at */
	put_ip(&f, saddr);
	put_ip(&f, daddr);
	put_be16(&f, 4000);
	put_be16(&f, 5000);
	put_be16(&f, 8 + sizeof(payload));
	put_be16(&f, 0);
	put_bytes(&f, payload, sizeof(payload));
	return f;
}

/* --- running ------------------------------------------------------------ */

struct result {
	int verdict;
	struct frame out;
};

/* Runs 'prog' on 'in' as if it came in on 'ingress_ifindex'. */
static int run_raw(struct bpf_program *prog, uint32_t ingress_ifindex,
		   const struct frame *in, struct result *res)
{
	/* ifindex must be a real device: the kernel gives the skb lo's. */
	struct __sk_buff ctx = { .ingress_ifindex = ingress_ifindex,
				 .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b,
		    .data_size_in = in->len, .data_out = res->out.b,
		    .data_size_out = sizeof(res->out.b), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));
	int r;

	r = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (r < 0)
		return -errno;
	res->verdict = (int)opts.retval;
	res->out.len = opts.data_size_out;
	return 0;
}

static struct result run(struct bpf_program *prog, uint32_t ingress_ifindex,
			 const struct frame *in)
{
	struct result res;

	assert_int_equal(run_raw(prog, ingress_ifindex, in, &res), 0);
	return res;
}

static struct result port_run(uint32_t ifindex, const struct frame *in)
{
	return run(skel->progs.weft_port_ingress, ifindex, in);
}

/* The tunnel program runs on the VXLAN device. */
static struct result tunnel_run(const struct frame *in)
{
	return run(skel->progs.weft_tunnel_ingress, IF_VXLAN, in);
}

static void assert_stats_equal(const struct weft_stats *a,
			       const struct weft_stats *b)
{
	assert_int_equal(a->rx_packets, b->rx_packets);
	assert_int_equal(a->rx_bytes, b->rx_bytes);
	assert_int_equal(a->tx_packets, b->tx_packets);
	assert_int_equal(a->tx_bytes, b->tx_bytes);
	assert_int_equal(a->to_agent, b->to_agent);
	assert_int_equal(a->icmp_sent, b->icmp_sent);
	for (int d = 0; d < WEFT_DROP_MAX; d++) {
		if (a->drops[d] != b->drops[d])
			print_error("drops[%s]: %llu != %llu\n",
				    drop_reason_name(d),
				    (unsigned long long)a->drops[d],
				    (unsigned long long)b->drops[d]);
		assert_int_equal(a->drops[d], b->drops[d]);
	}
}

/*
 * Runs 'prog' on 'in' from 'ingress_ifindex' and checks it is dropped for
 * 'reason': verdict TC_ACT_SHOT, exactly one more drop of that reason on
 * 'counted_on', and no other counter of it moved.
 */
static void expect_drop(struct bpf_program *prog, uint32_t ingress_ifindex,
			const struct frame *in, uint32_t counted_on,
			enum weft_drop_reason reason)
{
	struct weft_stats before = get_stats(counted_on), after;
	struct result res;
	int r;

	r = run_raw(prog, ingress_ifindex, in, &res);
	if (r < 0)
		print_error("BPF_PROG_TEST_RUN on %u bytes: %s\n", in->len,
			    strerror(-r));
	assert_int_equal(r, 0);
	if (res.verdict != TC_ACT_SHOT)
		print_error("expected a drop for %s, got verdict %d\n",
			    drop_reason_name(reason), res.verdict);
	assert_int_equal(res.verdict, TC_ACT_SHOT);
	after = get_stats(counted_on);
	before.drops[reason]++;
	assert_stats_equal(&after, &before);
}

static void expect_port_drop(uint32_t ifindex, const struct frame *in,
			     enum weft_drop_reason reason)
{
	expect_drop(skel->progs.weft_port_ingress, ifindex, in, ifindex,
		    reason);
}

static void expect_tunnel_drop(const struct frame *in,
			       enum weft_drop_reason reason)
{
	expect_drop(skel->progs.weft_tunnel_ingress, IF_VXLAN, in, IF_VXLAN,
		    reason);
}

static uint64_t total_drops(const struct weft_stats *s)
{
	uint64_t n = 0;

	for (int d = 0; d < WEFT_DROP_MAX; d++)
		n += s->drops[d];
	return n;
}

#define NEED_BPF()               \
	do {                     \
		if (unavailable) \
			skip();  \
	} while (0)

/* --- ARP responder ------------------------------------------------------ */

static void arp_reply_bytes(void **state)
{
	struct frame in, want;
	struct weft_stats s;
	struct result res;

	NEED_BPF();
	/* A 60-byte frame, padded as on the wire: the padding stays. */
	in = arp_request(MAC_A, IP_A, IP_C);
	while (in.len < 60)
		put_u8(&in, 0xa5);

	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);

	want = arp_frame(MAC_A, MAC_C, 2, MAC_C, IP_C, MAC_A, IP_A);
	while (want.len < 60)
		put_u8(&want, 0xa5);
	assert_int_equal(res.out.len, want.len);
	assert_memory_equal(res.out.b, want.b, want.len);

	/* Field by field, so that a failure says which. */
	assert_memory_equal(res.out.b + 0, MAC_A, 6); /* eth dst */
	assert_memory_equal(res.out.b + 6, MAC_C, 6); /* eth src */
	assert_int_equal(res.out.b[12], 0x08); /* ethertype */
	assert_int_equal(res.out.b[13], 0x06);
	assert_int_equal(res.out.b[14], 0x00); /* htype 1 */
	assert_int_equal(res.out.b[15], 0x01);
	assert_int_equal(res.out.b[16], 0x08); /* ptype IPv4 */
	assert_int_equal(res.out.b[17], 0x00);
	assert_int_equal(res.out.b[18], 6); /* hlen */
	assert_int_equal(res.out.b[19], 4); /* plen */
	assert_int_equal(res.out.b[20], 0); /* op 2: reply */
	assert_int_equal(res.out.b[21], 2);
	assert_memory_equal(res.out.b + 22, MAC_C, 6); /* sha: the answer */
	{
		uint32_t ip_c = IP_C, ip_a = IP_A;

		assert_memory_equal(res.out.b + 28, &ip_c, 4); /* spa */
		assert_memory_equal(res.out.b + 32, MAC_A, 6); /* tha */
		assert_memory_equal(res.out.b + 38, &ip_a, 4); /* tpa */
	}

	/* The request was accepted from A and the reply delivered to A. */
	s = get_stats(IF_A);
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.rx_bytes, 60);
	assert_int_equal(s.tx_packets, 1);
	assert_int_equal(s.tx_bytes, 60);
	assert_int_equal(total_drops(&s), 0);
}

static void arp_unicast_request_answered(void **state)
{
	struct frame in, want;
	struct result res;

	NEED_BPF();
	/* A refresh of a known entry is sent unicast (and 42 bytes long). */
	in = arp_frame(MAC_D, MAC_A, 1, MAC_A, IP_A, MAC_ZERO, IP_D);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	want = arp_frame(MAC_A, MAC_D, 2, MAC_D, IP_D, MAC_A, IP_A);
	assert_int_equal(res.out.len, 42);
	assert_memory_equal(res.out.b, want.b, want.len);
}

static void arp_unknown_target(void **state)
{
	struct frame in;

	NEED_BPF();
	in = arp_request(MAC_A, IP_A, IP_UNKNOWN);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_UNKNOWN);
}

static void arp_other_network_target(void **state)
{
	struct frame in;

	NEED_BPF();
	/* 10.0.0.9 exists, but in network 200: not an answer for A. */
	add_neigh(VNI_OTHER, IP_UNKNOWN, MAC_E);
	in = arp_request(MAC_A, IP_A, IP_UNKNOWN);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_UNKNOWN);
}

static void arp_probe_of_own_address_unanswered(void **state)
{
	struct frame in, probe;
	struct result res;

	NEED_BPF();
	/* RFC 5227 probe (sender IP 0) of A's own address: answering with
	 * A's own MAC would make A see a conflict. */
	in = arp_request(MAC_A, 0, IP_A);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_UNKNOWN);

	/* A probe of another's address is answered (the address is taken). */
	probe = arp_request(MAC_A, 0, IP_C);
	res = port_run(IF_A, &probe);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
}

static void arp_reply_dropped(void **state)
{
	struct frame in;

	NEED_BPF();
	in = arp_frame(MAC_C, MAC_A, 2, MAC_A, IP_A, MAC_C, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_NOT_REQUEST);
}

static void arp_gratuitous_dropped(void **state)
{
	struct frame in;

	NEED_BPF();
	in = arp_frame(MAC_BCAST, MAC_A, 1, MAC_A, IP_A, MAC_ZERO, IP_A);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_NOT_REQUEST);
	/* Gratuitous as a reply too. */
	in = arp_frame(MAC_BCAST, MAC_A, 2, MAC_A, IP_A, MAC_BCAST, IP_A);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_NOT_REQUEST);
}

static void arp_spoofed_sender_ip(void **state)
{
	struct frame in;

	NEED_BPF();
	/* A claims C's address. */
	in = arp_request(MAC_A, IP_C, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_SPOOF);
	/* A's own address with its pair's MAC. */
	in = arp_request(MAC_P, IP_A, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_SPOOF);
}

static void arp_sender_mac_not_source(void **state)
{
	struct frame in;

	NEED_BPF();
	/* Would steer the reply to C. */
	in = arp_frame(MAC_BCAST, MAC_A, 1, MAC_C, IP_A, MAC_ZERO, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_SPOOF);
}

static void arp_address_pair_answered(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	in = arp_request(MAC_P, IP(10, 0, 5, 77), IP_D);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_memory_equal(res.out.b, MAC_P, 6);
}

static void arp_malformed(void **state)
{
	struct frame in;

	NEED_BPF();
	/* Truncated: the ARP packet ends before the target address. */
	in = arp_request(MAC_A, IP_A, IP_C);
	in.len = 14 + 20;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	/* Not Ethernet (htype 6). */
	in = arp_request(MAC_A, IP_A, IP_C);
	in.b[15] = 6;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	/* Not IPv4 (ptype), wrong lengths. */
	in = arp_request(MAC_A, IP_A, IP_C);
	in.b[16] = 0x86;
	in.b[17] = 0xdd;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	in = arp_request(MAC_A, IP_A, IP_C);
	in.b[18] = 8;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	in = arp_request(MAC_A, IP_A, IP_C);
	in.b[19] = 16;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
}

/* --- switching ---------------------------------------------------------- */

static void local_forward(void **state)
{
	struct frame in;
	struct weft_stats a, c;
	struct result res;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(res.out.len, in.len);
	assert_memory_equal(res.out.b, in.b, in.len);
	assert_int_equal(get_tunnel_key().set, 0);

	a = get_stats(IF_A);
	c = get_stats(IF_C);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(a.rx_bytes, in.len);
	assert_int_equal(a.tx_packets, 0);
	assert_int_equal(c.tx_packets, 1);
	assert_int_equal(c.tx_bytes, in.len);
	assert_int_equal(c.rx_packets, 0);
	assert_int_equal(total_drops(&a) + total_drops(&c), 0);
}

static void remote_forward(void **state)
{
	struct weft_test_tunnel_key t;
	struct weft_stats a, vx;
	struct frame in;
	struct result res;

	NEED_BPF();
	in = udp_frame(MAC_D, MAC_A, IP_A, IP_D);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_memory_equal(res.out.b, in.b, in.len);

	t = get_tunnel_key();
	assert_int_equal(t.set, 1);
	assert_int_equal(t.vni, VNI);
	assert_int_equal(t.remote_ip, HOST_D);

	a = get_stats(IF_A);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(a.rx_bytes, in.len);
	assert_int_equal(total_drops(&a), 0);
	/* What goes into the tunnel is not a port's tx. */
	vx = get_stats(IF_VXLAN);
	assert_int_equal(vx.tx_packets, 0);
}

static void remote_forward_without_vxlan_device(void **state)
{
	struct frame in;

	NEED_BPF();
	set_config(0);
	in = udp_frame(MAC_D, MAC_A, IP_A, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_REDIRECT);
}

static void forged_source_mac(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_X, IP_A, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
	/* C's MAC from A's port. */
	in = udp_frame(MAC_D, MAC_C, IP_C, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
}

static void forged_source_ip(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_A, IP(10, 0, 0, 77), IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_IP);
	/* C's address from A. */
	in = udp_frame(MAC_D, MAC_A, IP_C, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_IP);
}

static void allowed_address_pair(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	/* Any address of 10.0.5.0/24, with the pair's MAC. */
	in = udp_frame(MAC_C, MAC_P, IP(10, 0, 5, 7), IP_C);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	in = udp_frame(MAC_D, MAC_P, IP(10, 0, 5, 254), IP_D);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_stats(IF_A).rx_packets, 2);

	/* The pair's address with the port's own MAC. */
	in = udp_frame(MAC_C, MAC_A, IP(10, 0, 5, 7), IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_IP);
	/* The pair's MAC with the port's fixed address. */
	in = udp_frame(MAC_C, MAC_P, IP_A, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
	/* Just outside the prefix. */
	in = udp_frame(MAC_C, MAC_P, IP(10, 0, 6, 1), IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
	/* The pair belongs to A, not to C. */
	in = udp_frame(MAC_A, MAC_P, IP(10, 0, 5, 7), IP_A);
	expect_port_drop(IF_C, &in, WEFT_DROP_SRC_MAC);
}

static void port_security_disabled(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	add_port(IF_A, VNI, MAC_A, WEFT_PORT_F_UP);
	in = udp_frame(MAC_C, MAC_X, IP(172, 16, 0, 1), IP_C);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_stats(IF_A).rx_packets, 1);
	assert_int_equal(get_stats(IF_C).tx_packets, 1);

	/* ARP from a forged address is answered too, but the sender MAC
	 * must still be the frame's source. */
	in = arp_request(MAC_X, IP(172, 16, 0, 1), IP_C);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	in = arp_frame(MAC_BCAST, MAC_X, 1, MAC_C, IP_A, MAC_ZERO, IP_D);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_SPOOF);
}

static void broadcast_and_multicast(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_BCAST, MAC_A, IP_A, IP(255, 255, 255, 255));
	expect_port_drop(IF_A, &in, WEFT_DROP_BROADCAST);
	in = udp_frame(MAC_MCAST, MAC_A, IP_A, IP(224, 0, 0, 1));
	expect_port_drop(IF_A, &in, WEFT_DROP_BROADCAST);
}

static void unknown_unicast(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_X, MAC_A, IP_A, IP_UNKNOWN);
	expect_port_drop(IF_A, &in, WEFT_DROP_UNKNOWN_DST);
}

static void other_tenant_mac(void **state)
{
	struct frame in;

	NEED_BPF();
	/* MAC_E exists, but only in network 200. */
	in = udp_frame(MAC_E, MAC_A, IP_A, IP_UNKNOWN);
	expect_port_drop(IF_A, &in, WEFT_DROP_UNKNOWN_DST);
	assert_int_equal(get_tunnel_key().set, 0);
}

static void destination_admin_down(void **state)
{
	struct frame in;

	NEED_BPF();
	add_port(IF_C, VNI, MAC_C, WEFT_PORT_F_SECURITY);
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_ADMIN_DOWN);
	assert_int_equal(get_stats(IF_C).tx_packets, 0);
}

/* --- parsing ------------------------------------------------------------ */

/*
 * A frame too short for the IPv4 header it announces. Kernels since about
 * 6.x refuse to run a program on such a frame (BPF_PROG_TEST_RUN reads the
 * addresses of an IPv4 skb for its socket), so the datapath cannot be
 * asked; when the kernel runs it, it must be dropped as malformed.
 */
static void expect_short_ipv4_malformed(const struct frame *in)
{
	struct weft_stats before = get_stats(IF_A), after;
	struct result res;
	int r;

	r = run_raw(skel->progs.weft_port_ingress, IF_A, in, &res);
	if (r == -EINVAL) {
		after = get_stats(IF_A);
		assert_stats_equal(&after, &before);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(res.verdict, TC_ACT_SHOT);
	after = get_stats(IF_A);
	before.drops[WEFT_DROP_MALFORMED]++;
	assert_stats_equal(&after, &before);
}

static void truncated_ethernet(void **state)
{
	struct frame in = { .len = 0 };
	struct weft_stats before, after;
	struct result res;

	NEED_BPF();
	/* The kernel refuses to run a TC program on less than an Ethernet
	 * header; nothing is counted. */
	put_eth(&in, MAC_C, MAC_A, ETH_P_IPV4);
	in.len = 13;
	before = get_stats(IF_A);
	assert_int_equal(
		run_raw(skel->progs.weft_port_ingress, IF_A, &in, &res),
		-EINVAL);
	after = get_stats(IF_A);
	assert_stats_equal(&after, &before);

	/* The header alone, announcing ARP or IPv4. */
	in.len = 0;
	put_eth(&in, MAC_BCAST, MAC_A, ETH_P_ARPV);
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	in.len = 0;
	put_eth(&in, MAC_C, MAC_A, ETH_P_IPV4);
	expect_short_ipv4_malformed(&in);
}

static void truncated_ipv4(void **state)
{
	struct frame in;

	NEED_BPF();
	/* Less than the 20 bytes of a header. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.len = 14 + 19;
	expect_short_ipv4_malformed(&in);
	/* Total length beyond the frame: the packet was cut. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.len = 14 + 30;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	in.len = 14 + 20;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	/* Version 6 in an IPv4 ethertype. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.b[14] = 0x65;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	/* Header length below 20 bytes. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.b[14] = 0x44;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
	/* Header length beyond the total length. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.b[16] = 0;
	in.b[17] = 20;
	in.b[14] = 0x46;
	expect_port_drop(IF_A, &in, WEFT_DROP_MALFORMED);
}

static void ipv4_with_padding_accepted(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	/* A 20-byte IPv4 packet padded to the Ethernet minimum. */
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.b[16] = 0;
	in.b[17] = 20;
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
}

static void non_ipv4_ethertype(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	in.b[12] = 0x86;
	in.b[13] = 0xdd;
	expect_port_drop(IF_A, &in, WEFT_DROP_ETHERTYPE);
	/* A VLAN tag. */
	in.b[12] = 0x81;
	in.b[13] = 0x00;
	expect_port_drop(IF_A, &in, WEFT_DROP_ETHERTYPE);
}

static void unknown_ingress_port(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	expect_port_drop(IF_UNKNOWN, &in, WEFT_DROP_NO_PORT);
	assert_int_equal(get_stats(IF_C).tx_packets, 0);
}

static void admin_down(void **state)
{
	struct frame in;

	NEED_BPF();
	add_port(IF_A, VNI, MAC_A, WEFT_PORT_F_SECURITY);
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_ADMIN_DOWN);
	/* ARP is not answered either. */
	in = arp_request(MAC_A, IP_A, IP_C);
	expect_port_drop(IF_A, &in, WEFT_DROP_ADMIN_DOWN);
}

/* --- tunnel ------------------------------------------------------------- */

static void tunnel_deliver(void **state)
{
	struct weft_stats vx, c, d;
	struct frame in;
	struct result res;

	NEED_BPF();
	set_tunnel_key(VNI, HOST_D);
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	res = tunnel_run(&in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(res.out.len, in.len);
	assert_memory_equal(res.out.b, in.b, in.len);

	vx = get_stats(IF_VXLAN);
	assert_int_equal(vx.rx_packets, 1);
	assert_int_equal(vx.rx_bytes, in.len);
	assert_int_equal(total_drops(&vx), 0);
	c = get_stats(IF_C);
	assert_int_equal(c.tx_packets, 1);
	assert_int_equal(c.tx_bytes, in.len);
	d = get_stats(IF_A);
	assert_int_equal(d.tx_packets, 0);
}

static void tunnel_no_key(void **state)
{
	struct frame in;

	NEED_BPF();
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_NO_TUNNEL_KEY);
}

static void tunnel_unknown_host(void **state)
{
	struct frame in;

	NEED_BPF();
	set_tunnel_key(VNI, HOST_STRANGER);
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_UNKNOWN_HOST);
}

static void tunnel_unknown_vni(void **state)
{
	struct frame in;

	NEED_BPF();
	/* Network 200 has no port here; 300 exists nowhere. */
	set_tunnel_key(VNI_OTHER, HOST_D);
	in = udp_frame(MAC_C, MAC_E, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_UNKNOWN_VNI);
	set_tunnel_key(VNI_ABSENT, HOST_D);
	expect_tunnel_drop(&in, WEFT_DROP_UNKNOWN_VNI);
}

static void tunnel_not_local(void **state)
{
	struct frame in;

	NEED_BPF();
	set_tunnel_key(VNI, HOST_D);
	/* A MAC that lives on a remote host: no hairpin through us. */
	in = udp_frame(MAC_D, MAC_D, IP_D, IP_D);
	expect_tunnel_drop(&in, WEFT_DROP_NOT_LOCAL);
	/* A MAC that does not exist. */
	in = udp_frame(MAC_X, MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_NOT_LOCAL);
	/* A local port of another network. */
	add_network(VNI_OTHER);
	add_fdb(VNI_OTHER, MAC_X, 0, HOST_D);
	set_tunnel_key(VNI_OTHER, HOST_D);
	in = udp_frame(MAC_C, MAC_X, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_NOT_LOCAL);
}

static void tunnel_source_not_from_host(void **state)
{
	struct frame in;

	NEED_BPF();
	/* D lives on 192.0.2.12; 192.0.2.13 speaks in its name. */
	set_tunnel_key(VNI, HOST_OTHER);
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_TUNNEL_SRC);
	/* A local port's MAC from the tunnel. */
	set_tunnel_key(VNI, HOST_D);
	in = udp_frame(MAC_C, MAC_A, IP_A, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_TUNNEL_SRC);
	/* An unknown MAC. */
	in = udp_frame(MAC_C, MAC_X, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_TUNNEL_SRC);
	/* E is on the right host, but in network 200. */
	in = udp_frame(MAC_C, MAC_E, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_TUNNEL_SRC);
}

static void tunnel_broadcast_inner(void **state)
{
	struct frame in;

	NEED_BPF();
	set_tunnel_key(VNI, HOST_D);
	in = udp_frame(MAC_BCAST, MAC_D, IP_D, IP(10, 0, 0, 255));
	expect_tunnel_drop(&in, WEFT_DROP_BROADCAST);
	in = udp_frame(MAC_MCAST, MAC_D, IP_D, IP(224, 0, 0, 1));
	expect_tunnel_drop(&in, WEFT_DROP_BROADCAST);
	in = arp_request(MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_BROADCAST);
}

static void tunnel_arp_and_ethertype(void **state)
{
	struct frame in;

	NEED_BPF();
	set_tunnel_key(VNI, HOST_D);
	/* ARP is answered at the edge, never carried. */
	in = arp_frame(MAC_C, MAC_D, 1, MAC_D, IP_D, MAC_ZERO, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_ARP_NOT_REQUEST);
	in = arp_frame(MAC_C, MAC_D, 2, MAC_D, IP_D, MAC_C, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_ARP_NOT_REQUEST);
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	in.b[12] = 0x86;
	in.b[13] = 0xdd;
	expect_tunnel_drop(&in, WEFT_DROP_ETHERTYPE);
}

static void tunnel_destination_admin_down(void **state)
{
	struct frame in;

	NEED_BPF();
	add_port(IF_C, VNI, MAC_C, WEFT_PORT_F_SECURITY);
	set_tunnel_key(VNI, HOST_D);
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	expect_tunnel_drop(&in, WEFT_DROP_ADMIN_DOWN);
}

/* --- routing ------------------------------------------------------------ */

/*
 * The routed world, added to the standard one by routing_topology():
 * router 1 joins network 100 (10.0.0.0/24, A and C, gateway .254) and
 * network 200 (10.0.1.0/24: local port B, E on host 192.0.2.12). Tenant
 * 2 has the very same ranges behind router 2: network 310 with local port
 * F (10.0.0.1, like A) and network 320 with G on host 192.0.2.13. Router 3
 * (two_routers_*) shares network 200 with router 1 and joins network 500
 * (10.0.2.0/24, H on host 192.0.2.12).
 */
#define R1 1
#define R2 2
#define R3 3
#define VNI_T2A 310
#define VNI_T2B 320
#define VNI_FAR 500
#define IF_B 12 /* local port of network 200 */
#define IF_F 13 /* local port of network 310 (tenant 2) */

static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_F[6] = { 0x02, 0, 0, 0, 0, 0x0f };
static const uint8_t MAC_G[6] = { 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t MAC_H[6] = { 0x02, 0, 0, 0, 0, 0x11 };
static const uint8_t MAC_R1A[6] = { 0x02, 0, 0, 0, 0x01, 0x0a };
static const uint8_t MAC_R1B[6] = { 0x02, 0, 0, 0, 0x01, 0x0b };
static const uint8_t MAC_R2A[6] = { 0x02, 0, 0, 0, 0x02, 0x0a };
static const uint8_t MAC_R2B[6] = { 0x02, 0, 0, 0, 0x02, 0x0b };
static const uint8_t MAC_R3A[6] = { 0x02, 0, 0, 0, 0x03, 0x0a };
static const uint8_t MAC_R3B[6] = { 0x02, 0, 0, 0, 0x03, 0x0b };

#define GW_A IP(10, 0, 0, 254) /* router 1 (and 2) on 10.0.0.0/24 */
#define GW_B IP(10, 0, 1, 254) /* router 1 (and 2) on 10.0.1.0/24 */
#define GW_R3 IP(10, 0, 1, 253) /* router 3 on 10.0.1.0/24 */
#define GW_FAR IP(10, 0, 2, 254) /* router 3 on 10.0.2.0/24 */
#define IP_B IP(10, 0, 1, 3)
#define IP_E IP(10, 0, 1, 5) /* also G's, in tenant 2 */
#define IP_H IP(10, 0, 2, 7)
#define IP_OUTSIDE IP(8, 8, 8, 8)

#define IPPROTO_ICMP_ 1
#define IPPROTO_UDP_ 17

static void add_router_mac(uint32_t vni, const uint8_t mac[6], uint32_t router,
			   uint32_t flags)
{
	struct weft_fdb_key k = { .vni = vni };
	struct weft_fdb_entry e = { .router = router, .flags = flags };

	memcpy(k.mac, mac, 6);
	put(bpf_map__fd(skel->maps.fdb), &k, &e);
}

static void add_route(uint32_t router, uint32_t ip, int prefix,
		      const struct weft_route *rt)
{
	struct weft_route_key k = { .prefixlen = 64 + (uint32_t)prefix,
				    .router = router,
				    .ip = ip };

	put(bpf_map__fd(skel->maps.routes), &k, rt);
}

/* A router interface as the agent writes it: fdb, neigh and the
 * connected route of its subnet. */
static void add_router_interface(uint32_t router, uint32_t vni,
				 const uint8_t mac[6], uint32_t ifaddr,
				 uint32_t subnet, int prefix)
{
	struct weft_route rt = { .kind = WEFT_ROUTE_CONNECTED,
				 .vni = vni,
				 .ifaddr = ifaddr };

	memcpy(rt.mac, mac, 6);
	add_router_mac(vni, mac, router, 0);
	add_neigh(vni, ifaddr, mac);
	add_route(router, subnet, prefix, &rt);
}

static void add_static_route(uint32_t router, uint32_t dst, int prefix,
			     uint32_t nexthop)
{
	struct weft_route rt = { .kind = WEFT_ROUTE_NEXTHOP,
				 .nexthop = nexthop };

	add_route(router, dst, prefix, &rt);
}

static void add_local_port(uint32_t ifindex, uint32_t vni, const uint8_t mac[6],
			   uint32_t ip)
{
	add_port(ifindex, vni, mac, WEFT_PORT_F_UP | WEFT_PORT_F_SECURITY);
	add_port_addr(ifindex, ip, 32, mac);
	add_fdb(vni, mac, ifindex, HOST_SELF);
	add_neigh(vni, ip, mac);
}

static void routing_topology(void)
{
	add_router_interface(R1, VNI, MAC_R1A, GW_A, IP(10, 0, 0, 0), 24);
	add_router_interface(R1, VNI_OTHER, MAC_R1B, GW_B, IP(10, 0, 1, 0), 24);
	add_local_port(IF_B, VNI_OTHER, MAC_B, IP_B);
	add_neigh(VNI_OTHER, IP_E, MAC_E); /* E: fdb on 192.0.2.12 */

	add_router_interface(R2, VNI_T2A, MAC_R2A, GW_A, IP(10, 0, 0, 0), 24);
	add_router_interface(R2, VNI_T2B, MAC_R2B, GW_B, IP(10, 0, 1, 0), 24);
	add_local_port(IF_F, VNI_T2A, MAC_F, IP_A);
	add_fdb(VNI_T2B, MAC_G, 0, HOST_OTHER);
	add_neigh(VNI_T2B, IP_E, MAC_G);
}

/* Router 3 behind router 1 on network 200, and the routes between. */
static void second_router(void)
{
	add_router_interface(R3, VNI_OTHER, MAC_R3A, GW_R3, IP(10, 0, 1, 0),
			     24);
	add_router_interface(R3, VNI_FAR, MAC_R3B, GW_FAR, IP(10, 0, 2, 0), 24);
	add_static_route(R1, IP(10, 0, 2, 0), 24, GW_R3);
	add_static_route(R3, IP(10, 0, 0, 0), 24, GW_B);
	add_fdb(VNI_FAR, MAC_H, 0, HOST_D);
	add_neigh(VNI_FAR, IP_H, MAC_H);
}

/* The Internet checksum of 'n' bytes at 'p': 0 over a valid header. */
static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct ipv4_spec {
	uint32_t saddr, daddr;
	uint8_t proto;
	uint8_t ttl;
	uint16_t frag; /* flags and offset, host order */
	const uint8_t *opts;
	size_t optlen; /* a multiple of 4 */
};

/* An IPv4 frame with a valid header checksum and 'payload' after it. */
static struct frame ipv4_frame(const uint8_t dst[6], const uint8_t src[6],
			       const struct ipv4_spec *s, const void *payload,
			       size_t len)
{
	struct frame f = { .len = 0 };
	uint16_t c;

	put_eth(&f, dst, src, ETH_P_IPV4);
	put_u8(&f, (uint8_t)(0x40 | (20 + s->optlen) / 4));
	put_u8(&f, 0);
	put_be16(&f, (uint16_t)(20 + s->optlen + len));
	put_be16(&f, 0x1234); /* id */
	put_be16(&f, s->frag);
	put_u8(&f, s->ttl);
	put_u8(&f, s->proto);
	put_be16(&f, 0);
	put_ip(&f, s->saddr);
	put_ip(&f, s->daddr);
	if (s->optlen)
		put_bytes(&f, s->opts, s->optlen);
	c = csum(f.b + 14, 20 + s->optlen);
	f.b[24] = (uint8_t)(c >> 8);
	f.b[25] = (uint8_t)c;
	put_bytes(&f, payload, len);
	return f;
}

/* UDP 4000 -> 5000 with 18 bytes of payload, TTL 'ttl'. */
static struct frame routed_udp(const uint8_t dst[6], const uint8_t src[6],
			       uint32_t saddr, uint32_t daddr, uint8_t ttl)
{
	static const uint8_t udp[26] = { 0x0f, 0xa0, 0x13, 0x88, 0,   26,  0,
					 0,    'w',  'e',  'f',	 't', ' ', 'r',
					 'o',  'u',  't',  'e',	 'd', ' ', 'p',
					 'a',  'c',  'k',  'e',	 't' };
	struct ipv4_spec s = { .saddr = saddr,
			       .daddr = daddr,
			       .proto = IPPROTO_UDP_,
			       .ttl = ttl,
			       .frag = 0x4000 };

	return ipv4_frame(dst, src, &s, udp, sizeof(udp));
}

/* An ICMP message of 'type'/'code' (id 0x4242, seq 7 and 12 bytes of
 * data) with a valid checksum. */
static struct frame icmp_frame(const uint8_t dst[6], const uint8_t src[6],
			       uint32_t saddr, uint32_t daddr, uint8_t type,
			       uint8_t code, uint8_t ttl)
{
	uint8_t icmp[20] = { type, code, 0,   0,   0x42, 0x42, 0,
			     7,	   'p',	 'i', 'n', 'g',	 ' ',  'p',
			     'a',  'y',	 'l', 'o', 'a',	 'd' };
	struct ipv4_spec s = { .saddr = saddr,
			       .daddr = daddr,
			       .proto = IPPROTO_ICMP_,
			       .ttl = ttl };
	uint16_t c = csum(icmp, sizeof(icmp));

	icmp[2] = (uint8_t)(c >> 8);
	icmp[3] = (uint8_t)c;
	return ipv4_frame(dst, src, &s, icmp, sizeof(icmp));
}

static size_t ip_hlen(const struct frame *f)
{
	return (size_t)(f->b[14] & 0xf) * 4;
}

/*
 * Checks that 'out' is 'in' routed across 'hops' routers: Ethernet
 * destination 'dst' and source 'src', TTL 'hops' lower, a valid header
 * checksum, and every other byte (options, fragment fields, payload) as
 * it was.
 */
static void assert_routed(const struct frame *out, const struct frame *in,
			  const uint8_t dst[6], const uint8_t src[6], int hops)
{
	size_t hl = ip_hlen(in);

	assert_int_equal(out->len, in->len);
	assert_memory_equal(out->b, dst, 6);
	assert_memory_equal(out->b + 6, src, 6);
	assert_memory_equal(out->b + 12, in->b + 12, 2 + 8);
	assert_int_equal(out->b[22], in->b[22] - hops); /* TTL */
	assert_int_equal(out->b[23], in->b[23]); /* protocol */
	assert_int_equal(csum(out->b + 14, hl), 0);
	assert_memory_equal(out->b + 26, in->b + 26, in->len - 26);
}

/*
 * Checks that 'out' is the ICMP error 'type'/'code' about the packet
 * 'quoted' (the IP packet as the router saw it, from its IP header), sent
 * from 'mac_src'/'ip_src' to 'mac_dst'/'ip_dst': headers, lengths,
 * checksums, and the quote (header with options and 8 bytes).
 */
static void assert_icmp_error(const struct frame *out, const uint8_t *quoted,
			      uint8_t type, uint8_t code,
			      const uint8_t mac_dst[6],
			      const uint8_t mac_src[6], uint32_t ip_src,
			      uint32_t ip_dst)
{
	size_t hl = (size_t)(quoted[0] & 0xf) * 4;
	size_t tot = (size_t)(quoted[2] << 8 | quoted[3]);
	size_t q = hl + (tot - hl < 8 ? tot - hl : 8);
	static const uint8_t zero4[4] = { 0 };

	assert_int_equal(out->len, 14 + 20 + 8 + q);
	assert_memory_equal(out->b, mac_dst, 6);
	assert_memory_equal(out->b + 6, mac_src, 6);
	assert_int_equal(out->b[12], 0x08);
	assert_int_equal(out->b[13], 0x00);
	assert_int_equal(out->b[14], 0x45);
	assert_int_equal(out->b[16] << 8 | out->b[17], 20 + 8 + q);
	assert_int_equal(out->b[20] & 0x1f, 0); /* not a fragment */
	assert_int_equal(out->b[22], 64); /* TTL */
	assert_int_equal(out->b[23], IPPROTO_ICMP_);
	assert_int_equal(csum(out->b + 14, 20), 0);
	assert_memory_equal(out->b + 26, &ip_src, 4);
	assert_memory_equal(out->b + 30, &ip_dst, 4);
	assert_int_equal(out->b[34], type);
	assert_int_equal(out->b[35], code);
	assert_int_equal(csum(out->b + 34, 8 + q), 0);
	assert_memory_equal(out->b + 38, zero4, 4);
	assert_memory_equal(out->b + 42, quoted, q);
}

/*
 * Runs the port program on 'in' from 'ifindex' and checks that it is
 * answered with an ICMP error back out of the tap while counted as a drop
 * for 'reason': one more drop, icmp_sent and tx (the error) on the port,
 * nothing else. Returns the error.
 */
static struct frame expect_icmp_error(uint32_t ifindex, const struct frame *in,
				      enum weft_drop_reason reason)
{
	struct weft_stats before = get_stats(ifindex), after;
	struct result res;

	res = port_run(ifindex, in);
	if (res.verdict != TC_ACT_REDIRECT)
		print_error("expected an ICMP error for %s, got verdict %d\n",
			    drop_reason_name(reason), res.verdict);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	after = get_stats(ifindex);
	before.drops[reason]++;
	before.icmp_sent++;
	before.tx_packets++;
	before.tx_bytes += res.out.len;
	assert_stats_equal(&after, &before);
	return res.out;
}

static void routed_local_rewrite(void **state)
{
	struct weft_stats a, b;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* A (10.0.0.1, network 100) to B (10.0.1.3, network 200), sent to
	 * its gateway's MAC. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_int_equal(res.out.b[22], 63);
	assert_int_equal(get_tunnel_key().set, 0);

	a = get_stats(IF_A);
	b = get_stats(IF_B);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(a.rx_bytes, in.len);
	assert_int_equal(a.tx_packets, 0);
	assert_int_equal(a.icmp_sent, 0);
	assert_int_equal(b.tx_packets, 1);
	assert_int_equal(b.tx_bytes, in.len);
	assert_int_equal(total_drops(&a) + total_drops(&b), 0);

	/* And back, B to A, from network 200. */
	in = routed_udp(MAC_R1B, MAC_B, IP_B, IP_A, 2);
	res = port_run(IF_B, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_A, MAC_R1A, 1);
	assert_int_equal(get_stats(IF_A).tx_packets, 1);
}

static void routed_remote_out_vni(void **state)
{
	struct weft_test_tunnel_key t;
	struct weft_stats a;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* E lives on 192.0.2.12 in network 200: the tunnel key carries 200,
	 * the network of the destination, not 100, the sender's. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_E, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_E, MAC_R1B, 1);
	t = get_tunnel_key();
	assert_int_equal(t.set, 1);
	assert_int_equal(t.vni, VNI_OTHER);
	assert_int_equal(t.remote_ip, HOST_D);
	a = get_stats(IF_A);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(total_drops(&a), 0);
}

static void routed_received_from_tunnel(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	add_network(VNI_OTHER);
	/* What 192.0.2.12 routed to B: its source is router 1's MAC, which
	 * lives on every host. */
	set_tunnel_key(VNI_OTHER, HOST_D);
	in = routed_udp(MAC_B, MAC_R1B, IP(10, 0, 0, 4), IP_B, 63);
	res = tunnel_run(&in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_memory_equal(res.out.b, in.b, in.len);
	assert_int_equal(get_stats(IF_B).tx_packets, 1);
	/* A router's MAC is not a destination from the tunnel. */
	in = routed_udp(MAC_R1B, MAC_E, IP_E, IP_B, 63);
	expect_tunnel_drop(&in, WEFT_DROP_NOT_LOCAL);
}

static void lpm_connected_and_static(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* 10.0.1.128/25 is behind B (a VM that routes), more specific than
	 * the connected 10.0.1.0/24. */
	add_static_route(R1, IP(10, 0, 1, 128), 25, IP_B);
	add_neigh(VNI_OTHER, IP(10, 0, 1, 200), MAC_E); /* must not be used */

	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 0, 1, 200), 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_int_equal(get_tunnel_key().set, 0);
	assert_int_equal(get_stats(IF_B).tx_packets, 1);

	/* Below .128, the connected subnet: E, remote. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_E, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_E, MAC_R1B, 1);
	assert_int_equal(get_tunnel_key().set, 1);
}

static void static_route_nexthop(void **state)
{
	struct frame in, err;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* 192.168.0.0/16 and the default route through B. */
	add_static_route(R1, IP(192, 168, 0, 0), 16, IP_B);
	add_static_route(R1, 0, 0, IP_B);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(192, 168, 4, 4), 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_int_equal(get_stats(IF_B).tx_packets, 2);

	/* A next hop that is not on a connected subnet resolves nowhere
	 * (nor through another static route): net unreachable. */
	add_static_route(R1, IP(172, 16, 0, 0), 12, IP(192, 168, 9, 9));
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(172, 16, 1, 1), 64);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_ROUTE);
	assert_icmp_error(&err, in.b + 14, 3, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	/* A next hop without a port: host unreachable. */
	add_static_route(R1, IP(172, 16, 0, 0), 12, IP(10, 0, 1, 99));
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_NEIGH);
	assert_icmp_error(&err, in.b + 14, 3, 1, MAC_A, MAC_R1A, GW_A, IP_A);
}

static void ttl_exceeded_icmp(void **state)
{
	static const uint8_t opts[8] = { 0x01, 0x01, 0x01, 0x01,
					 0x01, 0x01, 0x01, 0x00 };
	struct ipv4_spec s = { .saddr = IP_A,
			       .daddr = IP_B,
			       .proto = IPPROTO_UDP_,
			       .ttl = 1,
			       .opts = opts,
			       .optlen = sizeof(opts) };
	static const uint8_t udp[4] = { 0x0f, 0xa0, 0x13, 0x88 };
	struct frame in, err;

	NEED_BPF();
	routing_topology();
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 1);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	/* From the router's address on A's subnet, quoting A's header and
	 * the UDP header. */
	assert_icmp_error(&err, in.b + 14, 11, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	assert_int_equal(err.len, 14 + 20 + 8 + 20 + 8);
	assert_int_equal(get_stats(IF_B).tx_packets, 0);

	/* TTL 0 likewise. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 0);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	assert_icmp_error(&err, in.b + 14, 11, 0, MAC_A, MAC_R1A, GW_A, IP_A);

	/* A header with options is quoted whole; a payload shorter than 8
	 * bytes is quoted as it is. The packet grows to hold the error. */
	in = ipv4_frame(MAC_R1A, MAC_A, &s, udp, sizeof(udp));
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	assert_icmp_error(&err, in.b + 14, 11, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	assert_int_equal(err.len, 14 + 20 + 8 + 28 + 4);
	assert_true(err.len > in.len);

	/* From B's side, from the router's address there. */
	in = routed_udp(MAC_R1B, MAC_B, IP_B, IP_A, 1);
	err = expect_icmp_error(IF_B, &in, WEFT_DROP_TTL_EXCEEDED);
	assert_icmp_error(&err, in.b + 14, 11, 0, MAC_B, MAC_R1B, GW_B, IP_B);
}

static void router_arp_reply(void **state)
{
	struct frame in, want;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* The existing responder answers for the gateway: the agent puts
	 * the router's interfaces in neigh. */
	in = arp_request(MAC_A, IP_A, GW_A);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	want = arp_frame(MAC_A, MAC_R1A, 2, MAC_R1A, GW_A, MAC_A, IP_A);
	assert_int_equal(res.out.len, want.len);
	assert_memory_equal(res.out.b, want.b, want.len);
	/* Router 1's address on network 200 is not an answer in 100. */
	in = arp_request(MAC_A, IP_A, GW_B);
	expect_port_drop(IF_A, &in, WEFT_DROP_ARP_UNKNOWN);
	/* Tenant 2's gateway has the same address and its own MAC. */
	in = arp_request(MAC_F, IP_A, GW_A);
	res = port_run(IF_F, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_memory_equal(res.out.b + 22, MAC_R2A, 6);
}

/* Checks that 'out' is the echo reply to the echo request 'in' from
 * 'ip_from', Ethernet from 'mac_from'. */
static void assert_echo_reply(const struct frame *out, const struct frame *in,
			      const uint8_t mac_from[6], uint32_t ip_from)
{
	assert_int_equal(out->len, in->len);
	assert_memory_equal(out->b, in->b + 6, 6);
	assert_memory_equal(out->b + 6, mac_from, 6);
	assert_memory_equal(out->b + 12, in->b + 12, 10); /* to the TTL */
	assert_int_equal(out->b[22], 64);
	assert_int_equal(out->b[23], IPPROTO_ICMP_);
	assert_int_equal(csum(out->b + 14, 20), 0);
	assert_memory_equal(out->b + 26, &ip_from, 4);
	assert_memory_equal(out->b + 30, in->b + 26, 4);
	assert_int_equal(out->b[34], 0); /* echo reply */
	assert_int_equal(out->b[35], 0);
	assert_int_equal(csum(out->b + 34, in->len - 34), 0);
	/* Identifier, sequence and data as they were. */
	assert_memory_equal(out->b + 38, in->b + 38, in->len - 38);
}

static void router_echo_reply(void **state)
{
	struct weft_stats before, after;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 8, 0, 64);
	before = get_stats(IF_A);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_echo_reply(&res.out, &in, MAC_R1A, GW_A);
	after = get_stats(IF_A);
	before.rx_packets++;
	before.rx_bytes += in.len;
	before.tx_packets++;
	before.tx_bytes += in.len;
	before.icmp_sent++;
	assert_stats_equal(&after, &before);

	/* The router's address on the other subnet answers too, through the
	 * interface the request was sent to; and a TTL of 1 is fine for a
	 * packet that is not forwarded. */
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_B, 8, 0, 1);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_echo_reply(&res.out, &in, MAC_R1A, GW_B);
	assert_int_equal(get_stats(IF_A).icmp_sent, 2);

	/* Anything else to the router is dropped. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, GW_A, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_TO_ROUTER);
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 0, 0, 64); /* a reply */
	expect_port_drop(IF_A, &in, WEFT_DROP_TO_ROUTER);
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 8, 0, 64);
	in.b[20] = 0x20; /* a fragment: the router does not reassemble */
	in.b[24] = in.b[25] = 0;
	{
		uint16_t c = csum(in.b + 14, 20);

		in.b[24] = (uint8_t)(c >> 8);
		in.b[25] = (uint8_t)c;
	}
	expect_port_drop(IF_A, &in, WEFT_DROP_TO_ROUTER);
}

static void net_and_host_unreachable(void **state)
{
	struct frame in, err;

	NEED_BPF();
	routing_topology();
	/* No route (no default route either). */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 64);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_ROUTE);
	assert_icmp_error(&err, in.b + 14, 3, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	/* An echo request is not an error: it gets one. */
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 8, 0, 64);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_ROUTE);
	assert_icmp_error(&err, in.b + 14, 3, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	/* A connected subnet without that address. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 0, 1, 77), 64);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_NEIGH);
	assert_icmp_error(&err, in.b + 14, 3, 1, MAC_A, MAC_R1A, GW_A, IP_A);
	/* neigh knows the address, fdb does not know where it lives. */
	add_neigh(VNI_OTHER, IP(10, 0, 1, 78), MAC_X);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 0, 1, 78), 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_UNKNOWN_DST);

	/* Never an error about an error: dropped, nothing sent. */
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 3, 1, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_NO_ROUTE);
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, IP_B, 11, 0, 1);
	expect_port_drop(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	/* Nor to a broadcast destination. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(255, 255, 255, 255), 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_NO_ROUTE);
	assert_int_equal(get_stats(IF_A).icmp_sent, 3);
}

static void overlapping_tenants(void **state)
{
	struct weft_test_tunnel_key t;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* 10.0.0.1 -> 10.0.1.5 in tenant 1: E, network 200, 192.0.2.12. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_E, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_E, MAC_R1B, 1);
	t = get_tunnel_key();
	assert_int_equal(t.vni, VNI_OTHER);
	assert_int_equal(t.remote_ip, HOST_D);

	/* The same addresses in tenant 2: G, network 320, 192.0.2.13. */
	in = routed_udp(MAC_R2A, MAC_F, IP_A, IP_E, 64);
	res = port_run(IF_F, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_G, MAC_R2B, 1);
	t = get_tunnel_key();
	assert_int_equal(t.vni, VNI_T2B);
	assert_int_equal(t.remote_ip, HOST_OTHER);

	/* Tenant 2 has no B: its router never finds tenant 1's. */
	in = routed_udp(MAC_R2A, MAC_F, IP_A, IP_B, 64);
	expect_icmp_error(IF_F, &in, WEFT_DROP_NO_NEIGH);
	assert_int_equal(get_stats(IF_B).tx_packets, 0);
	/* Tenant 1's router MAC is not in tenant 2's network. */
	in = routed_udp(MAC_R1A, MAC_F, IP_A, IP_E, 64);
	expect_port_drop(IF_F, &in, WEFT_DROP_UNKNOWN_DST);
	/* An echo to tenant 2's gateway answers from its own MAC. */
	in = icmp_frame(MAC_R2A, MAC_F, IP_A, GW_A, 8, 0, 64);
	res = port_run(IF_F, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_echo_reply(&res.out, &in, MAC_R2A, GW_A);
}

static void two_routers_one_pass(void **state)
{
	struct weft_test_tunnel_key t;
	struct frame in, err, seen;
	struct result res;

	NEED_BPF();
	routing_topology();
	second_router();
	/* A -> H: router 1 (static route via 10.0.1.253), router 3
	 * (connected), tunnelled in network 500. Two hops, one pass. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_H, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_H, MAC_R3B, 2);
	assert_int_equal(res.out.b[22], 62);
	t = get_tunnel_key();
	assert_int_equal(t.vni, VNI_FAR);
	assert_int_equal(t.remote_ip, HOST_D);
	assert_int_equal(get_stats(IF_A).rx_packets, 1);

	/* TTL 2 expires in router 3: the error comes from its address on
	 * the shared subnet, quoting the header as router 3 got it (TTL 1),
	 * and goes back to A from router 1's MAC. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_H, 2);
	seen = in;
	seen.b[22] = 1;
	seen.b[24] = seen.b[25] = 0;
	{
		uint16_t c = csum(seen.b + 14, 20);

		seen.b[24] = (uint8_t)(c >> 8);
		seen.b[25] = (uint8_t)c;
	}
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	assert_icmp_error(&err, seen.b + 14, 11, 0, MAC_A, MAC_R1A, GW_R3,
			  IP_A);

	/* Router 3's far address answers pings across router 1. */
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_FAR, 8, 0, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_echo_reply(&res.out, &in, MAC_R1A, GW_FAR);

	/* No route in router 3: net unreachable from router 3. */
	add_static_route(R1, IP(10, 0, 3, 0), 24, GW_R3);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 0, 3, 1), 64);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_NO_ROUTE);
	assert_int_equal(err.b[35], 0);
	assert_memory_equal(err.b + 26, &(uint32_t){ GW_R3 }, 4);
}

static void router_loop_bounded(void **state)
{
	struct frame in;

	NEED_BPF();
	routing_topology();
	second_router();
	/* 10.9.0.0/16: router 1 sends it to router 3, router 3 back to
	 * router 1. The TTL would last 64 hops; the bound stops it first,
	 * without an error. */
	add_static_route(R1, IP(10, 9, 0, 0), 16, GW_R3);
	add_static_route(R3, IP(10, 9, 0, 0), 16, GW_B);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 9, 0, 1), 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_ROUTER_LOOP);
	assert_int_equal(get_tunnel_key().set, 0);
	/* With less TTL than the bound, the TTL runs out first. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP(10, 9, 0, 1), 3);
	expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
}

static void router_admin_down(void **state)
{
	struct frame in;

	NEED_BPF();
	routing_topology();
	second_router();
	add_router_mac(VNI_OTHER, MAC_R3A, R3, WEFT_FDB_F_ROUTER_DOWN);
	/* Router 3 down: router 1 hands it over, router 3 drops it. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_H, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_ROUTER_DOWN);
	/* Router 1 down: nothing, not even pings or errors. */
	add_router_mac(VNI, MAC_R1A, R1, WEFT_FDB_F_ROUTER_DOWN);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_ROUTER_DOWN);
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 8, 0, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_ROUTER_DOWN);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 1);
	expect_port_drop(IF_A, &in, WEFT_DROP_ROUTER_DOWN);
	assert_int_equal(get_stats(IF_B).tx_packets, 0);
	assert_int_equal(get_stats(IF_A).icmp_sent, 0);
}

static void ip_options_and_fragments_routed(void **state)
{
	/* Record route (7, length 11, pointer 4, two slots), padded with
	 * end of options. */
	static const uint8_t opts[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t data[24] = "later fragment, no UDP!";
	static const uint8_t udp[16] = { 0x0f, 0xa0, 0x13, 0x88, 0,   40,
					 0,    0,    'f',  'i',	 'r', 's',
					 't',  '.',  '.',  '.' };
	struct ipv4_spec s = { .saddr = IP_A,
			       .daddr = IP_B,
			       .proto = IPPROTO_UDP_,
			       .ttl = 64,
			       .opts = opts,
			       .optlen = sizeof(opts) };
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* Options: only TTL and checksum change; the 32-byte header is
	 * summed whole. */
	in = ipv4_frame(MAC_R1A, MAC_A, &s, udp, sizeof(udp));
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_memory_equal(res.out.b + 34, opts, sizeof(opts));

	/* The first fragment (MF, offset 0) and a later one (offset 16
	 * bytes, no UDP header) both go the same way, fields untouched. */
	s.opts = NULL;
	s.optlen = 0;
	s.frag = 0x2000;
	in = ipv4_frame(MAC_R1A, MAC_A, &s, udp, sizeof(udp));
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	s.frag = 2;
	in = ipv4_frame(MAC_R1A, MAC_A, &s, data, sizeof(data));
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_int_equal(get_stats(IF_B).tx_packets, 3);

	/* A later fragment gets no ICMP error (RFC 1812): dropped. */
	s.ttl = 1;
	in = ipv4_frame(MAC_R1A, MAC_A, &s, data, sizeof(data));
	expect_port_drop(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	/* The first fragment does. */
	s.frag = 0x2000;
	in = ipv4_frame(MAC_R1A, MAC_A, &s, udp, sizeof(udp));
	expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
}

/* --- DHCP hand-off ------------------------------------------------------ */

/* A DHCP client message (UDP 'sport' -> 67) with a minimal BOOTP body (its fields are not read). */
static struct frame dhcp_frame(const uint8_t dst[6], const uint8_t src[6],
			       uint32_t saddr, uint32_t daddr, uint16_t sport)
{
	uint8_t udp[8 + 20] = { (uint8_t)(sport >> 8),
				(uint8_t)sport,
				0,
				67,
				0,
				28,
				0,
				0,
				1 /* BOOTREQUEST */,
				1,
				6 };
	struct ipv4_spec s = {
		.saddr = saddr, .daddr = daddr, .proto = IPPROTO_UDP_, .ttl = 64
	};

	return ipv4_frame(dst, src, &s, udp, sizeof(udp));
}

static void dhcp_passed_up(void **state)
{
	struct weft_stats before, after;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	/* DISCOVER: from 0.0.0.0 to the broadcast. */
	in = dhcp_frame(MAC_BCAST, MAC_A, 0, IP(255, 255, 255, 255), 68);
	before = get_stats(IF_A);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_OK);
	assert_memory_equal(res.out.b, in.b, in.len); /* untouched */
	after = get_stats(IF_A);
	before.rx_packets++;
	before.rx_bytes += in.len;
	before.to_agent++;
	assert_stats_equal(&after, &before);

	/* A renewal, unicast from the port's address to the server (the
	 * gateway's MAC): to the agent, not to the router. */
	in = dhcp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 68);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_OK);
	assert_int_equal(get_stats(IF_A).to_agent, 2);
	assert_int_equal(get_stats(IF_A).icmp_sent, 0);
}

static void dhcp_forged_or_not_dhcp(void **state)
{
	struct frame in;

	NEED_BPF();
	routing_topology();
	/* Another MAC from A's tap: not passed up, port security says. */
	in = dhcp_frame(MAC_BCAST, MAC_X, 0, IP(255, 255, 255, 255), 68);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
	in = dhcp_frame(MAC_BCAST, MAC_C, 0, IP(255, 255, 255, 255), 68);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_MAC);
	/* Another port's address with A's MAC. */
	in = dhcp_frame(MAC_BCAST, MAC_A, IP_C, IP(255, 255, 255, 255), 68);
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_IP);
	/* Not from port 68: switched as usual, so a broadcast is dropped. */
	in = dhcp_frame(MAC_BCAST, MAC_A, IP_A, IP(255, 255, 255, 255), 67);
	expect_port_drop(IF_A, &in, WEFT_DROP_BROADCAST);
	/* A fragment is never DHCP. */
	in = dhcp_frame(MAC_BCAST, MAC_A, 0, IP(255, 255, 255, 255), 68);
	in.b[20] = 0x20;
	in.b[24] = in.b[25] = 0;
	{
		uint16_t c = csum(in.b + 14, 20);

		in.b[24] = (uint8_t)(c >> 8);
		in.b[25] = (uint8_t)c;
	}
	expect_port_drop(IF_A, &in, WEFT_DROP_SRC_IP);
	assert_int_equal(get_stats(IF_A).to_agent, 0);
}

/* --- security groups and connection tracking ---------------------------- */

/*
 * Security groups on A (10.0.0.1, port 40000) talking TCP to D (10.0.0.4,
 * remote on 192.0.2.12, port 22): A's packets run the port program
 * (egress), D's the tunnel program (ingress to A). The rule maps are
 * written as the agent's compiler would: sg_remote picks classes for a
 * remote prefix, sg_rules holds each class's (protocol, port prefix)
 * cover.
 */
#define IPPROTO_TCP_ 6
#define IPPROTO_GRE_ 47
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define A_PORT 40000
#define SSH 22
#define ISN_A 1000u
#define ISN_D 0xfffff000u /* wraps around 2^32 during the tests */
#define NO_WSCALE (-1)
#define CLASS_1 101
#define CLASS_2 102
#define CLASS_3 103
#define NSEC 1000000000ull

/* Turns security groups on for the port on 'ifindex', policy 'gen'. */
static void set_policy(uint32_t ifindex, uint32_t gen)
{
	int fd = bpf_map__fd(skel->maps.ports);
	struct weft_port p;

	assert_int_equal(bpf_map_lookup_elem(fd, &ifindex, &p), 0);
	p.flags |= WEFT_PORT_F_POLICY;
	p.policy_gen = gen;
	p.policy_id = ifindex; /* the tests key a port's rules by its tap */
	put(fd, &ifindex, &p);
}

/* sg_remote: remote 'ip'/'prefix' of the port on 'ifindex' in 'dir' uses
 * 'class' and 'any_class'. */
static void add_sg_remote(uint32_t ifindex, uint32_t dir, uint32_t ip,
			  int prefix, uint32_t class, uint32_t any_class)
{
	struct weft_sg_remote_key k = { .prefixlen = 64 + (uint32_t)prefix,
					.policy = ifindex,
					.dir = dir,
					.ip = ip };
	struct weft_sg_remote v = { .class = class, .any_class = any_class };

	put(bpf_map__fd(skel->maps.sg_remote), &k, &v);
}

static void put_sg_rule(uint32_t prefixlen, uint32_t class, uint8_t proto,
			uint16_t port)
{
	struct weft_sg_rule_key k = { .prefixlen = prefixlen,
				      .class = class,
				      .proto = proto,
				      .port = htons(port) };
	struct weft_sg_rule v = { 0 };

	put(bpf_map__fd(skel->maps.sg_rules), &k, &v);
}

/*
 * sg_rules: 'class' admits 'proto' (0: any protocol) to ports 'min'..'max'
 * (0..0: any port), the range written as the prefixes that cover it, the
 * largest aligned block first. Returns how many prefixes it took.
 */
static int add_sg_rule(uint32_t class, uint8_t proto, uint16_t min,
		       uint16_t max)
{
	uint32_t lo = min, hi = max;
	int n = 0;

	if (proto == 0) {
		put_sg_rule(32, class, 0, 0);
		return 1;
	}
	if (min == 0 && max == 0) {
		put_sg_rule(48, class, proto, 0);
		return 1;
	}
	while (lo <= hi) {
		uint32_t bits = 0;

		while (bits < 16 && (lo & ((2u << bits) - 1)) == 0 &&
		       lo + (2u << bits) - 1 <= hi)
			bits++;
		put_sg_rule(48 + 16 - bits, class, proto, (uint16_t)lo);
		lo += 1u << bits;
		n++;
	}
	return n;
}

/* sg_rules: 'class' admits ICMP 'type' with any code. */
static void add_sg_icmp_rule(uint32_t class, uint8_t type)
{
	put_sg_rule(56, class, IPPROTO_ICMP_, (uint16_t)(type << 8));
}

/* The conntrack entry of a tuple (ports in host order), or false. */
static bool ct_get(uint32_t vni, uint32_t saddr, uint32_t daddr, uint16_t sport,
		   uint16_t dport, uint8_t proto, uint32_t dir,
		   struct weft_ct_entry *e)
{
	struct weft_ct_key k = { .vni = vni,
				 .saddr = saddr,
				 .daddr = daddr,
				 .sport = htons(sport),
				 .dport = htons(dport),
				 .proto = proto,
				 .dir = (uint8_t)dir };

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.ct), &k, e) == 0;
}

/* The number of entries in ct. */
static int ct_count(void)
{
	struct weft_ct_key k, next;
	int fd = bpf_map__fd(skel->maps.ct), n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* The entry of A's TCP connection to D:22 (opened by A, egress). */
static struct weft_ct_entry ct_a_to_d(void)
{
	struct weft_ct_entry e;

	assert_true(ct_get(VNI, IP_A, IP_D, A_PORT, SSH, IPPROTO_TCP_,
			   WEFT_CT_EGRESS, &e));
	return e;
}

/* CLOCK_MONOTONIC in ns: bpf_ktime_get_ns()'s clock. */
static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* Checks that 'e' expires 'seconds' from now (within a second). */
static void assert_expires_in(const struct weft_ct_entry *e, uint64_t seconds)
{
	uint64_t now = mono_now_ns();

	assert_true(e->expires_ns > now + (seconds - 1) * NSEC);
	assert_true(e->expires_ns <= now + seconds * NSEC);
}

struct tcp_seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win; /* 0: 1000 */
	int wscale; /* NO_WSCALE, or a window scale option (with MSS) */
	uint8_t doff; /* 0: as the options need */
	size_t len; /* bytes of payload */
};

/* A TCP segment from 'saddr':'sport' to 'daddr':'dport'. */
static struct frame tcp_frame(const uint8_t dst[6], const uint8_t src[6],
			      uint32_t saddr, uint32_t daddr, uint16_t sport,
			      uint16_t dport, const struct tcp_seg *s)
{
	struct ipv4_spec ip = { .saddr = saddr,
				.daddr = daddr,
				.proto = IPPROTO_TCP_,
				.ttl = 64,
				.frag = 0x4000 };
	uint8_t tcp[160] = { 0 };
	size_t hl = 20;

	assert_true(28 + s->len <= sizeof(tcp));

	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	for (int i = 0; i < 4; i++) {
		tcp[4 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
		tcp[8 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
	}
	if (s->wscale != NO_WSCALE) {
		/* MSS 1410, NOP, window scale: the parser walks past the
		 * others to find it. */
		static const uint8_t mss[4] = { 2, 4, 0x05, 0x82 };

		memcpy(tcp + 20, mss, 4);
		tcp[24] = 1;
		tcp[25] = 3;
		tcp[26] = 3;
		tcp[27] = (uint8_t)s->wscale;
		hl = 28;
	}
	tcp[12] = (uint8_t)((s->doff ? s->doff : hl / 4) << 4);
	tcp[13] = s->flags;
	tcp[14] = (uint8_t)((s->win ? s->win : 1000) >> 8);
	tcp[15] = (uint8_t)(s->win ? s->win : 1000);
	memset(tcp + hl, 'x', s->len);
	return ipv4_frame(dst, src, &ip, tcp, hl + s->len);
}

/* A segment of A's connection, from A ('from_a') or from D. */
static struct frame seg(bool from_a, const struct tcp_seg *s)
{
	if (from_a)
		return tcp_frame(MAC_D, MAC_A, IP_A, IP_D, A_PORT, SSH, s);
	return tcp_frame(MAC_A, MAC_D, IP_D, IP_A, SSH, A_PORT, s);
}

/* Runs 'f' from A (port program) or from D (tunnel program, from host
 * 192.0.2.12 in network 100) and checks it is delivered. */
static void expect_pass_from(bool from_a, const struct frame *f)
{
	struct result res;

	if (from_a) {
		res = port_run(IF_A, f);
	} else {
		set_tunnel_key(VNI, HOST_D);
		res = tunnel_run(f);
	}
	if (res.verdict != TC_ACT_REDIRECT)
		print_error("expected a pass, got verdict %d\n", res.verdict);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
}

/* Runs 'f' from A or D as above and checks it is dropped for 'reason',
 * counted once on A's port: the egress check of A's own packets, or the
 * ingress check of A for a packet from the tunnel. */
static void expect_drop_from(bool from_a, const struct frame *f,
			     enum weft_drop_reason reason)
{
	if (from_a) {
		expect_port_drop(IF_A, f, reason);
	} else {
		set_tunnel_key(VNI, HOST_D);
		expect_drop(skel->progs.weft_tunnel_ingress, IF_VXLAN, f, IF_A,
			    reason);
	}
}

static void pass_seg(bool from_a, const struct tcp_seg *s)
{
	struct frame f = seg(from_a, s);

	expect_pass_from(from_a, &f);
}

static void drop_seg(bool from_a, const struct tcp_seg *s,
		     enum weft_drop_reason reason)
{
	struct frame f = seg(from_a, s);

	expect_drop_from(from_a, &f, reason);
}

/* A's egress rules admit TCP to port 22 of anyone (any_class). */
static void a_egress_ssh(void)
{
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, IPPROTO_TCP_, SSH, SSH);
}

/* The three-way handshake of A to D:22, window scales 'wa' and 'wd'. */
static void handshake(int wa, int wd)
{
	pass_seg(true, &(struct tcp_seg){
			       .flags = TCP_SYN, .seq = ISN_A, .wscale = wa });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					   .seq = ISN_D,
					   .ack = ISN_A + 1,
					   .wscale = wd });
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_ACK,
					  .seq = ISN_A + 1,
					  .ack = ISN_D + 1,
					  .wscale = NO_WSCALE });
}

static void sg_tcp_egress_lifecycle(void **state)
{
	struct weft_ct_entry e;
	struct frame f;

	NEED_BPF();
	a_egress_ssh(); /* and no ingress rule at all */
	f = seg(true, &(struct tcp_seg){
			      .flags = TCP_SYN, .seq = ISN_A, .wscale = 7 });
	expect_pass_from(true, &f);
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_SYN_SENT);
	assert_int_equal(e.ifindex, IF_A);
	assert_int_equal(e.policy_gen, 1);
	assert_int_equal(e.packets[0], 1);
	assert_int_equal(e.bytes[0], f.len);
	assert_int_equal(e.tcp[0].wscale, 7);
	assert_true(e.tcp[0].flags & WEFT_CT_TCP_F_WSCALE);
	assert_int_equal(e.tcp[0].end, ISN_A + 1);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_TCP_SYN);

	pass_seg(false, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					   .seq = ISN_D,
					   .ack = ISN_A + 1,
					   .wscale = 8 });
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_SYN_RECV);
	assert_int_equal(e.tcp[1].wscale, 8);
	assert_int_equal(e.tcp[0].wscale, 7);

	pass_seg(true, &(struct tcp_seg){ .flags = TCP_ACK,
					  .seq = ISN_A + 1,
					  .ack = ISN_D + 1,
					  .wscale = NO_WSCALE });
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_ESTABLISHED);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_TCP_ESTABLISHED);

	/* Data both ways, the sequence numbers of D wrapping. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_ACK | TCP_PSH,
					  .seq = ISN_A + 1,
					  .ack = ISN_D + 1,
					  .wscale = NO_WSCALE,
					  .len = 100 });
	for (uint32_t off = 1; off < 0x2000; off += 0x800)
		pass_seg(false, &(struct tcp_seg){ .flags = TCP_ACK,
						   .seq = ISN_D + off,
						   .ack = ISN_A + 101,
						   .wscale = NO_WSCALE,
						   .len = 100 });
	e = ct_a_to_d();
	assert_int_equal(e.packets[0], 3);
	assert_int_equal(e.packets[1], 5);
	assert_int_equal(e.state, WEFT_CT_ESTABLISHED);

	/* A closes, then D: TIME_WAIT; the last ACK passes. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					  .seq = ISN_A + 101,
					  .ack = ISN_D + 0x1865,
					  .wscale = NO_WSCALE });
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_FIN_WAIT);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_TCP_FIN);
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					   .seq = ISN_D + 0x1865,
					   .ack = ISN_A + 102,
					   .wscale = NO_WSCALE });
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_TIME_WAIT);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_TCP_TIME_WAIT);
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_ACK,
					  .seq = ISN_A + 102,
					  .ack = ISN_D + 0x1866,
					  .wscale = NO_WSCALE });
	assert_int_equal(ct_a_to_d().state, WEFT_CT_TIME_WAIT);

	/* A SYN on the same ports: a new connection, the entry starts over. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN,
					  .seq = ISN_A + 5000,
					  .wscale = NO_WSCALE });
	e = ct_a_to_d();
	assert_int_equal(e.state, WEFT_CT_SYN_SENT);
	assert_int_equal(e.packets[0], 1);
	assert_int_equal(e.packets[1], 0);
	assert_int_equal(e.tcp[0].flags & WEFT_CT_TCP_F_WSCALE, 0);
	assert_int_equal(ct_count(), 1);
	assert_int_equal(get_stats(IF_A).rx_packets, 6);
	assert_int_equal(get_stats(IF_A).tx_packets, 6);
}

/* Once the connection is in TIME_WAIT, a new SYN needs the rules again. */
static void sg_tcp_time_wait_reuse_rechecked(void **state)
{
	struct weft_sg_rule_key k = { .prefixlen = 64,
				      .class = CLASS_1,
				      .proto = IPPROTO_TCP_,
				      .port = htons(SSH) };

	NEED_BPF();
	a_egress_ssh();
	handshake(NO_WSCALE, NO_WSCALE);
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					  .seq = ISN_A + 1,
					  .ack = ISN_D + 1,
					  .wscale = NO_WSCALE });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					   .seq = ISN_D + 1,
					   .ack = ISN_A + 2,
					   .wscale = NO_WSCALE });
	assert_int_equal(ct_a_to_d().state, WEFT_CT_TIME_WAIT);
	assert_int_equal(
		bpf_map_delete_elem(bpf_map__fd(skel->maps.sg_rules), &k), 0);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_SYN,
				    .seq = ISN_A + 9000,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_POLICY_EGRESS);
	assert_int_equal(ct_count(), 0);
}

/* A SYN from the other side on a TIME_WAIT entry: a new connection the
 * other way, under A's ingress rules, with its own key; the old entry
 * goes. */
static void sg_tcp_time_wait_reuse_reversed(void **state)
{
	struct weft_ct_entry e;

	NEED_BPF();
	a_egress_ssh();
	handshake(NO_WSCALE, NO_WSCALE);
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					   .seq = ISN_D + 1,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE });
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
					  .seq = ISN_A + 1,
					  .ack = ISN_D + 2,
					  .wscale = NO_WSCALE });
	assert_int_equal(ct_a_to_d().state, WEFT_CT_TIME_WAIT);
	/* Refused without an ingress rule; then admitted. */
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_SYN,
				    .seq = ISN_D + 9000,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_POLICY_INGRESS);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP_D, 32, CLASS_2, 0);
	add_sg_rule(CLASS_2, IPPROTO_TCP_, A_PORT, A_PORT);
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_SYN,
					   .seq = ISN_D + 9000,
					   .wscale = NO_WSCALE });
	assert_int_equal(ct_count(), 1);
	assert_true(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_SYN_SENT);
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					  .seq = ISN_A + 7000,
					  .ack = ISN_D + 9001,
					  .wscale = NO_WSCALE });
	assert_true(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_SYN_RECV);
}

/* D opens to A: A's ingress rule admits it, A answers without an egress
 * rule; a port no rule names is refused, counted on the VXLAN device. */
static void sg_tcp_ingress_handshake(void **state)
{
	struct weft_ct_entry e;

	NEED_BPF();
	set_policy(IF_A, 9);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 0, 0, 0), 24, CLASS_1, 0);
	add_sg_rule(CLASS_1, IPPROTO_TCP_, A_PORT, A_PORT);
	/* Here D is the opener: D's port 22 to A's port 40000. */
	pass_seg(false, &(struct tcp_seg){
				.flags = TCP_SYN, .seq = ISN_D, .wscale = 2 });
	assert_true(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_SYN_SENT);
	assert_int_equal(e.policy_gen, 9);
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					  .seq = ISN_A,
					  .ack = ISN_D + 1,
					  .wscale = 3 });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_ACK,
					   .seq = ISN_D + 1,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE });
	assert_true(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_ESTABLISHED);
	assert_int_equal(e.tcp[0].wscale, 2);
	assert_int_equal(e.tcp[1].wscale, 3);
	assert_int_equal(e.packets[0], 2);
	assert_int_equal(e.packets[1], 1);
	assert_int_equal(ct_count(), 1);

	/* Another port of A: no rule. */
	{
		struct frame f =
			tcp_frame(MAC_A, MAC_D, IP_D, IP_A, SSH, A_PORT + 1,
				  &(struct tcp_seg){ .flags = TCP_SYN,
						     .seq = ISN_D,
						     .wscale = NO_WSCALE });

		expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	}
}

/* A to C on the same host, both with security groups: the packet passes
 * A's egress rules in the port program and C's ingress rules on delivery;
 * each port has its own entry. */
static void sg_tcp_local_both_ports(void **state)
{
	struct weft_ct_entry ea, ec;
	struct frame f;
	struct result res;

	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0); /* any protocol */
	set_policy(IF_C, 2);
	add_sg_remote(IF_C, WEFT_CT_INGRESS, 0, 0, 0, CLASS_2);
	add_sg_rule(CLASS_2, IPPROTO_TCP_, 80, 80);

	f = tcp_frame(MAC_C, MAC_A, IP_A, IP_C, A_PORT, 80,
		      &(struct tcp_seg){ .flags = TCP_SYN,
					 .seq = ISN_A,
					 .wscale = NO_WSCALE });
	res = port_run(IF_A, &f);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	f = tcp_frame(MAC_A, MAC_C, IP_C, IP_A, 80, A_PORT,
		      &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					 .seq = ISN_D,
					 .ack = ISN_A + 1,
					 .wscale = NO_WSCALE });
	res = port_run(IF_C, &f);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	f = tcp_frame(MAC_C, MAC_A, IP_A, IP_C, A_PORT, 80,
		      &(struct tcp_seg){ .flags = TCP_ACK,
					 .seq = ISN_A + 1,
					 .ack = ISN_D + 1,
					 .wscale = NO_WSCALE });
	res = port_run(IF_A, &f);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);

	assert_true(ct_get(VNI, IP_A, IP_C, A_PORT, 80, IPPROTO_TCP_,
			   WEFT_CT_EGRESS, &ea));
	assert_true(ct_get(VNI, IP_A, IP_C, A_PORT, 80, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &ec));
	assert_int_equal(ea.ifindex, IF_A);
	assert_int_equal(ec.ifindex, IF_C);
	assert_int_equal(ea.state, WEFT_CT_ESTABLISHED);
	assert_int_equal(ec.state, WEFT_CT_ESTABLISHED);
	assert_int_equal(ea.policy_gen, 1);
	assert_int_equal(ec.policy_gen, 2);
	assert_int_equal(ct_count(), 2);
	assert_int_equal(get_stats(IF_C).tx_packets, 2);

	/* Port 81 of C: A may send it, C's rules refuse it; counted on C's
	 * port, whose rules refused it. */
	f = tcp_frame(MAC_C, MAC_A, IP_A, IP_C, A_PORT, 81,
		      &(struct tcp_seg){ .flags = TCP_SYN,
					 .seq = ISN_A,
					 .wscale = NO_WSCALE });
	expect_drop(skel->progs.weft_port_ingress, IF_A, &f, IF_C,
		    WEFT_DROP_POLICY_INGRESS);
	assert_int_equal(get_stats(IF_C).tx_packets, 2);
	/* A's entry was made before C refused: it expires unreplied. */
	assert_int_equal(ct_count(), 3);
}

/* A RST in the window ends the connection; one outside it does not. */
static void sg_tcp_rst_ends_entry(void **state)
{
	NEED_BPF();
	a_egress_ssh();
	handshake(NO_WSCALE, NO_WSCALE);
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_RST,
				    .seq = ISN_D + 1 + 5000000,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_WINDOW);
	assert_int_equal(ct_a_to_d().state, WEFT_CT_ESTABLISHED);
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_RST | TCP_ACK,
					   .seq = ISN_D + 1,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE });
	assert_int_equal(ct_count(), 0);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A + 1,
				    .ack = ISN_D + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);

	/* A RST answering the SYN (port closed) ends it too. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN,
					  .seq = ISN_A,
					  .wscale = NO_WSCALE });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_RST | TCP_ACK,
					   .seq = 0,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE });
	assert_int_equal(ct_count(), 0);
}

/* Segments that start no connection and belong to none. */
static void sg_tcp_stray_segments_invalid(void **state)
{
	NEED_BPF();
	a_egress_ssh();
	/* A late ACK, FIN, RST, SYN-ACK with no entry, either way. */
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A,
				    .ack = ISN_D,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_FIN | TCP_ACK,
				    .seq = ISN_A,
				    .ack = ISN_D,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(true,
		 &(struct tcp_seg){
			 .flags = TCP_RST, .seq = ISN_A, .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
				    .seq = ISN_D,
				    .ack = ISN_A + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_D,
				    .ack = ISN_A + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	assert_int_equal(ct_count(), 0);

	/* After A's SYN: a SYN-ACK from A's own side, an ACK before the
	 * SYN-ACK. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN,
					  .seq = ISN_A,
					  .wscale = NO_WSCALE });
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
				    .seq = ISN_A,
				    .ack = ISN_D + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A + 1,
				    .ack = ISN_D + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_D + 1,
				    .ack = ISN_A + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	/* The SYN sent again passes. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN,
					  .seq = ISN_A,
					  .wscale = NO_WSCALE });
	assert_int_equal(ct_a_to_d().state, WEFT_CT_SYN_SENT);
	assert_int_equal(ct_a_to_d().packets[0], 2);
}

/* Segments outside the window: beyond what the receiver allowed, or
 * acknowledging data never sent. */
static void sg_tcp_out_of_window(void **state)
{
	NEED_BPF();
	a_egress_ssh();
	handshake(NO_WSCALE, NO_WSCALE); /* windows of 1000 */
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_D + 1 + 100000,
				    .ack = ISN_A + 1,
				    .wscale = NO_WSCALE,
				    .len = 10 },
		 WEFT_DROP_CT_WINDOW);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A + 1,
				    .ack = ISN_D + 1 + 50000,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_WINDOW);
	/* Old data, far behind what was sent. */
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A + 1 - 200000,
				    .ack = ISN_D + 1,
				    .wscale = NO_WSCALE,
				    .len = 10 },
		 WEFT_DROP_CT_WINDOW);
	/* In the window: passes, the entry untouched by the drops. */
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_ACK,
					   .seq = ISN_D + 1 + 900,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE,
					   .len = 10 });
	assert_int_equal(ct_a_to_d().state, WEFT_CT_ESTABLISHED);
	assert_int_equal(ct_a_to_d().packets[1], 2);
}

/* Window scaling counts only when both sides announced it. */
static void sg_tcp_window_scale(void **state)
{
	struct tcp_seg far = { .flags = TCP_ACK,
			       .seq = ISN_D + 1 + 60000,
			       .ack = ISN_A + 1,
			       .wscale = NO_WSCALE,
			       .len = 10 };

	NEED_BPF();
	a_egress_ssh();
	/* Both: A's window of 1000 is 128000 bytes; 60000 is inside. */
	handshake(7, 7);
	pass_seg(false, &far);

	/* Only A announced it: windows are not scaled, 60000 is outside. */
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.ct),
					     &(struct weft_ct_key){
						     .vni = VNI,
						     .saddr = IP_A,
						     .daddr = IP_D,
						     .sport = htons(A_PORT),
						     .dport = htons(SSH),
						     .proto = IPPROTO_TCP_,
						     .dir = WEFT_CT_EGRESS }),
			 0);
	handshake(7, NO_WSCALE);
	assert_int_equal(ct_a_to_d().tcp[0].wscale, 0);
	drop_seg(false, &far, WEFT_DROP_CT_WINDOW);
}

/* Flag sets no connection carries, and a data offset under 5. */
static void sg_tcp_bad_flags(void **state)
{
	static const uint8_t bad[] = {
		TCP_SYN | TCP_FIN,
		0, /* NULL */
		TCP_FIN | TCP_PSH | TCP_URG, /* XMAS */
		TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG,
		TCP_SYN | TCP_RST,
		TCP_FIN,
		TCP_RST | TCP_FIN | TCP_ACK,
		TCP_PSH,
	};

	NEED_BPF();
	a_egress_ssh();
	for (size_t i = 0; i < sizeof(bad); i++) {
		drop_seg(true,
			 &(struct tcp_seg){ .flags = bad[i],
					    .seq = ISN_A,
					    .wscale = NO_WSCALE },
			 WEFT_DROP_CT_INVALID);
		drop_seg(false,
			 &(struct tcp_seg){ .flags = bad[i],
					    .seq = ISN_D,
					    .wscale = NO_WSCALE },
			 WEFT_DROP_CT_INVALID);
	}
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_SYN,
				    .seq = ISN_A,
				    .wscale = NO_WSCALE,
				    .doff = 4 },
		 WEFT_DROP_CT_INVALID);
	/* A data offset beyond the segment: truncated. */
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_SYN,
				    .seq = ISN_A,
				    .wscale = NO_WSCALE,
				    .doff = 15 },
		 WEFT_DROP_MALFORMED);
	/* ECE and CWR with a SYN (ECN setup) are fine. */
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN | 0xc0,
					  .seq = ISN_A,
					  .wscale = NO_WSCALE });
	assert_int_equal(ct_count(), 1);
}

/* A UDP frame from 'saddr':'sport' to 'daddr':'dport' ('frag': flags and
 * offset). */
static struct frame udp_ports(const uint8_t dst[6], const uint8_t src[6],
			      uint32_t saddr, uint32_t daddr, uint16_t sport,
			      uint16_t dport, uint16_t frag)
{
	uint8_t udp[12] = { (uint8_t)(sport >> 8),
			    (uint8_t)sport,
			    (uint8_t)(dport >> 8),
			    (uint8_t)dport,
			    0,
			    12,
			    0,
			    0,
			    'd',
			    'a',
			    't',
			    'a' };
	struct ipv4_spec ip = { .saddr = saddr,
				.daddr = daddr,
				.proto = IPPROTO_UDP_,
				.ttl = 64,
				.frag = frag };

	return ipv4_frame(dst, src, &ip, udp, sizeof(udp));
}

/* Fragments carry no transport header to match: dropped both ways on a
 * port with security groups, switched as ever on one without. */
static void sg_fragments(void **state)
{
	struct frame first, later, in;

	NEED_BPF();
	first = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0x2000);
	later = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0x0010);
	expect_pass_from(true, &first);
	expect_pass_from(true, &later);

	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);
	expect_drop_from(true, &first, WEFT_DROP_FRAGMENT);
	expect_drop_from(true, &later, WEFT_DROP_FRAGMENT);
	in = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0x2000);
	expect_drop_from(false, &in, WEFT_DROP_FRAGMENT);
	in = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0x0020);
	expect_drop_from(false, &in, WEFT_DROP_FRAGMENT);
	assert_int_equal(ct_count(), 0);
}

/* A's UDP to D: the reply passes without an ingress rule, and moves the
 * entry to REPLIED with its longer timeout; anything else from D does
 * not. */
static void sg_udp_reply_without_ingress_rule(void **state)
{
	struct weft_ct_entry e;
	struct frame f;

	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, IPPROTO_UDP_, 5000, 5000);

	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	expect_pass_from(true, &f);
	assert_true(ct_get(VNI, IP_A, IP_D, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_UNREPLIED);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_UDP);

	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	expect_pass_from(false, &f);
	assert_true(ct_get(VNI, IP_A, IP_D, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_REPLIED);
	assert_int_equal(e.packets[0], 1);
	assert_int_equal(e.packets[1], 1);
	assert_int_equal(e.bytes[1], f.len);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_UDP_REPLIED);

	/* From another port of D, or to another port of A: refused. */
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5001, 4000, 0);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4001, 0);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	/* A to a port its rules do not admit. */
	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5001, 0);
	expect_drop_from(true, &f, WEFT_DROP_POLICY_EGRESS);
	assert_int_equal(ct_count(), 1);
}

/* An ICMP message of 'type'/'code' with identifier 'id'. */
static struct frame icmp_id_frame(const uint8_t dst[6], const uint8_t src[6],
				  uint32_t saddr, uint32_t daddr, uint8_t type,
				  uint8_t code, uint16_t id)
{
	struct frame f = icmp_frame(dst, src, saddr, daddr, type, code, 64);

	f.b[14 + 20 + 4] = (uint8_t)(id >> 8);
	f.b[14 + 20 + 5] = (uint8_t)id;
	return f;
}

static void sg_icmp_echo(void **state)
{
	struct weft_ct_entry e;
	struct frame f;

	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_icmp_rule(CLASS_1, 8);

	f = icmp_id_frame(MAC_D, MAC_A, IP_A, IP_D, 8, 0, 0x4242);
	expect_pass_from(true, &f);
	assert_true(ct_get(VNI, IP_A, IP_D, 0x4242, 0, IPPROTO_ICMP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_UNREPLIED);
	assert_expires_in(&e, WEFT_CT_TIMEOUT_ICMP);
	f = icmp_id_frame(MAC_A, MAC_D, IP_D, IP_A, 0, 0, 0x4242);
	expect_pass_from(false, &f);
	assert_true(ct_get(VNI, IP_A, IP_D, 0x4242, 0, IPPROTO_ICMP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_REPLIED);
	assert_int_equal(e.packets[1], 1);

	/* A reply to no request; a request from D (no ingress rule). */
	f = icmp_id_frame(MAC_A, MAC_D, IP_D, IP_A, 0, 0, 0x4343);
	expect_drop_from(false, &f, WEFT_DROP_CT_INVALID);
	f = icmp_id_frame(MAC_A, MAC_D, IP_D, IP_A, 8, 0, 0x4242);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	/* Other types: the rules decide each packet, no entry. A timestamp
	 * request is not admitted; with a rule for it, it is. */
	f = icmp_id_frame(MAC_D, MAC_A, IP_A, IP_D, 13, 0, 1);
	expect_drop_from(true, &f, WEFT_DROP_POLICY_EGRESS);
	add_sg_icmp_rule(CLASS_1, 13);
	expect_pass_from(true, &f);
	assert_int_equal(ct_count(), 1);
}

/* An ICMP error 'type'/'code' from D to A quoting the IPv4 packet of
 * frame 'quoted' (its header and 'qlen' bytes of payload). */
static struct frame icmp_error_to_a(uint8_t type, uint8_t code,
				    const struct frame *quoted, size_t qlen)
{
	uint8_t msg[8 + 20 + 8] = { type, code };
	struct ipv4_spec ip = {
		.saddr = IP_D, .daddr = IP_A, .proto = IPPROTO_ICMP_, .ttl = 64
	};

	memcpy(msg + 8, quoted->b + 14, 20 + qlen);
	return ipv4_frame(MAC_A, MAC_D, &ip, msg, 8 + 20 + qlen);
}

/* ICMP errors about a tracked connection are related and pass; about
 * anything else they are invalid. */
static void sg_icmp_error_related(void **state)
{
	struct frame out, err;

	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);

	/* UDP: port unreachable, and time exceeded. */
	out = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	expect_pass_from(true, &out);
	err = icmp_error_to_a(3, 3, &out, 8);
	expect_pass_from(false, &err);
	err = icmp_error_to_a(11, 0, &out, 8);
	expect_pass_from(false, &err);
	/* About a flow of A never seen, or quoting too little. */
	out = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5001, 0);
	err = icmp_error_to_a(3, 3, &out, 8);
	expect_drop_from(false, &err, WEFT_DROP_CT_INVALID);
	out = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	err = icmp_error_to_a(3, 3, &out, 4);
	expect_drop_from(false, &err, WEFT_DROP_CT_INVALID);

	/* TCP: fragmentation needed about A's SYN. */
	out = seg(true, &(struct tcp_seg){ .flags = TCP_SYN,
					   .seq = ISN_A,
					   .wscale = NO_WSCALE });
	expect_pass_from(true, &out);
	err = icmp_error_to_a(3, 4, &out, 8);
	expect_pass_from(false, &err);
	/* ICMP: an error about A's echo request. */
	out = icmp_id_frame(MAC_D, MAC_A, IP_A, IP_D, 8, 0, 7);
	expect_pass_from(true, &out);
	err = icmp_error_to_a(3, 1, &out, 8);
	expect_pass_from(false, &err);
	out = icmp_id_frame(MAC_D, MAC_A, IP_A, IP_D, 8, 0, 8);
	err = icmp_error_to_a(3, 1, &out, 8);
	expect_drop_from(false, &err, WEFT_DROP_CT_INVALID);
	/* Related packets make no entry of their own. */
	assert_int_equal(ct_count(), 3);
}

/* A SYN from D's 'saddr' to A's port 'dport'. */
static struct frame syn_to_a(uint32_t saddr, uint16_t dport)
{
	return tcp_frame(MAC_A, MAC_D, saddr, IP_A, 50000, dport,
			 &(struct tcp_seg){ .flags = TCP_SYN,
					    .seq = ISN_D,
					    .wscale = NO_WSCALE });
}

static void expect_syn_to_a(uint32_t saddr, uint16_t dport, bool admitted)
{
	struct frame f = syn_to_a(saddr, dport);

	if (admitted)
		expect_pass_from(false, &f);
	else
		expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
}

/* Rules match the protocol: UDP only, then any protocol. */
static void sg_rule_protocols(void **state)
{
	static const uint8_t gre[8] = { 0, 0, 0x65, 0x58 };
	struct ipv4_spec ip = {
		.saddr = IP_D, .daddr = IP_A, .proto = IPPROTO_GRE_, .ttl = 64
	};
	struct frame f;

	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, IPPROTO_UDP_, 0, 0);
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 1, 65535, 0);
	expect_pass_from(false, &f);
	expect_syn_to_a(IP_D, 65535, false);
	f = ipv4_frame(MAC_A, MAC_D, &ip, gre, sizeof(gre));
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	f = icmp_id_frame(MAC_A, MAC_D, IP_D, IP_A, 8, 0, 1);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);

	add_sg_rule(CLASS_1, 0, 0, 0);
	f = ipv4_frame(MAC_A, MAC_D, &ip, gre, sizeof(gre));
	expect_pass_from(false, &f);
	expect_pass_from(false, &f);
	expect_syn_to_a(IP_D, 65535, true);
	/* GRE is not tracked: the UDP and the TCP connections only. */
	assert_int_equal(ct_count(), 2);
}

/* What drop_events received, in order. */
struct drop_log {
	struct weft_drop_event ev[8];
	int n;
};

static int drop_log_add(void *ctx, void *data, size_t size)
{
	struct drop_log *log = ctx;

	assert_int_equal(size, sizeof(struct weft_drop_event));
	if (log->n < 8)
		memcpy(&log->ev[log->n++], data, size);
	return 0;
}

/* Reads every record waiting in the ring buffer 'map', passing each to
 * 'fn' with 'ctx'. */
static void ring_consume(const struct bpf_map *map, ring_buffer_sample_fn fn,
			 void *ctx)
{
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(map), fn, ctx, NULL);

	assert_non_null(rb);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);
}

/* Reads every event waiting in drop_events into 'log'. */
static void drop_log_read(struct drop_log *log)
{
	ring_consume(skel->maps.drop_events, drop_log_add, log);
}

/* Security group drops are reported in drop_events with their tuple,
 * at most config.log_drops_per_sec a second on a CPU; the rest are
 * counted in the next event's 'suppressed'. Off (0) by default. The
 * rate limit is per CPU: the test stays on one. */
static void sg_drop_events(void **state)
{
	struct weft_config c = { .vxlan_ifindex = IF_VXLAN,
				 .local_ip = HOST_SELF,
				 .log_drops_per_sec = 2 };
	struct drop_log log = { .n = 0 };
	cpu_set_t one, saved;
	uint32_t zero = 0;
	struct frame f;

	NEED_BPF();
	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);

	set_policy(IF_A, 1);
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 4000, 53, 0);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	drop_log_read(&log);
	assert_int_equal(log.n, 0); /* not asked for */

	put(bpf_map__fd(skel->maps.config), &zero, &c);
	for (int i = 0; i < 5; i++)
		expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	drop_log_read(&log);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.ev[0].ifindex, IF_A);
	assert_int_equal(log.ev[0].reason, WEFT_DROP_POLICY_INGRESS);
	assert_int_equal(log.ev[0].vni, VNI);
	assert_int_equal(log.ev[0].saddr, IP_D);
	assert_int_equal(log.ev[0].daddr, IP_A);
	assert_int_equal(log.ev[0].sport, htons(4000));
	assert_int_equal(log.ev[0].dport, htons(53));
	assert_int_equal(log.ev[0].proto, IPPROTO_UDP_);
	assert_int_equal(log.ev[0].dir, WEFT_CT_INGRESS);
	assert_int_equal(log.ev[0].suppressed, 0);

	/* The next second: one more event, carrying the 3 kept in. */
	usleep(1050 * 1000);
	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4001, 80, 0);
	expect_drop_from(true, &f, WEFT_DROP_POLICY_EGRESS);
	log.n = 0;
	drop_log_read(&log);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.ev[0].reason, WEFT_DROP_POLICY_EGRESS);
	assert_int_equal(log.ev[0].dir, WEFT_CT_EGRESS);
	assert_int_equal(log.ev[0].suppressed, 3);
	assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
}

/* A port range written as prefixes: its edges and just outside. */
static void sg_rule_port_range_edges(void **state)
{
	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_1);
	/* 1000-1023, 1024-2047 minus 2001-2047: 1000/13 1008/12 1024/6
	 * 1536/7 1792/8... the helper finds them. */
	assert_true(add_sg_rule(CLASS_1, IPPROTO_TCP_, 1000, 2000) > 2);
	expect_syn_to_a(IP_D, 999, false);
	expect_syn_to_a(IP_D, 1000, true);
	expect_syn_to_a(IP_D, 1001, true);
	expect_syn_to_a(IP_D, 1023, true);
	expect_syn_to_a(IP_D, 1024, true);
	expect_syn_to_a(IP_D, 1999, true);
	expect_syn_to_a(IP_D, 2000, true);
	expect_syn_to_a(IP_D, 2001, false);
	expect_syn_to_a(IP_D, 2048, false);
	/* The whole range 1-65535: 0 stays outside. */
	assert_int_equal(add_sg_rule(CLASS_2, IPPROTO_TCP_, 1, 65535), 16);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 9, 0, 0), 16, CLASS_2, 0);
	expect_syn_to_a(IP(10, 9, 0, 1), 65535, true);
	expect_syn_to_a(IP(10, 9, 0, 1), 1, true);
	expect_syn_to_a(IP(10, 9, 0, 1), 0, false);
}

/* Nested remote prefixes: the /16's class holds the /8's rules too (the
 * agent's compiler makes it so), the longest match picks it. */
static void sg_remote_nested_prefixes(void **state)
{
	NEED_BPF();
	set_policy(IF_A, 1);
	/* Rules: ssh from 10.0.0.0/8, http from 10.1.0.0/16. */
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 0, 0, 0), 8, CLASS_1, 0);
	add_sg_rule(CLASS_1, IPPROTO_TCP_, SSH, SSH);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 1, 0, 0), 16, CLASS_2, 0);
	add_sg_rule(CLASS_2, IPPROTO_TCP_, SSH, SSH);
	add_sg_rule(CLASS_2, IPPROTO_TCP_, 80, 80);

	expect_syn_to_a(IP(10, 1, 2, 3), SSH, true);
	expect_syn_to_a(IP(10, 1, 2, 3), 80, true);
	expect_syn_to_a(IP(10, 2, 0, 1), SSH, true);
	expect_syn_to_a(IP(10, 2, 0, 1), 80, false);
	expect_syn_to_a(IP(11, 0, 0, 1), SSH, false);
	/* The egress side of the same port has no rules at all. */
	{
		struct frame f = udp_ports(MAC_D, MAC_A, IP_A, IP(10, 1, 2, 3),
					   4000, SSH, 0);

		expect_drop_from(true, &f, WEFT_DROP_POLICY_EGRESS);
	}
}

/* Rules without a remote (any_class) apply to every address, next to the
 * class of a prefix. */
static void sg_remote_any_class(void **state)
{
	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_3);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 0, 0, 0), 24, CLASS_1,
		      CLASS_3);
	add_sg_rule(CLASS_1, IPPROTO_TCP_, SSH, SSH);
	add_sg_rule(CLASS_3, IPPROTO_TCP_, 443, 443);

	expect_syn_to_a(IP_D, SSH, true);
	expect_syn_to_a(IP_D, 443, true);
	expect_syn_to_a(IP_D, 80, false);
	expect_syn_to_a(IP(192, 168, 1, 1), 443, true);
	expect_syn_to_a(IP(192, 168, 1, 1), SSH, false);
}

/* A remote group: its members' addresses as /32s. */
static void sg_remote_group_members(void **state)
{
	NEED_BPF();
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP_D, 32, CLASS_1, 0);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, IP(10, 0, 0, 7), 32, CLASS_1, 0);
	add_sg_rule(CLASS_1, 0, 0, 0);

	expect_syn_to_a(IP_D, 1234, true);
	expect_syn_to_a(IP(10, 0, 0, 7), 1234, true);
	expect_syn_to_a(IP(10, 0, 0, 5), 1234, false);
	expect_syn_to_a(IP(10, 0, 0, 6), 1234, false);
}

/* Without WEFT_PORT_F_POLICY nothing of this applies, whatever the maps
 * hold. */
static void sg_port_without_policy_unaffected(void **state)
{
	struct frame f;

	NEED_BPF();
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_ACK,
					  .seq = ISN_A,
					  .ack = ISN_D,
					  .wscale = NO_WSCALE });
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN | TCP_FIN,
					  .seq = ISN_A,
					  .wscale = NO_WSCALE });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					   .seq = ISN_D,
					   .ack = 1,
					   .wscale = NO_WSCALE });
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 1, 2, 0x2000);
	expect_pass_from(false, &f);
	f = icmp_id_frame(MAC_A, MAC_D, IP_D, IP_A, 0, 0, 99);
	expect_pass_from(false, &f);
	/* Local delivery to C, which has none either. */
	f = udp_ports(MAC_C, MAC_A, IP_A, IP_C, 1, 2, 0);
	assert_int_equal(port_run(IF_A, &f).verdict, TC_ACT_REDIRECT);
	assert_int_equal(ct_count(), 0);
	{
		struct weft_stats a = get_stats(IF_A), v = get_stats(IF_VXLAN);

		assert_int_equal(total_drops(&a) + total_drops(&v), 0);
	}
}

/* Deletes the sg_rules entry of 'class' for TCP port 'port' alone. */
static void del_sg_tcp_port(uint32_t class, uint16_t port)
{
	struct weft_sg_rule_key k = { .prefixlen = 64,
				      .class = class,
				      .proto = IPPROTO_TCP_,
				      .port = htons(port) };

	assert_int_equal(
		bpf_map_delete_elem(bpf_map__fd(skel->maps.sg_rules), &k), 0);
}

/*
 * Revocation: a new policy_gen makes an entry check the rules again on its
 * next packet. Unchanged rules: it passes and takes the new gen. Rules
 * that no longer admit it: the packet is dropped and the entry is gone,
 * whichever side sends next.
 */
static void sg_revocation(void **state)
{
	struct tcp_seg d_data = { .flags = TCP_ACK,
				  .seq = ISN_D + 1,
				  .ack = ISN_A + 1,
				  .wscale = NO_WSCALE,
				  .len = 10 };
	struct weft_ct_entry e;
	struct frame f;

	NEED_BPF();
	/* D opens to A's port 40000 (ingress), A opens UDP to D (egress). */
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_INGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, IPPROTO_TCP_, A_PORT, A_PORT);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, IP_D, 32, CLASS_2, 0);
	add_sg_rule(CLASS_2, IPPROTO_UDP_, 5000, 5000);
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_SYN,
					   .seq = ISN_D,
					   .wscale = NO_WSCALE });
	pass_seg(true, &(struct tcp_seg){ .flags = TCP_SYN | TCP_ACK,
					  .seq = ISN_A,
					  .ack = ISN_D + 1,
					  .wscale = NO_WSCALE });
	pass_seg(false, &(struct tcp_seg){ .flags = TCP_ACK,
					   .seq = ISN_D + 1,
					   .ack = ISN_A + 1,
					   .wscale = NO_WSCALE });
	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	expect_pass_from(true, &f);

	/* A new gen, the same rules: still admitted, the gen stored. */
	set_policy(IF_A, 2);
	pass_seg(false, &d_data);
	assert_true(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.policy_gen, 2);
	assert_int_equal(e.state, WEFT_CT_ESTABLISHED);

	/* The ingress rule goes: the next packet, from A (a reply), ends
	 * the connection; then D's is invalid. */
	del_sg_tcp_port(CLASS_1, A_PORT);
	set_policy(IF_A, 3);
	drop_seg(true,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_A + 1,
				    .ack = ISN_D + 11,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_POLICY_INGRESS);
	assert_false(ct_get(VNI, IP_D, IP_A, SSH, A_PORT, IPPROTO_TCP_,
			    WEFT_CT_INGRESS, &e));
	d_data.seq += 10;
	drop_seg(false, &d_data, WEFT_DROP_CT_INVALID);

	/* The UDP flow is checked again on its next packet, and is still
	 * admitted by its egress rule: it passes and takes gen 3. */
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	expect_pass_from(false, &f);
	assert_true(ct_get(VNI, IP_A, IP_D, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.policy_gen, 3);
	/* D is no longer a remote of A's egress rules: the reply ends it,
	 * refused by the rules that admitted it (egress). */
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(skel->maps.sg_remote),
					     &(struct weft_sg_remote_key){
						     .prefixlen = 96,
						     .policy = IF_A,
						     .dir = WEFT_CT_EGRESS,
						     .ip = IP_D }),
			 0);
	set_policy(IF_A, 4);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_EGRESS);
	assert_int_equal(ct_count(), 0);
}

/*
 * Two networks with the same addresses never share an entry: A (network
 * 100) and F (network 310) both have 10.0.0.1. A's flow does not let the
 * same tuple into F; when both send it, each has its own entry and each
 * gets its reply.
 */
static void sg_two_networks_apart(void **state)
{
	struct frame f;

	NEED_BPF();
	routing_topology(); /* F: 10.0.0.1 like A, in network 310 */
	add_network(VNI_T2A);
	add_fdb(VNI_T2A, MAC_D, 0, HOST_D);
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);
	set_policy(IF_F, 1);

	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	expect_pass_from(true, &f);
	/* The reply in network 310, to F: not a reply there. */
	f = udp_ports(MAC_F, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	set_tunnel_key(VNI_T2A, HOST_D);
	expect_drop(skel->progs.weft_tunnel_ingress, IF_VXLAN, &f, IF_F,
		    WEFT_DROP_POLICY_INGRESS);

	/* F sends the same tuple in its network: a second entry. */
	add_sg_remote(IF_F, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	f = udp_ports(MAC_D, MAC_F, IP_A, IP_D, 4000, 5000, 0);
	assert_int_equal(port_run(IF_F, &f).verdict, TC_ACT_REDIRECT);
	assert_int_equal(ct_count(), 2);
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	expect_pass_from(false, &f);
	f = udp_ports(MAC_F, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	set_tunnel_key(VNI_T2A, HOST_D);
	assert_int_equal(tunnel_run(&f).verdict, TC_ACT_REDIRECT);
}

/* Routed delivery to a local port checks its ingress rules, in its own
 * network; the sender's egress rules are checked before routing. */
static void sg_routed_delivery(void **state)
{
	struct weft_ct_entry e;
	struct frame in;
	struct result res;

	NEED_BPF();
	routing_topology();
	set_policy(IF_B, 5);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 64);
	expect_drop(skel->progs.weft_port_ingress, IF_A, &in, IF_B,
		    WEFT_DROP_POLICY_INGRESS);
	assert_int_equal(get_stats(IF_B).tx_packets, 0);

	add_sg_remote(IF_B, WEFT_CT_INGRESS, IP(10, 0, 0, 0), 24, CLASS_1, 0);
	add_sg_rule(CLASS_1, IPPROTO_UDP_, 5000, 5000);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	assert_true(ct_get(VNI_OTHER, IP_A, IP_B, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.ifindex, IF_B);
	assert_int_equal(e.policy_gen, 5);
	/* B's reply, routed back: its egress check finds the entry. */
	in = routed_udp(MAC_R1B, MAC_B, IP_B, IP_A, 64);
	in.b[14 + 20] = 0x13; /* ports swapped: 5000 -> 4000 */
	in.b[14 + 21] = 0x88;
	in.b[14 + 22] = 0x0f;
	in.b[14 + 23] = 0xa0;
	res = port_run(IF_B, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_true(ct_get(VNI_OTHER, IP_A, IP_B, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_INGRESS, &e));
	assert_int_equal(e.state, WEFT_CT_REPLIED);

	/* The sender's egress rules come before routing. */
	set_policy(IF_A, 1);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_POLICY_EGRESS);
}

/* What the datapath answers itself is not checked: ARP replies, the
 * router's echo replies and ICMP errors. Packets to the router's own
 * address are subject to egress rules. */
static void sg_datapath_answers_unchecked(void **state)
{
	struct frame in, err;
	struct result res;

	NEED_BPF();
	routing_topology();
	set_policy(IF_A, 1);
	in = arp_request(MAC_A, IP_A, GW_A);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	in = icmp_frame(MAC_R1A, MAC_A, IP_A, GW_A, 8, 0, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_POLICY_EGRESS);

	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);
	res = port_run(IF_A, &in); /* no ingress rule for the reply */
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_echo_reply(&res.out, &in, MAC_R1A, GW_A);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 1);
	err = expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
	assert_icmp_error(&err, in.b + 14, 11, 0, MAC_A, MAC_R1A, GW_A, IP_A);
	assert_int_equal(get_stats(IF_A).icmp_sent, 2);
}

/* An entry past its expiry is gone for the datapath: the packets that
 * needed it are new connections (or invalid) again. */
static void sg_expired_entry(void **state)
{
	struct weft_ct_key k = { .vni = VNI,
				 .saddr = IP_A,
				 .daddr = IP_D,
				 .sport = htons(4000),
				 .dport = htons(5000),
				 .proto = IPPROTO_UDP_,
				 .dir = WEFT_CT_EGRESS };
	int fd;
	struct weft_ct_entry e;
	struct frame f;

	NEED_BPF();
	fd = bpf_map__fd(skel->maps.ct);
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);
	f = udp_ports(MAC_D, MAC_A, IP_A, IP_D, 4000, 5000, 0);
	expect_pass_from(true, &f);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &e), 0);
	e.expires_ns = 1;
	put(fd, &k, &e);
	f = udp_ports(MAC_A, MAC_D, IP_D, IP_A, 5000, 4000, 0);
	expect_drop_from(false, &f, WEFT_DROP_POLICY_INGRESS);
	assert_int_equal(ct_count(), 0);

	handshake(NO_WSCALE, NO_WSCALE);
	k.sport = htons(A_PORT);
	k.dport = htons(SSH);
	k.proto = IPPROTO_TCP_;
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &e), 0);
	e.expires_ns = 1;
	put(fd, &k, &e);
	drop_seg(false,
		 &(struct tcp_seg){ .flags = TCP_ACK,
				    .seq = ISN_D + 1,
				    .ack = ISN_A + 1,
				    .wscale = NO_WSCALE },
		 WEFT_DROP_CT_INVALID);
	assert_int_equal(ct_count(), 0);
}

/* --- north-south: gateways, SNAT, floating IPs --------------------------- */

/*
 * The world of the north-south tests (docs/gateways.md), on top of
 * routing_topology(): router 1 has an external gateway (external IP
 * 203.0.113.101, gateway port MAC R1GW, SNAT on) and a default route of
 * kind EXTERNAL. Gateway nodes 0..3 live at 192.0.2.100+slot. For the
 * gateway programs, this host is the gateway of slot 'slot' (uplink 51,
 * 203.0.113.2); D (10.0.0.4 on 192.0.2.12) is SNATed, V (10.0.0.5 on
 * 192.0.2.13) has the floating IP 203.0.113.120, and 203.0.113.121 is a
 * floating IP with no port.
 */
#define IF_UPLINK 51
#define IF_H 14 /* a local port of network 500 */
#define EXT_R1 IP(203, 0, 113, 101)
#define FIP_V IP(203, 0, 113, 120)
#define FIP_FREE IP(203, 0, 113, 121)
#define UPLINK_IP IP(203, 0, 113, 2)
#define IP_V IP(10, 0, 0, 5)
#define IP_REMOTE_ROUTER IP(198, 51, 100, 1)
#define GW_IP(slot) IP(192, 0, 2, 100 + (slot))
#define SHARE_MIN(slot) (WEFT_SNAT_PORT_MIN + (slot)*WEFT_SNAT_PORTS_PER_SLOT)

static const uint8_t MAC_R1GW[6] = { 0x02, 0, 0, 0, 0x01, 0xee };
static const uint8_t MAC_V[6] = { 0x02, 0, 0, 0, 0, 0x20 };
static const uint8_t MAC_UPLINK[6] = { 0x02, 0, 0, 0, 0xee, 0x02 };
static const uint8_t MAC_UPSTREAM[6] = { 0x02, 0, 0, 0, 0xee, 0x01 };

/* gw_slots[slot]: the gateway at GW_IP(slot), alive or not. */
static void set_gw_slot(uint32_t slot, bool alive)
{
	struct weft_gw_slot s = { .ip = GW_IP(slot),
				  .flags = alive ? WEFT_GW_F_ALIVE : 0 };

	put(bpf_map__fd(skel->maps.gw_slots), &slot, &s);
}

/* Every bucket of gw_table to slot 'slot' (or, with 'spread', bucket b
 * to slot b % 4); slot -1: no gateway. */
static void fill_gw_table(int slot, bool spread)
{
	for (uint32_t b = 0; b < WEFT_GW_BUCKETS; b++) {
		int s = spread ? (int)(b % 4) : slot;
		struct weft_gw_bucket v = { 0 };

		if (s >= 0) {
			v.ip = GW_IP((uint32_t)s);
			v.slot = (uint32_t)s;
		}
		put(bpf_map__fd(skel->maps.gw_table), &b, &v);
	}
}

static void add_ext_addr(uint32_t ip, uint32_t kind, uint32_t vni,
			 uint32_t fixed_ip, uint32_t router)
{
	struct weft_ext_addr a = {
		.kind = kind, .vni = vni, .fixed_ip = fixed_ip, .router = router
	};

	put(bpf_map__fd(skel->maps.ext_addrs), &ip, &a);
}

/* The external gateway of 'router' (address 'ext_ip', gateway port
 * 'mac', 'flags' WEFT_EXT_F_SNAT or 0) as a gateway's agent writes it:
 * ext_routers and ext_addrs. */
static void add_ext_router(uint32_t router, uint32_t ext_ip,
			   const uint8_t mac[6], uint16_t flags)
{
	struct weft_ext_router e = { .ext_ip = ext_ip, .flags = flags };

	memcpy(e.ext_mac, mac, 6);
	put(bpf_map__fd(skel->maps.ext_routers), &router, &e);
	add_ext_addr(ext_ip, WEFT_EXT_ROUTER, 0, 0, router);
}

/* Router 1's gateway ('flags': WEFT_EXT_F_SNAT or 0) as hypervisors and
 * gateways see it. */
static void external_router(uint16_t flags)
{
	struct weft_route rt = { .kind = WEFT_ROUTE_EXTERNAL,
				 .ifaddr = EXT_R1 };

	routing_topology();
	memcpy(rt.mac, MAC_R1GW, 6);
	add_route(R1, 0, 0, &rt);
	add_ext_router(R1, EXT_R1, MAC_R1GW, flags);
}

/* The floating IP 'fip' of (network 'vni', fixed IP 'fixed') on router
 * 'router', as a gateway's agent writes it: fips and ext_addrs. */
static void add_fip(uint32_t vni, uint32_t fixed, uint32_t fip, uint32_t router)
{
	struct weft_fip_key fk = { .vni = vni, .fixed_ip = fixed };
	struct weft_fip f = { .fip = fip, .router = router };

	put(bpf_map__fd(skel->maps.fips), &fk, &f);
	add_ext_addr(fip, WEFT_EXT_FIP, vni, fixed, router);
}

/* Sets the uplink's MAC in the config map (checked on the uplink). */
static void set_uplink_mac(const uint8_t mac[6])
{
	struct weft_config c;
	uint32_t zero = 0;

	assert_int_equal(
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.config), &zero, &c),
		0);
	memcpy(c.uplink_mac, mac, 6);
	put(bpf_map__fd(skel->maps.config), &zero, &c);
}

/* This host as the gateway of slot 'slot', all four gateways alive. */
static void gateway_topology(uint32_t slot)
{
	struct weft_config c = { .vxlan_ifindex = IF_VXLAN,
				 .local_ip = GW_IP(slot),
				 .flags = WEFT_CONFIG_F_GATEWAY,
				 .uplink_ifindex = IF_UPLINK,
				 .uplink_ip = UPLINK_IP,
				 .gw_slot = slot };
	uint32_t zero = 0;

	external_router(WEFT_EXT_F_SNAT);
	put(bpf_map__fd(skel->maps.config), &zero, &c);
	for (uint32_t s = 0; s < 4; s++) {
		set_gw_slot(s, true);
		if (s != slot)
			add_host(GW_IP(s));
	}
	add_network(VNI_OTHER);
	add_fdb(VNI, MAC_V, 0, HOST_OTHER);
	add_neigh(VNI, IP_V, MAC_V);
	add_fip(VNI, IP_V, FIP_V, R1);
	add_ext_addr(FIP_FREE, WEFT_EXT_FIP, 0, 0, 0);
}

static uint32_t get_be32(const struct frame *f, size_t off)
{
	uint32_t v;

	memcpy(&v, f->b + off, 4);
	return v;
}

static uint16_t get_u16(const struct frame *f, size_t off)
{
	return (uint16_t)(f->b[off] << 8 | f->b[off + 1]);
}

static void set_u16(struct frame *f, size_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

/* Offsets in a frame without IP options. */
#define OFF_SADDR 26
#define OFF_DADDR 30
#define OFF_L4 34
#define OFF_QUOTE (OFF_L4 + 8) /* an ICMP error's quoted IP header */
#define OFF_QUOTE_L4 (OFF_QUOTE + 20)

/*
 * The sum that checks the transport checksum of the IPv4 frame 'f': TCP
 * and UDP over the pseudo-header and the segment, ICMP over the message.
 * 0 when the checksum is right (or to be written into a zeroed field).
 */
static uint16_t l4_csum(const struct frame *f)
{
	size_t hl = ip_hlen(f), len = (size_t)get_u16(f, 16) - hl;
	uint8_t buf[300];

	if (f->b[23] == IPPROTO_ICMP_)
		return csum(f->b + 14 + hl, len);
	assert_true(12 + len <= sizeof(buf));
	memcpy(buf, f->b + OFF_SADDR, 8);
	buf[8] = 0;
	buf[9] = f->b[23];
	buf[10] = (uint8_t)(len >> 8);
	buf[11] = (uint8_t)len;
	memcpy(buf + 12, f->b + 14 + hl, len);
	return csum(buf, 12 + len);
}

/* The offset of the transport checksum of 'f' (no IP options). */
static size_t l4_csum_off(const struct frame *f)
{
	if (f->b[23] == IPPROTO_TCP_)
		return OFF_L4 + 16;
	if (f->b[23] == IPPROTO_UDP_)
		return OFF_L4 + 6;
	return OFF_L4 + 2;
}

/* Writes the right transport checksum into 'f'. */
static struct frame with_l4_csum(struct frame f)
{
	set_u16(&f, l4_csum_off(&f), 0);
	set_u16(&f, l4_csum_off(&f), l4_csum(&f));
	return f;
}

/* Checks both checksums of 'f' by recomputing them. */
static void assert_csums(const struct frame *f)
{
	assert_int_equal(csum(f->b + 14, ip_hlen(f)), 0);
	assert_int_equal(l4_csum(f), 0);
}

/* A flow's frames (valid checksums). 'dst'/'src': Ethernet. */
static struct frame ns_udp(const uint8_t dst[6], const uint8_t src[6],
			   uint32_t saddr, uint32_t daddr, uint16_t sport,
			   uint16_t dport)
{
	return with_l4_csum(udp_ports(dst, src, saddr, daddr, sport, dport, 0));
}

static struct frame ns_tcp(const uint8_t dst[6], const uint8_t src[6],
			   uint32_t saddr, uint32_t daddr, uint16_t sport,
			   uint16_t dport, uint8_t flags)
{
	return with_l4_csum(tcp_frame(dst, src, saddr, daddr, sport, dport,
				      &(struct tcp_seg){ .flags = flags,
							 .seq = ISN_A,
							 .ack = ISN_D,
							 .wscale = NO_WSCALE,
							 .len = 5 }));
}

static struct frame ns_echo(const uint8_t dst[6], const uint8_t src[6],
			    uint32_t saddr, uint32_t daddr, uint8_t type,
			    uint16_t id)
{
	return with_l4_csum(icmp_id_frame(dst, src, saddr, daddr, type, 0, id));
}

/* An ICMP error 'type'/'code' from 'saddr' to 'daddr' quoting the IP
 * packet of 'quoted' (header and 8 bytes). */
static struct frame ns_icmp_error(const uint8_t dst[6], const uint8_t src[6],
				  uint32_t saddr, uint32_t daddr, uint8_t type,
				  uint8_t code, const struct frame *quoted)
{
	uint8_t msg[8 + 20 + 8] = { type, code };
	struct ipv4_spec ip = { .saddr = saddr,
				.daddr = daddr,
				.proto = IPPROTO_ICMP_,
				.ttl = 64 };

	memcpy(msg + 8, quoted->b + 14, 28);
	return with_l4_csum(ipv4_frame(dst, src, &ip, msg, sizeof(msg)));
}

/* 'f' (no checksum needed) turned into GRE, IP checksum right. */
static struct frame as_gre(struct frame f)
{
	f.b[23] = IPPROTO_GRE_;
	set_u16(&f, 24, 0);
	set_u16(&f, 24, csum(f.b + 14, 20));
	return f;
}

static struct result gw_tunnel_run(uint32_t vni, uint32_t remote,
				   const struct frame *in)
{
	set_tunnel_key(vni, remote);
	return run(skel->progs.weft_gw_tunnel_ingress, IF_VXLAN, in);
}

static struct result uplink_run(const struct frame *in)
{
	uint32_t zero = 0;
	struct weft_test_tunnel_key t = { 0 };

	put(bpf_map__fd(skel->maps.test_tunnel_key), &zero, &t);
	return run(skel->progs.weft_gw_uplink_ingress, IF_UPLINK, in);
}

static void expect_uplink_drop(const struct frame *in,
			       enum weft_drop_reason reason)
{
	expect_drop(skel->progs.weft_gw_uplink_ingress, IF_UPLINK, in,
		    IF_UPLINK, reason);
}

static void expect_gw_tunnel_drop(uint32_t vni, uint32_t remote,
				  const struct frame *in,
				  enum weft_drop_reason reason)
{
	set_tunnel_key(vni, remote);
	expect_drop(skel->progs.weft_gw_tunnel_ingress, IF_VXLAN, in, IF_VXLAN,
		    reason);
}

/* Runs the outbound frame 'in' (from D's host) on the gateway and checks
 * that it leaves SNATed: source EXT_R1 and a port of slot 'slot''s share,
 * checksums right, everything else as it was. Returns the frame out. */
static struct frame expect_snat_out(const struct frame *in, uint32_t slot)
{
	struct result res = gw_tunnel_run(VNI, HOST_D, in);
	uint16_t port;

	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(res.out.len, in->len);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), EXT_R1);
	assert_int_equal(get_be32(&res.out, OFF_DADDR),
			 get_be32(in, OFF_DADDR));
	assert_memory_equal(res.out.b, in->b, OFF_SADDR - 2); /* to the csum */
	port = in->b[23] == IPPROTO_ICMP_ ? get_u16(&res.out, OFF_L4 + 4) :
					    get_u16(&res.out, OFF_L4);
	assert_true(port >= SHARE_MIN(slot));
	assert_true(port < SHARE_MIN(slot) + WEFT_SNAT_PORTS_PER_SLOT);
	assert_int_equal(csum(res.out.b + 14, 20), 0);
	return res.out;
}

/* Checks that 'out' went to the VM 'mac' on 'host' in network 'vni' from
 * the router interface 'router_mac', TTL one lower than 'in''s. */
static void assert_tunnelled_in(const struct result *res,
				const struct frame *in, const uint8_t mac[6],
				const uint8_t router_mac[6], uint32_t vni,
				uint32_t host)
{
	struct weft_test_tunnel_key t = get_tunnel_key();

	assert_int_equal(res->verdict, TC_ACT_REDIRECT);
	assert_int_equal(res->out.len, in->len);
	assert_memory_equal(res->out.b, mac, 6);
	assert_memory_equal(res->out.b + 6, router_mac, 6);
	assert_int_equal(res->out.b[22], in->b[22] - 1);
	assert_int_equal(t.set, 1);
	assert_int_equal(t.vni, vni);
	assert_int_equal(t.remote_ip, host);
}

/* The same, in network 100 from router 1's interface. */
static void assert_routed_in(const struct result *res, const struct frame *in,
			     const uint8_t mac[6], uint32_t host)
{
	assert_tunnelled_in(res, in, mac, MAC_R1A, VNI, host);
}

/* The SNAT translation of D's flow, or false. */
static bool snat_get(uint32_t saddr, uint32_t daddr, uint16_t sport,
		     uint16_t dport, uint8_t proto, struct weft_snat_out *o)
{
	struct weft_snat_key k = { .vni = VNI,
				   .saddr = saddr,
				   .daddr = daddr,
				   .sport = htons(sport),
				   .dport = htons(dport),
				   .proto = proto };

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.snat_out), &k, o) ==
	       0;
}

/* --- hypervisor side --- */

/* A's packet to the Internet leaves router 1 through its external route:
 * rewritten for the gateway port and tunnelled to the gateway in network
 * 100 (or 200, from B: the network the packet was in). */
static void ns_route_external(void **state)
{
	struct weft_test_tunnel_key t;
	struct weft_stats a;
	struct frame in;
	struct result res;

	NEED_BPF();
	external_router(WEFT_EXT_F_SNAT);
	set_gw_slot(1, true);
	fill_gw_table(1, false);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 64);
	res = port_run(IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_R1GW, MAC_R1A, 1);
	t = get_tunnel_key();
	assert_int_equal(t.set, 1);
	assert_int_equal(t.vni, VNI);
	assert_int_equal(t.remote_ip, GW_IP(1));
	a = get_stats(IF_A);
	assert_int_equal(a.rx_packets, 1);
	assert_int_equal(total_drops(&a), 0);

	in = routed_udp(MAC_R1B, MAC_B, IP_B, IP_OUTSIDE, 64);
	res = port_run(IF_B, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_R1GW, MAC_R1B, 1);
	t = get_tunnel_key();
	assert_int_equal(t.vni, VNI_OTHER);
	assert_int_equal(t.remote_ip, GW_IP(1));

	/* From network 500 through router 3, whose default route leads to
	 * router 1: out of router 1 in network 200, the network they share,
	 * from router 1's interface there, TTL - 2. */
	second_router();
	add_static_route(R3, 0, 0, GW_B);
	add_local_port(IF_H, VNI_FAR, MAC_H, IP_H);
	in = routed_udp(MAC_R3B, MAC_H, IP_H, IP_OUTSIDE, 64);
	res = port_run(IF_H, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_routed(&res.out, &in, MAC_R1GW, MAC_R1B, 2);
	t = get_tunnel_key();
	assert_int_equal(t.vni, VNI_OTHER);
	assert_int_equal(t.remote_ip, GW_IP(1));

	/* The router's other routes are as they were; TTL 1 is an error. */
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_B, 64);
	res = port_run(IF_A, &in);
	assert_routed(&res.out, &in, MAC_B, MAC_R1B, 1);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 1);
	expect_icmp_error(IF_A, &in, WEFT_DROP_TTL_EXCEEDED);
}

static void ns_no_gateway(void **state)
{
	struct frame in;

	NEED_BPF();
	external_router(WEFT_EXT_F_SNAT);
	in = routed_udp(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 64);
	expect_port_drop(IF_A, &in, WEFT_DROP_NO_GATEWAY);
	fill_gw_table(-1, false);
	expect_port_drop(IF_A, &in, WEFT_DROP_NO_GATEWAY);
	assert_int_equal(get_tunnel_key().set, 0);
}

/* The gateway of a flow is its bucket's: the same for each of its
 * packets, and flows spread over the gateways. */
static void ns_gateway_by_hash(void **state)
{
	uint32_t seen[4] = { 0 };
	int used = 0;

	NEED_BPF();
	external_router(WEFT_EXT_F_SNAT);
	fill_gw_table(0, true);
	for (uint16_t sport = 4000; sport < 4032; sport++) {
		struct frame in = udp_ports(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE,
					    sport, 53, 0);
		uint32_t gw;

		assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
		gw = get_tunnel_key().remote_ip;
		for (int i = 0; i < 3; i++) {
			assert_int_equal(port_run(IF_A, &in).verdict,
					 TC_ACT_REDIRECT);
			assert_int_equal(get_tunnel_key().remote_ip, gw);
		}
		for (uint32_t s = 0; s < 4; s++)
			if (gw == GW_IP(s))
				seen[s]++;
	}
	for (int s = 0; s < 4; s++)
		used += seen[s] > 0;
	assert_true(used >= 2);
	assert_int_equal(seen[0] + seen[1] + seen[2] + seen[3], 32);
}

/* A connection of a port with security groups keeps its gateway while
 * it is alive, whatever gw_table says; it moves when it is dead. A
 * connection opened from outside (through a floating IP) as well. */
static void ns_ct_gateway_sticks(void **state)
{
	struct weft_ct_key k = { .vni = VNI,
				 .saddr = IP_OUTSIDE,
				 .daddr = IP_A,
				 .sport = htons(5000),
				 .dport = htons(4001),
				 .proto = IPPROTO_UDP_,
				 .dir = WEFT_CT_INGRESS };
	struct weft_ct_entry e = { 0 };
	struct frame in;

	NEED_BPF();
	external_router(WEFT_EXT_F_SNAT);
	set_policy(IF_A, 1);
	add_sg_remote(IF_A, WEFT_CT_EGRESS, 0, 0, 0, CLASS_1);
	add_sg_rule(CLASS_1, 0, 0, 0);
	for (uint32_t s = 0; s < 4; s++)
		set_gw_slot(s, true);
	fill_gw_table(1, false);

	in = udp_ports(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 4000, 5000, 0);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_tunnel_key().remote_ip, GW_IP(1));
	assert_true(ct_get(VNI, IP_A, IP_OUTSIDE, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.gw, 2);

	/* Gateway 2 joins and takes every bucket: the connection stays. */
	fill_gw_table(2, false);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_tunnel_key().remote_ip, GW_IP(1));
	/* A new connection follows the table. */
	in = udp_ports(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 4002, 5000, 0);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_tunnel_key().remote_ip, GW_IP(2));
	/* Gateway 1 dies: the connection moves, and records it. */
	set_gw_slot(1, false);
	in = udp_ports(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 4000, 5000, 0);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_tunnel_key().remote_ip, GW_IP(2));
	assert_true(ct_get(VNI, IP_A, IP_OUTSIDE, 4000, 5000, IPPROTO_UDP_,
			   WEFT_CT_EGRESS, &e));
	assert_int_equal(e.gw, 3);

	/* Opened from outside to A:4001 (its ingress entry), on gateway 3:
	 * A's replies go there. */
	memset(&e, 0, sizeof(e));
	e.ifindex = IF_A;
	e.policy_gen = 1;
	e.state = WEFT_CT_REPLIED;
	e.gw = 4;
	e.expires_ns = ~0ull;
	put(bpf_map__fd(skel->maps.ct), &k, &e);
	in = udp_ports(MAC_R1A, MAC_A, IP_A, IP_OUTSIDE, 4001, 5000, 0);
	assert_int_equal(port_run(IF_A, &in).verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_tunnel_key().remote_ip, GW_IP(3));
	/* No gateway alive at all. */
	fill_gw_table(-1, false);
	set_gw_slot(3, false);
	expect_port_drop(IF_A, &in, WEFT_DROP_NO_GATEWAY);
}

/* --- gateway side --- */

/* UDP and TCP through SNAT: out with a port of the share, checksums
 * right; the reply back to D with router 1's MAC, TTL - 1, tunnelled to
 * D's host in network 100. */
static void ns_snat_udp_tcp(void **state)
{
	static const uint8_t protos[2] = { IPPROTO_UDP_, IPPROTO_TCP_ };
	struct weft_stats vx, up;
	struct weft_snat_out o;

	NEED_BPF();
	gateway_topology(0);
	for (int i = 0; i < 2; i++) {
		uint8_t proto = protos[i];
		size_t ck = proto == IPPROTO_UDP_ ? 6 : 16; /* checksum */
		struct frame in, out, reply;
		struct result res;
		uint16_t port;

		in = proto == IPPROTO_UDP_ ?
			     ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000,
				    5000) :
			     ns_tcp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000,
				    5000, TCP_SYN);
		out = expect_snat_out(&in, 0);
		assert_csums(&out);
		port = get_u16(&out, OFF_L4);
		assert_int_equal(get_u16(&out, OFF_L4 + 2), 5000);
		/* The rest of the header and the payload as they were. */
		assert_memory_equal(out.b + OFF_L4 + 4, in.b + OFF_L4 + 4,
				    ck - 4);
		assert_memory_equal(out.b + OFF_L4 + ck + 2,
				    in.b + OFF_L4 + ck + 2,
				    in.len - OFF_L4 - ck - 2);
		assert_true(snat_get(IP_D, IP_OUTSIDE, 4000, 5000, proto, &o));
		assert_int_equal(o.ext_ip, EXT_R1);
		assert_int_equal(ntohs(o.ext_port), port);
		/* The same flow keeps its port. */
		out = expect_snat_out(&in, 0);
		assert_int_equal(get_u16(&out, OFF_L4), port);

		reply = proto == IPPROTO_UDP_ ?
				ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE,
				       EXT_R1, 5000, port) :
				ns_tcp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE,
				       EXT_R1, 5000, port, TCP_SYN | TCP_ACK);
		res = uplink_run(&reply);
		assert_routed_in(&res, &reply, MAC_D, HOST_D);
		assert_int_equal(get_be32(&res.out, OFF_SADDR), IP_OUTSIDE);
		assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_D);
		assert_int_equal(get_u16(&res.out, OFF_L4), 5000);
		assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 4000);
		assert_csums(&res.out);
		assert_memory_equal(res.out.b + OFF_L4 + 4,
				    reply.b + OFF_L4 + 4, ck - 4);
	}
	vx = get_stats(IF_VXLAN);
	assert_int_equal(vx.rx_packets, 4);
	assert_int_equal(total_drops(&vx), 0);
	up = get_stats(IF_UPLINK);
	assert_int_equal(up.tx_packets, 4);
	assert_int_equal(up.rx_packets, 2);
	assert_int_equal(total_drops(&up), 0);
}

/* A UDP checksum of 0 (none) stays 0 both ways. */
static void ns_snat_udp_zero_csum(void **state)
{
	struct frame in, out, reply;
	struct result res;

	NEED_BPF();
	gateway_topology(0);
	in = udp_ports(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000, 0);
	out = expect_snat_out(&in, 0);
	assert_int_equal(get_u16(&out, OFF_L4 + 6), 0);
	reply = udp_ports(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
			  get_u16(&out, OFF_L4), 0);
	res = uplink_run(&reply);
	assert_routed_in(&res, &reply, MAC_D, HOST_D);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 6), 0);
	assert_int_equal(csum(res.out.b + 14, 20), 0);
}

/* An echo request's id is translated (ICMP checksum too), the reply's
 * back. */
static void ns_snat_icmp_echo(void **state)
{
	struct frame in, out, reply;
	struct weft_snat_out o;
	struct result res;
	uint16_t id;

	NEED_BPF();
	gateway_topology(0);
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 8, 0x4242);
	out = expect_snat_out(&in, 0);
	assert_csums(&out);
	id = get_u16(&out, OFF_L4 + 4);
	assert_true(snat_get(IP_D, IP_OUTSIDE, 0x4242, 0, IPPROTO_ICMP_, &o));
	assert_int_equal(ntohs(o.ext_port), id);
	assert_memory_equal(out.b + OFF_L4 + 6, in.b + OFF_L4 + 6,
			    in.len - OFF_L4 - 6);

	reply = ns_echo(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 0, id);
	res = uplink_run(&reply);
	assert_routed_in(&res, &reply, MAC_D, HOST_D);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_D);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 4), 0x4242);
	assert_csums(&res.out);

	/* An echo reply from D (a ping to the router's IP is no one's) and
	 * a timestamp request cannot be SNATed. */
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 0, 0x4343);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NAT_PROTO);
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 13, 0x4343);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NAT_PROTO);
}

/* Checks the quote of the ICMP error 'out': its IP checksum, and
 * addresses and ports 'saddr':'sport' -> 'daddr':'dport'. */
static void assert_quote(const struct frame *out, uint32_t saddr,
			 uint32_t daddr, uint16_t sport, uint16_t dport)
{
	assert_int_equal(csum(out->b + OFF_QUOTE, 20), 0);
	assert_int_equal(get_be32(out, OFF_QUOTE + 12), saddr);
	assert_int_equal(get_be32(out, OFF_QUOTE + 16), daddr);
	assert_int_equal(get_u16(out, OFF_QUOTE_L4), sport);
	assert_int_equal(get_u16(out, OFF_QUOTE_L4 + 2), dport);
}

/* ICMP errors about a SNATed flow, both ways: outer address, quoted
 * address, port or id, quoted IP checksum and ICMP checksum. */
static void ns_snat_icmp_errors(void **state)
{
	struct frame in, out, quoted, err;
	struct result res;
	uint16_t port;

	NEED_BPF();
	gateway_topology(0);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	out = expect_snat_out(&in, 0);
	port = get_u16(&out, OFF_L4);

	/* Port unreachable from a router on the way, about D's packet as
	 * it left. */
	err = ns_icmp_error(MAC_UPLINK, MAC_UPSTREAM, IP_REMOTE_ROUTER, EXT_R1,
			    3, 3, &out);
	res = uplink_run(&err);
	assert_routed_in(&res, &err, MAC_D, HOST_D);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), IP_REMOTE_ROUTER);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_D);
	assert_csums(&res.out);
	assert_quote(&res.out, IP_D, IP_OUTSIDE, 4000, 5000);
	assert_memory_equal(res.out.b + 14 + 20 + 8, in.b + 14, 10); /* TTL */

	/* D's error about the remote's packet to it (as D received it). */
	quoted = ns_udp(MAC_D, MAC_R1A, IP_OUTSIDE, IP_D, 5000, 4000);
	err = ns_icmp_error(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 3, 3, &quoted);
	res = gw_tunnel_run(VNI, HOST_D, &err);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), EXT_R1);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_OUTSIDE);
	assert_csums(&res.out);
	assert_quote(&res.out, IP_OUTSIDE, EXT_R1, 5000, port);

	/* About an echo request: the quoted id. */
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 8, 0x4242);
	out = expect_snat_out(&in, 0);
	err = ns_icmp_error(MAC_UPLINK, MAC_UPSTREAM, IP_REMOTE_ROUTER, EXT_R1,
			    11, 0, &out);
	res = uplink_run(&err);
	assert_routed_in(&res, &err, MAC_D, HOST_D);
	assert_csums(&res.out);
	assert_int_equal(csum(res.out.b + OFF_QUOTE, 20), 0);
	assert_int_equal(get_be32(&res.out, OFF_QUOTE + 12), IP_D);
	assert_int_equal(get_u16(&res.out, OFF_QUOTE_L4 + 4), 0x4242);

	/* An error about a flow with no translation, either way. */
	quoted = ns_udp(MAC_D, MAC_R1A, IP_OUTSIDE, IP_D, 5000, 4009);
	err = ns_icmp_error(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 3, 3, &quoted);
	expect_gw_tunnel_drop(VNI, HOST_D, &err, WEFT_DROP_SNAT_NO_STATE);
	quoted = out;
	set_u16(&quoted, OFF_L4 + 4, SHARE_MIN(0) + 77);
	err = ns_icmp_error(MAC_UPLINK, MAC_UPSTREAM, IP_REMOTE_ROUTER, EXT_R1,
			    11, 0, &quoted);
	expect_uplink_drop(&err, WEFT_DROP_SNAT_NO_STATE);
}

/* A floating IP: the source of V's packets, stateless (no SNAT state,
 * ports kept), and the destination of packets from outside, routed to V. */
static void ns_floating_ip(void **state)
{
	struct frame in, out, back;
	struct weft_snat_out o;
	struct result res;

	NEED_BPF();
	gateway_topology(0);
	in = ns_tcp(MAC_R1GW, MAC_R1A, IP_V, IP_OUTSIDE, 40000, 443, TCP_SYN);
	res = gw_tunnel_run(VNI, HOST_OTHER, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	out = res.out;
	assert_int_equal(get_be32(&out, OFF_SADDR), FIP_V);
	assert_int_equal(get_u16(&out, OFF_L4), 40000);
	assert_csums(&out);
	assert_false(snat_get(IP_V, IP_OUTSIDE, 40000, 443, IPPROTO_TCP_, &o));

	back = ns_tcp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 443, 40000,
		      TCP_SYN | TCP_ACK);
	res = uplink_run(&back);
	assert_routed_in(&res, &back, MAC_V, HOST_OTHER);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), IP_OUTSIDE);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_V);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 40000);
	assert_csums(&res.out);

	/* A connection from outside: a ping to the floating IP, and V's
	 * answer, with UDP checksums too. */
	back = ns_echo(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 8, 0x99);
	res = uplink_run(&back);
	assert_routed_in(&res, &back, MAC_V, HOST_OTHER);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 4), 0x99);
	assert_csums(&res.out);
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_V, IP_OUTSIDE, 0, 0x99);
	res = gw_tunnel_run(VNI, HOST_OTHER, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), FIP_V);
	assert_csums(&res.out);
	back = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 53, 5353);
	res = uplink_run(&back);
	assert_routed_in(&res, &back, MAC_V, HOST_OTHER);
	assert_csums(&res.out);

	/* An ICMP error to the floating IP about V's packet. */
	back = ns_icmp_error(MAC_UPLINK, MAC_UPSTREAM, IP_REMOTE_ROUTER, FIP_V,
			     3, 4, &out);
	res = uplink_run(&back);
	assert_routed_in(&res, &back, MAC_V, HOST_OTHER);
	assert_csums(&res.out);
	assert_quote(&res.out, IP_V, IP_OUTSIDE, 40000, 443);
	assert_int_equal(get_stats(IF_UPLINK).rx_packets, 4);
}

/* With enable_snat false and no floating IP, the packet leaves as it
 * is. */
static void ns_no_snat(void **state)
{
	struct frame in;
	struct result res;

	NEED_BPF();
	gateway_topology(0);
	add_ext_router(R1, EXT_R1, MAC_R1GW, 0);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	res = gw_tunnel_run(VNI, HOST_D, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(res.out.len, in.len);
	assert_memory_equal(res.out.b, in.b, in.len);
	/* GRE goes too: nothing to translate. */
	in = as_gre(routed_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 64));
	res = gw_tunnel_run(VNI, HOST_D, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
}

/* Each gateway translates to its own share only: slots 0 and 3. */
static void ns_port_share(void **state)
{
	static const uint32_t slots[2] = { 0, 3 };

	NEED_BPF();
	for (int i = 0; i < 2; i++) {
		uint32_t zero = 0;
		struct weft_config c;

		gateway_topology(slots[i]);
		assert_int_equal(
			bpf_map_lookup_elem(bpf_map__fd(skel->maps.config),
					    &zero, &c),
			0);
		assert_int_equal(c.gw_slot, slots[i]);
		/* Flows of its own: the first slot's are still there. */
		for (uint16_t sport = (uint16_t)(1 + 100 * i);
		     sport <= 16 + 100 * i; sport++) {
			struct frame in = ns_udp(MAC_R1GW, MAC_R1A, IP_D,
						 IP_OUTSIDE, sport, 5000);
			struct frame e = ns_echo(MAC_R1GW, MAC_R1A, IP_D,
						 IP_OUTSIDE, 8, sport);

			expect_snat_out(&in, slots[i]);
			expect_snat_out(&e, slots[i]);
		}
	}
}

/* A reply for a port of another alive gateway's share is handed to it as
 * it arrived; a dead owner is snat_no_state. */
static void ns_handoff_sent(void **state)
{
	struct weft_test_tunnel_key t;
	struct frame reply;
	struct result res;

	NEED_BPF();
	gateway_topology(0);
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       SHARE_MIN(2) + 10);
	res = uplink_run(&reply);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(res.out.len, reply.len);
	assert_memory_equal(res.out.b, reply.b, reply.len);
	t = get_tunnel_key();
	assert_int_equal(t.set, 1);
	assert_int_equal(t.vni, WEFT_VNI_HANDOFF);
	assert_int_equal(t.remote_ip, GW_IP(2));
	assert_int_equal(get_stats(IF_UPLINK).rx_packets, 1);
	/* Its own share, or a port below the shares: no one else's. */
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       SHARE_MIN(0) + 10);
	expect_uplink_drop(&reply, WEFT_DROP_SNAT_NO_STATE);
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000, 80);
	expect_uplink_drop(&reply, WEFT_DROP_SNAT_NO_STATE);
	/* Gateway 2 dead. */
	set_gw_slot(2, false);
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       SHARE_MIN(2) + 10);
	expect_uplink_drop(&reply, WEFT_DROP_SNAT_NO_STATE);
}

/* This host is gateway 2, which translated D's flow: the frame gateway 0
 * hands off is translated and routed to D; a hand-off with no state is
 * snat_no_state. */
static void ns_handoff_received(void **state)
{
	struct frame in, out, reply;
	struct result res;
	uint16_t port;

	NEED_BPF();
	gateway_topology(2);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	out = expect_snat_out(&in, 2);
	port = get_u16(&out, OFF_L4);
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       port);
	res = gw_tunnel_run(WEFT_VNI_HANDOFF, GW_IP(0), &reply);
	assert_routed_in(&res, &reply, MAC_D, HOST_D);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 4000);
	assert_csums(&res.out);
	assert_int_equal(get_stats(IF_VXLAN).rx_packets, 2);
	/* A hand-off with no state is not handed on, even for another alive
	 * gateway's port; from an unknown host it is refused. */
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       SHARE_MIN(1) + 3);
	expect_gw_tunnel_drop(WEFT_VNI_HANDOFF, GW_IP(0), &reply,
			      WEFT_DROP_SNAT_NO_STATE);
	expect_gw_tunnel_drop(WEFT_VNI_HANDOFF, HOST_STRANGER, &reply,
			      WEFT_DROP_UNKNOWN_HOST);
}

/* Every port of the share taken: snat_exhausted. Expired translations
 * are taken over (and the old flow's snat_out entry goes). */
static void ns_snat_exhausted(void **state)
{
	int in_fd, out_fd;
	struct weft_snat_in v = { .router = R1, .expires_ns = ~0ull };
	struct weft_snat_key old = { .vni = VNI,
				     .saddr = IP_C,
				     .daddr = IP_OUTSIDE,
				     .dport = htons(5000),
				     .proto = IPPROTO_UDP_ };
	struct weft_snat_out o = { .ext_ip = EXT_R1 };
	struct weft_snat_in_key ik = { .ext_ip = EXT_R1,
				       .proto = IPPROTO_UDP_ };
	struct weft_snat_in got;
	struct frame in, out;
	uint16_t port;

	NEED_BPF();
	gateway_topology(1);
	in_fd = bpf_map__fd(skel->maps.snat_in);
	out_fd = bpf_map__fd(skel->maps.snat_out);
	for (uint32_t p = 0; p < WEFT_SNAT_PORTS_PER_SLOT; p++) {
		old.sport = htons((uint16_t)(10000 + p));
		v.orig = old;
		ik.ext_port = htons((uint16_t)(SHARE_MIN(1) + p));
		put(in_fd, &ik, &v);
		o.ext_port = ik.ext_port;
		put(out_fd, &old, &o);
	}
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_SNAT_EXHAUSTED);
	/* Other protocols have their own ports. */
	in = ns_tcp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000, TCP_SYN);
	expect_snat_out(&in, 1);

	/* All expired: the next flow takes one over. */
	for (uint32_t p = 0; p < WEFT_SNAT_PORTS_PER_SLOT; p++) {
		ik.ext_port = htons((uint16_t)(SHARE_MIN(1) + p));
		assert_int_equal(bpf_map_lookup_elem(in_fd, &ik, &v), 0);
		v.expires_ns = 1;
		put(in_fd, &ik, &v);
	}
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	out = expect_snat_out(&in, 1);
	port = get_u16(&out, OFF_L4);
	ik.ext_port = htons(port);
	assert_int_equal(bpf_map_lookup_elem(in_fd, &ik, &got), 0);
	assert_int_equal(got.orig.saddr, IP_D);
	assert_int_equal(ntohs(got.orig.sport), 4000);
	old.sport = htons((uint16_t)(10000 + port - SHARE_MIN(1)));
	assert_int_not_equal(bpf_map_lookup_elem(out_fd, &old, &o), 0);
}

/* What the uplink refuses, each counted once on it; what it passes to
 * the stack, counted nowhere. */
static void ns_uplink_drops(void **state)
{
	struct weft_stats before, after;
	struct frame in, out;
	struct result res;
	uint16_t port;

	NEED_BPF();
	gateway_topology(0);
	/* A frame flooded by the segment for another node's MAC, once the
	 * uplink's MAC is known; to the uplink's MAC it is served. */
	set_uplink_mac(MAC_UPLINK);
	in = ns_udp(MAC_UPSTREAM, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_OTHER_HOST);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 5000, 80);
	assert_int_equal(uplink_run(&in).verdict, TC_ACT_REDIRECT);

	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_FREE, 5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_FIP_UNASSOCIATED);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, IP(203, 0, 113, 9),
		    5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_EXT_UNKNOWN_DST);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, FIP_V, FIP_V, 5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_EXT_SPOOF);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, EXT_R1, FIP_V, 5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_EXT_SPOOF);
	in = as_gre(
		routed_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, FIP_V, 64));
	expect_uplink_drop(&in, WEFT_DROP_NAT_PROTO);

	/* A reply from the wrong remote address or port. */
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	out = expect_snat_out(&in, 0);
	port = get_u16(&out, OFF_L4);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP(8, 8, 4, 4), EXT_R1, 5000,
		    port);
	expect_uplink_drop(&in, WEFT_DROP_SNAT_NO_STATE);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5001, port);
	expect_uplink_drop(&in, WEFT_DROP_SNAT_NO_STATE);
	in = ns_tcp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000, port,
		    TCP_ACK);
	expect_uplink_drop(&in, WEFT_DROP_SNAT_NO_STATE);
	/* No route into the network any more. */
	add_route(R1, IP(10, 0, 0, 0), 24,
		  &(struct weft_route){ .kind = WEFT_ROUTE_NEXTHOP });
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000, port);
	expect_uplink_drop(&in, WEFT_DROP_NO_ROUTE);

	/* ARP, IPv6, packets to the uplink's address: the stack's. */
	before = get_stats(IF_UPLINK);
	in = arp_request(MAC_UPSTREAM, IP(203, 0, 113, 1), UPLINK_IP);
	assert_int_equal(uplink_run(&in).verdict, TC_ACT_OK);
	in = ns_tcp(MAC_UPLINK, MAC_UPSTREAM, IP(203, 0, 113, 1), UPLINK_IP,
		    50000, 179, TCP_SYN);
	res = uplink_run(&in);
	assert_int_equal(res.verdict, TC_ACT_OK);
	assert_memory_equal(res.out.b, in.b, in.len);
	in.b[12] = 0x86;
	in.b[13] = 0xdd;
	assert_int_equal(uplink_run(&in).verdict, TC_ACT_OK);
	after = get_stats(IF_UPLINK);
	assert_stats_equal(&after, &before);
}

/* What the gateway's tunnel program refuses, counted on the VXLAN
 * device. */
static void ns_gw_tunnel_drops(void **state)
{
	struct frame in;

	NEED_BPF();
	gateway_topology(0);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	expect_gw_tunnel_drop(VNI, HOST_STRANGER, &in, WEFT_DROP_UNKNOWN_HOST);
	expect_gw_tunnel_drop(VNI_ABSENT, HOST_D, &in, WEFT_DROP_UNKNOWN_VNI);
	/* Not from a router's interface; from router 2, which has no
	 * gateway; not to the gateway port's MAC. */
	in = ns_udp(MAC_R1GW, MAC_D, IP_D, IP_OUTSIDE, 4000, 5000);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NO_EXT_ROUTER);
	add_network(VNI_T2A);
	in = ns_udp(MAC_R1GW, MAC_R2A, IP_D, IP_OUTSIDE, 4000, 5000);
	expect_gw_tunnel_drop(VNI_T2A, HOST_D, &in, WEFT_DROP_NO_EXT_ROUTER);
	in = ns_udp(MAC_X, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NO_EXT_ROUTER);
	/* What NAT cannot translate. */
	in = as_gre(routed_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 64));
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NAT_PROTO);
	in = udp_ports(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000, 0x2000);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_NAT_PROTO);
	/* ARP and broadcast never come from a hypervisor. */
	in = arp_request(MAC_R1A, IP_D, IP_OUTSIDE);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_BROADCAST);
	/* No uplink configured. */
	{
		struct weft_config c = { .vxlan_ifindex = IF_VXLAN };
		uint32_t zero = 0;

		put(bpf_map__fd(skel->maps.config), &zero, &c);
		in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
		expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_REDIRECT);
	}
}

/* --- SNAT state copies ---------------------------------------------------- */

/* What snat_events received: the first 8 events, and how many in all. */
struct snat_log {
	struct weft_snat_event ev[8];
	int n;
};

static int snat_log_add(void *ctx, void *data, size_t size)
{
	struct snat_log *log = ctx;

	assert_int_equal(size, sizeof(struct weft_snat_event));
	if (log->n < 8)
		memcpy(&log->ev[log->n], data, size);
	log->n++;
	return 0;
}

/* Reads every event waiting in snat_events into 'log' (emptied first). */
static void snat_log_read(struct snat_log *log)
{
	memset(log, 0, sizeof(*log));
	ring_consume(skel->maps.snat_events, snat_log_add, log);
}

/* Checks that 'ev' reports D's flow to IP_OUTSIDE ('sport' -> 'dport',
 * 'proto') translated by router 1 to EXT_R1 and 'port'. */
static void assert_snat_event(const struct weft_snat_event *ev, uint16_t sport,
			      uint16_t dport, uint8_t proto, uint16_t port)
{
	struct weft_snat_key k = { .vni = VNI,
				   .saddr = IP_D,
				   .daddr = IP_OUTSIDE,
				   .sport = htons(sport),
				   .dport = htons(dport),
				   .proto = proto };

	assert_memory_equal(&ev->orig, &k, sizeof(k));
	assert_int_equal(ev->ext_ip, EXT_R1);
	assert_int_equal(ntohs(ev->ext_port), port);
	assert_int_equal(ev->router, R1);
	assert_int_equal(ev->pad, 0);
	assert_int_equal(ev->pad2, 0);
}

/* Every port of slot 'slot''s share for 'proto' held by C's expired
 * flows, snat_in and snat_out as the gateway writes them. */
static void fill_share_expired(uint32_t slot, uint8_t proto)
{
	struct weft_snat_key old = { .vni = VNI,
				     .saddr = IP_C,
				     .daddr = IP_OUTSIDE,
				     .dport = htons(5000),
				     .proto = proto };
	struct weft_snat_in v = { .router = R1, .expires_ns = 1 };
	struct weft_snat_in_key ik = { .ext_ip = EXT_R1, .proto = proto };
	struct weft_snat_out o = { .ext_ip = EXT_R1, .expires_ns = 1 };

	for (uint32_t p = 0; p < WEFT_SNAT_PORTS_PER_SLOT; p++) {
		old.sport = htons((uint16_t)(10000 + p));
		v.orig = old;
		ik.ext_port = htons((uint16_t)(SHARE_MIN(slot) + p));
		o.ext_port = ik.ext_port;
		put(bpf_map__fd(skel->maps.snat_in), &ik, &v);
		put(bpf_map__fd(skel->maps.snat_out), &old, &o);
	}
}

/* Each new translation is reported once in snat_events, with the inside
 * flow, the external address and port and the router; the flow's next
 * packets, its replies and floating IPs report nothing; a port taken over
 * from an expired translation is a new one. */
static void ns_snat_events(void **state)
{
	struct frame in, out, reply;
	struct snat_log log;
	uint16_t port;

	NEED_BPF();
	gateway_topology(0);
	snat_log_read(&log);
	assert_int_equal(log.n, 0);

	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	out = expect_snat_out(&in, 0);
	port = get_u16(&out, OFF_L4);
	snat_log_read(&log);
	assert_int_equal(log.n, 1);
	assert_snat_event(&log.ev[0], 4000, 5000, IPPROTO_UDP_, port);

	expect_snat_out(&in, 0);
	reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1, 5000,
		       port);
	assert_int_equal(uplink_run(&reply).verdict, TC_ACT_REDIRECT);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_V, IP_OUTSIDE, 4000, 5000);
	assert_int_equal(gw_tunnel_run(VNI, HOST_OTHER, &in).verdict,
			 TC_ACT_REDIRECT);
	snat_log_read(&log);
	assert_int_equal(log.n, 0);

	/* An echo (its id), then a TCP flow that takes an expired port. */
	in = ns_echo(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 8, 0x4242);
	out = expect_snat_out(&in, 0);
	fill_share_expired(0, IPPROTO_TCP_);
	in = ns_tcp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000, TCP_SYN);
	reply = expect_snat_out(&in, 0);
	snat_log_read(&log);
	assert_int_equal(log.n, 2);
	assert_snat_event(&log.ev[0], 0x4242, 0, IPPROTO_ICMP_,
			  get_u16(&out, OFF_L4 + 4));
	assert_snat_event(&log.ev[1], 4000, 5000, IPPROTO_TCP_,
			  get_u16(&reply, OFF_L4));
}

/* A ring record: an 8-byte header and the event, rounded up to 8. */
#define SNAT_EVENT_RECORD ((8 + sizeof(struct weft_snat_event) + 7) / 8 * 8)
#define SNAT_EVENTS_FIT (WEFT_SNAT_EVENTS_SIZE / SNAT_EVENT_RECORD)

/* A full snat_events ring loses copies, never packets: more new
 * translations than it holds all go out, nothing counted; once read, it
 * reports again. The flows are spread over the 16 slots' shares (the
 * gateway's slot changed as it goes) so that no share fills up. */
static void ns_snat_events_ring_full(void **state)
{
	const uint32_t flows = SNAT_EVENTS_FIT + 100, per_slot = flows / 16 + 1;
	int fd = bpf_map__fd(skel->maps.config);
	struct weft_config c;
	struct snat_log log;
	struct weft_stats vx;
	uint32_t zero = 0;
	struct frame in;

	NEED_BPF();
	gateway_topology(0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &c), 0);
	for (uint32_t i = 0; i < flows; i++) {
		if (i % per_slot == 0) {
			c.gw_slot = i / per_slot;
			put(fd, &zero, &c);
		}
		in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE,
			    (uint16_t)(1 + i), 5000);
		assert_int_equal(gw_tunnel_run(VNI, HOST_D, &in).verdict,
				 TC_ACT_REDIRECT);
	}
	vx = get_stats(IF_VXLAN);
	assert_int_equal(vx.rx_packets, flows);
	assert_int_equal(total_drops(&vx), 0);
	assert_int_equal(get_stats(IF_UPLINK).tx_packets, flows);
	snat_log_read(&log);
	assert_int_equal(log.n, SNAT_EVENTS_FIT);
	assert_snat_event(&log.ev[0], 1, 5000, IPPROTO_UDP_,
			  ntohs(log.ev[0].ext_port));

	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 6000);
	expect_snat_out(&in, c.gw_slot);
	snat_log_read(&log);
	assert_int_equal(log.n, 1);
}

/* A translation gateway 0 made, copied here (slot 1) by the agent as
 * docs/gateways.md says: the flow's next packets on this gateway keep
 * the copy's port (in slot 0's share) and report nothing; its replies on
 * this uplink are translated here, not handed off, whether the owner is
 * alive or dead. */
static void ns_snat_copy_used(void **state)
{
	const uint16_t port = SHARE_MIN(0) + 7;
	uint64_t expires = mono_now_ns() + WEFT_SNAT_TIMEOUT_UDP * NSEC;
	struct weft_snat_key k = { .vni = VNI,
				   .saddr = IP_D,
				   .daddr = IP_OUTSIDE,
				   .sport = htons(4000),
				   .dport = htons(5000),
				   .proto = IPPROTO_UDP_ };
	struct weft_snat_out o = { .ext_ip = EXT_R1,
				   .ext_port = htons(port),
				   .expires_ns = expires };
	struct weft_snat_in_key ik = { .ext_ip = EXT_R1,
				       .ext_port = htons(port),
				       .proto = IPPROTO_UDP_ };
	struct weft_snat_in v = { .orig = k,
				  .router = R1,
				  .expires_ns = expires };
	struct frame in, reply;
	struct snat_log log;
	struct result res;

	NEED_BPF();
	gateway_topology(1);
	put(bpf_map__fd(skel->maps.snat_out), &k, &o);
	put(bpf_map__fd(skel->maps.snat_in), &ik, &v);

	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, IP_OUTSIDE, 4000, 5000);
	res = gw_tunnel_run(VNI, HOST_D, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), EXT_R1);
	assert_int_equal(get_u16(&res.out, OFF_L4), port);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 5000);
	assert_csums(&res.out);
	snat_log_read(&log);
	assert_int_equal(log.n, 0);

	for (int owner_alive = 1; owner_alive >= 0; owner_alive--) {
		set_gw_slot(0, owner_alive);
		reply = ns_udp(MAC_UPLINK, MAC_UPSTREAM, IP_OUTSIDE, EXT_R1,
			       5000, port);
		res = uplink_run(&reply);
		assert_routed_in(&res, &reply, MAC_D, HOST_D);
		assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_D);
		assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 4000);
		assert_csums(&res.out);
	}
	assert_int_equal(get_stats(IF_UPLINK).rx_packets, 2);
	assert_int_equal(get_stats(IF_UPLINK).tx_packets, 1);
}

/* --- hairpin -------------------------------------------------------------- */

/*
 * Tenant 2 served by the same gateway (slot 0, gateway_topology()):
 * router 2 with an external gateway (203.0.113.102, SNAT on), and G
 * (10.0.1.5 in network 320, on 192.0.2.13) with the floating IP
 * 203.0.113.130.
 */
#define EXT_R2 IP(203, 0, 113, 102)
#define FIP_G IP(203, 0, 113, 130)

static const uint8_t MAC_R2GW[6] = { 0x02, 0, 0, 0, 0x02, 0xee };

static void hairpin_topology(void)
{
	gateway_topology(0);
	add_ext_router(R2, EXT_R2, MAC_R2GW, WEFT_EXT_F_SNAT);
	add_fip(VNI_T2B, IP_E, FIP_G, R2);
	add_network(VNI_T2B);
}

/* A packet of 'proto' (UDP, TCP, or an echo whose id is 'sport' for a
 * request, 'dport' for a reply): the opening one, or the 'reply'. */
static struct frame flow_frame(uint8_t proto, const uint8_t dst[6],
			       const uint8_t src[6], uint32_t saddr,
			       uint32_t daddr, uint16_t sport, uint16_t dport,
			       bool reply)
{
	if (proto == IPPROTO_UDP_)
		return ns_udp(dst, src, saddr, daddr, sport, dport);
	if (proto == IPPROTO_TCP_)
		return ns_tcp(dst, src, saddr, daddr, sport, dport,
			      reply ? TCP_SYN | TCP_ACK : TCP_SYN);
	return ns_echo(dst, src, saddr, daddr, reply ? 0 : 8,
		       reply ? dport : sport);
}

/* D (SNAT, tenant 1) to G's floating IP (tenant 2): the translated packet
 * goes straight in, tunnelled to G's host in network 320 from router 2's
 * interface, from EXT_R1 and a port of the share; G's reply to that
 * address and port comes back to D the same way, from G's floating IP.
 * UDP, TCP and echo; nothing leaves through the uplink. */
static void ns_hairpin_snat_to_fip(void **state)
{
	static const uint8_t protos[3] = { IPPROTO_UDP_, IPPROTO_TCP_,
					   IPPROTO_ICMP_ };
	struct weft_stats vx, up;

	NEED_BPF();
	hairpin_topology();
	for (int i = 0; i < 3; i++) {
		uint8_t proto = protos[i];
		size_t id_off = proto == IPPROTO_ICMP_ ? OFF_L4 + 4 : OFF_L4;
		struct frame in, reply;
		struct result res;
		uint16_t port;

		in = flow_frame(proto, MAC_R1GW, MAC_R1A, IP_D, FIP_G, 4000, 53,
				false);
		res = gw_tunnel_run(VNI, HOST_D, &in);
		assert_tunnelled_in(&res, &in, MAC_G, MAC_R2B, VNI_T2B,
				    HOST_OTHER);
		assert_int_equal(get_be32(&res.out, OFF_SADDR), EXT_R1);
		assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_E);
		port = get_u16(&res.out, id_off);
		assert_true(port >= SHARE_MIN(0));
		assert_true(port < SHARE_MIN(0) + WEFT_SNAT_PORTS_PER_SLOT);
		if (proto != IPPROTO_ICMP_)
			assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 53);
		assert_csums(&res.out);

		reply = flow_frame(proto, MAC_R2GW, MAC_R2B, IP_E, EXT_R1, 53,
				   port, true);
		res = gw_tunnel_run(VNI_T2B, HOST_OTHER, &reply);
		assert_routed_in(&res, &reply, MAC_D, HOST_D);
		assert_int_equal(get_be32(&res.out, OFF_SADDR), FIP_G);
		assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_D);
		if (proto == IPPROTO_ICMP_) {
			assert_int_equal(get_u16(&res.out, OFF_L4 + 4), 4000);
		} else {
			assert_int_equal(get_u16(&res.out, OFF_L4), 53);
			assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 4000);
		}
		assert_csums(&res.out);
	}
	vx = get_stats(IF_VXLAN);
	assert_int_equal(vx.rx_packets, 6);
	assert_int_equal(total_drops(&vx), 0);
	up = get_stats(IF_UPLINK);
	assert_int_equal(up.tx_packets, 0);
	assert_int_equal(up.rx_packets, 0);
}

/* Floating IP to floating IP: G to V's arrives from G's; V to its own
 * comes back to V from it (no SNAT state); with enable_snat false, D's
 * packet to G's floating IP keeps D's address. */
static void ns_hairpin_fips(void **state)
{
	struct weft_snat_out o;
	struct frame in;
	struct result res;

	NEED_BPF();
	hairpin_topology();
	in = ns_udp(MAC_R2GW, MAC_R2B, IP_E, FIP_V, 5353, 53);
	res = gw_tunnel_run(VNI_T2B, HOST_OTHER, &in);
	assert_routed_in(&res, &in, MAC_V, HOST_OTHER);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), FIP_G);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_V);
	assert_int_equal(get_u16(&res.out, OFF_L4), 5353);
	assert_int_equal(get_u16(&res.out, OFF_L4 + 2), 53);
	assert_csums(&res.out);

	in = ns_tcp(MAC_R1GW, MAC_R1A, IP_V, FIP_V, 40000, 22, TCP_SYN);
	res = gw_tunnel_run(VNI, HOST_OTHER, &in);
	assert_routed_in(&res, &in, MAC_V, HOST_OTHER);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), FIP_V);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_V);
	assert_int_equal(get_u16(&res.out, OFF_L4), 40000);
	assert_csums(&res.out);
	assert_false(snat_get(IP_V, FIP_V, 40000, 22, IPPROTO_TCP_, &o));

	add_ext_router(R1, EXT_R1, MAC_R1GW, 0);
	in = ns_udp(MAC_R1GW, MAC_R1A, IP_D, FIP_G, 4000, 53);
	res = gw_tunnel_run(VNI, HOST_D, &in);
	assert_tunnelled_in(&res, &in, MAC_G, MAC_R2B, VNI_T2B, HOST_OTHER);
	assert_int_equal(get_be32(&res.out, OFF_SADDR), IP_D);
	assert_int_equal(get_u16(&res.out, OFF_L4), 4000);
	assert_int_equal(get_be32(&res.out, OFF_DADDR), IP_E);
	assert_csums(&res.out);
	assert_int_equal(get_stats(IF_UPLINK).tx_packets, 0);
}

/* What the hairpin refuses, counted on the VXLAN device: a reply to a
 * router's address with no translation here (never handed off, even for
 * an alive owner's port), an unassociated floating IP, TTL 1. Sources
 * from outside that claim an address weft serves are still spoofed, on
 * the uplink and in a hand-off. */
static void ns_hairpin_drops(void **state)
{
	struct frame in;

	NEED_BPF();
	hairpin_topology();
	in = ns_udp(MAC_R2GW, MAC_R2B, IP_E, EXT_R1, 53, SHARE_MIN(2) + 10);
	expect_gw_tunnel_drop(VNI_T2B, HOST_OTHER, &in,
			      WEFT_DROP_SNAT_NO_STATE);
	in = ns_udp(MAC_R2GW, MAC_R2B, IP_E, FIP_FREE, 53, 80);
	expect_gw_tunnel_drop(VNI_T2B, HOST_OTHER, &in,
			      WEFT_DROP_FIP_UNASSOCIATED);
	in = routed_udp(MAC_R1GW, MAC_R1A, IP_D, FIP_G, 1);
	expect_gw_tunnel_drop(VNI, HOST_D, &in, WEFT_DROP_TTL_EXCEEDED);

	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, FIP_G, FIP_V, 5000, 80);
	expect_uplink_drop(&in, WEFT_DROP_EXT_SPOOF);
	in = ns_udp(MAC_UPLINK, MAC_UPSTREAM, EXT_R2, EXT_R1, 5000,
		    SHARE_MIN(0) + 1);
	expect_uplink_drop(&in, WEFT_DROP_EXT_SPOOF);
	expect_gw_tunnel_drop(WEFT_VNI_HANDOFF, GW_IP(1), &in,
			      WEFT_DROP_EXT_SPOOF);
	assert_int_equal(get_stats(IF_UPLINK).tx_packets, 0);
}

/* What the verifier makes of the programs: the size of each and the
 * instructions it processed, against a budget far below its limit. */
static void verifier_budget(void **state)
{
	struct bpf_program *progs[] = { skel->progs.weft_port_ingress,
					skel->progs.weft_tunnel_ingress,
					skel->progs.weft_gw_tunnel_ingress,
					skel->progs.weft_gw_uplink_ingress };

	NEED_BPF();
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);

		assert_int_equal(
			bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info,
					       &len),
			0);
		fprintf(stderr, "%s: %u instructions, %u verified\n",
			bpf_program__name(progs[i]), info.xlated_prog_len / 8,
			info.verified_insns);
		assert_true(info.verified_insns < 200000);
	}
}

/* --- loading ------------------------------------------------------------ */

static void maps_pinned_by_name(void **state)
{
	static const char *const pinned[] = {
		"ports",     "fdb",	 "neigh",	"port_addrs",
		"hosts",     "networks", "stats",	"config",
		"routes",    "ct",	 "sg_remote",	"sg_rules",
		"gw_slots",  "gw_table", "ext_routers", "fips",
		"ext_addrs", "snat_out", "snat_in",	"snat_events",
	};
	static const char *const unpinned[] = { "test_tunnel_key",
						"ct_scratch" };
	char path[128];
	struct stat st;

	NEED_BPF();
	for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pinned[i]);
		if (stat(path, &st) < 0)
			print_error("%s is not pinned\n", path);
		assert_int_equal(stat(path, &st), 0);
	}
	for (size_t i = 0; i < sizeof(unpinned) / sizeof(unpinned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, unpinned[i]);
		assert_int_not_equal(stat(path, &st), 0);
	}
}

/*
 * The object as the agent loads it (weft_test_mode = 0), from the same pin
 * directory: it adopts the pinned maps with their contents, as a restarted
 * agent does, and takes its tunnel key from the skb, where
 * BPF_PROG_TEST_RUN puts none.
 */
static void production_mode_adopts_pinned_maps(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct datapath_bpf *prod;
	struct weft_port port;
	struct frame in;
	struct result res;
	uint32_t ifindex = IF_A;

	NEED_BPF();
	prod = datapath_bpf__open_opts(&opts);
	assert_non_null(prod);
	assert_int_equal(datapath_bpf__load(prod), 0);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(prod->maps.ports),
					     &ifindex, &port),
			 0);
	assert_memory_equal(port.mac, MAC_A, 6);

	set_tunnel_key(VNI, HOST_D); /* the test object's, not prod's */
	in = udp_frame(MAC_C, MAC_D, IP_D, IP_C);
	expect_drop(prod->progs.weft_tunnel_ingress, IF_VXLAN, &in, IF_VXLAN,
		    WEFT_DROP_NO_TUNNEL_KEY);

	in = udp_frame(MAC_D, MAC_A, IP_A, IP_D);
	res = run(prod->progs.weft_port_ingress, IF_A, &in);
	assert_int_equal(res.verdict, TC_ACT_REDIRECT);
	assert_int_equal(get_stats(IF_A).rx_packets, 1);
	datapath_bpf__destroy(prod);
}

static void drop_reason_names(void **state)
{
	for (int r = 0; r < WEFT_DROP_MAX; r++) {
		assert_non_null(drop_reason_name(r));
		assert_int_equal(drop_reason_from_name(drop_reason_name(r)), r);
	}
	assert_string_equal(drop_reason_name(WEFT_DROP_SRC_MAC), "src_mac");
	assert_null(drop_reason_name(WEFT_DROP_MAX));
	assert_int_equal(drop_reason_from_name("nonsense"), -EINVAL);
}

/* --- fixtures ----------------------------------------------------------- */

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void remove_pins(void)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	char path[384];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static int group_setup(void **state)
{
	struct statfs st;
	int fd;

	libbpf_set_print(print_libbpf);
	if (geteuid() != 0) {
		unavailable = "not root";
		return 0;
	}
	if (statfs("/sys/fs/bpf", &st) < 0 || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0) {
			unavailable = "cannot mount bpffs on /sys/fs/bpf";
			return 0;
		}
	}
	/* Can this process use BPF at all (a container may forbid it)? */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0) {
		unavailable = "bpf() is not permitted";
		return 0;
	}
	close(fd);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/weft-test-%d",
		 (int)getpid());
	if (mkdir(pin_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	if (pin_dir[0]) {
		remove_pins();
		rmdir(pin_dir);
	}
	return 0;
}

/* A fresh skeleton per test: maps pinned under pin_dir by name would be
 * reused, so the previous test's pins are removed first (teardown). */
static int setup(void **state)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	int r;

	if (unavailable)
		return 0;
	skel = datapath_bpf__open_opts(&opts);
	if (!skel) {
		print_error("datapath_bpf__open_opts: %s\n", strerror(errno));
		return -1;
	}
	skel->rodata->weft_test_mode = 1;
	r = datapath_bpf__load(skel);
	if (r < 0) {
		print_error("datapath_bpf__load: %s\n", strerror(-r));
		datapath_bpf__destroy(skel);
		skel = NULL;
		return -1;
	}
	topology();
	return 0;
}

static int teardown(void **state)
{
	datapath_bpf__destroy(skel);
	skel = NULL;
	if (!unavailable)
		remove_pins();
	return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(arp_reply_bytes),
		T(arp_unicast_request_answered),
		T(arp_unknown_target),
		T(arp_other_network_target),
		T(arp_probe_of_own_address_unanswered),
		T(arp_reply_dropped),
		T(arp_gratuitous_dropped),
		T(arp_spoofed_sender_ip),
		T(arp_sender_mac_not_source),
		T(arp_address_pair_answered),
		T(arp_malformed),
		T(local_forward),
		T(remote_forward),
		T(remote_forward_without_vxlan_device),
		T(forged_source_mac),
		T(forged_source_ip),
		T(allowed_address_pair),
		T(port_security_disabled),
		T(broadcast_and_multicast),
		T(unknown_unicast),
		T(other_tenant_mac),
		T(destination_admin_down),
		T(truncated_ethernet),
		T(truncated_ipv4),
		T(ipv4_with_padding_accepted),
		T(non_ipv4_ethertype),
		T(unknown_ingress_port),
		T(admin_down),
		T(tunnel_deliver),
		T(tunnel_no_key),
		T(tunnel_unknown_host),
		T(tunnel_unknown_vni),
		T(tunnel_not_local),
		T(tunnel_source_not_from_host),
		T(tunnel_broadcast_inner),
		T(tunnel_arp_and_ethertype),
		T(tunnel_destination_admin_down),
		T(routed_local_rewrite),
		T(routed_remote_out_vni),
		T(routed_received_from_tunnel),
		T(lpm_connected_and_static),
		T(static_route_nexthop),
		T(ttl_exceeded_icmp),
		T(router_arp_reply),
		T(router_echo_reply),
		T(net_and_host_unreachable),
		T(overlapping_tenants),
		T(two_routers_one_pass),
		T(router_loop_bounded),
		T(router_admin_down),
		T(ip_options_and_fragments_routed),
		T(dhcp_passed_up),
		T(dhcp_forged_or_not_dhcp),
		T(sg_tcp_egress_lifecycle),
		T(sg_tcp_time_wait_reuse_rechecked),
		T(sg_tcp_time_wait_reuse_reversed),
		T(sg_tcp_ingress_handshake),
		T(sg_tcp_local_both_ports),
		T(sg_tcp_rst_ends_entry),
		T(sg_tcp_stray_segments_invalid),
		T(sg_tcp_out_of_window),
		T(sg_tcp_window_scale),
		T(sg_tcp_bad_flags),
		T(sg_fragments),
		T(sg_udp_reply_without_ingress_rule),
		T(sg_icmp_echo),
		T(sg_icmp_error_related),
		T(sg_rule_protocols),
		T(sg_drop_events),
		T(sg_rule_port_range_edges),
		T(sg_remote_nested_prefixes),
		T(sg_remote_any_class),
		T(sg_remote_group_members),
		T(sg_port_without_policy_unaffected),
		T(sg_revocation),
		T(sg_two_networks_apart),
		T(sg_routed_delivery),
		T(sg_datapath_answers_unchecked),
		T(sg_expired_entry),
		T(ns_route_external),
		T(ns_no_gateway),
		T(ns_gateway_by_hash),
		T(ns_ct_gateway_sticks),
		T(ns_snat_udp_tcp),
		T(ns_snat_udp_zero_csum),
		T(ns_snat_icmp_echo),
		T(ns_snat_icmp_errors),
		T(ns_floating_ip),
		T(ns_no_snat),
		T(ns_port_share),
		T(ns_handoff_sent),
		T(ns_handoff_received),
		T(ns_snat_exhausted),
		T(ns_uplink_drops),
		T(ns_gw_tunnel_drops),
		T(ns_snat_events),
		T(ns_snat_events_ring_full),
		T(ns_snat_copy_used),
		T(ns_hairpin_snat_to_fip),
		T(ns_hairpin_fips),
		T(ns_hairpin_drops),
		T(verifier_budget),
		T(maps_pinned_by_name),
		T(production_mode_adopts_pinned_maps),
		cmocka_unit_test(drop_reason_names),
	};
	int failed;

	failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
	if (unavailable && !failed) {
		fprintf(stderr, "datapath tests skipped: %s\n", unavailable);
		return 77;
	}
	return failed;
}
