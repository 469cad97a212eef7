# The module file parser and linker (lib/elf_module.c, arch/x86_64/module_reloc.c) on the host:
# the tool the relocation test compares with ld, a fuzz target.
ELF_MODULE_SRCS := lib/elf_module.c arch/$(ARCH)/module_reloc.c

HOST_TOOLS += module-link
module-link_SRCS := tests/host/module_link.c $(ELF_MODULE_SRCS)

FUZZ_TARGETS += fuzz_module_elf
fuzz_module_elf_SRCS := tests/fuzz/fuzz_module_elf.c $(ELF_MODULE_SRCS)
