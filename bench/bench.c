/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share (bench.h), compiled once and linked by each.
 */
#include "bench.h"

void bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

void bench_wait(double seconds)
{
	struct timespec ts = { .tv_sec = (time_t)seconds,
			       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts))
		;
}

int bench_args(int argc, char **argv, const char *prog, void (*usage)(FILE *),
	       struct bench_opts *o)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "only", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "s:r:c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds > 0 && o->seconds <= 60)) {
				fprintf(stderr, "%s: --seconds must be in (0, 60], not \"%s\"\n", prog,
					optarg);
				return 2;
			}
			break;
		case 'r':
			o->rounds = (int)strtol(optarg, &end, 10);
			if (*end || o->rounds < 1 || o->rounds > BENCH_MAX_ROUNDS) {
				fprintf(stderr, "%s: --rounds must be 1 to %d, not \"%s\"\n", prog,
					BENCH_MAX_ROUNDS, optarg);
				return 2;
			}
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d%c", &o->cpu_a, &o->cpu_b, (char[1]){ 0 }) != 2 ||
			    o->cpu_a < -1 || o->cpu_b < -1 || o->cpu_a >= CPU_SETSIZE ||
			    o->cpu_b >= CPU_SETSIZE) {
				fprintf(stderr, "%s: --cpus takes A,B (CPU numbers, -1 for none), "
						"not \"%s\"\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'o': {
			const char *const *w = o->only_words;

			if (!w) {
				fprintf(stderr, "%s: --only is not an option of this benchmark\n", prog);
				return 2;
			}
			for (; *w && strcmp(*w, optarg); w++)
				;
			if (!*w) {
				fprintf(stderr, "%s: --only takes one of", prog);
				for (w = o->only_words; *w; w++)
					fprintf(stderr, " %s", *w);
				fprintf(stderr, ", not \"%s\"\n", optarg);
				return 2;
			}
			o->only = *w;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* One ring measurement: what its two threads share. */
struct bench_ring_run {
	uint8_t *mem;
	uint32_t payload;
	unsigned int batch; /* packets per publish and per read commit */
	int cpu_prod, cpu_cons;
	atomic_bool stop, go;
	atomic_bool done; /* the producer published its last packet */
	uint64_t sent; /* written by the producer */
	uint64_t prod_cpu_ns; /* the producer's CPU time from go to its last packet */
	uint64_t received; /* written by the consumer */
	bool out_of_order;
};

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_stats(const double *v, int n, double *best, double *median)
{
	double tmp[BENCH_MAX_ROUNDS];

	memcpy(tmp, v, sizeof(double) * (size_t)n);
	qsort(tmp, (size_t)n, sizeof(double), bench_cmp_double);
	*best = tmp[n - 1];
	*median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void *bench_ring_producer(void *arg)
{
	struct bench_ring_run *r = arg;
	struct vmbus_ring *ring;
	uint8_t payload[BENCH_MAX_PAYLOAD];
	struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2 };
	struct iovec iov[2] = { { &d, sizeof(d) }, { payload, 0 } };
	uint64_t seq = 0, c0;

	bench_pin(r->cpu_prod);
	memset(payload, 0xa5, sizeof(payload));
	iov[1].iov_len = r->payload;
	d.len8 = (uint16_t)((sizeof(d) + r->payload + 7) / 8);
	if (vmbus_ring_attach(r->mem, BENCH_RING_BYTES, BENCH_RING_HDR, &ring))
		abort();
	while (!atomic_load(&r->go))
		;
	c0 = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		unsigned int n = 0;

		while (n < r->batch) {
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
	r->prod_cpu_ns = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	r->sent = seq;
	atomic_store(&r->done, true);
	vmbus_ring_detach(ring);
	return NULL;
}

static void *bench_ring_consumer(void *arg)
{
	struct bench_ring_run *r = arg;
	struct vmbus_ring *ring;
	uint8_t buf[BENCH_MAX_PAYLOAD + 104];
	uint64_t seq = 0;
	unsigned int since_commit = 0;

	bench_pin(r->cpu_cons);
	if (vmbus_ring_attach(r->mem, BENCH_RING_BYTES, BENCH_RING_HDR, &ring))
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
			r->out_of_order = true;
		vmbus_ring_consume(ring);
		seq++;
		if (++since_commit >= r->batch) {
			vmbus_ring_read_commit(ring);
			since_commit = 0;
		}
	}
	r->received = seq;
	vmbus_ring_detach(ring);
	return NULL;
}

double bench_ring_pps(const struct bench_opts *o, const char *prog,
		      uint32_t payload, unsigned int batch, double *ns_per_pkt)
{
	struct bench_ring_run r = { .payload = payload, .batch = batch,
				    .cpu_prod = o->cpu_a, .cpu_cons = o->cpu_b };
	pthread_t p, c;
	double t0, t1;

	r.mem = aligned_alloc(4096, BENCH_RING_BYTES);
	if (!r.mem || payload > BENCH_MAX_PAYLOAD || batch == 0)
		abort();
	memset(r.mem, 0, BENCH_RING_BYTES);
	vmbus_ring_hdr_init((struct vmbus_ring_hdr *)r.mem);
	if (pthread_create(&c, NULL, bench_ring_consumer, &r) ||
	    pthread_create(&p, NULL, bench_ring_producer, &r)) {
		fprintf(stderr, "%s: cannot start the ring threads\n", prog);
		exit(1);
	}
	t0 = bench_now();
	atomic_store(&r.go, true);
	bench_wait(o->seconds);
	atomic_store(&r.stop, true);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t1 = bench_now();
	free(r.mem);
	if (r.out_of_order || r.sent != r.received) {
		fprintf(stderr, "%s: %u-byte packets through the ring were lost or reordered\n",
			prog, payload);
		exit(1);
	}
	if (ns_per_pkt)
		*ns_per_pkt = r.received ? (double)r.prod_cpu_ns / (double)r.received : 0;
	return (double)r.received / (t1 - t0);
}
