//! The thin async part: sending [`Event`]s to a console connection and sleeping between them,
//! cancellably. Everything decided about *what* to send lives in the pure modules.

use std::future::Future;
use std::time::Duration;

use crate::vnc::Event;

/// A console connection that accepts X11 key events (an RFB client, Prism's console proxy, a
/// test recorder).
pub trait KeySink {
    /// Why sending failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sends one key event: `down` true for press, false for release.
    fn key_event(
        &mut self,
        keysym: u32,
        down: bool,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Why typing stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TypeError<E: std::error::Error + 'static> {
    /// The console connection failed; `sent` key events had gone out before.
    #[error("typing the boot command failed after {sent} key events: {source}")]
    Sink {
        /// Events sent successfully before the failure.
        sent: usize,
        /// The connection's error.
        #[source]
        source: E,
    },
    /// `cancel` completed. Keys still held down were released first (best effort).
    #[error("typing the boot command was cancelled after {sent} key events")]
    Cancelled {
        /// Events sent before the cancellation.
        sent: usize,
    },
}

/// Sends `events` to `sink` in order, sleeping for every pause and wait, until they are all sent,
/// the sink fails, or `cancel` completes (pass e.g. a cancellation token's `cancelled()`).
///
/// On cancellation, any key this call pressed and did not release is released, so that a
/// half-typed `<leftCtrlOn>` does not stay held on the console. Returns the number of events sent.
pub async fn type_events<S, I>(
    sink: &mut S,
    events: I,
    cancel: impl Future<Output = ()>,
) -> Result<usize, TypeError<S::Error>>
where
    S: KeySink,
    I: IntoIterator<Item = Event>,
{
    let mut cancel = std::pin::pin!(cancel);
    let mut held: Vec<u32> = Vec::new();
    let mut sent = 0usize;
    for event in events {
        let step = async {
            match event {
                Event::KeyDown(k) => sink.key_event(k, true).await.map(|()| true),
                Event::KeyUp(k) => sink.key_event(k, false).await.map(|()| true),
                Event::Pause(d) => {
                    sleep(d).await;
                    Ok(false)
                }
                Event::Wait(d) => {
                    tracing::info!(wait = ?d, "boot command: waiting");
                    sleep(d).await;
                    Ok(false)
                }
            }
        };
        let outcome = tokio::select! {
            biased;
            () = &mut cancel => None,
            r = step => Some(r),
        };
        match outcome {
            None => {
                release(sink, &held).await;
                return Err(TypeError::Cancelled { sent });
            }
            Some(Err(source)) => return Err(TypeError::Sink { sent, source }),
            Some(Ok(false)) => {}
            Some(Ok(true)) => {
                sent += 1;
                match event {
                    Event::KeyDown(k) => held.push(k),
                    Event::KeyUp(k) => {
                        if let Some(i) = held.iter().rposition(|h| *h == k) {
                            held.remove(i);
                        }
                    }
                    Event::Pause(_) | Event::Wait(_) => {}
                }
            }
        }
    }
    Ok(sent)
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Releases held keys, most recent first; failures are only logged (the build is stopping anyway).
async fn release<S: KeySink>(sink: &mut S, held: &[u32]) {
    for k in held.iter().rev() {
        if let Err(e) = sink.key_event(*k, false).await {
            tracing::debug!(keysym = k, error = %e, "boot command: releasing a held key failed");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{events, parse};

    #[derive(Debug, Default)]
    struct Recorder {
        sent: Vec<(u32, bool, tokio::time::Instant)>,
        fail_at: Option<usize>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    impl KeySink for Recorder {
        type Error = Reset;
        fn key_event(
            &mut self,
            keysym: u32,
            down: bool,
        ) -> impl Future<Output = Result<(), Reset>> + Send {
            let fail = self.fail_at == Some(self.sent.len());
            if !fail {
                self.sent.push((keysym, down, tokio::time::Instant::now()));
            }
            async move {
                if fail {
                    Err(Reset)
                } else {
                    Ok(())
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn types_with_pauses() {
        let cmd = parse("a<wait2>B").unwrap();
        let start = tokio::time::Instant::now();
        let mut r = Recorder::default();
        let n = type_events(
            &mut r,
            events(&cmd, Duration::from_millis(10)),
            std::future::pending(),
        )
        .await
        .unwrap();
        assert_eq!(n, 6);
        let at: Vec<(u32, bool, u128)> = r
            .sent
            .iter()
            .map(|(k, d, t)| (*k, *d, (*t - start).as_millis()))
            .collect();
        assert_eq!(
            at,
            [
                (0x61, true, 0),
                (0x61, false, 10),
                (0xFFE1, true, 2020),
                (0x42, true, 2030),
                (0x42, false, 2040),
                (0xFFE1, false, 2050),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_releases_held_keys() {
        let cmd = parse("<leftCtrlOn>c<wait1h>x").unwrap();
        let mut r = Recorder::default();
        let cancel = tokio::time::sleep(Duration::from_secs(60));
        let e = type_events(&mut r, events(&cmd, Duration::ZERO), cancel)
            .await
            .unwrap_err();
        assert!(matches!(e, TypeError::Cancelled { sent: 3 }), "{e}");
        let keys: Vec<(u32, bool)> = r.sent.iter().map(|(k, d, _)| (*k, *d)).collect();
        assert_eq!(
            keys,
            [(0xFFE3, true), (0x63, true), (0x63, false), (0xFFE3, false)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sink_errors_stop_typing() {
        let cmd = parse("abc").unwrap();
        let mut r = Recorder {
            fail_at: Some(3),
            ..Recorder::default()
        };
        let e = type_events(&mut r, events(&cmd, Duration::ZERO), std::future::pending())
            .await
            .unwrap_err();
        assert!(matches!(e, TypeError::Sink { sent: 3, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "typing the boot command failed after 3 key events: connection reset"
        );
    }
}
