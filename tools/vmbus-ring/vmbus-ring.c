/* SPDX-License-Identifier: MIT */
/*
 * vmbus-ring: the rings of one VMBus channel as they are right now (or
 * every interval with --watch): both headers, fill levels and the header
 * of the next packet in each direction.
 *
 * The ring file is opened O_RDONLY and mapped PROT_READ, so nothing here
 * can move an index, a mask or a byte of data; the driver and the host
 * never notice.  Everything in the rings is treated as untrusted (see
 * vmbus_ring_inspect).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmbus/vmbus.h>

/* Exit codes (documented in --help and vmbus-ring(8)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NODEV = 3,
	EXIT_NORING = 4,
	EXIT_PERM = 5,
	EXIT_CORRUPT = 6,
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus-ring [options] GUID\n"
		"\n"
		"Shows the rings of one channel of the VMBus device GUID: for each direction\n"
		"the header (write_index, read_index, interrupt_mask, pending_send_sz,\n"
		"feature_bits), how full it is and the header of the next packet.  The ring\n"
		"file (channels/RELID/ring) is mapped read-only: nothing is changed, the\n"
		"driver and the host do not notice.  The channel must be held by a UIO driver\n"
		"(hv_uio, uio_hv_generic) and open (a program has /dev/uioN open).\n"
		"\n"
		"options:\n"
		"  -c, --channel RELID  the channel (default: the primary); \"all\": every\n"
		"                       channel of the device\n"
		"  -w, --watch          show the rings again every interval until interrupted\n"
		"  -i, --interval MS    --watch interval in milliseconds (default 1000)\n"
		"  -n, --count N        with --watch: stop after N snapshots\n"
		"  --root DIR           root of a simulated VMBus or of a copy of a guest's tree\n"
		"                       (default $VMBUS_ROOT, else the real /sys)\n"
		"  -h, --help           this text\n"
		"\n"
		"exit status:\n"
		"  0  shown\n"
		"  1  another error\n"
		"  2  usage error\n"
		"  3  no such device or channel\n"
		"  4  no ring to show: no UIO driver holds the channel, or it is not open\n"
		"  5  permission denied (ring files are root's)\n"
		"  6  a ring is inconsistent (an index out of range, a packet that does not\n"
		"     fit); it is still shown, with the reason\n");
}

static const char *pkt_type_name(uint16_t t)
{
	switch (t) {
	case VMBUS_PKT_SYNCH:
		return "synch";
	case VMBUS_PKT_ADD_XFER_PAGESET:
		return "add transfer page set";
	case VMBUS_PKT_RM_XFER_PAGESET:
		return "remove transfer page set";
	case VMBUS_PKT_ESTABLISH_GPADL:
		return "establish GPADL";
	case VMBUS_PKT_TEARDOWN_GPADL:
		return "teardown GPADL";
	case VMBUS_PKT_DATA_INBAND:
		return "in-band data";
	case VMBUS_PKT_DATA_XFER_PAGES:
		return "transfer pages";
	case VMBUS_PKT_DATA_GPADL:
		return "GPADL data";
	case VMBUS_PKT_DATA_GPA_DIRECT:
		return "GPA direct";
	case VMBUS_PKT_CANCEL_REQUEST:
		return "cancel request";
	case VMBUS_PKT_COMPLETION:
		return "completion";
	case VMBUS_PKT_DATA_ADDITIONAL_PKT:
		return "additional packet";
	case VMBUS_PKT_ADDITIONAL_DATA:
		return "additional data";
	default:
		return "unknown type";
	}
}

/* Bytes an index moved since the last look, modulo the data area. */
static uint32_t moved(uint32_t now, uint32_t before, uint32_t dsize)
{
	if (now >= dsize || before >= dsize)
		return 0;
	return now >= before ? now - before : dsize - before + now;
}

static void show_dir(const char *name, const struct vmbus_ring_state *s,
		     const struct vmbus_ring_state *prev)
{
	printf("  %s\n", name);
	printf("    write_index %" PRIu32 "  read_index %" PRIu32 "  interrupt_mask %" PRIu32
	       "  pending_send_sz %" PRIu32 "  feature_bits 0x%" PRIx32 "%s\n",
	       s->write_index, s->read_index, s->interrupt_mask, s->pending_send_sz,
	       s->feature_bits,
	       s->feature_bits & VMBUS_RING_FEAT_PENDING_SEND_SZ ? " (pending_send_sz)" : "");
	if (s->problem) {
		printf("    INCONSISTENT: %s (data area %" PRIu32 " bytes)\n", s->problem,
		       s->data_size);
		return;
	}
	printf("    %" PRIu32 " bytes to read, %" PRIu32 " free of %" PRIu32 " (%.1f%% full)",
	       s->bytes_to_read, s->bytes_to_write, s->data_size,
	       100.0 * (double)s->bytes_to_read / (double)s->data_size);
	if (prev && !prev->problem)
		printf("; since last: written %" PRIu32 ", read %" PRIu32 " bytes",
		       moved(s->write_index, prev->write_index, s->data_size),
		       moved(s->read_index, prev->read_index, s->data_size));
	printf("\n");
	if (!s->has_packet) {
		printf("    next packet: none\n");
		return;
	}
	printf("    next packet: type %u (%s), offset8 %u, len8 %u (%u bytes), flags 0x%x%s, "
	       "trans_id 0x%" PRIx64 "\n",
	       s->next.type, pkt_type_name(s->next.type), s->next.offset8, s->next.len8,
	       s->next.len8 * 8u, s->next.flags,
	       s->next.flags & VMBUS_PKT_FLAG_COMPLETION_REQUESTED ? " (completion requested)" :
								     "",
	       s->next.trans_id);
	if (s->packet_problem)
		printf("    INCONSISTENT packet: %s\n", s->packet_problem);
}

struct view {
	struct vmbus_ring_view *v;
	struct vmbus_ring_state out, in;
	bool have_prev;
};

static int show(const char *guid, struct view *w, bool watch)
{
	struct vmbus_ring_state out = { .sz = sizeof(out) }, in = { .sz = sizeof(in) };
	int ret = vmbus_ring_view_read(w->v, &out, &in);

	printf("device %s channel %" PRIu32 ": ring %zu bytes each way (header included)\n", guid,
	       vmbus_ring_view_relid(w->v), vmbus_ring_view_size(w->v));
	show_dir("out (guest to host)", &out, watch && w->have_prev ? &w->out : NULL);
	show_dir("in (host to guest)", &in, watch && w->have_prev ? &w->in : NULL);
	w->out = out;
	w->in = in;
	w->have_prev = true;
	return ret;
}

static int exit_for(int err)
{
	switch (err) {
	case -ENOENT:
	case -EINVAL:
		return EXIT_NODEV;
	case -ENXIO:
	case -ENODEV:
		return EXIT_NORING;
	case -EACCES:
	case -EPERM:
		return EXIT_PERM;
	default:
		return EXIT_FAIL;
	}
}

static int parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "vmbus-ring: %s takes a number from %" PRIu64 " to %" PRIu64
				", not \"%s\"\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256 };
	static const struct option opts[] = {
		{ "channel", required_argument, NULL, 'c' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512] = "";
	struct vmbus_scan_opts so = { .sz = sizeof(so), .errbuf = err, .errbuf_len = sizeof(err) };
	uint64_t relid = 0, interval = 1000, count = 0, v;
	bool all = false, watch = false;
	struct view *views = NULL;
	uint32_t *relids = NULL;
	size_t nviews = 0, i;
	const char *guid;
	int opt, rc = EXIT_OK, ret, n;
	uint64_t shots = 0;

	while ((opt = getopt_long(argc, argv, "c:wi:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (!strcmp(optarg, "all"))
				all = true;
			else if (parse_num("--channel", optarg, 1, VMBUS_MAX_RELID, &relid))
				return EXIT_USAGE;
			break;
		case 'w':
			watch = true;
			break;
		case 'i':
			if (parse_num("--interval", optarg, 10, 3600000, &interval))
				return EXIT_USAGE;
			break;
		case 'n':
			if (parse_num("--count", optarg, 1, UINT32_MAX, &count))
				return EXIT_USAGE;
			break;
		case OPT_ROOT:
			so.root = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmbus-ring: %s (try --help)\n",
			optind == argc ? "which device? give its GUID" : "one device at a time");
		return EXIT_USAGE;
	}
	guid = argv[optind];
	{
		struct vmbus_guid g;

		if (vmbus_guid_parse(guid, &g)) {
			fprintf(stderr, "vmbus-ring: \"%s\" is not a GUID\n", guid);
			return EXIT_USAGE;
		}
	}

	if (all) {
		n = vmbus_dev_chans(guid, &so, NULL, 0);
		if (n < 0) {
			fprintf(stderr, "vmbus-ring: %s\n", err);
			return exit_for(n);
		}
		relids = calloc((size_t)n + 1, sizeof(*relids));
		if (!relids)
			return EXIT_FAIL;
		n = vmbus_dev_chans(guid, &so, relids, (size_t)n);
		if (n <= 0) {
			fprintf(stderr, "vmbus-ring: device %s has no channels\n", guid);
			free(relids);
			return n < 0 ? exit_for(n) : EXIT_NODEV;
		}
	} else {
		relids = calloc(1, sizeof(*relids));
		if (!relids)
			return EXIT_FAIL;
		relids[0] = (uint32_t)relid;
		n = 1;
	}
	views = calloc((size_t)n, sizeof(*views));
	if (!views) {
		free(relids);
		return EXIT_FAIL;
	}
	for (i = 0; i < (size_t)n; i++) {
		ret = vmbus_ring_view_open(guid, relids[i], &so, &views[nviews].v);
		if (ret) {
			fprintf(stderr, "vmbus-ring: %s\n", err);
			if (rc == EXIT_OK)
				rc = exit_for(ret);
			continue;
		}
		nviews++;
	}
	free(relids);
	if (!nviews) {
		free(views);
		return rc;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (;;) {
		if (watch) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			printf("-- %lld.%03ld\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000);
		}
		for (i = 0; i < nviews; i++)
			if (show(guid, &views[i], watch) == -EPROTO)
				rc = EXIT_CORRUPT;
		fflush(stdout);
		shots++;
		if (!watch || stop || (count && shots >= count))
			break;
		v = interval;
		{
			struct timespec ts = { (time_t)(v / 1000), (long)(v % 1000) * 1000000L };

			/* a signal ends the wait at once: stop is checked next round */
			nanosleep(&ts, NULL);
		}
		if (stop)
			break;
	}
	for (i = 0; i < nviews; i++)
		vmbus_ring_view_close(views[i].v);
	free(views);
	if (ferror(stdout))
		return EXIT_FAIL;
	return rc;
}
