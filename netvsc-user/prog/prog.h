/* SPDX-License-Identifier: MIT */
/*
 * prog.h - the netvsc-user program: its configuration, the state of a run,
 * and the calls between its files:
 *   main.c     the command line
 *   session.c  a session: attach (again after a rescind), one thread per
 *              queue, the watcher, the end
 *   send.c     sending a frame, by pages when it is larger than a section
 *   echo.c, tap.c, gen.c, pcap.c   the modes (gen.c also checks frames
 *              for --verify, in gen and sink)
 *   output.c   info and statistics, as text or JSON
 */
#ifndef NETVSC_USER_PROG_H
#define NETVSC_USER_PROG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <netvsc/netvsc.h>
#include <vmbus/vmbus.h>

/* Exit codes (documented in --help). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_GONE = 3,
	EXIT_PROTO = 4,
	EXIT_CHECK = 5,
};

enum mode { MODE_INFO, MODE_ECHO, MODE_TAP, MODE_GEN, MODE_SINK, MODE_PCAP };

#define BURST 64u
#define BACKLOG 256u
#define DMA_SLOTS 64u
#define DMA_SLOT 12288u

struct cfg {
	const char *guid;
	const char *root;
	unsigned int queues;
	unsigned int mtu;
	enum mode mode;
	const char *arg; /* tap IFNAME, pcap FILE */
	uint32_t size;
	uint64_t count;
	uint64_t rate;
	double seconds;
	bool stats, json, reattach, verify, promisc;
	int timeout_ms;
	uint32_t nvsp_max;
};

struct app;

/* A queue's thread and what its mode keeps. */
struct qctx {
	struct app *app;
	unsigned int idx;
	pthread_t th;
	bool started;
	int tap_fd;
	/* echo: frames the ring had no room for yet */
	uint8_t *backlog;
	uint32_t blen[BACKLOG];
	unsigned int bhead, bcount;
	uint32_t slot_size;
	/* tap: a frame read but not yet taken */
	uint8_t *held;
	uint32_t held_len;
	/* gen */
	uint64_t sent, start_ns;
	/* frames too large for a section go by pages from here */
	struct vmbus_dma *dma;
	uint64_t dma_free; /* bit per slot */
	/* mode counters, written by this thread */
	uint64_t dropped, checked, bad;
	uint64_t taken; /* frames libnetvsc took for sending */
};

struct app {
	struct cfg c;
	struct netvsc_dev *nd;
	struct netvsc_info info;
	unsigned int nq;
	struct qctx q[NETVSC_MAX_QUEUES];
	atomic_bool run; /* the threads keep going */
	atomic_int dead; /* 0, -ENODEV, -EPROTO: from the event callback */
	int stop_fd; /* readable once the program stops */
	FILE *pcap;
	pthread_mutex_t pcap_lock;
	atomic_int pcap_err; /* the first write error (errno), 0 if none */
	/*
	 * The first error that ended a queue's thread while the device lived
	 * (the device's own death is its state): it ends the program.
	 */
	atomic_flag qerr_claimed;
	atomic_int qerr;
	unsigned int qerr_queue;
	const char *qerr_what;
	uint8_t *seen; /* gen --verify: per sequence number */
	atomic_uint_least64_t seen_count, seen_dup, gen_sent;
	struct netvsc_queue_stats total[NETVSC_MAX_QUEUES]; /* over past sessions */
	uint64_t mode_dropped, mode_checked, mode_bad;
	/*
	 * Frames taken for sending over past sessions, and those of them that
	 * were never completed: in flight when the device died, or still when
	 * a session ended (taken = tx_packets + tx_drops + lost).
	 */
	uint64_t taken_total, lost_total;
	bool dma_warned;
	uint64_t window; /* gen --verify: frames out, not yet back, at most */
};

/* Mode counters: written by their queue's thread, read by the watcher. */
#define CNT_ADD(c, n) __atomic_store_n(&(c), (c) + (n), __ATOMIC_RELAXED)
#define CNT_GET(c) __atomic_load_n(&(c), __ATOMIC_RELAXED)

/* Set by SIGINT and SIGTERM (main.c). */
extern atomic_bool stopping;

uint64_t now_ns(void);

/* session.c */
int run(struct app *a);

/* send.c */
void dma_setup(struct qctx *qc);
void on_tx_done(void *arg, unsigned int queue, uint64_t cookie, int status);
int send_frame(struct qctx *qc, const uint8_t *f, uint32_t len, unsigned int flags);

/* echo.c */
void echo_rx(struct qctx *qc, const struct netvsc_rx_frame *fr);
unsigned int echo_backlog(struct qctx *qc);

/* tap.c */
int tap_open(struct app *a);
void tap_close(struct app *a);
void tap_carrier(struct app *a, bool up);
void tap_write(struct qctx *qc, const struct netvsc_rx_frame *fr);
unsigned int tap_read(struct qctx *qc);

/* gen.c */
unsigned int gen_burst(struct qctx *qc, uint8_t *f, int *wait_ms);
void note_received(struct qctx *qc, const uint8_t *f, uint32_t len);
int verify_report(struct app *a);

/* pcap.c: write errors go to a->pcap_err, which ends the program */
int pcap_open(struct app *a);
void pcap_write(struct app *a, const struct netvsc_rx_frame *fr);
void pcap_flush(struct app *a);
int pcap_close(struct app *a);

/* output.c */
/* @s as a JSON string, quotes included: escapes what JSON requires, and
 * replaces bytes that are not UTF-8 with U+FFFD. */
void json_str(FILE *f, const char *s);
void print_info(const struct app *a);
void print_stats(struct app *a, const char *kind, double secs);

#endif /* NETVSC_USER_PROG_H */
