/* SPDX-License-Identifier: MIT */
/*
 * A NIC that Linux's hv_netvsc holds, moved between drivers in the guest
 * and pulled by the host:
 *  - vmbus-bind refuses (exit 8, without --force) the NIC whose interface
 *    holds the default route, and the one whose address the current SSH
 *    connection uses (SSH_CONNECTION, as sshd sets it for the session);
 *  - vmbus-bind --persist takes it to the UIO driver under test (the
 *    interface goes, /dev/uioN comes, driverctl's file names the driver),
 *    netvsc-user carries checked frames on it, and vmbus-bind --restore
 *    gives it back to hv_netvsc: the interface reappears under its old
 *    name, the file is gone;
 *  - the same by hand through sysfs (driver_override, unbind, bind);
 *  - the host rescinds the NIC: the interface goes; offered again, it comes
 *    back and its link comes up (not after uio_hv_generic held it: Debian's
 *    leaves its rescind callback on the channel, and the rescind would run
 *    it on hv_netvsc's data, an oops seen here);
 *  - hv_netvsc unloads clean and logged no error.
 * Linux's hv_netvsc runs only where the stand-in plays generation 6.1 (the
 * structures Debian's module was built for); elsewhere the test skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

#define BIND "/bin/vmbus-bind"
#define ADDR "10.79.0.1"
#define GW "10.79.0.2"

static char guid[37];

/* vmbus-bind with @a1..: its exit status */
static int bind_tool(const char *a1, const char *a2, const char *a3, const char *a4)
{
	const char *const argv[] = { BIND, a1, a2, a3, a4, NULL };

	return kt_run(argv);
}

/* hv_netvsc holds the NIC again, under the interface name @ifn. */
static bool host_rss_on(void *arg)
{
	char stats[4096];

	(void)arg;
	return kt_hostsim_ctl_out(stats, sizeof(stats), "stats", NULL) == 0 &&
	       strstr(stats, "  rss on,") != NULL;
}

/*
 * hv_netvsc opens its subchannels and sets RSS from a work item after
 * probe, waiting without a bound for the host's answer (rndis_set_subchannel).
 * A rescind before the host answered leaves that work, and the rescind
 * behind it, waiting for ever (a hung task here); a real host answers
 * first.  So the NIC moves on only once the host has RSS on.
 */
static void netvsc_settled(const char *how)
{
	KT_ASSERT(kt_net_wait(host_rss_on, NULL, KT_TIMEOUT_MS), "%s: hv_netvsc set up RSS", how);
}

static void back_to_netvsc(const char *ifn, const char *how)
{
	char now[IFNAMSIZ];

	KT_ASSERT(!strcmp(kt_bound(guid), "hv_netvsc"), "%s: bound to hv_netvsc, not \"%s\"", how,
		  kt_bound(guid));
	KT_ASSERT(kt_wait_ifname(guid, now, KT_TIMEOUT_MS), "%s: the interface reappeared", how);
	KT_ASSERT(!strcmp(now, ifn), "%s: the interface is %s again, not %s", how, ifn, now);
	KT_ASSERT(kt_uio_index(guid) < 0, "%s: no UIO device is left", how);
	netvsc_settled(how);
}

int main(int argc, char **argv)
{
	static const char *const sim_args[] = { "--wire", "echo", "--queues", "2", NULL };
	char ifn[IFNAMSIZ], conf[128], buf[64];
	const char *drv;
	int rc, kmsg;

	kt_init(argc, argv, "a NIC hv_netvsc holds: vmbus-bind's refusals, moves to UIO and back, rescind");
	if (access(BIND, X_OK) || access(KT_NETVSC_USER, X_OK))
		kt_skip("vmbus-bind or netvsc-user is not in this guest");
	kt_netvsc_load();
	drv = kt_drv->name;
	kmsg = kt_netvsc_instance(guid, sim_args, ifn);
	KT_ASSERT(kt_sh("ip addr add " ADDR "/24 dev %s && ip link set %s up", ifn, ifn) == 0,
		  "%s configured and up", ifn);
	KT_ASSERT(kt_wait_carrier(ifn, true, KT_TIMEOUT_MS), "%s has a carrier", ifn);
	netvsc_settled("probe");

	/* the default route goes through it: refused, nothing changed */
	KT_ASSERT(kt_sh("ip route add default via " GW " dev %s", ifn) == 0, "default route on %s",
		  ifn);
	rc = bind_tool(guid, "--driver", drv, NULL);
	KT_ASSERT(rc == 8, "vmbus-bind of the NIC with the default route: exit %d, expected 8", rc);
	KT_ASSERT(!strcmp(kt_bound(guid), "hv_netvsc") && kt_nic_ifname(guid, buf),
		  "the refused NIC stayed with hv_netvsc");
	KT_ASSERT(kt_sh("ip route del default") == 0, "default route removed");

	/* an SSH session to its address: refused */
	setenv("SSH_CONNECTION", "10.79.0.9 50022 " ADDR " 22", 1);
	rc = bind_tool(guid, "--driver", drv, NULL);
	KT_ASSERT(rc == 8, "vmbus-bind of the NIC the SSH connection uses: exit %d, expected 8", rc);
	KT_ASSERT(!strcmp(kt_bound(guid), "hv_netvsc"), "the refused NIC stayed with hv_netvsc");
	/* a session on another address does not hold it */
	setenv("SSH_CONNECTION", "192.0.2.9 50022 192.0.2.1 22", 1);

	/* to UIO, persistently; netvsc-user drives it */
	rc = bind_tool(guid, "--driver", drv, "--persist");
	KT_ASSERT(rc == 0, "vmbus-bind --driver %s --persist: exit %d", drv, rc);
	unsetenv("SSH_CONNECTION");
	KT_ASSERT(!strcmp(kt_bound(guid), drv), "bound to %s, not \"%s\"", drv, kt_bound(guid));
	KT_ASSERT(kt_wait_no_ifname(guid, KT_TIMEOUT_MS), "%s is gone with hv_netvsc", ifn);
	KT_ASSERT(kt_uio_index(guid) >= 0, "a UIO device for the NIC");
	snprintf(conf, sizeof(conf), "/etc/driverctl.d/vmbus-%s", guid);
	/* driverctl's rule: the file holds the driver's name */
	KT_ASSERT(kt_read(conf, buf, sizeof(buf)) > 0 && !strcmp(buf, drv),
		  "%s names %s: \"%s\"", conf, drv, buf);
	{
		const char *const gen[] = { KT_NETVSC_USER, "--device", guid, "--count", "500",
					    "--verify", "gen", NULL };

		rc = kt_run(gen);
		KT_ASSERT(rc == 0, "netvsc-user: 500 frames echoed and checked: exit %d", rc);
	}

	/* and back */
	rc = bind_tool("--restore", guid, NULL, NULL);
	KT_ASSERT(rc == 0, "vmbus-bind --restore: exit %d", rc);
	back_to_netvsc(ifn, "vmbus-bind --restore");
	KT_ASSERT(!kt_exists("%s", conf), "--restore removed %s", conf);

	/* the same by hand */
	KT_ASSERT(kt_override(guid, drv) == 0 &&
			  kt_writef(guid, "/sys/bus/vmbus/drivers/hv_netvsc/unbind") == 0 &&
			  kt_bind(guid) == 0,
		  "driver_override %s, unbind from hv_netvsc, bind to %s", drv, drv);
	KT_ASSERT(!strcmp(kt_bound(guid), drv) && kt_uio_index(guid) >= 0, "bound to %s by sysfs",
		  drv);
	KT_ASSERT(kt_wait_no_ifname(guid, KT_TIMEOUT_MS), "the interface is gone");
	KT_ASSERT(kt_override(guid, NULL) == 0 && kt_unbind(guid) == 0 &&
			  kt_writef(guid, "/sys/bus/vmbus/drivers/hv_netvsc/bind") == 0,
		  "driver_override cleared, unbind from %s, bind to hv_netvsc", drv);
	back_to_netvsc(ifn, "sysfs");

	/* the host pulls the NIC and offers it again */
	if (kt_drv->leaves_rescind_callback) {
		/* the rescind would run the UIO driver's callback on hv_netvsc's data */
		kt_diff("%s left its rescind callback on the NIC it gave back: no rescind", drv);
	} else {
		KT_ASSERT(kt_hostsim_ctl("rescind", NULL) == 0, "vmbus-hostsim ctl rescind");
		KT_ASSERT(kt_wait_no_ifname(guid, KT_TIMEOUT_MS) &&
				  !kt_exists("/sys/class/net/%s", ifn),
			  "the interface went with the rescinded NIC");
		KT_ASSERT(kt_hostsim_ctl("offer", guid, NULL) == 0, "vmbus-hostsim ctl offer %s",
			  guid);
		KT_ASSERT(kt_wait_ifname(guid, ifn, KT_TIMEOUT_MS),
			  "the offered NIC has an interface again");
		KT_ASSERT(kt_sh("ip link set %s up", ifn) == 0 &&
				  kt_wait_carrier(ifn, true, KT_TIMEOUT_MS),
			  "%s up with a carrier", ifn);
		netvsc_settled("offered again");
	}

	KT_ASSERT(kt_kmsg_errors(kmsg, "hv_netvsc") == 0, "hv_netvsc logged no error");
	if (kt_drv->leaves_rescind_callback) {
		/* the host takes the NIC away when it stops: the callback left on
		 * the channel must find its own driver's data, so give it back */
		KT_ASSERT(kt_override(guid, drv) == 0 &&
				  kt_writef(guid, "/sys/bus/vmbus/drivers/hv_netvsc/unbind") == 0 &&
				  kt_bind(guid) == 0 && !strcmp(kt_bound(guid), drv),
			  "the NIC back to %s before the host stops", drv);
	}
	rc = kt_netvsc_unload();
	KT_ASSERT(rc == 0, "hv_netvsc unloads: %s", strerror(-rc));
	kt_hostsim_stop();
	kt_pass();
}
