//! The test hooks of the crash-safety and repair tests. The crash point (design §5.7): with
//! `TESSERA_TEST_KILL_AT=KIND:ROUND` in its environment (`keygen`, `certify`, `sign` or
//! `reshare`, and a protocol round from 1), a device's process sends itself SIGKILL at the
//! moment its first message of that round would leave: everything before is done (shares
//! persisted, files written), nothing of the round is sent. It is read once, when the first
//! job starts, and changes nothing else; unset, nothing is checked.

use std::sync::OnceLock;

use tessera_core::protocol::{Header, Kind, Outgoing};

/// Where to die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    kind: Kind,
    round: u8,
}

/// The environment variable.
pub const VAR: &str = "TESSERA_TEST_KILL_AT";

/// The test variable that makes this device, as a repair helper, send a wrong sum (its own
/// plus one): the repair then fails its check at the lost device, which asks other helpers
/// (design §3.4). It can only make a repair fail, never change a share.
pub const LIE_VAR: &str = "TESSERA_TEST_LIE_IN_REPAIR";

/// Whether [`LIE_VAR`] is set.
pub fn lies_in_repair() -> bool {
    static LIES: OnceLock<bool> = OnceLock::new();
    *LIES.get_or_init(|| std::env::var_os(LIE_VAR).is_some())
}

/// The crash point set in the environment, if any.
pub fn point() -> Option<Point> {
    static POINT: OnceLock<Option<Point>> = OnceLock::new();
    *POINT.get_or_init(|| parse(&std::env::var(VAR).ok()?))
}

fn parse(text: &str) -> Option<Point> {
    let (kind, round) = text.split_once(':')?;
    let kind = Kind::from_name(kind)?;
    Some(Point {
        kind,
        round: round.parse().ok()?,
    })
}

/// Whether `out` holds a message of round `round` of protocol `kind`.
pub fn holds_round(out: &[Outgoing], kind: Kind, round: u8) -> bool {
    out.iter()
        .any(|o| Header::decode(&o.payload).is_ok_and(|(h, _)| h.kind == kind && h.round == round))
}

impl Point {
    /// Kills this process if `out` holds a message of the point's round.
    pub fn check(&self, out: &[Outgoing]) {
        if holds_round(out, self.kind, self.round) {
            // A real SIGKILL, as a power cut or the OOM killer would deliver it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            // The signal is on its way; nothing of this step may leave meanwhile, and if it
            // never comes (no `kill` on the PATH), the process still ends here, uncleanly.
            std::thread::sleep(std::time::Duration::from_millis(500));
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_and_round() {
        assert_eq!(
            parse("reshare:4"),
            Some(Point {
                kind: Kind::Reshare,
                round: 4
            })
        );
        assert_eq!(parse("reshare"), None);
        assert_eq!(parse("dance:1"), None);
        assert_eq!(parse("sign:x"), None);
    }
}
