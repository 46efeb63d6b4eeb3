/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abi/weft.h"
#include "netaddr.h"

_Static_assert((int)HOSTVIEW_SG_INGRESS == (int)WEFT_CT_INGRESS &&
		       (int)HOSTVIEW_SG_EGRESS == (int)WEFT_CT_EGRESS,
	       "a rule's direction is the sg_remote key's 'dir'");

#define PROTO_ANY 256 /* a rule without protocol */
#define NO_CLASS SIZE_MAX

/* What one rule admits, whatever the remote: a protocol and a range of
 * the 16-bit 'port' of struct weft_sg_rule_key (TCP/UDP: the destination
 * port; ICMP: type << 8 | code; another protocol: the whole range). Three
 * u16, no padding: compared and hashed as bytes. */
struct match {
	uint16_t proto; /* 0..255, or PROTO_ANY */
	uint16_t lo;
	uint16_t hi;
};

/* What is numbered by its content: a hash of it, and the number
 * policy_finish() gives (the hash, or the next number free). */
struct numbered {
	uint32_t hash;
	uint32_t id;
};

/* A rule class: a sorted set of matches without duplicates. */
struct class {
	struct numbered num; /* first: see number_all() */
	struct match *m;
	size_t n;
};

/* The compiled rules of one set of security groups, shared by every local
 * port with that set: its sg_remote entries are keyed by the set's number
 * (the ports' policy_id), so a rule "from remote group G" costs one entry
 * per member of G per set, not per port. */
struct set {
	struct numbered num; /* first: see number_all() */
	char *key; /* the sorted group ids, joined by ',' */
	size_t first; /* its entries in 'remotes' */
	size_t n;
	uint32_t gen; /* digest of its entries and their classes */
};

/* Key of 'class_index': a content hash and how many classes with that
 * hash came before. */
struct class_slot {
	uint32_t hash;
	uint32_t probe;
};

/* One sg_remote entry of a port, before the classes are numbered. */
struct remote {
	uint32_t dir;
	uint32_t ip; /* host order */
	uint32_t plen;
	size_t cls; /* class index, or NO_CLASS */
	size_t any;
};

/* A remote prefix of one rule of the direction being compiled. */
struct item {
	uint32_t ip;
	uint32_t plen;
	struct match m;
	uint16_t pad; /* zero: items are compared as bytes */
};

/* Key and value of the index of a direction's prefixes. */
struct prefix_key {
	uint32_t ip;
	uint32_t plen;
};

struct prefix_run {
	uint32_t first; /* in 'items' */
	uint32_t n;
};

struct port {
	uint32_t ifindex;
	size_t set; /* index in 'sets' */
};

/* A growable array of 'n' elements with room for 'cap'. */
#define ARRAY(type)         \
	struct {            \
		type *v;    \
		size_t n;   \
		size_t cap; \
	}

struct policy {
	const struct hostview *view;
	ARRAY(struct class) classes;
	struct kvtab class_index; /* struct class_slot -> uint32_t index */
	ARRAY(struct remote) remotes;
	ARRAY(struct set) sets; /* few: searched linearly */
	ARRAY(struct port) ports;
	struct kvtab port_index; /* ifindex -> uint32_t index in 'ports' */
	/* Scratch space of one direction. */
	ARRAY(struct item) items;
	ARRAY(struct match) any;
	ARRAY(struct match) tmp;
};

/* Makes room for one more element in the array at 'v' ('n' used, 'cap'
 * allocated, elements of 'size' bytes). Returns 0 or -ENOMEM. */
static int array_reserve(void **v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#define ARRAY_PUSH(a, elem)                                                \
	(array_reserve((void **)&(a).v, (a).n, &(a).cap, sizeof(*(a).v)) ? \
		 -ENOMEM :                                                 \
		 ((a).v[(a).n++] = (elem), 0))

int policy_new(const struct hostview *v, struct policy **ret)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->view = v;
	kvtab_init(&p->class_index, sizeof(struct class_slot),
		   sizeof(uint32_t));
	kvtab_init(&p->port_index, sizeof(uint32_t), sizeof(uint32_t));
	*ret = p;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->classes.n; i++)
		free(p->classes.v[i].m);
	free(p->classes.v);
	kvtab_destroy(&p->class_index);
	free(p->remotes.v);
	for (size_t i = 0; i < p->sets.n; i++)
		free(p->sets.v[i].key);
	free(p->sets.v);
	free(p->ports.v);
	kvtab_destroy(&p->port_index);
	free(p->items.v);
	free(p->any.v);
	free(p->tmp.v);
	free(p);
}

size_t policy_class_count(const struct policy *p)
{
	return p->classes.n;
}

size_t policy_port_cover(uint16_t lo, uint16_t hi,
			 struct policy_port_prefix out[POLICY_COVER_MAX])
{
	uint32_t a = lo, b = hi;
	size_t n = 0;

	while (a <= b) {
		int k = 16;

		/* The largest block aligned at 'a' that ends within 'b'. */
		while (k > 0 &&
		       ((a & ((1u << k) - 1)) || a + (1u << k) - 1 > b))
			k--;
		out[n].port = (uint16_t)a;
		out[n].plen = (uint8_t)(16 - k);
		n++;
		a += 1u << k;
	}
	return n;
}

/* Protocols whose rules may name a destination port range. */
static bool proto_has_ports(int proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 ||
	       proto == 136;
}

/* What 'r' admits, as a match. False for a rule that cannot admit
 * anything (values weftd does not send: an inverted range, an ICMP type or
 * code above 255): it is left out, which refuses rather than admits. */
static bool rule_match(const struct hostview_sg_rule *r, struct match *m)
{
	*m = (struct match){ .proto = PROTO_ANY };
	if (r->protocol == HOSTVIEW_SG_ANY)
		return true;
	m->proto = (uint16_t)r->protocol;
	m->hi = 0xffff;
	if (r->port_min == HOSTVIEW_SG_ANY)
		return true;
	if (proto_has_ports(r->protocol)) {
		int max = r->port_max == HOSTVIEW_SG_ANY ? r->port_min :
							   r->port_max;

		if (max < r->port_min)
			return false;
		m->lo = (uint16_t)r->port_min;
		m->hi = (uint16_t)max;
	} else if (r->protocol == 1) {
		/* ICMP: the type, and the code when there is one. */
		if (r->port_min > 255 || r->port_max > 255)
			return false;
		m->lo = (uint16_t)(r->port_min << 8);
		m->hi = r->port_max == HOSTVIEW_SG_ANY ?
				(uint16_t)(m->lo | 0xff) :
				(uint16_t)(m->lo | r->port_max);
		if (r->port_max != HOSTVIEW_SG_ANY)
			m->lo = m->hi;
	}
	return true;
}

static int cmp_match(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct match));
}

/* Sorts the 'n' matches at 'm' and removes duplicates; returns how many
 * are left. */
static size_t sort_unique(struct match *m, size_t n)
{
	size_t k = 0;

	if (!n)
		return 0;
	qsort(m, n, sizeof(*m), cmp_match);
	for (size_t i = 1; i < n; i++)
		if (cmp_match(&m[i], &m[k]))
			m[++k] = m[i];
	return k + 1;
}

/* The index of the class of content 'm' ('n' sorted unique matches, not
 * empty), added when new. Returns 0 and sets 'ret', or -ENOMEM. */
static int intern_class(struct policy *p, const struct match *m, size_t n,
			size_t *ret)
{
	uint32_t hash = kvtab_hash_finish(
		kvtab_hash_add(KVTAB_HASH_INIT, m, n * sizeof(*m)));
	struct class_slot slot = { hash, 0 };
	const uint32_t *idx;
	struct class c = { .num.hash = hash, .n = n };
	uint32_t new_idx;

	while ((idx = kvtab_get(&p->class_index, &slot))) {
		const struct class *old = &p->classes.v[*idx];

		if (old->n == n && !memcmp(old->m, m, n * sizeof(*m))) {
			*ret = *idx;
			return 0;
		}
		slot.probe++;
	}
	c.m = malloc(n * sizeof(*m));
	if (!c.m)
		return -ENOMEM;
	memcpy(c.m, m, n * sizeof(*m));
	new_idx = (uint32_t)p->classes.n;
	if (ARRAY_PUSH(p->classes, c) < 0 ||
	    kvtab_put(&p->class_index, &slot, &new_idx) < 0) {
		if (p->classes.n > new_idx)
			p->classes.n--;
		free(c.m);
		return -ENOMEM;
	}
	*ret = new_idx;
	return 0;
}

/* Adds the remote 'ip'/'plen' of a rule admitting 'm' to the direction
 * being compiled: a /0 admits any remote. */
static int add_remote(struct policy *p, uint32_t ip, int plen,
		      const struct match *m)
{
	struct item it = { .ip = ip & netaddr_mask(plen),
			   .plen = (uint32_t)plen,
			   .m = *m };

	if (!plen)
		return ARRAY_PUSH(p->any, *m);
	return ARRAY_PUSH(p->items, it);
}

/* Collects into 'items' and 'any' the remotes of the rules of direction
 * 'dir' of the groups of 'port'. */
static int collect_rules(struct policy *p, const struct hostview_port *port,
			 enum hostview_sg_dir dir)
{
	int r = 0;

	for (size_t g = 0; g < port->n_security_groups; g++) {
		const struct hostview_secgroup *sg = hostview_find_secgroup(
			p->view, port->security_groups[g]);

		for (size_t i = 0; sg && i < sg->n_rules && !r; i++) {
			const struct hostview_sg_rule *rule = &sg->rules[i];
			const struct hostview_secgroup *remote;
			struct match m;

			if (rule->dir != dir || !rule_match(rule, &m))
				continue;
			if (rule->remote_group_id) {
				remote = hostview_find_secgroup(
					p->view, rule->remote_group_id);
				for (size_t k = 0;
				     remote && k < remote->n_members && !r; k++)
					r = add_remote(
						p, remote->members[k].ip,
						remote->members[k].prefix, &m);
			} else if (rule->has_remote_prefix) {
				r = add_remote(p, rule->remote_prefix.ip,
					       rule->remote_prefix.prefix, &m);
			} else {
				r = ARRAY_PUSH(p->any, m);
			}
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return cmp_match(&x->m, &y->m);
}

/* Indexes the runs of equal prefixes of the sorted 'items' into 'index'. */
static int index_prefixes(const struct policy *p, struct kvtab *index)
{
	for (size_t i = 0; i < p->items.n;) {
		struct prefix_key k = { p->items.v[i].ip, p->items.v[i].plen };
		struct prefix_run run = { (uint32_t)i, 0 };
		int r;

		while (i < p->items.n && p->items.v[i].ip == k.ip &&
		       p->items.v[i].plen == k.plen) {
			run.n++;
			i++;
		}
		r = kvtab_put(index, &k, &run);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The class of prefix 'ip'/'plen': the matches of every prefix of the
 * direction that contains it (itself included, /0 excluded). */
static int prefix_class(struct policy *p, const struct kvtab *index,
			uint32_t ip, uint32_t plen, size_t *ret)
{
	size_t n;

	p->tmp.n = 0;
	for (uint32_t l = 1; l <= plen; l++) {
		struct prefix_key k = { ip & netaddr_mask((int)l), l };
		const struct prefix_run *run = kvtab_get(index, &k);

		for (uint32_t i = 0; run && i < run->n; i++)
			if (ARRAY_PUSH(p->tmp, p->items.v[run->first + i].m) <
			    0)
				return -ENOMEM;
	}
	n = sort_unique(p->tmp.v, p->tmp.n);
	return intern_class(p, p->tmp.v, n, ret);
}

/* Compiles direction 'dir' of 'port' into sg_remote entries of the port
 * (appended to 'remotes'). */
static int compile_dir(struct policy *p, const struct hostview_port *port,
		       enum hostview_sg_dir dir)
{
	struct kvtab index;
	size_t any = NO_CLASS, n_any;
	int r;

	p->items.n = 0;
	p->any.n = 0;
	r = collect_rules(p, port, dir);
	if (r < 0)
		return r;
	n_any = sort_unique(p->any.v, p->any.n);
	if (n_any) {
		r = intern_class(p, p->any.v, n_any, &any);
		if (r < 0)
			return r;
	}
	if (p->items.n)
		qsort(p->items.v, p->items.n, sizeof(*p->items.v), cmp_item);
	kvtab_init(&index, sizeof(struct prefix_key),
		   sizeof(struct prefix_run));
	r = index_prefixes(p, &index);
	for (size_t i = 0; i < p->items.n && !r;) {
		const struct item *it = &p->items.v[i];
		struct remote rem = {
			.dir = dir, .ip = it->ip, .plen = it->plen, .any = any
		};

		r = prefix_class(p, &index, it->ip, it->plen, &rem.cls);
		if (!r)
			r = ARRAY_PUSH(p->remotes, rem);
		while (i < p->items.n && p->items.v[i].ip == rem.ip &&
		       p->items.v[i].plen == rem.plen)
			i++;
	}
	kvtab_destroy(&index);
	if (r < 0 || any == NO_CLASS)
		return r;
	return ARRAY_PUSH(
		p->remotes,
		((struct remote){ .dir = dir, .cls = NO_CLASS, .any = any }));
}

static int cmp_string_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The key of the set of groups of 'port': its group ids, sorted, without
 * duplicates, joined by ','. A new string, or NULL. */
static char *set_key(const struct hostview_port *port)
{
	size_t n = port->n_security_groups, len = 1;
	char **ids = malloc((n ? n : 1) * sizeof(*ids)), *key, *w;

	if (!ids)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ids[i] = port->security_groups[i];
		len += strlen(ids[i]) + 1;
	}
	qsort(ids, n, sizeof(*ids), cmp_string_ptr);
	key = w = malloc(len);
	if (key) {
		*w = 0;
		for (size_t i = 0; i < n; i++) {
			if (i && !strcmp(ids[i], ids[i - 1]))
				continue;
			w += sprintf(w, "%s%s", w == key ? "" : ",", ids[i]);
		}
	}
	free(ids);
	return key;
}

/* Sets 'ret' to the index of the set of groups of 'port' (key 'key',
 * taken over), compiled now when no port before had it. Returns 0 or
 * -ENOMEM. */
static int port_set(struct policy *p, const struct hostview_port *port,
		    char *key, size_t *ret)
{
	struct set set = { .key = key, .first = p->remotes.n };
	int r;

	set.num.hash = kvtab_hash_finish(
		kvtab_hash_add(KVTAB_HASH_INIT, key, strlen(key)));
	for (size_t i = 0; i < p->sets.n; i++) {
		if (p->sets.v[i].num.hash == set.num.hash &&
		    !strcmp(p->sets.v[i].key, key)) {
			free(key);
			*ret = i;
			return 0;
		}
	}
	r = compile_dir(p, port, HOSTVIEW_SG_INGRESS);
	if (!r)
		r = compile_dir(p, port, HOSTVIEW_SG_EGRESS);
	if (!r) {
		set.n = p->remotes.n - set.first;
		r = ARRAY_PUSH(p->sets, set);
	}
	if (r < 0) {
		p->remotes.n = set.first;
		free(key);
		return r;
	}
	*ret = p->sets.n - 1;
	return 0;
}

int policy_add_port(struct policy *p, uint32_t ifindex,
		    const struct hostview_port *port)
{
	struct port pt = { .ifindex = ifindex };
	uint32_t idx = (uint32_t)p->ports.n;
	char *key;
	int r;

	if (kvtab_get(&p->port_index, &ifindex))
		return -EEXIST;
	key = set_key(port);
	if (!key)
		return -ENOMEM;
	r = port_set(p, port, key, &pt.set);
	if (!r)
		r = ARRAY_PUSH(p->ports, pt);
	if (!r)
		r = kvtab_put(&p->port_index, &ifindex, &idx);
	if (r < 0)
		p->ports.n = idx;
	return r;
}

/* Orders classes (given by pointers) by hash, then content, so that the
 * numbering (and its collision probes) does not depend on the order ports
 * were added. */
static int cmp_class(const void *a, const void *b)
{
	const struct class *x = *(const struct class *const *)a;
	const struct class *y = *(const struct class *const *)b;

	if (x->num.hash != y->num.hash)
		return x->num.hash < y->num.hash ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return memcmp(x->m, y->m, x->n * sizeof(*x->m));
}

/* The same for sets of groups (given by pointers): hash, then key. */
static int cmp_set(const void *a, const void *b)
{
	const struct set *x = *(const struct set *const *)a;
	const struct set *y = *(const struct set *const *)b;

	if (x->num.hash != y->num.hash)
		return x->num.hash < y->num.hash ? -1 : 1;
	return strcmp(x->key, y->key);
}

/*
 * Gives each of the 'n' elements of 'base' ('size' bytes each, a struct
 * numbered first) its number: its hash, or the next number free (never
 * 0), in the order 'cmp' (which compares pointers to elements) gives.
 */
static int number_all(void *base, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	struct numbered **order;
	struct kvtab used;
	int r = 0;

	if (!n)
		return 0;
	order = malloc(n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = (struct numbered *)((char *)base + i * size);
	qsort(order, n, sizeof(*order), cmp);
	kvtab_init(&used, sizeof(uint32_t), 0);
	for (size_t i = 0; i < n && !r; i++) {
		uint32_t id = order[i]->hash ? order[i]->hash : 1;

		while (kvtab_get(&used, &id))
			id = id + 1 ? id + 1 : 1;
		order[i]->id = id;
		r = kvtab_put(&used, &id, NULL);
	}
	kvtab_destroy(&used);
	free(order);
	return r;
}

/* Writes the sg_rules entries of class 'c'. */
static int class_entries(const struct class *c, struct kvtab *sg_rules)
{
	struct weft_sg_rule value = { 0 };

	for (size_t i = 0; i < c->n; i++) {
		const struct match *m = &c->m[i];
		struct policy_port_prefix cover[POLICY_COVER_MAX];
		struct weft_sg_rule_key key = { .prefixlen = 32,
						.class = c->num.id };
		size_t n;
		int r;

		if (m->proto == PROTO_ANY) {
			r = kvtab_put(sg_rules, &key, &value);
			if (r < 0)
				return r;
			continue;
		}
		key.proto = (__u8)m->proto;
		n = policy_port_cover(m->lo, m->hi, cover);
		for (size_t k = 0; k < n; k++) {
			key.prefixlen = 48 + cover[k].plen;
			key.port = htons(cover[k].port);
			r = kvtab_put(sg_rules, &key, &value);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static uint32_t class_id(const struct policy *p, size_t idx)
{
	return idx == NO_CLASS ? 0 : p->classes.v[idx].num.id;
}

/* Adds class 'idx' (its number and content) to digest 'h'. */
static uint32_t hash_class(const struct policy *p, uint32_t h, size_t idx)
{
	const struct class *c;
	uint32_t id = class_id(p, idx);

	h = kvtab_hash_add(h, &id, sizeof(id));
	if (idx == NO_CLASS)
		return h;
	c = &p->classes.v[idx];
	return kvtab_hash_add(h, c->m, c->n * sizeof(*c->m));
}

/* Writes the sg_remote entries of 'set' and computes its digest. */
static int set_entries(const struct policy *p, struct set *set,
		       struct kvtab *sg_remote)
{
	uint32_t h = KVTAB_HASH_INIT;

	for (size_t i = set->first; i < set->first + set->n; i++) {
		const struct remote *rem = &p->remotes.v[i];
		struct weft_sg_remote_key key = {
			.prefixlen = 64 + rem->plen,
			.policy = set->num.id,
			.dir = rem->dir,
			.ip = htonl(rem->ip),
		};
		struct weft_sg_remote value = { class_id(p, rem->cls),
						class_id(p, rem->any) };
		int r = kvtab_put(sg_remote, &key, &value);

		if (r < 0)
			return r;
		h = kvtab_hash_add(h, &key.dir, sizeof(key.dir));
		h = kvtab_hash_add(h, &key.prefixlen, sizeof(key.prefixlen));
		h = kvtab_hash_add(h, &key.ip, sizeof(key.ip));
		h = hash_class(p, h, rem->cls);
		h = hash_class(p, h, rem->any);
	}
	/* The number too: a port moved to another set with the same rules
	 * must check its connections against the new set's entries. */
	h = kvtab_hash_add(h, &set->num.id, sizeof(set->num.id));
	set->gen = kvtab_hash_finish(h);
	return 0;
}

int policy_finish(struct policy *p, struct kvtab *sg_remote,
		  struct kvtab *sg_rules)
{
	int r = number_all(p->classes.v, p->classes.n, sizeof(*p->classes.v),
			   cmp_class);

	if (!r)
		r = number_all(p->sets.v, p->sets.n, sizeof(*p->sets.v),
			       cmp_set);
	for (size_t i = 0; i < p->classes.n && !r; i++)
		r = class_entries(&p->classes.v[i], sg_rules);
	for (size_t i = 0; i < p->sets.n && !r; i++)
		r = set_entries(p, &p->sets.v[i], sg_remote);
	return r;
}

/* The set of the port of 'ifindex', or NULL. */
static const struct set *port_set_of(const struct policy *p, uint32_t ifindex)
{
	const uint32_t *idx = kvtab_get(&p->port_index, &ifindex);

	return idx ? &p->sets.v[p->ports.v[*idx].set] : NULL;
}

uint32_t policy_port_gen(const struct policy *p, uint32_t ifindex)
{
	const struct set *set = port_set_of(p, ifindex);

	return set ? set->gen : 0;
}

uint32_t policy_port_id(const struct policy *p, uint32_t ifindex)
{
	const struct set *set = port_set_of(p, ifindex);

	return set ? set->num.id : 0;
}
