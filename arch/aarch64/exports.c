/* What modules may use of arch/aarch64 beyond kernel/exports.c: the PCI I/O window behind the
 * port accessors that <asm/io.h> inlines into drivers. */
#include <rayos/io.h>
#include <rayos/module.h>

EXPORT_SYMBOL(io_port_base);
EXPORT_SYMBOL(io_port_size);
