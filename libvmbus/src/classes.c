/* SPDX-License-Identifier: MIT */
/*
 * The device classes Linux knows (include/linux/hyperv.h, HV_*_GUID), with
 * a short name, a long name and the Linux driver that takes each class.
 * The four classes Linux leaves alone (the two activation services, remote
 * desktop and initial machine configuration, used by Windows guests only)
 * have no driver.
 */
#include <stddef.h>

#include "internal.h"

#define CLASS_AVMA1 VMBUS_GUID_INIT(0xf8e65716, 0x3cb3, 0x4a06, 0x9a, 0x60, 0x18, 0x89, 0xc5, 0xcc, 0xca, 0xb5)
#define CLASS_AVMA2 VMBUS_GUID_INIT(0x3375baf4, 0x9e15, 0x4b30, 0xb7, 0x65, 0x67, 0xac, 0xb1, 0x0d, 0x60, 0x7b)
#define CLASS_RDV VMBUS_GUID_INIT(0x276aacf4, 0xac15, 0x426c, 0x98, 0xdd, 0x75, 0x21, 0xad, 0x3f, 0x01, 0xfe)
#define CLASS_IMC VMBUS_GUID_INIT(0xc376c1c3, 0xd276, 0x48d2, 0x90, 0xa9, 0xc0, 0x47, 0x48, 0x07, 0x2c, 0x60)

static const struct vmbus_class {
	struct vmbus_guid guid;
	const char *name;
	const char *desc;
	const char *driver;
} classes[] = {
	{ VMBUS_CLASS_NIC, "network", "Synthetic network adapter", "hv_netvsc" },
	{ VMBUS_CLASS_SCSI, "scsi", "Synthetic SCSI controller", "hv_storvsc" },
	{ VMBUS_CLASS_IDE, "ide", "Synthetic IDE controller", "hv_storvsc" },
	{ VMBUS_CLASS_FC, "fibre-channel", "Synthetic Fibre Channel adapter", "hv_storvsc" },
	{ VMBUS_CLASS_SHUTDOWN, "shutdown", "Operating system shutdown", "hv_utils" },
	{ VMBUS_CLASS_TIMESYNC, "timesync", "Time synchronization", "hv_utils" },
	{ VMBUS_CLASS_HEARTBEAT, "heartbeat", "Heartbeat", "hv_utils" },
	{ VMBUS_CLASS_KVP, "kvp", "Key-value pair exchange", "hv_utils" },
	{ VMBUS_CLASS_VSS, "backup", "Backup (volume shadow copy)", "hv_utils" },
	/* hv_utils served file copy up to Linux 6.9; later kernels leave it to a
	 * userspace daemon on uio_hv_generic */
	{ VMBUS_CLASS_FCOPY, "file-copy", "Guest file copy", "hv_utils" },
	{ VMBUS_CLASS_DM, "dynamic-memory", "Dynamic memory", "hv_balloon" },
	{ VMBUS_CLASS_MOUSE, "mouse", "Synthetic mouse", "hid_hyperv" },
	{ VMBUS_CLASS_KBD, "keyboard", "Synthetic keyboard", "hyperv_keyboard" },
	{ VMBUS_CLASS_FB, "video", "Synthetic video", "hyperv_fb" },
	{ VMBUS_CLASS_ND, "network-direct", "NetworkDirect (RDMA)", NULL },
	{ VMBUS_CLASS_PCIE, "pci-passthrough", "PCI Express pass-through", "hv_pci" },
	{ CLASS_AVMA1, "activation", "Automatic VM activation (not for Linux)", NULL },
	{ CLASS_AVMA2, "activation", "Automatic VM activation (not for Linux)", NULL },
	{ CLASS_RDV, "remote-desktop", "Remote desktop virtualization (not for Linux)", NULL },
	{ CLASS_IMC, "machine-config", "Initial machine configuration (not for Linux)", NULL },
};

static const struct vmbus_class *class_find(const struct vmbus_guid *class_id)
{
	size_t i;

	if (!class_id)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(classes); i++)
		if (vmbus_guid_equal(&classes[i].guid, class_id))
			return &classes[i];
	return NULL;
}

VMBUS_API const char *vmbus_class_name(const struct vmbus_guid *class_id)
{
	const struct vmbus_class *c = class_find(class_id);

	return c ? c->name : NULL;
}

VMBUS_API const char *vmbus_class_desc(const struct vmbus_guid *class_id)
{
	const struct vmbus_class *c = class_find(class_id);

	return c ? c->desc : NULL;
}

VMBUS_API const char *vmbus_class_driver(const struct vmbus_guid *class_id)
{
	const struct vmbus_class *c = class_find(class_id);

	return c ? c->driver : NULL;
}
