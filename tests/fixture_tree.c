/* SPDX-License-Identifier: MIT */
/*
 * Test fixtures (fixture_tree.h): VMBus device trees under a temporary
 * root, and a minimal host behind the simulated /dev/uioN socket.
 * Compiled once into the tests' helper library.
 */
#include <dirent.h>
#include <sys/mman.h>

#include <vmbus/sim.h>

#include "fixture_tree.h"

struct fx_device fx_nic_6_1(void)
{
	struct fx_device d = {
		.guid = FX_NIC_GUID,
		.class_id = FX_NIC_CLASS "\n",
		.device_id = "{" FX_NIC_GUID "}\n",
		.id = "14\n",
		.monitor_id = "2\n",
		.bound = true,
		.driver = "uio_hv_generic",
		.uio_name = "uio_hv_generic\n",
		.uio_version = "0.02.1\n",
		.nmaps = 5,
		.maps = {
			{ "txrx_rings\n", "0x0000000000400000\n", FX_RING_4M },
			{ "int_page\n", "0x0000000000001000\n", 4096 },
			{ "monitor_page\n", "0x0000000000001000\n", 4096 },
			{ "recv:921104\n", "0x0000000001f00000\n", FX_RECV_31M },
			{ "send:921105\n", "0x0000000001000000\n", FX_SEND_16M },
		},
	};
	return d;
}

struct fx_device fx_nic_6_16(void)
{
	struct fx_device d = fx_nic_6_1();

	d.maps[3].name = "recv:921200\n";
	d.maps[4].name = "send:921201\n";
	return d;
}

struct fx_device fx_fcopy_6_16(void)
{
	struct fx_device d = {
		.guid = FX_FCOPY_GUID,
		.class_id = FX_FCOPY_CLASS "\n",
		.device_id = "{" FX_FCOPY_GUID "}\n",
		.id = "5\n",
		.monitor_id = NULL,
		.bound = true,
		.driver = "uio_hv_generic",
		.uio_name = "uio_hv_generic\n",
		.uio_version = "0.02.1\n",
		.nmaps = 3,
		.maps = {
			{ "txrx_rings\n", "0x000000000000a000\n", 0xa000 },
			{ "int_page\n", "0x0000000000001000\n", 4096 },
			{ "monitor_page\n", "0x0000000000001000\n", 4096 },
		},
	};
	return d;
}

void fx_die(const char *what)
{
	fprintf(stderr, "fixture: %s: %s\n", what, strerror(errno));
	abort();
}

void fx_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		fx_die("path too long");
}

void fx_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t i;

	fx_path(tmp, sizeof(tmp), "%s", path);
	for (i = 1; tmp[i]; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			fx_die(tmp);
		tmp[i] = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		fx_die(tmp);
}

void fx_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fx_die(path);
	fputs(text, f);
	fclose(f);
}

void fx_file_sized(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		fx_die(path);
	close(fd);
}

void fx_build(const char *root, const struct fx_device *d)
{
	char dir[PATH_MAX], p[PATH_MAX];
	unsigned int i;

	fx_path(dir, sizeof(dir), "%s/sys/bus/vmbus/devices/%s", root, d->guid);
	fx_mkdirs(dir);
	fx_path(p, sizeof(p), "%s/channels", dir);
	fx_mkdirs(p);
	if (d->class_id) {
		fx_path(p, sizeof(p), "%s/class_id", dir);
		fx_write(p, d->class_id);
	}
	if (d->device_id) {
		fx_path(p, sizeof(p), "%s/device_id", dir);
		fx_write(p, d->device_id);
	}
	if (d->id) {
		fx_path(p, sizeof(p), "%s/id", dir);
		fx_write(p, d->id);
	}
	if (d->monitor_id) {
		fx_path(p, sizeof(p), "%s/monitor_id", dir);
		fx_write(p, d->monitor_id);
	}
	if (d->driver) {
		fx_path(p, sizeof(p), "%s/driver", dir);
		char target[PATH_MAX];

		fx_path(target, sizeof(target), "../../../bus/vmbus/drivers/%s", d->driver);
		if (symlink(target, p))
			fx_die(p);
	}
	if (d->bound) {
		fx_path(p, sizeof(p), "%s/uio/uio0", dir);
		fx_mkdirs(p);
	}
	fx_path(dir, sizeof(dir), "%s/sys/class/uio/uio0", root);
	fx_mkdirs(dir);
	if (d->uio_name) {
		fx_path(p, sizeof(p), "%s/name", dir);
		fx_write(p, d->uio_name);
	}
	if (d->uio_version) {
		fx_path(p, sizeof(p), "%s/version", dir);
		fx_write(p, d->uio_version);
	}
	fx_path(p, sizeof(p), "%s/dev", root);
	fx_mkdirs(p);
	for (i = 0; i < d->nmaps; i++) {
		fx_path(p, sizeof(p), "%s/maps/map%u", dir, i);
		fx_mkdirs(p);
		fx_path(p, sizeof(p), "%s/maps/map%u/name", dir, i);
		fx_write(p, d->maps[i].name);
		fx_path(p, sizeof(p), "%s/maps/map%u/size", dir, i);
		fx_write(p, d->maps[i].size);
		fx_path(p, sizeof(p), "%s/maps/map%u/offset", dir, i);
		fx_write(p, "0x0\n");
		if (d->maps[i].backing) {
			fx_path(p, sizeof(p), "%s/dev/uio0.map%u", root, i);
			fx_file_sized(p, d->maps[i].backing);
		}
	}
}

void fx_add_subchannel(const char *root, const char *guid, unsigned int relid,
		       unsigned int subchan_id, const char *monitor_id,
		       size_t ring_size)
{
	char dir[PATH_MAX], p[PATH_MAX], v[32];

	fx_path(dir, sizeof(dir), "%s/sys/bus/vmbus/devices/%s/channels/%u", root, guid, relid);
	fx_mkdirs(dir);
	fx_path(p, sizeof(p), "%s/subchannel_id", dir);
	snprintf(v, sizeof(v), "%u\n", subchan_id);
	fx_write(p, v);
	if (monitor_id) {
		fx_path(p, sizeof(p), "%s/monitor_id", dir);
		fx_write(p, monitor_id);
	}
	/* the ring last: its presence means "opened" */
	fx_path(p, sizeof(p), "%s/ring.tmp", dir);
	fx_file_sized(p, ring_size);
	fx_path(v, sizeof(v), "%s", "ring");
	{
		char final[PATH_MAX];

		fx_path(final, sizeof(final), "%s/ring", dir);
		if (rename(p, final))
			fx_die(final);
	}
}

char *fx_root(void)
{
	char *root = strdup("/tmp/vmbus-test-XXXXXX");

	if (!root || !mkdtemp(root))
		fx_die("mkdtemp");
	return root;
}

void fx_rm_rf(const char *root)
{
	char cmd[PATH_MAX + 16];

	if (strncmp(root, "/tmp/vmbus-test-", 16) != 0)
		abort();
	fx_path(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "fixture: could not remove %s\n", root);
}

/*
 * Turns the file at @path (zeros) into a memfd of its size, sealed
 * according to @mode, and the file into a link to it.  Returns the memfd.
 */
static int fx_memfd_of(const char *path, enum fx_map_mode mode)
{
	struct stat st;
	char target[64];
	int fd, mfd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		fx_die(path);
	if (mode == FX_MAP_FILE)
		return fd;
	/* the fixture's files are zeros (fx_file_sized): so is a new memfd */
	mfd = memfd_create("fx-map", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, st.st_size))
		fx_die("memfd");
	close(fd);
	if (mode != FX_MAP_UNSEALED && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		fx_die("seals");
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), mfd);
	if (unlink(path) || symlink(target, path))
		fx_die(path);
	return mfd;
}

/* The ring file of channel @relid under any device of the tree, or "". */
static void fx_find_ring(const char *root, uint32_t relid, char *out, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	fx_path(dir, sizeof(dir), "%s/sys/bus/vmbus/devices", root);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		fx_path(out, len, "%s/%s/channels/%u/ring", dir, de->d_name, relid);
		if (stat(out, &st) == 0)
			break;
		out[0] = '\0';
	}
	closedir(d);
}

/* Answers one map request on client @c (with h->lock held). */
static void fx_host_map(struct fx_host *h, int c, const struct vmbus_sim_mapreq *req)
{
	struct vmbus_sim_mapreply rep = { .status = 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct stat st;
	int fd = -1;

	if (req->map == VMBUS_SIM_MAP_RING) {
		char path[PATH_MAX];

		fd = h->ring_fd[req->relid % 64];
		if (fd < 0) {
			fx_find_ring(h->root, req->relid, path, sizeof(path));
			if (path[0])
				fd = h->ring_fd[req->relid % 64] = fx_memfd_of(path, h->map_mode);
		}
	} else if (req->map < FX_MAX_MAPS) {
		fd = h->map_fd[req->map];
	}
	if (fd < 0 || fstat(fd, &st)) {
		rep.status = -ENOENT;
		fd = -1;
	} else {
		rep.size = (uint64_t)st.st_size;
	}
	if (fd >= 0 && h->map_mode == FX_MAP_BAD_STATUS)
		rep.status = -12345;
	if (fd >= 0 && h->map_mode != FX_MAP_NO_FD) {
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
	if (sendmsg(c, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
		fx_die("map reply");
}

static void *fx_host_run(void *arg)
{
	struct fx_host *h = arg;

	for (;;) {
		struct pollfd pfd[FX_MAX_CLIENTS + 2];
		int n = 0, i;

		pthread_mutex_lock(&h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
		pfd[n++] = (struct pollfd){ .fd = h->wake[0], .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = h->listen_fd, .events = POLLIN };
		for (i = 0; i < h->nclients; i++)
			pfd[n++] = (struct pollfd){ .fd = h->clients[i], .events = POLLIN };
		pthread_mutex_unlock(&h->lock);

		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		if (pfd[0].revents) {
			char c;

			if (read(h->wake[0], &c, 1) < 0)
				continue;
		}
		pthread_mutex_lock(&h->lock);
		if (h->listen_fd >= 0 && (pfd[1].revents & POLLIN) && h->nclients < FX_MAX_CLIENTS) {
			int c = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0) {
				if (send(c, &h->open_status, 4, MSG_NOSIGNAL) != 4 || h->open_status) {
					close(c);
				} else {
					h->clients[h->nclients++] = c;
				}
				pthread_cond_broadcast(&h->cond);
			}
		}
		for (i = 2; i < n; i++) {
			union {
				int32_t v;
				struct vmbus_sim_mapreq req;
			} m;
			ssize_t got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			got = recv(pfd[i].fd, &m, sizeof(m), MSG_DONTWAIT);
			if (got == 4 && h->nirq < 64) {
				h->irq_values[h->nirq++] = m.v;
			} else if (got == sizeof(m.req) && m.req.magic == VMBUS_SIM_MAPREQ_MAGIC) {
				fx_host_map(h, pfd[i].fd, &m.req);
			} else if (got == 0) {
				int k;

				for (k = 0; k < h->nclients; k++) {
					if (h->clients[k] == pfd[i].fd) {
						close(h->clients[k]);
						h->clients[k] = h->clients[--h->nclients];
						break;
					}
				}
			}
			pthread_cond_broadcast(&h->cond);
		}
		pthread_mutex_unlock(&h->lock);
	}
}

struct fx_host *fx_host_start(const char *root, int32_t open_status)
{
	return fx_host_start_maps(root, open_status, FX_MAP_SEALED);
}

struct fx_host *fx_host_start_maps(const char *root, int32_t open_status,
				   enum fx_map_mode map_mode)
{
	struct fx_host *h = calloc(1, sizeof(*h));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int i;

	if (!h)
		fx_die("calloc");
	fx_path(h->root, sizeof(h->root), "%s", root);
	h->map_mode = map_mode;
	for (i = 0; i < 64; i++)
		h->ring_fd[i] = -1;
	for (i = 0; i < FX_MAX_MAPS; i++) {
		char p[PATH_MAX];
		struct stat st;

		fx_path(p, sizeof(p), "%s/dev/uio0.map%u", root, i);
		h->map_fd[i] = lstat(p, &st) == 0 && S_ISREG(st.st_mode) ?
				       fx_memfd_of(p, map_mode) : -1;
	}
	fx_path(sa.sun_path, sizeof(sa.sun_path), "%s/dev/uio0", root);
	h->open_status = open_status;
	h->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0 || bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(h->listen_fd, 16))
		fx_die("listen");
	if (pipe(h->wake))
		fx_die("pipe");
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, fx_host_run, h))
		fx_die("pthread_create");
	return h;
}

void fx_host_kick(struct fx_host *h)
{
	if (write(h->wake[1], "x", 1) != 1)
		fx_die("wake");
}

void fx_host_event(struct fx_host *h)
{
	int i;

	pthread_mutex_lock(&h->lock);
	h->events++;
	for (i = 0; i < h->nclients; i++)
		if (send(h->clients[i], &h->events, 4, MSG_NOSIGNAL) != 4)
			fx_die("event");
	pthread_mutex_unlock(&h->lock);
}

int fx_host_wait_irq(struct fx_host *h, int n)
{
	struct timespec ts;
	int got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&h->lock);
	while (h->nirq < n && pthread_cond_timedwait(&h->cond, &h->lock, &ts) == 0)
		;
	got = h->nirq;
	pthread_mutex_unlock(&h->lock);
	return got;
}

int fx_host_nclients(struct fx_host *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->nclients;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void fx_host_rescind(struct fx_host *h)
{
	int i;

	/* shutdown() hangs up at once, even while the host thread still polls
	 * these sockets (close() alone would wait for that poll to return) */
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nclients; i++) {
		shutdown(h->clients[i], SHUT_RDWR);
		close(h->clients[i]);
	}
	h->nclients = 0;
	shutdown(h->listen_fd, SHUT_RDWR);
	close(h->listen_fd);
	h->listen_fd = -1;
	pthread_mutex_unlock(&h->lock);
	fx_host_kick(h);
}

void fx_host_stop(struct fx_host *h)
{
	int i;

	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_mutex_unlock(&h->lock);
	fx_host_kick(h);
	pthread_join(h->thread, NULL);
	for (i = 0; i < h->nclients; i++)
		close(h->clients[i]);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	for (i = 0; i < FX_MAX_MAPS; i++)
		if (h->map_fd[i] >= 0)
			close(h->map_fd[i]);
	for (i = 0; i < 64; i++)
		if (h->ring_fd[i] >= 0)
			close(h->ring_fd[i]);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}
