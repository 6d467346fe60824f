//! Idempotency records against the emulator: the conditions that make one claim win, a stale
//! claim be taken over once, an expired record count as absent, and only its holder settle it.

use futures::future::join_all;
use steward_emulator::Emulator;
use steward_store::Table;
use steward_store::idempotency::{
    Claim, Existing, IdempotencyStore, Lease, StoredResponse, TakenOver,
};

async fn store() -> IdempotencyStore {
    let aws = Emulator::shared().endpoints().sdk_config();
    let template = steward_template::Template::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../template.yaml"
    ))
    .unwrap();
    let name = format!("store-{}", uuid::Uuid::new_v4().simple());
    steward_store::provision::table(&aws, &name, &template.resources["Table"])
        .await
        .unwrap();
    IdempotencyStore::new(Table::new(&aws, name))
}

fn lease(now_ms: i64) -> Lease {
    Lease {
        now_ms,
        lock_ms: 1_000,
        keep_s: 3_600,
    }
}

#[tokio::test]
async fn of_fifty_concurrent_claims_exactly_one_wins() {
    let store = store().await;
    let claims = join_all((0..50).map(|i| {
        let store = store.clone();
        async move {
            store
                .claim(
                    "T#a",
                    "k1",
                    "fp",
                    (&format!("token-{i}"), "run-1"),
                    lease(1_000_000),
                )
                .await
                .unwrap()
        }
    }))
    .await;
    let winners = claims
        .iter()
        .filter(|c| matches!(c, Claim::Acquired { .. }))
        .count();
    assert_eq!(winners, 1);
    assert!(claims.iter().all(|c| matches!(
        c,
        Claim::Acquired { .. } | Claim::Existing(Existing::InProgress { .. })
    )));
}

#[tokio::test]
async fn a_stale_claim_is_taken_over_once_and_only_its_holder_completes_it() {
    let store = store().await;
    assert!(matches!(
        store
            .claim("T#a", "k", "fp", ("first", "run-1"), lease(0))
            .await
            .unwrap(),
        Claim::Acquired { .. }
    ));
    // Still locked: no takeover.
    assert_eq!(
        store
            .take_over("T#a", "k", "fp", "second", lease(500))
            .await
            .unwrap(),
        None
    );
    // Past the lock: one taker wins, a second does not; another body cannot take it.
    assert_eq!(
        store
            .take_over("T#a", "k", "other-fp", "x", lease(5_000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_over("T#a", "k", "fp", "second", lease(5_000))
            .await
            .unwrap(),
        Some(TakenOver {
            token: "second".to_owned(),
            run: Some("run-1".to_owned()),
        }),
        "the first run's id is kept"
    );
    assert_eq!(
        store
            .take_over("T#a", "k", "fp", "third", lease(5_001))
            .await
            .unwrap(),
        None
    );

    let response = StoredResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: "{}".into(),
        binary: false,
    };
    // The displaced first runner can neither complete nor release it.
    assert!(
        store
            .complete("T#a", "k", "first", &response)
            .await
            .is_err()
    );
    store.release("T#a", "k", "first").await.unwrap();
    store
        .complete("T#a", "k", "second", &response)
        .await
        .unwrap();
    match store
        .claim("T#a", "k", "fp", ("late", "run-1"), lease(6_000))
        .await
        .unwrap()
    {
        Claim::Existing(Existing::Completed {
            response: stored, ..
        }) => assert_eq!(stored, response),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_expired_record_counts_as_absent_and_scopes_are_apart() {
    let store = store().await;
    store
        .claim("T#a", "k", "fp", ("old", "run-1"), lease(0))
        .await
        .unwrap();
    // keep_s is 3600: an hour and a second later, TTL may not have deleted it, but it is gone to us.
    let later = 3_601_000;
    assert!(matches!(
        store
            .claim("T#a", "k", "new-fp", ("new", "run-1"), lease(later))
            .await
            .unwrap(),
        Claim::Acquired { .. }
    ));
    // The same key of another tenant is another record.
    assert!(matches!(
        store
            .claim("T#b", "k", "fp", ("b", "run-1"), lease(0))
            .await
            .unwrap(),
        Claim::Acquired { .. }
    ));
}

#[tokio::test]
async fn releasing_frees_the_key_for_a_retry() {
    let store = store().await;
    store
        .claim("T#a", "k", "fp", ("one", "run-1"), lease(0))
        .await
        .unwrap();
    store.release("T#a", "k", "one").await.unwrap();
    assert!(matches!(
        store
            .claim("T#a", "k", "fp", ("two", "run-1"), lease(1))
            .await
            .unwrap(),
        Claim::Acquired { .. }
    ));
}
