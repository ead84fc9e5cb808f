# vmbus-bind, vmbus-ls, vmbus-ring: the bus tools (libvmbus's public API
# only), their man pages and the netvsc-user@.service unit.  Included by
# the top Makefile; uses its B, CC, ALL_CFLAGS, SAN_LDFLAGS, LIB_A.

BUS_TOOLS := vmbus-bind vmbus-ls vmbus-ring
BUS_TOOL_BINS := $(BUS_TOOLS:%=$(B)/bin/%)
programs: $(BUS_TOOL_BINS)
install: install-tools

define bus_tool_rule
$(B)/bin/$(1): $$(patsubst %.c,$(B)/%.o,$$(wildcard tools/$(1)/*.c)) $$(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(SAN_LDFLAGS) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LIB_A) $$(LDLIBS_COMMON)
endef
$(foreach t,$(BUS_TOOLS),$(eval $(call bus_tool_rule,$(t))))

# the tests' helpers: a stand-in for the kernel's driver core on a fixture tree
TOOLS_TEST_BINS := $(B)/tests/tools/fake-driver-core
$(B)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $< -o $@ $(SAN_LDFLAGS) $(LDFLAGS)

# the library calls under the tools (cmocka)
$(B)/tests/tools-unit/scan: tests/tools/unit-scan.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $< -o $@ $(LIB_A) $(SAN_LDFLAGS) $(LDFLAGS) -lcmocka $(LDLIBS_COMMON)

tools-tests: $(BUS_TOOL_BINS) $(TOOLS_TEST_BINS) $(B)/tests/tools-unit/scan $(HOSTSIM) $(NETVSC_USER)

# --- install: root tools in SBINDIR, man pages, the service unit -------------
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# udev reads /usr/lib/udev/rules.d and /etc/udev/rules.d, not /usr/local
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)

install-tools: $(BUS_TOOL_BINS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(B)/bin/vmbus-bind $(B)/bin/vmbus-ring $(DESTDIR)$(SBINDIR)/
	install -m 755 $(B)/bin/vmbus-ls $(DESTDIR)$(BINDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	for u in netvsc-user@.service vmbus-bind-persist@.service; do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' tools/$$u.in \
			> $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 644 tools/60-vmbus-bind.rules $(DESTDIR)$(UDEVRULESDIR)/

.PHONY: tools-tests install-tools
