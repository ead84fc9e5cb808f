/* SPDX-License-Identifier: MIT */
/*
 * Binding by class: new_id binds every unbound device of the class,
 * remove_id stops that, unbind gives the device back, bind takes it again.
 */
#include <errno.h>
#include <string.h>

#include "ktest.h"

static void check_bound(const char *guid, uint32_t relid)
{
	struct vmbus_sim_chan_info ci;
	char name[64];
	int idx;

	KT_ASSERT(!strcmp(kt_bound(guid), kt_drv->name), "%s bound to \"%s\"", guid,
		  kt_bound(guid));
	idx = kt_uio_index(guid);
	KT_ASSERT(idx >= 0, "%s bound but has no uio device", guid);
	KT_ASSERT(kt_exists("/dev/uio%d", idx), "/dev/uio%d missing", idx);
	KT_ASSERT(kt_readf(name, sizeof(name), "/sys/class/uio/uio%d/name", idx) > 0,
		  "uio%d/name", idx);
	if (!strcmp(kt_drv->name, "uio_hv_generic"))
		KT_ASSERT(!strcmp(name, "uio_hv_generic"), "uio%d/name is %s", idx, name);
	KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info %u", relid);
	KT_ASSERT(ci.flags & VMBUS_SIM_CHAN_BOUND, "host does not see relid %u bound", relid);
	/* binding does not contact the host: the channel opens with /dev/uioN */
	KT_ASSERT(ci.state == VMBUS_SIM_STATE_OPEN && ci.opens == 0,
		  "relid %u state %u opens %llu after bind", relid, ci.state,
		  (unsigned long long)ci.opens);
}

static void check_unbound(const char *guid)
{
	KT_ASSERT(kt_exists("/sys/bus/vmbus/devices/%s", guid), "%s vanished", guid);
	KT_ASSERT(!*kt_bound(guid), "%s still bound to %s", guid, kt_bound(guid));
	KT_ASSERT(kt_uio_index(guid) < 0, "%s keeps a uio device", guid);
}

int main(int argc, char **argv)
{
	char a[37], b[37], c[37];
	uint32_t ra, rb, rc;
	int idx_a, idx_b;

	kt_init(argc, argv, "bind by new_id with the class GUID, unbind, give back");
	kt_new_instance(a);
	kt_new_instance(b);
	kt_new_instance(c);

	ra = kt_offer(KT_CLASS_NIC, a, VMBUS_SIM_MONITOR_ANY, 0, 0);
	rb = kt_offer(KT_CLASS_NIC, b, VMBUS_SIM_MONITOR_ANY, 0, 0);
	rc = kt_offer(KT_CLASS_OTHER, c, VMBUS_SIM_MONITOR_ANY, 0, 0);
	check_unbound(a);
	check_unbound(b);
	check_unbound(c);

	/* the driver has no id table: new_id with the class binds them all */
	KT_ASSERT(kt_new_id(KT_CLASS_NIC) == 0, "new_id");
	check_bound(a, ra);
	check_bound(b, rb);
	check_unbound(c);
	idx_a = kt_uio_index(a);
	idx_b = kt_uio_index(b);
	KT_ASSERT(idx_a != idx_b, "two devices share uio%d", idx_a);

	KT_ASSERT(kt_new_id(KT_CLASS_NIC) == -EEXIST, "second new_id of the same class");
	KT_ASSERT(kt_new_id("not-a-guid") == -EINVAL, "new_id of garbage");

	/* remove_id stops future matches, it does not unbind */
	KT_ASSERT(kt_remove_id(KT_CLASS_NIC) == 0, "remove_id");
	KT_ASSERT(kt_remove_id(KT_CLASS_NIC) == -ENODEV, "second remove_id");
	check_bound(a, ra);

	/* give the device back */
	KT_ASSERT(kt_unbind(a) == 0, "unbind %s", a);
	check_unbound(a);
	check_bound(b, rb);
	KT_ASSERT(kt_unbind(a) == -ENODEV, "unbind of an unbound device");
	/* without an id nothing matches */
	KT_ASSERT(kt_bind(a) == -ENODEV, "bind without a matching id");

	/* the class id again: new_id binds the unbound device at once */
	KT_ASSERT(kt_new_id(KT_CLASS_NIC) == 0, "new_id again");
	check_bound(a, ra);
	KT_ASSERT(kt_unbind(a) == 0, "unbind %s again", a);
	check_unbound(a);
	/* and bind takes it back explicitly */
	KT_ASSERT(kt_bind(a) == 0, "bind %s", a);
	check_bound(a, ra);
	KT_ASSERT(kt_bind(a) == -EBUSY, "bind of a bound device");
	KT_ASSERT(kt_bind("00000000-1111-2222-3333-444444444444") == -ENODEV,
		  "bind of a device that does not exist");
	check_unbound(c);
	(void)rc;
	kt_pass();
}
