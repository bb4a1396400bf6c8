import Foundation

/// A calendar date without time zone (`YYYY-MM-DD`), stored as that text so ranges sort and
/// compare the same on SQLite and PostgreSQL.
public struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public static let formatError = "Fecha con formato erróneo. Use uno de los siguientes formatos en su lugar: YYYY-MM-DD."
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? .current
        return calendar
    }()

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1,
              day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Strict `YYYY-MM-DD`: `2026-02-30` and `2026-2-3` are refused.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
              bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }),
              let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)), let day = Int(text.suffix(2))
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Today in `timeZone`.
    public static func today(in timeZone: TimeZone, now: Date = Date()) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return LocalDate(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
            ?? LocalDate(year: 1970, month: 1, day: 1)!
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (negative before).
    public var dayNumber: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        self.month = month
        self.day = day
    }

    public func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + days) }

    /// The instant at `minutes` after this date's midnight on the wall clock of `timeZone`
    /// (1440 is the next midnight). Around DST changes a skipped wall time is read with the offset
    /// before the change (02:30 becomes 03:30) and a repeated one as its second occurrence.
    public func instant(minutes: Int, in timeZone: TimeZone) -> Date {
        let local = TimeInterval(dayNumber * 86_400 + minutes * 60)
        let guess = local - TimeInterval(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local)))
        let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: guess))
        return Date(timeIntervalSince1970: local - TimeInterval(offset))
    }

    /// 0 = lunes … 6 = domingo (SPEC's `dia_semana`).
    public var weekday: Int {
        // 1970-01-01 was a Thursday (3).
        ((dayNumber % 7) + 7 + 3) % 7
    }

    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }
    /// `YYYY-MM`, for monthly figures.
    public var monthKey: String { String(format: "%04d-%02d", year, month) }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not YYYY-MM-DD"))
        }
        self = date
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A time of day as minutes since midnight; written `HH:MM`, read as `HH:MM` or `HH:MM:SS`.
/// `24:00` is accepted as the end of the day (for slots that end at midnight).
public struct TimeOfDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let minutes: Int

    public static let formatError = "Hora con formato erróneo. Use uno de los siguientes formatos en su lugar: hh:mm[:ss]."

    public init?(minutes: Int) {
        guard (0...1_440).contains(minutes) else { return nil }
        self.minutes = minutes
    }

    /// For values read back from the database, which were validated when written.
    public init(clamping minutes: Int) {
        self.minutes = min(max(minutes, 0), 1_440)
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else {
            if text == "24:00" || text == "24:00:00" { self.minutes = 1_440; return }
            return nil
        }
        if parts.count == 3 {
            guard let second = Int(parts[2]), (0...59).contains(second), second == 0 else { return nil }
        }
        self.minutes = hour * 60 + minute
    }

    public var description: String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

    public static func < (lhs: TimeOfDay, rhs: TimeOfDay) -> Bool { lhs.minutes < rhs.minutes }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let time = TimeOfDay(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not HH:MM"))
        }
        self = time
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Hours kept as exact hundredths and written as JSON numbers with two decimals at most.
public enum Hours {
    public static func format(_ hundredths: Int) -> String {
        hundredths % 100 == 0 ? String(hundredths / 100) : String(format: "%.2f", Double(hundredths) / 100)
    }

    /// `12.5`, for JSON.
    public static func value(_ hundredths: Int) -> Double { Double(hundredths) / 100 }

    /// Minutes worked as hundredths of an hour, rounded half up (90 min → 150).
    public static func fromMinutes(_ minutes: Int) -> Int { (minutes * 100 + 30) / 60 }
}
