//! Certification (design §3.1 step 4): every party broadcasts its confirmation (an identity
//! signature over the key id); n valid confirmations form the [`Certificate`]. A party that
//! has the certificate relays it to everyone, so a party that missed a confirmation still
//! activates.
//!
//! Run it only after the pending share is persisted: the confirmation goes out in
//! [`Protocol::start`]. If certification fails, keep the pending share (another party may
//! activate and relay the certificate later); never activate without a certificate.
//!
//! Round 1 body: the 64-byte confirmation signature; one that does not verify aborts naming
//! its sender. Round 2 body: a relayed certificate, n signatures in roster order; one that does
//! not verify is ignored (a relay is optional help, and a valid one may still come).

use std::sync::Arc;

use tessera_core::{
    protocol::{Header, Kind, Outgoing, Recipient},
    Ciphersuite, Evidence, Fault, IdentityKey, PartyIndex, Protocol, SessionId, Step,
};

use crate::{
    error::KeygenError,
    keyshare::{Certificate, PendingKeyShare, CONFIRM_PURPOSE},
};

/// The round that carries this party's confirmation: what a device must have recorded as
/// sent before it leaves (design §5.7).
pub const CONFIRM_ROUND: u8 = 1;

/// One party collecting confirmations into a certificate.
pub struct Certify {
    session: SessionId,
    me: PartyIndex,
    roster: Arc<Vec<IdentityKey>>,
    key_id: [u8; 32],
    signatures: Vec<Option<[u8; 64]>>,
    over: bool,
}

impl Certify {
    /// Certification of `pending`, in the DKG's session.
    pub fn new<C: Ciphersuite>(pending: &PendingKeyShare<C>, session: SessionId) -> Self {
        let n = pending.roster().len();
        let own = pending.confirmation();
        let mut signatures = vec![None; n];
        signatures[usize::from(own.party)] = Some(own.signature);
        Self {
            session,
            me: own.party,
            roster: pending.meta.roster.clone(),
            key_id: *pending.key_id(),
            signatures,
            over: false,
        }
    }

    fn header(&self, round: u8) -> Header {
        Header {
            kind: Kind::Certify,
            session: self.session,
            round,
        }
    }

    fn accuse(&self, party: PartyIndex, fault: Fault) -> KeygenError {
        KeygenError::culprit(party, fault, Evidence::AccusedBy(self.me))
    }

    /// The certificate, with a relay of it to everyone.
    fn complete(&mut self) -> Option<Step<Certificate>> {
        let signatures: Option<Vec<[u8; 64]>> = self.signatures.iter().copied().collect();
        let certificate = Certificate {
            key_id: self.key_id,
            signatures: signatures?,
        };
        let mut payload = self.header(2).encode();
        certificate
            .signatures
            .iter()
            .for_each(|s| payload.extend_from_slice(s));
        self.over = true;
        Some(Step::Done(
            vec![Outgoing {
                to: Recipient::All,
                payload,
            }],
            certificate,
        ))
    }

    fn dispatch(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<Certificate>, KeygenError> {
        let slot = usize::from(from);
        if from == self.me {
            // A transport loopback: nothing this party needs from itself.
            return Ok(Step::Continue(Vec::new()));
        }
        if slot >= self.roster.len() {
            return Err(self.accuse(from, Fault::UnknownSender));
        }
        let (header, body) = Header::decode(payload).map_err(|f| self.accuse(from, f))?;
        if header.kind != Kind::Certify {
            return Err(self.accuse(from, Fault::WrongProtocol));
        }
        if header.session != self.session {
            return Err(self.accuse(from, Fault::WrongSession));
        }
        match header.round {
            CONFIRM_ROUND => {
                if !self.roster[slot].verify(CONFIRM_PURPOSE, &self.key_id, body) {
                    return Err(self.accuse(from, Fault::BadConfirmation));
                }
                if self.signatures[slot].is_none() {
                    let mut sig = [0u8; 64];
                    sig.copy_from_slice(body);
                    self.signatures[slot] = Some(sig);
                }
                Ok(self.complete().unwrap_or(Step::Continue(Vec::new())))
            }
            2 => {
                let signatures: Vec<[u8; 64]> = body
                    .chunks_exact(64)
                    .map(|c| {
                        let mut s = [0u8; 64];
                        s.copy_from_slice(c);
                        s
                    })
                    .collect();
                let certificate = Certificate {
                    key_id: self.key_id,
                    signatures,
                };
                if body.len() % 64 != 0 || certificate.verify(&self.roster, &self.key_id).is_err() {
                    // A relay is optional help: a bad one changes nothing here, and a valid one
                    // from another party may still come. The party keeps listening.
                    return Ok(Step::Continue(Vec::new()));
                }
                self.over = true;
                Ok(Step::Done(Vec::new(), certificate))
            }
            r => Err(self.accuse(from, Fault::WrongRound(r))),
        }
    }
}

impl Protocol for Certify {
    type Output = Certificate;
    type Error = KeygenError;

    fn kind(&self) -> Kind {
        Kind::Certify
    }

    fn session(&self) -> &SessionId {
        &self.session
    }

    fn me(&self) -> PartyIndex {
        self.me
    }

    fn parties(&self) -> u16 {
        // The roster came from a DKG, which allows at most 65535 parties.
        self.roster.len() as u16
    }

    fn start(&mut self) -> Result<Vec<Outgoing>, KeygenError> {
        let own = self.signatures[usize::from(self.me)].ok_or(KeygenError::Finished)?;
        let mut payload = self.header(CONFIRM_ROUND).encode();
        payload.extend_from_slice(&own);
        Ok(vec![Outgoing {
            to: Recipient::All,
            payload,
        }])
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<Certificate>, KeygenError> {
        if self.over {
            return Err(KeygenError::Finished);
        }
        let result = self.dispatch(from, payload);
        if result.is_err() {
            self.over = true;
        }
        result
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        tessera_core::protocol::missing(&self.signatures)
    }
}
