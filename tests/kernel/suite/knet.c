/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the tests of Linux's own hv_netvsc in the guest (see
 * ktest.h): loading the driver, its interfaces, waiting on link events
 * through rtnetlink, ethtool through SIOCETHTOOL, a peer in another
 * network namespace and a checked TCP exchange with it.
 */
#include "ktest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t knet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* hv_netvsc                                                                 */
/* ------------------------------------------------------------------------ */

static bool netvsc_loaded_by_us;
static pid_t peer_pid;

static void knet_cleanup(void)
{
	if (peer_pid > 0) {
		kill(-peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
		peer_pid = 0;
	}
	/* a driver left loaded would take the next test's network adapters */
	if (netvsc_loaded_by_us && kt_netvsc_loaded())
		kt_netvsc_unload();
}

static void knet_atexit(void)
{
	static bool done;

	if (!done)
		atexit(knet_cleanup);
	done = true;
}

bool kt_netvsc_loaded(void)
{
	return kt_exists("/sys/module/hv_netvsc");
}

void kt_netvsc_load(void)
{
	int fd, err = 0;

	if (access(KT_NETVSC_KO, R_OK))
		kt_skip(KT_NETVSC_KO " is not in this guest (only 6.1's structures are hv_netvsc's)");
	if (kt_gen() != VMBUS_SIM_GEN_6_1)
		kt_skip("hv_netvsc is Debian's 6.1 module: it runs on the stand-in of generation 6.1 only");
	knet_atexit();
	if (kt_netvsc_loaded())
		return;
	fd = open(KT_NETVSC_KO, O_RDONLY | O_CLOEXEC);
	KT_ASSERT(fd >= 0, "open " KT_NETVSC_KO ": %s", strerror(errno));
	if (syscall(SYS_finit_module, fd, "", 0))
		err = errno;
	close(fd);
	KT_ASSERT(!err || err == EEXIST, "load hv_netvsc: %s", strerror(err));
	netvsc_loaded_by_us = true;
	KT_ASSERT(kt_exists("/sys/bus/vmbus/drivers/hv_netvsc"), "hv_netvsc registered on the bus");
}

int kt_netvsc_unload(void)
{
	if (syscall(SYS_delete_module, "hv_netvsc", O_NONBLOCK))
		return -errno;
	return 0;
}

bool kt_nic_ifname(const char *guid, char out[IFNAMSIZ])
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/net", guid);
	return kt_dir_first(path, out, IFNAMSIZ);
}

int kt_netvsc_instance(char guid[37], const char *const *sim_args, char ifn[IFNAMSIZ])
{
	int kmsg;

	kt_new_instance(guid);
	kmsg = kt_kmsg_open();
	kt_hostsim_launch(guid, sim_args);
	/* hv_netvsc probed the device while it registered */
	KT_ASSERT(!strcmp(kt_bound(guid), "hv_netvsc"), "bound to hv_netvsc, not \"%s\"",
		  kt_bound(guid));
	KT_ASSERT(kt_wait_ifname(guid, ifn, KT_TIMEOUT_MS), "hv_netvsc created an interface");
	return kmsg;
}

/* ------------------------------------------------------------------------ */
/* waiting on link events                                                    */
/* ------------------------------------------------------------------------ */

bool kt_net_wait(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR };
	int64_t end = knet_now_ms() + timeout_ms;
	char buf[8192];
	bool ok;
	int fd;

	/* subscribe first: a change after the check below still wakes us */
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	KT_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		  "rtnetlink socket: %s", strerror(errno));
	while (!(ok = cond(arg))) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - knet_now_ms();

		if (left <= 0)
			break;
		/* some state changes (carrier of a device in another driver's
		 * hands, sysfs entries) come with no message: look again at
		 * least every second */
		if (poll(&p, 1, left < 1000 ? (int)left : 1000) > 0)
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
	}
	close(fd);
	return ok;
}

struct ifname_wait {
	const char *guid;
	char *out;
	bool want;
};

static bool ifname_cond(void *arg)
{
	struct ifname_wait *w = arg;
	char name[IFNAMSIZ];

	return kt_nic_ifname(w->guid, w->out ? w->out : name) == w->want;
}

bool kt_wait_ifname(const char *guid, char out[IFNAMSIZ], int timeout_ms)
{
	struct ifname_wait w = { .guid = guid, .out = out, .want = true };

	return kt_net_wait(ifname_cond, &w, timeout_ms);
}

bool kt_wait_no_ifname(const char *guid, int timeout_ms)
{
	struct ifname_wait w = { .guid = guid, .want = false };

	return kt_net_wait(ifname_cond, &w, timeout_ms);
}

int kt_if_carrier(const char *ifname)
{
	char buf[16];
	int n = kt_readf(buf, sizeof(buf), "/sys/class/net/%s/carrier", ifname);

	return n < 0 ? n : buf[0] == '1';
}

struct carrier_wait {
	const char *ifname;
	int want;
};

static bool carrier_cond(void *arg)
{
	struct carrier_wait *w = arg;

	return kt_if_carrier(w->ifname) == w->want;
}

bool kt_wait_carrier(const char *ifname, bool up, int timeout_ms)
{
	struct carrier_wait w = { .ifname = ifname, .want = up };

	return kt_net_wait(carrier_cond, &w, timeout_ms);
}

/* ------------------------------------------------------------------------ */
/* ethtool                                                                   */
/* ------------------------------------------------------------------------ */

static int ethtool(const char *ifname, void *cmd)
{
	struct ifreq ifr;
	int fd, err = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	return err;
}

int kt_ethtool_channels(const char *ifname, unsigned int *combined, unsigned int *max)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int err = ethtool(ifname, &ch);

	if (err)
		return err;
	*combined = ch.combined_count;
	*max = ch.max_combined;
	return 0;
}

int kt_ethtool_set_channels(const char *ifname, unsigned int combined)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int err = ethtool(ifname, &ch);

	if (err)
		return err;
	ch.cmd = ETHTOOL_SCHANNELS;
	ch.combined_count = combined;
	return ethtool(ifname, &ch);
}

int kt_ethtool_flag(const char *ifname, uint32_t cmd)
{
	struct ethtool_value v = { .cmd = cmd };
	int err = ethtool(ifname, &v);

	return err ? err : v.data != 0;
}

int kt_ethtool_stat(const char *ifname, const char *name, uint64_t *value)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *stats = NULL;
	uint32_t n, i;
	int err;

	err = ethtool(ifname, &info);
	if (err)
		return err;
	n = info.hdr.sset_mask ? info.len : 0;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(uint64_t));
	KT_ASSERT(names && stats, "memory");
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	err = ethtool(ifname, names);
	if (!err)
		err = ethtool(ifname, stats);
	if (!err) {
		err = -ENOENT;
		for (i = 0; i < n; i++) {
			if (!strncmp((char *)names->data + (size_t)i * ETH_GSTRING_LEN, name,
				     ETH_GSTRING_LEN)) {
				*value = stats->data[i];
				err = 0;
				break;
			}
		}
	}
	free(names);
	free(stats);
	return err;
}

/* ------------------------------------------------------------------------ */
/* commands                                                                  */
/* ------------------------------------------------------------------------ */

int kt_sh(const char *fmt, ...)
{
	const char *argv[4] = { "/bin/sh", "-c", NULL, NULL };
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	argv[2] = cmd;
	printf("# $ %s\n", cmd);
	return kt_run(argv);
}

/* vmbus-hostsim ctl @cmd and the arguments after it (NULL-terminated). */
static void ctl_argv(const char *argv[16], const char *cmd, va_list ap)
{
	unsigned int n = 0;
	const char *a;

	argv[n++] = KT_HOSTSIM;
	argv[n++] = "ctl";
	argv[n++] = "--root";
	argv[n++] = KT_HOSTSIM_ROOT;
	argv[n++] = cmd;
	while (n < 15 && (a = va_arg(ap, const char *)))
		argv[n++] = a;
	argv[n] = NULL;
}

int kt_hostsim_ctl_out(char *out, size_t len, const char *cmd, ...)
{
	const char *argv[16];
	size_t got = 0;
	int fd, status;
	va_list ap;
	pid_t pid;

	va_start(ap, cmd);
	ctl_argv(argv, cmd, ap);
	va_end(ap);
	KT_ASSERT(len > 0, "room for the output");
	pid = kt_spawn(argv, &fd, false);
	for (;;) {
		ssize_t r = read(fd, out + got, len - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == len - 1)
			break;
	}
	out[got] = '\0';
	close(fd);
	KT_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int kt_hostsim_ctl(const char *cmd, ...)
{
	const char *argv[16];
	va_list ap;

	va_start(ap, cmd);
	ctl_argv(argv, cmd, ap);
	va_end(ap);
	return kt_run(argv);
}

/* ------------------------------------------------------------------------ */
/* the peer                                                                  */
/* ------------------------------------------------------------------------ */

/* Echoes one connection until its end. */
static void echo_conn(int c)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(c, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;

		while (off < n) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));

			if (w <= 0)
				_exit(1);
			off += w;
		}
	}
	_exit(0);
}

static __attribute__((noreturn)) void peer_main(int ready, uint16_t port)
{
	/* IPv6 with IPv4-mapped addresses: one socket serves both */
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, s;

	setpgid(0, 0);
	/* the host's end stays the test's alone (one opener at a time) */
	if (kt_host_fd() >= 0)
		close(kt_host_fd());
	/* the parent's TAP interface is moved in here once it exists */
	if (unshare(CLONE_NEWNET))
		_exit(2);
	s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 64))
		_exit(3);
	signal(SIGCHLD, SIG_IGN); /* handlers reap themselves */
	if (write(ready, "r", 1) != 1)
		_exit(4);
	close(ready);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		if (fork() == 0) {
			close(s);
			echo_conn(c);
		}
		close(c);
	}
}

pid_t kt_peer_start(uint16_t port)
{
	int p[2];
	char c;

	knet_atexit();
	KT_ASSERT(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fflush(NULL);
	peer_pid = fork();
	KT_ASSERT(peer_pid >= 0, "fork");
	if (peer_pid == 0) {
		close(p[0]);
		peer_main(p[1], port);
	}
	close(p[1]);
	KT_ASSERT(read(p[0], &c, 1) == 1, "the peer's network namespace and echo server are up");
	close(p[0]);
	KT_ASSERT(kt_peer_sh("ip link set lo up") == 0, "lo up in the peer's namespace");
	return peer_pid;
}

int kt_peer_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	KT_ASSERT(peer_pid > 0, "a peer is running");
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return kt_sh("nsenter -t %d -n %s", (int)peer_pid, cmd);
}

void kt_peer_take(const char *ifname, const char *cidr, unsigned int mtu)
{
	KT_ASSERT(kt_sh("ip link set %s netns %d", ifname, (int)peer_pid) == 0,
		  "%s moved into the peer's namespace", ifname);
	KT_ASSERT(kt_peer_sh("ip addr add %s dev %s", cidr, ifname) == 0, "peer address %s", cidr);
	if (mtu)
		KT_ASSERT(kt_peer_sh("ip link set %s mtu %u", ifname, mtu) == 0, "peer MTU %u", mtu);
	KT_ASSERT(kt_peer_sh("ip link set %s up", ifname) == 0, "peer %s up", ifname);
}

/* ------------------------------------------------------------------------ */
/* checked TCP exchange                                                      */
/* ------------------------------------------------------------------------ */

/* A byte of stream @id at offset @off: no two streams or offsets alike. */
static uint8_t pattern(unsigned int id, size_t off)
{
	uint64_t x = (off / 8 + 1) * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)id << 40);

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off % 8)));
}

int kt_tcp_echo(const char *addr, uint16_t port, unsigned int id, size_t bytes)
{
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr *to = (struct sockaddr *)&sa;
	socklen_t tolen = sizeof(sa);
	size_t sent = 0, got = 0;
	uint8_t out[16384], in[16384];
	int s, err = 0;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		KT_ASSERT(inet_pton(AF_INET6, addr, &sa6.sin6_addr) == 1, "address %s", addr);
		to = (struct sockaddr *)&sa6;
		tolen = sizeof(sa6);
	}
	s = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	KT_ASSERT(s >= 0, "socket");
	if (connect(s, to, tolen)) {
		err = -errno;
		goto out;
	}
	/* send and read back in turns, so neither side's buffers fill up */
	while (got < bytes) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < bytes ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, KT_TIMEOUT_MS) <= 0) {
			err = -ETIMEDOUT;
			goto out;
		}
		if ((p.revents & POLLOUT) && sent < bytes) {
			size_t chunk = bytes - sent < sizeof(out) ? bytes - sent : sizeof(out), i;

			for (i = 0; i < chunk; i++)
				out[i] = pattern(id, sent + i);
			n = send(s, out, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN) {
				err = -errno;
				goto out;
			}
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			size_t i;

			n = recv(s, in, sizeof(in), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				err = n == 0 ? -ECONNRESET : -errno;
				goto out;
			}
			for (i = 0; n > 0 && i < (size_t)n; i++) {
				if (in[i] != pattern(id, got + i)) {
					kt_note("stream %u: byte %zu is 0x%02x, sent 0x%02x", id,
						got + i, in[i], pattern(id, got + i));
					err = -EBADMSG;
					goto out;
				}
			}
			if (n > 0)
				got += (size_t)n;
		}
	}
out:
	close(s);
	return err;
}
