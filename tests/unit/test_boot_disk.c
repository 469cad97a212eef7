/* The boot disk writer (fs/bootdisk/): GPT that our own reader accepts with the planned
 * PARTUUIDs, GRUB's BIOS images wired (boot sector -> core's first sector, core's block list ->
 * the rest), the ESP's files byte for byte, the configuration rewritten, refusals that write
 * nothing, 4096-byte sectors, and the power-cut order: every prefix of the writes short of the
 * last leaves a disk without a partition table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rayos/boot_disk.h>
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/guid.h>
#include <rayos/partition.h>

#include "tests/unit/ramdisk.h"

struct blob {
    uint8_t *data;
    size_t size;
};

static int blob_read(void *context, uint64_t offset, void *buffer, size_t length)
{
    struct blob *blob = context;
    if (offset + length > blob->size)
        return -EIO;
    memcpy(buffer, blob->data + offset, length);
    return 0;
}

static struct blob kernel, efi, core, boot;
static const char config[] = "[boot]\n# comment kept\nroot = vda1\n[log]\nlevel = 6\n";
static uint8_t entropy[BOOT_DISK_ENTROPY];

static void fill(struct blob *blob, size_t size, unsigned seed)
{
    blob->data = malloc(size);
    blob->size = size;
    for (size_t i = 0; i < size; i++)
        blob->data[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

/* A stand-in for GRUB's images with the bytes the wiring checks, as grub-mkimage leaves them. */
static int setup(void **state)
{
    fill(&kernel, 300 * 1024 + 17, 1);
    fill(&efi, 70 * 1024 + 3, 2);
    fill(&core, 180 * 1024 + 100, 3);
    uint64_t sectors = (core.size + 511) / 512;
    memset(core.data + 0x1f4 - 12, 0, 24);
    put_le64(core.data + 0x1f4, 2);
    put_le16(core.data + 0x1fc, (uint16_t)(sectors - 1));
    put_le16(core.data + 0x1fe, 0x820);
    fill(&boot, 512, 4);
    boot.data[0] = 0xeb;
    put_le64(boot.data + 0x5c, 1);
    boot.data[510] = 0x55;
    boot.data[511] = 0xaa;
    for (unsigned i = 0; i < sizeof(entropy); i++)
        entropy[i] = (uint8_t)(i * 7 + 1);
    return 0;
}

static int teardown(void **state)
{
    free(kernel.data);
    free(efi.data);
    free(core.data);
    free(boot.data);
    return 0;
}

static struct boot_disk_payload payload(void)
{
    struct boot_disk_payload p = {
        .kernel = {"kernel", kernel.size, blob_read, &kernel},
        .efi_loader = {"efi", efi.size, blob_read, &efi},
        .bios_core = {"core", core.size, blob_read, &core},
        .bios_boot = {"boot", boot.size, blob_read, &boot},
        .config = config,
        .config_length = sizeof(config) - 1,
        .clock = &ramdisk_test_clock,
    };
    return p;
}

static void assert_file(struct fat_volume *volume, const char *path, const void *data, size_t size)
{
    struct fat_file *file;
    assert_int_equal(fat_open(volume, path, FAT_O_READ, &file), 0);
    char *buffer = malloc(size + 1);
    assert_int_equal(fat_read(file, buffer, size + 1), (ssize_t)size);
    assert_memory_equal(buffer, data, size);
    free(buffer);
    fat_close(file);
}

static char *read_text(struct fat_volume *volume, const char *path)
{
    static char text[4096];
    struct fat_file *file;
    assert_int_equal(fat_open(volume, path, FAT_O_READ, &file), 0);
    ssize_t n = fat_read(file, text, sizeof(text) - 1);
    assert_true(n > 0);
    text[n] = 0;
    fat_close(file);
    return text;
}

static void check_disk(struct ramdisk *disk, const struct boot_disk_layout *layout)
{
    struct partition_table *table = malloc(sizeof(*table));
    assert_int_equal(partition_table_read(&disk->io, table), 0);
    assert_int_equal(table->scheme, PARTITION_SCHEME_GPT);
    assert_false(table->used_backup_gpt);
    assert_int_equal(table->count, layout->bios_blocks ? 2 : 1);
    const struct partition *esp = &table->entries[0];
    assert_int_equal(esp->number, BOOT_DISK_ESP_NUMBER);
    assert_string_equal(partition_type_name(esp), "EFI System");
    char uuid[PARTITION_UUID_SIZE];
    partition_uuid(table, esp, uuid);
    assert_string_equal(uuid, layout->esp_partuuid);
    assert_int_equal(esp->start_lba * layout->block_size, 2 * MiB);
    assert_int_equal((esp->start_lba + esp->block_count) * layout->block_size % MiB, 0);
    if (layout->bios_blocks) {
        const struct partition *bios = &table->entries[1];
        assert_int_equal(bios->number, BOOT_DISK_BIOS_NUMBER);
        assert_int_equal(bios->start_lba, 2048);
        /* boot sector -> core's first sector; core's block list -> the rest */
        assert_int_equal(get_le64(disk->bytes + 0x5c), 2048);
        assert_int_equal(disk->bytes[0x66], 0x90);
        assert_memory_equal(disk->bytes + 0x67 + 1, boot.data + 0x68, 440 - 0x68);
        const uint8_t *c = disk->bytes + 2048 * 512;
        assert_int_equal(get_le64(c + 0x1f4), 2049);
        assert_int_equal(get_le16(c + 0x1fc), (core.size + 511) / 512 - 1);
        assert_memory_equal(c + 512, core.data + 512, core.size - 512);
    } else {
        assert_int_equal(get_le64(disk->bytes + 0x5c), 0); /* no boot code */
    }
    assert_int_equal(get_le16(disk->bytes + 510), 0xaa55);
    assert_int_equal(get_le32(disk->bytes + 440), layout->mbr_signature);

    struct block_io_slice slice;
    struct block_io esp_io;
    block_io_slice_init(&slice, &esp_io, &disk->io, esp->start_lba, esp->block_count);
    struct fat_volume *volume;
    assert_int_equal(fat_mount(&esp_io, FAT_MOUNT_READ_ONLY, &ramdisk_test_clock, &volume), 0);
    struct fat_statfs st;
    assert_int_equal(fat_statfs(volume, &st), 0);
    assert_int_equal(st.fat_type, layout->block_size == 512 ? 32 : 16);
    assert_int_equal(st.volume_id, layout->volume_id);
    assert_file(volume, BOOT_DISK_KERNEL_PATH, kernel.data, kernel.size);
    assert_file(volume, BOOT_DISK_EFI_PATH, efi.data, efi.size);
    if (layout->bios_blocks) {
        assert_file(volume, BOOT_DISK_BIOS_CORE_PATH, core.data, core.size); /* unwired */
        assert_file(volume, BOOT_DISK_BIOS_BOOT_PATH, boot.data, boot.size);
    }
    char *cfg = read_text(volume, BOOT_DISK_CONFIG_PATH);
    char expected[256];
    snprintf(expected, sizeof(expected),
             "[boot]\n# comment kept\nroot = PARTUUID=%s\n[log]\nlevel = 6\n",
             layout->esp_partuuid);
    assert_string_equal(cfg, expected);
    char *grub = read_text(volume, BOOT_DISK_GRUB_CFG_PATH);
    snprintf(expected, sizeof(expected), "multiboot2 /BOOT/RAYOS.ELF root=PARTUUID=%s\n",
             layout->esp_partuuid);
    assert_non_null(strstr(grub, expected));
    struct fat_check_result result;
    fat_unmount(volume);
    assert_int_equal(fat_check(&esp_io, NULL, NULL, &result), 0);
    assert_int_equal(result.errors, 0);
    free(table);
}

static void test_512_byte_disk(void **state)
{
    struct ramdisk disk;
    ramdisk_init(&disk, 512, 64 * MiB);
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(512, disk.io.block_count, entropy, &layout), 0);
    struct boot_disk_payload p = payload();
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), 0);
    check_disk(&disk, &layout);
    ramdisk_free(&disk);
}

static void test_modules_go_to_their_directory(void **state)
{
    struct ramdisk disk;
    ramdisk_init(&disk, 512, 64 * MiB);
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(512, disk.io.block_count, entropy, &layout), 0);
    struct boot_disk_payload p = payload();
    p.module_count = 2;
    p.modules[0] = (struct boot_disk_module){"nvme.ko", {"nvme.ko", core.size, blob_read, &core}};
    p.modules[1] =
        (struct boot_disk_module){"modules.alias", {"alias", boot.size, blob_read, &boot}};
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), 0);
    check_disk(&disk, &layout);
    struct block_io_slice slice;
    struct block_io esp_io;
    block_io_slice_init(&slice, &esp_io, &disk.io, layout.esp_start, layout.esp_blocks);
    struct fat_volume *volume;
    assert_int_equal(fat_mount(&esp_io, FAT_MOUNT_READ_ONLY, &ramdisk_test_clock, &volume), 0);
    assert_file(volume, "/BOOT/MODULES/nvme.ko", core.data, core.size);
    assert_file(volume, "/BOOT/MODULES/modules.alias", boot.data, boot.size);
    fat_unmount(volume);
    ramdisk_free(&disk);
}

static void test_4096_byte_disk_is_uefi_only(void **state)
{
    struct ramdisk disk;
    ramdisk_init(&disk, 4096, 64 * MiB);
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(4096, disk.io.block_count, entropy, &layout), 0);
    assert_int_equal(layout.bios_blocks, 0);
    assert_int_equal(layout.entry_blocks, 4);
    struct boot_disk_payload p = payload();
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), 0);
    check_disk(&disk, &layout);
    ramdisk_free(&disk);
}

static void test_plan_refusals(void **state)
{
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(512, 64 * MiB / 512 - 1, entropy, &layout), -ENOSPC);
    assert_int_equal(boot_disk_plan(1024, 1 << 20, entropy, &layout), -EINVAL);
    assert_int_equal(boot_disk_plan(512, 64 * MiB / 512, entropy, &layout), 0);
    /* Version 4 GUIDs, distinct */
    assert_int_equal(layout.esp_guid[7] >> 4, 4);
    assert_memory_not_equal(layout.esp_guid, layout.bios_guid, 16);
}

static bool all_zero(const struct ramdisk *disk)
{
    for (uint64_t i = 0; i < disk->size; i++)
        if (disk->bytes[i])
            return false;
    return true;
}

static void test_bad_payload_writes_nothing(void **state)
{
    struct ramdisk disk;
    ramdisk_init(&disk, 512, 64 * MiB);
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(512, disk.io.block_count, entropy, &layout), 0);

    struct boot_disk_payload p = payload();
    core.data[0x1fe] ^= 1; /* not the segment grub-mkimage leaves */
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), -EINVAL);
    core.data[0x1fe] ^= 1;
    assert_non_null(strstr(p.failed_step, "core.img"));

    p = payload();
    boot.data[511] = 0;
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), -EINVAL);
    boot.data[511] = 0xaa;
    assert_non_null(strstr(p.failed_step, "boot.img"));

    p = payload();
    p.kernel.size = 0;
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), -EINVAL);

    p = payload(); /* a module name that would leave /BOOT/MODULES */
    p.module_count = 1;
    p.modules[0] = (struct boot_disk_module){"../RAYOS.ELF", {"m", efi.size, blob_read, &efi}};
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), -EINVAL);
    assert_non_null(strstr(p.failed_step, "modules"));

    p = payload();
    p.bios_core.size = 2 * MiB;
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), -EFBIG);
    assert_true(all_zero(&disk));
    assert_int_equal(disk.writes, 0);
    ramdisk_free(&disk);
}

/* Replays the recorded writes one by one onto a blank disk: the table must appear only with
 * the very last write. */
static void test_power_cut_leaves_no_table(void **state)
{
    struct ramdisk disk, replay;
    ramdisk_init(&disk, 512, 64 * MiB);
    ramdisk_init(&replay, 512, 64 * MiB);
    struct boot_disk_layout layout;
    assert_int_equal(boot_disk_plan(512, disk.io.block_count, entropy, &layout), 0);
    ramdisk_record(&disk, true);
    struct boot_disk_payload p = payload();
    assert_int_equal(boot_disk_write(&disk.io, &layout, &p), 0);
    struct partition_table *table = malloc(sizeof(*table));
    size_t last_write = 0;
    for (size_t i = 0; i < disk.op_count; i++)
        if (disk.ops[i].data)
            last_write = i;
    for (size_t i = 0; i < disk.op_count; i++) {
        const struct ramdisk_op *op = &disk.ops[i];
        if (op->data)
            memcpy(replay.bytes + op->lba * 512, op->data, (size_t)op->count * 512);
        assert_int_equal(partition_table_read(&replay.io, table), 0);
        assert_int_equal(table->scheme,
                         i >= last_write ? PARTITION_SCHEME_GPT : PARTITION_SCHEME_NONE);
    }
    assert_memory_equal(replay.bytes, disk.bytes, disk.size);
    free(table);
    ramdisk_free(&disk);
    ramdisk_free(&replay);
}

static void test_guid_text(void **state)
{
    uint8_t guid[16];
    char text[GUID_TEXT_SIZE];
    assert_true(guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", guid));
    static const uint8_t on_disk[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                        0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
    assert_memory_equal(guid, on_disk, 16);
    guid_format(guid, text);
    assert_string_equal(text, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    assert_false(guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93", guid));
    assert_false(guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93bb", guid));
    assert_false(guid_parse("c12a7328f81f-11d2-ba4b-00a0c93ec93b0", guid));
    assert_false(guid_parse("g12a7328-f81f-11d2-ba4b-00a0c93ec93b", guid));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_512_byte_disk),
        cmocka_unit_test(test_modules_go_to_their_directory),
        cmocka_unit_test(test_4096_byte_disk_is_uefi_only),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test(test_bad_payload_writes_nothing),
        cmocka_unit_test(test_power_cut_leaves_no_table),
        cmocka_unit_test(test_guid_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
