/* SPDX-License-Identifier: MIT */
/*
 * The kernel transport: the host side of the vmbus_sim test module
 * (tests/kernel/vmbus_sim), which stands in for hv_vmbus in a guest kernel.
 * Here a real guest kernel and a real UIO driver (uio_hv_generic or hv_uio)
 * own the rings, the buffers and /dev/uioN; the host offers, rescinds and
 * signals through ioctls and learns what the guest did from events:
 *
 *   OPEN            the guest opened a channel: map its ring GPADL
 *   CLOSE           it closed one
 *   SIGNAL          it signalled one (monitor bit or vmbus_set_event)
 *   GPADL_CREATE    the driver shared a buffer: for a network adapter, the
 *                   first is the receive buffer, the second the send buffer
 *   GPADL_TEARDOWN  a buffer is gone: its mapping has been revoked
 *
 * Pages a GPA-direct packet names (RNDIS control messages and large frames
 * of a kernel driver such as hv_netvsc) are read through the module
 * (VMBUS_SIM_IOC_GUEST_MEM), which lets the host reach exactly the bytes
 * of the packets it has not completed yet.
 *
 * The module revokes a mapping the moment the guest tears its GPADL down,
 * possibly while the host is reading it; an access then raises SIGBUS.
 * kern_guard() turns that into the end of the device's service instead
 * of the end of the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uapi/vmbus_sim.h>

#include "hostsim.h"

#define KERN_MAX_GPADLS 256

struct kern_gpadl {
	uint32_t handle;
	uint32_t relid;
	uint32_t type;
	size_t size;
	void *mem;
};

struct kern_transport {
	struct hs_transport t;
	struct hs_watch w;
	struct kern_gpadl gpadls[KERN_MAX_GPADLS];
	size_t page;
};

static struct kern_transport *kern_of(struct hs_transport *t)
{
	return (struct kern_transport *)t;
}

/* ------------------------------------------------------------------------ */
/* SIGBUS guard                                                              */
/* ------------------------------------------------------------------------ */

static sigjmp_buf *guard_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	if (guard_jmp)
		siglongjmp(*guard_jmp, 1);
	/* not inside guarded work: a real bug, die as SIGBUS would */
	signal(sig, SIG_DFL);
	raise(sig);
}

static int kern_guard(struct hs_transport *t, struct hs_dev *dev, void (*fn)(struct hs_dev *dev))
{
	sigjmp_buf jb, *prev = guard_jmp;

	(void)t;
	if (sigsetjmp(jb, 1)) {
		unsigned int i;

		guard_jmp = prev;
		hs_log("%s: the guest revoked memory the host was using; the device's "
		       "channels stop",
		       dev->guid);
		for (i = 0; i < dev->nchans; i++)
			if (dev->chans[i])
				dev->chans[i]->stopped = true;
		return -EFAULT;
	}
	guard_jmp = &jb;
	fn(dev);
	guard_jmp = prev;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* GPADLs                                                                    */
/* ------------------------------------------------------------------------ */

static struct kern_gpadl *gpadl_find(struct kern_transport *k, uint32_t handle)
{
	unsigned int i;

	for (i = 0; i < KERN_MAX_GPADLS; i++)
		if (k->gpadls[i].mem && k->gpadls[i].handle == handle)
			return &k->gpadls[i];
	return NULL;
}

static void *gpadl_map(struct kern_transport *k, uint32_t handle, uint32_t relid, uint32_t type,
		       size_t size)
{
	struct kern_gpadl *g = gpadl_find(k, handle);
	size_t len = (size + k->page - 1) / k->page * k->page;
	unsigned int i;
	void *mem;

	if (g)
		return g->mem;
	for (i = 0; i < KERN_MAX_GPADLS && k->gpadls[i].mem; i++)
		;
	if (i == KERN_MAX_GPADLS || size == 0)
		return NULL;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, k->w.fd,
		   (off_t)VMBUS_SIM_MMAP_GPADL(handle));
	if (mem == MAP_FAILED) {
		hs_log("kernel transport: cannot map GPADL %u (%zu bytes): %s", handle, size,
		       strerror(errno));
		return NULL;
	}
	k->gpadls[i] = (struct kern_gpadl){ .handle = handle, .relid = relid, .type = type,
					    .size = len, .mem = mem };
	return mem;
}

static void gpadl_unmap(struct kern_transport *k, uint32_t handle)
{
	struct kern_gpadl *g = gpadl_find(k, handle);

	if (!g)
		return;
	munmap(g->mem, g->size);
	memset(g, 0, sizeof(*g));
}

/* ------------------------------------------------------------------------ */
/* events                                                                    */
/* ------------------------------------------------------------------------ */

static void ev_gpadl_create(struct kern_transport *k, const struct vmbus_sim_event *e)
{
	struct hs_chan *ch = hs_find_chan(k->t.bus, e->relid);
	struct hs_dev *dev = ch ? ch->dev : NULL;
	void *mem;

	if (e->flags != VMBUS_SIM_GPADL_BUFFER || !dev || ch->subidx || !dev->is_nic)
		return; /* rings are mapped at open */
	mem = gpadl_map(k, e->gpadl, e->relid, e->flags, e->size);
	if (!mem)
		return;
	/* uio_hv_generic and hv_uio share the receive buffer, then the send buffer */
	if (!dev->recv_buf) {
		dev->recv_buf = mem;
		dev->recv_size = e->size;
		dev->recv_gpadl = e->gpadl;
	} else if (!dev->send_buf) {
		dev->send_buf = mem;
		dev->send_size = e->size;
		dev->send_gpadl = e->gpadl;
	}
	hs_debug("%s: guest buffer GPADL %u, %llu bytes", dev->guid, e->gpadl,
		 (unsigned long long)e->size);
	/* a message naming it may be waiting (kern_gpadl_pending) */
	if (ch->open)
		hs_chan_kick(ch);
}

static void ev_gpadl_teardown(struct kern_transport *k, const struct vmbus_sim_event *e)
{
	struct kern_gpadl *g = gpadl_find(k, e->gpadl);
	struct hs_chan *ch = g ? hs_find_chan(k->t.bus, g->relid) : NULL;

	if (!g)
		return;
	if (ch && ch->dev->recv_buf == g->mem) {
		ch->dev->recv_buf = NULL;
		ch->dev->recv_gpadl = 0;
	}
	if (ch && ch->dev->send_buf == g->mem) {
		ch->dev->send_buf = NULL;
		ch->dev->send_gpadl = 0;
	}
	if (ch && ch->ring_mem == g->mem) {
		hs_chan_closed(ch);
		ch->ring_mem = NULL;
	}
	gpadl_unmap(k, e->gpadl);
}

static void ev_open(struct kern_transport *k, const struct vmbus_sim_event *e)
{
	struct hs_chan *ch = hs_find_chan(k->t.bus, e->relid);
	void *mem;

	if (!ch)
		return;
	mem = gpadl_map(k, e->gpadl, e->relid, VMBUS_SIM_GPADL_RING, e->size);
	if (!mem || e->offset == 0 || e->offset >= e->size) {
		hs_log("%s: channel %u opened with a ring the host cannot use", ch->dev->guid,
		       ch->subidx);
		return;
	}
	ch->ring_mem = mem;
	ch->ring_size = e->size;
	ch->g2h_size = e->offset;
	hs_chan_ready(ch);
}

static void kern_event(struct hs_watch *w, uint32_t events)
{
	struct kern_transport *k = w->arg;
	struct vmbus_sim_event evs[32];
	ssize_t n;

	(void)events;
	while ((n = read(w->fd, evs, sizeof(evs))) > 0) {
		size_t i;

		for (i = 0; i < (size_t)n / sizeof(evs[0]); i++) {
			const struct vmbus_sim_event *e = &evs[i];
			struct hs_chan *ch = hs_find_chan(k->t.bus, e->relid);

			switch (e->type) {
			case VMBUS_SIM_EV_SIGNAL:
				if (ch)
					hs_chan_signalled(ch);
				break;
			case VMBUS_SIM_EV_OPEN:
				ev_open(k, e);
				break;
			case VMBUS_SIM_EV_CLOSE:
				if (ch)
					hs_chan_closed(ch);
				break;
			case VMBUS_SIM_EV_GPADL_CREATE:
				ev_gpadl_create(k, e);
				break;
			case VMBUS_SIM_EV_GPADL_TEARDOWN:
				ev_gpadl_teardown(k, e);
				break;
			case VMBUS_SIM_EV_OVERFLOW: {
				unsigned int d, c;

				/* signals may be lost: look at every channel */
				for (d = 0; d < HS_MAX_DEVS; d++)
					for (c = 0; k->t.bus->devs[d] && c < k->t.bus->devs[d]->nchans;
					     c++)
						if (k->t.bus->devs[d]->chans[c])
							hs_chan_signalled(k->t.bus->devs[d]->chans[c]);
				break;
			}
			default:
				break;
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* operations                                                                */
/* ------------------------------------------------------------------------ */

static int kern_offer_one(struct kern_transport *k, struct hs_chan *ch)
{
	struct vmbus_sim_offer o;

	memset(&o, 0, sizeof(o));
	memcpy(o.class_id, ch->dev->class_id.b, 16);
	memcpy(o.instance_id, ch->dev->instance.b, 16);
	o.sub_channel_index = ch->subidx;
	o.monitor_id = ch->dev->monitored ? VMBUS_SIM_MONITOR_ANY : VMBUS_SIM_MONITOR_NONE;
	/* the guest probes (and may open) at once: do not wait for it, the
	 * events it causes are read by the loop */
	o.flags = VMBUS_SIM_OFFER_NOWAIT;
	if (ioctl(k->w.fd, VMBUS_SIM_IOC_OFFER, &o))
		return -errno;
	hs_chan_set_ids(ch, o.relid, o.monitor_id);
	return 0;
}

static int kern_offer(struct hs_transport *t, struct hs_dev *dev)
{
	int err = kern_offer_one(kern_of(t), dev->chans[0]);

	/* the buffers are the guest driver's, learnt from its GPADLs */
	dev->recv_buf = dev->send_buf = NULL;
	dev->recv_gpadl = dev->send_gpadl = 0;
	if (err)
		hs_log("%s: the kernel refused the offer: %s", dev->guid, strerror(-err));
	return err;
}

static int kern_offer_chan(struct hs_transport *t, struct hs_chan *ch)
{
	return kern_offer_one(kern_of(t), ch);
}

static void kern_rescind_relid(struct kern_transport *k, uint32_t relid, bool wait)
{
	struct vmbus_sim_rescind r = { .relid = relid, .flags = wait ? 0 : VMBUS_SIM_RESCIND_NOWAIT };

	if (ioctl(k->w.fd, VMBUS_SIM_IOC_RESCIND, &r) && errno != EALREADY && errno != ENOENT)
		hs_log("kernel transport: rescind of relid %u: %s", relid, strerror(errno));
}

static void unmap_relid(struct kern_transport *k, uint32_t relid)
{
	unsigned int i;

	for (i = 0; i < KERN_MAX_GPADLS; i++)
		if (k->gpadls[i].mem && k->gpadls[i].relid == relid)
			gpadl_unmap(k, k->gpadls[i].handle);
}

static void kern_rescind_chan(struct hs_transport *t, struct hs_chan *ch)
{
	struct kern_transport *k = kern_of(t);

	kern_rescind_relid(k, ch->relid, false);
	unmap_relid(k, ch->relid);
	ch->ring_mem = NULL;
}

static void kern_rescind(struct hs_transport *t, struct hs_dev *dev)
{
	struct kern_transport *k = kern_of(t);
	uint32_t relid = dev->chans[0]->relid;

	kern_rescind_relid(k, relid, true);
	unmap_relid(k, relid);
	dev->chans[0]->ring_mem = NULL;
	dev->recv_buf = dev->send_buf = NULL;
}

static int kern_signal(struct hs_transport *t, struct hs_chan *ch)
{
	struct vmbus_sim_signal s = { .relid = ch->relid };

	ch->dev->events++;
	if (ioctl(kern_of(t)->w.fd, VMBUS_SIM_IOC_SIGNAL, &s))
		return -errno;
	return 0;
}

/*
 * GPA-direct pages: guest memory a packet names, copied through the
 * module, which refuses (EACCES) bytes that no packet of @dev names that
 * is still waiting for its completion (sent by a kernel driver) or still
 * in one of its rings (written there by a userspace driver).
 */
static int kern_guest_copy(struct hs_transport *t, struct hs_dev *dev, uint64_t pfn, uint32_t off,
			   void *buf, uint32_t len, bool write)
{
	struct vmbus_sim_guest_mem m;

	if (!dev->chans[0] || len == 0 || off >= VMBUS_HV_PAGE_SIZE ||
	    len > VMBUS_HV_PAGE_SIZE - off)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.relid = dev->chans[0]->relid;
	m.flags = write ? VMBUS_SIM_GUEST_MEM_WRITE : 0;
	m.pfn = pfn;
	m.offset = off;
	m.len = len;
	m.buf = (uintptr_t)buf;
	if (ioctl(kern_of(t)->w.fd, VMBUS_SIM_IOC_GUEST_MEM, &m)) {
		int err = errno;

		hs_debug("%s: guest page 0x%" PRIx64 " (+%u, %u bytes) refused by the test module: "
			 "%s%s",
			 dev->guid, pfn, off, len, strerror(err),
			 err == EACCES ? " (no packet waiting for its completion or in a ring "
					 "names them)" : "");
		return -err;
	}
	return 0;
}

/*
 * The module queues a GPADL's creation before vmbus_establish_gpadl()
 * returns, so a guest message naming it is at most behind the event: the
 * module says whether the GPADL exists as a buffer of @dev's channel.
 */
static bool kern_gpadl_pending(struct hs_transport *t, struct hs_dev *dev, uint32_t handle)
{
	struct vmbus_sim_gpadl_info gi = { .handle = handle };

	if (!dev->chans[0] || gpadl_find(kern_of(t), handle))
		return false;
	if (ioctl(kern_of(t)->w.fd, VMBUS_SIM_IOC_GPADL_INFO, &gi))
		return false;
	return gi.relid == dev->chans[0]->relid && gi.type == VMBUS_SIM_GPADL_BUFFER;
}

static void kern_update_attrs(struct hs_transport *t, struct hs_dev *dev)
{
	/* the guest kernel keeps its own sysfs up to date */
	(void)t;
	(void)dev;
}

static void kern_destroy(struct hs_transport *t)
{
	struct kern_transport *k = kern_of(t);
	unsigned int i;

	hs_watch_del(t->bus, &k->w);
	for (i = 0; i < KERN_MAX_GPADLS; i++)
		if (k->gpadls[i].mem)
			gpadl_unmap(k, k->gpadls[i].handle);
	/* closing the device rescinds whatever is left */
	close(k->w.fd);
	free(k);
}

static const struct hs_transport_ops kern_ops = {
	.name = "vmbus_sim",
	.plays_kernel = false,
	.offer = kern_offer,
	.offer_chan = kern_offer_chan,
	.rescind_chan = kern_rescind_chan,
	.rescind = kern_rescind,
	.signal = kern_signal,
	.guest_copy = kern_guest_copy,
	.gpadl_pending = kern_gpadl_pending,
	.update_attrs = kern_update_attrs,
	.guard = kern_guard,
	.destroy = kern_destroy,
};

int hs_kern_transport_create(struct hs_bus *bus, const char *path, struct hs_transport **out)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	struct vmbus_sim_info info;
	struct kern_transport *k;
	int err, fd;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		hs_log("cannot open %s: %s%s", path, strerror(errno),
		       errno == ENOENT ? " (is the vmbus_sim module loaded?)" :
		       errno == EBUSY	? " (another host has it open)" : "");
		return err;
	}
	if (ioctl(fd, VMBUS_SIM_IOC_GET_INFO, &info) || info.abi_version != VMBUS_SIM_ABI_VERSION) {
		hs_log("%s speaks ABI %u, this host %u", path, info.abi_version,
		       VMBUS_SIM_ABI_VERSION);
		close(fd);
		return -EPROTO;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->t.ops = &kern_ops;
	k->t.bus = bus;
	k->page = info.page_size ? info.page_size : 4096;
	k->w.fd = fd;
	k->w.cb = kern_event;
	k->w.arg = k;
	err = hs_watch_add(bus, &k->w, EPOLLIN);
	if (err) {
		close(fd);
		free(k);
		return err;
	}
	sigaction(SIGBUS, &sa, NULL);
	/* no monitor page here: the module scans it and sends events */
	bus->int_page = NULL;
	bus->monitor = NULL;
	*out = &k->t;
	return 0;
}
