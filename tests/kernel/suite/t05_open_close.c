/* SPDX-License-Identifier: MIT */
/*
 * Opening /dev/uioN connects the ring (the host sees GPADL and OPEN), more
 * opens share the connection, the last close disconnects (CLOSE and the
 * GPADL teardown).  Reconnecting resets the ring indices but keeps the
 * interrupt mask.  A host that refuses the open makes open() fail, and the
 * next open tries again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktest.h"

static char dev_path[64];

static void *opener(void *arg)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	*(int *)arg = fd < 0 ? -errno : fd;
	return NULL;
}

static void expect_state(uint32_t relid, uint32_t state, uint64_t opens, uint64_t closes)
{
	struct vmbus_sim_chan_info ci;

	KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info");
	KT_ASSERT(ci.state == state && ci.opens == opens && ci.closes == closes,
		  "relid %u: state %u opens %llu closes %llu, expected %u/%llu/%llu", relid,
		  ci.state, (unsigned long long)ci.opens, (unsigned long long)ci.closes, state,
		  (unsigned long long)opens, (unsigned long long)closes);
}

int main(int argc, char **argv)
{
	struct vmbus_sim_event ev, gp;
	struct vmbus_sim_open_result res;
	struct vmbus_ring_hdr *rx;
	char guid[37];
	uint32_t relid, gpadl1;
	pthread_t t;
	int fd1, fd2, fd3, result, idx;
	size_t size;
	uint8_t *h;

	kt_init(argc, argv, "open connects the ring, last close disconnects");
	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	idx = kt_uio_index(guid);
	snprintf(dev_path, sizeof(dev_path), "/dev/uio%d", idx);
	kt_ev_flush();
	expect_state(relid, VMBUS_SIM_STATE_OPEN, 0, 0);

	/* first open: ring GPADL, then OPENCHANNEL */
	fd1 = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_CREATE, relid, KT_TIMEOUT_MS, &gp) == 0 &&
			  gp.flags == VMBUS_SIM_GPADL_RING,
		  "no ring GPADL before OPEN");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0, "no OPEN");
	KT_ASSERT(ev.gpadl == gp.gpadl && ev.size == gp.size, "OPEN names GPADL %u, created %u",
		  ev.gpadl, gp.gpadl);
	expect_state(relid, VMBUS_SIM_STATE_OPENED, 1, 0);
	gpadl1 = ev.gpadl;
	size = (size_t)ev.size;

	/* the host fills some of the guest's receive ring; the guest masks it */
	h = kt_host_map_gpadl(gpadl1, size);
	rx = (struct vmbus_ring_hdr *)(h + ev.offset);
	rx->write_index = 64;
	rx->interrupt_mask = 1;
	munmap(h, size);

	/* more opens share the connection */
	fd2 = kt_uio_open(guid);
	fd3 = kt_uio_open(guid);
	KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_OPEN, relid), "a second open reached the host");
	close(fd2);
	close(fd3);
	KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_CLOSE, relid), "a close that was not the last");
	expect_state(relid, VMBUS_SIM_STATE_OPENED, 1, 0);

	/* the last close disconnects */
	close(fd1);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, relid, KT_TIMEOUT_MS, &ev) == 0, "no CLOSE");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_TEARDOWN, relid, KT_TIMEOUT_MS, &ev) == 0 &&
			  ev.gpadl == gpadl1,
		  "ring GPADL not torn down");
	expect_state(relid, VMBUS_SIM_STATE_OPEN, 1, 1);

	/* reconnecting: a new GPADL over the same pages, indices reset */
	fd1 = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0, "no second OPEN");
	KT_ASSERT(ev.gpadl != gpadl1, "GPADL handle %u reused", ev.gpadl);
	h = kt_host_map_gpadl(ev.gpadl, size);
	rx = (struct vmbus_ring_hdr *)(h + ev.offset);
	KT_ASSERT(rx->write_index == 0 && rx->read_index == 0 && rx->feature_bits == 1,
		  "receive ring not reset on reopen: w %u r %u f %u", rx->write_index,
		  rx->read_index, rx->feature_bits);
	KT_ASSERT(rx->interrupt_mask == 1, "reopen changed interrupt_mask to %u",
		  rx->interrupt_mask);
	rx->interrupt_mask = 0;
	munmap(h, size);
	close(fd1);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, relid, KT_TIMEOUT_MS, &ev) == 0, "no CLOSE");
	expect_state(relid, VMBUS_SIM_STATE_OPEN, 2, 2);

	/* a host that refuses: open() fails, and nothing stays connected */
	kt_set_mode(VMBUS_SIM_MODE_MANUAL_OPEN);
	KT_ASSERT(pthread_create(&t, NULL, opener, &result) == 0, "thread");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0, "no OPEN");
	res = (struct vmbus_sim_open_result){ .relid = relid, .status = 1 };
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_OPEN_RESULT, &res) == 0, "refuse");
	pthread_join(t, NULL);
	errno = result < 0 ? -result : 0;
	KT_ASSERT(result == -EAGAIN, "open refused by the host returned %d", result);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_TEARDOWN, relid, KT_TIMEOUT_MS, &ev) == 0,
		  "ring GPADL of the refused open not torn down");
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_OPEN_RESULT, &res) != 0 && errno == EALREADY,
		  "answering an open nobody waits for");
	expect_state(relid, VMBUS_SIM_STATE_OPEN, 3, 2);

	/* the next open tries again; accepted this time */
	KT_ASSERT(pthread_create(&t, NULL, opener, &result) == 0, "thread");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, &ev) == 0, "no OPEN");
	res.status = 0;
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_OPEN_RESULT, &res) == 0, "accept");
	pthread_join(t, NULL);
	errno = result < 0 ? -result : 0;
	KT_ASSERT(result >= 0, "open after a refusal");
	kt_set_mode(0);
	expect_state(relid, VMBUS_SIM_STATE_OPENED, 4, 2);
	close(result);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, relid, KT_TIMEOUT_MS, &ev) == 0, "no CLOSE");
	kt_pass();
}
