//! Device models of the virt board. Devices never touch the host.
