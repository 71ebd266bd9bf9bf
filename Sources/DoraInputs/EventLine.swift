import DoraEvents

/// Builds one event of doralog's schema as a JSON line, members in the order they are added.
struct EventLine {
    private var members: [String] = []

    init(id: String, type: String, time: Timestamp, service: String) {
        add("id", id)
        add("type", type)
        add("time", time.rfc3339)
        add("service", service)
    }

    /// Adds a string member; a nil value adds nothing.
    mutating func add(_ name: String, _ value: String?) {
        guard let value else { return }
        members.append(JSONText.quoted(name) + ":" + JSONText.quoted(value))
    }

    /// Adds a member whose value is already JSON; nil adds nothing.
    mutating func addRaw(_ name: String, _ json: String?) {
        guard let json else { return }
        members.append(JSONText.quoted(name) + ":" + json)
    }

    var json: String { "{" + members.joined(separator: ",") + "}" }
}
