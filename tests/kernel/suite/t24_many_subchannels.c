/* SPDX-License-Identifier: MIT */
/*
 * 64 subchannels, the most a network device asks for, offered while the
 * device is open: the driver opens all of them, each with a ring file of
 * its ring's size; each carries a packet both ways through its ring file
 * (the guest's end attached with libvmbus's ring code, signalling by
 * write(1), so the subchannels have no monitor id); the close closes all
 * 65 channels and the rescind frees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define SUBS 64

struct guest_chan {
	struct vmbus_chan *c;
	uint8_t *map;
	size_t size;
};

static int uio_fd = -1;

/* write(1): the driver signals every open channel without a monitor id */
static int guest_signal(struct vmbus_chan *c, void *arg)
{
	uint32_t one = 1;

	(void)c;
	(void)arg;
	return write(uio_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static void guest_attach(struct guest_chan *g, const char *guid, uint32_t relid)
{
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };
	char path[256];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "ring file of relid %u", relid);
	g->size = (size_t)st.st_size;
	g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KT_ASSERT(g->map != MAP_FAILED, "mmap of the ring file of relid %u", relid);
	close(fd);
	o.tx = g->map;
	o.tx_size = g->size / 2;
	o.rx = g->map + g->size / 2;
	o.rx_size = g->size / 2;
	o.hdr_size = (size_t)kt_page_size;
	o.relid = relid;
	o.signal = guest_signal;
	err = vmbus_chan_attach(&o, &g->c);
	errno = -err;
	KT_ASSERT(err == 0, "guest attach to relid %u", relid);
}

/* One packet each way; the guest waits for the device's event. */
static void ping(struct guest_chan *g, struct kt_host_chan *hc, int n)
{
	static uint8_t buf[4096];
	struct vmbus_pkt pkt;
	char msg[48];
	uint32_t count;
	int r, len = snprintf(msg, sizeof(msg), "relid %u packet %d", hc->relid, n);

	KT_ASSERT(vmbus_chan_send(g->c, 0, 0, msg, (size_t)len + 1) == 0, "guest send %u",
		  hc->relid);
	r = kt_host_recv(hc, buf, sizeof(buf), &pkt);
	KT_ASSERT(r > 0 && !strcmp(pkt.data, msg), "host recv on relid %u: %d", hc->relid, r);
	KT_ASSERT(vmbus_chan_send(hc->c, 0, 0, msg, (size_t)len + 1) == 0, "host send %u",
		  hc->relid);
	while ((r = vmbus_chan_recv(g->c, buf, sizeof(buf), &pkt)) == -EAGAIN)
		KT_ASSERT(read(uio_fd, &count, sizeof(count)) == sizeof(count),
			  "waiting for relid %u", hc->relid);
	KT_ASSERT(r > 0 && !strcmp(pkt.data, msg), "guest recv on relid %u: %d", hc->relid, r);
}

int main(int argc, char **argv)
{
	static struct kt_host_chan hs[SUBS + 1];
	static struct guest_chan gs[SUBS + 1];
	uint32_t relid[SUBS + 1];
	struct vmbus_sim_chan_info ci;
	char guid[37];
	unsigned int i;

	kt_init(argc, argv, "64 subchannels on one device");
	relid[0] = kt_offer_bound(KT_CLASS_NIC, guid);
	uio_fd = kt_uio_open(guid);
	kt_host_attach(&hs[0], relid[0]);
	for (i = 1; i <= SUBS; i++) {
		relid[i] = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_NONE, (uint16_t)i, 0);
		kt_host_attach(&hs[i], relid[i]);
	}
	for (i = 1; i <= SUBS; i++) {
		KT_ASSERT(kt_chan_info(relid[i], &ci) == 0 && ci.state == VMBUS_SIM_STATE_OPENED,
			  "subchannel %u (relid %u) is not open", i, relid[i]);
		KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "/sys/bus/vmbus/devices/%s/channels/%u/ring",
					 guid, relid[i]),
			  "relid %u has no ring file", relid[i]);
		guest_attach(&gs[i], guid, relid[i]);
		KT_ASSERT(gs[i].size == ci.ring_size || kt_drv->ring_file_fixed_size,
			  "ring file of relid %u: %zu bytes, the ring has %u", relid[i], gs[i].size,
			  ci.ring_size);
	}
	if (kt_drv->irq_write_signals_subchannels) {
		for (i = 1; i <= SUBS; i++)
			ping(&gs[i], &hs[i], (int)i);
		kt_note("%u subchannels carried a packet each way", SUBS);
	} else {
		kt_diff("write(1) does not signal subchannels: no traffic on channels without a monitor id");
	}
	for (i = 0; i <= SUBS; i++) {
		if (gs[i].c) {
			vmbus_chan_detach(gs[i].c);
			munmap(gs[i].map, gs[i].size);
		}
		kt_host_detach(&hs[i]);
	}
	close(uio_fd);
	for (i = 0; i <= SUBS; i++)
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, relid[i], KT_TIMEOUT_MS, NULL) == 0,
			  "no CLOSE of relid %u", relid[i]);
	kt_rescind(relid[0]);
	for (i = 0; i <= SUBS; i++)
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, relid[i], KT_TIMEOUT_MS, NULL) ==
				  0,
			  "relid %u not freed", relid[i]);
	kt_pass();
}
