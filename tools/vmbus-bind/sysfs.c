/* SPDX-License-Identifier: MIT */
/*
 * vmbus-bind's side of the driver core: sysfs writes whose failures say
 * which file and why, waiting for a binding to show, loading a driver's
 * module, the state file and driverctl's override file.
 *
 * Kernel facts (drivers/hv/vmbus_drv.c, drivers/base/bus.c): writing a
 * device's GUID to drivers/<drv>/unbind releases it (-ENODEV if <drv> does
 * not hold it); to drivers/<drv>/bind binds it (-EBUSY if some driver
 * holds it, -ENODEV if <drv> does not match it); driver_override takes one
 * driver name, and a newline alone clears it; new_id takes a class GUID
 * (-EEXIST if already there) and binds every unbound device of the class
 * at once; remove_id takes it back.  All of this is synchronous in the
 * kernel; the wait below costs nothing there and lets the tool run on a
 * stand-in that answers asynchronously.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bind.h"

bool bus_path(const struct ctx *c, char *buf, size_t len, const char *fmt, ...)
{
	char rest[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rest))
		return false;
	n = snprintf(buf, len, "%s/sys/bus/vmbus/%s", c->root, rest);
	return n >= 0 && (size_t)n < len;
}

static bool root_path(const struct ctx *c, char *buf, size_t len, const char *rel)
{
	int n = snprintf(buf, len, "%s%s", c->root, rel);

	return n >= 0 && (size_t)n < len;
}

static int write_all(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	/* sysfs stores on write; close reports nothing more */
	if (close(fd) && errno != EINTR)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int sysfs_write(const struct ctx *c, const char *path, const char *text, const char *what)
{
	return sysfs_write_or(c, path, text, what, 0);
}

int sysfs_write_or(const struct ctx *c, const char *path, const char *text, const char *what,
		   int tolerated)
{
	char shown[VMBUS_NAME_MAX + 8];
	size_t l;
	int err;

	snprintf(shown, sizeof(shown), "%s", text);
	l = strlen(shown);
	if (l && shown[l - 1] == '\n')
		shown[l - 1] = '\0';
	if (c->dry_run) {
		say(c, "would write \"%s\" to %s (%s)", shown, path, what);
		return 0;
	}
	err = write_all(path, text);
	if (tolerated && err == -tolerated)
		return err;
	switch (err) {
	case 0:
		return 0;
	case -EACCES:
	case -EPERM:
		return fail(c, EXIT_PERM, "writing \"%s\" to %s (%s): permission denied (not root?)",
			    shown, path, what);
	case -ENOENT:
		return fail(c, strstr(path, "/drivers/") ? EXIT_NODRIVER : EXIT_NODEV,
			    "writing \"%s\" to %s (%s): no such file (%s)", shown, path, what,
			    strstr(path, "/drivers/") ? "driver not loaded" : "device gone");
	case -EBUSY:
		return fail(c, EXIT_BUSY, "writing \"%s\" to %s (%s): device busy (another driver "
			    "holds it, or it is in use)", shown, path, what);
	case -ENODEV:
		return fail(c, EXIT_NOBIND, "writing \"%s\" to %s (%s): the driver does not take "
			    "the device (no match, or its probe failed: see the kernel log)",
			    shown, path, what);
	default:
		return fail(c, EXIT_FAIL, "writing \"%s\" to %s (%s): %s", shown, path, what,
			    strerror(-err));
	}
}

int refresh(struct ctx *c)
{
	char err[512] = "";
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = c->root, .errbuf = err,
				     .errbuf_len = sizeof(err) };
	int ret;

	c->dev.sz = sizeof(c->dev);
	ret = vmbus_dev_describe(c->guid, &o, &c->dev);
	if (ret == -ENOENT)
		return fail(c, EXIT_NODEV, "no such device: %s does not exist (gone, or not "
			    "offered to this guest)", c->devdir);
	if (ret == -EACCES)
		return fail(c, EXIT_PERM, "%s", err);
	if (ret)
		return fail(c, EXIT_FAIL, "%s", err);
	return 0;
}

/* The device's driver now ("" if none, or if the device is gone). */
static void driver_of(const struct ctx *c, char *out, size_t len)
{
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = c->root };
	struct vmbus_dev_desc d = { .sz = sizeof(d) };

	out[0] = '\0';
	if (!vmbus_dev_describe(c->guid, &o, &d))
		snprintf(out, len, "%s", d.driver);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

int wait_driver(struct ctx *c, const char *drv)
{
	long long end = now_ms() + c->timeout_ms;
	char cur[VMBUS_NAME_MAX];

	if (c->dry_run)
		return 0;
	for (;;) {
		driver_of(c, cur, sizeof(cur));
		if (!strcmp(cur, drv))
			return 0;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		pause_ms(10);
	}
}

/* The module that registers driver @drv, where the names differ. */
static const char *module_of(const char *drv)
{
	if (!strcmp(drv, "hv_pci"))
		return "pci_hyperv";
	return drv;
}

int ensure_driver(const struct ctx *c, const char *drv)
{
	const char *cmd = getenv("VMBUS_MODPROBE");
	char dir[PATH_MAX];
	struct stat st;
	long long end;
	pid_t pid;
	int status;

	if (!bus_path(c, dir, sizeof(dir), "drivers/%s", drv))
		return fail(c, EXIT_FAIL, "root prefix too long");
	if (stat(dir, &st) == 0)
		return 0;
	if (c->root[0] && !cmd)
		return fail(c, EXIT_NODRIVER, "driver %s is not loaded: no %s (modules are not "
			    "loaded for a tree under --root)", drv, dir);
	if (!cmd)
		cmd = "modprobe";
	if (c->dry_run) {
		say(c, "would run: %s %s", cmd, module_of(drv));
		return 0;
	}
	say(c, "loading %s: %s %s", drv, cmd, module_of(drv));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail(c, EXIT_FAIL, "cannot run %s: %s", cmd, strerror(errno));
	if (pid == 0) {
		if (c->root[0])
			setenv("VMBUS_ROOT", c->root, 1);
		execlp(cmd, cmd, module_of(drv), (char *)NULL);
		fprintf(stderr, "vmbus-bind: cannot run %s: %s\n", cmd, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(c, EXIT_FAIL, "waiting for %s: %s", cmd, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(c, EXIT_NODRIVER, "driver %s is not loaded (no %s) and \"%s %s\" failed%s",
			    drv, dir, cmd, module_of(drv),
			    !strcmp(drv, UIO_HV_UIO) ? ": install hv_uio (make kmod, then insmod "
						       "kmod-hv/hv_uio.ko, or with DKMS)" : "");
	end = now_ms() + c->timeout_ms;
	while (stat(dir, &st) != 0) {
		if (now_ms() >= end)
			return fail(c, EXIT_NODRIVER, "%s %s succeeded but %s did not appear", cmd,
				    module_of(drv), dir);
		pause_ms(10);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* state file: <root>/run/vmbus-bind/<guid>                                  */
/* ------------------------------------------------------------------------ */

static bool state_dir(const struct ctx *c, char *buf, size_t len)
{
	return root_path(c, buf, len, "/run/vmbus-bind");
}

static bool state_path(const struct ctx *c, char *buf, size_t len)
{
	char dir[PATH_MAX];
	int n;

	if (!state_dir(c, dir, sizeof(dir)))
		return false;
	n = snprintf(buf, len, "%s/%s", dir, c->guid);
	return n >= 0 && (size_t)n < len;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t i;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		tmp[i] = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A value we accept back from the file: a driver or interface name. */
static bool name_ok(const char *s)
{
	if (strlen(s) >= VMBUS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int state_read(const struct ctx *c, struct state *s)
{
	char path[PATH_MAX], line[256];
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (!state_path(c, path, sizeof(path)))
		return fail(c, EXIT_FAIL, "root prefix too long");
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return fail(c, errno == EACCES ? EXIT_PERM : EXIT_FAIL, "reading %s: %s", path,
			    strerror(errno));
	}
	s->found = true;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;
		size_t l = strlen(line);

		if (l && line[l - 1] == '\n')
			line[l - 1] = '\0';
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (!name_ok(v)) {
			warn(c, "%s: ignoring a bad value for %s", path, line);
			continue;
		}
		if (!strcmp(line, "previous_driver"))
			snprintf(s->prev_driver, sizeof(s->prev_driver), "%s", v);
		else if (!strcmp(line, "previous_override"))
			snprintf(s->prev_override, sizeof(s->prev_override), "%s", v);
		else if (!strcmp(line, "interface"))
			snprintf(s->ifname, sizeof(s->ifname), "%s", v);
		else if (!strcmp(line, "bound"))
			snprintf(s->bound, sizeof(s->bound), "%s", v);
	}
	fclose(f);
	return 0;
}

/* Writes @path atomically (a temporary file renamed over it). */
static int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, err = 0;
	size_t len = strlen(text);

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int state_write(const struct ctx *c, const struct state *s)
{
	char dir[PATH_MAX], path[PATH_MAX], text[1024];
	char cls[VMBUS_GUID_STRLEN];
	int err;

	if (c->dry_run)
		return 0;
	if (!state_dir(c, dir, sizeof(dir)) || !state_path(c, path, sizeof(path)))
		return fail(c, EXIT_FAIL, "root prefix too long");
	err = mkdir_p(dir, 0755);
	if (err)
		return fail(c, err == -EACCES ? EXIT_PERM : EXIT_FAIL, "creating %s: %s", dir,
			    strerror(-err));
	vmbus_guid_format(&c->dev.class_id, cls);
	snprintf(text, sizeof(text),
		 "# vmbus-bind: what device %s had before it was bound; vmbus-bind --restore\n"
		 "# gives it back and removes this file\n"
		 "class=%s\nprevious_driver=%s\nprevious_override=%s\ninterface=%s\nbound=%s\n",
		 c->guid, cls, s->prev_driver, s->prev_override, s->ifname, s->bound);
	err = write_file(path, text, 0644);
	if (err)
		return fail(c, err == -EACCES ? EXIT_PERM : EXIT_FAIL, "writing %s: %s", path,
			    strerror(-err));
	return 0;
}

int state_remove(const struct ctx *c)
{
	char path[PATH_MAX];

	if (c->dry_run)
		return 0;
	if (!state_path(c, path, sizeof(path)))
		return fail(c, EXIT_FAIL, "root prefix too long");
	if (unlink(path) && errno != ENOENT)
		return fail(c, EXIT_FAIL, "removing %s: %s", path, strerror(errno));
	return 0;
}

int lock_take(const struct ctx *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd, err;

	if (c->dry_run)
		return 0;
	if (!state_dir(c, dir, sizeof(dir)) ||
	    snprintf(path, sizeof(path), "%s/.lock", dir) >= (int)sizeof(path))
		return fail(c, EXIT_FAIL, "root prefix too long");
	err = mkdir_p(dir, 0755);
	if (err)
		return fail(c, err == -EACCES ? EXIT_PERM : EXIT_FAIL, "creating %s: %s%s", dir,
			    strerror(-err), err == -EACCES ? " (not root?)" : "");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(c, errno == EACCES ? EXIT_PERM : EXIT_FAIL, "opening %s: %s", path,
			    strerror(errno));
	/* held until the process exits: one vmbus-bind at a time changes bindings */
	if (flock(fd, LOCK_EX))
		return fail(c, EXIT_FAIL, "locking %s: %s", path, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* driverctl's persistent overrides                                          */
/* ------------------------------------------------------------------------ */

/*
 * driverctl keeps one file per device, /etc/driverctl.d/<bus>-<device>,
 * holding the driver's name; its udev rule starts driverctl@<bus>-<device>
 * when the device appears, which sets driver_override and reprobes.
 */
static bool persist_path(const struct ctx *c, char *dir, size_t dlen, char *path, size_t plen)
{
	int n;

	if (!root_path(c, dir, dlen, "/etc/driverctl.d"))
		return false;
	n = snprintf(path, plen, "%s/vmbus-%s", dir, c->guid);
	return n >= 0 && (size_t)n < plen;
}

int persist_write(const struct ctx *c, const char *drv)
{
	char dir[PATH_MAX], path[PATH_MAX], text[VMBUS_NAME_MAX + 2];
	int err;

	if (!persist_path(c, dir, sizeof(dir), path, sizeof(path)))
		return fail(c, EXIT_FAIL, "root prefix too long");
	if (c->dry_run) {
		say(c, "would write \"%s\" to %s", drv, path);
		return 0;
	}
	err = mkdir_p(dir, 0755);
	snprintf(text, sizeof(text), "%s\n", drv);
	if (!err)
		err = write_file(path, text, 0644);
	if (err)
		return fail(c, err == -EACCES ? EXIT_PERM : EXIT_FAIL, "writing %s: %s", path,
			    strerror(-err));
	say(c, "persistent: %s (driverctl applies it at boot)", path);
	return 0;
}

int persist_remove(const struct ctx *c)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (!persist_path(c, dir, sizeof(dir), path, sizeof(path)))
		return -fail(c, EXIT_FAIL, "root prefix too long");
	if (access(path, F_OK))
		return 0;
	if (c->dry_run) {
		say(c, "would remove %s", path);
		return 1;
	}
	if (unlink(path))
		return -fail(c, errno == EACCES ? EXIT_PERM : EXIT_FAIL, "removing %s: %s", path,
			     strerror(errno));
	say(c, "removed the persistent override %s", path);
	return 1;
}
