//! Runs the session sealer contract suite against `SessionCipher`, the key
//! file's sealer (`KmsSealer` runs it on the moto server in tgdesk-aws).

use std::sync::Arc;
use tgdesk_core::ports::SessionSealer;
use tgdesk_telegram::SessionCipher;

async fn fresh_sealer() -> Arc<dyn SessionSealer> {
    let dir = tempfile::tempdir().unwrap();
    Arc::new(SessionCipher::load_or_create(&dir.path().join("session.key")).unwrap())
}

tgdesk_core::sealer_contract_suite!(fresh_sealer);
