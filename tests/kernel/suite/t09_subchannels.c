/* SPDX-License-Identifier: MIT */
/*
 * Subchannels: offered after the device is open, the driver opens them and
 * gives each a ring file that libvmbus finds; traffic and masks work on
 * them; the last close closes them with the primary; a subchannel rescinded
 * while open is freed by that close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "ktest.h"

static void expect_state(uint32_t relid, uint32_t state, const char *why)
{
	struct vmbus_sim_chan_info ci;

	KT_ASSERT(kt_chan_info(relid, &ci) == 0, "chan info %u", relid);
	KT_ASSERT(ci.state == state, "relid %u is in state %u, expected %u: %s", relid, ci.state,
		  state, why);
}

static uint32_t in_mask(const char *guid, uint32_t relid)
{
	return (uint32_t)kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/in_mask", guid,
				     relid);
}

/* 0 if the ring file maps, -ENOENT if there is none, else mmap's error */
static int ring_mmap_err(const char *guid, uint32_t relid)
{
	char path[256];
	struct stat st;
	void *p;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, relid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	KT_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		err = -errno;
	else
		munmap(p, (size_t)st.st_size);
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct kt_host_chan hp = { 0 }, hs[3] = { { 0 } };
	struct vmbus_sim_chan_info ci;
	struct vmbus_device *dev;
	char guid[37], map[256];
	uint32_t p, early, s2, s3, want, v;
	unsigned int i, found;
	int r, fd;

	kt_init(argc, argv, "subchannels get ring files that libvmbus finds");
	p = kt_offer_bound(KT_CLASS_NIC, guid);

	/* a subchannel offered before anybody opened the device */
	early = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 1, 0);
	expect_state(early, VMBUS_SIM_STATE_OPEN, "offered before the device was opened");

	dev = kt_dev_open(guid);
	kt_host_attach(&hp, p);
	if (kt_drv->opens_early_subchannels) {
		expect_state(early, VMBUS_SIM_STATE_OPENED, "opened with the device");
		kt_host_attach(&hs[0], early);
	} else {
		kt_diff("a subchannel offered before the open is never opened (the subchannel "
			"callback is set at open)");
		expect_state(early, VMBUS_SIM_STATE_OPEN, "offered before the open");
		KT_ASSERT(kt_signal(early) == 0, "the unopened subchannel has a callback");
		/*
		 * uio_hv_generic's irqcontrol writes the interrupt mask of every
		 * subchannel in the list, open or not: with this one around,
		 * write() dereferences a ring that does not exist (NULL pointer
		 * Oops).  The rest of the test needs write(), so it goes.
		 */
		if (kt_drv->irq_write_oopses_on_closed_subchannel)
			kt_diff("write() with a subchannel that is not open oopses "
				"(hv_uio_irqcontrol writes its missing ring): the test "
				"rescinds that subchannel first");
		kt_rescind(early);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, early, KT_TIMEOUT_MS, NULL) == 0,
			  "unopened subchannel %u not freed by its rescind", early);
	}

	/* offered while open: the driver opens them from its callback */
	s2 = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 2, 0);
	s3 = kt_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 3, 0);
	KT_ASSERT(kt_wait_opened(s2) && kt_wait_opened(s3),
		  "subchannels offered while the device is open were not opened");
	KT_ASSERT(kt_wait_exists(KT_TIMEOUT_MS, "/sys/bus/vmbus/devices/%s/channels/%u/ring", guid, s2),
		  "no ring file for subchannel %u", s2);
	KT_ASSERT(kt_read_u64("/sys/bus/vmbus/devices/%s/channels/%u/subchannel_id", guid, s3) == 3,
		  "subchannel_id of %u", s3);
	KT_ASSERT(kt_readf(map, sizeof(map), "/sys/bus/vmbus/devices/%s/channel_vp_mapping",
			   guid) > 0,
		  "channel_vp_mapping");
	kt_host_attach(&hs[1], s2);
	kt_host_attach(&hs[2], s3);

	/* libvmbus finds them through their ring files */
	want = kt_drv->opens_early_subchannels ? 3 : 2;
	r = vmbus_dev_open_subchans(dev, want, KT_TIMEOUT_MS);
	KT_ASSERT(r == 0, "vmbus_dev_open_subchans(%u): %d %s", want, r, vmbus_dev_strerror(dev));
	KT_ASSERT(vmbus_dev_nchans(dev) == want + 1, "libvmbus opened %u channels",
		  vmbus_dev_nchans(dev));
	for (i = 1, found = 0; i <= 3; i++) {
		struct vmbus_chan *c = vmbus_dev_chan(dev, i);

		if (!c)
			continue;
		found++;
		KT_ASSERT(vmbus_chan_relid(c) == (i == 1 ? early : i == 2 ? s2 : s3),
			  "subchannel %u has relid %u", i, vmbus_chan_relid(c));
		KT_ASSERT(vmbus_chan_monitor_id(c) != VMBUS_MONITOR_ID_NONE,
			  "subchannel %u monitor id", i);
		kt_ping(c, &hs[i - 1], (int)i);
		kt_ping(c, &hs[i - 1], (int)i + 10);
	}
	KT_ASSERT(found == want, "%u subchannels usable", found);
	kt_ping(vmbus_dev_primary(dev), &hp, 0);

	/* write(0) / write(1) reach the subchannels too */
	KT_ASSERT(vmbus_dev_irq_enable(dev, false) == 0, "mask");
	KT_ASSERT(in_mask(guid, s2) == 1 && in_mask(guid, s3) == 1, "subchannels not masked");
	KT_ASSERT(vmbus_dev_irq_enable(dev, true) == 0, "unmask");
	KT_ASSERT(in_mask(guid, s2) == 0 && in_mask(guid, s3) == 0, "subchannels still masked");

	/* a subchannel rescinded while open: freed when the device closes */
	kt_host_detach(&hs[2]);
	kt_rescind(s3);
	KT_ASSERT(kt_chan_info(s3, &ci) == 0 && (ci.flags & VMBUS_SIM_CHAN_RESCINDED),
		  "subchannel %u gone before the device closed", s3);
	KT_ASSERT(kt_ev_none(VMBUS_SIM_EV_RELID_RELEASED, s3), "relid %u released while open", s3);
	kt_ping(vmbus_dev_chan(dev, 2), &hs[1], 20);

	for (i = 0; i < 2; i++)
		if (hs[i].c)
			kt_host_detach(&hs[i]);
	kt_host_detach(&hp);
	vmbus_dev_close(dev);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, s2, KT_TIMEOUT_MS, NULL) == 0, "no CLOSE of %u",
		  s2);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_CLOSE, p, KT_TIMEOUT_MS, NULL) == 0, "no CLOSE of %u", p);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_RELID_RELEASED, s3, KT_TIMEOUT_MS, NULL) == 0,
		  "rescinded subchannel %u not freed by the close", s3);
	expect_state(s2, VMBUS_SIM_STATE_OPEN, "closed with the device");
	if (kt_drv->closed_subchannel_keeps_ring_file) {
		KT_ASSERT(ring_mmap_err(guid, s2) == -ENODEV, "mmap of a closed subchannel's ring");
	} else {
		kt_diff("a closed subchannel has no ring file (it goes with the open channel)");
		KT_ASSERT(ring_mmap_err(guid, s2) == -ENOENT, "ring file of a closed subchannel");
	}

	/* opening the device again */
	fd = kt_uio_open(guid);
	KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, p, KT_TIMEOUT_MS, NULL) == 0, "no OPEN of %u", p);
	if (kt_drv->reopens_subchannels) {
		expect_state(s2, VMBUS_SIM_STATE_OPENED, "reopened with the device");
		KT_ASSERT(ring_mmap_err(guid, s2) == 0, "mmap of a reopened subchannel's ring");
		/* write() must cope with every channel state */
		v = 0;
		KT_ASSERT(write(fd, &v, sizeof(v)) == 4 && in_mask(guid, s2) == 1, "mask");
		v = 1;
		KT_ASSERT(write(fd, &v, sizeof(v)) == 4 && in_mask(guid, s2) == 0, "unmask");
	} else {
		kt_diff("subchannels are not opened again when the device is (and write() "
			"would now oops on their missing rings)");
		expect_state(s2, VMBUS_SIM_STATE_OPEN, "not reopened");
		KT_ASSERT(ring_mmap_err(guid, s2) == -ENODEV, "mmap of a subchannel left closed");
	}
	close(fd);

	if (kt_drv->irq_write_oopses_on_closed_subchannel) {
		kt_diff("a subchannel whose open the host refuses would make write() oops: "
			"not exercised");
		kt_pass();
	}
	/* a subchannel whose open the host refuses stays closed, harmlessly */
	fd = kt_uio_open(guid);
	kt_set_mode(VMBUS_SIM_MODE_MANUAL_OPEN);
	{
		struct vmbus_sim_open_result res;
		struct vmbus_sim_offer o;

		r = kt_try_offer(KT_CLASS_NIC, guid, VMBUS_SIM_MONITOR_ANY, 4,
				 VMBUS_SIM_OFFER_NOWAIT, &o);
		KT_ASSERT(r == 0, "offer subchannel 4: %d", r);
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_OPEN, o.relid, KT_TIMEOUT_MS, NULL) == 0,
			  "the driver did not try to open subchannel 4");
		res = (struct vmbus_sim_open_result){ .relid = o.relid, .status = 1 };
		KT_ASSERT(ioctl(kt_host_fd(), VMBUS_SIM_IOC_OPEN_RESULT, &res) == 0, "refuse");
		KT_ASSERT(kt_ev_wait(VMBUS_SIM_EV_GPADL_TEARDOWN, o.relid, KT_TIMEOUT_MS, NULL) == 0,
			  "the refused subchannel kept its ring GPADL");
		kt_set_mode(0);
		v = 0;
		KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "mask with a refused subchannel");
		v = 1;
		KT_ASSERT(write(fd, &v, sizeof(v)) == 4, "unmask with a refused subchannel");
	}
	close(fd);
	kt_pass();
}
