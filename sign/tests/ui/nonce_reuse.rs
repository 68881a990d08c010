use tessera_core::Taproot;
use tessera_sign::{Signer, SigningNonces, SigningPackage};

fn reuse(signer: &Signer<Taproot>, nonces: SigningNonces<Taproot>, a: &SigningPackage<Taproot>) {
    let _ = signer.sign(nonces, a);
    let _ = signer.sign(nonces, a);
}

fn main() {}
