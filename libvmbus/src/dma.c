/* SPDX-License-Identifier: MIT */
/*
 * Memory the host reads by page number (GPA-direct packets).
 *
 * Real guest: hugepages (never moved or swapped), mapped populated and
 * locked; the physical page of every 4 KiB piece is read once from
 * /proc/self/pagemap, which shows page frame numbers to root only.
 * Simulated VMBus: a memfd registered with vmbus-hostsim over a connection
 * of its own (see vmbus/sim.h); page i is base_pfn + i.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vmbus/sim.h>

#include "internal.h"
#include "uio.h"

#define HUGE_2M (2u << 20)
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)
#define SIM_REPLY_TIMEOUT_MS 10000

struct vmbus_dma {
	bool simulated;
	void *addr;
	size_t size; /* mapped bytes */
	uint64_t *pfns; /* real guest: one Hyper-V page number per 4 KiB */
	uint64_t base_pfn; /* simulated: page numbers are base_pfn + index */
	int conn; /* simulated: the registration's connection */
};

static int dma_real(struct vmbus_device *dev, struct vmbus_dma *d, size_t size)
{
	size_t npages, i, sys = (size_t)sysconf(_SC_PAGESIZE);
	int fd, err;

	d->size = (size + HUGE_2M - 1) / HUGE_2M * HUGE_2M;
	d->addr = mmap(NULL, d->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (d->addr == MAP_FAILED) {
		err = -errno;
		d->addr = NULL;
		return vmbus_dev_fail(dev, err == -EAGAIN ? -ENOMEM : err,
				      "cannot get %zu bytes of pinned hugepages for GPA-direct "
				      "memory: %s (reserve some: echo 64 > /proc/sys/vm/nr_hugepages)",
				      d->size, strerror(-err));
	}
	npages = d->size / VMBUS_HV_PAGE_SIZE;
	d->pfns = calloc(npages, sizeof(*d->pfns));
	if (!d->pfns)
		return -ENOMEM;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmbus_dev_fail(dev, -errno, "cannot read /proc/self/pagemap: %s",
				      strerror(errno));
	for (i = 0; i < npages; i++) {
		uintptr_t va = (uintptr_t)d->addr + i * VMBUS_HV_PAGE_SIZE;
		uint64_t entry;

		if (pread(fd, &entry, sizeof(entry), (off_t)(va / sys * sizeof(entry))) !=
		    sizeof(entry)) {
			err = -errno;
			close(fd);
			return vmbus_dev_fail(dev, err ? err : -EIO, "reading /proc/self/pagemap: %s",
					      strerror(err ? -err : EIO));
		}
		if (!(entry & PAGEMAP_PRESENT) || !(entry & PAGEMAP_PFN_MASK)) {
			close(fd);
			/* the kernel hides frame numbers from non-root readers */
			return vmbus_dev_fail(dev, -EPERM,
					      "physical page numbers are not visible (run as root)");
		}
		d->pfns[i] = ((entry & PAGEMAP_PFN_MASK) * sys + (va % sys)) >> VMBUS_HV_PAGE_SHIFT;
	}
	close(fd);
	return 0;
}

static int dma_sim(struct vmbus_device *dev, struct vmbus_dma *d, size_t size)
{
	struct vmbus_sim_memreg reg = { .magic = VMBUS_SIM_MEMREG_MAGIC,
					.version = VMBUS_SIM_MEMREG_VERSION };
	struct vmbus_sim_memreply rep;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &reg, sizeof(reg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct pollfd pfd;
	int mfd, err;

	d->size = (size + VMBUS_HV_PAGE_SIZE - 1) / VMBUS_HV_PAGE_SIZE * VMBUS_HV_PAGE_SIZE;
	if (d->size > VMBUS_SIM_REGION_MAX)
		return vmbus_dev_fail(dev, -ENOMEM, "%zu bytes of DMA memory: the simulated host "
						    "takes at most %llu", d->size,
				      (unsigned long long)VMBUS_SIM_REGION_MAX);
	mfd = memfd_create("vmbus-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return vmbus_dev_fail(dev, -errno, "memfd for DMA memory: %s", strerror(errno));
	/* sealed: the host maps it and must be sure we cannot truncate it */
	if (ftruncate(mfd, (off_t)d->size) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = -errno;
		close(mfd);
		return vmbus_dev_fail(dev, err, "sizing %zu bytes of DMA memory: %s", d->size,
				      strerror(-err));
	}
	d->addr = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (d->addr == MAP_FAILED) {
		err = -errno;
		d->addr = NULL;
		close(mfd);
		return vmbus_dev_fail(dev, err, "mapping %zu bytes of DMA memory: %s", d->size,
				      strerror(-err));
	}
	err = uio_listen(vmbus_dev_uio(dev), &d->conn);
	if (err) {
		close(mfd);
		return vmbus_dev_fail(dev, err, "a connection for DMA memory: %s", strerror(-err));
	}
	reg.size = d->size;
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
	if (sendmsg(d->conn, &mh, MSG_NOSIGNAL) != sizeof(reg)) {
		err = -errno;
		close(mfd);
		err = err == -EPIPE ? -ENODEV : err;
		return vmbus_dev_fail(dev, err, "registering DMA memory with the simulated host: %s",
				      strerror(-err));
	}
	close(mfd);
	/* the answer follows any event counts already queued on this socket */
	for (;;) {
		ssize_t n;

		pfd = (struct pollfd){ .fd = d->conn, .events = POLLIN };
		if (poll(&pfd, 1, SIM_REPLY_TIMEOUT_MS) != 1)
			return vmbus_dev_fail(dev, -ETIMEDOUT,
					      "the simulated host did not answer a memory "
					      "registration");
		n = recv(d->conn, &rep, sizeof(rep), 0);
		if (n == sizeof(rep))
			break;
		if (n == sizeof(uint32_t))
			continue; /* an event count */
		return vmbus_dev_fail(dev, -ENODEV, "the simulated host closed the connection "
						    "of a memory registration");
	}
	/* a status is one of the refusals of vmbus/sim.h, never any number */
	if (rep.status == -EINVAL || rep.status == -ENOSPC || rep.status == -ENOMEM ||
	    rep.status == -EBUSY)
		return vmbus_dev_fail(dev, rep.status, "the simulated host refused %zu bytes of "
						       "guest memory: %s",
				      d->size, strerror(-rep.status));
	if (rep.status != 0)
		return vmbus_dev_fail(dev, -EPROTO, "the simulated host answered a memory "
						    "registration with status %d",
				      (int)rep.status);
	d->base_pfn = rep.base_pfn;
	return 0;
}

VMBUS_API int vmbus_dma_alloc(struct vmbus_device *dev, size_t size, struct vmbus_dma **out)
{
	struct vmbus_dma *d;
	int err;

	if (!out || size == 0)
		return -EINVAL;
	*out = NULL;
	if (vmbus_dev_is_gone(dev))
		return -ENODEV;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->conn = -1;
	d->simulated = vmbus_dev_uio(dev)->simulated;
	err = d->simulated ? dma_sim(dev, d, size) : dma_real(dev, d, size);
	if (err) {
		vmbus_dma_free(d);
		return err;
	}
	*out = d;
	return 0;
}

VMBUS_API void vmbus_dma_free(struct vmbus_dma *dma)
{
	if (!dma)
		return;
	if (dma->addr)
		munmap(dma->addr, dma->size);
	/* may outlive its device: needs nothing of it */
	uio_close_fd(dma->simulated, dma->conn);
	free(dma->pfns);
	free(dma);
}

VMBUS_API void *vmbus_dma_addr(const struct vmbus_dma *dma)
{
	return dma->addr;
}

VMBUS_API size_t vmbus_dma_size(const struct vmbus_dma *dma)
{
	return dma->size;
}

VMBUS_API int vmbus_dma_gpa(const struct vmbus_dma *dma, const void *addr, size_t len,
			    struct vmbus_gpa_buf *buf, uint64_t *pfns, unsigned int max_pfns)
{
	uintptr_t base = (uintptr_t)dma->addr, a = (uintptr_t)addr;
	size_t off, first, n, i;

	if (len == 0 || len > UINT32_MAX)
		return -EINVAL;
	if (a < base || a - base > dma->size || len > dma->size - (a - base))
		return -ERANGE;
	off = (a - base) % VMBUS_HV_PAGE_SIZE;
	first = (a - base) / VMBUS_HV_PAGE_SIZE;
	n = (off + len + VMBUS_HV_PAGE_SIZE - 1) / VMBUS_HV_PAGE_SIZE;
	if (n > max_pfns)
		return -ENOSPC;
	for (i = 0; i < n; i++)
		pfns[i] = dma->pfns ? dma->pfns[first + i] : dma->base_pfn + first + i;
	buf->len = (uint32_t)len;
	buf->offset = (uint32_t)off;
	buf->pfn = pfns;
	return (int)n;
}
