/* libFuzzer: the shell tokenizer (kernel/shell_tokenize.c) on arbitrary lines, against a model
 * written the obvious way: words split at spaces and tabs outside double quotes, quotes
 * removed.  A line with an odd number of quotes must be refused (-EINVAL), never run, unless
 * it has too many words first; the word limit gives -E2BIG. */
#include <rayos/errno.h>
#include <rayos/types.h>

#include <stdlib.h>
#include <string.h>

#include "kernel/shell_tokenize.h"

#define WORDS_MAX 40

/* Returns the word count, -E2BIG or -EINVAL; words are written NUL-separated into out. */
static int model(const char *line, int max, char *out, size_t *offsets)
{
    int count = 0;
    bool in_word = false, quoted = false;
    size_t o = 0;
    for (const char *p = line;; p++) {
        bool blank = *p == ' ' || *p == '\t';
        if (*p == 0 || (blank && !quoted)) {
            if (in_word) {
                if (quoted)
                    return -EINVAL;
                out[o++] = 0;
                in_word = false;
            }
            if (*p == 0)
                break;
            continue;
        }
        if (!in_word) {
            if (count == max)
                return -E2BIG;
            offsets[count++] = o;
            in_word = true;
        }
        if (*p == '"') {
            quoted = !quoted;
        } else {
            out[o++] = *p;
        }
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[2048], words[2048 + WORDS_MAX];
    static size_t offsets[WORDS_MAX];
    if (size < 1)
        return 0;
    int max = 1 + data[0] % WORDS_MAX;
    size = size - 1 < sizeof(line) - 1 ? size - 1 : sizeof(line) - 1;
    memcpy(line, data + 1, size);
    line[size] = 0;
    size_t length = strlen(line);
    unsigned quotes = 0;
    for (size_t i = 0; i < length; i++)
        quotes += line[i] == '"';
    int expected = model(line, max, words, offsets);
    char *argv[WORDS_MAX];
    int argc = shell_tokenize(line, argv, max);
    if (argc != expected)
        abort();
    if (argc == -EINVAL && quotes % 2 == 0)
        abort();
    if (argc >= 0 && quotes % 2 != 0)
        abort(); /* an open quote ran */
    for (int i = 0; i < argc; i++) {
        if (argv[i] < line || argv[i] >= line + length || strcmp(argv[i], words + offsets[i]))
            abort();
        if (i && argv[i] <= argv[i - 1])
            abort();
    }
    return 0;
}
