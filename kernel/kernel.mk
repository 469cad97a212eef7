# The kernel's portable pieces: host unit tests (the kernel build picks up kernel/ by itself).
UNIT_TESTS += test_line_editor
test_line_editor_SRCS := tests/unit/test_line_editor.c kernel/line_editor.c
UNIT_TESTS += test_multiboot
test_multiboot_SRCS := tests/unit/test_multiboot.c kernel/multiboot.c kernel/boot_info.c
UNIT_TESTS += test_boot_modules
test_boot_modules_SRCS := tests/unit/test_boot_modules.c kernel/boot_modules_check.c
UNIT_TESTS += test_shell_tokenize
test_shell_tokenize_SRCS := tests/unit/test_shell_tokenize.c kernel/shell_tokenize.c
UNIT_TESTS += test_console
test_console_SRCS := tests/unit/test_console.c kernel/console.c
