/// Splits a command given as one string into its words, the way a POSIX shell splits a simple
/// command, without any expansion: words are separated by blanks; single quotes keep
/// everything literally; double quotes keep everything but `\"` and `\\`; a backslash outside
/// quotes escapes the next character. No variables, globs, pipes or redirections: a drill
/// runs its commands without a shell unless asked (`--shell`).
public enum CommandWords {
    /// - Throws: `DrillError` for an unterminated quote, a trailing backslash or no word.
    public static func split(_ command: String) throws(DrillError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = command.makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "'":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "'" { closed = true; break }
                    current.append(q)
                }
                guard closed else { throw DrillError(.usage, "unterminated ' in the command \(command)") }
            case "\"":
                inWord = true
                var closed = false
                while let q = iterator.next() {
                    if q == "\"" { closed = true; break }
                    if q == "\\" {
                        guard let next = iterator.next() else { break }
                        if next != "\"" && next != "\\" { current.append("\\") }
                        current.append(next)
                    } else {
                        current.append(q)
                    }
                }
                guard closed else { throw DrillError(.usage, "unterminated \" in the command \(command)") }
            case "\\":
                guard let next = iterator.next() else { throw DrillError(.usage, "the command \(command) ends with a backslash") }
                inWord = true
                current.append(next)
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw DrillError(.usage, "a command is empty") }
        return words
    }
}
