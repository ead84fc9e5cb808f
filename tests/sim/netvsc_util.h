/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the libnetvsc sim tests: a simulator plus an attached NIC,
 * test frames that carry a sequence number and a checkable pattern inside
 * IPv4/UDP (so RSS can spread them), and a receiver that checks every
 * byte of what comes back.
 */
#ifndef TESTS_SIM_NETVSC_UTIL_H
#define TESTS_SIM_NETVSC_UTIL_H

#include <genframe.h>
#include <netvsc/netvsc.h>

#include "harness.h"

#define NT_WAIT_MS 10000
#define NT_MAX_SEQ (1u << 20)
#define NT_MAGIC 0x5456534eu /* "NSVT" */

struct nt {
	struct sim sim;
	struct netvsc_dev *nd;
	struct netvsc_ops ops;
	struct netvsc_info info;
	char err[512];
	/* receive side */
	uint8_t *seen; /* per sequence number: how often it came back */
	uint64_t rx_frames, rx_bad, rx_dup, rx_bytes, rx_other;
	uint64_t rx_per_queue[NETVSC_MAX_QUEUES];
	uint64_t rx_vlan;
	uint16_t last_vlan;
	/* frames whose RSS hash matched Toeplitz over their addresses and
	 * ports with libnetvsc's key, and those whose hash did not */
	uint64_t rx_hash_ok, rx_hash_bad;
	/* events */
	int link_events, link_up_events, link_down_events, keepalives, gone, broken;
	bool link_up;
	/* transmit with pages */
	uint64_t pages_done, pages_failed;
};

/* 14 Ethernet + 20 IPv4 + 8 UDP + 4 magic + 4 seq + 4 len, then the pattern. */
#define NT_HDR 58u

/*
 * A test frame of @len (>= NT_HDR) bytes from @src to @dst: IPv4/UDP on
 * ports derived from @flow (RSS hashes them), the magic, @seq, @len, then
 * a pattern from @seq.
 */
void nt_frame(uint8_t *f, uint32_t len, const uint8_t *src, const uint8_t *dst,
	      uint32_t seq, uint32_t flow);

/* Checks a frame made by nt_frame (addresses swapped by the echo). */
bool nt_check(const uint8_t *f, uint32_t len, uint32_t *seq);
void nt_rx(void *arg, const struct netvsc_rx_frame *fr);
void nt_event(void *arg, const struct netvsc_event *ev);
void nt_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status);

/* Starts a simulator (link changes not held back) with up to 6 options. */
struct nt *nt_new_opts(const char *const *opts);
struct nt *nt_new(const char *opt1);
int nt_attach_opts(struct nt *t, unsigned int queues, unsigned int mtu,
		   uint32_t nvsp_max, int timeout_ms);
void nt_attach(struct nt *t, unsigned int queues, unsigned int mtu);
void nt_detach(struct nt *t);
int nt_free(struct nt *t);

/* The NIC a test has running, for nt_teardown to free if the test fails. */
extern struct nt *nt_live;

/* cmocka teardown: frees the NIC left in nt_live, if any. */
int nt_teardown(void **state);

/* Polls every queue once; returns frames delivered, or an error. */
int nt_poll_all(struct nt *t);

/* Polls until @cond(t) holds; sleeps in netvsc_wait when idle. */
int nt_pump(struct nt *t, bool (*cond)(struct nt *, const void *), const void *arg,
	    int ms);
bool nt_got(struct nt *t, const void *arg);

/* Sends @count test frames of @len on queue @q spread over @flows flows,
 * retrying on back-pressure while polling; returns 0 or an error. */
int nt_send_frames(struct nt *t, unsigned int q, uint32_t first, uint32_t count,
		   uint32_t len, uint32_t flows);

#endif /* TESTS_SIM_NETVSC_UTIL_H */
