/* SPDX-License-Identifier: MIT */
/*
 * write() of /dev/uioN: exactly 4 bytes; 0 masks the receive ring of every
 * channel, 1 unmasks it.  For a monitored channel neither reaches the host
 * (userspace signals through the monitor page).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktest.h"

static uint32_t in_mask(const char *guid, uint32_t relid)
{
	return (uint32_t)kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/in_mask", guid,
				     relid);
}

int main(int argc, char **argv)
{
	struct vmbus_sim_event ev;
	struct vmbus_ring_hdr *rx;
	struct vmbus_sim_chan_info ci;
	char guid[37];
	uint32_t relid, sub, v;
	uint64_t big = 1;
	uint8_t *h;
	int fd;

	kt_init(argc, argv, "write() of 0 and 1 masks and unmasks every channel");
	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0, "no OPEN");
	h = kt_host_map_gpadl(ev.gpadl, (size_t)ev.size);
	rx = (struct vmbus_ring_hdr *)(h + ev.offset);
	sub = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
	KT_ASSERT(kt_wait_opened(sub) &&
			  kt_wait_exists(KT_TIMEOUT_MS, "/sys/bus/vmbus/devices/%s/channels/%u/ring",
					 guid, sub),
		  "the driver did not open subchannel %u", sub);
	kt_ev_flush();

	KT_ASSERT(write(fd, &big, sizeof(big)) < 0 && errno == EINVAL, "write of 8 bytes");

	v = 0;
	KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "write 0");
	KT_ASSERT(__atomic_load_n(&rx->interrupt_mask, __ATOMIC_ACQUIRE) == 1,
		  "the host does not see the primary masked");
	KT_ASSERT(in_mask(guid, relid) == 1 && in_mask(guid, sub) == 1,
		  "in_mask %u / %u after write 0", in_mask(guid, relid), in_mask(guid, sub));

	v = 1;
	KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "write 1");
	KT_ASSERT(__atomic_load_n(&rx->interrupt_mask, __ATOMIC_ACQUIRE) == 0,
		  "the host does not see the primary unmasked");
	KT_ASSERT(in_mask(guid, relid) == 0 && in_mask(guid, sub) == 0,
		  "in_mask %u / %u after write 1", in_mask(guid, relid), in_mask(guid, sub));

	/* monitored channels: no event signal from the driver */
	KT_ASSERT(kt_ev_none_by_event(0), "write 1 signalled a monitored channel");
	KT_ASSERT(kt_chan_info(relid, &ci) == 0 && ci.guest_signals_event == 0,
		  "vmbus_set_event called %llu times", (unsigned long long)ci.guest_signals_event);

	munmap(h, (size_t)ev.size);
	close(fd);
	kt_pass();
}
