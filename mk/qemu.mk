# Booting RayOS in QEMU.  Knobs: MACHINE (q35|pc on x86_64)  MEM=256M  SMP=2  ACCEL=kvm|tcg
# QEMU_EXTRA="..."; the emulator, default machine, kernel file and fixed devices come from
# arch/$(ARCH)/arch.mk.  KVM only when the CPU really has hardware virtualisation: /dev/kvm
# alone is not enough (without vmx/svm it is far slower than TCG).

MACHINE    ?= $(QEMU_MACHINE)
MEM        ?= 256M
SMP        ?= 2
ACCEL      ?= $(shell if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then echo kvm; else echo tcg; fi)
QEMU       ?= $(QEMU_SYSTEM)
QEMU_EXTRA ?=
RUN_DISK   ?= $(DEFAULT_DISK)
CMDLINE    ?=

QEMU_BASE = $(QEMU) -machine $(MACHINE) -accel $(ACCEL) -m $(MEM) -smp $(SMP) -display none -no-reboot \
    $(QEMU_ARCH_ARGS)
comma := ,
QEMU_DISK_ARGS = $(if $(RUN_DISK),-drive file=$(RUN_DISK)$(comma)format=raw$(comma)if=none$(comma)id=rootdisk \
    -device virtio-blk-pci$(comma)drive=rootdisk)

# The serial console is the terminal: Ctrl-C goes to RayOS's shell, Ctrl-A X leaves QEMU.
run: all $(RUN_DISK)
	@echo "RayOS: $(MACHINE), $(MEM), $(ACCEL).  Ctrl-A X quits QEMU."
	@$(QEMU_BASE) -chardev stdio,id=console,mux=on,signal=off -serial chardev:console \
		-mon chardev=console $(QEMU_DISK_ARGS) -kernel $(QEMU_KERNEL) \
		$(if $(CMDLINE),-append "$(CMDLINE)") $(QEMU_EXTRA); \
		status=$$?; [ $$status -eq 0 ] || [ $$status -eq 1 ] || echo "qemu exited with $$status"

# QEMU halted with its GDB stub; the script loads symbols and connects.
debug: all
	@echo "QEMU is waiting for gdb on :1234; in another terminal: gdb -x $(BUILD)/gdbinit"
	@printf 'file $(KERNEL_ELF)\ntarget remote :1234\n' > $(BUILD)/gdbinit
	@$(QEMU_BASE) -serial stdio -s -S $(QEMU_DISK_ARGS) -kernel $(QEMU_KERNEL) \
		$(if $(CMDLINE),-append "$(CMDLINE)") $(QEMU_EXTRA)

# A bootable ISO for GRUB (Multiboot 2), BIOS and UEFI.  GRUB passes the kernel and the GRUB
# images of make image and the default configuration as boot modules: `install` writes a disk
# from them (/boot/modules).
ISO := $(BUILD)/rayos.iso
iso: $(ISO)
# The driver modules and their alias index come along as boot modules too (GRUB's module
# lines, like an initramfs), so a root disk whose driver is a module works from the ISO and
# `install` can copy them: one module2 line each, added to mk/grub.cfg before its `boot`.
$(ISO): $(KERNEL_ELF) mk/grub.cfg $(GRUB_EFI) $(GRUB_BIOS_CORE) $(GRUB_BIOS_BOOT) \
        rootfs/BOOT/RAYOS.CFG $(MODULE_KOS) $(MODULE_ALIASES)
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub $(BUILD)/iso/boot/payload \
		$(BUILD)/iso/boot/modules
	@cp $(KERNEL_ELF) $(BUILD)/iso/boot/rayos.elf
	@cp $(GRUB_EFI) $(GRUB_BIOS_CORE) $(GRUB_BIOS_BOOT) rootfs/BOOT/RAYOS.CFG \
		$(BUILD)/iso/boot/payload/
	@for f in $(MODULE_KOS) $(MODULE_ALIASES); do cp $$f $(BUILD)/iso/boot/modules/; done
	@{ sed '/^    boot$$/,$$d' mk/grub.cfg; \
	   for m in $(notdir $(MODULE_KOS) $(MODULE_ALIASES)); do \
		echo "    module2 /boot/modules/$$m $$m"; done; \
	   sed -n '/^    boot$$/,$$p' mk/grub.cfg; } > $(BUILD)/iso/boot/grub/grub.cfg
	@echo "  ISO     $@"
	@grub-mkrescue -o $@ $(BUILD)/iso >$(BUILD)/iso.log 2>&1 || { cat $(BUILD)/iso.log; exit 1; }

.PHONY: run debug iso
