/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a whole VMBus device tree whose files and names say
 * anything.  Each input starts from the tree of a NIC bound to
 * uio_hv_generic (as Debian's 6.1 shows it) and rewrites parts of it:
 *
 *   records of [which][len][len bytes]: the content of one attribute file
 *   (ids, monitor id, NUMA node, driver_override, the UIO name, version,
 *   map names and sizes, a channel's attributes), a name (the uioN
 *   directory, a channel's relid directory, the driver link's target, the
 *   interface under net/), a ring file's size, or the absence of a file
 *   (len 255).
 *
 * Then everything that reads a tree looks at it: vmbus_scan,
 * vmbus_dev_describe, vmbus_dev_chans, vmbus_chan_describe and
 * vmbus_ring_view_open/read for each channel, and vmbus_dev_open (which
 * reads and checks all of it before it finds no /dev/uio0 to open).
 *
 * Properties: only the documented errors, each with a message naming the
 * device; the results within their documented ranges; strings terminated
 * in their arrays; no descriptor or mapping left behind (counted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmbus/vmbus.h>

#include "fuzz.h"

#define GUID "9a1d5c3e-4b2f-4e6a-8c7d-0e1f2a3b4c5d"
#define NIC_CLASS "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"

static char root[PATH_MAX];

static void path_of(char *out, const char *fmt, const char *a)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), fmt, a);
	snprintf(out, PATH_MAX, "%s/%s", root, rel);
}

static void put(const char *path, const void *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
}

static void mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		mkdir(tmp, 0755);
		tmp[i] = '/';
	}
	mkdir(tmp, 0755);
}

static int rm_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	CHECK(d);
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}

/* A name from fuzz bytes: no slash, no NUL, not "." or "..", not empty. */
static void name_of(char *out, size_t cap, const uint8_t *p, size_t len)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		out[i] = p[i] == '/' || p[i] == '\0' ? '_' : (char)p[i];
	out[n] = '\0';
	if (!n || !strcmp(out, ".") || !strcmp(out, ".."))
		snprintf(out, cap, "x");
}

/* The tree before the input's edits: the NIC of fx_nic_6_1. */
static void base_tree(void)
{
	static const char *const maps[5][2] = {
		{ "txrx_rings\n", "0x0000000000400000\n" },
		{ "int_page\n", "0x0000000000001000\n" },
		{ "monitor_page\n", "0x0000000000001000\n" },
		{ "recv:921104\n", "0x0000000001f00000\n" },
		{ "send:921105\n", "0x0000000001000000\n" },
	};
	char p[PATH_MAX], q[64];
	unsigned int i;

	rm_tree(root);
	path_of(p, "sys/bus/vmbus/devices/%s/uio/uio0", GUID);
	mkdirs(p);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14", GUID);
	mkdirs(p);
	path_of(p, "sys/bus/vmbus/devices/%s/net/eth1", GUID);
	mkdirs(p);
	path_of(p, "sys/bus/vmbus/drivers/%s", "uio_hv_generic");
	mkdirs(p);
	path_of(p, "sys/bus/vmbus/devices/%s/class_id", GUID);
	put(p, NIC_CLASS "\n", strlen(NIC_CLASS) + 1);
	path_of(p, "sys/bus/vmbus/devices/%s/device_id", GUID);
	put(p, "{" GUID "}\n", strlen(GUID) + 3);
	path_of(p, "sys/bus/vmbus/devices/%s/id", GUID);
	put(p, "14\n", 3);
	path_of(p, "sys/bus/vmbus/devices/%s/monitor_id", GUID);
	put(p, "2\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/numa_node", GUID);
	put(p, "0\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/driver_override", GUID);
	put(p, "(null)\n", 7);
	path_of(p, "sys/bus/vmbus/devices/%s/driver", GUID);
	CHECK(symlink("../../../bus/vmbus/drivers/uio_hv_generic", p) == 0);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14/subchannel_id", GUID);
	put(p, "0\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14/monitor_id", GUID);
	put(p, "2\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14/cpu", GUID);
	put(p, "0\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14/read_avail", GUID);
	put(p, "0\n", 2);
	path_of(p, "sys/bus/vmbus/devices/%s/channels/14/ring", GUID);
	put(p, "", 0);
	CHECK(truncate(p, 2 * (4096 + 8192)) == 0);
	path_of(p, "sys/class/uio/uio0/maps", "");
	mkdirs(p);
	path_of(p, "sys/class/uio/uio0/name", "");
	put(p, "uio_hv_generic\n", 15);
	path_of(p, "sys/class/uio/uio0/version", "");
	put(p, "0.02.1\n", 7);
	for (i = 0; i < 5; i++) {
		snprintf(q, sizeof(q), "%u", i);
		path_of(p, "sys/class/uio/uio0/maps/map%s", q);
		mkdirs(p);
		snprintf(q, sizeof(q), "%u/name", i);
		path_of(p, "sys/class/uio/uio0/maps/map%s", q);
		put(p, maps[i][0], strlen(maps[i][0]));
		snprintf(q, sizeof(q), "%u/size", i);
		path_of(p, "sys/class/uio/uio0/maps/map%s", q);
		put(p, maps[i][1], strlen(maps[i][1]));
	}
	path_of(p, "dev", "");
	mkdirs(p);
}

/* The attribute files an input may rewrite. */
static const char *const files[] = {
	"sys/bus/vmbus/devices/" GUID "/class_id",
	"sys/bus/vmbus/devices/" GUID "/device_id",
	"sys/bus/vmbus/devices/" GUID "/id",
	"sys/bus/vmbus/devices/" GUID "/monitor_id",
	"sys/bus/vmbus/devices/" GUID "/numa_node",
	"sys/bus/vmbus/devices/" GUID "/driver_override",
	"sys/bus/vmbus/devices/" GUID "/channels/14/subchannel_id",
	"sys/bus/vmbus/devices/" GUID "/channels/14/monitor_id",
	"sys/bus/vmbus/devices/" GUID "/channels/14/cpu",
	"sys/bus/vmbus/devices/" GUID "/channels/14/read_avail",
	"sys/class/uio/uio0/name",
	"sys/class/uio/uio0/version",
	"sys/class/uio/uio0/maps/map0/name",
	"sys/class/uio/uio0/maps/map1/name",
	"sys/class/uio/uio0/maps/map2/name",
	"sys/class/uio/uio0/maps/map3/name",
	"sys/class/uio/uio0/maps/map4/name",
	"sys/class/uio/uio0/maps/map0/size",
	"sys/class/uio/uio0/maps/map1/size",
	"sys/class/uio/uio0/maps/map2/size",
	"sys/class/uio/uio0/maps/map3/size",
	"sys/class/uio/uio0/maps/map4/size",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

enum {
	E_UIO_DIR = NFILES, /* renames uio/uio0 */
	E_CHAN_DIR, /* adds channels/<name> with a subchannel_id and a ring */
	E_DRIVER, /* the driver link's target */
	E_NET, /* the interface under net/ */
	E_RING_SIZE, /* channels/14/ring's size */
	E_DEVICE, /* another entry in devices/, with an id */
	E_KINDS,
};

static void edit(unsigned int which, const uint8_t *p, size_t len, bool gone)
{
	char path[PATH_MAX], name[40], q[PATH_MAX];

	if (which < NFILES) {
		path_of(path, "%s", files[which]);
		if (gone)
			unlink(path);
		else
			put(path, p, len);
		return;
	}
	name_of(name, sizeof(name), p, len);
	switch (which) {
	case E_UIO_DIR:
		path_of(path, "sys/bus/vmbus/devices/%s/uio/uio0", GUID);
		snprintf(q, sizeof(q), "%s/sys/bus/vmbus/devices/%s/uio/%s", root, GUID, name);
		if (gone)
			rmdir(path);
		else
			rename(path, q);
		break;
	case E_CHAN_DIR:
		snprintf(q, sizeof(q), "%s/sys/bus/vmbus/devices/%s/channels/%s", root, GUID, name);
		mkdir(q, 0755);
		strncat(q, "/subchannel_id", sizeof(q) - strlen(q) - 1);
		put(q, p, len);
		snprintf(q, sizeof(q), "%s/sys/bus/vmbus/devices/%s/channels/%s/ring", root, GUID,
			 name);
		put(q, "", 0);
		CHECK(truncate(q, (off_t)(len * 4096)) == 0);
		break;
	case E_DRIVER:
		path_of(path, "sys/bus/vmbus/devices/%s/driver", GUID);
		unlink(path);
		if (!gone)
			CHECK(symlink(name, path) == 0);
		break;
	case E_NET:
		path_of(path, "sys/bus/vmbus/devices/%s/net/eth1", GUID);
		snprintf(q, sizeof(q), "%s/sys/bus/vmbus/devices/%s/net/%s", root, GUID, name);
		rename(path, q);
		break;
	case E_RING_SIZE: {
		uint32_t sz = 0;

		memcpy(&sz, p, len < 4 ? len : 4);
		path_of(path, "sys/bus/vmbus/devices/%s/channels/14/ring", GUID);
		if (gone)
			unlink(path);
		else if (truncate(path, (off_t)(sz % (64u << 20))))
			CHECK(errno == ENOENT); /* gone by an earlier edit */
		break;
	}
	case E_DEVICE:
		snprintf(q, sizeof(q), "%s/sys/bus/vmbus/devices/%s", root, name);
		mkdir(q, 0755);
		strncat(q, "/id", sizeof(q) - strlen(q) - 1);
		put(q, p, len);
		break;
	}
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void look(void)
{
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = root };
	struct vmbus_dev_desc dd = { .sz = sizeof(dd) };
	struct vmbus_guid ids[8];
	uint32_t relids[16];
	char err[512];
	int n, i, rc;

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	n = vmbus_scan(&o, ids, 8);
	CHECK(n >= 0);
	rc = vmbus_dev_describe(GUID, &o, &dd);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
	if (rc) {
		CHECK(strstr(err, GUID) != NULL);
		return;
	}
	CHECK(dd.relid <= VMBUS_MAX_RELID);
	CHECK(dd.monitor_id <= VMBUS_MONITOR_ID_MAX || dd.monitor_id == VMBUS_MONITOR_ID_NONE);
	CHECK(dd.numa_node >= -1);
	CHECK(terminated(dd.driver, sizeof(dd.driver)) &&
	      terminated(dd.driver_override, sizeof(dd.driver_override)) &&
	      terminated(dd.ifname, sizeof(dd.ifname)));
	n = vmbus_dev_chans(GUID, &o, relids, 16);
	CHECK(n >= 0);
	for (i = 0; i < n && i < 16; i++) {
		struct vmbus_chan_desc cd = { .sz = sizeof(cd) };
		struct vmbus_ring_state a = { .sz = sizeof(a) }, b = { .sz = sizeof(b) };
		struct vmbus_ring_view *v;

		CHECK(i == 0 || relids[i] > relids[i - 1]);
		rc = vmbus_chan_describe(GUID, relids[i], &o, &cd);
		CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
		if (rc == 0) {
			CHECK(cd.relid == relids[i]);
			CHECK(cd.subchan_id >= -1 && cd.subchan_id <= 65535);
			CHECK(cd.cpu >= -1 && cd.read_avail >= -1);
		}
		rc = vmbus_ring_view_open(GUID, relids[i], &o, &v);
		CHECK(rc == 0 || rc == -ENOENT || rc == -ENXIO || rc == -EBADMSG ||
		      rc == -ENODEV || rc == -EINVAL);
		if (rc == 0) {
			CHECK(vmbus_ring_view_size(v) > 4096);
			rc = vmbus_ring_view_read(v, &a, &b);
			CHECK(rc == 0 || rc == -EPROTO);
			vmbus_ring_view_close(v);
		} else {
			CHECK(strstr(err, GUID) != NULL);
		}
	}
}

static void open_it(void)
{
	struct vmbus_dev_opts o = { .sz = sizeof(o), .root = root };
	struct vmbus_device *dev = (void *)1;
	char err[512];
	int rc;

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	rc = vmbus_dev_open(GUID, &o, &dev);
	/* there is no /dev/uio0: at best every check passes and the open fails */
	CHECK(rc == -ENOENT || rc == -ENXIO || rc == -ENOTSUP || rc == -ERANGE || rc == -EBADMSG);
	CHECK(dev == NULL);
	CHECK(strstr(err, GUID) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds0 = fuzz_count_fds();
	struct fuzz_rec r;
	size_t at = 0;
	unsigned int edits = 0;

	if (!root[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(root, sizeof(root), "%s/vmbus-fuzz-sysfs-%d",
			 tmp && *tmp ? tmp : "/dev/shm", (int)getpid());
	}
	base_tree();
	while (fuzz_next(data, size, &at, E_KINDS, true, &edits, 32, &r))
		edit(r.op, r.p, r.len, r.gone);
	look();
	open_it();
	CHECK(fuzz_count_fds() == fds0);
	return 0;
}

static void base_tree_cleanup(void)
{
	if (root[0])
		rm_tree(root);
}

/* libFuzzer calls this once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	atexit(base_tree_cleanup);
	return 0;
}
