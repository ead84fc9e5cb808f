/* SPDX-License-Identifier: MIT */
/*
 * The UIO maps of a bound device: names, sizes and what is behind the
 * buffer maps (GPADLs the host knows, of the advertised sizes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "ktest.h"

#define RECV_SIZE (31u << 20)
#define SEND_SIZE (16u << 20)

/* hv_vmbus's VMBUS_RING_SIZE(): a header page is added to small rings */
static uint64_t vmbus_ring_size(uint64_t payload)
{
	uint64_t sz = payload + (payload >= 8 * (uint64_t)kt_page_size ? 0 : (uint64_t)kt_page_size);

	return (sz + (uint64_t)kt_page_size - 1) & ~((uint64_t)kt_page_size - 1);
}

static void map_attr(int idx, int k, const char *attr, char *buf, size_t len)
{
	KT_ASSERT(kt_readf(buf, len, "/sys/class/uio/uio%d/maps/map%d/%s", idx, k, attr) > 0,
		  "uio%d map%d/%s", idx, k, attr);
}

static uint64_t map_size(int idx, int k)
{
	return kt_read_u64("/sys/class/uio/uio%d/maps/map%d/size", idx, k);
}

/* map 3 or 4: "<prefix><gpadl>", a buffer GPADL of @relid and @size */
static void check_buffer_map(int idx, int k, const char *prefix, uint32_t relid, uint32_t size)
{
	struct vmbus_sim_gpadl_info gi;
	struct vmbus_sim_event ev;
	char name[64], *end;
	unsigned long handle;

	map_attr(idx, k, "name", name, sizeof(name));
	KT_ASSERT(!strncmp(name, prefix, strlen(prefix)), "map%d is \"%s\", not %s<gpadl>", k,
		  name, prefix);
	handle = strtoul(name + strlen(prefix), &end, 10);
	KT_ASSERT(*end == '\0' && handle > 0, "map%d name \"%s\" carries no GPADL handle", k, name);
	KT_ASSERT(map_size(idx, k) == size, "map%d (%s) is %llu bytes, expected %u", k, name,
		  (unsigned long long)map_size(idx, k), size);
	memset(&gi, 0, sizeof(gi));
	gi.handle = (uint32_t)handle;
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_GPADL_INFO, &gi) == 0,
		  "the host knows no GPADL %lu (map%d)", handle, k);
	KT_ASSERT(gi.relid == relid && gi.type == VMBUS_SIM_GPADL_BUFFER && gi.size == size,
		  "GPADL %lu: relid %u type %u size %u", handle, gi.relid, gi.type, gi.size);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_CREATE, relid, KT_TIMEOUT_MS, &ev) == 0,
		  "no GPADL_CREATE event for relid %u", relid);
	KT_ASSERT(ev.gpadl == handle && ev.size == size, "GPADL_CREATE %u of %llu bytes", ev.gpadl,
		  (unsigned long long)ev.size);
}

static void check_class(const char *class_id, const char *what, uint64_t pref, bool nic)
{
	char guid[37], buf[128];
	uint64_t ring, addr;
	uint32_t relid;
	int idx, k, nmaps;
	bool bufs = nic || kt_drv->bufs_all_classes;

	kt_new_instance(guid);
	relid = kt_offer(class_id, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_bind_driver(guid);
	idx = kt_uio_index(guid);
	KT_ASSERT(idx >= 0, "%s: no uio device", what);

	for (nmaps = 0; kt_exists("/sys/class/uio/uio%d/maps/map%d", idx, nmaps); nmaps++)
		;
	if (!bufs)
		kt_diff("%s: no receive and send buffer maps for a non-network device", what);
	KT_ASSERT(nmaps == (bufs ? 5 : 3), "%s: %d maps", what, nmaps);

	/* map 0: both ring directions, TX first; hv_vmbus's ring size rules */
	if (pref && kt_gen() < VMBUS_SIM_GEN_6_1) {
		kt_note("%s: no per-class ring sizes in this generation: 512 pages", what);
		pref = 0;
	}
	ring = pref ? vmbus_ring_size(pref) : 512 * (uint64_t)kt_page_size;
	map_attr(idx, 0, "name", buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, "txrx_rings"), "%s: map0 is \"%s\"", what, buf);
	KT_ASSERT(map_size(idx, 0) == 2 * ring, "%s: map0 is %llu bytes, expected 2 x %llu", what,
		  (unsigned long long)map_size(idx, 0), (unsigned long long)ring);
	addr = kt_read_u64("/sys/class/uio/uio%d/maps/map0/addr", idx);
	KT_ASSERT(addr && addr % (uint64_t)kt_page_size == 0, "%s: map0 addr %#llx", what,
		  (unsigned long long)addr);

	map_attr(idx, 1, "name", buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, "int_page"), "%s: map1 is \"%s\"", what, buf);
	KT_ASSERT(map_size(idx, 1) == 4096, "%s: int_page map is %llu bytes", what,
		  (unsigned long long)map_size(idx, 1));
	map_attr(idx, 2, "name", buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, "monitor_page"), "%s: map2 is \"%s\"", what, buf);
	KT_ASSERT(map_size(idx, 2) == 4096, "%s: monitor_page map is %llu bytes", what,
		  (unsigned long long)map_size(idx, 2));
	if (bufs) {
		check_buffer_map(idx, 3, "recv:", relid, RECV_SIZE);
		check_buffer_map(idx, 4, "send:", relid, SEND_SIZE);
	}
	for (k = 0; k < nmaps; k++) {
		map_attr(idx, k, "offset", buf, sizeof(buf));
		KT_ASSERT(!strcmp(buf, "0x0"), "%s: map%d offset %s", what, k, buf);
	}

	KT_ASSERT(kt_readf(buf, sizeof(buf), "/sys/class/uio/uio%d/version", idx) > 0,
		  "uio version");
	if (!strcmp(kt_drv->name, "uio_hv_generic"))
		KT_ASSERT(!strcmp(buf, "0.02.1"), "uio_hv_generic version %s", buf);
	kt_note("%s: %d maps, rings 2 x %llu bytes", what, nmaps, (unsigned long long)ring);
}

int main(int argc, char **argv)
{
	kt_init(argc, argv, "the UIO maps: names and sizes");
	/* network: hv_vmbus has no preferred ring size, the driver's own */
	check_class(KT_CLASS_NIC, "network", 0, true);
	/* file copy prefers 16 KiB rings, an unknown class 68 KiB */
	check_class(KT_CLASS_FCOPY, "fcopy", 0x4000, false);
	check_class(KT_CLASS_OTHER, "unknown class", 0x11000, false);
	kt_pass();
}
