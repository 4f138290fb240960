//! One load connection: send (a batch of) precomputed requests, frame the
//! responses, record latency, repeat. Buffers live as long as the
//! connection, so the steady state allocates nothing.

use super::tls::Stream;
use super::worker::Worker;
use crate::http::{ResponseFramer, Step, MAX_HEAD_BYTES};
use crate::stats::ErrorKind;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

const READ_BUF_BYTES: usize = 64 * 1024;
/// Pause after a failed connect so a dead target does not spin a core.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

pub async fn run(w: Rc<Worker>, slot: usize, first_send: Instant) {
    let mut c = Conn {
        stream: None,
        rbuf: Vec::with_capacity(READ_BUF_BYTES),
        pos: 0,
        framer: ResponseFramer::default(),
        wbuf: Vec::new(),
        batch: Vec::with_capacity(w.plan.pipeline),
        w: w.clone(),
        slot,
    };
    let interval = w
        .plan
        .rate
        .map(|r| Duration::from_secs_f64(w.plan.connections as f64 / r));
    let mut next = first_send;
    loop {
        let intended = match interval {
            None => Instant::now(),
            Some(iv) => {
                if w.deadline().is_some_and(|d| next >= d) {
                    break;
                }
                let scheduled = next;
                next += iv;
                pace(scheduled).await
            }
        };
        let n = w.claim(w.plan.pipeline);
        if n == 0 {
            break;
        }
        c.exchange(n, intended).await;
    }
    w.conn_done();
}

/// Waits for the scheduled send time and returns the time latency is
/// measured from. Behind schedule (the server held this connection up),
/// that is the scheduled time: the wrk2 coordinated-omission correction.
/// Ahead of schedule the server held nothing up, and the timer's
/// overshoot (monoio timers tick in whole milliseconds) is the harness's
/// own, so the actual send time is used instead.
async fn pace(scheduled: Instant) -> Instant {
    let now = Instant::now();
    if scheduled <= now {
        return scheduled;
    }
    monoio::time::sleep(scheduled - now).await;
    Instant::now()
}

struct Conn {
    stream: Option<Stream>,
    /// Bytes read; `rbuf[pos..]` is not yet framed.
    rbuf: Vec<u8>,
    pos: usize,
    framer: ResponseFramer,
    /// Pipelined batches are copied here; single requests are written
    /// straight from their static template.
    wbuf: Vec<u8>,
    /// Template index of each request in flight.
    batch: Vec<usize>,
    w: Rc<Worker>,
    slot: usize,
}

impl Conn {
    /// Sends `n` requests and reads their responses. Latency of each is
    /// measured from `intended` (the scheduled time in open loop).
    async fn exchange(&mut self, n: usize, intended: Instant) {
        if self.stream.is_none() && !self.connect().await {
            return;
        }
        let sent_at = if self.w.plan.rate.is_some() {
            Instant::now()
        } else {
            intended
        };
        if let Some(s) = &self.stream {
            self.w.slots[self.slot].arm(s.as_raw_fd(), sent_at);
        }
        if let Err(kind) = self.send(n).await {
            return self.fail(kind);
        }
        for i in 0..n {
            let head = self.w.plan.templates[self.batch[i]].head_method;
            match self.read_response(head).await {
                Ok((status, close)) => {
                    self.record(status, intended);
                    if close {
                        // Requests after a closing response were never answered.
                        if i + 1 < n {
                            return self.fail(ErrorKind::Read);
                        }
                        self.w.slots[self.slot].disarm();
                        return self.reset();
                    }
                }
                Err(kind) => return self.fail(kind),
            }
        }
        self.w.slots[self.slot].disarm();
        if !self.w.plan.keepalive {
            self.reset();
        }
    }

    async fn connect(&mut self) -> bool {
        let w = self.w.clone();
        let open = async {
            let s = TcpStream::connect_addr(w.plan.addr).await?;
            let _ = s.set_nodelay(true);
            match &w.plan.tls {
                None => Ok(Stream::Plain(s)),
                Some(tls) => Stream::handshake(s, tls).await,
            }
        };
        // The TLS handshake counts as part of connecting, with one timeout.
        let attempt = monoio::time::timeout(w.plan.timeout, open).await;
        match attempt {
            Ok(Ok(s)) => {
                self.stream = Some(s);
                true
            }
            Ok(Err(_)) | Err(_) => {
                if !w.stopping.get() {
                    let kind = if attempt.is_err() {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Connect
                    };
                    w.stats.borrow_mut().error(kind);
                    monoio::time::sleep(CONNECT_BACKOFF).await;
                }
                false
            }
        }
    }

    async fn send(&mut self, n: usize) -> Result<(), ErrorKind> {
        let Some(stream) = &mut self.stream else {
            return Err(ErrorKind::Write);
        };
        self.batch.clear();
        for _ in 0..n {
            self.batch.push(self.w.pick());
        }
        let templates = &self.w.plan.templates;
        let (res, written) = if n == 1 {
            let (res, buf) = stream.write_all(templates[self.batch[0]].bytes).await;
            (res, buf.len())
        } else {
            let mut wbuf = std::mem::take(&mut self.wbuf);
            wbuf.clear();
            self.batch
                .iter()
                .for_each(|&t| wbuf.extend_from_slice(templates[t].bytes));
            let (res, buf) = stream.write_all(wbuf).await;
            let len = buf.len();
            self.wbuf = buf;
            (res, len)
        };
        res.map_err(|_| ErrorKind::Write)?;
        if self.w.recording.get() {
            self.w.stats.borrow_mut().bytes_written += written as u64;
        }
        Ok(())
    }

    /// Reads until one whole response is framed: (status, server closes).
    async fn read_response(&mut self, head_request: bool) -> Result<(u16, bool), ErrorKind> {
        loop {
            if self.pos < self.rbuf.len() {
                match self.framer.step(&self.rbuf[self.pos..], head_request) {
                    Ok(Step::Done {
                        consumed,
                        status,
                        close,
                    }) => {
                        self.pos += consumed;
                        return Ok((status, close));
                    }
                    Ok(Step::NeedMore { consumed }) => self.pos += consumed,
                    Err(_) => return Err(ErrorKind::Parse),
                }
            }
            if self.read_more().await? == 0 {
                return match self.framer.eof() {
                    Some(status) => Ok((status, true)),
                    None => Err(ErrorKind::Read),
                };
            }
        }
    }

    async fn read_more(&mut self) -> Result<usize, ErrorKind> {
        let Some(stream) = &mut self.stream else {
            return Err(ErrorKind::Read);
        };
        if self.pos == self.rbuf.len() {
            self.rbuf.clear();
        } else if self.pos > 0 {
            self.rbuf.copy_within(self.pos.., 0);
            self.rbuf.truncate(self.rbuf.len() - self.pos);
        }
        self.pos = 0;
        if self.rbuf.len() == self.rbuf.capacity() {
            // Only an unfinished head stays buffered; the framer caps it.
            self.rbuf.reserve(self.rbuf.capacity().min(MAX_HEAD_BYTES));
        }
        let len = self.rbuf.len();
        let (res, slice) = stream
            .read(std::mem::take(&mut self.rbuf).slice_mut(len..))
            .await;
        self.rbuf = slice.into_inner();
        let n = res.map_err(|_| ErrorKind::Read)?;
        if self.w.recording.get() {
            self.w.stats.borrow_mut().bytes_read += n as u64;
        }
        Ok(n)
    }

    fn record(&self, status: u16, intended: Instant) {
        if self.w.recording.get() {
            self.w.stats.borrow_mut().record(status, intended.elapsed());
        }
    }

    /// Counts a failure (a timeout if the watchdog cut the connection,
    /// nothing once the run is stopping) and drops the connection.
    fn fail(&mut self, kind: ErrorKind) {
        let timed_out = self.w.slots[self.slot].disarm();
        if !self.w.stopping.get() {
            let kind = if timed_out { ErrorKind::Timeout } else { kind };
            self.w.stats.borrow_mut().error(kind);
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.stream = None;
        self.rbuf.clear();
        self.pos = 0;
        self.framer = ResponseFramer::default();
    }
}
