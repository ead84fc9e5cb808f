/* SPDX-License-Identifier: MIT */
/*
 * 100 rounds of offer, bind, open, traffic, rescind (with the device open),
 * close: every round must work, and the kernel must not keep memory from
 * them (slab caches and the slab and vmalloc figures of /proc/meminfo,
 * before, halfway and after: a leak grows in both halves, while a one-off
 * allocation by some other part of the kernel shows in one only).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define ROUNDS 100
#define WARMUP 3
/*
 * How far free memory moves by itself over the rounds (page lists, page
 * tables, the kernel's caches): a leak of a ring per round is ten times more.
 */
#define FREE_NOISE_KB (64 * 1024)

static uint64_t ring_bytes;

static void one_round(int n)
{
	struct kt_host_chan hc = { 0 };
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	struct vmbus_device *dev;
	struct vmbus_pkt pkt;
	char guid[37], msg[32];
	static uint8_t buf[256];
	uint32_t relid;
	int r, len;

	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	dev = kt_dev_open(guid);
	vmbus_dev_info(dev, &info);
	ring_bytes = 2 * (uint64_t)info.ring_size;
	kt_host_attach(&hc, relid);

	len = snprintf(msg, sizeof(msg), "round %d", n) + 1;
	r = vmbus_chan_send(vmbus_dev_primary(dev), 0, 0, msg, (size_t)len);
	KT_ASSERT(r == 0, "round %d: guest send %d", n, r);
	r = kt_host_recv(&hc, buf, sizeof(buf), &pkt);
	KT_ASSERT(r > 0 && !strcmp(pkt.data, msg), "round %d: host recv %d", n, r);
	r = vmbus_chan_send(hc.c, 0, 0, msg, (size_t)len);
	KT_ASSERT(r == 0, "round %d: host send %d", n, r);
	r = kt_guest_recv(vmbus_dev_primary(dev), buf, sizeof(buf), &pkt);
	KT_ASSERT(r > 0 && !strcmp(pkt.data, msg), "round %d: guest recv %d", n, r);

	kt_host_detach(&hc);
	kt_rescind(relid);
	r = vmbus_dev_wait(dev, KT_TIMEOUT_MS);
	KT_ASSERT(r == -ENODEV, "round %d: wait after rescind %d", n, r);
	vmbus_dev_close(dev);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, relid, KT_TIMEOUT_MS, NULL) == 0,
		  "round %d: relid %u not released", n, relid);
	kt_ev_flush();
}

/*
 * Lets the kernel finish freeing before figures are read: dentries and
 * inodes of removed sysfs files are dropped (twice: the first pass spares
 * recently used ones), the frees queued behind RCU are run, and every slab
 * cache gives back its per-CPU free objects (counted as in use otherwise).
 */
static void settle(void)
{
	struct dirent *de;
	DIR *d;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		KT_ASSERT(kt_write("/proc/sys/vm/drop_caches", "3") == 0, "drop_caches");
		KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_QUIESCE) == 0, "quiesce");
	}
	d = opendir("/sys/kernel/slab");
	KT_ASSERT(d, "/sys/kernel/slab");
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			kt_writef("1", "/sys/kernel/slab/%s/shrink", de->d_name);
	closedir(d);
}

#define MAX_CACHES 512

struct mem {
	long slab_unreclaim, vmalloc, free;
	unsigned int ncaches;
	struct {
		char name[64];
		long objs, size, per_slab;
	} cache[MAX_CACHES];
};

static void read_slabinfo(struct mem *m)
{
	char line[512];
	FILE *f = fopen("/proc/slabinfo", "r");

	m->ncaches = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && m->ncaches < MAX_CACHES) {
		long active, total, size, per_slab;
		char name[64];

		if (sscanf(line, "%63s %ld %ld %ld %ld", name, &active, &total, &size, &per_slab) !=
		    5)
			continue;
		snprintf(m->cache[m->ncaches].name, sizeof(m->cache[0].name), "%s", name);
		m->cache[m->ncaches].objs = active;
		m->cache[m->ncaches].size = size;
		m->cache[m->ncaches].per_slab = per_slab;
		m->ncaches++;
	}
	fclose(f);
}

/* Objects in use in cache @name in @m (and their size), -1 if it has none. */
static long cache_objs(const struct mem *m, const char *name, long *size)
{
	unsigned int i;

	for (i = 0; i < m->ncaches; i++) {
		if (!strcmp(m->cache[i].name, name)) {
			*size = m->cache[i].size;
			return m->cache[i].objs;
		}
	}
	return -1;
}

/*
 * Caches of general-purpose objects that grew in each half of the rounds
 * (@a before, @mid between the halves, @b after) by at least one object a
 * round and by more than the measurement's resolution: where a leak would
 * be.  A leak grows with every round, in both halves.  The resolution is a
 * slab per CPU: /proc/slabinfo counts every object of a CPU's current slab
 * as in use, and the files the measurement itself opens can give a CPU a
 * fresh slab (seen: a few hundred kmalloc-8 objects in one half, none or
 * fewer in the other).  Returns how many such caches; prints every cache
 * that grew noticeably.
 */
static int report_growth(const struct mem *a, const struct mem *mid, const struct mem *b)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int i;
	int leaks = 0;

	for (i = 0; i < b->ncaches; i++) {
		const char *name = b->cache[i].name;
		long size = b->cache[i].size, oa, om, first, second, grew, min;

		oa = cache_objs(a, name, &size);
		om = cache_objs(mid, name, &size);
		if (oa < 0 || om < 0)
			continue;
		first = om - oa;
		second = b->cache[i].objs - om;
		grew = first + second;
		min = ROUNDS / 2;
		if (min <= ncpus * b->cache[i].per_slab)
			min = ncpus * b->cache[i].per_slab + 1;
		if (grew * size >= 8192 || first >= ROUNDS / 2 || second >= ROUNDS / 2)
			kt_note("  %s: %+ld objects of %ld bytes (%+ld, then %+ld; a leak: %ld each)",
				name, grew, size, first, second, min);
		if (first >= min && second >= min && !strncmp(name, "kmalloc-", 8))
			leaks++;
	}
	return leaks;
}

/* True if a figure grew by @min or more in each half of the rounds. */
static bool grew_in_both(long before, long mid, long after, long min)
{
	return mid - before >= min && after - mid >= min;
}

static void measure(struct mem *m)
{
	settle();
	m->slab_unreclaim = kt_meminfo("SUnreclaim");
	m->vmalloc = kt_meminfo("VmallocUsed");
	m->free = kt_meminfo("MemFree");
	read_slabinfo(m);
}

int main(int argc, char **argv)
{
	static struct mem before, mid, after;
	long leak_kb, slab_kb, vm_kb, expect_kb;
	unsigned int before_chans, before_gpadls;
	int i, kfd, leaked_rings;

	kt_init(argc, argv, "100 rounds of bind, open, traffic, rescind: no leak");
	for (i = 0; i < WARMUP; i++)
		one_round(i);
	measure(&before);
	before_chans = kt_nr_channels();
	before_gpadls = kt_nr_gpadls();
	kfd = kt_kmsg_open();
	for (i = 0; i < ROUNDS / 2; i++)
		one_round(WARMUP + i);
	measure(&mid);
	for (; i < ROUNDS; i++)
		one_round(WARMUP + i);
	leaked_rings = kt_kmsg_count(kfd, "pages are leaked, as in hv_vmbus");
	close(kfd);
	measure(&after);

	slab_kb = after.slab_unreclaim - before.slab_unreclaim;
	vm_kb = after.vmalloc - before.vmalloc;
	leak_kb = before.free - after.free;
	kt_note("after %d rounds: unreclaimable slab %+ld kB, vmalloc %+ld kB, free memory %+ld kB",
		ROUNDS, slab_kb, vm_kb, -leak_kb);
	KT_ASSERT(report_growth(&before, &mid, &after) == 0, "a kmalloc cache grew by rounds' worth in both halves");
	/* about 2 kB (slab) or 2.5 kB (vmalloc) a round, in each half */
	KT_ASSERT(!grew_in_both(before.slab_unreclaim, mid.slab_unreclaim, after.slab_unreclaim,
				96),
		  "unreclaimable slab grew by %ld kB, then %ld kB",
		  mid.slab_unreclaim - before.slab_unreclaim, after.slab_unreclaim - mid.slab_unreclaim);
	KT_ASSERT(!grew_in_both(before.vmalloc, mid.vmalloc, after.vmalloc, 128),
		  "vmalloc grew by %ld kB, then %ld kB", mid.vmalloc - before.vmalloc,
		  after.vmalloc - mid.vmalloc);
	KT_ASSERT(kt_nr_channels() == before_chans && kt_nr_gpadls() == before_gpadls,
		  "the stand-in still holds %u channels and %u GPADLs (before: %u, %u)",
		  kt_nr_channels(), kt_nr_gpadls(), before_chans, before_gpadls);
	if (kt_drv->leaks_ring_on_rescind) {
		/*
		 * hv_vmbus frees ring pages only after the ring's GPADL was torn
		 * down, which the driver never does for a rescinded open device.
		 * The stand-in reports every such ring; the free memory shows it.
		 */
		expect_kb = (long)(ring_bytes / 1024) * ROUNDS;
		kt_diff("a device rescinded while open never frees its ring: %ld kB expected",
			expect_kb);
		KT_ASSERT(leaked_rings == ROUNDS, "%d rings reported leaked, expected %d",
			  leaked_rings, ROUNDS);
		KT_ASSERT(leak_kb >= expect_kb - FREE_NOISE_KB &&
				  leak_kb <= expect_kb + FREE_NOISE_KB,
			  "free memory fell by %ld kB, expected about %ld kB", leak_kb, expect_kb);
	} else {
		KT_ASSERT(leaked_rings == 0, "%d rings reported leaked", leaked_rings);
		KT_ASSERT(leak_kb < FREE_NOISE_KB, "free memory fell by %ld kB", leak_kb);
	}
	kt_pass();
}
