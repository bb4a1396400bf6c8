import Foundation

/// Writes agenda entries as an RFC 5545 calendar: CRLF line ends, lines folded at 75 octets
/// (never inside a UTF-8 sequence), TEXT values escaped, instants in UTC.
enum ICalendar {
    static let productID = "-//Plataforma de Mentores//Agenda//ES"

    static func render(_ entries: [AgendaEntry], name: String, now: Date) -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:\(productID)", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
            "X-WR-CALNAME:\(escape(name))",
        ]
        let stamp = timestamp(now)
        for entry in entries {
            lines += [
                "BEGIN:VEVENT", "UID:\(escape(entry.uid))", "DTSTAMP:\(stamp)",
                "DTSTART:\(timestamp(entry.item.inicio))", "DTEND:\(timestamp(entry.item.fin))",
                "SUMMARY:\(escape(entry.item.titulo))",
            ]
            if let aula = entry.item.aula, !aula.isEmpty { lines.append("LOCATION:\(escape(aula))") }
            lines += ["CATEGORIES:\(entry.item.tipo.rawValue.uppercased())", "END:VEVENT"]
        }
        lines.append("END:VCALENDAR")
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// TEXT escaping: backslash, semicolon, comma and line breaks; other control characters dropped.
    static func escape(_ text: String) -> String {
        var result = ""
        var afterCR = false
        for scalar in text.unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar {
            case "\\": result += "\\\\"
            case ";": result += "\\;"
            case ",": result += "\\,"
            case "\r": result += "\\n"
            case "\n": if !afterCR { result += "\\n" }
            case "\t": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Splits a content line into lines of at most 75 octets; continuations start with a space.
    static func fold(_ line: String) -> String {
        var result = ""
        var octets = 0
        for scalar in line.unicodeScalars {
            let width = UTF8.width(scalar)
            if octets + width > 75 {
                result += "\r\n "
                octets = 1
            }
            result.unicodeScalars.append(scalar)
            octets += width
        }
        return result
    }

    /// `20260302T080000Z`.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        let day = LocalDate(dayNumber: days)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", day.year, day.month, day.day, time / 3_600, time % 3_600 / 60, time % 60)
    }
}
