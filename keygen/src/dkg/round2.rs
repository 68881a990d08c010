//! DKG round 2 (design §3.1 steps 2–3): each party's secret share `f_i(j)` to party j, with
//! the echo hash of all n round-1 messages the sender saw, as a
//! [`share_message`](tessera_core::share_message) (sent point-to-point, not signed: a bad
//! share is "accused by j").

use tessera_core::share_message::{ShareMessage, Tags};

/// A received round-2 message.
pub(crate) type Round2<C> = ShareMessage<C>;

/// The DKG's share-message tags: the echo over the round-1 payloads in roster order.
pub(crate) const TAGS: Tags = Tags {
    echo: "tessera/v1/dkg/echo",
    repeat: "tessera/v1/dkg/round2-repeat",
};
