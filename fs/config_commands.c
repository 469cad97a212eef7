/* cfg list | get SECTION.KEY | set SECTION.KEY VALUE: the boot configuration from the shell. */
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/shell.h>
#include <rayos/string.h>

/* "vm debian.image" -> section "vm debian", key "image" (the key follows the last dot). */
static bool split_name(const char *name, char *section, size_t section_size, const char **key)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || dot[1] == 0 || (size_t)(dot - name) >= section_size)
        return false;
    memcpy(section, name, (size_t)(dot - name));
    section[dot - name] = 0;
    *key = dot + 1;
    return true;
}

static int cfg_list(void)
{
    struct ini_setting s;
    for (unsigned cursor = 0; ini_next(config_document(), &cursor, &s);) {
        char value[256 * ESCAPE_MAX_RATIO]; /* the file's bytes: escaped */
        escape_string(value, sizeof(value), s.value);
        shell_printf("%s%s%s = %s\n", s.section, *s.section ? "." : "", s.key, value);
    }
    return 0;
}

static int cmd_cfg(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return cfg_list();
    char section[64];
    const char *key;
    if (argc >= 3 && !split_name(argv[2], section, sizeof(section), &key)) {
        shell_printf("cfg: '%s' is not SECTION.KEY\n", argv[2]);
        return -EINVAL;
    }
    if (argc == 3 && strcmp(argv[1], "get") == 0) {
        const char *value = ini_get(config_document(), section, key);
        if (!value) {
            shell_printf("cfg: %s is not set\n", argv[2]);
            return -ENOENT;
        }
        char escaped[256 * ESCAPE_MAX_RATIO];
        shell_printf("%s\n", escape_string(escaped, sizeof(escaped), value));
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "set") == 0) {
        char value[256];
        size_t n = 0;
        value[0] = 0;
        for (int i = 3; i < argc; i++)
            n += (size_t)snprintf(value + n, n < sizeof(value) ? sizeof(value) - n : 0, "%s%s",
                                  i > 3 ? " " : "", argv[i]);
        if (n >= sizeof(value)) {
            shell_printf("cfg: value too long (at most %zu characters)\n", sizeof(value) - 1);
            return -E2BIG;
        }
        int error = config_set(section, key, value);
        if (error == -EINVAL)
            shell_printf("cfg: %s: invalid name or value\n", argv[2]);
        else if (error == -E2BIG)
            shell_printf("cfg: cannot save %s: it would be over the %u-byte limit the boot "
                         "reads (the old file is unchanged)\n",
                         CONFIG_PATH, CONFIG_MAX_BYTES);
        else if (error)
            shell_printf("cfg: cannot save %s: %s (the old file is unchanged)\n", CONFIG_PATH,
                         error_name(-error));
        else if (!config_key_known(section, key))
            shell_printf("cfg: note: RayOS reads no setting %s (saved; each boot warns about "
                         "it)\n",
                         argv[2]);
        return error;
    }
    shell_printf("usage: cfg list | cfg get SECTION.KEY | cfg set SECTION.KEY VALUE\n");
    return -EINVAL;
}
SHELL_COMMAND("cfg", "list | get SECTION.KEY | set SECTION.KEY VALUE  boot configuration", cmd_cfg);
