import DoraDrill
import Testing

@Suite struct CommandWordsTests {
    @Test(arguments: [
        ("kubectl rollout undo deploy/checkout", ["kubectl", "rollout", "undo", "deploy/checkout"]),
        ("  a   b\tc ", ["a", "b", "c"]),
        ("echo 'two words' \"and \\\"more\\\"\"", ["echo", "two words", "and \"more\""]),
        ("a\\ b c", ["a b", "c"]),
        ("x '' y", ["x", "", "y"]),
        ("echo $HOME *", ["echo", "$HOME", "*"]),
    ])
    func aCommandIsSplitAsAShellSplitsASimpleCommandWithoutExpanding(command: String, words: [String]) throws {
        #expect(try CommandWords.split(command) == words)
    }

    @Test(arguments: ["echo 'open", "echo \"open", "trailing\\", "   "])
    func aBrokenCommandIsAUsageError(command: String) {
        #expect(throws: DrillError.self) { try CommandWords.split(command) }
    }
}
