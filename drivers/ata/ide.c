/* Parallel ATA (IDE): PCI IDE controllers (class 01:01, PIIX/ICH) in compatibility or native
 * mode, and the legacy channels at 0x1f0/0x170 (platform devices "ide-legacy") as a fallback
 * when no PCI IDE controller owns them.  Master and slave per channel; LBA28/LBA48 PIO, and
 * bus-master DMA when the controller has it.  Commands run synchronously under the channel
 * lock with polled, deadline-bounded waits (device interrupts stay masked with nIEN), so a
 * silent or absent device costs a timeout, never a hang.  ATAPI devices are reported only. */
#define pr_fmt(fmt) "ide: " fmt
#include <rayos/acpi.h>
#include <rayos/block.h>
#include <rayos/device.h>
#include <rayos/devres.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/init.h>
#include <rayos/irq.h>
#include <rayos/io.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/pci.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

#include "ata.h"

/* Command block registers (offsets from the command base). */
#define REG_DATA     0
#define REG_ERROR    1
#define REG_FEATURES 1
#define REG_COUNT    2
#define REG_LBA_LOW  3
#define REG_LBA_MID  4
#define REG_LBA_HIGH 5
#define REG_DEVICE   6
#define REG_STATUS   7
#define REG_COMMAND  7

/* Device control register (control base). */
#define CONTROL_NIEN 0x02
#define CONTROL_SRST 0x04

/* Bus-master IDE registers (per channel). */
#define BM_COMMAND       0
#define BM_STATUS        2
#define BM_PRDT          4
#define BM_CMD_START     0x01
#define BM_CMD_READ      0x08 /* the controller writes memory */
#define BM_STATUS_ACTIVE 0x01
#define BM_STATUS_ERROR  0x02
#define BM_STATUS_IRQ    0x04
#define PRD_END          0x80000000u
#define PRD_ENTRIES      64
#define SEGMENTS_MAX     (PRD_ENTRIES / 2) /* a segment crosses at most one 64 KiB line */
#define SEGMENT_MAX      (64u * 1024)

#define COMMAND_TIMEOUT (5 * NSEC_PER_SEC)
#define REQUEST_TIMEOUT (30 * NSEC_PER_SEC) /* DMA and FLUSH, enforced by the block layer */
#define RESET_TIMEOUT   (2 * NSEC_PER_SEC)
#define SELECT_TIMEOUT  (100 * NSEC_PER_MSEC)
#define ABSENT_WAIT     (2 * NSEC_PER_MSEC) /* status 0 this long: no device at the position */

struct ide_channel;

struct ide_host {
    struct ide_channel *channels[2];
    struct pci_device *pdev; /* NULL for a legacy channel */
    struct device *device;   /* the PCI function or legacy platform device: the disks' parent */
    bool intx_claimed;       /* native-mode channels share the function's INTx */
};

struct ide_drive {
    struct ide_channel *channel;
    unsigned unit; /* 0 master, 1 slave */
    struct ata_identity id;
    struct block_device *disk;
    bool dma;
    bool present;
    bool refused; /* a submit found the channel busy */
};

struct ide_channel {
    char where[DEVICE_NAME_MAX + 12];
    uint16_t command, control, bus_master; /* bus_master 0: none */
    struct spinlock lock;
    uint32_t *prdt;
    phys_addr_t prdt_phys;
    struct ide_drive drives[2];
    uint8_t selected;      /* device register last written, 0xff unknown */
    uint8_t control_value; /* nIEN while polling only */
    int irq;               /* the handle of the channel's own line, -1 otherwise */
    struct ide_host *host;
    /* One command at a time per channel. */
    struct block_request *active;
    struct ide_drive *active_drive;
    enum { PHASE_IDLE, PHASE_DONE, PHASE_DMA, PHASE_FLUSH } phase;
    int done_status;
};

/* Command bases driven through PCI, so the legacy fallback leaves them alone. */
static uint16_t pci_claimed[4];

static uint8_t status_read(struct ide_channel *ch)
{
    return io_read8((uint16_t)(ch->command + REG_STATUS));
}

static uint8_t alt_status(struct ide_channel *ch)
{
    return io_read8(ch->control);
}

/* The 400 ns the device needs before its status is meaningful after a command or select. */
static void settle(struct ide_channel *ch)
{
    for (int i = 0; i < 4; i++)
        alt_status(ch);
}

/* Waits for BSY clear and (status & mask) == value; returns the status or a negative error. */
static int wait_status(struct ide_channel *ch, uint8_t mask, uint8_t value, uint64_t timeout)
{
    uint64_t deadline = time_ns() + timeout;
    for (;;) {
        uint8_t status = alt_status(ch);
        if (status == 0xff)
            return -ENODEV; /* floating bus: nothing there */
        if (!(status & ATA_STATUS_BSY)) {
            if (status & (ATA_STATUS_ERR | ATA_STATUS_DF))
                return -EIO;
            if ((status & mask) == value)
                return status;
        }
        if (time_ns() > deadline)
            return -ETIMEDOUT;
        udelay(5);
    }
}

static int select_drive(struct ide_channel *ch, unsigned unit, uint8_t lba_bits)
{
    uint8_t device = (uint8_t)(0xa0 | ATA_DEVICE_LBA | unit << 4 | lba_bits);
    if (ch->selected != device) {
        io_write8((uint16_t)(ch->command + REG_DEVICE), device);
        settle(ch);
        ch->selected = device;
    }
    int status = wait_status(ch, 0, 0, SELECT_TIMEOUT);
    return status < 0 && status != -EIO ? status : 0;
}

/* Device 0 is selected first because the BSY poll below can only watch the selected
 * device, and an absent device 1 reads status 0 (QEMU) even while the reset is still
 * running: the poll would end at once, and the registers written next, the device select
 * among them, would be dropped by the still-busy device.  QEMU completes SRST later, from
 * its main loop, so under host load this window spans milliseconds.  If the select itself
 * is dropped (the selected device is busy), that device is present and shows BSY. */
static void soft_reset(struct ide_channel *ch)
{
    io_write8((uint16_t)(ch->command + REG_DEVICE), 0xa0 | ATA_DEVICE_LBA);
    settle(ch);
    io_write8(ch->control, CONTROL_SRST | CONTROL_NIEN);
    udelay(10);
    io_write8(ch->control, ch->control_value);
    mdelay(2); /* BSY may show only some time after SRST is released */
    uint64_t deadline = time_ns() + RESET_TIMEOUT;
    for (;;) {
        uint8_t status = alt_status(ch);
        if (!(status & ATA_STATUS_BSY) || status == 0xff || time_ns() > deadline)
            break;
        udelay(100);
    }
    ch->selected = 0xff;
}

/* Writes the taskfile (high bytes first for LBA48) and the command. */
static int issue(struct ide_channel *ch, unsigned unit, const struct ata_taskfile *tf)
{
    int status = select_drive(ch, unit, tf->lba48 ? 0 : (tf->device & 0x0f));
    if (status < 0)
        return status;
    uint16_t base = ch->command;
    if (tf->lba48) {
        io_write8((uint16_t)(base + REG_FEATURES), (uint8_t)(tf->features >> 8));
        io_write8((uint16_t)(base + REG_COUNT), (uint8_t)(tf->count >> 8));
        io_write8((uint16_t)(base + REG_LBA_LOW), (uint8_t)(tf->lba >> 24));
        io_write8((uint16_t)(base + REG_LBA_MID), (uint8_t)(tf->lba >> 32));
        io_write8((uint16_t)(base + REG_LBA_HIGH), (uint8_t)(tf->lba >> 40));
    }
    io_write8((uint16_t)(base + REG_FEATURES), (uint8_t)tf->features);
    io_write8((uint16_t)(base + REG_COUNT), (uint8_t)tf->count);
    io_write8((uint16_t)(base + REG_LBA_LOW), (uint8_t)tf->lba);
    io_write8((uint16_t)(base + REG_LBA_MID), (uint8_t)(tf->lba >> 8));
    io_write8((uint16_t)(base + REG_LBA_HIGH), (uint8_t)(tf->lba >> 16));
    io_write8((uint16_t)(base + REG_COMMAND), tf->command);
    settle(ch);
    return 0;
}

/* PIO data phase: blocks of block_size bytes from or to the segments' kernel addresses. */
static int pio_transfer(struct ide_channel *ch, const struct block_request *req,
                        uint32_t block_size, bool write)
{
    uint16_t data = (uint16_t)(ch->command + REG_DATA);
    for (unsigned s = 0; s < req->segment_count; s++) {
        uint8_t *bytes = req->segments[s].virt;
        uint32_t length = req->segments[s].length;
        if (!bytes || length % block_size)
            return -EINVAL;
        for (uint32_t done = 0; done < length; done += block_size) {
            int status = wait_status(ch, ATA_STATUS_DRQ, ATA_STATUS_DRQ, COMMAND_TIMEOUT);
            if (status < 0)
                return status;
            for (uint32_t i = 0; i < block_size; i += 2) {
                if (write)
                    io_write16(data, (uint16_t)(bytes[done + i] | bytes[done + i + 1] << 8));
                else {
                    uint16_t word = io_read16(data);
                    bytes[done + i] = (uint8_t)word;
                    bytes[done + i + 1] = (uint8_t)(word >> 8);
                }
            }
            settle(ch);
        }
    }
    int status = wait_status(ch, ATA_STATUS_DRQ, 0, COMMAND_TIMEOUT);
    return status < 0 ? status : 0;
}

/* PRD entries for the request: below 4 GiB, none crossing a 64 KiB line.  -EINVAL if the
 * buffers cannot be described (the caller falls back to PIO). */
static int build_prdt(struct ide_channel *ch, const struct block_request *req)
{
    unsigned n = 0;
    for (unsigned s = 0; s < req->segment_count; s++) {
        uint64_t phys = req->segments[s].phys;
        uint64_t end = phys + req->segments[s].length;
        if (end > (1ull << 32) || (phys & 1) || (end & 1))
            return -EINVAL;
        while (phys < end) {
            uint64_t line_end = (phys | 0xffff) + 1;
            uint64_t piece = MIN(end, line_end) - phys;
            if (n == PRD_ENTRIES)
                return -EINVAL;
            ch->prdt[2 * n] = (uint32_t)phys;
            ch->prdt[2 * n + 1] = (uint32_t)(piece & 0xffff); /* 0 means 64 KiB */
            n++;
            phys += piece;
        }
    }
    if (n == 0)
        return -EINVAL;
    ch->prdt[2 * n - 1] |= PRD_END;
    dma_sync_for_device(ch->prdt_phys, n * 8, DMA_TO_DEVICE); /* the bus-master engine reads it */
    return 0;
}

/* Programs the bus-master engine and starts the command; completion comes by interrupt or
 * poll (channel_service). */
static int dma_start(struct ide_channel *ch, struct ide_drive *drive, const struct ata_taskfile *tf,
                     bool write)
{
    uint16_t bm = ch->bus_master;
    uint8_t direction = write ? 0 : BM_CMD_READ;
    io_write8((uint16_t)(bm + BM_COMMAND), 0);
    io_write32((uint16_t)(bm + BM_PRDT), (uint32_t)ch->prdt_phys);
    io_write8((uint16_t)(bm + BM_STATUS), BM_STATUS_ERROR | BM_STATUS_IRQ);
    io_write8((uint16_t)(bm + BM_COMMAND), direction);
    int status = issue(ch, drive->unit, tf);
    if (status < 0)
        return status;
    wmb();
    io_write8((uint16_t)(bm + BM_COMMAND), direction | BM_CMD_START);
    ch->phase = PHASE_DMA;
    return 0;
}

/* Starts req.  DMA and FLUSH finish later; PIO moves its data here (the CPU is the engine)
 * and leaves the completion for the interrupt or the next poll, so a completion never runs
 * inside submit. */
static int start_request(struct ide_channel *ch, struct ide_drive *drive, struct block_request *req)
{
    struct ata_taskfile tf;
    if (req->op == BLOCK_OP_FLUSH) {
        ata_build_flush(&tf, drive->id.flush_ext);
        int status = issue(ch, drive->unit, &tf);
        if (status == 0)
            ch->phase = PHASE_FLUSH;
        return status;
    }
    bool write = req->op == BLOCK_OP_WRITE;
    uint32_t block_size = drive->id.logical_sector_size;
    uint32_t count = (uint32_t)(blk_request_bytes(req) / block_size);
    bool use_dma = drive->dma && build_prdt(ch, req) == 0;
    int status =
        ata_build_rw(&tf, write, req->lba, count, drive->id.lba48, use_dma ? ATA_DMA : ATA_PIO);
    if (status < 0)
        return status;
    if (use_dma)
        return dma_start(ch, drive, &tf, write);
    status = issue(ch, drive->unit, &tf);
    if (status == 0)
        status = pio_transfer(ch, req, block_size, write);
    if (status == 0) {
        ch->phase = PHASE_DONE;
        ch->done_status = 0;
    }
    return status;
}

static void log_failure(struct ide_channel *ch, struct block_request *req, int status)
{
    uint8_t error = io_read8((uint16_t)(ch->command + REG_ERROR));
    pr_err("%s: %s at block %llu failed: %d (status %#x, error %#x)\n",
           req->device ? req->device->dev.name : ch->where, block_op_name(req->op),
           (unsigned long long)req->lba, status, alt_status(ch), error);
}

static int ide_submit(struct block_device *dev, struct block_request *req)
{
    struct ide_drive *drive = dev->driver_data;
    struct ide_channel *ch = drive->channel;
    if (req->op != BLOCK_OP_READ && req->op != BLOCK_OP_WRITE && req->op != BLOCK_OP_FLUSH)
        return -EOPNOTSUPP;
    irqflags_t flags = spin_lock_irqsave(&ch->lock);
    if (ch->active) {
        /* The other drive of the channel is busy: retried after its completion. */
        drive->refused = true;
        spin_unlock_irqrestore(&ch->lock, flags);
        return -EBUSY;
    }
    int status = start_request(ch, drive, req);
    if (status < 0) {
        log_failure(ch, req, status);
        soft_reset(ch);
        ch->phase = PHASE_IDLE;
        status = -EIO;
    } else {
        ch->active = req;
        ch->active_drive = drive;
    }
    spin_unlock_irqrestore(&ch->lock, flags);
    return status;
}

/* Lets the block layer start what it queued on either drive while the channel was busy. */
static void restart_refused(struct ide_channel *ch)
{
    for (unsigned unit = 0; unit < 2; unit++) {
        struct ide_drive *drive = &ch->drives[unit];
        if (drive->refused && drive->disk) {
            drive->refused = false;
            blk_queue_run(drive->disk);
        }
    }
}

/* Finishes the active request if the device is done with it; any context. */
static void channel_service(struct ide_channel *ch)
{
    irqflags_t flags = spin_lock_irqsave(&ch->lock);
    struct block_request *req = ch->active;
    if (!req) {
        status_read(ch); /* a stray interrupt: acknowledge it */
        spin_unlock_irqrestore(&ch->lock, flags);
        return;
    }
    int status = 0;
    uint8_t device_status;
    switch (ch->phase) {
    case PHASE_DONE:
        status = ch->done_status;
        break;
    case PHASE_DMA: {
        /* The engine's state first, the device's after: a device status read before the
         * engine stopped may predate the command's outcome (QEMU shows neither BSY nor ERR
         * while a DMA runs, and its I/O completes on another host thread), and would turn
         * a failed transfer into a success. */
        uint16_t bm = ch->bus_master;
        uint8_t bm_status = io_read8((uint16_t)(bm + BM_STATUS));
        bool finished =
            (bm_status & (BM_STATUS_IRQ | BM_STATUS_ERROR)) || !(bm_status & BM_STATUS_ACTIVE);
        device_status = finished ? alt_status(ch) : ATA_STATUS_BSY;
        if (!finished || (device_status & (ATA_STATUS_BSY | ATA_STATUS_DRQ))) {
            spin_unlock_irqrestore(&ch->lock, flags);
            return;
        }
        io_write8((uint16_t)(bm + BM_COMMAND), 0);
        io_write8((uint16_t)(bm + BM_STATUS), BM_STATUS_ERROR | BM_STATUS_IRQ);
        if ((bm_status & BM_STATUS_ERROR) || (device_status & (ATA_STATUS_ERR | ATA_STATUS_DF)))
            status = -EIO;
        break;
    }
    case PHASE_FLUSH:
        device_status = alt_status(ch);
        if (device_status & ATA_STATUS_BSY) {
            spin_unlock_irqrestore(&ch->lock, flags);
            return;
        }
        if (device_status & (ATA_STATUS_ERR | ATA_STATUS_DF))
            status = -EIO;
        break;
    case PHASE_IDLE:
        break;
    }
    status_read(ch); /* acknowledges the device's interrupt */
    if (status < 0) {
        log_failure(ch, req, status);
        soft_reset(ch);
    }
    ch->active = NULL;
    ch->phase = PHASE_IDLE;
    spin_unlock_irqrestore(&ch->lock, flags);
    blk_request_done(req, status);
    restart_refused(ch);
}

static void ide_interrupt(void *context)
{
    channel_service(context);
}

static void ide_poll(struct block_device *dev)
{
    struct ide_drive *drive = dev->driver_data;
    channel_service(drive->channel);
}

/* The queue's timeout (-ETIMEDOUT) or `blk reset` (-EIO): stop the engine, reset the channel,
 * fail the request it held. */
static void ide_reset(struct block_device *dev, int status)
{
    struct ide_drive *drive = dev->driver_data;
    struct ide_channel *ch = drive->channel;
    irqflags_t flags = spin_lock_irqsave(&ch->lock);
    pr_err("%s: resetting %s (%d, status %#x)\n", dev->dev.name, ch->where, status, alt_status(ch));
    if (ch->bus_master)
        io_write8((uint16_t)(ch->bus_master + BM_COMMAND), 0);
    soft_reset(ch);
    struct block_request *req = ch->active;
    ch->active = NULL;
    ch->phase = PHASE_IDLE;
    spin_unlock_irqrestore(&ch->lock, flags);
    if (req)
        blk_request_done(req, status);
    restart_refused(ch);
}

static void ide_describe(struct block_device *dev, char *buffer, size_t size)
{
    struct ide_drive *drive = dev->driver_data;
    snprintf(buffer, size, "%s %s, %s, %s, %s", drive->channel->where,
             drive->unit ? "slave" : "master", drive->id.model, drive->id.lba48 ? "LBA48" : "LBA28",
             drive->dma ? "bus-master DMA" : "PIO");
}

static const struct block_driver_ops ide_ops = {
    .submit = ide_submit,
    .poll = ide_poll,
    .reset = ide_reset,
    .describe = ide_describe,
};

/* After a command: a device at the selected position shows BSY, DRQ or ERR, possibly only
 * after a while (an emulator may post it late).  Nobody is there when the bus floats or the
 * status stays 0 for ABSENT_WAIT; one early read of 0 proves nothing. */
static bool device_answers(struct ide_channel *ch)
{
    uint64_t deadline = time_ns() + ABSENT_WAIT;
    for (;;) {
        uint8_t status = alt_status(ch);
        if (status == 0xff)
            return false;
        if (status != 0)
            return true;
        if (time_ns() > deadline)
            return false;
        udelay(20);
    }
}

static int identify(struct ide_channel *ch, struct ide_drive *drive, bool packet, uint16_t *words)
{
    struct ata_taskfile tf;
    ata_build_identify(&tf, packet);
    tf.device = 0;
    int status = issue(ch, drive->unit, &tf);
    if (status < 0)
        return status;
    if (!device_answers(ch))
        return -ENODEV;
    status = wait_status(ch, ATA_STATUS_DRQ, ATA_STATUS_DRQ, COMMAND_TIMEOUT);
    if (status < 0)
        return status;
    for (unsigned i = 0; i < 256; i++)
        words[i] = io_read16((uint16_t)(ch->command + REG_DATA));
    settle(ch);
    return 0;
}

static void register_drive(struct ide_channel *ch, struct ide_drive *drive)
{
    const struct ata_identity *id = &drive->id;
    struct block_device *disk = block_device_alloc();
    if (!disk)
        return;
    disk->logical_block_size = id->logical_sector_size;
    disk->physical_block_size = id->physical_sector_size;
    disk->block_count = id->sector_count;
    disk->can_flush = id->flush || id->flush_ext;
    disk->driver_name = "ide";
    /* 256 sectors: what one LBA28 command moves, and a PRD table that stays small. */
    uint32_t max_sectors = ATA_LBA28_MAX_SECTORS;
    disk->limits = (struct block_limits){.max_segments = SEGMENTS_MAX,
                                         .max_segment_size = SEGMENT_MAX,
                                         .max_transfer = max_sectors * id->logical_sector_size,
                                         .queue_depth = 1};
    disk->ops = &ide_ops;
    disk->driver_data = drive;
    disk->timeout_ns = REQUEST_TIMEOUT;
    drive->disk = disk;
    if (block_device_register(disk, ch->host->device, "hd") < 0) {
        device_put(&disk->dev);
        drive->disk = NULL;
        return;
    }
    char size[24];
    ata_format_capacity(id->sector_count * id->logical_sector_size, size, sizeof(size));
    pr_info("%s %s: %s, %s, %u-byte sectors, %s, %s -> %s\n", ch->where,
            drive->unit ? "slave" : "master", id->model, size, id->logical_sector_size,
            id->lba48 ? "LBA48" : "LBA28", drive->dma ? "DMA" : "PIO", disk->dev.name);
    block_device_scan_partitions(disk);
}

/* True when a usable disk answered (registered by the caller, outside the channel lock). */
static bool probe_drive(struct ide_channel *ch, struct ide_drive *drive, uint16_t *words)
{
    const char *position = drive->unit ? "slave" : "master";
    int status = identify(ch, drive, false, words);
    if (status == -EIO) {
        /* A packet device aborts IDENTIFY DEVICE and shows its signature. */
        uint8_t mid = io_read8((uint16_t)(ch->command + REG_LBA_MID));
        uint8_t high = io_read8((uint16_t)(ch->command + REG_LBA_HIGH));
        if (mid == 0x14 && high == 0xeb && identify(ch, drive, true, words) == 0) {
            struct ata_identity id;
            ata_parse_identify(words, &id, NULL);
            pr_info("%s %s: ATAPI device %s (not supported)\n", ch->where, position, id.model);
            return false;
        }
        pr_err("%s %s: IDENTIFY aborted (signature %#x/%#x)\n", ch->where, position, mid, high);
    }
    if (status == -ETIMEDOUT)
        pr_err("%s %s: device never became ready\n", ch->where, position);
    if (status < 0)
        return false;
    const char *why = "";
    if (ata_parse_identify(words, &drive->id, &why) < 0) {
        pr_err("%s %s: no usable disk: %s\n", ch->where, position, why);
        return false;
    }
    if (drive->id.atapi) {
        pr_info("%s %s: ATAPI device %s (not supported)\n", ch->where, position, drive->id.model);
        return false;
    }
    drive->dma = ch->bus_master && drive->id.dma;
    return true;
}

static void ide_host_interrupt(void *context)
{
    struct ide_host *host = context;
    for (unsigned i = 0; i < 2; i++)
        if (host->channels[i])
            channel_service(host->channels[i]);
}

/* Compatibility and legacy channels have their own interrupt line (spec); native channels
 * share the PCI function's INTx.  Without an interrupt the channel stays polled (nIEN set). */
static void enable_interrupts(struct ide_channel *ch, const struct irq_spec *spec)
{
    const char *how = "polled";
    if (spec) {
        ch->irq = irq_claim(spec, ide_interrupt, ch, "ide");
        if (ch->irq >= 0)
            how = "IRQ";
    } else if (ch->host->pdev) {
        if (!ch->host->intx_claimed &&
            pci_intx_irq(ch->host->pdev, ide_host_interrupt, ch->host, "ide") >= 0)
            ch->host->intx_claimed = true;
        if (ch->host->intx_claimed)
            how = "INTx";
    }
    if (strcmp(how, "polled") == 0) {
        pr_warn("%s: no interrupt; completions are polled\n", ch->where);
        return;
    }
    irqflags_t flags = spin_lock_irqsave(&ch->lock);
    ch->control_value = 0;
    io_write8(ch->control, ch->control_value);
    status_read(ch);
    spin_unlock_irqrestore(&ch->lock, flags);
}

/* Resets the channel and probes both positions; returns the number of disks. */
static unsigned probe_channel(struct ide_channel *ch, const struct irq_spec *spec)
{
    uint8_t status = io_read8((uint16_t)(ch->command + REG_STATUS));
    if (status == 0xff) {
        pr_info("%s: floating bus, no devices\n", ch->where);
        return 0;
    }
    ch->selected = 0xff;
    soft_reset(ch);
    uint16_t *words = kmalloc(512);
    if (!words)
        return 0;
    bool any = false;
    for (unsigned unit = 0; unit < 2; unit++) {
        struct ide_drive *drive = &ch->drives[unit];
        drive->channel = ch;
        drive->unit = unit;
        irqflags_t flags = spin_lock_irqsave(&ch->lock);
        drive->present = probe_drive(ch, drive, words);
        spin_unlock_irqrestore(&ch->lock, flags);
        any |= drive->present;
    }
    kfree(words);
    if (!any)
        return 0;
    enable_interrupts(ch, spec);
    unsigned disks = 0;
    for (unsigned unit = 0; unit < 2; unit++) {
        if (ch->drives[unit].present)
            register_drive(ch, &ch->drives[unit]);
        disks += ch->drives[unit].disk != NULL;
    }
    return disks;
}

static struct ide_channel *channel_create(struct ide_host *host, const char *where, unsigned number,
                                          uint16_t command, uint16_t control, uint16_t bus_master)
{
    struct ide_channel *ch = kzalloc(sizeof(*ch));
    if (!ch)
        return NULL;
    snprintf(ch->where, sizeof(ch->where), "%s channel %u", where, number);
    ch->host = host;
    ch->command = command;
    ch->control = control;
    ch->control_value = CONTROL_NIEN;
    ch->irq = -1;
    ch->lock = (struct spinlock)SPINLOCK_INIT("ide");
    if (bus_master) {
        ch->prdt = dma_alloc_low(PRD_ENTRIES * 8, 4096, &ch->prdt_phys);
        if (ch->prdt && ch->prdt_phys + PRD_ENTRIES * 8 <= (1ull << 32))
            ch->bus_master = bus_master;
    }
    return ch;
}

static void channel_destroy(struct ide_channel *ch)
{
    for (unsigned unit = 0; unit < 2; unit++) {
        struct block_device *disk = ch->drives[unit].disk;
        if (disk) {
            device_unregister(&disk->dev);
            device_put(&disk->dev);
        }
    }
    /* Quiesce: mask the device's interrupt, stop the engine, fail what was running. */
    irqflags_t flags = spin_lock_irqsave(&ch->lock);
    ch->control_value = CONTROL_NIEN;
    io_write8(ch->control, CONTROL_NIEN);
    if (ch->bus_master)
        io_write8((uint16_t)(ch->bus_master + BM_COMMAND), 0);
    struct block_request *req = ch->active;
    ch->active = NULL;
    spin_unlock_irqrestore(&ch->lock, flags);
    if (req)
        blk_request_done(req, -ENODEV);
    if (ch->irq >= 0)
        irq_release(ch->irq);
    if (ch->prdt)
        dma_free(ch->prdt, PRD_ENTRIES * 8);
    kfree(ch);
}

/* The managed release of a host's channels: disks first, then each channel quiesced, its
 * interrupt released and its memory freed. */
static void host_destroy(void *host_)
{
    struct ide_host *host = host_;
    if (host->intx_claimed)
        pci_intx_release(host->pdev);
    for (unsigned i = 0; i < 2; i++)
        if (host->channels[i])
            channel_destroy(host->channels[i]);
}

static const uint16_t compat_command[2] = {0x1f0, 0x170};
static const uint16_t compat_control[2] = {0x3f6, 0x376};
static const unsigned compat_isa_irq[2] = {14, 15}; /* fixed by the PCI IDE specification */

static int ide_pci_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    (void)id;
    struct ide_host *host = pci_get_drvdata(pdev);
    host->pdev = pdev;
    host->device = &pdev->dev;
    int error = devm_add_action(&pdev->dev, host_destroy, host, "ide channels");
    if (error)
        return error;
    pci_enable_io(pdev);
    int bm_base = -ENODEV;
    if ((pdev->prog_if & 0x80) && pdev->bars[4].type == PCI_BAR_IO) {
        bm_base = pci_bar_io_port(pdev, 4);
        if (bm_base > 0)
            pci_enable_bus_master(pdev);
    }
    unsigned disks = 0;
    for (unsigned i = 0; i < 2; i++) {
        bool native = pdev->prog_if & (1u << (2 * i));
        uint16_t command = compat_command[i], control = compat_control[i];
        if (native) {
            int command_port = pci_bar_io_port(pdev, 2 * i);
            int control_port = pci_bar_io_port(pdev, 2 * i + 1);
            if (command_port <= 0 || control_port <= 0) {
                pr_err("%s: channel %u: native mode without I/O BARs\n", pci_name(pdev), i);
                continue;
            }
            command = (uint16_t)command_port;
            control = (uint16_t)(control_port + 2);
        } else {
            pci_claimed[i] = command;
        }
        uint16_t bus_master = bm_base > 0 ? (uint16_t)(bm_base + 8 * i) : 0;
        host->channels[i] = channel_create(host, pci_name(pdev), i, command, control, bus_master);
        struct irq_spec compat;
        bool own_line = !native && acpi_isa_irq_spec(compat_isa_irq[i], &compat) == 0;
        if (host->channels[i])
            disks += probe_channel(host->channels[i], own_line ? &compat : NULL);
    }
    pr_info("%s: %s mode, %s, %u disk%s\n", pci_name(pdev),
            (pdev->prog_if & 0x05) == 0x05 ? "native"
            : (pdev->prog_if & 0x05)       ? "mixed"
                                           : "compatibility",
            bm_base > 0 ? "bus-master DMA" : "PIO only", disks, disks == 1 ? "" : "s");
    return 0;
}

/* Gives the compatibility ports back; the core then destroys the channels. */
static void ide_pci_remove(struct pci_device *pdev)
{
    struct ide_host *host = pci_get_drvdata(pdev);
    for (unsigned i = 0; i < 2; i++)
        if (host->channels[i] && host->channels[i]->command == compat_command[i])
            pci_claimed[i] = 0;
}

static const struct pci_device_id ide_pci_ids[] = {
    {PCI_DEVICE_CLASS(0x010100, 0xffff00)},
    {0},
};

MODULE_DEVICE_TABLE(pci, ide_pci_ids);

static struct pci_driver ide_pci_driver = {
    .owner = THIS_MODULE,
    .name = "ide",
    .id_table = ide_pci_ids,
    .priv_size = sizeof(struct ide_host),
    .probe = ide_pci_probe,
    .remove = ide_pci_remove,
};

static int find_pci_ide(struct device *dev, void *context)
{
    (void)context;
    if (!dev_is_pci(dev))
        return 0;
    struct pci_device *pdev = to_pci_device(dev);
    return pdev->class_code == 0x01 && pdev->subclass == 0x01;
}

/* A legacy channel: only when no PCI IDE controller is there to own the ports. */
static int ide_legacy_probe(struct platform_device *pdev)
{
    const struct resource *command = device_resource(&pdev->dev, RESOURCE_IO, 0);
    const struct resource *control = device_resource(&pdev->dev, RESOURCE_IO, 1);
    if (!command || !control || command->size < 8)
        return -EINVAL;
    for (unsigned i = 0; i < ARRAY_SIZE(pci_claimed); i++)
        if (pci_claimed[i] == command->start)
            return -EBUSY;
    if (device_for_each(find_pci_ide, NULL))
        return -EBUSY; /* a PCI IDE function appeared after boot: it owns these ports */
    unsigned number = command->start == 0x170 ? 1 : 0;
    struct ide_host *host = pdev->dev.driver_data;
    host->device = &pdev->dev;
    int error = devm_add_action(&pdev->dev, host_destroy, host, "ide channels");
    if (error)
        return error;
    host->channels[0] = channel_create(host, "legacy", number, (uint16_t)command->start,
                                       (uint16_t)control->start, 0);
    if (!host->channels[0])
        return -ENOMEM;
    struct irq_spec irq;
    bool has_irq = device_irq_spec(&pdev->dev, 0, &irq) == 0;
    unsigned disks = probe_channel(host->channels[0], has_irq ? &irq : NULL);
    pr_info("%s: legacy ports %#llx/%#llx, %u disk%s\n", pdev->dev.name,
            (unsigned long long)command->start, (unsigned long long)control->start, disks,
            disks == 1 ? "" : "s");
    return 0;
}

static const char *const ide_legacy_types[] = {"ide-legacy", NULL};
MODULE_ALIAS("platform:ide-legacy");

static struct platform_driver ide_legacy_driver = {
    .owner = THIS_MODULE,
    .name = "ide-legacy",
    .types = ide_legacy_types,
    .priv_size = sizeof(struct ide_host),
    .probe = ide_legacy_probe,
};

static int ide_init(void)
{
    int status = pci_register_driver(&ide_pci_driver);
    if (status < 0)
        return status;
    /* The legacy ports are a fallback: with a PCI IDE function present (enumerated at
     * INIT_BUS, so already known here) they belong to it, and the platform devices stay
     * unbound. */
    if (device_for_each(find_pci_ide, NULL)) {
        pr_info("legacy ports left to the PCI IDE controller\n");
        return 0;
    }
    return platform_register_driver(&ide_legacy_driver);
}
INITCALL(ide_init, INIT_DRIVER);

static void ide_exit(void)
{
    platform_unregister_driver(&ide_legacy_driver);
    pci_unregister_driver(&ide_pci_driver);
}
MODULE_EXIT(ide_exit);
