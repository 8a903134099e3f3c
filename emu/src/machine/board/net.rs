//! The NIC's host side when a replay goes live: in replay virtio-net
//! transmits into nothing (the log holds the answers); live, it needs the
//! backend a live run would have had from the start.

use super::Board;
use crate::devices::virtio::net::{TxSink, VirtioNet};

impl Board {
    /// Connects the NIC's transmit side to `sink`. False if the board has
    /// no NIC.
    pub fn connect_nic(&mut self, sink: TxSink) -> bool {
        let Some(slot) = self.net_slot else {
            return false;
        };
        match self.virtio[slot]
            .device_mut()
            .and_then(|d| d.as_any_mut().downcast_mut::<VirtioNet>())
        {
            Some(net) => {
                net.set_tx_sink(sink);
                true
            }
            None => false,
        }
    }
}
