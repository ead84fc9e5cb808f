/* SPDX-License-Identifier: MIT */
/*
 * The file-and-socket transport: builds, under a root directory, the tree
 * a real guest has, file for file and link for link (sysfs attribute
 * files, map backing files, a SOCK_SEQPACKET socket per UIO device), so
 * that libvmbus, and programs written for a real guest, run the same code
 * as on one.
 *
 *   ROOT/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/<guid>/
 *        every attribute hv_vmbus gives a device (class_id, device_id, id,
 *        state, monitor_id and the monitor ones when monitored, modalias,
 *        numa_node, out_* and in_* of the primary's rings,
 *        channel_vp_mapping, vendor, device, driver_override), uevent,
 *        power/, subsystem and driver links,
 *        channels/<relid>/{ring,subchannel_id,cpu,out_mask,in_mask,
 *            read_avail,write_avail,interrupts,events,...}
 *        uio/uioN/{name,version,event,dev,uevent,power/,subsystem,device,
 *            maps/mapK/{name,addr,size,offset}}
 *   ROOT/sys/bus/vmbus/devices/<guid>    link to the device directory
 *   ROOT/sys/bus/vmbus/drivers/<drv>/<guid>   likewise
 *   ROOT/sys/class/uio/uioN, ROOT/sys/dev/char/243:N   links to uio/uioN
 *   ROOT/dev/uioN          the socket: 4-byte open status on connect, then
 *                          4-byte event counts; 4-byte irqcontrol from the
 *                          guest; map requests and a guest-memory
 *                          registration (below)
 *   ROOT/dev/uioN.mapK     what backs map K: links to the memfds below; map1
 *                          and map2 name the bus-wide interrupt and monitor
 *                          pages
 *
 * Every piece of memory shared with the guest is a memfd sealed so that
 * neither side can shrink it under the other's mapping: a truncated file
 * would SIGBUS whoever touches it next.  The guest gets them over the
 * socket (vmbus/sim.h); the tree's map and ring files are symbolic links
 * to them through our /proc/PID/fd, for tools that only look.
 *
 * One user at a time: a connection is an interrupt listener when its socket
 * is bound to an abstract address with the listener tag, and is then
 * accepted only from the process that holds the device open; any other
 * connection is an open and is accepted only while nobody holds it.
 *
 * Guest memory (for GPA-direct packets): a connection may send one
 * registration {magic, version, size} with a memfd attached; the host maps
 * it if it is sealed against shrinking and answers {status, base_pfn}.
 * Page numbers base_pfn + i then name page i of that memory until the
 * connection closes.  A guest that registered none is reached in its own
 * process (sim_guest_copy).
 *
 * Nothing a guest sends can end the host: every message is checked for
 * its size, kind and contents, and refused or ignored otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostsim.h"
#include <vmbus/sim.h>

#define UIO_DRIVER_NAME "hv_uio"
#define UIO_DRIVER_VERSION "0.1"

struct sim_region {
	bool used;
	void *mem;
	size_t size;
};

struct sim_conn {
	struct hs_watch w;
	struct hs_dev *dev;
	bool memory; /* registered guest memory: not an interrupt listener */
	int region; /* index in the device's regions, or -1 */
	pid_t pid; /* the guest process (SO_PEERCRED), 0 if unknown */
	/* its socket was found full: it holds wakeups already, and the next
	 * one goes when the guest has read them (EPOLLOUT) */
	bool full;
};

struct sim_dev {
	struct hs_watch listen;
	char sock_path[108];
	struct sim_conn *conns[HS_MAX_CONNS];
	unsigned int nconns;
	unsigned int nopen; /* open handles and listeners: what "open" counts */
	pid_t owner; /* the process holding the device open, while nopen > 0 */
	struct sim_region regions[HS_MAX_REGIONS];
	struct hs_peer_mem *peer; /* a guest that registered no memory */
	void *maps[5];
	size_t map_len[5];
	int map_fd[5]; /* maps 0, 3, 4 (1 and 2 are the bus's) */
	int ring_fd[HS_MAX_CHANS]; /* subchannel rings, by subchannel index */
};

struct sim_transport {
	struct hs_transport t;
	char root[PATH_MAX];
	int int_fd, mon_fd;
	unsigned int dead_seq;
};

static int mkpath(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int mkpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t i;

	if (mkpath(tmp, sizeof(tmp), "%s", path))
		return -ENAMETOOLONG;
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		tmp[i] = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_text(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces the file's content atomically, so a reader never sees half of it. */
static int write_text(const char *path, const char *fmt, ...)
{
	char tmp[PATH_MAX], buf[256];
	va_list ap;
	int fd, n, err = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) || mkpath(tmp, sizeof(tmp), "%s.tmp", path))
		return -EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		err = -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/*
 * @size zero bytes shared with the guest: a memfd sealed against shrinking
 * and growing (VMBUS_SIM_MAP_SEALS), mapped shared; its descriptor in *fdp.
 */
static void *map_memfd(const char *name, size_t size, int *fdp)
{
	void *p;
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	*fdp = -1;
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)size) || fcntl(fd, F_ADD_SEALS, (int)VMBUS_SIM_MAP_SEALS)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return p;
}

/* The tree's name for memfd @fd: a link into our /proc/PID/fd. */
static int link_memfd(const char *path, int fd)
{
	char target[64];

	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), fd);
	unlink(path);
	return symlink(target, path) ? -errno : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static struct sim_dev *sim_dev_new(void)
{
	struct sim_dev *sd = calloc(1, sizeof(*sd));
	unsigned int i;

	if (!sd)
		return NULL;
	sd->listen.fd = -1;
	for (i = 0; i < 5; i++)
		sd->map_fd[i] = -1;
	for (i = 0; i < HS_MAX_CHANS; i++)
		sd->ring_fd[i] = -1;
	return sd;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct sim_transport *sim_of(struct hs_transport *t)
{
	return (struct sim_transport *)t;
}

/* ------------------------------------------------------------------------ */
/* connections                                                               */
/* ------------------------------------------------------------------------ */

static void conn_free(struct sim_dev *sd, struct sim_conn *c)
{
	unsigned int i;

	hs_watch_del(c->dev->bus, &c->w);
	shutdown(c->w.fd, SHUT_RDWR);
	close(c->w.fd);
	if (c->region >= 0) {
		struct sim_region *r = &sd->regions[c->region];

		munmap(r->mem, r->size);
		memset(r, 0, sizeof(*r));
	}
	for (i = 0; i < sd->nconns; i++) {
		if (sd->conns[i] == c) {
			sd->conns[i] = sd->conns[--sd->nconns];
			break;
		}
	}
	free(c);
}

static void conn_closed(struct hs_dev *dev, struct sim_conn *c)
{
	struct sim_dev *sd = dev->tpriv;
	bool listener = !c->memory;

	conn_free(sd, c);
	if (listener && --sd->nopen == 0) {
		sd->owner = 0;
		hs_dev_closed(dev);
	}
}

/* A guest-memory registration: map the memfd it carries, say where it lives. */
static void conn_register(struct hs_dev *dev, struct sim_conn *c, const struct vmbus_sim_memreg *reg,
			  int fd)
{
	struct sim_dev *sd = dev->tpriv;
	struct vmbus_sim_memreply rep = { .status = 0 };
	struct stat st;
	int i, slot = -1;

	if (c->region >= 0 || c->memory) {
		rep.status = -EBUSY;
	} else if (reg->version != VMBUS_SIM_MEMREG_VERSION || reg->size == 0 ||
		   reg->size % VMBUS_HV_PAGE_SIZE || reg->size > VMBUS_SIM_REGION_MAX) {
		rep.status = -EINVAL;
	} else if (fstat(fd, &st) || (uint64_t)st.st_size < reg->size ||
		   fcntl(fd, F_GET_SEALS) < 0 || !(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK)) {
		/* only memory the guest can never shrink under us (no SIGBUS) */
		rep.status = -EINVAL;
	} else {
		for (i = 0; i < HS_MAX_REGIONS; i++)
			if (!sd->regions[i].used) {
				slot = i;
				break;
			}
		if (slot < 0)
			rep.status = -ENOSPC;
	}
	if (rep.status == 0) {
		void *m = mmap(NULL, reg->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (m == MAP_FAILED) {
			rep.status = -errno;
		} else {
			sd->regions[slot] = (struct sim_region){ .used = true, .mem = m,
								 .size = reg->size };
			c->region = slot;
			rep.base_pfn = VMBUS_SIM_REGION_PFN(slot);
			hs_debug("%s: guest memory region %d, %" PRIu64 " bytes", dev->guid, slot,
				 reg->size);
		}
	}
	/* a memory connection is not an interrupt listener any more */
	if (!c->memory) {
		c->memory = true;
		if (--sd->nopen == 0) {
			sd->owner = 0;
			hs_dev_closed(dev);
		}
	}
	if (send(c->w.fd, &rep, sizeof(rep), MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(rep))
		hs_debug("%s: registration reply lost", dev->guid);
}

/* The memfd behind map @req->map, or the ring of channel @req->relid. */
static int map_lookup(struct sim_transport *st, struct hs_dev *dev,
		      const struct vmbus_sim_mapreq *req, uint64_t *size)
{
	struct sim_dev *sd = dev->tpriv;
	unsigned int i, nmaps = dev->is_nic ? 5 : 3;

	if (req->version != VMBUS_SIM_MAPREQ_VERSION)
		return -EINVAL;
	if (req->map == VMBUS_SIM_MAP_RING) {
		for (i = 1; i < dev->nchans && i < HS_MAX_CHANS; i++) {
			struct hs_chan *ch = dev->chans[i];

			if (ch && ch->relid == req->relid && ch->ring_mem && sd->ring_fd[i] >= 0) {
				*size = ch->ring_size;
				return sd->ring_fd[i];
			}
		}
		return -ENOENT;
	}
	if (req->map >= nmaps)
		return -ENOENT;
	if (req->map == 1 || req->map == 2) {
		*size = VMBUS_HV_PAGE_SIZE;
		return req->map == 1 ? st->int_fd : st->mon_fd;
	}
	*size = sd->map_len[req->map];
	return sd->map_fd[req->map] >= 0 ? sd->map_fd[req->map] : -ENOENT;
}

/* A map request: the answer, with the sealed memfd when there is one. */
static void conn_map(struct sim_transport *st, struct hs_dev *dev, struct sim_conn *c,
		     const struct vmbus_sim_mapreq *req)
{
	struct vmbus_sim_mapreply rep = { .status = 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = c->memory ? -EINVAL : map_lookup(st, dev, req, &rep.size);

	if (fd < 0) {
		rep.status = fd;
		rep.size = 0;
	} else {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(c->w.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(rep))
		hs_debug("%s: map reply lost", dev->guid);
}

static void conn_event(struct hs_watch *w, uint32_t events)
{
	struct sim_conn *c = w->arg;
	struct hs_dev *dev = c->dev;

	if ((events & EPOLLOUT) && c->full) {
		/* the guest read the wakeups a full socket held, and may be
		 * waiting for the events after them: one more, with the count */
		c->full = false;
		hs_watch_mod(dev->bus, w, EPOLLIN);
		if (send(w->fd, &dev->events, sizeof(dev->events), MSG_NOSIGNAL | MSG_DONTWAIT) <
			    0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    !hs_watch_mod(dev->bus, w, EPOLLIN | EPOLLOUT))
			c->full = true;
	}

	for (;;) {
		union {
			int32_t irq;
			struct vmbus_sim_memreg reg;
			struct vmbus_sim_mapreq map;
			uint8_t raw[64];
		} msg;
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { &msg, sizeof(msg) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct cmsghdr *cm;
		int fd = -1, nfds = 0;
		ssize_t n = recvmsg(w->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (n <= 0) {
			conn_closed(dev, c);
			return;
		}
		/* every descriptor the guest sent is ours to close: keep one */
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			size_t i, k;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = f;
				else
					close(f);
				nfds++;
			}
		}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || nfds > 1) {
			hs_debug("%s: oversized message ignored", dev->guid);
		} else if (n == sizeof(int32_t) && fd < 0) {
			if (!c->memory)
				hs_dev_irqcontrol(dev, msg.irq);
		} else if (n == sizeof(struct vmbus_sim_memreg) && msg.reg.magic == VMBUS_SIM_MEMREG_MAGIC &&
			   fd >= 0) {
			conn_register(dev, c, &msg.reg, fd);
		} else if (n == sizeof(struct vmbus_sim_mapreq) &&
			   msg.map.magic == VMBUS_SIM_MAPREQ_MAGIC && fd < 0) {
			conn_map(sim_of(dev->bus->tp), dev, c, &msg.map);
		} else {
			/* the UIO ABI takes exactly 4 bytes; anything else is refused */
			hs_debug("%s: %zd-byte message ignored", dev->guid, n);
		}
		if (fd >= 0)
			close(fd);
	}
	if (events & (EPOLLHUP | EPOLLERR))
		conn_closed(dev, c);
}

/* Whether the peer bound its socket to an abstract listener address. */
static bool peer_is_listener(const struct sockaddr_un *sa, socklen_t len)
{
	size_t tag = strlen(VMBUS_SIM_LISTENER_TAG), off = offsetof(struct sockaddr_un, sun_path);

	return len >= off + 1 + tag && len <= sizeof(*sa) && sa->sun_path[0] == '\0' &&
	       !memcmp(sa->sun_path + 1, VMBUS_SIM_LISTENER_TAG, tag);
}

/*
 * Closes the connections whose guest is gone (a killed process's sockets
 * hang up at once, but their events may still wait in the loop), so that
 * a guest started again is not refused for its dead predecessor.
 */
static void reap_hangups(struct hs_dev *dev)
{
	struct sim_dev *sd = dev->tpriv;
	unsigned int i = 0;

	while (i < sd->nconns) {
		struct pollfd pfd = { .fd = sd->conns[i]->w.fd, .events = POLLIN | POLLRDHUP };

		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR))) {
			conn_event(&sd->conns[i]->w, EPOLLHUP);
			i = 0; /* the array changed */
			continue;
		}
		i++;
	}
}

/*
 * What a new connection gets: 0, or -EBUSY when the device is someone
 * else's (one user at a time, vmbus/sim.h) or -EMFILE when full.
 */
static int32_t admit(struct hs_dev *dev, bool listener, pid_t pid)
{
	struct sim_dev *sd = dev->tpriv;

	if (sd->nconns >= HS_MAX_CONNS || (listener ? sd->nopen == 0 || pid != sd->owner :
						      sd->nopen > 0))
		reap_hangups(dev);
	if (sd->nconns >= HS_MAX_CONNS)
		return -EMFILE;
	if (listener)
		return sd->nopen > 0 && pid == sd->owner ? 0 : -EBUSY;
	return sd->nopen > 0 ? -EBUSY : 0;
}

static void listen_event(struct hs_watch *w, uint32_t events)
{
	struct hs_dev *dev = w->arg;
	struct sim_dev *sd = dev->tpriv;
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	struct sim_conn *c;
	int fd;

	(void)events;
	while ((fd = accept4(w->fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC | SOCK_NONBLOCK)) >=
	       0) {
		bool listener = peer_is_listener(&sa, salen);
		struct ucred cr = { 0 };
		socklen_t crlen = sizeof(cr);
		int32_t status;

		salen = sizeof(sa);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen))
			cr.pid = 0;
		status = admit(dev, listener, cr.pid);
		if (!status && !(c = calloc(1, sizeof(*c))))
			status = -ENOMEM;
		if (status) {
			hs_debug("%s: %s from process %d refused: %s", dev->guid,
				 listener ? "a listener" : "an open", (int)cr.pid, strerror(-status));
			if (send(fd, &status, sizeof(status), MSG_NOSIGNAL) < 0)
				hs_debug("%s: refusal not delivered", dev->guid);
			close(fd);
			continue;
		}
		c->dev = dev;
		c->region = -1;
		c->pid = cr.pid;
		c->w.fd = fd;
		c->w.cb = conn_event;
		c->w.arg = c;
		if (hs_watch_add(dev->bus, &c->w, EPOLLIN)) {
			close(fd);
			free(c);
			continue;
		}
		sd->conns[sd->nconns++] = c;
		if (!listener)
			sd->owner = cr.pid;
		/* the guest's open() returns only now: connect before answering */
		if (sd->nopen++ == 0)
			hs_dev_opened(dev);
		if (send(fd, &status, sizeof(status), MSG_NOSIGNAL) != sizeof(status))
			conn_closed(dev, c);
	}
}

/* ------------------------------------------------------------------------ */
/* devices: the tree                                                         */
/* ------------------------------------------------------------------------ */

/*
 * Where the kernel puts VMBus devices on Hyper-V (the VMBus ACPI device's
 * children), and the way back up to sys/ from a device directory.  The
 * bus, driver, class and dev/char entries are links into it, as in sysfs.
 */
#define SIM_VMBUS_PARENT "devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00"
#define SIM_DEV_TO_SYS "../../../../../.."
/* UIO's character device major (dynamic in the kernel; 243 is common) */
#define SIM_UIO_MAJOR 243

static const char *const map_name_fmt[5] = { "txrx_rings", "int_page", "monitor_page", "recv:%u",
					     "send:%u" };

static int put(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes attribute @dir/@name. */
static int put(const char *dir, const char *name, const char *fmt, ...)
{
	char p[PATH_MAX], buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) || mkpath(p, sizeof(p), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	return write_text(p, "%s", buf);
}

static int put_link(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Makes @dir/@name a symbolic link to the target @fmt says. */
static int put_link(const char *dir, const char *name, const char *fmt, ...)
{
	char p[PATH_MAX], target[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(target, sizeof(target), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(target) || mkpath(p, sizeof(p), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	unlink(p);
	return symlink(target, p) ? -errno : 0;
}

/* The runtime PM files the driver core gives every device (power/). */
static int put_power(const char *dir)
{
	char p[PATH_MAX];
	int err;

	if (mkpath(p, sizeof(p), "%s/power", dir))
		return -ENAMETOOLONG;
	if ((err = mkdirs(p)) || (err = put(p, "control", "auto\n")) ||
	    (err = put(p, "runtime_status", "unsupported\n")) ||
	    (err = put(p, "runtime_active_time", "0\n")) ||
	    (err = put(p, "runtime_suspended_time", "0\n")))
		return err;
	return 0;
}

/* Bytes to read and to write in a ring, as hv_ringbuffer_get_debuginfo. */
static void ring_avail(struct vmbus_ring *r, uint64_t *rd, uint64_t *wr)
{
	int64_t w = r ? vmbus_ring_writable(r) : 0, d = r ? vmbus_ring_readable(r) : 0;

	*rd = d < 0 ? 0 : (uint64_t)d;
	*wr = w < 0 ? 0 : (uint64_t)w;
}

/*
 * A channel's live attributes (vmbus_drv.c's vmbus_chan_attrs), from the
 * guest's side: out = its guest-to-host ring (our receive ring), in = the
 * host-to-guest ring.  interrupts and events count the host's interrupts
 * and the guest's signals; the monitor ones exist for monitored channels
 * only (vmbus_chan_attr_is_visible).
 */
static int put_chan_live(const char *dir, struct hs_bus *bus, struct hs_chan *ch)
{
	struct vmbus_ring *out = ch->vc ? vmbus_chan_rx_ring(ch->vc) : NULL;
	struct vmbus_ring *in = ch->vc ? vmbus_chan_tx_ring(ch->vc) : NULL;
	uint64_t out_rd, out_wr, in_rd, in_wr;
	int err;

	ring_avail(out, &out_rd, &out_wr);
	ring_avail(in, &in_rd, &in_wr);
	if ((err = put(dir, "out_mask", "%u\n", out ? vmbus_ring_hdr(out)->interrupt_mask : 0)) ||
	    (err = put(dir, "in_mask", "%u\n", in ? vmbus_ring_hdr(in)->interrupt_mask : 0)) ||
	    (err = put(dir, "read_avail", "%" PRIu64 "\n", in_rd)) ||
	    (err = put(dir, "write_avail", "%" PRIu64 "\n", out_wr)) ||
	    (err = put(dir, "interrupts", "%" PRIu64 "\n", ch->signals_out)) ||
	    (err = put(dir, "events", "%" PRIu64 "\n", ch->signals_in)))
		return err;
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE && bus->monitor) {
		unsigned int g = ch->monitor_id / VMBUS_MONITOR_BITS, b = ch->monitor_id % VMBUS_MONITOR_BITS;

		if ((err = put(dir, "pending", "%u\n", bus->monitor->trigger_group[g].pending)) ||
		    (err = put(dir, "latency", "%u\n", bus->monitor->latency[g][b])))
			return err;
	}
	return 0;
}

/* A channel's directory (channels/<relid>): the static attributes, the
 * live ones as they are now. */
static int write_chan_dir(const char *dir, struct hs_chan *ch)
{
	struct hs_bus *bus = ch->dev->bus;
	int err;

	if ((err = mkdirs(dir)) || (err = put(dir, "subchannel_id", "%u\n", ch->subidx)) ||
	    (err = put(dir, "cpu", "0\n")) || (err = put(dir, "intr_in_full", "0\n")) ||
	    (err = put(dir, "intr_out_empty", "0\n")) || (err = put(dir, "out_full_first", "0\n")) ||
	    (err = put(dir, "out_full_total", "0\n")))
		return err;
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE) {
		unsigned int g = ch->monitor_id / VMBUS_MONITOR_BITS, b = ch->monitor_id % VMBUS_MONITOR_BITS;

		if ((err = put(dir, "monitor_id", "%u\n", ch->monitor_id)))
			return err;
		/* the host fills the monitor page's parameters for what it
		 * offers: connection id relid | SINT 2 << 12 (OpenVMM), and the
		 * latency in 100 ns units */
		if (bus->monitor) {
			bus->monitor->parameter[g][b].connection_id = ch->relid | 0x2000u;
			bus->monitor->parameter[g][b].flag_number = (uint16_t)ch->relid;
			bus->monitor->latency[g][b] =
				(uint16_t)(bus->opts.latency_us * 10u > 0xFFFFu ? 0xFFFFu :
										 bus->opts.latency_us * 10u);
		}
	}
	return put_chan_live(dir, bus, ch);
}

/* Linux's device type numbers (enum vmbus_device_type), shown as "device". */
static unsigned int dev_type(const struct vmbus_guid *cls)
{
	static const struct {
		struct vmbus_guid g;
		unsigned int type;
	} types[] = {
		{ VMBUS_CLASS_IDE, 0 },	      { VMBUS_CLASS_SCSI, 1 },	     { VMBUS_CLASS_FC, 2 },
		{ VMBUS_CLASS_NIC, 3 },	      { VMBUS_CLASS_ND, 4 },	     { VMBUS_CLASS_PCIE, 5 },
		{ VMBUS_CLASS_FB, 6 },	      { VMBUS_CLASS_KBD, 7 },	     { VMBUS_CLASS_MOUSE, 8 },
		{ VMBUS_CLASS_KVP, 9 },	      { VMBUS_CLASS_TIMESYNC, 10 }, { VMBUS_CLASS_HEARTBEAT, 11 },
		{ VMBUS_CLASS_SHUTDOWN, 12 }, { VMBUS_CLASS_FCOPY, 13 },    { VMBUS_CLASS_VSS, 14 },
		{ VMBUS_CLASS_DM, 15 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (vmbus_guid_equal(&types[i].g, cls))
			return types[i].type;
	return 16; /* HV_UNKNOWN */
}

/*
 * The device's live attributes (vmbus_dev_attrs): the channel state,
 * both rings of the primary (out_* the guest's outbound one), its monitor
 * slots (client: the guest-to-host page we scan; server: the host-to-guest
 * page, which only the guest kernel has: 0), every channel's target CPU,
 * and each channel directory's live files.
 */
static void put_dev_live(struct sim_transport *st, const char *dir, struct hs_dev *dev)
{
	struct hs_chan *ch = dev->chans[0];
	struct vmbus_ring *out = ch && ch->vc ? vmbus_chan_rx_ring(ch->vc) : NULL;
	struct vmbus_ring *in = ch && ch->vc ? vmbus_chan_tx_ring(ch->vc) : NULL;
	uint64_t out_rd, out_wr, in_rd, in_wr;
	char map[HS_MAX_CHANS * 16], p[PATH_MAX];
	size_t used = 0;
	unsigned int i;

	if (!ch)
		return;
	ring_avail(out, &out_rd, &out_wr);
	ring_avail(in, &in_rd, &in_wr);
	/* CHANNEL_OPENED_STATE (3) while the guest has it open, else offered (0) */
	put(dir, "state", "%d\n", ch->open ? 3 : 0);
	put(dir, "out_intr_mask", "%u\n", out ? vmbus_ring_hdr(out)->interrupt_mask : 0);
	put(dir, "out_read_index", "%u\n", out ? vmbus_ring_hdr(out)->read_index : 0);
	put(dir, "out_write_index", "%u\n", out ? vmbus_ring_hdr(out)->write_index : 0);
	put(dir, "out_read_bytes_avail", "%" PRIu64 "\n", out_rd);
	put(dir, "out_write_bytes_avail", "%" PRIu64 "\n", out_wr);
	put(dir, "in_intr_mask", "%u\n", in ? vmbus_ring_hdr(in)->interrupt_mask : 0);
	put(dir, "in_read_index", "%u\n", in ? vmbus_ring_hdr(in)->read_index : 0);
	put(dir, "in_write_index", "%u\n", in ? vmbus_ring_hdr(in)->write_index : 0);
	put(dir, "in_read_bytes_avail", "%" PRIu64 "\n", in_rd);
	put(dir, "in_write_bytes_avail", "%" PRIu64 "\n", in_wr);
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE) {
		struct vmbus_monitor_page *m = dev->bus->monitor;
		unsigned int g = ch->monitor_id / VMBUS_MONITOR_BITS, b = ch->monitor_id % VMBUS_MONITOR_BITS;

		put(dir, "client_monitor_pending", "%u\n", m ? m->trigger_group[g].pending : 0);
		put(dir, "client_monitor_latency", "%u\n", m ? m->latency[g][b] : 0);
		put(dir, "client_monitor_conn_id", "%u\n", m ? m->parameter[g][b].connection_id : 0);
		put(dir, "server_monitor_pending", "0\n");
		put(dir, "server_monitor_latency", "0\n");
		put(dir, "server_monitor_conn_id", "0\n");
	}
	for (i = 0; i < dev->nchans; i++) {
		struct hs_chan *c = dev->chans[i];

		if (!c)
			continue;
		used += (size_t)snprintf(map + used, sizeof(map) - used, "%u:0\n", c->relid);
		if (used >= sizeof(map))
			break;
		if (!mkpath(p, sizeof(p), "%s/channels/%u", dir, c->relid) && c->vc)
			put_chan_live(p, dev->bus, c);
	}
	put(dir, "channel_vp_mapping", "%s", map);
	(void)st;
}

/*
 * The device directory hv_vmbus makes (vmbus_dev_attrs, shown as
 * vmbus_dev_attr_is_visible shows them: the monitor ones for monitored
 * channels only), plus the driver core's uevent, power/, subsystem and
 * driver links, and the primary's channel directory.
 */
static int write_dev_dir(struct sim_transport *st, const char *dir, struct hs_dev *dev,
			 const char *driver)
{
	struct hs_chan *ch = dev->chans[0];
	char name[VMBUS_GUID_STRLEN], alias[40], p[PATH_MAX];
	unsigned int i;
	int err = 0;

	for (i = 0; i < 16; i++)
		snprintf(alias + 2 * i, 3, "%02x", dev->class_id.b[i]);
	vmbus_guid_format(&dev->class_id, name);
	if ((err = mkdirs(dir)) || (err = put(dir, "class_id", "{%s}\n", name)) ||
	    (err = put(dir, "device_id", "{%s}\n", dev->guid)) ||
	    (err = put(dir, "id", "%u\n", ch->relid)) ||
	    (err = put(dir, "modalias", "vmbus:%s\n", alias)) ||
	    (err = put(dir, "numa_node", "0\n")) || (err = put(dir, "vendor", "0x1414\n")) ||
	    (err = put(dir, "device", "0x%x\n", dev_type(&dev->class_id))) ||
	    (err = put(dir, "driver_override", "(null)\n")) ||
	    (err = put(dir, "uevent", "DRIVER=%s\nMODALIAS=vmbus:%s\n", driver, alias)) ||
	    (err = put_power(dir)) ||
	    (err = put_link(dir, "subsystem", SIM_DEV_TO_SYS "/bus/vmbus")) ||
	    (err = put_link(dir, "driver", SIM_DEV_TO_SYS "/bus/vmbus/drivers/%s", driver)))
		return err;
	if (ch->monitor_id != VMBUS_MONITOR_ID_NONE && (err = put(dir, "monitor_id", "%u\n",
								    ch->monitor_id)))
		return err;
	if (mkpath(p, sizeof(p), "%s/channels/%u", dir, ch->relid))
		return -ENAMETOOLONG;
	if ((err = write_chan_dir(p, ch)))
		return err;
	put_dev_live(st, dir, dev);
	return 0;
}

/*
 * Puts the device built at @tmpdir into place, then the links to it, the
 * bus's last: a scan sees a device only once it is whole.
 */
static int publish_dev(struct sim_transport *st, struct hs_dev *dev, const char *tmpdir,
		       const char *driver)
{
	char dir[PATH_MAX], p[PATH_MAX];
	int err;

	if (mkpath(dir, sizeof(dir), "%s/sys/" SIM_VMBUS_PARENT "/%s", st->root, dev->guid))
		return -ENAMETOOLONG;
	if (rename(tmpdir, dir))
		return -errno;
	if (!dev->kernel_driver) {
		/* the UIO device as the uio class and /sys/dev/char see it */
		char n[32];

		snprintf(n, sizeof(n), "uio%u", dev->uio_index);
		if (mkpath(p, sizeof(p), "%s/sys/class/uio", st->root))
			return -ENAMETOOLONG;
		if ((err = put_link(p, n, "../../" SIM_VMBUS_PARENT "/%s/uio/uio%u", dev->guid,
				    dev->uio_index)))
			return err;
		snprintf(n, sizeof(n), "%u:%u", SIM_UIO_MAJOR, dev->uio_index);
		if (mkpath(p, sizeof(p), "%s/sys/dev/char", st->root))
			return -ENAMETOOLONG;
		if ((err = put_link(p, n, "../../" SIM_VMBUS_PARENT "/%s/uio/uio%u", dev->guid,
				    dev->uio_index)))
			return err;
	}
	if (mkpath(p, sizeof(p), "%s/sys/bus/vmbus/drivers/%s", st->root, driver))
		return -ENAMETOOLONG;
	if ((err = mkdirs(p)) ||
	    (err = put_link(p, dev->guid, "../../../../" SIM_VMBUS_PARENT "/%s", dev->guid)))
		return err;
	if (mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices", st->root))
		return -ENAMETOOLONG;
	return put_link(p, dev->guid, "../../../" SIM_VMBUS_PARENT "/%s", dev->guid);
}

/* Takes the device out of the tree: the bus entry first, then the rest. */
static void unpublish_dev(struct sim_transport *st, struct hs_dev *dev, const char *driver)
{
	char p[PATH_MAX], dead[PATH_MAX];

	if (!mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices/%s", st->root, dev->guid))
		unlink(p);
	if (!mkpath(p, sizeof(p), "%s/sys/bus/vmbus/drivers/%s/%s", st->root, driver, dev->guid))
		unlink(p);
	if (!dev->kernel_driver) {
		if (!mkpath(p, sizeof(p), "%s/sys/class/uio/uio%u", st->root, dev->uio_index))
			unlink(p);
		if (!mkpath(p, sizeof(p), "%s/sys/dev/char/%u:%u", st->root, SIM_UIO_MAJOR,
			    dev->uio_index))
			unlink(p);
	}
	/* the directory goes away at once: renamed aside, then removed */
	if (!mkpath(p, sizeof(p), "%s/sys/" SIM_VMBUS_PARENT "/%s", st->root, dev->guid) &&
	    !mkpath(dead, sizeof(dead), "%s/sys/" SIM_VMBUS_PARENT "/.%s.dead%u", st->root, dev->guid,
		    st->dead_seq++) &&
	    !rename(p, dead))
		rm_rf(dead);
}

/* The place a device is built in before it appears. */
static int dev_tmpdir(struct sim_transport *st, struct hs_dev *dev, char *buf, size_t len)
{
	if (mkpath(buf, len, "%s/sys/" SIM_VMBUS_PARENT "/.%s.new", st->root, dev->guid))
		return -ENAMETOOLONG;
	rm_rf(buf);
	return 0;
}

/*
 * A device a guest kernel driver holds: its directory, bound to that
 * driver, and its channel's attributes; no UIO device, no ring file (the
 * ring belongs to the kernel driver).
 */
static int sim_offer_other(struct sim_transport *st, struct hs_dev *dev)
{
	char tmpdir[PATH_MAX];
	struct sim_dev *sd;
	int err;

	sd = sim_dev_new();
	if (!sd)
		return -ENOMEM;
	dev->tpriv = sd;
	if ((err = dev_tmpdir(st, dev, tmpdir, sizeof(tmpdir))) ||
	    (err = write_dev_dir(st, tmpdir, dev, dev->kernel_driver)))
		return err;
	/* the guest's driver keeps its rings empty: all of it is writable */
	{
		char p[PATH_MAX];

		if (mkpath(p, sizeof(p), "%s/channels/%u", tmpdir, dev->chans[0]->relid) ||
		    (err = put(p, "write_avail", "%zu\n", dev->ring_size - VMBUS_HV_PAGE_SIZE)))
			return err ? err : -ENAMETOOLONG;
	}
	return publish_dev(st, dev, tmpdir, dev->kernel_driver);
}

static int sim_offer(struct hs_transport *t, struct hs_dev *dev)
{
	if (dev->kernel_driver) {
		int ret = sim_offer_other(sim_of(t), dev);

		if (ret)
			hs_log("%s: cannot offer the device under %s: %s", dev->guid,
			       sim_of(t)->root, strerror(-ret));
		return ret;
	}

	struct sim_transport *st = sim_of(t);
	struct hs_chan *ch = dev->chans[0];
	struct sim_dev *sd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmpdir[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], name[40];
	size_t sizes[5];
	unsigned int i, nmaps = dev->is_nic ? 5 : 3;
	int err = -ENOMEM;

	sd = sim_dev_new();
	if (!sd)
		return -ENOMEM;
	dev->tpriv = sd;
	sizes[0] = 2 * dev->ring_size;
	sizes[1] = sizes[2] = VMBUS_HV_PAGE_SIZE;
	sizes[3] = dev->recv_size;
	sizes[4] = dev->send_size;

	/* the device directory is built aside, its UIO device inside it
	 * (as uio_register_device puts it under the parent), with the map
	 * backing files */
	if ((err = dev_tmpdir(st, dev, tmpdir, sizeof(tmpdir))))
		goto fail;
	if (mkpath(dir, sizeof(dir), "%s/uio/uio%u", tmpdir, dev->uio_index))
		goto fail_path;
	for (i = 0; i < nmaps; i++) {
		if (mkpath(p, sizeof(p), "%s/maps/map%u", dir, i) || (err = mkdirs(p)))
			goto fail;
		snprintf(name, sizeof(name), map_name_fmt[i],
			 i == 3 ? dev->recv_gpadl : dev->send_gpadl);
		if (mkpath(p, sizeof(p), "%s/maps/map%u/name", dir, i) ||
		    (err = write_text(p, "%s\n", name)) ||
		    mkpath(p, sizeof(p), "%s/maps/map%u/size", dir, i) ||
		    (err = write_text(p, "0x%016zx\n", sizes[i])) ||
		    mkpath(p, sizeof(p), "%s/maps/map%u/addr", dir, i) ||
		    (err = write_text(p, "0x%016x\n", 0)) ||
		    mkpath(p, sizeof(p), "%s/maps/map%u/offset", dir, i) ||
		    (err = write_text(p, "0x0\n")))
			goto fail;
		if (mkpath(p, sizeof(p), "%s/dev/uio%u.map%u", st->root, dev->uio_index, i))
			goto fail_path;
		if (i == 1 || i == 2) {
			/* every device maps the same interrupt and monitor pages */
			if ((err = link_memfd(p, i == 1 ? st->int_fd : st->mon_fd)))
				goto fail;
			continue;
		}
		snprintf(name, sizeof(name), "vmbus-uio%u-map%u", dev->uio_index, i);
		sd->maps[i] = map_memfd(name, sizes[i], &sd->map_fd[i]);
		if (!sd->maps[i]) {
			err = -errno;
			goto fail;
		}
		sd->map_len[i] = sizes[i];
		if ((err = link_memfd(p, sd->map_fd[i])))
			goto fail;
	}
	/* the UIO core's attributes (uio.c uio_groups) and the driver core's */
	if ((err = put(dir, "name", "%s\n", UIO_DRIVER_NAME)) ||
	    (err = put(dir, "version", "%s\n", UIO_DRIVER_VERSION)) ||
	    (err = put(dir, "event", "0\n")) ||
	    (err = put(dir, "dev", "%u:%u\n", SIM_UIO_MAJOR, dev->uio_index)) ||
	    (err = put(dir, "uevent", "MAJOR=%u\nMINOR=%u\nDEVNAME=uio%u\n", SIM_UIO_MAJOR,
		       dev->uio_index, dev->uio_index)) ||
	    (err = put_power(dir)) ||
	    (err = put_link(dir, "subsystem", "../../" SIM_DEV_TO_SYS "/class/uio")) ||
	    (err = put_link(dir, "device", "../../../%s", dev->guid)))
		goto fail;

	ch->ring_mem = sd->maps[0];
	ch->ring_size = sizes[0];
	if (dev->is_nic) {
		dev->recv_buf = sd->maps[3];
		dev->send_buf = sd->maps[4];
	}

	/* the socket that is the guest's /dev/uioN */
	if (mkpath(sa.sun_path, sizeof(sa.sun_path), "%s/dev/uio%u", st->root, dev->uio_index)) {
		hs_log("root %s is too long for a socket path", st->root);
		goto fail_path;
	}
	memcpy(sd->sock_path, sa.sun_path, sizeof(sd->sock_path));
	unlink(sa.sun_path);
	sd->listen.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sd->listen.fd < 0 || bind(sd->listen.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(sd->listen.fd, 64)) {
		err = -errno;
		goto fail;
	}
	sd->listen.cb = listen_event;
	sd->listen.arg = dev;
	if ((err = hs_watch_add(dev->bus, &sd->listen, EPOLLIN)))
		goto fail;

	/* the device's own attributes and the primary's channel directory,
	 * its ring file the same memory as map 0 */
	if ((err = write_dev_dir(st, tmpdir, dev, UIO_DRIVER_NAME)))
		goto fail;
	if (mkpath(p, sizeof(p), "%s/channels/%u/ring", tmpdir, ch->relid))
		goto fail_path;
	if ((err = link_memfd(p, sd->map_fd[0])))
		goto fail;
	if ((err = publish_dev(st, dev, tmpdir, UIO_DRIVER_NAME)))
		goto fail;
	return 0;
fail_path:
	err = -ENAMETOOLONG;
fail:
	hs_log("%s: cannot offer the device under %s: %s", dev->guid, st->root, strerror(-err));
	return err;
}

static int sim_offer_chan(struct hs_transport *t, struct hs_chan *ch)
{
	struct sim_transport *st = sim_of(t);
	struct hs_dev *dev = ch->dev;
	struct sim_dev *sd = dev->tpriv;
	char tmpdir[PATH_MAX], dir[PATH_MAX], p[PATH_MAX], name[48];
	int err;

	if (!sd)
		return -ENODEV;
	if (mkpath(tmpdir, sizeof(tmpdir), "%s/sys/bus/vmbus/devices/%s/channels/.%u.new", st->root,
		   dev->guid, ch->relid) ||
	    mkpath(dir, sizeof(dir), "%s/sys/bus/vmbus/devices/%s/channels/%u", st->root, dev->guid,
		   ch->relid) ||
	    mkpath(p, sizeof(p), "%s/ring", tmpdir))
		return -ENAMETOOLONG;
	if ((err = write_chan_dir(tmpdir, ch)))
		return err;
	if (ch->subidx >= HS_MAX_CHANS)
		return -EINVAL;
	ch->ring_size = 2 * dev->ring_size;
	snprintf(name, sizeof(name), "vmbus-relid%u-ring", ch->relid);
	ch->ring_mem = map_memfd(name, ch->ring_size, &sd->ring_fd[ch->subidx]);
	if (!ch->ring_mem)
		return -errno;
	/* appears all at once, its ring already opened by the driver: the
	 * host is attached before the guest can write to it */
	hs_chan_ready(ch);
	if ((err = link_memfd(p, sd->ring_fd[ch->subidx])) || rename(tmpdir, dir)) {
		err = err ? err : -errno;
		hs_chan_closed(ch);
		munmap(ch->ring_mem, ch->ring_size);
		ch->ring_mem = NULL;
		close_fd(&sd->ring_fd[ch->subidx]);
		return err;
	}
	return 0;
}

static void sim_rescind(struct hs_transport *t, struct hs_dev *dev)
{
	struct sim_transport *st = sim_of(t);
	struct sim_dev *sd = dev->tpriv;
	char p[PATH_MAX];
	unsigned int i;

	if (!sd)
		return;
	/* hang up every guest handle: reads see EOF, writes EPIPE */
	while (sd->nconns)
		conn_free(sd, sd->conns[0]);
	hs_peer_mem_close(sd->peer);
	sd->peer = NULL;
	sd->nopen = 0;
	if (sd->listen.fd >= 0) {
		hs_watch_del(dev->bus, &sd->listen);
		shutdown(sd->listen.fd, SHUT_RDWR);
		close(sd->listen.fd);
		sd->listen.fd = -1;
		unlink(sd->sock_path);
	}
	unpublish_dev(st, dev, dev->kernel_driver ? dev->kernel_driver : UIO_DRIVER_NAME);
	for (i = 0; i < 5 && !dev->kernel_driver; i++) {
		if (!mkpath(p, sizeof(p), "%s/dev/uio%u.map%u", st->root, dev->uio_index, i))
			unlink(p);
	}
	/* the guest may still have these mapped: its memory stays valid */
	for (i = 0; i < 5; i++) {
		if (sd->maps[i])
			munmap(sd->maps[i], sd->map_len[i]);
		close_fd(&sd->map_fd[i]);
	}
	for (i = 0; i < HS_MAX_CHANS; i++)
		close_fd(&sd->ring_fd[i]);
	if (dev->chans[0])
		dev->chans[0]->ring_mem = NULL;
	dev->recv_buf = dev->send_buf = NULL;
	free(sd);
	dev->tpriv = NULL;
}

static void sim_rescind_chan(struct hs_transport *t, struct hs_chan *ch)
{
	struct sim_transport *st = sim_of(t);
	struct sim_dev *sd = ch->dev->tpriv;
	char p[PATH_MAX], dead[PATH_MAX];

	if (!mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices/%s/channels/%u", st->root, ch->dev->guid,
		    ch->relid) &&
	    !mkpath(dead, sizeof(dead), "%s/sys/bus/vmbus/devices/%s/channels/.%u.dead%u", st->root,
		    ch->dev->guid, ch->relid, st->dead_seq++) &&
	    !rename(p, dead))
		rm_rf(dead);
	if (ch->ring_mem)
		munmap(ch->ring_mem, ch->ring_size);
	ch->ring_mem = NULL;
	if (sd && ch->subidx < HS_MAX_CHANS)
		close_fd(&sd->ring_fd[ch->subidx]);
}

static int sim_signal(struct hs_transport *t, struct hs_chan *ch)
{
	struct hs_dev *dev = ch->dev;
	struct sim_dev *sd = dev->tpriv;
	unsigned int i;

	(void)t;
	if (!sd)
		return -ENODEV;
	dev->events++;
	for (i = 0; i < sd->nconns; i++) {
		struct sim_conn *c = sd->conns[i];

		if (c->memory || c->full)
			continue;
		/* a full socket already holds wakeups (events coalesce); a
		 * listener nobody reads (the device's own handle, typically)
		 * stays full and costs nothing more */
		if (send(c->w.fd, &dev->events, sizeof(dev->events), MSG_NOSIGNAL | MSG_DONTWAIT) <
			    0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->full = true;
			if (hs_watch_mod(dev->bus, &c->w, EPOLLIN | EPOLLOUT))
				c->full = false; /* try again at the next event */
		}
	}
	return 0;
}

/*
 * Guest memory by page number, as a real host reaches any page its guest
 * names: the regions the guest registered (libvmbus's DMA memory) and,
 * for a guest that registered none, the memory of the process holding the
 * device open (peer_mem.c, as root).  Every refusal is logged at -v with
 * its reason.
 */
static int sim_guest_copy(struct hs_transport *t, struct hs_dev *dev, uint64_t pfn, uint32_t off,
			  void *buf, uint32_t len, bool write)
{
	struct sim_dev *sd = dev->tpriv;
	char why_buf[96];
	const char *why = NULL;
	unsigned int i, nreg = 0;
	pid_t pid = 0;

	(void)t;
	if (!sd) {
		why = "the device is gone";
	} else if (off >= VMBUS_HV_PAGE_SIZE || len > VMBUS_HV_PAGE_SIZE - off) {
		why = "the range does not fit in the page";
	} else {
		for (i = 0; i < HS_MAX_REGIONS; i++) {
			struct sim_region *r = &sd->regions[i];
			uint64_t base = VMBUS_SIM_REGION_PFN(i);
			uint8_t *p;

			if (!r->used)
				continue;
			nreg++;
			if (pfn < base || pfn - base >= r->size / VMBUS_HV_PAGE_SIZE)
				continue;
			p = (uint8_t *)r->mem + (pfn - base) * VMBUS_HV_PAGE_SIZE + off;
			if (write)
				memcpy(p, buf, len);
			else
				memcpy(buf, p, len);
			return 0;
		}
		for (i = 0; i < sd->nconns && !pid; i++)
			if (!sd->conns[i]->memory)
				pid = sd->conns[i]->pid;
		if (nreg) {
			snprintf(why_buf, sizeof(why_buf),
				 "in none of the %u memory region(s) the guest registered", nreg);
			why = why_buf;
		} else if (!pid) {
			why = "no guest process holds the device open";
		} else {
			if (sd->peer && hs_peer_mem_pid(sd->peer) != pid) {
				hs_peer_mem_close(sd->peer);
				sd->peer = NULL;
			}
			if (!sd->peer && hs_peer_mem_open(pid, &sd->peer)) {
				sd->peer = NULL;
				why = "cannot open the guest process's page map (run as root)";
			} else if (hs_peer_mem_copy(sd->peer, pfn, off, buf, len, write, &why) == 0) {
				return 0;
			}
		}
	}
	hs_debug("%s: guest page 0x%" PRIx64 " (+%u, %u bytes) refused: %s", dev->guid, pfn, off,
		 len, why);
	return -EFAULT;
}

static void sim_update_attrs(struct hs_transport *t, struct hs_dev *dev)
{
	struct sim_transport *st = sim_of(t);
	char p[PATH_MAX];

	if (!dev->tpriv)
		return;
	if (!dev->kernel_driver &&
	    !mkpath(p, sizeof(p), "%s/sys/class/uio/uio%u/event", st->root, dev->uio_index))
		write_text(p, "%u\n", dev->events);
	if (!mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices/%s", st->root, dev->guid))
		put_dev_live(st, p, dev);
}

static void sim_destroy(struct hs_transport *t)
{
	struct sim_transport *st = sim_of(t);
	char p[PATH_MAX];

	if (st->t.bus->int_page)
		munmap(st->t.bus->int_page, VMBUS_HV_PAGE_SIZE);
	if (st->t.bus->monitor)
		munmap(st->t.bus->monitor, VMBUS_HV_PAGE_SIZE);
	st->t.bus->int_page = NULL;
	st->t.bus->monitor = NULL;
	close_fd(&st->int_fd);
	close_fd(&st->mon_fd);
	if (!mkpath(p, sizeof(p), "%s/sys", st->root))
		rm_rf(p);
	if (!mkpath(p, sizeof(p), "%s/dev", st->root))
		rm_rf(p);
	free(st);
}

static const struct hs_transport_ops sim_ops = {
	.name = "files+sockets",
	.plays_kernel = true,
	.offer = sim_offer,
	.offer_chan = sim_offer_chan,
	.rescind_chan = sim_rescind_chan,
	.rescind = sim_rescind,
	.signal = sim_signal,
	.guest_copy = sim_guest_copy,
	.update_attrs = sim_update_attrs,
	.destroy = sim_destroy,
};

int hs_sim_transport_create(struct hs_bus *bus, const char *root, struct hs_transport **out)
{
	struct sim_transport *st;
	char p[PATH_MAX];
	struct stat sb;
	int err;

	if (stat(root, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (!mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices", root) && stat(p, &sb) == 0) {
			hs_log("%s already holds a VMBus tree: is another vmbus-hostsim running "
			       "there? (remove %s/sys and %s/dev if not)",
			       root, root, root);
			return -EEXIST;
		}
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->t.ops = &sim_ops;
	st->t.bus = bus;
	st->int_fd = st->mon_fd = -1;
	if (mkpath(st->root, sizeof(st->root), "%s", root)) {
		free(st);
		return -ENAMETOOLONG;
	}
	if (mkpath(p, sizeof(p), "%s/sys/bus/vmbus/devices", root) || (err = mkdirs(p)) ||
	    mkpath(p, sizeof(p), "%s/sys/bus/vmbus/drivers/%s", root, UIO_DRIVER_NAME) ||
	    (err = mkdirs(p)) || mkpath(p, sizeof(p), "%s/sys/class/uio", root) ||
	    (err = mkdirs(p)) || mkpath(p, sizeof(p), "%s/sys/" SIM_VMBUS_PARENT, root) ||
	    (err = mkdirs(p)) || mkpath(p, sizeof(p), "%s/sys/dev/char", root) ||
	    (err = mkdirs(p)) || mkpath(p, sizeof(p), "%s/sys/bus/vmbus", root) ||
	    (err = put(p, "hibernation", "0\n")) || mkpath(p, sizeof(p), "%s/dev", root) ||
	    (err = mkdirs(p))) {
		hs_log("cannot create the VMBus tree under %s: %s", root, strerror(errno));
		free(st);
		return -errno ? -errno : -EIO;
	}
	if (!(bus->int_page = map_memfd("vmbus-int-page", VMBUS_HV_PAGE_SIZE, &st->int_fd)) ||
	    !(bus->monitor = map_memfd("vmbus-monitor-page", VMBUS_HV_PAGE_SIZE, &st->mon_fd))) {
		err = -errno;
		hs_log("cannot create the interrupt and monitor pages under %s/dev: %s", root,
		       strerror(errno));
		sim_destroy(&st->t);
		return err ? err : -EIO;
	}
	*out = &st->t;
	return 0;
}
