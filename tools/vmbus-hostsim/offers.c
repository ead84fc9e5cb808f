/* SPDX-License-Identifier: MIT */
/*
 * The devices of an Azure guest besides its network adapters, offered so
 * that a listing or a binding tool sees a realistic bus: the offers only.
 * The guest kernel's drivers (hv_storvsc, hv_utils, ...) would hold them,
 * so each is shown bound to its driver, with no UIO device and no service
 * behind its channel.
 *
 * What an Azure guest is offered (Linux tools/hv/lsvmbus run on Azure
 * guests, and the class GUIDs of include/linux/hyperv.h): two SCSI
 * controllers (the OS disk and the resource disk), the integration
 * services (shutdown, time sync, heartbeat, key-value pairs, backup, guest
 * file copy), a synthetic keyboard, mouse and video.  The integration
 * services and file copy are low-speed channels offered without a monitor
 * id (Linux 6.10 "enable interrupt for low-speed devices"); the SCSI
 * controllers are monitored like the network adapters.
 */
#include <errno.h>
#include <string.h>

#include "hostsim.h"

static void offer_only_open(struct hs_dev *dev)
{
	(void)dev;
}

static int offer_only_packet(struct hs_chan *ch, const struct vmbus_pkt *pkt)
{
	(void)ch;
	(void)pkt;
	/* nothing serves the channel: the packet is taken and dropped */
	return 0;
}

static void offer_only_stats(struct hs_dev *dev, FILE *f)
{
	fprintf(f, "device %s: %s, offered only (held by %s)\n", dev->guid,
		vmbus_class_name(&dev->class_id) ? vmbus_class_name(&dev->class_id) : "device",
		dev->kernel_driver);
}

const struct hs_dev_ops hs_offer_only_ops = {
	.name = "offer-only",
	.open = offer_only_open,
	.close = offer_only_open,
	.packet = offer_only_packet,
	.stats = offer_only_stats,
	.free = offer_only_open,
};

/* The guest file copy daemon of tools/hv looks for this instance. */
#define FCOPY_INSTANCE VMBUS_GUID_INIT(0xeb765408, 0x105f, 0x49b6, 0xb4, 0xaa, 0xc1, 0x23, 0xb6, 0x4d, 0x17, 0xd4)

int hs_offer_azure_devices(struct hs_bus *bus)
{
	static const struct {
		struct vmbus_guid class_id;
		const char *driver;
		bool monitored;
	} set[] = {
		{ VMBUS_CLASS_SHUTDOWN, "hv_utils", false },
		{ VMBUS_CLASS_TIMESYNC, "hv_utils", false },
		{ VMBUS_CLASS_HEARTBEAT, "hv_utils", false },
		{ VMBUS_CLASS_KVP, "hv_utils", false },
		{ VMBUS_CLASS_VSS, "hv_utils", false },
		{ VMBUS_CLASS_FCOPY, "hv_utils", false },
		{ VMBUS_CLASS_MOUSE, "hid_hyperv", false },
		{ VMBUS_CLASS_KBD, "hyperv_keyboard", false },
		{ VMBUS_CLASS_FB, "hyperv_fb", false },
		{ VMBUS_CLASS_SCSI, "hv_storvsc", true },
		{ VMBUS_CLASS_SCSI, "hv_storvsc", true },
	};
	static const struct vmbus_guid fcopy = VMBUS_CLASS_FCOPY, fcopy_inst = FCOPY_INSTANCE;
	size_t i;
	int err;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		struct hs_dev *dev;
		bool is_fcopy = vmbus_guid_equal(&set[i].class_id, &fcopy);

		err = hs_offer_dev(bus, &set[i].class_id, is_fcopy ? &fcopy_inst : NULL,
				   set[i].driver, set[i].monitored && bus->opts.monitored, &dev);
		if (err) {
			hs_log("cannot offer the %s device: %s", vmbus_class_name(&set[i].class_id),
			       strerror(-err));
			return err;
		}
		printf("%s\n", dev->guid);
	}
	return 0;
}
