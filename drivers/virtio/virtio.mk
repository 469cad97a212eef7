# VirtIO: the virtio bus, its PCI and MMIO transports and the block driver, built in or one
# module as drivers.conf says (mk/modules.mk).
DRIVERS += virtio_blk
virtio_blk_DRIVER_SRCS := drivers/virtio/bus.c drivers/virtio/virtio.c drivers/virtio/virtqueue.c \
                          drivers/virtio/pci_transport.c drivers/virtio/mmio_transport.c \
                          drivers/virtio/blk.c
