#ifndef RAYOS_CTYPE_H
#define RAYOS_CTYPE_H

static inline int is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline int is_xdigit(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}
static inline int is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}
static inline int is_alpha(int c)
{
    return is_upper(c) || is_lower(c);
}
static inline int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static inline int is_print(int c)
{
    return c >= 0x20 && c < 0x7f;
}
static inline int to_upper(int c)
{
    return is_lower(c) ? c - 'a' + 'A' : c;
}
static inline int to_lower(int c)
{
    return is_upper(c) ? c - 'A' + 'a' : c;
}

#endif
