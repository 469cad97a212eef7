UNIT_TESTS += test_ini
test_ini_SRCS := tests/unit/test_ini.c lib/ini.c
UNIT_TESTS += test_time_convert
test_time_convert_SRCS := tests/unit/test_time_convert.c lib/time.c

UNIT_TESTS += test_timer_wheel
test_timer_wheel_SRCS := tests/unit/test_timer_wheel.c lib/timer_wheel.c

UNIT_TESTS += test_escape
test_escape_SRCS := tests/unit/test_escape.c lib/escape.c lib/utf.c

UNIT_TESTS += test_string_copy
test_string_copy_SRCS := tests/unit/test_string_copy.c
UNIT_TESTS += test_cpio
test_cpio_SRCS := tests/unit/test_cpio.c lib/cpio.c
