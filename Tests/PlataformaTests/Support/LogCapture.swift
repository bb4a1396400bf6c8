import Foundation
import Logging
import NIOConcurrencyHelpers

/// Keeps log records in memory so tests can read what the server logged. Installed once per
/// process (swift-log allows one bootstrap); apps made afterwards log through it.
final class LogCapture: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    static let shared = LogCapture()
    private static let installed: Bool = {
        LoggingSystem.bootstrap { label in CapturingHandler(label: label) }
        return true
    }()

    private let records = NIOLockedValueBox<[Record]>([])

    static func install() { _ = installed }

    func append(_ record: Record) { records.withLockedValue { $0.append(record) } }

    func records(where predicate: (Record) -> Bool) -> [Record] {
        records.withLockedValue { $0.filter(predicate) }
    }
}

struct CapturingHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        LogCapture.shared.append(.init(
            level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        // Errors stay visible in the test output.
        if event.level >= .error {
            FileHandle.standardError.write(Data("[\(label)] \(event.level): \(event.message) \(merged)\n".utf8))
        }
    }
}
