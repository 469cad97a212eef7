/* The virtqueue against a device that writes arbitrary used entries and indices: the driver
 * must never return a token twice, one it never added, or lose descriptors. */
#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/virtio.h>

#include <stdint.h>
#include <stdlib.h>

#define QUEUE_SIZE 8
#define TOKENS     64

extern int host_log_level;

static uint8_t data[64];
static int tokens[TOKENS];
static bool in_flight[TOKENS];

static void check_accounting(const struct virtqueue *vq)
{
    unsigned held = 0;
    for (unsigned i = 0; i < vq->size; i++)
        held += vq->slots[i].chain_length;
    if (held + vq->free_count != vq->size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    /* the driver warns once per broken device, and every input is one: 500 bytes of log per
     * execution (4 GB in a 10-million run) unless quiet */
    host_log_level = -1;
    if (size < 1)
        return 0;
    struct virtqueue vq;
    if (virtqueue_create(&vq, 0, QUEUE_SIZE, 4096, input[0] & 1 ? 4 : 0, input[0] & 2) < 0)
        return 0;
    memset(in_flight, 0, sizeof(in_flight));
    unsigned next_token = 0;
    for (size_t i = 1; i + 2 < size; i += 3) {
        uint8_t op = input[i] % 4, a = input[i + 1], b = input[i + 2];
        if (op == 0 && next_token < TOKENS) {
            struct virtq_buffer buffers[3] = {
                {(uintptr_t)data, 16}, {(uintptr_t)data + 16, 16}, {(uintptr_t)data + 32, 1}};
            unsigned count = 1 + a % 3;
            if (virtqueue_add(&vq, buffers, 1, count - 1 ? count - 1 : 0, &tokens[next_token]) == 0)
                in_flight[next_token] = true;
            next_token++;
        } else if (op == 1) {
            /* The device writes any id at the next used slot and moves the index by 0-3. */
            vq.used->ring[vq.used->idx & (QUEUE_SIZE - 1)] =
                (struct virtq_used_elem){(uint32_t)a | (uint32_t)b << 8, b};
            vq.used->idx = (uint16_t)(vq.used->idx + b % 4);
        } else if (op == 2) {
            void *token;
            unsigned guard = 0;
            while ((token = virtqueue_get_used(&vq, NULL)) != NULL && guard++ < 64) {
                ptrdiff_t index = (int *)token - tokens;
                if (index < 0 || index >= TOKENS || !in_flight[index])
                    abort();
                in_flight[index] = false;
            }
        } else if (op == 3 && vq.broken) {
            virtqueue_reset(&vq);
            memset(in_flight, 0, sizeof(in_flight));
        }
        check_accounting(&vq);
    }
    virtqueue_destroy(&vq);
    return 0;
}
