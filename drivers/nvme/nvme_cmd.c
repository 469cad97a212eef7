/* NVMe submission entries, PRP lists and IDENTIFY data (byte offsets from NVMe base 1.4). */
#include "nvme_cmd.h"

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/string.h>

static void start(struct nvme_sqe *sqe, uint8_t opcode, uint32_t nsid, uint16_t command_id)
{
    memset(sqe, 0, sizeof(*sqe));
    sqe->cdw0 = opcode | (uint32_t)command_id << 16;
    sqe->nsid = nsid;
}

int nvme_build_rw(struct nvme_sqe *sqe, bool write, uint32_t nsid, uint64_t lba, uint32_t blocks,
                  uint16_t command_id)
{
    if (blocks == 0 || blocks > 65536)
        return -EINVAL;
    start(sqe, write ? NVME_CMD_WRITE : NVME_CMD_READ, nsid, command_id);
    sqe->cdw10 = (uint32_t)lba;
    sqe->cdw11 = (uint32_t)(lba >> 32);
    sqe->cdw12 = blocks - 1;
    return 0;
}

void nvme_build_flush(struct nvme_sqe *sqe, uint32_t nsid, uint16_t command_id)
{
    start(sqe, NVME_CMD_FLUSH, nsid, command_id);
}

void nvme_build_identify(struct nvme_sqe *sqe, uint8_t cns, uint32_t nsid, phys_addr_t buffer,
                         uint16_t command_id)
{
    start(sqe, NVME_ADMIN_IDENTIFY, nsid, command_id);
    sqe->prp1 = buffer;
    sqe->cdw10 = cns;
}

void nvme_build_create_cq(struct nvme_sqe *sqe, uint16_t qid, uint32_t entries, phys_addr_t queue,
                          uint16_t vector, bool interrupts, uint16_t command_id)
{
    start(sqe, NVME_ADMIN_CREATE_CQ, 0, command_id);
    sqe->prp1 = queue;
    sqe->cdw10 = qid | (entries - 1) << 16;
    sqe->cdw11 = 1u /* physically contiguous */ | (interrupts ? 2u : 0) | (uint32_t)vector << 16;
}

void nvme_build_set_queue_count(struct nvme_sqe *sqe, unsigned count, uint16_t command_id)
{
    start(sqe, NVME_ADMIN_SET_FEATURES, 0, command_id);
    sqe->cdw10 = NVME_FEATURE_NUMBER_OF_QUEUES;
    sqe->cdw11 = (count - 1) | (count - 1) << 16;
}

unsigned nvme_queues_granted(uint32_t result, unsigned asked)
{
    unsigned submission = (result & 0xffff) + 1, completion = (result >> 16) + 1;
    return MIN(MIN(submission, completion), asked);
}

void nvme_build_create_sq(struct nvme_sqe *sqe, uint16_t qid, uint32_t entries, phys_addr_t queue,
                          uint16_t cqid, uint16_t command_id)
{
    start(sqe, NVME_ADMIN_CREATE_SQ, 0, command_id);
    sqe->prp1 = queue;
    sqe->cdw10 = qid | (entries - 1) << 16;
    sqe->cdw11 = 1u /* physically contiguous */ | (uint32_t)cqid << 16;
}

int nvme_build_prp(const struct block_segment *segments, unsigned segment_count, uint32_t page_size,
                   uint64_t *list, phys_addr_t list_phys, unsigned list_capacity, uint64_t *prp1,
                   uint64_t *prp2)
{
    uint64_t mask = page_size - 1;
    uint64_t pages[3];
    unsigned page_count = 0;
    if (segment_count == 0)
        return -EINVAL;
    /* Collects page addresses: the first may carry an offset, the rest are page starts. */
    for (unsigned i = 0; i < segment_count; i++) {
        uint64_t address = segments[i].phys;
        uint64_t end = address + segments[i].length;
        if (segments[i].length == 0 || (address & 3))
            return -EINVAL;
        if (i > 0 && (address & mask))
            return -EINVAL;
        if (i + 1 < segment_count && (end & mask))
            return -EINVAL;
        while (address < end) {
            if (page_count < 2) {
                pages[page_count] = address;
            } else {
                /* From the third page on, everything goes to the list; its first entry is
                 * the second page. */
                if (page_count == 2) {
                    if (list_capacity < 1)
                        return -EINVAL;
                    list[0] = pages[1];
                }
                if (page_count - 1 >= list_capacity)
                    return -EINVAL;
                list[page_count - 1] = address;
            }
            page_count++;
            address = (address | mask) + 1;
        }
    }
    *prp1 = pages[0];
    if (page_count == 1)
        *prp2 = 0;
    else if (page_count == 2)
        *prp2 = pages[1];
    else
        *prp2 = list_phys;
    return 0;
}

static void copy_string(const uint8_t *from, size_t length, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < length; i++) {
        char c = (char)from[i];
        out[n++] = (c < 0x20 || c > 0x7e) ? '?' : c;
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '?' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

void nvme_parse_controller(const uint8_t *id, struct nvme_controller_info *out)
{
    memset(out, 0, sizeof(*out));
    copy_string(id + 4, 20, out->serial);
    copy_string(id + 24, 40, out->model);
    copy_string(id + 64, 8, out->firmware);
    out->mdts = id[77];
    out->namespace_count = get_le32(id + 516);
    out->volatile_write_cache = id[525] & 1;
}

int nvme_parse_namespace(const uint8_t *id, struct nvme_namespace_info *out, const char **why)
{
    static const char *unused;
    if (!why)
        why = &unused;
    memset(out, 0, sizeof(*out));
    uint64_t size = get_le64(id);
    if (size == 0)
        return -ENODEV;
    unsigned format_count = id[25] + 1u;
    unsigned format = id[26] & 0xf;
    if (format >= format_count) {
        *why = "formatted with a format the namespace does not list";
        return -EINVAL;
    }
    uint32_t descriptor = get_le32(id + 128 + 4 * format);
    unsigned shift = (descriptor >> 16) & 0xff;
    if (shift < 9 || shift > 16) {
        *why = "block size outside 512..65536";
        return -EINVAL;
    }
    if (descriptor & 0xffff) {
        out->metadata = true;
        *why = "format with metadata";
        return -EINVAL;
    }
    if (size > (UINT64_MAX >> 1) >> shift) {
        *why = "capacity beyond 2^63 bytes";
        return -EINVAL;
    }
    out->block_size = 1u << shift;
    out->block_count = size;
    return 0;
}
