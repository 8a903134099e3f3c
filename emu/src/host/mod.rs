//! Host-side backends (serial, disk, network), each on its own thread.
