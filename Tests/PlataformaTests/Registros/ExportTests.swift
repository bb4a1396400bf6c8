import AsyncHTTPClient
import Fluent
import Foundation
import NIOCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("CSV export of hour records")
struct ExportTests {
    @Test("RFC 4180 CSV with the SPEC header, names, emails, nulls empty, quoting and formula guarding")
    func shape() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let (reviewer, coordinator) = try await t.userWithToken(.coordinador)
            var body = s.body("09:00", "10:15")
            if case .object(var o) = body { o["descripcion"] = "Línea 1, \"citada\"\nLínea 2"; body = .object(o) }
            let created = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: body)
            let id = try #require(created.json["id"].int)
            _ = try await t.send(.POST, "/api/registro-horas/\(id)/aprobar/", token: coordinator)
            var formula = s.body("11:00", "12:00")
            if case .object(var o) = formula { o["descripcion"] = "=HYPERLINK(\"x\")"; formula = .object(o) }
            _ = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: formula)

            let res = try await t.send(.GET, "/api/registro-horas/exportar/?formato=csv", token: coordinator, headers: ["Accept": "text/csv"])
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .contentType) == "text/csv; charset=utf-8")
            #expect(res.headers.first(name: .contentDisposition)?.hasPrefix("attachment; filename=\"registro-horas-") == true)
            let text = res.body.string
            let lines = text.components(separatedBy: "\r\n")
            #expect(lines[0] == RegistroExportController.header)
            #expect(text.hasSuffix("\r\n"))
            let expected = "\(id),2025-03-03,09:00,10:15,1.25,\(try s.mentor.requireID()),Marta López,\(try s.project.requireID()),Robótica,,,aprobado,"
                + "\"Línea 1, \"\"citada\"\"\nLínea 2\",\(reviewer.email),"
            #expect(text.contains(expected))
            #expect(text.contains(",pendiente,\"'=HYPERLINK(\"\"x\"\")\",,\r\n"))
        }
    }

    @Test("the export applies the list filters and a mentor exports only their own records")
    func filtersAndScope() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let other = try await HoursSetup.make(t)
            _ = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(fecha: "2025-03-03"))
            _ = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(fecha: "2025-03-05"))
            _ = try await t.send(.POST, "/api/registro-horas/", token: other.token, json: other.body())
            func rows(_ token: String, _ query: String = "") async throws -> Int {
                let res = try await t.send(.GET, "/api/registro-horas/exportar/?formato=csv\(query)", token: token)
                return res.body.string.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count - 1
            }
            let (_, admin) = try await t.userWithToken(.admin)
            #expect(try await rows(admin) == 3)
            #expect(try await rows(admin, "&desde=2025-03-04") == 1)
            #expect(try await rows(s.token) == 2)
            #expect(try await rows(other.token) == 1)
            let bad = try await t.send(.GET, "/api/registro-horas/exportar/?formato=xlsx", token: admin)
            #expect(bad.status == .badRequest)
            #expect(bad.json.objectKeys == ["formato"])
            #expect(try await t.send(.GET, "/api/registro-horas/exportar/?desde=ayer", token: admin).status == .badRequest)
            #expect(try await t.send(.GET, "/api/registro-horas/exportar/").status == .unauthorized)
        }
    }

    @Test("100,000 records stream in chunks with flat memory")
    func large() async throws {
        try await withApp(["THROTTLE_USER": "None"]) { t in
            let s = try await HoursSetup.make(t)
            let (_, admin) = try await t.userWithToken(.admin)
            try await Self.insertRecords(t, mentor: s.mentor, project: s.project, count: 100_000)
            try await t.app.server.start(address: .hostname("127.0.0.1", port: 0))
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            do {
                let port = try #require(t.app.http.server.shared.localAddress?.port)
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/registro-horas/exportar/?formato=csv")
                request.headers.add(name: "Authorization", value: "Bearer \(admin)")
                let before = Self.residentMegabytes()
                let response = try await client.execute(request, timeout: .seconds(300))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "Content-Length") == nil)
                #expect(response.headers.first(name: "Transfer-Encoding") == "chunked")
                var bytes = 0, lines = 0, chunks = 0, peak = before
                for try await chunk in response.body {
                    chunks += 1
                    bytes += chunk.readableBytes
                    lines += chunk.readableBytesView.lazy.filter { $0 == 0x0A }.count
                    if chunks % 50 == 0 { peak = max(peak, Self.residentMegabytes()) }
                }
                #expect(lines == 100_001)
                #expect(bytes > 7_000_000)
                #expect(chunks > 50)
                // The whole CSV is ~8 MB and the rows as models several times that; a streamed
                // export holds one 1,000-row batch at a time.
                #expect(peak - before < 40, "resident memory grew \(peak - before) MB")
                try await client.shutdown()
                await t.app.server.shutdown()
            } catch {
                try? await client.shutdown()
                await t.app.server.shutdown()
                throw error
            }
        }
    }

    /// Bulk rows through multi-row INSERTs (one statement per 1,000 rows).
    static func insertRecords(_ t: TestApp, mentor: Mentor, project: Proyecto, count: Int) async throws {
        let sql = try #require(t.db as? any SQLDatabase)
        let mentorID = try mentor.requireID(), projectID = try project.requireID()
        var inserted = 0
        while inserted < count {
            let batch = min(1_000, count - inserted)
            let builder = sql.insert(into: RegistroHoras.schema)
                .columns("mentor_id", "proyecto_id", "fecha", "hora_inicio", "hora_fin", "horas", "descripcion", "estado",
                         "motivo_rechazo", "creado")
            for index in inserted..<(inserted + batch) {
                let day = LocalDate(year: 2020, month: 1, day: 1)!.adding(days: index / 10)
                let start = 480 + (index % 10) * 60
                builder.values(SQLBind(mentorID), SQLBind(projectID), SQLBind(day.description), SQLBind(start), SQLBind(start + 60),
                               SQLBind(100), SQLBind("Sesión \(index), con coma"), SQLBind("aprobado"), SQLBind(""), SQLBind(Date()))
            }
            try await builder.run()
            inserted += batch
        }
    }

    static func residentMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes / 1_024
    }
}
