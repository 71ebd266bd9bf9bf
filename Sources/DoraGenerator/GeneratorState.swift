import DoraEvents

/// The mutable walk behind `EventGenerator.generate`: one day at a time, bounded memory.
struct GeneratorState {
    let configuration: GeneratorConfiguration
    var random: SeededRandom
    var emitted = 0
    /// Counters that make ids unique.
    var deployCounter = 0
    var alertCounter = 0
    var rollbackCounter = 0
    var otherCounter = 0
    var versions: [[Int]]  // [service][environment] -> last version number
    var recentLines: [[UInt8]] = []  // candidates for duplicates
    var lastShas: [String]
    let deploysPerServiceDay: Double

    static let environments = ["production", "staging"]

    init(configuration: GeneratorConfiguration) {
        self.configuration = configuration
        random = SeededRandom(seed: configuration.seed)
        versions = Array(repeating: [100, 100], count: max(configuration.services, 1))
        lastShas = Array(repeating: "", count: max(configuration.services, 1))
        // About 2.0 lines per deploy once episodes, alerts and noise are counted.
        let perDay = Double(configuration.events) / Double(max(configuration.days, 1))
        deploysPerServiceDay = perDay / 2.0 / Double(max(configuration.services, 1)) / 1.25
    }

    /// One generated line and the event time it sorts by.
    struct Line {
        var time: Int64
        var bytes: [UInt8]
    }

    mutating func run(_ sink: (UnsafeRawBufferPointer) -> Void) {
        var day = 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        // The stream spans exactly `days` days: a line dated after them (an episode that would
        // close later) is left out, and when the days are used up before `events` lines, the
        // walk starts again at the first day with new ids.
        let days = max(configuration.days, 1)
        let end = configuration.start.microseconds + Int64(days) * Timestamp.microsecondsPerDay
        while emitted < configuration.events {
            var lines: [Line] = []
            generateDay(day % days, into: &lines)
            lines.removeAll { $0.time >= end }
            lines.sort { $0.time < $1.time }
            // Shuffled arrival: swap each line with one a little ahead.
            if configuration.shuffleWindow > 1 && lines.count > 1 {
                for i in 0..<lines.count {
                    let j = min(lines.count - 1, i + random.below(configuration.shuffleWindow))
                    lines.swapAt(i, j)
                }
            }
            for line in lines {
                guard emitted < configuration.events else { break }
                if random.chance(configuration.malformedRate) {
                    emit(malformed(from: line.bytes), &out, sink)
                    guard emitted < configuration.events else { break }
                }
                if random.chance(configuration.duplicateRate), !recentLines.isEmpty {
                    emit(recentLines[random.below(recentLines.count)], &out, sink)
                    guard emitted < configuration.events else { break }
                }
                emit(line.bytes, &out, sink)
                if recentLines.count < 256 { recentLines.append(line.bytes) } else { recentLines[random.below(256)] = line.bytes }
            }
            day += 1
        }
        if !out.isEmpty { out.withUnsafeBytes { sink($0) } }
    }

    private mutating func emit(_ line: [UInt8], _ out: inout [UInt8], _ sink: (UnsafeRawBufferPointer) -> Void) {
        out += line
        out.append(0x0A)
        emitted += 1
        if out.count >= 1 << 20 {
            out.withUnsafeBytes { sink($0) }
            out.removeAll(keepingCapacity: true)
        }
    }

    // MARK: - A day

    mutating func generateDay(_ day: Int, into lines: inout [Line]) {
        let dayStart = configuration.start.microseconds + Int64(day) * Timestamp.microsecondsPerDay
        for service in 0..<configuration.services {
            for environment in 0..<2 {
                let rate = deploysPerServiceDay * (environment == 0 ? 1.0 : 0.35)
                var count = Int(rate)
                if random.chance(rate - Double(count)) { count += 1 }
                var times = (0..<count).map { _ in dayStart + Int64(random.below(86_400_000)) * 1000 + Int64(random.below(1000)) }
                times.sort()
                for t in times { deploy(service: service, environment: environment, at: t, into: &lines) }
                noise(service: service, environment: environment, dayStart: dayStart, into: &lines)
            }
        }
    }

    mutating func noise(service: Int, environment: Int, dayStart: Int64, into lines: inout [Line]) {
        let scale = max(deploysPerServiceDay, 0.2)
        // An unrelated critical alert, a warning alert, a resolved-only alert, an unknown type.
        if random.chance(0.04 * scale) {
            let t = dayStart + Int64(random.below(86_400)) * 1_000_000
            alert(service: service, environment: environment, firing: t, resolvedAfter: random.lognormal(medianSeconds: 900, spread: 0.8), severity: "critical", deployID: nil, into: &lines)
        }
        if random.chance(0.08 * scale) {
            let t = dayStart + Int64(random.below(86_400)) * 1_000_000
            alert(service: service, environment: environment, firing: t, resolvedAfter: random.lognormal(medianSeconds: 600, spread: 0.8), severity: "warning", deployID: nil, into: &lines)
        }
        if random.chance(0.01 * scale) {
            alertCounter += 1
            let t = dayStart + Int64(random.below(86_400)) * 1_000_000
            var o = JSONLine(common: "a-\(alertCounter)-r", type: "alert", time: t, service: service, environment: environment, random: &random, configuration: configuration)
            o.string("alert_id", "a-\(alertCounter)")
            o.string("status", "resolved")
            lines.append(Line(time: t, bytes: o.finish()))
        }
        if random.chance(configuration.unknownTypeRate * 2 * scale) {
            otherCounter += 1
            let t = dayStart + Int64(random.below(86_400)) * 1_000_000
            var o = JSONLine(common: "n-\(otherCounter)", type: "incident_note", time: t, service: service, environment: environment, random: &random, configuration: configuration)
            o.string("note", "post-incident review scheduled")
            lines.append(Line(time: t, bytes: o.finish()))
        }
    }

    // MARK: - Deploys and episodes

    mutating func deploy(service: Int, environment: Int, at time: Int64, into lines: inout [Line]) {
        deployCounter += 1
        let id = "d-\(deployCounter)"
        let previous = versions[service][environment]
        let version = previous + 1
        versions[service][environment] = version
        let failedStatus = random.chance(0.03)
        var o = JSONLine(common: id, type: "deploy", time: time, service: service, environment: environment, random: &random, configuration: configuration, alwaysTeam: true)
        o.string("version", "v\(version)")
        if failedStatus { o.string("status", "failed") } else if random.chance(0.3) { o.string("status", "succeeded") }
        // Commits: 1-3, lead times log-normal around 20 h; sometimes a commit shipped before.
        var commits: [(String, Int64)] = []
        for _ in 0..<(1 + random.below(3)) {
            let sha = hexSHA()
            var lead = random.lognormal(medianSeconds: 72_000, spread: 1.2)
            if random.chance(0.002) { lead = -Int64(random.below(3600) + 1) * 1_000_000 }  // clock fault
            commits.append((sha, time - lead))
        }
        if random.chance(0.05), !lastShas[service].isEmpty {
            commits.append((lastShas[service], time - random.lognormal(medianSeconds: 100_000, spread: 0.5)))
        }
        lastShas[service] = commits[0].0
        o.commits(commits)
        lines.append(Line(time: time, bytes: o.finish()))
        guard !failedStatus else {
            versions[service][environment] = previous  // never went live
            return
        }
        let failureRate = environment == 0 ? 0.14 : 0.08
        if random.chance(failureRate) {
            episode(service: service, environment: environment, deployID: id, version: version, previous: previous, at: time, into: &lines)
        }
    }

    enum Shape: CaseIterable {
        case alertAndRollback, autoRollback, rollForward, openIncident, retriedRollback, rollbackNeverCompleted, alertOnly
    }

    mutating func episode(service: Int, environment: Int, deployID: String, version: Int, previous: Int, at deployTime: Int64, into lines: inout [Line]) {
        let roll = random.unit()
        let shape: Shape =
            roll < 0.35 ? .alertAndRollback : roll < 0.55 ? .autoRollback : roll < 0.70 ? .rollForward
            : roll < 0.74 ? .openIncident : roll < 0.84 ? .retriedRollback : roll < 0.88 ? .rollbackNeverCompleted : .alertOnly
        // Tier-1 services (0, 1, 2, 5) are slower to roll back now and then: SLO material.
        let slow = [0, 1, 2, 5].contains(service) && random.chance(0.25)
        let detect = random.lognormal(medianSeconds: 240, spread: 0.7)
        let decide = random.lognormal(medianSeconds: 120, spread: 0.7)
        let act = random.lognormal(medianSeconds: slow ? 420 : 150, spread: 0.5)
        let verify = random.lognormal(medianSeconds: 180, spread: 0.6)
        let detected = deployTime + detect
        let explicit: String? = random.chance(0.3) ? deployID : nil
        switch shape {
        case .alertAndRollback:
            let firing = detected
            let started = firing + decide
            let completed = started + act
            alert(service: service, environment: environment, firing: firing, resolvedAfter: completed + verify - firing, severity: "critical", deployID: explicit, renotify: random.chance(0.1), into: &lines)
            rollback(service: service, environment: environment, from: version, to: previous, started: started, end: completed, status: "completed", trigger: random.chance(0.5) ? "auto" : "manual", deployID: explicit, into: &lines)
        case .autoRollback:
            rollback(service: service, environment: environment, from: version, to: previous, started: detected, end: detected + act, status: "completed", trigger: "auto", deployID: explicit, into: &lines)
        case .rollForward:
            let firing = detected
            let fix = firing + decide + act
            alert(service: service, environment: environment, firing: firing, resolvedAfter: fix - firing + verify, severity: "critical", deployID: explicit, into: &lines)
            deployCounter += 1
            let v = versions[service][environment] + 1
            versions[service][environment] = v
            var o = JSONLine(common: "d-\(deployCounter)", type: "deploy", time: fix, service: service, environment: environment, random: &random, configuration: configuration, alwaysTeam: true)
            o.string("version", "v\(v)")
            o.commits([(hexSHA(), fix - random.lognormal(medianSeconds: 1800, spread: 0.5))])
            if random.chance(0.7) { o.bool("unplanned", true) }
            lines.append(Line(time: fix, bytes: o.finish()))
        case .openIncident:
            alert(service: service, environment: environment, firing: detected, resolvedAfter: nil, severity: "critical", deployID: explicit, into: &lines)
        case .retriedRollback:
            let firing = detected
            let s1 = firing + decide
            let f1 = s1 + act / 2
            let s2 = f1 + random.lognormal(medianSeconds: 60, spread: 0.5)
            let c2 = s2 + act
            alert(service: service, environment: environment, firing: firing, resolvedAfter: c2 + verify - firing, severity: "critical", deployID: explicit, into: &lines)
            rollback(service: service, environment: environment, from: version, to: previous, started: s1, end: f1, status: "failed", trigger: "manual", deployID: explicit, into: &lines)
            rollback(service: service, environment: environment, from: version, to: previous, started: s2, end: c2, status: "completed", trigger: "manual", deployID: explicit, into: &lines)
        case .rollbackNeverCompleted:
            rollback(service: service, environment: environment, from: version, to: previous, started: detected, end: nil, status: "completed", trigger: "auto", deployID: explicit, into: &lines)
        case .alertOnly:
            alert(service: service, environment: environment, firing: detected, resolvedAfter: verify + decide, severity: "critical", deployID: explicit, into: &lines)
        }
    }

    mutating func alert(
        service: Int, environment: Int, firing: Int64, resolvedAfter: Int64?, severity: String, deployID: String?,
        renotify: Bool = false, into lines: inout [Line]
    ) {
        alertCounter += 1
        let alertID = "a-\(alertCounter)"
        var o = JSONLine(common: alertID + "-f", type: "alert", time: firing, service: service, environment: environment, random: &random, configuration: configuration)
        o.string("alert_id", alertID)
        o.string("status", "firing")
        if severity != "critical" || random.chance(0.5) { o.string("severity", severity) }
        if let deployID { o.string("deploy_id", deployID) }
        lines.append(Line(time: firing, bytes: o.finish()))
        if renotify {
            let t = firing + 300_000_000
            var again = JSONLine(common: alertID + "-f2", type: "alert", time: t, service: service, environment: environment, random: &random, configuration: configuration)
            again.string("alert_id", alertID)
            again.string("status", "firing")
            lines.append(Line(time: t, bytes: again.finish()))
        }
        if let resolvedAfter {
            let t = firing + max(resolvedAfter, 1_000_000)
            var r = JSONLine(common: alertID + "-r", type: "alert", time: t, service: service, environment: environment, random: &random, configuration: configuration)
            r.string("alert_id", alertID)
            r.string("status", "resolved")
            lines.append(Line(time: t, bytes: r.finish()))
        }
    }

    mutating func rollback(
        service: Int, environment: Int, from: Int, to: Int, started: Int64, end: Int64?, status: String, trigger: String,
        deployID: String?, into lines: inout [Line]
    ) {
        rollbackCounter += 1
        let rollbackID = "r-\(rollbackCounter)"
        var s = JSONLine(common: rollbackID + "-s", type: "rollback", time: started, service: service, environment: environment, random: &random, configuration: configuration)
        s.string("rollback_id", rollbackID)
        s.string("status", "started")
        s.string("from_version", "v\(from)")
        s.string("to_version", "v\(to)")
        s.string("trigger", trigger)
        if let deployID { s.string("deploy_id", deployID) }
        lines.append(Line(time: started, bytes: s.finish()))
        if let end {
            var e = JSONLine(common: rollbackID + (status == "failed" ? "-x" : "-c"), type: "rollback", time: end, service: service, environment: environment, random: &random, configuration: configuration)
            e.string("rollback_id", rollbackID)
            e.string("status", status)
            lines.append(Line(time: end, bytes: e.finish()))
        }
    }

    mutating func hexSHA() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var v = random.next()
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<12 {
            bytes[i] = digits[Int(v & 15)]
            v >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Malformed lines

    mutating func malformed(from line: [UInt8]) -> [UInt8] {
        let s = String(decoding: line, as: UTF8.self)
        switch random.below(10) {
        case 0: return Array(line.prefix(max(1, line.count / 2)))  // truncated JSON
        case 1: return Array(s.replacingFirst("\"service\":\"", with: "\"svc\":\"").utf8)  // missing service
        case 2: return Array(s.replacingFirst("\"time\":\"", with: "\"time\":\"2026-13-45T").utf8)  // bad time
        case 3: return Array(s.replacingFirst("\"service\":\"", with: "\"service\":42,\"x\":\"").utf8)  // wrong type
        case 4: return Array(("{\"id\":\"dup-key\"," + s.dropFirst()).utf8)  // repeated member name
        case 5: return [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]  // invalid UTF-8
        case 6: return Array(s.replacingFirst("{", with: "{\"score\":NaN,").utf8)  // NaN is not JSON
        case 7: return Array("[\"not\",\"an\",\"object\"]".utf8)
        case 8: return Array(s.replacingFirst("\"id\":\"", with: "\"id\":\"\",\"old_id\":\"").utf8)  // empty id
        default: return Array(s.replacingFirst("\"type\":\"", with: "\"type\":null,\"t\":\"").utf8)  // null required
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return String(self[..<r.lowerBound]) + replacement + String(self[r.upperBound...])
    }

    func range(of target: String) -> Range<String.Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// Builds one event's JSON line field by field, straight into bytes.
struct JSONLine {
    var bytes: [UInt8] = []

    init(
        common id: String, type: String, time: Int64, service: Int, environment: Int, random: inout SeededRandom,
        configuration: GeneratorConfiguration, alwaysTeam: Bool = false
    ) {
        bytes.reserveCapacity(320)
        bytes.append(0x7B)
        string("id", id, first: true)
        string("type", type)
        // Mostly UTC; now and then an offset or fractional seconds, to exercise parsers.
        let style = random.below(10)
        timeField("time", time, offsetMinutes: style == 0 ? 120 : style == 1 ? -300 : 0, fraction: style == 2)
        string("service", EventGenerator.serviceName(service))
        if environment != 0 || random.chance(0.2) { string("environment", GeneratorState.environments[environment]) }
        if service % 11 != 10, alwaysTeam || random.chance(0.5) {
            string("team", EventGenerator.teamName(service % max(configuration.teams, 1)))
        }
        if random.chance(configuration.unknownFieldRate) {
            string("x_pipeline", "ci-\(random.below(100_000))")
            raw("labels", "{\"region\":\"eu-west-1\",\"canary\":true,\"weights\":[1,2.5,-3e2]}")
        }
    }

    mutating func key(_ name: String, first: Bool = false) {
        if !first { bytes.append(0x2C) }
        bytes.append(0x22)
        bytes += name.utf8
        bytes.append(0x22)
        bytes.append(0x3A)
    }

    mutating func string(_ name: String, _ value: String, first: Bool = false) {
        key(name, first: first)
        bytes.append(0x22)
        bytes += value.utf8
        bytes.append(0x22)
    }

    mutating func bool(_ name: String, _ value: Bool) {
        key(name)
        bytes += (value ? "true" : "false").utf8
    }

    mutating func raw(_ name: String, _ json: String) {
        key(name)
        bytes += json.utf8
    }

    mutating func timeField(_ name: String, _ micros: Int64, offsetMinutes: Int = 0, fraction: Bool = false) {
        key(name)
        bytes.append(0x22)
        appendTime(micros, offsetMinutes: offsetMinutes, fraction: fraction)
        bytes.append(0x22)
    }

    mutating func commits(_ list: [(String, Int64)]) {
        key("commits")
        bytes.append(0x5B)
        for (i, c) in list.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            bytes.append(0x7B)
            string("sha", c.0, first: true)
            timeField("time", c.1)
            bytes.append(0x7D)
        }
        bytes.append(0x5D)
    }

    mutating func finish() -> [UInt8] {
        bytes.append(0x7D)
        return bytes
    }

    private mutating func digits(_ value: Int, _ width: Int) {
        var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        var v = value
        withUnsafeMutableBytes(of: &buf) { b in
            for i in stride(from: width - 1, through: 0, by: -1) {
                b[i] = UInt8(0x30 + v % 10)
                v /= 10
            }
            bytes.append(contentsOf: b[0..<width])
        }
    }

    /// RFC 3339 with the given offset; fractional milliseconds when `fraction`.
    private mutating func appendTime(_ micros: Int64, offsetMinutes: Int, fraction: Bool) {
        let local = micros + Int64(offsetMinutes) * 60_000_000
        let seconds = local >= 0 ? local / 1_000_000 : (local - 999_999) / 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let sod = Int(seconds - days * 86_400)
        let (y, m, d) = Timestamp.civilFromDays(Int(days))
        digits(y, 4); bytes.append(0x2D); digits(m, 2); bytes.append(0x2D); digits(d, 2); bytes.append(0x54)
        digits(sod / 3600, 2); bytes.append(0x3A); digits(sod / 60 % 60, 2); bytes.append(0x3A); digits(sod % 60, 2)
        if fraction {
            bytes.append(0x2E)
            digits(Int((local - seconds * 1_000_000) / 1000), 3)
        }
        if offsetMinutes == 0 {
            bytes.append(0x5A)
        } else {
            bytes.append(offsetMinutes > 0 ? 0x2B : 0x2D)
            digits(abs(offsetMinutes) / 60, 2); bytes.append(0x3A); digits(abs(offsetMinutes) % 60, 2)
        }
    }
}
