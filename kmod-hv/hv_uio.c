// SPDX-License-Identifier: GPL-2.0
/*
 * hv_uio - a VMBus device in userspace, with the UIO ABI of uio_hv_generic
 *
 * The driver has no id table: a device binds only when asked to.  Either
 * give it the device's class (every unbound device of the class binds):
 *
 *   echo f8615163-df3e-46c5-913f-f2d2f965ed0e \
 *       > /sys/bus/vmbus/drivers/hv_uio/new_id
 *
 * or name the driver for one device and bind it:
 *
 *   echo hv_uio > /sys/bus/vmbus/devices/<guid>/driver_override
 *   echo <guid> > /sys/bus/vmbus/drivers/hv_netvsc/unbind
 *   echo <guid> > /sys/bus/vmbus/drivers/hv_uio/bind
 *
 * The device then has /dev/uioN with the maps of uio_hv_generic, in its
 * order: 0 "txrx_rings" (the primary channel's ring, send half first),
 * 1 "int_page", 2 "monitor_page" and, for network devices, 3 "recv:<gpadl>"
 * and 4 "send:<gpadl>" (buffers the host knows by the GPADL handle in the
 * name).  Map N is mmapped at offset N pages.  The first open connects the
 * primary channel and opens every subchannel the host has offered, the last
 * close disconnects them all; subchannels offered while the device is open
 * are opened right after their offer, by the device's work.  Each open channel has a "ring" file in
 * /sys/bus/vmbus/devices/<guid>/channels/<relid>/.  read() of 4 bytes waits
 * for a host signal on any channel; write() of a 32-bit 1 unmasks the
 * receive ring of every open channel and signals the host on those without
 * a monitor id, 0 masks them.  The driver writes interrupt_mask nowhere
 * else.
 *
 * Where it differs from uio_hv_generic: ring and buffer memory outlives the
 * device for as long as a process maps it through /dev/uioN, and a ring
 * file's mappings go with the file (later accesses raise SIGBUS), so no
 * process ever maps pages the kernel has freed; channels without a monitor
 * id bind; subchannels are opened again when the device is; ring and
 * buffer sizes are module parameters (ring_size, recv_buf_size,
 * send_buf_size); a rescinded or unbound device is disconnected from the
 * host at once; memory the host may still use after a failed close or
 * GPADL teardown is leaked, never freed; private mappings are refused.
 * See README.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/hyperv.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/uio_driver.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "hv_uio_compat.h"

/* Also /sys/class/uio/uioN/version: MAJOR.MINOR.PATCH, see README.md. */
#define HV_UIO_VERSION "1.1.0"

/* uio_hv_generic's sizes, the defaults */
#define HV_UIO_RING_DEFAULT SZ_2M
#define HV_UIO_RECV_DEFAULT (31 * SZ_1M)
#define HV_UIO_SEND_DEFAULT (16 * SZ_1M)
#define HV_UIO_BUF_MIN SZ_64K
#define HV_UIO_BUF_MAX SZ_128M

static unsigned int ring_size;
module_param(ring_size, uint, 0444);
MODULE_PARM_DESC(ring_size,
		 "Bytes of each ring direction (header page included) of every channel; 0: uio_hv_generic's sizes (by class for the primary channel, 2 MiB for subchannels)");

static unsigned int recv_buf_size = HV_UIO_RECV_DEFAULT;
module_param(recv_buf_size, uint, 0444);
MODULE_PARM_DESC(recv_buf_size, "Bytes of a network device's receive buffer (map 3)");

static unsigned int send_buf_size = HV_UIO_SEND_DEFAULT;
module_param(send_buf_size, uint, 0444);
MODULE_PARM_DESC(send_buf_size, "Bytes of a network device's send buffer (map 4)");

enum hv_uio_map {
	HV_UIO_MAP_RINGS,
	HV_UIO_MAP_INT_PAGE,
	HV_UIO_MAP_MONITOR_PAGE,
	HV_UIO_MAP_RECV,
	HV_UIO_MAP_SEND,
};

/*
 * The primary channel's ring: allocated by the driver and lent to hv_vmbus
 * while it connects.  Each page holds its own reference, so a page that a
 * process maps stays allocated until the process unmaps it.
 */
struct hv_uio_ring {
	struct page *pages;
	unsigned int npages;
	unsigned int send_pages;
	bool shared;		/* a GPADL may still cover it: never free it */
};

struct hv_uio_buf {
	void *addr;
	u32 size;
	struct hv_uio_gpadl gpadl;
	char name[32];		/* "recv:4294967295" */
};

/* A subchannel the driver opened; it has a ring file while it is open. */
struct hv_uio_subchan {
	struct list_head node;
	struct vmbus_channel *chan;	/* holds a reference to chan->kobj */
	bool opening;			/* the host has not answered yet */
	bool ring_file;
	struct bin_attribute ring_attr;
};

/* A subchannel hv_vmbus offered, waiting for the device's work. */
struct hv_uio_offer {
	struct list_head node;
	struct vmbus_channel *chan;	/* holds a reference to chan->kobj */
};

/*
 * Locking.  hv_vmbus handles offers and rescinds one at a time on its work
 * queues and a rescind waits for the offer's callback to return, while an
 * open waiting for the host ends only with the host's answer or the
 * channel's rescind.  So no lock is held across a wait for the host that a
 * callback or a remove() may need: the subchannel callback only records the
 * channel and queues the device's work, which opens it without a lock.
 * The UIO core runs open(), release() and write() under its own lock and
 * remove() waits for them in uio_unregister_device().  Everything is per
 * device.
 */
struct hv_uio_dev {
	struct uio_info info;
	struct hv_device *hv_dev;
	struct kref ref;	/* remove(), and subchannel callbacks running */

	struct mutex lock;	/* the fields down to ring_file */
	unsigned int users;	/* opens of /dev/uioN */
	bool connected;		/* the primary channel is open */
	bool dead;		/* being removed */
	bool broken;		/* the host may still use the ring: no reconnect */
	struct list_head subchannels;
	bool ring_file;		/* the primary's ring file exists */

	spinlock_t offer_lock;	/* offers, offers_closed, queueing sc_work */
	struct list_head offers;
	bool offers_closed;
	struct work_struct sc_work;

	spinlock_t notify_lock;	/* notify, against the channel callback */
	bool notify;		/* the UIO device can take events */

	struct hv_uio_ring ring;
	struct bin_attribute ring_attr;
	struct delayed_work ring_file_work;	/* before 6.15 */
	u32 sub_ring_size;
	struct hv_uio_buf recv_buf;
	struct hv_uio_buf send_buf;
};

/* The layout of vmbus_connection, found at load time. */
static const struct hv_uio_conn_layout *hv_uio_conn;

static const struct hv_uio_conn_layout hv_uio_conn_layouts[] = {
	{
		.name = "5.8",
		.conn_state = offsetof(struct hv_uio_conn_5_8, conn_state),
		.int_page = offsetof(struct hv_uio_conn_5_8, int_page),
		.send_int_page = offsetof(struct hv_uio_conn_5_8, send_int_page),
		.recv_int_page = offsetof(struct hv_uio_conn_5_8, recv_int_page),
		.monitor_pages = offsetof(struct hv_uio_conn_5_8, monitor_pages),
	},
	{
		.name = "4.14",
		.conn_state = offsetof(struct hv_uio_conn_4_14, conn_state),
		.int_page = offsetof(struct hv_uio_conn_4_14, int_page),
		.send_int_page = offsetof(struct hv_uio_conn_4_14, send_int_page),
		.recv_int_page = offsetof(struct hv_uio_conn_4_14, recv_int_page),
		.monitor_pages = offsetof(struct hv_uio_conn_4_14, monitor_pages),
	},
};

static void *hv_uio_conn_ptr(size_t off)
{
	return READ_ONCE(*(void **)((char *)&vmbus_connection + off));
}

static bool hv_uio_conn_page_ok(const void *p)
{
	return p && IS_ALIGNED((unsigned long)p, HV_HYP_PAGE_SIZE);
}

/* The checks of a connected hv_vmbus that the layout @l must pass. */
static bool hv_uio_conn_layout_ok(const struct hv_uio_conn_layout *l)
{
	int state = READ_ONCE(*(int *)((char *)&vmbus_connection +
				       l->conn_state));
	void *intp = hv_uio_conn_ptr(l->int_page);
	void *mon0 = hv_uio_conn_ptr(l->monitor_pages);
	void *mon1 = hv_uio_conn_ptr(l->monitor_pages + sizeof(void *));

	return state == HV_UIO_CONN_CONNECTED && hv_uio_conn_page_ok(intp) &&
	       hv_uio_conn_ptr(l->recv_int_page) == intp &&
	       hv_uio_conn_ptr(l->send_int_page) ==
			(char *)intp + HV_HYP_PAGE_SIZE / 2 &&
	       hv_uio_conn_page_ok(mon0) && hv_uio_conn_page_ok(mon1) &&
	       mon0 != mon1 && mon0 != intp && mon1 != intp;
}

static int __init hv_uio_conn_find(void)
{
	const char *expected = HV_UIO_CONN_EXPECTED;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hv_uio_conn_layouts); i++) {
		if (hv_uio_conn_layout_ok(&hv_uio_conn_layouts[i])) {
			hv_uio_conn = &hv_uio_conn_layouts[i];
			break;
		}
	}
	if (!hv_uio_conn) {
		pr_err("vmbus_connection holds no connected VMBus in a layout this driver knows (interrupt and monitor page checks failed): this kernel's hv_vmbus is not supported, or VMBus is not connected\n");
		return -ENODEV;
	}
	if (expected && strcmp(expected, hv_uio_conn->name)) {
		pr_err("vmbus_connection passes the checks of layout %s but the kernel's header has layout %s\n",
		       hv_uio_conn->name, expected);
		return -ENODEV;
	}
	pr_info("version %s, vmbus_connection layout %s\n", HV_UIO_VERSION,
		hv_uio_conn->name);
	return 0;
}

static void hv_uio_dev_release(struct kref *ref)
{
	kfree(container_of(ref, struct hv_uio_dev, ref));
}

/* ---- the channel callback and write() ------------------------------------ */

/* A host signal on any channel of the device: the device's UIO event. */
static void hv_uio_channel_cb(void *context)
{
	struct hv_uio_dev *dev = context;
	unsigned long flags;

	spin_lock_irqsave(&dev->notify_lock, flags);
	if (dev->notify)
		uio_event_notify(&dev->info);
	spin_unlock_irqrestore(&dev->notify_lock, flags);
}

static void hv_uio_irq_chan(struct vmbus_channel *chan, s32 irq_on)
{
	struct hv_ring_buffer *rb = chan->inbound.ring_buffer;

	if (!rb)
		return;
	WRITE_ONCE(rb->interrupt_mask, !irq_on);
	if (!irq_on || chan->offermsg.monitor_allocated ||
	    READ_ONCE(chan->rescind))
		return;
	/* the host must find the ring unmasked when the signal arrives */
	virt_mb();
	vmbus_setevent(chan);
}

/*
 * write() to /dev/uioN: 0 masks the receive ring of every open channel,
 * anything else unmasks it and signals the host on the channels it does
 * not watch through the monitor page.  Userspace owns interrupt_mask
 * otherwise.  Like uio_hv_generic, a device whose channel is not connected
 * takes the write and does nothing.
 */
static int hv_uio_irqcontrol(struct uio_info *info, s32 irq_on)
{
	struct hv_uio_dev *dev = container_of(info, struct hv_uio_dev, info);
	struct hv_uio_subchan *sub;

	mutex_lock(&dev->lock);
	if (dev->connected) {
		hv_uio_irq_chan(dev->hv_dev->channel, irq_on);
		list_for_each_entry(sub, &dev->subchannels, node)
			if (!sub->opening)
				hv_uio_irq_chan(sub->chan, irq_on);
	}
	mutex_unlock(&dev->lock);
	return 0;
}

/* ---- memory ------------------------------------------------------------------ */

static int hv_uio_ring_alloc(struct hv_uio_ring *ring, u32 dir_bytes, int node)
{
	unsigned int npages = 2 * (dir_bytes >> PAGE_SHIFT);
	unsigned int order = get_order((size_t)npages << PAGE_SHIFT);
	struct page *page;
	unsigned int i;

	if (npages > HV_UIO_MAX_ALLOC_PAGES)
		return -EINVAL;
	page = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, order);
	if (!page)
		return -ENOMEM;
	/* one reference per page; the tail beyond the ring goes back now */
	split_page(page, order);
	for (i = npages; i < 1U << order; i++)
		__free_page(page + i);
	ring->pages = page;
	ring->npages = npages;
	ring->send_pages = npages / 2;
	return 0;
}

/* Drops the driver's references: pages a process maps stay until unmapped. */
static void hv_uio_ring_free(struct hv_uio_dev *dev)
{
	struct hv_uio_ring *ring = &dev->ring;
	unsigned int i;

	if (ring->shared)
		return;	/* leaked; hv_uio_ring_leak() said so */
	for (i = 0; i < ring->npages; i++)
		__free_page(ring->pages + i);
}

/* The host may still use the ring: it is never freed nor connected again. */
static void hv_uio_ring_leak(struct hv_uio_dev *dev, const char *why)
{
	if (dev->ring.shared)
		return;
	dev->ring.shared = true;
	dev->broken = true;
	dev_warn(&dev->hv_dev->device,
		 "%s: the host may still use the ring; leaking its %u pages, and the device cannot be opened again until it is bound again\n",
		 why, dev->ring.npages);
}

static int hv_uio_buf_alloc(struct hv_uio_dev *dev, struct hv_uio_buf *buf,
			    u32 size, const char *what, enum hv_uio_map map)
{
	struct vmbus_channel *chan = dev->hv_dev->channel;
	struct uio_mem *mem = &dev->info.mem[map];
	int ret;

	/* vmalloc_user: remap_vmalloc_range() maps it page by page */
	buf->addr = vmalloc_user(size);
	if (!buf->addr)
		return -ENOMEM;
	ret = hv_uio_gpadl_establish(chan, buf->addr, size, &buf->gpadl);
	if (ret) {
		if (hv_uio_gpadl_live(chan, &buf->gpadl))
			dev_warn(&dev->hv_dev->device,
				 "%s buffer: GPADL failed (%d) but may still be shared with the host; leaking it\n",
				 what, ret);
		else
			vfree(buf->addr);
		buf->addr = NULL;
		return ret;
	}
	buf->size = size;
	snprintf(buf->name, sizeof(buf->name), "%s:%u", what,
		 hv_uio_gpadl_handle(&buf->gpadl));
	mem->name = buf->name;
	mem->addr = (uintptr_t)buf->addr;
	mem->size = size;
	mem->memtype = UIO_MEM_VIRTUAL;
	return 0;
}

static void hv_uio_buf_free(struct hv_uio_dev *dev, struct hv_uio_buf *buf)
{
	if (!buf->addr)
		return;
	if (!hv_uio_gpadl_teardown(dev->hv_dev->channel, &buf->gpadl)) {
		dev_warn(&dev->hv_dev->device,
			 "%s: GPADL teardown failed, the host may still use the buffer; leaking its %u bytes\n",
			 buf->name, buf->size);
		return;
	}
	/* pages a process maps keep their own reference until unmapped */
	vfree(buf->addr);
}

/* ---- mmap -------------------------------------------------------------------- */

/*
 * Only shared mappings: in a private one the process's writes would land
 * in its own copies, never in the ring (the newest uio_hv_generic refuses
 * them too).  VM_MAYSHARE, not VM_SHARED: the kernel clears VM_SHARED on a
 * shared mapping of a file opened read-only (it can never be written, so
 * it has no copies either), and tools that only look at a ring map it so.
 */
static bool hv_uio_vma_ok(const struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_MAYSHARE;
}

/* Maps ring pages from @first on with their own references. */
static int hv_uio_map_ring(struct vm_area_struct *vma, struct hv_uio_ring *ring,
			   unsigned long first)
{
	unsigned long i, n = vma_pages(vma);
	int ret;

	if (!hv_uio_vma_ok(vma))
		return -EINVAL;
	if (first > ring->npages || n > ring->npages - first)
		return -EINVAL;
	hv_uio_vma_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	for (i = 0; i < n; i++) {
		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     ring->pages + first + i);
		if (ret)
			return ret;
	}
	return 0;
}

/* The interrupt page or the monitor page of hv_vmbus. */
static int hv_uio_map_conn_page(struct vm_area_struct *vma, void *addr)
{
	if (vma_pages(vma) != 1 || !virt_addr_valid(addr))
		return -ENODEV;
	hv_uio_vma_flags(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return vm_insert_page(vma, vma->vm_start, virt_to_page(addr));
}

/*
 * mmap of /dev/uioN.  The UIO core has checked the map index (the page
 * offset) and the length.  Everything is mapped with page references, so
 * a mapping keeps its memory after the device is gone.
 */
static int hv_uio_mmap(struct uio_info *info, struct vm_area_struct *vma)
{
	struct hv_uio_dev *dev = container_of(info, struct hv_uio_dev, info);

	if (!hv_uio_vma_ok(vma))
		return -EINVAL;
	switch (vma->vm_pgoff) {
	case HV_UIO_MAP_RINGS:
		return hv_uio_map_ring(vma, &dev->ring, 0);
	case HV_UIO_MAP_INT_PAGE:
	case HV_UIO_MAP_MONITOR_PAGE:
		return hv_uio_map_conn_page(vma,
			(void *)(uintptr_t)info->mem[vma->vm_pgoff].addr);
	case HV_UIO_MAP_RECV:
		return remap_vmalloc_range(vma, dev->recv_buf.addr, 0);
	case HV_UIO_MAP_SEND:
		return remap_vmalloc_range(vma, dev->send_buf.addr, 0);
	}
	return -EINVAL;
}

/* The primary's ring: mmap while the channel is open. */
static int hv_uio_primary_ring_mmap(struct hv_uio_dev *dev,
				    struct vm_area_struct *vma)
{
	if (!READ_ONCE(dev->connected))
		return -ENODEV;
	return hv_uio_map_ring(vma, &dev->ring, vma->vm_pgoff);
}

/*
 * A subchannel's ring, while the subchannel is open.  Its ring belongs to
 * hv_vmbus, which frees it when the channel closes; the file goes first,
 * and with it every mapping of the file.
 */
static int hv_uio_sub_ring_mmap(struct vmbus_channel *chan,
				struct vm_area_struct *vma)
{
	unsigned long size = (unsigned long)chan->ringbuffer_pagecount <<
			     PAGE_SHIFT;

	if (!hv_uio_vma_ok(vma))
		return -EINVAL;
	return vm_iomap_memory(vma, page_to_phys(chan->ringbuffer_page), size);
}

#ifdef HV_UIO_HV_OWNS_RING_FILE
/*
 * hv_vmbus owns the "ring" attribute and calls this for it; it hides the
 * file (waiting for mmaps in progress) before the driver lets go.
 */
static int hv_uio_ring_attr_mmap(struct vmbus_channel *chan,
				 struct vm_area_struct *vma)
{
	if (chan->primary_channel)
		return hv_uio_sub_ring_mmap(chan, vma);
	return hv_uio_primary_ring_mmap(hv_get_drvdata(chan->device_obj),
					vma);
}

static int hv_uio_ring_file_create(struct vmbus_channel *chan,
				   struct bin_attribute *attr)
{
	return hv_create_ring_sysfs(chan, hv_uio_ring_attr_mmap);
}

static void hv_uio_ring_file_remove(struct vmbus_channel *chan,
				    struct bin_attribute *attr)
{
	hv_remove_ring_sysfs(chan);
}
#else
static int hv_uio_ring_file_mmap(struct file *filp, struct kobject *kobj,
				 HV_UIO_BIN_ATTR *attr,
				 struct vm_area_struct *vma)
{
	struct hv_uio_dev *dev = container_of(attr, struct hv_uio_dev,
					      ring_attr);

	return hv_uio_primary_ring_mmap(dev, vma);
}

static int hv_uio_sub_ring_file_mmap(struct file *filp, struct kobject *kobj,
				     HV_UIO_BIN_ATTR *attr,
				     struct vm_area_struct *vma)
{
	return hv_uio_sub_ring_mmap(container_of(kobj, struct vmbus_channel,
						 kobj), vma);
}

/*
 * Another driver (uio_hv_generic before 6.15) may have left its ring file
 * in the channel's directory; creating ours would fail with EEXIST.  Its
 * mmap may reach a ring that is freed, or code that is unloaded: remove it,
 * which also revokes its mappings.
 */
static void hv_uio_stale_ring_file(struct vmbus_channel *chan);

static int hv_uio_ring_file_create(struct vmbus_channel *chan,
				   struct bin_attribute *attr)
{
	hv_uio_stale_ring_file(chan);
	return sysfs_create_bin_file(&chan->kobj, attr);
}

static void hv_uio_ring_file_remove(struct vmbus_channel *chan,
				    struct bin_attribute *attr)
{
	sysfs_remove_bin_file(&chan->kobj, attr);
}
#endif

static void hv_uio_ring_attr_init(struct bin_attribute *attr, size_t size,
				  bool sub)
{
	sysfs_bin_attr_init(attr);
	attr->attr.name = "ring";
	attr->attr.mode = 0600;
	attr->size = size;
#ifndef HV_UIO_HV_OWNS_RING_FILE
	attr->mmap = sub ? hv_uio_sub_ring_file_mmap : hv_uio_ring_file_mmap;
#endif
}

#ifndef HV_UIO_HV_OWNS_RING_FILE
/*
 * True once hv_vmbus has added the channel's directory: the ring file can
 * go in.  hv_vmbus registers the device (binding it to a driver that
 * matches) before it adds the primary channel's directory.
 */
static bool hv_uio_chan_in_sysfs(struct vmbus_channel *chan)
{
	if (!READ_ONCE(chan->probe_done))
		return false;
	/* probe_done is set after the directory was added */
	smp_rmb();
	return chan->kobj.state_in_sysfs;
}

/* Called with dev->lock held. */
static void hv_uio_ring_file_add(struct hv_uio_dev *dev)
{
	struct vmbus_channel *chan = dev->hv_dev->channel;
	int ret;

	if (dev->ring_file || dev->dead || !hv_uio_chan_in_sysfs(chan))
		return;
	ret = hv_uio_ring_file_create(chan, &dev->ring_attr);
	if (ret)
		dev_err(&dev->hv_dev->device, "cannot create the ring file: %d\n",
			ret);
	else
		dev->ring_file = true;
}

/* Waits for hv_vmbus to finish registering a device bound during it. */
static void hv_uio_ring_file_work(struct work_struct *work)
{
	struct hv_uio_dev *dev = container_of(to_delayed_work(work),
					      struct hv_uio_dev, ring_file_work);

	if (!READ_ONCE(dev->hv_dev->channel->probe_done)) {
		schedule_delayed_work(&dev->ring_file_work, 1);
		return;
	}
	mutex_lock(&dev->lock);
	hv_uio_ring_file_add(dev);
	mutex_unlock(&dev->lock);
}
#endif

/* ---- subchannels --------------------------------------------------------------- */

static struct hv_uio_subchan *hv_uio_find_sub(struct hv_uio_dev *dev,
					      struct vmbus_channel *chan)
{
	struct hv_uio_subchan *sub;

	list_for_each_entry(sub, &dev->subchannels, node)
		if (sub->chan == chan)
			return sub;
	return NULL;
}

/* Hands @chan (a reference taken) to the device's work; false if closed. */
static bool hv_uio_offer_add(struct hv_uio_dev *dev, struct vmbus_channel *chan)
{
	struct hv_uio_offer *offer;
	unsigned long flags;
	bool queued = false;

	offer = kzalloc(sizeof(*offer), GFP_KERNEL);
	if (!offer)
		return false;
	offer->chan = chan;
	kobject_get(&chan->kobj);
	spin_lock_irqsave(&dev->offer_lock, flags);
	if (!dev->offers_closed) {
		list_add_tail(&offer->node, &dev->offers);
		queue_work(system_unbound_wq, &dev->sc_work);
		queued = true;
	}
	spin_unlock_irqrestore(&dev->offer_lock, flags);
	if (!queued) {
		kobject_put(&chan->kobj);
		kfree(offer);
	}
	return queued;
}

static struct hv_uio_offer *hv_uio_offer_next(struct hv_uio_dev *dev)
{
	struct hv_uio_offer *offer;
	unsigned long flags;

	spin_lock_irqsave(&dev->offer_lock, flags);
	offer = list_first_entry_or_null(&dev->offers, struct hv_uio_offer,
					 node);
	if (offer)
		list_del(&offer->node);
	spin_unlock_irqrestore(&dev->offer_lock, flags);
	return offer;
}

static void hv_uio_sub_free(struct hv_uio_subchan *sub)
{
	kobject_put(&sub->chan->kobj);
	kfree(sub);
}

/*
 * Opens one subchannel, without a lock across the wait for the host: the
 * channel's rescind ends that wait, and the rescind of another channel
 * offered meanwhile must not wait for it.
 */
static void hv_uio_open_subchannel(struct hv_uio_dev *dev,
				   struct vmbus_channel *chan)
{
	struct device *d = &dev->hv_dev->device;
	u32 relid = chan->offermsg.child_relid;
	struct hv_uio_subchan *sub;
	int ret;

	sub = kzalloc(sizeof(*sub), GFP_KERNEL);
	if (!sub) {
		kobject_put(&chan->kobj);
		return;
	}
	sub->chan = chan;
	mutex_lock(&dev->lock);
	/* a directory not complete yet: its offer's callback follows */
	if (!dev->connected || dev->dead || READ_ONCE(chan->rescind) ||
	    !chan->kobj.state_in_sysfs || chan->state != CHANNEL_OPEN_STATE ||
	    hv_uio_find_sub(dev, chan)) {
		mutex_unlock(&dev->lock);
		hv_uio_sub_free(sub);
		return;
	}
	if (hv_uio_chan_confidential(chan)) {
		mutex_unlock(&dev->lock);
		dev_notice(d, "subchannel %u is confidential: not opened\n",
			   relid);
		hv_uio_sub_free(sub);
		return;
	}
	sub->opening = true;
	list_add_tail(&sub->node, &dev->subchannels);
	mutex_unlock(&dev->lock);

	set_channel_read_mode(chan, HV_UIO_READ_MODE);
	ret = vmbus_open(chan, dev->sub_ring_size, dev->sub_ring_size, NULL, 0,
			 hv_uio_channel_cb, dev);

	mutex_lock(&dev->lock);
	if (ret) {
		list_del(&sub->node);
		mutex_unlock(&dev->lock);
		dev_notice(d, "subchannel %u not opened: %d\n", relid, ret);
		hv_uio_sub_free(sub);
		return;
	}
	sub->opening = false;
	hv_uio_ring_attr_init(&sub->ring_attr,
			      (size_t)chan->ringbuffer_pagecount << PAGE_SHIFT,
			      true);
	ret = hv_uio_ring_file_create(chan, &sub->ring_attr);
	if (ret)
		dev_err(d, "subchannel %u: cannot create the ring file: %d\n",
			relid, ret);
	else
		sub->ring_file = true;
	mutex_unlock(&dev->lock);
}

/* The device's work: opens the subchannels handed to it, one by one. */
static void hv_uio_sc_work(struct work_struct *work)
{
	struct hv_uio_dev *dev = container_of(work, struct hv_uio_dev,
					      sc_work);
	struct hv_uio_offer *offer;

	while ((offer = hv_uio_offer_next(dev))) {
		hv_uio_open_subchannel(dev, offer->chan);
		kfree(offer);
	}
}

/*
 * hv_vmbus's callback for a subchannel offered while the device is open.
 * It runs on hv_vmbus's offer work, and the channel's rescind waits for
 * it: it only hands the channel to the device's work.  The driver data is
 * read under RCU; remove() clears it and waits a grace period before it
 * drops its reference.
 */
static void hv_uio_new_subchannel(struct vmbus_channel *chan)
{
	struct hv_device *hv_dev = chan->primary_channel->device_obj;
	struct hv_uio_dev *dev;

	rcu_read_lock();
	dev = hv_dev ? READ_ONCE(hv_dev->device.driver_data) : NULL;
	if (dev && !kref_get_unless_zero(&dev->ref))
		dev = NULL;
	rcu_read_unlock();
	if (!dev)
		return;
	hv_uio_offer_add(dev, chan);
	kref_put(&dev->ref, hv_uio_dev_release);
}

/*
 * The device's subchannels, found through its channels/ directory, each
 * held by a reference (a subchannel that is not open goes as soon as the
 * host rescinds it).  Returns an array for hv_uio_put_subs(), or NULL.
 */
static struct vmbus_channel **hv_uio_get_subs(struct hv_device *hv_dev,
					      unsigned int *count)
{
	struct vmbus_channel *primary = hv_dev->channel;
	struct kset *kset = READ_ONCE(hv_dev->channels_kset);
	struct vmbus_channel **found, *chan;
	unsigned int n = 0, max = 0;
	struct kobject *kobj;

	*count = 0;
	if (!kset)
		return NULL;
	spin_lock(&kset->list_lock);
	list_for_each_entry(kobj, &kset->list, entry)
		max++;
	spin_unlock(&kset->list_lock);
	found = kcalloc(max, sizeof(*found), GFP_KERNEL);
	if (!found)
		return NULL;
	spin_lock(&kset->list_lock);
	list_for_each_entry(kobj, &kset->list, entry) {
		if (n == max)
			break;
		chan = container_of(kobj, struct vmbus_channel, kobj);
		if (chan != primary && chan->primary_channel == primary &&
		    kobject_get_unless_zero(kobj))
			found[n++] = chan;
	}
	spin_unlock(&kset->list_lock);
	*count = n;
	return found;
}

static void hv_uio_put_subs(struct vmbus_channel **found, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		kobject_put(&found[i]->kobj);
	kfree(found);
}

/* Hands every subchannel offered so far to the device's work. */
static void hv_uio_offer_existing(struct hv_uio_dev *dev)
{
	struct vmbus_channel **found;
	unsigned int n, i;

	found = hv_uio_get_subs(dev->hv_dev, &n);
	for (i = 0; i < n; i++)
		hv_uio_offer_add(dev, found[i]);
	hv_uio_put_subs(found, n);
}

/*
 * vmbus_disconnect_ring() waits for rescind_event of every rescinded
 * subchannel it finds.  hv_vmbus completes it once, when the channel is
 * rescinded while not closed; a subchannel whose open lost against its
 * rescind stays closed in the list, and a second disconnect would wait
 * forever.  Such a channel is never opened again and nothing else waits
 * for the event: complete it for every rescinded subchannel not open.
 */
static void hv_uio_release_rescinded(struct hv_uio_dev *dev)
{
	struct vmbus_channel *primary = dev->hv_dev->channel;
	struct kset *kset = READ_ONCE(dev->hv_dev->channels_kset);
	struct kobject *kobj;
	struct vmbus_channel *chan;

	if (!kset)
		return;
	spin_lock(&kset->list_lock);
	list_for_each_entry(kobj, &kset->list, entry) {
		chan = container_of(kobj, struct vmbus_channel, kobj);
		if (chan != primary && READ_ONCE(chan->rescind) &&
		    READ_ONCE(chan->state) != CHANNEL_OPENED_STATE)
			complete(&chan->rescind_event);
	}
	spin_unlock(&kset->list_lock);
}

/* ---- the primary channel --------------------------------------------------------- */

/* Connects the primary channel, then opens the subchannels. */
static int hv_uio_connect(struct hv_uio_dev *dev)
{
	struct vmbus_channel *chan = dev->hv_dev->channel;
	int ret;

	if (dev->broken)
		return -EIO;
	vmbus_set_sc_create_callback(chan, hv_uio_new_subchannel);
	set_channel_read_mode(chan, HV_UIO_READ_MODE);
	chan->ringbuffer_page = dev->ring.pages;
	chan->ringbuffer_pagecount = dev->ring.npages;
	chan->ringbuffer_send_offset = dev->ring.send_pages;
	ret = vmbus_connect_ring(chan, hv_uio_channel_cb, dev);
	/*
	 * hv_vmbus frees the pages ringbuffer_page names when it frees a
	 * channel's ring; these are the driver's, and may outlive the
	 * channel in a process's mapping.
	 */
	chan->ringbuffer_page = NULL;
	if (ret) {
		if (hv_uio_ring_gpadl_live(chan))
			hv_uio_ring_leak(dev, "connecting failed");
		vmbus_set_sc_create_callback(chan, NULL);
		return ret;
	}
	mutex_lock(&dev->lock);
	dev->connected = true;
	mutex_unlock(&dev->lock);
	/* open returns with every subchannel offered so far open */
	hv_uio_offer_existing(dev);
	flush_work(&dev->sc_work);
	return 0;
}

/*
 * Closes every channel of the device.  The subchannel work must be idle
 * (dev->connected is false, so it opens nothing more): closing waits for
 * the rescind of rescinded subchannels, and an open that was still waiting
 * for the host would race with the close.
 */
static void hv_uio_disconnect(struct hv_uio_dev *dev)
{
	struct vmbus_channel *chan = dev->hv_dev->channel;
	struct hv_uio_subchan *sub, *tmp;
	LIST_HEAD(subs);
	int ret;

	flush_work(&dev->sc_work);
	mutex_lock(&dev->lock);
	list_splice_init(&dev->subchannels, &subs);
	mutex_unlock(&dev->lock);

	/* removing a ring file unmaps it wherever it is mapped */
	list_for_each_entry(sub, &subs, node)
		if (sub->ring_file)
			hv_uio_ring_file_remove(sub->chan, &sub->ring_attr);
	hv_uio_release_rescinded(dev);
	/* closes the subchannels too, and frees their rings */
	ret = vmbus_disconnect_ring(chan);
	if (ret)
		hv_uio_ring_leak(dev, "closing the channel failed");
	else if (hv_uio_ring_gpadl_live(chan))
		hv_uio_ring_leak(dev, "the ring's GPADL teardown failed");
	/* the kernel's own mapping of the ring; the pages stay the driver's */
	vmbus_free_ring(chan);
	list_for_each_entry_safe(sub, tmp, &subs, node) {
		list_del(&sub->node);
		hv_uio_sub_free(sub);
	}
}

/* ---- /dev/uioN ------------------------------------------------------------------ */

/* The UIO core serializes open(), release() and remove()'s unregister. */
static int hv_uio_open(struct uio_info *info, struct inode *inode)
{
	struct hv_uio_dev *dev = container_of(info, struct hv_uio_dev, info);
	int ret = 0;

	if (READ_ONCE(dev->dead))
		return -ENODEV;
	if (!dev->users)
		ret = hv_uio_connect(dev);
	if (!ret)
		dev->users++;
	return ret;
}

static int hv_uio_release(struct uio_info *info, struct inode *inode)
{
	struct hv_uio_dev *dev = container_of(info, struct hv_uio_dev, info);
	bool last;

	if (WARN_ON(!dev->users))
		return 0;
	mutex_lock(&dev->lock);
	last = !--dev->users && dev->connected;
	if (last)
		dev->connected = false;
	mutex_unlock(&dev->lock);
	if (last)
		hv_uio_disconnect(dev);
	return 0;
}

/* ---- the driver ------------------------------------------------------------------ */

static void hv_uio_map_conn_page_init(struct uio_mem *mem, const char *name,
				      void *page)
{
	mem->name = name;
	mem->addr = (uintptr_t)page;
	mem->size = HV_HYP_PAGE_SIZE;
	mem->memtype = UIO_MEM_LOGICAL;
}

/*
 * A ring file the previous driver left on a subchannel: the ring behind it
 * is freed when the subchannel closes, if it was not already.  Removing it
 * revokes every mapping of it.
 */
static void hv_uio_stale_ring_file(struct vmbus_channel *chan)
{
#ifdef HV_UIO_HV_OWNS_RING_FILE
	hv_remove_ring_sysfs(chan);
#else
	struct kernfs_node *kn;
	struct bin_attribute attr;

	if (!chan->kobj.sd)
		return;
	kn = kernfs_find_and_get(chan->kobj.sd, "ring");
	if (!kn)
		return;
	kernfs_put(kn);
	pr_notice("relid %u: removing the ring file another driver left\n",
		  chan->offermsg.child_relid);
	hv_uio_ring_attr_init(&attr, 0, true);
	sysfs_remove_bin_file(&chan->kobj, &attr);
#endif
}

/*
 * What another driver may have left on the channel: its rescind and
 * subchannel callbacks (uio_hv_generic unbound while open keeps both,
 * pointing into its code) and the channel itself, still open.
 */
static int hv_uio_take_over(struct hv_device *hv_dev)
{
	struct vmbus_channel *chan = hv_dev->channel;
	struct vmbus_channel **found;
	unsigned int n, i;
	int ret;

	vmbus_set_chn_rescind_callback(chan, NULL);
	vmbus_set_sc_create_callback(chan, NULL);
	found = hv_uio_get_subs(hv_dev, &n);
	for (i = 0; i < n; i++)
		hv_uio_stale_ring_file(found[i]);
	hv_uio_put_subs(found, n);
	if (chan->state != CHANNEL_OPENED_STATE)
		return 0;
	dev_notice(&hv_dev->device,
		   "the previous driver left the channel open: closing it\n");
	/* its ring is the previous driver's to free, or to leak */
	ret = vmbus_disconnect_ring(chan);
	chan->ringbuffer_page = NULL;
	vmbus_free_ring(chan);
	if (ret)
		dev_err(&hv_dev->device,
			"closing the channel the previous driver left open failed: %d\n",
			ret);
	return ret ? -EBUSY : 0;
}

static int hv_uio_probe(struct hv_device *hv_dev,
			const struct hv_vmbus_device_id *dev_id)
{
	struct vmbus_channel *chan = hv_dev->channel;
	const struct hv_uio_conn_layout *l = hv_uio_conn;
	struct hv_uio_dev *dev;
	size_t pref;
	u32 dir_bytes;
	int ret;

	if (hv_uio_chan_confidential(chan)) {
		dev_err(&hv_dev->device,
			"confidential channel (ring or buffers in memory the host cannot see): not supported\n");
		return -EOPNOTSUPP;
	}
	ret = hv_uio_take_over(hv_dev);
	if (ret)
		return ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->hv_dev = hv_dev;
	kref_init(&dev->ref);
	mutex_init(&dev->lock);
	INIT_LIST_HEAD(&dev->subchannels);
	spin_lock_init(&dev->offer_lock);
	INIT_LIST_HEAD(&dev->offers);
	INIT_WORK(&dev->sc_work, hv_uio_sc_work);
	spin_lock_init(&dev->notify_lock);
#ifndef HV_UIO_HV_OWNS_RING_FILE
	INIT_DELAYED_WORK(&dev->ring_file_work, hv_uio_ring_file_work);
#endif

	pref = hv_uio_pref_ring_size(chan);
	/*
	 * The default is 2 MiB, header page included, as uio_hv_generic's
	 * 512 pages were and its VMBUS_RING_SIZE(SZ_2M) is since that macro
	 * stopped adding a header page to large rings (6.9).
	 */
	dir_bytes = ring_size ? ring_size :
		pref ? VMBUS_RING_SIZE(pref) : HV_UIO_RING_DEFAULT;
	dev->sub_ring_size = ring_size ? ring_size : HV_UIO_RING_DEFAULT;
	ret = hv_uio_ring_alloc(&dev->ring, dir_bytes,
				cpu_to_node(chan->target_cpu));
	if (ret)
		goto fail_free;

	set_channel_read_mode(chan, HV_UIO_READ_MODE);

	dev->info.name = KBUILD_MODNAME;
	dev->info.version = HV_UIO_VERSION;
	dev->info.irq = UIO_IRQ_CUSTOM;
	dev->info.irqcontrol = hv_uio_irqcontrol;
	dev->info.open = hv_uio_open;
	dev->info.release = hv_uio_release;
	dev->info.mmap = hv_uio_mmap;

	dev->info.mem[HV_UIO_MAP_RINGS].name = "txrx_rings";
	dev->info.mem[HV_UIO_MAP_RINGS].addr = page_to_phys(dev->ring.pages);
	dev->info.mem[HV_UIO_MAP_RINGS].size =
		(resource_size_t)dev->ring.npages << PAGE_SHIFT;
	dev->info.mem[HV_UIO_MAP_RINGS].memtype = UIO_MEM_IOVA;
	hv_uio_map_conn_page_init(&dev->info.mem[HV_UIO_MAP_INT_PAGE],
				  "int_page", hv_uio_conn_ptr(l->int_page));
	hv_uio_map_conn_page_init(&dev->info.mem[HV_UIO_MAP_MONITOR_PAGE],
				  "monitor_page",
				  hv_uio_conn_ptr(l->monitor_pages +
						  sizeof(void *)));

	if (chan->device_id == HV_NIC) {
		ret = hv_uio_buf_alloc(dev, &dev->recv_buf, recv_buf_size,
				       "recv", HV_UIO_MAP_RECV);
		if (ret)
			goto fail_ring;
		ret = hv_uio_buf_alloc(dev, &dev->send_buf, send_buf_size,
				       "send", HV_UIO_MAP_SEND);
		if (ret)
			goto fail_bufs;
	}

	hv_uio_ring_attr_init(&dev->ring_attr,
			      dev->info.mem[HV_UIO_MAP_RINGS].size, false);
	/* the size hv_vmbus gives its ring file, from 6.15 */
	chan->ringbuffer_pagecount = dev->ring.npages;

	hv_set_drvdata(hv_dev, dev);
	ret = uio_register_device(&hv_dev->device, &dev->info);
	if (ret) {
		dev_err(&hv_dev->device, "cannot register the UIO device: %d\n",
			ret);
		goto fail_drvdata;
	}
	spin_lock_irq(&dev->notify_lock);
	dev->notify = true;
	spin_unlock_irq(&dev->notify_lock);

#ifdef HV_UIO_HV_OWNS_RING_FILE
	/*
	 * Fails while hv_vmbus has not added the channel's directory yet
	 * (a device bound as it registers): hv_vmbus then adds the file
	 * with the directory.
	 */
	hv_uio_ring_file_create(chan, &dev->ring_attr);
	dev->ring_file = true;
#else
	mutex_lock(&dev->lock);
	hv_uio_ring_file_add(dev);
	if (!dev->ring_file)
		schedule_delayed_work(&dev->ring_file_work, 1);
	mutex_unlock(&dev->lock);
#endif
	return 0;

fail_drvdata:
	hv_set_drvdata(hv_dev, NULL);
fail_bufs:
	hv_uio_buf_free(dev, &dev->send_buf);
	hv_uio_buf_free(dev, &dev->recv_buf);
fail_ring:
	hv_uio_ring_free(dev);
fail_free:
	kfree(dev);
	return ret;
}

/*
 * Unbinding, and a rescind (hv_vmbus then unregisters the device).  An
 * open /dev/uioN does not keep the device: readers get EIO, the channels
 * are closed at once, and mappings keep their memory.
 */
static HV_UIO_REMOVE_RET hv_uio_remove(struct hv_device *hv_dev)
{
	struct hv_uio_dev *dev = hv_get_drvdata(hv_dev);
	struct vmbus_channel *chan = hv_dev->channel;
	struct hv_uio_offer *offer;
	bool connected;

	mutex_lock(&dev->lock);
	WRITE_ONCE(dev->dead, true);
	mutex_unlock(&dev->lock);
#ifndef HV_UIO_HV_OWNS_RING_FILE
	cancel_delayed_work_sync(&dev->ring_file_work);
#endif

	/* the UIO device goes next: no event may reach it after that */
	spin_lock_irq(&dev->notify_lock);
	dev->notify = false;
	spin_unlock_irq(&dev->notify_lock);
	uio_unregister_device(&dev->info);
	/* its mmap finds the device through the driver data */
	if (dev->ring_file)
		hv_uio_ring_file_remove(chan, &dev->ring_attr);

	/* no subchannel callback finds the device any more */
	vmbus_set_sc_create_callback(chan, NULL);
	hv_set_drvdata(hv_dev, NULL);
	synchronize_rcu();
	spin_lock_irq(&dev->offer_lock);
	dev->offers_closed = true;
	spin_unlock_irq(&dev->offer_lock);

	mutex_lock(&dev->lock);
	connected = dev->connected;
	dev->connected = false;
	mutex_unlock(&dev->lock);
	if (connected)
		hv_uio_disconnect(dev);
	flush_work(&dev->sc_work);
	while ((offer = hv_uio_offer_next(dev))) {
		kobject_put(&offer->chan->kobj);
		kfree(offer);
	}

	hv_uio_buf_free(dev, &dev->send_buf);
	hv_uio_buf_free(dev, &dev->recv_buf);
	hv_uio_ring_free(dev);
	kref_put(&dev->ref, hv_uio_dev_release);
	return HV_UIO_REMOVE_OK;
}

/* No id table: devices bind by new_id, driver_override or bind only. */
static struct hv_driver hv_uio_drv = {
	.name = KBUILD_MODNAME,
	.probe = hv_uio_probe,
	.remove = hv_uio_remove,
};

static bool __init hv_uio_param_ok(const char *name, unsigned int v,
				   unsigned long min, unsigned long max,
				   const char *or)
{
	if (PAGE_ALIGNED(v) && v >= min && v <= max)
		return true;
	pr_err("%s=%u: must be %sa multiple of %lu from %lu to %lu\n", name, v,
	       or, PAGE_SIZE, min, max);
	return false;
}

static int __init hv_uio_init(void)
{
	/* both directions of a ring are one allocation */
	unsigned long ring_max = HV_UIO_MAX_ALLOC_PAGES * PAGE_SIZE / 2;
	const char *isolated = hv_uio_isolation();
	int ret;

	if (isolated) {
		pr_err("not loading on a %s: shared pages would need to be made visible to the host and mapped decrypted, which this driver does not do\n",
		       isolated);
		return -EOPNOTSUPP;
	}
	if ((ring_size && !hv_uio_param_ok("ring_size", ring_size,
					   2 * PAGE_SIZE, ring_max, "0 or ")) ||
	    !hv_uio_param_ok("recv_buf_size", recv_buf_size, HV_UIO_BUF_MIN,
			     HV_UIO_BUF_MAX, "") ||
	    !hv_uio_param_ok("send_buf_size", send_buf_size, HV_UIO_BUF_MIN,
			     HV_UIO_BUF_MAX, ""))
		return -EINVAL;
	ret = hv_uio_conn_find();
	if (ret)
		return ret;
	return vmbus_driver_register(&hv_uio_drv);
}

static void __exit hv_uio_exit(void)
{
	vmbus_driver_unregister(&hv_uio_drv);
}

module_init(hv_uio_init);
module_exit(hv_uio_exit);

MODULE_VERSION(HV_UIO_VERSION);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VMBus devices in userspace, with the UIO ABI of uio_hv_generic");
