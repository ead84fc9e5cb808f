/* SPDX-License-Identifier: MIT */
/*
 * Channels without a monitor id carry traffic like the others: the driver
 * binds such a device, opens such subchannels, and write(1) signals the
 * host by event on exactly those channels of the device (for the others
 * userspace uses the monitor page).  Packets flow both ways on each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define NCHANS 3

/*
 * A device whose channels have the monitor ids @mon (primary first), open
 * with its subchannels: packets both ways on each channel, and write(1)
 * signals by event exactly the channels without one.
 */
static void run_device(const char *what, const uint8_t mon[NCHANS])
{
	struct kt_host_chan hc[NCHANS] = { { 0 } };
	struct vmbus_sim_event ev;
	struct vmbus_device *dev;
	uint32_t relid[NCHANS];
	char guid[37];
	int i, r;

	kt_new_instance(guid);
	relid[0] = kt_offer(KT_CLASS_NIC, guid, mon[0], 0, 0);
	kt_bind_driver(guid);
	dev = kt_dev_open(guid);
	kt_host_attach(&hc[0], relid[0]);
	for (i = 1; i < NCHANS; i++) {
		relid[i] = kt_offer(KT_CLASS_NIC, guid, mon[i], (uint16_t)i, 0);
		kt_host_attach(&hc[i], relid[i]);
	}
	r = vmbus_dev_open_subchans(dev, NCHANS - 1, KT_TIMEOUT_MS);
	KT_ASSERT(r == 0, "%s: vmbus_dev_open_subchans: %d %s", what, r, vmbus_dev_strerror(dev));

	for (i = 0; i < NCHANS; i++) {
		struct vmbus_chan *c = vmbus_dev_chan(dev, (unsigned int)i);
		bool none = mon[i] == VMBUS_SIM_MONITOR_NONE;

		KT_ASSERT(c && vmbus_chan_relid(c) == relid[i], "%s: channel %d", what, i);
		KT_ASSERT((vmbus_chan_monitor_id(c) == VMBUS_MONITOR_ID_NONE) == none,
			  "%s: channel %d has monitor id %u", what, i, vmbus_chan_monitor_id(c));
		KT_ASSERT(kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/monitor_id", guid,
				    relid[i]) == !none,
			  "%s: monitor_id attribute of relid %u", what, relid[i]);
		kt_ping(c, &hc[i], i);
		kt_ping(c, &hc[i], i + 10);
	}

	/* write(1): an event for each channel without a monitor id, none for the others */
	kt_ev_flush();
	KT_ASSERT(vmbus_dev_irq_enable(dev, true) == 0, "%s: write 1", what);
	for (i = 0; i < NCHANS; i++) {
		bool signalled = mon[i] == VMBUS_SIM_MONITOR_NONE &&
				 (i == 0 || kt_drv->irq_write_signals_subchannels);

		if (mon[i] == VMBUS_SIM_MONITOR_NONE && !signalled)
			kt_diff("%s: write 1 does not signal subchannel %d, which has no monitor "
				"id: the host never learns of what the guest sends there",
				what, i);
		if (signalled)
			KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_SIGNAL, relid[i], 0, &ev) == 0 &&
					  ev.flags == VMBUS_SIM_SIG_EVENT,
				  "%s: write 1 did not signal relid %u", what, relid[i]);
		else
			KT_ASSERT(kt_ev_none_by_event(relid[i]),
				  "%s: write 1 signalled relid %u", what, relid[i]);
	}
	/* write(0): nothing */
	KT_ASSERT(vmbus_dev_irq_enable(dev, false) == 0, "%s: write 0", what);
	KT_ASSERT(kt_ev_none_by_event(0), "%s: write 0 signalled the host", what);
	KT_ASSERT(vmbus_dev_irq_enable(dev, true) == 0, "%s: write 1", what);

	for (i = 0; i < NCHANS; i++)
		kt_host_detach(&hc[i]);
	vmbus_dev_close(dev);
	kt_rescind(relid[0]);
}

int main(int argc, char **argv)
{
	static const uint8_t mixed[NCHANS] = { VMBUS_SIM_MONITOR_ANY, VMBUS_SIM_MONITOR_NONE,
					       VMBUS_SIM_MONITOR_ANY };
	static const uint8_t none[NCHANS] = { VMBUS_SIM_MONITOR_NONE, VMBUS_SIM_MONITOR_NONE,
					      VMBUS_SIM_MONITOR_NONE };
	char guid[37];
	int r;

	kt_init(argc, argv, "channels without a monitor id, subchannels too, carry traffic");
	run_device("monitored device, one unmonitored subchannel", mixed);

	if (kt_drv->needs_monitor) {
		kt_diff("a device without a monitor id does not bind (probe fails with ENOTSUPP)");
		kt_new_instance(guid);
		kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_NONE, 0, 0);
		KT_ASSERT(kt_override(guid, kt_drv->name) == 0, "override");
		r = kt_bind(guid);
		KT_ASSERT(r == -524, "bind of an unmonitored network device returned %d", r);
		kt_pass();
	}
	run_device("unmonitored device and subchannels", none);
	kt_pass();
}
