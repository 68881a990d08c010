use tessera_core::Taproot;
use tessera_sign::SigningNonces;

fn assert_clone<T: Clone>() {}

fn main() {
    assert_clone::<SigningNonces<Taproot>>();
}
