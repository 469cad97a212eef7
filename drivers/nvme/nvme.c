/* NVMe controllers (class 01:08:02).  An admin queue used by polling, one I/O submission/
 * completion queue pair per CPU (as many as the controller grants and MSI-X has vectors for;
 * one pair without MSI-X) shared by every namespace, each the block layer's hardware queue of
 * the same number with its own lock, command slots (PRP lists) and MSI-X vector aimed at its
 * CPU; completion by MSI-X (else MSI, else INTx, else polling).  A controller reporting fatal
 * status (CSTS.CFS), or one that stops answering, fails its requests with -EIO and is reset once
 * per timeout; other controllers carry on. */
#define pr_fmt(fmt) "nvme: " fmt
#include <rayos/block.h>
#include <rayos/bytes.h>
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
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/time.h>

#include "nvme_cmd.h"

/* Controller registers. */
#define REG_CAP   0x00
#define REG_VS    0x08
#define REG_INTMS 0x0c
#define REG_INTMC 0x10
#define REG_CC    0x14
#define REG_CSTS  0x1c
#define REG_AQA   0x24
#define REG_ASQ   0x28
#define REG_ACQ   0x30
#define DOORBELLS 0x1000

#define CC_EN            (1u << 0)
#define CC_IOSQES        (6u << 16)
#define CC_IOCQES        (4u << 20)
#define CSTS_RDY         (1u << 0)
#define CSTS_CFS         (1u << 1)
#define CAP_MQES(cap)    ((uint32_t)((cap)&0xffff) + 1)
#define CAP_TO(cap)      (((cap) >> 24) & 0xff)
#define CAP_DSTRD(cap)   (((cap) >> 32) & 0xf)
#define CAP_CSS_NVM(cap) (((cap) >> 37) & 1)
#define CAP_MPSMIN(cap)  (((cap) >> 48) & 0xf)

#define PAGE_SIZE        4096u
#define ADMIN_ENTRIES    16
#define IO_ENTRIES_MAX   256
#define MAX_TRANSFER     (1u << 20)
#define PRP_LIST_ENTRIES (PAGE_SIZE / 8)
#define NAMESPACES_MAX   16
#define IO_QUEUES_MAX    16
#define IO_SLOTS_MAX     128 /* commands in flight per I/O queue */
#define ADMIN_TIMEOUT    (5 * NSEC_PER_SEC)
#define REQUEST_TIMEOUT  (10 * NSEC_PER_SEC)

struct nvme_queue {
    struct nvme_sqe *sq;
    struct nvme_cqe *cq;
    phys_addr_t sq_phys, cq_phys;
    uint32_t entries;
    uint32_t sq_tail, cq_head;
    unsigned phase;
    volatile uint32_t *sq_doorbell, *cq_doorbell;
};

struct nvme_ctrl;

struct nvme_ns {
    struct nvme_ctrl *ctrl;
    uint32_t nsid;
    struct nvme_namespace_info info;
    struct block_device *disk;
    bool refused; /* a submit found no free slot: restart its queue after completions */
};

struct nvme_slot {
    struct block_request *req;
    uint64_t *prp_list;
    phys_addr_t prp_list_phys;
};

/* One I/O queue pair (qid = index + 1) and its command slots; the lock guards all of it. */
struct nvme_io_queue {
    struct nvme_ctrl *ctrl;
    unsigned index;
    struct spinlock lock;
    struct nvme_queue queue;
    struct nvme_slot *slots;
    uint16_t *free_slots;
    unsigned free_count, slot_count;
    bool stopped; /* a reset is rebuilding the queues: submissions wait */
    uint64_t interrupts, interrupts_elsewhere;
};

struct nvme_ctrl {
    struct pci_device *pdev;
    volatile uint8_t *regs;
    unsigned index;
    uint64_t cap;
    uint32_t doorbell_stride;
    uint64_t ready_timeout;
    struct spinlock lock; /* the admin queue */
    struct nvme_queue admin;
    uint16_t admin_command_id;
    unsigned io_queue_count;
    struct nvme_io_queue io_queues[IO_QUEUES_MAX];
    uint32_t io_entries;
    uint32_t max_transfer;
    struct nvme_controller_info info;
    struct nvme_ns namespaces[NAMESPACES_MAX];
    unsigned namespace_count;
    enum { IRQ_NONE_, IRQ_MSIX, IRQ_MSI, IRQ_INTX } irq_kind;
    volatile bool dead;
    bool resetting; /* one reset at a time (atomic) */
};

/* Controller numbers in use (nvme0, nvme1...): a controller unbound and bound again gets the
 * lowest free number, as its disks' names depend on it. */
static uint64_t controller_numbers;

static unsigned take_controller_number(void)
{
    for (unsigned i = 0; i < 64; i++) {
        if (!(controller_numbers & (1ull << i))) {
            controller_numbers |= 1ull << i;
            return i;
        }
    }
    return 64; /* beyond the map: never released, names stay unique */
}

static uint32_t reg_read32(struct nvme_ctrl *ctrl, unsigned reg)
{
    return mmio_read32(ctrl->regs + reg);
}

static void reg_write32(struct nvme_ctrl *ctrl, unsigned reg, uint32_t value)
{
    mmio_write32(ctrl->regs + reg, value);
}

static uint64_t reg_read64(struct nvme_ctrl *ctrl, unsigned reg)
{
    return reg_read32(ctrl, reg) | (uint64_t)reg_read32(ctrl, reg + 4) << 32;
}

static void reg_write64(struct nvme_ctrl *ctrl, unsigned reg, uint64_t value)
{
    reg_write32(ctrl, reg, (uint32_t)value);
    reg_write32(ctrl, reg + 4, (uint32_t)(value >> 32));
}

/* CSTS reads all ones when the device has gone away. */
static bool controller_failed(struct nvme_ctrl *ctrl)
{
    uint32_t csts = reg_read32(ctrl, REG_CSTS);
    return csts == 0xffffffff || (csts & CSTS_CFS);
}

static int wait_ready(struct nvme_ctrl *ctrl, bool ready)
{
    uint64_t deadline = time_ns() + ctrl->ready_timeout;
    for (;;) {
        uint32_t csts = reg_read32(ctrl, REG_CSTS);
        if (csts == 0xffffffff || (csts & CSTS_CFS)) {
            pr_err("%s: controller fatal status (CSTS %#x)\n", pci_name(ctrl->pdev), csts);
            return -EIO;
        }
        if (!!(csts & CSTS_RDY) == ready)
            return 0;
        if (time_ns() > deadline) {
            pr_err("%s: controller not %s within %llu ms\n", pci_name(ctrl->pdev),
                   ready ? "ready" : "disabled",
                   (unsigned long long)(ctrl->ready_timeout / NSEC_PER_MSEC));
            return -ETIMEDOUT;
        }
        udelay(50);
    }
}

static int queue_alloc(struct nvme_ctrl *ctrl, struct nvme_queue *queue, uint16_t qid,
                       uint32_t entries)
{
    queue->entries = entries;
    queue->sq = dma_alloc(entries * sizeof(struct nvme_sqe), PAGE_SIZE, &queue->sq_phys);
    queue->cq = dma_alloc(entries * sizeof(struct nvme_cqe), PAGE_SIZE, &queue->cq_phys);
    queue->sq_doorbell =
        (volatile uint32_t *)(ctrl->regs + DOORBELLS + (2u * qid) * ctrl->doorbell_stride);
    queue->cq_doorbell =
        (volatile uint32_t *)(ctrl->regs + DOORBELLS + (2u * qid + 1) * ctrl->doorbell_stride);
    return queue->sq && queue->cq ? 0 : -ENOMEM;
}

static void queue_reset(struct nvme_queue *queue)
{
    memset(queue->cq, 0, queue->entries * sizeof(struct nvme_cqe));
    /* The zeroed completion queue goes to the controller, which writes it from now on. */
    dma_sync_for_device(queue->cq_phys, queue->entries * sizeof(struct nvme_cqe),
                        DMA_BIDIRECTIONAL);
    queue->sq_tail = 0;
    queue->cq_head = 0;
    queue->phase = 1;
}

static void queue_free(struct nvme_queue *queue)
{
    if (queue->sq)
        dma_free(queue->sq, queue->entries * sizeof(struct nvme_sqe));
    if (queue->cq)
        dma_free(queue->cq, queue->entries * sizeof(struct nvme_cqe));
}

static void queue_push(struct nvme_queue *queue, const struct nvme_sqe *sqe)
{
    queue->sq[queue->sq_tail] = *sqe;
    dma_sync_for_device(queue->sq_phys + queue->sq_tail * sizeof(struct nvme_sqe),
                        sizeof(struct nvme_sqe), DMA_TO_DEVICE);
    queue->sq_tail = (queue->sq_tail + 1) % queue->entries;
    wmb();
    mmio_write32(queue->sq_doorbell, queue->sq_tail);
}

/* The next completion, or NULL. */
static const struct nvme_cqe *queue_peek(struct nvme_queue *queue)
{
    const volatile struct nvme_cqe *cqe = &queue->cq[queue->cq_head];
    dma_sync_for_cpu(queue->cq_phys + queue->cq_head * sizeof(struct nvme_cqe),
                     sizeof(struct nvme_cqe), DMA_FROM_DEVICE);
    if ((cqe->status & 1) != queue->phase)
        return NULL;
    rmb();
    return (const struct nvme_cqe *)cqe;
}

static void queue_pop(struct nvme_queue *queue)
{
    queue->cq_head++;
    if (queue->cq_head == queue->entries) {
        queue->cq_head = 0;
        queue->phase ^= 1;
    }
}

/* Runs one admin command by polling.  Returns 0, -EIO (error status) or -ETIMEDOUT.  With INTx
 * the one level-triggered line also stands for the admin queue's completion, which nothing but
 * this loop consumes: vector 0 is masked (INTMS) meanwhile, or the line would stay asserted and
 * the interrupt would fire back to back until the loop ran (on one CPU: never). */
static int admin_exec_polled(struct nvme_ctrl *ctrl, struct nvme_sqe *sqe, uint32_t *result);
static int admin_exec(struct nvme_ctrl *ctrl, struct nvme_sqe *sqe, uint32_t *result)
{
    bool masked = ctrl->irq_kind == IRQ_INTX;
    if (masked)
        reg_write32(ctrl, REG_INTMS, 1);
    int status = admin_exec_polled(ctrl, sqe, result);
    if (masked)
        reg_write32(ctrl, REG_INTMC, 1);
    return status;
}

static int admin_exec_polled(struct nvme_ctrl *ctrl, struct nvme_sqe *sqe, uint32_t *result)
{
    uint16_t id = ctrl->admin_command_id++;
    sqe->cdw0 = (sqe->cdw0 & 0xffff) | (uint32_t)id << 16;
    queue_push(&ctrl->admin, sqe);
    uint64_t deadline = time_ns() + ADMIN_TIMEOUT;
    for (;;) {
        const struct nvme_cqe *cqe = queue_peek(&ctrl->admin);
        if (cqe) {
            uint16_t command_id = cqe->command_id;
            unsigned status = nvme_cqe_status(cqe);
            if (result)
                *result = cqe->result;
            queue_pop(&ctrl->admin);
            mmio_write32(ctrl->admin.cq_doorbell, ctrl->admin.cq_head);
            if (command_id != id)
                continue; /* a stale completion */
            if (status) {
                pr_err("%s: admin command %#x failed: status %#x\n", pci_name(ctrl->pdev),
                       sqe->cdw0 & 0xff, status);
                return -EIO;
            }
            return 0;
        }
        if (controller_failed(ctrl)) {
            pr_err("%s: controller fatal status during admin command %#x\n", pci_name(ctrl->pdev),
                   sqe->cdw0 & 0xff);
            return -EIO;
        }
        if (time_ns() > deadline) {
            pr_err("%s: admin command %#x timed out\n", pci_name(ctrl->pdev), sqe->cdw0 & 0xff);
            return -ETIMEDOUT;
        }
        udelay(10);
    }
}

/* An Identify command into the buffer at phys: the controller owns the buffer (zeroed or not
 * by the caller) until the command completes. */
static int admin_identify(struct nvme_ctrl *ctrl, struct nvme_sqe *sqe, phys_addr_t phys)
{
    dma_sync_for_device(phys, NVME_IDENTIFY_BYTES, DMA_BIDIRECTIONAL);
    int status = admin_exec(ctrl, sqe, NULL);
    dma_sync_for_cpu(phys, NVME_IDENTIFY_BYTES, DMA_FROM_DEVICE);
    return status;
}

/* Disable, program the admin queue, enable: the controller is then ready for admin commands. */
static int controller_enable(struct nvme_ctrl *ctrl)
{
    uint32_t cc = reg_read32(ctrl, REG_CC);
    if (cc & CC_EN) {
        reg_write32(ctrl, REG_CC, cc & ~CC_EN);
    }
    /* A controller in fatal state still has to be disabled to recover; wait for RDY to drop
     * regardless of CFS. */
    uint64_t deadline = time_ns() + ctrl->ready_timeout;
    while (reg_read32(ctrl, REG_CSTS) & CSTS_RDY) {
        if (reg_read32(ctrl, REG_CSTS) == 0xffffffff || time_ns() > deadline) {
            pr_err("%s: controller does not disable\n", pci_name(ctrl->pdev));
            return -ETIMEDOUT;
        }
        udelay(50);
    }
    queue_reset(&ctrl->admin);
    reg_write32(ctrl, REG_AQA, (ADMIN_ENTRIES - 1) | (ADMIN_ENTRIES - 1) << 16);
    reg_write64(ctrl, REG_ASQ, ctrl->admin.sq_phys);
    reg_write64(ctrl, REG_ACQ, ctrl->admin.cq_phys);
    reg_write32(ctrl, REG_CC, CC_IOSQES | CC_IOCQES | CC_EN); /* NVM set, 4 KiB pages */
    return wait_ready(ctrl, true);
}

static int create_io_queues(struct nvme_ctrl *ctrl)
{
    bool interrupts = ctrl->irq_kind != IRQ_NONE_;
    for (unsigned i = 0; i < ctrl->io_queue_count; i++) {
        struct nvme_io_queue *ioq = &ctrl->io_queues[i];
        uint16_t qid = (uint16_t)(i + 1);
        /* With MSI-X, queue i's completions use vector i (aimed at its CPU); MSI and INTx
         * have one interrupt for everything. */
        uint16_t vector = ctrl->irq_kind == IRQ_MSIX ? (uint16_t)i : 0;
        struct nvme_sqe sqe;
        queue_reset(&ioq->queue);
        nvme_build_create_cq(&sqe, qid, ioq->queue.entries, ioq->queue.cq_phys, vector, interrupts,
                             0);
        int status = admin_exec(ctrl, &sqe, NULL);
        if (status == 0) {
            nvme_build_create_sq(&sqe, qid, ioq->queue.entries, ioq->queue.sq_phys, qid, 0);
            status = admin_exec(ctrl, &sqe, NULL);
        }
        if (status < 0)
            return status;
    }
    return 0;
}

struct done_batch {
    unsigned count;
    struct block_request *reqs[32];
    int statuses[32];
};

static void batch_finish(struct nvme_ctrl *ctrl, struct done_batch *batch)
{
    for (unsigned i = 0; i < batch->count; i++)
        blk_request_done(batch->reqs[i], batch->statuses[i]);
    batch->count = 0;
    /* Namespaces share the slots: one refused for lack of room may start again now. */
    for (unsigned i = 0; i < ctrl->namespace_count; i++) {
        struct nvme_ns *ns = &ctrl->namespaces[i];
        if (__atomic_exchange_n(&ns->refused, false, __ATOMIC_ACQ_REL) && ns->disk)
            blk_queue_run(ns->disk);
    }
}

static void release_slot(struct nvme_io_queue *ioq, unsigned index, struct done_batch *batch,
                         int status)
{
    batch->reqs[batch->count] = ioq->slots[index].req;
    batch->statuses[batch->count++] = status;
    ioq->slots[index].req = NULL;
    ioq->free_slots[ioq->free_count++] = (uint16_t)index;
}

/* Fails everything in flight on one queue, a batch at a time (completions run unlocked). */
static void fail_queue(struct nvme_io_queue *ioq, int status)
{
    struct done_batch batch = {0};
    for (unsigned next = 0;;) {
        irqflags_t flags = spin_lock_irqsave(&ioq->lock);
        for (; next < ioq->slot_count && batch.count < ARRAY_SIZE(batch.reqs); next++)
            if (ioq->slots[next].req)
                release_slot(ioq, next, &batch, status);
        spin_unlock_irqrestore(&ioq->lock, flags);
        batch_finish(ioq->ctrl, &batch);
        if (next == ioq->slot_count)
            return;
    }
}

static void fail_all(struct nvme_ctrl *ctrl, int status)
{
    for (unsigned i = 0; i < ctrl->io_queue_count; i++)
        fail_queue(&ctrl->io_queues[i], status);
}

static void stop_queues(struct nvme_ctrl *ctrl, bool stopped)
{
    for (unsigned i = 0; i < ctrl->io_queue_count; i++) {
        struct nvme_io_queue *ioq = &ctrl->io_queues[i];
        irqflags_t flags = spin_lock_irqsave(&ioq->lock);
        ioq->stopped = stopped;
        spin_unlock_irqrestore(&ioq->lock, flags);
    }
}

/* The controller reports fatal status with commands outstanding: it will complete none. */
static void controller_died(struct nvme_ctrl *ctrl)
{
    bool alive = false;
    if (!__atomic_compare_exchange_n(&ctrl->dead, &alive, true, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    pr_err("%s: controller fatal status; failing its requests\n", pci_name(ctrl->pdev));
    fail_all(ctrl, -EIO);
}

static void reap(struct nvme_io_queue *ioq)
{
    struct nvme_ctrl *ctrl = ioq->ctrl;
    struct done_batch batch = {0};
    for (;;) {
        irqflags_t flags = spin_lock_irqsave(&ioq->lock);
        if (ctrl->dead) {
            spin_unlock_irqrestore(&ioq->lock, flags);
            return;
        }
        const struct nvme_cqe *cqe;
        bool consumed = false;
        while (batch.count < ARRAY_SIZE(batch.reqs) && (cqe = queue_peek(&ioq->queue)) != NULL) {
            uint16_t id = cqe->command_id;
            unsigned status = nvme_cqe_status(cqe);
            queue_pop(&ioq->queue);
            consumed = true;
            if (id >= ioq->slot_count || !ioq->slots[id].req) {
                pr_err("%s: completion for unknown command %u on queue %u ignored\n",
                       pci_name(ctrl->pdev), id, ioq->index + 1);
                continue;
            }
            struct block_request *req = ioq->slots[id].req;
            if (status) {
                pr_err("%s: %s at block %llu failed: status %#x\n",
                       req->device ? req->device->dev.name : "?", block_op_name(req->op),
                       (unsigned long long)req->lba, status);
            }
            release_slot(ioq, id, &batch, status ? -EIO : 0);
        }
        bool more = batch.count == ARRAY_SIZE(batch.reqs);
        /* Only a head that moved is written back: QEMU counts every head write on an empty
         * queue as one fewer queue with pending entries, and a shared INTx line that called us
         * for nothing would then stay asserted for good. */
        if (consumed)
            mmio_write32(ioq->queue.cq_doorbell, ioq->queue.cq_head);
        bool died = !more && batch.count == 0 && ioq->free_count < ioq->slot_count &&
                    controller_failed(ctrl);
        spin_unlock_irqrestore(&ioq->lock, flags);
        batch_finish(ctrl, &batch);
        if (died)
            controller_died(ctrl);
        if (!more)
            return;
    }
}

/* MSI-X vector i belongs to I/O queue i. */
static void queue_interrupt(void *context)
{
    struct nvme_io_queue *ioq = context;
    __atomic_add_fetch(&ioq->interrupts, 1, __ATOMIC_RELAXED);
    if (cpu_id() != blk_hw_queue_cpu(ioq->index))
        __atomic_add_fetch(&ioq->interrupts_elsewhere, 1, __ATOMIC_RELAXED);
    reap(ioq);
}

/* MSI or INTx: one interrupt for every queue. */
static void controller_interrupt(void *context)
{
    struct nvme_ctrl *ctrl = context;
    for (unsigned i = 0; i < ctrl->io_queue_count; i++) {
        __atomic_add_fetch(&ctrl->io_queues[i].interrupts, 1, __ATOMIC_RELAXED);
        reap(&ctrl->io_queues[i]);
    }
}

static int build_io(struct nvme_io_queue *ioq, struct nvme_ns *ns, unsigned index,
                    struct block_request *req, struct nvme_sqe *sqe)
{
    if (req->op == BLOCK_OP_FLUSH) {
        nvme_build_flush(sqe, ns->nsid, (uint16_t)index);
        return 0;
    }
    uint64_t blocks = blk_request_bytes(req) / ns->info.block_size;
    int status = nvme_build_rw(sqe, req->op == BLOCK_OP_WRITE, ns->nsid, req->lba, (uint32_t)blocks,
                               (uint16_t)index);
    if (status < 0)
        return status;
    struct nvme_slot *slot = &ioq->slots[index];
    status = nvme_build_prp(req->segments, req->segment_count, PAGE_SIZE, slot->prp_list,
                            slot->prp_list_phys, PRP_LIST_ENTRIES, &sqe->prp1, &sqe->prp2);
    if (status == 0 && sqe->prp2 == slot->prp_list_phys) /* a PRP list: the controller reads it */
        dma_sync_for_device(slot->prp_list_phys, PRP_LIST_ENTRIES * sizeof(uint64_t),
                            DMA_TO_DEVICE);
    return status;
}

static int nvme_submit(struct block_device *dev, struct block_request *req)
{
    struct nvme_ns *ns = dev->driver_data;
    struct nvme_ctrl *ctrl = ns->ctrl;
    if (req->op != BLOCK_OP_READ && req->op != BLOCK_OP_WRITE && req->op != BLOCK_OP_FLUSH)
        return -EOPNOTSUPP;
    if (ctrl->dead)
        return -EIO;
    struct nvme_io_queue *ioq = &ctrl->io_queues[req->hw_queue->index % ctrl->io_queue_count];
    irqflags_t flags = spin_lock_irqsave(&ioq->lock);
    if (ioq->free_count == 0 || ioq->stopped) {
        __atomic_store_n(&ns->refused, true, __ATOMIC_RELEASE);
        spin_unlock_irqrestore(&ioq->lock, flags);
        return -EBUSY;
    }
    unsigned index = ioq->free_slots[--ioq->free_count];
    struct nvme_sqe sqe;
    int status = build_io(ioq, ns, index, req, &sqe);
    if (status < 0) {
        ioq->free_slots[ioq->free_count++] = (uint16_t)index;
        spin_unlock_irqrestore(&ioq->lock, flags);
        pr_err("%s: request at block %llu cannot be described to the controller\n", dev->dev.name,
               (unsigned long long)req->lba);
        return status;
    }
    ioq->slots[index].req = req;
    queue_push(&ioq->queue, &sqe);
    spin_unlock_irqrestore(&ioq->lock, flags);
    return 0;
}

static void nvme_poll(struct block_device *dev)
{
    struct nvme_ns *ns = dev->driver_data;
    for (unsigned i = 0; i < ns->ctrl->io_queue_count; i++)
        reap(&ns->ctrl->io_queues[i]);
}

/* Requests are stuck (-ETIMEDOUT) or `blk reset` (-EIO): fail them, reset the controller and
 * rebuild the queues.  One reset at a time; whoever comes second leaves it to the first. */
static void nvme_reset(struct block_device *dev, int status)
{
    struct nvme_ns *ns = dev->driver_data;
    struct nvme_ctrl *ctrl = ns->ctrl;
    bool idle = false;
    if (!__atomic_compare_exchange_n(&ctrl->resetting, &idle, true, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    pr_err("%s: resetting the controller (%d, CSTS %#x)\n", dev->dev.name, status,
           reg_read32(ctrl, REG_CSTS));
    stop_queues(ctrl, true);
    reg_write32(ctrl, REG_CC, reg_read32(ctrl, REG_CC) & ~CC_EN);
    fail_all(ctrl, status);
    if (!ctrl->dead) {
        irqflags_t flags = spin_lock_irqsave(&ctrl->lock);
        status = controller_enable(ctrl);
        if (status == 0)
            status = create_io_queues(ctrl);
        spin_unlock_irqrestore(&ctrl->lock, flags);
        if (status < 0) {
            pr_err("%s: controller did not come back: %d\n", pci_name(ctrl->pdev), status);
            ctrl->dead = true;
        }
    }
    stop_queues(ctrl, false);
    __atomic_store_n(&ctrl->resetting, false, __ATOMIC_RELEASE);
    /* Every namespace may have requests waiting: start them (or fail them, if dead). */
    struct done_batch none = {0};
    for (unsigned i = 0; i < ctrl->namespace_count; i++)
        ctrl->namespaces[i].refused = true;
    batch_finish(ctrl, &none);
}

static const char *irq_name(const struct nvme_ctrl *ctrl)
{
    switch (ctrl->irq_kind) {
    case IRQ_MSIX:
        return "MSI-X";
    case IRQ_MSI:
        return "MSI";
    case IRQ_INTX:
        return "INTx";
    default:
        return "polled";
    }
}

static void nvme_describe(struct block_device *dev, char *buffer, size_t size)
{
    struct nvme_ns *ns = dev->driver_data;
    struct nvme_ctrl *ctrl = ns->ctrl;
    uint64_t interrupts = 0, elsewhere = 0;
    for (unsigned i = 0; i < ctrl->io_queue_count; i++) {
        interrupts += __atomic_load_n(&ctrl->io_queues[i].interrupts, __ATOMIC_RELAXED);
        elsewhere += __atomic_load_n(&ctrl->io_queues[i].interrupts_elsewhere, __ATOMIC_RELAXED);
    }
    snprintf(buffer, size,
             "%s nvme%u namespace %u, %s, %u queue%s of %u, %s completion, interrupts %llu "
             "(%llu off their queue's CPU)%s",
             pci_name(ctrl->pdev), ctrl->index, ns->nsid, ctrl->info.model, ctrl->io_queue_count,
             ctrl->io_queue_count == 1 ? "" : "s", ctrl->io_entries, irq_name(ctrl),
             (unsigned long long)interrupts, (unsigned long long)elsewhere,
             ctrl->dead ? ", failed" : "");
}

static const struct block_driver_ops nvme_ops = {
    .submit = nvme_submit,
    .poll = nvme_poll,
    .reset = nvme_reset,
    .describe = nvme_describe,
};

static int alloc_slots(struct nvme_io_queue *ioq, unsigned count)
{
    ioq->slots = kcalloc(count, sizeof(*ioq->slots));
    ioq->free_slots = kcalloc(count, sizeof(*ioq->free_slots));
    if (!ioq->slots || !ioq->free_slots)
        return -ENOMEM;
    ioq->slot_count = count;
    for (unsigned i = 0; i < count; i++) {
        ioq->slots[i].prp_list = dma_alloc(PAGE_SIZE, PAGE_SIZE, &ioq->slots[i].prp_list_phys);
        if (!ioq->slots[i].prp_list)
            return -ENOMEM;
        ioq->free_slots[i] = (uint16_t)(count - 1 - i);
    }
    ioq->free_count = count;
    return 0;
}

static void free_io_queue(struct nvme_io_queue *ioq)
{
    if (ioq->slots)
        for (unsigned i = 0; i < ioq->slot_count; i++)
            if (ioq->slots[i].prp_list)
                dma_free(ioq->slots[i].prp_list, PAGE_SIZE);
    kfree(ioq->slots);
    kfree(ioq->free_slots);
    queue_free(&ioq->queue);
}

/* "nvme.queues=N" limits the I/O queue pairs (benchmarks compare one with several). */
static unsigned queue_limit(void)
{
    char text[24];
    if (cmdline_get("nvme.queues", text, sizeof(text))) {
        char *end;
        unsigned long count = strtoul(text, &end, 10);
        if (*end == 0 && count > 0)
            return (unsigned)MIN(count, (unsigned long)IO_QUEUES_MAX);
        pr_warn("ignoring nvme.queues=%s\n", text);
    }
    return IO_QUEUES_MAX;
}

/* One queue pair per online CPU, as far as the controller grants them and MSI-X has a vector
 * for each; without MSI-X one pair (a single interrupt gains nothing from more). */
static unsigned choose_queue_count(struct nvme_ctrl *ctrl)
{
    unsigned wanted = MIN(cpu_online_count(), queue_limit());
    int table = pci_msix_table_size(ctrl->pdev);
    if (table < 0 || cmdline_has("nvme.nomsi"))
        return 1;
    wanted = MIN(wanted, (unsigned)table);
    if (wanted <= 1)
        return 1;
    struct nvme_sqe sqe;
    uint32_t result;
    nvme_build_set_queue_count(&sqe, wanted, 0);
    if (admin_exec(ctrl, &sqe, &result) < 0)
        return 1;
    return nvme_queues_granted(result, wanted);
}

static int alloc_io_queues(struct nvme_ctrl *ctrl)
{
    for (unsigned i = 0; i < ctrl->io_queue_count; i++) {
        struct nvme_io_queue *ioq = &ctrl->io_queues[i];
        int status = queue_alloc(ctrl, &ioq->queue, (uint16_t)(i + 1), ctrl->io_entries);
        if (status == 0)
            status = alloc_slots(ioq, MIN(ctrl->io_entries - 1, (uint32_t)IO_SLOTS_MAX));
        if (status < 0)
            return status;
    }
    return 0;
}

/* "nvme.nomsi" on the command line skips MSI-X and MSI (INTx only): for hardware whose message
 * interrupts misbehave, and to test the fallback. */
static void setup_interrupts(struct nvme_ctrl *ctrl)
{
    struct pci_device *pdev = ctrl->pdev;
    bool messages = !cmdline_has("nvme.nomsi");
    struct pci_msix_vector vectors[IO_QUEUES_MAX];
    for (unsigned i = 0; i < ctrl->io_queue_count; i++)
        vectors[i] = (struct pci_msix_vector){queue_interrupt, &ctrl->io_queues[i], "nvme",
                                              blk_hw_queue_cpu(i)};
    unsigned count = ctrl->io_queue_count;
    if (messages && pci_msix_table_size(pdev) >= (int)count &&
        devm_pci_enable_msix(pdev, vectors, count) == (int)count) {
        ctrl->irq_kind = IRQ_MSIX;
        return;
    }
    /* One interrupt for everything: more queues would only share it. */
    ctrl->io_queue_count = 1;
    if (messages && devm_pci_enable_msi(pdev, controller_interrupt, ctrl, "nvme") >= 0)
        ctrl->irq_kind = IRQ_MSI;
    else if (devm_pci_intx_irq(pdev, controller_interrupt, ctrl, "nvme") >= 0)
        ctrl->irq_kind = IRQ_INTX;
    else
        pr_warn("%s: no interrupt; completions are polled\n", pci_name(pdev));
}

/* The active namespace IDs (CNS 2 from NVMe 1.1), or 1..n for older controllers. */
static unsigned list_namespaces(struct nvme_ctrl *ctrl, uint8_t *buffer, phys_addr_t phys,
                                uint32_t *ids)
{
    unsigned count = 0;
    struct nvme_sqe sqe;
    if (reg_read32(ctrl, REG_VS) >= 0x10100) {
        memset(buffer, 0, NVME_IDENTIFY_BYTES);
        nvme_build_identify(&sqe, NVME_CNS_ACTIVE_NS, 0, phys, 0);
        if (admin_identify(ctrl, &sqe, phys) == 0) {
            for (unsigned i = 0; i < NVME_IDENTIFY_BYTES / 4 && count < NAMESPACES_MAX; i++) {
                uint32_t nsid = get_le32(buffer + 4 * i);
                if (nsid == 0)
                    break;
                if (nsid <= ctrl->info.namespace_count)
                    ids[count++] = nsid;
            }
            return count;
        }
    }
    for (uint32_t nsid = 1; nsid <= ctrl->info.namespace_count && count < NAMESPACES_MAX; nsid++)
        ids[count++] = nsid;
    return count;
}

static void add_namespace(struct nvme_ctrl *ctrl, uint32_t nsid, uint8_t *buffer, phys_addr_t phys)
{
    const char *where = pci_name(ctrl->pdev);
    struct nvme_sqe sqe;
    nvme_build_identify(&sqe, NVME_CNS_NAMESPACE, nsid, phys, 0);
    memset(buffer, 0, NVME_IDENTIFY_BYTES);
    if (admin_identify(ctrl, &sqe, phys) < 0)
        return;
    struct nvme_ns *ns = &ctrl->namespaces[ctrl->namespace_count];
    const char *why = "";
    int status = nvme_parse_namespace(buffer, &ns->info, &why);
    if (status == -ENODEV)
        return;
    if (status < 0) {
        pr_err("%s: namespace %u: unusable: %s\n", where, nsid, why);
        return;
    }
    struct block_device *disk = devm_block_device_alloc(&ctrl->pdev->dev);
    if (!disk)
        return;
    ns->ctrl = ctrl;
    ns->nsid = nsid;
    snprintf(disk->dev.name, sizeof(disk->dev.name), "nvme%un%u", ctrl->index, nsid);
    disk->logical_block_size = ns->info.block_size;
    disk->physical_block_size = ns->info.block_size;
    disk->block_count = ns->info.block_count;
    disk->can_flush = ctrl->info.volatile_write_cache;
    disk->driver_name = "nvme";
    disk->limits = (struct block_limits){.max_segments = 1,
                                         .max_segment_size = ctrl->max_transfer,
                                         .max_transfer = ctrl->max_transfer,
                                         .queue_depth = ctrl->io_queues[0].slot_count};
    disk->ops = &nvme_ops;
    disk->driver_data = ns;
    disk->timeout_ns = REQUEST_TIMEOUT;
    disk->hw_queue_count = ctrl->io_queue_count;
    ns->disk = disk;
    ctrl->namespace_count++;
    if (devm_block_device_register(&ctrl->pdev->dev, disk, "nvme") < 0) {
        ctrl->namespace_count--;
        ns->disk = NULL;
        return;
    }
    uint64_t mib = ns->info.block_count * ns->info.block_size / (1024 * 1024);
    pr_info("%s: namespace %u: %llu MiB, %u-byte blocks -> %s\n", where, nsid,
            (unsigned long long)mib, ns->info.block_size, disk->dev.name);
    block_device_scan_partitions(disk);
}

/* Recorded before the quiesce, so it runs after it: the controller is off before its queue
 * memory goes. */
static void free_queues(void *ctrl_)
{
    struct nvme_ctrl *ctrl = ctrl_;
    for (unsigned i = 0; i < IO_QUEUES_MAX; i++)
        free_io_queue(&ctrl->io_queues[i]);
    queue_free(&ctrl->admin);
}

static void disable_controller(void *ctrl_)
{
    struct nvme_ctrl *ctrl = ctrl_;
    reg_write32(ctrl, REG_CC, reg_read32(ctrl, REG_CC) & ~CC_EN);
}

static void release_controller_number(void *ctrl_)
{
    struct nvme_ctrl *ctrl = ctrl_;
    if (ctrl->index < 64)
        controller_numbers &= ~(1ull << ctrl->index);
}

static int identify_controller(struct nvme_ctrl *ctrl, uint8_t *buffer, phys_addr_t phys)
{
    struct nvme_sqe sqe;
    nvme_build_identify(&sqe, NVME_CNS_CONTROLLER, 0, phys, 0);
    int status = admin_identify(ctrl, &sqe, phys);
    if (status < 0)
        return status;
    nvme_parse_controller(buffer, &ctrl->info);
    ctrl->max_transfer = MAX_TRANSFER;
    if (ctrl->info.mdts) {
        uint64_t limit = (uint64_t)PAGE_SIZE << MIN(ctrl->info.mdts, 20);
        ctrl->max_transfer = (uint32_t)MIN((uint64_t)MAX_TRANSFER, limit);
    }
    return 0;
}

static int bring_up(struct nvme_ctrl *ctrl)
{
    const char *where = pci_name(ctrl->pdev);
    ctrl->cap = reg_read64(ctrl, REG_CAP);
    if (ctrl->cap == UINT64_MAX || !CAP_CSS_NVM(ctrl->cap) || CAP_MPSMIN(ctrl->cap) > 0) {
        pr_err("%s: unusable capabilities %#llx\n", where, (unsigned long long)ctrl->cap);
        return -ENODEV;
    }
    ctrl->doorbell_stride = 4u << CAP_DSTRD(ctrl->cap);
    if (DOORBELLS + 4 * ctrl->doorbell_stride > ctrl->pdev->bars[0].size) {
        pr_err("%s: doorbells lie outside BAR 0\n", where);
        return -ENODEV;
    }
    /* CAP.TO is in 500 ms units; 0 would mean no wait at all, so allow at least 500 ms. */
    ctrl->ready_timeout = MAX(CAP_TO(ctrl->cap), 1u) * 500 * NSEC_PER_MSEC;
    ctrl->io_entries = MIN(CAP_MQES(ctrl->cap), (uint32_t)IO_ENTRIES_MAX);
    if (ctrl->io_entries < 2) {
        pr_err("%s: queues of %u entries\n", where, ctrl->io_entries);
        return -ENODEV;
    }
    int status = queue_alloc(ctrl, &ctrl->admin, 0, ADMIN_ENTRIES);
    if (status < 0)
        return status;
    return controller_enable(ctrl);
}

static int nvme_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    (void)id;
    struct nvme_ctrl *ctrl = pci_get_drvdata(pdev);
    ctrl->pdev = pdev;
    ctrl->lock = (struct spinlock)SPINLOCK_INIT("nvme admin");
    for (unsigned i = 0; i < IO_QUEUES_MAX; i++) {
        ctrl->io_queues[i].ctrl = ctrl;
        ctrl->io_queues[i].index = i;
        ctrl->io_queues[i].lock = (struct spinlock)SPINLOCK_INIT("nvme queue");
    }
    ctrl->regs = pci_map_bar(pdev, 0);
    if (!ctrl->regs || pdev->bars[0].size < DOORBELLS + 8) {
        pr_err("%s: BAR 0 missing or too small\n", pci_name(pdev));
        return -ENODEV;
    }
    /* Released in the opposite order: interrupts, then the controller off, then the memory. */
    int status = devm_add_action(&pdev->dev, free_queues, ctrl, "nvme queues");
    if (status == 0)
        status = devm_add_action(&pdev->dev, disable_controller, ctrl, "nvme disable");
    if (status < 0)
        return status;
    pci_enable_bus_master(pdev);
    phys_addr_t phys;
    uint8_t *buffer = devm_dma_alloc(&pdev->dev, NVME_IDENTIFY_BYTES, PAGE_SIZE, &phys);
    status = buffer ? bring_up(ctrl) : -ENOMEM;
    if (status == 0)
        status = identify_controller(ctrl, buffer, phys);
    if (status == 0) {
        ctrl->io_queue_count = choose_queue_count(ctrl);
        setup_interrupts(ctrl); /* may settle for one queue */
        status = alloc_io_queues(ctrl);
        if (status == 0)
            status = create_io_queues(ctrl);
    }
    if (status < 0) {
        pr_err("%s: probe failed: %d\n", pci_name(pdev), status);
        return status;
    }
    ctrl->index = take_controller_number();
    status = devm_add_action(&pdev->dev, release_controller_number, ctrl, "nvme number");
    if (status < 0)
        return status;
    uint32_t vs = reg_read32(ctrl, REG_VS);
    pr_info("%s: nvme%u: %s (serial %s, firmware %s), NVMe %u.%u, %u queue%s of %u, max "
            "transfer %u KiB, %s completion\n",
            pci_name(pdev), ctrl->index, ctrl->info.model, ctrl->info.serial, ctrl->info.firmware,
            vs >> 16, (vs >> 8) & 0xff, ctrl->io_queue_count, ctrl->io_queue_count == 1 ? "" : "s",
            ctrl->io_entries, ctrl->max_transfer / 1024, irq_name(ctrl));
    uint32_t ids[NAMESPACES_MAX];
    unsigned count = list_namespaces(ctrl, buffer, phys, ids);
    for (unsigned i = 0; i < count; i++)
        add_namespace(ctrl, ids[i], buffer, phys);
    devm_dma_free(&pdev->dev, buffer);
    if (ctrl->namespace_count == 0)
        pr_warn("%s: no usable namespace\n", pci_name(pdev));
    return 0;
}

/* Takes the disks away, turns the controller off and fails what it still held; the core then
 * releases the rest (interrupts, queue memory, private data). */
static void nvme_remove(struct pci_device *pdev)
{
    struct nvme_ctrl *ctrl = pci_get_drvdata(pdev);
    for (unsigned i = 0; i < ctrl->namespace_count; i++)
        if (ctrl->namespaces[i].disk)
            devm_block_device_unregister(&pdev->dev, ctrl->namespaces[i].disk);
    /* A reset in progress on another CPU finishes first. */
    bool idle = false;
    while (!__atomic_compare_exchange_n(&ctrl->resetting, &idle, true, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        idle = false;
        cpu_relax();
    }
    ctrl->dead = true;
    stop_queues(ctrl, true);
    reg_write32(ctrl, REG_CC, reg_read32(ctrl, REG_CC) & ~CC_EN);
    fail_all(ctrl, -ENODEV);
}

static const struct pci_device_id nvme_ids[] = {
    {PCI_DEVICE_CLASS(0x010802, 0xffffff)},
    {0},
};

MODULE_DEVICE_TABLE(pci, nvme_ids);

static struct pci_driver nvme_driver = {
    .owner = THIS_MODULE,
    .name = "nvme",
    .id_table = nvme_ids,
    .priv_size = sizeof(struct nvme_ctrl),
    .probe = nvme_probe,
    .remove = nvme_remove,
};

static int nvme_init(void)
{
    return pci_register_driver(&nvme_driver);
}
INITCALL(nvme_init, INIT_DRIVER);

static void nvme_exit(void)
{
    pci_unregister_driver(&nvme_driver);
}
MODULE_EXIT(nvme_exit);
