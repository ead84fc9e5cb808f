/* SPDX-License-Identifier: MIT */
/*
 * Module parameters and version: ring_size, recv_buf_size and
 * send_buf_size are read-only after load, default to uio_hv_generic's
 * sizes, are checked at load (a bad value refuses the load and the kernel
 * log says why) and apply to every channel and buffer; the module's version
 * is the UIO device's version, which libvmbus reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define MIB (1024u * 1024u)
#define RING (64u * 1024u)
#define RECV (2u * MIB)
#define SEND (1u * MIB)

static bool reloaded;
static int open_fd = -1;

/* A test that loaded the module with parameters puts the defaults back. */
static void restore_defaults(void)
{
	if (!reloaded)
		return;
	if (open_fd >= 0)
		close(open_fd);
	if (kt_module_unload() != 0)
		printf("#   could not unload %s to restore its defaults\n", kt_drv->name);
	if (kt_module_load() != 0)
		printf("#   could not load %s with its defaults\n", kt_drv->name);
	reloaded = false;
}

static uint64_t param(const char *name)
{
	struct stat st;
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", kt_drv->name, name);
	KT_ASSERT(stat(path, &st) == 0, "no parameter %s", name);
	KT_ASSERT((st.st_mode & 0777) == 0444, "%s is mode %o, not read-only", name,
		  st.st_mode & 0777);
	return kt_read_u64("%s", path);
}

static void reload(const char *params)
{
	int err = kt_module_unload();

	errno = -err;
	KT_ASSERT(err == 0, "unload %s", kt_drv->name);
	reloaded = true;
	err = kt_module_load_params(params);
	errno = -err;
	KT_ASSERT(err == 0, "load %s %s", kt_drv->name, params);
}

static uint64_t map_size(int idx, int k)
{
	return kt_read_u64("/sys/class/uio/uio%d/maps/map%d/size", idx, k);
}

static uint64_t ring_file_size(const char *guid, uint32_t relid)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "%s", path) && stat(path, &st) == 0, "stat %s",
		  path);
	return (uint64_t)st.st_size;
}

/* map @k is "<prefix><gpadl>", a buffer GPADL of @size bytes the host knows */
static void check_buffer(int idx, int k, const char *prefix, uint32_t size)
{
	struct vmbus_sim_gpadl_info gi = { 0 };
	char name[64];

	KT_ASSERT(kt_readf(name, sizeof(name), "/sys/class/uio/uio%d/maps/map%d/name", idx, k) > 0,
		  "map%d name", k);
	KT_ASSERT(!strncmp(name, prefix, strlen(prefix)), "map%d is %s", k, name);
	KT_ASSERT(map_size(idx, k) == size, "map%d is %llu bytes, expected %u", k,
		  (unsigned long long)map_size(idx, k), size);
	gi.handle = (uint32_t)strtoul(name + strlen(prefix), NULL, 10);
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_GPADL_INFO, &gi) == 0 && gi.size == size,
		  "the host's GPADL %u is %u bytes, expected %u", gi.handle, gi.size, size);
}

/* The version: MAJOR.MINOR.PATCH, the same for the module and its UIO devices. */
static void check_version(void)
{
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	struct vmbus_device *dev;
	char guid[37], mod[64], uio[64];
	unsigned int a, b, c;
	uint32_t relid;
	int n;

	KT_ASSERT(kt_readf(mod, sizeof(mod), "/sys/module/%s/version", kt_drv->name) > 0,
		  "/sys/module/%s/version", kt_drv->name);
	KT_ASSERT(sscanf(mod, "%u.%u.%u%n", &a, &b, &c, &n) == 3 && mod[n] == '\0',
		  "module version \"%s\" is not MAJOR.MINOR.PATCH", mod);
	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	KT_ASSERT(kt_readf(uio, sizeof(uio), "/sys/class/uio/uio%d/version", kt_uio_index(guid)) > 0,
		  "uio version");
	KT_ASSERT(!strcmp(uio, mod), "the UIO device says version %s, the module %s", uio, mod);
	dev = kt_dev_open(guid);
	vmbus_dev_info(dev, &info);
	KT_ASSERT(!strcmp(info.uio_name, kt_drv->name) && !strcmp(info.uio_version, mod),
		  "libvmbus sees %s %s", info.uio_name, info.uio_version);
	vmbus_dev_close(dev);
	kt_rescind(relid);
	kt_note("version %s", mod);
}

/* Every value out of range refuses the load, and the log names the parameter. */
static void check_refused(void)
{
	static const char *const bad[] = {
		"ring_size=1000",	    /* not whole pages */
		"ring_size=4096",	    /* no room for data */
		"ring_size=4194304",	    /* both directions beyond one allocation */
		"recv_buf_size=0",	    /* too small */
		"recv_buf_size=100000",	    /* not whole pages */
		"send_buf_size=268435456",  /* too big */
	};
	unsigned int i;
	int kfd, r;

	KT_ASSERT(kt_module_unload() == 0, "unload %s", kt_drv->name);
	reloaded = true;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		kfd = kt_kmsg_open();
		r = kt_module_load_params(bad[i]);
		KT_ASSERT(r == -EINVAL, "load with %s returned %d", bad[i], r);
		snprintf(want, sizeof(want), "%s: must be", bad[i]);
		KT_ASSERT(kt_kmsg_find(kfd, want), "the kernel log does not say why %s was refused",
			  bad[i]);
		close(kfd);
		KT_ASSERT(!kt_exists("/sys/module/%s", kt_drv->name), "%s loaded with %s",
			  kt_drv->name, bad[i]);
	}
	r = kt_module_load();
	KT_ASSERT(r == 0, "load with the defaults after refusals");
	reloaded = false;
}

/* Loaded with other sizes: every channel and buffer has them. */
static void check_sizes(void)
{
	struct vmbus_sim_event ev;
	char nic[37], fcopy[37];
	uint32_t rn, rf, sub;
	int in, iff;

	reload("ring_size=65536 recv_buf_size=2097152 send_buf_size=1048576");
	KT_ASSERT(param("ring_size") == RING && param("recv_buf_size") == RECV &&
			  param("send_buf_size") == SEND,
		  "parameters read back as %llu %llu %llu", (unsigned long long)param("ring_size"),
		  (unsigned long long)param("recv_buf_size"),
		  (unsigned long long)param("send_buf_size"));

	kt_new_instance(nic);
	kt_new_instance(fcopy);
	rn = kt_offer(KT_CLASS_NIC, nic, VMBUS_SIM_MONITOR_ANY, 0, 0);
	rf = kt_offer(KT_CLASS_FCOPY, fcopy, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_bind_driver(nic);
	kt_bind_driver(fcopy);
	in = kt_uio_index(nic);
	iff = kt_uio_index(fcopy);
	/* ring_size replaces the per-class sizes */
	KT_ASSERT(map_size(in, 0) == 2 * RING && map_size(iff, 0) == 2 * RING,
		  "rings of %llu and %llu bytes, expected 2 x %u",
		  (unsigned long long)map_size(in, 0), (unsigned long long)map_size(iff, 0), RING);
	KT_ASSERT(ring_file_size(nic, rn) == 2 * RING && ring_file_size(fcopy, rf) == 2 * RING,
		  "ring files of %llu and %llu bytes", (unsigned long long)ring_file_size(nic, rn),
		  (unsigned long long)ring_file_size(fcopy, rf));
	check_buffer(in, 3, "recv:", RECV);
	check_buffer(in, 4, "send:", SEND);

	/* the host sees them: the primary's ring, and a subchannel's */
	kt_ev_flush();
	open_fd = kt_uio_open(nic);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, rn, KT_TIMEOUT_MS, &ev) == 0, "no OPEN");
	KT_ASSERT(ev.size == 2 * RING && ev.offset == RING, "OPEN of %llu bytes, RX at %llu",
		  (unsigned long long)ev.size, (unsigned long long)ev.offset);
	sub = kt_offer(KT_CLASS_NIC, nic, VMBUS_SIM_MONITOR_ANY, 1, 0);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, sub, KT_TIMEOUT_MS, &ev) == 0, "no OPEN of %u",
		  sub);
	KT_ASSERT(ev.size == 2 * RING && ev.offset == RING,
		  "subchannel OPEN of %llu bytes, RX at %llu", (unsigned long long)ev.size,
		  (unsigned long long)ev.offset);
	KT_ASSERT(ring_file_size(nic, sub) == 2 * RING, "subchannel ring file of %llu bytes",
		  (unsigned long long)ring_file_size(nic, sub));
	close(open_fd);
	open_fd = -1;
	kt_rescind(rn);
	kt_rescind(rf);

	restore_defaults();
	KT_ASSERT(param("ring_size") == 0, "ring_size %llu after the reload",
		  (unsigned long long)param("ring_size"));
}

int main(int argc, char **argv)
{
	char guid[37];
	uint32_t relid;

	kt_init(argc, argv, "module parameters for sizes, checked; the version");
	atexit(restore_defaults);

	if (!kt_drv->has_size_params) {
		kt_diff("no module parameters for ring or buffer sizes: a size given at load is "
			"ignored");
		KT_ASSERT(!kt_exists("/sys/module/%s/parameters/ring_size", kt_drv->name),
			  "%s has a ring_size parameter", kt_drv->name);
		reload("ring_size=65536");
		kt_new_instance(guid);
		relid = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);
		kt_bind_driver(guid);
		KT_ASSERT(map_size(kt_uio_index(guid), 0) == 2 * 512 * (uint64_t)kt_page_size,
			  "map0 is %llu bytes", (unsigned long long)map_size(kt_uio_index(guid), 0));
		kt_rescind(relid);
		restore_defaults();
		kt_pass();
	}

	/* the defaults are uio_hv_generic's sizes */
	KT_ASSERT(param("ring_size") == 0 && param("recv_buf_size") == 31 * MIB &&
			  param("send_buf_size") == 16 * MIB,
		  "default parameters %llu %llu %llu", (unsigned long long)param("ring_size"),
		  (unsigned long long)param("recv_buf_size"),
		  (unsigned long long)param("send_buf_size"));
	check_version();
	check_refused();
	check_sizes();
	kt_pass();
}
