/* Reading the kernel log ring (dmesg, the log file writer). */
#ifndef RAYOS_LOG_H
#define RAYOS_LOG_H

#include <rayos/types.h>

/* Copies log text starting at byte *position (0 = the beginning of the log) into buf and
 * advances *position.  Text that has already been overwritten is skipped; returns bytes copied
 * and sets *lost to the number skipped, if lost is non-NULL. */
size_t log_read(uint64_t *position, char *buf, size_t size, uint64_t *lost);
/* Position just past the newest byte. */
uint64_t log_end(void);

/* Messages above this level are kept in the log but not printed on the console. */
void log_set_console_level(int level);
int log_console_level(void);

#endif
