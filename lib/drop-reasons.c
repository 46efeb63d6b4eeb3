/* SPDX-License-Identifier: Apache-2.0 */
#include "drop-reasons.h"

#include <errno.h>
#include <string.h>

const char *const weft_drop_reason_names[WEFT_DROP_MAX] = {
	[WEFT_DROP_MALFORMED] = "malformed",
	[WEFT_DROP_NO_PORT] = "no_port",
	[WEFT_DROP_ADMIN_DOWN] = "admin_down",
	[WEFT_DROP_SRC_MAC] = "src_mac",
	[WEFT_DROP_SRC_IP] = "src_ip",
	[WEFT_DROP_ARP_SPOOF] = "arp_spoof",
	[WEFT_DROP_ARP_UNKNOWN] = "arp_unknown",
	[WEFT_DROP_ARP_NOT_REQUEST] = "arp_not_request",
	[WEFT_DROP_BROADCAST] = "broadcast",
	[WEFT_DROP_UNKNOWN_DST] = "unknown_dst",
	[WEFT_DROP_ETHERTYPE] = "ethertype",
	[WEFT_DROP_UNKNOWN_HOST] = "unknown_host",
	[WEFT_DROP_UNKNOWN_VNI] = "unknown_vni",
	[WEFT_DROP_NOT_LOCAL] = "not_local",
	[WEFT_DROP_TUNNEL_SRC] = "tunnel_src",
	[WEFT_DROP_NO_TUNNEL_KEY] = "no_tunnel_key",
	[WEFT_DROP_REDIRECT] = "redirect",
	[WEFT_DROP_TTL_EXCEEDED] = "ttl_exceeded",
	[WEFT_DROP_NO_ROUTE] = "no_route",
	[WEFT_DROP_NO_NEIGH] = "no_neigh",
	[WEFT_DROP_ROUTER_DOWN] = "router_down",
	[WEFT_DROP_ROUTER_LOOP] = "router_loop",
	[WEFT_DROP_TO_ROUTER] = "to_router",
	[WEFT_DROP_POLICY_INGRESS] = "policy_ingress",
	[WEFT_DROP_POLICY_EGRESS] = "policy_egress",
	[WEFT_DROP_CT_INVALID] = "ct_invalid",
	[WEFT_DROP_CT_WINDOW] = "ct_window",
	[WEFT_DROP_FRAGMENT] = "fragment",
	[WEFT_DROP_NO_GATEWAY] = "no_gateway",
	[WEFT_DROP_NO_EXT_ROUTER] = "no_ext_router",
	[WEFT_DROP_FIP_UNASSOCIATED] = "fip_unassociated",
	[WEFT_DROP_EXT_UNKNOWN_DST] = "ext_unknown_dst",
	[WEFT_DROP_EXT_SPOOF] = "ext_spoof",
	[WEFT_DROP_SNAT_NO_STATE] = "snat_no_state",
	[WEFT_DROP_SNAT_EXHAUSTED] = "snat_exhausted",
	[WEFT_DROP_NAT_PROTO] = "nat_proto",
	[WEFT_DROP_OTHER_HOST] = "other_host",
};

/* A reason added to the enum without a name here fails this. */
_Static_assert(WEFT_DROP_OTHER_HOST + 1 == WEFT_DROP_MAX,
	       "name every enum weft_drop_reason in weft_drop_reason_names");

const char *drop_reason_name(enum weft_drop_reason reason)
{
	if ((unsigned)reason >= WEFT_DROP_MAX)
		return NULL;
	return weft_drop_reason_names[reason];
}

int drop_reason_from_name(const char *name)
{
	for (int r = 0; r < WEFT_DROP_MAX; r++)
		if (weft_drop_reason_names[r] &&
		    !strcmp(name, weft_drop_reason_names[r]))
			return r;
	return -EINVAL;
}
