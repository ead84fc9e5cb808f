// SPDX-License-Identifier: GPL-2.0
/*
 * The vmbus bus as hv_vmbus registers it: driver registration with dynamic
 * ids (new_id, remove_id), driver_override, the device attributes of
 * /sys/bus/vmbus/devices/<instance>/ and the channel directories
 * channels/<relid>/ with their attributes.
 *
 * Devices are registered the way hv_vmbus does it: the device first (a
 * matching driver probes right there), then its channels/ directory and the
 * primary channel's kobject.  A driver that touches the channel's kobject
 * from probe therefore sees it not yet added, as on Hyper-V.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "sim_priv.h"

static struct device *sim_root;

struct sim_dynid {
	struct list_head node;
	struct hv_vmbus_device_id id;
};

/* ------------------------------------------------------------------------ */
/* device attributes                                                         */
/* ------------------------------------------------------------------------ */

static struct vmbus_channel *dev_chan(struct device *dev)
{
	return device_to_hv_device(dev)->channel;
}

static ssize_t id_show(struct device *dev, struct device_attribute *attr,
		       char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", chan->offermsg.child_relid);
}
static DEVICE_ATTR_RO(id);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", chan->state);
}
static DEVICE_ATTR_RO(state);

static ssize_t monitor_id_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", chan->offermsg.monitorid);
}
static DEVICE_ATTR_RO(monitor_id);

static ssize_t class_id_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "{%pUl}\n", &chan->offermsg.offer.if_type);
}
static DEVICE_ATTR_RO(class_id);

static ssize_t device_id_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "{%pUl}\n", &chan->offermsg.offer.if_instance);
}
static DEVICE_ATTR_RO(device_id);

static ssize_t modalias_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);

	return sysfs_emit(buf, "vmbus:%*phN\n", UUID_SIZE, &hv_dev->dev_type);
}
static DEVICE_ATTR_RO(modalias);

#ifdef CONFIG_NUMA
static ssize_t numa_node_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev);

	if (!chan)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", cpu_to_node(chan->target_cpu));
}
static DEVICE_ATTR_RO(numa_node);
#endif

/* Monitor page fields of the device's primary channel. */
enum sim_mon_field { MON_PENDING, MON_LATENCY, MON_CONN_ID };

static ssize_t monitor_show(struct device *dev, char *buf, int page,
			    enum sim_mon_field field)
{
	struct vmbus_channel *chan = dev_chan(dev);
	struct hv_monitor_page *mp;
	u8 grp, bit;
	u32 v;

	if (!chan)
		return -ENODEV;
	mp = vmbus_connection.monitor_pages[page];
	grp = chan->offermsg.monitorid / 32;
	bit = chan->offermsg.monitorid % 32;
	switch (field) {
	case MON_PENDING:
		v = READ_ONCE(mp->trigger_group[grp].pending);
		break;
	case MON_LATENCY:
		v = READ_ONCE(mp->latency[grp][bit]);
		break;
	default:
		v = mp->parameter[grp][bit].connectionid.u.id;
		break;
	}
	return sysfs_emit(buf, "%d\n", v);
}

#define SIM_MONITOR_ATTR(_name, _page, _field)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return monitor_show(dev, buf, _page, _field);			\
}									\
static DEVICE_ATTR_RO(_name)

SIM_MONITOR_ATTR(server_monitor_pending, 0, MON_PENDING);
SIM_MONITOR_ATTR(client_monitor_pending, 1, MON_PENDING);
SIM_MONITOR_ATTR(server_monitor_latency, 0, MON_LATENCY);
SIM_MONITOR_ATTR(client_monitor_latency, 1, MON_LATENCY);
SIM_MONITOR_ATTR(server_monitor_conn_id, 0, MON_CONN_ID);
SIM_MONITOR_ATTR(client_monitor_conn_id, 1, MON_CONN_ID);

enum sim_ring_field { RING_MASK, RING_READ, RING_WRITE, RING_TOREAD,
		      RING_TOWRITE };

static ssize_t ring_show(struct device *dev, char *buf, bool out,
			 enum sim_ring_field field)
{
	struct vmbus_channel *chan = dev_chan(dev);
	struct hv_ring_buffer_debug_info info;
	u32 v;
	int err;

	if (!chan)
		return -ENODEV;
	err = hv_ringbuffer_get_debuginfo(out ? &chan->outbound : &chan->inbound, &info);
	if (err)
		return err;
	switch (field) {
	case RING_MASK:
		v = info.current_interrupt_mask;
		break;
	case RING_READ:
		v = info.current_read_index;
		break;
	case RING_WRITE:
		v = info.current_write_index;
		break;
	case RING_TOREAD:
		v = info.bytes_avail_toread;
		break;
	default:
		v = info.bytes_avail_towrite;
		break;
	}
	return sysfs_emit(buf, "%d\n", v);
}

#define SIM_RING_ATTR(_name, _out, _field)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return ring_show(dev, buf, _out, _field);			\
}									\
static DEVICE_ATTR_RO(_name)

SIM_RING_ATTR(out_intr_mask, true, RING_MASK);
SIM_RING_ATTR(out_read_index, true, RING_READ);
SIM_RING_ATTR(out_write_index, true, RING_WRITE);
SIM_RING_ATTR(out_read_bytes_avail, true, RING_TOREAD);
SIM_RING_ATTR(out_write_bytes_avail, true, RING_TOWRITE);
SIM_RING_ATTR(in_intr_mask, false, RING_MASK);
SIM_RING_ATTR(in_read_index, false, RING_READ);
SIM_RING_ATTR(in_write_index, false, RING_WRITE);
SIM_RING_ATTR(in_read_bytes_avail, false, RING_TOREAD);
SIM_RING_ATTR(in_write_bytes_avail, false, RING_TOWRITE);

static ssize_t channel_vp_mapping_show(struct device *dev,
				       struct device_attribute *attr,
				       char *buf)
{
	struct vmbus_channel *chan = dev_chan(dev), *sub;
	int n;

	if (!chan)
		return -ENODEV;
	mutex_lock(&vmbus_connection.channel_mutex);
	n = sysfs_emit_at(buf, 0, "%u:%u\n", chan->offermsg.child_relid,
			  chan->target_cpu);
	list_for_each_entry(sub, &chan->sc_list, sc_list)
		n += sysfs_emit_at(buf, n, "%u:%u\n",
				   sub->offermsg.child_relid, sub->target_cpu);
	mutex_unlock(&vmbus_connection.channel_mutex);
	return n;
}
static DEVICE_ATTR_RO(channel_vp_mapping);

static ssize_t vendor_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "0x%x\n", device_to_hv_device(dev)->vendor_id);
}
static DEVICE_ATTR_RO(vendor);

static ssize_t device_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "0x%x\n", device_to_hv_device(dev)->device_id);
}
static DEVICE_ATTR_RO(device);

static ssize_t driver_override_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);
	int err;

	err = driver_set_override(dev, &hv_dev->driver_override, buf, count);
	return err ? err : count;
}

static ssize_t driver_override_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);
	ssize_t n;

	device_lock(dev);
	n = sysfs_emit(buf, "%s\n", hv_dev->driver_override);
	device_unlock(dev);
	return n;
}
static DEVICE_ATTR_RW(driver_override);

static struct attribute *sim_dev_attrs[] = {
	&dev_attr_id.attr,
	&dev_attr_state.attr,
	&dev_attr_monitor_id.attr,
	&dev_attr_class_id.attr,
	&dev_attr_device_id.attr,
	&dev_attr_modalias.attr,
#ifdef CONFIG_NUMA
	&dev_attr_numa_node.attr,
#endif
	&dev_attr_server_monitor_pending.attr,
	&dev_attr_client_monitor_pending.attr,
	&dev_attr_server_monitor_latency.attr,
	&dev_attr_client_monitor_latency.attr,
	&dev_attr_server_monitor_conn_id.attr,
	&dev_attr_client_monitor_conn_id.attr,
	&dev_attr_out_intr_mask.attr,
	&dev_attr_out_read_index.attr,
	&dev_attr_out_write_index.attr,
	&dev_attr_out_read_bytes_avail.attr,
	&dev_attr_out_write_bytes_avail.attr,
	&dev_attr_in_intr_mask.attr,
	&dev_attr_in_read_index.attr,
	&dev_attr_in_write_index.attr,
	&dev_attr_in_read_bytes_avail.attr,
	&dev_attr_in_write_bytes_avail.attr,
	&dev_attr_channel_vp_mapping.attr,
	&dev_attr_vendor.attr,
	&dev_attr_device.attr,
	&dev_attr_driver_override.attr,
	NULL,
};

/* The monitor attributes exist only for monitored channels. */
static umode_t sim_dev_attr_visible(struct kobject *kobj,
				    struct attribute *attr, int idx)
{
	const struct hv_device *hv_dev = device_to_hv_device(kobj_to_dev(kobj));

	if (!hv_dev->channel->offermsg.monitor_allocated &&
	    (attr == &dev_attr_monitor_id.attr ||
	     attr == &dev_attr_server_monitor_pending.attr ||
	     attr == &dev_attr_client_monitor_pending.attr ||
	     attr == &dev_attr_server_monitor_latency.attr ||
	     attr == &dev_attr_client_monitor_latency.attr ||
	     attr == &dev_attr_server_monitor_conn_id.attr ||
	     attr == &dev_attr_client_monitor_conn_id.attr))
		return 0;
	return attr->mode;
}

static const struct attribute_group sim_dev_group = {
	.attrs = sim_dev_attrs,
	.is_visible = sim_dev_attr_visible,
};

static const struct attribute_group *sim_dev_groups[] = {
	&sim_dev_group,
	NULL,
};

/* /sys/bus/vmbus/hibernation: no hibernation without a hypervisor */
static ssize_t hibernation_show(struct bus_type *bus, char *buf)
{
	return sysfs_emit(buf, "0\n");
}
static BUS_ATTR_RO(hibernation);

static struct attribute *sim_bus_attrs[] = {
	&bus_attr_hibernation.attr,
	NULL,
};
ATTRIBUTE_GROUPS(sim_bus);

/* ------------------------------------------------------------------------ */
/* matching and dynamic ids                                                  */
/* ------------------------------------------------------------------------ */

static const struct hv_vmbus_device_id *
sim_dynid_match(struct hv_driver *drv, const guid_t *guid)
{
	const struct hv_vmbus_device_id *id = NULL;
	struct sim_dynid *dynid;

	spin_lock(&drv->dynids.lock);
	list_for_each_entry(dynid, &drv->dynids.list, node) {
		if (guid_equal(&dynid->id.guid, guid)) {
			id = &dynid->id;
			break;
		}
	}
	spin_unlock(&drv->dynids.lock);
	return id;
}

static const struct hv_vmbus_device_id sim_null_id;

/*
 * The id a driver binds a device with: none if driver_override names
 * another driver; else a dynamic id, then the driver's table; a device
 * overridden to this driver matches with an all-zero id.
 */
static const struct hv_vmbus_device_id *sim_get_id(struct hv_driver *drv,
						   struct hv_device *dev)
{
	const struct hv_vmbus_device_id *id;

	if (dev->driver_override && strcmp(dev->driver_override, drv->name))
		return NULL;
	id = sim_dynid_match(drv, &dev->dev_type);
	if (!id && drv->id_table) {
		for (id = drv->id_table; !guid_is_null(&id->guid); id++)
			if (guid_equal(&id->guid, &dev->dev_type))
				break;
		if (guid_is_null(&id->guid))
			id = NULL;
	}
	if (!id && dev->driver_override)
		id = &sim_null_id;
	return id;
}

static ssize_t new_id_store(struct device_driver *driver, const char *buf,
			    size_t count)
{
	struct hv_driver *drv = drv_to_hv_drv(driver);
	struct sim_dynid *dynid;
	guid_t guid;
	int err;

	err = guid_parse(buf, &guid);
	if (err)
		return err;
	if (sim_dynid_match(drv, &guid))
		return -EEXIST;
	dynid = kzalloc(sizeof(*dynid), GFP_KERNEL);
	if (!dynid)
		return -ENOMEM;
	dynid->id.guid = guid;
	spin_lock(&drv->dynids.lock);
	list_add_tail(&dynid->node, &drv->dynids.list);
	spin_unlock(&drv->dynids.lock);
	err = driver_attach(&drv->driver);
	return err ? err : count;
}
static DRIVER_ATTR_WO(new_id);

static ssize_t remove_id_store(struct device_driver *driver, const char *buf,
			       size_t count)
{
	struct hv_driver *drv = drv_to_hv_drv(driver);
	struct sim_dynid *dynid, *tmp;
	ssize_t ret = -ENODEV;
	guid_t guid;
	int err;

	err = guid_parse(buf, &guid);
	if (err)
		return err;
	spin_lock(&drv->dynids.lock);
	list_for_each_entry_safe(dynid, tmp, &drv->dynids.list, node) {
		if (guid_equal(&dynid->id.guid, &guid)) {
			list_del(&dynid->node);
			kfree(dynid);
			ret = count;
			break;
		}
	}
	spin_unlock(&drv->dynids.lock);
	return ret;
}
static DRIVER_ATTR_WO(remove_id);

static struct attribute *sim_drv_attrs[] = {
	&driver_attr_new_id.attr,
	&driver_attr_remove_id.attr,
	NULL,
};
ATTRIBUTE_GROUPS(sim_drv);

static int sim_match(struct device *dev, struct device_driver *driver)
{
	struct hv_driver *drv = drv_to_hv_drv(driver);
	struct hv_device *hv_dev = device_to_hv_device(dev);

	if (is_hvsock_channel(hv_dev->channel))
		return drv->hvsock;
	return !!sim_get_id(drv, hv_dev);
}

static int sim_probe(struct device *dev)
{
	struct hv_driver *drv = drv_to_hv_drv(dev->driver);
	struct hv_device *hv_dev = device_to_hv_device(dev);
	int err;

	if (!drv->probe) {
		pr_err("probe not set for driver %s\n", dev_name(dev));
		return -ENODEV;
	}
	err = drv->probe(hv_dev, sim_get_id(drv, hv_dev));
	if (err)
		pr_err("probe failed for device %s (%d)\n", dev_name(dev), err);
	return err;
}

static void sim_remove(struct device *dev)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);
	struct hv_driver *drv;

	if (!dev->driver)
		return;
	drv = drv_to_hv_drv(dev->driver);
	if (drv->remove)
		drv->remove(hv_dev);
}

static void sim_shutdown(struct device *dev)
{
	struct hv_driver *drv;

	if (!dev->driver)
		return;
	drv = drv_to_hv_drv(dev->driver);
	if (drv->shutdown)
		drv->shutdown(device_to_hv_device(dev));
}

static int sim_uevent(struct device *dev, struct kobj_uevent_env *env)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);

	return add_uevent_var(env, "MODALIAS=vmbus:%*phN", UUID_SIZE,
			      &hv_dev->dev_type);
}

struct bus_type sim_bus = {
	.name = "vmbus",
	.match = sim_match,
	.probe = sim_probe,
	.remove = sim_remove,
	.shutdown = sim_shutdown,
	.uevent = sim_uevent,
	.dev_groups = sim_dev_groups,
	.drv_groups = sim_drv_groups,
	.bus_groups = sim_bus_groups,
};

int __vmbus_driver_register(struct hv_driver *hv_driver, struct module *owner,
			    const char *mod_name)
{
	pr_info("registering driver %s\n", hv_driver->name);
	hv_driver->driver.name = hv_driver->name;
	hv_driver->driver.owner = owner;
	hv_driver->driver.mod_name = mod_name;
	hv_driver->driver.bus = &sim_bus;
	spin_lock_init(&hv_driver->dynids.lock);
	INIT_LIST_HEAD(&hv_driver->dynids.list);
	return driver_register(&hv_driver->driver);
}
EXPORT_SYMBOL_GPL(__vmbus_driver_register);

void vmbus_driver_unregister(struct hv_driver *hv_driver)
{
	struct sim_dynid *dynid, *tmp;

	pr_info("unregistering driver %s\n", hv_driver->name);
	driver_unregister(&hv_driver->driver);
	spin_lock(&hv_driver->dynids.lock);
	list_for_each_entry_safe(dynid, tmp, &hv_driver->dynids.list, node) {
		list_del(&dynid->node);
		kfree(dynid);
	}
	spin_unlock(&hv_driver->dynids.lock);
}
EXPORT_SYMBOL_GPL(vmbus_driver_unregister);

/* ------------------------------------------------------------------------ */
/* channel directories                                                       */
/* ------------------------------------------------------------------------ */

struct sim_chan_attr {
	struct attribute attr;
	ssize_t (*show)(struct vmbus_channel *chan, char *buf);
	ssize_t (*store)(struct vmbus_channel *chan, const char *buf,
			 size_t count);
};

#define SIM_CHAN_ATTR(_name, _mode, _show, _store)			\
	static struct sim_chan_attr chan_attr_##_name =			\
		__ATTR(_name, _mode, _show, _store)

static ssize_t sim_chan_attr_show(struct kobject *kobj,
				  struct attribute *attr, char *buf)
{
	struct sim_chan_attr *a = container_of(attr, struct sim_chan_attr,
					       attr);
	struct vmbus_channel *chan = container_of(kobj, struct vmbus_channel,
						  kobj);

	return a->show ? a->show(chan, buf) : -EIO;
}

static ssize_t sim_chan_attr_store(struct kobject *kobj,
				   struct attribute *attr, const char *buf,
				   size_t count)
{
	struct sim_chan_attr *a = container_of(attr, struct sim_chan_attr,
					       attr);
	struct vmbus_channel *chan = container_of(kobj, struct vmbus_channel,
						  kobj);

	return a->store ? a->store(chan, buf, count) : -EIO;
}

static const struct sysfs_ops sim_chan_sysfs_ops = {
	.show = sim_chan_attr_show,
	.store = sim_chan_attr_store,
};

static ssize_t chan_ring_show(struct hv_ring_buffer_info *rbi, char *buf,
			      bool mask, bool toread)
{
	struct hv_ring_buffer_debug_info info;
	int err;

	err = hv_ringbuffer_get_debuginfo(rbi, &info);
	if (err)
		return err;
	if (mask)
		return sysfs_emit(buf, "%u\n", info.current_interrupt_mask);
	return sysfs_emit(buf, "%u\n", toread ? info.bytes_avail_toread :
						info.bytes_avail_towrite);
}

static ssize_t out_mask_show(struct vmbus_channel *chan, char *buf)
{
	return chan_ring_show(&chan->outbound, buf, true, false);
}
SIM_CHAN_ATTR(out_mask, 0444, out_mask_show, NULL);

static ssize_t in_mask_show(struct vmbus_channel *chan, char *buf)
{
	return chan_ring_show(&chan->inbound, buf, true, false);
}
SIM_CHAN_ATTR(in_mask, 0444, in_mask_show, NULL);

static ssize_t read_avail_show(struct vmbus_channel *chan, char *buf)
{
	return chan_ring_show(&chan->inbound, buf, false, true);
}
SIM_CHAN_ATTR(read_avail, 0444, read_avail_show, NULL);

static ssize_t write_avail_show(struct vmbus_channel *chan, char *buf)
{
	return chan_ring_show(&chan->outbound, buf, false, false);
}
SIM_CHAN_ATTR(write_avail, 0444, write_avail_show, NULL);

static ssize_t cpu_show(struct vmbus_channel *chan, char *buf)
{
	return sysfs_emit(buf, "%u\n", chan->target_cpu);
}

/* Moving a channel: MODIFYCHANNEL to the host, then the driver's hook. */
static ssize_t cpu_store(struct vmbus_channel *chan, const char *buf,
			 size_t count)
{
	u32 cpu, old;
	ssize_t ret = count;

	if (kstrtou32(buf, 0, &cpu) || cpu >= nr_cpu_ids)
		return -EINVAL;
	cpus_read_lock();
	if (!cpu_online(cpu)) {
		cpus_read_unlock();
		return -EINVAL;
	}
	mutex_lock(&vmbus_connection.channel_mutex);
	if (chan->state != CHANNEL_OPENED_STATE) {
		ret = -EIO;
		goto out;
	}
	old = chan->target_cpu;
	if (cpu == old)
		goto out;
	chan->target_cpu = cpu;
	sim_host_event(VMBUS_SIM_EV_MODIFY, chan->offermsg.child_relid, 0, 0,
		       0, 0, cpu);
	if (chan->change_target_cpu_callback)
		chan->change_target_cpu_callback(chan, old, cpu);
out:
	mutex_unlock(&vmbus_connection.channel_mutex);
	cpus_read_unlock();
	return ret;
}
SIM_CHAN_ATTR(cpu, 0644, cpu_show, cpu_store);

static ssize_t pending_show(struct vmbus_channel *chan, char *buf)
{
	struct hv_monitor_page *mp = vmbus_connection.monitor_pages[1];

	return sysfs_emit(buf, "%d\n",
			  READ_ONCE(mp->trigger_group[chan->monitor_grp].pending));
}
SIM_CHAN_ATTR(pending, 0444, pending_show, NULL);

static ssize_t latency_show(struct vmbus_channel *chan, char *buf)
{
	struct hv_monitor_page *mp = vmbus_connection.monitor_pages[1];

	return sysfs_emit(buf, "%d\n",
			  READ_ONCE(mp->latency[chan->monitor_grp][chan->monitor_bit]));
}
SIM_CHAN_ATTR(latency, 0444, latency_show, NULL);

#define SIM_CHAN_COUNTER(_name, _field)					\
static ssize_t _name##_show(struct vmbus_channel *chan, char *buf)	\
{									\
	return sysfs_emit(buf, "%llu\n",				\
			  (unsigned long long)READ_ONCE(chan->_field));	\
}									\
SIM_CHAN_ATTR(_name, 0444, _name##_show, NULL)

SIM_CHAN_COUNTER(interrupts, interrupts);
SIM_CHAN_COUNTER(events, sig_events);
SIM_CHAN_COUNTER(intr_in_full, intr_in_full);
SIM_CHAN_COUNTER(intr_out_empty, intr_out_empty);
SIM_CHAN_COUNTER(out_full_first, out_full_first);
SIM_CHAN_COUNTER(out_full_total, out_full_total);

static ssize_t chan_monitor_id_show(struct vmbus_channel *chan, char *buf)
{
	return sysfs_emit(buf, "%u\n", chan->offermsg.monitorid);
}
SIM_CHAN_ATTR(monitor_id, 0444, chan_monitor_id_show, NULL);

static ssize_t subchannel_id_show(struct vmbus_channel *chan, char *buf)
{
	return sysfs_emit(buf, "%u\n", chan->offermsg.offer.sub_channel_index);
}
SIM_CHAN_ATTR(subchannel_id, 0444, subchannel_id_show, NULL);

static struct attribute *sim_chan_attrs[] = {
	&chan_attr_out_mask.attr,
	&chan_attr_in_mask.attr,
	&chan_attr_read_avail.attr,
	&chan_attr_write_avail.attr,
	&chan_attr_cpu.attr,
	&chan_attr_pending.attr,
	&chan_attr_latency.attr,
	&chan_attr_interrupts.attr,
	&chan_attr_events.attr,
	&chan_attr_intr_in_full.attr,
	&chan_attr_intr_out_empty.attr,
	&chan_attr_out_full_first.attr,
	&chan_attr_out_full_total.attr,
	&chan_attr_monitor_id.attr,
	&chan_attr_subchannel_id.attr,
	NULL,
};

static umode_t sim_chan_attr_visible(struct kobject *kobj,
				     struct attribute *attr, int idx)
{
	const struct vmbus_channel *chan =
		container_of(kobj, struct vmbus_channel, kobj);

	if (!chan->offermsg.monitor_allocated &&
	    (attr == &chan_attr_pending.attr ||
	     attr == &chan_attr_latency.attr ||
	     attr == &chan_attr_monitor_id.attr))
		return 0;
	return attr->mode;
}

static const struct attribute_group sim_chan_group = {
	.attrs = sim_chan_attrs,
	.is_visible = sim_chan_attr_visible,
};

#if SIM_OWNS_RING_FILE
/*
 * From 6.15 the "ring" attribute is hv_vmbus's: hidden until a driver
 * calls hv_create_ring_sysfs(), its mmap calls the driver's callback, and
 * its size is the channel's ring (ringbuffer_pagecount).  Each channel has
 * a copy of the group so that each file has its own size.
 */
static int sim_ring_mmap(struct file *filp, struct kobject *kobj,
			 struct bin_attribute *attr, struct vm_area_struct *vma)
{
	struct vmbus_channel *chan = container_of(kobj, struct vmbus_channel,
						  kobj);

	return chan->mmap_ring_buffer(chan, vma);
}

static umode_t sim_chan_bin_visible(struct kobject *kobj,
				    struct bin_attribute *attr, int idx)
{
	const struct vmbus_channel *chan =
		container_of(kobj, struct vmbus_channel, kobj);

	return chan->ring_sysfs_visible ? attr->attr.mode : 0;
}

static void sim_chan_group_init(struct sim_channel *sc)
{
	struct bin_attribute *ring = &sc->ring_attr;

	sysfs_bin_attr_init(ring);
	ring->attr.name = "ring";
	ring->attr.mode = 0600;
	ring->mmap = sim_ring_mmap;
	sc->bin_attrs[0] = ring;
	sc->group = sim_chan_group;
	sc->group.bin_attrs = sc->bin_attrs;
	sc->group.is_bin_visible = sim_chan_bin_visible;
}

static const struct attribute_group *sim_chan_group_of(struct sim_channel *sc)
{
	sc->ring_attr.size = (size_t)sc->chan.ringbuffer_pagecount << PAGE_SHIFT;
	return &sc->group;
}

int hv_create_ring_sysfs(struct vmbus_channel *chan,
			 int (*mmap)(struct vmbus_channel *chan,
				     struct vm_area_struct *vma))
{
	chan->mmap_ring_buffer = mmap;
	chan->ring_sysfs_visible = true;
	return sysfs_update_group(&chan->kobj,
				  sim_chan_group_of(to_sim_channel(chan)));
}
EXPORT_SYMBOL_GPL(hv_create_ring_sysfs);

int hv_remove_ring_sysfs(struct vmbus_channel *chan)
{
	int ret;

	chan->ring_sysfs_visible = false;
	ret = sysfs_update_group(&chan->kobj,
				 sim_chan_group_of(to_sim_channel(chan)));
	chan->mmap_ring_buffer = NULL;
	return ret;
}
EXPORT_SYMBOL_GPL(hv_remove_ring_sysfs);
#else
static void sim_chan_group_init(struct sim_channel *sc)
{
}

static const struct attribute_group *sim_chan_group_of(struct sim_channel *sc)
{
	return &sim_chan_group;
}
#endif

static struct kobj_type sim_chan_ktype = {
	.sysfs_ops = &sim_chan_sysfs_ops,
	.release = sim_channel_kobj_release,
};

/* channels/<relid>/ of @hv_dev.  On failure the caller removes @chan. */
int sim_add_channel_kobj(struct hv_device *hv_dev, struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);
	struct kobject *kobj = &chan->kobj;
	int err;

	kobj->kset = hv_dev->channels_kset;
	sc->kobj_inited = true;
	err = kobject_init_and_add(kobj, &sim_chan_ktype, NULL, "%u",
				   chan->offermsg.child_relid);
	if (err)
		return err;
	sim_chan_group_init(sc);
	err = sysfs_create_group(kobj, sim_chan_group_of(sc));
	if (err) {
		dev_err(&hv_dev->device, "Unable to set up channel sysfs files\n");
		return err;
	}
	sc->group_added = true;
	kobject_uevent(kobj, KOBJ_ADD);
	return 0;
}

/* Drops the channel's directory and, with it, the channel's memory. */
void sim_remove_channel_kobj(struct vmbus_channel *chan)
{
	struct sim_channel *sc = to_sim_channel(chan);

	if (sc->group_added)
		sysfs_remove_group(&chan->kobj, sim_chan_group_of(sc));
	sc->group_added = false;
	if (sc->kobj_inited)
		kobject_put(&chan->kobj);
	else
		sim_channel_put(sc);
}

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

static void sim_device_release(struct device *dev)
{
	struct hv_device *hv_dev = device_to_hv_device(dev);
	struct vmbus_channel *chan = hv_dev->channel;

	if (chan && to_sim_channel(chan)->dev_owned) {
		mutex_lock(&vmbus_connection.channel_mutex);
		if (!chan->rescind)
			pr_err("driver error: device %s released without a rescind\n",
			       dev_name(dev));
		sim_channel_remove(chan);
		mutex_unlock(&vmbus_connection.channel_mutex);
	}
	kfree(hv_dev->driver_override);
	kfree(hv_dev);
}

/*
 * Registers the device of a primary channel.  On failure the device is
 * freed and chan->device_obj cleared; the channel stays for the caller.
 */
int sim_device_register(struct hv_device *hv_dev)
{
	struct vmbus_channel *chan = hv_dev->channel;
	int err;

	dev_set_name(&hv_dev->device, "%pUl", &chan->offermsg.offer.if_instance);
	hv_dev->device.bus = &sim_bus;
	hv_dev->device.parent = sim_root;
	hv_dev->device.release = sim_device_release;
	hv_dev->device.dma_parms = &hv_dev->dma_parms;
	hv_dev->device.dma_mask = &hv_dev->dma_mask;
	dma_set_mask(&hv_dev->device, DMA_BIT_MASK(64));

	/* a matching driver probes in here, before channels/ exists */
	err = device_register(&hv_dev->device);
	if (err) {
		pr_err("Unable to register child device\n");
		chan->device_obj = NULL;
		put_device(&hv_dev->device);
		return err;
	}
	hv_dev->channels_kset = kset_create_and_add("channels", NULL,
						    &hv_dev->device.kobj);
	if (!hv_dev->channels_kset) {
		err = -ENOMEM;
		goto fail_dev;
	}
	err = sim_add_channel_kobj(hv_dev, chan);
	if (err) {
		pr_err("Unable to register primary channel\n");
		kset_unregister(hv_dev->channels_kset);
		goto fail_dev;
	}
	to_sim_channel(chan)->dev_owned = true;
	return 0;

fail_dev:
	chan->device_obj = NULL;
	device_unregister(&hv_dev->device);
	return err;
}

void vmbus_device_unregister(struct hv_device *device_obj)
{
	kset_unregister(device_obj->channels_kset);
	device_unregister(&device_obj->device);
}
EXPORT_SYMBOL_GPL(vmbus_device_unregister);

int sim_bus_init(void)
{
	int err;

	sim_root = root_device_register("vmbus_sim");
	if (IS_ERR(sim_root))
		return PTR_ERR(sim_root);
	err = bus_register(&sim_bus);
	if (err)
		root_device_unregister(sim_root);
	return err;
}

void sim_bus_exit(void)
{
	bus_unregister(&sim_bus);
	root_device_unregister(sim_root);
}
