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
#include "bench.h"

#define BATCH 64u
#define RING_BYTES BENCH_RING_BYTES
#define HDR BENCH_RING_HDR

static struct bench_opts opt = { .seconds = 0.2, .rounds = 5, .cpu_a = 0, .cpu_b = 1 };

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

	bench_pin(opt.cpu_a);
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

	bench_pin(opt.cpu_b);
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

static double run_naive(uint32_t payload)
{
	struct naive *n = aligned_alloc(64, sizeof(*n));
	pthread_t p, c;
	double t0, t1;
	double pps;

	if (!n)
		abort();
	memset(n, 0, sizeof(*n));
	n->size = RING_BYTES - HDR;
	n->payload = payload;
	pthread_create(&c, NULL, naive_consumer, n);
	pthread_create(&p, NULL, naive_producer, n);
	t0 = bench_now();
	atomic_store(&n->go, true);
	bench_wait(opt.seconds);
	atomic_store(&n->stop, true);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t1 = bench_now();
	pps = (double)n->received / (t1 - t0);
	free(n);
	return pps;
}

/* --- baseline: memcpy of the same payloads --------------------------------- */

static double run_memcpy(uint32_t payload)
{
	uint8_t *dst = aligned_alloc(4096, RING_BYTES), src[4096];
	volatile uint8_t sink;
	uint64_t count = 0;
	uint32_t pos = 0, step = (payload + 24 + 7) & ~7u; /* same spacing as ring records */
	double t0, t1;
	double pps;

	if (!dst)
		abort();
	memset(src, 0x5a, sizeof(src));
	memset(dst, 0, RING_BYTES);
	bench_pin(opt.cpu_a);
	t0 = bench_now();
	do {
		unsigned int i;

		for (i = 0; i < 1024; i++) {
			if (pos + payload > RING_BYTES)
				pos = 0;
			memcpy(dst + pos, src, payload);
			pos += step;
		}
		count += 1024;
		t1 = bench_now();
	} while (t1 - t0 < opt.seconds);
	sink = dst[pos % RING_BYTES];
	(void)sink;
	pps = (double)count / (t1 - t0);
	free(dst);
	return pps;
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
	static const uint32_t sizes[] = { 64, 256, 1500, 4096 };
	static const char *const names[4] = { "libvmbus, one by one", "libvmbus, batched",
					      "baseline: naive ring", "baseline: memcpy" };
	size_t i;
	int ret = bench_args(argc, argv, "ring", usage, &opt);

	if (ret >= 0)
		return ret;
	printf("ring benchmark: producer and consumer threads on CPUs %d and %d, one 2 MiB ring\n"
	       "every row: best of %d rounds of %.2f s, the four rows of a size interleaved "
	       "(median in brackets)\n",
	       opt.cpu_a, opt.cpu_b, opt.rounds, opt.seconds);
	printf("%-8s %-22s %14s %14s %10s %11s\n", "payload", "mode", "packets/s", "(median)",
	       "MB/s", "vs memcpy");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double pps[4][BENCH_MAX_ROUNDS], best[4], median[4];
		int k, j;

		for (k = 0; k < opt.rounds; k++) {
			pps[0][k] = bench_ring_pps(&opt, "ring", sizes[i], 1, NULL);
			pps[1][k] = bench_ring_pps(&opt, "ring", sizes[i], BATCH, NULL);
			pps[2][k] = run_naive(sizes[i]);
			pps[3][k] = run_memcpy(sizes[i]);
		}
		for (j = 0; j < 4; j++)
			bench_stats(pps[j], opt.rounds, &best[j], &median[j]);
		for (j = 0; j < 4; j++)
			printf("%-8u %-22s %14.0f %14.0f %10.0f %10.2fx\n", sizes[i], names[j],
			       best[j], median[j], best[j] * sizes[i] / 1e6, best[j] / best[3]);
	}
	return 0;
}
