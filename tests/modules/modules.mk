# Modules for tests/system/test_modules.py: one exports a symbol, the other uses it, so loading
# the user loads its dependency and rmmod of the dependency is refused while the user is loaded.
TEST_MODULES += modtest_lib modtest_user
modtest_lib_DRIVER_SRCS := tests/modules/modtest_lib.c
modtest_user_DRIVER_SRCS := tests/modules/modtest_user.c
