/* SPDX-License-Identifier: MIT */
/*
 * Control of a running vmbus-hostsim: a unix stream socket at
 * ROOT/.vmbus-hostsim.ctl.  A client writes one line, "COMMAND [ARGS]",
 * and reads the answer until the server closes: a first line "ok" or
 * "error: ...", then any output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostsim.h"

#define CTL_NAME ".vmbus-hostsim.ctl"

static struct hs_watch ctl_watch = { .fd = -1 };
static char ctl_path[108];

static int ctl_sockaddr(const char *root, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/" CTL_NAME, root);
	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

/* Finds the device a command names: --device GUID, or the first one. */
static struct hs_dev *pick_dev(struct hs_bus *bus, int argc, char **argv, FILE *out)
{
	const char *guid = NULL;
	struct hs_dev *dev;
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--device") && i + 1 < argc)
			guid = argv[i + 1];
	dev = hs_find_dev(bus, guid);
	if (!dev)
		fprintf(out, "error: %s\n", guid ? "no such device" : "no device is offered");
	return dev;
}

static void run_command(struct hs_bus *bus, int argc, char **argv, FILE *out)
{
	struct hs_dev *dev;
	unsigned int i;

	if (argc == 0) {
		fprintf(out, "error: empty command\n");
		return;
	}
	if (!strcmp(argv[0], "stats")) {
		fprintf(out, "ok\n");
		for (i = 0; i < HS_MAX_DEVS; i++) {
			struct hs_dev *d = bus->devs[i];
			unsigned int j;

			if (!d)
				continue;
			d->ops->stats(d, out);
			for (j = 0; j < d->nchans; j++) {
				struct hs_chan *ch = d->chans[j];

				if (ch)
					fprintf(out,
						"  channel %u relid %u: guest signals %" PRIu64
						", interrupts %" PRIu64 "%s\n",
						j, ch->relid, ch->signals_in, ch->signals_out,
						ch->stopped ? ", stopped" : "");
			}
		}
		if (bus->wire)
			fprintf(out, "wire %s: %" PRIu64 " frames from the guest, %" PRIu64
				     " to it\n",
				bus->wire->ops->name, bus->wire->frames_out, bus->wire->frames_in);
		return;
	}
	if (!strcmp(argv[0], "list")) {
		fprintf(out, "ok\n");
		for (i = 0; i < HS_MAX_DEVS; i++)
			if (bus->devs[i])
				fprintf(out, "%s\n", bus->devs[i]->guid);
		return;
	}
	if (!strcmp(argv[0], "offer")) {
		struct vmbus_guid g;

		if (argc > 1 && vmbus_guid_parse(argv[1], &g)) {
			fprintf(out, "error: \"%s\" is not a GUID\n", argv[1]);
			return;
		}
		if (hs_offer_nic(bus, argc > 1 ? &g : NULL, &dev)) {
			fprintf(out, "error: cannot offer a device (already offered?)\n");
			return;
		}
		fprintf(out, "ok\n%s\n", dev->guid);
		return;
	}
	if (!strcmp(argv[0], "stop")) {
		bus->stop = true;
		fprintf(out, "ok\n");
		return;
	}
	dev = pick_dev(bus, argc, argv, out);
	if (!dev)
		return;
	if (!strcmp(argv[0], "rescind")) {
		fprintf(out, "ok\n%s\n", dev->guid);
		hs_rescind(dev);
	} else if (!strcmp(argv[0], "link-up") || !strcmp(argv[0], "link-down")) {
		hs_nic_link(dev, argv[0][5] == 'u');
		fprintf(out, "ok\n");
	} else if (!strcmp(argv[0], "fault")) {
		enum hs_fault f;
		uint64_t arg = 0;
		int err;

		if (argc < 2 || hs_fault_parse(argv[1], &f)) {
			fprintf(out, "error: fault KIND [ARG]: kinds are %s\n", hs_fault_names());
			return;
		}
		if (argc > 2 && strcmp(argv[2], "--device"))
			arg = strtoull(argv[2], NULL, 10);
		err = hs_nic_fault(dev, f, arg);
		if (err)
			fprintf(out, "error: %s\n",
				err == -ENOTCONN ? "the device is not open" : strerror(-err));
		else
			fprintf(out, "ok\n");
	} else {
		fprintf(out,
			"error: unknown command \"%s\" (commands: stats, list, offer [GUID], "
			"rescind, link-up, link-down, fault KIND [ARG], stop; --device GUID "
			"picks a device)\n",
			argv[0]);
	}
}

static void client_event(struct hs_watch *w, uint32_t events)
{
	struct hs_bus *bus = w->arg;
	char line[512], *argv[16], *save = NULL, *tok;
	char *text = NULL;
	size_t textlen = 0;
	FILE *out;
	ssize_t n;
	int argc = 0;

	(void)events;
	n = recv(w->fd, line, sizeof(line) - 1, MSG_DONTWAIT);
	hs_watch_del(bus, w);
	if (n > 0) {
		line[n] = '\0';
		for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 16;
		     tok = strtok_r(NULL, " \t\r\n", &save))
			argv[argc++] = tok;
		out = open_memstream(&text, &textlen);
		if (out) {
			run_command(bus, argc, argv, out);
			fclose(out);
			if (send(w->fd, text, textlen, MSG_NOSIGNAL) < 0)
				hs_debug("control answer lost");
			free(text);
		}
	}
	close(w->fd);
	free(w);
}

static void ctl_accept(struct hs_watch *lw, uint32_t events)
{
	int fd;

	(void)events;
	while ((fd = accept4(lw->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct hs_watch *w = calloc(1, sizeof(*w));

		if (!w) {
			close(fd);
			continue;
		}
		w->fd = fd;
		w->cb = client_event;
		w->arg = lw->arg;
		if (hs_watch_add(lw->arg, w, EPOLLIN)) {
			close(fd);
			free(w);
		}
	}
}

int hs_ctl_listen(struct hs_bus *bus, const char *root)
{
	struct sockaddr_un sa;
	int err;

	if (ctl_sockaddr(root, &sa))
		return -ENAMETOOLONG;
	unlink(sa.sun_path);
	ctl_watch.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl_watch.fd < 0 || bind(ctl_watch.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ctl_watch.fd, 16))
		return -errno;
	memcpy(ctl_path, sa.sun_path, sizeof(ctl_path));
	ctl_watch.cb = ctl_accept;
	ctl_watch.arg = bus;
	err = hs_watch_add(bus, &ctl_watch, EPOLLIN);
	return err;
}

void hs_ctl_close(struct hs_bus *bus)
{
	if (ctl_watch.fd < 0)
		return;
	hs_watch_del(bus, &ctl_watch);
	close(ctl_watch.fd);
	ctl_watch.fd = -1;
	unlink(ctl_path);
}

int hs_ctl_client(const char *root, int argc, char **argv)
{
	struct sockaddr_un sa;
	char buf[65536], line[512] = "";
	size_t len = 0;
	ssize_t n;
	int fd, i, ok = -1;

	if (ctl_sockaddr(root, &sa)) {
		fprintf(stderr, "vmbus-hostsim ctl: root %s is too long\n", root);
		return 2;
	}
	for (i = 0; i < argc; i++) {
		size_t a = strlen(argv[i]);

		if (len + a + 2 >= sizeof(line)) {
			fprintf(stderr, "vmbus-hostsim ctl: command too long\n");
			return 2;
		}
		memcpy(line + len, argv[i], a);
		len += a;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vmbus-hostsim ctl: no vmbus-hostsim is running under %s (%s)\n",
			root, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "vmbus-hostsim ctl: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	len = 0;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	/* the first line is the status; the rest is the command's output */
	ok = !strncmp(buf, "ok\n", 3);
	if (ok)
		fputs(buf + 3, stdout);
	else
		fprintf(stderr, "vmbus-hostsim ctl: %s", len ? buf : "no answer\n");
	return ok == 1 ? 0 : 1;
}
