//! `poll(2)` on a set of file descriptors: the one blocking call of the
//! network thread (libslirp's sockets plus our wake-up socket).

use std::io;

/// `struct pollfd`.
pub(super) type PollFd = libc::pollfd;

pub(super) use libc::POLLIN;
#[cfg(feature = "user-net")]
pub(super) use libc::{POLLERR, POLLHUP, POLLOUT, POLLPRI};

/// Waits until one of `fds` is ready or `timeout_ms` passes (negative: no
/// limit). Returns the number of ready descriptors; EINTR counts as zero ready,
/// so a signal only costs one extra loop iteration.
pub(super) fn wait(fds: &mut [PollFd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()`
    // pollfd structures for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reports_readable_socket_and_times_out_on_idle_one() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut fds = [PollFd {
            fd: b.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        }];
        assert_eq!(wait(&mut fds, 0).unwrap(), 0);
        a.write_all(b"x").unwrap();
        assert_eq!(wait(&mut fds, 1000).unwrap(), 1);
        assert_ne!(fds[0].revents & POLLIN, 0);
    }
}
