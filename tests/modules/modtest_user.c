/* A test module calling a function another module exports (see tests/modules/modules.mk). */
#include <rayos/init.h>
#include <rayos/module.h>
#include <rayos/printk.h>

int modtest_lib_answer(int question);

static int modtest_user_init(void)
{
    printk(LOG_INFO, "modtest_user: the answer is %d\n", modtest_lib_answer(7));
    return 0;
}
INITCALL(modtest_user_init, INIT_DRIVER);

static void modtest_user_exit(void)
{
}
MODULE_EXIT(modtest_user_exit);
