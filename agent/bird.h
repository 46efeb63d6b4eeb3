/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hostview.h"

/*
 * The BIRD 2 configuration of a gateway node (docs/gateways.md, "Agent"):
 * the addresses it announces to its upstream over BGP, and the whole
 * configuration file, written atomically. Pure but for bird_write_file().
 */

struct bird_config {
	const char *uplink_dev; /* BFD runs on it */
	uint32_t uplink_ip; /* router id and BGP source; host order */
	uint32_t local_as;
	uint32_t peer_ip; /* host order */
	uint32_t peer_as;
};

/* The addresses to announce from view 'v': every associated floating IP
 * and every router external IP, sorted and without duplicates, into
 * 'ret' (a malloc'ed array of 'ret_n' host-order addresses, NULL when
 * none; caller frees). Returns 0 or -ENOMEM. */
int bird_announced(const struct hostview *v, uint32_t **ret, size_t *ret_n);

/* The configuration text for 'c' announcing 'addrs' ('n' of them, each as
 * a /32 blackhole route of the static protocol weft_announce): router id,
 * protocol device, BFD on the uplink at 20 ms x 3, and one BGP session to
 * the peer with BFD, exporting weft_announce only. No kernel protocol: the
 * routes are for the upstream, never for this host's table. Sets 'ret'
 * (free with free()); returns 0 or -ENOMEM. */
int bird_config_text(const struct bird_config *c, const uint32_t *addrs,
		     size_t n, char **ret);

/* Writes 'text' to 'path' atomically: into 'path'.tmp, fsync'ed, renamed
 * over 'path'. Returns 0 or a negative errno. */
int bird_write_file(const char *path, const char *text);
