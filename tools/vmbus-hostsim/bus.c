/* SPDX-License-Identifier: MIT */
/*
 * The bus and the host ring engine.
 *
 * Host ring rules (OpenVMM vmbus_ring and QEMU vmbus agree):
 *   - at open the host resets both ring headers, as the guest kernel does
 *     at connect, and waits for the guest's first signal (chan_connect);
 *   - it drains with that mask set, and when it finds the ring empty it
 *     clears the mask, issues a full barrier and looks again before it
 *     sleeps, so a packet that raced the mask is never left behind;
 *   - it signals the guest only on empty-to-non-empty with the guest's
 *     mask clear (vmbus_ring_write_commit decides), and after reading only
 *     when the guest's pending_send_sz is crossed;
 *   - when its own ring is full it sets pending_send_sz to at least a
 *     quarter of the ring and waits for the guest's signal;
 *   - monitor trigger bits and explicit signals mean the same thing; the
 *     monitor page is scanned every latency interval (Hyper-V batches
 *     monitored signals by latency; netvsp offers use 100 us).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "hostsim.h"

int hs_verbose;

static void vlog(const char *fmt, va_list ap)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "vmbus-hostsim[%ld.%03ld]: ", (long)ts.tv_sec % 100000,
		ts.tv_nsec / 1000000);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void hs_log(const char *fmt, ...)
{
	va_list ap;

	if (hs_verbose < 0)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void hs_debug_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

uint64_t hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hs_watch_add(struct hs_bus *bus, struct hs_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(bus->epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

int hs_watch_mod(struct hs_bus *bus, struct hs_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(bus->epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void hs_watch_del(struct hs_bus *bus, struct hs_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(bus->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (bus->dispatching && bus->ngone < HS_MAX_GONE)
		bus->gone[bus->ngone++] = w;
}

static void timer_update(struct hs_bus *bus);

/* ------------------------------------------------------------------------ */
/* allocation of relids, monitor ids, UIO indices                            */
/* ------------------------------------------------------------------------ */

static bool relid_used(struct hs_bus *bus, uint32_t relid)
{
	unsigned int i, j;

	for (i = 0; i < HS_MAX_DEVS; i++) {
		struct hs_dev *d = bus->devs[i];

		for (j = 0; d && j < d->nchans; j++)
			if (d->chans[j] && d->chans[j]->relid == relid)
				return true;
	}
	return false;
}

/* Lowest free relid from 1, as both hosts assign them. */
static uint32_t alloc_relid(struct hs_bus *bus)
{
	uint32_t r;

	for (r = 1; r < 2048; r++)
		if (!relid_used(bus, r))
			return r;
	return 0;
}

static uint8_t alloc_monitor_id(struct hs_bus *bus)
{
	unsigned int i;

	if (!bus->opts.monitored)
		return VMBUS_MONITOR_ID_NONE;
	for (i = 0; i <= VMBUS_MONITOR_ID_MAX; i++)
		if (!bus->by_monitor[i])
			return (uint8_t)i;
	/* like a host out of monitor ids: the channel is signalled explicitly */
	return VMBUS_MONITOR_ID_NONE;
}

static unsigned int alloc_uio_index(struct hs_bus *bus)
{
	unsigned int n, i;

	for (n = 0;; n++) {
		bool used = false;

		for (i = 0; i < HS_MAX_DEVS; i++)
			if (bus->devs[i] && bus->devs[i]->uio_index == n)
				used = true;
		if (!used)
			return n;
	}
}

static struct hs_chan *chan_new(struct hs_dev *dev, uint16_t subidx)
{
	struct hs_chan *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->dev = dev;
	ch->subidx = subidx;
	ch->relid = alloc_relid(dev->bus);
	ch->monitor_id = dev->monitored ? alloc_monitor_id(dev->bus) : VMBUS_MONITOR_ID_NONE;
	if (!ch->relid) {
		free(ch);
		return NULL;
	}
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE)
		dev->bus->by_monitor[ch->monitor_id] = ch;
	dev->chans[subidx] = ch;
	if (subidx >= dev->nchans)
		dev->nchans = subidx + 1u;
	return ch;
}

/* ------------------------------------------------------------------------ */
/* channels                                                                  */
/* ------------------------------------------------------------------------ */

int hs_chan_signal_guest(struct vmbus_chan *vc, void *arg)
{
	struct hs_chan *ch = arg;

	(void)vc;
	ch->signals_out++;
	return ch->dev->bus->tp->ops->signal(ch->dev->bus->tp, ch);
}

/*
 * Attaches to the channel's rings.  Where the host also plays the guest
 * kernel (the file transport), it first resets both ring headers as the
 * kernel does at connect; a kernel transport's guest has done that itself.
 */
static int chan_connect(struct hs_chan *ch)
{
	struct hs_dev *dev = ch->dev;
	size_t g2h_size = ch->g2h_size ? ch->g2h_size : ch->ring_size / 2;
	struct vmbus_ring_hdr *g2h = ch->ring_mem;
	struct vmbus_ring_hdr *h2g = (void *)((uint8_t *)ch->ring_mem + g2h_size);
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };
	int err;

	if (!ch->ring_mem || g2h_size >= ch->ring_size)
		return -EINVAL;
	if (dev->bus->tp->ops->plays_kernel) {
		vmbus_ring_hdr_init(g2h);
		vmbus_ring_hdr_init(h2g);
	}
	/*
	 * Where the host opens the channel before the guest's open() returns
	 * (the file transport), it waits for the guest's signal from the
	 * start: the mask is clear, and the host does not look at the ring
	 * before a signal.  A guest must signal its first packet as every
	 * other; one that never signals gets no answer.  (OpenVMM's worker
	 * masks the ring at open and looks once; a guest that signals on
	 * mask-clear-and-empty works with both.)  Through a kernel, the guest
	 * may have written before the host learns of the open: there the
	 * host masks and looks once, as OpenVMM's worker does.
	 */
	__atomic_store_n(&g2h->interrupt_mask, dev->bus->tp->ops->plays_kernel ? 0u : 1u,
			 __ATOMIC_RELEASE);
	o.tx = h2g;
	o.tx_size = ch->ring_size - g2h_size;
	o.rx = g2h;
	o.rx_size = g2h_size;
	o.hdr_size = VMBUS_HV_PAGE_SIZE;
	o.relid = ch->relid;
	o.signal = hs_chan_signal_guest;
	o.signal_arg = ch;
	err = vmbus_chan_attach(&o, &ch->vc);
	if (err)
		return err;
	ch->open = true;
	ch->stopped = false;
	ch->tx_blocked = false;
	hs_debug("%s: channel %u (relid %u) open", dev->guid, ch->subidx, ch->relid);
	if (!dev->bus->tp->ops->plays_kernel)
		hs_chan_kick(ch);
	return 0;
}

static void chan_disconnect(struct hs_chan *ch)
{
	if (ch->vc)
		vmbus_chan_detach(ch->vc);
	ch->vc = NULL;
	ch->open = false;
	ch->kicked = false;
}

static void chan_free(struct hs_chan *ch)
{
	struct hs_bus *bus = ch->dev->bus;

	chan_disconnect(ch);
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE && bus->by_monitor[ch->monitor_id] == ch)
		bus->by_monitor[ch->monitor_id] = NULL;
	ch->dev->chans[ch->subidx] = NULL;
	free(ch);
}

void hs_chan_kick(struct hs_chan *ch)
{
	ch->kicked = true;
	ch->dev->bus->work = true;
}

void hs_chan_stop(struct hs_chan *ch, const char *why)
{
	if (ch->stopped)
		return;
	ch->stopped = true;
	hs_log("%s: channel %u (relid %u): %s; the host stops serving it", ch->dev->guid,
	       ch->subidx, ch->relid, why);
}

int hs_chan_wait_tx(struct hs_chan *ch, uint32_t bytes)
{
	uint32_t quarter = ((vmbus_ring_data_size(vmbus_chan_tx_ring(ch->vc)) - 8) / 4 + 7) & ~7u;
	int ret;

	/* publish what is queued first: the guest sees only published records,
	 * so room counted against unpublished ones would never be signalled */
	if (vmbus_chan_flush(ch->vc) < 0) {
		hs_chan_stop(ch, "the guest corrupted the host-to-guest ring");
		return -EPROTO;
	}
	/* wait for a quarter of the ring at least, so the two sides do not
	 * ping-pong over every packet (OpenVMM's rule) */
	ret = vmbus_ring_write_wait(vmbus_chan_tx_ring(ch->vc), bytes > quarter ? bytes : quarter);
	if (ret < 0) {
		hs_chan_stop(ch, "the guest corrupted the host-to-guest ring");
		return ret;
	}
	if (ret == 0)
		ch->tx_blocked = true;
	else
		/* the room is there already (the first look used an old read
		 * index): nobody will signal for it, so come back at once */
		hs_chan_kick(ch);
	return ret;
}

/* A guest signal for @ch: explicit, by monitor bit, or by irqcontrol. */
static void chan_signalled(struct hs_chan *ch)
{
	ch->signals_in++;
	hs_debug("%s: guest signal on channel %u", ch->dev->guid, ch->subidx);
	if (!ch->open)
		return;
	if (ch->tx_blocked) {
		/* the guest freed space; take our request back if it is enough */
		int ret = vmbus_ring_write_wait(vmbus_chan_tx_ring(ch->vc), 0);

		(void)ret;
		ch->tx_blocked = false;
	}
	hs_chan_kick(ch);
}

/* Drains what the guest wrote, with the host's mask set while it works. */
static void chan_service(struct hs_chan *ch)
{
	struct hs_dev *dev = ch->dev;
	struct vmbus_ring *rx = vmbus_chan_rx_ring(ch->vc);
	bool fail_mode = dev->bus->opts.reaction == HS_REACT_FAIL;
	unsigned int budget = 512;
	struct vmbus_pkt pkt;
	int ret;

	ch->kicked = false;
	if (ch->stopped || ch->tx_blocked)
		return;
	vmbus_ring_disarm(rx);
	for (;;) {
		if (budget-- == 0) {
			/* come back after the other channels had their turn */
			hs_chan_kick(ch);
			break;
		}
		ret = vmbus_chan_peek(ch->vc, &pkt);
		if (ret == -EAGAIN) {
			/* empty: clear the mask, barrier, look again, then sleep */
			ret = vmbus_ring_arm(rx);
			if (ret == 0)
				break;
			if (ret > 0) {
				vmbus_ring_disarm(rx);
				continue;
			}
		}
		if (ret == -EBADMSG && !fail_mode) {
			hs_chan_stop(ch, "the guest sent a malformed GPA-direct packet");
			break;
		}
		if (ret < 0 && ret != -EBADMSG) {
			const char *why = vmbus_chan_broken(ch->vc);

			hs_chan_stop(ch, why ? why : "the guest wrote a corrupt ring");
			break;
		}
		/* a malformed packet in fail mode still goes to the device, which
		 * answers it with a failure */
		ret = dev->ops->packet(ch, &pkt);
		if (ret == -EAGAIN)
			break; /* retried when room appears */
		if (ret == -EPROTO && !fail_mode) {
			hs_chan_stop(ch, "the guest broke the NetVSP protocol");
			break;
		}
		vmbus_chan_consume(ch->vc);
		if (ch->stopped || !ch->vc)
			break;
	}
	if (ch->vc) {
		/* hand the space back, and signal a guest waiting for it */
		if (!ch->stopped)
			vmbus_chan_recv_commit(ch->vc);
		/* what was answered before a violation still goes out */
		vmbus_chan_flush(ch->vc);
	}
}

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

struct hs_dev *hs_find_dev(struct hs_bus *bus, const char *guid)
{
	struct vmbus_guid g;
	unsigned int i;

	if (!guid) {
		/* the commands that name no device mean the (first) network adapter */
		for (i = 0; i < HS_MAX_DEVS; i++)
			if (bus->devs[i] && bus->devs[i]->is_nic)
				return bus->devs[i];
		return NULL;
	}
	if (vmbus_guid_parse(guid, &g))
		return NULL;
	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && vmbus_guid_equal(&bus->devs[i]->instance, &g))
			return bus->devs[i];
	return NULL;
}

static void random_guid(struct vmbus_guid *g)
{
	FILE *f = fopen("/dev/urandom", "rb");
	size_t n = f ? fread(g->b, 1, sizeof(g->b), f) : 0;

	if (f)
		fclose(f);
	if (n != sizeof(g->b)) {
		uint64_t t = hs_now_ns();

		memcpy(g->b, &t, sizeof(t));
		memcpy(g->b + 8, &t, sizeof(t));
	}
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40); /* version 4 */
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

int hs_offer_nic(struct hs_bus *bus, const struct vmbus_guid *guid, struct hs_dev **out)
{
	static const struct vmbus_guid nic = VMBUS_CLASS_NIC;

	return hs_offer_dev(bus, &nic, guid, NULL, bus->opts.monitored, out);
}

int hs_offer_dev(struct hs_bus *bus, const struct vmbus_guid *class_id,
		 const struct vmbus_guid *guid, const char *kernel_driver, bool monitored,
		 struct hs_dev **out)
{
	static const struct vmbus_guid nic = VMBUS_CLASS_NIC;
	struct hs_dev *dev;
	unsigned int slot, i;
	int err;

	for (slot = 0; slot < HS_MAX_DEVS && bus->devs[slot]; slot++)
		;
	if (slot == HS_MAX_DEVS)
		return -ENOSPC;
	for (i = 0; guid && i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && vmbus_guid_equal(&bus->devs[i]->instance, guid))
			return -EEXIST;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->bus = bus;
	dev->class_id = *class_id;
	if (guid)
		dev->instance = *guid;
	else
		random_guid(&dev->instance);
	vmbus_guid_format(&dev->instance, dev->guid);
	dev->kernel_driver = kernel_driver;
	dev->is_nic = !kernel_driver && vmbus_guid_equal(class_id, &nic);
	dev->monitored = monitored;
	dev->uio_index = alloc_uio_index(bus);
	dev->ring_size = bus->opts.ring_size;
	dev->recv_size = bus->opts.recv_size;
	dev->send_size = bus->opts.send_size;
	/* GPADL handles count up from where Linux starts them */
	dev->recv_gpadl = bus->next_gpadl++;
	dev->send_gpadl = bus->next_gpadl++;
	dev->ops = kernel_driver ? &hs_offer_only_ops : &hs_netvsp_ops;
	bus->devs[slot] = dev;
	bus->ndevs++;
	if (!chan_new(dev, 0)) {
		err = -ENOSPC;
		goto fail;
	}
	/* a device no UIO driver holds has no UIO index */
	if (dev->kernel_driver)
		dev->uio_index = UINT_MAX;
	err = dev->kernel_driver ? 0 : hs_netvsp_create(dev);
	if (err)
		goto fail;
	err = bus->tp->ops->offer(bus->tp, dev);
	if (err)
		goto fail;
	if (kernel_driver)
		hs_log("offered %s %s (relid %u, %s, held by %s)",
		       vmbus_class_name(class_id) ? vmbus_class_name(class_id) : "device", dev->guid,
		       dev->chans[0]->relid,
		       dev->chans[0]->monitor_id == VMBUS_MONITOR_ID_NONE ? "not monitored" :
									    "monitored",
		       kernel_driver);
	else
		hs_log("offered network adapter %s (relid %u, %s, /dev/uio%u)", dev->guid,
		       dev->chans[0]->relid,
		       dev->chans[0]->monitor_id == VMBUS_MONITOR_ID_NONE ? "not monitored" :
									    "monitored",
		       dev->uio_index);
	if (out)
		*out = dev;
	return 0;
fail:
	/* what the transport made of it before failing goes too */
	if (dev->tpriv)
		bus->tp->ops->rescind(bus->tp, dev);
	if (dev->chans[0])
		chan_free(dev->chans[0]);
	if (dev->priv)
		dev->ops->free(dev);
	bus->devs[slot] = NULL;
	bus->ndevs--;
	free(dev);
	return err;
}

int hs_offer_subchan(struct hs_dev *dev, uint16_t subidx, struct hs_chan **out)
{
	struct hs_chan *ch;
	int err;

	if (subidx == 0 || subidx >= HS_MAX_CHANS || dev->chans[subidx])
		return -EINVAL;
	ch = chan_new(dev, subidx);
	if (!ch)
		return -ENOSPC;
	err = dev->bus->tp->ops->offer_chan(dev->bus->tp, ch);
	if (err) {
		chan_free(ch);
		return err;
	}
	/* the file transport's rings are open at once (it attached the host
	 * before showing the ring); a kernel's guest opens them later
	 * (hs_chan_ready) */
	if (ch->ring_mem && !ch->open && (err = chan_connect(ch))) {
		dev->bus->tp->ops->rescind_chan(dev->bus->tp, ch);
		chan_free(ch);
		return err;
	}
	hs_debug("%s: offered subchannel %u (relid %u)", dev->guid, subidx, ch->relid);
	if (out)
		*out = ch;
	return 0;
}

/* Closes every channel; subchannels are revoked (removed) as netvsp does
 * when the primary closes, the primary stays offered. */
static void dev_close_chans(struct hs_dev *dev)
{
	struct hs_transport *tp = dev->bus->tp;
	unsigned int i;

	for (i = 1; i < HS_MAX_CHANS; i++) {
		struct hs_chan *ch = dev->chans[i];

		if (!ch)
			continue;
		chan_disconnect(ch);
		tp->ops->rescind_chan(tp, ch);
		chan_free(ch);
	}
	dev->nchans = 1;
	chan_disconnect(dev->chans[0]);
}

void hs_chan_ready(struct hs_chan *ch)
{
	int err;

	if (ch->subidx == 0) {
		hs_dev_opened(ch->dev);
		return;
	}
	err = chan_connect(ch);
	if (err)
		hs_log("%s: cannot attach to subchannel %u: %s", ch->dev->guid, ch->subidx,
		       strerror(-err));
}

void hs_chan_closed(struct hs_chan *ch)
{
	if (ch->subidx == 0)
		hs_dev_closed(ch->dev);
	else
		chan_disconnect(ch);
}

void hs_chan_signalled(struct hs_chan *ch)
{
	chan_signalled(ch);
}

void hs_chan_set_ids(struct hs_chan *ch, uint32_t relid, uint8_t monitor_id)
{
	struct hs_bus *bus = ch->dev->bus;

	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE && bus->by_monitor[ch->monitor_id] == ch)
		bus->by_monitor[ch->monitor_id] = NULL;
	ch->relid = relid;
	ch->monitor_id = monitor_id;
	if (monitor_id != VMBUS_MONITOR_ID_NONE && monitor_id <= VMBUS_MONITOR_ID_MAX)
		bus->by_monitor[monitor_id] = ch;
}

struct hs_chan *hs_find_chan(struct hs_bus *bus, uint32_t relid)
{
	unsigned int i, j;

	for (i = 0; i < HS_MAX_DEVS; i++) {
		struct hs_dev *d = bus->devs[i];

		for (j = 0; d && j < d->nchans; j++)
			if (d->chans[j] && d->chans[j]->relid == relid)
				return d->chans[j];
	}
	return NULL;
}

void hs_dev_opened(struct hs_dev *dev)
{
	int err;

	if (dev->rescinded || dev->connected)
		return;
	err = chan_connect(dev->chans[0]);
	if (err) {
		hs_log("%s: cannot connect the primary channel: %s", dev->guid, strerror(-err));
		return;
	}
	dev->connected = true;
	hs_log("%s: opened by the guest", dev->guid);
	dev->ops->open(dev);
	timer_update(dev->bus);
}

void hs_dev_closed(struct hs_dev *dev)
{
	if (!dev->connected)
		return;
	dev->ops->close(dev);
	dev_close_chans(dev);
	dev->connected = false;
	hs_log("%s: closed by the guest", dev->guid);
	timer_update(dev->bus);
}

/*
 * The UIO irqcontrol write: the guest kernel sets every channel's incoming
 * mask to !value and, when enabling, signals the host for each channel
 * without a monitor id (uio_hv_generic since 6.16).
 */
void hs_dev_irqcontrol(struct hs_dev *dev, int32_t value)
{
	unsigned int i;

	for (i = 0; i < dev->nchans; i++) {
		struct hs_chan *ch = dev->chans[i];

		if (!ch || !ch->open)
			continue;
		__atomic_store_n(&vmbus_ring_hdr(vmbus_chan_tx_ring(ch->vc))->interrupt_mask,
				 value ? 0u : 1u, __ATOMIC_SEQ_CST);
		if (value && ch->monitor_id == VMBUS_MONITOR_ID_NONE)
			chan_signalled(ch);
	}
}

static void dev_free(struct hs_dev *dev)
{
	struct hs_bus *bus = dev->bus;
	unsigned int i;

	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i] == dev)
			bus->devs[i] = NULL;
	bus->ndevs--;
	for (i = 0; i < HS_MAX_CHANS; i++)
		if (dev->chans[i])
			chan_free(dev->chans[i]);
	dev->ops->free(dev);
	free(dev);
}

void hs_rescind(struct hs_dev *dev)
{
	struct hs_bus *bus = dev->bus;

	hs_log("%s: rescinded", dev->guid);
	dev->rescinded = true;
	if (dev->connected) {
		dev->ops->close(dev);
		dev->connected = false;
	}
	/* subchannels go before the primary, as a host removes them */
	dev_close_chans(dev);
	bus->tp->ops->rescind(bus->tp, dev);
	dev_free(dev);
	timer_update(bus);
}

/* ------------------------------------------------------------------------ */
/* the loop                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Scans the monitor page every latency interval while a device is open;
 * otherwise once a second, for the live attributes.  The loop keeps the
 * time as its wait's timeout, not in a timer file: reading a timer file
 * at every tick cost a system call per 100 us on top of the wakeup.
 */
static void timer_update(struct hs_bus *bus)
{
	uint64_t ns = 1000000000u;
	unsigned int i;

	for (i = 0; bus->monitor && i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && bus->devs[i]->connected)
			ns = (uint64_t)bus->opts.latency_us * 1000u;
	/* idle for a while: scan ten times less often until the next signal */
	if (ns < 1000000000u && bus->quiet_scans >= HS_IDLE_SCANS)
		ns *= 10;
	if (ns == bus->timer_ns)
		return;
	bus->timer_ns = ns;
	bus->next_tick_ns = hs_now_ns() + ns;
}

/* Picks up monitor trigger bits: the guest's signals for monitored channels.
 * Returns whether there was any. */
static bool scan_monitor(struct hs_bus *bus)
{
	uint32_t *send_bits;
	bool found = false;
	unsigned int g, i;

	if (!bus->monitor)
		return false; /* the transport reports monitor signals itself */
	send_bits = (uint32_t *)(bus->int_page + VMBUS_INT_PAGE_SEND_OFFSET);

	for (g = 0; g < VMBUS_MONITOR_GROUPS; g++) {
		uint32_t bits;

		if (!__atomic_load_n(&bus->monitor->trigger_group[g].pending, __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(&bus->monitor->trigger_group[g].pending, 0,
					   __ATOMIC_ACQ_REL);
		found = found || bits;
		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctz(bits);
			struct hs_chan *ch = bus->by_monitor[g * VMBUS_MONITOR_BITS + b];

			bits &= bits - 1;
			if (ch)
				chan_signalled(ch);
		}
	}
	/* the interrupt page bits say the same, for hosts that read them */
	for (i = 0; i < VMBUS_INT_PAGE_SEND_OFFSET / 4; i++)
		if (__atomic_load_n(&send_bits[i], __ATOMIC_RELAXED))
			__atomic_store_n(&send_bits[i], 0, __ATOMIC_RELAXED);
	return found;
}

static void dev_work(struct hs_dev *dev)
{
	struct hs_bus *bus = dev->bus;
	unsigned int j;

	for (j = 0; j < dev->nchans; j++) {
		struct hs_chan *ch = dev->chans[j];

		if (ch && ch->open && (ch->kicked || bus->opts.busy_poll))
			chan_service(ch);
	}
}

static void dev_poll(struct hs_dev *dev)
{
	if (dev->ops->poll)
		dev->ops->poll(dev);
}

static void run_work(struct hs_bus *bus)
{
	int (*guard)(struct hs_transport *, struct hs_dev *, void (*)(struct hs_dev *)) =
		bus->tp->ops->guard;
	unsigned int i;

	bus->work = false;
	for (i = 0; i < HS_MAX_DEVS; i++) {
		struct hs_dev *dev = bus->devs[i];

		if (!dev || !dev->connected)
			continue;
		if (guard)
			guard(bus->tp, dev, dev_work);
		else
			dev_work(dev);
		/* the device may be gone after a channel's packet (rescind fault) */
		if (bus->devs[i] != dev)
			continue;
		if (guard)
			guard(bus->tp, dev, dev_poll);
		else
			dev_poll(dev);
	}
}

static uint64_t last_attrs_ns;

static void timer_tick(struct hs_bus *bus, uint64_t now)
{
	unsigned int i;

	if (scan_monitor(bus)) {
		bus->work = true;
		if (bus->quiet_scans >= HS_IDLE_SCANS) {
			bus->quiet_scans = 0;
			timer_update(bus);
		}
		bus->quiet_scans = 0;
	} else if (++bus->quiet_scans == HS_IDLE_SCANS) {
		timer_update(bus);
	}
	if (now - last_attrs_ns >= 1000000000u) {
		last_attrs_ns = now;
		for (i = 0; i < HS_MAX_DEVS; i++)
			if (bus->devs[i])
				bus->tp->ops->update_attrs(bus->tp, bus->devs[i]);
	}
	/* device work that waits for time (delayed completions, link changes) */
	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i] && bus->devs[i]->timed_work)
			bus->work = true;
}

int hs_bus_init(struct hs_bus *bus, const struct hs_opts *opts)
{
	memset(bus, 0, sizeof(*bus));
	bus->opts = *opts;
	bus->next_gpadl = 0xe1e10;
	bus->started_ns = hs_now_ns();
	bus->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (bus->epfd < 0)
		return -errno;
	timer_update(bus);
	return 0;
}

void hs_bus_fini(struct hs_bus *bus)
{
	unsigned int i;

	for (i = 0; i < HS_MAX_DEVS; i++)
		if (bus->devs[i])
			hs_rescind(bus->devs[i]);
	if (bus->wire)
		hs_wire_close(bus->wire);
	bus->wire = NULL;
	if (bus->tp)
		bus->tp->ops->destroy(bus->tp);
	bus->tp = NULL;
	if (bus->epfd >= 0)
		close(bus->epfd);
}

/* Waits for events until @deadline_ns (0: only looks). */
static int bus_wait(struct hs_bus *bus, struct epoll_event *evs, int max, uint64_t deadline_ns)
{
	static bool no_pwait2;
	uint64_t now = hs_now_ns(), left = deadline_ns > now ? deadline_ns - now : 0;
	struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
	int n;

	if (!no_pwait2) {
		n = epoll_pwait2(bus->epfd, evs, max, &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = true; /* before Linux 5.11: milliseconds, rounded up */
	}
	return epoll_wait(bus->epfd, evs, max, (int)((left + 999999u) / 1000000u));
}

/*
 * One turn of the loop: the tick if it is due, events (waiting until the
 * next tick unless @look_only or work is waiting), then work.
 */
static int bus_turn(struct hs_bus *bus, bool look_only)
{
	struct epoll_event evs[64];
	uint64_t now = hs_now_ns();
	int n, i;

	if (now >= bus->next_tick_ns) {
		/* the next tick one interval on, or from now if we fell behind */
		bus->next_tick_ns += bus->timer_ns;
		if (bus->next_tick_ns <= now)
			bus->next_tick_ns = now + bus->timer_ns;
		timer_tick(bus, now);
	}
	n = bus_wait(bus, evs, 64, look_only || bus->work ? 0 : bus->next_tick_ns);
	if (n < 0 && errno != EINTR)
		return -errno;
	bus->dispatching = true;
	bus->ngone = 0;
	for (i = 0; i < n; i++) {
		struct hs_watch *w = evs[i].data.ptr;
		unsigned int k;

		/* a callback may have removed (and freed) a watch of this batch */
		for (k = 0; k < bus->ngone && bus->gone[k] != w; k++)
			;
		if (bus->ngone == HS_MAX_GONE)
			break;
		if (k < bus->ngone)
			continue;
		w->cb(w, evs[i].events);
	}
	bus->dispatching = false;
	if (bus->wire && bus->wire->ops->poll)
		bus->wire->ops->poll(bus->wire);
	if (bus->work || bus->opts.busy_poll)
		run_work(bus);
	/* a wire stopped by its burst limit goes on without waiting for an
	 * event (the next turn's wait does not block) */
	if (bus->wire && bus->wire->ops->more && bus->wire->ops->more(bus->wire))
		bus->work = true;
	return 0;
}

void hs_bus_step(struct hs_bus *bus)
{
	bus->work = true;
	bus_turn(bus, true);
}

int hs_bus_run(struct hs_bus *bus)
{
	while (!bus->stop) {
		int err = bus_turn(bus, bus->opts.busy_poll);

		if (err)
			return err;
	}
	return 0;
}
