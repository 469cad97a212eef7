/* In-kernel self-tests (KUnit-like).  Booting with "selftest" runs every registered case,
 * prints TAP and powers off with status 0 only if all passed. */
#ifndef RAYOS_SELFTEST_H
#define RAYOS_SELFTEST_H

#include <rayos/types.h>

struct selftest {
    const char *name;
    void (*run)(void);
};

#define SELFTEST(test_name)                                                                        \
    static void selftest_##test_name(void);                                                        \
    static const struct selftest __selftest_##test_name                                            \
        __attribute__((used, section(".selftests"), aligned(8))) = {#test_name,                    \
                                                                    selftest_##test_name};         \
    static void selftest_##test_name(void)

void selftest_fail(const char *file, int line, const char *expr);

#define ST_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            selftest_fail(__FILE__, __LINE__, #cond);                                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define ST_ASSERT_EQ(a, b) ST_ASSERT((a) == (b))

#endif
