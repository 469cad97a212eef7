/* Cutting a request into pieces that fit a device's limits.  Pieces always end on a block
 * boundary, so a scatter-gather entry may be cut in the middle. */
#include <rayos/block.h>
#include <rayos/errno.h>

uint64_t blk_request_bytes(const struct block_request *req)
{
    uint64_t bytes = 0;
    for (unsigned i = 0; i < req->segment_count; i++)
        bytes += req->segments[i].length;
    return bytes;
}

static void piece_trim(struct block_segment *pieces, int *count, uint32_t *bytes, uint32_t excess)
{
    while (excess && *count > 0) {
        struct block_segment *last = &pieces[*count - 1];
        if (last->length > excess) {
            last->length -= excess;
            *bytes -= excess;
            return;
        }
        excess -= last->length;
        *bytes -= last->length;
        (*count)--;
    }
}

int blk_split_next(const struct block_request *req, const struct block_limits *limits,
                   uint32_t block_size, uint64_t done, struct block_segment *pieces,
                   uint32_t *piece_bytes)
{
    unsigned index = 0;
    uint64_t offset = done;
    while (index < req->segment_count && offset >= req->segments[index].length)
        offset -= req->segments[index++].length;
    *piece_bytes = 0;
    if (index == req->segment_count)
        return 0;

    int count = 0;
    uint32_t bytes = 0;
    while (index < req->segment_count && (unsigned)count < limits->max_segments &&
           bytes < limits->max_transfer) {
        const struct block_segment *seg = &req->segments[index];
        uint64_t left = seg->length - offset;
        uint32_t take = (uint32_t)MIN(left, (uint64_t)limits->max_segment_size);
        take = MIN(take, limits->max_transfer - bytes);
        pieces[count].virt = seg->virt ? (char *)seg->virt + offset : NULL;
        pieces[count].phys = seg->phys + offset;
        pieces[count].length = take;
        count++;
        bytes += take;
        offset += take;
        if (offset == seg->length) {
            index++;
            offset = 0;
        }
    }
    piece_trim(pieces, &count, &bytes, bytes % block_size);
    if (bytes == 0)
        return -EINVAL;
    *piece_bytes = bytes;
    return count;
}
