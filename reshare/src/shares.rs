//! Reshare round 2 (design §3.3 steps 1 and 3): each dealer sends `g_i(j)` to each new party
//! j, with the echo hash of every deal it saw, as a
//! [`share_message`](tessera_core::share_message) (sent point-to-point, not signed: a bad
//! share is "accused by j").

use tessera_core::share_message::{ShareMessage, Tags};

/// A received share.
pub(crate) type Share<C> = ShareMessage<C>;

/// The reshare's share-message tags: the echo over the deals in dealer order.
pub(crate) const TAGS: Tags = Tags {
    echo: "tessera/v1/reshare/echo",
    repeat: "tessera/v1/reshare/share-repeat",
};
