/* SPDX-License-Identifier: MIT */
/*
 * From 6.18 a channel may be confidential: a paravisor serves it and its
 * ring (co_ring_buffer) or its buffers (co_external_memory) live in memory
 * the host cannot see.  Nothing of it can be shared with a process as
 * hv_uio does: the probe refuses such a channel and says why.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"

int main(int argc, char **argv)
{
	static const uint32_t flags[] = { VMBUS_SIM_OFFER_CONFIDENTIAL_RING,
					  VMBUS_SIM_OFFER_CONFIDENTIAL_RING |
						  VMBUS_SIM_OFFER_CONFIDENTIAL_MEMORY };
	struct vmbus_sim_offer off;
	char guid[37];
	unsigned int i;
	int kfd, r;

	kt_init(argc, argv, "confidential channels are refused");
	if (kt_gen() < VMBUS_SIM_GEN_6_18)
		kt_skip("confidential channels come with the 6.18 generation");
	if (strcmp(kt_drv->name, "hv_uio"))
		kt_skip("uio_hv_generic here is 6.1's");
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		kt_new_instance(guid);
		r = kt_try_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 0, flags[i], &off);
		errno = -r;
		KT_ASSERT(r == 0, "offer of a confidential device");
		kfd = kt_kmsg_open();
		KT_ASSERT(kt_override(guid, kt_drv->name) == 0, "driver_override");
		r = kt_bind(guid);
		KT_ASSERT(r == -EOPNOTSUPP, "binding a confidential channel: %s (EOPNOTSUPP expected)",
			  strerror(-r));
		KT_ASSERT(kt_kmsg_find(kfd, "confidential"), "the log does not say why");
		close(kfd);
		KT_ASSERT(kt_uio_index(guid) < 0, "a UIO device for a confidential channel");
		kt_rescind(off.relid);
	}
	kt_pass();
}
