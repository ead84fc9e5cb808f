# The one entry point of the project.
#
#   make            libvmbus (static and shared), tools, programs
#   make check      every test; userspace tests under ASan + UBSan
#   make fuzz       every fuzz harness for FUZZ_TIME seconds (60)
#   make soak       traffic under random faults for SOAK_TIME seconds (600)
#   make demo       the main job: host simulator + netvsc-user moving packets
#   make bench      builds and runs every benchmark, printing its table
#   make kmod       the kernel module (KDIR=... to choose the headers)
#   make install    PREFIX, LIBDIR, INCLUDEDIR, BINDIR, DESTDIR as usual
#   make deb        Debian packages in build/pkg/deb/ (debian/)
#   make rpm        RPM packages in build/pkg/rpm/ (packaging/rpm/)
#   make clean
#
# Objects go to build/<variant>/: "rel" (optimised, the default) or "san"
# (AddressSanitizer + UndefinedBehaviorSanitizer, used by make check).
#
# Flags: CPPFLAGS, CFLAGS and LDFLAGS from the environment or the command
# line are honoured the way packagers pass them (dpkg-buildflags, Fedora's
# %{build_cflags}): CFLAGS replaces the default "-g -O2" ("-g -O1" for san),
# and what the code needs is always added besides: C11, the warnings of
# cflags.mk, each component's include paths and flags (its .mk file), the
# sanitizers for san.

VARIANT ?= rel
B := build/$(VARIANT)
TOP :=

include cflags.mk
include libvmbus/libvmbus.mk
include netvsc-user/netvsc-user.mk
include tools/vmbus-hostsim/vmbus-hostsim.mk
include tools/tools.mk

ifeq ($(VARIANT),san)
CFLAGS ?= -g -O1
VARIANT_CFLAGS := -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
CFLAGS ?= -g -O2
VARIANT_CFLAGS :=
endif
CPPFLAGS ?=
LDFLAGS ?=

# what every C file needs; OBJ_CPPFLAGS and OBJ_CFLAGS are the component's
BASE_CPPFLAGS := -D_GNU_SOURCE
BASE_CFLAGS := -std=c11 $(WARN) $(VARIANT_CFLAGS)
COMPILE = $(CC) $(BASE_CPPFLAGS) $(OBJ_CPPFLAGS) $(CPPFLAGS) $(BASE_CFLAGS) $(OBJ_CFLAGS) $(CFLAGS)
LINK = $(CC) $(VARIANT_CFLAGS) $(CFLAGS) $(LDFLAGS)

# Every source file of a component is in its .mk list: a file added to a
# directory but not to the list would silently not be built here while
# another build of the component (or none) picks it up.
unlisted := $(filter-out $(LIBVMBUS_SRCS) $(LIBNETVSC_SRCS) $(NETVSC_USER_SRCS) $(HOSTSIM_SRCS) \
	$(foreach t,$(BUS_TOOLS),$($(t)_SRCS)),$(wildcard libvmbus/src/*.c netvsc-user/src/*.c \
	netvsc-user/prog/*.c tools/vmbus-hostsim/*.c $(BUS_TOOLS:%=tools/%/*.c)))
$(if $(unlisted),$(error not in their component's .mk source list: $(unlisted)))

# --- version: vmbus.h is the one source -----------------------------------
VHDR := libvmbus/include/vmbus/vmbus.h
V_MAJOR := $(shell sed -n 's/^\#define VMBUS_VERSION_MAJOR \([0-9]*\)/\1/p' $(VHDR))
V_MINOR := $(shell sed -n 's/^\#define VMBUS_VERSION_MINOR \([0-9]*\)/\1/p' $(VHDR))
V_PATCH := $(shell sed -n 's/^\#define VMBUS_VERSION_PATCH \([0-9]*\)/\1/p' $(VHDR))
VERSION := $(V_MAJOR).$(V_MINOR).$(V_PATCH)
SONAME := libvmbus.so.$(V_MAJOR)
LIBMAP := libvmbus/libvmbus.map

# --- components (sources and flags in their .mk files) ----------------------
LIBVMBUS_OBJS := $(LIBVMBUS_SRCS:%.c=$(B)/%.o)
LIBVMBUS_A := $(B)/libvmbus.a
LIBVMBUS_SO := $(B)/libvmbus.so.$(VERSION)
# what the programs link: libvmbus.a, or with LINK_LIBVMBUS=shared
# libvmbus.so.0, as distribution packages do (a fixed library fixes them all)
PROG_LIBVMBUS := $(if $(filter shared,$(LINK_LIBVMBUS)),$(LIBVMBUS_SO),$(LIBVMBUS_A))
$(LIBVMBUS_OBJS): OBJ_CPPFLAGS := $(LIBVMBUS_CPPFLAGS)
$(LIBVMBUS_OBJS): OBJ_CFLAGS := $(LIBVMBUS_CFLAGS)

LIBNETVSC_OBJS := $(LIBNETVSC_SRCS:%.c=$(B)/%.o)
LIBNETVSC_A := $(B)/libnetvsc.a
$(LIBNETVSC_OBJS): OBJ_CPPFLAGS := $(LIBNETVSC_CPPFLAGS)

NETVSC_USER_OBJS := $(NETVSC_USER_SRCS:%.c=$(B)/%.o)
NETVSC_USER := $(B)/bin/netvsc-user
$(NETVSC_USER_OBJS): OBJ_CPPFLAGS := $(NETVSC_USER_CPPFLAGS)

HOSTSIM_OBJS := $(HOSTSIM_SRCS:%.c=$(B)/%.o)
HOSTSIM := $(B)/bin/vmbus-hostsim
$(HOSTSIM_OBJS): OBJ_CPPFLAGS := $(HOSTSIM_CPPFLAGS)

BUS_TOOL_BINS := $(BUS_TOOLS:%=$(B)/bin/%)
BUS_TOOLS_OBJS := $(patsubst %.c,$(B)/%.o,$(foreach t,$(BUS_TOOLS),$($(t)_SRCS)))
$(BUS_TOOLS_OBJS): OBJ_CPPFLAGS := $(BUS_TOOLS_CPPFLAGS)

PROGRAMS := $(HOSTSIM) $(NETVSC_USER)

# --- tests and benchmarks ----------------------------------------------------
# Tests may include any component's headers, private ones too.  Their
# helpers are compiled once, into a library every test program links.
TEST_CPPFLAGS := $(LIBNETVSC_CPPFLAGS) -Inetvsc-user/src -Itests -Itests/sim
TEST_HELPER_SRCS := tests/fixture_tree.c tests/unit/codec_util.c tests/sim/harness.c tests/sim/guest.c \
	tests/sim/netvsc_util.c
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(B)/%.o)
TEST_HELPERS_A := $(B)/tests/libhelpers.a
$(TEST_HELPER_OBJS): OBJ_CPPFLAGS := $(TEST_CPPFLAGS)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
SIM_SRCS := $(wildcard tests/sim/test_*.c)
SIM_BINS := $(SIM_SRCS:tests/sim/%.c=$(B)/tests/sim/%)
# DPDK's netvsc PMD on the simulated tree (tests/sim/test_dpdk): the test
# program and the stand-in for the UIO character device, built only where
# DPDK is installed (tools/setup-deps dpdk) and without the sanitizers
# (DPDK's libraries have none; the stand-in is preloaded into the program).
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS := $(shell pkg-config --libs libdpdk 2>/dev/null)
DPDK_BINS := $(if $(DPDK_LIBS),$(B)/tests/sim/dpdk/netvsc-dpdk $(B)/tests/sim/dpdk/uio_shim.so)
BENCH_CPPFLAGS := $(NETVSC_INCLUDE) $(LIBVMBUS_INCLUDE) -Iinclude
BENCH_SRCS := bench/netvsc.c bench/ring.c
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)
BENCH_HELPER_OBJS := $(B)/bench/bench.o
$(BENCH_HELPER_OBJS): OBJ_CPPFLAGS := $(BENCH_CPPFLAGS)
TEST_LDLIBS := -lcmocka -lpthread
# the bus tools' tests: a stand-in for the kernel's driver core on a fixture
# tree, and the library calls under the tools (cmocka)
TOOLS_TEST_BINS := $(B)/tests/tools/fake-driver-core $(B)/tests/tools/unit-scan
# the soak: netvsc-user and vmbus-hostsim under random faults (tests/soak)
SOAK_BIN := $(B)/tests/soak/soak

.PHONY: all lib programs tests tools-tests benches check fuzz soak check-kernel check-version demo bench kmod install clean deps
.DEFAULT_GOAL := all

all: lib programs

lib: check-version $(LIBVMBUS_A) $(LIBVMBUS_SO)

programs: $(PROGRAMS) $(BUS_TOOL_BINS)

tests: $(UNIT_BINS) $(SIM_BINS) $(DPDK_BINS) $(SOAK_BIN) programs

benches: $(BENCH_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP -c $< -o $@

$(LIBVMBUS_A): $(LIBVMBUS_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LIBVMBUS_SO): $(LIBVMBUS_OBJS) $(LIBMAP)
	$(LINK) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIBMAP) \
		-o $@ $(LIBVMBUS_OBJS) $(LIBVMBUS_LDLIBS)
	ln -sf $(notdir $@) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libvmbus.so

$(LIBNETVSC_A): $(LIBNETVSC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(HOSTSIM): $(HOSTSIM_OBJS) $(PROG_LIBVMBUS)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $(HOSTSIM_OBJS) $(PROG_LIBVMBUS) $(HOSTSIM_LDLIBS)

$(NETVSC_USER): $(NETVSC_USER_OBJS) $(LIBNETVSC_A) $(PROG_LIBVMBUS)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $(NETVSC_USER_OBJS) $(LIBNETVSC_A) $(PROG_LIBVMBUS) $(NETVSC_USER_LDLIBS)

define bus_tool_rule
$(B)/bin/$(1): $$(patsubst %.c,$(B)/%.o,$$($(1)_SRCS)) $$(PROG_LIBVMBUS)
	@mkdir -p $$(dir $$@)
	$$(LINK) -o $$@ $$^ $$(BUS_TOOLS_LDLIBS)
endef
$(foreach t,$(BUS_TOOLS),$(eval $(call bus_tool_rule,$(t))))

# The version script must carry a node for the version in vmbus.h.
check-version:
	@grep -q '^VMBUS_$(V_MAJOR)\.$(V_MINOR) {' $(LIBMAP) || \
		{ echo "$(LIBMAP) has no node VMBUS_$(V_MAJOR).$(V_MINOR) for version $(VERSION)"; exit 1; }

$(TEST_HELPERS_A): $(TEST_HELPER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# Test programs and benchmarks: one source each, linked with the libraries.
TEST_LIBS := $(TEST_HELPERS_A) $(LIBNETVSC_A) $(LIBVMBUS_A)
$(B)/tests/unit/% $(B)/tests/sim/%: OBJ_CPPFLAGS := $(TEST_CPPFLAGS)
$(B)/tests/unit/%: tests/unit/%.c $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP $(LDFLAGS) $< -o $@ $(TEST_LIBS) $(TEST_LDLIBS)

$(B)/tests/sim/%: tests/sim/%.c $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP $(LDFLAGS) $< -o $@ $(TEST_LIBS) $(TEST_LDLIBS)

$(B)/tests/sim/dpdk/netvsc-dpdk: tests/sim/dpdk/netvsc_dpdk.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CPPFLAGS) $(DPDK_CFLAGS) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) $(LDFLAGS) \
		$< -o $@ $(DPDK_LIBS)

$(B)/tests/sim/dpdk/uio_shim.so: tests/sim/dpdk/uio_shim.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CPPFLAGS) -Ilibvmbus/include $(CPPFLAGS) -std=c11 $(WARN) -fPIC -shared \
		$(CFLAGS) $(LDFLAGS) $< -o $@ -ldl

$(SOAK_BIN): OBJ_CPPFLAGS := $(TEST_CPPFLAGS)
$(SOAK_BIN): tests/soak/soak.c $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP $(LDFLAGS) $< -o $@ $(TEST_LIBS) $(TEST_LDLIBS)

$(B)/tests/tools/%: OBJ_CPPFLAGS := $(BUS_TOOLS_CPPFLAGS)
$(B)/tests/tools/%: tests/tools/%.c $(LIBVMBUS_A)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP $(LDFLAGS) $< -o $@ $(LIBVMBUS_A) $(TEST_LDLIBS)

tools-tests: programs $(TOOLS_TEST_BINS)

$(BENCH_BINS): OBJ_CPPFLAGS := $(BENCH_CPPFLAGS)
$(BENCH_BINS): $(B)/bench/%: bench/%.c $(BENCH_HELPER_OBJS) $(LIBNETVSC_A) $(LIBVMBUS_A)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP $(LDFLAGS) $< -o $@ $(BENCH_HELPER_OBJS) $(LIBNETVSC_A) $(LIBVMBUS_A) \
		-lpthread

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# --- top-level jobs --------------------------------------------------------
deps:
	@tools/setup-deps build fuzz kernel net pkg dpdk

check: deps
	$(MAKE) VARIANT=san lib tests benches
	tests/run-unit build/san/tests/unit
	build/san/bench/ring --seconds 0.05 --rounds 1 >/dev/null
	VMBUS_HOSTSIM=build/san/bin/vmbus-hostsim build/san/bench/netvsc --seconds 0.05 --rounds 1 >/dev/null
	VMBUS_HOSTSIM=build/san/bin/vmbus-hostsim tests/run-unit build/san/tests/sim
	build/san/tests/soak/soak --seconds $(SOAK_CHECK_TIME)
	tests/net/run build/san/bin || [ $$? -eq 77 ]
	tests/check-install
	tests/packages/run || [ $$? -eq 77 ]
	$(MAKE) VARIANT=san tools-tests && tests/tools/run build/san
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run
	tests/kernel/run --driver uio_hv_generic
	for g in $(KERNEL_GENS); do tests/kernel/run --driver hv_uio --gen $$g || exit 1; done

# The generations of hv_vmbus the kernel test bed proves hv_uio on (see
# tests/kernel/README.md).
KERNEL_GENS := 6.1 5.14 6.15 6.18

# Fuzzing time per harness in seconds: 5 in make check (after replaying
# every seed and every input kept from earlier findings), 60 in make fuzz,
# or what FUZZ_TIME says.  make fuzz FUZZ=ring runs one harness.
FUZZ_TIME ?= 5
fuzz: deps
	FUZZ_TIME=$(if $(filter default file,$(origin FUZZ_TIME)),60,$(FUZZ_TIME)) tests/fuzz/run $(FUZZ)

# The soak (tests/soak/soak.c): SOAK_TIME seconds of traffic under random
# faults, sanitizer builds throughout (600 by default; 30 in make check).
# SOAK_SEED=S repeats a run.
SOAK_TIME ?= 600
SOAK_CHECK_TIME ?= 30
soak: deps
	$(MAKE) VARIANT=san lib programs build/san/tests/soak/soak
	build/san/tests/soak/soak --seconds $(SOAK_TIME) $(if $(SOAK_SEED),--seed $(SOAK_SEED))

# The kernel test bed against one UIO driver (uio_hv_generic or hv_uio).
KDRIVER ?= uio_hv_generic
check-kernel: deps
	tests/kernel/run --driver $(KDRIVER)

# vmbus-hostsim on a temporary root, netvsc-user moving checked traffic
# both ways through it; exits 0 only if every step worked.
demo:
	@tools/setup-deps build
	$(MAKE) VARIANT=rel lib programs
	tools/demo build/rel/bin

bench: deps
	$(MAKE) VARIANT=rel benches programs
	@for b in $(BENCH_BINS:build/$(VARIANT)/%=build/rel/%); do echo "== $$b"; $$b || exit 1; done

# Kernel headers: KDIR, else the running kernel's build dir, else Debian's
# newest linux-headers-*-amd64.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))
kmod:
	$(MAKE) -C kmod-hv KDIR=$(KDIR)

# --- install -------------------------------------------------------------
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# udev reads /usr/lib/udev/rules.d and /etc/udev/rules.d, not /usr/local
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
DESTDIR ?=

install: lib programs
	install -d $(DESTDIR)$(INCLUDEDIR)/vmbus $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR)
	install -m 644 libvmbus/include/vmbus/vmbus.h libvmbus/include/vmbus/wire.h \
		libvmbus/include/vmbus/sim.h $(DESTDIR)$(INCLUDEDIR)/vmbus/
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIBVMBUS_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIBVMBUS_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libvmbus.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libvmbus.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		libvmbus/libvmbus.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libvmbus.pc
	# the bus tools (the root ones in SBINDIR), man pages, units, udev rule
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(UDEVRULESDIR)
	install -m 755 $(B)/bin/vmbus-bind $(B)/bin/vmbus-ring $(DESTDIR)$(SBINDIR)/
	install -m 755 $(B)/bin/vmbus-ls $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	for u in netvsc-user@.service vmbus-bind-persist@.service; do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' tools/$$u.in \
			> $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -m 644 tools/60-vmbus-bind.rules $(DESTDIR)$(UDEVRULESDIR)/

clean:
	rm -rf build

# --- packages: debian/, packaging/rpm/ (notes: debian/README.packaging) ---
# Both build from a copy of the files git tracks, as the working tree has
# them: what make kmod, an editor or a test left beside them stays out of
# the packages (a new file is packaged once it is added to git).
PKGDIR := build/pkg
PKG_SRC = $(PKGDIR)/$(1)/vmbus-user-$(VERSION)
DKMS_VAR = $(shell sed -n 's/^$(1)="\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' kmod-hv/dkms.conf)
KMOD_NAME := $(call DKMS_VAR,PACKAGE_NAME)
KMOD_VERSION := $(call DKMS_VAR,PACKAGE_VERSION)
# rpmbuild on a Debian host: its rpm database knows no build dependency
RPMBUILD_FLAGS ?= $(if $(wildcard /etc/debian_version),--nodeps)

.PHONY: deb rpm print-version print-kmod
print-version:
	@echo $(VERSION)
print-kmod:
	@echo $(KMOD_NAME) $(KMOD_VERSION)

deb:
	@tools/setup-deps build pkg
	rm -rf $(PKGDIR)/deb
	packaging/export-tree $(call PKG_SRC,deb)
	cd $(call PKG_SRC,deb) && dpkg-buildpackage -us -uc
	@ls $(PKGDIR)/deb/*.deb

rpm:
	$(if $(wildcard /etc/debian_version),@tools/setup-deps build pkg)
	rm -rf $(PKGDIR)/rpm
	packaging/export-tree $(call PKG_SRC,rpm)
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@KMOD_NAME@|$(KMOD_NAME)|g' \
		-e 's|@KMOD_VERSION@|$(KMOD_VERSION)|g' packaging/rpm/vmbus-user.spec.in \
		> $(call PKG_SRC,rpm)/vmbus-user.spec
	tar -C $(PKGDIR)/rpm -czf $(PKGDIR)/rpm/vmbus-user-$(VERSION).tar.gz vmbus-user-$(VERSION)
	rpmbuild -ta $(RPMBUILD_FLAGS) --define '_topdir $(abspath $(PKGDIR)/rpm)' \
		$(PKGDIR)/rpm/vmbus-user-$(VERSION).tar.gz
	@ls $(PKGDIR)/rpm/RPMS/*/*.rpm $(PKGDIR)/rpm/SRPMS/*.rpm
