/* SPDX-License-Identifier: MIT */
/*
 * Devices over UIO on fixture trees: the sysfs layouts of real kernels and
 * broken ones, the maps, signalling, interrupts, subchannels and rescind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <vmbus/vmbus.h>

#include "fixture_tree.h"

struct env {
	char *root;
	struct fx_host *host;
	struct vmbus_device *dev;
	char err[512];
};

/* Fixtures still alive; the teardown frees them when a test fails midway. */
static struct env *live[4];

static struct env *env_new(const struct fx_device *d, int32_t open_status)
{
	struct env *e = calloc(1, sizeof(*e));
	size_t i;

	assert_non_null(e);
	for (i = 0; i < sizeof(live) / sizeof(live[0]) && live[i]; i++)
		;
	assert_true(i < sizeof(live) / sizeof(live[0]));
	live[i] = e;
	e->root = fx_root();
	fx_build(e->root, d);
	e->host = fx_host_start(e->root, open_status);
	return e;
}

static void env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == e)
			live[i] = NULL;
	vmbus_dev_close(e->dev);
	if (e->host)
		fx_host_stop(e->host);
	fx_rm_rf(e->root);
	free(e->root);
	free(e);
}

static int env_open(struct env *e, const char *guid)
{
	struct vmbus_dev_opts o = { .sz = sizeof(o), .root = e->root, .errbuf = e->err,
				    .errbuf_len = sizeof(e->err) };

	e->err[0] = '\0';
	return vmbus_dev_open(guid, &o, &e->dev);
}

/* Opens a broken variant and checks the error and that its message names the cause. */
static void expect_open_error(struct fx_device d, const char *guid, int err, const char *words)
{
	struct env *e = env_new(&d, 0);

	assert_int_equal(env_open(e, guid), err);
	assert_null(e->dev);
	if (!strstr(e->err, words)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e->err, words);
		fail();
	}
	/* every message names the device */
	assert_non_null(strstr(e->err, guid));
	env_free(e);
}

static void test_open_nic_6_1(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	struct vmbus_guid nic = VMBUS_CLASS_NIC;
	struct vmbus_chan *c;

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	vmbus_dev_info(e->dev, &info);
	assert_true(vmbus_guid_equal(&info.class_id, &nic));
	assert_string_equal(vmbus_class_name(&info.class_id), "network");
	assert_int_equal(info.relid, 14);
	assert_int_equal(info.monitor_id, 2);
	assert_int_equal(info.uio_index, 0);
	assert_true(info.simulated);
	assert_string_equal(info.uio_name, "uio_hv_generic");
	assert_string_equal(info.uio_version, "0.02.1");
	assert_int_equal(info.nmaps, 5);
	assert_int_equal(info.ring_size, FX_RING_4M / 2);
	assert_int_equal(info.recv_size, FX_RECV_31M);
	assert_int_equal(info.recv_gpadl, 921104);
	assert_int_equal(info.send_size, FX_SEND_16M);
	assert_int_equal(info.send_gpadl, 921105);
	assert_non_null(info.recv_buf);
	assert_non_null(info.send_buf);
	/* the maps are shared with the backing files: last byte writable */
	((uint8_t *)info.recv_buf)[FX_RECV_31M - 1] = 0x5a;

	assert_int_equal(vmbus_dev_nchans(e->dev), 1);
	c = vmbus_dev_primary(e->dev);
	assert_non_null(c);
	assert_ptr_equal(vmbus_dev_chan(e->dev, 0), c);
	assert_null(vmbus_dev_chan(e->dev, 1));
	assert_int_equal(vmbus_chan_relid(c), 14);
	assert_int_equal(vmbus_chan_subchan_id(c), 0);
	assert_int_equal(vmbus_chan_monitor_id(c), 2);
	assert_ptr_equal(vmbus_chan_device(c), e->dev);
	assert_int_equal(vmbus_ring_data_size(vmbus_chan_tx_ring(c)), FX_RING_4M / 2 - 4096);
	assert_string_equal(vmbus_dev_strerror(e->dev), "");
	env_free(e);
}

static void test_open_nic_6_16_uppercase_guid(void **state)
{
	struct fx_device d = fx_nic_6_16();
	struct env *e = env_new(&d, 0);
	struct vmbus_dev_info info = { .sz = sizeof(info) };

	(void)state;
	/* GUIDs are accepted in either case and with braces */
	assert_int_equal(env_open(e, "{9A1D5C3E-4B2F-4E6A-8C7D-0E1F2A3B4C5D}"), 0);
	vmbus_dev_info(e->dev, &info);
	assert_int_equal(info.recv_gpadl, 921200);
	assert_int_equal(info.send_gpadl, 921201);
	env_free(e);
}

static void test_open_fcopy_no_buffers_no_monitor(void **state)
{
	struct fx_device d = fx_fcopy_6_16();
	struct env *e = env_new(&d, 0);
	struct vmbus_dev_info info = { .sz = sizeof(info) };

	(void)state;
	assert_int_equal(env_open(e, FX_FCOPY_GUID), 0);
	vmbus_dev_info(e->dev, &info);
	assert_string_equal(vmbus_class_name(&info.class_id), "file-copy");
	assert_int_equal(info.nmaps, 3);
	assert_null(info.recv_buf);
	assert_null(info.send_buf);
	assert_int_equal(info.monitor_id, VMBUS_MONITOR_ID_NONE);
	assert_int_equal(info.ring_size, 0x5000);
	/* 20 KiB per direction: a 4 KiB header and 16 KiB of data */
	assert_int_equal(vmbus_ring_data_size(vmbus_chan_rx_ring(vmbus_dev_primary(e->dev))),
			 0x4000);
	env_free(e);
}

static void test_open_missing_monitor_id(void **state)
{
	struct fx_device d = fx_nic_6_16();
	struct env *e;
	struct vmbus_dev_info info = { .sz = sizeof(info) };

	(void)state;
	d.monitor_id = NULL;
	e = env_new(&d, 0);
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	vmbus_dev_info(e->dev, &info);
	assert_int_equal(info.monitor_id, VMBUS_MONITOR_ID_NONE);
	env_free(e);
}

static void test_open_errors(void **state)
{
	struct fx_device d;

	(void)state;
	d = fx_nic_6_1();
	expect_open_error(d, "00000000-0000-0000-0000-000000000001", -ENOENT, "not found");

	d = fx_nic_6_1();
	d.bound = false;
	d.driver = "hv_netvsc";
	expect_open_error(d, FX_NIC_GUID, -ENXIO, "bound to hv_netvsc");

	d = fx_nic_6_1();
	d.bound = false;
	d.driver = NULL;
	expect_open_error(d, FX_NIC_GUID, -ENXIO, "not bound to a UIO driver (no driver)");

	d = fx_nic_6_1();
	d.maps[1].name = "interrupt\n";
	expect_open_error(d, FX_NIC_GUID, -ENOTSUP, "\"interrupt\", expected \"int_page\"");

	d = fx_nic_6_1();
	d.maps[3].name = "rx:921104\n";
	expect_open_error(d, FX_NIC_GUID, -ENOTSUP, "expected \"recv:<gpadl>\"");

	d = fx_nic_6_1();
	d.maps[4].name = "send:\n";
	expect_open_error(d, FX_NIC_GUID, -ENOTSUP, "carry no GPADL handle");

	d = fx_nic_6_1();
	d.nmaps = 4;
	expect_open_error(d, FX_NIC_GUID, -ENOTSUP, "has 4 maps");

	d = fx_nic_6_1();
	d.maps[1].size = "0x0000000000000800\n";
	expect_open_error(d, FX_NIC_GUID, -ERANGE, "int_page is 2048 bytes");

	d = fx_nic_6_1();
	d.maps[0].size = "0x0000000000002000\n";
	expect_open_error(d, FX_NIC_GUID, -ERANGE, "txrx_rings is 8192 bytes");

	d = fx_nic_6_1();
	d.maps[0].backing = 0x1000; /* the host's memory for a map is shorter than the map */
	expect_open_error(d, FX_NIC_GUID, -EPROTO, "map 0 (txrx_rings) holds 4096 bytes");

	/* truncated or broken files */
	d = fx_nic_6_1();
	d.maps[0].size = "";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "empty, truncated");

	d = fx_nic_6_1();
	d.maps[0].size = "4194304\n"; /* decimal, not what the UIO core prints */
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "not a hexadecimal size");

	d = fx_nic_6_1();
	d.class_id = "{f8615163-df3e\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "is not a GUID");

	d = fx_nic_6_1();
	d.class_id = NULL;
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "class_id is missing");

	d = fx_nic_6_1();
	d.device_id = "{00000000-0000-0000-0000-000000000002}\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "names another device");

	d = fx_nic_6_1();
	d.id = "fourteen\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "not a number");

	d = fx_nic_6_1();
	d.id = "99999\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "not a number up to");

	d = fx_nic_6_1();
	d.monitor_id = "128\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "monitor_id");

	d = fx_nic_6_1();
	d.uio_name = NULL;
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "uio0/name is missing");

	/* one byte more than the attribute buffer (63 usable) */
	d = fx_nic_6_1();
	d.id = "14                                                            \n\n";
	expect_open_error(d, FX_NIC_GUID, -EBADMSG, "id: empty, truncated or too long");
}

/*
 * A sysfs file exactly as long as the buffer it is read into (63 bytes and
 * the NUL) is a value like any other: terminated, trimmed, parsed.
 */
static void test_attr_fills_buffer(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	char id[64], name[64];
	struct env *e;

	(void)state;
	memset(id, ' ', sizeof(id));
	memcpy(id, "14", 2);
	id[62] = '\n';
	id[63] = '\0';
	assert_int_equal(strlen(id), 63);
	d.id = id;
	/* the UIO name buffer: 63 bytes with the newline, 62 of name */
	memset(name, 'u', sizeof(name));
	name[62] = '\n';
	name[63] = '\0';
	d.uio_name = name;
	e = env_new(&d, 0);
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	vmbus_dev_info(e->dev, &info);
	assert_int_equal(info.relid, 14);
	assert_int_equal(strlen(info.uio_name), 62);
	vmbus_dev_close(e->dev);
	e->dev = NULL;

	/* a NUL inside would hide the rest of the file from the parser */
	{
		char path[PATH_MAX];
		FILE *f;

		fx_path(path, sizeof(path), "%s/sys/class/uio/uio0/version", e->root);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite("0.02\0garbage\n", 1, 13, f), 13);
		fclose(f);
	}
	assert_int_equal(env_open(e, FX_NIC_GUID), -EBADMSG);
	assert_non_null(strstr(e->err, "uio0/version"));
	env_free(e);
}

/*
 * What crosses the simulated socket is one of the values the protocol
 * knows; anything else is the host's garbage (-EPROTO, with a message),
 * never an errno passed on: INT_MIN cannot even be negated.
 */
static void test_open_status_checked(void **state)
{
	static const int32_t bad[] = { INT32_MIN, -5000, 7, 1, -EPERM };
	struct fx_device d;
	struct env *e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[32];

		d = fx_nic_6_1();
		e = env_new(&d, bad[i]);
		assert_int_equal(env_open(e, FX_NIC_GUID), -EPROTO);
		assert_null(e->dev);
		snprintf(want, sizeof(want), "status %d,", (int)bad[i]);
		assert_non_null(strstr(e->err, want));
		assert_non_null(strstr(e->err, FX_NIC_GUID));
		env_free(e);
	}
	/* a refusal the protocol has passes through with its meaning */
	d = fx_nic_6_1();
	e = env_new(&d, -EBUSY);
	assert_int_equal(env_open(e, FX_NIC_GUID), -EBUSY);
	assert_non_null(strstr(e->err, "in use"));
	env_free(e);
}

/* Maps must be memfds sealed against shrinking, as long as the map. */
static void test_maps_must_be_sealed(void **state)
{
	static const struct {
		enum fx_map_mode mode;
		const char *words;
	} cases[] = {
		{ FX_MAP_UNSEALED, "not sealed against shrinking" },
		{ FX_MAP_FILE, "not sealed against shrinking" },
		{ FX_MAP_NO_FD, "and no memory" },
		{ FX_MAP_BAD_STATUS, "status -12345" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx_device d = fx_nic_6_1();
		struct env *e = calloc(1, sizeof(*e));

		assert_non_null(e);
		live[0] = e;
		e->root = fx_root();
		fx_build(e->root, &d);
		e->host = fx_host_start_maps(e->root, 0, cases[i].mode);
		assert_int_equal(env_open(e, FX_NIC_GUID), -EPROTO);
		if (!strstr(e->err, cases[i].words))
			fail_msg("\"%s\" lacks \"%s\"", e->err, cases[i].words);
		env_free(e);
	}
}

/* Sealed maps cannot shrink under the guest: it never takes a SIGBUS. */
static void test_maps_cannot_shrink(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_dev_info info = { .sz = sizeof(info) };
	unsigned int i;

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	vmbus_dev_info(e->dev, &info);
	for (i = 0; i < FX_MAX_MAPS; i++) {
		errno = 0;
		assert_int_not_equal(ftruncate(e->host->map_fd[i], 0), 0);
		assert_int_equal(errno, EPERM);
	}
	/* the last byte of every buffer is still there */
	((volatile uint8_t *)info.recv_buf)[info.recv_size - 1] = 1;
	((volatile uint8_t *)info.send_buf)[info.send_size - 1] = 1;
	assert_int_equal(vmbus_chan_send(vmbus_dev_primary(e->dev), 0, 0, "x", 1), 0);
	env_free(e);
}

/*
 * One user at a time on a real guest: a second opener of the same
 * /dev/uioN gets -EBUSY naming the device and the process that holds it.
 * The device node is a character device that maps like UIO does (the
 * kernel's /dev/zero, 1:5), which needs root to create.
 */
static void test_real_second_opener_refused(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct vmbus_device *second = (void *)1;
	struct vmbus_dev_opts o = { .sz = sizeof(o) };
	char path[PATH_MAX], err[512];
	struct env *e;
	unsigned int i;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: test_real_second_opener_refused needs root (mknod)\n");
		skip();
	}
	for (i = 0; i < d.nmaps; i++)
		d.maps[i].backing = 0; /* a real UIO device maps by offset */
	/* /dev/zero maps at offset 0 only (beyond, a shared mapping of it
	 * faults): unmonitored, the test touches nothing but map 0 */
	d.monitor_id = NULL;
	e = calloc(1, sizeof(*e));
	assert_non_null(e);
	live[0] = e;
	e->root = fx_root();
	fx_build(e->root, &d);
	fx_path(path, sizeof(path), "%s/dev/uio0", e->root);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(1, 5)), 0);
	{
		int fd = open(path, O_RDWR);

		if (fd < 0 && (errno == EACCES || errno == EPERM)) {
			fprintf(stderr, "SKIP: test_real_second_opener_refused: %s is on a nodev "
					"mount\n", e->root);
			skip();
		}
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);

	o.root = e->root;
	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &o, &second), -EBUSY);
	assert_null(second);
	assert_non_null(strstr(err, FX_NIC_GUID));
	assert_non_null(strstr(err, "in use"));
	fx_path(path, sizeof(path), "process %d", (int)getpid());
	if (!strstr(err, path))
		fail_msg("\"%s\" does not name the holder, %s", err, path);
	/* the first user is undisturbed, and once it is gone the next one may */
	assert_int_equal(vmbus_chan_send(vmbus_dev_primary(e->dev), 0, 0, "x", 1), 0);
	vmbus_dev_close(e->dev);
	e->dev = NULL;
	assert_int_equal(vmbus_dev_open(FX_NIC_GUID, &o, &second), 0);
	vmbus_dev_close(second);
	env_free(e);
}

static void test_open_bad_guid(void **state)
{
	struct vmbus_device *dev = (void *)1;
	char err[256];
	struct vmbus_dev_opts o = { .sz = sizeof(o), .root = "/nonexistent", .errbuf = err,
				    .errbuf_len = sizeof(err) };

	(void)state;
	assert_int_equal(vmbus_dev_open("not-a-guid", &o, &dev), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(err, "not a GUID"));
	assert_int_equal(vmbus_dev_open(NULL, &o, &dev), -EINVAL);
}

/* The simulated host refuses the open, as a host refusing OPENCHANNEL would. */
static void test_open_refused(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, -EAGAIN);

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), -EAGAIN);
	assert_non_null(strstr(e->err, "cannot open"));
	env_free(e);
}

/* Nobody serves the device node: the device is gone. */
static void test_open_unserved(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	fx_host_rescind(e->host);
	assert_int_equal(env_open(e, FX_NIC_GUID), -ENODEV);
	assert_non_null(strstr(e->err, "rescinded"));
	env_free(e);
}

/* Permission denied, checked as an unprivileged user in a child process. */
static void test_open_permission_denied(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	char path[PATH_MAX];
	pid_t pid;
	int status;

	(void)state;
	fx_path(path, sizeof(path), "%s/sys/class/uio/uio0/maps/map0/name", e->root);
	/* unreadable for its owner too: run by a user, the child stays the owner */
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(chmod(e->root, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int err;

		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		err = env_open(e, FX_NIC_GUID);
		_exit(err == -EACCES && strstr(e->err, "permission denied") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	env_free(e);
}

static void test_signal_monitored(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_monitor_page *mp;
	uint32_t *intpage;
	char path[PATH_MAX];
	int fd;

	(void)state;
	d.monitor_id = "37\n";
	fx_path(path, sizeof(path), "%s/sys/bus/vmbus/devices/%s/monitor_id", e->root, FX_NIC_GUID);
	fx_write(path, "37\n");
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_chan_signal(vmbus_dev_primary(e->dev)), 0);

	/* the host side sees the trigger bit of monitor id 37 and the relid bit */
	fx_path(path, sizeof(path), "%s/dev/uio0.map2", e->root);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	mp = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(mp != MAP_FAILED);
	assert_int_equal(mp->trigger_group[1].pending, 1u << 5);
	assert_int_equal(mp->trigger_group[0].pending, 0);
	munmap(mp, 4096);
	fx_path(path, sizeof(path), "%s/dev/uio0.map1", e->root);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	intpage = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(intpage != MAP_FAILED);
	assert_int_equal(intpage[2048 / 4], 1u << 14);
	munmap(intpage, 4096);
	/* no irqcontrol write for a monitored channel */
	assert_int_equal(e->host->nirq, 0);
	env_free(e);
}

static void test_signal_unmonitored_and_irqcontrol(void **state)
{
	struct fx_device d = fx_fcopy_6_16();
	struct env *e = env_new(&d, 0);

	(void)state;
	assert_int_equal(env_open(e, FX_FCOPY_GUID), 0);
	assert_int_equal(vmbus_chan_signal(vmbus_dev_primary(e->dev)), 0);
	assert_int_equal(vmbus_dev_irq_enable(e->dev, false), 0);
	assert_int_equal(vmbus_dev_irq_enable(e->dev, true), 0);
	assert_int_equal(fx_host_wait_irq(e->host, 3), 3);
	assert_int_equal(e->host->irq_values[0], 1);
	assert_int_equal(e->host->irq_values[1], 0);
	assert_int_equal(e->host->irq_values[2], 1);
	env_free(e);
}

static void test_wait_event_and_timeout(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_dev_wait(e->dev, 0), -ETIMEDOUT);
	fx_host_event(e->host);
	fx_host_event(e->host);
	/* events coalesce: one wait sees the newest count */
	assert_int_equal(vmbus_dev_wait(e->dev, 5000), 2);
	assert_int_equal(vmbus_dev_wait(e->dev, 10), -ETIMEDOUT);
	assert_int_equal(vmbus_dev_check(e->dev), 0);
	env_free(e);
}

/* The host's end of the primary channel: the rings of map 0, swapped. */
static uint8_t *attach_host(struct env *e, struct vmbus_chan **host)
{
	struct vmbus_chan_attach_opts o = { .sz = sizeof(o) };
	char path[PATH_MAX];
	uint8_t *rings;
	int fd;

	fx_path(path, sizeof(path), "%s/dev/uio0.map0", e->root);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	rings = mmap(NULL, FX_RING_4M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(rings != MAP_FAILED);
	o.tx = rings + FX_RING_4M / 2;
	o.tx_size = FX_RING_4M / 2;
	o.rx = rings;
	o.rx_size = FX_RING_4M / 2;
	o.hdr_size = 4096;
	assert_int_equal(vmbus_chan_attach(&o, host), 0);
	return rings;
}

/* The host writes a packet into the primary's incoming ring and signals. */
static void test_chan_wait_wakes_on_packet(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_chan *host, *c;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];
	uint8_t *rings;

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	c = vmbus_dev_primary(e->dev);
	rings = attach_host(e, &host);

	assert_int_equal(vmbus_chan_wait(c, 0), -ETIMEDOUT);
	/* waiting cleared the guest's interrupt mask */
	assert_int_equal(((struct vmbus_ring_hdr *)(rings + FX_RING_4M / 2))->interrupt_mask, 0);
	assert_int_equal(vmbus_chan_send(host, 0, 0, "wake", 4), 0);
	fx_host_event(e->host);
	assert_int_equal(vmbus_chan_wait(c, 5000), 0);
	assert_int_equal(vmbus_chan_recv(c, buf, sizeof(buf), &pkt), 8);
	assert_memory_equal(pkt.data, "wake", 4);
	/* data already there: no sleeping at all */
	assert_int_equal(vmbus_chan_send(host, 0, 0, "more", 4), 0);
	assert_int_equal(vmbus_chan_wait(c, 0), 0);
	vmbus_chan_detach(host);
	munmap(rings, FX_RING_4M);
	env_free(e);
}

/* The channel's listener fd wakes a poll() that waits on it with others. */
static void test_chan_fd_polls_with_others(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_chan *host, *c;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];
	struct pollfd pfd[2];
	uint8_t *rings;
	int fd, p[2];

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	c = vmbus_dev_primary(e->dev);
	rings = attach_host(e, &host);
	assert_int_equal(vmbus_chan_fd(host), -ENOTSUP);
	assert_int_equal(pipe(p), 0);

	fd = vmbus_chan_fd(c);
	assert_true(fd >= 0);
	assert_int_equal(vmbus_chan_fd(c), fd);
	assert_int_equal(vmbus_chan_wait(c, 0), -ETIMEDOUT);
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	assert_int_equal(poll(pfd, 2, 0), 0);
	/* the other descriptor wakes it alone */
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(poll(pfd, 2, 5000), 1);
	assert_int_equal(pfd[0].revents, 0);
	assert_true(pfd[1].revents & POLLIN);
	/* a packet and its interrupt wake it through the channel's descriptor */
	assert_int_equal(vmbus_chan_send(host, 0, 0, "wake", 4), 0);
	fx_host_event(e->host);
	pfd[1].events = 0;
	assert_int_equal(poll(pfd, 2, 5000), 1);
	assert_true(pfd[0].revents & POLLIN);
	assert_int_equal(vmbus_chan_wait(c, 0), 0);
	assert_int_equal(vmbus_chan_recv(c, buf, sizeof(buf), &pkt), 8);
	/* once the ring is empty, the wait takes the event: quiet again */
	assert_int_equal(vmbus_chan_wait(c, 0), -ETIMEDOUT);
	assert_int_equal(poll(pfd, 1, 0), 0);
	close(p[0]);
	close(p[1]);
	vmbus_chan_detach(host);
	munmap(rings, FX_RING_4M);
	env_free(e);
}

static void test_rescind(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_chan *c;
	struct vmbus_pkt pkt;
	_Alignas(8) uint8_t buf[64];

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	c = vmbus_dev_primary(e->dev);
	assert_int_equal(vmbus_chan_send(c, 0, 0, "x", 1), 0);
	fx_host_rescind(e->host);
	assert_int_equal(vmbus_dev_wait(e->dev, 5000), -ENODEV);
	assert_true(vmbus_dev_rescinded(e->dev));
	assert_non_null(strstr(vmbus_dev_strerror(e->dev), "rescinded"));
	/* every later call says so */
	assert_int_equal(vmbus_chan_send(c, 0, 0, "x", 1), -ENODEV);
	assert_int_equal(vmbus_chan_recv(c, buf, sizeof(buf), &pkt), -ENODEV);
	assert_int_equal(vmbus_chan_wait(c, 100), -ENODEV);
	assert_int_equal(vmbus_dev_wait(e->dev, 0), -ENODEV);
	assert_int_equal(vmbus_dev_irq_enable(e->dev, true), -ENODEV);
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 1, 100), -ENODEV);
	assert_int_equal(vmbus_dev_check(e->dev), 1);
	/* close still frees everything (the sanitizer checks for leaks) */
	env_free(e);
}

static void test_rescind_seen_by_check(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_dev_check(e->dev), 0);
	fx_host_rescind(e->host);
	/* the hang-up is immediate on a closed socket: no waiting needed */
	assert_int_equal(vmbus_dev_check(e->dev), 1);
	assert_int_equal(vmbus_chan_send(vmbus_dev_primary(e->dev), 0, 0, "x", 1), -ENODEV);
	env_free(e);
}

/* The rescind reaches a thread sleeping in vmbus_chan_wait. */
static void test_rescind_wakes_waiter(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	/* the channel's own listener connects on first wait */
	assert_int_equal(vmbus_chan_wait(vmbus_dev_primary(e->dev), 0), -ETIMEDOUT);
	assert_int_equal(fx_host_nclients(e->host), 2);
	fx_host_rescind(e->host);
	assert_int_equal(vmbus_chan_wait(vmbus_dev_primary(e->dev), 5000), -ENODEV);
	env_free(e);
}

#define SUB_RING (2u * (4096u + 16384u))

static void test_subchannels_present(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct vmbus_chan *c1, *c2;

	(void)state;
	fx_add_subchannel(e->root, FX_NIC_GUID, 15, 1, "3\n", SUB_RING);
	fx_add_subchannel(e->root, FX_NIC_GUID, 16, 2, NULL, SUB_RING);
	/* the primary's own directory is not a subchannel */
	fx_add_subchannel(e->root, FX_NIC_GUID, 14, 0, "2\n", SUB_RING);
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 2, 1000), 0);
	assert_int_equal(vmbus_dev_nchans(e->dev), 3);
	c1 = vmbus_dev_chan(e->dev, 1);
	c2 = vmbus_dev_chan(e->dev, 2);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_int_equal(vmbus_chan_relid(c1), 15);
	assert_int_equal(vmbus_chan_monitor_id(c1), 3);
	assert_int_equal(vmbus_chan_relid(c2), 16);
	assert_int_equal(vmbus_chan_monitor_id(c2), VMBUS_MONITOR_ID_NONE);
	assert_int_equal(vmbus_ring_data_size(vmbus_chan_tx_ring(c1)), 16384);
	/* asking again finds nothing new, and needs nothing new */
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 2, 0), 0);
	env_free(e);
}

static void test_subchannels_timeout(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	fx_add_subchannel(e->root, FX_NIC_GUID, 15, 1, NULL, SUB_RING);
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 2, 100), -ETIMEDOUT);
	assert_non_null(strstr(vmbus_dev_strerror(e->dev), "1 of 2 subchannels"));
	/* the one that was there is open and usable */
	assert_int_equal(vmbus_dev_nchans(e->dev), 2);
	assert_int_equal(vmbus_chan_send(vmbus_dev_chan(e->dev, 1), 0, 0, "x", 1), 0);
	env_free(e);
}

static void test_subchannel_bad_ring(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);

	(void)state;
	fx_add_subchannel(e->root, FX_NIC_GUID, 15, 1, NULL, 4096);
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 1, 100), -ERANGE);
	assert_non_null(strstr(vmbus_dev_strerror(e->dev), "cannot hold two rings"));
	env_free(e);
}

struct later {
	const char *root;
};

static void *offer_later(void *arg)
{
	struct later *l = arg;

	fx_add_subchannel(l->root, FX_NIC_GUID, 20, 1, NULL, SUB_RING);
	fx_add_subchannel(l->root, FX_NIC_GUID, 21, 2, NULL, SUB_RING);
	return NULL;
}

/* Subchannels offered while the guest waits for them. */
static void test_subchannels_appear(void **state)
{
	struct fx_device d = fx_nic_6_1();
	struct env *e = env_new(&d, 0);
	struct later l = { .root = e->root };
	pthread_t t;

	(void)state;
	assert_int_equal(env_open(e, FX_NIC_GUID), 0);
	assert_int_equal(pthread_create(&t, NULL, offer_later, &l), 0);
	assert_int_equal(vmbus_dev_open_subchans(e->dev, 2, 10000), 0);
	pthread_join(t, NULL);
	assert_int_equal(vmbus_chan_relid(vmbus_dev_chan(e->dev, 2)), 21);
	env_free(e);
}

static void test_guid_text(void **state)
{
	struct vmbus_guid g, nic = VMBUS_CLASS_NIC;
	char buf[VMBUS_GUID_STRLEN];

	(void)state;
	assert_int_equal(vmbus_guid_parse("{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n", &g), 0);
	assert_true(vmbus_guid_equal(&g, &nic));
	/* memory order as the kernel's modalias shows it */
	assert_int_equal(g.b[0], 0x63);
	assert_int_equal(g.b[3], 0xf8);
	assert_int_equal(g.b[4], 0x3e);
	assert_int_equal(g.b[8], 0x91);
	vmbus_guid_format(&g, buf);
	assert_string_equal(buf, "f8615163-df3e-46c5-913f-f2d2f965ed0e");
	assert_int_equal(vmbus_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("f8615163-df3e-46c5-913f-f2d2f965ed0g", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("f8615163xdf3e-46c5-913f-f2d2f965ed0e", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("{f8615163-df3e-46c5-913f-f2d2f965ed0e", &g), -EINVAL);
	assert_int_equal(vmbus_guid_parse("", &g), -EINVAL);
	assert_null(vmbus_class_name(&(struct vmbus_guid){ { 0 } }));
}

static int free_leftovers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i])
			env_free(live[i]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guid_text, free_leftovers),
		cmocka_unit_test_teardown(test_open_nic_6_1, free_leftovers),
		cmocka_unit_test_teardown(test_open_nic_6_16_uppercase_guid, free_leftovers),
		cmocka_unit_test_teardown(test_open_fcopy_no_buffers_no_monitor, free_leftovers),
		cmocka_unit_test_teardown(test_open_missing_monitor_id, free_leftovers),
		cmocka_unit_test_teardown(test_open_errors, free_leftovers),
		cmocka_unit_test_teardown(test_attr_fills_buffer, free_leftovers),
		cmocka_unit_test_teardown(test_open_status_checked, free_leftovers),
		cmocka_unit_test_teardown(test_maps_must_be_sealed, free_leftovers),
		cmocka_unit_test_teardown(test_maps_cannot_shrink, free_leftovers),
		cmocka_unit_test_teardown(test_real_second_opener_refused, free_leftovers),
		cmocka_unit_test_teardown(test_open_bad_guid, free_leftovers),
		cmocka_unit_test_teardown(test_open_refused, free_leftovers),
		cmocka_unit_test_teardown(test_open_unserved, free_leftovers),
		cmocka_unit_test_teardown(test_open_permission_denied, free_leftovers),
		cmocka_unit_test_teardown(test_signal_monitored, free_leftovers),
		cmocka_unit_test_teardown(test_signal_unmonitored_and_irqcontrol, free_leftovers),
		cmocka_unit_test_teardown(test_wait_event_and_timeout, free_leftovers),
		cmocka_unit_test_teardown(test_chan_wait_wakes_on_packet, free_leftovers),
		cmocka_unit_test_teardown(test_chan_fd_polls_with_others, free_leftovers),
		cmocka_unit_test_teardown(test_rescind, free_leftovers),
		cmocka_unit_test_teardown(test_rescind_seen_by_check, free_leftovers),
		cmocka_unit_test_teardown(test_rescind_wakes_waiter, free_leftovers),
		cmocka_unit_test_teardown(test_subchannels_present, free_leftovers),
		cmocka_unit_test_teardown(test_subchannels_timeout, free_leftovers),
		cmocka_unit_test_teardown(test_subchannel_bad_ring, free_leftovers),
		cmocka_unit_test_teardown(test_subchannels_appear, free_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
