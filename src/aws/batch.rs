//! Calls that take many ids, gathered: the executor runs independent steps side by side, so N
//! servers being waited for, or terminated, ask about one id each at nearly the same moment.
//! A [`Gather`] holds the first such call for [`WINDOW`], takes every call that arrives
//! meanwhile, and makes one request for all their ids (DescribeInstances and
//! TerminateInstances take up to 1000). Each caller gets its own id's answer. The engine
//! sees nothing of it: it still asks about one resource at a time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::provider::ProviderError;

/// How long the first call of a batch waits for others. A few milliseconds: nothing next to
/// the seconds between two polls, or the minute a termination takes.
pub(crate) const WINDOW: Duration = Duration::from_millis(20);

/// Ids per request. TerminateInstances takes up to 1000 and AWS recommends smaller batches;
/// a DescribeInstances filter takes up to 200 values.
pub(crate) const MAX_IDS: usize = 200;

/// Each id's answer: `Ok(None)` when AWS does not know it.
pub(crate) type Answers<T> = HashMap<String, Result<T, ProviderError>>;

type Waiter<T> = (String, oneshot::Sender<Result<Option<T>, ProviderError>>);

pub(crate) type BatchFuture<T> =
    Pin<Box<dyn Future<Output = Result<Answers<T>, ProviderError>> + Send>>;

/// One kind of gathered call.
pub(crate) struct Gather<T> {
    open: Arc<Mutex<Option<Vec<Waiter<T>>>>>,
}

impl<T> Default for Gather<T> {
    fn default() -> Self {
        Gather {
            open: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T: Clone + Send + 'static> Gather<T> {
    /// The answer for `id`, from one call of `call` with every id asked within the window.
    /// `call` answers a batch of at most [`MAX_IDS`] distinct ids; an error of the whole call is
    /// every caller's.
    pub(crate) async fn one<F>(&self, id: &str, call: F) -> Result<Option<T>, ProviderError>
    where
        F: Fn(Vec<String>) -> BatchFuture<T> + Send + Sync + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let leader = {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            match open.as_mut() {
                Some(waiters) => {
                    waiters.push((id.to_owned(), tx));
                    false
                }
                None => {
                    *open = Some(vec![(id.to_owned(), tx)]);
                    true
                }
            }
        };
        if leader {
            // A task of its own, so the batch goes out even if this caller is cancelled.
            let open = self.open.clone();
            tokio::spawn(async move {
                tokio::time::sleep(WINDOW).await;
                let waiters = open
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                run(waiters, call).await;
            });
        }
        rx.await.unwrap_or_else(|_| {
            Err(ProviderError::Api {
                action: "gather AWS calls".to_owned(),
                code: "BatchAbandoned".to_owned(),
                message: "the batched call ended without an answer".to_owned(),
            })
        })
    }
}

async fn run<T: Clone, F>(waiters: Vec<Waiter<T>>, call: F)
where
    F: Fn(Vec<String>) -> BatchFuture<T>,
{
    let mut ids: Vec<String> = waiters.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut answers: Answers<T> = HashMap::new();
    let mut failed: Option<ProviderError> = None;
    for chunk in ids.chunks(MAX_IDS) {
        match call(chunk.to_vec()).await {
            Ok(found) => answers.extend(found),
            Err(e) => {
                for id in chunk {
                    answers.insert(id.clone(), Err(e.clone()));
                }
                failed.get_or_insert(e);
            }
        }
    }
    for (id, tx) in waiters {
        let answer = match answers.get(&id) {
            Some(Ok(value)) => Ok(Some(value.clone())),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(None),
        };
        let _ = tx.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn calls_within_the_window_are_one_request_and_each_gets_its_answer() {
        let gather: Arc<Gather<String>> = Arc::new(Gather::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let ask = |id: &'static str| {
            let gather = gather.clone();
            let calls = calls.clone();
            async move {
                gather
                    .one(id, move |ids| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Box::pin(async move {
                            Ok(ids
                                .into_iter()
                                .filter(|i| i != "gone")
                                .map(|i| (i.clone(), Ok(format!("described {i}"))))
                                .collect())
                        })
                    })
                    .await
            }
        };
        let (a, b, gone, again) = tokio::join!(ask("i-a"), ask("i-b"), ask("gone"), ask("i-a"));
        assert_eq!(a.unwrap().as_deref(), Some("described i-a"));
        assert_eq!(b.unwrap().as_deref(), Some("described i-b"));
        assert_eq!(gone.unwrap(), None);
        assert_eq!(again.unwrap().as_deref(), Some("described i-a"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_error_of_the_whole_call_is_every_callers() {
        let gather: Arc<Gather<()>> = Arc::new(Gather::default());
        let failing = |_: Vec<String>| -> BatchFuture<()> {
            Box::pin(async {
                Err(ProviderError::Throttled {
                    action: "ec2:TerminateInstances".into(),
                    message: "slow down".into(),
                })
            })
        };
        let (a, b) = tokio::join!(gather.one("i-a", failing), gather.one("i-b", failing));
        assert!(matches!(a, Err(ProviderError::Throttled { .. })));
        assert!(matches!(b, Err(ProviderError::Throttled { .. })));
    }
}
