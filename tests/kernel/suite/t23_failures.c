/* SPDX-License-Identifier: MIT */
/*
 * When the host never gets the guest's CLOSECHANNEL or GPADL_TEARDOWN
 * (hv_vmbus cannot post the message while the hypervisor stays busy), the
 * host keeps using the ring or buffer.  hv_vmbus's rule: memory is freed
 * only once the host let go of it, else leaked.  The host here writes a
 * pattern into the memory it still holds and reads it back after the
 * driver is done with the device: freed memory would have been cleared
 * (the guest runs with init_on_free=1) or reused.
 *
 *   1. a buffer's GPADL teardown fails when the device is unbound
 *   2. the device's close fails
 *   3. the ring's GPADL teardown fails when the device closes
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktest.h"

#define PATTERN 0x5a

static bool gpadl_known(uint32_t handle)
{
	struct vmbus_sim_gpadl_info gi = { .handle = handle };

	return ioctl(kt_host_fd(), VMBUS_SIM_IOC_GPADL_INFO, &gi) == 0;
}

static void fill(uint8_t *p, size_t len)
{
	memset(p, PATTERN, len);
}

/* True if every byte still holds the pattern. */
static bool intact(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != PATTERN)
			return false;
	return true;
}

/* 1: the teardown of one buffer fails at unbind; that buffer must stay. */
static void buffer_teardown(void)
{
	struct vmbus_sim_event ev[2];
	uint8_t *map[2];
	uint32_t relid;
	char guid[37];
	int kfd, i, kept = -1;

	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	for (i = 0; i < 2; i++) {
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_CREATE, relid, KT_TIMEOUT_MS, &ev[i]) == 0,
			  "buffer GPADL %d", i);
		map[i] = kt_host_map_gpadl(ev[i].gpadl, (size_t)ev[i].size);
		/* touch every page: the host's mapping then holds the pages */
		fill(map[i], (size_t)ev[i].size);
	}
	kfd = kt_kmsg_open();
	kt_fault(relid, VMBUS_SIM_FAULT_GPADL_TEARDOWN);
	KT_ASSERT(kt_unbind(guid) == 0, "unbind");
	for (i = 0; i < 2; i++)
		if (gpadl_known(ev[i].gpadl))
			kept = i;
	KT_ASSERT(kept >= 0, "neither buffer's GPADL survived the failed teardown");
	kt_note("GPADL %u (%llu bytes) stays with the host", ev[kept].gpadl,
		(unsigned long long)ev[kept].size);
	if (!intact(map[kept], (size_t)ev[kept].size)) {
		KT_ASSERT(kt_drv->frees_buffer_after_failed_teardown,
			  "the buffer the host still uses was freed");
		kt_diff("a buffer whose GPADL teardown failed is freed while the host uses it");
	} else if (!kt_drv->frees_buffer_after_failed_teardown) {
		KT_ASSERT(kt_kmsg_find(kfd, "leaking"), "the log does not say the buffer leaks");
	}
	close(kfd);
	for (i = 0; i < 2; i++)
		munmap(map[i], (size_t)ev[i].size);
	kt_rescind(relid);
}

/* 2 and 3: the close fails, or the ring's teardown in it. */
static void close_fails(uint32_t what)
{
	struct kt_host_chan hc = { 0 };
	uint32_t relid, ring;
	char guid[37];
	int fd, kfd;

	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	fd = kt_uio_open(guid);
	kt_host_attach(&hc, relid);
	{
		struct vmbus_sim_chan_info ci;

		KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info");
		ring = ci.ring_gpadl;
	}
	fill(hc.map, hc.size);
	kfd = kt_kmsg_open();
	kt_fault(relid, what);
	close(fd);
	KT_ASSERT(gpadl_known(ring), "the ring's GPADL %u is gone although the %s failed", ring,
		  what == VMBUS_SIM_FAULT_CLOSE ? "close" : "teardown");
	if (what == VMBUS_SIM_FAULT_CLOSE)
		KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_CLOSE, relid), "the host saw a CLOSE");

	if (kt_drv->refuses_open_after_failed_close) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/uio%d", kt_uio_index(guid));
		fd = open(path, O_RDWR | O_CLOEXEC);
		KT_ASSERT(fd < 0 && errno == EIO, "open after a failed close: %s (EIO expected)",
			  fd < 0 ? strerror(errno) : "succeeded");
		KT_ASSERT(kt_kmsg_find(kfd, "leaking"), "the log does not say the ring leaks");
	} else {
		/* opening again would share the ring anew, and free it at close */
		kt_diff("the device would open again although the host may still use its ring: "
			"not tried");
	}
	close(kfd);
	KT_ASSERT(kt_unbind(guid) == 0, "unbind");
	KT_ASSERT(intact(hc.map, hc.size), "the ring the host still uses was freed or reused");
	kt_host_detach(&hc);
	/* a driver that keeps its rescind callback after unbind: bound again first */
	if (!kt_drv->closes_on_unbind)
		KT_ASSERT(kt_bind(guid) == 0, "bind again");
	kt_rescind(relid);
}

int main(int argc, char **argv)
{
	kt_init(argc, argv, "failed close and GPADL teardown: the memory stays with the host");
	buffer_teardown();
	kt_note("buffer teardown failure: done");
	close_fails(VMBUS_SIM_FAULT_CLOSE);
	kt_note("close failure: the ring stays");
	close_fails(VMBUS_SIM_FAULT_GPADL_TEARDOWN);
	kt_note("ring teardown failure: the ring stays");
	kt_pass();
}
