# The default disk `make run` boots with: a GPT disk with one FAT32 partition (the "Microsoft
# basic data" type, starting at 1 MiB) filled from rootfs/ by our own rayfs tool, plus an empty
# /LOG.  The disk is made once; delete build/disk.img to start over.
DEFAULT_DISK := $(BUILD)/disk.img
DISK_SIZE_MIB := 128

$(DEFAULT_DISK): | $(BUILD)/rayfs
	@echo "  DISK    $@"
	@rm -f $@.tmp
	@truncate -s $(DISK_SIZE_MIB)M $@.tmp
	@printf 'label: gpt\nstart=2048, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="RAYOS"\n' | \
		sfdisk --quiet $@.tmp
	@$(BUILD)/rayfs mkfs $@.tmp@1 --fat 32 --label RAYOS >/dev/null
	@set -e; cd rootfs; for d in $$(find . -mindepth 1 -type d | sort); do \
		../$(BUILD)/rayfs mkdir ../$@.tmp@1 /$${d#./}; done; \
	for f in $$(find . -type f -not -name '*.mk' | sort); do \
		../$(BUILD)/rayfs put ../$@.tmp@1 $$f /$${f#./}; done
	@$(BUILD)/rayfs mkdir $@.tmp@1 /LOG
	@mv $@.tmp $@

disk: $(DEFAULT_DISK)
.PHONY: disk
