/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share: the clock, CPU pinning, the common options
 * (--seconds, --rounds, --cpus, --help), best and median of the rounds,
 * and the libvmbus ring measurement that every table uses as its own row
 * or as its baseline: a producer and a consumer thread over one 2 MiB
 * ring, each packet's sequence number checked on arrival.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmbus/vmbus.h>

#define BENCH_MAX_ROUNDS 15
#define BENCH_RING_HDR 4096u
#define BENCH_RING_BYTES (2u * 1024u * 1024u) /* one direction, header included */
#define BENCH_MAX_PAYLOAD 4096u

struct bench_opts {
	double seconds; /* per measurement */
	int rounds; /* measurements per row */
	int cpu_a, cpu_b; /* producer (guest) and consumer (host) CPUs; -1: no pinning */
	/* --only WORD: accepted if the program lists its words here (NULL:
	 * the option is refused); only is then one of them, or NULL */
	const char *const *only_words;
	const char *only;
};

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The time of CPU clock @c (a thread's or a process's) in ns; 0 if unreadable. */
static inline uint64_t bench_cpu_ns(clockid_t c)
{
	struct timespec ts;

	if (clock_gettime(c, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pins the calling thread (best effort; a negative @cpu leaves it free). */
void bench_pin(int cpu);

/* Lets a measurement run for @seconds: a timer, not a synchronisation. */
void bench_wait(double seconds);

/*
 * Parses the common options.  Returns -1 when the program goes on, else
 * the exit code (0 after --help, 2 after a usage error).
 */
int bench_args(int argc, char **argv, const char *prog, void (*usage)(FILE *),
	       struct bench_opts *o);

/* Best and median of @n (1..BENCH_MAX_ROUNDS) measurements. */
void bench_stats(const double *v, int n, double *best, double *median);

/* ------------------------------------------------------------------------ */
/* the libvmbus ring: a producer and a consumer thread                       */
/* ------------------------------------------------------------------------ */

/*
 * Packets per second of @payload bytes (at most BENCH_MAX_PAYLOAD) through
 * the libvmbus ring, @batch packets per publish (1: one by one).  With
 * @ns_per_pkt, also the producer's CPU time per packet (its thread clock:
 * what one packet costs the sending side, time lost to other programs
 * left out).  Exits the program if a packet was lost or reordered.
 */
double bench_ring_pps(const struct bench_opts *o, const char *prog,
		      uint32_t payload, unsigned int batch, double *ns_per_pkt);

#endif
