//! Media download against the fake Graph API: the metadata hop, the authorized file
//! fetch, and the size limit.

use std::time::Duration;

use cita_outbound::graph::{GraphClient, GraphError};
use cita_shared::{config::OutboundSettings, secret::Secret, testing::FakeGraph};

fn settings(base: &str) -> OutboundSettings {
    OutboundSettings {
        graph_api_base: base.into(),
        graph_api_version: "v23.0".into(),
        graph_timeout: Duration::from_secs(2),
        number_rate: 80,
        number_burst: 8,
        pair_interval: Duration::from_secs(6),
        pair_burst: 10,
        max_attempts: 8,
    }
}

#[tokio::test]
async fn media_is_downloaded_with_the_token_on_both_hops() {
    let fake = FakeGraph::start().await;
    let photo: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    fake.add_media("2621233374848975", "image/jpeg", photo.clone());
    let client = GraphClient::new(&settings(&fake.base)).unwrap();
    let token = Secret::new("EAAG-media");

    let media = client
        .media("100000000000001", &token, "2621233374848975", 1_000_000)
        .await
        .unwrap();
    assert_eq!(media.mime_type, "image/jpeg");
    assert_eq!(media.data.as_ref(), photo.as_slice());
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/v23.0/2621233374848975?phone_number_id=100000000000001"
    );
    assert!(requests[1].path.starts_with("/media/"));
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer EAAG-media"))
    );

    let too_large = client
        .media("100000000000001", &token, "2621233374848975", 100_000)
        .await
        .unwrap_err();
    assert!(
        matches!(too_large, GraphError::MediaTooLarge(..)),
        "{too_large}"
    );
}
