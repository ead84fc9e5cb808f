// SPDX-License-Identifier: GPL-2.0
/*
 * The host's side: the character device /dev/vmbus_sim through which a
 * program in guest userspace plays the Hyper-V host (see
 * uapi/vmbus_sim.h), the GPADL registry behind its mmap, and the monitor
 * page scan that stands in for the hypervisor's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "sim_priv.h"

#define SIM_EV_MAX 4096u
#define SIM_READ_BATCH 64u
/* one bit per relid and signal kind: a signal already queued */
#define SIM_SIG_BITS (2 * MAX_CHANNEL_RELIDS)

static struct {
	spinlock_t lock;	/* everything below but mapping and scan */
	bool open;
	u32 mode;
	struct vmbus_sim_event *ev;
	unsigned int head;
	unsigned int count;
	bool overflow;
	u64 seq;
	unsigned long *sig_queued;
	wait_queue_head_t wq;
	struct list_head pending_opens;
	struct address_space *mapping;
	struct delayed_work scan;
} host;

struct sim_gpadl {
	struct list_head node;
	struct vmbus_channel *chan;
	u32 handle;
	u32 relid;
	u32 type;
	u32 size;
	u32 send_offset;
	void *buffer;
};

static LIST_HEAD(sim_gpadls);
/* taken inside channel_mutex and inside mmap_lock (fault) */
static DEFINE_MUTEX(sim_gpadl_lock);

/* ------------------------------------------------------------------------ */
/* events                                                                    */
/* ------------------------------------------------------------------------ */

static unsigned int sig_bit(u32 relid, u32 flags)
{
	return relid * 2 + (flags == VMBUS_SIM_SIG_EVENT);
}

static void sim_host_event_locked(u32 type, u32 relid, u32 gpadl, u32 flags,
				  u64 size, u64 offset, u32 target_vp)
{
	struct vmbus_sim_event *ev;

	lockdep_assert_held(&host.lock);
	if (!host.open)
		return;
	if (type == VMBUS_SIM_EV_SIGNAL) {
		if (relid >= MAX_CHANNEL_RELIDS ||
		    __test_and_set_bit(sig_bit(relid, flags), host.sig_queued))
			return; /* coalesced with the one not read yet */
	}
	host.seq++;
	if (host.count == SIM_EV_MAX) {
		host.overflow = true;
		if (type == VMBUS_SIM_EV_SIGNAL)
			__clear_bit(sig_bit(relid, flags), host.sig_queued);
		return;
	}
	ev = &host.ev[(host.head + host.count) % SIM_EV_MAX];
	*ev = (struct vmbus_sim_event){
		.type = type,
		.relid = relid,
		.gpadl = gpadl,
		.flags = flags,
		.size = size,
		.offset = offset,
		.target_vp = target_vp,
		.seq = host.seq,
	};
	host.count++;
	wake_up_interruptible(&host.wq);
}

void sim_host_event(u32 type, u32 relid, u32 gpadl, u32 flags, u64 size,
		    u64 offset, u32 target_vp)
{
	unsigned long irqflags;

	spin_lock_irqsave(&host.lock, irqflags);
	sim_host_event_locked(type, relid, gpadl, flags, size, offset,
			      target_vp);
	spin_unlock_irqrestore(&host.lock, irqflags);
}

int sim_host_open(struct sim_channel *sc, u32 gpadl, u32 size, u32 send,
		  u32 target_vp)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&host.lock, flags);
	sc->opens++;
	sim_host_event_locked(VMBUS_SIM_EV_OPEN, sc->chan.offermsg.child_relid,
			      gpadl, 0, size, send, target_vp);
	if (host.open && ((host.mode & VMBUS_SIM_MODE_MANUAL_OPEN) ||
			  (sc->faults & BIT(VMBUS_SIM_FAULT_HOLD_OPEN)))) {
		sc->faults &= ~BIT(VMBUS_SIM_FAULT_HOLD_OPEN);
		reinit_completion(&sc->open_done);
		sc->open_status = 0;
		sc->open_pending = true;
		list_add_tail(&sc->open_node, &host.pending_opens);
		ret = 1;
	}
	spin_unlock_irqrestore(&host.lock, flags);
	return ret;
}

/* Completes a pending open with @status.  host.lock held. */
static void sim_host_answer_locked(struct sim_channel *sc, int status)
{
	list_del_init(&sc->open_node);
	sc->open_pending = false;
	sc->open_status = status;
	complete(&sc->open_done);
}

bool sim_fault_take(struct sim_channel *sc, u32 what)
{
	unsigned long flags;
	bool armed;

	spin_lock_irqsave(&host.lock, flags);
	armed = sc->faults & BIT(what);
	sc->faults &= ~BIT(what);
	spin_unlock_irqrestore(&host.lock, flags);
	return armed;
}

static long sim_ioc_fault(const struct vmbus_sim_fault *f)
{
	struct vmbus_channel *chan;
	long err = 0;

	if (f->what < VMBUS_SIM_FAULT_CLOSE || f->what > VMBUS_SIM_FAULT_HOLD_OPEN)
		return -EINVAL;
	rcu_read_lock();
	chan = sim_relid2channel(f->relid);
	if (chan) {
		spin_lock_irq(&host.lock);
		to_sim_channel(chan)->faults |= BIT(f->what);
		spin_unlock_irq(&host.lock);
	} else {
		err = -ENOENT;
	}
	rcu_read_unlock();
	return err;
}

void sim_host_cancel_open(struct sim_channel *sc)
{
	unsigned long flags;

	spin_lock_irqsave(&host.lock, flags);
	if (sc->open_pending)
		sim_host_answer_locked(sc, -ENODEV);
	spin_unlock_irqrestore(&host.lock, flags);
}

void sim_host_close(struct sim_channel *sc)
{
	unsigned long flags;

	spin_lock_irqsave(&host.lock, flags);
	sc->closes++;
	if (!sc->chan.rescind)
		sim_host_event_locked(VMBUS_SIM_EV_CLOSE,
				      sc->chan.offermsg.child_relid, 0, 0, 0,
				      0, 0);
	spin_unlock_irqrestore(&host.lock, flags);
}

/* ------------------------------------------------------------------------ */
/* GPADLs                                                                    */
/* ------------------------------------------------------------------------ */

static struct sim_gpadl *sim_gpadl_find(u32 handle)
{
	struct sim_gpadl *g;

	lockdep_assert_held(&sim_gpadl_lock);
	list_for_each_entry(g, &sim_gpadls, node)
		if (g->handle == handle)
			return g;
	return NULL;
}

int sim_gpadl_add(struct vmbus_channel *chan, u32 handle, u32 type,
		  void *buffer, u32 size, u32 send_offset)
{
	struct sim_gpadl *g;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->chan = chan;
	g->handle = handle;
	g->relid = chan->offermsg.child_relid;
	g->type = type;
	g->size = size;
	g->send_offset = send_offset;
	g->buffer = buffer;
	mutex_lock(&sim_gpadl_lock);
	list_add_tail(&g->node, &sim_gpadls);
	mutex_unlock(&sim_gpadl_lock);
	sim_host_event(VMBUS_SIM_EV_GPADL_CREATE, g->relid, handle, type, size,
		       send_offset, 0);
	return 0;
}

/* Revokes the host's mappings of @g, after it left the registry. */
static void sim_gpadl_free(struct sim_gpadl *g)
{
	struct address_space *mapping = READ_ONCE(host.mapping);

	if (mapping)
		unmap_mapping_range(mapping, VMBUS_SIM_MMAP_GPADL(g->handle),
				    PAGE_ALIGN(g->size), 1);
	kfree(g);
}

/* The guest tore GPADL @handle down.  False if the host did not know it. */
bool sim_gpadl_remove(u32 handle)
{
	struct sim_gpadl *g;
	u32 relid;

	mutex_lock(&sim_gpadl_lock);
	g = sim_gpadl_find(handle);
	if (g)
		list_del(&g->node);
	mutex_unlock(&sim_gpadl_lock);
	if (!g)
		return false;
	relid = g->relid;
	sim_gpadl_free(g);
	sim_host_event(VMBUS_SIM_EV_GPADL_TEARDOWN, relid, handle, 0, 0, 0, 0);
	return true;
}

/* The host forgets every GPADL of @chan (rescind, removal). */
void sim_gpadl_remove_chan(struct vmbus_channel *chan)
{
	struct sim_gpadl *g, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&sim_gpadl_lock);
	list_for_each_entry_safe(g, tmp, &sim_gpadls, node)
		if (g->chan == chan)
			list_move(&g->node, &gone);
	mutex_unlock(&sim_gpadl_lock);
	list_for_each_entry_safe(g, tmp, &gone, node)
		sim_gpadl_free(g);
}

/* The guest frees @buffer: a GPADL still over it would be a dangling one. */
void sim_gpadl_remove_buffer(void *buffer)
{
	struct sim_gpadl *g, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&sim_gpadl_lock);
	list_for_each_entry_safe(g, tmp, &sim_gpadls, node)
		if (g->buffer == buffer)
			list_move(&g->node, &gone);
	mutex_unlock(&sim_gpadl_lock);
	list_for_each_entry_safe(g, tmp, &gone, node) {
		pr_err("driver error: relid %u frees the memory of GPADL %u while the host still uses it\n",
		       g->relid, g->handle);
		sim_gpadl_free(g);
	}
}

/*
 * Whether a GPA-direct packet waiting in the guest's send ring of a channel
 * of device @dev_relid names bytes [@s, @e) of page @pfn (sim_ring_names).
 * The ring GPADLs the host knows are the open rings; their memory stays
 * while they are in the registry.
 */
bool sim_gpadl_rings_name(u32 dev_relid, u64 pfn, u32 s, u32 e)
{
	struct sim_gpadl *g;
	bool found = false;

	mutex_lock(&sim_gpadl_lock);
	list_for_each_entry(g, &sim_gpadls, node) {
		if (g->type == VMBUS_SIM_GPADL_RING &&
		    sim_ring_names(dev_relid, g->chan, g->buffer, g->send_offset, pfn, s, e)) {
			found = true;
			break;
		}
	}
	mutex_unlock(&sim_gpadl_lock);
	return found;
}

/* ------------------------------------------------------------------------ */
/* monitor page scan                                                         */
/* ------------------------------------------------------------------------ */

static void sim_scan_fn(struct work_struct *work)
{
	struct hv_monitor_page *mp = vmbus_connection.monitor_pages[1];
	struct vmbus_channel *chan;
	unsigned long pending;
	unsigned long flags;
	unsigned int g, bit;
	u32 relid;

	for (g = 0; g < ARRAY_SIZE(mp->trigger_group); g++) {
		pending = xchg(&mp->trigger_group[g].pending, 0);
		for_each_set_bit(bit, &pending, 32) {
			if (!sim_monitor_relid_count(g * 32 + bit, &relid, 1))
				continue;
			rcu_read_lock();
			chan = sim_relid2channel(relid);
			if (chan)
				atomic64_inc(&to_sim_channel(chan)->guest_sig_monitor);
			rcu_read_unlock();
			sim_host_event(VMBUS_SIM_EV_SIGNAL, relid, 0,
				       VMBUS_SIM_SIG_MONITOR, 0, 0, 0);
		}
	}
	spin_lock_irqsave(&host.lock, flags);
	if (host.open && !(host.mode & VMBUS_SIM_MODE_NO_MONITOR_SCAN))
		schedule_delayed_work(&host.scan, 1);
	spin_unlock_irqrestore(&host.lock, flags);
}

/* ------------------------------------------------------------------------ */
/* the character device                                                      */
/* ------------------------------------------------------------------------ */

static int sim_host_fop_open(struct inode *inode, struct file *file)
{
	spin_lock_irq(&host.lock);
	if (host.open) {
		spin_unlock_irq(&host.lock);
		return -EBUSY;
	}
	host.open = true;
	host.mode = 0;
	host.head = 0;
	host.count = 0;
	host.overflow = false;
	host.seq = 0;
	bitmap_zero(host.sig_queued, SIM_SIG_BITS);
	WRITE_ONCE(host.mapping, file->f_mapping);
	schedule_delayed_work(&host.scan, 1);
	spin_unlock_irq(&host.lock);
	return 0;
}

static int sim_host_fop_release(struct inode *inode, struct file *file)
{
	struct sim_channel *sc, *tmp;
	bool keep;

	spin_lock_irq(&host.lock);
	keep = host.mode & VMBUS_SIM_MODE_KEEP_ON_CLOSE;
	host.open = false;
	host.mode = 0;
	/* nobody will answer these any more */
	list_for_each_entry_safe(sc, tmp, &host.pending_opens, open_node)
		sim_host_answer_locked(sc, 1);
	spin_unlock_irq(&host.lock);
	cancel_delayed_work_sync(&host.scan);

	if (!keep)
		sim_rescind(VMBUS_SIM_RELID_ALL, true);
	/* the last mapping went before the last file reference */
	WRITE_ONCE(host.mapping, NULL);
	return 0;
}

static ssize_t sim_host_fop_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct vmbus_sim_event *out;
	unsigned int n = 0, max;
	int err;

	if (count < sizeof(*out))
		return -EINVAL;
	max = min_t(size_t, count / sizeof(*out), SIM_READ_BATCH);
	out = kmalloc_array(max, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	spin_lock_irq(&host.lock);
	while (!host.count && !host.overflow) {
		spin_unlock_irq(&host.lock);
		if (file->f_flags & O_NONBLOCK) {
			err = -EAGAIN;
			goto fail;
		}
		if (wait_event_interruptible(host.wq,
					     READ_ONCE(host.count) ||
					     READ_ONCE(host.overflow))) {
			err = -ERESTARTSYS;
			goto fail;
		}
		spin_lock_irq(&host.lock);
	}
	if (host.overflow) {
		out[n++] = (struct vmbus_sim_event){
			.type = VMBUS_SIM_EV_OVERFLOW,
			.seq = host.seq,
		};
		host.overflow = false;
	}
	while (n < max && host.count) {
		struct vmbus_sim_event *ev = &host.ev[host.head];

		if (ev->type == VMBUS_SIM_EV_SIGNAL)
			__clear_bit(sig_bit(ev->relid, ev->flags),
				    host.sig_queued);
		out[n++] = *ev;
		host.head = (host.head + 1) % SIM_EV_MAX;
		host.count--;
	}
	spin_unlock_irq(&host.lock);

	if (copy_to_user(buf, out, n * sizeof(*out)))
		err = -EFAULT;
	else
		err = n * sizeof(*out);
fail:
	kfree(out);
	return err;
}

static __poll_t sim_host_fop_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &host.wq, wait);
	if (READ_ONCE(host.count) || READ_ONCE(host.overflow))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

/* ---- mmap: the connection's pages and GPADLs, resolved at fault time ---- */

static vm_fault_t sim_host_fault(struct vm_fault *vmf)
{
	unsigned long pgoff = vmf->pgoff;
	const unsigned int shift = 32 - PAGE_SHIFT;
	struct sim_gpadl *g;
	unsigned long idx;
	vm_fault_t ret;
	void *addr;

	switch (pgoff) {
	case VMBUS_SIM_PGOFF_INT_PAGE:
		addr = vmbus_connection.int_page;
		break;
	case VMBUS_SIM_PGOFF_MONITOR_HOST:
		addr = vmbus_connection.monitor_pages[0];
		break;
	case VMBUS_SIM_PGOFF_MONITOR_GUEST:
		addr = vmbus_connection.monitor_pages[1];
		break;
	default:
		addr = NULL;
		break;
	}
	if (addr)
		return vmf_insert_pfn(vmf->vma, vmf->address, PHYS_PFN(__pa(addr)));

	idx = pgoff & ((1UL << shift) - 1);
	mutex_lock(&sim_gpadl_lock);
	g = sim_gpadl_find(pgoff >> shift);
	if (!g || idx >= PFN_UP(g->size)) {
		mutex_unlock(&sim_gpadl_lock);
		return VM_FAULT_SIGBUS;
	}
	addr = (u8 *)g->buffer + idx * PAGE_SIZE;
	ret = vmf_insert_pfn(vmf->vma, vmf->address,
			     is_vmalloc_addr(addr) ? vmalloc_to_pfn(addr) :
						     PHYS_PFN(__pa(addr)));
	mutex_unlock(&sim_gpadl_lock);
	return ret;
}

static const struct vm_operations_struct sim_host_vm_ops = {
	.fault = sim_host_fault,
};

static int sim_host_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long pgoff = vma->vm_pgoff, pages = vma_pages(vma);
	const unsigned int shift = 32 - PAGE_SHIFT;
	struct sim_gpadl *g;
	int err = 0;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (pgoff <= VMBUS_SIM_PGOFF_MONITOR_GUEST) {
		if (pages > VMBUS_SIM_PGOFF_MONITOR_GUEST + 1 - pgoff)
			return -EINVAL;
	} else {
		mutex_lock(&sim_gpadl_lock);
		g = sim_gpadl_find(pgoff >> shift);
		if (!g || (pgoff & ((1UL << shift) - 1)) + pages >
			  PFN_UP(g->size))
			err = -EINVAL;
		mutex_unlock(&sim_gpadl_lock);
		if (err)
			return err;
	}
	vma->vm_flags |= VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &sim_host_vm_ops;
	return 0;
}

/* ---- commands ---- */

static u32 sim_count_gpadls(void)
{
	struct sim_gpadl *g;
	u32 n = 0;

	mutex_lock(&sim_gpadl_lock);
	list_for_each_entry(g, &sim_gpadls, node)
		n++;
	mutex_unlock(&sim_gpadl_lock);
	return n;
}

static u32 sim_count_channels(void)
{
	struct sim_channel *sc;
	u32 n = 0;

	mutex_lock(&vmbus_connection.channel_mutex);
	list_for_each_entry(sc, &sim_all_channels, all_node)
		n++;
	mutex_unlock(&vmbus_connection.channel_mutex);
	return n;
}

static long sim_ioc_open_result(struct vmbus_sim_open_result *r)
{
	struct sim_channel *sc;
	long err = -EALREADY;

	rcu_read_lock();
	if (!sim_relid2channel(r->relid))
		err = -ENOENT;
	rcu_read_unlock();
	if (err == -ENOENT)
		return err;
	spin_lock_irq(&host.lock);
	list_for_each_entry(sc, &host.pending_opens, open_node) {
		if (sc->chan.offermsg.child_relid == r->relid) {
			sim_host_answer_locked(sc, r->status);
			err = 0;
			break;
		}
	}
	spin_unlock_irq(&host.lock);
	return err;
}

static long sim_ioc_set_mode(u32 mode)
{
	if (mode & ~(VMBUS_SIM_MODE_MANUAL_OPEN |
		     VMBUS_SIM_MODE_NO_MONITOR_SCAN |
		     VMBUS_SIM_MODE_KEEP_ON_CLOSE))
		return -EINVAL;
	spin_lock_irq(&host.lock);
	host.mode = mode;
	if (!(mode & VMBUS_SIM_MODE_NO_MONITOR_SCAN))
		schedule_delayed_work(&host.scan, 1);
	spin_unlock_irq(&host.lock);
	return 0;
}

static long sim_ioc_chan_info(struct vmbus_sim_chan_info *ci)
{
	struct vmbus_channel *chan;
	struct sim_channel *sc;
	struct hv_device *dev;
	u32 relid = ci->relid;

	memset(ci, 0, sizeof(*ci));
	ci->relid = relid;
	rcu_read_lock();
	chan = sim_relid2channel(relid);
	if (!chan) {
		rcu_read_unlock();
		return -ENOENT;
	}
	sc = to_sim_channel(chan);
	ci->state = READ_ONCE(chan->state);
	if (READ_ONCE(chan->rescind))
		ci->flags |= VMBUS_SIM_CHAN_RESCINDED;
	if (chan->offermsg.monitor_allocated)
		ci->flags |= VMBUS_SIM_CHAN_MONITORED;
	if (chan->primary_channel || sc->orphan)
		ci->flags |= VMBUS_SIM_CHAN_SUBCHANNEL;
	dev = READ_ONCE(chan->device_obj);
	if (dev && sc->dev_owned) {
		ci->flags |= VMBUS_SIM_CHAN_DEVICE;
		if (READ_ONCE(dev->device.driver))
			ci->flags |= VMBUS_SIM_CHAN_BOUND;
	}
	if (READ_ONCE(chan->onchannel_callback))
		ci->flags |= VMBUS_SIM_CHAN_CALLBACK;
	ci->primary_relid = chan->primary_channel && !sc->orphan ?
			    chan->primary_channel->offermsg.child_relid : relid;
	ci->sub_channel_index = chan->offermsg.offer.sub_channel_index;
	ci->monitor_id = chan->offermsg.monitor_allocated ?
			 chan->offermsg.monitorid : VMBUS_SIM_MONITOR_NONE;
	if (ci->state == CHANNEL_OPENED_STATE)
		ci->ring_gpadl = SIM_RING_GPADL(chan);
	if (chan->ringbuffer_page) {
		ci->ring_size = chan->ringbuffer_pagecount << PAGE_SHIFT;
		ci->ring_send_size = chan->ringbuffer_send_offset << PAGE_SHIFT;
	}
	ci->target_cpu = chan->target_cpu;
	ci->interrupts = chan->interrupts;
	ci->guest_signals_monitor = atomic64_read(&sc->guest_sig_monitor);
	ci->guest_signals_event = atomic64_read(&sc->guest_sig_event);
	export_guid(ci->class_id, &chan->offermsg.offer.if_type);
	export_guid(ci->instance_id, &chan->offermsg.offer.if_instance);
	spin_lock_irq(&host.lock);
	ci->opens = sc->opens;
	ci->closes = sc->closes;
	spin_unlock_irq(&host.lock);
	rcu_read_unlock();
	return 0;
}

static long sim_ioc_gpadl_info(struct vmbus_sim_gpadl_info *gi)
{
	struct sim_gpadl *g;
	u32 handle = gi->handle;
	long err = -ENOENT;

	memset(gi, 0, sizeof(*gi));
	gi->handle = handle;
	mutex_lock(&sim_gpadl_lock);
	g = sim_gpadl_find(handle);
	if (g) {
		gi->relid = g->relid;
		gi->type = g->type;
		gi->size = g->size;
		gi->send_offset = g->send_offset;
		gi->mmap_offset = VMBUS_SIM_MMAP_GPADL(handle);
		err = 0;
	}
	mutex_unlock(&sim_gpadl_lock);
	return err;
}

static long sim_host_fop_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	union {
		struct vmbus_sim_info info;
		struct vmbus_sim_offer offer;
		struct vmbus_sim_rescind rescind;
		struct vmbus_sim_signal signal;
		struct vmbus_sim_open_result result;
		struct vmbus_sim_chan_info chan;
		struct vmbus_sim_gpadl_info gpadl;
		struct vmbus_sim_fault fault;
		struct vmbus_sim_guest_mem mem;
		u32 mode;
		u32 gen;
	} u;
	long ret;

	if (_IOC_TYPE(cmd) != VMBUS_SIM_IOC_MAGIC ||
	    _IOC_SIZE(cmd) > sizeof(u))
		return -ENOTTY;
	memset(&u, 0, sizeof(u));
	if ((_IOC_DIR(cmd) & _IOC_WRITE) &&
	    copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;

	switch (cmd) {
	case VMBUS_SIM_IOC_GET_INFO:
		u.info.abi_version = VMBUS_SIM_ABI_VERSION;
		u.info.page_size = PAGE_SIZE;
		spin_lock_irq(&host.lock);
		u.info.mode = host.mode;
		spin_unlock_irq(&host.lock);
		u.info.nr_channels = sim_count_channels();
		u.info.next_gpadl =
			atomic_read(&vmbus_connection.next_gpadl_handle);
		u.info.nr_gpadls = sim_count_gpadls();
		ret = 0;
		break;
	case VMBUS_SIM_IOC_QUIESCE:
		flush_workqueue(sim_primary_wq);
		flush_workqueue(sim_sub_wq);
		flush_workqueue(sim_rescind_wq);
		rcu_barrier();
		return 0;
	case VMBUS_SIM_IOC_OFFER:
		ret = sim_offer(&u.offer);
		if (ret && ret != -EINTR)
			return ret;
		break;
	case VMBUS_SIM_IOC_RESCIND:
		if (u.rescind.flags & ~VMBUS_SIM_RESCIND_NOWAIT)
			return -EINVAL;
		return sim_rescind(u.rescind.relid,
				   !(u.rescind.flags & VMBUS_SIM_RESCIND_NOWAIT));
	case VMBUS_SIM_IOC_SIGNAL:
		ret = sim_signal_guest(u.signal.relid);
		if (ret < 0)
			return ret;
		u.signal.delivered = ret;
		ret = 0;
		break;
	case VMBUS_SIM_IOC_OPEN_RESULT:
		return sim_ioc_open_result(&u.result);
	case VMBUS_SIM_IOC_SET_MODE:
		return sim_ioc_set_mode(u.mode);
	case VMBUS_SIM_IOC_FAULT:
		return sim_ioc_fault(&u.fault);
	case VMBUS_SIM_IOC_GUEST_MEM:
		return sim_guest_mem(&u.mem);
	case VMBUS_SIM_IOC_GET_GEN:
		u.gen = VMBUS_SIM_GEN;
		ret = 0;
		break;
	case VMBUS_SIM_IOC_CHAN_INFO:
		ret = sim_ioc_chan_info(&u.chan);
		if (ret)
			return ret;
		break;
	case VMBUS_SIM_IOC_GPADL_INFO:
		ret = sim_ioc_gpadl_info(&u.gpadl);
		if (ret)
			return ret;
		break;
	default:
		return -ENOTTY;
	}
	if ((_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
		return -EFAULT;
	return ret;
}

static const struct file_operations sim_host_fops = {
	.owner = THIS_MODULE,
	.open = sim_host_fop_open,
	.release = sim_host_fop_release,
	.read = sim_host_fop_read,
	.poll = sim_host_fop_poll,
	.mmap = sim_host_fop_mmap,
	.unlocked_ioctl = sim_host_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice sim_host_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = VMBUS_SIM_DEV_NAME,
	.fops = &sim_host_fops,
	.mode = 0600,
};

int sim_host_init(void)
{
	int err;

	spin_lock_init(&host.lock);
	init_waitqueue_head(&host.wq);
	INIT_LIST_HEAD(&host.pending_opens);
	INIT_DELAYED_WORK(&host.scan, sim_scan_fn);
	host.ev = vmalloc(array_size(SIM_EV_MAX, sizeof(*host.ev)));
	host.sig_queued = bitmap_zalloc(SIM_SIG_BITS, GFP_KERNEL);
	if (!host.ev || !host.sig_queued) {
		err = -ENOMEM;
		goto fail;
	}
	err = misc_register(&sim_host_misc);
	if (err)
		goto fail;
	return 0;
fail:
	bitmap_free(host.sig_queued);
	vfree(host.ev);
	return err;
}

void sim_host_exit(void)
{
	misc_deregister(&sim_host_misc);
	cancel_delayed_work_sync(&host.scan);
	bitmap_free(host.sig_queued);
	vfree(host.ev);
}
