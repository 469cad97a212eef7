# Host builds of portable code: unit tests (cmocka, ASan+UBSan), tools (optimised, plus an
# ASan+UBSan twin for tests) and libFuzzer targets (clang).  Fragments declare them:
#   UNIT_TESTS   += NAME      NAME_SRCS := tests/unit/NAME.c lib/foo.c ...
#   HOST_TOOLS   += NAME      NAME_SRCS := tools/NAME/main.c ...   -> build/NAME, build/NAME-asan
#   FUZZ_TARGETS += NAME      NAME_SRCS := tests/fuzz/NAME.c ...   -> build/fuzz/NAME
#                             NAME_UNTRACED_CMP := those of NAME_SRCS compiled without
#                             comparison tracing, for this target only (below)
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
# A target's NAME_UNTRACED_CMP keep edge coverage but lose comparison tracing (the operands of
# every comparison handed to libFuzzer for its mutations), in objects of their own so the
# other targets linking the same files keep it: for code whose comparisons are hash values,
# slot numbers and loop bounds, which cost a hook call each and give the mutator nothing to
# aim at (docs/FUZZING.md).
$(BUILD)/fuzz-obj-nocmp/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $< (no cmp tracing)"
	@$(CLANG) $(HOST_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-coverage=trace-cmp -fno-sanitize-recover=undefined -MMD -MP -c $< -o $@
fuzz_objs = $(patsubst %.c,$(BUILD)/fuzz-obj/%.o,$(filter-out $($(1)_UNTRACED_CMP),$(2))) \
	$(patsubst %.c,$(BUILD)/fuzz-obj-nocmp/%.o,$(filter $($(1)_UNTRACED_CMP),$(2)))

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
$(BUILD)/fuzz/$(1): $(call fuzz_objs,$(1),$($(1)_SRCS) $(SHIM_SRCS))
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	@$(CLANG) -fsanitize=fuzzer,address,undefined -o $$@ $$^
ALL_DEPFILES += $(patsubst %.o,%.d,$(call fuzz_objs,$(1),$($(1)_SRCS) $(SHIM_SRCS)))
endef

