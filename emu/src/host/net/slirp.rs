//! A safe owner of one libslirp instance (Debian's libslirp, the stack QEMU's
//! `-netdev user` uses), driven from a single thread.
//!
//! All `unsafe` of the network backend is in this file. libslirp calls back
//! into us (frames for the guest, timers, clock, fds to poll) with an opaque
//! pointer; that pointer is a leaked `Box<Context>` which only the callbacks
//! dereference, and never while a Rust reference to it is alive: every method
//! here touches the context through short raw-pointer accesses that end before
//! it calls into libslirp, because libslirp may call back re-entrantly.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::time::Instant;

use libslirp_sys as sys;

use super::options::UserNetConfig;
use super::poll::{PollFd, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI};

/// Why the stack could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SlirpError {
    #[error("TFTP root {path}: {source}")]
    TftpRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TFTP root {0} is not a directory")]
    TftpRootNotDir(PathBuf),
    #[error("option `{0}` contains a NUL byte")]
    NulInOption(&'static str),
    #[error("libslirp refused the configuration (slirp_new returned NULL)")]
    InitFailed,
}

/// Where frames for the guest go. Called on the network thread.
pub(super) type FrameSink = Box<dyn FnMut(&[u8]) + Send>;

/// One libslirp timer. libslirp holds a pointer to it until `timer_free`.
struct Timer {
    cb: sys::SlirpTimerCb,
    cb_opaque: *mut c_void,
    /// Expiry in ms of [`Context::now_ms`]; `None` while disarmed.
    expire_ms: Option<i64>,
}

/// State the callbacks reach through libslirp's opaque pointer.
struct Context {
    origin: Instant,
    sink: FrameSink,
    timers: Vec<*mut Timer>,
    pollfds: Vec<PollFd>,
    guest_errors: u64,
}

impl Context {
    fn now_ns(&self) -> i64 {
        self.origin.elapsed().as_nanos() as i64
    }
}

/// The 4.7 callback table. libslirp-sys stops at `notify`; the two later
/// fields are only read for config version >= 4, but are laid out (as NULL)
/// so libslirp never reads past our allocation whatever it decides.
#[repr(C)]
struct CallbacksV4 {
    base: sys::SlirpCb,
    init_completed: Option<unsafe extern "C" fn(*mut sys::Slirp, *mut c_void)>,
    timer_new_opaque: Option<unsafe extern "C" fn(c_int, *mut c_void, *mut c_void) -> *mut c_void>,
}

static CALLBACKS: CallbacksV4 = CallbacksV4 {
    base: sys::SlirpCb {
        send_packet: Some(cb_send_packet),
        guest_error: Some(cb_guest_error),
        clock_get_ns: Some(cb_clock_get_ns),
        timer_new: Some(cb_timer_new),
        timer_free: Some(cb_timer_free),
        timer_mod: Some(cb_timer_mod),
        register_poll_fd: Some(cb_fd_noop),
        unregister_poll_fd: Some(cb_fd_noop),
        notify: Some(cb_notify),
    },
    init_completed: None,
    timer_new_opaque: None,
};

// SAFETY (all callbacks): libslirp passes back the opaque pointer given to
// slirp_new, which is a live `*mut Context` for the whole life of the Slirp
// instance (freed only after slirp_cleanup), and calls us only from the
// thread that owns the `Stack`, while no Rust reference to the context exists.

unsafe extern "C" fn cb_send_packet(buf: *const c_void, len: usize, opaque: *mut c_void) -> isize {
    // SAFETY: see above; `buf` points to `len` readable bytes for this call.
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    let frame = unsafe { std::slice::from_raw_parts(buf as *const u8, len) };
    (ctx.sink)(frame);
    len as isize
}

unsafe extern "C" fn cb_guest_error(_msg: *const c_char, opaque: *mut c_void) {
    // The guest sent something malformed; slirp dropped it. QEMU only logs
    // this under `-d guest_errors`; we count it.
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    ctx.guest_errors += 1;
}

unsafe extern "C" fn cb_clock_get_ns(opaque: *mut c_void) -> i64 {
    let ctx = unsafe { &*(opaque as *const Context) };
    ctx.now_ns()
}

unsafe extern "C" fn cb_timer_new(
    cb: sys::SlirpTimerCb,
    cb_opaque: *mut c_void,
    opaque: *mut c_void,
) -> *mut c_void {
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    let t = Box::into_raw(Box::new(Timer {
        cb,
        cb_opaque,
        expire_ms: None,
    }));
    ctx.timers.push(t);
    t as *mut c_void
}

unsafe extern "C" fn cb_timer_free(timer: *mut c_void, opaque: *mut c_void) {
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    let t = timer as *mut Timer;
    if let Some(i) = ctx.timers.iter().position(|&p| p == t) {
        ctx.timers.swap_remove(i);
        // SAFETY: `t` came from Box::into_raw in cb_timer_new and was still registered.
        drop(unsafe { Box::from_raw(t) });
    }
}

unsafe extern "C" fn cb_timer_mod(timer: *mut c_void, expire_ms: i64, opaque: *mut c_void) {
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    let t = timer as *mut Timer;
    if ctx.timers.contains(&t) {
        // SAFETY: registered timers are live boxes owned by the context.
        unsafe { (*t).expire_ms = Some(expire_ms) };
    }
}

unsafe extern "C" fn cb_fd_noop(_fd: c_int, _opaque: *mut c_void) {
    // Only needed by event loops that watch fds persistently; we hand slirp's
    // fd set to poll(2) afresh on every iteration.
}

unsafe extern "C" fn cb_notify(_opaque: *mut c_void) {
    // The network thread re-polls slirp after every wake-up anyway.
}

unsafe extern "C" fn cb_add_poll(fd: c_int, events: c_int, opaque: *mut c_void) -> c_int {
    let ctx = unsafe { &mut *(opaque as *mut Context) };
    let mut ev = 0;
    if events & sys::SLIRP_POLL_IN != 0 {
        ev |= POLLIN;
    }
    if events & sys::SLIRP_POLL_OUT != 0 {
        ev |= POLLOUT;
    }
    if events & sys::SLIRP_POLL_PRI != 0 {
        ev |= POLLPRI;
    }
    ctx.pollfds.push(PollFd {
        fd,
        events: ev,
        revents: 0,
    });
    (ctx.pollfds.len() - 1) as c_int
}

unsafe extern "C" fn cb_get_revents(idx: c_int, opaque: *mut c_void) -> c_int {
    let ctx = unsafe { &*(opaque as *const Context) };
    let Some(p) = usize::try_from(idx).ok().and_then(|i| ctx.pollfds.get(i)) else {
        return 0;
    };
    let mut ev = 0;
    for (bit, flag) in [
        (POLLIN, sys::SLIRP_POLL_IN),
        (POLLOUT, sys::SLIRP_POLL_OUT),
        (POLLPRI, sys::SLIRP_POLL_PRI),
        (POLLERR, sys::SLIRP_POLL_ERR),
        (POLLHUP, sys::SLIRP_POLL_HUP),
    ] {
        if p.revents & bit != 0 {
            ev |= flag;
        }
    }
    ev
}

/// An owned libslirp instance. Not `Send`: it is created and dropped on the
/// network thread.
pub(super) struct Stack {
    slirp: NonNull<sys::Slirp>,
    ctx: *mut Context,
}

fn cstring(key: &'static str, s: &str) -> Result<CString, SlirpError> {
    CString::new(s).map_err(|_| SlirpError::NulInOption(key))
}

impl Stack {
    /// Creates the stack with QEMU's defaults for everything `cfg` leaves open.
    pub(super) fn new(cfg: &UserNetConfig, sink: FrameSink) -> Result<Self, SlirpError> {
        let tftp = match &cfg.tftp_root {
            Some(p) => {
                let meta = std::fs::metadata(p).map_err(|source| SlirpError::TftpRoot {
                    path: p.clone(),
                    source,
                })?;
                if !meta.is_dir() {
                    return Err(SlirpError::TftpRootNotDir(p.clone()));
                }
                let s = p.to_str().ok_or(SlirpError::NulInOption("tftp"))?;
                Some(cstring("tftp", s)?)
            }
            None => None,
        };
        let bootfile = cfg
            .bootfile
            .as_deref()
            .map(|s| cstring("bootfile", s))
            .transpose()?;
        let hostname = cfg
            .hostname
            .as_deref()
            .map(|s| cstring("hostname", s))
            .transpose()?;
        let opt_ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());

        // QEMU's IPv6 defaults: prefix fec0::/64, host ::2, DNS ::3.
        let prefix6 = std::net::Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0);
        let config = sys::SlirpConfig {
            // Version 3: every field up to disable_dns; the classic timer_new callback.
            version: 3,
            restricted: cfg.restrict as c_int,
            in_enabled: cfg.ipv4,
            vnetwork: cfg.network.into(),
            vnetmask: cfg.netmask.into(),
            vhost: cfg.host.into(),
            in6_enabled: cfg.ipv6,
            vprefix_addr6: prefix6.into(),
            vprefix_len: 64,
            vhost6: std::net::Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 2).into(),
            vhostname: opt_ptr(&hostname),
            tftp_server_name: std::ptr::null(),
            tftp_path: opt_ptr(&tftp),
            bootfile: opt_ptr(&bootfile),
            vdhcp_start: cfg.dhcp_start.into(),
            vnameserver: cfg.dns.into(),
            vnameserver6: std::net::Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 3).into(),
            vdnssearch: std::ptr::null_mut(),
            vdomainname: std::ptr::null(),
            if_mtu: 0, // 0 = libslirp's default, 1500 (as QEMU)
            if_mru: 0,
            disable_host_loopback: false,
            enable_emu: false,
            outbound_addr: std::ptr::null(),
            outbound_addr6: std::ptr::null(),
            disable_dns: false,
            disable_dhcp: false,
        };
        let ctx = Box::into_raw(Box::new(Context {
            origin: Instant::now(),
            sink,
            timers: Vec::new(),
            pollfds: Vec::new(),
            guest_errors: 0,
        }));
        // SAFETY: config and callbacks are valid for the call; libslirp copies
        // every string it keeps. CALLBACKS is 'static; `ctx` outlives the instance.
        let slirp = unsafe {
            sys::slirp_new(
                &config,
                &CALLBACKS as *const CallbacksV4 as *const sys::SlirpCb,
                ctx as *mut c_void,
            )
        };
        match NonNull::new(slirp) {
            Some(slirp) => Ok(Stack { slirp, ctx }),
            None => {
                // SAFETY: slirp_new failed, so nothing else holds `ctx`.
                drop(unsafe { Box::from_raw(ctx) });
                Err(SlirpError::InitFailed)
            }
        }
    }

    /// Hands a guest frame to the stack; replies may reach the sink before
    /// this returns.
    pub(super) fn input(&mut self, frame: &[u8]) {
        let len = c_int::try_from(frame.len()).unwrap_or(c_int::MAX);
        // SAFETY: `frame` is readable for `len` bytes; slirp copies it.
        unsafe { sys::slirp_input(self.slirp.as_ptr(), frame.as_ptr(), len) };
    }

    /// Milliseconds on the clock libslirp sees (timer expiries use it).
    pub(super) fn now_ms(&self) -> i64 {
        // SAFETY: short shared access; no slirp call is in progress.
        unsafe { (*self.ctx).now_ns() / 1_000_000 }
    }

    /// The earliest armed timer expiry, in ms of [`Self::now_ms`].
    pub(super) fn next_timer_ms(&self) -> Option<i64> {
        // SAFETY: registered timers are live; no slirp call is in progress.
        unsafe {
            (*self.ctx)
                .timers
                .iter()
                .filter_map(|&t| (*t).expire_ms)
                .min()
        }
    }

    /// Runs the callbacks of every timer that is due. A callback may free or
    /// re-arm timers, so each one is looked up again before it runs.
    pub(super) fn run_due_timers(&mut self) {
        let now = self.now_ms();
        // SAFETY: as in next_timer_ms.
        let due: Vec<*mut Timer> = unsafe {
            (*self.ctx)
                .timers
                .iter()
                .copied()
                .filter(|&t| (*t).expire_ms.is_some_and(|e| e <= now))
                .collect()
        };
        for t in due {
            // SAFETY: the timer is used only if still registered (thus live);
            // the context borrow ends before the callback runs. The expiry is
            // checked again: an earlier callback may have re-armed it, or
            // freed it and got a new timer at the same address.
            let cb = unsafe {
                let due = (*self.ctx).timers.contains(&t)
                    && matches!((*t).expire_ms, Some(e) if e <= now);
                if !due {
                    continue;
                }
                (*t).expire_ms = None;
                ((*t).cb, (*t).cb_opaque)
            };
            if let (Some(f), arg) = cb {
                // SAFETY: libslirp's own callback with its own argument.
                unsafe { f(arg) };
            }
        }
    }

    /// Asks libslirp which sockets to watch. Returns the fds (to be given to
    /// poll(2), possibly with more fds appended after them) and lowers
    /// `timeout_ms` to libslirp's next deadline.
    pub(super) fn pollfds_fill(&mut self, timeout_ms: &mut u32) -> Vec<PollFd> {
        // SAFETY: no reference into the context is alive across the call.
        unsafe {
            (*self.ctx).pollfds.clear();
            sys::slirp_pollfds_fill(
                self.slirp.as_ptr(),
                timeout_ms,
                Some(cb_add_poll),
                self.ctx as *mut c_void,
            );
            (*self.ctx).pollfds.clone()
        }
    }

    /// Reports poll(2)'s result for the fds from [`Self::pollfds_fill`] (the
    /// first `pollfds.len()` entries of `fds`) and lets libslirp do its I/O and
    /// periodic work (TCP timers, ARP and TFTP session expiry).
    pub(super) fn pollfds_poll(&mut self, fds: &[PollFd], select_error: bool) {
        // SAFETY: as in pollfds_fill.
        unsafe {
            let ctx = &mut *self.ctx;
            let n = ctx.pollfds.len().min(fds.len());
            ctx.pollfds[..n].copy_from_slice(&fds[..n]);
            sys::slirp_pollfds_poll(
                self.slirp.as_ptr(),
                select_error as c_int,
                Some(cb_get_revents),
                self.ctx as *mut c_void,
            );
        }
    }

    /// How many malformed guest packets libslirp reported.
    pub(super) fn guest_errors(&self) -> u64 {
        // SAFETY: short shared access; no slirp call is in progress.
        unsafe { (*self.ctx).guest_errors }
    }

    /// libslirp's version string, for the notes and `--version`.
    pub fn version() -> String {
        // SAFETY: returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(sys::slirp_version_string()) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the instance is ours; slirp_cleanup frees its timers through
        // cb_timer_free, so the context must outlive it and is freed last.
        unsafe {
            sys::slirp_cleanup(self.slirp.as_ptr());
            let ctx = Box::from_raw(self.ctx);
            for t in ctx.timers.iter() {
                drop(Box::from_raw(*t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn timer_count(stack: &Stack) -> usize {
        // SAFETY: test-only look at the context; no slirp call is in progress.
        unsafe { (*stack.ctx).timers.len() }
    }

    #[test]
    fn ipv4_only_stack_has_no_timer() {
        let cfg = UserNetConfig {
            ipv6: false,
            ..Default::default()
        };
        let stack = Stack::new(&cfg, Box::new(|_| {})).unwrap();
        assert_eq!(timer_count(&stack), 0);
        assert_eq!(stack.next_timer_ms(), None);
    }

    /// With IPv6, libslirp arms its router-advertisement timer 200..600 s
    /// ahead (its NDP interval). Firing it through our timer list makes
    /// libslirp send an RA (ICMPv6 type 134) and re-arm.
    #[test]
    fn ipv6_router_advertisement_timer_fires_through_our_timer_list() {
        let frames = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
        let sink = frames.clone();
        let mut stack = Stack::new(
            &UserNetConfig::default(),
            Box::new(move |f| sink.lock().unwrap().push(f.to_vec())),
        )
        .unwrap();
        assert_eq!(timer_count(&stack), 1);
        let due = stack.next_timer_ms().expect("RA timer armed");
        let ahead = due - stack.now_ms();
        assert!((200_000..=600_000).contains(&ahead), "RA in {ahead} ms");
        stack.run_due_timers();
        assert!(frames.lock().unwrap().is_empty(), "not due yet");

        // Pull the expiry to now, as libslirp itself would with timer_mod.
        // SAFETY: test-only; the timer is registered and no slirp call is in progress.
        unsafe {
            let t = (&(*stack.ctx).timers)[0] as *mut c_void;
            cb_timer_mod(t, stack.now_ms(), stack.ctx as *mut c_void);
        }
        stack.run_due_timers();
        let frames = frames.lock().unwrap();
        assert_eq!(frames.len(), 1, "one router advertisement");
        let f = &frames[0];
        assert_eq!(f[..2], [0x33, 0x33], "IPv6 multicast MAC");
        assert_eq!(u16::from_be_bytes([f[12], f[13]]), 0x86dd, "IPv6");
        assert_eq!(f[14 + 6], 58, "next header ICMPv6");
        assert_eq!(f[14 + 40], 134, "router advertisement");
        assert!(
            stack.next_timer_ms().is_some_and(|t| t > stack.now_ms()),
            "re-armed"
        );
    }
}
