import Foundation

/// A throttle rate in DRF's syntax, extended with a multiplier: `100/min`, `5/15min`, `1000/hour`.
public struct Rate: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let seconds: Int

    public init(count: Int, seconds: Int) {
        self.count = count
        self.seconds = seconds
    }

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        let period = parts[1].lowercased()
        let digits = period.prefix(while: \.isNumber)
        let multiplier = digits.isEmpty ? 1 : (Int(digits) ?? 0)
        let unitSeconds: Int
        switch period.dropFirst(digits.count) {
        case "s", "sec", "second", "seconds": unitSeconds = 1
        case "m", "min", "minute", "minutes": unitSeconds = 60
        case "h", "hour", "hours": unitSeconds = 3_600
        case "d", "day", "days": unitSeconds = 86_400
        default: return nil
        }
        guard multiplier > 0, multiplier <= 10_000 else { return nil }
        self.init(count: count, seconds: multiplier * unitSeconds)
    }

    public var description: String { "\(count)/\(seconds)s" }
}
