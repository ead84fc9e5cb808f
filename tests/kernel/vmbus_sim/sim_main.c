// SPDX-License-Identifier: GPL-2.0
/*
 * vmbus_sim - a stand-in for hv_vmbus, for testing VMBus drivers in a guest
 * without Hyper-V.
 *
 * This file holds the connection (vmbus_connection, laid out by the
 * kernel's own private header), the device class table, the channel
 * objects and the guest's handling of the host's offers, rescinds and
 * signals.  The host's commands arrive through sim_host.c.
 *
 * Test-only code: it replaces the hypervisor, it never talks to one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/pci_ids.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "sim_priv.h"

/*
 * The connection as hv_vmbus keeps it.  Drivers read int_page,
 * monitor_pages and channel_mutex from it, so the layout must be the one
 * of this kernel: the type comes from drivers/hv/hyperv_vmbus.h of the
 * kernel's source, fetched at build time.
 */
struct vmbus_connection vmbus_connection = {
	.conn_state = CONNECTED,
	.next_gpadl_handle = ATOMIC_INIT(0xE1E10),
};
EXPORT_SYMBOL_GPL(vmbus_connection);

/* What a current Hyper-V host negotiates. */
__u32 vmbus_proto_version = VERSION_WIN10_V5_3;
EXPORT_SYMBOL_GPL(vmbus_proto_version);

/*
 * Device classes, indexed by the HV_* device type.  pref_ring_size is the
 * ring size this kernel's drivers are told to prefer (0: their default).
 */
const struct vmbus_device vmbus_devs[] = {
	[HV_IDE] = { .dev_type = HV_IDE, HV_IDE_GUID, .perf_device = true },
	[HV_SCSI] = { .dev_type = HV_SCSI, HV_SCSI_GUID, .perf_device = true,
		      .allowed_in_isolated = true },
	[HV_FC] = { .dev_type = HV_FC, HV_SYNTHFC_GUID, .perf_device = true },
	[HV_NIC] = { .dev_type = HV_NIC, HV_NIC_GUID, .perf_device = true,
		     .allowed_in_isolated = true },
	[HV_ND] = { .dev_type = HV_ND, HV_ND_GUID, .perf_device = true },
	[HV_PCIE] = { .dev_type = HV_PCIE, HV_PCIE_GUID },
	[HV_FB] = { .dev_type = HV_FB, HV_SYNTHVID_GUID },
	[HV_KBD] = { .dev_type = HV_KBD, HV_KBD_GUID },
	[HV_MOUSE] = { .dev_type = HV_MOUSE, HV_MOUSE_GUID },
	[HV_KVP] = { .dev_type = HV_KVP, HV_KVP_GUID },
	[HV_TS] = { .dev_type = HV_TS, HV_TS_GUID,
		    .allowed_in_isolated = true },
	[HV_HB] = { .dev_type = HV_HB, HV_HEART_BEAT_GUID,
		    .allowed_in_isolated = true },
	[HV_SHUTDOWN] = { .dev_type = HV_SHUTDOWN, HV_SHUTDOWN_GUID,
			  .allowed_in_isolated = true },
	[HV_FCOPY] = { .dev_type = HV_FCOPY, HV_FCOPY_GUID,
		       .pref_ring_size = 0x4000 },
	[HV_BACKUP] = { .dev_type = HV_BACKUP, HV_VSS_GUID },
	[HV_DM] = { .dev_type = HV_DM, HV_DM_GUID },
	[HV_UNKNOWN] = { .dev_type = HV_UNKNOWN, .pref_ring_size = 0x11000 },
};
/* exported from 6.10 (Debian's 6.1 has it); internal before */
#if SIM_HAVE_DECRYPTED
EXPORT_SYMBOL_GPL(vmbus_devs);
#endif

LIST_HEAD(sim_all_channels);
struct workqueue_struct *sim_primary_wq;
struct workqueue_struct *sim_sub_wq;
struct workqueue_struct *sim_rescind_wq;

#define SIM_MONITOR_IDS 128
/* relid owning each monitor id, 0 if free; channel_mutex for writes */
static u32 sim_monitor_owner[SIM_MONITOR_IDS];
static DEFINE_SPINLOCK(sim_monitor_lock);

static atomic_t sim_nr_channels = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(sim_chan_wq);
static u32 sim_next_relid = 1;
static unsigned int sim_next_cpu;

u16 sim_dev_type(const guid_t *class_id)
{
	u16 i;

	for (i = HV_IDE; i < HV_UNKNOWN; i++)
		if (guid_equal(class_id, &vmbus_devs[i].guid))
			return i;
	pr_info("Unknown GUID: %pUl\n", class_id);
	return HV_UNKNOWN;
}

struct vmbus_channel *sim_relid2channel(u32 relid)
{
	if (relid == 0 || relid >= MAX_CHANNEL_RELIDS)
		return NULL;
	return READ_ONCE(vmbus_connection.channels[relid]);
}

u8 sim_monitor_relid_count(u8 monitor_id, u32 *relids, u8 max)
{
	unsigned long flags;
	u8 n = 0;

	if (monitor_id >= SIM_MONITOR_IDS || !max)
		return 0;
	spin_lock_irqsave(&sim_monitor_lock, flags);
	if (sim_monitor_owner[monitor_id])
		relids[n++] = sim_monitor_owner[monitor_id];
	spin_unlock_irqrestore(&sim_monitor_lock, flags);
	return n;
}

static void sim_monitor_set(u8 monitor_id, u32 relid)
{
	unsigned long flags;

	spin_lock_irqsave(&sim_monitor_lock, flags);
	sim_monitor_owner[monitor_id] = relid;
	spin_unlock_irqrestore(&sim_monitor_lock, flags);
}

/* ------------------------------------------------------------------------ */
/* channel objects                                                           */
/* ------------------------------------------------------------------------ */

static void sim_channel_free_rcu(struct rcu_head *rcu)
{
	kfree(container_of(rcu, struct sim_channel, chan.rcu));
}

/* Lookups under rcu_read_lock() may still see the channel: free after a grace period. */
void sim_channel_put(struct sim_channel *sc)
{
	if (refcount_dec_and_test(&sc->ref))
		call_rcu(&sc->chan.rcu, sim_channel_free_rcu);
}

static void sim_channel_get(struct sim_channel *sc)
{
	refcount_inc(&sc->ref);
}

void sim_channel_kobj_release(struct kobject *kobj)
{
	struct vmbus_channel *chan = container_of(kobj, struct vmbus_channel,
						  kobj);

	sim_channel_put(to_sim_channel(chan));
}

/*
 * vmbus_on_event(): the channel's tasklet runs the callback of a channel in
 * HV_CALL_DIRECT or HV_CALL_BATCHED mode.  In batched mode the interrupt
 * set interrupt_mask before scheduling it; the callback read the ring, the
 * mask is cleared, and if the host wrote more meanwhile the mask goes up
 * again and the tasklet runs once more.
 */
static void sim_channel_tasklet(struct tasklet_struct *t)
{
	struct vmbus_channel *chan = from_tasklet(chan, t, callback_event);
	void (*cb)(void *context);

	cb = READ_ONCE(chan->onchannel_callback);
	if (!cb)
		return;
	cb(chan->channel_callback_context);
	if (chan->callback_mode != HV_CALL_BATCHED)
		return;
	if (hv_end_read(&chan->inbound) == 0)
		return;
	hv_begin_read(&chan->inbound);
	tasklet_schedule(&chan->callback_event);
}

static struct sim_channel *sim_channel_alloc(void)
{
	struct sim_channel *sc;
	struct vmbus_channel *chan;

	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (!sc)
		return NULL;
	chan = &sc->chan;
	refcount_set(&sc->ref, 1);
	INIT_LIST_HEAD(&sc->all_node);
	INIT_LIST_HEAD(&sc->open_node);
	INIT_LIST_HEAD(&sc->grants);
	init_completion(&sc->added);
	init_completion(&sc->open_done);
	atomic64_set(&sc->guest_sig_monitor, 0);
	atomic64_set(&sc->guest_sig_event, 0);
	spin_lock_init(&chan->sched_lock);
	init_completion(&chan->rescind_event);
	INIT_LIST_HEAD(&chan->sc_list);
	INIT_LIST_HEAD(&chan->listentry);
	tasklet_setup(&chan->callback_event, sim_channel_tasklet);
	mutex_init(&chan->inbound.ring_buffer_mutex);
	mutex_init(&chan->outbound.ring_buffer_mutex);
	return sc;
}

/*
 * Drops a channel the guest no longer holds: the relid and the monitor id
 * become free, the host forgets its memory and learns that the relid was
 * released.  Called with channel_mutex held, once per channel.
 */
void sim_channel_remove(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	u32 relid = chan->offermsg.child_relid;
	struct vmbus_channel *sub, *tmp;

	lockdep_assert_held(&vmbus_connection.channel_mutex);
	if (sc->removed)
		return;
	sc->removed = true;

	if (!chan->primary_channel && !sc->orphan) {
		/*
		 * Subchannels the driver never closed outlive their primary
		 * (hv_vmbus leaks them the same way); keep them apart so that
		 * module unload can still free them.
		 */
		list_for_each_entry_safe(sub, tmp, &chan->sc_list, sc_list) {
			pr_warn("relid %u freed while its subchannel relid %u is still held by the driver\n",
				relid, sub->offermsg.child_relid);
			list_del_init(&sub->sc_list);
			to_sim_channel(sub)->orphan = true;
		}
	}

	WRITE_ONCE(vmbus_connection.channels[relid], NULL);
	if (chan->offermsg.monitor_allocated)
		sim_monitor_set(chan->offermsg.monitorid, 0);
	if (sc->orphan)
		;
	else if (chan->primary_channel)
		list_del(&chan->sc_list);
	else
		list_del(&chan->listentry);
	list_del_init(&sc->all_node);

	sim_gpadl_remove_chan(chan);
	/* a close that never reached the host left them (as in hv_vmbus) */
	sim_rqstor_free(chan);
	sim_host_event(VMBUS_SIM_EV_RELID_RELEASED, relid, 0, 0, 0, 0, 0);

	tasklet_kill(&chan->callback_event);
	sim_remove_channel_kobj(chan);
	atomic_dec(&sim_nr_channels);
	wake_up_all(&sim_chan_wq);
}

/* Stops the channel callback and the subchannel callback, as hv_vmbus. */
void sim_reset_channel_cb(struct vmbus_channel *chan)
{
	unsigned long flags;

	tasklet_disable(&chan->callback_event);
	spin_lock_irqsave(&chan->sched_lock, flags);
	chan->onchannel_callback = NULL;
	spin_unlock_irqrestore(&chan->sched_lock, flags);
	chan->sc_creation_callback = NULL;
	tasklet_enable(&chan->callback_event);
}

/* ------------------------------------------------------------------------ */
/* offers                                                                    */
/* ------------------------------------------------------------------------ */

static void sim_add_channel_work(struct work_struct *work)
{
	struct vmbus_channel *chan = container_of(work, struct vmbus_channel,
						  add_channel_work);
	struct vmbus_channel *primary = chan->primary_channel;
	struct sim_channel *sc = to_sim_channel(chan);
	struct hv_device *hv_dev;

	chan->state = CHANNEL_OPEN_STATE;

	if (primary) {
		if (!primary->device_obj ||
		    sim_add_channel_kobj(primary->device_obj, chan))
			goto fail;
		if (primary->sc_creation_callback)
			primary->sc_creation_callback(chan);
		goto done;
	}

	hv_dev = kzalloc(sizeof(*hv_dev), GFP_KERNEL);
	if (!hv_dev)
		goto fail;
	hv_dev->channel = chan;
	guid_copy(&hv_dev->dev_type, &chan->offermsg.offer.if_type);
	guid_copy(&hv_dev->dev_instance, &chan->offermsg.offer.if_instance);
	hv_dev->vendor_id = PCI_VENDOR_ID_MICROSOFT;
	hv_dev->device_id = chan->device_id;
	chan->device_obj = hv_dev;
	/* on failure the device is gone and chan->device_obj is NULL */
	if (sim_device_register(hv_dev)) {
		pr_err("unable to add child device object (relid %d)\n",
		       chan->offermsg.child_relid);
		goto fail;
	}
done:
	WRITE_ONCE(chan->probe_done, true);
	complete_all(&sc->added);
	return;
fail:
	mutex_lock(&vmbus_connection.channel_mutex);
	WRITE_ONCE(chan->probe_done, true);
	complete_all(&sc->added);
	sim_channel_remove(chan);
	mutex_unlock(&vmbus_connection.channel_mutex);
}

static u32 sim_pick_cpu(const struct vmbus_channel *chan)
{
	unsigned int cpu;

	/* hv_vmbus spreads the channels of fast devices over the CPUs */
	if (!vmbus_devs[chan->device_id].perf_device)
		return VMBUS_CONNECT_CPU;
	cpu = cpumask_next(sim_next_cpu, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	sim_next_cpu = cpu;
	return cpu;
}

static int sim_alloc_relid(u32 want, u32 *relid)
{
	u32 i, r;

	if (want) {
		if (sim_relid2channel(want))
			return -EEXIST;
		*relid = want;
		return 0;
	}
	for (i = 0; i < VMBUS_SIM_RELID_MAX; i++) {
		r = (sim_next_relid + i - 1) % VMBUS_SIM_RELID_MAX + 1;
		if (!sim_relid2channel(r)) {
			*relid = r;
			sim_next_relid = r % VMBUS_SIM_RELID_MAX + 1;
			return 0;
		}
	}
	return -ENOSPC;
}

static int sim_alloc_monitor(u8 want, u8 *id)
{
	unsigned int i;

	if (want != VMBUS_SIM_MONITOR_ANY) {
		if (sim_monitor_owner[want])
			return -EEXIST;
		*id = want;
		return 0;
	}
	for (i = 0; i < SIM_MONITOR_IDS; i++) {
		if (!sim_monitor_owner[i]) {
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

#if SIM_HAVE_CO
#define SIM_OFFER_CO (VMBUS_SIM_OFFER_CONFIDENTIAL_RING | \
		      VMBUS_SIM_OFFER_CONFIDENTIAL_MEMORY)
#else
#define SIM_OFFER_CO 0
#endif

static int sim_offer_check(const struct vmbus_sim_offer *o)
{
	unsigned int i;

	if (o->flags & ~(VMBUS_SIM_OFFER_NOWAIT |
			 VMBUS_SIM_OFFER_DEDICATED_INTERRUPT | SIM_OFFER_CO))
		return -EINVAL;
	if (o->reserved0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(o->reserved); i++)
		if (o->reserved[i])
			return -EINVAL;
	if (o->relid > VMBUS_SIM_RELID_MAX)
		return -EINVAL;
	if (o->monitor_id >= SIM_MONITOR_IDS &&
	    o->monitor_id != VMBUS_SIM_MONITOR_ANY &&
	    o->monitor_id != VMBUS_SIM_MONITOR_NONE)
		return -EINVAL;
	if (!memchr_inv(o->class_id, 0, sizeof(o->class_id)))
		return -EINVAL;
	return 0;
}

/*
 * Links a new channel into the connection as hv_vmbus does on an offer,
 * with the checks a real host makes sure of.  channel_mutex held.
 */
static int sim_offer_link(struct sim_channel *sc, struct vmbus_sim_offer *o)
{
	struct vmbus_channel *chan = &sc->chan;
	struct vmbus_channel_offer_channel *msg = &chan->offermsg;
	struct vmbus_channel *iter, *primary = NULL, *sub;
	u8 monitor_id = 0;
	u32 relid;
	int err;

	list_for_each_entry(iter, &vmbus_connection.chn_list, listentry) {
		if (!guid_equal(&iter->offermsg.offer.if_instance,
				&msg->offer.if_instance))
			continue;
		if (!guid_equal(&iter->offermsg.offer.if_type,
				&msg->offer.if_type))
			return -EEXIST; /* the same device name twice */
		primary = iter;
		break;
	}
	if (o->sub_channel_index) {
		if (!primary || primary->rescind)
			return -ENOENT;
		list_for_each_entry(sub, &primary->sc_list, sc_list)
			if (sub->offermsg.offer.sub_channel_index ==
			    o->sub_channel_index)
				return -EEXIST;
	} else if (primary) {
		return -EEXIST;
	}

	err = sim_alloc_relid(o->relid, &relid);
	if (err)
		return err;
	if (o->monitor_id != VMBUS_SIM_MONITOR_NONE) {
		err = sim_alloc_monitor(o->monitor_id, &monitor_id);
		if (err)
			return err;
	}

	msg->child_relid = relid;
	msg->connection_id = o->connection_id ? o->connection_id : relid;
	msg->monitor_allocated = o->monitor_id != VMBUS_SIM_MONITOR_NONE;
	msg->monitorid = msg->monitor_allocated ? monitor_id : 0;
	msg->is_dedicated_interrupt =
		!!(o->flags & VMBUS_SIM_OFFER_DEDICATED_INTERRUPT);

#if SIM_HAVE_CO
	/* a paravisor's offer: hv_vmbus takes the flags as they come */
	if (o->flags & VMBUS_SIM_OFFER_CONFIDENTIAL_RING)
		msg->offer.chn_flags |= VMBUS_CHANNEL_CONFIDENTIAL_RING_BUFFER;
	if (o->flags & VMBUS_SIM_OFFER_CONFIDENTIAL_MEMORY)
		msg->offer.chn_flags |= VMBUS_CHANNEL_CONFIDENTIAL_EXTERNAL_MEMORY;
	chan->co_ring_buffer = !!(o->flags & VMBUS_SIM_OFFER_CONFIDENTIAL_RING);
	chan->co_external_memory =
		!!(o->flags & VMBUS_SIM_OFFER_CONFIDENTIAL_MEMORY);
#endif
	chan->sig_event = msg->connection_id;
	chan->is_dedicated_interrupt = msg->is_dedicated_interrupt;
	chan->monitor_grp = msg->monitorid / 32;
	chan->monitor_bit = msg->monitorid % 32;
	chan->device_id = sim_dev_type(&msg->offer.if_type);
	chan->target_cpu = sim_pick_cpu(chan);

	if (msg->monitor_allocated) {
		struct hv_monitor_page *mp;
		int i;

		sim_monitor_set(msg->monitorid, relid);
		for (i = 0; i < 2; i++) {
			mp = vmbus_connection.monitor_pages[i];
			mp->parameter[chan->monitor_grp][chan->monitor_bit]
				.connectionid.u.id = msg->connection_id;
		}
	}

	if (primary) {
		chan->primary_channel = primary;
		list_add_tail(&chan->sc_list, &primary->sc_list);
	} else {
		list_add_tail(&chan->listentry, &vmbus_connection.chn_list);
	}
	list_add_tail(&sc->all_node, &sim_all_channels);
	atomic_inc(&sim_nr_channels);
	/* the channel is complete before the signal path can find it */
	smp_store_mb(vmbus_connection.channels[relid], chan);

	o->relid = relid;
	o->monitor_id = msg->monitor_allocated ? msg->monitorid :
						 VMBUS_SIM_MONITOR_NONE;
	return 0;
}

int sim_offer(struct vmbus_sim_offer *o)
{
	struct vmbus_channel_offer_channel *msg;
	struct sim_channel *sc;
	bool wait = !(o->flags & VMBUS_SIM_OFFER_NOWAIT);
	int err;

	err = sim_offer_check(o);
	if (err)
		return err;
	sc = sim_channel_alloc();
	if (!sc)
		return -ENOMEM;
	msg = &sc->chan.offermsg;
	msg->header.msgtype = CHANNELMSG_OFFERCHANNEL;
	import_guid(&msg->offer.if_type, o->class_id);
	import_guid(&msg->offer.if_instance, o->instance_id);
	msg->offer.sub_channel_index = o->sub_channel_index;

	mutex_lock(&vmbus_connection.channel_mutex);
	err = sim_offer_link(sc, o);
	mutex_unlock(&vmbus_connection.channel_mutex);
	if (err) {
		tasklet_kill(&sc->chan.callback_event);
		kfree(sc);
		return err;
	}

	if (wait)
		sim_channel_get(sc);
	INIT_WORK(&sc->chan.add_channel_work, sim_add_channel_work);
	queue_work(sc->chan.primary_channel ? sim_sub_wq : sim_primary_wq,
		   &sc->chan.add_channel_work);
	if (!wait)
		return 0;
	err = wait_for_completion_killable(&sc->added) ? -EINTR : 0;
	sim_channel_put(sc);
	return err;
}

/* ------------------------------------------------------------------------ */
/* rescinds                                                                  */
/* ------------------------------------------------------------------------ */

struct sim_rescind_req {
	struct work_struct work;
	struct completion done;
	refcount_t ref;
	struct sim_channel *sc;
};

static void sim_rescind_req_put(struct sim_rescind_req *req)
{
	if (refcount_dec_and_test(&req->ref)) {
		sim_channel_put(req->sc);
		kfree(req);
	}
}

static bool sim_device_bound(struct hv_device *hv_dev)
{
	bool bound;

	device_lock(&hv_dev->device);
	bound = hv_dev->device.driver;
	device_unlock(&hv_dev->device);
	return bound;
}

/* The guest's handling of CHANNELMSG_RESCIND_CHANNELOFFER. */
static void sim_rescind_work(struct work_struct *work)
{
	struct sim_rescind_req *req = container_of(work, struct sim_rescind_req,
						   work);
	struct sim_channel *sc = req->sc;
	struct vmbus_channel *chan = &sc->chan;
	struct device *dev;

	/* the callback must not run any more once rescind is visible */
	sim_reset_channel_cb(chan);
	WRITE_ONCE(chan->rescind, true);
	sim_host_cancel_open(sc);
	wait_for_completion(&sc->added);

	mutex_lock(&vmbus_connection.channel_mutex);
	if (sc->removed) {
		mutex_unlock(&vmbus_connection.channel_mutex);
		goto out;
	}
	mutex_unlock(&vmbus_connection.channel_mutex);

	/* a rescinded channel's memory is no longer the host's business */
	sim_gpadl_remove_chan(chan);

	if (chan->device_obj) {
		if (chan->chn_rescind_callback &&
		    sim_device_bound(chan->device_obj)) {
			chan->chn_rescind_callback(chan);
			goto out;
		}
		if (chan->chn_rescind_callback)
			pr_err("driver error: relid %u: a rescind callback is still set although no driver is bound; hv_vmbus would call it, the stand-in unregisters the device instead\n",
			       chan->offermsg.child_relid);
		dev = get_device(&chan->device_obj->device);
		if (dev) {
			vmbus_device_unregister(chan->device_obj);
			put_device(dev);
		}
	} else if (chan->primary_channel) {
		mutex_lock(&vmbus_connection.channel_mutex);
		if (chan->state == CHANNEL_OPEN_STATE)
			sim_channel_remove(chan); /* not open: free it now */
		else
			complete(&chan->rescind_event); /* the closer frees it */
		mutex_unlock(&vmbus_connection.channel_mutex);
	}
out:
	complete(&req->done);
	sim_rescind_req_put(req);
}

static int sim_rescind_queue(struct sim_channel *sc, bool wait)
{
	struct sim_rescind_req *req;
	int err = 0;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req) {
		sim_channel_put(sc);
		return -ENOMEM;
	}
	INIT_WORK(&req->work, sim_rescind_work);
	init_completion(&req->done);
	refcount_set(&req->ref, 2);
	req->sc = sc;
	queue_work(sim_rescind_wq, &req->work);
	if (wait && wait_for_completion_killable(&req->done))
		err = -EINTR;
	sim_rescind_req_put(req);
	return err;
}

/*
 * Claims the channel for one rescind: returns it with a reference, or
 * NULL with *err set.  channel_mutex held.
 */
static struct sim_channel *sim_rescind_claim(u32 relid, int *err)
{
	struct vmbus_channel *chan = sim_relid2channel(relid);
	struct sim_channel *sc;

	if (!chan) {
		*err = -ENOENT;
		return NULL;
	}
	if (chan->rescind_ref) {
		*err = -EALREADY;
		return NULL;
	}
	chan->rescind_ref = true;
	sc = to_sim_channel(chan);
	sim_channel_get(sc);
	return sc;
}

static int sim_rescind_one(u32 relid, bool wait)
{
	struct vmbus_channel *chan, *sub;
	struct sim_channel *sc, **subs = NULL;
	unsigned int n = 0, i;
	int err = 0, ret;

	mutex_lock(&vmbus_connection.channel_mutex);
	sc = sim_rescind_claim(relid, &err);
	if (!sc) {
		mutex_unlock(&vmbus_connection.channel_mutex);
		return err;
	}
	chan = &sc->chan;
	if (!chan->primary_channel && !sc->orphan) {
		list_for_each_entry(sub, &chan->sc_list, sc_list)
			n++;
		if (n)
			subs = kcalloc(n, sizeof(*subs), GFP_KERNEL);
		i = 0;
		list_for_each_entry(sub, &chan->sc_list, sc_list) {
			if (!subs)
				break;
			subs[i] = sim_rescind_claim(sub->offermsg.child_relid,
						    &ret);
			if (subs[i])
				i++;
		}
		n = i;
	}
	mutex_unlock(&vmbus_connection.channel_mutex);

	/* Hyper-V rescinds the subchannels of a device before the device */
	for (i = 0; i < n; i++) {
		ret = sim_rescind_queue(subs[i], wait);
		if (ret && !err)
			err = ret;
	}
	kfree(subs);
	ret = sim_rescind_queue(sc, wait);
	return err ? err : ret;
}

int sim_rescind(u32 relid, bool wait)
{
	struct vmbus_channel *chan;
	u32 *relids;
	unsigned int n = 0, i;
	int err, ret;

	if (relid != VMBUS_SIM_RELID_ALL)
		return sim_rescind_one(relid, wait);

	relids = kcalloc(MAX_CHANNEL_RELIDS, sizeof(*relids), GFP_KERNEL);
	if (!relids)
		return -ENOMEM;
	mutex_lock(&vmbus_connection.channel_mutex);
	list_for_each_entry(chan, &vmbus_connection.chn_list, listentry)
		if (!chan->rescind_ref)
			relids[n++] = chan->offermsg.child_relid;
	mutex_unlock(&vmbus_connection.channel_mutex);
	ret = 0;
	for (i = 0; i < n; i++) {
		/* a killed host stops waiting, but every channel still goes */
		err = sim_rescind_one(relids[i], wait);
		if (err == -EINTR) {
			wait = false;
			ret = -EINTR;
		}
	}
	kfree(relids);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* signals                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Host to guest: the channel callback runs from a hard interrupt on the
 * channel's target CPU, as it does from the VMBus interrupt the host sends
 * to the channel's target VP.  One signal at a time.
 */
static DEFINE_MUTEX(sim_signal_lock);
static u32 sim_signal_relid;
static int sim_signal_delivered;

static void sim_signal_irq(struct irq_work *work)
{
	struct vmbus_channel *chan;
	void (*cb)(void *context);

	sim_signal_delivered = 0;
	rcu_read_lock();
	chan = sim_relid2channel(sim_signal_relid);
	if (!chan || READ_ONCE(chan->rescind))
		goto out;
	spin_lock(&chan->sched_lock);
	cb = chan->onchannel_callback;
	if (cb) {
		++chan->interrupts;
		switch (chan->callback_mode) {
		case HV_CALL_ISR:
			cb(chan->channel_callback_context);
			break;
		case HV_CALL_BATCHED:
			if (chan->inbound.ring_buffer)
				hv_begin_read(&chan->inbound);
			fallthrough;
		case HV_CALL_DIRECT:
			tasklet_schedule(&chan->callback_event);
			break;
		}
		sim_signal_delivered = 1;
	}
	spin_unlock(&chan->sched_lock);
out:
	rcu_read_unlock();
}

static struct irq_work sim_signal_work = IRQ_WORK_INIT_HARD(sim_signal_irq);

/* Runs on the target CPU and raises the interrupt there (modules have no irq_work_queue_on()). */
static void sim_signal_raise(void *unused)
{
	irq_work_queue(&sim_signal_work);
}

int sim_signal_guest(u32 relid)
{
	struct vmbus_channel *chan;
	unsigned int cpu = 0;
	int ret;

	rcu_read_lock();
	chan = sim_relid2channel(relid);
	if (chan)
		cpu = READ_ONCE(chan->target_cpu);
	rcu_read_unlock();
	if (!chan)
		return -ENOENT;
	mutex_lock(&sim_signal_lock);
	sim_signal_relid = relid;
	cpus_read_lock();
	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		cpu = raw_smp_processor_id();
	smp_call_function_single(cpu, sim_signal_raise, NULL, 1);
	cpus_read_unlock();
	irq_work_sync(&sim_signal_work);
	ret = sim_signal_delivered;
	mutex_unlock(&sim_signal_lock);
	return ret;
}

/* Guest to host through the "hypercall": the host learns it at once. */
void vmbus_set_event(struct vmbus_channel *channel)
{
	u32 relid = channel->offermsg.child_relid;

	if (!channel->is_dedicated_interrupt)
		vmbus_send_interrupt(relid);
	++channel->sig_events;
	atomic64_inc(&to_sim_channel(channel)->guest_sig_event);
	sim_host_event(VMBUS_SIM_EV_SIGNAL, relid, 0, VMBUS_SIM_SIG_EVENT,
		       0, 0, 0);
}
EXPORT_SYMBOL_GPL(vmbus_set_event);

/*
 * Guest to host: a monitored channel only sets its bit in the monitor page
 * (the host finds it when it scans); others signal by event.
 */
void vmbus_setevent(struct vmbus_channel *channel)
{
	struct hv_monitor_page *mp = vmbus_connection.monitor_pages[1];

	if (channel->offermsg.monitor_allocated && !channel->low_latency) {
		vmbus_send_interrupt(channel->offermsg.child_relid);
		sync_set_bit(channel->monitor_bit,
			     (unsigned long *)&mp->trigger_group[channel->monitor_grp].pending);
	} else {
		vmbus_set_event(channel);
	}
}
EXPORT_SYMBOL_GPL(vmbus_setevent);

/* ------------------------------------------------------------------------ */
/* module                                                                    */
/* ------------------------------------------------------------------------ */

static int sim_connection_init(void)
{
	struct vmbus_connection *c = &vmbus_connection;
	int i;

	INIT_LIST_HEAD(&c->chn_msg_list);
	spin_lock_init(&c->channelmsg_lock);
	INIT_LIST_HEAD(&c->chn_list);
	mutex_init(&c->channel_mutex);
	init_completion(&c->unload_event);
	init_completion(&c->ready_for_suspend_event);
	init_completion(&c->ready_for_resume_event);

	c->int_page = (void *)__get_free_page(GFP_KERNEL | __GFP_ZERO);
	c->monitor_pages[0] = (void *)__get_free_page(GFP_KERNEL | __GFP_ZERO);
	c->monitor_pages[1] = (void *)__get_free_page(GFP_KERNEL | __GFP_ZERO);
	c->channels = kcalloc(MAX_CHANNEL_RELIDS, sizeof(*c->channels),
			      GFP_KERNEL);
	if (!c->int_page || !c->monitor_pages[0] || !c->monitor_pages[1] ||
	    !c->channels)
		return -ENOMEM;
	c->recv_int_page = c->int_page;
	c->send_int_page = (u8 *)c->int_page + (HV_HYP_PAGE_SIZE >> 1);
	for (i = 0; i < 2; i++)
		c->monitor_pages[i]->trigger_state.group_enable = 0xf;

	sim_primary_wq = alloc_ordered_workqueue("vmbus_sim_pri", 0);
	sim_sub_wq = alloc_ordered_workqueue("vmbus_sim_sub", 0);
	sim_rescind_wq = alloc_ordered_workqueue("vmbus_sim_rescind", 0);
	if (!sim_primary_wq || !sim_sub_wq || !sim_rescind_wq)
		return -ENOMEM;
	c->handle_primary_chan_wq = sim_primary_wq;
	c->handle_sub_chan_wq = sim_sub_wq;
	c->rescind_work_queue = sim_rescind_wq;
	c->conn_state = CONNECTED;
	return 0;
}

static void sim_connection_exit(void)
{
	struct vmbus_connection *c = &vmbus_connection;

	if (sim_rescind_wq)
		destroy_workqueue(sim_rescind_wq);
	if (sim_sub_wq)
		destroy_workqueue(sim_sub_wq);
	if (sim_primary_wq)
		destroy_workqueue(sim_primary_wq);
	kfree(c->channels);
	free_page((unsigned long)c->monitor_pages[1]);
	free_page((unsigned long)c->monitor_pages[0]);
	free_page((unsigned long)c->int_page);
	c->conn_state = DISCONNECTED;
}

/*
 * Unload: every device goes, as when hv_vmbus unloads.  Drivers are gone
 * already (they depend on this module), so nothing is bound.
 */
static void sim_remove_all(void)
{
	struct vmbus_channel *chan;
	struct sim_channel *sc, *tmp;
	struct hv_device *hv_dev;

	flush_workqueue(sim_primary_wq);
	flush_workqueue(sim_sub_wq);
	flush_workqueue(sim_rescind_wq);

	for (;;) {
		hv_dev = NULL;
		mutex_lock(&vmbus_connection.channel_mutex);
		list_for_each_entry(chan, &vmbus_connection.chn_list,
				    listentry) {
			sc = to_sim_channel(chan);
			if (sc->unloading || !chan->device_obj)
				continue;
			sc->unloading = true;
			WRITE_ONCE(chan->rescind, true);
			hv_dev = chan->device_obj;
			get_device(&hv_dev->device);
			break;
		}
		mutex_unlock(&vmbus_connection.channel_mutex);
		if (!hv_dev)
			break;
		vmbus_device_unregister(hv_dev);
		put_device(&hv_dev->device);
	}

	/* what drivers left behind (subchannels never closed) */
	mutex_lock(&vmbus_connection.channel_mutex);
	list_for_each_entry_safe(sc, tmp, &sim_all_channels, all_node) {
		if (!sc->chan.device_obj) {
			pr_warn("freeing relid %u, which its driver never closed\n",
				sc->chan.offermsg.child_relid);
			/* the ring's GPADL is gone with the host: free it */
			sc->ring_shared = false;
			vmbus_free_ring(&sc->chan);
			sim_channel_remove(&sc->chan);
		}
	}
	mutex_unlock(&vmbus_connection.channel_mutex);

	if (!wait_event_timeout(sim_chan_wq, !atomic_read(&sim_nr_channels),
				30 * HZ))
		pr_err("%d channels still referenced at unload; leaking them\n",
		       atomic_read(&sim_nr_channels));
}

static int __init sim_init(void)
{
	int err;

	err = sim_connection_init();
	if (err)
		goto fail_conn;
	err = sim_bus_init();
	if (err)
		goto fail_conn;
	err = sim_host_init();
	if (err)
		goto fail_bus;
	pr_info("VMBus stand-in ready (test only: no hypervisor involved)\n");
	return 0;

fail_bus:
	sim_bus_exit();
fail_conn:
	sim_connection_exit();
	return err;
}

static void __exit sim_exit(void)
{
	sim_host_exit();
	sim_remove_all();
	sim_bus_exit();
	rcu_barrier();
	sim_connection_exit();
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VMBus stand-in with a userspace host, for driver tests");
