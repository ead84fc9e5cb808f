/* SPDX-License-Identifier: MIT */
/*
 * NetVSP: faults the control interface injects into a NIC (vmbus-hostsim
 * ctl fault KIND [ARG]), to show that a guest survives a host that breaks
 * the rules.  Most are carried out by the data path when their moment
 * comes; a corrupt ring index and a bad descriptor are written at once.
 */
#include <errno.h>
#include <string.h>

#include "netvsp.h"

static const struct {
	const char *name;
	enum hs_fault f;
} fault_names[] = {
	{ "ring-index", HS_FAULT_RING_INDEX },
	{ "bad-descriptor", HS_FAULT_BAD_DESC },
	{ "bad-xfer-range", HS_FAULT_BAD_XFER_RANGE },
	{ "truncated-rndis", HS_FAULT_TRUNCATED_RNDIS },
	{ "delay-completions", HS_FAULT_DELAY_COMPLETIONS },
	{ "drop-completions", HS_FAULT_DROP_COMPLETIONS },
	{ "rescind-in-traffic", HS_FAULT_RESCIND_TRAFFIC },
	{ "withhold-subchannels", HS_FAULT_WITHHOLD_SUBCHANNELS },
	{ "rx-no-completion-flag", HS_FAULT_RX_NO_COMPLETION_FLAG },
	{ "none", HS_FAULT_NONE },
};

int hs_fault_parse(const char *name, enum hs_fault *out)
{
	size_t i;

	for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++) {
		if (!strcmp(name, fault_names[i].name)) {
			*out = fault_names[i].f;
			return 0;
		}
	}
	return -EINVAL;
}

const char *hs_fault_names(void)
{
	return "ring-index, bad-descriptor, bad-xfer-range, truncated-rndis, "
	       "delay-completions [MS], drop-completions, rescind-in-traffic [FRAMES], "
	       "withhold-subchannels [OFFERED], rx-no-completion-flag, none";
}

int hs_nic_fault(struct hs_dev *dev, enum hs_fault f, uint64_t arg)
{
	struct nsp_state *ns = nsp_of(dev);
	struct hs_chan *ch = dev->chans[0];

	if (!ns)
		return -ENODEV;
	switch (f) {
	case HS_FAULT_RING_INDEX:
		if (!ch || !ch->open)
			return -ENOTCONN;
		/* a write index past the end of the data area */
		__atomic_store_n(&vmbus_ring_hdr(vmbus_chan_tx_ring(ch->vc))->write_index,
				 vmbus_ring_data_size(vmbus_chan_tx_ring(ch->vc)) + 8,
				 __ATOMIC_RELEASE);
		hs_chan_signal_guest(ch->vc, ch);
		hs_chan_stop(ch, "fault injected: corrupt ring index");
		return 0;
	case HS_FAULT_BAD_DESC: {
		struct vmbus_pkt_desc d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 5, .len8 = 4 };
		uint8_t body[16] = { 0 };
		struct iovec iov[2] = { { &d, sizeof(d) }, { body, sizeof(body) } };
		struct vmbus_ring *r;

		if (!ch || !ch->open)
			return -ENOTCONN;
		r = vmbus_chan_tx_ring(ch->vc);
		if (vmbus_ring_write(r, iov, 2))
			return -EAGAIN;
		if (vmbus_ring_write_commit(r) >= 0)
			hs_chan_signal_guest(ch->vc, ch);
		hs_chan_stop(ch, "fault injected: bad packet descriptor");
		return 0;
	}
	case HS_FAULT_DELAY_COMPLETIONS:
		ns->fault_arg = arg ? arg : 500;
		break;
	case HS_FAULT_RESCIND_TRAFFIC:
		ns->fault_arg = arg ? arg : 1;
		break;
	default:
		ns->fault_arg = arg;
		break;
	}
	ns->fault = f;
	dev->bus->work = true;
	return 0;
}
