/* SPDX-License-Identifier: MIT */
/*
 * vmbus-bind: binds one VMBus device to a UIO driver and gives it back.
 *
 * main.c   the command line, the bind and restore sequences
 * sysfs.c  writes to sysfs with errors that name the file and the cause,
 *          waiting for the driver core, loading modules, the state file,
 *          driverctl's override file
 * safety.c what must not be taken: the NIC of the default route or of an
 *          SSH connection, a disk controller with mounted filesystems, a
 *          device whose /dev/uioN a process holds
 */
#ifndef VMBUS_BIND_H
#define VMBUS_BIND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <vmbus/vmbus.h>

/* Exit codes (documented in --help and vmbus-bind(8)); stable. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1, /* another error */
	EXIT_USAGE = 2,
	EXIT_PERM = 3, /* not root: a sysfs file could not be written */
	EXIT_NODEV = 4, /* no such device */
	EXIT_NODRIVER = 5, /* the driver is not loaded and cannot be loaded */
	EXIT_BUSY = 6, /* the device is busy: a process has its /dev/uioN open */
	EXIT_ALREADY = 7, /* already bound as asked (restore: no UIO driver holds it) */
	EXIT_REFUSED = 8, /* refused for safety (use --force) */
	EXIT_NOBIND = 9, /* the kernel did not bind the device */
};

#define UIO_HV_UIO "hv_uio"
#define UIO_GENERIC "uio_hv_generic"

struct ctx {
	const char *root; /* "" for the real system */
	const char *guid; /* canonical text */
	struct vmbus_dev_desc dev;
	char devdir[PATH_MAX];
	int timeout_ms; /* how long to wait for the driver core */
	bool force;
	bool quiet;
	bool dry_run;
};

/* Messages: every failure names the device, the file and the cause. */
void say(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(const struct ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void warn(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool is_uio_driver(const char *name);

/* sysfs.c */
/* <root>/sys/bus/vmbus/... path; false if it does not fit. */
bool bus_path(const struct ctx *c, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Writes @text to @path; on failure prints why (naming @what) and returns the exit code. */
int sysfs_write(const struct ctx *c, const char *path, const char *text, const char *what);
/* The same, but errno @tolerated is returned as -@tolerated, silently. */
int sysfs_write_or(const struct ctx *c, const char *path, const char *text, const char *what,
		   int tolerated);
/* Re-reads the device's description. */
int refresh(struct ctx *c);
/* Waits until the device's driver is @drv ("" = none); 0 or -ETIMEDOUT. */
int wait_driver(struct ctx *c, const char *drv);
/* Makes sure driver @drv is registered on the bus, loading its module. */
int ensure_driver(const struct ctx *c, const char *drv);

/* The record of what the device had before it was bound. */
struct state {
	bool found;
	char prev_driver[VMBUS_NAME_MAX]; /* "" = none */
	char prev_override[VMBUS_NAME_MAX];
	char ifname[VMBUS_NAME_MAX];
	char bound[VMBUS_NAME_MAX]; /* the UIO driver it was bound to */
};
int state_read(const struct ctx *c, struct state *s);
int state_write(const struct ctx *c, const struct state *s);
int state_remove(const struct ctx *c);
/* Holds the tool's lock (one vmbus-bind at a time); -1 on failure (printed). */
int lock_take(const struct ctx *c);

/* driverctl's persistent override: /etc/driverctl.d/vmbus-<guid> */
int persist_write(const struct ctx *c, const char *drv);
/* 1 removed, 0 there was none, <0 error (printed) */
int persist_remove(const struct ctx *c);

/* safety.c */
/* Why taking the device would cut something off, or 0; prints the reasons. */
int safety_check(const struct ctx *c);
/* A process holding /dev/uioN: 1 (printed), 0 none. */
int uio_busy(const struct ctx *c, int uio_index);

#endif /* VMBUS_BIND_H */
