/* SPDX-License-Identifier: MIT */
/* Private to scan.c and inspect.c: the size rule and the scan options. */
#ifndef VMBUS_SCAN_H
#define VMBUS_SCAN_H

#include <stddef.h>

#include "internal.h"

/*
 * The size rule for option and output structs: @sz must cover at least the
 * size field; bytes past @known must be zero.  Returns 0 or -EINVAL, with
 * a message in @err naming @what.
 */
int vmbus_struct_check(const void *s, size_t known, const char *what, char *err, size_t errlen);

/* True if an option struct of @sz bytes holds @field. */
#define SCAN_OPTS_HAS(o, field) \
	((o) && (o)->sz >= offsetof(__typeof__(*(o)), field) + sizeof((o)->field))

/* The options as used: root resolved, error buffer (or a scratch one). */
struct scan_ctx {
	const char *root;
	char *err;
	size_t errlen;
};

int scan_ctx_init(struct scan_ctx *c, const struct vmbus_scan_opts *opts);
int scan_fail(struct scan_ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VMBUS_SCAN_H */
