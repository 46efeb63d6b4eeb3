/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/weft.h"

#define VNI_MIN 1u
/* WEFT_VNI_HANDOFF (0xffffff): gateways hand frames to each other with
 * it, so no network may have it. */
#define VNI_MAX (WEFT_VNI_HANDOFF - 1)
#define ROUTER_KEY_MIN 1u
#define ROUTER_KEY_MAX 0xffffffffu

/*
 * Schema migrations, applied in order. Entry i brings the schema from
 * version i to version i + 1 (PRAGMA user_version). Never edit an entry
 * that has been released; append a new one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the initial schema. */
	"CREATE TABLE resources ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  project_id TEXT NOT NULL,"
	"  parent_id TEXT,"
	"  shared INTEGER NOT NULL DEFAULT 0,"
	"  revision INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"
	"  UNIQUE (kind, id));"
	"CREATE INDEX resources_parent ON resources(kind, parent_id);"
	"CREATE INDEX resources_project ON resources(kind, project_id);"
	"CREATE TABLE vnis (vni INTEGER PRIMARY KEY,"
	"  network_id TEXT NOT NULL UNIQUE);"
	"CREATE TABLE macs (network_id TEXT NOT NULL, mac TEXT NOT NULL,"
	"  port_id TEXT NOT NULL, PRIMARY KEY (network_id, mac))"
	"  WITHOUT ROWID;"
	"CREATE TABLE ip_allocations (subnet_id TEXT NOT NULL,"
	"  ip INTEGER NOT NULL, port_id TEXT NOT NULL,"
	"  PRIMARY KEY (subnet_id, ip)) WITHOUT ROWID;"
	"CREATE TABLE changes (revision INTEGER NOT NULL, kind TEXT NOT NULL,"
	"  id TEXT NOT NULL, op TEXT NOT NULL);"
	"CREATE INDEX changes_revision ON changes(revision);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('revision', 0), ('vni_last', 0);",
	/* 1 -> 2: routers' keys, allocated as VNIs are, and the index that
	 * finds a device's ports (a router's interfaces). */
	"CREATE TABLE router_keys (key INTEGER PRIMARY KEY,"
	"  router_id TEXT NOT NULL UNIQUE);"
	"INSERT INTO meta VALUES ('router_key_last', 0);"
	"CREATE INDEX resources_device ON resources(kind,"
	"  json_extract(body, '$.device_id'));",
	/* 2 -> 3: which ports have which security groups, for the groups'
	 * members and SecurityGroupInUse; filled from the ports there are. */
	"CREATE TABLE IF NOT EXISTS sg_ports (group_id TEXT NOT NULL, port_id TEXT NOT NULL,"
	"  PRIMARY KEY (group_id, port_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS sg_ports_port ON sg_ports(port_id);"
	"INSERT OR IGNORE INTO sg_ports SELECT j.value, r.id"
	"  FROM resources r, json_each(r.body, '$.security_groups') j"
	"  WHERE r.kind = 'port' AND j.type = 'text';",
	/* 3 -> 4: gateway agents' slots (docs/gateways.md), kept across
	 * restarts and reconnects until the agent is deleted. */
	"CREATE TABLE IF NOT EXISTS gateway_slots (slot INTEGER PRIMARY KEY,"
	"  host TEXT NOT NULL UNIQUE);",
};

enum stmt {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_SET_REVISION,
	STMT_PUT,
	STMT_DELETE,
	STMT_GET,
	STMT_COUNT_CHILDREN,
	STMT_LOG_CHANGE,
	STMT_VNI_LAST,
	STMT_VNI_SET_LAST,
	STMT_VNI_FIND_FREE,
	STMT_VNI_CLAIM,
	STMT_VNI_RELEASE,
	STMT_RKEY_LAST,
	STMT_RKEY_SET_LAST,
	STMT_RKEY_FIND_FREE,
	STMT_RKEY_CLAIM,
	STMT_RKEY_RELEASE,
	STMT_RKEY_GET,
	STMT_MAC_CLAIM,
	STMT_MAC_RELEASE,
	STMT_IP_CLAIM,
	STMT_IP_RELEASE,
	STMT_IP_RANGE,
	STMT_IP_HIGHEST,
	STMT_IP_COUNT,
	STMT_IP_OWNER,
	STMT_CHANGES_SINCE,
	STMT_SG_PORTS_CLEAR,
	STMT_SG_PORTS_ADD,
	STMT_SG_PORTS_OF_GROUP,
	STMT_GW_SLOT_GET,
	STMT_GW_SLOT_FIND_FREE,
	STMT_GW_SLOT_CLAIM,
	STMT_GW_SLOT_RELEASE,
	STMT_COUNT,
};

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SET_REVISION] =
		"UPDATE meta SET value = ?1 WHERE key = 'revision'",
	[STMT_PUT] =
		"INSERT INTO resources"
		" (kind, id, project_id, parent_id, shared, revision, body)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT (kind, id) DO UPDATE SET"
		" project_id = ?3, parent_id = ?4, shared = ?5,"
		" revision = ?6, body = ?7",
	[STMT_DELETE] = "DELETE FROM resources WHERE kind = ?1 AND id = ?2",
	[STMT_GET] = "SELECT body FROM resources WHERE kind = ?1 AND id = ?2",
	[STMT_COUNT_CHILDREN] = "SELECT count(*) FROM resources"
				" WHERE kind = ?1 AND parent_id = ?2",
	[STMT_LOG_CHANGE] = "INSERT INTO changes (revision, kind, id, op)"
			    " VALUES (?1, ?2, ?3, ?4)",
	[STMT_VNI_LAST] = "SELECT value FROM meta WHERE key = 'vni_last'",
	[STMT_VNI_SET_LAST] =
		"UPDATE meta SET value = ?1 WHERE key = 'vni_last'",
	/* The first free VNI at or after ?1: either ?1 itself or the value
	 * after a taken VNI whose successor is free. */
	[STMT_VNI_FIND_FREE] =
		"SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM vnis WHERE vni = ?1)"
		" UNION ALL "
		"SELECT * FROM (SELECT v.vni + 1 FROM vnis v WHERE v.vni >= ?1"
		" AND v.vni < ?2 AND NOT EXISTS"
		" (SELECT 1 FROM vnis w WHERE w.vni = v.vni + 1)"
		" ORDER BY v.vni LIMIT 1)"
		" LIMIT 1",
	[STMT_VNI_CLAIM] = "INSERT INTO vnis (vni, network_id) VALUES (?1, ?2)",
	[STMT_VNI_RELEASE] = "DELETE FROM vnis WHERE network_id = ?1",
	[STMT_RKEY_LAST] =
		"SELECT value FROM meta WHERE key = 'router_key_last'",
	[STMT_RKEY_SET_LAST] =
		"UPDATE meta SET value = ?1 WHERE key = 'router_key_last'",
	/* As STMT_VNI_FIND_FREE. */
	[STMT_RKEY_FIND_FREE] =
		"SELECT ?1 WHERE NOT EXISTS"
		" (SELECT 1 FROM router_keys WHERE key = ?1)"
		" UNION ALL "
		"SELECT * FROM (SELECT v.key + 1 FROM router_keys v"
		" WHERE v.key >= ?1 AND v.key < ?2 AND NOT EXISTS"
		" (SELECT 1 FROM router_keys w WHERE w.key = v.key + 1)"
		" ORDER BY v.key LIMIT 1)"
		" LIMIT 1",
	[STMT_RKEY_CLAIM] =
		"INSERT INTO router_keys (key, router_id) VALUES (?1, ?2)",
	[STMT_RKEY_RELEASE] = "DELETE FROM router_keys WHERE router_id = ?1",
	[STMT_RKEY_GET] = "SELECT key FROM router_keys WHERE router_id = ?1",
	[STMT_MAC_CLAIM] = "INSERT INTO macs (network_id, mac, port_id)"
			   " VALUES (?1, ?2, ?3)",
	[STMT_MAC_RELEASE] = "DELETE FROM macs WHERE network_id = ?1"
			     " AND mac = ?2",
	[STMT_IP_CLAIM] = "INSERT INTO ip_allocations (subnet_id, ip, port_id)"
			  " VALUES (?1, ?2, ?3)",
	[STMT_IP_RELEASE] = "DELETE FROM ip_allocations WHERE subnet_id = ?1"
			    " AND ip = ?2",
	[STMT_IP_RANGE] = "SELECT ip FROM ip_allocations WHERE subnet_id = ?1"
			  " AND ip BETWEEN ?2 AND ?3 ORDER BY ip",
	[STMT_IP_HIGHEST] = "SELECT max(ip) FROM ip_allocations"
			    " WHERE subnet_id = ?1 AND ip BETWEEN ?2 AND ?3",
	[STMT_IP_COUNT] = "SELECT count(*) FROM ip_allocations"
			  " WHERE subnet_id = ?1",
	[STMT_IP_OWNER] = "SELECT port_id FROM ip_allocations"
			  " WHERE subnet_id = ?1 AND ip = ?2",
	[STMT_CHANGES_SINCE] = "SELECT revision, kind, id, op FROM changes"
			       " WHERE revision > ?1 ORDER BY rowid",
	[STMT_SG_PORTS_CLEAR] = "DELETE FROM sg_ports WHERE port_id = ?1",
	[STMT_SG_PORTS_ADD] = "INSERT OR IGNORE INTO sg_ports"
			      " (group_id, port_id) VALUES (?1, ?2)",
	[STMT_SG_PORTS_OF_GROUP] = "SELECT port_id FROM sg_ports"
				   " WHERE group_id = ?1 ORDER BY port_id",
	[STMT_GW_SLOT_GET] = "SELECT slot FROM gateway_slots WHERE host = ?1",
	/* The lowest free slot: 0, or the one after a taken slot whose
	 * successor is free. */
	[STMT_GW_SLOT_FIND_FREE] =
		"SELECT 0 WHERE NOT EXISTS"
		" (SELECT 1 FROM gateway_slots WHERE slot = 0)"
		" UNION ALL "
		"SELECT * FROM (SELECT g.slot + 1 FROM gateway_slots g"
		" WHERE NOT EXISTS (SELECT 1 FROM gateway_slots w"
		" WHERE w.slot = g.slot + 1) ORDER BY g.slot LIMIT 1)"
		" LIMIT 1",
	[STMT_GW_SLOT_CLAIM] =
		"INSERT INTO gateway_slots (slot, host) VALUES (?1, ?2)",
	[STMT_GW_SLOT_RELEASE] = "DELETE FROM gateway_slots WHERE host = ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT_COUNT];
	sqlite3_stmt *list_stmt[3][2][2];
	uint64_t revision; /* last committed */
	uint64_t txn_revision; /* taken by the open transaction, 0 if none */
	bool in_txn;
};

int store_schema_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

/* Returns the cached statement 'id', reset and with its bindings cleared. */
static sqlite3_stmt *stmt_get(struct store *s, enum stmt id)
{
	sqlite3_stmt *st = s->stmt[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Maps an SQLite result code to a negative errno. */
static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return -EROFS;
	default:
		return -EIO;
	}
}

/* Runs a statement that returns no rows. */
static int stmt_exec(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
	if (text)
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int migrate(struct store *s, char *errmsg, size_t errmsg_len)
{
	sqlite3_stmt *st;
	int version, target = store_schema_version();
	char *msg = NULL;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL))
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		goto fail;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	if (version > target) {
		snprintf(
			errmsg, errmsg_len,
			"database schema version %d is newer than this weftd (%d)",
			version, target);
		return -EPROTO;
	}
	for (; version < target; version++) {
		char sql[64];

		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg))
			goto fail_msg;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 version + 1);
		if (sqlite3_exec(s->db, migrations[version], NULL, NULL,
				 &msg) ||
		    sqlite3_exec(s->db, sql, NULL, NULL, &msg) ||
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg)) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail_msg;
		}
	}
	return 0;

fail_msg:
	snprintf(errmsg, errmsg_len, "schema migration %d failed: %s", version,
		 msg ? msg : "unknown error");
	sqlite3_free(msg);
	return -EIO;
fail:
	snprintf(errmsg, errmsg_len, "cannot read schema version: %s",
		 sqlite3_errmsg(s->db));
	return -EIO;
}

static int read_revision(struct store *s)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT value FROM meta WHERE key = 'revision'",
				-1, &st, NULL);
	if (rc)
		return sqlite_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->revision = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int store_open(const char *path, const struct store_options *opts,
	       struct store **ret, char *errmsg, size_t errmsg_len)
{
	struct store *s;
	const char *sync =
		opts && opts->synchronous ? opts->synchronous : "full";
	char pragmas[256];
	char dummy[1];
	int r;

	if (!errmsg) {
		errmsg = dummy;
		errmsg_len = sizeof(dummy);
	}
	if (strcmp(sync, "full") && strcmp(sync, "normal")) {
		snprintf(errmsg, errmsg_len,
			 "synchronous must be 'full' or 'normal', not '%s'",
			 sync);
		return -EINVAL;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL)) {
		snprintf(errmsg, errmsg_len, "cannot open %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		r = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s;"
		 "PRAGMA foreign_keys = ON;",
		 sync);
	if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL)) {
		snprintf(errmsg, errmsg_len, "cannot set up %s: %s", path,
			 sqlite3_errmsg(s->db));
		r = -EIO;
		goto fail;
	}
	r = migrate(s, errmsg, errmsg_len);
	if (r < 0)
		goto fail;
	for (int i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
				       NULL)) {
			snprintf(errmsg, errmsg_len, "cannot prepare '%s': %s",
				 stmt_sql[i], sqlite3_errmsg(s->db));
			r = -EIO;
			goto fail;
		}
	}
	r = read_revision(s);
	if (r < 0) {
		snprintf(errmsg, errmsg_len, "cannot read revision");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	store_free(s);
	return r;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->in_txn)
		store_rollback(s);
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 2; k++)
				sqlite3_finalize(s->list_stmt[i][j][k]);
	sqlite3_close(s->db);
	free(s);
}

int store_begin(struct store *s)
{
	int r;

	if (s->in_txn)
		return -EBUSY;
	r = stmt_exec(stmt_get(s, STMT_BEGIN));
	if (r < 0)
		return r;
	s->in_txn = true;
	s->txn_revision = 0;
	return 0;
}

int store_commit(struct store *s)
{
	int r;

	if (!s->in_txn)
		return -EINVAL;
	if (s->txn_revision) {
		sqlite3_stmt *st = stmt_get(s, STMT_SET_REVISION);

		sqlite3_bind_int64(st, 1, (sqlite3_int64)s->txn_revision);
		r = stmt_exec(st);
		if (r < 0) {
			store_rollback(s);
			return r;
		}
	}
	r = stmt_exec(stmt_get(s, STMT_COMMIT));
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	if (s->txn_revision)
		s->revision = s->txn_revision;
	s->in_txn = false;
	s->txn_revision = 0;
	return 0;
}

void store_rollback(struct store *s)
{
	if (!s->in_txn)
		return;
	/* Reset every statement so none holds the transaction open. */
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_reset(s->stmt[i]);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 2; k++)
				if (s->list_stmt[i][j][k])
					sqlite3_reset(s->list_stmt[i][j][k]);
	stmt_exec(stmt_get(s, STMT_ROLLBACK));
	s->in_txn = false;
	s->txn_revision = 0;
}

uint64_t store_revision(const struct store *s)
{
	return s->revision;
}

/* Records a change in the log, taking the transaction's revision on its
 * first write. */
static int log_change(struct store *s, const char *kind, const char *id,
		      const char *op)
{
	sqlite3_stmt *st;

	if (!s->in_txn)
		return -EINVAL;
	if (!s->txn_revision)
		s->txn_revision = s->revision + 1;
	st = stmt_get(s, STMT_LOG_CHANGE);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)s->txn_revision);
	bind_text(st, 2, kind);
	bind_text(st, 3, id);
	bind_text(st, 4, op);
	return stmt_exec(st);
}

int store_note(struct store *s, const char *kind, const char *id)
{
	return log_change(s, kind, id, "note");
}

int store_put(struct store *s, const char *kind, const char *parent_id,
	      bool shared, json_t *doc)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	const char *project =
		json_string_value(json_object_get(doc, "project_id"));
	sqlite3_stmt *st;
	char *body;
	int r;

	if (!id || !project)
		return -EINVAL;
	r = log_change(s, kind, id, "put");
	if (r < 0)
		return r;
	body = json_dumps(doc, JSON_COMPACT);
	if (!body)
		return -ENOMEM;
	st = stmt_get(s, STMT_PUT);
	bind_text(st, 1, kind);
	bind_text(st, 2, id);
	bind_text(st, 3, project);
	bind_text(st, 4, parent_id);
	sqlite3_bind_int(st, 5, shared);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)s->txn_revision);
	bind_text(st, 7, body);
	r = stmt_exec(st);
	free(body);
	return r;
}

int store_delete(struct store *s, const char *kind, const char *id)
{
	sqlite3_stmt *st;
	int r;

	r = log_change(s, kind, id, "delete");
	if (r < 0)
		return r;
	st = stmt_get(s, STMT_DELETE);
	bind_text(st, 1, kind);
	bind_text(st, 2, id);
	r = stmt_exec(st);
	if (r < 0)
		return r;
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

/* Parses the body column of the current row of 'st'. */
static json_t *row_doc(sqlite3_stmt *st, int col)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	int len = sqlite3_column_bytes(st, col);

	return text ? json_loadb(text, (size_t)len, 0, NULL) : NULL;
}

json_t *store_get(struct store *s, const char *kind, const char *id)
{
	sqlite3_stmt *st = stmt_get(s, STMT_GET);
	json_t *doc = NULL;

	bind_text(st, 1, kind);
	bind_text(st, 2, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		doc = row_doc(st, 0);
	sqlite3_reset(st);
	return doc;
}

/* The statement for a list query's shape (project filter: none, own,
 * own or shared; parent filter: no, yes; device filter: no, yes),
 * prepared once. The device filter is written as the expression of index
 * resources_device so that SQLite uses it. */
static sqlite3_stmt *list_stmt(struct store *s, const struct store_query *q)
{
	int proj = q->project_id ? (q->include_shared ? 2 : 1) : 0;
	int parent = q->parent_id != NULL;
	int device = q->device_id != NULL;
	sqlite3_stmt **st = &s->list_stmt[proj][parent][device];
	char sql[384];

	if (!*st) {
		static const char *const proj_sql[] = {
			"", " AND project_id = ?",
			" AND (project_id = ? OR shared = 1)"
		};

		snprintf(
			sql, sizeof(sql),
			"SELECT body FROM resources WHERE kind = ?%s%s%s ORDER BY seq",
			proj_sql[proj], parent ? " AND parent_id = ?" : "",
			device ? " AND json_extract(body, '$.device_id') = ?" :
				 "");
		if (sqlite3_prepare_v3(s->db, sql, -1,
				       SQLITE_PREPARE_PERSISTENT, st, NULL))
			return NULL;
	}
	sqlite3_reset(*st);
	sqlite3_clear_bindings(*st);
	return *st;
}

int store_list(struct store *s, const struct store_query *q, store_list_fn fn,
	       void *data)
{
	sqlite3_stmt *st = list_stmt(s, q);
	int rc, r = 0, i = 1;

	if (!st)
		return -EIO;
	bind_text(st, i++, q->kind);
	if (q->project_id)
		bind_text(st, i++, q->project_id);
	if (q->parent_id)
		bind_text(st, i++, q->parent_id);
	if (q->device_id)
		bind_text(st, i++, q->device_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *doc = row_doc(st, 0);

		if (!doc) {
			r = -EIO;
			break;
		}
		r = fn(doc, data);
		json_decref(doc);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sqlite_errno(rc);
	sqlite3_reset(st);
	return r;
}

/* Runs a statement whose first column of its first row is an integer. */
static int stmt_int64(sqlite3_stmt *st, int64_t *ret)
{
	int rc = sqlite3_step(st);
	int r = 0;

	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*ret = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = sqlite_errno(rc);
	sqlite3_reset(st);
	return r;
}

int store_count_children(struct store *s, const char *kind,
			 const char *parent_id, int64_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_COUNT_CHILDREN);

	bind_text(st, 1, kind);
	bind_text(st, 2, parent_id);
	return stmt_int64(st, ret);
}

/* A space of ids handed out in turn, continuing after the last one handed
 * out: VNIs and router keys. */
struct id_space {
	enum stmt last, set_last, find_free, claim;
	uint32_t min, max;
};

static const struct id_space vni_space = {
	STMT_VNI_LAST,	STMT_VNI_SET_LAST, STMT_VNI_FIND_FREE,
	STMT_VNI_CLAIM, VNI_MIN,	   VNI_MAX
};
static const struct id_space router_key_space = {
	STMT_RKEY_LAST,	 STMT_RKEY_SET_LAST, STMT_RKEY_FIND_FREE,
	STMT_RKEY_CLAIM, ROUTER_KEY_MIN,     ROUTER_KEY_MAX
};

static int id_claim(struct store *s, const struct id_space *sp,
		    const char *owner, uint32_t id)
{
	sqlite3_stmt *st;

	if (id < sp->min || id > sp->max)
		return -EINVAL;
	st = stmt_get(s, sp->claim);
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, owner);
	return stmt_exec(st);
}

/* The first free id in ['from', max], or -ENOSPC. */
static int id_find_free(struct store *s, const struct id_space *sp,
			uint32_t from, uint32_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, sp->find_free);
	int64_t v;
	int r;

	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, sp->max);
	r = stmt_int64(st, &v);
	if (r == -ENOENT || (r == 0 && v > sp->max))
		return -ENOSPC;
	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

static int id_allocate(struct store *s, const struct id_space *sp,
		       const char *owner, uint32_t *ret)
{
	sqlite3_stmt *st;
	int64_t last;
	uint32_t id;
	int r;

	r = stmt_int64(stmt_get(s, sp->last), &last);
	if (r < 0)
		return r;
	/* Continue after the last id handed out; wrap around once. */
	r = id_find_free(s, sp, last >= sp->max ? sp->min : (uint32_t)last + 1,
			 &id);
	if (r == -ENOSPC)
		r = id_find_free(s, sp, sp->min, &id);
	if (r < 0)
		return r;
	r = id_claim(s, sp, owner, id);
	if (r < 0)
		return r;
	st = stmt_get(s, sp->set_last);
	sqlite3_bind_int64(st, 1, id);
	r = stmt_exec(st);
	if (r < 0)
		return r;
	*ret = id;
	return 0;
}

int store_vni_claim(struct store *s, const char *network_id, uint32_t vni)
{
	return id_claim(s, &vni_space, network_id, vni);
}

int store_vni_allocate(struct store *s, const char *network_id, uint32_t *ret)
{
	return id_allocate(s, &vni_space, network_id, ret);
}

int store_router_key_allocate(struct store *s, const char *router_id,
			      uint32_t *ret)
{
	return id_allocate(s, &router_key_space, router_id, ret);
}

int store_router_key_release(struct store *s, const char *router_id)
{
	sqlite3_stmt *st = stmt_get(s, STMT_RKEY_RELEASE);

	bind_text(st, 1, router_id);
	return stmt_exec(st);
}

int store_router_key(struct store *s, const char *router_id, uint32_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_RKEY_GET);
	int64_t v;
	int r;

	bind_text(st, 1, router_id);
	r = stmt_int64(st, &v);
	if (r == 0)
		*ret = (uint32_t)v;
	return r;
}

int store_gateway_slot(struct store *s, const char *host, uint32_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_GW_SLOT_GET);
	int64_t v;
	int r;

	bind_text(st, 1, host);
	r = stmt_int64(st, &v);
	if (r == 0)
		*ret = (uint32_t)v;
	return r;
}

int store_gateway_slot_claim(struct store *s, const char *host, uint32_t n,
			     uint32_t *ret)
{
	sqlite3_stmt *st;
	int64_t v;
	int r = store_gateway_slot(s, host, ret);

	if (r != -ENOENT)
		return r;
	r = stmt_int64(stmt_get(s, STMT_GW_SLOT_FIND_FREE), &v);
	if (r < 0)
		return r;
	if (v >= n)
		return -ENOSPC;
	st = stmt_get(s, STMT_GW_SLOT_CLAIM);
	sqlite3_bind_int64(st, 1, v);
	bind_text(st, 2, host);
	r = stmt_exec(st);
	if (r == 0)
		*ret = (uint32_t)v;
	return r;
}

int store_gateway_slot_release(struct store *s, const char *host)
{
	sqlite3_stmt *st = stmt_get(s, STMT_GW_SLOT_RELEASE);

	bind_text(st, 1, host);
	return stmt_exec(st);
}

int store_vni_release(struct store *s, const char *network_id)
{
	sqlite3_stmt *st = stmt_get(s, STMT_VNI_RELEASE);

	bind_text(st, 1, network_id);
	return stmt_exec(st);
}

int store_mac_claim(struct store *s, const char *network_id, const char *mac,
		    const char *port_id)
{
	sqlite3_stmt *st = stmt_get(s, STMT_MAC_CLAIM);

	bind_text(st, 1, network_id);
	bind_text(st, 2, mac);
	bind_text(st, 3, port_id);
	return stmt_exec(st);
}

int store_mac_release(struct store *s, const char *network_id, const char *mac)
{
	sqlite3_stmt *st = stmt_get(s, STMT_MAC_RELEASE);

	bind_text(st, 1, network_id);
	bind_text(st, 2, mac);
	return stmt_exec(st);
}

int store_ip_claim(struct store *s, const char *subnet_id, uint32_t ip,
		   const char *port_id)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_CLAIM);

	bind_text(st, 1, subnet_id);
	sqlite3_bind_int64(st, 2, ip);
	bind_text(st, 3, port_id);
	return stmt_exec(st);
}

int store_ip_release(struct store *s, const char *subnet_id, uint32_t ip)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_RELEASE);

	bind_text(st, 1, subnet_id);
	sqlite3_bind_int64(st, 2, ip);
	return stmt_exec(st);
}

int store_ip_first_free(struct store *s, const char *subnet_id, uint32_t lo,
			uint32_t hi, uint32_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_RANGE);
	uint64_t expect = lo;
	int rc;

	if (lo > hi)
		return -ENOSPC;
	bind_text(st, 1, subnet_id);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	/* Allocations come in ascending order: the first one that is not
	 * the expected next address leaves a gap at 'expect'. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != expect)
			break;
		expect++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_errno(rc);
	if (expect > hi)
		return -ENOSPC;
	*ret = (uint32_t)expect;
	return 0;
}

int store_ip_highest(struct store *s, const char *subnet_id, uint32_t lo,
		     uint32_t hi, uint32_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_HIGHEST);
	int64_t v;
	int r;

	bind_text(st, 1, subnet_id);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	r = stmt_int64(st, &v);
	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

int store_ip_count(struct store *s, const char *subnet_id, int64_t *ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_COUNT);

	bind_text(st, 1, subnet_id);
	return stmt_int64(st, ret);
}

int store_ip_owner(struct store *s, const char *subnet_id, uint32_t ip,
		   char *port_id, size_t len)
{
	sqlite3_stmt *st = stmt_get(s, STMT_IP_OWNER);
	int rc, r = -ENOENT;

	bind_text(st, 1, subnet_id);
	sqlite3_bind_int64(st, 2, ip);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(port_id, len, "%s", sqlite3_column_text(st, 0));
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = sqlite_errno(rc);
	}
	sqlite3_reset(st);
	return r;
}

int store_changes_since(struct store *s, uint64_t since, store_change_fn fn,
			void *data)
{
	sqlite3_stmt *st = stmt_get(s, STMT_CHANGES_SINCE);
	int rc, r = 0;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = fn((uint64_t)sqlite3_column_int64(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2),
		       (const char *)sqlite3_column_text(st, 3), data);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sqlite_errno(rc);
	sqlite3_reset(st);
	return r;
}

int store_sg_ports_set(struct store *s, const char *port_id, json_t *groups)
{
	sqlite3_stmt *st;
	json_t *g;
	size_t i;
	int r;

	if (!s->in_txn)
		return -EINVAL;
	st = stmt_get(s, STMT_SG_PORTS_CLEAR);
	bind_text(st, 1, port_id);
	r = stmt_exec(st);
	json_array_foreach(groups, i, g) {
		if (r < 0)
			break;
		if (!json_is_string(g))
			continue;
		st = stmt_get(s, STMT_SG_PORTS_ADD);
		bind_text(st, 1, json_string_value(g));
		bind_text(st, 2, port_id);
		r = stmt_exec(st);
	}
	return r;
}

int store_sg_ports(struct store *s, const char *group_id, json_t **ret)
{
	sqlite3_stmt *st = stmt_get(s, STMT_SG_PORTS_OF_GROUP);
	json_t *ids = json_array();
	int rc, r = 0;

	if (!ids)
		return -ENOMEM;
	bind_text(st, 1, group_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(
			    ids, json_string((const char *)sqlite3_column_text(
					 st, 0))) < 0) {
			r = -ENOMEM;
			break;
		}
	if (!r && rc != SQLITE_DONE)
		r = sqlite_errno(rc);
	sqlite3_reset(st);
	if (r < 0) {
		json_decref(ids);
		return r;
	}
	*ret = ids;
	return 0;
}
