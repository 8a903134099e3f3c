//! The virt board: memory map, device tree, boot loading, the run loop.
