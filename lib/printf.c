/* vsnprintf for the kernel: %d %i %u %x %X %o %p %s %c %% with flags "-0 +#", width, precision
 * and the length modifiers hh h l ll z t j.  No floating point (kernel code has no FPU state). */
#include <rayos/string.h>
#include <stdarg.h>

#if !__STDC_HOSTED__

struct out {
    char *buf;
    size_t size, length;
};

static void put(struct out *o, char c)
{
    if (o->length + 1 < o->size)
        o->buf[o->length] = c;
    o->length++;
}

static void put_padding(struct out *o, char c, int count)
{
    while (count-- > 0)
        put(o, c);
}

enum { FLAG_LEFT = 1, FLAG_ZERO = 2, FLAG_PLUS = 4, FLAG_SPACE = 8, FLAG_ALT = 16 };

static void put_number(struct out *o, unsigned long long v, bool negative, unsigned base,
                       bool upper, int flags, int width, int precision)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (precision == 0 && n == 1 && tmp[0] == '0')
        n = 0;
    char sign = negative ? '-' : (flags & FLAG_PLUS) ? '+' : (flags & FLAG_SPACE) ? ' ' : 0;
    const char *prefix = (flags & FLAG_ALT) && base == 16 ? (upper ? "0X" : "0x") : "";
    int zeros = precision > n ? precision - n : 0;
    int body = n + zeros + (sign != 0) + (int)strlen(prefix);
    if (!(flags & FLAG_LEFT) && (flags & FLAG_ZERO) && precision < 0) {
        zeros += width > body ? width - body : 0;
        body = width > body ? width : body;
    }
    if (!(flags & FLAG_LEFT))
        put_padding(o, ' ', width - body);
    if (sign)
        put(o, sign);
    for (; *prefix; prefix++)
        put(o, *prefix);
    put_padding(o, '0', zeros);
    while (n)
        put(o, tmp[--n]);
    if (flags & FLAG_LEFT)
        put_padding(o, ' ', width - body);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
    struct out o = {buf, size, 0};
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                flags |= FLAG_LEFT;
            else if (*fmt == '0')
                flags |= FLAG_ZERO;
            else if (*fmt == '+')
                flags |= FLAG_PLUS;
            else if (*fmt == ' ')
                flags |= FLAG_SPACE;
            else if (*fmt == '#')
                flags |= FLAG_ALT;
            else
                break;
        }
        int width = 0, precision = -1;
        if (*fmt == '*') {
            width = va_arg(args, int);
            if (width < 0) {
                flags |= FLAG_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            precision = 0;
            if (*fmt == '*') {
                precision = va_arg(args, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    precision = precision * 10 + (*fmt++ - '0');
            }
        }
        int length = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
        for (;; fmt++) {
            if (*fmt == 'l')
                length++;
            else if (*fmt == 'h')
                length--;
            else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j')
                length = 2;
            else
                break;
        }
        unsigned long long u;
        long long s;
        switch (*fmt) {
        case 'd':
        case 'i':
            s = length >= 2   ? va_arg(args, long long)
                : length == 1 ? va_arg(args, long)
                              : va_arg(args, int);
            if (length == -1)
                s = (short)s;
            else if (length <= -2)
                s = (signed char)s;
            put_number(&o, s < 0 ? -(unsigned long long)s : (unsigned long long)s, s < 0, 10, false,
                       flags, width, precision);
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            u = length >= 2   ? va_arg(args, unsigned long long)
                : length == 1 ? va_arg(args, unsigned long)
                              : va_arg(args, unsigned int);
            if (length == -1)
                u = (unsigned short)u;
            else if (length <= -2)
                u = (unsigned char)u;
            put_number(&o, u, false,
                       *fmt == 'o'   ? 8
                       : *fmt == 'u' ? 10
                                     : 16,
                       *fmt == 'X', flags, width, precision);
            break;
        case 'p':
            put_number(&o, (uintptr_t)va_arg(args, void *), false, 16, false, flags | FLAG_ALT,
                       width, precision);
            break;
        case 'c':
            if (!(flags & FLAG_LEFT))
                put_padding(&o, ' ', width - 1);
            put(&o, (char)va_arg(args, int));
            if (flags & FLAG_LEFT)
                put_padding(&o, ' ', width - 1);
            break;
        case 's': {
            const char *str = va_arg(args, const char *);
            if (!str)
                str = "(null)";
            int n = (int)(precision >= 0 ? strnlen(str, (size_t)precision) : strlen(str));
            if (!(flags & FLAG_LEFT))
                put_padding(&o, ' ', width - n);
            for (int i = 0; i < n; i++)
                put(&o, str[i]);
            if (flags & FLAG_LEFT)
                put_padding(&o, ' ', width - n);
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case 0:
            fmt--;
            break;
        default:
            put(&o, '%');
            put(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.length < size ? o.length : size - 1] = 0;
    return (int)o.length;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, size, fmt, args);
    va_end(args);
    return n;
}

#endif /* !__STDC_HOSTED__ */
