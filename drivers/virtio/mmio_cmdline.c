/* virtio-mmio devices named on the kernel command line, for machines whose firmware describes
 * them in no table RayOS reads (QEMU's microvm lists them only in its DSDT):
 *
 *     virtio_mmio.device=SIZE@BASE:LINE[,SIZE@BASE:LINE...]     e.g. 512@0xfeb02e00:47
 *
 * SIZE and BASE in bytes (decimal or 0x hex), LINE the interrupt line (a GSI on x86).  Each
 * becomes a "virtio,mmio" platform device like one from a device tree; a malformed entry is
 * reported and skipped. */
#define pr_fmt(fmt) "virtio-mmio: " fmt
#include <rayos/cmdline.h>
#include <rayos/init.h>
#include <rayos/module.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define DEVICES_MAX 32

static struct platform_device *created[DEVICES_MAX];
static unsigned created_count;

/* One "SIZE@BASE:LINE"; false when it is not one. */
static bool parse_entry(const char *text, uint64_t *size, uint64_t *base, uint64_t *line)
{
    char *end;
    *size = strtoull(text, &end, 0);
    if (end == text || *end != '@')
        return false;
    text = end + 1;
    *base = strtoull(text, &end, 0);
    if (end == text || *end != ':')
        return false;
    text = end + 1;
    *line = strtoull(text, &end, 0);
    return end != text && (*end == ',' || *end == 0) && *size > 0 && *base + *size > *base &&
           *line < 1024;
}

static void add_device(uint64_t size, uint64_t base, uint64_t line)
{
    char name[DEVICE_NAME_MAX];
    snprintf(name, sizeof(name), "virtio-mmio%u", created_count);
    const struct irq_spec level = {(uint32_t)line, IRQ_LEVEL_HIGH};
    const struct resource resources[] = {
        {RESOURCE_MEM, base, size, 0},
        resource_from_irq_spec(&level),
    };
    struct platform_device *pdev = platform_device_create(name, "virtio,mmio", resources, 2);
    if (pdev)
        created[created_count++] = pdev;
}

static int virtio_mmio_cmdline_init(void)
{
    char text[512];
    if (!cmdline_get("virtio_mmio.device", text, sizeof(text)))
        return 0;
    for (char *entry = text; *entry;) {
        char *comma = strchr(entry, ',');
        uint64_t size, base, line;
        if (created_count == DEVICES_MAX) {
            pr_warn("more than %u devices on the command line: the rest are ignored\n",
                    DEVICES_MAX);
            break;
        }
        if (parse_entry(entry, &size, &base, &line))
            add_device(size, base, line);
        else
            pr_warn("ignoring virtio_mmio.device entry \"%.*s\" (want SIZE@BASE:LINE)\n",
                    comma ? (int)(comma - entry) : (int)strlen(entry), entry);
        if (!comma)
            break;
        entry = comma + 1;
    }
    return 0;
}
INITCALL(virtio_mmio_cmdline_init, INIT_DRIVER);

static void virtio_mmio_cmdline_exit(void)
{
    while (created_count)
        device_unregister(&created[--created_count]->dev);
}
MODULE_EXIT(virtio_mmio_cmdline_exit);
