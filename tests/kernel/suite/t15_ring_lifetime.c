/* SPDX-License-Identifier: MIT */
/*
 * Ring and buffer memory a process still maps when the kernel is done with
 * it: through /dev/uioN the process keeps valid memory (its content stays,
 * the kernel does not hand the pages to anybody else); through a ring file
 * the mapping goes with the file (accesses raise SIGBUS).  Never may a
 * mapping reach pages the kernel has freed.  Cases: a subchannel's ring
 * mapped when the device closes; everything mapped when the device is
 * rescinded, and when it is unbound, while open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"

struct map {
	const char *what;
	uint8_t *addr;
	size_t len;
};

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		((volatile uint8_t *)p)[i] = (uint8_t)(seed + i * 13);
}

static bool same(const uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((const volatile uint8_t *)p)[i] != (uint8_t)(seed + i * 13))
			return false;
	return true;
}

static size_t page_round(uint64_t v)
{
	return (size_t)((v + (uint64_t)kt_page_size - 1) & ~((uint64_t)kt_page_size - 1));
}

static struct map map_uio(int fd, int idx, int k, const char *what)
{
	struct map m = { .what = what };

	m.len = page_round(kt_read_u64("/sys/class/uio/uio%d/maps/map%d/size", idx, k));
	m.addr = mmap(NULL, m.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)k * kt_page_size);
	KT_ASSERT(m.addr != MAP_FAILED, "mmap of map%d", k);
	return m;
}

/* A channel's ring file, mapped whole; the file itself is closed again. */
static struct map map_ring_file(const char *guid, uint32_t relid, const char *what)
{
	struct map m = { .what = what };
	char path[256];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "%s", path), "no %s", path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	m.len = (size_t)st.st_size;
	m.addr = mmap(NULL, m.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KT_ASSERT(m.addr != MAP_FAILED, "mmap of %s", path);
	close(fd);
	return m;
}

/* The page of @m that the test writes: the first page of ring data, or a buffer's last. */
static uint8_t *probe_page(const struct map *m, bool ring)
{
	return ring ? m->addr + kt_page_size : m->addr + m->len - (size_t)kt_page_size;
}

/*
 * Offers, binds and rescinds devices so that the kernel allocates (zeroed)
 * rings and buffers: pages it had freed would be handed out again.
 */
static void churn(int rounds)
{
	char guid[37];
	uint32_t relid;
	int i, fd;

	for (i = 0; i < rounds; i++) {
		kt_new_instance(guid);
		relid = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);
		kt_bind_driver(guid);
		fd = kt_uio_open(guid);
		close(fd);
		kt_rescind(relid);
	}
}

/*
 * Content kept and writable; where the mapping holds page references (the
 * pages are then visible in /proc/self/pagemap) they are mapped here and not
 * free in the page allocator.
 */
static void expect_kept(const struct map *m, bool ring, uint8_t seed, bool page_refs)
{
	uint8_t *p = probe_page(m, ring);
	uint64_t pfn;

	if (page_refs) {
		KT_ASSERT(kt_pfn(p, &pfn), "%s: no page behind the mapping", m->what);
		KT_ASSERT(kt_kpagecount(pfn) >= 1 && !(kt_kpageflags(pfn) & KT_KPF_BUDDY),
			  "%s: frame %#llx: %llu mappings, flags %#llx", m->what,
			  (unsigned long long)pfn, (unsigned long long)kt_kpagecount(pfn),
			  (unsigned long long)kt_kpageflags(pfn));
	}
	KT_ASSERT(same(p, (size_t)kt_page_size, seed), "%s: content changed", m->what);
	fill(p, (size_t)kt_page_size, (uint8_t)(seed + 1));
	KT_ASSERT(same(p, (size_t)kt_page_size, (uint8_t)(seed + 1)), "%s: not writable",
		  m->what);
}

/* The mapping is gone: an access raises SIGBUS. */
static void expect_revoked(const struct map *m)
{
	uint8_t b;

	KT_ASSERT(kt_probe_read(m->addr, &b) == -EFAULT, "%s: reading did not raise SIGBUS",
		  m->what);
}

/*
 * A subchannel's ring file stays mapped while the device closes, which
 * closes the subchannel and frees its ring.
 */
static void subchannel_ring_at_close(void)
{
	struct vmbus_sim_event ev;
	struct map ring;
	char guid[37];
	uint32_t p, s;
	uint8_t *page;
	int fd;

	p = kt_offer_bound(KT_CLASS_NIC, guid);
	fd = kt_uio_open(guid);
	s = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
	ring = map_ring_file(guid, s, "subchannel ring file");
	page = probe_page(&ring, true);
	fill(page, (size_t)kt_page_size, 0x21);
	kt_ev_flush();

	/* the last close closes the subchannel; its ring GPADL goes, then its pages */
	close(fd);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, s, KT_TIMEOUT_MS, NULL) == 0, "no CLOSE of %u", s);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_TEARDOWN, s, KT_TIMEOUT_MS, &ev) == 0,
		  "the subchannel's ring GPADL was not torn down");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, p, KT_TIMEOUT_MS, NULL) == 0, "no CLOSE of %u", p);

	if (kt_drv->frees_mapped_subchannel_ring) {
		uint8_t b;

		kt_diff("a subchannel's ring is freed at close while a process still maps it");
		/* only read: writing would scribble on memory the kernel owns again */
		KT_ASSERT(kt_probe_read(page, &b) == 0,
			  "the mapping of the freed ring went away after all");
		churn(2);
		kt_note("after more rings were allocated, the freed ring's mapping shows %s",
			same(page, (size_t)kt_page_size, 0x21) ? "its old content" :
								 "other memory");
	} else {
		expect_revoked(&ring);
		/* the relid's directory is the channel's, and stays: only its file went */
		KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, s),
			  "the closed subchannel keeps its ring file");
	}
	munmap(ring.addr, ring.len);
	kt_rescind(p);
}

/* Everything mapped, the device open, and then it goes (rescind or unbind). */
static void mapped_when_device_goes(bool rescind)
{
	const char *how = rescind ? "rescinded" : "unbound";
	struct map m0, m3, m4, rf0, rfs;
	char guid[37];
	uint32_t p, s;
	bool sub_stays;
	int fd, idx;

	p = kt_offer_bound(KT_CLASS_NIC, guid);
	idx = kt_uio_index(guid);
	fd = kt_uio_open(guid);
	s = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
	m0 = map_uio(fd, idx, 0, "map0 (txrx_rings)");
	m3 = map_uio(fd, idx, 3, "map3 (recv buffer)");
	m4 = map_uio(fd, idx, 4, "map4 (send buffer)");
	rf0 = map_ring_file(guid, p, "the primary's ring file");
	rfs = map_ring_file(guid, s, "the subchannel's ring file");
	fill(probe_page(&m0, true), (size_t)kt_page_size, 0x41);
	fill(probe_page(&m3, false), (size_t)kt_page_size, 0x43);
	fill(probe_page(&m4, false), (size_t)kt_page_size, 0x44);
	fill(probe_page(&rfs, true), (size_t)kt_page_size, 0x45);

	if (rescind) {
		/* the device's channels/ directory goes, ring files and all */
		kt_rescind(p);
		sub_stays = false;
	} else {
		KT_ASSERT(kt_unbind(guid) == 0, "unbind");
		KT_ASSERT(!kt_drv->closes_on_unbind ||
				  kt_ev_wait(VMBUS_SIM_EV_CLOSE, p, KT_TIMEOUT_MS, NULL) == 0,
			  "unbinding did not close the channel");
		sub_stays = !kt_drv->closes_on_unbind;
	}
	KT_ASSERT(kt_uio_index(guid) < 0, "%s, the device keeps its uio node", how);

	/* the primary's ring file went with the device (uio_hv_generic's too) */
	expect_revoked(&rf0);
	if (sub_stays) {
		kt_diff("unbound while open, the subchannel is never closed: its ring stays "
			"(leaked) and so does its mapping");
		KT_ASSERT(same(probe_page(&rfs, true), (size_t)kt_page_size, 0x45),
			  "the leaked subchannel ring changed");
	} else {
		expect_revoked(&rfs);
	}

	/* /dev/uioN's maps keep their memory, also when the kernel allocates more */
	churn(3);
	if (kt_drv->leaks_ring_on_rescind)
		kt_diff("the ring stays because it is never freed (leaked, see t14_rounds); "
			"its mapping holds no page references");
	expect_kept(&m0, true, 0x41, !kt_drv->leaks_ring_on_rescind);
	expect_kept(&m3, false, 0x43, true);
	expect_kept(&m4, false, 0x44, true);

	munmap(m0.addr, m0.len);
	munmap(m3.addr, m3.len);
	munmap(m4.addr, m4.len);
	munmap(rf0.addr, rf0.len);
	munmap(rfs.addr, rfs.len);
	close(fd);
	if (!rescind) {
		/* a channel left open keeps its rescind callback: bound again first */
		if (!kt_drv->closes_on_unbind)
			KT_ASSERT(kt_bind(guid) == 0, "bind again");
		kt_rescind(p);
	}
}

int main(int argc, char **argv)
{
	kt_init(argc, argv, "mapped rings and buffers never reach freed memory");
	subchannel_ring_at_close();
	mapped_when_device_goes(true);
	mapped_when_device_goes(false);
	kt_pass();
}
