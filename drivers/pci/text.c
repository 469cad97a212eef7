/* A growing text buffer, so listings can be built by pure functions and tested on the host. */
#include <rayos/heap.h>
#include <rayos/string.h>

#include "pci_core.h"

void text_init(struct text_buffer *text)
{
    text->data = NULL;
    text->length = text->capacity = 0;
    text->failed = false;
}

static bool text_reserve(struct text_buffer *text, size_t needed)
{
    if (text->capacity >= needed)
        return true;
    size_t capacity = text->capacity ? text->capacity : 1024;
    while (capacity < needed)
        capacity *= 2;
    char *data = krealloc(text->data, capacity);
    if (!data) {
        text->failed = true;
        return false;
    }
    text->data = data;
    text->capacity = capacity;
    return true;
}

void text_printf(struct text_buffer *text, const char *fmt, ...)
{
    char line[512];
    va_list args;
    va_start(args, fmt);
    int length = vsnprintf(line, sizeof(line), fmt, args);
    va_end(args);
    if (length < 0)
        return;
    size_t n = MIN((size_t)length, sizeof(line) - 1);
    if (!text_reserve(text, text->length + n + 1))
        return;
    memcpy(text->data + text->length, line, n);
    text->length += n;
    text->data[text->length] = '\0';
}

void text_free(struct text_buffer *text)
{
    kfree(text->data);
    text_init(text);
}
