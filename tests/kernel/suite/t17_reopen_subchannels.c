/* SPDX-License-Identifier: MIT */
/*
 * Subchannels across closes and opens of the device: every open opens
 * every subchannel the host has offered (before the first open, while it
 * was open, while it was closed), each with a new ring GPADL and a ring
 * file libvmbus finds; traffic and write() reach all of them; a subchannel
 * rescinded while the device is closed goes at once and is not missed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define MAXSUB 8

struct sub {
	uint32_t relid;
	uint16_t index;
	bool gone;
};

static char guid[37];
static struct sub subs[MAXSUB];
static unsigned int nsubs;

static void offer_sub(uint16_t index)
{
	subs[nsubs].index = index;
	subs[nsubs].relid = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, index, 0);
	nsubs++;
}

static uint32_t chan_state(uint32_t relid)
{
	struct vmbus_sim_chan_info ci;

	KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info %u", relid);
	return ci.state;
}

static uint32_t in_mask(uint32_t relid)
{
	return (uint32_t)kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/in_mask", guid, relid);
}

/*
 * One open of the device: every subchannel that is not gone is open with a
 * ring GPADL of its own, carries packets, and takes write(0) and write(1);
 * the close closes them all.  Offers @late more subchannels while open.
 */
static void one_open(int round, uint32_t primary, unsigned int late)
{
	struct kt_host_chan hp = { 0 }, hs[MAXSUB] = { { 0 } };
	struct vmbus_device *dev;
	unsigned int i, live = 0;
	int r;

	dev = kt_dev_open(guid);
	kt_host_attach(&hp, primary);
	for (i = 0; i < late; i++)
		offer_sub((uint16_t)(nsubs + 1));

	for (i = 0; i < nsubs; i++) {
		if (subs[i].gone)
			continue;
		KT_ASSERT(kt_wait_opened(subs[i].relid),
			  "round %d: subchannel %u (relid %u) is not open", round, subs[i].index,
			  subs[i].relid);
		KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "/sys/bus/vmbus/devices/%s/channels/%u/ring",
					 guid, subs[i].relid),
			  "round %d: relid %u has no ring file", round, subs[i].relid);
		kt_host_attach(&hs[i], subs[i].relid);
		live++;
	}
	r = vmbus_dev_open_subchans(dev, live, KT_TIMEOUT_MS);
	KT_ASSERT(r == 0, "round %d: vmbus_dev_open_subchans(%u): %d %s", round, live, r,
		  vmbus_dev_strerror(dev));
	kt_ping(vmbus_dev_primary(dev), &hp, round);
	for (i = 0; i < nsubs; i++) {
		struct vmbus_chan *c;

		if (subs[i].gone)
			continue;
		c = vmbus_dev_chan(dev, subs[i].index);
		KT_ASSERT(c && vmbus_chan_relid(c) == subs[i].relid,
			  "round %d: libvmbus has no subchannel %u", round, subs[i].index);
		kt_ping(c, &hs[i], round * 100 + (int)i);
	}

	KT_ASSERT(vmbus_dev_irq_enable(dev, false) == 0, "round %d: write 0", round);
	for (i = 0; i < nsubs; i++)
		KT_ASSERT(subs[i].gone || in_mask(subs[i].relid) == 1,
			  "round %d: relid %u not masked", round, subs[i].relid);
	KT_ASSERT(vmbus_dev_irq_enable(dev, true) == 0, "round %d: write 1", round);
	for (i = 0; i < nsubs; i++)
		KT_ASSERT(subs[i].gone || in_mask(subs[i].relid) == 0,
			  "round %d: relid %u not unmasked", round, subs[i].relid);

	for (i = 0; i < nsubs; i++)
		if (hs[i].c)
			kt_host_detach(&hs[i]);
	kt_host_detach(&hp);
	vmbus_dev_close(dev);
	for (i = 0; i < nsubs; i++) {
		if (subs[i].gone)
			continue;
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, subs[i].relid, KT_TIMEOUT_MS, NULL) == 0,
			  "round %d: no CLOSE of relid %u", round, subs[i].relid);
		KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/ring", guid,
				     subs[i].relid) ||
				  kt_drv->closed_subchannel_keeps_ring_file,
			  "round %d: closed relid %u keeps its ring file", round, subs[i].relid);
	}
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, primary, KT_TIMEOUT_MS, NULL) == 0,
		  "round %d: no CLOSE of the primary", round);
}

int main(int argc, char **argv)
{
	uint32_t primary;
	unsigned int i;
	int fd;

	kt_init(argc, argv, "subchannels are opened again whenever the device is");
	primary = kt_offer_bound(KT_CLASS_NIC, guid);

	if (kt_drv->opens_early_subchannels)
		offer_sub(1); /* before the first open */
	else
		kt_diff("a subchannel offered before the first open is never opened (t09): "
			"not offered here");

	/* first open: two more subchannels offered while open */
	one_open(0, primary, 2);

	if (!kt_drv->reopens_subchannels) {
		kt_diff("subchannels are not opened again when the device is");
		fd = kt_uio_open(guid);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, primary, KT_TIMEOUT_MS, NULL) == 0,
			  "no OPEN of the primary");
		for (i = 0; i < nsubs; i++)
			KT_ASSERT(chan_state(subs[i].relid) == VMBUS_SIM_STATE_OPEN,
				  "relid %u is open after all", subs[i].relid);
		/* write() would now reach the closed subchannels' missing rings */
		close(fd);
		kt_pass();
	}

	/* opened again: all of them */
	one_open(1, primary, 0);

	/* while closed: one is rescinded (it goes at once), one more is offered */
	kt_rescind(subs[nsubs - 1].relid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, subs[nsubs - 1].relid, KT_TIMEOUT_MS,
			     NULL) == 0,
		  "a closed subchannel's rescind did not free it");
	subs[nsubs - 1].gone = true;
	offer_sub((uint16_t)(nsubs + 1));
	KT_ASSERT(chan_state(subs[nsubs - 1].relid) == VMBUS_SIM_STATE_OPEN,
		  "a subchannel offered while the device is closed was opened");

	one_open(2, primary, 0);
	one_open(3, primary, 1);
	kt_pass();
}
