/* SPDX-License-Identifier: MIT */
/*
 * vmbus-ls: every VMBus device, what it is, which driver holds it and, with
 * -v, the state of its channels' rings.  Reads sysfs and maps ring files
 * read-only; opens no device and writes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmbus/vmbus.h>

/* Exit codes (documented in --help and vmbus-ls(1)). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NODEV = 3,
};

struct cfg {
	const char *root;
	int verbose;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmbus-ls [options] [GUID...]\n"
		"\n"
		"Lists the VMBus devices of this guest (or only the GUIDs given), in the order\n"
		"of their primary channel: instance GUID, class, driver, network interface,\n"
		"UIO device, primary relid, monitor id and number of channels.  Reads sysfs\n"
		"only: no device is opened, nothing is written.\n"
		"\n"
		"options:\n"
		"  -v, --verbose  also the class GUID, NUMA node and driver_override, and per\n"
		"                 channel its relid, CPU, monitor id and ring state: bytes to\n"
		"                 read and to write and the interrupt mask of each direction,\n"
		"                 from the ring's header when its ring file can be mapped (a\n"
		"                 UIO driver holds it, it is open, and you are root: then also\n"
		"                 pending_send_sz and the feature bits), else from sysfs\n"
		"  --json         one JSON object: {\"devices\": [...]}\n"
		"  --root DIR     root of a simulated VMBus or a copy of a guest's tree (default\n"
		"                 $VMBUS_ROOT, else the real /sys)\n"
		"  -h, --help     this text\n"
		"\n"
		"exit status:\n"
		"  0  listed\n"
		"  1  another error (a sysfs file unreadable or garbled)\n"
		"  2  usage error\n"
		"  3  no VMBus here, or a GUID given is not on it\n");
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values beyond Unicode are not text */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', f);
	while (n) {
		size_t l;

		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
			l = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			l = 1;
		} else if ((l = utf8_len(p, n)) == 0) {
			fputs("\\ufffd", f);
			l = 1;
		} else {
			fwrite(p, 1, l, f);
		}
		p += l;
		n -= l;
	}
	fputc('"', f);
}

/* A string, or null when empty. */
static void json_str_or_null(FILE *f, const char *s)
{
	if (s && *s)
		json_str(f, s);
	else
		fputs("null", f);
}

static void json_num_or_null(FILE *f, int64_t v)
{
	if (v < 0)
		fputs("null", f);
	else
		fprintf(f, "%" PRId64, v);
}

/* ------------------------------------------------------------------------ */
/* channels                                                                  */
/* ------------------------------------------------------------------------ */

struct chan_info {
	struct vmbus_chan_desc d;
	bool mapped; /* ring headers read */
	struct vmbus_ring_state out, in;
	char why[256]; /* why the ring was not read, if it was not */
};

static void chan_read(const struct cfg *c, const char *guid, uint32_t relid, struct chan_info *ci)
{
	char err[256] = "";
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = c->root, .errbuf = err,
				     .errbuf_len = sizeof(err) };
	struct vmbus_ring_view *v;
	int ret;

	memset(ci, 0, sizeof(*ci));
	ci->d.sz = sizeof(ci->d);
	ci->out.sz = ci->in.sz = sizeof(ci->out);
	ret = vmbus_chan_describe(guid, relid, &o, &ci->d);
	if (ret) {
		snprintf(ci->why, sizeof(ci->why), "%s", err);
		ci->d.relid = relid;
		ci->d.subchan_id = ci->d.cpu = -1;
		ci->d.in_mask = ci->d.out_mask = ci->d.read_avail = ci->d.write_avail = -1;
		ci->d.interrupts = ci->d.events = -1;
		return;
	}
	if (!ci->d.has_ring) {
		snprintf(ci->why, sizeof(ci->why), "no ring file");
		return;
	}
	ret = vmbus_ring_view_open(guid, relid, &o, &v);
	if (ret) {
		/* the message names the device again: keep the cause only */
		const char *cause = strstr(err, ": ");

		snprintf(ci->why, sizeof(ci->why), "%s", cause ? cause + 2 : err);
		return;
	}
	/* an inconsistent ring still has its fields read; problem says why */
	vmbus_ring_view_read(v, &ci->out, &ci->in);
	ci->mapped = true;
	vmbus_ring_view_close(v);
}

static const char *chan_role(const struct chan_info *ci, uint32_t primary)
{
	if (ci->d.relid == primary || ci->d.subchan_id == 0)
		return "primary";
	return "subchannel";
}

static void print_ring_text(const char *name, const struct vmbus_ring_state *s)
{
	printf("      %s: ", name);
	if (s->problem) {
		printf("inconsistent: %s (write_index %" PRIu32 ", read_index %" PRIu32
		       ", data %" PRIu32 " bytes)\n",
		       s->problem, s->write_index, s->read_index, s->data_size);
		return;
	}
	printf("to read %" PRIu32 ", to write %" PRIu32 " of %" PRIu32 " bytes, mask %" PRIu32
	       ", pending_send_sz %" PRIu32 ", features 0x%" PRIx32 "%s\n",
	       s->bytes_to_read, s->bytes_to_write, s->data_size, s->interrupt_mask,
	       s->pending_send_sz, s->feature_bits,
	       s->feature_bits & VMBUS_RING_FEAT_PENDING_SEND_SZ ? " (pending_send_sz)" : "");
}

static void print_opt_num(const char *label, int64_t v)
{
	if (v < 0)
		printf("%s -", label);
	else
		printf("%s %" PRId64, label, v);
}

static void print_chan_text(const struct chan_info *ci, uint32_t primary)
{
	printf("    channel %" PRIu32 " (%s", ci->d.relid, chan_role(ci, primary));
	if (ci->d.subchan_id > 0)
		printf(" %d", ci->d.subchan_id);
	printf(")");
	print_opt_num(", cpu", ci->d.cpu);
	if (ci->d.monitor_id == VMBUS_MONITOR_ID_NONE)
		printf(", not monitored");
	else
		printf(", monitor id %u", ci->d.monitor_id);
	print_opt_num(", interrupts", ci->d.interrupts);
	print_opt_num(", events", ci->d.events);
	printf("\n");
	if (ci->mapped) {
		print_ring_text("out (guest to host)", &ci->out);
		print_ring_text("in  (host to guest)", &ci->in);
		return;
	}
	/* sysfs: out_mask and write_avail are the outgoing ring's, in_mask and
	 * read_avail the incoming ring's */
	printf("      out (guest to host):");
	print_opt_num(" to write", ci->d.write_avail);
	print_opt_num(" bytes, mask", ci->d.out_mask);
	printf("\n      in  (host to guest):");
	print_opt_num(" to read", ci->d.read_avail);
	print_opt_num(" bytes, mask", ci->d.in_mask);
	printf("\n      (from sysfs; ring headers not read: %s)\n", ci->why);
}

static void json_ring(FILE *f, const struct vmbus_ring_state *s)
{
	fprintf(f, "{\"write_index\": %" PRIu32 ", \"read_index\": %" PRIu32
		   ", \"data_size\": %" PRIu32 ", ",
		s->write_index, s->read_index, s->data_size);
	if (s->problem) {
		fputs("\"problem\": ", f);
		json_str(f, s->problem);
		fputs(", \"bytes_to_read\": null, \"bytes_to_write\": null", f);
	} else {
		fprintf(f, "\"problem\": null, \"bytes_to_read\": %" PRIu32
			   ", \"bytes_to_write\": %" PRIu32,
			s->bytes_to_read, s->bytes_to_write);
	}
	fprintf(f, ", \"interrupt_mask\": %" PRIu32 ", \"pending_send_sz\": %" PRIu32
		   ", \"feature_bits\": %" PRIu32 "}",
		s->interrupt_mask, s->pending_send_sz, s->feature_bits);
}

static void print_chan_json(const struct chan_info *ci)
{
	printf("{\"relid\": %" PRIu32 ", \"subchannel_id\": ", ci->d.relid);
	json_num_or_null(stdout, ci->d.subchan_id);
	printf(", \"cpu\": ");
	json_num_or_null(stdout, ci->d.cpu);
	printf(", \"monitor_id\": ");
	json_num_or_null(stdout,
			 ci->d.monitor_id == VMBUS_MONITOR_ID_NONE ? -1 : (int64_t)ci->d.monitor_id);
	printf(", \"interrupts\": ");
	json_num_or_null(stdout, ci->d.interrupts);
	printf(", \"events\": ");
	json_num_or_null(stdout, ci->d.events);
	printf(", \"sysfs\": {\"out_mask\": ");
	json_num_or_null(stdout, ci->d.out_mask);
	printf(", \"in_mask\": ");
	json_num_or_null(stdout, ci->d.in_mask);
	printf(", \"read_avail\": ");
	json_num_or_null(stdout, ci->d.read_avail);
	printf(", \"write_avail\": ");
	json_num_or_null(stdout, ci->d.write_avail);
	printf("}, \"ring\": ");
	if (ci->mapped) {
		printf("{\"out\": ");
		json_ring(stdout, &ci->out);
		printf(", \"in\": ");
		json_ring(stdout, &ci->in);
		printf("}, \"ring_unread_reason\": null}");
	} else {
		printf("null, \"ring_unread_reason\": ");
		json_str(stdout, ci->why);
		printf("}");
	}
}

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

static const char *class_text(const struct vmbus_dev_desc *d)
{
	const char *s = vmbus_class_desc(&d->class_id);

	return s ? s : "Unknown class";
}

static int list_chans(const struct cfg *c, const struct vmbus_dev_desc *d, uint32_t **relids)
{
	struct vmbus_scan_opts o = { .sz = sizeof(o), .root = c->root };
	int n = vmbus_dev_chans(d->guid, &o, NULL, 0), m;

	*relids = NULL;
	if (n <= 0)
		return 0;
	*relids = calloc((size_t)n, sizeof(**relids));
	if (!*relids)
		return 0;
	m = vmbus_dev_chans(d->guid, &o, *relids, (size_t)n);
	return m < n ? (m < 0 ? 0 : m) : n;
}

static void print_dev_text(const struct cfg *c, const struct vmbus_dev_desc *d)
{
	char uio[24] = "-", mon[8] = "-";
	uint32_t *relids;
	int i, n;

	if (d->uio_index >= 0)
		snprintf(uio, sizeof(uio), "uio%d", d->uio_index);
	if (d->monitor_id != VMBUS_MONITOR_ID_NONE)
		snprintf(mon, sizeof(mon), "%u", d->monitor_id);
	printf("%5" PRIu32 " %-36s %-31s %-16s %-9s %-7s %4s %4u\n", d->relid, d->guid,
	       class_text(d), d->driver[0] ? d->driver : "-", d->ifname[0] ? d->ifname : "-",
	       uio, mon, d->nchans);
	if (!c->verbose)
		return;
	{
		char cls[VMBUS_GUID_STRLEN];

		vmbus_guid_format(&d->class_id, cls);
		printf("    class {%s} (%s), numa node %d, driver_override %s\n", cls,
		       vmbus_class_name(&d->class_id) ? vmbus_class_name(&d->class_id) : "unknown",
		       d->numa_node,
		       !d->has_override ? "(not supported)" :
		       d->driver_override[0] ? d->driver_override : "(none)");
	}
	n = list_chans(c, d, &relids);
	for (i = 0; i < n; i++) {
		struct chan_info ci;

		chan_read(c, d->guid, relids[i], &ci);
		print_chan_text(&ci, d->relid);
	}
	free(relids);
}

static void print_dev_json(const struct cfg *c, const struct vmbus_dev_desc *d)
{
	char cls[VMBUS_GUID_STRLEN], uio[24];
	const char *name = vmbus_class_name(&d->class_id);
	uint32_t *relids;
	int i, n;

	vmbus_guid_format(&d->class_id, cls);
	printf("{\"guid\": ");
	json_str(stdout, d->guid);
	printf(", \"class_id\": ");
	json_str(stdout, cls);
	printf(", \"class\": ");
	json_str_or_null(stdout, name);
	printf(", \"class_desc\": ");
	json_str(stdout, class_text(d));
	printf(", \"relid\": %" PRIu32 ", \"monitor_id\": ", d->relid);
	json_num_or_null(stdout, d->monitor_id == VMBUS_MONITOR_ID_NONE ? -1 : d->monitor_id);
	printf(", \"numa_node\": %d, \"driver\": ", d->numa_node);
	json_str_or_null(stdout, d->driver);
	printf(", \"driver_override\": ");
	json_str_or_null(stdout, d->driver_override);
	printf(", \"interface\": ");
	json_str_or_null(stdout, d->ifname);
	printf(", \"uio\": ");
	if (d->uio_index >= 0) {
		snprintf(uio, sizeof(uio), "uio%d", d->uio_index);
		json_str(stdout, uio);
	} else {
		printf("null");
	}
	printf(", \"nchannels\": %u", d->nchans);
	if (c->verbose) {
		printf(", \"channels\": [");
		n = list_chans(c, d, &relids);
		for (i = 0; i < n; i++) {
			struct chan_info ci;

			chan_read(c, d->guid, relids[i], &ci);
			printf("%s", i ? ", " : "");
			print_chan_json(&ci);
		}
		free(relids);
		printf("]");
	}
	printf("}");
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_JSON };
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg c = { .root = NULL };
	char err[512] = "";
	struct vmbus_scan_opts so = { .sz = sizeof(so), .errbuf = err, .errbuf_len = sizeof(err) };
	struct vmbus_guid *ids = NULL;
	int opt, n, i, rc = EXIT_OK, shown = 0;

	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			c.verbose++;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case OPT_ROOT:
			c.root = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	for (i = optind; i < argc; i++) {
		struct vmbus_guid g;

		if (vmbus_guid_parse(argv[i], &g)) {
			fprintf(stderr, "vmbus-ls: \"%s\" is not a GUID\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	so.root = c.root;

	if (optind < argc) {
		n = argc - optind;
		ids = calloc((size_t)n, sizeof(*ids));
		if (!ids)
			return EXIT_FAIL;
		for (i = 0; i < n; i++)
			vmbus_guid_parse(argv[optind + i], &ids[i]);
	} else {
		n = vmbus_scan(&so, NULL, 0);
		if (n < 0) {
			fprintf(stderr, "vmbus-ls: %s\n", err);
			return n == -ENOENT ? EXIT_NODEV : EXIT_FAIL;
		}
		ids = calloc((size_t)n + 1, sizeof(*ids));
		if (!ids)
			return EXIT_FAIL;
		/* devices may come and go between the two calls */
		n = vmbus_scan(&so, ids, (size_t)n);
		if (n < 0) {
			fprintf(stderr, "vmbus-ls: %s\n", err);
			free(ids);
			return n == -ENOENT ? EXIT_NODEV : EXIT_FAIL;
		}
	}

	if (c.json)
		printf("{\"devices\": [");
	else
		printf("%5s %-36s %-31s %-16s %-9s %-7s %4s %4s\n", "RELID", "DEVICE", "CLASS",
		       "DRIVER", "IFACE", "UIO", "MON", "CHAN");
	for (i = 0; i < n; i++) {
		struct vmbus_dev_desc d = { .sz = sizeof(d) };
		char text[VMBUS_GUID_STRLEN];
		int ret;

		vmbus_guid_format(&ids[i], text);
		ret = vmbus_dev_describe(text, &so, &d);
		if (ret == -ENOENT && optind == argc)
			continue; /* it went away while we listed */
		if (ret) {
			fprintf(stderr, "vmbus-ls: %s\n", err);
			if (ret != -ENOENT)
				rc = EXIT_FAIL;
			else if (rc == EXIT_OK)
				rc = EXIT_NODEV;
			continue;
		}
		if (c.json) {
			printf("%s", shown ? ", " : "");
			print_dev_json(&c, &d);
		} else {
			print_dev_text(&c, &d);
		}
		shown++;
	}
	if (c.json)
		printf("]}\n");
	free(ids);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "vmbus-ls: cannot write the listing: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return rc;
}
