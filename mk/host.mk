# Host builds of portable code: unit tests (cmocka, ASan+UBSan), tools (optimised, plus an
# ASan+UBSan twin for tests) and libFuzzer targets (clang).  Fragments declare them:
#   UNIT_TESTS   += NAME      NAME_SRCS := tests/unit/NAME.c lib/foo.c ...
#   HOST_TOOLS   += NAME      NAME_SRCS := tools/NAME/main.c ...   -> build/NAME, build/NAME-asan
#   FUZZ_TARGETS += NAME      NAME_SRCS := tests/fuzz/NAME.c ...   -> build/fuzz/NAME
# The host shim (tests/host_shim/shim.c) supplies heap, log, locks and time to all of them.

SHIM_SRCS := tests/host_shim/shim.c lib/string.c lib/timer_wheel.c kernel/mutex.c kernel/wait.c

$(BUILD)/host/%.o: %.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	@$(HOSTCC) $(HOST_CFLAGS) $(SANITIZE) -MMD -MP -c $< -o $@
$(BUILD)/tool/%.o: %.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	@$(HOSTCC) $(TOOL_CFLAGS) -MMD -MP -c $< -o $@
FUZZ_COVERAGE := fuzzer-no-link,
$(BUILD)/fuzz-obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	@$(CLANG) $(HOST_CFLAGS) -O1 -fsanitize=$(FUZZ_COVERAGE)address,undefined \
		-fno-sanitize-recover=undefined -MMD -MP -c $< -o $@
# Checksums run a loop per byte of input and are not what the fuzzers test (unit tests do):
# still built with ASan and UBSan, but without coverage feedback, which cost a traced
# comparison per byte (crc32 was 60 % of fuzz_partition's time) and told the fuzzer nothing.
FUZZ_UNTRACED_SRCS := lib/crc32.c
$(patsubst %.c,$(BUILD)/fuzz-obj/%.o,$(FUZZ_UNTRACED_SRCS)): FUZZ_COVERAGE :=

define unit_test_rule
$(BUILD)/tests/unit/$(1): $(patsubst %.c,$(BUILD)/host/%.o,$($(1)_SRCS) $(SHIM_SRCS))
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	@$(HOSTCC) $(SANITIZE) -o $$@ $$^ -lcmocka
ALL_DEPFILES += $(patsubst %.c,$(BUILD)/host/%.d,$($(1)_SRCS))
endef

define host_tool_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/tool/%.o,$($(1)_SRCS) $(SHIM_SRCS))
	@echo "  LINK    $$@"
	@$(HOSTCC) -o $$@ $$^
$(BUILD)/$(1)-asan: $(patsubst %.c,$(BUILD)/host/%.o,$($(1)_SRCS) $(SHIM_SRCS))
	@echo "  LINK    $$@"
	@$(HOSTCC) $(SANITIZE) -o $$@ $$^
ALL_DEPFILES += $(patsubst %.c,$(BUILD)/tool/%.d,$($(1)_SRCS)) $(patsubst %.c,$(BUILD)/host/%.d,$($(1)_SRCS))
endef

define fuzz_rule
$(BUILD)/fuzz/$(1): $(patsubst %.c,$(BUILD)/fuzz-obj/%.o,$($(1)_SRCS) $(SHIM_SRCS))
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	@$(CLANG) -fsanitize=fuzzer,address,undefined -o $$@ $$^
ALL_DEPFILES += $(patsubst %.c,$(BUILD)/fuzz-obj/%.d,$($(1)_SRCS) $(SHIM_SRCS))
endef

