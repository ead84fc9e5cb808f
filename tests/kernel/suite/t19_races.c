/* SPDX-License-Identifier: MIT */
/*
 * Races between a thread that opens, writes and closes /dev/uioN without
 * pause and the host: subchannels offered while the device opens and
 * closes; subchannels offered and rescinded while it is held open; the
 * device rescinded under the opener.  Nothing may deadlock (the guest
 * panics on a task hung for 30 s); at the end every channel is closed and
 * freed.
 *
 * Not raced here: the host rescinding a closed subchannel while the device
 * closes.  hv_vmbus's vmbus_disconnect_ring() then waits for a rescind
 * that frees the channel instead of signalling it, with any driver (see
 * kmod-hv/README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define SUBS 16

struct opener {
	char path[64];
	int stop;
	bool write;		/* write 0 and 1 after each open */
	unsigned int allowed;	/* opens the test lets it make */
	unsigned int opens;
	int err;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	uint32_t v;
	int fd;

	while (!__atomic_load_n(&o->stop, __ATOMIC_ACQUIRE)) {
		/* paced: every open and close makes events the host must read */
		if (__atomic_load_n(&o->opens, __ATOMIC_RELAXED) >=
		    __atomic_load_n(&o->allowed, __ATOMIC_ACQUIRE)) {
			sched_yield();
			continue;
		}
		fd = open(o->path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			o->err = errno;
			break;
		}
		__atomic_add_fetch(&o->opens, 1, __ATOMIC_RELEASE);
		v = 0;
		if (o->write && write(fd, &v, sizeof(v)) == sizeof(v)) {
			v = 1;
			(void)!write(fd, &v, sizeof(v));
		}
		close(fd);
	}
	return NULL;
}

static void start(struct opener *o, pthread_t *t, const char *guid)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "/dev/uio%d", kt_uio_index(guid));
	/* uio_hv_generic's write() oopses while a subchannel is not open */
	o->write = !kt_drv->irq_write_oopses_on_closed_subchannel;
	KT_ASSERT(pthread_create(t, NULL, opener_main, o) == 0, "thread");
}

static void stop(struct opener *o, pthread_t t)
{
	__atomic_store_n(&o->stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

/* Lets the opener open (and close) the device @k more times, and waits for it. */
static void let_open(struct opener *o, unsigned int k)
{
	unsigned int want = __atomic_add_fetch(&o->allowed, k, __ATOMIC_RELEASE);

	KT_ASSERT(kt_wait_until_u32(&o->opens, want, KT_TIMEOUT_MS),
		  "the opener is stuck after %u opens", o->opens);
}

static uint32_t offer_sub(const char *guid, uint16_t index)
{
	struct vmbus_sim_offer off;
	int r = kt_try_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, index,
			     VMBUS_SIM_OFFER_NOWAIT, &off);

	errno = -r;
	KT_ASSERT(r == 0, "offer of subchannel %u", index);
	return off.relid;
}

static uint32_t state(uint32_t relid)
{
	struct vmbus_sim_chan_info ci;

	KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info %u", relid);
	return ci.state;
}

int main(int argc, char **argv)
{
	uint32_t primary, other, relid[2 * SUBS];
	unsigned int i, n = 0, before, released = 0;
	struct opener o;
	char guid[37], guid2[37];
	pthread_t t;
	int kfd, fd, leaked;

	kt_init(argc, argv, "opens, writes and closes racing the host's offers and rescinds");
	before = kt_nr_channels();
	primary = kt_offer_bound(KT_CLASS_NIC, guid);
	kfd = kt_kmsg_open();

	/* offers while the device opens and closes */
	start(&o, &t, guid);
	for (i = 0; i < SUBS; i++, n++) {
		relid[n] = offer_sub(guid, (uint16_t)(n + 1));
		let_open(&o, 1 + i % 3);
	}
	stop(&o, t);
	kt_note("%u opens while %u subchannels were offered", o.opens, SUBS);
	KT_ASSERT(o.opens > 0 && !o.err, "the opener stopped: %s", strerror(o.err));

	/*
	 * held open: every subchannel opens (where the driver reopens them
	 * all).  The offers were made without waiting: one the guest kernel
	 * had not processed when open() ran is opened after it, by the
	 * driver's subchannel callback.
	 */
	fd = kt_uio_open(guid);
	if (kt_drv->reopens_subchannels && kt_drv->opens_early_subchannels)
		for (i = 0; i < n; i++)
			KT_ASSERT(kt_wait_opened(relid[i]), "subchannel relid %u not open, state %u",
				  relid[i], state(relid[i]));

	/* offers and rescinds while it stays open, opened and written meanwhile */
	start(&o, &t, guid);
	for (i = 0; i < SUBS; i++, n++) {
		relid[n] = offer_sub(guid, (uint16_t)(n + 1));
		let_open(&o, i % 2);
		kt_rescind(relid[n]);
		kt_rescind(relid[i]);
		let_open(&o, 1);
	}
	stop(&o, t);
	KT_ASSERT(o.opens > 0 && !o.err, "the opener stopped: %s", strerror(o.err));
	close(fd);
	kt_rescind(primary);

	/* a device rescinded while it is being opened and closed */
	other = kt_offer_bound(KT_CLASS_NIC, guid2);
	start(&o, &t, guid2);
	let_open(&o, 3);
	__atomic_add_fetch(&o.allowed, 200, __ATOMIC_RELEASE);
	kt_rescind(other);
	stop(&o, t);
	kt_note("%u opens; the opener %s", o.opens,
		o.err ? "saw the device go" : "did not reach the device's end");
	KT_ASSERT(!kt_exists("%s", o.path), "%s outlived the rescind", o.path);

	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, primary, KT_TIMEOUT_MS, NULL) == 0 &&
			  kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, other, KT_TIMEOUT_MS, NULL) == 0,
		  "a device was not freed");
	for (i = 0; i < n; i++)
		if (kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, relid[i],
			       kt_drv->leaks_subchannels_on_rescind ? 0 : KT_TIMEOUT_MS, NULL) == 0)
			released++;
	leaked = kt_kmsg_count(kfd, "pages are leaked");
	close(kfd);
	if (kt_drv->leaks_subchannels_on_rescind) {
		kt_diff("%u of %u subchannels freed, %d rings leaked", released, n, leaked);
	} else {
		KT_ASSERT(released == n, "%u of %u subchannels freed", released, n);
		KT_ASSERT(leaked == 0, "%d rings leaked", leaked);
		KT_ASSERT(kt_nr_channels() == before, "the guest holds %u channels, %u before",
			  kt_nr_channels(), before);
	}
	kt_pass();
}
