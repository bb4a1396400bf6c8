import Fluent
import NIOConcurrencyHelpers
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Agenda")
struct AgendaTests {
    /// Madrid time (UTC+1 until the DST change of 2026-03-29). Group A of "Robótica" has Ana and
    /// Luis; its active calendar runs 2026-03-02 to 2026-04-03 lunes–viernes with a holiday on
    /// Wednesday the 4th; classes on Mondays 09:00–10:30 in A-1 and Wednesdays 16:00–17:00.
    struct Setup {
        let admin: String, anaToken: String
        let ana: Mentor, luis: Mentor
        let project: Proyecto, group: Grupo
        let monday: Horario, wednesday: Horario
        let anaRecord: RegistroHoras, luisRecord: RegistroHoras
    }

    static let madrid = ["TIME_ZONE": "Europe/Madrid"]

    static func setUp(_ t: TestApp, proyecto nombre: String = "Robótica", aula: String = "A-1") async throws -> Setup {
        let (_, admin) = try await t.userWithToken(.admin)
        let (ana, anaToken) = try await t.mentorWithToken("Ana")
        let luis = try await t.makeMentor("Luis")
        let project = try await t.makeProyecto(nombre, mentors: [ana, luis])
        let group = try await t.makeGrupo("Grupo A", proyecto: project, mentors: [ana, luis])
        let curso = try await t.makeCalendario("Marzo", inicio: "2026-03-02", fin: "2026-04-03")
        try await DiaNoLectivo(calendarioID: try curso.requireID(), fecha: LocalDate("2026-03-04")!, descripcion: "").create(on: t.db)
        let draft = try await t.makeCalendario("Borrador", inicio: "2026-03-01", fin: "2026-03-31", activo: false)
        try await t.makeHorario(grupo: group, calendario: draft, dia: 1, inicio: "12:00", fin: "13:00")  // never expanded
        try await t.makeRegistro(mentor: ana, proyecto: project, fecha: "2026-03-05", inicio: "10:00", fin: "11:00", estado: .rechazado)
        return Setup(
            admin: admin, anaToken: anaToken, ana: ana, luis: luis, project: project, group: group,
            monday: try await t.makeHorario(grupo: group, calendario: curso, dia: 0, inicio: "09:00", fin: "10:30", aula: aula),
            wednesday: try await t.makeHorario(grupo: group, calendario: curso, dia: 2, inicio: "16:00", fin: "17:00"),
            anaRecord: try await t.makeRegistro(mentor: ana, proyecto: project, grupo: group, fecha: "2026-03-03", inicio: "10:00", fin: "12:00"),
            luisRecord: try await t.makeRegistro(mentor: luis, proyecto: project, fecha: "2026-03-06", inicio: "08:00", fin: "09:00",
                                                 estado: .aprobado))
    }

    static func int<M: Model>(_ model: M) throws -> JSONValue where M.IDValue == Int { .int(Int64(try model.requireID())) }

    static func clase(_ s: Setup, _ inicio: String, _ fin: String, mentor: Mentor) throws -> JSONValue {
        ["tipo": "clase", "inicio": .string(inicio), "fin": .string(fin), "titulo": "Robótica · Grupo A", "mentor": try int(mentor),
         "grupo": try int(s.group), "proyecto": try int(s.project), "aula": "A-1", "referencia": try int(s.monday)]
    }

    @Test("classes of active calendars expand over business days once per mentor, with hour records, sorted by start")
    func expansion() async throws {
        try await withApp(Self.madrid) { t in
            let s = try await Self.setUp(t)
            let res = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10", token: s.admin)
            #expect(res.status == .ok)
            #expect(res.json == [
                try Self.clase(s, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z", mentor: s.ana),
                try Self.clase(s, "2026-03-02T08:00:00Z", "2026-03-02T09:30:00Z", mentor: s.luis),
                ["tipo": "registro", "inicio": "2026-03-03T09:00:00Z", "fin": "2026-03-03T11:00:00Z",
                 "titulo": "Registro de horas · Robótica (pendiente)", "mentor": try Self.int(s.ana), "grupo": try Self.int(s.group),
                 "proyecto": try Self.int(s.project), "aula": nil, "referencia": try Self.int(s.anaRecord)],
                ["tipo": "registro", "inicio": "2026-03-06T07:00:00Z", "fin": "2026-03-06T08:00:00Z",
                 "titulo": "Registro de horas · Robótica", "mentor": try Self.int(s.luis), "grupo": nil,
                 "proyecto": try Self.int(s.project), "aula": nil, "referencia": try Self.int(s.luisRecord)],
                try Self.clase(s, "2026-03-09T08:00:00Z", "2026-03-09T09:30:00Z", mentor: s.ana),
                try Self.clase(s, "2026-03-09T08:00:00Z", "2026-03-09T09:30:00Z", mentor: s.luis),
            ])
            let grupo = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10&grupo=\(try s.group.requireID())", token: s.admin)
            #expect(grupo.json.array.count == 5)  // Luis's record has no group
            let luis = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10&mentor=\(try s.luis.requireID())", token: s.admin)
            #expect(luis.json.array.map { $0["inicio"] } == ["2026-03-02T08:00:00Z", "2026-03-06T07:00:00Z", "2026-03-09T08:00:00Z"])
            #expect(luis.json.array.allSatisfy { $0["mentor"] == (try? Self.int(s.luis)) })
        }
    }

    @Test("times are wall-clock times of TIME_ZONE, across a daylight-saving change")
    func daylightSaving() async throws {
        try await withApp(Self.madrid) { t in
            let s = try await Self.setUp(t)
            let res = try await t.send(.GET, "/api/agenda/?desde=2026-03-23&hasta=2026-03-31&mentor=\(try s.ana.requireID())", token: s.admin)
            #expect(res.json.array.map { $0["inicio"] } == ["2026-03-23T08:00:00Z", "2026-03-25T15:00:00Z", "2026-03-30T07:00:00Z"])
            #expect(res.json.array.map { $0["fin"] } == ["2026-03-23T09:30:00Z", "2026-03-25T16:00:00Z", "2026-03-30T08:30:00Z"])
        }
    }

    @Test("a mentor sees their own agenda; asking for another mentor's is 404")
    func mentorScope() async throws {
        try await withApp(Self.madrid) { t in
            let s = try await Self.setUp(t)
            let own = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10", token: s.anaToken)
            #expect(own.status == .ok)
            #expect(own.json.array.map { $0["tipo"] } == ["clase", "registro", "clase"])
            #expect(own.json.array.allSatisfy { $0["mentor"] == (try? Self.int(s.ana)) })
            let explicit = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10&mentor=\(try s.ana.requireID())",
                                            token: s.anaToken)
            #expect(explicit.json == own.json)
            let other = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10&mentor=\(try s.luis.requireID())",
                                         token: s.anaToken)
            #expect(other.status == .notFound)
            #expect(other.json == ["detail": "No encontrado.", "code": "not_found"])

            let (_, loose) = try await t.userWithToken(.mentor)  // a mentor account without a profile
            #expect(try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10", token: loose).json == [])
            #expect(try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10&mentor=1", token: loose).status == .notFound)
            #expect(try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-10").status == .unauthorized)
        }
    }

    @Test("desde and hasta are required and at most 366 days apart; filters are typed")
    func validation() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let choice = "Escoja una opción válida. Esa opción no está entre las disponibles."
            let cases: [(String, JSONValue)] = [
                ("", ["desde": ["Este campo es requerido."], "hasta": ["Este campo es requerido."]]),
                ("?desde=2026-02-30&hasta=2026-03-01", ["desde": ["Introduzca una fecha válida."]]),
                ("?desde=2026-01-01&hasta=2027-01-02", ["hasta": ["El rango de fechas no puede superar 366 días."]]),
                ("?desde=2026-03-02&hasta=2026-03-01", ["hasta": ["La fecha hasta no puede ser anterior a desde."]]),
                ("?desde=2026-03-01&hasta=2026-03-02&mentor=abc&grupo=99999999999999999999",
                 ["mentor": [.string(choice)], "grupo": [.string(choice)]]),
            ]
            for (query, expected) in cases {
                let res = try await t.send(.GET, "/api/agenda/" + query, token: token)
                #expect(res.status == .badRequest, "\(query)")
                #expect(res.json == expected, "\(query)")
            }
            #expect(try await t.send(.GET, "/api/agenda/?desde=2026-01-01&hasta=2027-01-01", token: token).json == [])
        }
    }

    /// Forwards to a database and counts the queries sent through it.
    final class CountingDatabase: Database {
        let base: any Database
        let queries = NIOLockedValueBox(0)

        init(_ base: any Database) { self.base = base }

        var context: DatabaseContext { base.context }
        var inTransaction: Bool { base.inTransaction }

        func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
            queries.withLockedValue { $0 += 1 }
            return base.execute(query: query, onOutput: onOutput)
        }

        func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> { base.execute(schema: schema) }
        func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> { base.execute(enum: `enum`) }
        func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
            base.transaction(closure)
        }
        func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
            base.withConnection(closure)
        }
    }

    @Test("an agenda costs the same few queries for a week as for a year over two calendars")
    func boundedQueries() async throws {
        try await withApp(Self.madrid) { t in
            let s = try await Self.setUp(t)
            let summer = try await t.makeCalendario("Verano", inicio: "2026-07-01", fin: "2026-08-31")
            try await t.makeHorario(grupo: s.group, calendario: summer, dia: 1, inicio: "10:00", fin: "12:00")
            func cost(_ desde: String, _ hasta: String) async throws -> (queries: Int, entries: Int) {
                let db = CountingDatabase(t.db)
                let query = AgendaQuery(desde: LocalDate(desde)!, hasta: LocalDate(hasta)!, mentor: nil, grupo: nil)
                let entries = try await Agenda.entries(query, on: db, timeZone: t.app.settings.timeZone)
                return (db.queries.withLockedValue { $0 }, entries.count)
            }
            let week = try await cost("2026-03-02", "2026-03-08")
            let year = try await cost("2025-09-01", "2026-08-31")
            #expect(week.entries == 4)
            #expect(year.entries == 2 * (5 + 4) + 2 + 2 * 8)  // two mentors: 5 Mondays and 4 Wednesdays, 8 summer Tuesdays
            #expect(week.queries == 6)
            #expect(year.queries == week.queries)
        }
    }

    /// Stands in for the Bookings integration.
    struct FakeCitas: CitasProvider {
        func citas(for query: AgendaQuery, request: Request) async throws -> [AgendaEntry] {
            let start = LocalDate("2026-03-02")!.instant(minutes: 8 * 60, in: request.application.settings.timeZone)
            let item = AgendaItemDTO(tipo: .cita, inicio: start, fin: start.addingTimeInterval(1_800), titulo: "Tutoría",
                                     mentor: query.mentor, grupo: nil, proyecto: nil, aula: nil, referencia: .texto("AAMk-1"))
            return [AgendaEntry(item: item, uid: "cita-AAMk-1@plataforma")]
        }
    }

    @Test("appointments from an installed CitasProvider are merged in order")
    func citas() async throws {
        try await withApp(Self.madrid) { t in
            let s = try await Self.setUp(t)
            t.app.citasProvider = FakeCitas()
            let res = try await t.send(.GET, "/api/agenda/?desde=2026-03-01&hasta=2026-03-02", token: s.anaToken)
            #expect(res.json.array.map { $0["tipo"] } == ["cita", "clase"])
            #expect(res.json[0] == ["tipo": "cita", "inicio": "2026-03-02T07:00:00Z", "fin": "2026-03-02T07:30:00Z", "titulo": "Tutoría",
                                    "mentor": try Self.int(s.ana), "grupo": nil, "proyecto": nil, "aula": nil, "referencia": "AAMk-1"])
        }
    }
}
