import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Métricas")
struct MetricasTests {
    /// Approved/pending totals from the endpoint against a plain SUM over the hour records.
    func expectAgreesWithSum(_ t: TestApp, token: String, _ comment: Comment) async throws {
        let res = try await t.send(.GET, "/api/metricas/", token: token)
        #expect(res.status == .ok, comment)
        let sql = try #require(t.db as? any SQLDatabase)
        let reference = try await MetricasQuery.totalsByState(from: RegistroHoras.schema, on: sql)
        #expect(res.json["horas_totales"].number == Hours.value(reference["aprobado"] ?? 0), comment)
        #expect(res.json["horas_pendientes"].number == Hours.value(reference["pendiente"] ?? 0), comment)
        let perProject = try await sql.raw("""
            SELECT proyecto_id, CAST(SUM(horas) AS BIGINT) AS horas FROM registro_horas WHERE estado = 'aprobado'
            GROUP BY proyecto_id ORDER BY horas DESC, proyecto_id LIMIT 10
            """).all().map { row -> JSONValue in
            ["proyecto": .int(Int64(try row.decode(column: "proyecto_id", as: Int.self))),
             "horas": .double(Hours.value(try row.decode(column: "horas", as: Int.self)))]
        }
        // Numbers compared as numbers: a whole number of hours is served as `1`, not `1.0`.
        let served = res.json["horas_por_proyecto"].array.map { item -> JSONValue in
            ["proyecto": item["proyecto"], "horas": item["horas"].number.map(JSONValue.double) ?? .null]
        }
        #expect(served == perProject, comment)
    }

    @Test("every write moves the figures: creates, approvals, rejections, edits, deletes and batch reviews agree with SUM")
    func consistentWithSum() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            let second = try await t.makeProyecto("Huerto", mentors: [s.mentor])
            try await expectAgreesWithSum(t, token: admin, "empty")

            var ids: [Int] = []
            for (index, (inicio, fin)) in [("08:00", "09:30"), ("10:00", "11:00"), ("12:00", "12:20"), ("15:00", "18:45")].enumerated() {
                var body = s.body(inicio, fin, fecha: "2025-03-0\(3 + index % 2)")
                if index == 3, case .object(var fields) = body {
                    fields["proyecto"] = .int(Int64(try second.requireID()))
                    body = .object(fields)
                }
                let res = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: body)
                #expect(res.status == .created)
                ids.append(try #require(res.json["id"].int))
            }
            try await expectAgreesWithSum(t, token: admin, "after creates")
            #expect(try await t.send(.POST, "/api/registro-horas/\(ids[0])/aprobar/", token: admin).status == .ok)
            #expect(try await t.send(.POST, "/api/registro-horas/\(ids[3])/aprobar/", token: admin).status == .ok)
            try await expectAgreesWithSum(t, token: admin, "after approvals")
            #expect(try await t.send(.POST, "/api/registro-horas/\(ids[1])/rechazar/", token: admin, json: ["motivo": "No"]).status == .ok)
            try await expectAgreesWithSum(t, token: admin, "after a rejection")
            // An edit that moves a pending record to another project and day, then one that changes an approved record's times.
            #expect(try await t.send(.PATCH, "/api/registro-horas/\(ids[2])/", token: s.token,
                                     json: ["proyecto": .int(Int64(try second.requireID())), "fecha": "2025-02-03"]).status == .ok)
            #expect(try await t.send(.PATCH, "/api/registro-horas/\(ids[0])/", token: admin, json: ["hora_fin": "09:45"]).status == .ok)
            try await expectAgreesWithSum(t, token: admin, "after edits")
            #expect(try await t.send(.DELETE, "/api/registro-horas/\(ids[3])/", token: admin).status == .noContent)
            try await expectAgreesWithSum(t, token: admin, "after a delete")
            let batch = try await t.send(.POST, "/api/registro-horas/revisar-lote/", token: admin, json: ["ids": [.int(Int64(ids[2]))], "accion": "aprobar"])
            #expect(batch.status == .ok)
            try await expectAgreesWithSum(t, token: admin, "after a batch review")

            let res = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(res.json["horas_totales"].number == Hours.value(Hours.fromMinutes(105) + Hours.fromMinutes(20)))
            #expect(res.json["horas_por_mes"] == [["mes": "2025-02", "horas": .double(Hours.value(Hours.fromMinutes(20)))],
                                                   ["mes": "2025-03", "horas": 1.75]])
            #expect(res.json["proyectos_activos"] == 2 && res.json["mentores_registrados"] == 1 && res.json["mentores_activos"] == 1)
            #expect(res.json["horas_mes_actual"] == 0)
        }
    }

    @Test("filters proyecto, desde and hasta apply to every hour figure; bad values are 400")
    func filters() async throws {
        try await withApp { t in
            let (_, coordinador) = try await t.userWithToken(.coordinador)
            let s = try await HoursSetup.make(t)
            let other = try await t.makeProyecto("Huerto", mentors: [s.mentor])
            let today = LocalDate.today(in: t.app.settings.timeZone)
            var day = today
            while day.weekday >= 5 { day = day.adding(days: -1) }
            for (proyecto, fecha, inicio, fin, estado) in [
                (s.project, "2025-03-03", "09:00", "10:00", EstadoRegistro.aprobado), (s.project, "2025-04-07", "09:00", "11:00", .aprobado),
                (other, "2025-03-03", "11:00", "14:00", .aprobado), (s.project, "2025-03-04", "09:00", "09:30", .pendiente),
                (s.project, day.description, "07:00", "08:00", .aprobado),
            ] {
                try await t.makeRegistro(mentor: s.mentor, proyecto: proyecto, fecha: fecha, inicio: inicio, fin: fin, estado: estado)
            }
            let all = try await t.send(.GET, "/api/metricas/", token: coordinador)
            #expect(all.json["horas_totales"] == 7 && all.json["horas_pendientes"] == 0.5 && all.json["horas_mes_actual"] == 1)
            #expect(all.json["horas_por_proyecto"][0]["nombre"] == "Robótica" && all.json["horas_por_proyecto"][0]["horas"] == 4)
            let march = try await t.send(.GET, "/api/metricas/?desde=2025-03-01&hasta=2025-03-31", token: coordinador)
            #expect(march.json["horas_totales"] == 4 && march.json["horas_pendientes"] == 0.5 && march.json["horas_mes_actual"] == 0)
            #expect(march.json["horas_por_mes"] == [["mes": "2025-03", "horas": 4]])
            let project = try await t.send(.GET, "/api/metricas/?proyecto=\(try other.requireID())", token: coordinador)
            #expect(project.json["horas_totales"] == 3 && project.json["horas_pendientes"] == 0)
            #expect(project.json["horas_por_proyecto"] == [["proyecto": .int(Int64(try other.requireID())), "nombre": "Huerto", "horas": 3]])
            let fromToday = try await t.send(.GET, "/api/metricas/?desde=\(day.description)", token: coordinador)
            #expect(fromToday.json["horas_totales"] == 1 && fromToday.json["horas_mes_actual"] == 1)

            for query in ["desde=ayer", "hasta=2025-13-01", "proyecto=abc", "proyecto=999999", "desde=2025-03-02&hasta=2025-03-01"] {
                let res = try await t.send(.GET, "/api/metricas/?\(query)", token: coordinador)
                #expect(res.status == .badRequest, "\(query)")
            }
        }
    }

    @Test("admins and coordinators read métricas; a mentor gets 403, no token 401")
    func access() async throws {
        try await withApp { t in
            let (_, mentor) = try await t.mentorWithToken()
            #expect(try await t.send(.GET, "/api/metricas/", token: mentor).status == .forbidden)
            #expect(try await t.send(.GET, "/api/metricas/").status == .unauthorized)
        }
    }

    @Test("answers are cached under the database snapshot (PostgreSQL) and a write by anyone, even outside the API, shows at once")
    func cachedUnderSnapshot() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            let record = try await t.makeRegistro(mentor: s.mentor, proyecto: s.project, fecha: "2025-03-03", inicio: "09:00", fin: "10:00",
                                                  estado: .aprobado)
            let first = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(first.headers.first(name: "X-Cache") == "miss" && first.json["horas_totales"] == 1)
            if TestDatabase.isPostgres {
                // Other tests write to the same cluster meanwhile and move the snapshot, so a hit may
                // take a few tries; whenever it comes it is the answer computed before.
                let hit = try await MetricasCacheProbe.firstHit(t, "/api/metricas/", token: admin)
                #expect(hit?.json == first.json, "no hit within \(MetricasCacheProbe.patience)")
            } else {
                // The embedded default has no validator without Redis: every answer is computed.
                #expect(try await t.send(.GET, "/api/metricas/", token: admin).headers.first(name: "X-Cache") == "miss")
            }
            // A write that never goes through the API (a CLI command, psql, another replica without
            // Redis): the very next answer has it.
            let sql = try #require(t.db as? any SQLDatabase)
            try await sql.raw("UPDATE registro_horas SET horas = horas + 50 WHERE id = \(bind: try record.requireID())").run()
            let after = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(after.headers.first(name: "X-Cache") == "miss" && after.json["horas_totales"] == 1.5)
            try await expectAgreesWithSum(t, token: admin, "after a write outside the API")
        }
    }

    @Test("the counts come from counters kept by triggers: they equal COUNT(*) after creates, changes, deletes and concurrent creates")
    func countersAgreeWithCount() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let sql = try #require(t.db as? any SQLDatabase)
            func expectAgree(_ comment: Comment) async throws {
                let counts = try await MetricasQuery.counts(on: sql)
                var reference: [String: Int] = [:]
                for counter in CreateMetricasContadores.counters {
                    reference[counter.clave] = try await sql.raw("SELECT (\(unsafeRaw: counter.count)) AS n").first()?.decode(column: "n", as: Int.self)
                }
                #expect(counts.mentores == reference["mentores"] && counts.mentoresActivos == reference["mentores_activos"]
                        && counts.proyectosActivos == reference["proyectos_activos"], comment)
                let served = try await t.send(.GET, "/api/metricas/", token: admin)
                #expect(served.json["mentores_registrados"].int == reference["mentores"] && served.json["mentores_activos"].int == reference["mentores_activos"]
                        && served.json["proyectos_activos"].int == reference["proyectos_activos"], comment)
            }
            try await expectAgree("empty")
            let marta = try await t.makeMentor("Marta"), luis = try await t.makeMentor("Luis", activo: false)
            let robotica = try await t.makeProyecto("Robótica"), huerto = try await t.makeProyecto("Huerto", estado: .planificado)
            try await expectAgree("after creates")
            #expect(try await t.send(.PATCH, "/api/mentores/\(try marta.requireID())/", token: admin, json: ["activo": false]).status == .ok)
            #expect(try await t.send(.PATCH, "/api/mentores/\(try luis.requireID())/", token: admin, json: ["activo": true]).status == .ok)
            #expect(try await t.send(.PATCH, "/api/mentores/\(try luis.requireID())/", token: admin, json: ["activo": true, "nombre": "Luisa"]).status == .ok)
            #expect(try await t.send(.PATCH, "/api/proyectos/\(try huerto.requireID())/", token: admin, json: ["estado": "activo"]).status == .ok)
            #expect(try await t.send(.PATCH, "/api/proyectos/\(try robotica.requireID())/", token: admin, json: ["estado": "finalizado"]).status == .ok)
            try await expectAgree("after changes of activo and estado")
            #expect(try await t.send(.DELETE, "/api/mentores/\(try luis.requireID())/", token: admin).status == .noContent)
            #expect(try await t.send(.DELETE, "/api/proyectos/\(try huerto.requireID())/", token: admin).status == .noContent)
            try await expectAgree("after deletes")
            // Eight mentors created at once: every one counted, none lost to a race on the counter row.
            let statuses = try await t.concurrently(8, .POST, "/api/mentores/", token: admin, json: { i in
                ["nombre": .string("Mentor \(i)"), "apellidos": "Prueba", "email": .string("concurrente-\(i)@example.com"), "fecha_alta": "2025-09-01"]
            }).map(\.status)
            #expect(statuses == Array(repeating: .created, count: 8))
            try await expectAgree("after 8 concurrent creates")
            #expect(try await MetricasQuery.counts(on: sql).mentores == 9)
        }
    }

    @Test("rebuild-metricas recomputes aggregates and counters from the records; hour writes racing it are not lost")
    func rebuild() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            try await t.makeRegistro(mentor: s.mentor, proyecto: s.project, fecha: "2025-03-03", inicio: "09:00", fin: "10:00", estado: .aprobado)
            try await t.makeRegistro(mentor: s.mentor, proyecto: s.project, fecha: "2025-02-03", inicio: "09:00", fin: "09:30")
            // Aggregates broken by hand (a repair made with the triggers off would leave them so).
            let sql = try #require(t.db as? any SQLDatabase)
            try await sql.raw("UPDATE metricas_mes SET horas = horas + 999").run()
            try await sql.raw("UPDATE metricas_contadores SET valor = 42").run()
            try await MetricasQuery.rebuild(t.app)
            try await expectAgreesWithSum(t, token: admin, "after a rebuild")
            #expect(try await MetricasQuery.counts(on: sql) == (proyectosActivos: 1, mentores: 1, mentoresActivos: 1))

            // Six hour records created while a rebuild runs: every one of them counted.
            let app = t.app
            async let rebuilt: Void = MetricasQuery.rebuild(app)
            let statuses = try await t.concurrently(6, .POST, "/api/registro-horas/", token: s.token, json: { i in
                s.body(String(format: "%02d:00", 11 + i), String(format: "%02d:45", 11 + i), fecha: "2025-03-04")
            }).map(\.status)
            try await rebuilt
            #expect(statuses == Array(repeating: .created, count: 6))
            try await expectAgreesWithSum(t, token: admin, "after writes racing a rebuild")
            let res = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(res.json["horas_pendientes"] == 5)  // 0:30 + 6 × 0:45
        }
    }

    @Test("concurrent approvals of one project's records leave the aggregates equal to SUM")
    func concurrentApprovals() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            var ids: [Int] = []
            for hour in 8..<18 {
                let record = try await t.makeRegistro(mentor: s.mentor, proyecto: s.project, fecha: "2025-03-03",
                                                      inicio: String(format: "%02d:00", hour), fin: String(format: "%02d:45", hour))
                ids.append(try record.requireID())
            }
            let recordIDs = ids
            let statuses = try await t.concurrently(ids.count, .POST, paths: { "/api/registro-horas/\(recordIDs[$0])/aprobar/" }, token: admin)
                .map(\.status)
            #expect(statuses.allSatisfy { $0 == .ok })
            try await expectAgreesWithSum(t, token: admin, "after 10 concurrent approvals")
            let res = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(res.json["horas_totales"] == 7.5)
        }
    }
}

/// Repeats a GET until the métricas cache answers it (`X-Cache: hit`), for tests on PostgreSQL,
/// whose snapshot the other tests' writes keep moving while the suite runs: within two minutes
/// they have finished and the snapshot holds still, so a cache that works is bound to answer.
enum MetricasCacheProbe {
    static let patience: Duration = .seconds(120)

    static func firstHit(_ t: TestApp, _ path: String, token: String) async throws -> TestingHTTPResponse? {
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            let res = try await t.send(.GET, path, token: token)
            if res.headers.first(name: "X-Cache") == "hit" { return res }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
