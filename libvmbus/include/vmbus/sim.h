/* SPDX-License-Identifier: MIT */
/*
 * vmbus/sim.h - the protocol of a simulated VMBus's /dev/uioN socket.
 *
 * vmbus-hostsim serves each simulated UIO device on a SOCK_SEQPACKET unix
 * socket at ROOT/dev/uioN with the semantics of the UIO character device:
 *
 *   connect        open(): the first open connects the primary channel.
 *                  The host answers with a 4-byte int32 open status (0, or
 *                  a negative errno such as -EAGAIN when it refuses).
 *   host -> guest  4-byte uint32 event counts (what read() returns); they
 *                  coalesce like UIO events.
 *   guest -> host  4-byte int32 irqcontrol values (what write() takes):
 *                  1 unmasks every channel and signals the unmonitored
 *                  ones, 0 masks them.
 *   hang-up        rescind: the host closes every connection and removes
 *                  the device.  The last close by the guest disconnects.
 *
 * Guest memory for GPA-direct packets: a connection may instead send one
 * struct vmbus_sim_memreg with a memfd attached (SCM_RIGHTS).  The host
 * maps the memfd and answers with a struct vmbus_sim_memreply; page i of
 * the memory is then Hyper-V page number base_pfn + i, for as long as the
 * connection stays open.  Such a connection is no interrupt listener.
 * libvmbus does all of this (vmbus_dma_*); only a host needs this header.
 */
#ifndef VMBUS_SIM_H
#define VMBUS_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMBUS_SIM_MEMREG_MAGIC 0x4d47564du /* "MVGM" */
#define VMBUS_SIM_MEMREG_VERSION 1u
/* Largest registered region: 4 GiB. */
#define VMBUS_SIM_REGION_MAX (4ull << 30)
/*
 * The first page number of region slot @slot (0-based).  Laid out like a
 * guest's memory above 4 GiB, where its RAM goes on past the MMIO hole:
 * slot 0 at 4 GiB (page 0x100000), each slot 4 GiB further, 16 slots end
 * at 68 GiB.  Page numbers stay far below 2^32, as DPDK keeps them in 32
 * bits.
 */
#define VMBUS_SIM_REGION_PFN(slot)                                                                 \
	(0x100000ull + (uint64_t)(slot) * (VMBUS_SIM_REGION_MAX / 4096u))

struct vmbus_sim_memreg {
	uint32_t magic; /* VMBUS_SIM_MEMREG_MAGIC */
	uint32_t version; /* VMBUS_SIM_MEMREG_VERSION */
	uint64_t size; /* bytes, a multiple of 4096, at most VMBUS_SIM_REGION_MAX */
};

struct vmbus_sim_memreply {
	int32_t status; /* 0, or a negative errno */
	uint32_t reserved;
	uint64_t base_pfn;
};

_Static_assert(sizeof(struct vmbus_sim_memreg) == 16, "memreg size");
_Static_assert(sizeof(struct vmbus_sim_memreply) == 16, "memreply size");

#ifdef __cplusplus
}
#endif

#endif /* VMBUS_SIM_H */
