/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Names of the datapath's drop reasons (enum weft_drop_reason in
 * abi/weft.h), as userspace shows them: lower case, underscores, the enum
 * name without WEFT_DROP_ ("src_mac" for WEFT_DROP_SRC_MAC).
 */

#include "abi/weft.h"

/* The names, indexed by reason. */
extern const char *const weft_drop_reason_names[WEFT_DROP_MAX];

/* The name of 'reason', or NULL when it is out of range. The string is
 * static. */
const char *drop_reason_name(enum weft_drop_reason reason);

/* The reason named 'name' (as drop_reason_name() spells it), or -EINVAL. */
int drop_reason_from_name(const char *name);
