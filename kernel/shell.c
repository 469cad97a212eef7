/* The serial shell: the line editor (line_editor.c), a tokenizer with double quotes, and
 * dispatch through the command table that subsystems fill with SHELL_COMMAND. */
#include <rayos/errno.h>
#include <rayos/irq.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <stdarg.h>
#include <rayos/console.h>
#include "line_editor.h"
#include "shell_internal.h"
#include "shell_tokenize.h"

#define ARGS_MAX 32
#define PROMPT   "rayos> "

extern const struct shell_command _shell_commands_start[], _shell_commands_end[];

void shell_write(const char *text, size_t length)
{
    if (!job_write(text, length))
        console_write(text, length);
}

int shell_printf(const char *fmt, ...)
{
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    if (n >= (int)sizeof(buf)) {
        /* Long output: format again into a heap-free path, one chunk at a time is not possible
         * with va_list reuse, so say that it was cut rather than lose it silently. */
        shell_write(buf, sizeof(buf) - 1);
        static const char cut[] = "...(line cut)\n";
        shell_write(cut, sizeof(cut) - 1);
        return n;
    }
    shell_write(buf, (size_t)n);
    return n;
}

const struct shell_command *shell_find(const char *name)
{
    for (const struct shell_command *c = _shell_commands_start; c < _shell_commands_end; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

unsigned shell_command_count(void)
{
    return (unsigned)(_shell_commands_end - _shell_commands_start);
}

const struct shell_command *shell_command_at(unsigned index)
{
    return index < shell_command_count() ? &_shell_commands_start[index] : NULL;
}

int shell_execute(char *line)
{
    char *argv[ARGS_MAX + 1];
    int argc = shell_tokenize(line, argv, ARGS_MAX);
    if (argc == -EINVAL) {
        shell_printf("unterminated quote: line not run (close every \" you open)\n");
        return -1;
    }
    if (argc < 0) {
        shell_printf("too many arguments (at most %d words)\n", ARGS_MAX);
        return -1;
    }
    if (argc == 0)
        return 0;
    argv[argc] = NULL;
    const struct shell_command *command = shell_find(argv[0]);
    if (!command) {
        shell_printf("unknown command: %s (try 'help')\n", argv[0]);
        return -1;
    }
    return command->handler(argc, argv);
}

/* A typed line: `COMMAND &` starts a background job; anything else runs here, in the shell's
 * thread, with Ctrl-C turned into a stop request for it. */
static void run_line(char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (n && line[n - 1] == '&') {
        line[--n] = 0;
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = 0;
        if (!n)
            shell_printf("syntax error: '&' needs a command before it\n");
        else
            job_start(line);
        return;
    }
    struct thread *self = thread_current();
    self->interrupt_requested = false;
    console_set_interrupt_target(self);
    shell_execute(line);
    console_set_interrupt_target(NULL);
    if (self->interrupt_requested)
        shell_write("^C\n", 3);
    self->interrupt_requested = false;
}

/* Sleeps until a character is typed.  The receive interrupt wakes us; the consoles are also
 * polled every 50 ms in case an interrupt is unavailable. */
static int read_char(void)
{
    for (;;) {
        int c = console_input_pop();
        if (c >= 0)
            return c;
        console_input_wait(50 * NSEC_PER_MSEC);
        console_poll();
    }
}

static void echo_to_console(void *context, const char *text, size_t length)
{
    (void)context;
    shell_write(text, length);
}

void shell_run(void)
{
    static struct line_editor editor;
    line_editor_init(&editor, echo_to_console, NULL);
    shell_write(PROMPT, sizeof(PROMPT) - 1);
    for (;;) {
        enum line_event event = line_editor_feed(&editor, (uint8_t)read_char());
        if (event == LINE_COMPLETE)
            run_line(line_editor_line(&editor));
        if (event != LINE_NONE)
            shell_write(PROMPT, sizeof(PROMPT) - 1);
    }
}
