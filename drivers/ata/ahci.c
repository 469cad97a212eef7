/* AHCI SATA host controllers (class 01:06:01).  Per port: a command list of up to 32 slots,
 * a received-FIS area and one command table per slot, all in DMA memory.  Disks that support
 * NCQ get READ/WRITE FPDMA QUEUED with many commands in flight; others one READ/WRITE DMA EXT
 * at a time.  A task-file or host-bus error resets the port and reissues each affected command
 * once; a second failure is -EIO.  ATAPI devices are reported, not driven. */
#define pr_fmt(fmt) "ahci: " fmt
#include <rayos/block.h>
#include <rayos/cmdline.h>
#include <rayos/devres.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/pci.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>

#include "ata.h"

/* HBA registers (AHCI 1.3.1, 3.1). */
#define HBA_CAP  0x00
#define HBA_GHC  0x04
#define HBA_IS   0x08
#define HBA_PI   0x0c
#define HBA_VS   0x10
#define HBA_CAP2 0x24
#define HBA_BOHC 0x28

#define CAP_S64A    (1u << 31)
#define CAP_SNCQ    (1u << 30)
#define CAP_SSS     (1u << 27)
#define GHC_AE      (1u << 31)
#define GHC_IE      (1u << 1)
#define GHC_HR      (1u << 0)
#define CAP2_BOH    (1u << 0)
#define BOHC_OOS    (1u << 1)
#define BOHC_BOS    (1u << 0)
#define PORT_BASE   0x100
#define PORT_STRIDE 0x80

/* Port registers. */
#define PX_CLB  0x00
#define PX_CLBU 0x04
#define PX_FB   0x08
#define PX_FBU  0x0c
#define PX_IS   0x10
#define PX_IE   0x14
#define PX_CMD  0x18
#define PX_TFD  0x20
#define PX_SIG  0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2c
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI   0x38

#define CMD_ST  (1u << 0)
#define CMD_SUD (1u << 1)
#define CMD_POD (1u << 2)
#define CMD_FRE (1u << 4)
#define CMD_FR  (1u << 14)
#define CMD_CR  (1u << 15)

#define IS_ERRORS     0x7d000000u /* TFES HBFS HBDS IFS INFS OFS */
#define IS_D2H_STATUS 0x3u        /* DHRS PSS: a non-queued command's ending status arrived */
#define IE_WANTED     (IS_ERRORS | 0x3fu)
#define SSTS_DET_MASK 0xfu
#define SSTS_DET_UP   3u
#define SIG_ATAPI     0xeb140101u

#define SLOTS_MAX     32
#define PRD_ENTRIES   64
#define PRD_MAX_BYTES (4u << 20)
#define TABLE_PRDT    0x80
#define TABLE_BYTES   (TABLE_PRDT + PRD_ENTRIES * 16)
#define MAX_TRANSFER  (1u << 20)

#define REQUEST_TIMEOUT   (10 * NSEC_PER_SEC)
#define COMMAND_TIMEOUT   (5 * NSEC_PER_SEC)
#define READY_TIMEOUT     (2 * NSEC_PER_SEC)
#define ENGINE_TIMEOUT    (500 * NSEC_PER_MSEC)
#define PRESENCE_TIMEOUT  (10 * NSEC_PER_MSEC)
#define LINK_TIMEOUT      (1 * NSEC_PER_SEC)
#define HBA_RESET_TIMEOUT (1 * NSEC_PER_SEC)

struct command_header {
    uint32_t flags; /* CFL 4:0, A 5, W 6, C 10, PRDTL 31:16 */
    uint32_t transferred;
    uint32_t table_low;
    uint32_t table_high;
    uint32_t reserved[4];
};

struct prd_entry {
    uint32_t address_low;
    uint32_t address_high;
    uint32_t reserved;
    uint32_t count; /* byte count - 1, I bit 31 */
};

struct ahci_host;

struct ahci_port {
    struct ahci_host *host;
    unsigned index;
    volatile uint8_t *regs;
    struct spinlock lock;
    struct command_header *headers;
    phys_addr_t headers_phys;
    void *fis_area;
    phys_addr_t fis_phys;
    uint8_t *tables;
    phys_addr_t tables_phys;
    unsigned depth;  /* slots used */
    uint32_t issued; /* slots the HBA holds */
    uint32_t queued; /* of those, NCQ commands */
    uint32_t retried;
    bool exclusive;  /* a non-queued command is in flight */
    bool status_fis; /* a D2H/PIO status FIS arrived for the non-queued command in flight */
    bool dead;
    /* Error recovery (a COMRESET can take seconds) runs in a thread, not in the interrupt
     * handler: from the error until it is done, submissions wait and completions are not
     * looked for (the reset forgets every command anyway). */
    volatile bool recovering;
    uint32_t error_status;
    struct work recovery;
    struct block_request *slot_req[SLOTS_MAX];
    struct ata_identity id;
    struct block_device *disk;
};

struct ahci_host {
    struct pci_device *pdev;
    volatile uint8_t *mmio;
    uint32_t cap;
    unsigned slot_count;
    bool irq_msi, irq_intx;
    uint32_t usable;            /* implemented ports whose registers lie inside the BAR */
    uint64_t presence_deadline; /* spin-up + PRESENCE_TIMEOUT */
    struct ahci_port *ports[32];
};

static uint32_t port_read(struct ahci_port *port, unsigned reg)
{
    return mmio_read32(port->regs + reg);
}

static void port_write(struct ahci_port *port, unsigned reg, uint32_t value)
{
    mmio_write32(port->regs + reg, value);
}

static uint32_t hba_read(struct ahci_host *host, unsigned reg)
{
    return mmio_read32(host->mmio + reg);
}

static void hba_write(struct ahci_host *host, unsigned reg, uint32_t value)
{
    mmio_write32(host->mmio + reg, value);
}

/* Polls until (register & mask) == value or the deadline passes. */
static bool port_wait(struct ahci_port *port, unsigned reg, uint32_t mask, uint32_t value,
                      uint64_t timeout)
{
    uint64_t deadline = time_ns() + timeout;
    for (;;) {
        if ((port_read(port, reg) & mask) == value)
            return true;
        if (time_ns() > deadline)
            return false;
        udelay(10);
    }
}

static bool port_stop(struct ahci_port *port)
{
    uint32_t cmd = port_read(port, PX_CMD);
    if (cmd & CMD_ST)
        port_write(port, PX_CMD, cmd & ~CMD_ST);
    bool ok = port_wait(port, PX_CMD, CMD_CR, 0, ENGINE_TIMEOUT);
    cmd = port_read(port, PX_CMD);
    if (cmd & CMD_FRE)
        port_write(port, PX_CMD, cmd & ~CMD_FRE);
    return port_wait(port, PX_CMD, CMD_FR, 0, ENGINE_TIMEOUT) && ok;
}

static void port_start(struct ahci_port *port)
{
    port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_FRE);
    port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_ST);
}

/* COMRESET through SControl, then waits for the link and for the device to drop BSY/DRQ. */
static bool port_comreset(struct ahci_port *port)
{
    uint32_t sctl = port_read(port, PX_SCTL) & ~0xfu;
    port_write(port, PX_SCTL, sctl | 1);
    udelay(1000);
    port_write(port, PX_SCTL, sctl);
    if (!port_wait(port, PX_SSTS, SSTS_DET_MASK, SSTS_DET_UP, READY_TIMEOUT))
        return false;
    port_write(port, PX_SERR, 0xffffffff);
    /* The device's first D2H FIS (which clears BSY in PxTFD) lands once FIS receive is on. */
    port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_FRE);
    return port_wait(port, PX_TFD, ATA_STATUS_BSY | ATA_STATUS_DRQ, 0, READY_TIMEOUT);
}

/* Stops the engines, resets the link when asked or when the device is stuck, clears errors and
 * restarts.  Afterwards no command is outstanding.  After a failed queued command the device
 * refuses new ones until its NCQ error log is read or it is reset: error recovery resets. */
static int port_reset(struct ahci_port *port, bool comreset)
{
    bool stopped = port_stop(port);
    uint32_t tfd = port_read(port, PX_TFD);
    if (comreset || !stopped || (tfd & (ATA_STATUS_BSY | ATA_STATUS_DRQ))) {
        if (!port_comreset(port)) {
            pr_err("%s: port %u: device did not come back after COMRESET\n",
                   pci_name(port->host->pdev), port->index);
            return -EIO;
        }
    }
    port_write(port, PX_SERR, 0xffffffff);
    port_write(port, PX_IS, 0xffffffff);
    port_start(port);
    return 0;
}

struct done_batch {
    unsigned count;
    struct block_request *reqs[SLOTS_MAX];
    int statuses[SLOTS_MAX];
};

static void batch_add(struct done_batch *batch, struct ahci_port *port, unsigned slot, int status)
{
    batch->reqs[batch->count] = port->slot_req[slot];
    batch->statuses[batch->count++] = status;
    port->slot_req[slot] = NULL;
    port->retried &= ~(1u << slot);
}

static void batch_finish(struct done_batch *batch)
{
    for (unsigned i = 0; i < batch->count; i++)
        blk_request_done(batch->reqs[i], batch->statuses[i]);
    batch->count = 0;
}

/* The command headers go to the HBA here (it writes their byte count back, which the driver
 * never reads, so nothing is taken back); their tables went in build_command. */
static void issue(struct ahci_port *port, uint32_t slots, uint32_t queued)
{
    for (unsigned slot = 0; slot < port->depth; slot++) {
        if (slots & (1u << slot)) {
            port->headers[slot].transferred = 0;
            dma_sync_for_device(port->headers_phys + slot * sizeof(struct command_header),
                                sizeof(struct command_header), DMA_BIDIRECTIONAL);
        }
    }
    wmb();
    port->issued |= slots;
    port->queued |= queued;
    if (slots & ~queued)
        port->status_fis = false;
    if (queued)
        port_write(port, PX_SACT, queued);
    port_write(port, PX_CI, slots);
}

static void forget_slots(struct ahci_port *port, uint32_t slots)
{
    port->issued &= ~slots;
    port->queued &= ~slots;
    if (!port->issued)
        port->exclusive = false;
}

/* Error: every command the HBA held is reissued once after a port reset (reads and writes
 * are idempotent); one that already had its retry fails with -EIO.  Runs in a worker thread;
 * the port lock is dropped while the port resets (port->recovering keeps everyone else off). */
static void recovery_work(struct work *work)
{
    struct ahci_port *port = container_of(work, struct ahci_port, recovery);
    const char *name = port->disk ? port->disk->dev.name : "?";
    struct done_batch batch = {0};
    irqflags_t flags = spin_lock_irqsave(&port->lock);
    uint32_t tfd = port_read(port, PX_TFD);
    pr_err("%s: port %u error: interrupt status %#x, status %#x error %#x, SError %#x; "
           "resetting the port\n",
           name, port->index, port->error_status, tfd & 0xff, (tfd >> 8) & 0xff,
           port_read(port, PX_SERR));
    uint32_t held = port->issued, queued = port->queued;
    bool exclusive = port->exclusive;
    forget_slots(port, held);
    spin_unlock_irqrestore(&port->lock, flags);

    int reset = port->dead ? -ENODEV : port_reset(port, true);

    flags = spin_lock_irqsave(&port->lock);
    uint32_t again = 0;
    for (unsigned slot = 0; slot < port->depth; slot++) {
        uint32_t bit = 1u << slot;
        if (!(held & bit))
            continue;
        if (reset < 0 || (port->retried & bit)) {
            pr_err("%s: %s at block %llu failed\n", name, block_op_name(port->slot_req[slot]->op),
                   (unsigned long long)port->slot_req[slot]->lba);
            batch_add(&batch, port, slot, -EIO);
        } else {
            port->retried |= bit;
            again |= bit;
        }
    }
    if (reset < 0) {
        port->dead = true;
    } else if (again) {
        port->exclusive = exclusive;
        issue(port, again, queued & again);
    }
    port->error_status = 0;
    __atomic_store_n(&port->recovering, false, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&port->lock, flags);
    batch_finish(&batch);
    if (port->disk)
        blk_queue_run(port->disk);
}

/* Which issued commands are done.  A queued command is done once its PxSACT bit is clear (the
 * HBA leaves it set when the command fails).  A non-queued one needs its PxCI bit clear and its
 * status FIS seen: QEMU clears PxCI before it posts the FIS and raises TFES, so a clear bit
 * alone may predate the error.  Hardware may clear PxCI just after the FIS: look again a few
 * times rather than leave the command to the next poll. */
static uint32_t finished_slots(struct ahci_port *port)
{
    for (int attempt = 0;; attempt++) {
        uint32_t done = port->issued & ~(port_read(port, PX_CI) | port_read(port, PX_SACT));
        uint32_t unqueued = port->issued & ~port->queued;
        if (!unqueued || !port->status_fis)
            return done & port->queued;
        if ((done & unqueued) || attempt == 16)
            return done;
        udelay(1);
    }
}

/* Reaps finished commands (and handles errors) on one port; any context. */
static void port_service(struct ahci_port *port)
{
    struct done_batch batch = {0};
    irqflags_t flags = spin_lock_irqsave(&port->lock);
    uint32_t status = port_read(port, PX_IS);
    port_write(port, PX_IS, status);
    if (status & IS_D2H_STATUS)
        port->status_fis = true;
    if (port->issued && !port->recovering) {
        if (status & IS_ERRORS) {
            port->recovering = true;
            port->error_status = status;
            queue_work(system_wq, &port->recovery);
        } else {
            uint32_t done = finished_slots(port);
            for (unsigned slot = 0; done && slot < port->depth; slot++)
                if (done & (1u << slot))
                    batch_add(&batch, port, slot, 0);
            forget_slots(port, done);
        }
    }
    spin_unlock_irqrestore(&port->lock, flags);
    batch_finish(&batch);
}

static void ahci_interrupt(void *context)
{
    struct ahci_host *host = context;
    /* A port that completes more while we work sets its IS bit again; with MSI there is no
     * level to fire once more, so look again (a bounded number of times). */
    for (int round = 0; round < 8; round++) {
        uint32_t pending = hba_read(host, HBA_IS);
        if (!pending || pending == 0xffffffff)
            return;
        for (unsigned i = 0; i < 32; i++)
            if ((pending & (1u << i)) && host->ports[i])
                port_service(host->ports[i]);
        hba_write(host, HBA_IS, pending);
    }
}

/* Fills slot's command table and header; data segments may be NULL for no-data commands. */
static int build_command(struct ahci_port *port, unsigned slot, const struct ata_taskfile *tf,
                         const struct block_segment *segments, unsigned segment_count, bool write)
{
    uint8_t *table = port->tables + (size_t)slot * TABLE_BYTES;
    struct prd_entry *prd = (struct prd_entry *)(table + TABLE_PRDT);
    if (segment_count > PRD_ENTRIES)
        return -EINVAL;
    for (unsigned i = 0; i < segment_count; i++) {
        uint32_t length = segments[i].length;
        phys_addr_t phys = segments[i].phys;
        if (length == 0 || length > PRD_MAX_BYTES || (length & 1) || (phys & 1))
            return -EINVAL;
        if (!(port->host->cap & CAP_S64A) && phys + length > (1ull << 32)) {
            pr_err("%s: buffer above 4 GiB and the HBA has 32-bit addressing only\n",
                   pci_name(port->host->pdev));
            return -EIO;
        }
        prd[i] = (struct prd_entry){(uint32_t)phys, (uint32_t)(phys >> 32), 0, length - 1};
    }
    ata_taskfile_to_fis(tf, table);
    phys_addr_t table_phys = port->tables_phys + (phys_addr_t)slot * TABLE_BYTES;
    /* The command FIS and PRDT: the HBA reads them once the slot is issued. */
    dma_sync_for_device(table_phys, TABLE_PRDT + segment_count * sizeof(struct prd_entry),
                        DMA_TO_DEVICE);
    port->headers[slot] = (struct command_header){
        .flags = SATA_FIS_H2D_LENGTH / 4 | (write ? 1u << 6 : 0) | (uint32_t)segment_count << 16,
        .table_low = (uint32_t)table_phys,
        .table_high = (uint32_t)(table_phys >> 32),
    };
    return 0;
}

static int build_request(struct ahci_port *port, unsigned slot, struct block_request *req,
                         bool *queued)
{
    struct ata_taskfile tf;
    *queued = false;
    if (req->op == BLOCK_OP_FLUSH) {
        ata_build_flush(&tf, port->id.flush_ext);
        return build_command(port, slot, &tf, NULL, 0, false);
    }
    uint64_t bytes = blk_request_bytes(req);
    uint32_t count = (uint32_t)(bytes / port->id.logical_sector_size);
    bool write = req->op == BLOCK_OP_WRITE;
    int status;
    if (port->id.ncq) {
        status = ata_build_ncq(&tf, write, req->lba, count, slot);
        *queued = true;
    } else {
        status = ata_build_rw(&tf, write, req->lba, count, port->id.lba48, ATA_DMA);
    }
    if (status < 0)
        return status;
    return build_command(port, slot, &tf, req->segments, req->segment_count, write);
}

static int ahci_submit(struct block_device *dev, struct block_request *req)
{
    struct ahci_port *port = dev->driver_data;
    if (req->op != BLOCK_OP_READ && req->op != BLOCK_OP_WRITE && req->op != BLOCK_OP_FLUSH)
        return -EOPNOTSUPP;
    irqflags_t flags = spin_lock_irqsave(&port->lock);
    if (port->dead) {
        spin_unlock_irqrestore(&port->lock, flags);
        return -EIO;
    }
    if (port->recovering) { /* the recovery runs the queue when it is done */
        spin_unlock_irqrestore(&port->lock, flags);
        return -EBUSY;
    }
    /* Non-queued commands run alone on a port; queued ones share it. */
    bool alone = req->op == BLOCK_OP_FLUSH || !port->id.ncq;
    uint32_t all = port->depth == 32 ? 0xffffffffu : (1u << port->depth) - 1;
    uint32_t free = all & ~port->issued;
    if (!free || port->exclusive || (alone && port->issued)) {
        spin_unlock_irqrestore(&port->lock, flags);
        return -EBUSY;
    }
    unsigned slot = (unsigned)__builtin_ctz(free);
    bool queued;
    int status = build_request(port, slot, req, &queued);
    if (status == 0) {
        port->slot_req[slot] = req;
        port->retried &= ~(1u << slot);
        port->exclusive = alone;
        issue(port, 1u << slot, queued ? 1u << slot : 0);
    }
    spin_unlock_irqrestore(&port->lock, flags);
    return status;
}

static void ahci_poll(struct block_device *dev)
{
    struct ahci_port *port = dev->driver_data;
    port_service(port);
    hba_write(port->host, HBA_IS, 1u << port->index);
}

/* The queue's timeout (-ETIMEDOUT) or `blk reset` (-EIO): COMRESET, fail what was held. */
static void ahci_reset(struct block_device *dev, int status)
{
    struct ahci_port *port = dev->driver_data;
    struct done_batch batch = {0};
    irqflags_t flags = spin_lock_irqsave(&port->lock);
    if (port->recovering) { /* an error recovery is resetting the port already */
        spin_unlock_irqrestore(&port->lock, flags);
        return;
    }
    port->recovering = true;
    pr_err("%s: port %u: reset (%d), device status %#x\n", dev->dev.name, port->index, status,
           port_read(port, PX_TFD) & 0xff);
    uint32_t held = port->issued;
    forget_slots(port, held);
    spin_unlock_irqrestore(&port->lock, flags);
    int reset = port_reset(port, true); /* unlocked: see recovery_work */
    flags = spin_lock_irqsave(&port->lock);
    if (reset < 0)
        port->dead = true;
    for (unsigned slot = 0; slot < port->depth; slot++)
        if (held & (1u << slot))
            batch_add(&batch, port, slot, status);
    __atomic_store_n(&port->recovering, false, __ATOMIC_RELEASE);
    spin_unlock_irqrestore(&port->lock, flags);
    batch_finish(&batch);
    blk_queue_run(dev);
}

static void ahci_describe(struct block_device *dev, char *buffer, size_t size)
{
    struct ahci_port *port = dev->driver_data;
    struct ahci_host *host = port->host;
    snprintf(buffer, size, "%s port %u, %s, %s %u, %s completion%s", pci_name(host->pdev),
             port->index, port->id.model, port->id.ncq ? "NCQ depth" : "queue depth", port->depth,
             host->irq_msi    ? "MSI"
             : host->irq_intx ? "INTx"
                              : "polled",
             port->dead ? ", failed" : "");
}

static const struct block_driver_ops ahci_ops = {
    .submit = ahci_submit,
    .poll = ahci_poll,
    .reset = ahci_reset,
    .describe = ahci_describe,
};

/* Runs one command in slot 0 by polling (probe time, before interrupts). */
static int exec_polled(struct ahci_port *port, const struct ata_taskfile *tf, phys_addr_t buffer,
                       uint32_t length)
{
    struct block_segment segment = {NULL, buffer, length};
    int status = build_command(port, 0, tf, &segment, length ? 1 : 0, false);
    if (status < 0)
        return status;
    dma_sync_for_device(buffer, length, DMA_FROM_DEVICE); /* the device writes it (IDENTIFY) */
    port_write(port, PX_IS, 0xffffffff);
    issue(port, 1, 0);
    uint64_t deadline = time_ns() + COMMAND_TIMEOUT;
    for (;;) {
        uint32_t interrupt_status = port_read(port, PX_IS);
        if (interrupt_status & IS_ERRORS) {
            status = -EIO;
            break;
        }
        /* Done once PxCI is clear and the status FIS has arrived (see finished_slots). */
        if ((interrupt_status & IS_D2H_STATUS) && !(port_read(port, PX_CI) & 1)) {
            if (port_read(port, PX_IS) & IS_ERRORS)
                status = -EIO;
            else
                status = (port_read(port, PX_TFD) & ATA_STATUS_ERR) ? -EIO : 0;
            break;
        }
        if (time_ns() > deadline) {
            status = -ETIMEDOUT;
            break;
        }
        udelay(10);
    }
    forget_slots(port, 1);
    if (status < 0)
        port_reset(port, true);
    dma_sync_for_cpu(buffer, length, DMA_FROM_DEVICE);
    port_write(port, PX_IS, 0xffffffff);
    return status;
}

static int port_alloc(struct ahci_port *port)
{
    port->headers = dma_alloc(SLOTS_MAX * sizeof(struct command_header), 1024, &port->headers_phys);
    port->fis_area = dma_alloc(256, 256, &port->fis_phys);
    port->tables = dma_alloc((size_t)port->depth * TABLE_BYTES, 128, &port->tables_phys);
    if (!port->headers || !port->fis_area || !port->tables)
        return -ENOMEM;
    bool wide = port->host->cap & CAP_S64A;
    if (!wide && (port->headers_phys >> 32 || port->fis_phys >> 32 ||
                  (port->tables_phys + (size_t)port->depth * TABLE_BYTES) >> 32))
        return -ENOMEM;
    return 0;
}

static void port_free(struct ahci_port *port)
{
    if (port->headers)
        dma_free(port->headers, SLOTS_MAX * sizeof(struct command_header));
    if (port->fis_area)
        dma_free(port->fis_area, 256);
    if (port->tables)
        dma_free(port->tables, (size_t)port->depth * TABLE_BYTES);
    if (port->disk)
        device_put(&port->disk->dev);
    kfree(port);
}

static int identify(struct ahci_port *port, bool packet, const char **why)
{
    phys_addr_t phys;
    uint16_t *words = dma_alloc(512, 512, &phys);
    if (!words)
        return -ENOMEM;
    struct ata_taskfile tf;
    ata_build_identify(&tf, packet);
    int status = exec_polled(port, &tf, phys, 512);
    if (status == 0)
        status = ata_parse_identify(words, &port->id, why);
    else
        *why = status == -ETIMEDOUT ? "IDENTIFY timed out" : "IDENTIFY failed";
    dma_free(words, 512);
    return status;
}

static void log_disk(struct ahci_port *port)
{
    char size[24];
    const struct ata_identity *id = &port->id;
    ata_format_capacity(id->sector_count * id->logical_sector_size, size, sizeof(size));
    char queue[24] = "no NCQ";
    if (id->ncq)
        snprintf(queue, sizeof(queue), "NCQ depth %u", port->depth);
    char physical[40] = "";
    if (id->physical_sector_size != id->logical_sector_size)
        snprintf(physical, sizeof(physical), " (%u-byte physical)", id->physical_sector_size);
    pr_info("%s: port %u: %s, %s, %u-byte sectors%s, %s -> %s\n", pci_name(port->host->pdev),
            port->index, id->model, size, id->logical_sector_size, physical, queue,
            port->disk->dev.name);
}

static int register_disk(struct ahci_port *port)
{
    struct block_device *disk = block_device_alloc();
    if (!disk)
        return -ENOMEM;
    const struct ata_identity *id = &port->id;
    disk->logical_block_size = id->logical_sector_size;
    disk->physical_block_size = id->physical_sector_size;
    disk->block_count = id->sector_count;
    disk->can_flush = id->flush || id->flush_ext;
    disk->driver_name = "ahci";
    disk->limits = (struct block_limits){.max_segments = PRD_ENTRIES,
                                         .max_segment_size = PRD_MAX_BYTES,
                                         .max_transfer = MAX_TRANSFER,
                                         .queue_depth = id->ncq ? port->depth : 1};
    disk->ops = &ahci_ops;
    disk->driver_data = port;
    disk->timeout_ns = REQUEST_TIMEOUT;
    port->disk = disk;
    int status = block_device_register(disk, &port->host->pdev->dev, "sd");
    if (status < 0)
        return status;
    log_disk(port);
    block_device_scan_partitions(disk);
    return 0;
}

/* Brings one implemented port up: 0 with a disk registered, or why not. */
static int port_setup(struct ahci_host *host, struct ahci_port *port)
{
    const char *where = pci_name(host->pdev);
    if (!port_stop(port)) {
        pr_err("%s: port %u: command engine does not stop\n", where, port->index);
        return -EIO;
    }
    int status = port_alloc(port);
    if (status < 0)
        return status;
    port_write(port, PX_CLB, (uint32_t)port->headers_phys);
    port_write(port, PX_CLBU, (uint32_t)(port->headers_phys >> 32));
    /* The received-FIS area is the HBA's from now on (the driver reads the taskfile register,
     * never the FIS copies). */
    dma_sync_for_device(port->fis_phys, 256, DMA_FROM_DEVICE);
    port_write(port, PX_FB, (uint32_t)port->fis_phys);
    port_write(port, PX_FBU, (uint32_t)(port->fis_phys >> 32));
    port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_FRE);
    if (host->cap & CAP_SSS)
        port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_SUD | CMD_POD);
    /* DET 0: nothing attached (empty ports cost only PRESENCE_TIMEOUT); DET 1: a device is
     * there and the link is still negotiating, which can take real disks most of a second. */
    if (!port_wait(port, PX_SSTS, SSTS_DET_MASK, SSTS_DET_UP, PRESENCE_TIMEOUT)) {
        if ((port_read(port, PX_SSTS) & SSTS_DET_MASK) == 0)
            return -ENODEV;
        if (!port_wait(port, PX_SSTS, SSTS_DET_MASK, SSTS_DET_UP, LINK_TIMEOUT)) {
            pr_err("%s: port %u: device present but no link (SStatus %#x)\n", where, port->index,
                   port_read(port, PX_SSTS));
            return -EIO;
        }
    }
    port_write(port, PX_SERR, 0xffffffff);
    port_write(port, PX_IS, 0xffffffff);
    if (!port_wait(port, PX_TFD, ATA_STATUS_BSY | ATA_STATUS_DRQ, 0, READY_TIMEOUT)) {
        pr_err("%s: port %u: device never became ready (status %#x)\n", where, port->index,
               port_read(port, PX_TFD) & 0xff);
        return -EIO;
    }
    port_write(port, PX_CMD, port_read(port, PX_CMD) | CMD_ST);
    bool atapi = port_read(port, PX_SIG) == SIG_ATAPI;
    const char *why = "";
    status = identify(port, atapi, &why);
    if (status < 0) {
        pr_err("%s: port %u: no usable disk: %s\n", where, port->index, why);
        return -EIO;
    }
    if (port->id.atapi || atapi) {
        pr_info("%s: port %u: ATAPI device %s (not supported)\n", where, port->index,
                port->id.model);
        return -ENODEV;
    }
    if (!(host->cap & CAP_SNCQ) || cmdline_has("ahci.noncq"))
        port->id.ncq = false;
    port->depth = port->id.ncq ? MIN(port->depth, MIN(port->id.ncq_depth, host->slot_count)) : 1;
    port_write(port, PX_IE, IE_WANTED);
    return register_disk(port);
}

static bool hba_reset(struct ahci_host *host)
{
    const char *where = pci_name(host->pdev);
    if ((hba_read(host, HBA_CAP2) & CAP2_BOH)) {
        /* Ask firmware to let go of the HBA; it gets 25 ms, then 2 s if it says it is busy. */
        hba_write(host, HBA_BOHC, hba_read(host, HBA_BOHC) | BOHC_OOS);
        uint64_t deadline = time_ns() + 2 * NSEC_PER_SEC;
        while ((hba_read(host, HBA_BOHC) & BOHC_BOS) && time_ns() < deadline)
            udelay(100);
    }
    hba_write(host, HBA_GHC, hba_read(host, HBA_GHC) | GHC_AE);
    hba_write(host, HBA_GHC, hba_read(host, HBA_GHC) | GHC_HR);
    uint64_t deadline = time_ns() + HBA_RESET_TIMEOUT;
    while (hba_read(host, HBA_GHC) & GHC_HR) {
        if (time_ns() > deadline) {
            pr_err("%s: HBA reset did not finish\n", where);
            return false;
        }
        udelay(100);
    }
    hba_write(host, HBA_GHC, hba_read(host, HBA_GHC) | GHC_AE);
    if (hba_read(host, HBA_GHC) == 0xffffffff) {
        pr_err("%s: HBA registers read all ones\n", where);
        return false;
    }
    return true;
}

/* "ahci.nomsi" on the command line forces INTx, "ahci.noncq" one command at a time: for
 * hardware whose MSI or NCQ misbehaves, and to test those paths. */
static void setup_interrupts(struct ahci_host *host)
{
    struct pci_device *pdev = host->pdev;
    if (!cmdline_has("ahci.nomsi") && devm_pci_enable_msi(pdev, ahci_interrupt, host, "ahci") >= 0)
        host->irq_msi = true;
    else if (devm_pci_intx_irq(pdev, ahci_interrupt, host, "ahci") >= 0)
        host->irq_intx = true;
    else
        pr_warn("%s: no interrupt; completions are polled\n", pci_name(pdev));
    hba_write(host, HBA_IS, 0xffffffff);
    hba_write(host, HBA_GHC, hba_read(host, HBA_GHC) | GHC_IE);
}

/* Recorded before the interrupts, so it runs once they are released: no handler can reach a
 * port being freed. */
static void free_ports(void *host_)
{
    struct ahci_host *host = host_;
    for (unsigned i = 0; i < 32; i++) {
        struct ahci_port *port = host->ports[i];
        if (!port)
            continue;
        if (port->disk)
            device_unregister(&port->disk->dev);
        /* A recovery in progress finishes first (it touches the port's registers unlocked);
         * the unregistered disk makes it quick. */
        while (__atomic_load_n(&port->recovering, __ATOMIC_ACQUIRE))
            msleep(1);
        /* Stop the port, then fail what the HBA still held. */
        struct done_batch batch = {0};
        irqflags_t flags = spin_lock_irqsave(&port->lock);
        port_write(port, PX_IE, 0);
        port_stop(port);
        port->dead = true;
        uint32_t held = port->issued;
        forget_slots(port, held);
        for (unsigned slot = 0; slot < port->depth; slot++)
            if (held & (1u << slot))
                batch_add(&batch, port, slot, -ENODEV);
        spin_unlock_irqrestore(&port->lock, flags);
        batch_finish(&batch);
        port_free(port);
        host->ports[i] = NULL;
    }
}

/* Spins every usable port up at once, so that empty ports cost one presence timeout per
 * controller, not one per port; detect_present() waits out the rest of it. */
static void spin_up_ports(struct ahci_host *host)
{
    for (unsigned i = 0; i < 32 && (host->cap & CAP_SSS); i++) {
        if (host->usable & (1u << i)) {
            volatile uint8_t *regs = host->mmio + PORT_BASE + i * PORT_STRIDE;
            mmio_write32(regs + PX_CMD, mmio_read32(regs + PX_CMD) | CMD_SUD | CMD_POD);
        }
    }
    host->presence_deadline = time_ns() + PRESENCE_TIMEOUT;
}

/* The usable ports that show a device (SStatus DET), polled until every one does or the
 * presence deadline passes; while the boot's other drivers probed, it usually has. */
static uint32_t detect_present(struct ahci_host *host)
{
    uint32_t present = 0;
    for (;;) {
        for (unsigned i = 0; i < 32; i++) {
            volatile uint8_t *regs = host->mmio + PORT_BASE + i * PORT_STRIDE;
            if ((host->usable & ~present & (1u << i)) &&
                (mmio_read32(regs + PX_SSTS) & SSTS_DET_MASK))
                present |= 1u << i;
        }
        if (present == host->usable || time_ns() >= host->presence_deadline)
            return present;
        udelay(10);
    }
}

/* The second half of the probe, once the ports had their time to show a device: sets up each
 * port that has one, then the interrupt. */
static void ahci_finish_probe(struct device *dev)
{
    struct pci_device *pdev = to_pci_device(dev);
    struct ahci_host *host = pci_get_drvdata(pdev);
    const char *where = pci_name(pdev);
    uint32_t present = detect_present(host);
    unsigned disks = 0;
    for (unsigned i = 0; i < 32; i++) {
        if (!(present & (1u << i)))
            continue; /* nothing attached */
        struct ahci_port *port = kzalloc(sizeof(*port));
        if (!port)
            break;
        port->host = host;
        port->index = i;
        port->regs = host->mmio + PORT_BASE + i * PORT_STRIDE;
        port->lock = (struct spinlock)SPINLOCK_INIT("ahci-port");
        work_init(&port->recovery, recovery_work);
        port->depth = host->slot_count;
        int status = port_setup(host, port);
        if (status < 0) {
            port_write(port, PX_IE, 0);
            port_stop(port);
            if (port->disk)
                device_unregister(&port->disk->dev);
            port_free(port);
            continue;
        }
        host->ports[i] = port;
        disks++;
    }
    setup_interrupts(host);
    pr_info("%s: %u disk%s, %s completion\n", where, disks, disks == 1 ? "" : "s",
            host->irq_msi    ? "MSI"
            : host->irq_intx ? "INTx"
                             : "polled");
}

static int ahci_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    (void)id;
    const char *where = pci_name(pdev);
    if (pdev->bars[5].type != PCI_BAR_MEM32 && pdev->bars[5].type != PCI_BAR_MEM64) {
        pr_err("%s: no ABAR (BAR 5)\n", where);
        return -ENODEV;
    }
    struct ahci_host *host = pci_get_drvdata(pdev);
    host->pdev = pdev;
    host->mmio = pci_map_bar(pdev, 5);
    if (!host->mmio)
        return -ENODEV;
    pci_enable_bus_master(pdev);
    if (!hba_reset(host))
        return -EIO;
    int error = devm_add_action(&pdev->dev, free_ports, host, "ahci ports");
    if (error)
        return error;
    host->cap = hba_read(host, HBA_CAP);
    host->slot_count = ((host->cap >> 8) & 0x1f) + 1;
    uint32_t implemented = hba_read(host, HBA_PI);
    uint32_t version = hba_read(host, HBA_VS);
    /* Ports whose registers lie past the BAR are not trusted, whatever PI says. */
    uint64_t bar_size = pdev->bars[5].size;
    unsigned reachable =
        bar_size > PORT_BASE ? (unsigned)((bar_size - PORT_BASE) / PORT_STRIDE) : 0;
    pr_info("%s: AHCI %x.%x, %u slots, ports %#x%s%s\n", where, version >> 16,
            (version >> 8) & 0xff, host->slot_count, implemented,
            host->cap & CAP_SNCQ ? ", NCQ" : "", host->cap & CAP_S64A ? ", 64-bit" : "");
    uint32_t usable = 0;
    for (unsigned i = 0; i < 32; i++) {
        if (!(implemented & (1u << i)))
            continue;
        if (i >= reachable)
            pr_warn("%s: port %u lies outside BAR 5; ignored\n", where, i);
        else
            usable |= 1u << i;
    }
    host->usable = usable;
    spin_up_ports(host);
    device_finish_probe_later(&pdev->dev, ahci_finish_probe);
    return 0;
}

/* Silences the HBA; the core then releases its interrupt and the ports (disks first). */
static void ahci_remove(struct pci_device *pdev)
{
    struct ahci_host *host = pci_get_drvdata(pdev);
    hba_write(host, HBA_GHC, hba_read(host, HBA_GHC) & ~GHC_IE);
}

static const struct pci_device_id ahci_ids[] = {
    {PCI_DEVICE_CLASS(0x010601, 0xffffff)},
    {0},
};

MODULE_DEVICE_TABLE(pci, ahci_ids);

static struct pci_driver ahci_driver = {
    .owner = THIS_MODULE,
    .name = "ahci",
    .id_table = ahci_ids,
    .priv_size = sizeof(struct ahci_host),
    .probe = ahci_probe,
    .remove = ahci_remove,
};

static int ahci_init(void)
{
    return pci_register_driver(&ahci_driver);
}
INITCALL(ahci_init, INIT_DRIVER);

static void ahci_exit(void)
{
    pci_unregister_driver(&ahci_driver);
}
MODULE_EXIT(ahci_exit);
