//! The few raw socket calls monoio does not wrap. This is the only module
//! with `unsafe`; each call works on a descriptor the caller owns.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

/// What a non-blocking peek at an idle upstream connection saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Peek {
    /// Nothing to read: the connection looks reusable.
    Empty,
    /// The peer closed (EOF) or the socket has an error.
    Closed,
    /// Unexpected bytes arrived while idle: the stream is out of sync.
    Data,
}

/// Peeks at a socket without blocking or consuming, to notice pooled
/// upstream connections the peer closed while they sat idle.
pub fn peek(fd: RawFd) -> Peek {
    let mut byte = 0u8;
    // SAFETY: `fd` is a socket owned by a live TcpStream of the caller; the
    // buffer is one valid, writable byte on our stack.
    let n = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => Peek::Closed,
        n if n > 0 => Peek::Data,
        _ => match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) => Peek::Empty,
            Some(libc::EINTR) => Peek::Empty,
            _ => Peek::Closed,
        },
    }
}

/// Shuts a socket down in both directions. A read pending on it completes
/// with EOF, which is how draining wakes idle keep-alive connections.
pub fn shutdown(fd: RawFd) {
    // SAFETY: `fd` belongs to a connection still registered with this core
    // (it deregisters before its socket is closed), so it is our socket.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

/// Takes an exclusive advisory lock on `fd` without waiting: `Ok(false)`
/// when another open file description holds it. The lock goes with the
/// descriptor, so it ends when the file is closed or the process exits.
pub fn try_lock_exclusive(fd: RawFd) -> std::io::Result<bool> {
    // SAFETY: `fd` is an open file owned by the caller for the whole call;
    // flock takes no pointers.
    let rc = unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(err),
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit (a
/// gateway's connections are file descriptors; the usual soft default of
/// 1024 is far too low) and returns the soft limit now in force.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit on our stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; raising the soft limit up to
        // the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = raised.rlim_cur;
        }
    }
    Ok(lim.rlim_cur)
}

/// Gives freed heap memory back to the OS. glibc keeps freed chunks in its
/// arenas (one per worker thread) and only returns the top of a heap on its
/// own, so the memory of a burst of connections would stay resident.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks;
    // it takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own schedule.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_heap() {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn peek_sees_empty_data_and_close() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        assert_eq!(peek(c.as_raw_fd()), Peek::Empty);
        s.write_all(b"x").unwrap();
        // Wait for the byte on a condition, not a sleep.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while peek(c.as_raw_fd()) != Peek::Data {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
        let (c2, s2) = (
            TcpStream::connect(l.local_addr().unwrap()).unwrap(),
            l.accept().unwrap().0,
        );
        drop(s2);
        while peek(c2.as_raw_fd()) != Peek::Closed {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
    }

    #[test]
    fn nofile_limit_is_raised_to_the_hard_limit() {
        let soft = raise_nofile_limit().unwrap();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `lim` is a valid, writable rlimit on our stack.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(soft, lim.rlim_cur);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }
}
