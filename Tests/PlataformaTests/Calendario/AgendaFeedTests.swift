import Crypto
import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Agenda iCalendar feed")
struct AgendaFeedTests {
    /// The path and query of an absolute feed URL.
    static func path(of url: String) throws -> String {
        let start = try #require(url.range(of: "/api/agenda/ics/?token="))
        return String(url[start.lowerBound...])
    }

    /// The logical lines of an iCalendar body after checking its physical form: CRLF everywhere,
    /// every line at most 75 octets of valid UTF-8, folded lines starting with one space.
    static func unfold(_ body: ByteBuffer) throws -> (lines: [String], folded: Int) {
        let bytes = Array(body.readableBytesView)
        #expect(bytes.suffix(2) == [13, 10])
        for (index, byte) in bytes.enumerated() {
            if byte == 10 { #expect(index > 0 && bytes[index - 1] == 13, "bare LF at \(index)") }
            if byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "bare CR at \(index)") }
        }
        var physical: [[UInt8]] = [[]]
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                physical.append([])
                index += 2
            } else {
                physical[physical.count - 1].append(bytes[index])
                index += 1
            }
        }
        #expect(physical.removeLast().isEmpty)
        var lines: [String] = []
        var folded = 0
        for line in physical {
            #expect(line.count <= 75, "a line of \(line.count) octets")
            let text = try #require(String(bytes: line, encoding: .utf8), "a line split inside a UTF-8 sequence")
            if text.hasPrefix(" ") {
                folded += 1
                lines[lines.count - 1] += text.dropFirst()
            } else {
                lines.append(text)
            }
        }
        return (lines, folded)
    }

    /// Each VEVENT's properties by name.
    static func events(_ lines: [String]) -> [[String: String]] {
        var events: [[String: String]] = []
        var current: [String: String]?
        for line in lines {
            if line == "BEGIN:VEVENT" { current = [:]; continue }
            if line == "END:VEVENT", let event = current { events.append(event); current = nil; continue }
            if current != nil, let colon = line.firstIndex(of: ":") {
                current?[String(line[..<colon])] = String(line[line.index(after: colon)...])
            }
        }
        return events
    }

    @Test("GET token gives a stable absolute URL; POST replaces it and the old URL gets 401")
    func tokenLifecycle() async throws {
        try await withApp { t in
            let (user, token) = try await t.userWithToken(.coordinador)
            let first = try await t.send(.GET, "/api/agenda/ics/token/", token: token)
            #expect(first.status == .ok)
            #expect(first.json.objectKeys == ["url"])
            let url = try #require(first.json["url"].string)
            #expect(url.hasPrefix("http://") && url.contains("/api/agenda/ics/?token="))
            let secret = String(try #require(url.split(separator: "=").last))
            #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit))
            // Each test request reaches a new port, so compare what follows the host.
            let again = try #require(try await t.send(.GET, "/api/agenda/ics/token/", token: token).json["url"].string)
            #expect(try Self.path(of: again) == Self.path(of: url))
            let proxied = try await t.send(.GET, "/api/agenda/ics/token/", token: token, headers: ["Host": "agenda.example.org"])
            #expect(proxied.json["url"].string == "http://agenda.example.org" + (try Self.path(of: url)))

            let row = try #require(try await AgendaToken.query(on: t.db).filter(\.$usuario.$id == (try user.requireID())).first())
            #expect(row.tokenHash == SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined())
            #expect(!row.tokenHash.contains(secret) && !row.nonce.contains(secret))

            let feed = try await t.send(.GET, try Self.path(of: url))
            #expect(feed.status == .ok)
            let replaced = try await t.send(.POST, "/api/agenda/ics/token/", token: token)
            #expect(replaced.status == .ok)
            let newURL = try #require(replaced.json["url"].string)
            #expect(try Self.path(of: newURL) != Self.path(of: url))
            let current = try #require(try await t.send(.GET, "/api/agenda/ics/token/", token: token).json["url"].string)
            #expect(try Self.path(of: current) == Self.path(of: newURL))
            let old = try await t.send(.GET, try Self.path(of: url))
            #expect(old.status == .unauthorized)
            #expect(old.json == ["detail": "El token del calendario no es válido.", "code": "authentication_failed"])
            #expect(old.headers.first(name: "WWW-Authenticate") == #"Bearer realm="api""#)
            #expect(try await t.send(.GET, try Self.path(of: newURL)).status == .ok)
            #expect(try await AgendaToken.query(on: t.db).count() == 1)

            // A password change (new credential version) ends the URL; the next GET issues another.
            user.tokenVersion += 1
            try await user.save(on: t.db)
            #expect(try await t.send(.GET, try Self.path(of: newURL)).status == .unauthorized)
            let fresh = try #require(try await t.send(.GET, "/api/agenda/ics/token/", token: try await t.accessToken(for: user)).json["url"].string)
            #expect(try Self.path(of: fresh) != Self.path(of: newURL))
            #expect(try await t.send(.GET, try Self.path(of: fresh)).status == .ok)
            user.activo = false
            try await user.save(on: t.db)
            #expect(try await t.send(.GET, try Self.path(of: fresh)).json["code"] == "user_inactive")
        }
    }

    @Test("a missing or unknown token is 401 in the API's JSON shape")
    func unauthorized() async throws {
        try await withApp { t in
            let missing = try await t.send(.GET, "/api/agenda/ics/", headers: ["Accept": "text/calendar"])
            #expect(missing.status == .unauthorized)
            #expect(missing.json == ["detail": "Las credenciales de autenticación no se proveyeron.", "code": "not_authenticated"])
            for bad in ["abc", String(repeating: "0", count: 64), String(repeating: "A", count: 64), "%00"] {
                let res = try await t.send(.GET, "/api/agenda/ics/?token=\(bad)")
                #expect(res.status == .unauthorized, "\(bad)")
                #expect(res.json["code"] == "authentication_failed")
            }
            #expect(try await t.send(.GET, "/api/agenda/ics/token/").status == .unauthorized)
            #expect(try await t.send(.POST, "/api/agenda/ics/").status == .methodNotAllowed)
        }
    }

    @Test("the feed is RFC 5545: CRLF, lines folded at 75 octets between characters, TEXT escaped, UTC times")
    func format() async throws {
        try await withApp(AgendaTests.madrid) { t in
            let name = "Robótica; nivel 2, \"avanzado\" \\ taller\nde fin de semana para ñandúes y cigüeñas"
            let s = try await AgendaTests.setUp(t, proyecto: name, aula: "Aula 3, edificio B; planta 2")
            let url = try #require(try await t.send(.GET, "/api/agenda/ics/token/", token: s.anaToken).json["url"].string)
            let res = try await t.send(.GET, try Self.path(of: url) + "&desde=2026-03-01&hasta=2026-03-10",
                                       headers: ["Accept": "text/calendar"])
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .contentType) == "text/calendar; charset=utf-8")
            let (lines, folded) = try Self.unfold(res.body)
            #expect(folded > 0)
            #expect(Array(lines.prefix(3)) == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Plataforma de Mentores//Agenda//ES"])
            #expect(lines.last == "END:VCALENDAR")
            #expect(lines.contains("X-WR-CALNAME:Agenda · Ana Pérez"))

            let events = Self.events(lines)
            let json = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10", token: s.anaToken)
            #expect(events.count == json.json.array.count)
            #expect(events.count == 3)
            let (ana, monday, record) = (try s.ana.requireID(), try s.monday.requireID(), try s.anaRecord.requireID())
            let summary = "Robótica\\; nivel 2\\, \"avanzado\" \\\\ taller\\nde fin de semana para ñandúes y cigüeñas · Grupo A"
            #expect(events[0]["UID"] == "clase-\(monday)-2026-03-02-\(ana)@plataforma")
            #expect(events[0]["DTSTART"] == "20260302T080000Z")
            #expect(events[0]["DTEND"] == "20260302T093000Z")
            #expect(events[0]["SUMMARY"] == summary)
            #expect(events[0]["LOCATION"] == "Aula 3\\, edificio B\\; planta 2")
            #expect(events[0]["DTSTAMP"]?.wholeMatch(of: /\d{8}T\d{6}Z/) != nil)
            #expect(events[1]["UID"] == "registro-\(record)@plataforma")
            #expect(events[1]["DTSTART"] == "20260303T090000Z")
            #expect(events[1]["LOCATION"] == nil)
            #expect(events[2]["UID"] == "clase-\(monday)-2026-03-09-\(ana)@plataforma")
            #expect(events.allSatisfy { $0["DTSTAMP"] == events[0]["DTSTAMP"] })
        }
    }

    @Test("without desde/hasta the feed covers 30 days back to 180 days ahead; a bad range is 400")
    func defaultWindow() async throws {
        try await withApp { t in
            let (mentor, token) = try await t.mentorWithToken()
            let project = try await t.makeProyecto(mentors: [mentor])
            let group = try await t.makeGrupo(proyecto: project, mentors: [mentor])
            let today = LocalDate.today(in: TimeZone(identifier: "UTC")!)
            let calendar = try await t.makeCalendario(inicio: today.adding(days: -100).description, fin: today.adding(days: 300).description,
                                                      dias: Array(0...6))
            for dia in 0...6 { try await t.makeHorario(grupo: group, calendario: calendar, dia: dia, inicio: "09:00", fin: "10:00") }
            let url = try #require(try await t.send(.GET, "/api/agenda/ics/token/", token: token).json["url"].string)
            let events = Self.events(try Self.unfold(try await t.send(.GET, try Self.path(of: url)).body).lines)
            #expect(events.count == 211)
            func stamp(_ date: LocalDate) -> String { date.description.replacingOccurrences(of: "-", with: "") + "T090000Z" }
            #expect(events.first?["DTSTART"] == stamp(today.adding(days: -30)))
            #expect(events.last?["DTSTART"] == stamp(today.adding(days: 180)))
            let one = try await t.send(.GET, try Self.path(of: url) + "&desde=\(today)&hasta=\(today)")
            #expect(Self.events(try Self.unfold(one.body).lines).count == 1)
            let tooLong = try await t.send(.GET, try Self.path(of: url) + "&hasta=\(today.adding(days: 400))")
            #expect(tooLong.status == .badRequest)
            #expect(tooLong.json == ["hasta": ["El rango de fechas no puede superar 366 días."]])
        }
    }

    @Test("folding never splits a UTF-8 character and unfolds to the original; escaping covers \\ ; , and line breaks")
    func foldingAndEscaping() {
        let ascii = String(repeating: "a", count: 75)
        #expect(ICalendar.fold(ascii) == ascii)
        #expect(ICalendar.fold(ascii + "b") == ascii + "\r\n b")
        let boundary = String(repeating: "a", count: 74) + "ñb"
        #expect(ICalendar.fold(boundary) == String(repeating: "a", count: 74) + "\r\n ñb")
        let euros = "SUMMARY:" + String(repeating: "€", count: 120)
        let folded = ICalendar.fold(euros)
        #expect(folded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 75 })
        #expect(folded.replacingOccurrences(of: "\r\n ", with: "") == euros)
        #expect(ICalendar.escape("a\\b;c,d\r\ne\nf\rg\u{7}h\ti") == "a\\\\b\\;c\\,d\\ne\\nf\\ngh\ti")
        #expect(ICalendar.timestamp(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(ICalendar.timestamp(Date(timeIntervalSince1970: -1)) == "19691231T235959Z")
    }
}

@Suite("Local wall-clock times as instants")
struct InstantTests {
    @Test("a date and minutes in a time zone become the UTC instant, across DST changes")
    func instants() {
        let madrid = TimeZone(identifier: "Europe/Madrid")!
        func utc(_ date: String, _ minutes: Int) -> String { ICalendar.timestamp(LocalDate(date)!.instant(minutes: minutes, in: madrid)) }
        #expect(utc("2026-03-28", 9 * 60) == "20260328T080000Z")
        #expect(utc("2026-03-29", 9 * 60) == "20260329T070000Z")
        #expect(utc("2026-03-29", 150) == "20260329T013000Z")  // 02:30 does not exist: read as 03:30 CEST
        #expect(utc("2026-10-25", 150) == "20261025T013000Z")  // 02:30 happens twice: the second, CET
        #expect(utc("2026-12-31", 1_440) == "20261231T230000Z")  // 24:00 is the next midnight
        #expect(ICalendar.timestamp(LocalDate("2026-03-02")!.instant(minutes: 0, in: TimeZone(identifier: "UTC")!)) == "20260302T000000Z")
    }
}
