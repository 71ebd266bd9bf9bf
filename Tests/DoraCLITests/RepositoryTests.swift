import DoraTestSupport
import Foundation
import Testing

/// The repository stands alone: a user of a clone has its docs, not the planning folder
/// beside it, and every link in its Markdown leads somewhere in the clone.
@Suite struct RepositoryTests {
    @Test func noFileRefersToThePlanningFolderBesideTheRepository() throws {
        // Built from parts, so that this file does not match itself.
        let needles = [".." + "/shared", "shared" + "/spec"]
        var offenders: [String] = []
        for file in try Repository.files() {
            guard let data = FileManager.default.contents(atPath: Repository.path(file)) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for needle in needles where text.contains(needle) { offenders.append("\(file) mentions \(needle)") }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }

    @Test func everyRelativeLinkInTheMarkdownLeadsToAFileOfTheRepository() throws {
        let files = try Repository.files()
        var broken: [String] = []
        for file in files where file.hasSuffix(".md") {
            let text = String(decoding: try TestFiles.read(Repository.path(file)), as: UTF8.self)
            let folder = URL(fileURLWithPath: Repository.path(file)).deletingLastPathComponent()
            for match in text.matches(of: /\]\(([^)#\s]+)(#[^)]*)?\)/) {
                let target = String(match.output.1)
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                let path = folder.appendingPathComponent(target).standardizedFileURL.path
                if !FileManager.default.fileExists(atPath: path) { broken.append("\(file): \(target)") }
            }
        }
        #expect(broken.isEmpty, "\(broken)")
    }
}
