/* IDENTIFY data from ATA disks and NVMe controllers/namespaces is untrusted: the parsers must
 * accept or reject any bytes without reading out of bounds, and what they accept must be
 * self-consistent (the drivers size transfers from it). */
#include <rayos/errno.h>
#include <rayos/string.h>

#include "../../drivers/ata/ata.h"
#include "../../drivers/nvme/nvme_cmd.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);

static void check_ata(const uint8_t *input, size_t size)
{
    uint16_t words[256] = {0};
    memcpy(words, input, size < sizeof(words) ? size : sizeof(words));
    struct ata_identity id;
    const char *why = NULL;
    int status = ata_parse_identify(words, &id, &why);
    if (status != 0 && (status != -EINVAL || !why))
        abort();
    if (strlen(id.model) > 40 || strlen(id.serial) > 20 || strlen(id.firmware) > 8)
        abort();
    if (status == 0 && !id.atapi) {
        if (id.sector_count == 0 || id.sector_count > ATA_LBA48_LIMIT)
            abort();
        if (id.logical_sector_size < 512 || id.logical_sector_size > 65536 ||
            (id.logical_sector_size & (id.logical_sector_size - 1)))
            abort();
        if (id.physical_sector_size < id.logical_sector_size)
            abort();
        if (id.ncq && (id.ncq_depth < 1 || id.ncq_depth > 32))
            abort();
    }
}

static void check_nvme(const uint8_t *input, size_t size)
{
    static uint8_t page[NVME_IDENTIFY_BYTES];
    memset(page, 0, sizeof(page));
    memcpy(page, input, size < sizeof(page) ? size : sizeof(page));
    struct nvme_controller_info controller;
    nvme_parse_controller(page, &controller);
    if (strlen(controller.model) > 40 || strlen(controller.serial) > 20)
        abort();
    struct nvme_namespace_info ns;
    const char *why = NULL;
    int status = nvme_parse_namespace(page, &ns, &why);
    if (status == 0) {
        if (ns.block_size < 512 || ns.block_size > 65536 || ns.block_count == 0)
            abort();
        if (ns.block_count > (UINT64_MAX >> 1) / ns.block_size)
            abort();
    } else if (status != -ENODEV && (status != -EINVAL || !why)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    check_ata(input, size);
    check_nvme(input, size);
    return 0;
}
