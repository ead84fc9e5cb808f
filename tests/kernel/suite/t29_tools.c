/* SPDX-License-Identifier: MIT */
/*
 * vmbus-bind, vmbus-ls and vmbus-ring against the kernel's own driver core
 * and the UIO driver under test: a device no driver holds is bound by its
 * GUID through driver_override, listed, its rings shown once /dev/uioN is
 * open (and not before: the kernel maps them only then), refused back while
 * a process holds it, and given back (unbound, override cleared).  A NIC
 * that hv_netvsc holds needs hv_netvsc in the guest; the tools' tests on
 * guest trees (tests/tools) stand in for that until then.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIND "/bin/vmbus-bind"
#define LS "/bin/vmbus-ls"
#define RING "/bin/vmbus-ring"

int main(int argc, char **argv)
{
	char guid[37], path[256], buf[64];
	const char *drv;
	int rc, fd;

	kt_init(argc, argv, "vmbus-bind, vmbus-ls and vmbus-ring on the kernel's driver core");
	if (access(BIND, X_OK) || access(LS, X_OK) || access(RING, X_OK))
		kt_skip("the tools are not in this guest");
	drv = kt_drv->name;
	kt_new_instance(guid);
	kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, 0);
	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/driver_override", guid);
	KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "%s", path), "the device is offered");
	KT_ASSERT(!kt_bound(guid)[0], "no driver holds the NIC (no hv_netvsc here)");

	{
		const char *const ls[] = { LS, guid, NULL };

		rc = kt_run(ls);
		KT_ASSERT(rc == 0, "vmbus-ls GUID: exit %d", rc);
	}
	{
		const char *const bind[] = { BIND, "--driver", drv, guid, NULL };

		rc = kt_run(bind);
		KT_ASSERT(rc == 0, "vmbus-bind --driver %s: exit %d", drv, rc);
		KT_ASSERT(!strcmp(kt_bound(guid), drv), "bound to %s, not %s", kt_bound(guid), drv);
		KT_ASSERT(kt_read(path, buf, sizeof(buf)) > 0 && !strcmp(buf, drv),
			  "driver_override is %s", buf);
		KT_ASSERT(kt_uio_index(guid) >= 0, "a UIO device");
		rc = kt_run(bind);
		KT_ASSERT(rc == 7, "vmbus-bind again: exit %d, expected 7 (already bound)", rc);
	}
	{
		const char *const ring[] = { RING, guid, NULL };

		/* the kernel maps a ring only while the channel is open */
		rc = kt_run(ring);
		KT_ASSERT(rc == 4, "vmbus-ring before /dev/uioN is open: exit %d, expected 4", rc);
		fd = kt_uio_open(guid);
		rc = kt_run(ring);
		KT_ASSERT(rc == 0, "vmbus-ring with /dev/uioN open: exit %d", rc);
	}
	{
		const char *const restore[] = { BIND, "--restore", guid, NULL };
		const char *const ls_v[] = { LS, "-v", "--json", guid, NULL };

		rc = kt_run(ls_v);
		KT_ASSERT(rc == 0, "vmbus-ls -v --json with the rings open: exit %d", rc);
		rc = kt_run(restore);
		KT_ASSERT(rc == 6, "vmbus-bind --restore while /dev/uioN is open: exit %d, "
				   "expected 6 (busy)", rc);
		KT_ASSERT(!strcmp(kt_bound(guid), drv), "still bound after the refusal");
		close(fd);
		rc = kt_run(restore);
		KT_ASSERT(rc == 0, "vmbus-bind --restore: exit %d", rc);
		KT_ASSERT(!kt_bound(guid)[0], "unbound again (it had no driver), not %s",
			  kt_bound(guid));
		KT_ASSERT(kt_read(path, buf, sizeof(buf)) > 0 && !strcmp(buf, "(null)"),
			  "driver_override cleared: %s", buf);
		rc = kt_run(restore);
		KT_ASSERT(rc == 7, "vmbus-bind --restore again: exit %d, expected 7", rc);
	}
	/*
	 * uio_hv_generic sets the channel's rescind callback at the first open
	 * and never clears it, so the host's rescind at the end must find the
	 * device bound to it again (see t15).
	 */
	kt_bind_driver(guid);
	kt_note("bound by GUID to %s, shown, refused while held and given back", drv);
	kt_pass();
}
