/* MSI and MSI-X through the GICv3 Interrupt Translation Service.  A device's write of an
 * EventID to GITS_TRANSLATER is turned, by the tables the ITS reads from memory, into an LPI
 * (an interrupt ID from 8192 up) delivered to one CPU's redistributor.  The kernel keeps:
 *   - the LPI configuration table (a byte per LPI: priority, enable) and a pending table per
 *     CPU, given to every redistributor;
 *   - the device and collection tables the ITS asks for in GITS_BASER<n>;
 *   - a command queue: MAPD gives a device its interrupt translation table (ITT), MAPC maps a
 *     collection (one per CPU) to a redistributor, MAPTI maps (device, event) to an LPI and a
 *     collection, INV re-reads an LPI's configuration, SYNC waits for the rest.
 * LPIs are handed out from one range; each device gets EVENTS_PER_DEVICE events. */
#define pr_fmt(fmt) "its: " fmt
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/irq_action.h>
#include <rayos/lock.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include "aarch64.h"
#include "its.h"
#include "machine.h"

#define GITS_CTLR       0x0000
#define GITS_TYPER      0x0008
#define GITS_CBASER     0x0080
#define GITS_CWRITER    0x0088
#define GITS_CREADR     0x0090
#define GITS_BASER(n)   (0x0100 + 8 * (n))
#define GITS_TRANSLATER 0x10040

#define GICR_CTLR      0x0000
#define GICR_TYPER     0x0008
#define GICR_PROPBASER 0x0070
#define GICR_PENDBASER 0x0078

#define LPI_BASE          8192
#define LPI_ID_BITS       14 /* LPIs 8192-16383 */
#define LPI_COUNT         ((1u << LPI_ID_BITS) - LPI_BASE)
#define EVENTS_PER_DEVICE 32
#define DEVICES_MAX       64
#define CMD_QUEUE_SIZE    4096
#define LPI_PRIORITY      0xa0
#define LPI_ENABLE        0x01
#define LPI_RES1          0x02

/* Memory attributes for the ITS's and redistributors' table walks: inner-shareable,
 * write-back (read/write-allocate). */
#define TABLE_CACHEABLE (7ULL << 59)
#define TABLE_INNER_WB  (7ULL << 7)
#define TABLE_SHARED    (1ULL << 10)
#define BASER_VALID     (1ULL << 63)

struct its_device {
    uint32_t id;
    bool used;
    uint32_t events; /* bitmap of events in use */
    phys_addr_t itt;
};

static volatile uint8_t *its;
static uint8_t *lpi_config;
static phys_addr_t lpi_config_phys;
static uint64_t *commands;
static phys_addr_t commands_phys;
static unsigned command_next;
static bool target_is_address; /* GITS_TYPER.PTA: MAPC names a redistributor by address */
static unsigned itt_entry_size;
struct lpi_owner {
    bool used;
    uint8_t device; /* index in devices[] */
    uint8_t event;
};
static struct lpi_owner lpis[LPI_COUNT];
static struct its_device devices[DEVICES_MAX];
static bool collection_mapped[CPUS_MAX];
static struct spinlock its_lock = SPINLOCK_INIT("gic its");
static bool ready;

static int send_commands(const uint64_t (*cmds)[4], unsigned count)
{
    for (unsigned c = 0; c < count; c++) {
        uint64_t *slot = &commands[command_next * 4];
        for (unsigned i = 0; i < 4; i++)
            slot[i] = cmds[c][i];
        command_next = (command_next + 1) % (CMD_QUEUE_SIZE / 32);
    }
    __asm__ volatile("dsb ishst" ::: "memory");
    mmio_write64(its + GITS_CWRITER, (uint64_t)command_next * 32);
    for (unsigned i = 0; i < 1000000; i++) {
        if (mmio_read64(its + GITS_CREADR) == (uint64_t)command_next * 32)
            return 0;
        cpu_relax();
    }
    pr_err("command queue stalled (CREADR %#llx, CWRITER %#x)",
           (unsigned long long)mmio_read64(its + GITS_CREADR), command_next * 32);
    return -ETIMEDOUT;
}

/* The redistributor of a CPU as MAPC names it: its address or its processor number. */
static uint64_t redistributor_target(unsigned cpu)
{
    volatile uint8_t *r = gic_redistributor(cpu);
    if (target_is_address)
        return gic_redistributor_phys(cpu) >> 16;
    return (mmio_read64(r + GICR_TYPER) >> 8) & 0xffff;
}

static int map_collection(unsigned cpu)
{
    if (collection_mapped[cpu])
        return 0;
    uint64_t target = redistributor_target(cpu);
    const uint64_t cmds[2][4] = {
        {0x09, 0, BASER_VALID | target << 16 | cpu, 0}, /* MAPC */
        {0x05, 0, target << 16, 0},                     /* SYNC */
    };
    int error = send_commands(cmds, 2);
    collection_mapped[cpu] = error == 0;
    return error;
}

static struct its_device *find_device(uint32_t id, bool create)
{
    struct its_device *free_slot = NULL;
    for (unsigned i = 0; i < DEVICES_MAX; i++) {
        if (devices[i].used && devices[i].id == id)
            return &devices[i];
        if (!devices[i].used && !free_slot)
            free_slot = &devices[i];
    }
    if (!create || !free_slot)
        return NULL;
    size_t itt_size = ALIGN_UP((size_t)itt_entry_size * EVENTS_PER_DEVICE, 256);
    phys_addr_t itt = page_alloc(DIV_ROUND_UP(itt_size, PAGE_SIZE), PAGE_SIZE, 0);
    if (!itt)
        return NULL;
    memset(phys_to_virt(itt), 0, ALIGN_UP(itt_size, PAGE_SIZE));
    const uint64_t cmds[1][4] = {
        /* MAPD: Size is the number of EventID bits minus one. */
        {0x08 | (uint64_t)id << 32, 4, BASER_VALID | itt, 0},
    };
    if (send_commands(cmds, 1) != 0) {
        page_free(itt, DIV_ROUND_UP(itt_size, PAGE_SIZE));
        return NULL;
    }
    *free_slot = (struct its_device){.id = id, .used = true, .itt = itt};
    return free_slot;
}

static int alloc_lpi(const struct its_device *dev, unsigned event)
{
    for (unsigned i = 0; i < LPI_COUNT; i++)
        if (!lpis[i].used) {
            lpis[i] = (struct lpi_owner){true, (uint8_t)(dev - devices), (uint8_t)event};
            return (int)(LPI_BASE + i);
        }
    return -ENOSPC;
}

static void free_lpi(unsigned lpi)
{
    lpis[lpi - LPI_BASE].used = false;
}

int its_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message)
{
    if (!ready)
        return -ENODEV;
    if (cpu >= CPUS_MAX || !cpu_is_online(cpu))
        cpu = 0;
    irqflags_t flags = spin_lock_irqsave(&its_lock);
    int result = map_collection(cpu);
    struct its_device *dev = result == 0 ? find_device(device_id, true) : NULL;
    int event = -1;
    for (unsigned e = 0; dev && e < EVENTS_PER_DEVICE && event < 0; e++)
        if (!(dev->events & (1u << e)))
            event = (int)e;
    int lpi = event >= 0 ? alloc_lpi(dev, (unsigned)event) : -ENOSPC;
    int handle = lpi >= 0 ? irq_action_add((unsigned)lpi, handler, context, name) : lpi;
    if (handle >= 0) {
        lpi_config[lpi - LPI_BASE] = LPI_PRIORITY | LPI_RES1 | LPI_ENABLE;
        __asm__ volatile("dsb ishst" ::: "memory");
        uint64_t target = redistributor_target(cpu);
        const uint64_t cmds[3][4] = {
            {0x0a | (uint64_t)device_id << 32, (uint64_t)lpi << 32 | (unsigned)event, cpu, 0},
            {0x0c | (uint64_t)device_id << 32, (unsigned)event, 0, 0}, /* INV */
            {0x05, 0, target << 16, 0},                                /* SYNC */
        };
        if (send_commands(cmds, 3) == 0) {
            dev->events |= 1u << event;
            message->address = machine.gic_its + GITS_TRANSLATER;
            message->data = (uint32_t)event;
        } else {
            unsigned source;
            irq_action_remove(handle, &source);
            lpi_config[lpi - LPI_BASE] = 0;
            handle = -EIO;
        }
    }
    if (handle < 0 && lpi >= 0)
        free_lpi((unsigned)lpi);
    spin_unlock_irqrestore(&its_lock, flags);
    if (handle == -ENOSPC || (!dev && result == 0))
        pr_warn("no MSI for device %#x: out of %s", device_id, dev ? "LPIs" : "ITS device slots");
    return handle;
}

/* Called by irq_release when an LPI's last handler is gone: the (device, event) mapping is
 * discarded, so the event and the LPI can be handed out again. */
void its_release(unsigned lpi)
{
    if (!ready || lpi < LPI_BASE || lpi >= LPI_BASE + LPI_COUNT || !lpis[lpi - LPI_BASE].used)
        return;
    irqflags_t flags = spin_lock_irqsave(&its_lock);
    struct lpi_owner *owner = &lpis[lpi - LPI_BASE];
    struct its_device *dev = &devices[owner->device];
    lpi_config[lpi - LPI_BASE] = 0;
    const uint64_t cmds[2][4] = {
        {0x0f | (uint64_t)dev->id << 32, owner->event, 0, 0}, /* DISCARD */
        {0x05, 0, redistributor_target(0) << 16, 0},          /* SYNC */
    };
    if (send_commands(cmds, 2) == 0) {
        dev->events &= ~(1u << owner->event);
        free_lpi(lpi);
    }
    spin_unlock_irqrestore(&its_lock, flags);
}

/* A table the ITS asks for (devices or collections): flat, as large as the field allows. */
static bool setup_baser(unsigned n, unsigned device_bits)
{
    uint64_t baser = mmio_read64(its + GITS_BASER(n));
    unsigned type = (unsigned)(baser >> 56) & 7;
    if (type != 1 && type != 4) /* devices, collections */
        return true;
    uint64_t entry_size = ((baser >> 48) & 0x1f) + 1;
    uint64_t entries = type == 1 ? 1ULL << device_bits : CPUS_MAX;
    uint64_t pages = DIV_ROUND_UP(entry_size * entries, PAGE_SIZE);
    if (pages > 256) {
        pr_warn("the ITS's device table would need %llu pages; using 256 (device IDs up to %llu)",
                (unsigned long long)pages, (unsigned long long)(256 * PAGE_SIZE / entry_size));
        pages = 256;
    }
    phys_addr_t table = page_alloc(pages, PAGE_SIZE, 0);
    if (!table)
        return false;
    memset(phys_to_virt(table), 0, pages * PAGE_SIZE);
    __asm__ volatile("dsb ishst" ::: "memory");
    uint64_t value = BASER_VALID | TABLE_CACHEABLE | (baser & (0x7ULL << 56)) |
                     (baser & (0x1fULL << 48)) | table | TABLE_SHARED | (pages - 1);
    mmio_write64(its + GITS_BASER(n), value);
    return true;
}

void its_init(void)
{
    if (!machine.gic_its)
        return;
    its = map_phys(machine.gic_its, 0x20000, MAP_UNCACHED);
    uint64_t typer = its ? mmio_read64(its + GITS_TYPER) : 0;
    if (!its || !(typer & 1)) { /* Physical LPIs */
        pr_warn("no usable ITS at %#llx: no MSI (devices use INTx)",
                (unsigned long long)machine.gic_its);
        return;
    }
    itt_entry_size = (unsigned)((typer >> 4) & 0xf) + 1;
    unsigned device_bits = (unsigned)((typer >> 13) & 0x1f) + 1;
    target_is_address = (typer >> 19) & 1;
    lpi_config_phys = page_alloc(DIV_ROUND_UP(LPI_COUNT, PAGE_SIZE), PAGE_SIZE, 0);
    commands_phys = page_alloc(CMD_QUEUE_SIZE / PAGE_SIZE, 64 * 1024, 0);
    if (!lpi_config_phys || !commands_phys)
        panic("its: out of memory for the LPI tables");
    lpi_config = phys_to_virt(lpi_config_phys);
    memset(lpi_config, 0, LPI_COUNT);
    commands = phys_to_virt(commands_phys);
    memset(commands, 0, CMD_QUEUE_SIZE);
    mmio_write32(its + GITS_CTLR, 0);
    for (unsigned n = 0; n < 8; n++)
        if (!setup_baser(n, MIN(device_bits, 16u)))
            panic("its: out of memory for its tables");
    mmio_write64(its + GITS_CBASER, BASER_VALID | TABLE_CACHEABLE | commands_phys | TABLE_SHARED |
                                        (CMD_QUEUE_SIZE / PAGE_SIZE - 1));
    mmio_write64(its + GITS_CWRITER, 0);
    mmio_write32(its + GITS_CTLR, 1);
    ready = true;
    its_init_cpu();
    pr_info("ITS at %#llx: %u-bit device IDs, LPIs %u-%u", (unsigned long long)machine.gic_its,
            device_bits, LPI_BASE, LPI_BASE + LPI_COUNT - 1);
}

/* This CPU's redistributor: the shared LPI configuration, its own pending table, LPIs on. */
void its_init_cpu(void)
{
    if (!ready)
        return;
    volatile uint8_t *r = gic_redistributor(cpu_id());
    phys_addr_t pending = page_alloc(64 * 1024 / PAGE_SIZE, 64 * 1024, 0);
    if (!pending) {
        pr_warn("CPU %u: no memory for its LPI pending table: MSIs to it are lost", cpu_id());
        return;
    }
    memset(phys_to_virt(pending), 0, 64 * 1024);
    __asm__ volatile("dsb ishst" ::: "memory");
    mmio_write64(r + GICR_PROPBASER,
                 lpi_config_phys | TABLE_INNER_WB | TABLE_SHARED | (LPI_ID_BITS - 1));
    mmio_write64(r + GICR_PENDBASER, pending | TABLE_INNER_WB | TABLE_SHARED | (1ULL << 62));
    mmio_write32(r + GICR_CTLR, mmio_read32(r + GICR_CTLR) | 1); /* EnableLPIs */
    __asm__ volatile("dsb sy; isb" ::: "memory");
}
