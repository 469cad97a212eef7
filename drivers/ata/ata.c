/* IDENTIFY DEVICE parsing and ATA taskfile construction (word numbers from ATA8-ACS). */
#include "ata.h"

#include <rayos/errno.h>
#include <rayos/string.h>

/* ATA strings hold two characters per word, the first in the high byte; trailing blanks pad. */
static void copy_string(const uint16_t *words, unsigned word_count, char *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < word_count; i++) {
        out[n++] = (char)(words[i] >> 8);
        out[n++] = (char)(words[i] & 0xff);
    }
    out[n] = '\0';
    for (unsigned i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c > 0x7e)
            out[i] = '?';
    }
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
    unsigned start = 0;
    while (out[start] == ' ')
        start++;
    if (start)
        memmove(out, out + start, n - start + 1);
}

/* Words 83-87 and 106 are meaningful only when bits 15:14 read 01. */
static bool word_valid(uint16_t word)
{
    return (word & 0xc000) == 0x4000;
}

static bool checksum_ok(const uint16_t words[256])
{
    if ((words[255] & 0xff) != 0xa5)
        return true; /* no checksum provided */
    uint8_t sum = 0;
    for (unsigned i = 0; i < 256; i++)
        sum = (uint8_t)(sum + (words[i] & 0xff) + (words[i] >> 8));
    return sum == 0;
}

static int sector_sizes(const uint16_t words[256], struct ata_identity *id, const char **why)
{
    id->logical_sector_size = 512;
    id->physical_sector_size = 512;
    uint16_t w106 = words[106];
    if (!word_valid(w106))
        return 0;
    if (w106 & (1u << 12)) {
        uint32_t logical_words = words[117] | (uint32_t)words[118] << 16;
        uint64_t bytes = (uint64_t)logical_words * 2;
        if (bytes < 512 || bytes > 65536 || !IS_POWER_OF_2(bytes)) {
            *why = "impossible logical sector size";
            return -EINVAL;
        }
        id->logical_sector_size = (uint32_t)bytes;
    }
    id->physical_sector_size = id->logical_sector_size;
    if (w106 & (1u << 13)) {
        unsigned exponent = w106 & 0xf;
        if (exponent > 7) {
            *why = "impossible physical sector size";
            return -EINVAL;
        }
        id->physical_sector_size = id->logical_sector_size << exponent;
    }
    return 0;
}

int ata_parse_identify(const uint16_t words[256], struct ata_identity *id, const char **why)
{
    static const char *unused;
    if (!why)
        why = &unused;
    memset(id, 0, sizeof(*id));
    copy_string(&words[10], 10, id->serial);
    copy_string(&words[23], 4, id->firmware);
    copy_string(&words[27], 20, id->model);
    if (!checksum_ok(words)) {
        *why = "IDENTIFY checksum mismatch";
        return -EINVAL;
    }
    if (words[0] & 0x8000) {
        /* Bit 15 set: a packet (ATAPI) device; its capacity comes from SCSI, not from here. */
        id->atapi = true;
        return 0;
    }
    if (!(words[49] & (1u << 9))) {
        *why = "device without LBA addressing";
        return -EINVAL;
    }
    id->dma = words[49] & (1u << 8);
    bool w83_valid = word_valid(words[83]);
    id->lba48 = w83_valid && (words[83] & (1u << 10)) && (words[86] & (1u << 10));
    id->flush = w83_valid && (words[83] & (1u << 12));
    id->flush_ext = id->lba48 && (words[83] & (1u << 13));
    id->write_cache = word_valid(words[83]) && (words[82] & (1u << 5)) && (words[85] & (1u << 5));
    if (words[76] != 0 && words[76] != 0xffff && (words[76] & (1u << 8))) {
        id->ncq = true;
        id->ncq_depth = (words[75] & 0x1f) + 1u;
    }
    uint64_t lba28 = words[60] | (uint64_t)words[61] << 16;
    uint64_t lba48 = words[100] | (uint64_t)words[101] << 16 | (uint64_t)words[102] << 32 |
                     (uint64_t)words[103] << 48;
    id->sector_count = id->lba48 && lba48 ? lba48 : lba28;
    if (id->sector_count == 0) {
        *why = "capacity of zero sectors";
        return -EINVAL;
    }
    if (id->sector_count > (id->lba48 ? ATA_LBA48_LIMIT : ATA_LBA28_LIMIT)) {
        *why = "capacity beyond what the addressing can reach";
        return -EINVAL;
    }
    return sector_sizes(words, id, why);
}

static int check_range(uint64_t lba, uint32_t count, bool lba48, uint32_t max_count)
{
    uint64_t limit = lba48 ? ATA_LBA48_LIMIT : ATA_LBA28_LIMIT;
    if (count == 0 || count > max_count || lba >= limit || count > limit - lba)
        return -EINVAL;
    return 0;
}

int ata_build_rw(struct ata_taskfile *tf, bool write, uint64_t lba, uint32_t count, bool lba48,
                 enum ata_transfer transfer)
{
    /* LBA28 commands cannot touch sector 2^28 - 1 and beyond in some devices; keep to the
     * standard limit and let lba48 devices use EXT for everything. */
    uint32_t max = lba48 ? ATA_LBA48_MAX_SECTORS : ATA_LBA28_MAX_SECTORS;
    int status = check_range(lba, count, lba48, max);
    if (status < 0)
        return status;
    memset(tf, 0, sizeof(*tf));
    tf->lba = lba;
    tf->lba48 = lba48;
    tf->count = (uint16_t)(count == max ? 0 : count);
    tf->device = ATA_DEVICE_LBA;
    if (!lba48)
        tf->device |= (uint8_t)((lba >> 24) & 0x0f);
    if (transfer == ATA_DMA)
        tf->command = lba48 ? (write ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_READ_DMA_EXT)
                            : (write ? ATA_CMD_WRITE_DMA : ATA_CMD_READ_DMA);
    else
        tf->command = lba48 ? (write ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_READ_SECTORS_EXT)
                            : (write ? ATA_CMD_WRITE_SECTORS : ATA_CMD_READ_SECTORS);
    return 0;
}

int ata_build_ncq(struct ata_taskfile *tf, bool write, uint64_t lba, uint32_t count, unsigned tag)
{
    if (tag > 31)
        return -EINVAL;
    int status = check_range(lba, count, true, ATA_LBA48_MAX_SECTORS);
    if (status < 0)
        return status;
    memset(tf, 0, sizeof(*tf));
    tf->command = write ? ATA_CMD_WRITE_FPDMA : ATA_CMD_READ_FPDMA;
    tf->lba = lba;
    tf->lba48 = true;
    tf->features = (uint16_t)(count == ATA_LBA48_MAX_SECTORS ? 0 : count);
    tf->count = (uint16_t)(tag << 3);
    tf->device = ATA_DEVICE_LBA;
    return 0;
}

void ata_build_flush(struct ata_taskfile *tf, bool ext)
{
    memset(tf, 0, sizeof(*tf));
    tf->command = ext ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
    tf->lba48 = ext;
}

void ata_build_identify(struct ata_taskfile *tf, bool packet)
{
    memset(tf, 0, sizeof(*tf));
    tf->command = packet ? ATA_CMD_IDENTIFY_PACKET : ATA_CMD_IDENTIFY;
}

void ata_taskfile_to_fis(const struct ata_taskfile *tf, uint8_t fis[SATA_FIS_H2D_LENGTH])
{
    memset(fis, 0, SATA_FIS_H2D_LENGTH);
    fis[0] = SATA_FIS_H2D;
    fis[1] = 0x80; /* C: this FIS carries a command */
    fis[2] = tf->command;
    fis[3] = (uint8_t)tf->features;
    fis[4] = (uint8_t)tf->lba;
    fis[5] = (uint8_t)(tf->lba >> 8);
    fis[6] = (uint8_t)(tf->lba >> 16);
    fis[7] = tf->device;
    if (tf->lba48) {
        fis[8] = (uint8_t)(tf->lba >> 24);
        fis[9] = (uint8_t)(tf->lba >> 32);
        fis[10] = (uint8_t)(tf->lba >> 40);
        fis[11] = (uint8_t)(tf->features >> 8);
    }
    fis[12] = (uint8_t)tf->count;
    fis[13] = (uint8_t)(tf->count >> 8);
}

void ata_format_capacity(uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    unsigned unit = 0;
    while (unit + 1 < ARRAY_SIZE(units) && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    while (unit + 1 < ARRAY_SIZE(units) && bytes >= 10240) {
        bytes /= 1024;
        unit++;
    }
    snprintf(out, size, "%llu %s", (unsigned long long)bytes, units[unit]);
}
