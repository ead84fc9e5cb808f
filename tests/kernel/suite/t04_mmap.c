/* SPDX-License-Identifier: MIT */
/*
 * mmap of every map and of the ring file, checked against the host's own
 * view of the same memory (the ring GPADL, the connection's pages, the
 * buffer GPADLs).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"

static size_t page_round(uint64_t v)
{
	return (size_t)((v + (uint64_t)kt_page_size - 1) & ~((uint64_t)kt_page_size - 1));
}

static uint64_t map_size(int idx, int k)
{
	return kt_read_u64("/sys/class/uio/uio%d/maps/map%d/size", idx, k);
}

static void *map_uio(int fd, int k, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)k * kt_page_size);

	KT_ASSERT(p != MAP_FAILED, "mmap of map%d (%zu bytes)", k, len);
	return p;
}

static int map_fails(int fd, off_t off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	if (p != MAP_FAILED) {
		munmap(p, len);
		return 0;
	}
	return -errno;
}

static uint32_t gpadl_of(int idx, int k)
{
	char name[64];

	KT_ASSERT(kt_readf(name, sizeof(name), "/sys/class/uio/uio%d/maps/map%d/name", idx, k) > 0,
		  "map%d name", k);
	return (uint32_t)strtoul(strchr(name, ':') + 1, NULL, 10);
}

static void fill(void *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		((volatile uint8_t *)p)[i] = (uint8_t)(seed + i * 7);
}

static bool same(const void *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((const volatile uint8_t *)p)[i] != (uint8_t)(seed + i * 7))
			return false;
	return true;
}

static int ring_fd(const char *guid, uint32_t relid, struct stat *st)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0, "open %s", path);
	KT_ASSERT(fstat(fd, st) == 0, "stat %s", path);
	return fd;
}

/* The ring file: 0600, its size, and mmap only while the channel is open. */
static void check_ring_file(const char *guid, uint32_t relid, uint64_t ring_bytes, void *map0,
			    bool open_now)
{
	uint64_t want = kt_drv->ring_file_fixed_size ? 2 * 512 * (uint64_t)kt_page_size :
						       ring_bytes;
	struct stat st;
	void *p;
	int fd = ring_fd(guid, relid, &st);

	KT_ASSERT((st.st_mode & 0777) == 0600, "ring file mode %o", st.st_mode & 0777);
	KT_ASSERT((uint64_t)st.st_size == want, "ring file is %lld bytes, expected %llu",
		  (long long)st.st_size, (unsigned long long)want);
	if (!open_now) {
		KT_ASSERT(map_fails(fd, 0, (size_t)ring_bytes) == -ENODEV,
			  "mmap of the ring file of a closed channel");
		close(fd);
		return;
	}
	if ((uint64_t)st.st_size > ring_bytes) {
		kt_diff("the ring file claims %lld bytes but only the %llu of the ring can be "
			"mapped",
			(long long)st.st_size, (unsigned long long)ring_bytes);
		KT_ASSERT(map_fails(fd, 0, (size_t)st.st_size) == -EINVAL,
			  "mmap of the whole ring file");
	}
	p = mmap(NULL, (size_t)ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KT_ASSERT(p != MAP_FAILED, "mmap of the ring file (%llu bytes)",
		  (unsigned long long)ring_bytes);
	/* the same pages as map 0 */
	fill((uint8_t *)p + kt_page_size + 100, 64, 0x31);
	KT_ASSERT(same((uint8_t *)map0 + kt_page_size + 100, 64, 0x31),
		  "ring file and map0 differ");
	munmap(p, (size_t)ring_bytes);
	close(fd);
}

int main(int argc, char **argv)
{
	struct vmbus_sim_event ev;
	char a[37], b[37];
	uint32_t ra, rb, mon;
	size_t len[5], half;
	void *m[5], *h;
	uint8_t *g;
	int idx, fd, fdb, k;

	kt_init(argc, argv, "mmap of each map and of the ring file");
	kt_new_instance(a);
	kt_new_instance(b);
	ra = kt_offer(KT_CLASS_NIC, a, VMBUS_SIM_MONITOR_ANY, 0, 0);
	rb = kt_offer(KT_CLASS_OTHER, b, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_bind_driver(a);
	kt_bind_driver(b);
	idx = kt_uio_index(a);
	for (k = 0; k < 5; k++)
		len[k] = page_round(map_size(idx, k));

	check_ring_file(a, ra, len[0], NULL, false);

	fd = kt_uio_open(a);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, ra, KT_TIMEOUT_MS, &ev) == 0, "no OPEN from the guest");
	KT_ASSERT(ev.size == len[0], "OPEN: ring of %llu bytes, map0 %zu", (unsigned long long)ev.size,
		  len[0]);

	for (k = 0; k < 5; k++) {
		m[k] = map_uio(fd, k, len[k]);
		KT_ASSERT(map_fails(fd, (off_t)k * kt_page_size, len[k] + (size_t)kt_page_size) ==
				  -EINVAL,
			  "mmap of map%d beyond its size", k);
	}
	KT_ASSERT(map_fails(fd, 5 * kt_page_size, (size_t)kt_page_size) == -EINVAL,
		  "mmap of map5");

	/* map 0 is the ring the host opened: TX half first, then RX */
	half = len[0] / 2;
	h = kt_host_map_gpadl(ev.gpadl, (size_t)ev.size);
	KT_ASSERT(ev.offset == half, "OPEN: receive ring at %llu, expected %zu",
		  (unsigned long long)ev.offset, half);
	g = m[0];
	KT_ASSERT(((struct vmbus_ring_hdr *)g)->feature_bits == 1 &&
			  ((struct vmbus_ring_hdr *)(g + half))->feature_bits == 1,
		  "ring headers not initialised by the open");
	fill(g + kt_page_size, 4096, 0x11);
	KT_ASSERT(same((uint8_t *)h + kt_page_size, 4096, 0x11), "host does not see the TX data");
	fill((uint8_t *)h + half + kt_page_size, 4096, 0x22);
	KT_ASSERT(same(g + half + kt_page_size, 4096, 0x22), "guest does not see the RX data");
	munmap(h, (size_t)ev.size);

	/* map 1 is the connection's interrupt page */
	h = kt_host_map_page(VMBUS_SIM_PGOFF_INT_PAGE);
	((volatile uint8_t *)m[1])[4000] = 0x5a;
	KT_ASSERT(((volatile uint8_t *)h)[4000] == 0x5a, "int_page map is not the interrupt page");
	((volatile uint8_t *)m[1])[4000] = 0;
	munmap(h, (size_t)kt_page_size);

	/* map 2 is the guest-to-host monitor page: a pending bit signals */
	h = kt_host_map_page(VMBUS_SIM_PGOFF_MONITOR_GUEST);
	((volatile struct vmbus_monitor_page *)m[2])->latency[3][31] = 0x1234;
	KT_ASSERT(((volatile struct vmbus_monitor_page *)h)->latency[3][31] == 0x1234,
		  "monitor_page map is not monitor page 1");
	((volatile struct vmbus_monitor_page *)m[2])->latency[3][31] = 0;
	munmap(h, (size_t)kt_page_size);
	mon = (uint32_t)kt_read_u64("/sys/bus/vmbus/devices/%s/monitor_id", a);
	kt_ev_flush();
	__atomic_fetch_or(&((struct vmbus_monitor_page *)m[2])->trigger_group[mon / 32].pending,
			  1u << (mon % 32), __ATOMIC_SEQ_CST);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_SIGNAL, ra, KT_TIMEOUT_MS, &ev) == 0 &&
			  ev.flags == VMBUS_SIM_SIG_MONITOR,
		  "the host did not see monitor bit %u", mon);

	/* maps 3 and 4 are the buffer GPADLs */
	for (k = 3; k < 5; k++) {
		h = kt_host_map_gpadl(gpadl_of(idx, k), len[k]);
		fill((uint8_t *)m[k] + len[k] - 8192, 8192, (uint8_t)(0x40 + k));
		KT_ASSERT(same((uint8_t *)h + len[k] - 8192, 8192, (uint8_t)(0x40 + k)),
			  "host does not see map%d", k);
		fill(h, 8192, (uint8_t)(0x50 + k));
		KT_ASSERT(same(m[k], 8192, (uint8_t)(0x50 + k)), "guest does not see map%d", k);
		munmap(h, len[k]);
	}

	check_ring_file(a, ra, len[0], m[0], true);

	/* a small ring: 2 x 68 KiB for an unknown class */
	fdb = kt_uio_open(b);
	{
		int ib = kt_uio_index(b);
		size_t l0 = page_round(map_size(ib, 0));
		void *mb = map_uio(fdb, 0, l0);

		check_ring_file(b, rb, l0, mb, true);
		munmap(mb, l0);
	}
	close(fdb);

	for (k = 0; k < 5; k++)
		munmap(m[k], len[k]);
	close(fd);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, ra, KT_TIMEOUT_MS, &ev) == 0, "no CLOSE");
	check_ring_file(a, ra, len[0], NULL, false);
	kt_pass();
}
