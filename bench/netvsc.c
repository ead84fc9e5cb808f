/* SPDX-License-Identifier: MIT */
/*
 * netvsc benchmark: what a frame costs through libnetvsc and vmbus-hostsim
 * for 64, 512 and 1500-byte frames with 1 and 2 queues:
 *   tx    the guest sends, the host takes them (sink wire) and completes
 *   rx    the host generates frames (gen wire), the guest receives them;
 *         they are not IP, so RSS puts them all on queue 0
 *   echo  the guest sends IPv4/UDP over 256 flows, the host sends them back
 *         (echo wire) and RSS spreads them: frames received
 * For every row: frames per second, the guest's CPU time per frame (its
 * queue threads' CPU clocks), the host's (vmbus-hostsim's process clock),
 * and which of the two limited the run (the one busier over the window).
 * Measured in the same run, as the baseline: the raw libvmbus ring, a
 * producer and a consumer thread over one 2 MiB ring, one packet per frame
 * of the same size published one by one, and the producer's CPU time per
 * packet; each guest figure is divided by it.
 *
 * Every row is the best (and median) of several short rounds, the rows of a
 * round interleaved, because this machine's run-to-run noise is large.
 * Prints one table; asserts nothing about time.
 *
 *   bench/netvsc [--seconds S] [--rounds N] [--cpus A,B]
 * vmbus-hostsim comes from $VMBUS_HOSTSIM, else ../bin/vmbus-hostsim next
 * to this program.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <genframe.h>
#include <netvsc/netvsc.h>

#include "bench.h"

#define BURST 64u

/* the guest (and the raw ring's producer) on CPU A, the host on CPU B, as in a VM */
static const char *const kinds[] = { "tx", "rx", "echo", NULL };
static struct bench_opts opt = {
	.seconds = 0.3, .rounds = 3, .cpu_a = 0, .cpu_b = 1, .only_words = kinds,
};

/* ------------------------------------------------------------------------ */
/* simulators                                                                */
/* ------------------------------------------------------------------------ */

struct hostsim {
	pid_t pid;
	char root[64];
	char guid[VMBUS_GUID_STRLEN];
};

static char hostsim_path[PATH_MAX];

static int hostsim_start(struct hostsim *h, const char *wire, uint32_t gen_size)
{
	char size[16];
	int p[2];
	ssize_t n;

	/* in memory: the tree's sockets and attribute files see no disk */
	snprintf(h->root, sizeof(h->root), "%s/netvsc-bench-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(h->root) || pipe(p))
		return -errno;
	snprintf(size, sizeof(size), "%u", gen_size);
	fflush(NULL);
	h->pid = fork();
	if (h->pid == 0) {
		char root[80];

		snprintf(root, sizeof(root), "%s/root", h->root);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		bench_pin(opt.cpu_b);
		/* a benchmark that exits early takes its simulators with it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(hostsim_path, hostsim_path, "--root", root, "--wire", wire, "--queues", "2",
		      "--gen-size", size, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	n = read(p[0], h->guid, VMBUS_GUID_STRLEN - 1);
	close(p[0]);
	if (n != VMBUS_GUID_STRLEN - 1)
		return -EIO;
	h->guid[VMBUS_GUID_STRLEN - 1] = '\0';
	strncat(h->root, "/root", sizeof(h->root) - strlen(h->root) - 1);
	return 0;
}

/* Stops a simulator; 0 if it exited cleanly (no crash, no sanitizer report). */
static int hostsim_stop(struct hostsim *h)
{
	char cmd[128];
	int status = 0, ret = 0;

	if (h->pid <= 0)
		return 0;
	kill(h->pid, SIGTERM);
	if (waitpid(h->pid, &status, 0) != h->pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "netvsc bench: vmbus-hostsim (pid %d) did not exit cleanly (status 0x%x)\n",
			(int)h->pid, (unsigned int)status);
		ret = -1;
	}
	h->pid = 0;
	/* the simulator removes its tree; the directory above is ours */
	h->root[strlen(h->root) - 5] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->root);
	if (system(cmd))
		fprintf(stderr, "netvsc bench: could not remove %s\n", h->root);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* netvsc measurements                                                       */
/* ------------------------------------------------------------------------ */

enum kind { TX, RX, ECHO };

/*
 * Echo: the guest keeps at most this many frames out (sent, not yet back),
 * over all its threads, as a request-response load does.  It is below
 * each queue's share of the receive slots, so the host never drops an
 * echo for want of them, whichever queue RSS picks; an open loop lost up
 * to 46% of its frames that way (a thread waiting for its time slice, or
 * its completions waiting behind a ring full of data when the host was
 * the limit), and the row then measured frames that never came back.
 */
#define ECHO_WINDOW 4096
/* After this many empty waits of 1 ms with the window full, what is out
 * is taken as lost and the window opens again (a dropped frame would
 * otherwise hold its place for good). */
#define ECHO_GIVE_UP 50

struct qrun {
	struct netvsc_dev *nd;
	unsigned int q;
	unsigned int nq; /* > 1: this thread serves queues q .. q + nq - 1 */
	enum kind kind;
	uint32_t size;
	atomic_bool *stop;
	atomic_long *out; /* echo: frames sent minus frames back, all threads */
	pthread_t th;
};

/* Whether an echo thread may send now (always for tx). */
static bool may_send(const struct qrun *r)
{
	return r->kind == TX ||
	       (r->kind == ECHO &&
		atomic_load_explicit(r->out, memory_order_relaxed) < ECHO_WINDOW);
}

/* Books @sent frames sent and @got received; *@idle counts waits with the
 * window full and nothing back. */
static void echo_book(const struct qrun *r, int sent, int got, bool waited, unsigned int *idle)
{
	if (r->kind != ECHO)
		return;
	if (sent > 0)
		atomic_fetch_add_explicit(r->out, sent, memory_order_relaxed);
	if (got > 0) {
		atomic_fetch_sub_explicit(r->out, got, memory_order_relaxed);
		*idle = 0;
	} else if (waited && !may_send(r) && ++*idle >= ECHO_GIVE_UP) {
		atomic_store_explicit(r->out, 0, memory_order_relaxed);
		*idle = 0;
	}
}

static void on_rx(void *arg, const struct netvsc_rx_frame *f)
{
	(void)arg;
	(void)f;
}

/* An IPv4/UDP frame of flow @flow, to the discard port, zero payload. */
static void make_frame(uint8_t *f, uint32_t len, const uint8_t *mac, uint32_t flow)
{
	static const uint8_t peer[6] = { 0x02, 0, 0x5e, 0, 0, 1 };

	memset(f, 0, len);
	genframe_ipv4_udp(f, len, peer, mac, 10u << 24 | (flow & 0xff), 10u << 24 | 1u,
			  (uint16_t)flow, 9);
}

/* The frames a queue sends: its own flows, so RSS spreads the echo. */
static void fill_burst(const struct qrun *r, unsigned int q, uint8_t (*frames)[1514],
		       struct netvsc_txbuf *bufs)
{
	struct netvsc_info in = { .sz = sizeof(in) };
	unsigned int i;

	netvsc_info(r->nd, &in);
	for (i = 0; i < BURST; i++) {
		make_frame(frames[i], r->size, in.mac, q * BURST + i);
		bufs[i] = (struct netvsc_txbuf){ .data = frames[i], .len = r->size };
	}
}

static void *queue_thread(void *arg)
{
	struct qrun *r = arg;
	struct netvsc_txbuf bufs[BURST];
	static __thread uint8_t frames[BURST][1514];

	unsigned int idle = 0;

	bench_pin(opt.cpu_a);
	fill_burst(r, r->q, frames, bufs);
	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		int sent = 0, got;
		bool waited = false;

		if (may_send(r)) {
			sent = netvsc_send_burst(r->nd, r->q, bufs, BURST);
			if (sent < 0)
				break;
		}
		/* completions free sections; in rx and echo this is the receive */
		got = netvsc_poll(r->nd, r->q, 0);
		if (got < 0)
			break;
		if (got == 0 && (r->kind == RX || sent < (int)BURST)) {
			netvsc_wait(r->nd, r->q, -1, 1);
			waited = true;
		}
		echo_book(r, sent, got, waited, &idle);
	}
	return NULL;
}

/* One thread for every queue, in turn (as a DPDK lcore polls several). */
static void *queues_thread(void *arg)
{
	struct qrun *r = arg;
	static __thread struct netvsc_txbuf bufs[2][BURST];
	static __thread uint8_t frames[2][BURST][1514];
	uint64_t all = (UINT64_C(1) << r->nq) - 1;
	unsigned int q, idle = 0;

	bench_pin(opt.cpu_a);
	for (q = 0; q < r->nq; q++)
		fill_burst(r, q, frames[q], bufs[q]);
	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		bool nothing = true;

		for (q = 0; q < r->nq; q++) {
			int sent = 0, got;

			if (may_send(r)) {
				sent = netvsc_send_burst(r->nd, q, bufs[q], BURST);
				if (sent < 0)
					return NULL;
			}
			got = netvsc_poll(r->nd, q, 0);
			if (got < 0)
				return NULL;
			if (got > 0 || (r->kind != RX && sent == (int)BURST))
				nothing = false;
			echo_book(r, sent, got, false, &idle);
		}
		if (nothing) {
			netvsc_wait_queues(r->nd, all, -1, 1, NULL);
			echo_book(r, 0, 0, true, &idle);
		}
	}
	return NULL;
}

/* One measurement of a row. */
struct sample {
	double fps; /* tx: frames completed, rx/echo: received, per second */
	double guest_ns, host_ns; /* CPU time per frame */
	double guest_busy, host_busy; /* CPU time over the window, 0..1 per side */
	double lost; /* echo: share of the frames sent that did not come back */
};

static uint64_t guest_cpu(const struct qrun *r, unsigned int nthreads)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < nthreads; i++) {
		clockid_t c;

		if (pthread_getcpuclockid(r[i].th, &c) == 0)
			sum += bench_cpu_ns(c);
	}
	return sum;
}

static struct sample run_netvsc(struct hostsim *h, enum kind kind, uint32_t size,
				unsigned int nq, bool one_thread)
{
	struct netvsc_ops ops = { .sz = sizeof(ops), .rx = on_rx };
	struct netvsc_opts o = { .sz = sizeof(o), .root = h->root, .queues = nq, .ops = &ops,
				 .timeout_ms = 10000 };
	struct qrun r[2];
	struct netvsc_dev *nd;
	atomic_bool stop = false;
	atomic_long in_flight = 0;
	char err[512];
	uint64_t c0 = 0, c1 = 0, g0, g1, h0, h1, s0 = 0, s1 = 0;
	unsigned int nth = one_thread ? 1 : nq;
	struct sample out;
	clockid_t hclk;
	double t0, t1;
	unsigned int i;

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	if (netvsc_attach(h->guid, &o, &nd)) {
		fprintf(stderr, "netvsc bench: %s\n", err);
		exit(1);
	}
	if (clock_getcpuclockid(h->pid, &hclk)) {
		fprintf(stderr, "netvsc bench: cannot read vmbus-hostsim's CPU clock\n");
		exit(1);
	}
	if (netvsc_queues(nd) != nq) {
		fprintf(stderr, "netvsc bench: %u queues asked, %u granted\n", nq, netvsc_queues(nd));
		exit(1);
	}
	for (i = 0; i < nth; i++) {
		r[i] = (struct qrun){ .nd = nd, .q = i, .nq = one_thread ? nq : 1, .kind = kind,
				      .size = size, .stop = &stop, .out = &in_flight };
		pthread_create(&r[i].th, NULL, one_thread ? queues_thread : queue_thread, &r[i]);
	}
	/* warm up, then count over the window */
	usleep(50000); /* a warm-up period, not a synchronisation */
	for (i = 0; i < nq; i++) {
		struct netvsc_queue_stats s = { .sz = sizeof(s) };

		netvsc_stats(nd, i, &s);
		c0 += kind == TX ? s.tx_packets : s.rx_packets;
		s0 += s.tx_packets;
	}
	g0 = guest_cpu(r, nth);
	h0 = bench_cpu_ns(hclk);
	t0 = bench_now();
	bench_wait(opt.seconds);
	t1 = bench_now();
	g1 = guest_cpu(r, nth);
	h1 = bench_cpu_ns(hclk);
	for (i = 0; i < nq; i++) {
		struct netvsc_queue_stats s = { .sz = sizeof(s) };

		netvsc_stats(nd, i, &s);
		c1 += kind == TX ? s.tx_packets : s.rx_packets;
		s1 += s.tx_packets;
	}
	atomic_store(&stop, true);
	for (i = 0; i < nth; i++)
		pthread_join(r[i].th, NULL);
	if (netvsc_state(nd)) {
		fprintf(stderr, "netvsc bench: %s\n", netvsc_strerror(nd));
		exit(1);
	}
	netvsc_detach(nd);
	out.fps = (double)(c1 - c0) / (t1 - t0);
	out.guest_ns = c1 > c0 ? (double)(g1 - g0) / (double)(c1 - c0) : 0;
	out.host_ns = c1 > c0 ? (double)(h1 - h0) / (double)(c1 - c0) : 0;
	out.guest_busy = (double)(g1 - g0) * 1e-9 / (t1 - t0);
	out.host_busy = (double)(h1 - h0) * 1e-9 / (t1 - t0);
	/* (frames in flight at the window's edges make it a little off) */
	out.lost = kind == ECHO && s1 > s0 && s1 - s0 > c1 - c0 ?
			   1.0 - (double)(c1 - c0) / (double)(s1 - s0) :
			   0;
	return out;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: netvsc [--seconds S] [--rounds N] [--cpus A,B] [--only tx|rx|echo]\n"
		   "  What a frame costs through libnetvsc and vmbus-hostsim (tx, rx, echo; 64,\n"
		   "  512, 1500 bytes; 1 and 2 queues, and echo on 2 queues from one guest\n"
		   "  thread): frames per second, the guest's and the host's CPU time per\n"
		   "  frame, and which side limited; the guest's figure next to the raw\n"
		   "  libvmbus ring's per-packet cost (one by one) in the same run.\n"
		   "  --seconds S   time per measurement (default 0.3)\n"
		   "  --rounds N    measurements per row, best reported (default 3, max 15)\n"
		   "  --cpus A,B    CPUs for the guest and the host (default 0,1; -1,-1: no pinning)\n"
		   "  --only KIND   only the rows of tx, rx or echo (and the ring's)\n");
}

/* The n values of field @f of samples @v. */
static void pick(const struct sample *v, int n, size_t f, double *out)
{
	int k;

	for (k = 0; k < n; k++)
		memcpy(&out[k], (const uint8_t *)&v[k] + f, sizeof(double));
}

/* Best (lowest) and median of a cost. */
static void cost_stats(const double *v, int n, double *best, double *median)
{
	double neg[BENCH_MAX_ROUNDS];
	int k;

	for (k = 0; k < n; k++)
		neg[k] = -v[k];
	bench_stats(neg, n, best, median);
	*best = -*best;
	*median = -*median;
}

/* The rows measured at each size. */
static const struct row {
	enum kind kind;
	unsigned int nq;
	bool one_thread; /* one guest thread for every queue, not one each */
	const char *what;
} rows[] = {
	{ TX, 1, false, "netvsc tx, 1 queue" },
	{ TX, 2, false, "netvsc tx, 2 queues" },
	{ RX, 1, false, "netvsc rx, 1 queue" },
	{ RX, 2, false, "netvsc rx, 2 queues" },
	{ ECHO, 1, false, "netvsc echo, 1 queue" },
	{ ECHO, 2, false, "netvsc echo, 2 queues" },
	{ ECHO, 2, true, "echo, 2 queues, 1 thread" },
};
#define NROW (sizeof(rows) / sizeof(rows[0]))

/* Whether row @j is measured: --only picks one kind. */
static bool row_wanted(size_t j)
{
	return !opt.only || !strcmp(opt.only, kinds[rows[j].kind]);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 512, 1500 };
	enum { NS = 3 };
	static struct sample smp[NS][NROW][BENCH_MAX_ROUNDS];
	static double ring_pps[NS][BENCH_MAX_ROUNDS], ring_ns[NS][BENCH_MAX_ROUNDS];
	struct hostsim sink = { 0 }, echo = { 0 }, gen[NS];
	char self[PATH_MAX];
	ssize_t n;
	int ret, k, i;
	size_t j;

	ret = bench_args(argc, argv, "netvsc bench", usage, &opt);
	if (ret >= 0)
		return ret;
	if (getenv("VMBUS_HOSTSIM")) {
		snprintf(hostsim_path, sizeof(hostsim_path), "%s", getenv("VMBUS_HOSTSIM"));
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return 1;
		self[n] = '\0';
		snprintf(hostsim_path, sizeof(hostsim_path), "%s/../bin/vmbus-hostsim",
			 dirname(self));
	}
	if (access(hostsim_path, X_OK)) {
		fprintf(stderr, "netvsc bench: no vmbus-hostsim at %s (set VMBUS_HOSTSIM)\n",
			hostsim_path);
		return 1;
	}
	memset(gen, 0, sizeof(gen));
	if (hostsim_start(&sink, "sink", 64) || hostsim_start(&echo, "echo", 64)) {
		fprintf(stderr, "netvsc bench: cannot start vmbus-hostsim\n");
		return 1;
	}
	for (i = 0; i < NS; i++)
		if (hostsim_start(&gen[i], "gen", sizes[i])) {
			fprintf(stderr, "netvsc bench: cannot start vmbus-hostsim\n");
			return 1;
		}

	printf("netvsc benchmark: libnetvsc through vmbus-hostsim, release build; the host (one\n"
	       "process) on CPU %d, the guest's queue threads on CPU %d; the raw ring's producer\n"
	       "on CPU %d, its consumer on CPU %d.  Every row: best of %d rounds of %.2f s, the\n"
	       "rows of a size interleaved (median in brackets).  CPU time per frame from the\n"
	       "guest's thread clocks and the host's process clock; \"x ring\": the guest's\n"
	       "time over the ring's one-by-one cost per packet of the same size measured\n"
	       "just before it in the same round, the median over the rounds (the cost of\n"
	       "moving lines between the CPUs drifts; pairing by round keeps it out); limit:\n"
	       "the side busier over the window (busy share guest/host)\n",
	       opt.cpu_b, opt.cpu_a, opt.cpu_a, opt.cpu_b, opt.rounds, opt.seconds);
	for (k = 0; k < opt.rounds; k++) {
		for (i = 0; i < NS; i++) {
			ring_pps[i][k] =
				bench_ring_pps(&opt, "netvsc bench", sizes[i], 1, &ring_ns[i][k]);
			for (j = 0; j < NROW; j++) {
				enum kind kd = rows[j].kind;
				struct hostsim *h = kd == TX ? &sink : kd == RX ? &gen[i] : &echo;

				if (!row_wanted(j))
					continue;
				smp[i][j][k] =
					run_netvsc(h, kd, sizes[i], rows[j].nq, rows[j].one_thread);
			}
		}
	}
	printf("%-5s %-24s %9s %9s %8s %8s %7s %8s %8s %-6s %-9s %s\n", "frame", "what",
	       "frames/s", "(median)", "guest ns", "(median)", "x ring", "host ns", "(median)",
	       "limit", "busy g/h", "lost");
	for (i = 0; i < NS; i++) {
		double fb, fm, rb, rm;

		bench_stats(ring_pps[i], opt.rounds, &fb, &fm);
		cost_stats(ring_ns[i], opt.rounds, &rb, &rm);
		printf("%-5u %-24s %9.0f %9.0f %8.1f %8.1f %6.2fx\n", sizes[i],
		       "ring, one by one", fb, fm, rb, rm, 1.0);
		for (j = 0; j < NROW; j++) {
			double v[BENCH_MAX_ROUNDS], gb, gm, hb, hm, gbusy, hbusy, dummy, xr, lost;
			char busy[16], lo[16] = "-";

			if (!row_wanted(j))
				continue;

			pick(smp[i][j], opt.rounds, offsetof(struct sample, fps), v);
			bench_stats(v, opt.rounds, &fb, &fm);
			pick(smp[i][j], opt.rounds, offsetof(struct sample, guest_ns), v);
			cost_stats(v, opt.rounds, &gb, &gm);
			for (k = 0; k < opt.rounds; k++)
				v[k] = ring_ns[i][k] > 0 ? v[k] / ring_ns[i][k] : 0;
			cost_stats(v, opt.rounds, &dummy, &xr);
			pick(smp[i][j], opt.rounds, offsetof(struct sample, host_ns), v);
			cost_stats(v, opt.rounds, &hb, &hm);
			pick(smp[i][j], opt.rounds, offsetof(struct sample, guest_busy), v);
			bench_stats(v, opt.rounds, &dummy, &gbusy);
			pick(smp[i][j], opt.rounds, offsetof(struct sample, host_busy), v);
			bench_stats(v, opt.rounds, &dummy, &hbusy);
			pick(smp[i][j], opt.rounds, offsetof(struct sample, lost), v);
			cost_stats(v, opt.rounds, &dummy, &lost);
			snprintf(busy, sizeof(busy), "%.0f%%/%.0f%%", gbusy * 100, hbusy * 100);
			if (rows[j].kind == ECHO)
				snprintf(lo, sizeof(lo), "%.1f%%", lost * 100);
			printf("%-5u %-24s %9.0f %9.0f %8.1f %8.1f %6.2fx %8.1f %8.1f %-6s %-9s %s\n",
			       sizes[i], rows[j].what, fb, fm, gb, gm, xr, hb, hm,
			       hbusy > gbusy ? "host" : "guest", busy, lo);
		}
	}
	printf("tx: frames the host completed; rx: host-generated frames received (not IP: all\n"
	       "on queue 0); echo: frames received back while sending, RSS over 256 flows;\n"
	       "2 queues: a guest thread each, or one thread serving both (\"1 thread\");\n"
	       "echo keeps at most 4096 frames out (sent, not yet back); lost (echo, median):\n"
	       "frames sent that did not come back, dropped by the host when their queue's\n"
	       "receive slots ran out (as netvsp drops), paid for in the times per frame.\n"
	       "Targets at 64 and 1500 bytes: guest CPU per frame at most 1.5x the ring's (tx),\n"
	       "2x (rx), 3x (echo)\n");
	ret = hostsim_stop(&sink) | hostsim_stop(&echo);
	for (i = 0; i < NS; i++)
		ret |= hostsim_stop(&gen[i]);
	return ret ? 1 : 0;
}
