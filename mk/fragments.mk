# Every directory's own *.mk fragment (outside mk/ and build/) declares its unit tests, tools,
# fuzz targets and generated sources; the rules above and below build them.
FRAGMENTS := $(sort $(shell find . -name '*.mk' -not -path './mk/*' -not -path './$(BUILD)/*' \
                     -not -path './.git/*'))
include $(FRAGMENTS)

$(foreach t,$(UNIT_TESTS),$(eval $(call unit_test_rule,$(t))))
$(foreach t,$(HOST_TOOLS),$(eval $(call host_tool_rule,$(t))))
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))
