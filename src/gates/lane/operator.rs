//! What operators ask of a lane: an override opens the barrier for the truck on it, as a
//! pass of its own with who and why.

use std::time::Instant;

use customs_edge_devices::plate::agree;

use super::{LaneCommand, LaneTask, Step, decide};

impl LaneTask {
    /// Carry out an operator's command.
    pub(super) async fn command(&mut self, command: LaneCommand) {
        match command {
            LaneCommand::Override {
                actor,
                reason,
                reply,
            } => {
                let result = match &self.step {
                    Step::Present { since } | Step::Held { since, .. } => {
                        let since = *since;
                        self.override_open(actor, reason, since).await
                    }
                    Step::Idle => Err(format!("gate {}: no truck on the loop", self.id())),
                    Step::Open(_) | Step::Closing { .. } => {
                        Err(format!("gate {}: the barrier is already open", self.id()))
                    }
                };
                let _ = reply.send(result);
            }
        }
    }

    async fn override_open(
        &mut self,
        actor: String,
        reason: String,
        since: Instant,
    ) -> Result<i64, String> {
        let (reads, snapshots) = self.current(since);
        let open = self.open_plates().await;
        let open: Vec<&str> = open.iter().map(String::as_str).collect();
        let consensus = agree(&reads, &open, &self.settings.config.consensus);
        let outcome = decide::overridden(
            &self.settings,
            &self.store,
            &consensus,
            self.link.weight(),
            actor,
            reason,
        )
        .await;
        self.record_and_act(outcome, &consensus, &reads, snapshots, since)
            .await
            .map_err(|e| {
                format!("the override could not be recorded, so the barrier stays closed: {e}")
            })
    }
}
