# VirtIO block: built in or a module as drivers.conf says (mk/modules.mk).
DRIVERS += virtio_blk
virtio_blk_DRIVER_SRCS := drivers/virtio/blk.c drivers/virtio/pci_transport.c \
                          drivers/virtio/virtio.c drivers/virtio/virtqueue.c
