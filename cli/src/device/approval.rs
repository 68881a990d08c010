//! Approvals (design §6, must): which proposals a device takes part in, and who decides.
//!
//! - A keygen is approved automatically only with `--auto-approve keygen`.
//! - A signing session over a raw message is blind signing: refused outright unless the node
//!   runs with `--allow-blind-signing`; then approved automatically only where the home's
//!   `policy.json` allows that key (`{"sign": {"keys": ["NAME", …]}}`), else by a person.
//! - A reshare is never approved automatically, nor is a repair.
//! - A health check (design §3.5) is approved automatically: it signs a fixed message under
//!   a test key that no spend uses.
//! - A transaction (design §6.5) is not blind signing: its person is shown what this device
//!   read out of it. A PSBT is approved automatically only where `policy.json` has a spend
//!   rule for the key, every payment that is not change goes to an allow-listed address, and
//!   what leaves the wallet (payments and fee) is within the rule's per-transaction limit
//!   and, with what the rule approved in the last 24 hours, its per-day limit; a sighash
//!   other than DEFAULT or ALL always waits for a person. A transaction with a part this
//!   device cannot decode (an opaque Solana instruction) is blind signing: refused unless
//!   the node runs with `--allow-blind-signing`, then decided by a person.
//!
//! The node's policy must answer at once, so a proposal that needs a person is refused with
//! [`AWAITING`] and kept here; the person approves or refuses it at the node's prompt or with
//! `tessera approve`; the initiator proposes again and gets the decision. A decision is for
//! one initiator's draft (protocol, parameters, key, epoch, committee; not its nonce) and holds
//! until it expires, so a proposal that another member held up can be made again. Approving
//! the same draft twice signs the same message, or runs a reshare the one-transition rule
//! allows once.

use std::{
    collections::VecDeque,
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use tessera_core::hash::transcript_hash;
use tessera_p2p::{Decision, Kind, PeerId, Proposal};

use crate::device::transaction::View;

/// The refusal that tells an initiator a person has not decided yet.
pub const AWAITING: &str = "awaiting approval";

/// Requests kept for a person at once; more are refused as busy.
const MAX_WAITING: usize = 64;
/// Requests kept from one initiator at once, so one peer cannot crowd out the others.
const MAX_WAITING_PER_INITIATOR: usize = 8;

/// What a proposal asks, as a person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Its id: the first 16 bytes of the draft digest, hex (what `tessera approve` takes);
    /// finding two drafts with one id takes about 2^64 hashes.
    pub id: String,
    /// keygen, sign or reshare.
    pub protocol: String,
    /// The key's local name, or its key id.
    pub key: Option<String>,
    /// The epoch.
    pub epoch: u64,
    /// The initiator, by local name and PeerId.
    pub initiator: Member,
    /// The committee (or signer set), by local names and PeerIds.
    pub committee: Vec<Member>,
    /// The threshold (keygen, reshare), if the parameters say it.
    pub threshold: Option<u16>,
    /// The roster fingerprint, for humans to compare across devices.
    pub fingerprint: Option<String>,
    /// The group key of a reshare, hex: the key a joining device is about to hold a share of.
    #[serde(default)]
    pub group_key: Option<String>,
    /// The child key a signature is for (`m/0/5`), if not the key itself.
    #[serde(default)]
    pub path: Option<String>,
    /// The transaction to sign, as this device read it (design §6.5); its message is then
    /// not shown.
    #[serde(default)]
    pub transaction: Option<View>,
    /// The message to sign, hex.
    pub message: Option<String>,
    /// Its SHA-256, hex.
    pub message_sha256: Option<String>,
    /// Seconds since the Unix epoch when it arrived.
    pub received: u64,
}

/// A device named in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its local name, if it is a known peer (or this device).
    pub name: Option<String>,
    /// Its PeerId.
    pub peer_id: String,
}

/// How a device decides, from its flags and policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// `--auto-approve keygen`.
    pub auto_keygen: bool,
    /// `--allow-blind-signing`: raw messages may be signed at all.
    pub blind_signing: bool,
    /// Keys (by key id, hex) whose raw-message signing the policy file approves.
    pub auto_sign_keys: Vec<String>,
    /// `--expect-key`: the group keys (hex) this device may join by a reshare; empty: any,
    /// each shown to a person. A reshare of a key this device holds is not affected.
    #[serde(default)]
    pub expect_keys: Vec<String>,
    /// The spend rules of `policy.json`, one per key.
    #[serde(default)]
    pub spend: Vec<SpendRule>,
}

/// When a PSBT of a key is approved without a person (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRule {
    /// The key's local name.
    pub key: String,
    /// The key ids (hex) of its epochs.
    pub key_ids: Vec<String>,
    /// The addresses it may pay.
    pub allow: Vec<String>,
    /// The most that may leave the wallet in one transaction, in satoshi.
    pub max_per_tx: u64,
    /// The most that may leave the wallet in 24 hours, in satoshi.
    pub max_per_day: u64,
}

/// What a spend rule approved: when, for which draft, and how much left the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Spent {
    key: String,
    #[serde(with = "hex::serde")]
    digest: [u8; 32],
    time: u64,
    amount: u64,
}

/// A day, in seconds.
const DAY: u64 = 24 * 60 * 60;

/// What a proposal needs before this device takes part, in words for the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Accept,
    /// Accepted by the spend rule of this key, for this amount.
    Spend(String, u64),
    Refuse(String),
    AskPerson,
}

struct Waiting {
    digest: [u8; 32],
    request: Request,
    expires: Instant,
}

/// The decisions of one device (see the module doc).
pub struct Approvals {
    rules: Rules,
    ttl: Duration,
    waiting: VecDeque<Waiting>,
    decided: Vec<([u8; 32], bool, Instant)>,
    /// What the spend rules approved in the last day, and the file that keeps it across
    /// restarts.
    spent: Vec<Spent>,
    ledger: Option<PathBuf>,
}

/// The digest a decision is for: the initiator and everything of its draft but the nonce.
pub fn draft_digest(initiator: &PeerId, proposal: &Proposal) -> [u8; 32] {
    let d = &proposal.draft;
    let kind = [d.kind as u8];
    let epoch = d.epoch.to_be_bytes();
    let from = initiator.to_bytes();
    let roster: Vec<Vec<u8>> = d.roster.iter().map(|p| p.to_bytes()).collect();
    let mut parts: Vec<&[u8]> = vec![&from, &kind, &d.params, &d.key_id, &epoch];
    parts.extend(roster.iter().map(Vec::as_slice));
    transcript_hash("tessera/v1/cli/approval", &parts)
}

/// What a spend rule counts a signing proposal as: its key and its message (the
/// transaction), so that the same transaction proposed again to other signers (robust
/// signing, design §3.2) counts once; the draft's digest if the message does not parse.
fn spend_digest(initiator: &PeerId, proposal: &Proposal) -> [u8; 32] {
    match crate::device::jobs::summarize(&proposal.draft).message {
        Some(message) => {
            transcript_hash("tessera/v1/cli/spend", &[&proposal.draft.key_id, &message])
        }
        None => draft_digest(initiator, proposal),
    }
}

impl Approvals {
    /// Decisions under `rules`; a request waits `ttl` for a person.
    pub fn new(rules: Rules, ttl: Duration) -> Self {
        Approvals {
            rules,
            ttl,
            waiting: VecDeque::new(),
            decided: Vec::new(),
            spent: Vec::new(),
            ledger: None,
        }
    }

    /// Keeps what the spend rules approve in `path` (read now; a file that does not parse is
    /// an error, so a damaged ledger never resets the daily limits).
    pub fn with_ledger(mut self, path: PathBuf) -> Result<Self, String> {
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            self.spent =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        self.ledger = Some(path);
        Ok(self)
    }

    /// Records that the spend rule of `key` approved `amount` for the transaction `digest`
    /// ([`spend_digest`]: once per transaction, whoever is asked to sign it).
    fn record_spend(&mut self, key: String, digest: [u8; 32], amount: u64) -> Result<(), String> {
        let now = now_secs();
        self.spent.retain(|s| s.time.saturating_add(DAY) > now);
        if self.spent.iter().any(|s| s.digest == digest) {
            return Ok(());
        }
        self.spent.push(Spent {
            key,
            digest,
            time: now,
            amount,
        });
        if let Some(path) = &self.ledger {
            let bytes = serde_json::to_vec(&self.spent).map_err(|e| e.to_string())?;
            crate::device::files::write_atomic(path, &bytes).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The spend rule's verdict on `tx` for the key `key_id` and the draft `digest`, if a rule
    /// approves it.
    fn spend_rule(&self, key_id: &[u8; 32], digest: &[u8; 32], tx: &View) -> Option<Verdict> {
        let id = hex::encode(key_id);
        let rule = self.rules.spend.iter().find(|r| r.key_ids.contains(&id))?;
        let allowed = tx
            .payments
            .iter()
            .filter(|p| p.change.is_none())
            .all(|p| rule.allow.contains(&p.to));
        let now = now_secs();
        let today: u64 = self
            .spent
            .iter()
            .filter(|s| {
                s.key == rule.key && s.time.saturating_add(DAY) > now && s.digest != *digest
            })
            .fold(0, |sum, s| sum.saturating_add(s.amount));
        let fits = tx.unit == "sat"
            && tx.warnings.is_empty()
            && !tx.opaque
            && tx.outgoing <= rule.max_per_tx
            && today.saturating_add(tx.outgoing) <= rule.max_per_day;
        (allowed && fits).then(|| Verdict::Spend(rule.key.clone(), tx.outgoing))
    }

    /// The policy's answer to `proposal` from `initiator`, whose message is the transaction
    /// `tx` as this device read it (if it is one), described by `describe` (called only when
    /// a person must see it).
    pub fn decide(
        &mut self,
        initiator: &PeerId,
        proposal: &Proposal,
        tx: Option<&View>,
        describe: impl FnOnce(String) -> Request,
    ) -> Decision {
        let now = Instant::now();
        self.expire(now);
        let digest = draft_digest(initiator, proposal);
        // A decision holds for that initiator's draft until it expires: a proposal another
        // member refused (or still waits on) is proposed again, and must find it.
        if let Some((_, approved, _)) = self.decided.iter().find(|(d, _, _)| *d == digest) {
            return if *approved {
                Decision::Accept
            } else {
                Decision::Refuse("refused by its user".into())
            };
        }
        let spent_as = spend_digest(initiator, proposal);
        match self.verdict(proposal, &spent_as, tx) {
            Verdict::Accept => Decision::Accept,
            Verdict::Spend(key, amount) => match self.record_spend(key, spent_as, amount) {
                Ok(()) => Decision::Accept,
                Err(e) => Decision::Refuse(format!("the spend ledger cannot be written: {e}")),
            },
            Verdict::Refuse(why) => Decision::Refuse(why),
            Verdict::AskPerson => {
                if !self.waiting.iter().any(|w| w.digest == digest) {
                    let from = initiator.to_string();
                    let theirs = self
                        .waiting
                        .iter()
                        .filter(|w| w.request.initiator.peer_id == from)
                        .count();
                    if self.waiting.len() >= MAX_WAITING || theirs >= MAX_WAITING_PER_INITIATOR {
                        return Decision::Refuse("too many requests wait for approval".into());
                    }
                    self.waiting.push_back(Waiting {
                        digest,
                        request: describe(hex::encode(&digest[..16])),
                        expires: now + self.ttl,
                    });
                }
                Decision::Refuse(AWAITING.into())
            }
        }
    }

    fn verdict(&self, proposal: &Proposal, digest: &[u8; 32], tx: Option<&View>) -> Verdict {
        if let (Kind::Sign, Some(tx)) = (proposal.draft.kind, tx) {
            if tx.opaque && !self.rules.blind_signing {
                return Verdict::Refuse(
                    "the transaction has parts this device cannot decode; signing them is blind signing (--allow-blind-signing)".into(),
                );
            }
            return self
                .spend_rule(&proposal.draft.key_id, digest, tx)
                .unwrap_or(Verdict::AskPerson);
        }
        match proposal.draft.kind {
            Kind::Keygen if self.rules.auto_keygen => Verdict::Accept,
            // A repair hands a share to whoever runs the lost device: a person decides.
            Kind::Keygen | Kind::Reshare | Kind::Repair => Verdict::AskPerson,
            // A health check's test signature is under a key no spend uses (design §3.5);
            // the node's policy has already checked that this device holds that epoch.
            Kind::Sign if crate::device::jobs::summarize(&proposal.draft).health => Verdict::Accept,
            Kind::Sign if !self.rules.blind_signing => Verdict::Refuse(
                "blind signing of raw messages is off on this device (--allow-blind-signing)"
                    .into(),
            ),
            Kind::Sign
                if self
                    .rules
                    .auto_sign_keys
                    .contains(&hex::encode(proposal.draft.key_id)) =>
            {
                Verdict::Accept
            }
            Kind::Sign => Verdict::AskPerson,
            Kind::Certify => Verdict::Refuse("certification runs inside a keygen".into()),
        }
    }

    /// Drops requests and decisions whose time is up; returns the expired requests.
    pub fn expire(&mut self, now: Instant) -> Vec<Request> {
        self.decided.retain(|(_, _, until)| *until > now);
        let mut expired = Vec::new();
        while self.waiting.front().is_some_and(|w| w.expires <= now) {
            if let Some(w) = self.waiting.pop_front() {
                expired.push(w.request);
            }
        }
        expired
    }

    /// Whether this device may join the key `group_key` (encoded) by a reshare: any key
    /// (shown to a person) unless `--expect-key` named some.
    pub fn may_join(&self, group_key: &[u8]) -> bool {
        let key = hex::encode(group_key);
        self.rules.expect_keys.is_empty()
            || self
                .rules
                .expect_keys
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&key))
    }

    /// The requests waiting for a person, oldest first.
    pub fn waiting(&self) -> Vec<Request> {
        self.waiting.iter().map(|w| w.request.clone()).collect()
    }

    /// A person's decision on the request `id`: the initiator's next proposal of that draft
    /// is accepted (once) or refused. None if no such request waits.
    pub fn resolve(&mut self, id: &str, approve: bool) -> Option<Request> {
        let i = self.waiting.iter().position(|w| w.request.id == id)?;
        let w = self.waiting.remove(i)?;
        // Counted from the decision: the initiator has the full time to propose again.
        self.decided
            .push((w.digest, approve, Instant::now() + self.ttl));
        Some(w.request)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_p2p::Draft;

    fn proposal(kind: Kind, key_id: [u8; 32]) -> Proposal {
        Proposal {
            draft: Draft {
                kind,
                params: vec![0, 1, 2],
                key_id,
                epoch: 0,
                roster: vec![PeerId::random(), PeerId::random()],
            },
            nonce: [7; 32],
        }
    }

    fn request(id: String) -> Request {
        Request {
            id,
            protocol: "x".into(),
            key: None,
            epoch: 0,
            initiator: Member {
                name: None,
                peer_id: String::new(),
            },
            committee: vec![],
            threshold: None,
            fingerprint: None,
            group_key: None,
            path: None,
            transaction: None,
            message: None,
            message_sha256: None,
            received: 0,
        }
    }

    #[test]
    fn a_person_decides_once_and_rules_decide_the_rest() {
        let rules = Rules {
            auto_keygen: false,
            blind_signing: true,
            auto_sign_keys: vec![hex::encode([1; 32])],
            expect_keys: Vec::new(),
            spend: Vec::new(),
        };
        let mut a = Approvals::new(rules, Duration::from_secs(60));
        let from = PeerId::random();
        let keygen = proposal(Kind::Keygen, [0; 32]);
        assert_eq!(
            a.decide(&from, &keygen, None, request),
            Decision::Refuse(AWAITING.into())
        );
        // A retry waits too, without a second request.
        assert_eq!(
            a.decide(&from, &keygen, None, request),
            Decision::Refuse(AWAITING.into())
        );
        let waiting = a.waiting();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].id.len(), 32);
        assert!(a.resolve(&waiting[0].id, true).is_some());
        assert_eq!(a.decide(&from, &keygen, None, request), Decision::Accept);
        // The decision holds for this initiator's draft until it expires (a proposal another
        // member held up is made again), and for no other initiator's.
        assert_eq!(a.decide(&from, &keygen, None, request), Decision::Accept);
        let other = PeerId::random();
        assert_eq!(
            a.decide(&other, &keygen, None, request),
            Decision::Refuse(AWAITING.into())
        );
        let id = a.waiting()[0].id.clone();
        a.resolve(&id, false);
        assert!(
            matches!(a.decide(&other, &keygen, None, request), Decision::Refuse(r) if r.contains("refused"))
        );
        // Signing: the policy's key is automatic, another waits; a reshare always waits.
        assert_eq!(
            a.decide(&from, &proposal(Kind::Sign, [1; 32]), None, request),
            Decision::Accept
        );
        assert_eq!(
            a.decide(&from, &proposal(Kind::Sign, [2; 32]), None, request),
            Decision::Refuse(AWAITING.into())
        );
        assert_eq!(
            a.decide(&from, &proposal(Kind::Reshare, [1; 32]), None, request),
            Decision::Refuse(AWAITING.into())
        );
        // Requests expire.
        assert_eq!(a.expire(Instant::now() + Duration::from_secs(61)).len(), 2);
        assert!(a.waiting().is_empty());
        // Without blind signing, raw messages are refused outright.
        let mut strict = Approvals::new(Rules::default(), Duration::from_secs(60));
        let from = PeerId::random();
        assert!(matches!(
            strict.decide(&from, &proposal(Kind::Sign, [1; 32]), None, request),
            Decision::Refuse(r) if r.contains("blind signing")
        ));
    }

    fn view(to: &str, amount: u64, warnings: Vec<String>) -> View {
        View {
            chain: "bitcoin (regtest)".into(),
            unit: "sat".into(),
            details: Vec::new(),
            payments: vec![
                crate::device::transaction::Payment {
                    to: to.into(),
                    amount,
                    change: None,
                },
                crate::device::transaction::Payment {
                    to: "change-address".into(),
                    amount: 1_000_000,
                    change: Some("change (m/1/0)".into()),
                },
            ],
            fee: Some(100),
            opaque: false,
            warnings,
            outgoing: amount + 100,
        }
    }

    /// A spend rule approves allow-listed payments within its limits (change and the same
    /// draft not counted twice), keeps its ledger across a restart, and leaves everything
    /// else to a person; an opaque transaction is blind signing.
    #[test]
    fn spend_rules_approve_within_limits_and_opaque_needs_blind_signing() {
        let dir = std::env::temp_dir().join(format!("tessera-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ledger = dir.join("spent.json");
        let rules = Rules {
            spend: vec![SpendRule {
                key: "vault".into(),
                key_ids: vec![hex::encode([1; 32])],
                allow: vec!["shop".into()],
                max_per_tx: 50_000,
                max_per_day: 100_000,
            }],
            ..Rules::default()
        };
        let new = || {
            Approvals::new(rules.clone(), Duration::from_secs(60))
                .with_ledger(ledger.clone())
                .unwrap()
        };
        let mut a = new();
        let from = PeerId::random();
        let base = proposal(Kind::Sign, [0; 32]);
        let sign = |key: [u8; 32], nonce: u8| {
            let mut p = base.clone();
            p.draft.key_id = key;
            p.draft.params = vec![nonce];
            p
        };
        let waits = Decision::Refuse(AWAITING.into());
        let shop = view("shop", 40_000, vec![]);
        assert_eq!(
            a.decide(&from, &sign([1; 32], 1), Some(&shop), request),
            Decision::Accept
        );
        // The same draft proposed again is not counted twice.
        assert_eq!(
            a.decide(&from, &sign([1; 32], 1), Some(&shop), request),
            Decision::Accept
        );
        assert_eq!(
            a.decide(&from, &sign([1; 32], 2), Some(&shop), request),
            Decision::Accept
        );
        // 80 200 spent today: 40 100 more would pass the day's limit, even after a restart.
        let mut a = new();
        assert_eq!(
            a.decide(&from, &sign([1; 32], 3), Some(&shop), request),
            waits
        );
        let cases = [
            ([1; 32], view("elsewhere", 10, vec![])),
            ([1; 32], view("shop", 60_000, vec![])),
            ([1; 32], view("shop", 10, vec!["sighash NONE".into()])),
            ([2; 32], view("shop", 10, vec![])),
        ];
        for (nonce, (key, tx)) in (4..).zip(cases) {
            assert_eq!(
                a.decide(&from, &sign(key, nonce), Some(&tx), request),
                waits
            );
        }
        let opaque = View {
            opaque: true,
            ..view("shop", 10, vec!["opaque".into()])
        };
        assert!(matches!(
            a.decide(&from, &sign([1; 32], 9), Some(&opaque), request),
            Decision::Refuse(r) if r.contains("blind signing")
        ));
        // The same transaction proposed to other signers (robust signing) counts once.
        let mut fresh = Approvals::new(rules.clone(), Duration::from_secs(60));
        let psbt = |signers: [u16; 2], roster: Vec<PeerId>| {
            let mut w = tessera_p2p::Writer::default();
            w.u8(2);
            w.u16(2);
            w.u16(signers[0]);
            w.u16(signers[1]);
            w.long(b"the same transaction");
            w.u8(3);
            w.u8(3);
            w.u8(0);
            let mut p = base.clone();
            p.draft.key_id = [1; 32];
            p.draft.params = w.finish();
            p.draft.roster = roster;
            p
        };
        for (signers, roster) in [
            ([1, 2], base.draft.roster.clone()),
            ([1, 3], vec![PeerId::random(), PeerId::random()]),
        ] {
            assert_eq!(
                fresh.decide(&from, &psbt(signers, roster), Some(&shop), request),
                Decision::Accept
            );
        }
        assert_eq!(fresh.spent.len(), 1);
        // A damaged ledger is an error, never a reset of the day's total.
        std::fs::write(&ledger, b"[{").unwrap();
        assert!(Approvals::new(rules.clone(), Duration::from_secs(60))
            .with_ledger(ledger.clone())
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
