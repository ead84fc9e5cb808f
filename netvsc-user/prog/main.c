/* SPDX-License-Identifier: MIT */
/*
 * netvsc-user: a Hyper-V synthetic NIC driven from this process.
 *
 * Attaches with libnetvsc, then runs one mode with one thread per queue:
 * info, echo, tap (a Linux TAP interface as the other end), gen, sink or
 * pcap.  The main thread prints statistics, watches for the end (signal,
 * count, time, rescind) and, with --reattach, waits for a rescinded device
 * to come back and attaches anew.  This file is the command line; the
 * session and the modes are in the files prog.h lists.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <netvsc/proto.h>

#include "prog.h"

static const char *const mode_names[] = { "info", "echo", "tap", "gen", "sink", "pcap" };

atomic_bool stopping;
static int stop_efd = -1;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: netvsc-user --device GUID [options] MODE [ARG]\n"
		"\n"
		"Drives the Hyper-V synthetic network adapter GUID from this process: attaches\n"
		"the way Linux hv_netvsc does (NVSP, RNDIS), then runs MODE with one thread per\n"
		"queue.  The device must be bound to a UIO driver (hv_uio or uio_hv_generic), or\n"
		"be served by vmbus-hostsim under --root.\n"
		"\n"
		"modes:\n"
		"  info           print what the attach learnt (versions, MAC, MTU, link, buffers,\n"
		"                 queues, offloads) and detach\n"
		"  echo           send every received frame back, addresses swapped\n"
		"  tap IFNAME     bridge the NIC to a new TAP interface IFNAME (its MAC and MTU set\n"
		"                 to the NIC's), so the Linux network stack can use it\n"
		"  gen            send frames: --size, --count, --rate; with --verify, expect every\n"
		"                 one back intact (an echoing peer)\n"
		"  sink           receive and count; with --verify, check the contents of gen frames\n"
		"                 (ours or vmbus-hostsim's)\n"
		"  pcap FILE      write received frames to a pcap capture\n"
		"\n"
		"options:\n"
		"  --device GUID  the adapter's instance GUID (required)\n"
		"  --root DIR     root of a simulated VMBus (default $VMBUS_ROOT, else the real one)\n"
		"  --queues N     queues (subchannels and RSS), 1..64 (default 1; the host may\n"
		"                 grant fewer)\n"
		"  --mtu N        MTU, 68..9202 (default 1500; the host may cap it)\n"
		"  --size N       gen: frame size in bytes, 60..MTU+14 (default 64)\n"
		"  --count N      gen: frames to send (default 1000; 0: no end); other modes:\n"
		"                 stop after N frames received\n"
		"  --rate PPS     gen: frames per second over all queues (default 0: as fast as\n"
		"                 possible)\n"
		"  --time SEC     stop after SEC seconds\n"
		"  --verify       check frame contents (gen, sink); exit 5 on any loss or damage\n"
		"  --promisc      receive every frame the host passes, not only ours\n"
		"  --stats        print per-queue statistics every second (always at the end)\n"
		"  --json         machine-readable output: one JSON object per line\n"
		"  --reattach     when the host rescinds the device, wait for it to be offered\n"
		"                 again and attach anew (until stopped)\n"
		"  --timeout MS   how long one control step may take (default 60000)\n"
		"  --nvsp-max V   highest NVSP version to offer, e.g. 0x50000 (default 0x60001)\n"
		"  -h, --help     this text\n"
		"\n"
		"Stops on SIGINT or SIGTERM (detaching in order), on --count or --time.\n"
		"\n"
		"exit status:\n"
		"  0  success\n"
		"  1  another error (system, permissions, memory, a write to FILE, the device in\n"
		"     use by another process)\n"
		"  2  usage error\n"
		"  3  the device is gone: not there, or rescinded by the host\n"
		"  4  protocol error: the host broke the protocol, wrote corrupt data, described\n"
		"     the device inconsistently (sysfs, maps) or did not answer in time\n"
		"  5  --verify found frames lost, duplicated or damaged\n");
}

static int parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "netvsc-user: %s takes a number from %" PRIu64 " to %" PRIu64
				", not \"%s\"\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The options into @c.  Returns -1 to go on, or the exit code. */
static int parse_options(struct cfg *c, int argc, char **argv, bool *count_set)
{
	enum {
		O_DEVICE = 256, O_ROOT, O_QUEUES, O_MTU, O_SIZE, O_COUNT, O_RATE, O_TIME, O_VERIFY,
		O_PROMISC, O_STATS, O_JSON, O_REATTACH, O_TIMEOUT, O_NVSP,
	};
	static const struct option opts[] = {
		{ "device", required_argument, NULL, O_DEVICE },
		{ "root", required_argument, NULL, O_ROOT },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "rate", required_argument, NULL, O_RATE },
		{ "time", required_argument, NULL, O_TIME },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "promisc", no_argument, NULL, O_PROMISC },
		{ "stats", no_argument, NULL, O_STATS },
		{ "json", no_argument, NULL, O_JSON },
		{ "reattach", no_argument, NULL, O_REATTACH },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "nvsp-max", required_argument, NULL, O_NVSP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case O_DEVICE:
			c->guid = optarg;
			break;
		case O_ROOT:
			c->root = optarg;
			break;
		case O_QUEUES:
			if (parse_num("--queues", optarg, 1, NETVSC_MAX_QUEUES, &v))
				return EXIT_USAGE;
			c->queues = (unsigned int)v;
			break;
		case O_MTU:
			if (parse_num("--mtu", optarg, 68, 9202, &v))
				return EXIT_USAGE;
			c->mtu = (unsigned int)v;
			break;
		case O_SIZE:
			if (parse_num("--size", optarg, 60, 9216, &v))
				return EXIT_USAGE;
			c->size = (uint32_t)v;
			break;
		case O_COUNT:
			if (parse_num("--count", optarg, 0, 1ull << 40, &v))
				return EXIT_USAGE;
			c->count = v;
			*count_set = true;
			break;
		case O_RATE:
			if (parse_num("--rate", optarg, 0, 100000000, &v))
				return EXIT_USAGE;
			c->rate = v;
			break;
		case O_TIME: {
			char *end;

			/* a number of seconds: not NaN or infinity, which no
			 * clock ever reaches, and nothing around it */
			errno = 0;
			c->seconds = strtod(optarg, &end);
			if (!*optarg || isspace((unsigned char)*optarg) || *end || errno ||
			    !isfinite(c->seconds) || c->seconds <= 0 || c->seconds > 1e7) {
				fprintf(stderr, "netvsc-user: --time takes seconds, more than 0 and "
						"at most 10000000, not \"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case O_VERIFY:
			c->verify = true;
			break;
		case O_PROMISC:
			c->promisc = true;
			break;
		case O_STATS:
			c->stats = true;
			break;
		case O_JSON:
			c->json = true;
			break;
		case O_REATTACH:
			c->reattach = true;
			break;
		case O_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 3600000, &v))
				return EXIT_USAGE;
			c->timeout_ms = (int)v;
			break;
		case O_NVSP:
			if (parse_num("--nvsp-max", optarg, NVSP_VERSION_1, NVSP_VERSION_61, &v))
				return EXIT_USAGE;
			c->nvsp_max = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* The mode and its argument into @c.  Returns -1 to go on, or the exit code. */
static int parse_mode(struct cfg *c, int argc, char **argv)
{
	unsigned int i;

	if (!c->guid) {
		fprintf(stderr, "netvsc-user: --device GUID is required (try --help)\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "netvsc-user: which mode? info, echo, tap IFNAME, gen, sink or "
				"pcap FILE (try --help)\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(argv[optind], mode_names[i]))
			break;
	if (i == sizeof(mode_names) / sizeof(mode_names[0])) {
		fprintf(stderr, "netvsc-user: unknown mode \"%s\" (try --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	c->mode = (enum mode)i;
	optind++;
	if (c->mode == MODE_TAP || c->mode == MODE_PCAP) {
		if (optind >= argc) {
			fprintf(stderr, "netvsc-user: %s needs %s\n", mode_names[c->mode],
				c->mode == MODE_TAP ? "an interface name" : "a file");
			return EXIT_USAGE;
		}
		c->arg = argv[optind++];
	}
	if (optind < argc) {
		fprintf(stderr, "netvsc-user: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

static void on_signal(int sig)
{
	uint64_t one = 1;

	(void)sig;
	atomic_store(&stopping, true);
	if (write(stop_efd, &one, sizeof(one)) < 0)
		(void)0;
}

int main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	struct sigaction sa;
	bool count_set = false;
	unsigned int i;
	int rc;

	memset(a, 0, sizeof(*a));
	a->c.size = 64;
	a->c.count = 1000;
	a->c.timeout_ms = 60000;
	for (i = 0; i < NETVSC_MAX_QUEUES; i++)
		a->q[i].tap_fd = -1;
	rc = parse_options(&a->c, argc, argv, &count_set);
	if (rc < 0)
		rc = parse_mode(&a->c, argc, argv);
	if (rc >= 0)
		return rc;
	if (a->c.mode != MODE_GEN && !count_set)
		a->c.count = 0; /* run until stopped */
	if (a->c.verify && a->c.count && a->c.count <= (1ull << 32)) {
		a->seen = calloc(a->c.count, 1);
		if (!a->seen) {
			fprintf(stderr, "netvsc-user: out of memory for --verify of %" PRIu64
					" frames\n",
				a->c.count);
			return EXIT_FAIL;
		}
	}
	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_efd < 0) {
		fprintf(stderr, "netvsc-user: eventfd: %s\n", strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	a->stop_fd = stop_efd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a capture over the file size limit is a write error, not a crash */
	signal(SIGXFSZ, SIG_IGN);

	rc = run(a);
	close(stop_efd);
out:
	if (pcap_close(a) && !rc)
		rc = EXIT_FAIL;
	free(a->seen);
	return rc;
}
