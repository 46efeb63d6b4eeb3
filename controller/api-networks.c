/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "abi/weft.h"
#include "api.h"

/* WEFT_VNI_HANDOFF (0xffffff) is the gateways' hand-off VNI. */
#define VNI_MAX (WEFT_VNI_HANDOFF - 1)
#define VXLAN_OVERHEAD 50
#define MTU_MIN 68

static const struct api_attr network_attrs[] = {
	{ "name", API_T_STRING, API_POST | API_PUT, "\"\"", 255 },
	{ "admin_state_up", API_T_BOOL, API_POST | API_PUT, "true", 0 },
	{ "shared", API_T_BOOL, API_POST | API_PUT | API_ADMIN, "false", 0 },
	{ "mtu", API_T_INT, API_POST | API_PUT, NULL, 0 },
	{ "port_security_enabled", API_T_BOOL, API_POST | API_PUT, "true", 0 },
	{ "router:external", API_T_BOOL, API_POST | API_PUT | API_ADMIN,
	  "false", 0 },
	{ "provider:network_type", API_T_STRING,
	  API_POST | API_ADMIN | API_NULLABLE, "\"vxlan\"", 0 },
	{ "provider:physical_network", API_T_STRING,
	  API_POST | API_ADMIN | API_NULLABLE, "null", 0 },
	{ "provider:segmentation_id", API_T_INT,
	  API_POST | API_ADMIN | API_NULLABLE, NULL, 0 },
	{ "status", API_T_STRING, 0, "\"ACTIVE\"", 0 },
	{ "subnets", API_T_LIST, 0, "[]", 0 },
	{ "availability_zone_hints", API_T_LIST, API_POST, "[]", 0 },
	{ "availability_zones", API_T_LIST, 0, "[]", 0 },
	{ "ipv4_address_scope", API_T_STRING, API_NULLABLE, "null", 0 },
	{ "ipv6_address_scope", API_T_STRING, API_NULLABLE, "null", 0 },
	{ NULL },
};

static bool network_shared(json_t *obj);

static int check_mtu(struct api_ctx *ctx, json_t *obj)
{
	json_int_t max = (json_int_t)ctx->cfg->underlay_mtu - VXLAN_OVERHEAD;
	json_t *mtu = json_object_get(obj, "mtu");

	if (!mtu) {
		json_object_set_new(obj, "mtu", json_integer(max));
		return 0;
	}
	if (json_integer_value(mtu) < MTU_MIN || json_integer_value(mtu) > max)
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: Requested MTU %" JSON_INTEGER_FORMAT
			" is out of range: a VXLAN network over an underlay MTU of %u takes %d to %" JSON_INTEGER_FORMAT
			".",
			json_integer_value(mtu), ctx->cfg->underlay_mtu,
			MTU_MIN, max);
	return 0;
}

static int network_vni(struct api_ctx *ctx, json_t *obj)
{
	const char *id = api_str(obj, "id");
	json_t *seg = json_object_get(obj, "provider:segmentation_id");
	uint32_t vni;
	int r;

	if (json_is_integer(seg)) {
		json_int_t want = json_integer_value(seg);

		if (want < 1 || want > VNI_MAX)
			return api_fail(
				&ctx->err, 400, "InvalidInput",
				"Invalid input for operation: segmentation_id %" JSON_INTEGER_FORMAT
				" out of range (1 through %d).",
				want, VNI_MAX);
		r = store_vni_claim(ctx->store, id, (uint32_t)want);
		if (r == -EEXIST)
			return api_fail(
				&ctx->err, 409, "SegmentationIdInUse",
				"Unable to create the network. The VNI %" JSON_INTEGER_FORMAT
				" is in use.",
				want);
		vni = (uint32_t)want;
	} else {
		r = store_vni_allocate(ctx->store, id, &vni);
		if (r == -ENOSPC)
			return api_fail(
				&ctx->err, 503, "NoNetworkAvailable",
				"Unable to create the network. No tenant network is available for allocation.");
	}
	if (r < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to allocate a VNI: %s",
				strerror(-r));
	json_object_set_new(obj, "provider:segmentation_id", json_integer(vni));
	return 0;
}

static int network_create(struct api_ctx *ctx, json_t *obj)
{
	const char *type = api_str(obj, "provider:network_type");

	if (type && strcmp(type, "vxlan"))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: network type %s is not supported; weft networks are vxlan.",
			type);
	json_object_set_new(obj, "provider:network_type", json_string("vxlan"));
	if (!json_is_null(json_object_get(obj, "provider:physical_network")))
		return api_fail(
			&ctx->err, 400, "InvalidInput",
			"Invalid input for operation: provider:physical_network must be null for vxlan networks.");
	if (check_mtu(ctx, obj) < 0)
		return -1;
	return network_vni(ctx, obj);
}

struct foreign_ports {
	const char *owner;
	bool found;
};

static int find_foreign_port(json_t *port, void *data)
{
	struct foreign_ports *fp = data;

	if (strcmp(api_str(port, "project_id"), fp->owner)) {
		fp->found = true;
		return 1;
	}
	return 0;
}

/* Finds a port of the network owned by a router gateway or a floating
 * IP. */
static int find_external_user(json_t *port, void *data)
{
	const char *owner = api_str(port, "device_owner");

	if (owner && (!strcmp(owner, API_ROUTER_GATEWAY_OWNER) ||
		      !strcmp(owner, API_FLOATINGIP_OWNER))) {
		*(bool *)data = true;
		return 1;
	}
	return 0;
}

/* An external network stays external while a router gateway or a
 * floating IP is on it. */
static int check_external_in_use(struct api_ctx *ctx, json_t *obj)
{
	struct store_query q = { .kind = "port",
				 .parent_id = api_str(obj, "id") };
	bool used = false;

	if (store_list(ctx->store, &q, find_external_user, &used) < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to list ports");
	if (used)
		return api_fail(
			&ctx->err, 409, "ExternalNetworkInUse",
			"External network %s cannot be updated, because it is used by one or more router gateways or floating IPs.",
			api_str(obj, "id"));
	return 0;
}

static int network_update(struct api_ctx *ctx, json_t *old, json_t *obj,
			  json_t *changes)
{
	if (json_object_get(changes, "mtu") && check_mtu(ctx, obj) < 0)
		return -1;
	if (api_bool(old, "router:external") &&
	    !api_bool(obj, "router:external") &&
	    check_external_in_use(ctx, obj) < 0)
		return -1;
	if (api_bool(old, "shared") && !api_bool(obj, "shared")) {
		struct foreign_ports fp = { api_str(obj, "project_id"), false };
		struct store_query q = { .kind = "port",
					 .parent_id = api_str(obj, "id") };

		if (store_list(ctx->store, &q, find_foreign_port, &fp) < 0)
			return api_fail(&ctx->err, 500,
					"HTTPInternalServerError",
					"The store failed to list ports");
		if (fp.found)
			return api_fail(
				&ctx->err, 409, "InvalidSharedSetting",
				"Unable to reconfigure sharing settings for network %s. Multiple tenants are using it.",
				api_str(obj, "id"));
	}
	return 0;
}

static int delete_subnet_doc(json_t *subnet, void *data)
{
	struct store *s = data;

	return store_delete(s, "subnet", api_str(subnet, "id"));
}

static int network_remove(struct api_ctx *ctx, json_t *obj)
{
	const char *id = api_str(obj, "id");
	struct store_query q = { .kind = "subnet", .parent_id = id };
	int64_t ports = 0;

	if (store_count_children(ctx->store, "port", id, &ports) < 0)
		return api_fail(&ctx->err, 500, "HTTPInternalServerError",
				"The store failed to count ports");
	if (ports > 0)
		return api_fail(
			&ctx->err, 409, "NetworkInUse",
			"Unable to complete operation on network %s. There are one or more ports still in use on the network.",
			id);
	/* With no ports, no subnet has an allocation left: they go too. */
	if (store_list(ctx->store, &q, delete_subnet_doc, ctx->store) < 0 ||
	    store_vni_release(ctx->store, id) < 0)
		return api_fail(
			&ctx->err, 500, "HTTPInternalServerError",
			"The store failed to delete the network's subnets");
	return 0;
}

/* Shared and external networks are seen by every project (Neutron lists
 * external networks to all). */
static bool network_visible(struct api_ctx *ctx, json_t *obj)
{
	return api_owns(ctx, obj) || network_shared(obj);
}

static bool network_shared(json_t *obj)
{
	return api_bool(obj, "shared") || api_bool(obj, "router:external");
}

const struct api_resource api_networks = {
	.member = "network",
	.collection = "networks",
	.title = "Network",
	.attrs = network_attrs,
	.allow_create = true,
	.create = network_create,
	.update = network_update,
	.remove = network_remove,
	.visible = network_visible,
	.shared = network_shared,
};
