//! Keeps the messages to one recipient in the order they were consumed, while messages
//! to different recipients go out concurrently: each send waits for the previous send
//! to the same recipient (within this replica) to finish.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio_util::sync::{CancellationToken, DropGuard};

#[derive(Default)]
pub struct Sequencer {
    // A std Mutex: held for a map operation, never across an await.
    tails: Mutex<HashMap<String, (u64, CancellationToken)>>,
    next: AtomicU64,
}

/// A place in a recipient's line. Dropping it lets the next one go.
pub struct Turn {
    sequencer: Arc<Sequencer>,
    key: String,
    id: u64,
    /// Cancelled when the turn before this one is over.
    previous: Option<CancellationToken>,
    // Cancels this turn's token when the turn is dropped, which lets the next one go.
    _done: DropGuard,
}

impl Sequencer {
    /// Takes the next place in `key`'s line. Call it in consumption order.
    pub fn enter(self: &Arc<Self>, key: String) -> Turn {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let done = CancellationToken::new();
        let previous = self
            .tails
            .lock()
            .expect("sequencer lock")
            .insert(key.clone(), (id, done.clone()))
            .map(|(_, previous)| previous);
        Turn {
            sequencer: self.clone(),
            key,
            id,
            previous,
            _done: done.drop_guard(),
        }
    }

    #[cfg(test)]
    fn lines(&self) -> usize {
        self.tails.lock().unwrap().len()
    }
}

impl Turn {
    /// Waits until every earlier turn in this line is over (each waited for the one
    /// before it).
    pub async fn ready(&self) {
        if let Some(previous) = &self.previous {
            previous.cancelled().await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut tails = self.sequencer.tails.lock().expect("sequencer lock");
        // The last in line removes the line, so the map holds only busy recipients.
        if tails.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            tails.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_line_per_key_in_entry_order() {
        let sequencer = Arc::new(Sequencer::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, key) in ["a", "a", "b", "a"].into_iter().enumerate() {
            let turn = sequencer.enter(key.to_string());
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                turn.ready().await;
                // The first "a" is the slowest; the later ones must still wait for it.
                let pause = if i == 0 { 50 } else { 1 };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                log.lock().unwrap().push((key, i));
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let log = log.lock().unwrap().clone();
        let a: Vec<usize> = log
            .iter()
            .filter(|(k, _)| *k == "a")
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(a, [0, 1, 3]);
        assert_eq!(log[0], ("b", 2), "b did not wait for a's line");
        assert_eq!(sequencer.lines(), 0, "finished lines are removed");
    }
}
