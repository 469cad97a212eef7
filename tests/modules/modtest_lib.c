/* A test module that exports a function (see tests/modules/modules.mk). */
#include <rayos/init.h>
#include <rayos/module.h>
#include <rayos/printk.h>

int modtest_lib_answer(int question);

int modtest_lib_answer(int question)
{
    return question * 6;
}
EXPORT_SYMBOL(modtest_lib_answer);

static int modtest_lib_init(void)
{
    printk(LOG_INFO, "modtest_lib: ready\n");
    return 0;
}
INITCALL(modtest_lib_init, INIT_DRIVER);

static void modtest_lib_exit(void)
{
    printk(LOG_INFO, "modtest_lib: gone\n");
}
MODULE_EXIT(modtest_lib_exit);
