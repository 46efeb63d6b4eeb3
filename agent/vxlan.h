/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The host's one VXLAN device, in external (collect_md) mode: the datapath
 * sets the VNI and remote address of each packet with
 * bpf_skb_set_tunnel_key() and redirects it there; the kernel encapsulates.
 * The equivalent of
 *	ip link add NAME type vxlan external dstport PORT nolearning
 *	ip link set NAME mtu MTU up
 * done over rtnetlink (libnl-route), in the current network namespace.
 */

/* Creates the device 'name', or ADOPTS it when it exists and already is a
 * collect_md VXLAN device on 'port' (never deleting it: it is carrying
 * traffic). Brings it up. Sets 'ret_created' when it was created. Returns
 * its ifindex (> 0), -EEXIST when a device of that name exists but is not
 * such a VXLAN device, or another negative errno. */
int vxlan_ensure(const char *name, uint16_t port, uint32_t mtu,
		 bool *ret_created);

/* Deletes the device 'name' when it is a collect_md VXLAN device. Returns
 * 0 (also when absent), -EEXIST when it is another kind of device, or a
 * negative errno. */
int vxlan_delete(const char *name);

/* The MTU of the device 'name', or a negative errno. */
int vxlan_link_mtu(const char *name);
