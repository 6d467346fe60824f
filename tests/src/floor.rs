//! The floor a benchmark on the local stack is held against: the emulator alone.

use std::time::{Duration, Instant};

use crate::TestStack;

/// The emulator alone, the floor: `clients` tasks each putting then getting an item as fast as
/// it answers, for `seconds`. Answers operations per second and their p50 and p99 (ms).
pub async fn emulator_alone(stack: &TestStack, clients: usize, seconds: u64) -> (f64, f64, f64) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let client = aws_sdk_dynamodb::Client::new(stack.stack.aws());
    let table = stack.table.name().to_owned();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, table) = (client.clone(), table.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let key = || {
                        [
                            ("pk".to_owned(), V::S(format!("FLOOR#{c}"))),
                            ("sk".to_owned(), V::S(format!("ITEM#{i}"))),
                        ]
                        .into_iter()
                        .collect()
                    };
                    let t = Instant::now();
                    client
                        .put_item()
                        .table_name(&table)
                        .set_item(Some(key()))
                        .send()
                        .await
                        .expect("put");
                    times.push(t.elapsed());
                    let t = Instant::now();
                    client
                        .get_item()
                        .table_name(&table)
                        .set_key(Some(key()))
                        .consistent_read(true)
                        .send()
                        .await
                        .expect("get");
                    times.push(t.elapsed());
                    i += 1;
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.expect("a floor client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    (
        times.len() as f64 / elapsed,
        quantile_ms(&times, 0.5),
        quantile_ms(&times, 0.99),
    )
}

/// The `q` quantile of sorted times, in milliseconds (0 when there are none).
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}
