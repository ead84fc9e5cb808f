/* SPDX-License-Identifier: MIT */
/*
 * The memory of a guest process that registered none with the simulated
 * VMBus, as a real host sees a guest's: by page number.  A guest not
 * written against libvmbus (DPDK's netvsc PMD, say) names its pages by
 * their physical frame numbers, read from its own /proc/self/pagemap;
 * the host finds the process through the UIO socket's peer credentials,
 * maps frame numbers back to its virtual addresses through
 * /proc/PID/pagemap, and copies with process_vm_readv/writev.  Frame
 * numbers are shown to root only (and process_vm_* need the right to
 * trace the peer): the simulator must run as root for this.
 *
 * The index (frame -> address) covers the mappings the peer has pages in
 * (smaps: Rss or huge pages above 0; none of tens of GiB), is built when a page is not
 * found, and every hit
 * is checked against the page map again before it is used: pages the
 * kernel moved are found anew, never misread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hostsim.h"

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)
/* Rebuilding the index reads the peer's page map: not more often than this. */
#define PEER_REINDEX_NS 20000000ull
/* Mappings larger than this are reservations, not memory a guest hands a
 * device (a sanitizer's shadow spans terabytes): not indexed. */
#define PEER_MAX_MAPPING (64ull << 30)

struct peer_page {
	uint64_t pfn; /* Hyper-V (4 KiB) page number */
	uint64_t va;
};

struct hs_peer_mem {
	pid_t pid;
	int pagemap;
	size_t sys_page;
	struct peer_page *pages;
	size_t npages, cap;
	uint64_t indexed_ns;
	bool hidden; /* the page map shows no frame numbers: not root */
};

int hs_peer_mem_open(pid_t pid, struct hs_peer_mem **out)
{
	struct hs_peer_mem *pm = calloc(1, sizeof(*pm));
	char path[64];
	int err;

	if (!pm)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->pagemap < 0) {
		err = -errno;
		free(pm);
		return err;
	}
	pm->pid = pid;
	pm->sys_page = (size_t)sysconf(_SC_PAGESIZE);
	*out = pm;
	return 0;
}

void hs_peer_mem_close(struct hs_peer_mem *pm)
{
	if (!pm)
		return;
	close(pm->pagemap);
	free(pm->pages);
	free(pm);
}

pid_t hs_peer_mem_pid(const struct hs_peer_mem *pm)
{
	return pm->pid;
}

static int page_cmp(const void *a, const void *b)
{
	const struct peer_page *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static int add_page(struct hs_peer_mem *pm, uint64_t pfn, uint64_t va)
{
	if (pm->npages == pm->cap) {
		size_t cap = pm->cap ? pm->cap * 2 : 4096;
		struct peer_page *p = realloc(pm->pages, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		pm->pages = p;
		pm->cap = cap;
	}
	pm->pages[pm->npages++] = (struct peer_page){ pfn, va };
	return 0;
}

/* Indexes the present pages of one mapping [start, end). */
static int index_range(struct hs_peer_mem *pm, uint64_t start, uint64_t end)
{
	uint64_t entries[512];
	uint64_t va = start;

	while (va < end) {
		size_t n = (size_t)((end - va) / pm->sys_page), i, k;
		ssize_t got;

		if (n > sizeof(entries) / sizeof(entries[0]))
			n = sizeof(entries) / sizeof(entries[0]);
		got = pread(pm->pagemap, entries, n * sizeof(entries[0]),
			    (off_t)(va / pm->sys_page * sizeof(entries[0])));
		if (got <= 0)
			return 0; /* the mapping went away meanwhile */
		n = (size_t)got / sizeof(entries[0]);
		for (i = 0; i < n; i++) {
			uint64_t e = entries[i], pfn = e & PAGEMAP_PFN_MASK;

			if (!(e & PAGEMAP_PRESENT))
				continue;
			if (pfn == 0) {
				pm->hidden = true;
				continue;
			}
			for (k = 0; k < pm->sys_page / VMBUS_HV_PAGE_SIZE; k++) {
				int err = add_page(pm,
						   pfn * (pm->sys_page / VMBUS_HV_PAGE_SIZE) + k,
						   va + i * pm->sys_page + k * VMBUS_HV_PAGE_SIZE);

				if (err)
					return err;
			}
		}
		va += n * pm->sys_page;
	}
	return 0;
}

/* Rebuilds the index from the peer's mappings that hold pages: Rss counts
 * ordinary pages, Shared_Hugetlb and Private_Hugetlb the huge pages of
 * hugetlbfs mappings (where DPDK keeps its memory; Rss leaves them out). */
static int reindex(struct hs_peer_mem *pm)
{
	char path[64], line[512];
	uint64_t start = 0, end = 0, held = 0;
	bool have = false;
	FILE *f;
	int err = 0;

	pm->npages = 0;
	pm->hidden = false;
	pm->indexed_ns = hs_now_ns();
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pm->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);
		unsigned long long a, b, kb;
		bool header = !eof && sscanf(line, "%llx-%llx ", &a, &b) == 2 &&
			      strchr(line, '-') < strchr(line, ' ');

		if ((eof || header) && have && held && end - start <= PEER_MAX_MAPPING &&
		    (err = index_range(pm, start, end)))
			break;
		if (eof)
			break;
		if (header) {
			start = a;
			end = b;
			held = 0;
			have = true;
		} else if (have && (sscanf(line, "Rss: %llu kB", &kb) == 1 ||
				    sscanf(line, "Shared_Hugetlb: %llu kB", &kb) == 1 ||
				    sscanf(line, "Private_Hugetlb: %llu kB", &kb) == 1)) {
			held += kb;
		}
	}
	fclose(f);
	if (!err)
		qsort(pm->pages, pm->npages, sizeof(pm->pages[0]), page_cmp);
	return err;
}

static const struct peer_page *find(const struct hs_peer_mem *pm, uint64_t pfn)
{
	size_t lo = 0, hi = pm->npages;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->pages[mid].pfn == pfn)
			return &pm->pages[mid];
		if (pm->pages[mid].pfn < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether the peer's page at @va is still frame @pfn. */
static bool still_there(struct hs_peer_mem *pm, uint64_t va, uint64_t pfn)
{
	uint64_t e;
	size_t per = pm->sys_page / VMBUS_HV_PAGE_SIZE;

	if (pread(pm->pagemap, &e, sizeof(e), (off_t)(va / pm->sys_page * sizeof(e))) != sizeof(e))
		return false;
	return (e & PAGEMAP_PRESENT) && (e & PAGEMAP_PFN_MASK) * per + (va % pm->sys_page) /
			VMBUS_HV_PAGE_SIZE == pfn;
}

int hs_peer_mem_copy(struct hs_peer_mem *pm, uint64_t pfn, uint32_t off, void *buf, uint32_t len,
		     bool write, const char **why)
{
	const struct peer_page *p = find(pm, pfn);
	struct iovec local = { buf, len }, remote;
	ssize_t n;

	if (off >= VMBUS_HV_PAGE_SIZE || len > VMBUS_HV_PAGE_SIZE - off) {
		*why = "the range does not fit in the page";
		return -EINVAL;
	}
	if (!p || !still_there(pm, p->va, pfn)) {
		if (hs_now_ns() - pm->indexed_ns < PEER_REINDEX_NS && pm->indexed_ns) {
			*why = "no such page in the guest process (indexed moments ago)";
			return -EFAULT;
		}
		if (reindex(pm)) {
			*why = "cannot read the guest process's memory map";
			return -EFAULT;
		}
		p = find(pm, pfn);
		if (!p) {
			*why = pm->hidden ? "the guest process's page map shows no frame numbers "
					    "(the simulator must run as root)" :
					    "no such page in the guest process";
			return -EFAULT;
		}
	}
	remote.iov_base = (void *)(uintptr_t)(p->va + off);
	remote.iov_len = len;
	n = write ? process_vm_writev(pm->pid, &local, 1, &remote, 1, 0) :
		    process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)len) {
		*why = errno == EPERM ? "not allowed to access the guest process (run as root)" :
		       errno == ESRCH ? "the guest process is gone" :
					"the guest process's page could not be copied";
		return -EFAULT;
	}
	return 0;
}
