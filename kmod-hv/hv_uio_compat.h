/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What hv_uio needs from hv_vmbus beyond <linux/hyperv.h>, and the kernel
 * API differences between the kernels it supports.
 *
 * Supported: from 5.16 (struct vmbus_gpadl) up to, not including, 6.15,
 * where hv_vmbus itself owns the channels' "ring" attribute
 * (hv_create_ring_sysfs) and a driver must not create its own.
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
 * Stable kernels take backports, so features are not read from the version
 * number: Kbuild finds them in the headers and in Module.symvers.
 *   HV_UIO_HAVE_GPADL		struct vmbus_gpadl (5.16)
 *   HV_UIO_HAVE_GPADL_DECRYPTED	struct vmbus_gpadl has .decrypted
 *   HV_UIO_HAVE_VMBUS_DEVS	hv_vmbus exports vmbus_devs[] with
 *				per-class preferred ring sizes
 *   HV_UIO_HV_OWNS_RING_FILE	hv_vmbus exports hv_create_ring_sysfs
 *   HV_UIO_REMOVE_VOID		hv_driver.remove returns void (6.3)
 *   HV_UIO_HAVE_VM_FLAGS_SET	vm_flags_set(), vm_flags read-only (6.3)
 *   HV_UIO_BIN_ATTR_CONST	bin_attribute.mmap takes a const attr (6.13)
 */
#ifndef HV_UIO_COMPAT_H
#define HV_UIO_COMPAT_H

#include <linux/completion.h>
#include <linux/hyperv.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#ifndef HV_UIO_HAVE_GPADL
#error "hv_uio needs Linux 5.16 or later (struct vmbus_gpadl)"
#endif
#ifdef HV_UIO_HV_OWNS_RING_FILE
#error "hv_uio does not support kernels whose hv_vmbus owns the channel ring file (6.15 and later)"
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

/* True if a GPADL may still be shared with the host: its memory must leak. */
static inline bool hv_uio_gpadl_shared(const struct vmbus_gpadl *gpadl)
{
#ifdef HV_UIO_HAVE_GPADL_DECRYPTED
	return gpadl->decrypted;
#else
	return false;
#endif
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

/* The largest block the page allocator hands out, in pages. */
#define HV_UIO_MAX_ALLOC_PAGES MAX_ORDER_NR_PAGES

#endif /* HV_UIO_COMPAT_H */
