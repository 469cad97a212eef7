# Memory management's portable pieces: host unit tests (the kernel build picks up mm/ by itself).
UNIT_TESTS += test_page_table
test_page_table_SRCS := tests/unit/test_page_table.c mm/page_table.c
