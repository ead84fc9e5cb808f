/* SPDX-License-Identifier: MIT */
/*
 * Sim-test harness: runs vmbus-hostsim on a temporary root, talks to its
 * control socket, and gives a scripted guest small NVSP/RNDIS helpers on
 * top of libvmbus.  The simulator binary comes from $VMBUS_HOSTSIM (set by
 * make check to the sanitizer build, so its leaks and UB fail the test).
 */
#ifndef TESTS_SIM_HARNESS_H
#define TESTS_SIM_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netvsc/proto.h>
#include <vmbus/vmbus.h>

#define SIM_MAX_DEVS 8

struct sim {
	pid_t pid;
	char root[64];
	char guid[SIM_MAX_DEVS][VMBUS_GUID_STRLEN];
	int ndevs;
	char log[PATH_MAX];
};

const char *sim_binary(void);
int64_t sim_now_ms(void);

/* Runs @argv (NULL-terminated) and captures its stdout; returns the exit status. */
int sim_run(char *const argv[], char *out, size_t outlen);

/* Starts the simulator with @extra options (NULL-terminated); -errno or 0. */
int sim_start(struct sim *s, ...);

/* The control command @cmd... (NULL-terminated); output in @out. */
int sim_ctl(struct sim *s, char *out, size_t outlen, ...);

/* Polls "stats" until it contains @needle, for at most @ms. */
bool sim_wait_stats(struct sim *s, const char *needle, int ms);

/* Polls the simulator's log until it contains @needle, for at most @ms. */
bool sim_log_has(struct sim *s, const char *needle, int ms);

/* Open descriptors of process @pid, or -1. */
int sim_count_fds(pid_t pid);

/* Stops the simulator; returns its exit status (0 expected) and removes the root. */
int sim_stop(struct sim *s);

/* CPU time (user + system, in clock ticks) the simulator has used; -1 if
 * unreadable. */
long sim_cpu_ticks(struct sim *s);

/* The Toeplitz hash of @n bytes at @in under the 40-byte @key (n <= 36). */
uint32_t sim_toeplitz(const uint8_t *key, const uint8_t *in, size_t n);

#endif /* TESTS_SIM_HARNESS_H */
