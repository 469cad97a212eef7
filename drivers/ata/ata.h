/* ATA command set shared by the AHCI and IDE drivers: IDENTIFY DEVICE parsing and taskfile
 * construction.  Portable: no register access, so the host unit tests cover all of it. */
#ifndef DRIVERS_ATA_ATA_H
#define DRIVERS_ATA_ATA_H

#include <rayos/types.h>

/* Commands (ATA8-ACS). */
#define ATA_CMD_READ_SECTORS      0x20
#define ATA_CMD_READ_SECTORS_EXT  0x24
#define ATA_CMD_READ_DMA_EXT      0x25
#define ATA_CMD_WRITE_SECTORS     0x30
#define ATA_CMD_WRITE_SECTORS_EXT 0x34
#define ATA_CMD_WRITE_DMA_EXT     0x35
#define ATA_CMD_READ_FPDMA        0x60
#define ATA_CMD_WRITE_FPDMA       0x61
#define ATA_CMD_PACKET            0xa0
#define ATA_CMD_IDENTIFY_PACKET   0xa1
#define ATA_CMD_READ_DMA          0xc8
#define ATA_CMD_WRITE_DMA         0xca
#define ATA_CMD_FLUSH_CACHE       0xe7
#define ATA_CMD_IDENTIFY          0xec
#define ATA_CMD_FLUSH_CACHE_EXT   0xea

/* Status and device register bits. */
#define ATA_STATUS_ERR  0x01
#define ATA_STATUS_DRQ  0x08
#define ATA_STATUS_DF   0x20
#define ATA_STATUS_DRDY 0x40
#define ATA_STATUS_BSY  0x80
#define ATA_DEVICE_LBA  0x40

/* Largest transfer of one command, in sectors. */
#define ATA_LBA28_MAX_SECTORS 256u
#define ATA_LBA48_MAX_SECTORS 65536u
#define ATA_LBA28_LIMIT       (1ull << 28)
#define ATA_LBA48_LIMIT       (1ull << 48)

struct ata_identity {
    char model[41];
    char serial[21];
    char firmware[9];
    bool atapi;
    bool lba48;
    bool dma;
    bool ncq;
    unsigned ncq_depth;            /* 1..32 when ncq */
    bool write_cache;              /* volatile cache present and enabled */
    bool flush;                    /* FLUSH CACHE */
    bool flush_ext;                /* FLUSH CACHE EXT */
    uint64_t sector_count;         /* logical sectors */
    uint32_t logical_sector_size;  /* bytes */
    uint32_t physical_sector_size; /* bytes */
};

/* Parses 256 IDENTIFY (PACKET) DEVICE words as the device sent them (little-endian words).
 * 0, or -EINVAL with *why set for data no disk would send (bad checksum, no LBA, zero or
 * oversized capacity, an impossible sector size); ATAPI devices parse with atapi set. */
int ata_parse_identify(const uint16_t words[256], struct ata_identity *out, const char **why);

/* A taskfile in the ATA register model; lba48 selects the "previous" (high) bytes too. */
struct ata_taskfile {
    uint8_t command;
    uint8_t device;
    uint16_t features;
    uint16_t count; /* 0 means 256 (LBA28) or 65536 (LBA48) sectors */
    uint64_t lba;
    bool lba48;
};

enum ata_transfer { ATA_PIO, ATA_DMA };

/* READ/WRITE (SECTORS or DMA, EXT when lba48 or needed).  -EINVAL when the range does not fit
 * the addressing (count 0, past 2^28 without lba48, more sectors than one command moves). */
int ata_build_rw(struct ata_taskfile *tf, bool write, uint64_t lba, uint32_t count, bool lba48,
                 enum ata_transfer transfer);
/* READ/WRITE FPDMA QUEUED: count in FEATURES, tag in COUNT bits 7:3. */
int ata_build_ncq(struct ata_taskfile *tf, bool write, uint64_t lba, uint32_t count, unsigned tag);
void ata_build_flush(struct ata_taskfile *tf, bool ext);
void ata_build_identify(struct ata_taskfile *tf, bool packet);

/* Serial ATA Register Host-to-Device FIS (type 0x27), 20 bytes, C bit set. */
#define SATA_FIS_H2D        0x27
#define SATA_FIS_H2D_LENGTH 20
void ata_taskfile_to_fis(const struct ata_taskfile *tf, uint8_t fis[SATA_FIS_H2D_LENGTH]);

/* Human size for log lines: "64 MiB", "2 GiB". */
void ata_format_capacity(uint64_t bytes, char *out, size_t size);

#endif
