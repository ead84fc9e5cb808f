/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmbus_sim.h - the host side of the vmbus_sim test module.
 *
 * vmbus_sim stands in for hv_vmbus in a guest that has no Hyper-V: VMBus
 * drivers (uio_hv_generic, hv_uio) load against it unchanged, and a program
 * in guest userspace plays the host through the character device
 * /dev/vmbus_sim described here.  This is a test bed, never a product: the
 * ABI may change with VMBUS_SIM_ABI_VERSION.
 *
 * One host at a time: a second open() fails with EBUSY.
 *
 * What the host does                      How
 * --------------------------------------  ------------------------------------
 * offer a device or a subchannel          VMBUS_SIM_IOC_OFFER
 * rescind a channel (or everything)       VMBUS_SIM_IOC_RESCIND
 * signal a channel (guest interrupt)      VMBUS_SIM_IOC_SIGNAL
 * accept or refuse an OPENCHANNEL         VMBUS_SIM_IOC_OPEN_RESULT (manual
 *                                         mode only; by default every open is
 *                                         accepted at once)
 * learn what the guest did                read() struct vmbus_sim_event
 *                                         records; poll() for POLLIN
 * see ring and GPADL memory               mmap() at VMBUS_SIM_MMAP_GPADL(h)
 * see the interrupt and monitor pages     mmap() at VMBUS_SIM_PGOFF_* * page
 * read or write guest pages a packet      VMBUS_SIM_IOC_GUEST_MEM (ABI 2)
 * names (GPA direct)
 *
 * Channel life, as the guest sees it: OFFER creates the channel (state
 * OFFER), the guest processes the offer (state OPEN: offered, not open;
 * a primary becomes a device on the vmbus bus and may bind to a driver;
 * a subchannel is handed to its primary's driver), the driver opens it
 * (GPADL_CREATE for the ring, then OPEN; state OPENED), closes it (CLOSE,
 * GPADL_TEARDOWN of the ring; state OPEN again), and after a rescind the
 * guest frees the channel (RELID_RELEASED; the relid may be offered again).
 *
 * Guest signals reach the host two ways, as on Hyper-V: a monitored channel
 * sets its bit in the guest-to-host monitor page, which the module scans
 * every jiffy (like the hypervisor's monitor latency) and reports as
 * VMBUS_SIM_SIG_MONITOR; any channel may call vmbus_set_event() (the
 * HvSignalEvent hypercall), reported as VMBUS_SIM_SIG_EVENT.  Signals of one
 * channel coalesce until the host reads the event.
 *
 * Memory: the ring of an open channel and every GPADL are mapped through
 * mmap at VMBUS_SIM_MMAP_GPADL(handle) (MAP_SHARED only).  A ring GPADL
 * holds the guest's send (TX) ring first and its receive (RX) ring second,
 * each one header page plus data; the host reads the first and writes the
 * second.  When the guest tears a GPADL down or the channel is rescinded,
 * the host's mappings of it are revoked: later accesses raise SIGBUS instead
 * of reaching memory the guest may free.  (A ring whose GPADL was never
 * torn down is never freed, as in hv_vmbus; its mapping stays.)
 *
 * GUIDs travel as 16 bytes in the in-memory (guid_t, mixed-endian) order,
 * the order of the VMBus offer message.
 */
#ifndef _UAPI_VMBUS_SIM_H
#define _UAPI_VMBUS_SIM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VMBUS_SIM_ABI_VERSION 2
#define VMBUS_SIM_DEV_NAME "vmbus_sim"

/* Relids the host may offer: 1 .. VMBUS_SIM_RELID_MAX. */
#define VMBUS_SIM_RELID_MAX 16383u
/* VMBUS_SIM_IOC_RESCIND: every channel. */
#define VMBUS_SIM_RELID_ALL 0xffffffffu

/* Monitor ids 0..127; these two are requests, not ids. */
#define VMBUS_SIM_MONITOR_ANY 0xfeu  /* pick a free monitor id */
#define VMBUS_SIM_MONITOR_NONE 0xffu /* not monitored: signal by event only */

/* ------------------------------------------------------------------------ */
/* mmap                                                                      */
/* ------------------------------------------------------------------------ */

/* Page offsets (multiply by the page size) of the connection's pages. */
#define VMBUS_SIM_PGOFF_INT_PAGE 0	 /* vmbus_connection.int_page */
#define VMBUS_SIM_PGOFF_MONITOR_HOST 1 /* monitor_pages[0]: host to guest */
#define VMBUS_SIM_PGOFF_MONITOR_GUEST 2 /* monitor_pages[1]: guest to host */

/* Byte offset of GPADL @handle; map at most its size (rounded to pages). */
#define VMBUS_SIM_MMAP_GPADL(handle) ((__u64)(__u32)(handle) << 32)

/* ------------------------------------------------------------------------ */
/* commands                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Offers a channel, as CHANNELMSG_OFFERCHANNEL does.  A sub_channel_index
 * of 0 offers a primary channel: the guest creates the device
 * /sys/bus/vmbus/devices/<instance> and binds it if a driver matches.  A
 * non-zero index offers a subchannel of the primary with the same class
 * and instance; the guest hands it to that primary's driver
 * (sc_creation_callback), which usually opens it at once.
 *
 * Unless VMBUS_SIM_OFFER_NOWAIT is set, the call returns once the guest has
 * processed the offer: the device is registered (and probed), or the
 * subchannel callback has returned.  In manual-open mode a driver that
 * opens the channel from its probe or callback waits for
 * VMBUS_SIM_IOC_OPEN_RESULT, so offer with NOWAIT there, or answer from
 * another thread.
 *
 * Errors: EINVAL (bad field), EEXIST (relid, monitor id or instance in
 * use, or a primary with this class and instance exists), ENOENT (no
 * primary for a subchannel), ENOSPC (no free relid or monitor id), ENOMEM,
 * EINTR (killed while waiting; the offer goes on).
 */
struct vmbus_sim_offer {
	__u8 class_id[16];	 /* offer.if_type */
	__u8 instance_id[16];	 /* offer.if_instance */
	__u32 relid;		 /* in: 0 = any free; out: the relid */
	__u32 connection_id;	 /* 0 = the relid */
	__u16 sub_channel_index; /* 0 = primary */
	__u8 monitor_id;	 /* in: 0..127, _ANY or _NONE; out: id or _NONE */
	__u8 reserved0;
	__u32 flags;		 /* VMBUS_SIM_OFFER_* */
	__u32 reserved[4];	 /* must be 0 */
};

#define VMBUS_SIM_OFFER_NOWAIT 0x1u
/* offer.is_dedicated_interrupt: vmbus_set_event skips the int page bit */
#define VMBUS_SIM_OFFER_DEDICATED_INTERRUPT 0x2u

/*
 * Rescinds a channel, as CHANNELMSG_RESCIND_CHANNELOFFER does.  Rescinding
 * a primary rescinds its subchannels first (in offer order), as Hyper-V
 * does when it removes a device.  Returns once the guest has handled the
 * rescind (the driver's rescind callback or the device's removal returned)
 * unless VMBUS_SIM_RESCIND_NOWAIT.  The relid stays in use until the guest
 * frees the channel (VMBUS_SIM_EV_RELID_RELEASED): at once for a device,
 * once its driver closes it for an open subchannel.
 * Errors: ENOENT (no such channel), EALREADY (already rescinded), EINTR.
 */
struct vmbus_sim_rescind {
	__u32 relid; /* or VMBUS_SIM_RELID_ALL */
	__u32 flags; /* VMBUS_SIM_RESCIND_* */
};

#define VMBUS_SIM_RESCIND_NOWAIT 0x1u

/*
 * Signals the guest on a channel, as the host's HvSignalEvent does: the
 * driver's channel callback runs in hard interrupt context, as from the
 * VMBus interrupt.  The host decides whether to signal (interrupt_mask of
 * the guest's receive ring); this call never looks at the ring.
 * delivered (out): 1 if a callback ran or was scheduled, 0 if the channel
 * has none (not open, or rescinded).  Errors: ENOENT.
 */
struct vmbus_sim_signal {
	__u32 relid;
	__u32 delivered;
};

/*
 * Answers a pending OPENCHANNEL in manual-open mode.  status 0 accepts; any
 * other value refuses (the guest's open fails with EAGAIN).
 * Errors: ENOENT (no such channel), EALREADY (no open pending).
 */
struct vmbus_sim_open_result {
	__u32 relid;
	__s32 status;
};

/* Host modes (VMBUS_SIM_IOC_SET_MODE); all clear when the host opens. */
/* OPENCHANNEL waits for VMBUS_SIM_IOC_OPEN_RESULT instead of succeeding. */
#define VMBUS_SIM_MODE_MANUAL_OPEN 0x1u
/* Do not scan the monitor page: the host reads it through mmap itself. */
#define VMBUS_SIM_MODE_NO_MONITOR_SCAN 0x2u
/*
 * Keep the offers when the host closes the device.  Without it, closing
 * rescinds every channel, so a host that dies leaves nothing behind.
 * Pending opens are refused either way.
 */
#define VMBUS_SIM_MODE_KEEP_ON_CLOSE 0x4u

struct vmbus_sim_info {
	__u32 abi_version; /* VMBUS_SIM_ABI_VERSION */
	__u32 page_size;
	__u32 mode;
	__u32 nr_channels; /* channels the guest still holds */
	__u32 next_gpadl;  /* handle the next GPADL will get */
	__u32 nr_gpadls;   /* GPADLs the host knows */
	__u32 reserved[2];
};

/* Channel states, the guest's enum vmbus_channel_state. */
#define VMBUS_SIM_STATE_OFFER 0	  /* offer not processed yet */
#define VMBUS_SIM_STATE_OPENING 1 /* OPENCHANNEL sent */
#define VMBUS_SIM_STATE_OPEN 2	  /* processed, not open (or closed) */
#define VMBUS_SIM_STATE_OPENED 3  /* open */

#define VMBUS_SIM_CHAN_RESCINDED 0x1u
#define VMBUS_SIM_CHAN_MONITORED 0x2u
#define VMBUS_SIM_CHAN_SUBCHANNEL 0x4u
#define VMBUS_SIM_CHAN_DEVICE 0x8u    /* a primary with its device registered */
#define VMBUS_SIM_CHAN_BOUND 0x10u    /* ... and bound to a driver */
#define VMBUS_SIM_CHAN_CALLBACK 0x20u /* a channel callback is set */

struct vmbus_sim_chan_info {
	__u32 relid; /* in */
	__u32 state; /* VMBUS_SIM_STATE_* */
	__u32 flags; /* VMBUS_SIM_CHAN_* */
	__u32 primary_relid;
	__u16 sub_channel_index;
	__u8 monitor_id; /* or VMBUS_SIM_MONITOR_NONE */
	__u8 reserved0;
	__u32 ring_gpadl;     /* while open, else 0 */
	__u32 ring_size;      /* bytes, both directions; 0 if no ring */
	__u32 ring_send_size; /* bytes of the guest's send ring */
	__u32 target_cpu;
	__u64 interrupts;	     /* host signals that reached a callback */
	__u64 guest_signals_monitor; /* guest signals seen on the monitor page */
	__u64 guest_signals_event;   /* vmbus_set_event calls */
	__u64 opens;		     /* OPENCHANNEL messages */
	__u64 closes;		     /* CLOSECHANNEL messages */
	__u8 class_id[16];
	__u8 instance_id[16];
};

#define VMBUS_SIM_GPADL_BUFFER 0
#define VMBUS_SIM_GPADL_RING 1

struct vmbus_sim_gpadl_info {
	__u32 handle; /* in */
	__u32 relid;
	__u32 type;	   /* VMBUS_SIM_GPADL_* */
	__u32 size;	   /* bytes */
	__u32 send_offset; /* ring: bytes of the guest's send ring */
	__u32 reserved;
	__u64 mmap_offset; /* VMBUS_SIM_MMAP_GPADL(handle) */
};

#define VMBUS_SIM_IOC_MAGIC 0xb5
#define VMBUS_SIM_IOC_GET_INFO _IOR(VMBUS_SIM_IOC_MAGIC, 0, struct vmbus_sim_info)
#define VMBUS_SIM_IOC_OFFER _IOWR(VMBUS_SIM_IOC_MAGIC, 1, struct vmbus_sim_offer)
#define VMBUS_SIM_IOC_RESCIND _IOW(VMBUS_SIM_IOC_MAGIC, 2, struct vmbus_sim_rescind)
#define VMBUS_SIM_IOC_SIGNAL _IOWR(VMBUS_SIM_IOC_MAGIC, 3, struct vmbus_sim_signal)
#define VMBUS_SIM_IOC_OPEN_RESULT _IOW(VMBUS_SIM_IOC_MAGIC, 4, struct vmbus_sim_open_result)
#define VMBUS_SIM_IOC_SET_MODE _IOW(VMBUS_SIM_IOC_MAGIC, 5, __u32)
#define VMBUS_SIM_IOC_CHAN_INFO _IOWR(VMBUS_SIM_IOC_MAGIC, 6, struct vmbus_sim_chan_info)
#define VMBUS_SIM_IOC_GPADL_INFO _IOWR(VMBUS_SIM_IOC_MAGIC, 7, struct vmbus_sim_gpadl_info)
/*
 * Waits until the guest has finished what it queued: the stand-in's offer
 * and rescind work, and every pending RCU callback in the kernel
 * (rcu_barrier), so that memory figures read next (/proc/meminfo,
 * /proc/slabinfo) do not count objects whose freeing is merely pending.
 */
#define VMBUS_SIM_IOC_QUIESCE _IO(VMBUS_SIM_IOC_MAGIC, 8)

/* ------------------------------------------------------------------------ */
/* events (read)                                                             */
/* ------------------------------------------------------------------------ */

/*
 * read() returns whole records, as many as fit; it blocks while there are
 * none unless O_NONBLOCK (EAGAIN).  A buffer smaller than one record is
 * EINVAL.  Events are queued in the order the guest acted; an event that
 * a guest call causes is queued before that call returns.
 */
enum vmbus_sim_event_type {
	/* the guest signalled the channel; flags: VMBUS_SIM_SIG_* */
	VMBUS_SIM_EV_SIGNAL = 1,
	/*
	 * OPENCHANNEL: gpadl = ring GPADL, size = ring bytes (both
	 * directions), offset = bytes of the guest's send ring (where its
	 * receive ring starts), target_vp.  In manual-open mode the guest
	 * waits for VMBUS_SIM_IOC_OPEN_RESULT.
	 */
	VMBUS_SIM_EV_OPEN = 2,
	/* CLOSECHANNEL */
	VMBUS_SIM_EV_CLOSE = 3,
	/* GPADL created: gpadl, size, flags = VMBUS_SIM_GPADL_* */
	VMBUS_SIM_EV_GPADL_CREATE = 4,
	/* GPADL torn down by the guest: gpadl */
	VMBUS_SIM_EV_GPADL_TEARDOWN = 5,
	/* the guest freed a rescinded channel: the relid is free again */
	VMBUS_SIM_EV_RELID_RELEASED = 6,
	/* events were lost because the host did not read them in time */
	VMBUS_SIM_EV_OVERFLOW = 7,
	/* MODIFYCHANNEL: the guest moved the channel to target_vp */
	VMBUS_SIM_EV_MODIFY = 8,
};

#define VMBUS_SIM_SIG_MONITOR 0x1u /* monitor page pending bit */
#define VMBUS_SIM_SIG_EVENT 0x2u   /* vmbus_set_event */

struct vmbus_sim_event {
	__u32 type; /* enum vmbus_sim_event_type */
	__u32 relid;
	__u32 gpadl;
	__u32 flags;
	__u64 size;
	__u64 offset;
	__u32 target_vp;
	__u32 reserved;
	__u64 seq; /* 1, 2, 3 ... per host open; gaps mean lost events */
};

/* ------------------------------------------------------------------------ */
/* generations and fault injection (added to ABI 1)                         */
/* ------------------------------------------------------------------------ */

/*
 * The module is built for one generation of hv_vmbus's API and behaviour
 * (VMBUS_SIM_GEN at build time; VMBUS_SIM_IOC_GET_GEN says which):
 *   514  a GPADL is a u32 handle; no per-class ring sizes; drivers create
 *        the channels' "ring" files themselves
 *   601  Debian's 6.1: struct vmbus_gpadl with .decrypted, vmbus_devs[]
 *   615  hv_driver.remove returns void; hv_vmbus owns the "ring" attribute
 *        of every channel (hv_create_ring_sysfs()) and calls the driver's
 *        mmap callback for it
 *   618  615 plus confidential channels (VMBUS_SIM_OFFER_CONFIDENTIAL_*)
 */
#define VMBUS_SIM_GEN_5_14 514
#define VMBUS_SIM_GEN_6_1 601
#define VMBUS_SIM_GEN_6_15 615
#define VMBUS_SIM_GEN_6_18 618

#define VMBUS_SIM_IOC_GET_GEN _IOR(VMBUS_SIM_IOC_MAGIC, 10, __u32)

/* Offer flags of generation 618 and later (EINVAL before). */
#define VMBUS_SIM_OFFER_CONFIDENTIAL_RING 0x4u	/* co_ring_buffer */
#define VMBUS_SIM_OFFER_CONFIDENTIAL_MEMORY 0x8u /* co_external_memory */

/*
 * Makes the guest's next action @what on channel @relid go wrong as it can
 * on Hyper-V, once:
 *   CLOSE           the CLOSECHANNEL message cannot be posted (hypervisor
 *                   busy): the close fails, the host keeps the channel
 *                   open and its ring GPADL
 *   GPADL_TEARDOWN  the GPADL_TEARDOWN message of a GPADL of the channel
 *                   cannot be posted: the host keeps the GPADL (hv_vmbus
 *                   returns the error before 5.16, 0 with the handle kept
 *                   from then on)
 *   HOLD_OPEN       the OPENCHANNEL answer is held back until
 *                   VMBUS_SIM_IOC_OPEN_RESULT or the channel's rescind, as
 *                   in manual-open mode, for this channel only
 * Errors: ENOENT (no such channel), EINVAL.
 */
struct vmbus_sim_fault {
	__u32 relid;
	__u32 what;
};

#define VMBUS_SIM_FAULT_CLOSE 1u
#define VMBUS_SIM_FAULT_GPADL_TEARDOWN 2u
#define VMBUS_SIM_FAULT_HOLD_OPEN 3u

#define VMBUS_SIM_IOC_FAULT _IOW(VMBUS_SIM_IOC_MAGIC, 9, struct vmbus_sim_fault)

/* ------------------------------------------------------------------------ */
/* guest pages named by packets (ABI 2)                                      */
/* ------------------------------------------------------------------------ */

/*
 * A GPA-direct packet (VM_PKT_DATA_USING_GPA_DIRECT: page-buffer and
 * multi-page ranges alike) names guest pages by their 4 KiB page number;
 * the host reads (or writes) them in place, as Hyper-V does.  This copies
 * @len bytes starting at byte @offset of page @pfn (on into the following
 * pages when it runs past the end) from guest memory into the host's
 * buffer @buf, or with VMBUS_SIM_GUEST_MEM_WRITE from @buf into guest
 * memory.
 *
 * Every byte must lie in a range that a packet of the device owning
 * channel @relid names, sent and not yet done: the pages are granted when
 * the guest writes the packet to a ring and taken back when its driver
 * takes the packet's completion (its request id comes back), or the
 * channel closes.  A driver that writes its rings from userspace (through a
 * UIO driver) sends packets the guest kernel never sees: for those, the
 * bytes a GPA-direct packet names are the host's while the packet waits in
 * the guest's send ring of a channel of the device, between the host's
 * read index and the guest's write index.  Hyper-V could reach any guest
 * page; the stand-in refuses
 * the others so that a host touching memory it was not given, or a page
 * after completing its packet, fails at once.
 *
 * Errors: EINVAL (offset >= 4096, len 0 or above VMBUS_SIM_GUEST_MEM_MAX,
 * unknown flags, reserved not 0), ENOENT (no such channel), EACCES (a byte
 * no outstanding packet of the device names), EFAULT (@buf, or no memory
 * behind the page number).
 */
struct vmbus_sim_guest_mem {
	__u32 relid;  /* any channel of the device */
	__u32 flags;  /* VMBUS_SIM_GUEST_MEM_* */
	__u64 pfn;    /* guest page number, 4 KiB pages */
	__u32 offset; /* in that page */
	__u32 len;
	__u64 buf;    /* the host's buffer */
	__u64 reserved;
};

#define VMBUS_SIM_GUEST_MEM_WRITE 0x1u /* host to guest */
#define VMBUS_SIM_GUEST_MEM_MAX (1u << 20)

#define VMBUS_SIM_IOC_GUEST_MEM _IOW(VMBUS_SIM_IOC_MAGIC, 11, struct vmbus_sim_guest_mem)

#endif /* _UAPI_VMBUS_SIM_H */
