/* SPDX-License-Identifier: MIT */
/* vmbus-hostsim: the command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostsim.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus-hostsim --root DIR [options]\n"
		"       vmbus-hostsim ctl --root DIR COMMAND [ARGS]\n"
		"\n"
		"Plays the Hyper-V host of a simulated VMBus under DIR: builds the tree a guest\n"
		"has (DIR/sys/bus/vmbus/devices/..., DIR/sys/class/uio/..., DIR/dev/uioN) and\n"
		"serves synthetic network adapters (NetVSP) until SIGINT or SIGTERM, then\n"
		"removes the tree.  Prints the GUID of every device it offers, one per line.\n"
		"Guests find it with VMBUS_ROOT=DIR or --root DIR.\n"
		"\n"
		"options:\n"
		"  --root DIR           where to build the simulated VMBus (required; with the\n"
		"                       kernel transport only the control socket lives there)\n"
		"  --transport T        files (default): the simulated tree under DIR;\n"
		"                       kernel[:PATH]: serve a real guest kernel through the\n"
		"                       vmbus_sim test module (default PATH /dev/vmbus_sim)\n"
		"  --nic N              network adapters to offer (default 1, at most %d)\n"
		"  --device GUID        instance GUID of the next adapter (repeatable)\n"
		"  --wire SPEC          where frames go: %s (default echo)\n"
		"  --mtu-max N          largest MTU the host accepts, 576..9202 (default 9000)\n"
		"  --queues N           largest number of queues a guest may ask for, 1..64\n"
		"                       (default 64)\n"
		"  --no-monitor         offer channels without monitor ids (signalled through\n"
		"                       the UIO write, as on hosts out of monitor ids)\n"
		"  --latency US         how often the monitor page is scanned, in microseconds\n"
		"                       (default 100, the latency of Hyper-V network offers)\n"
		"  --busy-poll          poll the rings continuously instead of waiting for signals\n"
		"  --azure-devices      also offer the other devices of an Azure guest, before the\n"
		"                       adapters: two SCSI controllers, shutdown, time sync,\n"
		"                       heartbeat, key-value pairs, backup, file copy, keyboard,\n"
		"                       mouse, video; offers only, each shown bound to its Linux\n"
		"                       driver, with no service (files transport)\n"
		"  --on-error stop|fail what to do when the guest breaks the protocol: stop\n"
		"                       serving the channel (default, as OpenVMM) or fail the\n"
		"                       packet and go on where possible\n"
		"  --ring-size BYTES    each ring direction, header page included (default 2 MiB)\n"
		"  --recv-buf BYTES     receive buffer size (default 31 MiB)\n"
		"  --send-buf BYTES     send buffer size (default 16 MiB)\n"
		"  --link-speed MBPS    link speed reported (default 10000)\n"
		"  --link-flap-ms MS    hold a link change back this long after the previous\n"
		"                       one (default 5000, as netvsp)\n"
		"\n"
		"host variants a guest must survive (the default is netvsp's behaviour):\n"
		"  --rss-table N        RSS indirection table entries the host offers: 128\n"
		"                       (default) or 256\n"
		"  --old-send-table     send the transmit indirection table as hosts up to NVSP 6\n"
		"                       do: at byte 40 while its offset field says 12 (such hosts\n"
		"                       also refuse NVSP 6.1)\n"
		"  --reply-delay MS     answer each RNDIS control request MS milliseconds late\n"
		"                       (Azure's host can take seconds; default 0)\n"
		"\n"
		"  --gen-size N         gen wire: frame size, 64..9014 (default 64)\n"
		"  --gen-count N        gen wire: frames to send, 0 for no end (default 0)\n"
		"  --gen-rate PPS       gen wire: frames per second, 0 for as fast as possible\n"
		"  -v, --verbose        log every protocol step\n"
		"  -h, --help           this text\n"
		"\n"
		"ctl commands (to a running vmbus-hostsim; add --device GUID to pick a device):\n"
		"  stats                per device, queue and channel counters\n"
		"  list                 the offered devices\n"
		"  offer [GUID]         offer a (new, or the given) network adapter\n"
		"  rescind              the host pulls the device\n"
		"  link-up, link-down   change the link state the guest is told\n"
		"  fault KIND [ARG]     inject a fault: %s\n"
		"  stop                 stop vmbus-hostsim (as SIGTERM does)\n",
		HS_MAX_DEVS, hs_wire_names(), hs_fault_names());
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "vmbus-hostsim: %s takes a number from %" PRIu64 " to %" PRIu64
				", not \"%s\"\n",
			opt, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void signal_event(struct hs_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	struct hs_bus *bus = w->arg;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		hs_log("signal %u: stopping", si.ssi_signo);
		bus->stop = true;
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_ROOT = 256, OPT_NIC, OPT_DEVICE, OPT_WIRE, OPT_MTU, OPT_QUEUES, OPT_NOMON,
		OPT_LATENCY, OPT_BUSY, OPT_ONERR, OPT_RING, OPT_RECV, OPT_SEND, OPT_SPEED,
		OPT_FLAP, OPT_GSIZE, OPT_GCOUNT, OPT_GRATE, OPT_TRANSPORT, OPT_AZURE, OPT_RSS_TABLE,
		OPT_OLD_TABLE, OPT_REPLY_DELAY,
	};
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "nic", required_argument, NULL, OPT_NIC },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "wire", required_argument, NULL, OPT_WIRE },
		{ "mtu-max", required_argument, NULL, OPT_MTU },
		{ "queues", required_argument, NULL, OPT_QUEUES },
		{ "no-monitor", no_argument, NULL, OPT_NOMON },
		{ "latency", required_argument, NULL, OPT_LATENCY },
		{ "busy-poll", no_argument, NULL, OPT_BUSY },
		{ "on-error", required_argument, NULL, OPT_ONERR },
		{ "ring-size", required_argument, NULL, OPT_RING },
		{ "recv-buf", required_argument, NULL, OPT_RECV },
		{ "send-buf", required_argument, NULL, OPT_SEND },
		{ "link-speed", required_argument, NULL, OPT_SPEED },
		{ "link-flap-ms", required_argument, NULL, OPT_FLAP },
		{ "gen-size", required_argument, NULL, OPT_GSIZE },
		{ "gen-count", required_argument, NULL, OPT_GCOUNT },
		{ "gen-rate", required_argument, NULL, OPT_GRATE },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "azure-devices", no_argument, NULL, OPT_AZURE },
		{ "rss-table", required_argument, NULL, OPT_RSS_TABLE },
		{ "old-send-table", no_argument, NULL, OPT_OLD_TABLE },
		{ "reply-delay", required_argument, NULL, OPT_REPLY_DELAY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hs_opts o = {
		.nics = 1,
		.wire = "echo",
		.mtu_max = 9000,
		.max_queues = 64,
		.monitored = true,
		.latency_us = 100,
		.reaction = HS_REACT_STOP,
		.link_speed_bps = 10000000000ull,
		.link_flap_ms = 5000,
		.ring_size = 2u << 20,
		.recv_size = 31u << 20,
		.send_size = 16u << 20,
		.gen_size = 64,
		.rss_table = 128, /* netvsp without a backend size */
	};
	struct vmbus_guid guids[HS_MAX_DEVS];
	unsigned int nguids = 0, i;
	const char *root = NULL, *transport = "files";
	static struct hs_bus bus;
	struct hs_watch sigw;
	sigset_t mask;
	uint64_t v;
	int c, err, rc = 0;

	if (argc > 1 && !strcmp(argv[1], "ctl")) {
		/* vmbus-hostsim ctl --root DIR COMMAND ... */
		for (i = 2; i + 1 < (unsigned int)argc; i++)
			if (!strcmp(argv[i], "--root"))
				root = argv[i + 1];
		if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
			usage(stdout);
			return 0;
		}
		if (!root || argc < 5 || strcmp(argv[2], "--root")) {
			fprintf(stderr, "usage: vmbus-hostsim ctl --root DIR COMMAND [ARGS] "
					"(vmbus-hostsim --help lists the commands)\n");
			return 2;
		}
		return hs_ctl_client(root, argc - 4, argv + 4);
	}

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			root = optarg;
			break;
		case OPT_NIC:
			if (parse_u64("--nic", optarg, 0, HS_MAX_DEVS, &v))
				return 2;
			o.nics = (unsigned int)v;
			break;
		case OPT_DEVICE:
			if (nguids == HS_MAX_DEVS || vmbus_guid_parse(optarg, &guids[nguids])) {
				fprintf(stderr, "vmbus-hostsim: --device takes a GUID, not \"%s\"\n",
					optarg);
				return 2;
			}
			nguids++;
			break;
		case OPT_WIRE:
			o.wire = optarg;
			break;
		case OPT_MTU:
			if (parse_u64("--mtu-max", optarg, 576, 9202, &v))
				return 2;
			o.mtu_max = (unsigned int)v;
			break;
		case OPT_QUEUES:
			if (parse_u64("--queues", optarg, 1, HS_MAX_CHANS, &v))
				return 2;
			o.max_queues = (unsigned int)v;
			break;
		case OPT_NOMON:
			o.monitored = false;
			break;
		case OPT_LATENCY:
			if (parse_u64("--latency", optarg, 1, 1000000, &v))
				return 2;
			o.latency_us = (uint32_t)v;
			break;
		case OPT_BUSY:
			o.busy_poll = true;
			break;
		case OPT_AZURE:
			o.azure_devices = true;
			break;
		case OPT_RSS_TABLE:
			if (strcmp(optarg, "128") && strcmp(optarg, "256")) {
				fprintf(stderr, "vmbus-hostsim: --rss-table takes 128 or 256, not "
						"\"%s\"\n",
					optarg);
				return 2;
			}
			o.rss_table = (uint32_t)atoi(optarg);
			break;
		case OPT_OLD_TABLE:
			o.old_send_table = true;
			break;
		case OPT_REPLY_DELAY:
			if (parse_u64("--reply-delay", optarg, 0, 120000, &v))
				return 2;
			o.reply_delay_ms = (uint32_t)v;
			break;
		case OPT_ONERR:
			if (!strcmp(optarg, "stop")) {
				o.reaction = HS_REACT_STOP;
			} else if (!strcmp(optarg, "fail")) {
				o.reaction = HS_REACT_FAIL;
			} else {
				fprintf(stderr, "vmbus-hostsim: --on-error takes stop or fail\n");
				return 2;
			}
			break;
		case OPT_RING:
			if (parse_u64("--ring-size", optarg, 2 * VMBUS_HV_PAGE_SIZE, 64u << 20, &v))
				return 2;
			if (v % VMBUS_HV_PAGE_SIZE) {
				fprintf(stderr, "vmbus-hostsim: --ring-size must be a multiple of 4096\n");
				return 2;
			}
			o.ring_size = v;
			break;
		case OPT_RECV:
			if (parse_u64("--recv-buf", optarg, 1u << 16, 256u << 20, &v))
				return 2;
			o.recv_size = (v + VMBUS_HV_PAGE_SIZE - 1) & ~(uint64_t)(VMBUS_HV_PAGE_SIZE - 1);
			break;
		case OPT_SEND:
			if (parse_u64("--send-buf", optarg, 6144, 256u << 20, &v))
				return 2;
			o.send_size = (v + VMBUS_HV_PAGE_SIZE - 1) & ~(uint64_t)(VMBUS_HV_PAGE_SIZE - 1);
			break;
		case OPT_SPEED:
			if (parse_u64("--link-speed", optarg, 1, 400000, &v))
				return 2;
			o.link_speed_bps = v * 1000000u;
			break;
		case OPT_FLAP:
			if (parse_u64("--link-flap-ms", optarg, 0, 600000, &v))
				return 2;
			o.link_flap_ms = (uint32_t)v;
			break;
		case OPT_GSIZE:
			if (parse_u64("--gen-size", optarg, 64, 9014, &v))
				return 2;
			o.gen_size = (uint32_t)v;
			break;
		case OPT_GCOUNT:
			if (parse_u64("--gen-count", optarg, 0, UINT64_MAX, &v))
				return 2;
			o.gen_count = v;
			break;
		case OPT_GRATE:
			if (parse_u64("--gen-rate", optarg, 0, 100000000, &v))
				return 2;
			o.gen_rate = v;
			break;
		case OPT_TRANSPORT:
			if (strcmp(optarg, "files") && strcmp(optarg, "kernel") &&
			    strncmp(optarg, "kernel:", 7)) {
				fprintf(stderr, "vmbus-hostsim: --transport takes files or "
						"kernel[:PATH], not \"%s\"\n",
					optarg);
				return 2;
			}
			transport = optarg;
			break;
		case 'v':
			hs_verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmbus-hostsim: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!root) {
		fprintf(stderr, "vmbus-hostsim: --root DIR is required (try --help)\n");
		return 2;
	}
	if (nguids > o.nics)
		o.nics = nguids;
	if (o.azure_devices && strcmp(transport, "files")) {
		fprintf(stderr, "vmbus-hostsim: --azure-devices needs the files transport\n");
		return 2;
	}
	if (o.azure_devices && o.nics > HS_MAX_DEVS - 11) {
		fprintf(stderr, "vmbus-hostsim: with --azure-devices at most %d adapters\n",
			HS_MAX_DEVS - 11);
		return 2;
	}
	if (mkdir(root, 0755) && errno != EEXIST) {
		fprintf(stderr, "vmbus-hostsim: cannot create %s: %s\n", root, strerror(errno));
		return 1;
	}

	err = hs_bus_init(&bus, &o);
	if (err) {
		fprintf(stderr, "vmbus-hostsim: %s\n", strerror(-err));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigw.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	sigw.cb = signal_event;
	sigw.arg = &bus;
	if (sigw.fd < 0 || hs_watch_add(&bus, &sigw, EPOLLIN)) {
		fprintf(stderr, "vmbus-hostsim: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (!strncmp(transport, "kernel", 6))
		err = hs_kern_transport_create(&bus, transport[6] ? transport + 7 : "/dev/vmbus_sim",
					       &bus.tp);
	else
		err = hs_sim_transport_create(&bus, root, &bus.tp);
	if (err) {
		rc = 1;
		goto out;
	}
	err = hs_wire_open(&bus, o.wire, &bus.wire);
	if (err) {
		rc = 2;
		goto out;
	}
	err = hs_ctl_listen(&bus, root);
	if (err) {
		hs_log("cannot listen for control commands under %s: %s", root, strerror(-err));
		rc = 1;
		goto out;
	}
	if (o.azure_devices && hs_offer_azure_devices(&bus)) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < o.nics; i++) {
		struct hs_dev *dev;

		err = hs_offer_nic(&bus, i < nguids ? &guids[i] : NULL, &dev);
		if (err) {
			hs_log("cannot offer network adapter %u: %s", i, strerror(-err));
			rc = 1;
			goto out;
		}
		printf("%s\n", dev->guid);
	}
	fflush(stdout);
	hs_log("serving %u network adapter(s) under %s, wire %s; stop with SIGTERM", o.nics, root,
	       o.wire);
	err = hs_bus_run(&bus);
	if (err) {
		hs_log("event loop: %s", strerror(-err));
		rc = 1;
	}
out:
	hs_ctl_close(&bus);
	hs_bus_fini(&bus);
	close(sigw.fd);
	return rc;
}
