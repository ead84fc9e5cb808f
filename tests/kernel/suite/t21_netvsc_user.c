/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user through the kernel path: vmbus-hostsim plays the host on its
 * kernel transport with an echoing wire, the UIO driver under test owns
 * the device, and netvsc-user attaches to it through the real /sys and
 * /dev/uioN: its facts, then frames both ways with every byte checked, on
 * one queue and on two (a subchannel the driver opens as the host offers
 * it).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

int main(int argc, char **argv)
{
	static const char *const sim_args[] = { "--wire", "echo", "--queues", "4", NULL };
	char guid[37];
	int rc;

	kt_init(argc, argv, "netvsc-user attaches and moves checked traffic through the driver");
	if (access(KT_NETVSC_USER, X_OK))
		kt_skip(KT_NETVSC_USER " is not in this guest");
	kt_new_instance(guid);
	kt_hostsim_start(guid, sim_args);

	{
		const char *const info[] = { KT_NETVSC_USER, "--device", guid, "info", NULL };

		rc = kt_run(info);
		KT_ASSERT(rc == 0, "netvsc-user info exited %d", rc);
	}
	{
		const char *const one[] = { KT_NETVSC_USER, "--device", guid, "--count", "2000",
					    "--size", "512", "--verify", "gen", NULL };

		rc = kt_run(one);
		KT_ASSERT(rc == 0, "2000 frames on one queue, each checked: exit %d", rc);
	}
	{
		const char *const two[] = { KT_NETVSC_USER, "--device", guid, "--queues", "2",
					    "--count", "2000", "--size", "1500", "--verify", "gen",
					    NULL };

		rc = kt_run(two);
		KT_ASSERT(rc == 0, "2000 frames on two queues, each checked: exit %d", rc);
	}
	kt_note("netvsc-user moved and checked traffic through %s", kt_drv->name);
	kt_hostsim_stop();
	kt_pass();
}
