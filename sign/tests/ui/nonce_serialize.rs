use tessera_core::Secp256k1;
use tessera_sign::SigningNonces;

fn assert_serialize<T: serde::Serialize>() {}

fn main() {
    assert_serialize::<SigningNonces<Secp256k1>>();
}
