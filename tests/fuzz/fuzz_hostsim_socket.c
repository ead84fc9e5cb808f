/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: vmbus-hostsim's /dev/uioN socket against a guest that
 * sends anything.  One simulator (the files-and-sockets transport under a
 * temporary root, one network adapter) runs in this process for every
 * input; each input opens connections to the adapter's socket and sends:
 *
 *   ops [op][len][len bytes]:
 *     OPEN     a new connection, as an opener or as a listener (bound to
 *              the listener tag), which becomes the current one
 *     MSG      any bytes as one message, with descriptors attached or not
 *              (a memfd sealed or not, of a size the bytes give; a pipe;
 *              several at once)
 *     MEMREG   a guest-memory registration (magic, version, size from the
 *              bytes) with a memfd: the host's GPADL setup of the
 *              simulated bus
 *     MAPREQ   a map request (version, map, relid from the bytes)
 *     IRQ      a 4-byte irqcontrol value
 *     CLOSE    closes the current connection
 *     STEP     the host runs its loop once; the guest reads what came back
 *
 * Properties: the host never crashes (ASan); it answers an open with a
 * status of the protocol; every descriptor it was sent is closed when
 * the connection goes (the process holds as many descriptors after an
 * input as before); once every connection is gone, a new opener is
 * admitted (one user at a time, and nobody locked out for good).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmbus/sim.h>

#include "fuzz.h"
#include "hostsim.h"

#define MAX_CONNS 8

enum { OP_OPEN, OP_MSG, OP_MEMREG, OP_MAPREQ, OP_IRQ, OP_CLOSE, OP_STEP, OP_COUNT };

static struct hs_bus bus;
static struct hs_dev *dev;
static char root[PATH_MAX], sock[108];

static void stop_host(void)
{
	hs_bus_fini(&bus);
	rmdir(root);
}

static void start_host(void)
{
	struct hs_opts o = {
		.nics = 1,
		.wire = "sink",
		.mtu_max = 9000,
		.max_queues = 8,
		.monitored = true,
		.latency_us = 100,
		.reaction = HS_REACT_STOP,
		.link_speed_bps = 10000000000ull,
		.ring_size = 4096 + 16384,
		.recv_size = 64u << 10,
		.send_size = 64u << 10,
	};
	const char *tmp = getenv("TMPDIR");

	hs_verbose = -1;
	snprintf(root, sizeof(root), "%s/vmbus-fuzz-host-%d", tmp && *tmp ? tmp : "/dev/shm",
		 (int)getpid());
	CHECK(mkdir(root, 0755) == 0 || errno == EEXIST);
	CHECK(hs_bus_init(&bus, &o) == 0);
	CHECK(hs_sim_transport_create(&bus, root, &bus.tp) == 0);
	CHECK(hs_wire_open(&bus, "sink", &bus.wire) == 0);
	CHECK(hs_offer_nic(&bus, NULL, &dev) == 0);
	snprintf(sock, sizeof(sock), "%s/dev/uio%u", root, dev->uio_index);
	atexit(stop_host);
}

/* Reads whatever came back, without waiting. */
static void drain(int fd)
{
	uint8_t buf[64];
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	int n = 0;

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
				     .msg_controllen = sizeof(cbuf.b) };
		struct cmsghdr *cm;

		if (n++ > 256 || recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t i, k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				/* a map: sealed, so it cannot shrink */
				CHECK(fcntl(f, F_GET_SEALS) & F_SEAL_SHRINK);
				close(f);
			}
		}
	}
}

/* Connects and takes the host's answer (*status, 1 if none yet); -1 if
 * the connect failed. */
static int conn_open(bool listener, unsigned int tag, int32_t *status)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	if (listener) {
		int n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "%sfuzz-%d-%u",
				 VMBUS_SIM_LISTENER_TAG, (int)getpid(), tag);

		if (bind(fd, (struct sockaddr *)&me,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n))) {
			close(fd);
			return -1;
		}
	}
	memcpy(sa.sun_path, sock, sizeof(sock));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	hs_bus_step(&bus);
	*status = 1;
	if (recv(fd, status, sizeof(*status), MSG_DONTWAIT) == sizeof(*status))
		CHECK(*status == 0 || *status == -EBUSY || *status == -EMFILE);
	return fd;
}

/* A descriptor to send: @kind picks a memfd sealed or not, or a pipe. */
static int make_fd(uint8_t kind, uint32_t size, int *extra)
{
	int fd, p[2];

	*extra = -1;
	switch (kind % 4) {
	case 0:
	case 1:
		fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		CHECK(fd >= 0);
		CHECK(ftruncate(fd, size % (1u << 22)) == 0);
		if (kind % 4 == 0)
			CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
		return fd;
	case 2:
		CHECK(pipe2(p, O_CLOEXEC) == 0);
		*extra = p[1];
		return p[0];
	default:
		return -1;
	}
}

static void send_msg(int conn, const void *msg, size_t len, int fd, unsigned int nfds)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int i;

	if (fd >= 0 && nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &fd, sizeof(int));
	}
	(void)sendmsg(conn, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int conns[MAX_CONNS], nconns = 0, cur = -1, fds0, i;
	unsigned int ops = 0, tags = 0;
	struct fuzz_rec r;
	size_t at = 0;

	if (!dev)
		start_host();
	fds0 = fuzz_count_fds();
	while (fuzz_next(data, size, &at, OP_COUNT, false, &ops, 48, &r)) {
		unsigned int op = r.op;
		size_t len = r.len;
		const uint8_t *p = r.p;

		if (op != OP_OPEN && op != OP_STEP && cur < 0)
			continue;
		switch (op) {
		case OP_OPEN: {
			int32_t status;
			int fd;

			if (nconns == MAX_CONNS)
				break;
			fd = conn_open(len && (p[0] & 1), tags++, &status);
			if (fd >= 0)
				conns[cur = nconns++] = fd;
			break;
		}
		case OP_MSG: {
			uint32_t sz = 0;
			int fd, extra;

			memcpy(&sz, p, len < 4 ? len : 4);
			fd = make_fd(len > 4 ? p[4] : 3, sz, &extra);
			send_msg(conns[cur], len > 5 ? p + 5 : p, len > 5 ? len - 5 : len, fd,
				 len > 4 ? 1 + (p[4] >> 2) % 4 : 0);
			if (fd >= 0)
				close(fd);
			if (extra >= 0)
				close(extra);
			break;
		}
		case OP_MEMREG: {
			struct vmbus_sim_memreg reg = { .magic = VMBUS_SIM_MEMREG_MAGIC,
							.version = VMBUS_SIM_MEMREG_VERSION,
							.size = 4096 };
			int fd, extra;

			memcpy(&reg, p, len < sizeof(reg) ? len : sizeof(reg));
			if (len < 4)
				reg.magic = VMBUS_SIM_MEMREG_MAGIC;
			fd = make_fd(len > 16 ? p[16] : 0, (uint32_t)reg.size, &extra);
			send_msg(conns[cur], &reg, sizeof(reg), fd, 1);
			if (fd >= 0)
				close(fd);
			if (extra >= 0)
				close(extra);
			break;
		}
		case OP_MAPREQ: {
			struct vmbus_sim_mapreq req = { .magic = VMBUS_SIM_MAPREQ_MAGIC,
							.version = VMBUS_SIM_MAPREQ_VERSION };

			if (len >= 2)
				req.map = p[0] == 0xff ? VMBUS_SIM_MAP_RING : p[0];
			if (len >= 6)
				memcpy(&req.relid, p + 2, 4);
			if (len >= 7 && p[6] == 0)
				req.version = p[1];
			send_msg(conns[cur], &req, sizeof(req), -1, 0);
			break;
		}
		case OP_IRQ: {
			int32_t v = 0;

			memcpy(&v, p, len < 4 ? len : 4);
			send_msg(conns[cur], &v, sizeof(v), -1, 0);
			break;
		}
		case OP_CLOSE:
			close(conns[cur]);
			conns[cur] = conns[--nconns];
			cur = nconns ? 0 : -1;
			break;
		case OP_STEP:
			hs_bus_step(&bus);
			for (i = 0; i < nconns; i++)
				drain(conns[i]);
			break;
		}
	}
	hs_bus_step(&bus);
	for (i = 0; i < nconns; i++) {
		drain(conns[i]);
		close(conns[i]);
	}
	/* the host sees the hang-ups and closes its ends */
	for (i = 0; i < 4; i++)
		hs_bus_step(&bus);
	CHECK(fuzz_count_fds() == fds0);
	/* nobody holds the device now: an opener gets it */
	{
		int32_t status;
		int fd = conn_open(false, 0, &status);

		CHECK(fd >= 0);
		CHECK(status == 0);
		close(fd);
		for (i = 0; i < 4; i++)
			hs_bus_step(&bus);
	}
	CHECK(fuzz_count_fds() == fds0);
	return 0;
}
