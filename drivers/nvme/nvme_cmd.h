/* NVMe command building and IDENTIFY parsing (NVM Express base 1.4): submission entries,
 * PRP lists, namespace formats.  Portable; the host unit tests cover it. */
#ifndef DRIVERS_NVME_NVME_CMD_H
#define DRIVERS_NVME_NVME_CMD_H

#include <rayos/block.h>
#include <rayos/types.h>

/* Admin opcodes. */
#define NVME_ADMIN_DELETE_SQ    0x00
#define NVME_ADMIN_CREATE_SQ    0x01
#define NVME_ADMIN_DELETE_CQ    0x04
#define NVME_ADMIN_CREATE_CQ    0x05
#define NVME_ADMIN_IDENTIFY     0x06
#define NVME_ADMIN_SET_FEATURES 0x09

#define NVME_FEATURE_NUMBER_OF_QUEUES 0x07

/* NVM opcodes. */
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ  0x02

/* IDENTIFY CNS values. */
#define NVME_CNS_NAMESPACE  0x00
#define NVME_CNS_CONTROLLER 0x01
#define NVME_CNS_ACTIVE_NS  0x02

#define NVME_IDENTIFY_BYTES 4096

struct nvme_sqe {
    uint32_t cdw0; /* opcode 7:0, command id 31:16 */
    uint32_t nsid;
    uint32_t cdw2, cdw3;
    uint64_t metadata;
    uint64_t prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
    uint32_t result;
    uint32_t reserved;
    uint16_t sq_head;
    uint16_t sq_id;
    uint16_t command_id;
    uint16_t status; /* phase bit 0, status field 15:1 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "submission entry size");
_Static_assert(sizeof(struct nvme_cqe) == 16, "completion entry size");

static inline unsigned nvme_cqe_phase(const struct nvme_cqe *cqe)
{
    return cqe->status & 1;
}
/* Status code type << 8 | status code; 0 is success. */
static inline unsigned nvme_cqe_status(const struct nvme_cqe *cqe)
{
    return (cqe->status >> 1) & 0x7ff;
}

/* READ/WRITE of blocks (1..65536) logical blocks at lba; -EINVAL outside that. */
int nvme_build_rw(struct nvme_sqe *sqe, bool write, uint32_t nsid, uint64_t lba, uint32_t blocks,
                  uint16_t command_id);
void nvme_build_flush(struct nvme_sqe *sqe, uint32_t nsid, uint16_t command_id);
void nvme_build_identify(struct nvme_sqe *sqe, uint8_t cns, uint32_t nsid, phys_addr_t buffer,
                         uint16_t command_id);
/* Physically contiguous queues; entries is the size (2..65536), vector the interrupt. */
void nvme_build_create_cq(struct nvme_sqe *sqe, uint16_t qid, uint32_t entries, phys_addr_t queue,
                          uint16_t vector, bool interrupts, uint16_t command_id);
void nvme_build_create_sq(struct nvme_sqe *sqe, uint16_t qid, uint32_t entries, phys_addr_t queue,
                          uint16_t cqid, uint16_t command_id);

/* Set Features "Number of Queues": asks for count I/O submission and completion queues. */
void nvme_build_set_queue_count(struct nvme_sqe *sqe, unsigned count, uint16_t command_id);
/* The queue pairs a controller granted, from that command's result (both counts are 0-based;
 * the smaller limits the pairs), never more than asked. */
unsigned nvme_queues_granted(uint32_t result, unsigned asked);

/* Fills PRP1/PRP2 for data in segments, using list (list_capacity entries at bus address
 * list_phys) when more than two pages are touched.  Every segment but the first must start
 * on a page boundary and every segment but the last must end on one; addresses must be
 * dword-aligned.  -EINVAL when the segments break those rules or need more list entries. */
int nvme_build_prp(const struct block_segment *segments, unsigned segment_count, uint32_t page_size,
                   uint64_t *list, phys_addr_t list_phys, unsigned list_capacity, uint64_t *prp1,
                   uint64_t *prp2);

struct nvme_controller_info {
    char model[41];
    char serial[21];
    char firmware[9];
    uint8_t mdts; /* max transfer: 2^mdts minimum pages; 0 no limit */
    uint32_t namespace_count;
    bool volatile_write_cache;
};

struct nvme_namespace_info {
    uint64_t block_count;
    uint32_t block_size;
    bool metadata; /* the format in use carries metadata in the LBA (unsupported) */
};

void nvme_parse_controller(const uint8_t *identify, struct nvme_controller_info *out);
/* 0, or -ENODEV for an inactive namespace (size 0), -EINVAL with *why for a format this driver
 * cannot use (block size outside 512..65536, metadata, capacity beyond 2^63 bytes). */
int nvme_parse_namespace(const uint8_t *identify, struct nvme_namespace_info *out,
                         const char **why);

#endif
