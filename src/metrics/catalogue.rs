//! What each metric means: the help text and unit `/metrics` serves with it (the table of
//! metrics and who records them is in the module above).

/// Registers every metric's help text and unit.
pub(super) fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "customs_edge_parcels_entered_total",
        "Parcels seen at the photo-eye."
    );
    describe_counter!(
        "customs_edge_parcels_decided_total",
        "Lane decisions, by lane."
    );
    describe_histogram!(
        "customs_edge_decision_latency_seconds",
        metrics::Unit::Seconds,
        "From the decision's deadline (or its last input) to the lane written to the PLC."
    );
    describe_histogram!(
        "customs_edge_decision_stage_seconds",
        metrics::Unit::Seconds,
        "A lane decision's parts: `read` (its facts from the store), `commit` (the decision \
         committed through the store writer), `command` (the lane written to the PLC)."
    );
    describe_histogram!(
        "customs_edge_store_queue_wait_seconds",
        metrics::Unit::Seconds,
        "How long an awaited write waited in the store writer's queue for its batch to \
         start, by queue (`control`: the lines' and gates', taken first; `bulk`: the rest)."
    );
    describe_histogram!(
        "customs_edge_store_batch_seconds",
        metrics::Unit::Seconds,
        "A store writer batch's parts: `run` (its writes), `commit` (the transaction's commit)."
    );
    describe_counter!(
        "customs_edge_gate_verdicts_total",
        "Gate verdicts, by lane and verdict."
    );
    describe_gauge!(
        "customs_edge_camera_fps",
        "Frames per second captured, by camera."
    );
    describe_gauge!(
        "customs_edge_camera_streaming",
        "1 while the camera's stream flows."
    );
    describe_counter!(
        "customs_edge_camera_frames_total",
        "Frames captured, by camera."
    );
    describe_counter!(
        "customs_edge_camera_drops_total",
        "Frames lost (bad or skipped), by camera."
    );
    describe_counter!(
        "customs_edge_camera_reconnects_total",
        "Times the camera's stream was opened again."
    );
    describe_gauge!(
        "customs_edge_outbox_pending_messages",
        "Uplink messages not yet acknowledged."
    );
    describe_gauge!(
        "customs_edge_outbox_pending_bytes",
        "Body bytes of those messages."
    );
    describe_gauge!(
        "customs_edge_subsystem_state",
        "1 for the state each subsystem is in."
    );
    describe_counter!(
        "customs_edge_subsystem_failures_total",
        "Times each subsystem (a device link, the platform link) went down."
    );
    describe_counter!(
        "customs_edge_subsystem_recoveries_total",
        "Times each subsystem came back after a problem (a device link: its reconnects)."
    );
    describe_counter!(
        "customs_edge_http_requests_total",
        "HTTP requests, by route and status."
    );
    describe_counter!("customs_edge_logins_total", "Login attempts, by outcome.");
    describe_gauge!(
        "customs_edge_connections_open",
        "Connections open on each listener."
    );
    describe_counter!(
        "customs_edge_connections_refused_total",
        "Connections closed at accept: over the total or per-address cap, or out of file handles."
    );
    describe_counter!(
        "customs_edge_connections_timed_out_total",
        "Connections closed (head, idle) or request bodies cut (body) for taking too long."
    );
    describe_counter!(
        "customs_edge_tls_handshake_failures_total",
        "TLS handshakes that failed (handshake: not TLS, no common cipher, a bad record) or \
         did not finish within the head timeout (timeout), by listener."
    );
    describe_counter!(
        "customs_edge_plate_auth_failures_total",
        "Plate-camera posts refused at authentication, by camera and outcome: \
         wrong_credentials, scheme_refused (Basic to a Digest camera or the reverse), \
         malformed, replayed, source_throttled and camera_throttled (429 without checking)."
    );
    describe_counter!(
        "customs_edge_task_failures_total",
        "Times a controller task failed or panicked and was restarted."
    );
    describe_gauge!(
        "customs_edge_task_up",
        "1 while a controller task runs, 0 while it waits to be restarted."
    );
    describe_counter!(
        "customs_edge_store_commit_failures_total",
        "Store batches that failed to commit (disk full, I/O error)."
    );
    describe_counter!(
        "customs_edge_log_lines_dropped_total",
        "Log lines (journal entries) dropped because their destination did not take them as \
         fast as they came (journald busy or stuck, a pipe nobody reads); logging never \
         blocks the controller."
    );
    describe_counter!(
        "customs_edge_decisions_not_committed_total",
        "Lane decisions that could not be committed: no lane command, the PLC's exception lane."
    );
    describe_counter!(
        "customs_edge_late_holds_total",
        "Holds that came after a release decision, by what the line could do: recommanded \
         (lane commanded again before the diverter) or too_late (an interception at the drop)."
    );
    describe_counter!(
        "customs_edge_bag_scans_total",
        "Labels scanned at a release lane's bag-label scanner, by what they did: bag_closed, \
         retrieval, already_retrieved or refused (no open bag, a used number, not a bag label)."
    );
    describe_gauge!(
        "customs_edge_disk_free_ratio",
        "Free space on the data directory's file system, 0 to 1."
    );
    describe_gauge!(
        "customs_edge_disk_shed_level",
        "What is shed for want of disk: 0 nothing, 1 telemetry and statistics, 2 camera evidence too."
    );
    describe_counter!(
        "customs_edge_shed_total",
        "Writes left out for want of disk, by what (telemetry, statistics, camera_frame)."
    );
}
