# AHCI, IDE and NVMe: host unit tests of the portable command building (the kernel build picks
# up drivers/ by itself).
UNIT_TESTS += test_ata
test_ata_SRCS := tests/unit/test_ata.c drivers/ata/ata.c

UNIT_TESTS += test_ahci_fis
test_ahci_fis_SRCS := tests/unit/test_ahci_fis.c drivers/ata/ata.c

UNIT_TESTS += test_nvme_prp
test_nvme_prp_SRCS := tests/unit/test_nvme_prp.c drivers/nvme/nvme_cmd.c


FUZZ_TARGETS += fuzz_storage_identify
fuzz_storage_identify_SRCS := tests/fuzz/fuzz_storage_identify.c drivers/ata/ata.c \
                              drivers/nvme/nvme_cmd.c

# Built in or modules as drivers.conf says (mk/modules.mk).  ata.c goes into each module that
# needs it, so either driver can be a module on its own.
DRIVERS += ahci ide nvme
ahci_DRIVER_SRCS := drivers/ata/ahci.c drivers/ata/ata.c
ide_DRIVER_SRCS := drivers/ata/ide.c drivers/ata/ata.c
nvme_DRIVER_SRCS := drivers/nvme/nvme.c drivers/nvme/nvme_cmd.c
