/* The kernel log: every message becomes one or more lines "[seconds.micros] text" in a ring
 * buffer and, unless filtered by level, on the console. */
#include <rayos/console.h>
#include <rayos/escape.h>
#include <rayos/lock.h>
#include <rayos/log.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

#define LOG_RING_SIZE (256 * 1024) /* a power of two */

static char ring[LOG_RING_SIZE];
static uint64_t ring_end; /* total bytes ever written; ring holds the last LOG_RING_SIZE */
static struct spinlock log_lock = SPINLOCK_INIT("log");
static int console_level = LOG_INFO;

static void ring_append(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        ring[(ring_end + i) % LOG_RING_SIZE] = text[i];
    ring_end += length;
}

void vprintk(int level, const char *fmt, va_list args)
{
    char message[512];
    char line[600];
    vsnprintf(message, sizeof(message), fmt, args);
    uint64_t ns = time_ns();
    irqflags_t flags = spin_lock_irqsave(&log_lock);
    /* A multi-line message gets a timestamp per line so the format stays one line per entry. */
    const char *start = message;
    do {
        const char *newline = strchr(start, '\n');
        size_t n = newline ? (size_t)(newline - start) : strlen(start);
        if (newline && newline[1] == 0 && n == 0)
            break;
        int length =
            snprintf(line, sizeof(line), "[%5llu.%06llu] ", (unsigned long long)(ns / NSEC_PER_SEC),
                     (unsigned long long)(ns % NSEC_PER_SEC / 1000));
        /* Control characters that slipped in with a string from a disk or a device are
         * escaped: nothing logged can drive the terminal (callers escape such strings with
         * <rayos/escape.h>, which also covers line breaks). */
        escape_controls(line + length, sizeof(line) - 1 - (size_t)length, start, n);
        length += (int)strlen(line + length);
        line[length++] = '\n';
        ring_append(line, (size_t)length);
        if (level <= console_level)
            console_write(line, (size_t)length);
        start = newline ? newline + 1 : start + n;
    } while (*start);
    spin_unlock_irqrestore(&log_lock, flags);
}

void printk(int level, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vprintk(level, fmt, args);
    va_end(args);
}

size_t log_read(uint64_t *position, char *buf, size_t size, uint64_t *lost)
{
    irqflags_t flags = spin_lock_irqsave(&log_lock);
    uint64_t oldest = ring_end > LOG_RING_SIZE ? ring_end - LOG_RING_SIZE : 0;
    uint64_t skipped = 0;
    if (*position < oldest) {
        skipped = oldest - *position;
        *position = oldest;
    }
    if (*position > ring_end)
        *position = ring_end;
    size_t n = (size_t)MIN((uint64_t)size, ring_end - *position);
    for (size_t i = 0; i < n; i++)
        buf[i] = ring[(*position + i) % LOG_RING_SIZE];
    *position += n;
    spin_unlock_irqrestore(&log_lock, flags);
    if (lost)
        *lost = skipped;
    return n;
}

uint64_t log_end(void)
{
    return ring_end;
}

void log_set_console_level(int level)
{
    console_level = level;
}

int log_console_level(void)
{
    return console_level;
}
