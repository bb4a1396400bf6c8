import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes each log record as one JSON object per line on standard output (SPEC §8), keys sorted.
/// The line is built by hand (no `JSONSerialization`, no date formatter) and handed to
/// `LogWriter`, which writes in batches off the event loops: a request line costs microseconds.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let writer: LogWriter

    public init(label: String, level: Logger.Level) {
        self.init(label: label, level: level, writer: .standardOutput)
    }

    init(label: String, level: Logger.Level, writer: LogWriter) {
        self.label = label
        self.logLevel = level
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        writer.write(line: Self.line(level: event.level, label: label, message: "\(event.message)",
                                     metadata: metadata.merging(event.metadata ?? [:]) { $1 }, timestamp: Self.timestamp()))
    }

    /// `{"key":"value",...}` with every key sorted, values as strings.
    static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, timestamp: String) -> [UInt8] {
        var fields: [(String, String)] = [("level", level.rawValue), ("logger", label), ("msg", message), ("ts", timestamp)]
        for (key, value) in metadata where !["level", "logger", "msg", "ts"].contains(key) { fields.append((key, "\(value)")) }
        fields.sort { $0.0 < $1.0 }
        var line: [UInt8] = [UInt8(ascii: "{")]
        line.reserveCapacity(256)
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            appendString(field.0, to: &line)
            line.append(UInt8(ascii: ":"))
            appendString(field.1, to: &line)
        }
        line.append(UInt8(ascii: "}"))
        return line
    }

    /// A JSON string: quotes, backslashes and control characters escaped; everything else as UTF-8.
    static func appendString(_ string: String, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                line.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                         hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            default: line.append(byte)
            }
        }
        line.append(UInt8(ascii: "\""))
    }

    /// Now, as `2026-12-07T19:00:37.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return timestamp(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
                         hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec),
                         millisecond: Int(now.tv_nsec / 1_000_000))
    }

    static func timestamp(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(UInt8(ascii: "-")); digits(month, 2); bytes.append(UInt8(ascii: "-")); digits(day, 2)
        bytes.append(UInt8(ascii: "T"))
        digits(hour, 2); bytes.append(UInt8(ascii: ":")); digits(minute, 2); bytes.append(UInt8(ascii: ":")); digits(second, 2)
        bytes.append(UInt8(ascii: ".")); digits(millisecond, 3); bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
