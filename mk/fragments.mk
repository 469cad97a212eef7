# Every directory's own *.mk fragment (outside mk/ and build/) declares its unit tests, tools,
# fuzz targets and generated sources; the rules above and below build them.  (arch/NAME/arch.mk
# is not a fragment: the top-level Makefile includes the one of $(ARCH) first.)
FRAGMENTS := $(sort $(shell find . -name '*.mk' -not -path './mk/*' -not -path './$(BUILD)/*' \
                     -not -path './.git/*' -not -name arch.mk))
include $(FRAGMENTS)

$(foreach t,$(UNIT_TESTS),$(eval $(call unit_test_rule,$(t))))
$(foreach t,$(HOST_TOOLS),$(eval $(call host_tool_rule,$(t))))
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

UNIT_BINS  = $(addprefix $(BUILD)/tests/unit/,$(UNIT_TESTS))
TOOL_BINS  = $(addprefix $(BUILD)/,$(HOST_TOOLS)) $(addsuffix -asan,$(addprefix $(BUILD)/,$(HOST_TOOLS)))
FUZZ_BINS  = $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

unit-tests: deps $(UNIT_BINS)
host-tools: deps $(TOOL_BINS)
fuzz: deps $(FUZZ_BINS)
.PHONY: unit-tests host-tools fuzz
