/* SPDX-License-Identifier: MIT */
/*
 * The host rescinds while the first open() of the device waits for its
 * answer to an OPENCHANNEL, and offers a subchannel at that moment.
 * hv_vmbus handles offers and rescinds one at a time, and a subchannel's
 * rescind waits for the driver's callback for its offer: a driver whose
 * callback waits for the open would never see the rescind that ends the
 * open (the guest then panics on the hung task).  Here the open ends, the
 * rescinded channels are freed and the device still works.
 *
 * The channel whose answer is held back: the subchannel offered before the
 * open (drivers that open those), else the primary.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

struct opener {
	char path[64];
	int fd;
	int err;
	unsigned int done;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;

	o->fd = open(o->path, O_RDWR | O_CLOEXEC);
	o->err = o->fd < 0 ? errno : 0;
	__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void rescind_nowait(uint32_t relid)
{
	struct vmbus_sim_rescind r = { .relid = relid, .flags = VMBUS_SIM_RESCIND_NOWAIT };

	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_RESCIND, &r) == 0, "rescind relid %u", relid);
}

int main(int argc, char **argv)
{
	struct vmbus_sim_offer off;
	struct opener o = { .fd = -1 };
	uint32_t primary, held, early = 0, late;
	struct kt_host_chan hp = { 0 };
	pthread_t t;
	char guid[37];
	int r;

	kt_init(argc, argv, "rescinds and an offer while open() waits for the host");
	primary = kt_offer_bound(KT_CLASS_NIC, guid);
	if (kt_drv->opens_early_subchannels) {
		early = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
		held = early;
	} else {
		kt_diff("subchannels offered before the open are not opened: the primary's answer is held");
		held = primary;
	}
	kt_fault(held, VMBUS_SIM_FAULT_HOLD_OPEN);

	snprintf(o.path, sizeof(o.path), "/dev/uio%d", kt_uio_index(guid));
	KT_ASSERT(pthread_create(&t, NULL, opener_main, &o) == 0, "opener thread");
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, held, KT_TIMEOUT_MS, NULL) == 0,
		  "no OPEN of relid %u", held);
	KT_ASSERT(!__atomic_load_n(&o.done, __ATOMIC_ACQUIRE), "open() did not wait for the host");

	/* a subchannel offered now, then rescinded, then the held channel */
	r = kt_try_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 2, VMBUS_SIM_OFFER_NOWAIT, &off);
	errno = -r;
	KT_ASSERT(r == 0, "offer of subchannel 2");
	late = off.relid;
	rescind_nowait(late);
	rescind_nowait(held);

	KT_ASSERT(kt_wait_until_u32(&o.done, 1, KT_TIMEOUT_MS),
		  "open() still waits after the rescinds (deadlock)");
	pthread_join(t, NULL);
	/*
	 * hv_vmbus frees a rescinded subchannel whose open was still waiting
	 * only if the open gave up before the rescind looked (otherwise it
	 * keeps the channel for good, with any driver): only the device must
	 * go.
	 */
	if (held == primary)
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, held, KT_TIMEOUT_MS, NULL) == 0,
			  "relid %u (held, rescinded) was not freed", held);
	if (kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, late, KT_TIMEOUT_MS, NULL) != 0) {
		KT_ASSERT(kt_drv->leaks_subchannels_on_rescind,
			  "subchannel relid %u (offered and rescinded meanwhile) was not freed",
			  late);
		kt_diff("the subchannel it opened meanwhile stays after its rescind");
	}

	if (held == primary) {
		KT_ASSERT(o.fd < 0 && o.err == ENODEV, "open() of a rescinded device: %s",
			  o.fd < 0 ? strerror(o.err) : "succeeded");
		kt_note("open() failed with ENODEV: the device was rescinded");
	} else {
		/* the device lost a subchannel, not its primary: it works */
		KT_ASSERT(o.fd >= 0, "open() failed: %s", strerror(o.err));
		kt_host_attach(&hp, primary);
		{
			struct vmbus_device *dev = kt_dev_open(guid);

			kt_ping(vmbus_dev_primary(dev), &hp, 1);
			vmbus_dev_close(dev);
		}
		kt_host_detach(&hp);
		close(o.fd);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, primary, KT_TIMEOUT_MS, NULL) == 0,
			  "no CLOSE of the primary");
		kt_note("open() returned once the held subchannel was rescinded; the device works");
	}
	kt_pass();
}
