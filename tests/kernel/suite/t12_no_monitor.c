/* SPDX-License-Identifier: MIT */
/*
 * A channel without a monitor id (a low-speed device): hv_vmbus hides the
 * monitor attributes; the driver either refuses it or binds it and signals
 * the host through vmbus_set_event when userspace writes 1.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

int main(int argc, char **argv)
{
	struct vmbus_sim_event ev;
	struct vmbus_device *dev;
	char guid[37];
	uint32_t relid, v;
	int fd, kfd, r;

	kt_init(argc, argv, "a channel without a monitor id");
	kt_new_instance(guid);
	relid = kt_offer(KT_CLASS_FCOPY, guid, VMBUS_SIM_MONITOR_NONE, 0, 0);
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s/monitor_id", guid),
		  "monitor_id shown for an unmonitored device");
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s/client_monitor_pending", guid),
		  "client_monitor_pending shown for an unmonitored device");
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/monitor_id", guid, relid),
		  "channel monitor_id shown for an unmonitored channel");
	KT_ASSERT(kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/subchannel_id", guid, relid),
		  "channel directory incomplete");

	KT_ASSERT(kt_override(guid, kt_drv->name) == 0, "override");
	if (kt_drv->needs_monitor) {
		kt_diff("refuses channels without a monitor id (\"vmbus channel requires "
			"hypercall\", probe fails with ENOTSUPP)");
		kfd = kt_kmsg_open();
		r = kt_bind(guid);
		KT_ASSERT(r == -524, "bind of an unmonitored device returned %d", r);
		KT_ASSERT(!*kt_bound(guid) && kt_uio_index(guid) < 0, "bound after all");
		KT_ASSERT(kt_kmsg_find(kfd, "vmbus channel requires hypercall"),
			  "the driver did not say why");
		close(kfd);
		kt_pass();
	}

	KT_ASSERT(kt_bind(guid) == 0, "bind of an unmonitored device");
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, NULL) == 0, "no OPEN");
	kt_ev_flush();
	v = 0;
	KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "write 0");
	KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_SIGNAL, relid), "write 0 signalled the host");
	v = 1;
	KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "write 1");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_SIGNAL, relid, 0, &ev) == 0 &&
			  ev.flags == VMBUS_SIM_SIG_EVENT,
		  "write 1 did not signal the host by event");
	close(fd);

	/* libvmbus signals such a channel through the driver */
	dev = kt_dev_open(guid);
	kt_ev_flush();
	KT_ASSERT(vmbus_chan_signal(vmbus_dev_primary(dev)) == 0, "vmbus_chan_signal");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_SIGNAL, relid, 0, &ev) == 0 &&
			  ev.flags == VMBUS_SIM_SIG_EVENT,
		  "libvmbus's signal did not reach the host");
	vmbus_dev_close(dev);
	kt_pass();
}
