/* What modules may call: the kernel's exported symbols.  This list is the kernel ABI; its
 * sorted names hash to the "abi" a module carries (mk/modpost.py computes the same hash from
 * this file), so adding or removing an export makes older modules refuse to load. */
#include <rayos/acpi.h>
#include <rayos/block.h>
#include <rayos/cmdline.h>
#include <rayos/device.h>
#include <rayos/devres.h>
#include <rayos/dma.h>
#include <rayos/heap.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/module.h>
#include <rayos/pci.h>
#include <rayos/platform.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/virtio.h>

/* Heap, DMA and mappings. */
EXPORT_SYMBOL(kmalloc);
EXPORT_SYMBOL(kzalloc);
EXPORT_SYMBOL(kcalloc);
EXPORT_SYMBOL(krealloc);
EXPORT_SYMBOL(kfree);
EXPORT_SYMBOL(dma_alloc);
EXPORT_SYMBOL(dma_alloc_low);
EXPORT_SYMBOL(dma_free);
EXPORT_SYMBOL(dma_map_buffer);
EXPORT_SYMBOL(dma_sync_for_device);
EXPORT_SYMBOL(dma_sync_for_cpu);
EXPORT_SYMBOL(map_phys);
EXPORT_SYMBOL(unmap_phys);

/* Logging, strings, command line. */
EXPORT_SYMBOL(printk);
EXPORT_SYMBOL(snprintf);
EXPORT_SYMBOL(vsnprintf);
EXPORT_SYMBOL(memcpy);
EXPORT_SYMBOL(memmove);
EXPORT_SYMBOL(memset);
EXPORT_SYMBOL(memcmp);
EXPORT_SYMBOL(memchr);
EXPORT_SYMBOL(strlen);
EXPORT_SYMBOL(strnlen);
EXPORT_SYMBOL(strcmp);
EXPORT_SYMBOL(strncmp);
EXPORT_SYMBOL(strlcpy);
EXPORT_SYMBOL(strtoul);
EXPORT_SYMBOL(strtoull);
EXPORT_SYMBOL(strchr);
EXPORT_SYMBOL(cmdline_get);
EXPORT_SYMBOL(cmdline_has);

/* Time, CPUs, locks, interrupts. */
EXPORT_SYMBOL(time_ns);
EXPORT_SYMBOL(udelay);
EXPORT_SYMBOL(mdelay);
EXPORT_SYMBOL(cpu_online_count);
EXPORT_SYMBOL(spin_lock_irqsave);
EXPORT_SYMBOL(spin_unlock_irqrestore);
EXPORT_SYMBOL(irq_claim);
EXPORT_SYMBOL(irq_release);
EXPORT_SYMBOL(acpi_isa_irq_spec);

/* The device model and managed resources. */
EXPORT_SYMBOL(device_get);
EXPORT_SYMBOL(device_put);
EXPORT_SYMBOL(device_unregister);
EXPORT_SYMBOL(device_for_each);
EXPORT_SYMBOL(device_resource);
EXPORT_SYMBOL(device_irq_spec);
EXPORT_SYMBOL(devm_add_action);
EXPORT_SYMBOL(devm_release_action);
EXPORT_SYMBOL(devm_kzalloc);
EXPORT_SYMBOL(devm_kcalloc);
EXPORT_SYMBOL(devm_kfree);
EXPORT_SYMBOL(devm_dma_alloc);
EXPORT_SYMBOL(devm_dma_free);
EXPORT_SYMBOL(devm_map_phys);
EXPORT_SYMBOL(platform_register_driver);
EXPORT_SYMBOL(platform_unregister_driver);
EXPORT_SYMBOL(platform_device_create);

/* The virtio bus (transports and VirtIO drivers). */
EXPORT_SYMBOL(virtio_register_driver);
EXPORT_SYMBOL(virtio_unregister_driver);
EXPORT_SYMBOL(devm_virtio_device_add);

/* PCI. */
EXPORT_SYMBOL(pci_bus_type);
EXPORT_SYMBOL(pci_register_driver);
EXPORT_SYMBOL(pci_unregister_driver);
EXPORT_SYMBOL(pci_read_config8);
EXPORT_SYMBOL(pci_read_config16);
EXPORT_SYMBOL(pci_read_config32);
EXPORT_SYMBOL(pci_write_config8);
EXPORT_SYMBOL(pci_write_config16);
EXPORT_SYMBOL(pci_write_config32);
EXPORT_SYMBOL(pci_enable_bus_master);
EXPORT_SYMBOL(pci_disable_bus_master);
EXPORT_SYMBOL(pci_enable_memory);
EXPORT_SYMBOL(pci_enable_io);
EXPORT_SYMBOL(pci_map_bar);
EXPORT_SYMBOL(pci_bar_io_port);
EXPORT_SYMBOL(pci_find_capability);
EXPORT_SYMBOL(pci_find_next_capability);
EXPORT_SYMBOL(pci_intx_irq);
EXPORT_SYMBOL(pci_intx_release);
EXPORT_SYMBOL(pci_enable_msi);
EXPORT_SYMBOL(pci_disable_msi);
EXPORT_SYMBOL(pci_msix_table_size);
EXPORT_SYMBOL(pci_enable_msix);
EXPORT_SYMBOL(pci_disable_msix);
EXPORT_SYMBOL(devm_pci_intx_irq);
EXPORT_SYMBOL(devm_pci_enable_msi);
EXPORT_SYMBOL(devm_pci_enable_msix);

/* The block layer. */
EXPORT_SYMBOL(block_device_alloc);
EXPORT_SYMBOL(block_device_register);
EXPORT_SYMBOL(block_device_scan_partitions);
EXPORT_SYMBOL(devm_block_device_alloc);
EXPORT_SYMBOL(devm_block_device_register);
EXPORT_SYMBOL(devm_block_device_unregister);
EXPORT_SYMBOL(blk_hw_queue_cpu);
EXPORT_SYMBOL(blk_queue_run);
EXPORT_SYMBOL(blk_request_bytes);
EXPORT_SYMBOL(blk_request_done);
EXPORT_SYMBOL(block_op_name);
