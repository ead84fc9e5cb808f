# The one entry point of the project.
#
#   make            libvmbus (static and shared), tools, programs
#   make check      every test; userspace tests under ASan + UBSan
#   make demo       the main job: host simulator + netvsc-user moving packets
#   make bench      builds and runs every benchmark, printing its table
#   make kmod       the kernel module (KDIR=... to choose the headers)
#   make install    PREFIX, LIBDIR, INCLUDEDIR, BINDIR, DESTDIR as usual
#   make clean
#
# Objects go to build/<variant>/: "rel" (optimised, the default) or "san"
# (AddressSanitizer + UndefinedBehaviorSanitizer, used by make check).

VARIANT ?= rel
B := build/$(VARIANT)

include cflags.mk
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -fPIC $(WARN) -Ilibvmbus/include
ifeq ($(VARIANT),san)
OPT_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=address,undefined
else
OPT_CFLAGS := -O2
SAN_LDFLAGS :=
endif
CFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT_CFLAGS) $(CFLAGS)
LDLIBS_COMMON := -lpthread

# --- version: vmbus.h is the one source -----------------------------------
VHDR := libvmbus/include/vmbus/vmbus.h
V_MAJOR := $(shell sed -n 's/^\#define VMBUS_VERSION_MAJOR \([0-9]*\)/\1/p' $(VHDR))
V_MINOR := $(shell sed -n 's/^\#define VMBUS_VERSION_MINOR \([0-9]*\)/\1/p' $(VHDR))
V_PATCH := $(shell sed -n 's/^\#define VMBUS_VERSION_PATCH \([0-9]*\)/\1/p' $(VHDR))
VERSION := $(V_MAJOR).$(V_MINOR).$(V_PATCH)
SONAME := libvmbus.so.$(V_MAJOR)
LIBMAP := libvmbus/libvmbus.map

# --- libvmbus --------------------------------------------------------------
LIB_SRCS := $(wildcard libvmbus/src/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_A := $(B)/libvmbus.a
LIB_SO := $(B)/libvmbus.so.$(VERSION)

# --- netvsc-user: protocol library (everything but the program's main.c) ----
NETVSC_SRCS := $(filter-out netvsc-user/src/main.c,$(wildcard netvsc-user/src/*.c))
NETVSC_OBJS := $(NETVSC_SRCS:%.c=$(B)/%.o)
NETVSC_A := $(B)/libnetvsc.a
NETVSC_CFLAGS := -Inetvsc-user/include

# --- tools --------------------------------------------------------------------
HOSTSIM_SRCS := $(wildcard tools/vmbus-hostsim/*.c)
HOSTSIM_OBJS := $(HOSTSIM_SRCS:%.c=$(B)/%.o)
HOSTSIM := $(B)/bin/vmbus-hostsim
NETVSC_USER := $(B)/bin/netvsc-user
PROGRAMS := $(HOSTSIM) $(NETVSC_USER)
# the kernel transport speaks the vmbus_sim test module's ABI
$(HOSTSIM_OBJS): ALL_CFLAGS += -Itests/kernel/vmbus_sim/uapi

# --- tests and benchmarks ----------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_BINS := $(SIM_SRCS:tests/sim/%.c=$(B)/tests/sim/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: all lib programs tests benches check fuzz check-kernel check-version demo bench kmod install clean deps
.DEFAULT_GOAL := all

all: lib programs

programs: $(PROGRAMS)

$(HOSTSIM): $(HOSTSIM_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_LDFLAGS) -o $@ $(HOSTSIM_OBJS) $(LIB_A) $(LDLIBS_COMMON)

$(NETVSC_USER): $(B)/netvsc-user/src/main.o $(NETVSC_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_LDFLAGS) -o $@ $< $(NETVSC_A) $(LIB_A) $(LDLIBS_COMMON)

lib: check-version $(LIB_A) $(LIB_SO)

tests: $(UNIT_BINS) $(SIM_BINS) programs

$(NETVSC_A): $(NETVSC_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
benches: $(BENCH_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(NETVSC_CFLAGS) -fvisibility=hidden -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS) $(LIBMAP)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIBMAP) $(SAN_LDFLAGS) \
		-o $@ $(LIB_OBJS) $(LDLIBS_COMMON)
	ln -sf $(notdir $@) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libvmbus.so

# The version script must carry a node for the version in vmbus.h.
check-version:
	@grep -q '^VMBUS_$(V_MAJOR)\.$(V_MINOR) {' $(LIBMAP) || \
		{ echo "$(LIBMAP) has no node VMBUS_$(V_MAJOR).$(V_MINOR) for version $(VERSION)"; exit 1; }

$(B)/tests/unit/%: tests/unit/%.c $(LIB_A) $(NETVSC_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(NETVSC_CFLAGS) -Itests -Inetvsc-user/src -MMD -MP $< -o $@ \
		$(NETVSC_A) $(LIB_A) $(SAN_LDFLAGS) -lcmocka $(LDLIBS_COMMON)

$(B)/tests/sim/%: tests/sim/%.c $(LIB_A) $(NETVSC_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(NETVSC_CFLAGS) -Itests -Itests/sim -Inetvsc-user/src -MMD -MP $< -o $@ \
		$(NETVSC_A) $(LIB_A) $(SAN_LDFLAGS) -lcmocka $(LDLIBS_COMMON)

# the netvsc benchmark drives libnetvsc (and runs vmbus-hostsim)
$(B)/bench/netvsc: bench/netvsc.c $(NETVSC_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(NETVSC_CFLAGS) -MMD -MP $< -o $@ $(NETVSC_A) $(LIB_A) $(SAN_LDFLAGS) \
		$(LDLIBS_COMMON)

$(B)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $< -o $@ $(LIB_A) $(SAN_LDFLAGS) $(LDLIBS_COMMON)

-include $(shell find build -name '*.d' 2>/dev/null)

# --- top-level jobs --------------------------------------------------------
deps:
	@tools/setup-deps build fuzz kernel net

check: deps
	$(MAKE) VARIANT=san lib tests benches
	tests/run-unit build/san/tests/unit
	build/san/bench/ring --seconds 0.05 --rounds 1 >/dev/null
	VMBUS_HOSTSIM=build/san/bin/vmbus-hostsim tests/run-unit build/san/tests/sim
	tests/net/run build/san/bin || [ $$? -eq 77 ]
	tests/check-install
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run
	tests/kernel/run --driver uio_hv_generic
	for g in $(KERNEL_GENS); do tests/kernel/run --driver hv_uio --gen $$g || exit 1; done

# The generations of hv_vmbus the kernel test bed proves hv_uio on (see
# tests/kernel/README.md).
KERNEL_GENS := 6.1 5.14 6.15 6.18

# Fuzzing time per harness in seconds: 10 in make check, 120 in make fuzz,
# or what FUZZ_TIME says.
FUZZ_TIME ?= 10
fuzz: deps
	FUZZ_TIME=$(if $(filter default file,$(origin FUZZ_TIME)),120,$(FUZZ_TIME)) tests/fuzz/run

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
DESTDIR ?=

install: lib programs
	install -d $(DESTDIR)$(INCLUDEDIR)/vmbus $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR)
	install -m 644 libvmbus/include/vmbus/vmbus.h libvmbus/include/vmbus/wire.h \
		libvmbus/include/vmbus/sim.h $(DESTDIR)$(INCLUDEDIR)/vmbus/
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libvmbus.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libvmbus.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		libvmbus/libvmbus.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libvmbus.pc

clean:
	rm -rf build
