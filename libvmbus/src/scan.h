/* SPDX-License-Identifier: MIT */
/* Private to scan.c and inspect.c: the size rule and the scan options. */
#ifndef VMBUS_SCAN_H
#define VMBUS_SCAN_H

#include <stddef.h>

#include "internal.h"
#include "opts.h"

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
