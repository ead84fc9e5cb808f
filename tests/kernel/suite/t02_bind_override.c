/* SPDX-License-Identifier: MIT */
/*
 * Binding one device: driver_override names the driver, bind (or
 * drivers_probe, as driverctl does) binds it; other devices of the class
 * stay alone; clearing the override and unbinding gives the device back.
 */
#include <errno.h>
#include <string.h>

#include "ktest.h"

static void read_override(const char *guid, char *buf, size_t len)
{
	KT_ASSERT(kt_readf(buf, len, "/sys/bus/vmbus/devices/%s/driver_override", guid) >= 0,
		  "read driver_override of %s", guid);
}

int main(int argc, char **argv)
{
	char a[37], b[37], buf[128];
	uint32_t ra;
	int idx;

	kt_init(argc, argv, "bind by driver_override + bind, drivers_probe, unbind, give back");
	kt_new_instance(a);
	kt_new_instance(b);
	ra = kt_offer(KT_CLASS_NIC, a, VMBUS_SIM_MONITOR_ANY, 0, 0);
	kt_offer(KT_CLASS_NIC, b, VMBUS_SIM_MONITOR_ANY, 0, 0);

	read_override(a, buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, "(null)"), "driver_override of a new device is \"%s\"", buf);

	/* setting the override alone binds nothing */
	KT_ASSERT(kt_override(a, kt_drv->name) == 0, "set driver_override");
	read_override(a, buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, kt_drv->name), "driver_override reads \"%s\"", buf);
	KT_ASSERT(!*kt_bound(a), "bound by setting driver_override");

	KT_ASSERT(kt_bind(a) == 0, "bind %s with driver_override", a);
	KT_ASSERT(!strcmp(kt_bound(a), kt_drv->name), "bound to \"%s\"", kt_bound(a));
	idx = kt_uio_index(a);
	KT_ASSERT(idx >= 0 && kt_exists("/dev/uio%d", idx), "uio device of %s", a);
	/* the other device of the class has neither an override nor an id */
	KT_ASSERT(!*kt_bound(b), "%s bound along", b);
	KT_ASSERT(kt_bind(b) == -ENODEV, "bind of %s without override", b);

	/* unbinding keeps the override; binding again works without new_id */
	KT_ASSERT(kt_unbind(a) == 0, "unbind");
	KT_ASSERT(!*kt_bound(a) && kt_uio_index(a) < 0, "still bound after unbind");
	KT_ASSERT(kt_bind(a) == 0, "bind again");
	KT_ASSERT(kt_unbind(a) == 0, "unbind again");

	/* an override naming another driver keeps ours away */
	KT_ASSERT(kt_override(a, "hv_netvsc") == 0, "override to hv_netvsc");
	KT_ASSERT(kt_bind(a) == -ENODEV, "bind while overridden to another driver");

	/* clearing it: nothing matches any more */
	KT_ASSERT(kt_override(a, NULL) == 0, "clear driver_override");
	read_override(a, buf, sizeof(buf));
	KT_ASSERT(!strcmp(buf, "(null)"), "driver_override after clearing: \"%s\"", buf);
	KT_ASSERT(kt_bind(a) == -ENODEV, "bind after clearing the override");

	/* driverctl's way: override, then drivers_probe */
	KT_ASSERT(kt_override(b, kt_drv->name) == 0, "override %s", b);
	KT_ASSERT(kt_write("/sys/bus/vmbus/drivers_probe", b) == 0, "drivers_probe %s", b);
	KT_ASSERT(!strcmp(kt_bound(b), kt_drv->name), "drivers_probe did not bind %s", b);
	KT_ASSERT(!*kt_bound(a), "%s bound by probing %s", a, b);

	/* give both back */
	KT_ASSERT(kt_unbind(b) == 0 && kt_override(b, NULL) == 0, "give %s back", b);
	KT_ASSERT(!*kt_bound(b), "%s still bound", b);
	(void)ra;
	kt_pass();
}
