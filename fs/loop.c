/* Loop devices: a file exposed as a block device (how VMs get disks).  The file's extents are
 * read once at attach time, so every request goes straight to the disk underneath as one child
 * request per contiguous extent it touches; a contiguous image file (mkimage) means one child
 * per request.  Writes past the end of the file are refused by the block layer's range check. */
#define pr_fmt(fmt) "loop: " fmt
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/vfs.h>
#include "loop.h"
#include "loop_map.h"
#include "root.h"

#define LOOP_MAX       8
#define EXTENTS_MAX    4096
#define CHILD_SEGMENTS 64

struct loop {
    struct block_device *dev;
    struct block_device *backing;
    struct vfs_file *file;
    struct vfs_extent *extents;
    struct loop_map map; /* over extents */
    char path[VFS_PATH_MAX];
};

/* One request from above, split into children along extent boundaries. */
/* Children complete in interrupt context on any CPU, possibly while the submitting thread is
 * still issuing more: the count and the first error are updated atomically. */
struct loop_request {
    struct block_request *parent;
    unsigned remaining;
    int status;
};

static void note_status(struct loop_request *owner, int status)
{
    int none = 0;
    if (status)
        __atomic_compare_exchange_n(&owner->status, &none, status, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
}

/* Drops one hold; the last one completes the parent. */
static void owner_put(struct loop_request *owner)
{
    if (__atomic_sub_fetch(&owner->remaining, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    struct block_request *parent = owner->parent;
    int result = __atomic_load_n(&owner->status, __ATOMIC_ACQUIRE);
    kfree(owner);
    blk_request_done(parent, result);
}

struct loop_child {
    struct block_request request;
    struct loop_request *owner;
    struct block_segment segments[];
};

static struct loop *loops[LOOP_MAX];

static void child_done(struct block_request *req, int status)
{
    struct loop_child *child = container_of(req, struct loop_child, request);
    struct loop_request *owner = child->owner;
    note_status(owner, status);
    kfree(child);
    owner_put(owner);
}

/* Copies the segments covering bytes [offset, offset + length) of the parent's list. */
static unsigned slice_segments(const struct block_request *parent, uint64_t offset, uint64_t length,
                               struct block_segment *out, unsigned max)
{
    unsigned count = 0;
    uint64_t position = 0;
    for (unsigned i = 0; i < parent->segment_count && length && count < max; i++) {
        const struct block_segment *s = &parent->segments[i];
        if (position + s->length <= offset) {
            position += s->length;
            continue;
        }
        uint64_t skip = offset > position ? offset - position : 0;
        uint32_t take = (uint32_t)MIN((uint64_t)s->length - skip, length);
        out[count++] = (struct block_segment){(char *)s->virt + skip, s->phys + skip, take};
        offset += take;
        length -= take;
        position += s->length;
    }
    return length ? 0 : count;
}

static int submit_child(struct loop *loop, struct loop_request *owner, enum block_op op,
                        uint64_t lba, uint64_t offset, uint64_t length)
{
    struct loop_child *child =
        kzalloc(sizeof(*child) + CHILD_SEGMENTS * sizeof(struct block_segment));
    if (!child)
        return -ENOMEM;
    child->owner = owner;
    child->request.op = op;
    child->request.lba = lba;
    child->request.device = loop->backing;
    child->request.complete = child_done;
    if (op == BLOCK_OP_READ || op == BLOCK_OP_WRITE) {
        child->request.segment_count =
            slice_segments(owner->parent, offset, length, child->segments, CHILD_SEGMENTS);
        child->request.segments = child->segments;
        if (child->request.segment_count == 0) {
            kfree(child);
            return -EINVAL;
        }
    }
    __atomic_add_fetch(&owner->remaining, 1, __ATOMIC_ACQ_REL);
    int status = blk_submit(&child->request);
    if (status < 0) { /* not accepted: the completion will not come (the issuing hold keeps
                       * the count above zero) */
        __atomic_sub_fetch(&owner->remaining, 1, __ATOMIC_ACQ_REL);
        kfree(child);
    }
    return status < 0 ? status : 0;
}

static int loop_submit(struct block_device *dev, struct block_request *req)
{
    struct loop *loop = dev->driver_data;
    struct loop_request *owner = kzalloc(sizeof(*owner));
    if (!owner)
        return -ENOMEM;
    owner->parent = req;
    owner->remaining = 1; /* held while children are being issued */
    int status = 0;
    uint32_t block_size = dev->logical_block_size;
    if (req->op == BLOCK_OP_FLUSH) {
        status = submit_child(loop, owner, BLOCK_OP_FLUSH, 0, 0, 0);
    } else if (req->op == BLOCK_OP_READ || req->op == BLOCK_OP_WRITE) {
        uint64_t start = req->lba * block_size, length = blk_request_bytes(req), done = 0;
        while (!status && done < length) {
            uint64_t lba, piece;
            status = loop_map_piece(&loop->map, start + done, length - done, &lba, &piece);
            if (status)
                break;
            status = submit_child(loop, owner, req->op, lba, done, piece);
            done += piece;
        }
    } else {
        status = -EOPNOTSUPP;
    }
    note_status(owner, status);
    owner_put(owner); /* the issuing hold: completes the parent if every child finished */
    return 0;
}

/* A waiter on a loop device services the device underneath: its requests are the ones in
 * flight, and a driver may need its poll path to finish them (a lost notification, a timeout). */
static void loop_poll(struct block_device *dev)
{
    struct loop *loop = dev->driver_data;
    if (loop && loop->backing)
        blk_service(loop->backing);
}

static const struct block_driver_ops loop_ops = {
    .submit = loop_submit,
    .poll = loop_poll,
};

static void loop_free(struct loop *loop)
{
    if (loop->file)
        vfs_close(loop->file);
    if (loop->backing)
        device_put(&loop->backing->dev);
    if (loop->dev)
        device_put(&loop->dev->dev);
    kfree(loop->extents);
    kfree(loop);
}

int loop_attach(const char *path, bool read_only, char *name, size_t name_size)
{
    unsigned slot = 0;
    while (slot < LOOP_MAX && loops[slot])
        slot++;
    if (slot == LOOP_MAX)
        return -ENOSPC;
    struct loop *loop = kzalloc(sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    strlcpy(loop->path, path, sizeof(loop->path));
    int error = vfs_open(path, read_only ? VFS_O_READ : VFS_O_READ | VFS_O_WRITE, &loop->file);
    struct vfs_stat st;
    if (!error)
        error = vfs_fstat(loop->file, &st);
    if (!error && st.is_directory)
        error = -EISDIR;
    if (!error) {
        loop->backing = block_device_find(vfs_file_source(loop->file));
        if (!loop->backing)
            error = -EOPNOTSUPP; /* a file in memory has no disk underneath */
    }
    uint32_t block_size = loop->backing ? loop->backing->logical_block_size : 512;
    if (!error && (st.size == 0 || st.size % block_size))
        error = -EINVAL; /* not a whole number of blocks */
    int total = 0;
    if (!error) {
        loop->extents = kcalloc(EXTENTS_MAX, sizeof(*loop->extents));
        total = loop->extents ? vfs_extents(loop->file, loop->extents, EXTENTS_MAX) : -ENOMEM;
        if (total < 0)
            error = total;
        else if (total > EXTENTS_MAX)
            error = -E2BIG; /* too fragmented to map; mkimage makes contiguous files */
        else
            error = loop_map_init(&loop->map, loop->extents, (size_t)total, block_size, st.size,
                                  loop->backing->block_count);
    }
    if (!error) {
        loop->dev = block_device_alloc();
        if (!loop->dev)
            error = -ENOMEM;
    }
    if (error) {
        loop_free(loop);
        return error;
    }
    struct block_device *dev = loop->dev;
    snprintf(dev->dev.name, sizeof(dev->dev.name), "loop%u", slot);
    dev->logical_block_size = block_size;
    dev->physical_block_size = loop->backing->physical_block_size;
    dev->block_count = st.size / block_size;
    dev->read_only = read_only || loop->backing->read_only;
    dev->can_flush = true;
    dev->driver_name = "loop";
    dev->ops = &loop_ops;
    dev->driver_data = loop;
    dev->limits = loop->backing->limits;
    dev->limits.max_segments = CHILD_SEGMENTS;
    error = block_device_register(dev, virtual_device_root(), "loop");
    if (error) {
        device_put(&dev->dev);
        loop->dev = NULL;
        loop_free(loop);
        return error;
    }
    loops[slot] = loop;
    char holder[sizeof(dev->claim_holders[0])];
    snprintf(holder, sizeof(holder), "backs %s", dev->dev.name);
    block_device_claim(loop->backing, holder);
    pr_info("%s: %s on %s, %zu extent%s", dev->dev.name, path, loop->backing->dev.name,
            loop->map.count, loop->map.count == 1 ? "" : "s");
    block_device_scan_partitions(dev);
    strlcpy(name, dev->dev.name, name_size);
    return 0;
}

int loop_detach(const char *name)
{
    for (unsigned slot = 0; slot < LOOP_MAX; slot++) {
        struct loop *loop = loops[slot];
        if (!loop || strcmp(loop->dev->dev.name, name) != 0)
            continue;
        /* Mounted (the loop device or one of its partitions), or holding another loop
         * device's file: detaching would drop a live filesystem as if unplugged. */
        struct block_queue_stats stats;
        blk_queue_stats(loop->dev, &stats);
        if (stats.in_flight || block_device_busy(loop->dev, NULL, 0))
            return -EBUSY;
        loops[slot] = NULL;
        char holder[sizeof(loop->dev->claim_holders[0])];
        snprintf(holder, sizeof(holder), "backs %s", loop->dev->dev.name);
        block_device_unclaim(loop->backing, holder);
        device_unregister(&loop->dev->dev);
        loop_free(loop);
        return 0;
    }
    return -ENODEV;
}

bool loop_info(unsigned index, struct loop_info *out)
{
    for (unsigned slot = 0; slot < LOOP_MAX; slot++) {
        if (!loops[slot] || index-- != 0)
            continue;
        const struct loop *loop = loops[slot];
        strlcpy(out->name, loop->dev->dev.name, sizeof(out->name));
        strlcpy(out->path, loop->path, sizeof(out->path));
        strlcpy(out->backing, loop->backing->dev.name, sizeof(out->backing));
        out->bytes = loop->dev->block_count * loop->dev->logical_block_size;
        out->extents = loop->map.count;
        out->read_only = loop->dev->read_only;
        return true;
    }
    return false;
}

static bool on_loop(const char *source, const struct block_device *loop_dev)
{
    struct block_device *dev = block_device_find(source);
    if (!dev)
        return false;
    const struct block_device *disk = block_device_disk(dev);
    device_put(&dev->dev);
    return disk == loop_dev;
}

/* Unmounts what is mounted from loop_dev or its partitions, innermost first. */
static void unmount_from(const struct block_device *loop_dev)
{
    bool again = true;
    for (unsigned rounds = 0; again && rounds < 16; rounds++) {
        again = false;
        struct vfs_mount_info info;
        for (unsigned i = 0; vfs_mount_at(i, &info); i++) {
            if (!on_loop(info.source, loop_dev))
                continue;
            int error = fs_unmount_path(info.path);
            if (error)
                pr_warn("%s: cannot unmount %s at shutdown: %s", loop_dev->dev.name, info.path,
                        error_name(-error));
            again = error == 0; /* the table changed: start over */
            break;
        }
    }
}

/* Loop devices hold their files open: at shutdown, the filesystems on them are unmounted (so
 * they are left clean) and they are detached, newest first (a loop device's file may lie in a
 * filesystem on an older one), before the filesystems underneath are unmounted. */
static void detach_all(void)
{
    for (unsigned slot = LOOP_MAX; slot-- > 0;) {
        if (!loops[slot])
            continue;
        unmount_from(loops[slot]->dev);
        int error = loop_detach(loops[slot]->dev->dev.name);
        if (error)
            pr_warn("%s: cannot detach at shutdown: %s", loops[slot]->dev->dev.name,
                    error_name(-error));
    }
}
SHUTDOWN_HOOK(detach_all, 60);
