/* SPDX-License-Identifier: MIT */
/*
 * One device moved from Debian's uio_hv_generic to hv_uio and back,
 * without a reboot.  uio_hv_generic leaves behind what hv_uio must cope
 * with: the ring files of closed subchannels (whose rings are freed), and,
 * when it is unbound while open, the channel still open on the host and
 * its rescind and subchannel callbacks still set.  hv_uio removes the
 * stale files, closes the channel, clears the callbacks, and serves the
 * device; uio_hv_generic binds again after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

#define OTHER "uio_hv_generic"
#define OTHER_KO "/lib/modules/uio_hv_generic.ko"

static void bind_to(const char *guid, const char *driver)
{
	char path[128];
	int r;

	r = kt_override(guid, driver);
	errno = -r;
	KT_ASSERT(r == 0, "driver_override of %s to %s", guid, driver);
	snprintf(path, sizeof(path), "/sys/bus/vmbus/drivers/%s/bind", driver);
	r = kt_write(path, guid);
	errno = -r;
	KT_ASSERT(r == 0, "bind %s to %s", guid, driver);
}

static void unbind_from(const char *guid, const char *driver)
{
	char path[128];
	int r;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/drivers/%s/unbind", driver);
	r = kt_write(path, guid);
	errno = -r;
	KT_ASSERT(r == 0, "unbind %s from %s", guid, driver);
}

/* Opens the device with hv_uio, a packet each way on the primary and @sub. */
static void serve(const char *guid, uint32_t primary, uint32_t sub, int round)
{
	struct kt_host_chan hp = { 0 }, hs = { 0 };
	struct vmbus_device *dev = kt_dev_open(guid);
	int r;

	kt_host_attach(&hp, primary);
	kt_host_attach(&hs, sub);
	r = vmbus_dev_open_subchans(dev, 1, KT_TIMEOUT_MS);
	KT_ASSERT(r == 0, "round %d: the subchannel: %d %s", round, r, vmbus_dev_strerror(dev));
	kt_ping(vmbus_dev_primary(dev), &hp, round);
	kt_ping(vmbus_dev_chan(dev, 1), &hs, round);
	kt_host_detach(&hs);
	kt_host_detach(&hp);
	vmbus_dev_close(dev);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, primary, KT_TIMEOUT_MS, NULL) == 0,
		  "round %d: no CLOSE", round);
}

int main(int argc, char **argv)
{
	char guid[37], ring[160];
	uint32_t primary, sub;
	int fd, kfd, mfd, r;

	kt_init(argc, argv, "a device moved from uio_hv_generic to hv_uio and back");
	if (strcmp(kt_drv->name, "hv_uio"))
		kt_skip("hv_uio takes devices over from uio_hv_generic: runs with hv_uio");
	if (access(OTHER_KO, R_OK))
		kt_skip("no uio_hv_generic in this guest (it is Debian's 6.1 module)");
	mfd = open(OTHER_KO, O_RDONLY | O_CLOEXEC);
	KT_ASSERT(mfd >= 0 && syscall(SYS_finit_module, mfd, "", 0) == 0, "load " OTHER);
	close(mfd);
	kfd = kt_kmsg_open();

	kt_new_instance(guid);
	primary = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);

	/* uio_hv_generic: a subchannel opened while open, left with its file */
	bind_to(guid, OTHER);
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, primary, KT_TIMEOUT_MS, NULL) == 0, "no OPEN");
	sub = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
	KT_ASSERT(kt_wait_opened(sub), OTHER " did not open the subchannel");
	snprintf(ring, sizeof(ring), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, sub);
	KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "%s", ring), "no ring file for the subchannel");
	close(fd);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, sub, KT_TIMEOUT_MS, NULL) == 0,
		  "the subchannel was not closed");
	kt_ev_flush();
	if (kt_exists("%s", ring))
		kt_note(OTHER " left the closed subchannel's ring file behind");
	unbind_from(guid, OTHER);

	/* hv_uio: stale file removed, device served */
	bind_to(guid, "hv_uio");
	KT_ASSERT(!kt_exists("%s", ring) || kt_gen() >= VMBUS_SIM_GEN_6_15,
		  "the stale ring file survived hv_uio's probe");
	serve(guid, primary, sub, 1);
	unbind_from(guid, "hv_uio");

	/* back to uio_hv_generic, which creates its files again */
	bind_to(guid, OTHER);
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, primary, KT_TIMEOUT_MS, NULL) == 0,
		  "no OPEN by " OTHER " after hv_uio");
	/* unbound while open: the channel stays open, the callbacks stay set */
	unbind_from(guid, OTHER);
	close(fd);
	KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_CLOSE, primary), OTHER " closed the channel after all");
	kt_note(OTHER " unbound while open left the channel open");

	/* hv_uio closes the channel left open and serves the device again */
	bind_to(guid, "hv_uio");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, primary, KT_TIMEOUT_MS, NULL) == 0,
		  "hv_uio did not close the channel left open");
	serve(guid, primary, sub, 2);

	/* a rescind now reaches hv_uio, not the callback uio_hv_generic left */
	kt_rescind(primary);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, primary, KT_TIMEOUT_MS, NULL) == 0,
		  "the device was not freed by its rescind");
	KT_ASSERT(!kt_kmsg_find(kfd, "duplicate filename"), "sysfs reported a duplicate ring file");
	close(kfd);
	r = syscall(SYS_delete_module, OTHER, O_NONBLOCK);
	KT_ASSERT(r == 0, "rmmod " OTHER);
	kt_pass();
}
