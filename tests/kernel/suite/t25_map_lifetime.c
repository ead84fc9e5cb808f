/* SPDX-License-Identifier: MIT */
/*
 * Mappings of the device under the operations a process may apply to
 * them: a private mapping (its writes would never reach the ring), fork
 * (the child shares the rings with the parent), mremap (moving works,
 * growing does not), and rmmod of the driver while a process still maps
 * /dev/uioN (refused: the mapping keeps the device file open) or only a
 * ring file (the driver goes, the file with it: SIGBUS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"

static int ring_file(const char *guid, uint32_t relid, size_t *size)
{
	char path[256];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	*size = (size_t)st.st_size;
	return fd;
}

int main(int argc, char **argv)
{
	struct kt_host_chan hc = { 0 };
	size_t ring = 0, rsize;
	uint8_t *map, *moved, *r, v;
	char guid[37], name[64];
	uint32_t relid;
	int fd, rfd, status, err;
	pid_t pid;
	void *p;

	kt_init(argc, argv, "private maps, fork, mremap and rmmod with mappings");
	relid = kt_offer_bound(KT_CLASS_NIC, guid);
	fd = kt_uio_open(guid);
	kt_host_attach(&hc, relid);
	ring = (size_t)kt_read_u64("/sys/bus/vmbus/devices/%s/uio/uio%d/maps/map0/size", guid,
				   kt_uio_index(guid));

	/* private mappings */
	p = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	rfd = ring_file(guid, relid, &rsize);
	if (kt_drv->refuses_private_maps) {
		KT_ASSERT(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE of map 0: %s",
			  p == MAP_FAILED ? strerror(errno) : "mapped");
		p = mmap(NULL, (size_t)kt_page_size, PROT_READ, MAP_PRIVATE, fd,
			 3 * kt_page_size);
		KT_ASSERT(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE of map 3");
		p = mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_PRIVATE, rfd, 0);
		KT_ASSERT(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE of the ring file: %s",
			  p == MAP_FAILED ? strerror(errno) : "mapped");
	}
	{
		/* a shared, read-only look at a ring, as vmbus-ring takes it: the
		 * kernel clears VM_SHARED for a file opened read-only */
		char path[128];
		void *look;
		int ro;

		snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid,
			 relid);
		ro = open(path, O_RDONLY);
		KT_ASSERT(ro >= 0, "open %s read-only: %s", path, strerror(errno));
		look = mmap(NULL, rsize, PROT_READ, MAP_SHARED, ro, 0);
		KT_ASSERT(look != MAP_FAILED, "a shared read-only mapping of the ring file: %s",
			  strerror(errno));
		KT_ASSERT(kt_probe_read(look, &v) == 0, "the read-only mapping reads");
		munmap(look, rsize);
		close(ro);
	}
	if (!kt_drv->refuses_private_maps) {
		kt_diff("private mappings are allowed (%s): the process's writes stay its own",
			p == MAP_FAILED ? strerror(errno) : "map 0 mapped");
		if (p != MAP_FAILED)
			munmap(p, ring);
	}

	/* fork: parent and child share the ring with the host */
	map = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KT_ASSERT(map != MAP_FAILED, "mmap of map 0");
	map[kt_page_size] = 0x11;
	fflush(NULL);
	pid = fork();
	KT_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		/* the child writes into the send ring's data; the host sees it */
		_exit(map[kt_page_size] == 0x11 ? (map[kt_page_size + 1] = 0x22, 0) : 1);
	}
	KT_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			  WEXITSTATUS(status) == 0,
		  "the child did not see the parent's byte");
	KT_ASSERT(((uint8_t *)hc.map)[ring / 2 + kt_page_size + 1] == 0x22 ||
			  ((uint8_t *)hc.map)[kt_page_size + 1] == 0x22,
		  "the host does not see the child's byte");
	KT_ASSERT(map[kt_page_size + 1] == 0x22, "the parent does not see the child's byte");

	/* mremap: moving keeps the pages, growing is refused */
	moved = mremap(map, ring, ring, MREMAP_MAYMOVE | MREMAP_FIXED,
		       (uint8_t *)mmap(NULL, ring, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	KT_ASSERT(moved != MAP_FAILED, "mremap to another address");
	KT_ASSERT(moved[kt_page_size + 1] == 0x22, "the moved mapping lost the ring");
	p = mremap(moved, ring, ring + (size_t)kt_page_size, MREMAP_MAYMOVE);
	KT_ASSERT(p == MAP_FAILED, "growing the mapping of map 0 worked");
	kt_note("mremap moved map 0 and could not grow it (%s)", strerror(errno));

	/* rmmod while a process maps /dev/uioN: refused */
	close(fd);
	err = kt_module_unload();
	KT_ASSERT(err == -EWOULDBLOCK || err == -EBUSY,
		  "rmmod while /dev/uioN is mapped: %d (the mapping holds the device open)", err);
	munmap(moved, ring);
	kt_host_detach(&hc);

	/* rmmod while a process maps only a (primary's) ring file */
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, relid, KT_TIMEOUT_MS, NULL) == 0, "no OPEN");
	r = mmap(NULL, rsize, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	KT_ASSERT(r != MAP_FAILED, "mmap of the ring file: %s", strerror(errno));
	KT_ASSERT(kt_probe_read(r, &v) == 0, "the ring file's mapping reads");
	close(rfd);
	close(fd);
	snprintf(name, sizeof(name), "/sys/module/%s", kt_drv->name);
	err = kt_module_unload();
	KT_ASSERT(err == 0, "rmmod while only a ring file is mapped: %d", err);
	KT_ASSERT(kt_probe_read(r, &v) == -EFAULT, "the ring file's mapping outlived the driver");
	munmap(r, rsize);
	KT_ASSERT(kt_module_load() == 0, "reload the driver");
	kt_note("rmmod: refused while /dev/uioN is mapped; a ring file's mapping went with it");
	kt_pass();
}
