# VirtIO: the PCI and MMIO transports and the block driver, built in or one module as
# drivers.conf says (mk/modules.mk).  The virtio bus itself (bus.c) is always built in: a bus
# stays registered for good.
DRIVERS += virtio_blk
virtio_blk_DRIVER_SRCS := drivers/virtio/virtio.c drivers/virtio/virtqueue.c \
                          drivers/virtio/pci_transport.c drivers/virtio/mmio_transport.c \
                          drivers/virtio/mmio_cmdline.c drivers/virtio/blk.c

# The MMIO transport, the virtio bus and the device model against a register model (host).
UNIT_TESTS += test_virtio_mmio
test_virtio_mmio_SRCS := tests/unit/test_virtio_mmio.c drivers/virtio/bus.c \
                         drivers/virtio/virtio.c drivers/virtio/virtqueue.c drivers/core/device.c \
                         drivers/core/devres.c drivers/core/platform.c tests/unit/block_fakes.c
