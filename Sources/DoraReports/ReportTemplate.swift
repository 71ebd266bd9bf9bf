import Foundation
import Mustache

/// The HTML page's template, a resource of this module, found beside the executable.
///
/// SwiftPM puts a module's resources in `doralog_DoraReports.resources` next to the binary.
/// Its generated `Bundle.module` stops the process when that folder is missing (a binary
/// copied without it); this looks in the same places and throws a `ReportRenderingError`
/// that says what to do instead.
enum ReportTemplate {
    static let folder = "doralog_DoraReports.resources"

    /// The parsed template of the HTML page.
    static func html() throws(ReportRenderingError) -> MustacheTemplate {
        let candidates = [
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.executableURL?.deletingLastPathComponent(),
        ].compactMap { $0?.appendingPathComponent(folder).appendingPathComponent("report.mustache").path }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ReportRenderingError(
                "the HTML report's template is missing: doralog looks for \(folder)/report.mustache beside its binary "
                    + "(\(candidates.first ?? "?")); install the binary together with that folder from the build directory")
        }
        do {
            return try MustacheTemplate(string: String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw ReportRenderingError("the HTML report's template \(path) cannot be read: \(error)")
        }
    }
}

/// Why a report could not be rendered (only the HTML page can fail: its template is a file).
public struct ReportRenderingError: Error, CustomStringConvertible, Sendable {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
