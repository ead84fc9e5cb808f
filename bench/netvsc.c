/* SPDX-License-Identifier: MIT */
/*
 * netvsc benchmark: frames per second through libnetvsc and vmbus-hostsim
 * for 64, 512 and 1500-byte frames with 1 and 2 queues:
 *   tx    the guest sends, the host takes them (sink wire) and completes
 *   rx    the host generates frames (gen wire), the guest receives them;
 *         they are not IP, so RSS puts them all on queue 0
 *   echo  the guest sends IPv4/UDP over 256 flows, the host sends them back
 *         (echo wire) and RSS spreads them: frames received per second
 * Measured in the same run, as the baseline: the raw libvmbus ring, a
 * producer and a consumer thread over one 2 MiB ring, one packet per frame
 * of the same size, batched by 64 as netvsc batches.
 *
 * Every row is the best (and median) of several short rounds, the rows of a
 * round interleaved, because this machine's run-to-run noise is large.
 * Prints one table; asserts nothing about time.
 *
 *   bench/netvsc [--seconds S] [--rounds N]
 * vmbus-hostsim comes from $VMBUS_HOSTSIM, else ../bin/vmbus-hostsim next
 * to this program.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netvsc/netvsc.h>
#include <vmbus/vmbus.h>

#define MAX_ROUNDS 15
#define BURST 64u
#define RING_BYTES (2u * 1024u * 1024u)
#define HDR 4096u

static double seconds = 0.3;
static int rounds = 3;

/* Best effort: the host on one CPU, the guest on the other, as in a VM. */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

	snprintf(h->root, sizeof(h->root), "/tmp/netvsc-bench-XXXXXX");
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
		pin(1);
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

static void hostsim_stop(struct hostsim *h)
{
	char cmd[128];

	if (h->pid <= 0)
		return;
	kill(h->pid, SIGTERM);
	waitpid(h->pid, NULL, 0);
	h->pid = 0;
	/* the simulator removes its tree; the directory above is ours */
	h->root[strlen(h->root) - 5] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->root);
	if (system(cmd))
		fprintf(stderr, "netvsc bench: could not remove %s\n", h->root);
}

/* ------------------------------------------------------------------------ */
/* netvsc measurements                                                       */
/* ------------------------------------------------------------------------ */

enum kind { TX, RX, ECHO };

struct qrun {
	struct netvsc_dev *nd;
	unsigned int q;
	enum kind kind;
	uint32_t size;
	atomic_bool *stop;
	pthread_t th;
};

static void on_rx(void *arg, const struct netvsc_rx_frame *f)
{
	(void)arg;
	(void)f;
}

static void make_frame(uint8_t *f, uint32_t len, const uint8_t *mac, uint32_t flow)
{
	static const uint8_t peer[6] = { 0x02, 0, 0x5e, 0, 0, 1 };

	memset(f, 0, len);
	memcpy(f, peer, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;
	f[26] = 10;
	f[29] = (uint8_t)flow;
	f[30] = 10;
	f[33] = 1;
	f[34] = (uint8_t)(flow >> 8);
	f[35] = (uint8_t)flow;
	f[37] = 9;
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
}

static void *queue_thread(void *arg)
{
	struct qrun *r = arg;
	struct netvsc_txbuf bufs[BURST];
	struct netvsc_info in;
	static __thread uint8_t frames[BURST][1514];
	unsigned int i;

	pin(0);
	netvsc_info(r->nd, &in);
	for (i = 0; i < BURST; i++) {
		make_frame(frames[i], r->size, in.mac, r->q * BURST + i);
		bufs[i] = (struct netvsc_txbuf){ .data = frames[i], .len = r->size };
	}
	while (!atomic_load_explicit(r->stop, memory_order_relaxed)) {
		int sent = 0, got;

		if (r->kind != RX) {
			sent = netvsc_send_burst(r->nd, r->q, bufs, BURST);
			if (sent < 0)
				break;
		}
		/* completions free sections; in rx and echo this is the receive */
		got = netvsc_poll(r->nd, r->q, 0);
		if (got < 0)
			break;
		if (got == 0 && (r->kind == RX || sent < (int)BURST))
			netvsc_wait(r->nd, r->q, -1, 1);
	}
	return NULL;
}

/* One measurement: frames per second (tx: completed, rx/echo: received). */
static double run_netvsc(struct hostsim *h, enum kind kind, uint32_t size, unsigned int nq)
{
	struct netvsc_ops ops = { .rx = on_rx };
	struct netvsc_opts o = { .sz = sizeof(o), .root = h->root, .queues = nq, .ops = &ops,
				 .timeout_ms = 10000 };
	struct qrun r[2];
	struct netvsc_dev *nd;
	atomic_bool stop = false;
	char err[512];
	uint64_t c0 = 0, c1 = 0;
	double t0, t1;
	unsigned int i;

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	if (netvsc_attach(h->guid, &o, &nd)) {
		fprintf(stderr, "netvsc bench: %s\n", err);
		exit(1);
	}
	if (netvsc_queues(nd) != nq) {
		fprintf(stderr, "netvsc bench: %u queues asked, %u granted\n", nq, netvsc_queues(nd));
		exit(1);
	}
	for (i = 0; i < nq; i++) {
		r[i] = (struct qrun){ .nd = nd, .q = i, .kind = kind, .size = size, .stop = &stop };
		pthread_create(&r[i].th, NULL, queue_thread, &r[i]);
	}
	/* warm up, then count over the window */
	usleep(50000); /* a warm-up period, not a synchronisation */
	for (i = 0; i < nq; i++) {
		struct netvsc_queue_stats s;

		netvsc_stats(nd, i, &s);
		c0 += kind == TX ? s.tx_packets : s.rx_packets;
	}
	t0 = now();
	while ((t1 = now()) - t0 < seconds)
		usleep(10000);
	for (i = 0; i < nq; i++) {
		struct netvsc_queue_stats s;

		netvsc_stats(nd, i, &s);
		c1 += kind == TX ? s.tx_packets : s.rx_packets;
	}
	atomic_store(&stop, true);
	for (i = 0; i < nq; i++)
		pthread_join(r[i].th, NULL);
	if (netvsc_state(nd)) {
		fprintf(stderr, "netvsc bench: %s\n", netvsc_strerror(nd));
		exit(1);
	}
	netvsc_detach(nd);
	return (double)(c1 - c0) / (t1 - t0);
}

/* ------------------------------------------------------------------------ */
/* baseline: the raw ring                                                    */
/* ------------------------------------------------------------------------ */

struct ring_run {
	uint8_t *mem;
	uint32_t payload;
	atomic_bool stop, go, done;
	uint64_t sent, received;
};

static void *ring_producer(void *arg)
{
	struct ring_run *r = arg;
	struct vmbus_ring *ring;
	uint8_t payload[1514];
	struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2 };
	struct iovec iov[2] = { { &d, sizeof(d) }, { payload, 0 } };
	uint64_t seq = 0;

	pin(0);
	memset(payload, 0xa5, sizeof(payload));
	iov[1].iov_len = r->payload;
	d.len8 = (uint16_t)((sizeof(d) + r->payload + 7) / 8);
	if (vmbus_ring_attach(r->mem, RING_BYTES, HDR, &ring))
		abort();
	while (!atomic_load(&r->go))
		;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		unsigned int n = 0;

		while (n < BURST) {
			d.trans_id = seq;
			if (vmbus_ring_write(ring, iov, 2))
				break;
			seq++;
			n++;
		}
		if (n)
			vmbus_ring_write_commit(ring);
	}
	vmbus_ring_write_commit(ring);
	r->sent = seq;
	atomic_store(&r->done, true);
	vmbus_ring_detach(ring);
	return NULL;
}

static void *ring_consumer(void *arg)
{
	struct ring_run *r = arg;
	struct vmbus_ring *ring;
	uint8_t buf[1600];
	uint64_t seq = 0;
	unsigned int since = 0;

	pin(1);
	if (vmbus_ring_attach(r->mem, RING_BYTES, HDR, &ring))
		abort();
	while (!atomic_load(&r->go))
		;
	for (;;) {
		int n = vmbus_ring_peek(ring, buf, sizeof(buf), NULL);

		if (n < 0) {
			vmbus_ring_read_commit(ring);
			since = 0;
			if (atomic_load(&r->done) && vmbus_ring_readable(ring) == 0)
				break;
			continue;
		}
		vmbus_ring_consume(ring);
		seq++;
		if (++since == BURST) {
			vmbus_ring_read_commit(ring);
			since = 0;
		}
	}
	r->received = seq;
	vmbus_ring_detach(ring);
	return NULL;
}

static double run_ring(uint32_t payload)
{
	struct ring_run r = { .payload = payload };
	pthread_t p, c;
	double t0, t1;

	r.mem = aligned_alloc(4096, RING_BYTES);
	if (!r.mem)
		abort();
	memset(r.mem, 0, RING_BYTES);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)r.mem);
	pthread_create(&c, NULL, ring_consumer, &r);
	pthread_create(&p, NULL, ring_producer, &r);
	t0 = now();
	atomic_store(&r.go, true);
	while ((t1 = now()) - t0 < seconds)
		usleep(10000);
	atomic_store(&r.stop, true);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t1 = now();
	free(r.mem);
	if (r.sent != r.received) {
		fprintf(stderr, "netvsc bench: the raw ring lost packets\n");
		exit(1);
	}
	return (double)r.received / (t1 - t0);
}

/* ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void best_median(const double *v, int n, double *best, double *median)
{
	double tmp[MAX_ROUNDS];

	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), cmp_double);
	*best = tmp[n - 1];
	*median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: netvsc [--seconds S] [--rounds N]\n"
		   "  Frames per second through libnetvsc and vmbus-hostsim (tx, rx, echo; 64,\n"
		   "  512, 1500 bytes; 1 and 2 queues), next to the raw libvmbus ring rate.\n"
		   "  --seconds S   time per measurement (default 0.3)\n"
		   "  --rounds N    measurements per row, best reported (default 3, max 15)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint32_t sizes[] = { 64, 512, 1500 };
	static const char *const kinds[] = { "tx", "rx", "echo" };
	enum { NS = 3, NROW = 7 }; /* raw, then tx/rx/echo x 1 and 2 queues */
	static double pps[NS][NROW][MAX_ROUNDS];
	struct hostsim sink = { 0 }, echo = { 0 }, gen[NS];
	char self[PATH_MAX];
	ssize_t n;
	int o, k, i, j;

	while ((o = getopt_long(argc, argv, "s:r:h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			seconds = strtod(optarg, NULL);
			if (seconds <= 0 || seconds > 60) {
				fprintf(stderr, "netvsc bench: --seconds must be in (0, 60]\n");
				return 2;
			}
			break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "netvsc bench: --rounds must be 1 to %d\n", MAX_ROUNDS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
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
	       "thread) on CPU 1, the guest's queue threads on CPU 0; the raw ring's producer on\n"
	       "CPU 0, its consumer on CPU 1.  Every row: best of %d rounds of %.2f s, the rows of\n"
	       "a size interleaved (median in brackets)\n",
	       rounds, seconds);
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < NS; i++) {
			pps[i][0][k] = run_ring(sizes[i]);
			for (j = 0; j < 6; j++) {
				enum kind kd = (enum kind)(j / 2);
				struct hostsim *h = kd == TX ? &sink : kd == RX ? &gen[i] : &echo;

				pps[i][1 + j][k] = run_netvsc(h, kd, sizes[i], 1 + (unsigned int)(j % 2));
			}
		}
	}
	printf("%-6s %-34s %12s %12s %9s\n", "frame", "what", "frames/s", "(median)", "vs raw");
	for (i = 0; i < NS; i++) {
		double raw, med;

		best_median(pps[i][0], rounds, &raw, &med);
		printf("%-6u %-34s %12.0f %12.0f %8.2fx\n", sizes[i],
		       "baseline: raw libvmbus ring", raw, med, 1.0);
		for (j = 0; j < 6; j++) {
			char what[64];
			double b, m;

			best_median(pps[i][1 + j], rounds, &b, &m);
			snprintf(what, sizeof(what), "netvsc %s, %d queue%s", kinds[j / 2], 1 + j % 2,
				 j % 2 ? "s" : "");
			printf("%-6u %-34s %12.0f %12.0f %8.2fx\n", sizes[i], what, b, m, b / raw);
		}
	}
	printf("tx: frames the host completed; rx: host-generated frames received (not IP: all\n"
	       "on queue 0); echo: frames received back while sending, RSS over 256 flows\n");
	hostsim_stop(&sink);
	hostsim_stop(&echo);
	for (i = 0; i < NS; i++)
		hostsim_stop(&gen[i]);
	return 0;
}
