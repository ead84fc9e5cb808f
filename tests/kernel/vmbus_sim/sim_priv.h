/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmbus_sim internals.  The module defines what hv_vmbus exports to VMBus
 * drivers (see <linux/hyperv.h> and the private drivers/hv/hyperv_vmbus.h,
 * which the build takes from the kernel's own source) and replaces the
 * hypervisor and the host with the character device of sim_host.c.
 *
 * Locking, as in hv_vmbus: vmbus_connection.channel_mutex guards the
 * channel lists, the relid table writes and channel removal; relid lookups
 * from the signal path use RCU (channels are freed with kfree_rcu).
 */
#ifndef VMBUS_SIM_PRIV_H
#define VMBUS_SIM_PRIV_H

#include <linux/completion.h>
#include <linux/hyperv.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/workqueue.h>

#include "hyperv_vmbus.h"
#include "uapi/vmbus_sim.h"

/*
 * The generation of hv_vmbus this module plays (VMBUS_SIM_GEN_*, from
 * VMBUS_SIM_GEN=x.y at build time); <linux/hyperv.h> is then that
 * generation's, rewritten by tests/kernel/tools/hyperv-gen.
 */
#ifndef VMBUS_SIM_GEN
#define VMBUS_SIM_GEN VMBUS_SIM_GEN_6_1
#endif
/* struct vmbus_gpadl (5.16); before it a GPADL is a u32 handle */
#define SIM_HAVE_GPADL (VMBUS_SIM_GEN >= VMBUS_SIM_GEN_6_1)
/* vmbus_gpadl.decrypted, vmbus_devs[] with pref_ring_size (Debian's 6.1) */
#define SIM_HAVE_DECRYPTED (VMBUS_SIM_GEN >= VMBUS_SIM_GEN_6_1)
/* hv_vmbus owns the channels' "ring" attribute */
#define SIM_OWNS_RING_FILE (VMBUS_SIM_GEN >= VMBUS_SIM_GEN_6_15)
/* confidential channels */
#define SIM_HAVE_CO (VMBUS_SIM_GEN >= VMBUS_SIM_GEN_6_18)
/*
 * vmbus_sendpacket_getid() and vmbus_request_addr_match() (6.0); before,
 * only the rest of the packet API
 */
#define SIM_HAVE_GETID (VMBUS_SIM_GEN >= VMBUS_SIM_GEN_6_1)

#if SIM_HAVE_GPADL
#define SIM_RING_GPADL(chan) ((chan)->ringbuffer_gpadlhandle.gpadl_handle)
#else
#define SIM_RING_GPADL(chan) ((chan)->ringbuffer_gpadlhandle)
#endif

/* A channel as the module keeps it; drivers only see ->chan. */
struct sim_channel {
	struct vmbus_channel chan;
	refcount_t ref;			/* memory; freed after an RCU grace period */
	struct list_head all_node;	/* sim_all_channels, channel_mutex */
	struct completion added;	/* the guest processed the offer */
	/* OPENCHANNEL waiting for the host (sim_host.c's lock) */
	struct list_head open_node;
	struct completion open_done;
	int open_status;
	bool open_pending;
	/* channel_mutex */
	bool removed;			/* sim_channel_remove() ran */
	bool orphan;			/* a subchannel whose primary is gone */
	bool unloading;
	bool dev_owned;			/* removed by its device's release */
	bool kobj_inited;		/* chan.kobj holds the last reference */
	bool group_added;		/* the attribute group is in sysfs */
	bool ring_shared;		/* the ring's GPADL is established */
	u32 faults;			/* BIT(VMBUS_SIM_FAULT_*), host.lock */
#if SIM_OWNS_RING_FILE
	struct bin_attribute ring_attr;	/* hv_vmbus's "ring" attribute */
	struct bin_attribute *bin_attrs[2];
	struct attribute_group group;
#endif
	/* grants of the packets sent (sim_ring.c's lock) */
	struct list_head grants;
	struct sim_grant **grant_by_id;	/* [request id - 1] */
	u32 grant_slots;
	atomic64_t guest_sig_monitor;
	atomic64_t guest_sig_event;
	u64 opens;			/* sim_host.c's lock */
	u64 closes;
};

static inline struct sim_channel *to_sim_channel(struct vmbus_channel *chan)
{
	return container_of(chan, struct sim_channel, chan);
}

/* sim_main.c */
extern struct list_head sim_all_channels;
extern struct workqueue_struct *sim_primary_wq;
extern struct workqueue_struct *sim_sub_wq;
extern struct workqueue_struct *sim_rescind_wq;

struct vmbus_channel *sim_relid2channel(u32 relid);
int sim_offer(struct vmbus_sim_offer *offer);
int sim_rescind(u32 relid, bool wait);
int sim_signal_guest(u32 relid);
void sim_channel_put(struct sim_channel *sc);
void sim_channel_kobj_release(struct kobject *kobj);
void sim_channel_remove(struct vmbus_channel *chan);
void sim_reset_channel_cb(struct vmbus_channel *chan);
u16 sim_dev_type(const guid_t *class_id);
u8 sim_monitor_relid_count(u8 monitor_id, u32 *relids, u8 max);

/* sim_bus.c */
extern struct bus_type sim_bus;
int sim_bus_init(void);
void sim_bus_exit(void);
int sim_device_register(struct hv_device *hv_dev);
int sim_add_channel_kobj(struct hv_device *hv_dev, struct vmbus_channel *chan);
void sim_remove_channel_kobj(struct vmbus_channel *chan);

#if SIM_OWNS_RING_FILE
/* hv_vmbus declares these in its private header from 6.15 on */
int hv_create_ring_sysfs(struct vmbus_channel *chan,
			 int (*mmap)(struct vmbus_channel *chan,
				     struct vm_area_struct *vma));
int hv_remove_ring_sysfs(struct vmbus_channel *chan);
#endif

/* sim_ring.c */
struct sim_grant;
int sim_rqstor_init(struct vmbus_channel *chan);
void sim_rqstor_free(struct vmbus_channel *chan);
void sim_grants_release_chan(struct vmbus_channel *chan);
long sim_guest_mem(const struct vmbus_sim_guest_mem *m);
bool sim_ring_names(u32 dev_relid, struct vmbus_channel *chan, const void *ring, u32 send_size,
		    u64 pfn, u32 s, u32 e);

/* sim_host.c: the host's side */
int sim_host_init(void);
void sim_host_exit(void);
/* queues an event for the host; any context */
void sim_host_event(u32 type, u32 relid, u32 gpadl, u32 flags, u64 size,
		    u64 offset, u32 target_vp);
/*
 * OPENCHANNEL: returns 0 if the host accepted at once, 1 if the caller
 * must wait for open_done, or a negative errno.
 */
int sim_host_open(struct sim_channel *sc, u32 gpadl, u32 size, u32 send,
		  u32 target_vp);
/* consumes fault @what of the channel if the host armed it */
bool sim_fault_take(struct sim_channel *sc, u32 what);
/* the channel was rescinded: an open waiting for the host gives up */
void sim_host_cancel_open(struct sim_channel *sc);
void sim_host_close(struct sim_channel *sc);
/* GPADL registry; the host maps what is registered */
int sim_gpadl_add(struct vmbus_channel *chan, u32 handle, u32 type,
		  void *buffer, u32 size, u32 send_offset);
bool sim_gpadl_remove(u32 handle);
void sim_gpadl_remove_chan(struct vmbus_channel *chan);
void sim_gpadl_remove_buffer(void *buffer);
/* Whether a packet waiting in a ring of device @dev_relid names the bytes. */
bool sim_gpadl_rings_name(u32 dev_relid, u64 pfn, u32 s, u32 e);

#endif /* VMBUS_SIM_PRIV_H */
