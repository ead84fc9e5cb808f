/* SPDX-License-Identifier: MIT */
/*
 * Ring benchmark: a producer and a consumer thread over one 2 MiB VMBus
 * ring, packets of 64, 256, 1500 and 4096 bytes, one at a time and
 * batched.  Measured in the same run, as baselines:
 *   memcpy  one thread copying the same payloads into a 2 MiB buffer
 *   naive   a plain SPSC ring that loads the other side's index and
 *           publishes its own on every packet
 * Prints one table.  Not a test: nothing here asserts on time.
 *
 *   bench/ring [--seconds S] [--rounds N] [--cpus A,B]
 */
#include <errno.h>
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

#define HDR 4096u
#define RING_BYTES (2u * 1024u * 1024u) /* one direction, header included */
#define BATCH 64u

#define MAX_ROUNDS 15

static double seconds = 0.2;
static int rounds = 5;
static int cpu_a = 0, cpu_b = 1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set); /* best effort */
}

struct run {
	uint8_t *mem;
	uint32_t payload;
	bool batched;
	atomic_bool stop;
	atomic_bool go;
	atomic_bool done; /* the producer published its last packet */
	uint64_t sent; /* written by the producer */
	uint64_t received; /* written by the consumer */
	bool corrupt;
};

static void *producer(void *arg)
{
	struct run *r = arg;
	struct vmbus_ring *ring;
	uint8_t payload[4096];
	struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2 };
	struct iovec iov[2] = { { &d, sizeof(d) }, { payload, 0 } };
	uint64_t seq = 0;

	pin(cpu_a);
	memset(payload, 0xa5, sizeof(payload));
	iov[1].iov_len = r->payload;
	d.len8 = (uint16_t)((sizeof(d) + r->payload + 7) / 8);
	if (vmbus_ring_attach(r->mem, RING_BYTES, HDR, &ring))
		abort();
	while (!atomic_load(&r->go))
		;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		unsigned int n = 0, max = r->batched ? BATCH : 1;

		while (n < max) {
			d.trans_id = seq;
			if (vmbus_ring_write(ring, iov, 2))
				break;
			seq++;
			n++;
		}
		if (n)
			vmbus_ring_write_commit(ring); /* the signal decision is part of the cost */
	}
	vmbus_ring_write_commit(ring);
	r->sent = seq;
	atomic_store(&r->done, true);
	vmbus_ring_detach(ring);
	return NULL;
}

static void *consumer(void *arg)
{
	struct run *r = arg;
	struct vmbus_ring *ring;
	uint8_t buf[4200];
	uint64_t seq = 0;
	unsigned int since_commit = 0;

	pin(cpu_b);
	if (vmbus_ring_attach(r->mem, RING_BYTES, HDR, &ring))
		abort();
	while (!atomic_load(&r->go))
		;
	for (;;) {
		struct vmbus_pkt_desc d;
		int n = vmbus_ring_peek(ring, buf, sizeof(buf), NULL);

		if (n < 0) {
			vmbus_ring_read_commit(ring);
			since_commit = 0;
			if (atomic_load(&r->done) && vmbus_ring_readable(ring) == 0)
				break;
			continue;
		}
		memcpy(&d, buf, sizeof(d));
		if (d.trans_id != seq)
			r->corrupt = true;
		vmbus_ring_consume(ring);
		seq++;
		if (!r->batched || ++since_commit == BATCH) {
			vmbus_ring_read_commit(ring);
			since_commit = 0;
		}
	}
	r->received = seq;
	vmbus_ring_detach(ring);
	return NULL;
}

struct result {
	double pps;
	double bps; /* payload bytes per second */
};

static struct result run_ring(uint32_t payload, bool batched)
{
	struct run r = { .payload = payload, .batched = batched };
	pthread_t p, c;
	double t0, t1;
	struct result res;

	r.mem = aligned_alloc(4096, RING_BYTES);
	if (!r.mem)
		abort();
	memset(r.mem, 0, RING_BYTES);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)r.mem);
	pthread_create(&c, NULL, consumer, &r);
	pthread_create(&p, NULL, producer, &r);
	t0 = now();
	atomic_store(&r.go, true);
	while ((t1 = now()) - t0 < seconds)
		sched_yield();
	atomic_store(&r.stop, true);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t1 = now();
	if (r.corrupt || r.sent != r.received) {
		fprintf(stderr, "ring: %u-byte packets arrived out of order or were lost\n",
			payload);
		exit(1);
	}
	res.pps = (double)r.received / (t1 - t0);
	res.bps = res.pps * payload;
	free(r.mem);
	return res;
}

/* --- baseline: a naive single-producer single-consumer ring --------------- */

struct naive {
	_Alignas(64) atomic_uint head; /* producer */
	_Alignas(64) atomic_uint tail; /* consumer */
	_Alignas(64) uint8_t data[RING_BYTES - HDR];
	uint32_t size;
	uint32_t payload;
	atomic_bool stop;
	atomic_bool go;
	atomic_bool done;
	uint64_t sent, received;
};

static void naive_copy_in(struct naive *n, uint32_t pos, const void *src, uint32_t len)
{
	uint32_t first = n->size - pos;

	if (len <= first) {
		memcpy(n->data + pos, src, len);
	} else {
		memcpy(n->data + pos, src, first);
		memcpy(n->data, (const uint8_t *)src + first, len - first);
	}
}

static void naive_copy_out(struct naive *n, uint32_t pos, void *dst, uint32_t len)
{
	uint32_t first = n->size - pos;

	if (len <= first) {
		memcpy(dst, n->data + pos, len);
	} else {
		memcpy(dst, n->data + pos, first);
		memcpy((uint8_t *)dst + first, n->data, len - first);
	}
}

static void *naive_producer(void *arg)
{
	struct naive *n = arg;
	uint8_t payload[4096 + 8];
	uint32_t rec = (n->payload + 8 + 7) & ~7u;
	uint64_t seq = 0;

	pin(cpu_a);
	memset(payload, 0xa5, sizeof(payload));
	while (!atomic_load(&n->go))
		;
	while (!atomic_load_explicit(&n->stop, memory_order_relaxed)) {
		/* every packet: read the consumer's index, write, publish */
		uint32_t head = atomic_load_explicit(&n->head, memory_order_relaxed);
		uint32_t tail = atomic_load_explicit(&n->tail, memory_order_acquire);
		uint32_t used = head >= tail ? head - tail : n->size - (tail - head);

		if (n->size - used <= rec)
			continue;
		memcpy(payload, &seq, 8);
		naive_copy_in(n, head, payload, rec);
		head += rec;
		if (head >= n->size)
			head -= n->size;
		atomic_store_explicit(&n->head, head, memory_order_release);
		seq++;
	}
	n->sent = seq;
	atomic_store(&n->done, true);
	return NULL;
}

static void *naive_consumer(void *arg)
{
	struct naive *n = arg;
	uint8_t buf[4096 + 8];
	uint32_t rec = (n->payload + 8 + 7) & ~7u;
	uint64_t seq = 0;

	pin(cpu_b);
	while (!atomic_load(&n->go))
		;
	for (;;) {
		uint32_t tail = atomic_load_explicit(&n->tail, memory_order_relaxed);
		uint32_t head = atomic_load_explicit(&n->head, memory_order_acquire);
		uint64_t got;

		if (head == tail) {
			if (atomic_load(&n->done) && atomic_load(&n->head) == tail)
				break;
			continue;
		}
		naive_copy_out(n, tail, buf, rec);
		memcpy(&got, buf, 8);
		if (got != seq)
			abort();
		tail += rec;
		if (tail >= n->size)
			tail -= n->size;
		atomic_store_explicit(&n->tail, tail, memory_order_release);
		seq++;
	}
	n->received = seq;
	return NULL;
}

static struct result run_naive(uint32_t payload)
{
	struct naive *n = aligned_alloc(64, sizeof(*n));
	pthread_t p, c;
	double t0, t1;
	struct result res;

	if (!n)
		abort();
	memset(n, 0, sizeof(*n));
	n->size = RING_BYTES - HDR;
	n->payload = payload;
	pthread_create(&c, NULL, naive_consumer, n);
	pthread_create(&p, NULL, naive_producer, n);
	t0 = now();
	atomic_store(&n->go, true);
	while (now() - t0 < seconds)
		sched_yield();
	atomic_store(&n->stop, true);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t1 = now();
	res.pps = (double)n->received / (t1 - t0);
	res.bps = res.pps * payload;
	free(n);
	return res;
}

/* --- baseline: memcpy of the same payloads --------------------------------- */

static struct result run_memcpy(uint32_t payload)
{
	uint8_t *dst = aligned_alloc(4096, RING_BYTES), src[4096];
	volatile uint8_t sink;
	uint64_t count = 0;
	uint32_t pos = 0, step = (payload + 24 + 7) & ~7u; /* same spacing as ring records */
	double t0, t1;
	struct result res;

	if (!dst)
		abort();
	memset(src, 0x5a, sizeof(src));
	memset(dst, 0, RING_BYTES);
	pin(cpu_a);
	t0 = now();
	do {
		unsigned int i;

		for (i = 0; i < 1024; i++) {
			if (pos + payload > RING_BYTES)
				pos = 0;
			memcpy(dst + pos, src, payload);
			pos += step;
		}
		count += 1024;
		t1 = now();
	} while (t1 - t0 < seconds);
	sink = dst[pos % RING_BYTES];
	(void)sink;
	res.pps = (double)count / (t1 - t0);
	res.bps = res.pps * payload;
	free(dst);
	return res;
}

static double max_of(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
	double tmp[MAX_ROUNDS];

	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ring [--seconds S] [--rounds N] [--cpus A,B]\n"
		   "  Producer and consumer threads over one 2 MiB VMBus ring, with a\n"
		   "  memcpy and a naive SPSC ring measured in the same run as baselines.\n"
		   "  --seconds S   time per measurement (default 0.2)\n"
		   "  --rounds N    measurements per row, best reported (default 5, max 15)\n"
		   "  --cpus A,B    CPUs for producer and consumer (default 0,1; -1,-1: no pinning)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint32_t sizes[] = { 64, 256, 1500, 4096 };
	int o;
	size_t i;

	while ((o = getopt_long(argc, argv, "s:r:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > MAX_ROUNDS) {
				fprintf(stderr, "ring: --rounds must be 1 to %d\n", MAX_ROUNDS);
				return 2;
			}
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			if (seconds <= 0 || seconds > 60) {
				fprintf(stderr, "ring: --seconds must be in (0, 60]\n");
				return 2;
			}
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2) {
				fprintf(stderr, "ring: --cpus takes A,B\n");
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

	printf("ring benchmark: producer and consumer threads on CPUs %d and %d, one 2 MiB ring\n"
	       "every row: best of %d rounds of %.2f s, the four rows of a size interleaved "
	       "(median in brackets)\n",
	       cpu_a, cpu_b, rounds, seconds);
	printf("%-8s %-22s %14s %14s %10s %11s\n", "payload", "mode", "packets/s", "(median)",
	       "MB/s", "vs memcpy");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		static const char *const names[4] = { "libvmbus, one by one", "libvmbus, batched",
						      "baseline: naive ring", "baseline: memcpy" };
		double pps[4][MAX_ROUNDS];
		struct result best[4];
		int k, j;

		for (k = 0; k < rounds; k++) {
			pps[0][k] = run_ring(sizes[i], false).pps;
			pps[1][k] = run_ring(sizes[i], true).pps;
			pps[2][k] = run_naive(sizes[i]).pps;
			pps[3][k] = run_memcpy(sizes[i]).pps;
		}
		for (j = 0; j < 4; j++) {
			best[j].pps = max_of(pps[j], rounds);
			best[j].bps = best[j].pps * sizes[i];
		}
		for (j = 0; j < 4; j++)
			printf("%-8u %-22s %14.0f %14.0f %10.0f %10.2fx\n", sizes[i], names[j],
			       best[j].pps, median_of(pps[j], rounds), best[j].bps / 1e6,
			       best[j].bps / best[3].bps);
	}
	return 0;
}
