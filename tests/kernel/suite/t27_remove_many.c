/* SPDX-License-Identifier: MIT */
/*
 * Several devices removed at once, each open with a subchannel and a
 * reader blocked in read(): the host rescinds everything in one go (as
 * when it dies), then, with fresh devices bound but idle, the driver is
 * unloaded.  Every reader gets EIO, every channel is freed, and the driver
 * module goes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ktest.h"

#define DEVS 6

int main(int argc, char **argv)
{
	struct vmbus_sim_rescind all = { .relid = VMBUS_SIM_RELID_ALL };
	struct kt_reader rd[DEVS];
	uint32_t primary[DEVS], sub[DEVS];
	char guid[DEVS][37];
	unsigned int i, before;
	int fd[DEVS], err;

	kt_init(argc, argv, "several devices removed at once");
	before = kt_nr_channels();
	for (i = 0; i < DEVS; i++) {
		primary[i] = kt_offer_bound(KT_CLASS_NIC, guid[i]);
		fd[i] = kt_uio_open(guid[i]);
		sub[i] = kt_offer(KT_CLASS_NIC, guid[i], VMBUS_SIM_MONITOR_ANY, 1, 0);
		KT_ASSERT(kt_wait_opened(sub[i]), "subchannel of device %u not opened", i);
		kt_reader_start(&rd[i], fd[i]);
	}
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_RESCIND, &all) == 0, "rescind everything");
	for (i = 0; i < DEVS; i++) {
		kt_reader_join(&rd[i]);
		KT_ASSERT(rd[i].n < 0 && rd[i].err == EIO, "reader of device %u: %zd %s", i,
			  rd[i].n, strerror(rd[i].err));
		close(fd[i]);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, primary[i], KT_TIMEOUT_MS, NULL) ==
				  0,
			  "device %u not freed", i);
		if (kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, sub[i],
			       kt_drv->leaks_subchannels_on_rescind ? 0 : KT_TIMEOUT_MS, NULL))
			KT_ASSERT(kt_drv->leaks_subchannels_on_rescind,
				  "subchannel of device %u not freed", i);
	}
	if (kt_drv->leaks_subchannels_on_rescind)
		kt_diff("subchannels open at rescind are never freed");
	else
		KT_ASSERT(kt_nr_channels() == before, "the guest holds %u channels, %u before",
			  kt_nr_channels(), before);

	/* idle devices, all unbound by the unload */
	for (i = 0; i < DEVS; i++)
		primary[i] = kt_offer_bound(KT_CLASS_NIC, guid[i]);
	err = kt_module_unload();
	KT_ASSERT(err == 0, "rmmod with %u devices bound: %d", DEVS, err);
	for (i = 0; i < DEVS; i++)
		KT_ASSERT(!*kt_bound(guid[i]), "device %u still bound", i);
	KT_ASSERT(kt_module_load() == 0, "reload the driver");
	kt_pass();
}
