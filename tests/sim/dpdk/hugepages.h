/* SPDX-License-Identifier: MIT */
/*
 * Huge pages for DPDK's tests, on this machine (tests/sim/test_dpdk.c) and
 * in the kernel test bed's guest (tests/kernel/suite/t32_dpdk.c).
 */
#ifndef TESTS_DPDK_HUGEPAGES_H
#define TESTS_DPDK_HUGEPAGES_H

#include <stdio.h>

/* Free huge pages of the default size when it is 2 MiB (from
 * /proc/meminfo), or -1. */
static inline long free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = -1, size = 0;

	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %ld", &v);
		sscanf(line, "Hugepagesize: %ld kB", &size);
	}
	if (f)
		fclose(f);
	return size == 2048 ? v : -1;
}

#endif
