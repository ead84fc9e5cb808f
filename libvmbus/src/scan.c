/* SPDX-License-Identifier: MIT */
/*
 * Looking at the bus without opening anything: the device list, what
 * sysfs says about a device and its channels.  Reads only.
 *
 * Kernel facts used (drivers/hv/vmbus_drv.c): class_id and device_id print
 * as "{guid}"; id is the primary relid; monitor_id and the channel's
 * monitor attributes are hidden for channels without a monitor id;
 * driver_override reads "(null)" when it is not set and exists since 4.20;
 * channels/<relid>/ holds in_mask, out_mask, read_avail, write_avail, cpu,
 * interrupts, events, subchannel_id and (when a UIO driver holds the
 * channel) the ring file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"

OPTS_CHECK_IN(vmbus_scan_opts);
OPTS_CHECK_OUT(vmbus_dev_desc);
OPTS_CHECK_OUT(vmbus_chan_desc);

int scan_fail(struct scan_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

int scan_ctx_init(struct scan_ctx *c, const struct vmbus_scan_opts *opts)
{
	const char *why;

	c->err = OPTS_GET(opts, errbuf, NULL);
	c->errlen = c->err ? OPTS_GET(opts, errbuf_len, 0) : 0;
	if (c->err && c->errlen)
		c->err[0] = '\0';
	if (OPTS_VALID(opts, vmbus_scan_opts, &why))
		return scan_fail(c, -EINVAL, "struct vmbus_scan_opts: %s", why);
	c->root = OPTS_GET(opts, root, NULL);
	if (!c->root)
		c->root = getenv("VMBUS_ROOT");
	if (!c->root)
		c->root = "";
	return 0;
}

/* ------------------------------------------------------------------------ */
/* sysfs attributes                                                          */
/* ------------------------------------------------------------------------ */

/* Whether the file holds nothing but white space. */
static bool blank_file(const char *path)
{
	char buf[64];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (i = 0; i < n; i++)
		if (buf[i] != '\n' && buf[i] != ' ')
			return false;
	return n >= 0 && n < (ssize_t)sizeof(buf);
}

/* Reads @dir/@name; -ENOENT for a missing file, "" for an empty one. */
static int attr_read(struct scan_ctx *c, const char *who, const char *dir, const char *name,
		     char *buf, size_t len)
{
	char path[PATH_MAX];
	int n;

	if (vmbus_mkpath(path, sizeof(path), "%s/%s", dir, name))
		return scan_fail(c, -ENAMETOOLONG, "vmbus device %s: path too long: %s/%s", who, dir,
				 name);
	n = vmbus_read_file(path, buf, len);
	if (n == -EBADMSG) {
		/* empty is a value (driver_override cleared on some kernels) */
		if (blank_file(path)) {
			buf[0] = '\0';
			return 0;
		}
		return scan_fail(c, -EBADMSG, "vmbus device %s: %s is truncated or too long", who,
				 path);
	}
	if (n == -ENOENT)
		return n;
	if (n == -EACCES || n == -EPERM)
		return scan_fail(c, -EACCES, "vmbus device %s: permission denied reading %s", who,
				 path);
	if (n < 0)
		return scan_fail(c, n, "vmbus device %s: cannot read %s: %s", who, path,
				 strerror(-n));
	return n;
}

/* A decimal attribute; -ENOENT if missing (the caller decides), -EBADMSG if garbled. */
static int attr_num(struct scan_ctx *c, const char *who, const char *dir, const char *name,
		    int64_t min, int64_t max, int64_t *out)
{
	char buf[64], *end;
	long long v;
	int n = attr_read(c, who, dir, name, buf, sizeof(buf));

	if (n < 0)
		return n;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (!buf[0] || errno || *end || v < min || v > max)
		return scan_fail(c, -EBADMSG, "vmbus device %s: %s/%s: \"%s\" is not a number from "
				 "%lld to %lld", who, dir, name, buf, (long long)min, (long long)max);
	*out = v;
	return 0;
}

static int attr_guid(struct scan_ctx *c, const char *who, const char *dir, const char *name,
		     struct vmbus_guid *out)
{
	char buf[64];
	int n = attr_read(c, who, dir, name, buf, sizeof(buf));

	if (n == -ENOENT)
		return scan_fail(c, -EBADMSG, "vmbus device %s: %s/%s is missing", who, dir, name);
	if (n < 0)
		return n;
	if (vmbus_guid_parse(buf, out))
		return scan_fail(c, -EBADMSG, "vmbus device %s: %s/%s: \"%s\" is not a GUID", who,
				 dir, name, buf);
	return 0;
}

/* Copies @src into @out if it fits whole, else leaves @out empty. */
static void set_name(char *out, size_t len, const char *src)
{
	size_t n = strlen(src);

	out[0] = '\0';
	if (n < len)
		memcpy(out, src, n + 1);
}

/* The last path component of the symlink @dir/@name, "" if there is none. */
static void link_base(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	if (vmbus_mkpath(path, sizeof(path), "%s/%s", dir, name))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	set_name(out, len, base ? base + 1 : target);
}

static int devdir_of(struct scan_ctx *c, const char *guid, char *text, char *dir, size_t dirlen,
		     struct vmbus_guid *id)
{
	struct stat st;

	if (!guid || vmbus_guid_parse(guid, id))
		return scan_fail(c, -EINVAL, "\"%s\" is not a GUID (expected "
				 "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", guid ? guid : "(null)");
	vmbus_guid_format(id, text);
	if (vmbus_mkpath(dir, dirlen, "%s/sys/bus/vmbus/devices/%s", c->root, text))
		return scan_fail(c, -ENAMETOOLONG, "vmbus device %s: root prefix too long", text);
	if (stat(dir, &st) != 0) {
		int err = -errno;

		if (err == -ENOENT)
			return scan_fail(c, err, "vmbus device %s: no such device (no %s)", text,
					 dir);
		return scan_fail(c, err, "vmbus device %s: %s: %s", text, dir, strerror(-err));
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* directory listings                                                        */
/* ------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Numeric entries of @dir with prefix @prefix ("" or "uio"), ascending. */
static int list_numbers(const char *dir, const char *prefix, uint32_t **out, size_t *count)
{
	size_t n = 0, cap = 0, plen = strlen(prefix);
	uint32_t *v = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	*out = NULL;
	*count = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint32_t x;

		if (strncmp(de->d_name, prefix, plen) || vmbus_parse_name_u32(de->d_name + plen, &x))
			continue;
		if (n == cap) {
			uint32_t *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = (uint32_t)x;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	*out = v;
	*count = n;
	return 0;
}

struct scan_ent {
	struct vmbus_guid id;
	uint64_t key; /* relid, or past every relid when unreadable */
};

static int cmp_ent(const void *a, const void *b)
{
	const struct scan_ent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return memcmp(x->id.b, y->id.b, sizeof(x->id.b));
}

VMBUS_API int vmbus_scan(const struct vmbus_scan_opts *opts, struct vmbus_guid *ids, size_t max)
{
	struct scan_ctx c;
	char dir[PATH_MAX], ddir[PATH_MAX];
	struct scan_ent *ents = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int err;

	if ((err = scan_ctx_init(&c, opts)))
		return err;
	if (max && !ids)
		return scan_fail(&c, -EINVAL, "vmbus_scan: no array for %zu entries", max);
	if (vmbus_mkpath(dir, sizeof(dir), "%s/sys/bus/vmbus/devices", c.root))
		return scan_fail(&c, -ENAMETOOLONG, "root prefix too long");
	d = opendir(dir);
	if (!d) {
		err = -errno;
		if (err == -ENOENT)
			return scan_fail(&c, err, "no VMBus here: %s does not exist (not a Hyper-V "
					 "guest, or hv_vmbus is not loaded)", dir);
		return scan_fail(&c, err, "cannot list %s: %s", dir, strerror(-err));
	}
	while ((de = readdir(d))) {
		struct vmbus_guid g;
		char text[VMBUS_GUID_STRLEN];
		int64_t relid;

		/* only "<guid>": a simulated bus builds new devices under dot names */
		if (de->d_name[0] == '.' || vmbus_guid_parse(de->d_name, &g))
			continue;
		if (n == cap) {
			struct scan_ent *ne = realloc(ents, (cap ? cap * 2 : 32) * sizeof(*ents));

			if (!ne) {
				free(ents);
				closedir(d);
				return scan_fail(&c, -ENOMEM, "out of memory");
			}
			ents = ne;
			cap = cap ? cap * 2 : 32;
		}
		vmbus_guid_format(&g, text);
		ents[n].id = g;
		ents[n].key = (uint64_t)UINT32_MAX + 1;
		if (!vmbus_mkpath(ddir, sizeof(ddir), "%s/%s", dir, de->d_name)) {
			struct scan_ctx quiet = { .root = c.root };

			if (!attr_num(&quiet, text, ddir, "id", 0, UINT32_MAX, &relid))
				ents[n].key = (uint64_t)relid;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(ents, n, sizeof(*ents), cmp_ent);
	for (i = 0; i < n && i < max; i++)
		ids[i] = ents[i].id;
	free(ents);
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

/* The alphabetically first entry of @dir not starting with a dot, "" if none. */
static void first_entry(const char *dir, char *out, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	out[0] = '\0';
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= len)
			continue;
		if (!out[0] || strcmp(de->d_name, out) < 0)
			set_name(out, len, de->d_name);
	}
	closedir(d);
}

VMBUS_API int vmbus_dev_describe(const char *guid, const struct vmbus_scan_opts *opts,
				 struct vmbus_dev_desc *out)
{
	struct vmbus_dev_desc d;
	struct vmbus_guid id;
	struct scan_ctx c;
	char dir[PATH_MAX], sub[PATH_MAX], buf[VMBUS_NAME_MAX + 8];
	uint32_t *nums;
	size_t count;
	int64_t v;
	int err;

	if ((err = scan_ctx_init(&c, opts)))
		return err;
	if (opts_sz(out) < sizeof(size_t))
		return scan_fail(&c, -EINVAL, "vmbus_dev_describe: no output struct, or its sz "
				 "is not set");
	memset(&d, 0, sizeof(d));
	if ((err = devdir_of(&c, guid, d.guid, dir, sizeof(dir), &id)))
		return err;
	d.device_id = id;
	if ((err = attr_guid(&c, d.guid, dir, "class_id", &d.class_id)) ||
	    (err = attr_guid(&c, d.guid, dir, "device_id", &id)))
		return err;
	if (!vmbus_guid_equal(&id, &d.device_id))
		return scan_fail(&c, -EBADMSG, "vmbus device %s: %s/device_id names another device",
				 d.guid, dir);
	err = attr_num(&c, d.guid, dir, "id", 0, VMBUS_MAX_RELID, &v);
	if (err == -ENOENT)
		return scan_fail(&c, -EBADMSG, "vmbus device %s: %s/id is missing", d.guid, dir);
	if (err)
		return err;
	d.relid = (uint32_t)v;
	err = attr_num(&c, d.guid, dir, "monitor_id", 0, VMBUS_MONITOR_ID_MAX, &v);
	if (err && err != -ENOENT)
		return err;
	d.monitor_id = err ? VMBUS_MONITOR_ID_NONE : (uint8_t)v;
	err = attr_num(&c, d.guid, dir, "numa_node", -1, INT_MAX, &v);
	if (err && err != -ENOENT)
		return err;
	d.numa_node = err ? -1 : (int)v;

	link_base(dir, "driver", d.driver, sizeof(d.driver));
	err = attr_read(&c, d.guid, dir, "driver_override", buf, sizeof(buf));
	if (err >= 0) {
		d.has_override = true;
		if (strcmp(buf, "(null)"))
			set_name(d.driver_override, sizeof(d.driver_override), buf);
	} else if (err != -ENOENT) {
		return err;
	}

	d.uio_index = -1;
	if (!vmbus_mkpath(sub, sizeof(sub), "%s/uio", dir) && !list_numbers(sub, "uio", &nums, &count)) {
		if (count)
			d.uio_index = (int)(nums[0] > INT_MAX ? INT_MAX : nums[0]);
		free(nums);
	}
	if (!vmbus_mkpath(sub, sizeof(sub), "%s/net", dir))
		first_entry(sub, d.ifname, sizeof(d.ifname));
	if (!vmbus_mkpath(sub, sizeof(sub), "%s/channels", dir) &&
	    !list_numbers(sub, "", &nums, &count)) {
		d.nchans = (unsigned int)count;
		free(nums);
	}
	return OPTS_FILL(out, &d, vmbus_dev_desc);
}

VMBUS_API int vmbus_dev_chans(const char *guid, const struct vmbus_scan_opts *opts,
			      uint32_t *relids, size_t max)
{
	struct vmbus_guid id;
	struct scan_ctx c;
	char text[VMBUS_GUID_STRLEN], dir[PATH_MAX], sub[PATH_MAX];
	uint32_t *nums;
	size_t count, i;
	int err;

	if ((err = scan_ctx_init(&c, opts)))
		return err;
	if (max && !relids)
		return scan_fail(&c, -EINVAL, "vmbus_dev_chans: no array for %zu entries", max);
	if ((err = devdir_of(&c, guid, text, dir, sizeof(dir), &id)))
		return err;
	if (vmbus_mkpath(sub, sizeof(sub), "%s/channels", dir))
		return scan_fail(&c, -ENAMETOOLONG, "vmbus device %s: path too long", text);
	err = list_numbers(sub, "", &nums, &count);
	if (err == -ENOENT)
		return 0; /* the kernel adds channels/ after the device */
	if (err)
		return scan_fail(&c, err, "vmbus device %s: cannot list %s: %s", text, sub,
				 strerror(-err));
	for (i = 0; i < count && i < max; i++)
		relids[i] = nums[i];
	free(nums);
	return count > INT_MAX ? INT_MAX : (int)count;
}

VMBUS_API int vmbus_chan_describe(const char *guid, uint32_t relid,
				  const struct vmbus_scan_opts *opts, struct vmbus_chan_desc *out)
{
	static const struct {
		const char *name;
		size_t off;
	} nums[] = {
		{ "in_mask", offsetof(struct vmbus_chan_desc, in_mask) },
		{ "out_mask", offsetof(struct vmbus_chan_desc, out_mask) },
		{ "read_avail", offsetof(struct vmbus_chan_desc, read_avail) },
		{ "write_avail", offsetof(struct vmbus_chan_desc, write_avail) },
		{ "interrupts", offsetof(struct vmbus_chan_desc, interrupts) },
		{ "events", offsetof(struct vmbus_chan_desc, events) },
	};
	struct vmbus_chan_desc d;
	struct vmbus_guid id;
	struct scan_ctx c;
	char text[VMBUS_GUID_STRLEN], dir[PATH_MAX], cdir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int64_t v;
	size_t i;
	int err;

	if ((err = scan_ctx_init(&c, opts)))
		return err;
	if (opts_sz(out) < sizeof(size_t))
		return scan_fail(&c, -EINVAL, "vmbus_chan_describe: no output struct, or its sz "
				 "is not set");
	if ((err = devdir_of(&c, guid, text, dir, sizeof(dir), &id)))
		return err;
	if (vmbus_mkpath(cdir, sizeof(cdir), "%s/channels/%u", dir, relid))
		return scan_fail(&c, -ENAMETOOLONG, "vmbus device %s: path too long", text);
	if (stat(cdir, &st) != 0)
		return scan_fail(&c, -ENOENT, "vmbus device %s: no channel %u (no %s)", text, relid,
				 cdir);
	memset(&d, 0, sizeof(d));
	d.relid = relid;
	err = attr_num(&c, text, cdir, "subchannel_id", 0, UINT16_MAX, &v);
	if (err && err != -ENOENT)
		return err;
	d.subchan_id = err ? -1 : (int)v;
	err = attr_num(&c, text, cdir, "monitor_id", 0, VMBUS_MONITOR_ID_MAX, &v);
	if (err && err != -ENOENT)
		return err;
	d.monitor_id = err ? VMBUS_MONITOR_ID_NONE : (uint8_t)v;
	err = attr_num(&c, text, cdir, "cpu", 0, INT_MAX, &v);
	if (err && err != -ENOENT)
		return err;
	d.cpu = err ? -1 : (int)v;
	for (i = 0; i < ARRAY_SIZE(nums); i++) {
		int64_t *field = (int64_t *)((char *)&d + nums[i].off);

		err = attr_num(&c, text, cdir, nums[i].name, 0, INT64_MAX, &v);
		if (err && err != -ENOENT)
			return err;
		*field = err ? -1 : v;
	}
	if (!vmbus_mkpath(path, sizeof(path), "%s/ring", cdir) && stat(path, &st) == 0) {
		d.has_ring = true;
		d.ring_file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	}
	return OPTS_FILL(out, &d, vmbus_chan_desc);
}
