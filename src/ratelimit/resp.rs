//! A minimal RESP2 client over a blocking `std::net::TcpStream`: commands
//! as arrays of bulk strings, replies parsed into `Reply`. Enough for
//! SCRIPT LOAD / EVALSHA / EVAL / PING, pipelined.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// The most a reply may nest or hold; anything bigger is a broken server.
const MAX_ITEMS: i64 = 1024;
const MAX_BULK: i64 = 1 << 20;

pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn connect(address: &str, connect: Duration, command: Duration) -> io::Result<Conn> {
        let mut last = io::Error::other(format!("{address}: no addresses"));
        for addr in address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, connect) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    s.set_read_timeout(Some(command))?;
                    s.set_write_timeout(Some(command))?;
                    return Ok(Conn {
                        reader: BufReader::new(s.try_clone()?),
                        writer: s,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Sends several commands in one write; read their replies with `read`.
    pub fn send(&mut self, commands: &[Vec<&[u8]>]) -> io::Result<()> {
        let mut out = Vec::with_capacity(256 * commands.len());
        for args in commands {
            encode(&mut out, args);
        }
        self.writer.write_all(&out)
    }

    pub fn read(&mut self) -> io::Result<Reply> {
        read_reply(&mut self.reader, 0)
    }

    pub fn call(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        self.send(&[args.to_vec()])?;
        self.read()
    }
}

pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("redis: {what}"))
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = r.take(64 * 1024).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "redis closed"));
    }
    if !line.ends_with(b"\r\n") {
        return Err(bad("line without CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| bad("non-UTF-8 line"))
}

fn read_reply(r: &mut impl BufRead, depth: usize) -> io::Result<Reply> {
    if depth > 4 {
        return Err(bad("reply nested too deep"));
    }
    let line = read_line(r)?;
    let (kind, rest) = line.split_at_checked(1).ok_or_else(|| bad("empty line"))?;
    let int = || rest.parse::<i64>().map_err(|_| bad("bad integer"));
    Ok(match kind {
        "+" => Reply::Status(rest.to_string()),
        "-" => Reply::Error(rest.to_string()),
        ":" => Reply::Int(int()?),
        "$" => match int()? {
            -1 => Reply::Bulk(None),
            n if (0..=MAX_BULK).contains(&n) => {
                let mut buf = vec![0; n as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
            _ => return Err(bad("bad bulk length")),
        },
        "*" => match int()? {
            -1 => Reply::Array(None),
            n if (0..=MAX_ITEMS).contains(&n) => {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(read_reply(r, depth + 1)?);
                }
                Reply::Array(Some(items))
            }
            _ => return Err(bad("bad array length")),
        },
        _ => return Err(bad("unknown reply type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Reply> {
        read_reply(&mut BufReader::new(bytes), 0)
    }

    #[test]
    fn encodes_commands() {
        let mut out = Vec::new();
        encode(&mut out, &[b"PING"]);
        encode(&mut out, &[b"GET", b"k"]);
        assert_eq!(out, b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }

    #[test]
    fn parses_replies() {
        assert_eq!(parse(b"+PONG\r\n").unwrap(), Reply::Status("PONG".into()));
        assert_eq!(
            parse(b"-NOSCRIPT x\r\n").unwrap(),
            Reply::Error("NOSCRIPT x".into())
        );
        assert_eq!(parse(b":-3\r\n").unwrap(), Reply::Int(-3));
        assert_eq!(parse(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(
            parse(b"*2\r\n:1\r\n$2\r\nab\r\n").unwrap(),
            Reply::Array(Some(vec![Reply::Int(1), Reply::Bulk(Some(b"ab".to_vec()))]))
        );
        assert!(parse(b"*99999999\r\n").is_err());
        assert!(parse(b"$5\r\nab").is_err());
        assert!(parse(b"?\r\n").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
    }
}
