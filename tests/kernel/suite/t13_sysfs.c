/* SPDX-License-Identifier: MIT */
/*
 * The device and channel attributes of hv_vmbus as the stand-in shows
 * them, and the host's offer checks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ktest.h"

static void expect_attr(const char *want, const char *fmt, const char *guid)
{
	char buf[256], path[256];

	snprintf(path, sizeof(path), fmt, guid);
	KT_ASSERT(kt_read(path, buf, sizeof(buf)) >= 0, "read %s", path);
	KT_ASSERT(!strcmp(buf, want), "%s is \"%s\", expected \"%s\"", path, buf, want);
}

int main(int argc, char **argv)
{
	struct vmbus_sim_offer o;
	char guid[37], want[128], buf[128], other[37];
	uint32_t relid = 4000, conn;
	int fd, cpu;

	kt_init(argc, argv, "hv_vmbus's device and channel attributes");
	kt_new_instance(guid);
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, guid, 77, 0, 0, &o) == 0, "offer");
	relid = o.relid;
	KT_ASSERT(o.monitor_id == 77, "monitor id %u", o.monitor_id);

	snprintf(want, sizeof(want), "{%s}", KT_CLASS_NIC);
	expect_attr(want, "/sys/bus/vmbus/devices/%s/class_id", guid);
	snprintf(want, sizeof(want), "{%s}", guid);
	expect_attr(want, "/sys/bus/vmbus/devices/%s/device_id", guid);
	snprintf(want, sizeof(want), "%u", relid);
	expect_attr(want, "/sys/bus/vmbus/devices/%s/id", guid);
	expect_attr("77", "/sys/bus/vmbus/devices/%s/monitor_id", guid);
	expect_attr("vmbus:635161f83edfc546913ff2d2f965ed0e", "/sys/bus/vmbus/devices/%s/modalias",
		    guid);
	expect_attr("0x1414", "/sys/bus/vmbus/devices/%s/vendor", guid);
	expect_attr("0x3", "/sys/bus/vmbus/devices/%s/device", guid);
	expect_attr("2", "/sys/bus/vmbus/devices/%s/state", guid);
	expect_attr("(null)", "/sys/bus/vmbus/devices/%s/driver_override", guid);
	conn = (uint32_t)kt_read_u64("/sys/bus/vmbus/devices/%s/client_monitor_conn_id", guid);
	KT_ASSERT(conn == relid, "client_monitor_conn_id %u", conn);
	KT_ASSERT(kt_read_u64("/sys/bus/vmbus/devices/%s/client_monitor_pending", guid) == 0,
		  "pending bits set");
	/* ring attributes need a ring */
	KT_ASSERT(kt_readf(buf, sizeof(buf), "/sys/bus/vmbus/devices/%s/in_intr_mask", guid) ==
			  -EINVAL,
		  "in_intr_mask without a ring");

	/* channels/<relid>/ */
	snprintf(want, sizeof(want), "/sys/bus/vmbus/devices/%%s/channels/%u/subchannel_id", relid);
	expect_attr("0", want, guid);
	snprintf(want, sizeof(want), "/sys/bus/vmbus/devices/%%s/channels/%u/monitor_id", relid);
	expect_attr("77", want, guid);
	cpu = (int)kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/cpu", guid, relid);
	snprintf(want, sizeof(want), "%u:%d", relid, cpu);
	expect_attr(want, "/sys/bus/vmbus/devices/%s/channel_vp_mapping", guid);
	KT_ASSERT(kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/latency", guid, relid) &&
			  kt_exists("/sys/bus/vmbus/devices/%s/channels/%u/interrupts", guid,
				    relid),
		  "channel attributes missing");
	KT_ASSERT(kt_read_u64("/sys/bus/vmbus/hibernation") == 0, "hibernation");

	/* with the channel open */
	kt_bind_driver(guid);
	fd = kt_uio_open(guid);
	expect_attr("3", "/sys/bus/vmbus/devices/%s/state", guid);
	KT_ASSERT(kt_read_u64("/sys/bus/vmbus/devices/%s/in_read_index", guid) == 0 &&
			  kt_read_u64("/sys/bus/vmbus/devices/%s/out_write_index", guid) == 0,
		  "ring indices of a fresh ring");
	KT_ASSERT(kt_read_u64("/sys/bus/vmbus/devices/%s/out_write_bytes_avail", guid) ==
			  kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/write_avail", guid,
				      relid),
		  "write_avail disagrees with out_write_bytes_avail");
	/* moving the channel tells the host */
	kt_ev_flush();
	cpu = cpu ? 0 : 1;
	snprintf(buf, sizeof(buf), "%d", cpu);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		KT_ASSERT(kt_writef(buf, "/sys/bus/vmbus/devices/%s/channels/%u/cpu", guid, relid) ==
				  0,
			  "move the channel to cpu %d", cpu);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_MODIFY, relid, 0, NULL) == 0, "no MODIFY");
	}
	close(fd);

	/* what the host cannot offer */
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, 0, NULL) == -EEXIST,
		  "a second primary with the same instance");
	KT_ASSERT(kt_try_offer(KT_CLASS_OTHER, guid, VMBUS_SIM_MONITOR_ANY, 0, 0, NULL) == -EEXIST,
		  "the same instance in another class");
	kt_new_instance(other);
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, other, 77, 0, 0, NULL) == -EEXIST,
		  "a monitor id in use");
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, other, 200, 0, 0, NULL) == -EINVAL,
		  "monitor id 200");
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, other, VMBUS_SIM_MONITOR_ANY, 1, 0, NULL) == -ENOENT,
		  "a subchannel without its primary");
	memset(&o, 0, sizeof(o));
	o.relid = relid;
	KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_OFFER, &o) != 0 && errno == EINVAL,
		  "an offer without a class");
	KT_ASSERT(kt_try_offer(KT_CLASS_NIC, other, VMBUS_SIM_MONITOR_ANY, 0, 0, &o) == 0 &&
			  o.relid != relid,
		  "a free relid");
	kt_pass();
}
