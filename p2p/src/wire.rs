//! The messages nodes exchange over `/tessera/mpc/2` (design §4), and their strict encoding.
//!
//! Every request is acknowledged by its response: that is the delivery signal the session
//! layer retries on. A protocol message travels as [`Request::Message`] with the protocol's
//! own payload, whose header carries the session id and round; its sender is the peer the
//! connection authenticated, never a field of the message.
//!
//! Encodings (big-endian integers, 32-byte digests, nonces and ids, 64-byte signatures):
//!
//! | message | bytes |
//! |---|---|
//! | `Propose` | 1, proposal ([`Proposal::encode`](crate::Proposal::encode)) |
//! | `Start` | 2, digest, u16 n, n nonces, n acceptances, initiator signature |
//! | `Message` | 3, protocol payload |
//! | `Abort` | 4, session id, u16 count, count × party index (u16): the culprits named, reason |
//! | `Confirm` | 5, digest, session id, acceptances hash, initiator signature |
//! | `Ask` | 6, the application's question |
//! | `Accepted` | 1, nonce, acceptance signature |
//! | `Answer` | 10, the application's answer |
//! | other responses | their tag (2 to 9), then a reason for `Refused` and `Rejected` |

use tessera_core::{identity::SIGNATURE_LEN, SessionId};
use zeroize::Zeroizing;

use crate::proposal::{Signature, Stamp, Start};

/// Why bytes from a peer were not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ended early.
    #[error("message truncated")]
    Truncated,
    /// Bytes after the end of the message.
    #[error("trailing bytes after the message")]
    Trailing,
    /// A field with a value that is not allowed.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Most bytes of a reason string (refusal, abort).
const MAX_REASON: usize = 256;

/// A request: the first frame of a stream.
#[derive(PartialEq, Eq)]
pub enum Request {
    /// A proposal from its initiator (the nonce is inside the proposal).
    Propose(Vec<u8>),
    /// The initiator's signed start, from the initiator or passed on by a member that has
    /// it and has not heard a confirmation from the recipient.
    Start(Start),
    /// A protocol message: the payload starts with the protocol header. Point-to-point
    /// payloads carry secret shares, so the buffer is wiped on drop.
    Message(Zeroizing<Vec<u8>>),
    /// The sender has aborted a session.
    Abort {
        /// The session.
        session: SessionId,
        /// The roster indices of the members the sender blames (at most
        /// [`MAX_ROSTER`](crate::proposal::MAX_ROSTER)); its word only.
        named: Vec<u16>,
        /// Why, in one line.
        reason: String,
    },
    /// A member's confirmation to another member of the start it received.
    Confirm(Stamp),
    /// A question outside any session, for the application's [`Answerer`](crate::Answerer)
    /// (a device asking its committee for a certificate it missed).
    Ask(Vec<u8>),
}

/// A response: the acknowledgement of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The proposal is accepted.
    Accepted {
        /// The acceptor's nonce.
        nonce: [u8; 32],
        /// Its signature over the proposal digest and the nonce.
        signature: Signature,
    },
    /// The proposal or start is refused, with the reason.
    Refused(String),
    /// Taken.
    Ack,
    /// Already taken (identical repeat, or a conflicting repeat kept as evidence).
    Duplicate,
    /// Held until the session starts here (a message or a confirmation).
    Buffered,
    /// The recipient has no such session (it restarted, or never accepted it).
    UnknownSession,
    /// The recipient has finished or aborted the session.
    Ended,
    /// The recipient accepted the session but has not seen it start, and holds only round 1
    /// until then, or holds as much of the sender's or the session's messages as its byte
    /// budgets allow: send again later.
    Later,
    /// The request is malformed or over a limit.
    Rejected(String),
    /// The application's answer to an [`Request::Ask`].
    Answer(Vec<u8>),
}

impl std::fmt::Debug for Request {
    // A message may carry a secret share: print sizes, not bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Propose(p) => write!(f, "Propose({} bytes)", p.len()),
            Request::Start(s) => write!(f, "Start({} nonces)", s.nonces.len()),
            Request::Confirm(_) => write!(f, "Confirm"),
            Request::Message(p) => write!(f, "Message({} bytes)", p.len()),
            Request::Abort { reason, .. } => write!(f, "Abort({reason:?})"),
            Request::Ask(q) => write!(f, "Ask({} bytes)", q.len()),
        }
    }
}

impl Request {
    /// Encodes the request.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::default();
        match self {
            Request::Propose(p) => {
                w.u8(1);
                w.raw(p);
            }
            Request::Start(s) => {
                w.u8(2);
                w.bytes32(&s.digest);
                // Nonce lists come from a checked roster of at most MAX_ROSTER parties, and
                // a start carries one acceptance per nonce.
                w.u16(s.nonces.len() as u16);
                for n in &s.nonces {
                    w.bytes32(n);
                }
                for a in s.acceptances.iter().take(s.nonces.len()) {
                    w.raw(a);
                }
                w.raw(&s.signature);
            }
            Request::Message(payload) => {
                w.u8(3);
                w.raw(payload);
            }
            Request::Abort {
                session,
                named,
                reason,
            } => {
                w.u8(4);
                w.bytes32(session);
                let named = &named[..named.len().min(crate::proposal::MAX_ROSTER)];
                // At most MAX_ROSTER (1024) entries, just above.
                w.u16(named.len() as u16);
                for i in named {
                    w.u16(*i);
                }
                w.raw(truncate(reason).as_bytes());
            }
            Request::Confirm(stamp) => {
                w.u8(5);
                w.bytes32(&stamp.digest);
                w.bytes32(&stamp.session);
                w.bytes32(&stamp.acceptances);
                w.raw(&stamp.signature);
            }
            Request::Ask(query) => {
                w.u8(6);
                w.raw(query);
            }
        }
        Zeroizing::new(w.finish())
    }

    /// Decodes a request strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let request = match r.u8()? {
            1 => Request::Propose(r.rest().to_vec()),
            2 => {
                let digest = r.bytes32()?;
                let n = usize::from(r.u16()?);
                if n > crate::proposal::MAX_ROSTER {
                    return Err(WireError::Invalid("too many nonces"));
                }
                let nonces = (0..n).map(|_| r.bytes32()).collect::<Result<_, _>>()?;
                let acceptances = (0..n).map(|_| r.signature()).collect::<Result<_, _>>()?;
                Request::Start(Start {
                    digest,
                    nonces,
                    acceptances,
                    signature: r.signature()?,
                })
            }
            3 => Request::Message(Zeroizing::new(r.rest().to_vec())),
            4 => {
                let session = r.bytes32()?;
                let n = usize::from(r.u16()?);
                if n > crate::proposal::MAX_ROSTER {
                    return Err(WireError::Invalid("too many culprits named"));
                }
                let named = (0..n).map(|_| r.u16()).collect::<Result<_, _>>()?;
                Request::Abort {
                    session,
                    named,
                    reason: reason(r.rest())?,
                }
            }
            5 => Request::Confirm(Stamp {
                digest: r.bytes32()?,
                session: r.bytes32()?,
                acceptances: r.bytes32()?,
                signature: r.signature()?,
            }),
            6 => Request::Ask(r.rest().to_vec()),
            _ => return Err(WireError::Invalid("unknown request type")),
        };
        r.end()?;
        Ok(request)
    }
}

impl Response {
    /// Encodes the response.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            Response::Accepted { nonce, signature } => {
                w.u8(1);
                w.bytes32(nonce);
                w.raw(signature);
            }
            Response::Refused(why) => {
                w.u8(2);
                w.raw(truncate(why).as_bytes());
            }
            Response::Ack => w.u8(3),
            Response::Duplicate => w.u8(4),
            Response::Buffered => w.u8(5),
            Response::UnknownSession => w.u8(6),
            Response::Ended => w.u8(7),
            Response::Rejected(why) => {
                w.u8(8);
                w.raw(truncate(why).as_bytes());
            }
            Response::Later => w.u8(9),
            Response::Answer(bytes) => {
                w.u8(10);
                w.raw(bytes);
            }
        }
        w.finish()
    }

    /// Decodes a response strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let response = match r.u8()? {
            1 => Response::Accepted {
                nonce: r.bytes32()?,
                signature: r.signature()?,
            },
            2 => Response::Refused(reason(r.rest())?),
            3 => Response::Ack,
            4 => Response::Duplicate,
            5 => Response::Buffered,
            6 => Response::UnknownSession,
            7 => Response::Ended,
            8 => Response::Rejected(reason(r.rest())?),
            9 => Response::Later,
            10 => Response::Answer(r.rest().to_vec()),
            _ => return Err(WireError::Invalid("unknown response type")),
        };
        r.end()?;
        Ok(response)
    }
}

/// A reason cut to [`MAX_REASON`] bytes at a character boundary.
/// A reason as sent: control characters replaced by spaces (the receiver refuses them) and
/// cut to at most `MAX_REASON` bytes at a character boundary.
fn truncate(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut end = clean.len().min(MAX_REASON);
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    clean[..end].to_string()
}

fn reason(bytes: &[u8]) -> Result<String, WireError> {
    if bytes.len() > MAX_REASON {
        return Err(WireError::Invalid("reason too long"));
    }
    let s = std::str::from_utf8(bytes).map_err(|_| WireError::Invalid("reason is not UTF-8"))?;
    // Reasons end up in logs and on terminals: no control characters.
    if s.chars().any(char::is_control) {
        return Err(WireError::Invalid("control character in reason"));
    }
    Ok(s.to_owned())
}

/// Appends big-endian fields: the encoding of every frame, also used by applications for
/// the parameters of their proposals.
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    /// A big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// A big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// 32 bytes.
    pub fn bytes32(&mut self, v: &[u8; 32]) {
        self.0.extend_from_slice(v);
    }
    /// Bytes, no length.
    pub fn raw(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    /// A byte string of at most 255 bytes, length first. Callers pass peer ids (≤ 42 bytes).
    pub fn short(&mut self, v: &[u8]) {
        self.u8(v.len() as u8);
        self.raw(v);
    }
    /// A byte string of at most 2^32 - 1 bytes, length first (frames are far smaller).
    pub fn long(&mut self, v: &[u8]) {
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.raw(v);
    }
    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads the fields a [`Writer`] appends, failing on short input.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A reader of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    /// 32 bytes.
    pub fn bytes32(&mut self) -> Result<[u8; 32], WireError> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }
    /// A 64-byte signature.
    pub fn signature(&mut self) -> Result<Signature, WireError> {
        let mut a = [0u8; SIGNATURE_LEN];
        a.copy_from_slice(self.take(SIGNATURE_LEN)?);
        Ok(a)
    }
    /// A byte string of at most 255 bytes, length first.
    pub fn short(&mut self) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    /// A byte string, u32 length first.
    pub fn long(&mut self) -> Result<&'a [u8], WireError> {
        let b = self.take(4)?;
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        self.take(n)
    }
    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
    /// Nothing is left.
    pub fn end(&self) -> Result<(), WireError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_round_trip() {
        let requests = [
            Request::Propose(vec![1, 2, 3]),
            Request::Start(Start {
                digest: [4; 32],
                nonces: vec![[5; 32], [6; 32]],
                acceptances: vec![[1; 64], [2; 64]],
                signature: [3; 64],
            }),
            Request::Message(Zeroizing::new(vec![7; 40])),
            Request::Abort {
                session: [8; 32],
                named: vec![2],
                reason: "party 2 sent a bad share".into(),
            },
            Request::Abort {
                session: [8; 32],
                named: Vec::new(),
                reason: String::new(),
            },
            Request::Confirm(Stamp {
                digest: [1; 32],
                session: [2; 32],
                acceptances: [3; 32],
                signature: [4; 64],
            }),
            Request::Ask(b"{\"certificate\":\"00\"}".to_vec()),
            Request::Ask(Vec::new()),
        ];
        for r in requests {
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
        let responses = [
            Response::Accepted {
                nonce: [1; 32],
                signature: [2; 64],
            },
            Response::Refused("busy".into()),
            Response::Ack,
            Response::Duplicate,
            Response::Buffered,
            Response::UnknownSession,
            Response::Ended,
            Response::Rejected("too big".into()),
            Response::Later,
            Response::Answer(vec![9; 100]),
            Response::Answer(Vec::new()),
        ];
        for r in responses {
            assert_eq!(Response::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            &[][..],
            &[0][..],
            &[9][..],
            &[2, 0][..],
            &[2; 34][..],
            &[4, 1, 2][..],
        ] {
            assert!(Request::decode(bad).is_err(), "{bad:?}");
        }
        assert!(Response::decode(&[3, 0]).is_err());
        assert!(Response::decode(&[2, 0x1b]).is_err(), "control character");
        assert!(Response::decode(&[1, 0]).is_err());
        assert!(
            Response::decode(&[1; 33]).is_err(),
            "a nonce without its signature"
        );
        // A start or confirmation cut anywhere, or with a byte more, is an error.
        let start = Request::Start(Start {
            digest: [4; 32],
            nonces: vec![[5; 32]; 3],
            acceptances: vec![[1; 64]; 3],
            signature: [3; 64],
        })
        .encode();
        let confirm = Request::Confirm(Stamp {
            digest: [1; 32],
            session: [2; 32],
            acceptances: [3; 32],
            signature: [4; 64],
        })
        .encode();
        for bytes in [start, confirm] {
            for cut in 0..bytes.len() {
                assert!(Request::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut long = bytes.to_vec();
            long.push(0);
            assert!(Request::decode(&long).is_err());
        }
    }

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        let long = "é".repeat(300);
        let Response::Refused(cut) = Response::decode(&Response::Refused(long).encode()).unwrap()
        else {
            panic!("not a refusal")
        };
        assert!(cut.len() <= MAX_REASON && cut.chars().all(|c| c == 'é'));
    }
}
