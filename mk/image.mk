# A bootable disk image (make image -> build/rayos.img): GPT, an ESP that is also the root, and
# a BIOS boot partition, written by rayfs bootdisk (fs/bootdisk/, the same code as the shell's
# `install`).  GRUB's two loaders are built here with grub-mkimage and an embedded config
# (mk/grub-embedded.cfg, run by GRUB's rescue parser, so no comments in it): the serial console,
# no menu delay; then GRUB's normal mode reads $prefix/GRUB.CFG from the partition it started
# from, written per disk by rayfs bootdisk or install: it checks that partition's PARTUUID and
# boots the kernel with root=PARTUUID=<uuid>.
IMAGE          := $(BUILD)/rayos.img
IMAGE_SIZE     ?= 64M
GRUB_DIR       := $(BUILD)/grub
GRUB_EFI       := $(GRUB_DIR)/BOOTX64.EFI
GRUB_BIOS_CORE := $(GRUB_DIR)/core.img
GRUB_BIOS_BOOT := $(GRUB_DIR)/boot.img
GRUB_MODULES   := part_gpt fat normal multiboot2 probe test regexp serial terminal echo configfile
# The ESP is GPT partition 1 of the disk GRUB was started from ("(,gpt1)": the BIOS boot drive).
GRUB_BIOS_PREFIX := (,gpt1)/BOOT/GRUB
GRUB_EFI_PREFIX  := /BOOT/GRUB

$(GRUB_EFI): mk/grub-embedded.cfg mk/image.mk | deps
	@mkdir -p $(@D)
	@echo "  GRUB    $@"
	@grub-mkimage -O x86_64-efi -o $@ -c mk/grub-embedded.cfg -p $(GRUB_EFI_PREFIX) \
		efi_gop $(GRUB_MODULES)

$(GRUB_BIOS_CORE): mk/grub-embedded.cfg mk/image.mk | deps
	@mkdir -p $(@D)
	@echo "  GRUB    $@"
	@grub-mkimage -O i386-pc -o $@ -c mk/grub-embedded.cfg -p '$(GRUB_BIOS_PREFIX)' \
		biosdisk $(GRUB_MODULES)

# (Not a prerequisite: the file only exists once deps has installed grub-pc-bin.)
$(GRUB_BIOS_BOOT): mk/image.mk | deps
	@mkdir -p $(@D)
	@cp /usr/lib/grub/i386-pc/boot.img $@

grub-images: $(GRUB_EFI) $(GRUB_BIOS_CORE) $(GRUB_BIOS_BOOT)

# The driver modules and their alias index go to /BOOT/MODULES on the ESP, as on the default
# disk, so a root disk whose driver is a module is autoloaded from there.
$(IMAGE): $(KERNEL_ELF) $(BUILD)/rayfs $(GRUB_EFI) $(GRUB_BIOS_CORE) $(GRUB_BIOS_BOOT) \
          rootfs/BOOT/RAYOS.CFG $(MODULE_KOS) $(MODULE_ALIASES)
	@echo "  IMAGE   $@"
	@rm -f $@.tmp
	@$(BUILD)/rayfs bootdisk $@.tmp --size $(IMAGE_SIZE) --kernel $(KERNEL_ELF) \
		--efi $(GRUB_EFI) --bios-core $(GRUB_BIOS_CORE) --bios-boot $(GRUB_BIOS_BOOT) \
		--config rootfs/BOOT/RAYOS.CFG >/dev/null
	@$(BUILD)/rayfs mkdir $@.tmp@1 /BOOT/MODULES
	@for f in $(MODULE_KOS) $(MODULE_ALIASES); do \
		$(BUILD)/rayfs put $@.tmp@1 $$f /BOOT/MODULES/$$(basename $$f) || exit 1; \
	done
	@mv $@.tmp $@

image: $(IMAGE)
.PHONY: image grub-images
