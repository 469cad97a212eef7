/* Kernel log.  Every line has one stable format: "[    0.012345] subsystem: message".
 * A file sets its subsystem by defining pr_fmt before including this header:
 *     #define pr_fmt(fmt) "pci: " fmt
 */
#ifndef RAYOS_PRINTK_H
#define RAYOS_PRINTK_H

#include <rayos/types.h>
#include <stdarg.h>

enum log_level {
    LOG_EMERG = 0,
    LOG_ERR = 3,
    LOG_WARNING = 4,
    LOG_NOTICE = 5,
    LOG_INFO = 6,
    LOG_DEBUG = 7,
};

void printk(int level, const char *fmt, ...) __printf(2, 3);
void vprintk(int level, const char *fmt, va_list args);

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

#define pr_err(fmt, ...)    printk(LOG_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...)   printk(LOG_WARNING, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) printk(LOG_NOTICE, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...)   printk(LOG_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...)  printk(LOG_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)

/* Stops the kernel with a report.  Never returns. */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

#define BUG_ON(cond)                                                                               \
    do {                                                                                           \
        if (unlikely(cond))                                                                        \
            panic("BUG: %s at %s:%d", #cond, __FILE__, __LINE__);                                  \
    } while (0)

#endif
