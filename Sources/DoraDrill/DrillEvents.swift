import DoraEvents

/// The rollback events a drill records (docs/drills.md): `started` when the rollback starts,
/// then `completed` or `failed`, each marked `"exercise": "drill"` and `"trigger": "manual"`.
///
/// Invariant: ids are the drill's id plus `-started`, `-completed` or `-failed`, so emitting
/// an event again (a retry) stores a duplicate, never a second event. The measured phases and
/// a failure's details ride in a `drill` member, which the metrics ignore and the log keeps.
public enum DrillEvents {
    /// `from_version` is required on a started rollback: a drill that names none says `unknown`.
    public static let unknownVersion = "unknown"

    public static func started(_ plan: DrillPlan, at time: Int64) -> String {
        var members = common(plan, suffix: "started", at: time)
        members.append(("status", JSONText.quoted("started")))
        members.append(("from_version", JSONText.quoted(plan.fromVersion ?? unknownVersion)))
        if let to = plan.toVersion { members.append(("to_version", JSONText.quoted(to))) }
        return object(members)
    }

    /// The `completed` or `failed` event of a finished drill.
    public static func ended(_ plan: DrillPlan, _ result: DrillResult) -> String {
        var members = common(plan, suffix: result.failure == nil ? "completed" : "failed", at: result.ended)
        members.append(("status", JSONText.quoted(result.failure == nil ? "completed" : "failed")))
        var drill: [(String, String)] = []
        if let bad = result.bad { drill.append(("bad_seconds", DrillRunner.seconds(bad))) }
        if let act = result.act { drill.append(("act_seconds", DrillRunner.seconds(act))) }
        if let verify = result.verify { drill.append(("verify_seconds", DrillRunner.seconds(verify))) }
        drill.append(("verify_attempts", String(result.attempts)))
        if let f = result.failure {
            drill.append(("step", JSONText.quoted(f.step.rawValue)))
            drill.append(("reason", JSONText.quoted(f.reason)))
            drill.append(("exit_status", f.exitStatus.map { String($0) } ?? "null"))
            drill.append(("output_tail", "[" + f.outputTail.map(JSONText.quoted).joined(separator: ",") + "]"))
        }
        members.append(("drill", object(drill)))
        return object(members)
    }

    private static func common(_ plan: DrillPlan, suffix: String, at time: Int64) -> [(String, String)] {
        var members: [(String, String)] = [
            ("id", JSONText.quoted("\(plan.id)-\(suffix)")),
            ("type", JSONText.quoted("rollback")),
            ("time", JSONText.quoted(Timestamp(microseconds: time).rfc3339)),
            ("service", JSONText.quoted(plan.service)),
            ("environment", JSONText.quoted(plan.environment)),
        ]
        if let team = plan.team { members.append(("team", JSONText.quoted(team))) }
        members += [("rollback_id", JSONText.quoted(plan.id)), ("trigger", JSONText.quoted("manual")), ("exercise", JSONText.quoted("drill"))]
        return members
    }

    private static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(JSONText.quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}
