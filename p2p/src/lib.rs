//! # tessera-p2p (not built yet)
//!
//! The libp2p mesh (design §4): node identity, committee allow-list, discovery, the session
//! layer with acknowledgements, deadlines and equivocation evidence, and one driver that runs
//! any sans-IO `Protocol` (keygen, sign, reshare) across nodes. Empty until the mesh issue is
//! done.
#![forbid(unsafe_code)]
