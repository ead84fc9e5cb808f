/* SPDX-License-Identifier: MIT */
/*
 * Unbind and rmmod while /dev/uioN is open: the reader gets EIO, the
 * module stays until the file is closed, then unloads (unbinding the other
 * device) and loads again, and both devices bind again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

int main(int argc, char **argv)
{
	struct vmbus_sim_chan_info ci;
	struct kt_reader r;
	struct pollfd pfd;
	char a[37], b[37], path[64];
	uint32_t ra, rb;
	int err, fd;

	kt_init(argc, argv, "unbind and rmmod with the device open");
	kt_new_instance(a);
	kt_new_instance(b);
	ra = kt_offer(KT_CLASS_NIC, a, VMBUS_SIM_MONITOR_ANY, 0, 0);
	rb = kt_offer(KT_CLASS_NIC, b, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_bind_driver(a);
	kt_bind_driver(b);

	fd = kt_uio_open(a);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, ra, KT_TIMEOUT_MS, NULL) == 0, "no OPEN");
	kt_reader_start(&r, fd);

	/* unbind under the open file */
	KT_ASSERT(kt_unbind(a) == 0, "unbind while open");
	kt_reader_join(&r);
	errno = r.err;
	KT_ASSERT(r.n < 0 && r.err == EIO, "blocked read after unbind returned %zd", r.n);
	pfd = (struct pollfd){ .fd = r.fd, .events = POLLIN };
	KT_ASSERT(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR), "poll revents %#x",
		  pfd.revents);
	KT_ASSERT(!*kt_bound(a) && kt_uio_index(a) < 0, "still bound");

	/* the open file holds the module */
	err = kt_module_unload();
	errno = -err;
	KT_ASSERT(err == -EWOULDBLOCK || err == -EBUSY, "rmmod with /dev/uioN open: %d", err);
	close(r.fd);

	KT_ASSERT(kt_chan_info(ra, &ci) == 0, "chan info");
	if (kt_drv->closes_on_unbind) {
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, ra, KT_TIMEOUT_MS, NULL) == 0,
			  "unbinding the open device did not close its channel");
		KT_ASSERT(ci.state == VMBUS_SIM_STATE_OPEN, "channel state %u", ci.state);
	} else {
		kt_diff("unbinding while open leaves the channel open on the host (no CLOSE, "
			"the ring stays shared)");
		KT_ASSERT(ci.state == VMBUS_SIM_STATE_OPENED && ci.closes == 0,
			  "channel state %u closes %llu", ci.state, (unsigned long long)ci.closes);
		KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_CLOSE, ra), "CLOSE after all");
	}

	/* closed: the module goes, and takes the other bound device with it */
	err = kt_module_unload();
	errno = -err;
	KT_ASSERT(err == 0, "rmmod after the close");
	KT_ASSERT(!kt_exists("/sys/bus/vmbus/drivers/%s", kt_drv->name), "driver still registered");
	KT_ASSERT(kt_exists("/sys/bus/vmbus/devices/%s", b) && !*kt_bound(b),
		  "device %s after rmmod", b);
	err = kt_module_load();
	errno = -err;
	KT_ASSERT(err == 0, "insmod %s", kt_module_path);
	KT_ASSERT(kt_exists("/sys/bus/vmbus/drivers/%s", kt_drv->name), "driver not registered");

	/* their driver_override brings both back as the driver registers */
	KT_ASSERT(!strcmp(kt_bound(b), kt_drv->name), "%s not bound again", b);
	KT_ASSERT(!strcmp(kt_bound(a), kt_drv->name), "%s not bound again", a);
	fd = kt_uio_open(b);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, rb, KT_TIMEOUT_MS, NULL) == 0, "no OPEN of b");
	close(fd);
	snprintf(path, sizeof(path), "/dev/uio%d", kt_uio_index(a));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (kt_drv->closes_on_unbind) {
		errno = fd < 0 ? errno : 0;
		KT_ASSERT(fd >= 0, "open after rebinding");
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, ra, KT_TIMEOUT_MS, NULL) == 0, "no OPEN");
		close(fd);
	} else {
		/*
		 * The channel is still open from the first binding, so the
		 * new binding cannot connect it.  The failed open also renews
		 * the rescind callback, which pointed into the unloaded module.
		 */
		kt_diff("after an unbind while open, opening the device again fails (EINVAL)");
		KT_ASSERT(fd < 0 && errno == EINVAL, "open after rebinding: fd %d", fd);
	}
	kt_pass();
}
