/* The shell's tokenizer: words separated by spaces or tabs, double quotes group words (and may
 * sit inside a word: a"b c"d is one word).  Portable, so the host's unit test and fuzz target
 * run the same code as the shell. */
#ifndef KERNEL_SHELL_TOKENIZE_H
#define KERNEL_SHELL_TOKENIZE_H

/* Splits line in place into argv (at most max words).  Returns the word count, -E2BIG when
 * there are more than max words, or -EINVAL when a quote is left open: such a line must not
 * run, since where its last word ends is a guess. */
int shell_tokenize(char *line, char **argv, int max);

#endif
