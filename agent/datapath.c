/* SPDX-License-Identifier: Apache-2.0 */
#include "datapath.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "abi/weft.h"
#include "datapath-skel.h"
#include "gateway.h"

/* Maps the agent opens but does not reconcile: 'config' is written
 * directly, 'ct' is the datapath's own state (it must survive restarts
 * and resyncs; the agent only reads it and collects what is dead),
 * 'drop_events' a ring buffer the agent reads (keys and values of size
 * 0). */
enum extra_map {
	EXTRA_CONFIG,
	EXTRA_CT,
	EXTRA_DROP_EVENTS,
	EXTRA_SNAT_OUT, /* gateways' SNAT state, the datapath's own: */
	EXTRA_SNAT_IN, /* the agent only writes copies from other gateways */
	EXTRA_SNAT_EVENTS,
	EXTRA_COUNT,
};

static const struct dp_map_info extra_maps[EXTRA_COUNT] = {
	[EXTRA_CONFIG] = { "config", sizeof(__u32),
			   sizeof(struct weft_config) },
	[EXTRA_CT] = { "ct", sizeof(struct weft_ct_key),
		       sizeof(struct weft_ct_entry) },
	[EXTRA_DROP_EVENTS] = { "drop_events", 0, 0 },
	[EXTRA_SNAT_OUT] = { "snat_out", sizeof(struct weft_snat_key),
			     sizeof(struct weft_snat_out) },
	[EXTRA_SNAT_IN] = { "snat_in", sizeof(struct weft_snat_in_key),
			    sizeof(struct weft_snat_in) },
	[EXTRA_SNAT_EVENTS] = { "snat_events", 0, 0 },
};

struct datapath {
	int map_fds[DP_MAP_COUNT];
	int extra_fds[EXTRA_COUNT];
	int prog_fds[DATAPATH_PROG_COUNT];
	uint32_t prog_ids[DATAPATH_PROG_COUNT];
	int ncpus;
};

static const char *const prog_pins[DATAPATH_PROG_COUNT] = {
	[DATAPATH_PROG_PORT] = "prog_port",
	[DATAPATH_PROG_TUNNEL] = "prog_tunnel",
	[DATAPATH_PROG_GW_TUNNEL] = "prog_gw_tunnel",
	[DATAPATH_PROG_GW_UPLINK] = "prog_gw_uplink",
};

static const char *const prog_names[DATAPATH_PROG_COUNT] = {
	[DATAPATH_PROG_PORT] = "weft_port_ingress",
	[DATAPATH_PROG_TUNNEL] = "weft_tunnel_ingress",
	[DATAPATH_PROG_GW_TUNNEL] = "weft_gw_tunnel_ingress",
	[DATAPATH_PROG_GW_UPLINK] = "weft_gw_uplink_ingress",
};

/* The programs a role needs: the hypervisor's two, and on a gateway the
 * gateway's two as well. */
static int prog_count(bool gateway)
{
	return gateway ? DATAPATH_PROG_COUNT : DATAPATH_PROG_GW_TUNNEL;
}

const char *datapath_prog_name(enum datapath_prog which)
{
	return prog_names[which];
}

static int pin_path(char *buf, const char *root, const char *host,
		    const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s%s", root, host,
			 name ? "/" : "", name ? name : "");

	return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Creates 'path' and its parents (mkdir -p). */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The datapath needs bpffs; when the root is under /sys/fs/bpf and nothing
 * is mounted there yet (a fresh machine or container), mount it. */
static int ensure_bpffs(const char *root)
{
	struct statfs st;

	if (strncmp(root, "/sys/fs/bpf", 11))
		return 0;
	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
		return -errno;
	return 0;
}

static int check_map(int fd, size_t key_size, size_t value_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return -errno;
	if (info.key_size != key_size || info.value_size != value_size)
		return -EPROTO;
	return 0;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

static size_t map_value_size(enum dp_map m)
{
	return m == DP_MAP_STATS ? sizeof(struct weft_stats) :
				   dp_map_info[m].value_size;
}

static struct datapath *datapath_alloc(void)
{
	struct datapath *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	for (int m = 0; m < DP_MAP_COUNT; m++)
		dp->map_fds[m] = -1;
	for (int m = 0; m < EXTRA_COUNT; m++)
		dp->extra_fds[m] = -1;
	for (int i = 0; i < DATAPATH_PROG_COUNT; i++)
		dp->prog_fds[i] = -1;
	return dp;
}

void datapath_free(struct datapath *dp)
{
	if (!dp)
		return;
	for (int m = 0; m < DP_MAP_COUNT; m++)
		if (dp->map_fds[m] >= 0)
			close(dp->map_fds[m]);
	for (int m = 0; m < EXTRA_COUNT; m++)
		if (dp->extra_fds[m] >= 0)
			close(dp->extra_fds[m]);
	for (int i = 0; i < DATAPATH_PROG_COUNT; i++)
		if (dp->prog_fds[i] >= 0)
			close(dp->prog_fds[i]);
	free(dp);
}

/* True when everything a running datapath of the role leaves behind is
 * pinned. */
static bool all_pinned(const char *root, const char *host, bool gateway)
{
	char path[PATH_MAX];

	for (int i = 0; i < prog_count(gateway); i++)
		if (pin_path(path, root, host, prog_pins[i]) < 0 ||
		    access(path, F_OK) < 0)
			return false;
	for (int m = 0; m < DP_MAP_COUNT; m++)
		if (pin_path(path, root, host, dp_map_info[m].name) < 0 ||
		    access(path, F_OK) < 0)
			return false;
	for (int m = 0; m < EXTRA_COUNT; m++)
		if (pin_path(path, root, host, extra_maps[m].name) < 0 ||
		    access(path, F_OK) < 0)
			return false;
	return true;
}

/* Opens the pinned map 'info' of 'host' into 'fd' and checks its sizes
 * ('value_size' is the size the kernel reports). */
static int adopt_map(const char *root, const char *host,
		     const struct dp_map_info *info, size_t value_size, int *fd)
{
	char path[PATH_MAX];

	pin_path(path, root, host, info->name);
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return -errno;
	return check_map(*fd, info->key_size, value_size);
}

static int adopt(struct datapath *dp, const char *root, const char *host,
		 bool gateway)
{
	char path[PATH_MAX];
	int r;

	for (int m = 0; m < DP_MAP_COUNT; m++) {
		r = adopt_map(root, host, &dp_map_info[m], map_value_size(m),
			      &dp->map_fds[m]);
		if (r < 0)
			return r;
	}
	for (int m = 0; m < EXTRA_COUNT; m++) {
		r = adopt_map(root, host, &extra_maps[m],
			      extra_maps[m].value_size, &dp->extra_fds[m]);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < prog_count(gateway); i++) {
		pin_path(path, root, host, prog_pins[i]);
		dp->prog_fds[i] = bpf_obj_get(path);
		if (dp->prog_fds[i] < 0)
			return -errno;
	}
	return 0;
}

/* Pins 'fd' at 'path' atomically: under a temporary name, then renamed
 * over whatever was there (a stale pin from an interrupted start). */
static int pin_replace(int fd, const char *path)
{
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');

	/* bpffs refuses names with a dot. */
	if (snprintf(tmp, sizeof(tmp), "%.*s/%s_new", (int)(slash - path), path,
		     slash + 1) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) < 0)
		return -errno;
	if (rename(tmp, path) < 0) {
		int r = -errno;

		unlink(tmp);
		return r;
	}
	return 0;
}

/* A descriptor of our own for the map 'name' of a loaded object. */
static int loaded_map_fd(struct bpf_object *obj, const char *name, int *fd)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	if (!map)
		return -ENOENT;
	*fd = dup(bpf_map__fd(map));
	return *fd < 0 ? -errno : 0;
}

static int load(struct datapath *dp, const char *root, const char *host,
		bool gateway)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct datapath_bpf *skel;
	int n = prog_count(gateway);
	int r;

	pin_path(dir, root, host, NULL);
	{
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);

		skel = datapath_bpf__open_opts(&opts);
		if (!skel)
			return -errno ? -errno : -EINVAL;
	}
	/* libbpf reuses every map already pinned under 'dir' (so a restart
	 * after a crash between loading and pinning the programs keeps the
	 * maps' contents) and pins the new ones. */
	r = datapath_bpf__load(skel);
	if (r < 0)
		goto out;

	for (int m = 0; m < DP_MAP_COUNT && !r; m++)
		r = loaded_map_fd(skel->obj, dp_map_info[m].name,
				  &dp->map_fds[m]);
	for (int m = 0; m < EXTRA_COUNT && !r; m++)
		r = loaded_map_fd(skel->obj, extra_maps[m].name,
				  &dp->extra_fds[m]);
	if (r < 0)
		goto out;

	/* By name: the gateway's programs are needed only in that role. */
	for (int i = 0; i < n; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(
			skel->obj, prog_names[i]);

		if (!prog) {
			r = -ENOENT;
			goto out;
		}
		dp->prog_fds[i] = dup(bpf_program__fd(prog));
		if (dp->prog_fds[i] < 0) {
			r = -errno;
			goto out;
		}
	}
	/* The programs are pinned last: their pins are what tells the next
	 * agent that everything else is there. */
	for (int i = 0; i < n; i++) {
		pin_path(path, root, host, prog_pins[i]);
		r = pin_replace(dp->prog_fds[i], path);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	datapath_bpf__destroy(skel); /* closes; pins stay */
	return r;
}

int datapath_open(const char *bpffs_root, const char *host, bool gateway,
		  struct datapath **ret, bool *ret_adopted)
{
	char dir[PATH_MAX];
	struct datapath *dp;
	bool adopted;
	int r;

	r = ensure_bpffs(bpffs_root);
	if (r < 0)
		return r;
	r = pin_path(dir, bpffs_root, host, NULL);
	if (r < 0)
		return r;
	r = mkdir_p(dir);
	if (r < 0)
		return r;
	dp = datapath_alloc();
	if (!dp)
		return -ENOMEM;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		datapath_free(dp);
		return dp->ncpus < 0 ? dp->ncpus : -EINVAL;
	}
	adopted = all_pinned(bpffs_root, host, gateway);
	r = adopted ? adopt(dp, bpffs_root, host, gateway) :
		      load(dp, bpffs_root, host, gateway);
	if (r < 0) {
		datapath_free(dp);
		return r;
	}
	for (int i = 0; i < prog_count(gateway); i++)
		dp->prog_ids[i] = prog_id(dp->prog_fds[i]);
	*ret = dp;
	*ret_adopted = adopted;
	return 0;
}

int datapath_attach(struct datapath *dp, int ifindex, enum datapath_prog which)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, query, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY,
		    .prog_fd = dp->prog_fds[which], .flags = BPF_TC_F_REPLACE);
	int r;

	if (dp->prog_fds[which] < 0)
		return -ENOENT; /* a gateway program outside that role */
	r = bpf_tc_hook_create(&hook);
	if (r < 0 && r != -EEXIST)
		return r;
	if (bpf_tc_query(&hook, &query) == 0 &&
	    query.prog_id == dp->prog_ids[which])
		return 0;
	r = bpf_tc_attach(&hook, &opts);
	return r < 0 ? r : 1;
}

int datapath_set_config(struct datapath *dp, const struct weft_config *want)
{
	struct weft_config have;
	__u32 key = 0;

	if (bpf_map_lookup_elem(dp->extra_fds[EXTRA_CONFIG], &key, &have) ==
		    0 &&
	    !memcmp(&have, want, sizeof(*want)))
		return 0;
	if (bpf_map_update_elem(dp->extra_fds[EXTRA_CONFIG], &key, want,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

int datapath_drop_events_fd(const struct datapath *dp)
{
	return dp->extra_fds[EXTRA_DROP_EVENTS];
}

int datapath_snat_events_fd(const struct datapath *dp)
{
	return dp->extra_fds[EXTRA_SNAT_EVENTS];
}

int datapath_snat_copy(struct datapath *dp, const struct weft_snat_event *ev,
		       uint64_t now_ns)
{
	struct weft_snat_in_key in_key;
	struct weft_snat_in in, have;
	struct weft_snat_out out;
	bool found;

	gateway_snat_entries(ev, now_ns, &out, &in_key, &in);
	found = bpf_map_lookup_elem(dp->extra_fds[EXTRA_SNAT_IN], &in_key,
				    &have) == 0;
	if (!gateway_snat_may_copy(found ? &have : NULL, &ev->orig, now_ns))
		return -EEXIST;
	/* snat_in first: a reply finds its flow as soon as the outbound
	 * side can produce one. */
	if (bpf_map_update_elem(dp->extra_fds[EXTRA_SNAT_IN], &in_key, &in,
				BPF_ANY) < 0 ||
	    bpf_map_update_elem(dp->extra_fds[EXTRA_SNAT_OUT], &ev->orig, &out,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

int datapath_read_state(struct datapath *dp, struct dp_state *present)
{
	uint8_t key[64], next[64];
	void *value;
	size_t vsize = sizeof(struct weft_stats) * (size_t)dp->ncpus;
	int r = 0;

	value = malloc(vsize > 64 ? vsize : 64);
	if (!value)
		return -ENOMEM;
	for (int m = 0; m < DP_MAP_COUNT && !r; m++) {
		int fd = dp->map_fds[m];
		void *prev = NULL;

		while (bpf_map_get_next_key(fd, prev, next) == 0) {
			memcpy(key, next, dp_map_info[m].key_size);
			prev = key;
			if (m != DP_MAP_STATS &&
			    bpf_map_lookup_elem(fd, key, value) < 0)
				continue; /* deleted meanwhile */
			r = kvtab_put(&present->maps[m], key,
				      m == DP_MAP_STATS ? NULL : value);
			if (r < 0)
				break;
		}
	}
	free(value);
	return r;
}

int datapath_apply(void *ctx, const struct reconcile_op *op)
{
	struct datapath *dp = ctx;
	int fd = dp->map_fds[op->map];

	if (op->kind == RECONCILE_DELETE) {
		if (bpf_map_delete_elem(fd, op->key) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (op->map == DP_MAP_STATS) {
		/* Created zeroed, never overwritten: counters survive
		 * restarts and resyncs. */
		size_t size = sizeof(struct weft_stats) * (size_t)dp->ncpus;
		void *zero = calloc(1, size);
		int r = 0;

		if (!zero)
			return -ENOMEM;
		if (bpf_map_update_elem(fd, op->key, zero, BPF_NOEXIST) < 0 &&
		    errno != EEXIST)
			r = -errno;
		free(zero);
		return r;
	}
	if (bpf_map_update_elem(fd, op->key, op->value, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int datapath_read_stats(struct datapath *dp, uint32_t ifindex,
			struct weft_stats *ret)
{
	struct weft_stats *percpu, sum = { 0 };
	__u32 key = ifindex;

	percpu = calloc((size_t)dp->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->map_fds[DP_MAP_STATS], &key, percpu) < 0) {
		int r = -errno;

		free(percpu);
		return r;
	}
	for (int c = 0; c < dp->ncpus; c++) {
		sum.rx_packets += percpu[c].rx_packets;
		sum.rx_bytes += percpu[c].rx_bytes;
		sum.tx_packets += percpu[c].tx_packets;
		sum.tx_bytes += percpu[c].tx_bytes;
		sum.to_agent += percpu[c].to_agent;
		sum.icmp_sent += percpu[c].icmp_sent;
		for (int d = 0; d < WEFT_DROP_MAX; d++)
			sum.drops[d] += percpu[c].drops[d];
	}
	free(percpu);
	*ret = sum;
	return 0;
}

static bool prog_is_ours(uint32_t id, const uint32_t *ids, int n_ids)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	bool ours = false, known = false;
	int fd;

	/* With the pins there, only their programs are ours: another host
	 * of the lab shares this kernel and runs programs of the same name.
	 * Without them (a half-done cleanup), go by the name. */
	for (int i = 0; i < n_ids; i++) {
		if (ids[i] && ids[i] == id)
			return true;
		if (ids[i])
			known = true;
	}
	if (known)
		return false;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		ours = !strncmp(info.name, "weft_", 5);
	close(fd);
	return ours;
}

int datapath_detach_ours(int ifindex, const uint32_t *prog_ids, int n_ids)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, query, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY);
	int r;

	if (bpf_tc_query(&hook, &query) < 0)
		return 0; /* no clsact, or no filter of ours */
	if (!prog_is_ours(query.prog_id, prog_ids, n_ids))
		return 0;
	r = bpf_tc_detach(&hook, &opts);
	return r < 0 ? r : 1;
}

void datapath_pinned_prog_ids(const char *bpffs_root, const char *host,
			      uint32_t ids[DATAPATH_PROG_COUNT])
{
	char path[PATH_MAX];

	for (int i = 0; i < DATAPATH_PROG_COUNT; i++) {
		int fd;

		ids[i] = 0;
		if (pin_path(path, bpffs_root, host, prog_pins[i]) < 0)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		ids[i] = prog_id(fd);
		close(fd);
	}
}

int datapath_unpin(const char *bpffs_root, const char *host)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	int first = 0;
	DIR *d;

	/* Everything under the host's directory is ours: the maps the
	 * object pins by name (whatever a newer object adds) and the
	 * programs. */
	if (pin_path(dir, bpffs_root, host, NULL) < 0)
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (unlink(path) < 0 && errno != ENOENT && !first)
			first = -errno;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT && !first)
		first = -errno;
	return first;
}

int datapath_ct_walk(struct datapath *dp, datapath_ct_fn fn, void *ctx)
{
	int fd = dp->extra_fds[EXTRA_CT];
	struct weft_ct_key key, next, *prev = NULL, *doomed = NULL;
	struct weft_ct_entry e;
	size_t n_doomed = 0, cap = 0, steps = 0;
	int r = 0, deleted = 0;

	/* Entries the datapath deletes meanwhile may restart the walk from
	 * the first key: bounded, so a busy table cannot keep us here. */
	while (steps++ < 2 * WEFT_MAX_CT) {
		int verdict;

		if (bpf_map_get_next_key(fd, prev, &next) < 0) {
			if (errno != ENOENT)
				r = -errno;
			break;
		}
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &e) < 0) {
			if (errno == ENOENT)
				continue; /* deleted meanwhile */
			r = -errno;
			break;
		}
		verdict = fn(ctx, &key, &e);
		if (verdict == DATAPATH_CT_STOP)
			break;
		if (verdict != DATAPATH_CT_DELETE)
			continue;
		/* Deleted after the walk: deleting the current key would
		 * send the next get_next_key back to the start. */
		if (n_doomed == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			void *nd = realloc(doomed, ncap * sizeof(*doomed));

			if (!nd) {
				r = -ENOMEM;
				break;
			}
			doomed = nd;
			cap = ncap;
		}
		doomed[n_doomed++] = key;
	}
	for (size_t i = 0; i < n_doomed; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) == 0)
			deleted++;
	free(doomed);
	return r < 0 ? r : deleted;
}
