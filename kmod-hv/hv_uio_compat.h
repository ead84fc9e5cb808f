/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What hv_uio needs from hv_vmbus beyond <linux/hyperv.h>, and the kernel
 * API differences between the kernels it supports: 5.14 to 6.18.
 *
 * hv_vmbus exports vmbus_connection but declares its type only in the
 * private drivers/hv/hyperv_vmbus.h, which kernel header packages do not
 * ship.  The driver needs the interrupt page and the monitor pages from it:
 * the fields up to monitor_pages are mirrored here, in both orders hv_vmbus
 * has used, with the kernel's own types (the size of struct completion
 * depends on the configuration).  At load time the driver checks which of
 * them this kernel has; with HV_UIO_CHECK_LAYOUT the build also checks them
 * against the real private header.
 *
 * Stable kernels take backports, so features are never read from the
 * version number: Kbuild finds them in the <linux/hyperv.h> the compiler
 * reads and in hv_vmbus's exports (Module.symvers).
 *   HV_UIO_HAVE_GPADL		struct vmbus_gpadl (5.16); before it a GPADL
 *				is a u32 handle
 *   HV_UIO_HAVE_GPADL_DECRYPTED	struct vmbus_gpadl has .decrypted (6.9)
 *   HV_UIO_HAVE_VMBUS_DEVS	hv_vmbus exports vmbus_devs[] with
 *				per-class preferred ring sizes (6.10)
 *   HV_UIO_HV_OWNS_RING_FILE	hv_vmbus owns the channels' "ring"
 *				attribute: hv_create_ring_sysfs() (6.15, and
 *				stable backports to 6.14, 6.12 and 6.6)
 *   HV_UIO_HAVE_CO_CHANNELS	channels carry co_ring_buffer and
 *				co_external_memory (confidential VMBus, 6.18)
 *   HV_UIO_REMOVE_VOID		hv_driver.remove returns void (6.3)
 *   HV_UIO_HAVE_VM_FLAGS_SET	vm_flags_set(), vm_flags read-only (6.3)
 *   HV_UIO_BIN_ATTR_CONST	bin_attribute.mmap takes a const attr (6.13)
 *   HV_UIO_HAVE_ISOLATION	hv_is_isolation_supported() is exported
 *   HV_UIO_HAVE_CC_PLATFORM	<linux/cc_platform.h> (5.16)
 */
#ifndef HV_UIO_COMPAT_H
#define HV_UIO_COMPAT_H

#include <linux/completion.h>
#include <linux/hyperv.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>
#ifdef HV_UIO_HAVE_ISOLATION
#include <asm/mshyperv.h>
#endif
#ifdef HV_UIO_HAVE_CC_PLATFORM
#include <linux/cc_platform.h>
#endif

/* ---- vmbus_connection ---------------------------------------------------- */

/* enum vmbus_connect_state of hyperv_vmbus.h */
#define HV_UIO_CONN_CONNECTED 2

/* 5.8 and later (8a857c55420f, also in 5.4.y, 5.6.y and 5.7.y) */
struct hv_uio_conn_5_8 {
	u32 msg_conn_id;
	atomic_t offer_in_progress;
	int conn_state;
	atomic_t next_gpadl_handle;
	struct completion unload_event;
	void *int_page;
	void *send_int_page;
	void *recv_int_page;
	struct hv_monitor_page *monitor_pages[2];
};

/*
 * before: the connection had a CPU of its own first.  Written out in full:
 * embedding struct hv_uio_conn_5_8 after connect_cpu would put msg_conn_id
 * at offset 8 (the struct's pointer alignment) instead of the kernel's 4.
 */
struct hv_uio_conn_4_14 {
	int connect_cpu;
	u32 msg_conn_id;
	atomic_t offer_in_progress;
	int conn_state;
	atomic_t next_gpadl_handle;
	struct completion unload_event;
	void *int_page;
	void *send_int_page;
	void *recv_int_page;
	struct hv_monitor_page *monitor_pages[2];
};

/* Where the fields sit in one of the layouts above. */
struct hv_uio_conn_layout {
	const char *name;
	size_t conn_state;
	size_t int_page;
	size_t send_int_page;
	size_t recv_int_page;
	size_t monitor_pages;
};

#ifdef HV_UIO_CHECK_LAYOUT
/*
 * Built with the kernel's private header (HV_VMBUS_H_DIR): the real layout
 * must be one of the mirrored ones.
 */
#include "hyperv_vmbus.h"

#define HV_UIO_OFF(f) offsetof(struct vmbus_connection, f)
#define HV_UIO_OFF_5_8(f) offsetof(struct hv_uio_conn_5_8, f)
#define HV_UIO_OFF_4_14(f) offsetof(struct hv_uio_conn_4_14, f)

static_assert(sizeof(enum vmbus_connect_state) == sizeof(int));
static_assert(CONNECTED == HV_UIO_CONN_CONNECTED);
static_assert(HV_UIO_OFF(send_int_page) ==
	      HV_UIO_OFF(int_page) + sizeof(void *));
static_assert(HV_UIO_OFF(recv_int_page) ==
	      HV_UIO_OFF(int_page) + 2 * sizeof(void *));
static_assert(HV_UIO_OFF(monitor_pages) ==
	      HV_UIO_OFF(int_page) + 3 * sizeof(void *));
static_assert((HV_UIO_OFF(conn_state) == HV_UIO_OFF_5_8(conn_state) &&
	       HV_UIO_OFF(int_page) == HV_UIO_OFF_5_8(int_page)) ||
	      (HV_UIO_OFF(conn_state) == HV_UIO_OFF_4_14(conn_state) &&
	       HV_UIO_OFF(int_page) == HV_UIO_OFF_4_14(int_page)),
	      "this kernel's struct vmbus_connection is not mirrored here");

/* the layout the load-time check must find */
#define HV_UIO_CONN_EXPECTED						\
	(HV_UIO_OFF(int_page) == HV_UIO_OFF_5_8(int_page) ? "5.8" : "4.14")
#else
/* hv_vmbus's connection; only its address is used */
struct vmbus_connection;
extern struct vmbus_connection vmbus_connection;
#define HV_UIO_CONN_EXPECTED NULL
#endif

/* ---- hv_vmbus exports without a public declaration ----------------------- */

#ifdef HV_UIO_HAVE_VMBUS_DEVS
extern const struct vmbus_device vmbus_devs[];
#endif

/* The ring size hv_vmbus prefers for the channel's class, 0 if none. */
static inline size_t hv_uio_pref_ring_size(const struct vmbus_channel *chan)
{
#ifdef HV_UIO_HAVE_VMBUS_DEVS
	if (chan->device_id <= HV_UNKNOWN)
		return vmbus_devs[chan->device_id].pref_ring_size;
#endif
	return 0;
}

#ifdef HV_UIO_HV_OWNS_RING_FILE
/*
 * Declared in drivers/hv/hyperv_vmbus.h only: hv_vmbus shows the channel's
 * "ring" attribute and calls @mmap for it, until hv_remove_ring_sysfs().
 */
int hv_create_ring_sysfs(struct vmbus_channel *channel,
			 int (*mmap)(struct vmbus_channel *channel,
				     struct vm_area_struct *vma));
int hv_remove_ring_sysfs(struct vmbus_channel *channel);
#endif

/* ---- GPADLs ------------------------------------------------------------------ */

/*
 * A GPADL the driver made.  hv_vmbus's rule, which the driver keeps: the
 * memory behind a GPADL goes back to the kernel only once the host let go
 * of it; when the teardown failed it is leaked instead.
 */
struct hv_uio_gpadl {
#ifdef HV_UIO_HAVE_GPADL
	struct vmbus_gpadl g;
#else
	u32 handle;
#endif
};

static inline u32 hv_uio_gpadl_handle(const struct hv_uio_gpadl *gpadl)
{
#ifdef HV_UIO_HAVE_GPADL
	return gpadl->g.gpadl_handle;
#else
	return gpadl->handle;
#endif
}

/* True if the GPADL may still be shared with the host. */
static inline bool hv_uio_gpadl_live(const struct vmbus_channel *chan,
				     const struct hv_uio_gpadl *gpadl)
{
#ifdef HV_UIO_HAVE_GPADL_DECRYPTED
	/* memory that could not be encrypted again must never be reused */
	if (gpadl->g.decrypted)
		return true;
#endif
	return hv_uio_gpadl_handle(gpadl) && !READ_ONCE(chan->rescind);
}

static inline int hv_uio_gpadl_establish(struct vmbus_channel *chan,
					 void *buf, u32 size,
					 struct hv_uio_gpadl *gpadl)
{
#ifdef HV_UIO_HAVE_GPADL
	return vmbus_establish_gpadl(chan, buf, size, &gpadl->g);
#else
	gpadl->handle = 0;
	return vmbus_establish_gpadl(chan, buf, size, &gpadl->handle);
#endif
}

/*
 * Tears the GPADL down; true if the host let go of its memory.  Since
 * 5.16 hv_vmbus clears the handle only once the host answered, and from
 * 6.9 it returns what re-encrypting the memory returned, not whether the
 * message reached the host: the handle tells.  A rescinded channel's
 * GPADLs are gone with it.
 */
static inline bool hv_uio_gpadl_teardown(struct vmbus_channel *chan,
					 struct hv_uio_gpadl *gpadl)
{
#ifdef HV_UIO_HAVE_GPADL
	int ret = vmbus_teardown_gpadl(chan, &gpadl->g);

	return !ret && !hv_uio_gpadl_live(chan, gpadl);
#else
	int ret = vmbus_teardown_gpadl(chan, gpadl->handle);

	if (!ret)
		gpadl->handle = 0;
	return !ret;
#endif
}

/* True if the primary's ring GPADL may still be shared with the host. */
static inline bool hv_uio_ring_gpadl_live(const struct vmbus_channel *chan)
{
#ifdef HV_UIO_HAVE_GPADL
	return hv_uio_gpadl_live(chan, (const struct hv_uio_gpadl *)
				 &chan->ringbuffer_gpadlhandle);
#else
	return chan->ringbuffer_gpadlhandle && !READ_ONCE(chan->rescind);
#endif
}

/* ---- channels hv_uio cannot serve --------------------------------------------- */

/*
 * A confidential channel keeps its ring or its buffers in memory the host
 * cannot see (a paravisor serves it): nothing a process could share.
 */
static inline bool hv_uio_chan_confidential(const struct vmbus_channel *chan)
{
#ifdef HV_UIO_HAVE_CO_CHANNELS
	return chan->co_ring_buffer || chan->co_external_memory;
#else
	return false;
#endif
}

/*
 * An isolated guest (SEV-SNP, TDX, VBS) shares pages with the host only
 * once it has made them visible, and maps them to userspace decrypted:
 * this driver does neither.
 */
static inline const char *hv_uio_isolation(void)
{
#ifdef HV_UIO_HAVE_ISOLATION
	if (hv_is_isolation_supported())
		return "Hyper-V isolated VM (hv_is_isolation_supported)";
#endif
#ifdef HV_UIO_HAVE_CC_PLATFORM
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT))
		return "memory-encrypted guest (CC_ATTR_GUEST_MEM_ENCRYPT)";
#endif
	return NULL;
}

/* ---- kernel API ------------------------------------------------------------ */

#ifdef HV_UIO_REMOVE_VOID
#define HV_UIO_REMOVE_RET void
#define HV_UIO_REMOVE_OK
#else
#define HV_UIO_REMOVE_RET int
#define HV_UIO_REMOVE_OK 0
#endif

static inline void hv_uio_vma_flags(struct vm_area_struct *vma, vm_flags_t f)
{
#ifdef HV_UIO_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, f);
#else
	vma->vm_flags |= f;
#endif
}

#ifdef HV_UIO_BIN_ATTR_CONST
#define HV_UIO_BIN_ATTR const struct bin_attribute
#else
#define HV_UIO_BIN_ATTR struct bin_attribute
#endif

/*
 * Where the channel callback runs.  In the VMBus interrupt, as
 * uio_hv_generic does, except on PREEMPT_RT: there the UIO event (a wait
 * queue and fasync, sleeping locks) must not be raised in hard interrupt
 * context, and a tasklet (a thread on RT) runs it.
 */
#ifdef CONFIG_PREEMPT_RT
#define HV_UIO_READ_MODE HV_CALL_DIRECT
#else
#define HV_UIO_READ_MODE HV_CALL_ISR
#endif

/* The largest block the page allocator hands out, in pages. */
#define HV_UIO_MAX_ALLOC_PAGES MAX_ORDER_NR_PAGES

#endif /* HV_UIO_COMPAT_H */
