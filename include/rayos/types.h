/* Basic types and helpers shared by every layer, kernel and host builds alike. */
#ifndef RAYOS_TYPES_H
#define RAYOS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t phys_addr_t; /* a physical (bus) address */
#if !__STDC_HOSTED__
typedef long ssize_t;
#else
#include <sys/types.h>
#endif

#define ARRAY_SIZE(a)                   (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define ALIGN_UP(x, a)                  (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a)                ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a)                (((x) & ((__typeof__(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d)              (((n) + (d)-1) / (d))
#define IS_POWER_OF_2(x)                ((x) != 0 && ((x) & ((x)-1)) == 0)
#define MIN(a, b)                       ((a) < (b) ? (a) : (b))
#define MAX(a, b)                       ((a) > (b) ? (a) : (b))

#define likely(x)      __builtin_expect(!!(x), 1)
#define unlikely(x)    __builtin_expect(!!(x), 0)
#define __packed       __attribute__((packed))
#define __aligned(n)   __attribute__((aligned(n)))
#define __unused       __attribute__((unused))
#define __noreturn     __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))

#define STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#define KiB (1024ULL)
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * 1024 * 1024)

#endif
